/*
 * common/dbstore.h: the LevelDB-backed record store of the container and
 * account servers (Swift keeps these in one SQLite file per container or
 * account; kumo keeps one LevelDB per device holding all of them).
 *
 * A store is the set of databases of one server, one per device:
 * <devices>/<dev>/<name> (e.g. containers.ldb), opened on first use and
 * kept open until dbstore_free. LevelDB lets one process own a database
 * (a second open fails on its LOCK), so each server opens its own.
 *
 * Keys are byte strings ordered bytewise (LevelDB's default comparator),
 * so that a listing in UTF-8 byte order, which is Swift's name order, is a
 * range scan. Callers build their keys; names from users appear only in
 * keys, never in a file path. Every write is a batch committed with sync,
 * so an acknowledged write is on disk. Reads need no lock (LevelDB reads
 * see a consistent snapshot); a read-modify-write must hold the
 * database's lock (dbstore_lock) from the read to the commit, which is
 * what keeps counters exact under concurrent updates.
 */
#ifndef KUMO_COMMON_DBSTORE_H
#define KUMO_COMMON_DBSTORE_H

#include <stddef.h>

struct dbstore;
struct dbstore_db;
struct dbstore_batch;

/*
 * A store for databases named name under each device of devices. The
 * strings are copied. Opens nothing yet. 0 or -ENOMEM; *out owned by the
 * caller (dbstore_free).
 */
int dbstore_new(const char *devices, const char *name, struct dbstore **out);

/* Close every open database and free the store. Any thread, once no
 * request uses it any more. NULL is allowed. */
void dbstore_free(struct dbstore *st);

/*
 * The database of device dev, opened (and created when create is set) on
 * first use; the store owns it. Returns 0, -ENODEV when dev is not a
 * valid device name or <devices>/<dev> is not a directory (HTTP 507),
 * -ENOENT when the database does not exist and create is 0, -EBUSY when
 * another process holds it, -EIO for other LevelDB errors (logged).
 * Thread-safe.
 */
int dbstore_device(struct dbstore *st, const char *dev, int create,
		   struct dbstore_db **out);

/*
 * Call fn for the database of each device whose directory holds one
 * (opening it), in device name order. Stops at the first non-zero return
 * of fn and returns it; a database that cannot be opened is logged and
 * skipped (-EBUSY is returned at the end if one was held by another
 * process). Thread-safe.
 */
int dbstore_each(struct dbstore *st,
		 int (*fn)(struct dbstore_db *db, const char *dev, void *arg),
		 void *arg);

/* Serialize read-modify-write cycles on one database. */
void dbstore_lock(struct dbstore_db *db);
void dbstore_unlock(struct dbstore_db *db);

/*
 * Read the value of key into a malloc'd, NUL-terminated copy (*val, owned
 * by the caller; *vlen excludes the NUL, vlen may be NULL). 0, -ENOENT,
 * -ENOMEM or -EIO (logged).
 */
int dbstore_get(struct dbstore_db *db, const void *key, size_t klen, char **val,
		size_t *vlen);

/* A write batch; NULL with errno ENOMEM. */
struct dbstore_batch *dbstore_batch_new(void);
void dbstore_batch_put(struct dbstore_batch *b, const void *key, size_t klen,
		       const void *val, size_t vlen);
void dbstore_batch_del(struct dbstore_batch *b, const void *key, size_t klen);
/* Apply the batch atomically and durably (sync). 0 or -EIO (logged). The
 * batch stays the caller's (dbstore_batch_free). */
int dbstore_commit(struct dbstore_db *db, struct dbstore_batch *b);
void dbstore_batch_free(struct dbstore_batch *b);
/*
 * Group commit: apply the batch at once (readers and the next holder of
 * the lock see it), release db's lock (dbstore_lock, which the caller
 * holds), then return once the batch is durable. Concurrent callers
 * share one fdatasync of LevelDB's log: the first to wait syncs every
 * batch applied so far, the others wait for its result; batches go on
 * being applied while a sync runs and share the next one. 0 or -EIO
 * (logged; the lock is released either way). Under dbstore_defer_sync
 * it returns without waiting. The batch stays the caller's. A batch is
 * visible before it is durable: only its 0 is an acknowledgement.
 */
int dbstore_commit_unlock(struct dbstore_db *db, struct dbstore_batch *b);
/* How many syncs dbstore_commit_unlock's leaders did on db (tests). */
unsigned long dbstore_sync_count(struct dbstore_db *db);
/* Tests: fn runs in each leader right before its sync, after it chose
 * the batches the sync covers (NULL: none). Not thread-safe to change
 * while commits run. */
void dbstore_set_sync_hook(void (*fn)(struct dbstore_db *db));

/*
 * Bulk writes (a replication merge of many rows): while on is set in the
 * calling thread, its commits are written without waiting for the disk;
 * dbstore_sync then makes every write of the database durable at once
 * (one fdatasync of LevelDB's logs, which hold them in order). The
 * caller acknowledges nothing before dbstore_sync returns 0.
 */
void dbstore_defer_sync(int on);
int dbstore_sync(struct dbstore_db *db);

/*
 * Visit the keys k with lo <= k (lo < k when lo_incl is 0) and k < hi,
 * ascending, or descending when reverse, calling fn with each key and
 * value (valid during the call only). fn returns 0 to go on, > 0 to stop
 * (dbstore_scan then returns 0), < 0 to stop with that error. Reads a
 * snapshot; needs no lock.
 */
int dbstore_scan(struct dbstore_db *db, const void *lo, size_t lolen,
		 int lo_incl, const void *hi, size_t hilen, int reverse,
		 int (*fn)(void *arg, const char *key, size_t klen,
			   const char *val, size_t vlen),
		 void *arg);

/*
 * An iterator over one snapshot of db, for several scans in a row (a
 * delimiter listing seeks once per subdirectory): dbstore_iter_scan is
 * dbstore_scan on that snapshot. Open: 0 or -ENOMEM; the caller closes it
 * with dbstore_iter_close (NULL is fine).
 */
struct dbstore_iter;
int dbstore_iter_open(struct dbstore_db *db, struct dbstore_iter **out);
int dbstore_iter_scan(struct dbstore_iter *i, const void *lo, size_t lolen,
		      int lo_incl, const void *hi, size_t hilen, int reverse,
		      int (*fn)(void *arg, const char *key, size_t klen,
				const char *val, size_t vlen),
		      void *arg);
void dbstore_iter_close(struct dbstore_iter *i);

/* Swift's check_drive: a device name is what quote_plus leaves alone
 * (letters, digits, "_.-~"), and not "." or "..". */
int dbstore_valid_device(const char *dev);

#endif
