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
 *           changes)--> waits for a later batch
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
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "objectd/internal.h"

#define SG_GROUPS 64 /* filesystems with a group; more sync alone */

struct sg_waiter {
	struct sg_waiter *next;
	pthread_cond_t wake; /* done, or the group has no leader */
	int done;
	int rc;
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

/* Lead one batch of grp: take its queue, sync, wake each writer of the
 * batch, and one writer queued meanwhile to lead the next batch (one
 * wake-up each, not a broadcast to every waiter). Called and returns
 * with sg.lock held. */
static void lead(struct sg_group *grp, int fd)
{
	struct sg_waiter *batch = grp->queue, *w, *next;
	int rc;

	grp->queue = NULL;
	grp->busy = 1;
	pthread_mutex_unlock(&sg.lock);
	rc = sg.sync(fd);
	pthread_mutex_lock(&sg.lock);
	grp->busy = 0;
	for (w = batch; w; w = next) {
		next = w->next; /* w may return as soon as done is set */
		w->rc = rc;
		w->done = 1;
		sg.queued--;
		pthread_cond_signal(&w->wake);
	}
	if (grp->queue)
		pthread_cond_signal(&grp->queue->wake);
}

int sg_sync(int fd)
{
	struct sg_waiter me = {.wake = PTHREAD_COND_INITIALIZER};
	struct sg_group *grp;
	struct stat sb;
	int rc;

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
	sg.queued++;
	while (!me.done) {
		if (!grp->busy)
			lead(grp, fd);
		else
			pthread_cond_wait(&me.wake, &sg.lock);
	}
	rc = me.rc;
	pthread_mutex_unlock(&sg.lock);
	pthread_cond_destroy(&me.wake);
	return rc;
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
