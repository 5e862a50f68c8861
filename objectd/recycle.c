/*
 * objectd/recycle.c: a small pool, per device, of obsolete large .data
 * files kept to be written over by the next large PUTs instead of being
 * unlinked.
 *
 * Why: a volume's chunks are rewritten whole (4 MiB objects, three
 * replicas) and each PUT made a new file and unlinked the old one. On a
 * filesystem mounted with discard (or a thin virtual disk) every fresh
 * block is a fresh host allocation: the disk here wrote 526-574 MiB/s
 * into new files but 888 MiB/s over existing ones (fio, O_DIRECT 1 MiB),
 * and kumo's three replicas sat at that fresh-block limit. Writing a
 * PUT's body over the blocks of a file some other object just left
 * behind is what nbdkit's file plugin does with its one file.
 *
 * The life of a pooled file (df_cleanup, df_writer_open_len):
 *
 *   obsolete <hash_dir>/<ts>.data of a replicated policy, >= DF_DIRECT_MIN
 *     --rc_put: room in the pool and free space above RC_MIN_FREE_PCT,
 *       rename to <dev>/recycle/r<pid>.<n>, sg_mark--> POOLED (else unlinked)
 *   POOLED --rc_take, once a sync of the filesystem started after the
 *       rename has succeeded (sg_covered), rename to <dev>/tmp/tmpr<pid>.<n>,
 *       open, write lease granted--> a PUT's TMP (diskfile.c's machine,
 *       written from offset 0, cut to its exact length at commit)
 *   POOLED --rc_release: free space low, a fallocate refused, the pool
 *       idle for updater_interval seconds--> unlinked
 *
 * Invariants:
 *   1. No byte of another object can be read through a hash dir: a
 *      pooled file gets a name in a hash dir only through diskfile.c's
 *      commit, which truncates it to the new body, metadata and footer it
 *      wrote (an aborted PUT's file is unlinked).
 *   2. No reader still holding the old object open sees its bytes
 *      change: rc_take writes into a file only if a write lease is
 *      granted on it, that is no other open file of it exists (a GET or
 *      the auditor that opened it before its rename keeps it out of the
 *      pool's reuse; it is unlinked instead), and none can be opened
 *      later (its old name is gone).
 *   3. A crash cannot leave a new object's bytes under the old object's
 *      name: the rename out of the hash dir is on disk (invariant 1 of
 *      syncgroup.c) before the file is written again.
 *   4. The pool never hides space: at most RC_FILES files and RC_BYTES
 *      bytes per device, none while the device is low on space, all
 *      released when a claim of room fails (server.c) and when idle.
 *      Files of a process that died stay in <dev>/recycle until the next
 *      process's first idle release (rc_release empties the folder).
 *
 * Erasure-coded archives are never pooled (their cleanup keeps unlinking).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "objectd/internal.h"

#define RC_DEVS		16 /* devices with a pool; others unlink */
#define RC_FILES	32 /* files pooled per device at most */
#define RC_BYTES	(256ULL << 20)
#define RC_MIN_FREE_PCT 10 /* no pool below this much free space */

struct rc_file {
	unsigned id;   /* <dev>/recycle/r<pid>.<id> */
	uint64_t size; /* its length when pooled */
	uint64_t mark; /* sg_mark after its rename into the pool */
};

struct rc_dev {
	char dir[DF_DEV_DIR_MAX];
	dev_t dev; /* its filesystem */
	int used, n;
	uint64_t bytes;
	time_t last; /* last put or take */
	struct rc_file f[RC_FILES];
};

static struct {
	pthread_mutex_t lock;
	unsigned next_id;
	struct rc_dev d[RC_DEVS];
} pool = {PTHREAD_MUTEX_INITIALIZER, 0, {{{0}}}};

/* The pool of dev_dir, made if make and there is room; NULL if none.
 * Under pool.lock. */
static struct rc_dev *dev_of(const char *dev_dir, int make)
{
	int i;

	for (i = 0; i < RC_DEVS; i++)
		if (pool.d[i].used && !strcmp(pool.d[i].dir, dev_dir))
			return &pool.d[i];
	for (i = 0; make && i < RC_DEVS; i++)
		if (!pool.d[i].used &&
		    strlen(dev_dir) < sizeof(pool.d[i].dir)) {
			memset(&pool.d[i], 0, sizeof(pool.d[i]));
			pool.d[i].used = 1;
			strcpy(pool.d[i].dir, dev_dir);
			return &pool.d[i];
		}
	return NULL;
}

static void pooled_path(const char *dev_dir, unsigned id, char *out, size_t len)
{
	snprintf(out, len, "%s/recycle/r%d.%x", dev_dir, (int)getpid(), id);
}

/* Drop entry i of d (its file is gone or taken). Under pool.lock. */
static void forget(struct rc_dev *d, int i)
{
	d->bytes -= d->f[i].size;
	d->f[i] = d->f[--d->n];
}

/* Unlink whatever lies in <dev_dir>/recycle. Under pool.lock, with no
 * file of the device pooled (or all of them to go). */
static void sweep(const char *dev_dir)
{
	char path[DF_DEV_DIR_MAX + 16];
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/recycle", dev_dir);
	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.' &&
		    unlinkat(dirfd(dir), de->d_name, 0) == -1 &&
		    errno != ENOENT)
			log_warn("cannot remove %s/%s: %m", path, de->d_name);
	closedir(dir);
}

