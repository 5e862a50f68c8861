/*
 * containerd/server.c: the container server's HTTP protocol, as Swift's
 * swift/container/server.py speaks it to proxies and object servers:
 *
 *   PUT    /dev/part/a/c      create, or update put_timestamp (201/202),
 *                             then update the account servers
 *   PUT    /dev/part/a/c/o    an object row (X-Size, X-Content-Type,
 *                             X-Etag) from an object server (201)
 *   DELETE /dev/part/a/c/o    a deleted row (204)
 *   DELETE /dev/part/a/c      delete an empty container (204, 409)
 *   POST   /dev/part/a/c      metadata (204)
 *   HEAD   /dev/part/a/c      stats and metadata (204)
 *   GET    /dev/part/a/c      stats, metadata and the object listing
 *   GET    /healthcheck
 *
 * Every request is answered from on_headers: none has a body we read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/backend.h"
#include "common/dbmeta.h"
#include "common/dbserver.h"
#include "common/listing.h"
#include "common/log.h"
#include "common/policy.h"
#include "containerd/internal.h"

#define PATH_MAX_BYTES (8 * 1024)

/* Headers Swift's container server saves besides X-Container-Meta-*. */
static const char *const saved_headers[] = {
	"x-container-read", "x-container-write", "x-container-sync-key",
	"x-container-sync-to", NULL};

/* A request's parsed target. */
struct creq {
	char buf[PATH_MAX_BYTES];
	char *segs[5]; /* dev, part, account, container, object|NULL */
	char msg[256];
	struct contd *c;
	struct dbstore_db *db;
	char key[34];
};

static void reply_msg(struct http_request *req, int status, const char *msg)
{
	http_reply_error(req, status, "%s", msg);
}

/* Split the path (obj allowed when with_obj) and find the device's
 * database. Replies and returns non-zero on error. */
static int prepare(struct http_request *req, struct creq *r, int with_obj)
{
	int rc;

	r->c = http_app(req);
	rc = backend_split_path(http_raw_path(req), r->buf, sizeof(r->buf), 4,
				with_obj ? 5 : 4, with_obj, r->segs, r->msg,
				sizeof(r->msg));
	if (rc) {
		reply_msg(req, rc, r->msg);
		return rc;
	}
	if (!with_obj)
		r->segs[4] = NULL;
	else if (r->segs[4] && !*r->segs[4])
		r->segs[4] = NULL;
	rc = contd_key(r->c, r->segs[2], r->segs[3], r->key);
	if (rc) {
		http_reply_error(req, 500, "cannot hash the path");
		return 500;
	}
	return 0;
}

/* Open the device's database; replies on error except -ENOENT (the
 * caller answers its own 404). */
static int open_db(struct http_request *req, struct creq *r, int create)
{
	return dbserver_open(req, r->c->store, r->segs[0], create, &r->db);
}

/* X-Backend-Storage-Policy-Index: *given is the index asked for, or -1
 * when none was. 0, or replies 400 for an index no policy has. */
static int check_policy(struct http_request *req, int *given)
{
	const char *v = http_header(req, "X-Backend-Storage-Policy-Index");
	const struct storage_policy *sp = policy_by_index_str(v);

	*given = sp ? sp->index : -1;
	if (v && !sp) {
		http_reply_error(req, 400,
				 "Invalid X-Storage-Policy-Index '%s'", v);
		return -EINVAL;
	}
	return 0;
}

/* Swift's new_container_policy: the index asked for, else
 * X-Backend-Storage-Policy-Default when it names a policy, else the
 * default policy's. */
static int new_container_policy(struct http_request *req, int given)
{
	const struct storage_policy *sp = policy_by_index_str(
		http_header(req, "X-Backend-Storage-Policy-Default"));

	if (given >= 0)
		return given;
	return sp ? sp->index : policy_default()->index;
}

/* X-Account-Host/-Device/-Partition into t. 0 (t->n may be 0), or replies
 * 400 as Swift does when hosts and devices do not pair up. */
