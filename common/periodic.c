/*
 * common/periodic.c: the background pass loop (see periodic.h).
 */
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "common/pace.h"
#include "common/periodic.h"

static void *periodic_main(void *arg)
{
	struct periodic *p = arg;

	do
		p->pass(p->arg);
	while (!pace_wait(&p->lock, &p->wake, &p->stopping,
			  pace_now() + p->interval));
	return NULL;
}

int periodic_start(struct periodic *p)
{
	int rc;

	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	p->stopping = 0;
	rc = pthread_create(&p->thread, NULL, periodic_main, p);
	if (rc) {
		log_err("cannot start the %s thread: %s", p->name,
			strerror(rc));
		pthread_cond_destroy(&p->wake);
		pthread_mutex_destroy(&p->lock);
		return -rc;
	}
	p->started = 1;
	return 0;
}

void periodic_stop(struct periodic *p)
{
	if (!p->started)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	p->started = 0;
}
