/*
 * objectd/syncgroup.c: group commit of the object server's syncs.
 *
 * A small PUT used to make about four fsyncs per replica (the file, the
 * hash dir it is renamed into, the suffix dir that holds a new hash dir,
 * the partition dir that holds a new suffix dir), each a chain of
 * synchronous block writes and a cache flush; on a VM every one of them
 * is a round of exits, interrupts and context switches, and together
 * they were half of kumo-objectd's CPU per small PUT. Concurrent writers
 * on one filesystem instead wait on one sync that covers them all:
 *
 *   writer: its writes, renames and mkdirs done --sg_sync--> queued on
 *           the group of its filesystem (st_dev)
 *   queued --no sync running: becomes the leader, takes the whole queue
 *           --syncfs + fsync(its fd)--> every writer of the batch done
 *           with the leader's result
 *   queued --a sync running (it may have started before this writer's
 *           changes)--> waits for a later batch; the leader of the
 *           running one asks the first writer queued to lead the next
 *           (W_LEAD) and hands its own batch the result (W_DONE) outside
 *           the lock, each writer woken once on its own futex word
 *   done, said it comes back (sg_sync_first: a PUT syncs its file, renames
 *           it, then syncs its name) --sg_sync_again--> queued
 *
 * A writer of a PUT comes back ~0.1 ms after its first sync (the rename),
 * when the next batch has already started: it would wait for that whole
 * sync, then one more. So the leader of a batch first waits, up to
 * SG_GATHER_US, for the writers of the batch just done that said they
 * come back (owed), and their second sync joins the very next batch:
 * under load a PUT's two syncs take about two batches, not three. A
 * writer that does not come back (an error between) costs the next
 * batch that wait once.
 *
 * Invariants:
 *   1. A writer returns from sg_sync only after a sync that started after
 *      it was queued (so after all its changes) has finished: its data,
 *      its inodes and its directory entries are on disk.
 *   2. A failed sync fails every writer of its batch, none other.
 *   3. At most one sync runs per filesystem at a time.
 *
 * syncfs(2) writes back every dirty inode and the buffer cache of the
 * filesystem; ext4 without a journal (as on this project's machines)
 * flushes the disk's cache before it writes the buffer cache out, so the
 * leader then fsyncs its own fd, whose cache flush makes those last
 * blocks durable too. On a filesystem shared with other writers a
 * syncfs also writes their dirty data: the price of one sync for many.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "objectd/internal.h"

#define SG_GROUPS    64	  /* filesystems with a group; more sync alone */
#define SG_GATHER_US 1000 /* the longest a leader waits for the owed */

/* A waiter's state: queued, asked to lead the next batch, or done. Only
 * a leader moves it to W_DONE (once, after the waiter left the queue);
 * W_LEAD is set under sg.lock while it is queued. */
enum { W_WAIT, W_LEAD, W_DONE };

struct sg_waiter {
	struct sg_waiter *next;
	atomic_int state;
	int queued;   /* in its group's queue (under sg.lock) */
	int again;    /* comes back: counted in owed once its batch is done */
	int rc;	      /* written before state becomes W_DONE */
	unsigned gen; /* its batch's number, written with rc */
};

struct sg_group {
	dev_t dev;
	int used;
	int busy; /* a leader is gathering or syncing */
	struct sg_waiter *queue;
	unsigned gen; /* batches done */
	int owed;     /* writers of batch gen that come back and have not */
};

/* The whole filesystem of fd, then the disk's cache. 0 or -errno. */
static int sync_fs_of(int fd)
{
	if (syncfs(fd) == -1 || fsync(fd) == -1)
		return -errno;
	return 0;
}

static struct {
	pthread_mutex_t lock;
	pthread_cond_t back; /* an owed writer came back */
	int (*sync)(int fd); /* sync_fs_of; tests put their own */
	long gather_us;	     /* SG_GATHER_US; tests put their own */
	int queued;	     /* writers queued, all groups (tests) */
	struct sg_group g[SG_GROUPS];
} sg = {PTHREAD_MUTEX_INITIALIZER,
	PTHREAD_COND_INITIALIZER,
	sync_fs_of,
	SG_GATHER_US,
	0,
	{{0}}};

/* The group of dev, made if need be; NULL when the table is full.
 * Under sg.lock. */
static struct sg_group *group_of(dev_t dev)
{
	int i;

	for (i = 0; i < SG_GROUPS; i++)
		if (sg.g[i].used && sg.g[i].dev == dev)
			return &sg.g[i];
	for (i = 0; i < SG_GROUPS; i++)
		if (!sg.g[i].used) {
			sg.g[i].used = 1;
			sg.g[i].dev = dev;
			return &sg.g[i];
		}
	return NULL;
}

/* Sleep while *state is W_WAIT (spurious wake-ups are fine: callers
 * loop). */
static void state_wait(atomic_int *state)
{
	syscall(SYS_futex, state, FUTEX_WAIT_PRIVATE, W_WAIT, NULL, NULL, 0);
}