static int parse_targets(struct http_request *req, struct contd_targets *t)
{
	const char *hosts = http_header(req, "X-Account-Host");
	const char *devs = http_header(req, "X-Account-Device");
	const char *part = http_header(req, "X-Account-Partition");
	char hb[1024], db[1024], *hs, *ds, *h, *d;
	int n = 0;

	memset(t, 0, sizeof(*t));
	snprintf(hb, sizeof(hb), "%s", hosts ? hosts : "");
	snprintf(db, sizeof(db), "%s", devs ? devs : "");
	for (h = strtok_r(hb, ",", &hs), d = strtok_r(db, ",", &ds); h || d;
	     h = strtok_r(NULL, ",", &hs), d = strtok_r(NULL, ",", &ds)) {
		if (!h || !d || n == CONTD_MAX_TARGET)
			goto bad;
		h += strspn(h, " \t");
		d += strspn(d, " \t");
		h[strcspn(h, " \t")] = '\0';
		d[strcspn(d, " \t")] = '\0';
		snprintf(t->host[n], sizeof(t->host[n]), "%s", h);
		snprintf(t->dev[n], sizeof(t->dev[n]), "%s", d);
		t->pending[n] = 1;
		n++;
	}
	if (!part || !*part)
		return 0; /* Swift sends no update without a partition */
	snprintf(t->part, sizeof(t->part), "%s", part);
	t->n = n;
	return 0;
bad:
	http_reply_error(req, 400, "account hosts and devices do not match");
	return -EINVAL;
}

/* Swift's gen_resp_headers. */
static void info_headers(struct http_request *req,
			 const struct contd_info *info, int deleted)
{
	char a[TS_INTERNAL_LEN + 1];
	static const struct contd_info zero;

	if (!info)
		info = &zero;
	http_add_header(req, "X-Backend-Timestamp",
			ts_internal(&info->created_at, a));
	http_add_header(req, "X-Backend-PUT-Timestamp",
			ts_internal(&info->put, a));
	http_add_header(req, "X-Backend-DELETE-Timestamp",
			ts_internal(&info->del, a));
	http_add_header(req, "X-Backend-Status-Changed-At",
			ts_internal(&info->status_changed, a));
	http_add_headerf(req, "X-Backend-Storage-Policy-Index", "%d",
			 info->policy);
	if (deleted)
		return;
	http_add_headerf(req, "X-Container-Object-Count", "%lld",
			 (long long)info->object_count);
	http_add_headerf(req, "X-Container-Bytes-Used", "%lld",
			 (long long)info->bytes_used);
	http_add_header(req, "X-Timestamp", ts_normal(&info->created_at, a));
	http_add_header(req, "X-PUT-Timestamp", ts_normal(&info->put, a));
	http_add_header(req, "X-Backend-Sharding-State", "unsharded");
}

/* Metadata headers (the saved ones and X-Container-(Sys)meta-*). */
static void meta_headers(struct http_request *req, const json_t *md)
{
	dbmeta_add_headers(req, md);
}

static void last_modified(struct http_request *req,
			  const struct contd_info *info)
{
	char date[32];

	http_add_header(req, "Last-Modified", ts_http_date(&info->put, date));
}

/* Collect and merge the request's metadata into info (see
 * dbserver_apply_meta). */
static int apply_meta(struct http_request *req, struct contd_info *info,
		      const struct ts *ts, char *msg, size_t msglen)
{
	return dbserver_apply_meta(req, "container", saved_headers,
				   &info->metadata, ts, msg, msglen);
}

/* Stage and commit info. 0, or replies 500. */
static int save_info(struct http_request *req, struct creq *r,
		     const struct contd_info *info)
{
	struct dbstore_batch *b = dbstore_batch_new();
	int rc = b ? contd_info_stage(b, r->key, info) : -ENOMEM;

	if (!rc)
		rc = dbstore_commit(r->db, b);
	dbstore_batch_free(b);
	if (rc)
		http_reply_error(req, 500, "cannot save the container: %s",
				 strerror(-rc));
	return rc;
}

/* The inline account update of a container PUT or DELETE: 1 when every
 * account server answered 404 (Swift then answers 404 too). */
static int update_now(struct http_request *req, struct creq *r,
		      const struct contd_info *info)
{
	int sent = 0, n404;

	if (!info->targets.n)
		return 0;
	n404 = contd_update_account(r->c, r->db, r->key, info, 1, http_txn(req),
				    &sent);
	return sent && n404 == sent;
}

