/*
 * tests/unit/objectd/test_syncgroup.c: the group commit of the object
 * server's syncs (objectd/syncgroup.c): writers that queue while a sync
 * runs share the next one, each returns only after a sync that started
 * after it queued (also under many writers at once), and a failed sync
 * fails its whole batch.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "objectd/internal.h"

#define WRITERS 6

/* a sync that waits for the test's go before it ends */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int started, released, finished, fail_second;

static int fake_sync(int fd)
{
	int n, rc = 0;

	(void)fd;
	pthread_mutex_lock(&lock);
	n = ++started;
	pthread_cond_broadcast(&cond);
	while (released < n)
		pthread_cond_wait(&cond, &lock);
	if (n == 2 && fail_second)
		rc = -EIO;
	finished = n;
	pthread_mutex_unlock(&lock);
	return rc;
}

struct writer {
	pthread_t t;
	int fd;
	int queued_during; /* the number of the sync running when it queued */
	int rc;
	int done_after; /* syncs finished when it returned */
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	w->rc = sg_sync(w->fd);
	pthread_mutex_lock(&lock);
	w->done_after = finished;
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void wait_started(int n)
{
	pthread_mutex_lock(&lock);
	while (started < n)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
}

static void release(int n)
{
	pthread_mutex_lock(&lock);
	released = n;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

/* one writer leads sync 1; WRITERS-1 more queue while it runs and all
 * share sync 2 */
static void run(struct writer *w)
{
	int i, fd = open("/tmp", O_RDONLY | O_DIRECTORY);

	cr_assert(fd >= 0);
	started = released = finished = 0;
	sg_set_sync(fake_sync);
	for (i = 0; i < WRITERS; i++)
		w[i].fd = fd;
	cr_assert_eq(pthread_create(&w[0].t, NULL, writer_main, &w[0]), 0);
	wait_started(1);
	for (i = 1; i < WRITERS; i++)
		cr_assert_eq(pthread_create(&w[i].t, NULL, writer_main, &w[i]),
			     0);
	while (sg_queued() < WRITERS)
		usleep(1000); /* until all are queued; no timing asserted */
	release(1);
	wait_started(2);
	release(2);
	for (i = 0; i < WRITERS; i++)
		pthread_join(w[i].t, NULL);
	sg_set_sync(NULL);
	close(fd);
}

Test(syncgroup, writers_queued_during_a_sync_share_the_next)
{
	struct writer w[WRITERS] = {0};
	int i;

	fail_second = 0;
	run(w);
	cr_assert_eq(started, 2, "%d syncs for %d writers", started, WRITERS);
	cr_assert_eq(w[0].rc, 0);
	/* sync 1 covers writer 0; it may come back after sync 2 too */
	cr_assert_geq(w[0].done_after, 1);
	for (i = 1; i < WRITERS; i++) {
		cr_assert_eq(w[i].rc, 0);
		/* queued while sync 1 ran: only sync 2 covers it */
		cr_assert_eq(w[i].done_after, 2, "writer %d back after %d", i,
			     w[i].done_after);
	}
	cr_assert_eq(sg_queued(), 0);
}

Test(syncgroup, a_failed_sync_fails_its_batch_only)
{
	struct writer w[WRITERS] = {0};
	int i;

	fail_second = 1;
	run(w);
	cr_assert_eq(started, 2);
	cr_assert_eq(w[0].rc, 0);
	for (i = 1; i < WRITERS; i++)
		cr_assert_eq(w[i].rc, -EIO, "writer %d: %d", i, w[i].rc);
}

Test(syncgroup, the_real_sync_of_a_file)
{
	char path[] = "/tmp/kumo-sg.XXXXXX";
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "x", 1), 1);
	cr_assert_eq(sg_sync(fd), 0);
	close(fd);
	unlink(path);
	cr_assert_eq(sg_sync(-1), -EBADF);
}

/* many writers, many rounds: each comes back only once a sync that
 * started after it queued has finished, whatever the interleaving of
 * leaders, batches and wake-ups */
#define STRESS_WRITERS 8
#define STRESS_ROUNDS  300

static atomic_int s_started, s_finished;

static int counting_sync(int fd)
{
	(void)fd;
	atomic_fetch_add(&s_started, 1);
	sched_yield(); /* let writers queue meanwhile */
	atomic_fetch_add(&s_finished, 1);
	return 0;
}

struct stress {
	pthread_t t;
	int fd;
	int bad; /* rounds back before a covering sync ended, or failed */
};

static void *stress_main(void *arg)
{
	struct stress *s = arg;
	int i, before;

	for (i = 0; i < STRESS_ROUNDS; i++) {
		before = atomic_load(&s_started);
		if (sg_sync(s->fd) || atomic_load(&s_finished) <= before)
			s->bad++;
	}
	return NULL;
}

Test(syncgroup, many_writers_each_covered_by_a_later_sync)
{
	struct stress s[STRESS_WRITERS] = {0};
	int i, fd = open("/tmp", O_RDONLY | O_DIRECTORY);

	cr_assert(fd >= 0);
	sg_set_sync(counting_sync);
	for (i = 0; i < STRESS_WRITERS; i++) {
		s[i].fd = fd;
		cr_assert_eq(pthread_create(&s[i].t, NULL, stress_main, &s[i]),
			     0);
	}
	for (i = 0; i < STRESS_WRITERS; i++)
		pthread_join(s[i].t, NULL);
	sg_set_sync(NULL);
	close(fd);
	for (i = 0; i < STRESS_WRITERS; i++)
		cr_assert_eq(s[i].bad, 0, "writer %d: %d bad rounds", i,
			     s[i].bad);
	cr_assert_eq(sg_queued(), 0);
	/* never more syncs than writer rounds */
	cr_assert_leq(atomic_load(&s_started), STRESS_WRITERS * STRESS_ROUNDS);
}
