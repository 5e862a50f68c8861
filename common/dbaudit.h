/*
 * common/dbaudit.h: the container and account database auditor (Swift's
 * common/db_auditor.py), shared by containerd and accountd over their
 * device databases (common/dbstore.h).
 *
 * Where Swift audits one SQLite file per container or account, kumo
 * audits each record of each device's LevelDB: the record key must be
 * its letter and 32 lowercase hex digits, its value a JSON object, and
 * the part's check (struct dbaudit_ops) must find the record consistent
 * with its rows (counts and bytes equal to what the rows add up to, every
 * row well formed). A record that fails is quarantined: every key of any
 * kind that belongs to it (kind letter, the same 32 hex digits, anything
 * after) is written to <dev>/quarantined/<server>s/<H>[-N] and removed in
 * one synced batch, so the replicator brings a good copy back from
 * another replica. A device database that LevelDB cannot open at all
 * (corrupt, not merely held by another process) is moved whole to
 * <dev>/quarantined/<server>s/<dbname>-<time>.
 *
 * Each pass is paced (per_second records at most), logs its figures and
 * records them in the recon cache with Swift's keys:
 * <server>_audits_passed, _audits_failed, _audits_since,
 * _auditor_pass_completed.
 */
#ifndef KUMO_COMMON_DBAUDIT_H
#define KUMO_COMMON_DBAUDIT_H

#include <pthread.h>

#include "common/dbstore.h"

/* What a part gives. */
struct dbaudit_ops {
	const char *server; /* "container" or "account" */
	const char *dbname; /* "containers.ldb", ... */
	char rec;	    /* the record key letter */
	/*
	 * Check the record rkey (its value val, NUL-terminated, a JSON
	 * object) against its rows. Called with the database lock held, so
	 * record and rows are read as of one moment. 0 when consistent,
	 * -EILSEQ with *why (a static string) when not, -errno on I/O
	 * errors.
	 */
	int (*check)(void *app, struct dbstore_db *db, const char *rkey,
		     const char *val, const char **why);
};

struct dbaudit_conf {
	const char *devices;	 /* copied */
	const char *recon_cache; /* copied */
	double interval;	 /* seconds between background passes */
	double per_second;	 /* records per second at most; 0: no limit */
};

struct dbaudit_stats {
	long passed, failed, errors;
	long dbs_quarantined; /* whole device databases moved aside */
	double duration;
};

struct dbaudit;

/* An auditor of the databases of store (borrowed; outlives it). 0 or
 * -ENOMEM; *out owned by the caller (dbaudit_free). */
int dbaudit_new(const struct dbaudit_conf *conf, const struct dbaudit_ops *ops,
		void *app, struct dbstore *store, struct dbaudit **out);
/* Stop the thread if started, free. NULL is fine. */
void dbaudit_free(struct dbaudit *a);

/*
 * One pass over every record of every device (see the top); stats may
 * be NULL. Serialised (one pass at a time). Returns early (0) when the
 * thread is being stopped. 0, or -EBUSY when a database was held by
 * another process (the rest was audited), or -errno.
 */
int dbaudit_pass(struct dbaudit *a, struct dbaudit_stats *stats);

/* The background thread: a pass every interval seconds. */
int dbaudit_start(struct dbaudit *a);
void dbaudit_stop(struct dbaudit *a);

/*
 * For a part's check: call fn(arg, val) with a NUL-terminated copy of
 * the value of each row kind H "/" * of the record rkey (fn may cut val
 * up; it is freed after the call), in name order. fn returns 0 to go on,
 * > 0 to stop (0 is returned), < 0 to stop with that error. Reads a
 * snapshot; no lock needed. 0 or -errno.
 */
int dbaudit_rows(struct dbstore_db *db, char kind, const char *rkey,
		 int (*fn)(void *arg, char *val), void *arg);

/*
 * Quarantine the record rkey (kind letter + 32 hex) of db on device dir
 * dev_dir for a server: see the top. Takes the database lock. 0 or
 * -errno (logged).
 */
int dbaudit_quarantine(struct dbstore_db *db, const char *dev_dir,
		       const char *server, const char *rkey, const char *why);

#endif