static void put_container(struct http_request *req, struct creq *r,
			  const struct ts *ts, int policy_given)
{
	struct contd_targets targets;
	struct contd_report before;
	struct contd_info info;
	char msg[128];
	int rc, created = 0, locked = 0, have = 0, meta_rc;

	if (parse_targets(req, &targets) || open_db(req, r, 1))
		return;
	dbstore_lock(r->db);
	locked = 1;
	rc = contd_info_get(r->db, r->key, &info);
	if (rc == -ENOENT) {
		memset(&info, 0, sizeof(info));
		info.account = strdup(r->segs[2]);
		info.container = strdup(r->segs[3]);
		info.metadata = json_object();
		have = 1;
		if (!info.account || !info.container || !info.metadata) {
			http_reply_error(req, 500, "out of memory");
			goto out;
		}
		ts_now(&info.created_at);
		info.put = *ts;
		info.status_changed = *ts;
		info.policy = new_container_policy(req, policy_given);
		created = 1;
		memset(&before, 0, sizeof(before));
	} else if (rc) {
		http_reply_error(req, 500, "cannot read the container: %s",
				 strerror(-rc));
		goto out;
	} else {
		int recreated = contd_info_deleted(&info);

		have = 1;
		contd_info_report(&info, &before);
		if (recreated) {
			/* only a deleted container takes a new policy */
			info.policy = new_container_policy(req, policy_given);
		} else if (policy_given >= 0 && policy_given != info.policy) {
			http_add_headerf(req, "X-Backend-Storage-Policy-Index",
					 "%d", info.policy);
			http_reply_error(req, 409, "Conflict");
			goto out;
		}
		if (ts_cmp(ts, &info.put) > 0)
			info.put = *ts;
		if (contd_info_deleted(&info)) {
			http_reply_error(req, 409, "Conflict");
			goto out;
		}
		if (recreated && ts_cmp(ts, &info.status_changed) > 0)
			info.status_changed = *ts;
		created = recreated;
	}
	/* as Swift, the timestamps are saved even when metadata is refused */
	meta_rc = apply_meta(req, &info, ts, msg, sizeof(msg));
	if (meta_rc && meta_rc != -EINVAL) {
		http_reply_error(req, 500, "%s", msg);
		goto out;
	}
	if (targets.n)
		info.targets = targets;
	contd_mark_pending(&info, &before);
	if (save_info(req, r, &info))
		goto out;
	dbstore_unlock(r->db);
	locked = 0;
	if (meta_rc) {
		http_reply_error(req, 400, "%s", msg);
		goto out;
	}
	if (update_now(req, r, &info)) {
		http_reply_error(req, 404, "account not found");
		goto out;
	}
	http_add_headerf(req, "X-Backend-Storage-Policy-Index", "%d",
			 info.policy);
	http_reply(req, created ? 201 : 202, "", 0);
out:
	if (locked)
		dbstore_unlock(r->db);
	if (have)
		contd_info_free(&info);
}

static void put_row(struct http_request *req, struct creq *r,
		    const struct ts *ts, int deleted)
{
	const char *size = http_header(req, "X-Size");
	const char *ctype = http_header(req, "X-Content-Type");
	const char *etag = http_header(req, "X-Etag");
	const char *ct_ts = http_header(req, "X-Content-Type-Timestamp");
	const char *meta_ts = http_header(req, "X-Meta-Timestamp");
	struct contd_row row;
	char *end;
	int rc;

	memset(&row, 0, sizeof(row));
	row.data = row.ctype = row.meta = *ts;
	row.deleted = deleted;
	row.etag = etag ? etag : "";
	row.content_type = ctype ? ctype : "";
	if (!deleted) {
		if (!size || !ctype || !etag) {
			http_reply_error(req, 400,
					 "X-Size, X-Content-Type and X-Etag "
					 "are required");
			return;
		}
		row.size = strtoll(size, &end, 10);
		if (end == size || *end || row.size < 0) {
			http_reply_error(req, 400, "Invalid X-Size");
			return;
		}
		if (strchr(ctype, '\n') || strchr(etag, '\n')) {
			http_reply_error(req, 400, "Invalid header value");
			return;
		}
		/* a POST's update (Swift's fast-POST): own timestamps */
		if ((ct_ts && *ct_ts && ts_parse(ct_ts, &row.ctype)) ||
		    (meta_ts && *meta_ts && ts_parse(meta_ts, &row.meta))) {
			http_reply_error(req, 400,
					 "Invalid X-Timestamp header");
			return;
		}
		if (ct_ts && *ct_ts && !(meta_ts && *meta_ts))
			row.meta = row.ctype;
	}
	rc = open_db(req, r, 0);
	if (rc == -ENOENT) {
		http_reply(req, 404, "", 0);
		return;
	}
	if (rc)
		return;
	rc = contd_row_update(r->db, r->key, r->segs[4], &row);
	if (rc == -ENOENT)
		http_reply(req, 404, "", 0);
	else if (rc)
		http_reply_error(req, 500, "cannot update the row: %s",
				 strerror(-rc));
	else
		http_reply(req, deleted ? 204 : 201, "", 0);
}