/* Wake the waiter sleeping on state. The waiter may have returned
 * already (it checks its state before it sleeps): a wake-up of a futex
 * word on a stack it left is at worst a spurious one for its next user,
 * which every futex user tolerates. */
static void state_wake(atomic_int *state)
{
	syscall(SYS_futex, state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/*
 * Lead one batch of grp: take its queue, sync, ask one writer queued
 * meanwhile to lead the next batch, then, outside sg.lock, hand each
 * writer of the batch the result and wake it, and wake that writer. A woken writer goes on
 * without taking sg.lock again, so a batch of n writers costs n
 * wake-ups, not a convoy of n waits on the lock. Called with sg.lock
 * held; returns with it released. me (in the batch) is not woken.
 */
static void lead(struct sg_group *grp, int fd, struct sg_waiter *me)
{
	struct sg_waiter *batch, *w, *next, *lead_next = NULL;
	struct timespec until;
	int rc;

	grp->busy = 1;
	if (grp->owed > 0) { /* the writers of the batch just done */
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += sg.gather_us / 1000000;
		until.tv_nsec += sg.gather_us % 1000000 * 1000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (grp->owed > 0 &&
		       pthread_cond_clockwait(&sg.back, &sg.lock,
					      CLOCK_MONOTONIC, &until) == 0)
			;
		grp->owed = 0;
	}
	batch = grp->queue;
	for (w = batch; w; w = w->next)
		w->queued = 0;
	grp->queue = NULL;
	pthread_mutex_unlock(&sg.lock);
	rc = sg.sync(fd);
	pthread_mutex_lock(&sg.lock);
	grp->busy = 0;
	grp->gen++;
	for (w = batch; w; w = w->next) {
		sg.queued--;
		w->gen = grp->gen;
		if (w->again && !rc)
			grp->owed++;
	}
	if (grp->queue) {
		lead_next = grp->queue;
		atomic_store(&lead_next->state, W_LEAD);
	}
	pthread_mutex_unlock(&sg.lock);
	for (w = batch; w; w = next) {
		next = w->next; /* w may return as soon as it is done */
		w->rc = rc;
		atomic_store_explicit(&w->state, W_DONE, memory_order_release);
		if (w != me)
			state_wake(&w->state);
	}
	if (lead_next) /* after the batch: it may be done by now too */
		state_wake(&lead_next->state);
}

/* Queue on fd's group and return once a batch that covers the caller is
 * done. again: the caller comes back (sg_sync_first); back: it is back
 * from the batch numbered *ticket (sg_sync_again). *ticket is set to the
 * batch that covered the caller. 0 or -errno. */
static int group_sync(int fd, int again, int back, unsigned *ticket)
{
	struct sg_waiter me = {.state = W_WAIT, .again = again};
	struct sg_group *grp;
	struct stat sb;
	int state, expect;

	if (fstat(fd, &sb) == -1)
		return -errno;
	pthread_mutex_lock(&sg.lock);
	grp = group_of(sb.st_dev);
	if (!grp) {
		pthread_mutex_unlock(&sg.lock);
		return sg.sync(fd);
	}
	if (back && grp->gen == *ticket && grp->owed > 0 && --grp->owed == 0)
		pthread_cond_broadcast(&sg.back);
	me.next = grp->queue;
	grp->queue = &me;
	me.queued = 1;
	sg.queued++;
	for (;;) { /* under sg.lock, me queued or in a batch not done */
		if (me.queued && !grp->busy) {
			lead(grp, fd, &me); /* me is done */
			break;
		}
		pthread_mutex_unlock(&sg.lock);
		while ((state = atomic_load_explicit(
				&me.state, memory_order_acquire)) == W_WAIT)
			state_wait(&me.state);
		if (state == W_DONE)
			break;
		pthread_mutex_lock(&sg.lock);
		expect = W_LEAD; /* asked to lead, unless done meanwhile */
		if (!atomic_compare_exchange_strong(&me.state, &expect,
						    W_WAIT)) {
			pthread_mutex_unlock(&sg.lock);
			break;
		}
	}
	if (ticket)
		*ticket = me.gen;
	return me.rc;
}

int sg_sync(int fd)
{
	return group_sync(fd, 0, 0, NULL);
}

int sg_sync_first(int fd, unsigned *ticket)
{
	return group_sync(fd, 1, 0, ticket);
}

int sg_sync_again(int fd, unsigned ticket)
{
	return group_sync(fd, 0, 1, &ticket);
}

void sg_set_sync(int (*fn)(int fd), long gather_us)
{
	pthread_mutex_lock(&sg.lock);
	sg.sync = fn ? fn : sync_fs_of;
	sg.gather_us = gather_us >= 0 ? gather_us : SG_GATHER_US;
	pthread_mutex_unlock(&sg.lock);
}

int sg_queued(void)
{
	int n;

	pthread_mutex_lock(&sg.lock);
	n = sg.queued;
	pthread_mutex_unlock(&sg.lock);
	return n;
}
