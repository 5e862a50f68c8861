/*
 * tests/unit/objectd/test_syncgroup.c: the group commit of the object
 * server's syncs (objectd/syncgroup.c): writers that queue while a sync
 * runs share the next one, each returns only after a sync that started
 * after it queued (also under many writers at once), and a failed sync
 * fails its whole batch; a writer that comes back for a second sync
 * (sg_sync_first, sg_sync_again: a PUT's file, then its name) is waited
 * for by the next batch instead of waiting for it to end.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
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
	sg_set_sync(fake_sync, -1);
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
	sg_set_sync(NULL, -1);
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

/* a writer that comes back */
static void *first_then_again(void *arg)
{
	struct writer *w = arg;
	unsigned ticket;

	w->rc = sg_sync_first(w->fd, &ticket);
	if (!w->rc) {
		usleep(20000); /* its rename, while the next batch waits */
		w->rc = sg_sync_again(w->fd, ticket);
	}
	pthread_mutex_lock(&lock);
	w->done_after = finished;
	pthread_mutex_unlock(&lock);
	return NULL;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* writer 0 syncs its file (sync 1) while writer 1 queues; when sync 1
 * ends, writer 1 leads sync 2 but first waits for writer 0's second
 * sync, which sync 2 then covers: two syncs, not three; and writer 1's
 * wait ends when writer 0 is back, not at the (long) limit */
Test(syncgroup, a_writer_coming_back_joins_the_next_batch)
{
	struct writer w[2] = {0};
	int fd = open("/tmp", O_RDONLY | O_DIRECTORY);
	double t0;

	cr_assert(fd >= 0);
	started = released = finished = fail_second = 0;
	sg_set_sync(fake_sync, 30 * 1000000L);
	w[0].fd = w[1].fd = fd;
	cr_assert_eq(pthread_create(&w[0].t, NULL, first_then_again, &w[0]), 0);
	wait_started(1);
	cr_assert_eq(pthread_create(&w[1].t, NULL, writer_main, &w[1]), 0);
	while (sg_queued() < 2)
		usleep(1000);
	t0 = now_s();
	release(3); /* every sync ends as soon as it starts */
	pthread_join(w[0].t, NULL);
	pthread_join(w[1].t, NULL);
	sg_set_sync(NULL, -1);
	close(fd);
	cr_assert_eq(w[0].rc, 0);
	cr_assert_eq(w[1].rc, 0);
	cr_assert_eq(started, 2, "%d syncs: the second one did not wait",
		     started);
	cr_assert_eq(w[0].done_after, 2);
	cr_assert_eq(w[1].done_after, 2);
	cr_assert_lt(now_s() - t0, 20.0, "the leader waited out its limit");
	cr_assert_eq(sg_queued(), 0);
}

/* a writer that said it comes back and does not (an error after its
 * first sync) holds the next batch back only up to the limit */
Test(syncgroup, a_writer_that_does_not_come_back_is_not_waited_for)
{
	struct writer w[2] = {0};
	unsigned ticket;
	int fd = open("/tmp", O_RDONLY | O_DIRECTORY);

	cr_assert(fd >= 0);
	started = released = finished = fail_second = 0;
	sg_set_sync(fake_sync, 50000);
	release(2);
	cr_assert_eq(sg_sync_first(fd, &ticket), 0); /* sync 1; never back */
	w[1].fd = fd;
	cr_assert_eq(pthread_create(&w[1].t, NULL, writer_main, &w[1]), 0);
	pthread_join(w[1].t, NULL); /* sync 2, after at most 50 ms */
	sg_set_sync(NULL, -1);
	close(fd);
	cr_assert_eq(w[1].rc, 0);
	cr_assert_eq(started, 2);
	cr_assert_eq(sg_queued(), 0);
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
	unsigned ticket = 0;
	int i, before, rc;

	for (i = 0; i < STRESS_ROUNDS; i++) {
		before = atomic_load(&s_started);
		if (i % 3 == 0) /* some plain, some in pairs */
			rc = sg_sync(s->fd);
		else if (i % 3 == 1)
			rc = sg_sync_first(s->fd, &ticket);
		else
			rc = sg_sync_again(s->fd, ticket);
		if (rc || atomic_load(&s_finished) <= before)
			s->bad++;
	}
	return NULL;
}

Test(syncgroup, many_writers_each_covered_by_a_later_sync)
{
	struct stress s[STRESS_WRITERS] = {0};
	int i, fd = open("/tmp", O_RDONLY | O_DIRECTORY);

	cr_assert(fd >= 0);
	sg_set_sync(counting_sync, -1);
	for (i = 0; i < STRESS_WRITERS; i++) {
		s[i].fd = fd;
		cr_assert_eq(pthread_create(&s[i].t, NULL, stress_main, &s[i]),
			     0);
	}
	for (i = 0; i < STRESS_WRITERS; i++)
		pthread_join(s[i].t, NULL);
	sg_set_sync(NULL, -1);
	close(fd);
	for (i = 0; i < STRESS_WRITERS; i++)
		cr_assert_eq(s[i].bad, 0, "writer %d: %d bad rounds", i,
			     s[i].bad);
	cr_assert_eq(sg_queued(), 0);
	/* never more syncs than writer rounds */
	cr_assert_leq(atomic_load(&s_started), STRESS_WRITERS * STRESS_ROUNDS);
}