static void do_put(struct http_request *req, struct creq *r)
{
	struct ts ts;
	int given, rc;

	if (prepare(req, r, 1))
		return;
	rc = backend_timestamp(req, &ts, r->msg, sizeof(r->msg));
	if (rc) {
		reply_msg(req, rc, r->msg);
		return;
	}
	if (check_policy(req, &given))
		return;
	if (r->segs[4])
		put_row(req, r, &ts, 0);
	else
		put_container(req, r, &ts, given);
}

static void delete_container(struct http_request *req, struct creq *r,
			     const struct ts *ts)
{
	char tsbuf[TS_INTERNAL_LEN + 1];
	struct contd_targets targets;
	struct contd_report before;
	struct contd_info info;
	int rc, existed, locked = 1;

	if (parse_targets(req, &targets))
		return;
	rc = open_db(req, r, 0);
	if (rc == -ENOENT)
		http_reply(req, 404, "", 0);
	if (rc)
		return;
	dbstore_lock(r->db);
	rc = contd_info_get(r->db, r->key, &info);
	if (rc) {
		dbstore_unlock(r->db);
		if (rc == -ENOENT)
			http_reply(req, 404, "", 0);
		else
			http_reply_error(req, 500, "cannot read: %s",
					 strerror(-rc));
		return;
	}
	contd_info_report(&info, &before);
	if (info.object_count > 0) {
		http_reply_error(req, 409,
				 "There was a conflict when trying "
				 "to complete your request.");
		goto out;
	}
	existed = info.put.ticks != 0 && !contd_info_deleted(&info);
	if (dbmeta_clear(info.metadata, ts_internal(ts, tsbuf))) {
		http_reply_error(req, 500, "out of memory");
		goto out;
	}
	if (ts_cmp(&info.del, ts) < 0) {
		info.del = *ts;
		info.status_changed = *ts;
	}
	if (targets.n)
		info.targets = targets;
	contd_mark_pending(&info, &before);
	if (save_info(req, r, &info))
		goto out;
	if (!contd_info_deleted(&info)) {
		http_reply_error(req, 409, "Conflict");
		goto out;
	}
	dbstore_unlock(r->db);
	locked = 0;
	if (update_now(req, r, &info) || !existed)
		http_reply(req, 404, "", 0);
	else
		http_reply(req, 204, "", 0);
out:
	if (locked)
		dbstore_unlock(r->db);
	contd_info_free(&info);
}

static void do_delete(struct http_request *req, struct creq *r)
{
	struct ts ts;
	int given, rc;

	if (prepare(req, r, 1))
		return;
	rc = backend_timestamp(req, &ts, r->msg, sizeof(r->msg));
	if (rc) {
		reply_msg(req, rc, r->msg);
		return;
	}
	if (check_policy(req, &given))
		return;
	if (r->segs[4])
		put_row(req, r, &ts, 1);
	else
		delete_container(req, r, &ts);
}

static void do_post(struct http_request *req, struct creq *r)
{
	struct contd_report before;
	struct contd_info info;
	struct ts ts;
	int rc;

	if (prepare(req, r, 0))
		return;
	rc = backend_timestamp(req, &ts, r->msg, sizeof(r->msg));
	if (rc) {
		reply_msg(req, rc, r->msg);
		return;
	}
	rc = open_db(req, r, 0);
	if (rc == -ENOENT)
		http_reply(req, 404, "", 0);
	if (rc)
		return;
	dbstore_lock(r->db);
	rc = contd_info_get(r->db, r->key, &info);
	if (rc) {
		dbstore_unlock(r->db);
		if (rc == -ENOENT)
			http_reply(req, 404, "", 0);
		else
			http_reply_error(req, 500, "cannot read: %s",
					 strerror(-rc));
		return;
	}
	contd_info_report(&info, &before);
	if (contd_info_deleted(&info)) {
		http_reply(req, 404, "", 0);
		goto out;
	}
	if (ts_cmp(&ts, &info.put) > 0)
		info.put = ts;
	rc = apply_meta(req, &info, &ts, r->msg, sizeof(r->msg));
	if (rc && rc != -EINVAL) {
		http_reply_error(req, 500, "%s", r->msg);
		goto out;
	}
	contd_mark_pending(&info, &before);
	if (save_info(req, r, &info))
		goto out;
	if (rc)
		http_reply_error(req, 400, "%s", r->msg);
	else
		http_reply(req, 204, "", 0);
out:
	dbstore_unlock(r->db);
	contd_info_free(&info);
}

