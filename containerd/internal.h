/*
 * containerd/internal.h: private declarations of the container server
 * (bin/kumo-containerd), grouped by the file that defines them.
 *
 * The container server keeps, for each container, its info (timestamps,
 * object count, bytes used, policy, metadata) and one row per object
 * (timestamp, size, content type, etag), as Swift's ContainerBroker does
 * in one SQLite file per container. Here every container of a device
 * lives in one LevelDB, <devices>/<dev>/containers.ldb (common/dbstore.h),
 * under these keys, where H is the 32 hex digits of Swift's
 * hash_path(account, container):
 *
 *   "C" H            the container's record (JSON, see broker.c)
 *   "O" H "/" name   a live object row:
 *                    "data_ts\nctype_ts\nmeta_ts\nsize\netag\ncontent_type"
 *   "T" H "/" name   a deleted object row (tombstone), the same fields
 *   "U" H            present while an account update is still owed
 *
 * so that a listing is a scan of "O" H "/" in name order, and live rows
 * and tombstones never share a scan.
 */
#ifndef KUMO_CONTAINERD_INTERNAL_H
#define KUMO_CONTAINERD_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>

#include "common/config.h"
#include "common/dbstore.h"
#include "common/dbaudit.h"
#include "common/dbreplicator.h"
#include "common/http.h"
#include "common/recon.h"
#include "common/timestamp.h"
#include "ring/ring.h"

#define CONTD_DB_NAME	 "containers.ldb"
#define CONTD_MAX_TARGET 8 /* account replicas we update at most */

/* [container-server] and [swift-hash], filled by conf_load (main.c). */
struct contd_conf {
	char hash_prefix[CONF_STR_MAX];
	char hash_suffix[CONF_STR_MAX];
	char bind_ip[CONF_STR_MAX];
	long long bind_port;
	char devices[CONF_STR_MAX];
	char log_level[CONF_STR_MAX];
	double conn_timeout;	    /* seconds, connecting to an account */
	double node_timeout;	    /* seconds, a whole account update */
	long long updater_interval; /* seconds between updater passes */
	/* auditor and recon (h6) */
	char recon_cache_path[CONF_STR_MAX];
	long long auditor_interval;   /* seconds between auditor passes */
	double containers_per_second; /* auditor pace (0: no limit) */
	/* replicator (h7) */
	char swift_dir[CONF_STR_MAX];  /* holds container.ring.gz */
	long long replicator_interval; /* seconds between passes */
	long long replicator_concurrency;
	long long reclaim_age; /* seconds */
	long long per_diff;    /* rows per merge_items */
};

/* The server, shared by every connection thread. */
struct contd {
	const struct contd_conf *cfg; /* owned by daemon_main */
	struct ring_hash_conf hash;
	struct dbstore *store;
	/* updater.c */
	pthread_t updater;
	int updater_started;
	pthread_mutex_t lock; /* guards stopping */
	pthread_cond_t wake;
	int stopping;
	/* auditor and recon (h6) */
	struct recon_conf recon; /* what /recon answers from */
	struct dbaudit *auditor;
	/* replicator (h7) */
	struct dbrepl *repl;
};

/* --- broker.c: container records and object rows ------------------------ */

/* What the account server is told about a container. */
struct contd_report {
	struct ts put, del;
	int64_t object_count, bytes_used;
	int policy;
};

/* Where the account updates of a container go (from X-Account-*). */
struct contd_targets {
	int n;
	char host[CONTD_MAX_TARGET][128]; /* "ip:port" */
	char dev[CONTD_MAX_TARGET][64];
	char part[32];
	int pending[CONTD_MAX_TARGET]; /* still owed the current report */
};

struct contd_info {
	char *account, *container; /* malloc'd */
	struct ts created_at, put, del, status_changed;
	int64_t object_count, bytes_used;
	int policy;
	json_t *metadata; /* owned */
	struct contd_targets targets;
};

/* The key "C" H of a container; H from ring_hash_path. 0 or -errno. */
int contd_key(const struct contd *c, const char *account, const char *container,
	      char key[34]);

