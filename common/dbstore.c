/*
 * common/dbstore.c: one LevelDB per device behind a small registry (see
 * dbstore.h). Databases are opened on first use under the registry lock
 * and stay open, so a handle returned by dbstore_device is valid until
 * dbstore_free.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <leveldb/c.h>

#include "common/dbstore.h"
#include "common/log.h"

/*
 * Group commit (dbstore_commit_unlock). A writer applies its batch
 * without sync while it holds db->lock, takes the next generation number
 * and releases db->lock; it then waits until a sync covers its
 * generation:
 *
 *     written --(commit_unlock: write, gen = ++written, unlock)--> waiting
 *     waiting --(no sync running: become leader, sync_logs)--> synced
 *     waiting --(a sync running: wait on cond)--> waiting | synced | failed
 *
 * 1. gens are taken under db->lock right after the write, so gen order is
 *    the order of the records in LevelDB's log.
 * 2. A leader reads target = written before it syncs: every record with
 *    gen <= target is in the log (LevelDB write()s each record to its
 *    log before leveldb_write returns) when the sync starts, so one
 *    fdatasync of the logs makes them all durable; synced only grows.
 * 3. One leader at a time (syncing); followers sleep on cond and return
 *    when synced >= gen (0) or failed >= gen (the leader's error).
 * 4. Nobody is acknowledged before 3: an acknowledged row is on disk.
 * 5. The leader fdatasyncs LevelDB's log files itself (sync_logs), not
 *    through a synced leveldb_write: LevelDB keeps its writer queue
 *    while such a write syncs, so every batch written meanwhile (and,
 *    behind it, every writer waiting for db->lock) stood still for the
 *    whole sync and then needed a sync of its own (containerd under 16
 *    clients: ~0.8 syncs per row). Now batches go on into the log while
 *    a sync runs and share the next one.
 */
struct dbstore_db {
	struct dbstore_db *next;
	char *dev;
	char *path;
	leveldb_t *ldb;
	pthread_mutex_t lock;
	pthread_mutex_t sync_lock; /* guards the fields below */
	pthread_cond_t sync_cond;
	uint64_t written, synced, failed;
	int syncing, fail_rc;
	unsigned long syncs; /* leader syncs done, for tests */
	/* the newest log, open for the leader's fdatasync (-1: none yet) */
	int log_fd;
	unsigned long log_num;
	/* relist_logs: the folder's mtime when it was last listed with
	 * every older log synced, and when that listing was (0: none) */
	struct timespec logs_mtime, logs_listed;
};

struct dbstore {
	char *devices;
	char *name;
	pthread_mutex_t lock; /* guards dbs */
	struct dbstore_db *dbs;
	leveldb_options_t *opts;
};

struct dbstore_batch {
	leveldb_writebatch_t *wb;
};

/* Options shared by every store: reads, and writes with sync. */
static leveldb_writeoptions_t *g_sync_wopts;
static leveldb_writeoptions_t *g_nosync_wopts;
static leveldb_readoptions_t *g_ropts;
/* tests: run by each leader right before it syncs */
static void (*g_sync_hook)(struct dbstore_db *db);
/* set by dbstore_defer_sync in this thread */
static __thread int t_defer_sync;
static pthread_once_t g_opts_once = PTHREAD_ONCE_INIT;

static void make_opts(void)
{
	g_sync_wopts = leveldb_writeoptions_create();
	leveldb_writeoptions_set_sync(g_sync_wopts, 1);
	g_nosync_wopts = leveldb_writeoptions_create();
	g_ropts = leveldb_readoptions_create();
}

int dbstore_valid_device(const char *dev)
{
	const char *p;

	if (!dev || !*dev || !strcmp(dev, ".") || !strcmp(dev, ".."))
		return 0;
	for (p = dev; *p; p++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-' || c == '~'))
			return 0;
	}
	return 1;
}

int dbstore_new(const char *devices, const char *name, struct dbstore **out)
{
	struct dbstore *st = calloc(1, sizeof(*st));

	pthread_once(&g_opts_once, make_opts);
	if (!st)
		return -ENOMEM;
	st->devices = strdup(devices);
	st->name = strdup(name);
	st->opts = leveldb_options_create();
	if (!st->devices || !st->name || !st->opts) {
		free(st->devices);
		free(st->name);
		if (st->opts)
			leveldb_options_destroy(st->opts);
		free(st);
		return -ENOMEM;
	}
	leveldb_options_set_create_if_missing(st->opts, 1);
	pthread_mutex_init(&st->lock, NULL);
	*out = st;
	return 0;
}