/* Unlink every pooled file of d. The number released. Under pool.lock. */
static int release_all(struct rc_dev *d)
{
	char path[DF_DEV_DIR_MAX + 64];
	int n = d->n;

	while (d->n) {
		pooled_path(d->dir, d->f[d->n - 1].id, path, sizeof(path));
		if (unlink(path) == -1 && errno != ENOENT)
			log_warn("cannot remove %s: %m", path);
		forget(d, d->n - 1);
	}
	return n;
}

/* Non-zero when the filesystem of dev_dir has less than RC_MIN_FREE_PCT
 * free (or cannot tell). */
static int low_space(const char *dev_dir)
{
	struct statvfs sv;

	if (statvfs(dev_dir, &sv) == -1 || !sv.f_blocks)
		return 1;
	return (unsigned long long)sv.f_bavail * 100 <
	       (unsigned long long)sv.f_blocks * RC_MIN_FREE_PCT;
}

int rc_put(const char *dev_dir, const char *path, const struct stat *st)
{
	char to[DF_DEV_DIR_MAX + 64];
	struct rc_dev *d;
	int low, moved, rc = -ENOSPC;

	if (!S_ISREG(st->st_mode) || st->st_size < DF_DIRECT_MIN ||
	    st->st_nlink != 1)
		return -EINVAL;
	low = low_space(dev_dir);
	pthread_mutex_lock(&pool.lock);
	d = dev_of(dev_dir, !low);
	if (d && low) {
		release_all(d);
		d = NULL;
	}
	if (!d || d->n == RC_FILES ||
	    d->bytes + (uint64_t)st->st_size > RC_BYTES)
		goto out;
	pooled_path(dev_dir, pool.next_id, to, sizeof(to));
	moved = rename(path, to) == 0;
	if (!moved && errno == ENOENT) { /* the device's first: make recycle/ */
		snprintf(to, sizeof(to), "%s/recycle", dev_dir);
		if (mkdir(to, 0755) == 0 || errno == EEXIST) {
			pooled_path(dev_dir, pool.next_id, to, sizeof(to));
			moved = rename(path, to) == 0;
		}
	}
	if (!moved) {
		rc = -errno;
		goto out;
	}
	d->dev = st->st_dev;
	d->f[d->n].id = pool.next_id++;
	d->f[d->n].size = (uint64_t)st->st_size;
	d->f[d->n].mark = sg_mark(st->st_dev);
	d->bytes += (uint64_t)st->st_size;
	d->n++;
	d->last = time(NULL);
	log_debug("pooled %s as %s", path, to);
	rc = 0;
out:
	pthread_mutex_unlock(&pool.lock);
	return rc;
}

int rc_take(const char *dev_dir, char *tmp_path, size_t len)
{
	char from[DF_DEV_DIR_MAX + 64];
	struct rc_dev *d;
	int i = 0, fd, rc = -ENOENT;

	pthread_mutex_lock(&pool.lock);
	d = dev_of(dev_dir, 0);
	for (; d && i < d->n; i++)
		if (sg_covered(d->dev, d->f[i].mark))
			break;
	if (!d || i == d->n)
		goto out;
	pooled_path(dev_dir, d->f[i].id, from, sizeof(from));
	if ((size_t)snprintf(tmp_path, len, "%s/tmp/tmpr%d.%x", dev_dir,
			     (int)getpid(), d->f[i].id) >= len)
		rc = -ENAMETOOLONG;
	else if (renameat2(AT_FDCWD, from, AT_FDCWD, tmp_path,
			   RENAME_NOREPLACE) == -1)
		rc = -errno;
	else
		rc = 0;
	if (rc && rc != -ENAMETOOLONG && unlink(from) == -1 && errno != ENOENT)
		log_warn("cannot remove %s: %m", from);
	forget(d, i);
	d->last = time(NULL);
out:
	pthread_mutex_unlock(&pool.lock);
	if (rc)
		return rc;
	fd = open(tmp_path, O_WRONLY | O_CLOEXEC);
	if (fd == -1) {
		rc = -errno;
		goto gone;
	}
	/* a write lease is granted only when no other open file of it is
	 * left: a reader of the old object that opened it before it left
	 * its hash dir keeps its bytes */
	if (fcntl(fd, F_SETLEASE, F_WRLCK) == -1) {
		rc = -EBUSY;
		log_debug("%s still open elsewhere (%m): not reused", tmp_path);
		goto gone;
	}
	/* and a fresh time for the temp cleaner (updater.c) */
	if (fcntl(fd, F_SETLEASE, F_UNLCK) == -1 || futimens(fd, NULL) == -1) {
		rc = -errno;
		goto gone;
	}
	return fd;
gone:
	if (fd >= 0)
		close(fd);
	if (unlink(tmp_path) == -1 && errno != ENOENT)
		log_warn("cannot remove %s: %m", tmp_path);
	tmp_path[0] = '\0';
	return rc;
}

int rc_release(const char *dev_dir)
{
	struct rc_dev *d;
	int n = 0;

	pthread_mutex_lock(&pool.lock);
	d = dev_of(dev_dir, 0);
	if (d)
		n = release_all(d);
	pthread_mutex_unlock(&pool.lock);
	if (n)
		log_info("released %d pooled files of %s", n, dev_dir);
	return n;
}

void rc_idle(const char *dev_dir, long long idle_secs)
{
	struct rc_dev *d;
	int n = 0;

	pthread_mutex_lock(&pool.lock);
	d = dev_of(dev_dir, 0);
	if (!d || time(NULL) - d->last >= idle_secs) {
		if (d)
			n = release_all(d);
		sweep(dev_dir);
	}
	pthread_mutex_unlock(&pool.lock);
	if (n)
		log_info("released %d pooled files of %s: idle", n, dev_dir);
}