/* --- HEAD and GET -------------------------------------------------------- */

/* Read the container for HEAD/GET; replies 404/507/500 itself and
 * returns non-zero then. */
static int read_info(struct http_request *req, struct creq *r,
		     struct contd_info *info)
{
	int rc = open_db(req, r, 0);

	if (rc == -ENOENT) {
		info_headers(req, NULL, 1);
		http_reply(req, 404, "", 0);
		return rc;
	}
	if (rc)
		return rc;
	rc = contd_info_get(r->db, r->key, info);
	if (rc == -ENOENT) {
		info_headers(req, NULL, 1);
		http_reply(req, 404, "", 0);
		return rc;
	}
	if (rc) {
		http_reply_error(req, 500, "cannot read: %s", strerror(-rc));
		return rc;
	}
	if (contd_info_deleted(info)) {
		info_headers(req, info, 1);
		http_reply(req, 404, "", 0);
		contd_info_free(info);
		return -ENOENT;
	}
	return 0;
}

static void do_head(struct http_request *req, struct creq *r)
{
	enum listing_format fmt;
	struct contd_info info;

	if (prepare(req, r, 1) || dbserver_head_format(req, &fmt))
		return;
	if (read_info(req, r, &info))
		return;
	info_headers(req, &info, 0);
	meta_headers(req, info.metadata);
	http_add_headerf(req, "Content-Type", "%s; charset=utf-8",
			 listing_mime(fmt));
	last_modified(req, &info);
	http_reply(req, 204, "", 0);
	contd_info_free(&info);
}

/* Turn a stored row into the body; the listing's last_modified is the
 * row's metadata timestamp, as Swift's _transform_record. */
static int emit_row(void *arg, const char *name, const char *val, size_t vlen)
{
	struct listing_out *o = arg;
	struct contd_row row;

	(void)vlen;
	if (!val)
		return listing_out_subdir(o, name);
	/* val is the scan's own copy (row_src.val): parse it in place */
	if (contd_row_parse((char *)val, &row))
		return -EIO;
	return listing_out_object(o, name, row.size, row.etag, row.content_type,
				  &row.meta);
}

static void do_get(struct http_request *req, struct creq *r)
{
	struct listing_source src;
	struct listing_query q;
	struct listing_out out;
	struct dbserver_rows rs;
	struct contd_info info;
	int rc;

	if (prepare(req, r, 1))
		return;
	rc = listing_query_from_request(req, 1, &q, r->msg, sizeof(r->msg));
	if (rc) {
		reply_msg(req, rc, r->msg);
		return;
	}
	if (read_info(req, r, &info))
		return;
	dbserver_rows_init(&rs, &src, r->db, 'O', r->key);
	rc = listing_out_begin(&out, q.format, LISTING_OBJECTS, info.container);
	if (!rc)
		rc = listing_run(&src, &q, emit_row, &out);
	if (!rc)
		rc = listing_out_end(&out);
	dbserver_rows_free(&rs);
	if (rc) {
		http_reply_error(req, 500, "listing failed: %s", strerror(-rc));
		goto out;
	}
	info_headers(req, &info, 0);
	http_add_header(req, "X-Backend-Record-Type", "object");
	http_add_headerf(req, "X-Backend-Record-Storage-Policy-Index", "%d",
			 info.policy);
	meta_headers(req, info.metadata);
	http_add_headerf(req, "Content-Type", "%s; charset=utf-8",
			 listing_mime(q.format));
	last_modified(req, &info);
	http_reply_take(req, out.body.len ? 200 : 204, out.body.data,
			out.body.len);
	out.body = (struct buf)BUF_INIT; /* the reply owns the body now */
out:
	listing_out_free(&out);
	contd_info_free(&info);
}

/* --- routing ------------------------------------------------------------- */

static void on_headers(struct http_request *req)
{
	const char *m = http_method(req);
	struct creq *r;

	if (!strcmp(http_raw_path(req), "/healthcheck") &&
	    (!strcmp(m, "GET") || !strcmp(m, "HEAD"))) {
		http_reply(req, 200, "OK", 2);
		return;
	}
	if (recon_is_path(http_raw_path(req))) { /* common/recon.c */
		struct contd *app = http_app(req);

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

const struct http_handler *contd_route(struct http_request *req)
{
	/* REPLICATE and POST /once/ (replicator.c) */
	const struct http_handler *h = contd_repl_route(req);

	return h ? h : &handler;
}
