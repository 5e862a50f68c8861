/*
 * accountd/server.c: the account server's HTTP protocol, as Swift's
 * swift/account/server.py speaks it to proxies and container servers:
 *
 *   PUT    /dev/part/a        create, or update put_timestamp (201/202)
 *   PUT    /dev/part/a/c      a container's report from a container
 *                             server (201, or 204 for a deleted one)
 *   DELETE /dev/part/a        mark the account deleted (204)
 *   POST   /dev/part/a        metadata (204)
 *   HEAD   /dev/part/a        stats and metadata (204)
 *   GET    /dev/part/a        stats, metadata and the container listing
 *   GET    /healthcheck
 *
 * Every request is answered from on_headers: none has a body we read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accountd/internal.h"
#include "common/backend.h"
#include "common/dbmeta.h"
#include "common/dbserver.h"
#include "common/listing.h"
#include "common/log.h"
#include "common/policy.h"

#define PATH_MAX_BYTES (8 * 1024)

struct areq {
	char buf[PATH_MAX_BYTES];
	char *segs[4]; /* dev, part, account, container|NULL */
	char msg[256];
	struct acctd *a;
	struct dbstore_db *db;
	char key[34];
};

static int prepare(struct http_request *req, struct areq *r, int with_cont)
{
	int rc;

	r->a = http_app(req);
	rc = backend_split_path(http_raw_path(req), r->buf, sizeof(r->buf), 3,
				with_cont ? 4 : 3, 0, r->segs, r->msg,
				sizeof(r->msg));
	if (rc) {
		http_reply_error(req, rc, "%s", r->msg);
		return rc;
	}
	if (!with_cont || (r->segs[3] && !*r->segs[3]))
		r->segs[3] = NULL;
	if (acctd_key(r->a, r->segs[2], r->key)) {
		http_reply_error(req, 500, "cannot hash the path");
		return 500;
	}
	return 0;
}

/* Open the device's database; replies on error except -ENOENT. */
static int open_db(struct http_request *req, struct areq *r, int create)
{
	return dbserver_open(req, r->a->store, r->segs[0], create, &r->db);
}

/* Swift's _deleted_response: status with X-Account-Status: Deleted when
 * the account exists and is marked deleted. */
static void deleted_reply(struct http_request *req,
			  const struct acctd_info *info, int status,
			  const char *body)
{
	if (info && acctd_info_status_deleted(info))
		http_add_header(req, "X-Account-Status", "Deleted");
	if (body)
		http_reply_error(req, status, "%s", body);
	else
		http_reply(req, status, "", 0);
}

/* Collect and merge the request's metadata into info (see
 * dbserver_apply_meta). */
static int apply_meta(struct http_request *req, struct acctd_info *info,
		      const struct ts *ts, char *msg, size_t msglen)
{
	return dbserver_apply_meta(req, "account", NULL, &info->metadata, ts,
				   msg, msglen);
}

static int save(struct http_request *req, struct areq *r,
		const struct acctd_info *info)
{
	int rc = acctd_info_put(r->db, r->key, info);

	if (rc)
		http_reply_error(req, 500, "cannot save the account: %s",
				 strerror(-rc));
	return rc;
}