void dbstore_free(struct dbstore *st)
{
	struct dbstore_db *db, *next;

	if (!st)
		return;
	for (db = st->dbs; db; db = next) {
		next = db->next;
		leveldb_close(db->ldb);
		if (db->log_fd >= 0)
			close(db->log_fd);
		pthread_mutex_destroy(&db->lock);
		pthread_mutex_destroy(&db->sync_lock);
		pthread_cond_destroy(&db->sync_cond);
		free(db->dev);
		free(db->path);
		free(db);
	}
	leveldb_options_destroy(st->opts);
	pthread_mutex_destroy(&st->lock);
	free(st->devices);
	free(st->name);
	free(st);
}

/* Open <devices>/<dev>/<name>; called with st->lock held. */
static int open_db(struct dbstore *st, const char *dev, int create,
		   struct dbstore_db **out)
{
	struct dbstore_db *db = NULL;
	struct stat sb;
	char *path = NULL, *err = NULL;
	int rc = 0;

	if (asprintf(&path, "%s/%s", st->devices, dev) < 0)
		return -ENOMEM;
	if (stat(path, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		rc = -ENODEV;
		goto out;
	}
	free(path);
	if (asprintf(&path, "%s/%s/%s", st->devices, dev, st->name) < 0) {
		path = NULL;
		rc = -ENOMEM;
		goto out;
	}
	if (!create && stat(path, &sb) == -1) {
		rc = -ENOENT;
		goto out;
	}
	db = calloc(1, sizeof(*db));
	if (!db || !(db->dev = strdup(dev))) {
		rc = -ENOMEM;
		goto out;
	}
	db->ldb = leveldb_open(st->opts, path, &err);
	if (err) {
		rc = strstr(err, "lock") || strstr(err, "LOCK") ? -EBUSY : -EIO;
		log_err("cannot open %s: %s", path, err);
		leveldb_free(err);
		goto out;
	}
	pthread_mutex_init(&db->lock, NULL);
	pthread_mutex_init(&db->sync_lock, NULL);
	pthread_cond_init(&db->sync_cond, NULL);
	db->log_fd = -1;
	db->path = path;
	path = NULL;
	db->next = st->dbs;
	st->dbs = db;
	*out = db;
	db = NULL;
out:
	if (db)
		free(db->dev);
	free(db);
	free(path);
	return rc;
}

int dbstore_device(struct dbstore *st, const char *dev, int create,
		   struct dbstore_db **out)
{
	struct dbstore_db *db;
	int rc = 0;

