/*
 * objectd/recycle.c: large .data files an overwrite made obsolete, kept
 * for the next upload of about their size instead of being unlinked.
 *
 * Why: unlinking a file frees its blocks, and on a filesystem mounted
 * with -o discard (this project's machines) each freed extent is also a
 * discard the disk must do; the next upload then allocates fresh blocks.
 * A volume overwriting its 4 MiB chunks did both for every chunk: with
 * discards, 1.67 s of disk time per GiB written, without 1.01 s
 * (bench/volume_nbd.sh's write, three replicas: 191.8 against 285.4
 * MiB/s). Writing over the blocks of a file kept aside costs neither.
 *
 * The life of a kept file:
 *
 *   <hash_dir>/<ts>.data, obsolete after a newer .data is DURABLE
 *     --rcy_offer: rename to <dev>/tmp/rcy-<pid>-<n>, then a write lease
 *       (F_SETLEASE F_WRLCK: granted only if no one else has it open)-->
 *   KEPT (the device's list, in memory)
 *     --rcy_take, for an upload of len bytes with len <= size <= len +
 *       RCY_SLACK: off the list, under its name-->
 *   an upload's temp file (df_writer_open: no new inode in tmp), written
 *   from offset 0 and cut to its new length (df_writer_commit) before
 *   its sync and rename into a hash dir.
 *
 * Invariants:
 *   1. Nobody reads a kept file: once renamed into tmp no one can open it
 *      by name, and the lease proves no descriptor opened before (a GET
 *      streaming that old version, the auditor, the replicator) is still
 *      open; else it is unlinked as before. A file with other links
 *      (st_nlink > 1) is never kept.
 *   2. A kept file holds at most its old object's bytes and is never
 *      named in a hash dir again but by a whole, synced upload over it
 *      (diskfile.c's invariant 1): a crash leaves only temp files, which
 *      the next start of this device's list removes (rcy-<pid>-* of a
 *      pid not running, or of our own). The updater's sweep of old temp
 *      files leaves rcy-* alone: a kept file has its old object's mtime.
 *   3. What is kept is bounded per device (RCY_MAX_FILES, RCY_MAX_BYTES)
 *      and short-lived: a file kept RCY_IDLE_S seconds without use is
 *      unlinked (at the next offer or take, and each updater pass), all
 *      are when an upload finds the device full (rcy_drain), and at exit.
 *      Only overwrites by a PUT keep files: a DELETE frees the space.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "objectd/internal.h"

#define RCY_MAX_FILES 32
#define RCY_MAX_BYTES (256ull << 20)
#define RCY_MIN_SIZE  (1024 * 1024) /* smaller files: their unlink is cheap */
#define RCY_SLACK     (64 * 1024)   /* room for a different metadata block */
#define RCY_IDLE_S    60
#define RCY_NAME_MAX  48
#define RCY_ALL	      ((time_t)INT64_MAX) /* take_idle: every file */

struct rcy_file {
	char name[RCY_NAME_MAX]; /* in <dev>/tmp */
	uint64_t size;
	time_t since;
};

struct rcy_dev {
	struct rcy_dev *next;
	char dir[DF_DEV_DIR_MAX];
	struct rcy_file files[RCY_MAX_FILES];
	int n;
	uint64_t bytes;
};

static pthread_mutex_t rcy_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rcy_dev *rcy_devs;
static unsigned long rcy_seq;

