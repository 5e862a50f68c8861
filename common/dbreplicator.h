/*
 * common/dbreplicator.h: the container and account replicators (Swift's
 * db_replicator), shared by containerd and accountd; each part gives the
 * few things that know its records and rows (struct dbrepl_ops).
 *
 * A "database" is one record (a container or an account) and its rows in
 * the device's LevelDB (common/dbstore.h). Beside the part's own keys
 * (kind H for the record, live/dead H "/" name for rows) this module keeps:
 *
 *   "M" H                   {"id": hex, "max_row": N, "syncs": {id: N}}
 *                           the replica's id, its last row id and its
 *                           incoming sync points (Swift's incoming_sync:
 *                           "I hold every row of replica id up to N")
 *   "R" H <16 hex row id>   kind letter + name: rows in row id order
 *   "I" H "/" name          16 hex: the row id of a name
 *
 * Every write of a row takes the next row id of its database
 * (dbrepl_stage_row, in the same synced batch), so "the rows since the
 * last sync point" is one range scan. Records written before row ids
 * existed get theirs on first use (every row numbered once).
 *
 * One replication of database D from here (L) to peer P (REPLICATE verb,
 * JSON bodies; Swift's _repl_to_node):
 *
 *   L --sync {id, record, max_row}--> P
 *        404 (P lacks D) ......................... whole copy (rsync)
 *        200 {id, max_row, point, record}
 *   L merges P's record (timestamps, metadata); then
 *     point >= L.max_row ......................... no_change
 *     P far behind (P.max_row < L.max_row / 2 and the gap > per_diff)
 *                     ............................ whole copy (rsync)
 *     else .......................................... rows since point (diff)
 *   L --merge_items {id, record, create, rows, point}--> P  (per per_diff)
 *   L --merge_syncs {syncs}--> P
 *
 * Invariants: 1. P sets syncs[L.id] to a point only after merging every
 * row of L up to it; 2. a merge never lets an older row replace a newer
 * one (the part's row merge decides, tombstones included), so merging
 * the same rows twice or in any order gives the same database; 3. a row
 * id is stamped only when the row changes, so a pass over agreeing
 * replicas sends nothing back.
 *
 * A database on a device that is not one of its primaries (a handoff) is
 * pushed to every primary and removed here once all have taken it.
 * Tombstone rows older than reclaim_age and deleted databases older than
 * it are removed.
 */
#ifndef KUMO_COMMON_DBREPLICATOR_H
#define KUMO_COMMON_DBREPLICATOR_H

#include <stdint.h>

#include <jansson.h>

#include "common/dbstore.h"
#include "common/http.h"
#include "common/timestamp.h"

/* The key letters of one part's databases. */
struct dbrepl_layout {
	char rec;	   /* the record: rec H */
	char live;	   /* live rows: live H "/" name */
	char dead;	   /* deleted rows (tombstones) */
	const char *extra; /* other per-record keys (kind H) to remove too */
};

/* What a part gives (all called in a replicator or request thread). */
struct dbrepl_ops {
	const struct dbrepl_layout *layout;
	const char *server; /* "container" or "account" (ring, recon) */
	/*
	 * Merge a peer's record (JSON as the part stores it) into the
	 * record rkey: timestamps, status and metadata as Swift's
	 * merge_timestamps and update_metadata. Creates the record (with
	 * no rows) when missing and create is set. Takes the database lock.
	 * 0, -ENOENT (missing, create unset), -EIO, -ENOMEM.
	 */
	int (*merge_record)(void *app, struct dbstore_db *db, const char *rkey,
			    json_t *peer, int create);
	/*
	 * Merge a peer's row (the stored value of a live or, when deleted,
	 * dead row) as the part merges its rows (newest wins). 0, -ENOENT,
	 * -EIO (a bad value), -ENOMEM.
	 */
	int (*merge_row)(void *app, struct dbstore_db *db, const char *rkey,
			 const char *name, int deleted, const char *value);
	/* 1 when a dead row's value is older than cutoff (reclaimable). */
	int (*row_reclaimable)(const char *value, const struct ts *cutoff);
	/* 1 when the record is a deleted database older than cutoff. */
	int (*db_reclaimable)(json_t *rec, const struct ts *cutoff);
};

struct dbrepl_conf {
	const char *devices;   /* the server's devices folder */
	const char *swift_dir; /* holds <server>.ring.gz */
	const char *bind_ip;   /* this server, to find its devices */
	int bind_port;
	const char *recon_cache; /* recon_cache_path */
	double interval;	 /* seconds between background passes */
	int concurrency;	 /* databases replicated at once */
	double reclaim_age;	 /* seconds */
	int per_diff;		 /* rows per merge_items */
	double conn_timeout, node_timeout;
};

/* Swift's replication_stats. */
struct dbrepl_stats {
	long attempted, success, failure, no_change, rsync, diff, remove;
	long reclaimed; /* tombstone rows */
	double start;
};