static void put_account(struct http_request *req, struct areq *r)
{
	struct acctd_info info;
	struct ts ts;
	int rc, created = 0;

	rc = backend_timestamp(req, &ts, r->msg, sizeof(r->msg));
	if (rc) {
		http_reply_error(req, rc, "%s", r->msg);
		return;
	}
	if (open_db(req, r, 1))
		return;
	dbstore_lock(r->db);
	rc = acctd_info_get(r->db, r->key, &info);
	if (rc == -ENOENT) {
		memset(&info, 0, sizeof(info));
		info.account = strdup(r->segs[2]);
		info.metadata = json_object();
		if (!info.account || !info.metadata) {
			http_reply_error(req, 500, "out of memory");
			goto out;
		}
		ts_now(&info.created_at);
		info.put = ts;
		info.status_changed = ts;
		created = 1;
	} else if (rc) {
		http_reply_error(req, 500, "cannot read the account: %s",
				 strerror(-rc));
		dbstore_unlock(r->db);
		return;
	} else if (acctd_info_status_deleted(&info)) {
		deleted_reply(req, &info, 403, "Recently deleted");
		goto out;
	} else {
		created = acctd_info_deleted(&info);
		if (ts_cmp(&ts, &info.put) > 0)
			info.put = ts;
		if (acctd_info_deleted(&info)) {
			http_reply_error(req, 409, "Conflict");
			goto out;
		}
	}
	/* as Swift, the timestamps are saved even when metadata is refused */
	rc = apply_meta(req, &info, &ts, r->msg, sizeof(r->msg));
	if (rc && rc != -EINVAL)
		http_reply_error(req, 500, "%s", r->msg);
	else if (save(req, r, &info))
		; /* save replied */
	else if (rc)
		http_reply_error(req, 400, "%s", r->msg);
	else
		http_reply(req, created ? 201 : 202, "", 0);
out:
	dbstore_unlock(r->db);
	acctd_info_free(&info);
}

static int header_ts(struct http_request *req, const char *name, struct ts *t)
{
	const char *v = http_header(req, name);

	return v ? ts_parse(v, t) : -EINVAL;
}

static int header_int(struct http_request *req, const char *name, int64_t *out)
{
	const char *v = http_header(req, name);
	long long n;
	char *end;

	if (!v)
		return -EINVAL;
	n = strtoll(v, &end, 10);
	if (end == v || *end)
		return -EINVAL;
	*out = n;
	return 0;
}

static void put_container_row(struct http_request *req, struct areq *r)
{
	const char *pol = http_header(req, "X-Backend-Storage-Policy-Index");
	struct acctd_info info;
	struct acctd_row row;
	int rc;

	/* as Swift: the device, then the account, then the report */
	rc = open_db(req, r, 0);
	if (rc == -ENOENT)
		http_reply(req, 404, "", 0);
	if (rc)
		return;
	rc = acctd_info_get(r->db, r->key, &info);
	if (rc == -ENOENT) {
		http_reply(req, 404, "", 0);
		return;
	} else if (rc) {
		http_reply_error(req, 500, "cannot read: %s", strerror(-rc));
		return;
	}
	rc = acctd_info_deleted(&info) &&
	     !listing_true_value(
		     http_header(req, "X-Account-Override-Deleted"));
	acctd_info_free(&info);
	if (rc) {
		http_reply(req, 404, "", 0);
		return;
	}
	if (header_ts(req, "X-Put-Timestamp", &row.put) ||
	    header_ts(req, "X-Delete-Timestamp", &row.del) ||
	    header_int(req, "X-Object-Count", &row.object_count) ||
	    header_int(req, "X-Bytes-Used", &row.bytes_used)) {
		http_reply_error(req, 400,
				 "X-Put-Timestamp, X-Delete-Timestamp, "
				 "X-Object-Count and X-Bytes-Used are "
				 "required");
		return;
	}
	row.policy = pol ? atoi(pol) : 0;
	rc = acctd_row_update(r->db, r->key, r->segs[3], &row);
	if (rc == -ENOENT)
		http_reply(req, 404, "", 0);
	else if (rc)
		http_reply_error(req, 500, "cannot update the row: %s",
				 strerror(-rc));
	else
		http_reply(req, ts_cmp(&row.del, &row.put) > 0 ? 204 : 201, "",
			   0);
}

static void do_put(struct http_request *req, struct areq *r)
{
	if (prepare(req, r, 1))
		return;
	if (r->segs[3])
		put_container_row(req, r);
	else
		put_account(req, r);
}

/* Read the account for writes under the lock; replies 404 (deleted or
 * missing), 507, 500 and returns non-zero, unlocked, then. */
static int lock_live(struct http_request *req, struct areq *r,
		     struct acctd_info *info)
{
	int rc = open_db(req, r, 0);