/* Read a container's record. 0, -ENOENT, -EIO, -ENOMEM. Free with
 * contd_info_free. */
int contd_info_get(struct dbstore_db *db, const char *key,
		   struct contd_info *info);
/* The same from a record's JSON (borrowed). 0, -EIO, -ENOMEM. */
int contd_info_from_json(json_t *o, struct contd_info *info);
void contd_info_free(struct contd_info *info);

/* Swift's is_deleted: no record, or no objects and deleted after put. */
int contd_info_deleted(const struct contd_info *info);

void contd_info_report(const struct contd_info *info, struct contd_report *r);

/* The record of info as stored (JSON): malloc'd, or NULL (ENOMEM). */
char *contd_info_text(const struct contd_info *info);

/*
 * Stage the record of info (and its "U" key when an update is pending)
 * into b. 0 or -ENOMEM.
 */
int contd_info_stage(struct dbstore_batch *b, const char *key,
		     const struct contd_info *info);

/*
 * An object row, as the object servers report it. Swift keeps three
 * timestamps per row: of the data (size, etag, deleted), of the content
 * type (a POST may change it), and of the metadata (the newest POST: the
 * listing's last_modified). Without X-Content-Type-Timestamp and
 * X-Meta-Timestamp all three are the row's X-Timestamp.
 */
struct contd_row {
	struct ts data, ctype, meta;
	int deleted;
	int64_t size;
	const char *etag, *content_type;
};

/*
 * Parse a stored row "data\nctype\nmeta\nsize\netag\ncontent_type" in
 * place (val is cut into strings the row points to). 0 or -EIO.
 */
int contd_row_parse(char *val, struct contd_row *row);

/*
 * Merge row into the row of its object name in the container of key, as
 * Swift's merge_items: each of data, content type and metadata is taken
 * from whichever side has the newer timestamp for it (the stored side on
 * a tie); object_count and bytes_used follow. Takes the database lock.
 * 0, -ENOENT when there is no such container, -EIO, -ENOMEM.
 */
int contd_row_update(struct dbstore_db *db, const char *key, const char *name,
		     const struct contd_row *row);

/* Mark every target pending when the report changed from before. */
void contd_mark_pending(struct contd_info *info,
			const struct contd_report *before);

/* --- updater.c: account updates ----------------------------------------- */

/*
 * Send the report of container (account, container) to every target in
 * t (all of them when all is set, else the pending ones), then clear the
 * pending flag of each that answered 2xx, if the record has not changed
 * since. Returns how many targets answered 404, and sets *sent to how
 * many were tried. Blocks up to node_timeout per target; any thread.
 */
int contd_update_account(struct contd *c, struct dbstore_db *db,
			 const char *key, const struct contd_info *info,
			 int all, const char *txn, int *sent);

/* One pass over every owed update of every device. 0 or -errno. */
int contd_updater_pass(struct contd *c);

/* Start / stop the background updater thread. */
int contd_updater_start(struct contd *c);
void contd_updater_stop(struct contd *c);

/* --- replicator.c: the container replicator's part (h7) --------------- */

/* The key letters of a container database (common/dbreplicator.h). */
extern const struct dbrepl_layout contd_layout;
/* Its merges (for the unit tests; the replicator gets them itself). */
extern const struct dbrepl_ops contd_repl_ops;

/* Make c->repl from the config (not started). 0 or -errno. */
int contd_repl_new(struct contd *c);

/* Handlers of REPLICATE and of POST /once/replicate, or NULL when req is
 * neither. */
const struct http_handler *contd_repl_route(struct http_request *req);

/* --- server.c: the HTTP routes ----------------------------------------- */

const struct http_handler *contd_route(struct http_request *req);

/* --- auditor.c: the container auditor's checks (h6) ------------------- */

/* Make c->auditor (common/dbaudit.h) over c->store with the container
 * checks and c's config. 0 or -ENOMEM. */
int contd_auditor_new(struct contd *c);

#endif