struct dbrepl;

/*
 * A replicator of the databases of store (borrowed, outlives it) with
 * ops and app (given back to ops). Strings of conf are copied. 0 or
 * -ENOMEM; *out owned by the caller (dbrepl_free).
 */
int dbrepl_new(const struct dbrepl_conf *conf, const struct dbrepl_ops *ops,
	       void *app, struct dbstore *store, struct dbrepl **out);
/* Stop the thread if started, free. NULL is fine. */
void dbrepl_free(struct dbrepl *r);

/*
 * One pass over every database of every local device (the ring is
 * reloaded when its file changed): replicate to the other primaries,
 * push handoffs and remove them, reclaim. Logs one line with the figures
 * and writes them to the recon cache. stats may be NULL. 0, -EBUSY (a
 * database is held by another process), -ENOENT (no ring), -errno.
 * Passes are serialized (one at a time per replicator).
 */
int dbrepl_pass(struct dbrepl *r, struct dbrepl_stats *stats);

/* The background thread: a pass every interval seconds. */
int dbrepl_start(struct dbrepl *r);
void dbrepl_stop(struct dbrepl *r);

/*
 * Number the rows of a write: call under the database lock with the
 * batch that writes the row kind H "/" name of the record rkey (kind is
 * the layout's live or dead letter). Stages the row's new id, index and
 * the database's max_row. Records without row ids get them first (a
 * separate commit). 0, -EIO, -ENOMEM.
 */
int dbrepl_stage_row(const struct dbrepl_layout *lay, struct dbstore_db *db,
		     struct dbstore_batch *b, const char *rkey, char kind,
		     const char *name);

/* Stage the removal of a row's index (a row removed without a
 * replacement). Under the database lock. 0, -EIO, -ENOMEM. */
int dbrepl_unstage_row(struct dbstore_db *db, struct dbstore_batch *b,
		       const char *rkey, const char *name);

/* A job a running server runs on POST /once/<name> (for --once). */
struct dbrepl_job {
	const char *name;
	int (*run)(void *app); /* 0, -EBUSY (fine) or -errno */
};

/*
 * The routes of a part's server that this module answers: REPLICATE
 * /<dev>/<part>/<hash> with a JSON body (ops sync, merge_items,
 * merge_syncs; see the top; at most 64 MiB, 413 beyond), answered in the
 * request's thread with r; and POST /once/<name> for the jobs (a
 * NULL-name terminated table, static), run with the request's app. NULL
 * when req is neither (or out of memory): the part routes it.
 */
const struct http_handler *dbrepl_route(struct http_request *req,
					struct dbrepl *r,
					const struct dbrepl_job *jobs);

/*
 * Row ids and sync points, for tests and tools. dbrepl_db_meta reads the
 * "M" record of rkey (ensuring row ids): *id (33 bytes), *max_row and the
 * syncs object (a new reference, may be NULL). 0, -ENOENT (no record),
 * -errno. Takes the database lock.
 */
int dbrepl_db_meta(const struct dbrepl_layout *lay, struct dbstore_db *db,
		   const char *rkey, char id[33], int64_t *max_row,
		   json_t **syncs);

/*
 * Call fn for each row of rkey with a row id > point, in row id order:
 * fn(arg, rowid, name, deleted, value). Stops on non-zero (returned, or 0
 * when > 0). Reads a snapshot; no lock.
 */
int dbrepl_rows_since(const struct dbrepl_layout *lay, struct dbstore_db *db,
		      const char *rkey, int64_t point,
		      int (*fn)(void *arg, int64_t rowid, const char *name,
				int deleted, const char *value),
		      void *arg);

/* Merge syncs (id -> point, keeping the larger) into rkey's "M" record,
 * skipping its own id. Takes the database lock. 0 or -errno. */
int dbrepl_merge_syncs(const struct dbrepl_layout *lay, struct dbstore_db *db,
		       const char *rkey, json_t *syncs);

/*
 * Remove tombstone rows of rkey that ops says are older than cutoff.
 * *n gets how many. Takes the database lock. 0 or -errno.
 */
int dbrepl_reclaim_rows(const struct dbrepl_ops *ops, struct dbstore_db *db,
			const char *rkey, const struct ts *cutoff, long *n);

/* Remove the whole database rkey (record, rows, indexes, extra keys),
 * only if its max_row is still if_max when if_max >= 0 (else -EAGAIN).
 * Takes the database lock. 0 or -errno. */
int dbrepl_remove_db(const struct dbrepl_layout *lay, struct dbstore_db *db,
		     const char *rkey, int64_t if_max);

/*
 * --once WHAT of a part whose server may be running: when a server
 * answers at ip:port, ask it to run the job (POST /once/<what>, waiting
 * up to timeout seconds) and return 0 (done), else -ECONNREFUSED (no
 * server: run the job here) or -EIO.
 */
int dbrepl_once_remote(const char *ip, int port, const char *what,
		       double timeout);

#endif
