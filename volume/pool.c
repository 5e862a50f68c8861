/*
 * volume/pool.c: the volume core's worker threads. Chunk PUTs go to three
 * replicas that each fsync, so flushes, read-ahead loads and imports run
 * several chunks at once here; a caller that must wait (flush, import)
 * counts its jobs in a batch. What a job does is the submitter's business.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "volume/vcore.h"

static void *pool_main(void *arg)
{
	struct vol_pool *p = arg;
	struct vol_job *j;
	int rc;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->head && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		if (!p->head)
			break; /* stopping and drained */
		j = p->head;
		p->head = j->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->lock);
		rc = j->fn(j->arg);
		if (j->batch) {
			pthread_mutex_lock(&j->batch->lock);
			if (rc && !j->batch->err)
				j->batch->err = rc;
			if (--j->batch->pending == 0)
				pthread_cond_broadcast(&j->batch->cond);
			pthread_mutex_unlock(&j->batch->lock);
		}
		free(j);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Start nthreads (<= VOL_WORKERS) workers. 0 or -errno. */
int vol_pool_start(struct vol_pool *p, int nthreads)
{
	int i, rc;

	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->head = p->tail = NULL;
	p->stop = 0;
	p->nthreads = 0;
	for (i = 0; i < nthreads && i < VOL_WORKERS; i++) {
		rc = pthread_create(&p->threads[i], NULL, pool_main, p);
		if (rc) {
			log_err("cannot start a volume worker: %s",
				strerror(rc));
			vol_pool_stop(p);
			return -rc;
		}
		p->nthreads++;
	}
	return 0;
}

/* Run the queued jobs to the end, then join the workers. */
void vol_pool_stop(struct vol_pool *p)
{
	int i;

	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	p->nthreads = 0;
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
}

/*
 * Queue fn(arg) (FIFO). With b, the job counts in the batch (its non-zero
 * result becomes the batch's error). 0 or -ENOMEM (then fn never runs and
 * the batch is unchanged: arg stays the caller's).
 */
int vol_pool_submit(struct vol_pool *p, int (*fn)(void *), void *arg,
		    struct vol_batch *b)
{
	struct vol_job *j = calloc(1, sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->fn = fn;
	j->arg = arg;
	j->batch = b;
	if (b) {
		pthread_mutex_lock(&b->lock);
		b->pending++;
		pthread_mutex_unlock(&b->lock);
	}
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void vol_batch_init(struct vol_batch *b)
{
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	b->pending = 0;
	b->err = 0;
}

/* Wait for every job of the batch; returns the first error (or 0) and
 * releases the batch. */
int vol_batch_wait(struct vol_batch *b)
{
	int rc;

	pthread_mutex_lock(&b->lock);
	while (b->pending)
		pthread_cond_wait(&b->cond, &b->lock);
	rc = b->err;
	pthread_mutex_unlock(&b->lock);
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
	return rc;
}
