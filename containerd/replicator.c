/*
 * containerd/replicator.c: the container server's part of the replicator
 * (common/dbreplicator.h does the protocol, the passes and the row ids):
 * how a peer's container record and object rows merge into ours, what
 * may be reclaimed, and the routes of REPLICATE and POST /once/replicate.
 *
 * A record merges as Swift's merge_timestamps and update_metadata:
 * created_at the oldest, put and delete timestamps the newest,
 * status_changed_at the newest, metadata key by key. Object rows merge
 * through contd_row_update (broker.c), the same merge as object servers'
 * updates, so a tombstone wins over any older row on every replica and
 * the counts stay exact. A changed report marks the account update
 * pending, so the account servers learn the replicated stats too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/dbmeta.h"
#include "common/dbserver.h"
#include "common/log.h"
#include "containerd/internal.h"

const struct dbrepl_layout contd_layout = {'C', 'O', 'T', "U"};

static int merge_record(void *app, struct dbstore_db *db, const char *rkey,
			json_t *peer, int create)
{
	struct contd_info info, p;
	struct dbserver_times mine = {&info.created_at, &info.put, &info.del,
				      &info.status_changed};
	struct dbserver_times theirs = {&p.created_at, &p.put, &p.del,
					&p.status_changed};
	struct contd_report before;
	struct dbstore_batch *b = NULL;
	int rc, changed = 0, have = 0, i;

	(void)app;
	rc = contd_info_from_json(peer, &p);
	if (rc)
		return rc;
	dbstore_lock(db);
	rc = contd_info_get(db, rkey, &info);
	if (rc == -ENOENT && create) {
		/* a whole copy: the rows follow and bring the counts */
		info = p;
		memset(&p, 0, sizeof(p));
		info.object_count = info.bytes_used = 0;
		for (i = 0; i < info.targets.n; i++)
			info.targets.pending[i] = 0;
		have = 1;
		changed = 1;
	} else if (rc) {
		goto out;
	} else {
		have = 1;
		contd_info_report(&info, &before);
		changed = dbserver_merge_times(&mine, &theirs);
		rc = dbmeta_merge(info.metadata, p.metadata);
		if (rc < 0)
			goto out;
		changed |= rc;
		if (!info.targets.n && p.targets.n) {
			info.targets = p.targets;
			changed = 1;
		}
		contd_mark_pending(&info, &before);
	}
	rc = 0;
	if (!changed)
		goto out;
	b = dbstore_batch_new();
	rc = b ? contd_info_stage(b, rkey, &info) : -ENOMEM;
	if (!rc)
		rc = dbstore_commit(db, b);
out:
	dbstore_unlock(db);
	dbstore_batch_free(b);
	if (have)
		contd_info_free(&info);
	contd_info_free(&p);
	return rc ? rc : changed;
}

static int merge_row(void *app, struct dbstore_db *db, const char *rkey,
		     const char *name, int deleted, const char *value)
{
	struct contd_row row;
	char *copy = strdup(value);
	int rc;

	(void)app;
	if (!copy)
		return -ENOMEM;
	rc = contd_row_parse(copy, &row);
	if (rc) {
		log_warn("bad replicated row %s of %s", name, rkey);
	} else {
		row.deleted = deleted;
		rc = contd_row_update(db, rkey, name, &row);
	}
	free(copy);
	return rc;
}

static int row_reclaimable(const char *value, const struct ts *cutoff)
{
	struct contd_row row;
	char *copy = strdup(value);
	int old;

	if (!copy)
		return 0;
	old = !contd_row_parse(copy, &row) && ts_cmp(&row.data, cutoff) < 0;
	free(copy);
	return old;
}

static int db_reclaimable(json_t *rec, const struct ts *cutoff)
{
	struct contd_info info;
	int old;

	if (contd_info_from_json(rec, &info))
		return 0;
	old = contd_info_deleted(&info) && ts_cmp(&info.del, cutoff) < 0;
	contd_info_free(&info);
	return old;
}

const struct dbrepl_ops contd_repl_ops = {
	.layout = &contd_layout,
	.server = "container",
	.merge_record = merge_record,
	.merge_row = merge_row,
	.row_reclaimable = row_reclaimable,
	.db_reclaimable = db_reclaimable,
};

int contd_repl_new(struct contd *c)
{
	const struct contd_conf *cf = c->cfg;
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

	return dbrepl_new(&rc, &contd_repl_ops, c, c->store, &c->repl);
}

/* --- routes -------------------------------------------------------------- */

static int job_replicate(void *app)
{
	return dbrepl_pass(((struct contd *)app)->repl, NULL);
}

static int job_audit(void *app) /* the auditor (h6, auditor.c) */
{
	return dbaudit_pass(((struct contd *)app)->auditor, NULL);
}

static const struct dbrepl_job jobs[] = {
	{"replicate", job_replicate},
	{"audit", job_audit},
	{NULL, NULL},
};

const struct http_handler *contd_repl_route(struct http_request *req)
{
	struct contd *c = http_app(req);

	return dbrepl_route(req, c->repl, jobs);
}
