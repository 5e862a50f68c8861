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
#include <unistd.h>

#include "objectd/internal.h"

#define SG_GROUPS 64 /* filesystems with a group; more sync alone */

/* A waiter's state: queued, asked to lead the next batch, or done. Only
 * a leader moves it to W_DONE (once, after the waiter left the queue);
 * W_LEAD is set under sg.lock while it is queued. */
enum { W_WAIT, W_LEAD, W_DONE };

struct sg_waiter {
	struct sg_waiter *next;
	atomic_int state;
	int queued; /* in its group's queue (under sg.lock) */
	int rc;	    /* written before state becomes W_DONE */
};

struct sg_group {
	dev_t dev;
	int used;
	int busy; /* a leader is syncing */
	struct sg_waiter *queue;
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
	int (*sync)(int fd); /* sync_fs_of; tests put their own */
	int queued;	     /* writers queued, all groups (tests) */
	struct sg_group g[SG_GROUPS];
} sg = {PTHREAD_MUTEX_INITIALIZER, sync_fs_of, 0, {{0}}};

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
	struct sg_waiter *batch = grp->queue, *w, *next, *lead_next = NULL;
	int rc;

	for (w = batch; w; w = w->next)
		w->queued = 0;
	grp->queue = NULL;
	grp->busy = 1;
	pthread_mutex_unlock(&sg.lock);
	rc = sg.sync(fd);
	pthread_mutex_lock(&sg.lock);
	grp->busy = 0;
	for (w = batch; w; w = w->next)
		sg.queued--;
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

int sg_sync(int fd)
{
	struct sg_waiter me = {.state = W_WAIT};
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
	return me.rc;
}

void sg_set_sync(int (*fn)(int fd))
{
	pthread_mutex_lock(&sg.lock);
	sg.sync = fn ? fn : sync_fs_of;
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