	if (rc == -ENOENT) {
		http_reply(req, 404, "", 0);
		return rc;
	}
	if (rc)
		return rc;
	dbstore_lock(r->db);
	rc = acctd_info_get(r->db, r->key, info);
	if (rc == -ENOENT) {
		http_reply(req, 404, "", 0);
	} else if (rc) {
		http_reply_error(req, 500, "cannot read: %s", strerror(-rc));
	} else if (acctd_info_deleted(info)) {
		deleted_reply(req, info, 404, NULL);
		acctd_info_free(info);
		rc = -ENOENT;
	}
	if (rc)
		dbstore_unlock(r->db);
	return rc;
}

static void do_delete(struct http_request *req, struct areq *r)
{
	char tsbuf[TS_INTERNAL_LEN + 1];
	struct acctd_info info;
	struct ts ts;
	int rc;

	if (prepare(req, r, 0))
		return;
	rc = backend_timestamp(req, &ts, r->msg, sizeof(r->msg));
	if (rc) {
		http_reply_error(req, rc, "%s", r->msg);
		return;
	}
	if (lock_live(req, r, &info))
		return;
	if (dbmeta_clear(info.metadata, ts_internal(&ts, tsbuf))) {
		http_reply_error(req, 500, "out of memory");
		goto out;
	}
	if (ts_cmp(&info.del, &ts) < 0) {
		info.del = ts;
		info.status_changed = ts;
		info.status_deleted = 1;
	}
	if (save(req, r, &info))
		goto out;
	deleted_reply(req, &info, 204, NULL);
out:
	dbstore_unlock(r->db);
	acctd_info_free(&info);
}

static void do_post(struct http_request *req, struct areq *r)
{
	struct acctd_info info;
	struct ts ts;
	int rc;

	if (prepare(req, r, 0))
		return;
	rc = backend_timestamp(req, &ts, r->msg, sizeof(r->msg));
	if (rc) {
		http_reply_error(req, rc, "%s", r->msg);
		return;
	}
	if (lock_live(req, r, &info))
		return;
	rc = apply_meta(req, &info, &ts, r->msg, sizeof(r->msg));
	if (rc)
		http_reply_error(req, rc == -EINVAL ? 400 : 500, "%s", r->msg);
	else if (!save(req, r, &info))
		http_reply(req, 204, "", 0);
	dbstore_unlock(r->db);
	acctd_info_free(&info);
}

/* --- HEAD and GET -------------------------------------------------------- */

/* X-Account-Storage-Policy-<policy>-<what>: value. */
static void pstat_header(struct http_request *req, const char *policy,
			 const char *what, int64_t value)
{
	char name[256];

	snprintf(name, sizeof(name), "X-Account-Storage-Policy-%s-%s", policy,
		 what);
	http_add_headerf(req, name, "%lld", (long long)value);
}

/* Swift's get_response_headers, the per-policy stats named by
 * common/policy.h. */
static void info_headers(struct http_request *req,
			 const struct acctd_info *info)
{
	char a[TS_INTERNAL_LEN + 1];
	int i;

	http_add_headerf(req, "X-Account-Container-Count", "%lld",
			 (long long)info->container_count);
	http_add_headerf(req, "X-Account-Object-Count", "%lld",
			 (long long)info->object_count);
	http_add_headerf(req, "X-Account-Bytes-Used", "%lld",
			 (long long)info->bytes_used);
	http_add_header(req, "X-Timestamp", ts_normal(&info->created_at, a));
	http_add_header(req, "X-PUT-Timestamp", ts_normal(&info->put, a));
	for (i = 0; i < info->npstats; i++) {
		const struct acctd_policy_stat *st = &info->pstats[i];
		const struct storage_policy *sp = policy_by_index(st->index);

		if (!sp)
			continue; /* as Swift: a policy no longer known */
		pstat_header(req, sp->name, "Container-Count",
			     st->container_count);
		pstat_header(req, sp->name, "Object-Count", st->object_count);
		pstat_header(req, sp->name, "Bytes-Used", st->bytes_used);
	}
	dbmeta_add_headers(req, info->metadata);
}

/* Read a live account for HEAD/GET; replies and returns non-zero when
 * there is none. */
static int read_live(struct http_request *req, struct areq *r,
		     struct acctd_info *info)
{
	int rc = open_db(req, r, 0);