	if (!dbstore_valid_device(dev))
		return -ENODEV;
	pthread_mutex_lock(&st->lock);
	for (db = st->dbs; db; db = db->next)
		if (!strcmp(db->dev, dev))
			break;
	if (db)
		*out = db;
	else
		rc = open_db(st, dev, create, out);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int dbstore_each(struct dbstore *st,
		 int (*fn)(struct dbstore_db *db, const char *dev, void *arg),
		 void *arg)
{
	struct dbstore_db *db;
	struct dirent *de;
	char **names = NULL, **grown;
	size_t n = 0, i;
	int rc = 0, busy = 0;
	DIR *d = opendir(st->devices);

	if (!d)
		return 0; /* no devices yet: nothing to do */
	while ((de = readdir(d))) {
		if (!dbstore_valid_device(de->d_name))
			continue;
		grown = realloc(names, sizeof(*names) * (n + 1));
		if (!grown) {
			rc = -ENOMEM;
			goto out;
		}
		names = grown;
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			rc = -ENOMEM;
			goto out;
		}
		n++;
	}
	qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n && !rc; i++) {
		int got = dbstore_device(st, names[i], 0, &db);

		if (got == -EBUSY)
			busy = 1;
		if (got)
			continue;
		rc = fn(db, names[i], arg);
	}
	if (!rc && busy)
		rc = -EBUSY;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

void dbstore_lock(struct dbstore_db *db)
{
	pthread_mutex_lock(&db->lock);
}

void dbstore_unlock(struct dbstore_db *db)
{
	pthread_mutex_unlock(&db->lock);
}

int dbstore_get(struct dbstore_db *db, const void *key, size_t klen, char **val,
		size_t *vlen)
{
	char *err = NULL, *v, *copy;
	size_t len = 0;

	v = leveldb_get(db->ldb, g_ropts, key, klen, &len, &err);
	if (err) {
		log_err("leveldb get on %s: %s", db->dev, err);
		leveldb_free(err);
		return -EIO;
	}
	if (!v)
		return -ENOENT;
	copy = malloc(len + 1);
	if (copy) {
		memcpy(copy, v, len);
		copy[len] = '\0';
	}
	leveldb_free(v);
	if (!copy)
		return -ENOMEM;
	*val = copy;
	if (vlen)
		*vlen = len;
	return 0;
}

struct dbstore_batch *dbstore_batch_new(void)
{
	struct dbstore_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->wb = leveldb_writebatch_create();
	if (!b->wb) {
		free(b);
		errno = ENOMEM;
		return NULL;
	}
	return b;
}

void dbstore_batch_put(struct dbstore_batch *b, const void *key, size_t klen,
		       const void *val, size_t vlen)
{
	leveldb_writebatch_put(b->wb, key, klen, val, vlen);
}

void dbstore_batch_del(struct dbstore_batch *b, const void *key, size_t klen)
{
	leveldb_writebatch_delete(b->wb, key, klen);
}

int dbstore_commit(struct dbstore_db *db, struct dbstore_batch *b)
{
	char *err = NULL;

	leveldb_write(db->ldb, t_defer_sync ? g_nosync_wopts : g_sync_wopts,
		      b->wb, &err);
	if (err) {
		log_err("leveldb write on %s: %s", db->dev, err);
		leveldb_free(err);
		return -EIO;
	}
	return 0;
}

/* Numbered file name ending in .log (LevelDB's write-ahead logs): its
 * number, or 0. */
static unsigned long log_number(const char *name)
{
	size_t n = strlen(name);
	char *end;
	unsigned long v;

	if (n < 5 || strcmp(name + n - 4, ".log"))
		return 0;
	v = strtoul(name, &end, 10);
	return end == name + n - 4 ? v : 0;
}

/* Seconds from a to b. */
static double ts_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/*
 * Can the folder hold a log that relist_logs has not seen? A new log
 * is a new name in it, which changes its mtime, unless the name came in
 * the same clock tick as the change that set the mtime we saw (the
 * kernel stamps directories with a coarse clock): so a listing counts
 * only when it was made well after that mtime (a second). st gets the
 * folder's stat (zeroed when it failed).
 */
static int logs_may_have_changed(struct dbstore_db *db, struct stat *st)
{
	int changed;

	memset(st, 0, sizeof(*st));
	if (stat(db->path, st) == -1) {
		memset(st, 0, sizeof(*st));
		return 1;
	}
	pthread_mutex_lock(&db->sync_lock);
	changed = !db->logs_listed.tv_sec ||
		  st->st_mtim.tv_sec != db->logs_mtime.tv_sec ||
		  st->st_mtim.tv_nsec != db->logs_mtime.tv_nsec ||
		  ts_diff(&db->logs_mtime, &db->logs_listed) < 1.0;
	pthread_mutex_unlock(&db->sync_lock);
	return changed;
}

/* One synced write of LevelDB's log (and of its older ones, as it syncs
 * only its current log): for a folder where sync_logs found no log. */
static int sync_by_write(struct dbstore_db *db)
{
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	char *err = NULL;
	int rc = 0;

	leveldb_write(db->ldb, g_sync_wopts, wb, &err);
	leveldb_writebatch_destroy(wb);
	if (err) {
		log_err("leveldb sync on %s: %s", db->dev, err);
		leveldb_free(err);
		rc = -EIO;
	}
	return rc;
}

/* fdatasync the log numbered num in dfd (gone: compacted into a synced
 * table meanwhile, nothing to do). 0 or -EIO (logged). */
static int sync_old_log(struct dbstore_db *db, int dfd, unsigned long num)
{
	char name[64];
	int fd, rc = 0;

	snprintf(name, sizeof(name), "%06lu.log", num);
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return 0;
	if (fdatasync(fd) == -1) {
		log_err("fdatasync %s/%s: %s", db->path, name, strerror(errno));
		rc = -EIO;
	}
	close(fd);
	return rc;
}

/*
 * List the folder again when a log may have come since the last listing
 * (logs_may_have_changed): sync every log but the newest (LevelDB
 * switched to a new one since our writes: they sit in the older one
 * until a compaction writes them to a table; once synced, nothing more
 * is written to it) and keep the newest open in db->log_fd. The leader
 * only. 0 or -EIO (logged).
 */
static int relist_logs(struct dbstore_db *db)
{
	unsigned long nums[16], max = 0, v;
	struct timespec listed;
	struct dirent *de;
	struct stat st;
	size_t n = 0, i;
	char name[64];
	int rc = 0, fd;
	DIR *d;

	if (!logs_may_have_changed(db, &st) && db->log_fd >= 0)
		return 0;
	clock_gettime(CLOCK_REALTIME, &listed);
	d = opendir(db->path);
	if (!d) {
		log_err("cannot list %s: %s", db->path, strerror(errno));
		return -EIO;
	}
	while ((de = readdir(d)))
		if ((v = log_number(de->d_name)) && n < 16) {
			nums[n++] = v;
			max = v > max ? v : max;
		}
	for (i = 0; i < n && !rc; i++)
		if (nums[i] != max)
			rc = sync_old_log(db, dirfd(d), nums[i]);
	if (!rc && max && max != db->log_num) {
		snprintf(name, sizeof(name), "%06lu.log", max);
		fd = openat(dirfd(d), name, O_RDONLY | O_CLOEXEC);
		if (fd != -1) { /* else gone already: the next sync lists */
			if (db->log_fd >= 0)
				close(db->log_fd);
			db->log_fd = fd;
			db->log_num = max;
		}
	}
	closedir(d);
	if (!rc && st.st_mtim.tv_sec) {
		/* st was taken before the listing: a log made since then
		 * changed the mtime again */
		pthread_mutex_lock(&db->sync_lock);
		db->logs_mtime = st.st_mtim;
		db->logs_listed = listed;
		pthread_mutex_unlock(&db->sync_lock);
	}
	return rc;
}

/* Make every record written to db's logs so far durable: fdatasync of
 * the newest log (older ones: relist_logs). The leader only (invariant
 * 3). 0 or -EIO (logged). */
static int sync_logs(struct dbstore_db *db)
{
	int rc = relist_logs(db);

	if (!rc && db->log_fd < 0)
		rc = sync_by_write(db);
	else if (!rc && fdatasync(db->log_fd) == -1) {
		log_err("fdatasync %s/%06lu.log: %s", db->path, db->log_num,
			strerror(errno));
		rc = -EIO;
	}
	return rc;
}

/* Wait until generation gen is durable, leading a sync when none runs. */
static int wait_synced(struct dbstore_db *db, uint64_t gen)
{
	uint64_t target;
	int rc = 0, got;

	pthread_mutex_lock(&db->sync_lock);
	while (db->synced < gen) {
		if (db->failed >= gen) {
			rc = db->fail_rc;
			break;
		}
		if (db->syncing) {
			pthread_cond_wait(&db->sync_cond, &db->sync_lock);
			continue;
		}
		db->syncing = 1;
		target = db->written;
		pthread_mutex_unlock(&db->sync_lock);
		if (g_sync_hook)
			g_sync_hook(db);
		got = sync_logs(db);
		pthread_mutex_lock(&db->sync_lock);
		db->syncing = 0;
		db->syncs++;
		if (got) {
			db->failed = target;
			db->fail_rc = got;
		} else if (target > db->synced) {
			db->synced = target;
		}
		pthread_cond_broadcast(&db->sync_cond);
	}
	pthread_mutex_unlock(&db->sync_lock);
	return rc;
}

int dbstore_commit_unlock(struct dbstore_db *db, struct dbstore_batch *b)
{
	char *err = NULL;
	uint64_t gen;
	int rc = 0;

	leveldb_write(db->ldb, g_nosync_wopts, b->wb, &err);
	if (err) {
		log_err("leveldb write on %s: %s", db->dev, err);
		leveldb_free(err);
		pthread_mutex_unlock(&db->lock);
		return -EIO;
	}
	pthread_mutex_lock(&db->sync_lock);
	gen = ++db->written;
	pthread_mutex_unlock(&db->sync_lock);
	pthread_mutex_unlock(&db->lock);
	if (!t_defer_sync)
		rc = wait_synced(db, gen);
	return rc;
}

unsigned long dbstore_sync_count(struct dbstore_db *db)
{
	unsigned long n;

	pthread_mutex_lock(&db->sync_lock);
	n = db->syncs;
	pthread_mutex_unlock(&db->sync_lock);
	return n;
}

void dbstore_set_sync_hook(void (*fn)(struct dbstore_db *db))
{
	g_sync_hook = fn;
}

void dbstore_defer_sync(int on)
{
	t_defer_sync = on;
}

int dbstore_sync(struct dbstore_db *db)
{
	uint64_t gen;

	/* a generation of its own: the leader that covers it syncs after
	 * this call, so after every deferred write made before it */
	pthread_mutex_lock(&db->sync_lock);
	gen = ++db->written;
	pthread_mutex_unlock(&db->sync_lock);
	return wait_synced(db, gen);
}

void dbstore_batch_free(struct dbstore_batch *b)
{
	if (!b)
		return;
	leveldb_writebatch_destroy(b->wb);
	free(b);
}

static int keycmp(const char *a, size_t alen, const void *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = memcmp(a, b, n);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

struct dbstore_iter {
	struct dbstore_db *db;
	leveldb_iterator_t *it;
};

int dbstore_iter_open(struct dbstore_db *db, struct dbstore_iter **out)
{
	struct dbstore_iter *i = calloc(1, sizeof(*i));

	if (i)
		i->it = leveldb_create_iterator(db->ldb, g_ropts);
	if (!i || !i->it) {
		free(i);
		return -ENOMEM;
	}
	i->db = db;
	*out = i;
	return 0;
}

void dbstore_iter_close(struct dbstore_iter *i)
{
	if (!i)
		return;
	leveldb_iter_destroy(i->it);
	free(i);
}

int dbstore_iter_scan(struct dbstore_iter *i, const void *lo, size_t lolen,
		      int lo_incl, const void *hi, size_t hilen, int reverse,
		      int (*fn)(void *arg, const char *key, size_t klen,
				const char *val, size_t vlen),
		      void *arg)
{
	leveldb_iterator_t *it = i->it;
	const char *k, *v;
	size_t klen, vlen;
	char *err = NULL;
	int rc = 0;

	if (reverse) {
		leveldb_iter_seek(it, hi, hilen);
		if (leveldb_iter_valid(it))
			leveldb_iter_prev(it);
		else
			leveldb_iter_seek_to_last(it);
	} else {
		leveldb_iter_seek(it, lo, lolen);
	}
	for (; leveldb_iter_valid(it);
	     reverse ? leveldb_iter_prev(it) : leveldb_iter_next(it)) {
		int c;

		k = leveldb_iter_key(it, &klen);
		if (keycmp(k, klen, hi, hilen) >= 0) {
			if (reverse)
				continue;
			break;
		}
		c = keycmp(k, klen, lo, lolen);
		if (c < 0 || (c == 0 && !lo_incl)) {
			if (reverse)
				break;
			continue;
		}
		v = leveldb_iter_value(it, &vlen);
		rc = fn(arg, k, klen, v, vlen);
		if (rc)
			break;
	}
	leveldb_iter_get_error(it, &err);
	if (err) {
		log_err("leveldb scan on %s: %s", i->db->dev, err);
		leveldb_free(err);
		rc = -EIO;
	}
	return rc > 0 ? 0 : rc;
}

int dbstore_scan(struct dbstore_db *db, const void *lo, size_t lolen,
		 int lo_incl, const void *hi, size_t hilen, int reverse,
		 int (*fn)(void *arg, const char *key, size_t klen,
			   const char *val, size_t vlen),
		 void *arg)
{
	struct dbstore_iter *i;
	int rc = dbstore_iter_open(db, &i);

	if (rc)
		return rc;
	rc = dbstore_iter_scan(i, lo, lolen, lo_incl, hi, hilen, reverse, fn,
			       arg);
	dbstore_iter_close(i);
	return rc;
}