/* <dev>/tmp/<name> into out. 0 or -ENAMETOOLONG. */
static int tmp_path(const char *dev_dir, const char *name, char *out,
		    size_t len)
{
	int n = snprintf(out, len, "%s/tmp/%s", dev_dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static void unlink_kept(const char *dev_dir, const char *name)
{
	char path[PATH_MAX];

	if (!tmp_path(dev_dir, name, path, sizeof(path)) &&
	    unlink(path) == -1 && errno != ENOENT)
		log_warn("cannot remove %s: %m", path);
}

/* Remove the files a former process (or this pid before) kept in
 * dev_dir/tmp: nobody's list names them. */
static void sweep_stale(const char *dev_dir)
{
	char dir[PATH_MAX];
	struct dirent *de;
	long pid;
	DIR *d;

	if (tmp_path(dev_dir, "", dir, sizeof(dir)))
		return;
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (sscanf(de->d_name, "rcy-%ld-", &pid) != 1)
			continue;
		if (pid == (long)getpid() ||
		    (kill((pid_t)pid, 0) == -1 && errno == ESRCH))
			unlink_kept(dev_dir, de->d_name);
	}
	closedir(d);
}

/* rcy_lock held: dev_dir's list, made (and its tmp swept) on first use;
 * NULL on ENOMEM. */
static struct rcy_dev *dev_of(const char *dev_dir)
{
	struct rcy_dev *v;

	for (v = rcy_devs; v; v = v->next)
		if (!strcmp(v->dir, dev_dir))
			return v;
	v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	snprintf(v->dir, sizeof(v->dir), "%s", dev_dir);
	sweep_stale(dev_dir);
	v->next = rcy_devs;
	rcy_devs = v;
	return v;
}

/* rcy_lock held: forget file i of v, moving its name to out (for the
 * caller to unlink or use outside the lock). */
static void forget(struct rcy_dev *v, int i, char out[RCY_NAME_MAX])
{
	memcpy(out, v->files[i].name, RCY_NAME_MAX);
	v->bytes -= v->files[i].size;
	v->files[i] = v->files[--v->n];
}

/* rcy_lock held: whether v may keep one more file of size bytes. */
static int fits(const struct rcy_dev *v, uint64_t size)
{
	return v && v->n < RCY_MAX_FILES && v->bytes + size <= RCY_MAX_BYTES;
}

/* rcy_lock held: move the names of the files kept since before `before`
 * (RCY_ALL: all of them) to out; their count. */
static int take_idle(struct rcy_dev *v, time_t before, char out[][RCY_NAME_MAX])
{
	int i = 0, n = 0;

	while (i < v->n) {
		if (before == RCY_ALL || v->files[i].since < before)
			forget(v, i, out[n++]);
		else
			i++;
	}
	return n;
}

/* Unlink dev_dir's files kept since before before (RCY_ALL: all). */
static void drop_idle(const char *dev_dir, time_t before)
{
	char names[RCY_MAX_FILES][RCY_NAME_MAX];
	struct rcy_dev *v;
	int i, n = 0;

	pthread_mutex_lock(&rcy_lock);
	v = dev_of(dev_dir);
	if (v)
		n = take_idle(v, before, names);
	pthread_mutex_unlock(&rcy_lock);
	for (i = 0; i < n; i++)
		unlink_kept(dev_dir, names[i]);
}

/* 0 if no one else has fd's file open (a write lease is granted only
 * then); the lease is given back at once. -errno otherwise. Should anyone
 * open the file meanwhile, the lease's break is told by SIGURG, whose
 * default is to be ignored: the default SIGIO would end the process. */
static int alone_with(int fd)
{
	if (fcntl(fd, F_SETSIG, SIGURG) == -1 ||
	    fcntl(fd, F_SETLEASE, F_WRLCK) == -1)
		return -errno;
	fcntl(fd, F_SETLEASE, F_UNLCK);
	return 0;
}

int rcy_offer(const char *dev_dir, const char *path)
{
	char name[RCY_NAME_MAX], kept[PATH_MAX];
	struct rcy_dev *v;
	struct stat st;
	int fd = -1, room, pooled = 0;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    st.st_size < RCY_MIN_SIZE)
		goto unlink_it;
	rcy_expire(dev_dir);
	pthread_mutex_lock(&rcy_lock);
	room = fits(dev_of(dev_dir), (uint64_t)st.st_size);
	snprintf(name, sizeof(name), "rcy-%ld-%lu", (long)getpid(), ++rcy_seq);
	pthread_mutex_unlock(&rcy_lock);
	if (!room || tmp_path(dev_dir, name, kept, sizeof(kept)))
		goto unlink_it;
	if (rename(path, kept) == -1)
		goto unlink_it; /* gone meanwhile, or no tmp dir */
	fd = open(kept, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1 || fstat(fd, &st) == -1 || st.st_nlink != 1 ||
	    alone_with(fd)) {
		log_debug("not keeping %s: in use", path);
		path = kept;
		goto unlink_it;
	}
	pthread_mutex_lock(&rcy_lock);
	v = dev_of(dev_dir);
	if (fits(v, (uint64_t)st.st_size)) { /* still: others kept meanwhile */
		memcpy(v->files[v->n].name, name, RCY_NAME_MAX);
		v->files[v->n].size = (uint64_t)st.st_size;
		v->files[v->n].since = time(NULL);
		v->bytes += (uint64_t)st.st_size;
		v->n++;
		pooled = 1;
	}
	pthread_mutex_unlock(&rcy_lock);
	close(fd);
	if (pooled) {
		log_debug("kept %s as %s for reuse", path, kept);
		return 1;
	}
	path = kept;
	fd = -1;
unlink_it:
	if (fd >= 0)
		close(fd);
	if (unlink(path) == -1 && errno != ENOENT)
		return -errno;
	return 0;
}

int rcy_take(const char *dev_dir, uint64_t len, char *path, size_t size)
{
	char name[RCY_NAME_MAX];
	struct rcy_dev *v;
	int i, best = -1;

	rcy_expire(dev_dir);
	pthread_mutex_lock(&rcy_lock);
	v = dev_of(dev_dir);
	for (i = 0; v && i < v->n; i++)
		if (v->files[i].size >= len &&
		    v->files[i].size <= len + RCY_SLACK &&
		    (best < 0 || v->files[i].size < v->files[best].size))
			best = i;
	if (best >= 0)
		forget(v, best, name);
	pthread_mutex_unlock(&rcy_lock);
	return best >= 0 && !tmp_path(dev_dir, name, path, size);
}

void rcy_expire(const char *dev_dir)
{
	drop_idle(dev_dir, time(NULL) - RCY_IDLE_S);
}

void rcy_drain(const char *dev_dir)
{
	drop_idle(dev_dir, RCY_ALL);
}

void rcy_drain_all(void)
{
	char names[RCY_MAX_FILES][RCY_NAME_MAX];
	struct rcy_dev *v;
	int i, n;

	pthread_mutex_lock(&rcy_lock);
	while ((v = rcy_devs)) {
		rcy_devs = v->next;
		n = take_idle(v, RCY_ALL, names);
		for (i = 0; i < n; i++)
			unlink_kept(v->dir, names[i]);
		free(v);
	}
	pthread_mutex_unlock(&rcy_lock);
}