	if (rc == -ENOENT) {
		http_reply(req, 404, "", 0);
		return rc;
	}
	if (rc)
		return rc;
	rc = acctd_info_get(r->db, r->key, info);
	if (rc == -ENOENT) {
		http_reply(req, 404, "", 0);
		return rc;
	} else if (rc) {
		http_reply_error(req, 500, "cannot read: %s", strerror(-rc));
		return rc;
	}
	if (acctd_info_deleted(info)) {
		deleted_reply(req, info, 404, NULL);
		acctd_info_free(info);
		return -ENOENT;
	}
	return 0;
}

static void do_head(struct http_request *req, struct areq *r)
{
	enum listing_format fmt;
	struct acctd_info info;

	if (prepare(req, r, 0) || dbserver_head_format(req, &fmt))
		return;
	if (read_live(req, r, &info))
		return;
	info_headers(req, &info);
	http_add_headerf(req, "Content-Type", "%s; charset=utf-8",
			 listing_mime(fmt));
	http_reply(req, 204, "", 0);
	acctd_info_free(&info);
}

static int emit_row(void *arg, const char *name, const char *val, size_t vlen)
{
	struct listing_out *o = arg;
	struct acctd_row row;

	(void)vlen;
	if (!val)
		return listing_out_subdir(o, name);
	if (acctd_row_parse(val, &row))
		return -EIO;
	return listing_out_container(o, name, row.object_count, row.bytes_used,
				     &row.put);
}

static void do_get(struct http_request *req, struct areq *r)
{
	struct listing_source src;
	struct listing_query q;
	struct listing_out out;
	struct acctd_info info;
	struct dbserver_rows rs;
	int rc;

	if (prepare(req, r, 0))
		return;
	rc = listing_query_from_request(req, 0, &q, r->msg, sizeof(r->msg));
	if (rc) {
		http_reply_error(req, rc, "%s", r->msg);
		return;
	}
	if (read_live(req, r, &info))
		return;
	dbserver_rows_init(&rs, &src, r->db, 'L', r->key);
	rc = listing_out_begin(&out, q.format, LISTING_CONTAINERS,
			       info.account);
	if (!rc)
		rc = listing_run(&src, &q, emit_row, &out);
	if (!rc)
		rc = listing_out_end(&out);
	dbserver_rows_free(&rs);
	if (rc) {
		http_reply_error(req, 500, "listing failed: %s", strerror(-rc));
		goto out;
	}
	info_headers(req, &info);
	http_add_headerf(req, "Content-Type", "%s; charset=utf-8",
			 listing_mime(q.format));
	/* Swift answers 204 only for an empty plain listing */
	http_reply_take(req, out.body.len ? 200 : 204, out.body.data,
			out.body.len);
	out.body = (struct buf)BUF_INIT; /* the reply owns the body now */
out:
	listing_out_free(&out);
	acctd_info_free(&info);
}

/* --- routing ------------------------------------------------------------- */

static void on_headers(struct http_request *req)
{
	const char *m = http_method(req);
	struct areq *r;

	if (!strcmp(http_raw_path(req), "/healthcheck") &&
	    (!strcmp(m, "GET") || !strcmp(m, "HEAD"))) {
		http_reply(req, 200, "OK", 2);
		return;
	}
	if (recon_is_path(http_raw_path(req))) { /* common/recon.c */
		struct acctd *app = http_app(req);

		recon_serve(req, &app->recon);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		http_reply_error(req, 500, "out of memory");
		return;
	}
	if (!strcmp(m, "PUT"))
		do_put(req, r);
	else if (!strcmp(m, "DELETE"))
		do_delete(req, r);
	else if (!strcmp(m, "POST"))
		do_post(req, r);
	else if (!strcmp(m, "HEAD"))
		do_head(req, r);
	else if (!strcmp(m, "GET"))
		do_get(req, r);
	else
		http_reply_error(req, 405, "Method Not Allowed");
	free(r);
}

static const struct http_handler handler = {
	.on_headers = on_headers,
};

const struct http_handler *acctd_route(struct http_request *req)
{
	/* REPLICATE and POST /once/ (replicator.c) */
	const struct http_handler *h = acctd_repl_route(req);

	return h ? h : &handler;
}
