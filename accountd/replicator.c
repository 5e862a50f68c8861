/*
 * accountd/replicator.c: the account server's part of the replicator
 * (common/dbreplicator.h does the protocol, the passes and the row ids):
 * how a peer's account record and container rows merge into ours, what
 * may be reclaimed, and the routes of REPLICATE and POST /once/<job>
 * (replicate, reap).
 *
 * A record merges as Swift's merge_timestamps and update_metadata
 * (created_at the oldest, put and delete timestamps the newest,
 * metadata key by key), and a status DELETED on either side stays: the
 * reaper of any replica may then empty the account. Container rows merge
 * through acctd_row_update (broker.c), Swift's merge_items.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accountd/internal.h"
#include "common/dbmeta.h"
#include "common/dbserver.h"
#include "common/log.h"

const struct dbrepl_layout acctd_layout = {'A', 'L', 'X', NULL};

static int merge_record(void *app, struct dbstore_db *db, const char *rkey,
			json_t *peer, int create)
{
	struct acctd_info info, p;
	struct dbserver_times mine = {&info.created_at, &info.put, &info.del,
				      &info.status_changed};
	struct dbserver_times theirs = {&p.created_at, &p.put, &p.del,
					&p.status_changed};
	int rc, changed = 0, have = 0;

	(void)app;
	rc = acctd_info_from_json(peer, &p);
	if (rc)
		return rc;
	dbstore_lock(db);
	rc = acctd_info_get(db, rkey, &info);
	if (rc == -ENOENT && create) {
		/* a whole copy: the rows follow and bring the counts */
		info = p;
		memset(&p, 0, sizeof(p));
		info.container_count = info.object_count = 0;
		info.bytes_used = 0;
		info.npstats = 0;
		have = 1;
		changed = 1;
	} else if (rc) {
		goto out;
	} else {
		have = 1;
		changed = dbserver_merge_times(&mine, &theirs);
		if (p.status_deleted && !info.status_deleted) {
			info.status_deleted = 1;
			changed = 1;
		}
		rc = dbmeta_merge(info.metadata, p.metadata);
		if (rc < 0)
			goto out;
		changed |= rc;
	}
	rc = changed ? acctd_info_put(db, rkey, &info) : 0;
out:
	dbstore_unlock(db);
	if (have)
		acctd_info_free(&info);
	acctd_info_free(&p);
	return rc ? rc : changed;
}

static int merge_row(void *app, struct dbstore_db *db, const char *rkey,
		     const char *name, int deleted, const char *value)
{
	struct acctd_row row;
	int rc;

	(void)app;
	(void)deleted; /* the row's timestamps and counts say it */
	rc = acctd_row_parse(value, &row);
	if (rc) {
		log_warn("bad replicated row %s of %s", name, rkey);
		return rc;
	}
	return acctd_row_update(db, rkey, name, &row);
}

static int row_reclaimable(const char *value, const struct ts *cutoff)
{
	struct acctd_row row;

	return !acctd_row_parse(value, &row) && ts_cmp(&row.del, cutoff) < 0 &&
	       !row.object_count && !row.bytes_used;
}

/* As Swift: a deleted account goes only once the reaper emptied it. */
static int db_reclaimable(json_t *rec, const struct ts *cutoff)
{
	struct acctd_info info;
	int old;

	if (acctd_info_from_json(rec, &info))
		return 0;
	old = acctd_info_status_deleted(&info) && !info.container_count &&
	      ts_cmp(&info.del, cutoff) < 0;
	acctd_info_free(&info);
	return old;
}

const struct dbrepl_ops acctd_repl_ops = {
	.layout = &acctd_layout,
	.server = "account",
	.merge_record = merge_record,
	.merge_row = merge_row,
	.row_reclaimable = row_reclaimable,
	.db_reclaimable = db_reclaimable,
};

int acctd_repl_new(struct acctd *a)
{
	const struct acctd_conf *cf = a->cfg;
	struct dbrepl_conf rc = {
		.devices = cf->devices,
		.swift_dir = cf->swift_dir,
		.bind_ip = cf->bind_ip,
		.bind_port = (int)cf->bind_port,
		.recon_cache = cf->recon_cache_path,
		.interval = (double)cf->replicator_interval,
		.concurrency = (int)cf->replicator_concurrency,
		.reclaim_age = (double)cf->reclaim_age,
		.per_diff = (int)cf->per_diff,
		.conn_timeout = cf->conn_timeout,
		.node_timeout = cf->node_timeout,
	};

	return dbrepl_new(&rc, &acctd_repl_ops, a, a->store, &a->repl);
}

/* --- routes -------------------------------------------------------------- */

static int job_replicate(void *app)
{
	return dbrepl_pass(((struct acctd *)app)->repl, NULL);
}

static int job_reap(void *app)
{
	return acctd_reap_pass(app);
}

static int job_audit(void *app) /* the auditor (h6, auditor.c) */
{
	return dbaudit_pass(((struct acctd *)app)->auditor, NULL);
}

static const struct dbrepl_job jobs[] = {
	{"replicate", job_replicate},
	{"reap", job_reap},
	{"audit", job_audit},
	{NULL, NULL},
};

const struct http_handler *acctd_repl_route(struct http_request *req)
{
	struct acctd *a = http_app(req);

	return dbrepl_route(req, a->repl, jobs);
}
