/*
 * accountd/internal.h: private declarations of the account server
 * (bin/kumo-accountd), grouped by the file that defines them.
 *
 * The account server keeps, for each account, its info (timestamps,
 * status, container, object and byte counts, metadata) and one row per
 * container (put and delete timestamps, object count, bytes used, policy)
 * as reported by the container servers, as Swift's AccountBroker does in
 * one SQLite file per account. Here every account of a device lives in
 * one LevelDB, <devices>/<dev>/accounts.ldb (common/dbstore.h), under
 * these keys, where H is the 32 hex digits of Swift's hash_path(account):
 *
 *   "A" H            the account's record (JSON, see broker.c)
 *   "L" H "/" name   a live container row: "put\ndelete\ncount\nbytes\npolicy"
 *   "X" H "/" name   a deleted container row, the same fields
 *
 * so that a listing is a scan of "L" H "/" in name order.
 */
#ifndef KUMO_ACCOUNTD_INTERNAL_H
#define KUMO_ACCOUNTD_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>

#include "common/config.h"
#include "common/dbstore.h"
#include "common/dbaudit.h"
#include "common/dbreplicator.h"
#include "common/http.h"
#include "common/periodic.h"
#include "common/recon.h"
#include "common/timestamp.h"
#include "ring/ring.h"

#define ACCTD_DB_NAME "accounts.ldb"

/* [account-server] and [swift-hash], filled by conf_load (main.c). */
struct acctd_conf {
	char hash_prefix[CONF_STR_MAX];
	char hash_suffix[CONF_STR_MAX];
	char bind_ip[CONF_STR_MAX];
	long long bind_port;
	char devices[CONF_STR_MAX];
	char log_level[CONF_STR_MAX];
	/* auditor and recon (h6) */
	char recon_cache_path[CONF_STR_MAX];
	long long auditor_interval; /* seconds between auditor passes */
	double accounts_per_second; /* auditor pace (0: no limit) */
	/* replicator and reaper (h7) */
	char swift_dir[CONF_STR_MAX];  /* holds account.ring.gz */
	long long replicator_interval; /* seconds between passes */
	long long replicator_concurrency;
	long long reclaim_age;		   /* seconds */
	long long per_diff;		   /* rows per merge_items */
	double conn_timeout, node_timeout; /* seconds, to other servers */
	long long reaper_delay;		   /* seconds a deleted account waits */
	long long reaper_interval;	   /* seconds between reaper passes */
};

/* The server, shared by every connection thread (read-only). */
struct acctd {
	const struct acctd_conf *cfg; /* owned by daemon_main */
	struct ring_hash_conf hash;
	struct dbstore *store;
	/* auditor and recon (h6) */
	struct recon_conf recon; /* what /recon answers from */
	struct dbaudit *auditor;
	/* replicator and reaper (h7) */
	struct dbrepl *repl;
	pthread_mutex_t reap_lock; /* one reaper pass at a time */
	struct periodic reaper;
};

/* --- broker.c: account records and container rows ----------------------- */

/* The most policies an account keeps stats for. */
#define ACCTD_MAX_POLICIES 64

/* One policy's share of an account's stats (Swift's policy_stat row). */
struct acctd_policy_stat {
	int index;
	int64_t container_count, object_count, bytes_used;
};

struct acctd_info {
	char *account; /* malloc'd */
	struct ts created_at, put, del, status_changed;
	int status_deleted; /* Swift's status == 'DELETED' */
	int64_t container_count, object_count, bytes_used;
	/* per policy, in the order first reported; the sums are the above */
	struct acctd_policy_stat pstats[ACCTD_MAX_POLICIES];
	int npstats;
	json_t *metadata; /* owned */
};

/* A container's row as the container server reports it. */
struct acctd_row {
	struct ts put, del;
	int64_t object_count, bytes_used;
	int policy;
};

/* The key "A" H of an account. 0 or -errno. */
int acctd_key(const struct acctd *a, const char *account, char key[34]);

/* Read an account's record. 0, -ENOENT, -EIO, -ENOMEM. Free with
 * acctd_info_free. */
int acctd_info_get(struct dbstore_db *db, const char *key,
		   struct acctd_info *info);
/* The same from a record's JSON (borrowed). 0, -EIO, -ENOMEM. */
int acctd_info_from_json(json_t *o, struct acctd_info *info);
void acctd_info_free(struct acctd_info *info);

/* Write the record durably. Call with the database lock. 0 or -errno. */
int acctd_info_put(struct dbstore_db *db, const char *key,
		   const struct acctd_info *info);

/* The stats of policy index in info, added (zero) when absent: Swift's
 * INSERT OR IGNORE INTO policy_stat. NULL when ACCTD_MAX_POLICIES are
 * already kept. */
struct acctd_policy_stat *acctd_policy_stat(struct acctd_info *info, int index);

/* Swift's is_deleted: status DELETED, or no containers and deleted after
 * put. */
int acctd_info_deleted(const struct acctd_info *info);

/* Swift's is_status_deleted: status DELETED or deleted after put. */
int acctd_info_status_deleted(const struct acctd_info *info);

/*
 * Merge a container's row into the account of key as Swift's
 * merge_items: the newest put and delete timestamps kept, the counts
 * taken from the report, deleted when deleted after put with no objects;
 * the account's counts and those of the row's policies (the old row's
 * and the new one's, as Swift's policy_stat triggers) follow. Takes the database lock. 0, -ENOENT (no
 * account), -EIO, -ENOMEM.
 */
int acctd_row_update(struct dbstore_db *db, const char *key, const char *name,
		     const struct acctd_row *row);

/* Parse a row value; 0 or -EIO. */
int acctd_row_parse(const char *val, struct acctd_row *row);

/* --- replicator.c: the account replicator's part (h7) ----------------- */

/* The key letters of an account database (common/dbreplicator.h). */
extern const struct dbrepl_layout acctd_layout;
/* Its merges (for the unit tests; the replicator gets them itself). */
extern const struct dbrepl_ops acctd_repl_ops;

/* Make a->repl from the config (not started). 0 or -errno. */
int acctd_repl_new(struct acctd *a);

/* Handlers of REPLICATE and of POST /once/<job>, or NULL when req is
 * neither. */
const struct http_handler *acctd_repl_route(struct http_request *req);

/* --- reaper.c: the account reaper (h7) --------------------------------- */

/* One pass: empty every deleted account (past reaper_delay) whose first
 * primary is here. Logs and writes recon figures. 0 or -errno. */
int acctd_reap_pass(struct acctd *a);
/* The background reaper thread (reaper_interval). */
int acctd_reaper_start(struct acctd *a);
void acctd_reaper_stop(struct acctd *a);

/* --- server.c: the HTTP routes ----------------------------------------- */

const struct http_handler *acctd_route(struct http_request *req);

/* --- auditor.c: the account auditor's checks (h6) --------------------- */

/* Make a->auditor (common/dbaudit.h) over a->store with the account
 * checks and a's config. 0 or -ENOMEM. */
int acctd_auditor_new(struct acctd *a);

#endif
