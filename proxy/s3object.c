/*
 * proxy/s3object.c: S3's object operations as Swift's s3api answers them
 * (swift/common/middleware/s3api/controllers/obj.py, multi_delete.py):
 * PutObject, CopyObject, GetObject, HeadObject, DeleteObject,
 * DeleteObjects and the object ACLs, over object.c's upload, slo.c's
 * large objects and segment.c's replies.
 *
 *   PutObject   the decoded body (s3.c's pipe: aws-chunked undone,
 *               Content-MD5 checked as it streams, the last bytes held
 *               until it is) → proxy_object_put_open_quiet/write/finish;
 *               x-amz-meta-* stored as X-Object-Meta-*; 200 + quoted ETag.
 *               A refused body (BadDigest...) never reaches on_end: the
 *               upload is aborted in on_close, so nothing is stored.
 *   CopyObject  x-amz-copy-source read (a large source assembled by
 *               lo_copy_source) and streamed into the same upload;
 *               x-amz-metadata-directive COPY keeps the source's metadata,
 *               REPLACE takes the request's; x-amz-copy-source-if-* → 412.
 *   Get/Head    one backend HEAD for the metadata (the S3 ETag of a
 *               multipart object is sysmeta), the conditionals and Range
 *               decided here (common/range.h), then the body: a plain
 *               object streamed from a backend GET (Range sent along), an
 *               SLO through slo_source + lo_reply.
 *   Delete      204 whether the key was there or not; an SLO's segments
 *               go with it (as s3api's multipart-manifest=delete).
 *
 * Uploads of parts (s3multipart.c) share the upload and the copy here
 * (s3_upload_open, s3_copy_to). Every error is S3's XML (s3_error); no
 * Swift text reaches an S3 client from these handlers.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/log.h"
#include "common/timestamp.h"
#include "proxy/internal.h"

#define COPY_CHUNK	  (64 * 1024)
#define MAX_DELETE_KEYS	  1000
#define S3_META_PREFIX	  "x-amz-meta-"
#define SWIFT_META_PREFIX "X-Object-Meta-"

/* Client headers that never reach a backend from an S3 request. */
const char *const s3_drop_headers[] = {"X-Amz-*",
				       "X-Object-*",
				       "X-Container-*",
				       "X-Account-*",
				       "X-Copy-From*",
				       "Destination*",
				       "X-Delete-*",
				       "Etag",
				       "Content-MD5",
				       "Content-Encoding",
				       "X-Static-Large-Object",
				       "X-Fresh-Metadata",
				       "If-*",
				       "Range",
				       NULL};

/* --- metadata ---------------------------------------------------------- */

struct meta_ctx {
	struct cluster_hdrs *h;
	size_t total;
	int rc;
};

static void meta_one(const char *name, const char *value, void *arg)
{
	struct meta_ctx *m = arg;
	char hname[300];

	if (m->rc || strncasecmp(name, S3_META_PREFIX, 11))
		return;
	m->total += strlen(name + 11) + strlen(value);
	if (strlen(name + 11) > MAX_META_NAME_LENGTH ||
	    strlen(value) > MAX_META_VALUE_LENGTH) {
		m->rc = -E2BIG;
		return;
	}
	snprintf(hname, sizeof(hname), SWIFT_META_PREFIX "%s", name + 11);
	m->rc = cluster_hdrs_add(m->h, hname, value);
}

int s3_request_meta(struct s3_req *s, struct cluster_hdrs *h, int ctype)
{
	static const char *const kept[] = {"Content-Disposition",
					   "Content-Language", "Cache-Control",
					   "Expires"};
	struct meta_ctx m = {h, 0, 0};
	const char *ce = http_header(s->req, "Content-Encoding");
	const char *ct = http_header(s->req, "Content-Type");
	char enc[256], *w, *save = NULL;
	size_t i;

	http_each_header(s->req, meta_one, &m);
	if (m.rc == -E2BIG || m.total > MAX_META_OVERALL_SIZE) {
		s3_error(s->req, 400, "MetadataTooLarge",
			 "Your metadata headers exceed the maximum allowed "
			 "metadata size.",
			 s->resource);
		return 400;
	}
	for (i = 0; !m.rc && i < sizeof(kept) / sizeof(kept[0]); i++)
		if (http_header(s->req, kept[i]))
			m.rc = cluster_hdrs_set(h, kept[i],
						http_header(s->req, kept[i]));
	if (!m.rc && ctype)
		m.rc = cluster_hdrs_set(h, "Content-Type",
					ct && *ct ? ct : "binary/octet-stream");
	if (!m.rc && ce) {
		/* aws-chunked is the transfer's, not the object's */
		size_t used = 0;
		char copy[256];

		snprintf(copy, sizeof(copy), "%s", ce);
		enc[0] = '\0';
		for (w = strtok_r(copy, ", ", &save); w;
		     w = strtok_r(NULL, ", ", &save)) {
			if (!strcasecmp(w, "aws-chunked"))
				continue;
			used += (size_t)snprintf(enc + used, sizeof(enc) - used,
						 "%s%s", used ? "," : "", w);
			if (used >= sizeof(enc))
				break;
		}
		if (*enc)
			m.rc = cluster_hdrs_set(h, "Content-Encoding", enc);
	}
	if (m.rc) {
		s3_error(s->req, 500, "InternalError", NULL, s->resource);
		return 500;
	}
	return 0;
}

/* --- uploads (PutObject, UploadPart) ----------------------------------- */

struct s3_upload {
	struct obj_put *o;
	struct proxy_path dst;
	int done;
};

int s3_upload_open(struct s3_req *s, const struct proxy_path *dst,
		   const struct cluster_hdrs *set)
{
	struct s3_upload *u;
	int status = 0;

	if (s->length > MAX_FILE_SIZE) {
		s3_error(s->req, 400, "EntityTooLarge", NULL, s->resource);
		return 400;
	}
	u = calloc(1, sizeof(*u));
	if (!u) {
		s3_error(s->req, 500, "InternalError", NULL, s->resource);
		return 500;
	}
	lo_path_copy(&u->dst, dst);
	u->o = proxy_object_put_open_quiet(s->req, s->app, &u->dst, s->length,
					   NULL, 0, set, s3_drop_headers,
					   &status);
	if (!u->o) {
		free(u);
		s3_error_status(s, status, "NoSuchBucket");
		return status;
	}
	s->state = u;
	return 0;
}

void s3_upload_body(struct s3_req *s, const char *data, size_t len)
{
	struct s3_upload *u = s->state;

	if (!u || u->done)
		return;
	if (proxy_object_put_write(u->o, data, len)) {
		log_err("txn=%s S3 PUT %s: too few backends left mid-body",
			http_txn(s->req), s->resource);
		u->done = 1;
		s3_error(s->req, 503, "ServiceUnavailable", NULL, s->resource);
	}
}

/* End the upload: 0 with etag (hex) and the upload's timestamp, or replied
 * the S3 error and returns its status. */
static int upload_finish(struct s3_req *s, char etag[33], char ts[32])
{
	struct s3_upload *u = s->state;
	int status;

	if (!u || u->done) {
		s3_error(s->req, 500, "InternalError", NULL, s->resource);
		return 500;
	}
	u->done = 1;
	status = proxy_object_put_finish(u->o, etag);
	snprintf(ts, 32, "%s", proxy_object_put_ts(u->o));
	if (status / 100 != 2) {
		s3_error_status(s, status, NULL);
		return status;
	}
	return 0;
}

void s3_upload_end(struct s3_req *s)
{
	char etag[33], ts[32];

	if (upload_finish(s, etag, ts))
		return;
	http_add_headerf(s->req, "ETag", "\"%s\"", etag);
	http_add_header(s->req, "x-amz-request-id", http_txn(s->req));
	http_reply(s->req, 200, "", 0);
}

void s3_upload_close(struct s3_req *s, int completed)
{
	struct s3_upload *u = s->state;

	(void)completed;
	if (!u)
		return;
	/* an upload not finished is aborted: every backend request is cut,
	 * so none commits */
	proxy_object_put_free(u->o);
	free(u);
	s->state = NULL;
}

/* --- the object's metadata --------------------------------------------- */

/* The S3 ETag (unquoted) and mtime of an object's answer r. */
static void resp_etag(const struct cluster_resp *r, char etag[80],
		      int64_t *mtime)
{
	const char *v = cluster_resp_header(r, S3_SYSMETA_ETAG);

	if (!v)
		v = cluster_resp_header(r, "X-Object-Sysmeta-Slo-Etag");
	if (!v)
		v = cluster_resp_header(r, "Etag");
	snprintf(etag, 80, "%s", v ? v : "");
	lo_unquote(etag);
	*mtime = -1;
	v = cluster_resp_header(r, "Last-Modified");
	if (v)
		ts_parse_http_date(v, mtime);
}

int s3_head_object(struct s3_req *s, const struct proxy_path *p,
		   struct cluster_resp *r, char etag[80], int64_t *size,
		   int64_t *mtime)
{
	struct cluster_get *g = NULL;
	const char *v;

	if (lo_segment_open(s->req, s->app, "HEAD", p->account, p->container,
			    p->object, NULL, NULL, r, &g))
		return 503;
	cluster_get_close(g);
	if (r->status / 100 != 2)
		return r->status;
	resp_etag(r, etag, mtime);
	v = cluster_resp_header(r, "X-Object-Sysmeta-Slo-Size");
	if (!v)
		v = cluster_resp_header(r, "Content-Length");
	*size = v ? strtoll(v, NULL, 10) : 0;
	return r->status;
}

static int is_slo(const struct cluster_resp *r)
{
	const char *v = cluster_resp_header(r, "X-Static-Large-Object");

	return v && (!strcasecmp(v, "true") || !strcmp(v, "1") ||
		     !strcasecmp(v, "yes") || !strcasecmp(v, "on"));
}

/* A 404 of a key: NoSuchBucket when the bucket is gone too. */
static void reply_missing(struct s3_req *s)
{
	int st = proxy_head_status(s->req, s->app, CLUSTER_CONTAINER, &s->p);

	s3_error(s->req, 404, st == 404 ? "NoSuchBucket" : "NoSuchKey", NULL,
		 s->resource);
}

/* The object's headers for S3: Content-* kept, X-Object-Meta-* as
 * x-amz-meta-*, response-* overrides last. */
static void object_headers(struct s3_req *s, const struct cluster_resp *r,
			   const char *etag, int64_t mtime, int lo)
{
	static const char *const kept[] = {
		"Content-Type",	 "Content-Language",	"Expires",
		"Cache-Control", "Content-Disposition", "Content-Encoding"};
	static const char *const over[] = {"response-content-type",
					   "response-content-language",
					   "response-expires",
					   "response-cache-control",
					   "response-content-disposition",
					   "response-content-encoding"};
	char date[64], ct[512];
	size_t i;
	int k;

	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		const char *v = s3_query(s, over[i]);

		if (!v)
			v = cluster_resp_header(r, kept[i]);
		if (!v || (i == 0 && lo))
			continue;
		if (i == 0) {
			snprintf(ct, sizeof(ct), "%s", v);
			if (strstr(ct, ";swift_bytes="))
				*strstr(ct, ";swift_bytes=") = '\0';
			v = ct;
		}
		http_add_header(s->req, kept[i], v);
	}
	for (k = 0; k < r->nhdrs; k++) {
		const char *n = r->hdr_names[k];
		char name[300], *c;

		if (strncasecmp(n, SWIFT_META_PREFIX, 14))
			continue;
		snprintf(name, sizeof(name), S3_META_PREFIX "%s", n + 14);
		for (c = name; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		http_add_header(s->req, name, r->hdr_values[k]);
	}
	http_add_headerf(s->req, "ETag", "\"%s\"", etag);
	if (mtime >= 0) {
		s3_http_date((double)mtime, date);
		http_add_header(s->req, "Last-Modified", date);
	}
	if (!lo) /* lo_reply adds its own */
		http_add_header(s->req, "Accept-Ranges", "bytes");
	http_add_header(s->req, "x-amz-request-id", http_txn(s->req));
}

/* --- GetObject, HeadObject --------------------------------------------- */

/* What a GET keeps until the reply is sent (lo_reply's Content-Type). */
struct s3_get {
	char ctype[512];
};

static ssize_t none_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	(void)ctx;
	(void)pos;
	(void)buf;
	(void)max;
	return 0;
}

static void none_done(void *ctx)
{
	(void)ctx;
}

/* The body of an SLO through segment.c (Range there too). */
static void slo_body(struct s3_req *s, const struct cluster_resp *r,
		     const char *etag, int64_t mtime)
{
	struct s3_get *sg = calloc(1, sizeof(*sg));
	struct lo_source src = {0};
	struct cluster_resp mr = {0};
	struct cluster_get *g = NULL;
	const char *ct = s3_query(s, "response-content-type");
	int64_t size = 0;

	if (!sg ||
	    lo_segment_open(s->req, s->app, "GET", s->p.account, s->p.container,
			    s->p.object, NULL, NULL, &mr, &g)) {
		free(sg);
		s3_error(s->req, 503, "ServiceUnavailable", NULL, s->resource);
		goto out;
	}
	if (mr.status == 404 || !g) {
		free(sg);
		s3_error_status(s, mr.status, NULL);
		goto out;
	}
	if (slo_source(s->req, s->app, &s->p, g, &src, &size)) {
		free(sg);
		s3_error(s->req, 500, "InternalError", NULL, s->resource);
		goto out;
	}
	if (!ct)
		ct = cluster_resp_header(r, "Content-Type");
	snprintf(sg->ctype, sizeof(sg->ctype), "%s",
		 ct ? ct : "application/octet-stream");
	if (strstr(sg->ctype, ";swift_bytes="))
		*strstr(sg->ctype, ";swift_bytes=") = '\0';
	s->state = sg;
	src.single_range = 1; /* S3 answers one range, or the whole */
	object_headers(s, r, etag, mtime, 1);
	lo_reply(s->req, s->app, &s->p, (uint64_t)size, sg->ctype, &src);
out:
	cluster_get_close(g);
	cluster_resp_free(&mr);
}

static void object_get(struct s3_req *s)
{
	int head = !strcmp(http_method(s->req), "HEAD");
	const char *range = http_header(s->req, "Range");
	struct cluster_resp r = {0}, gr = {0};
	struct cluster_get *g = NULL;
	struct byte_range rg[RANGE_MAX];
	char etag[80], rh[96], date[64];
	int64_t size = 0, mtime = -1, length;
	int st, n = -1;

	st = s3_head_object(s, &s->p, &r, etag, &size, &mtime);
	if (st == 404) {
		reply_missing(s);
		goto out;
	}
	if (st / 100 != 2) {
		s3_error_status(s, st, NULL);
		goto out;
	}
	st = cond_status(http_header(s->req, "If-Match"),
			 http_header(s->req, "If-None-Match"),
			 http_header(s->req, "If-Modified-Since"),
			 http_header(s->req, "If-Unmodified-Since"), etag,
			 mtime, 1);
	if (st == 304) {
		http_add_headerf(s->req, "ETag", "\"%s\"", etag);
		if (mtime >= 0) {
			s3_http_date((double)mtime, date);
			http_add_header(s->req, "Last-Modified", date);
		}
		http_reply(s->req, 304, "", 0);
		goto out;
	}
	if (st) {
		s3_error(s->req, 412, "PreconditionFailed", NULL, s->resource);
		goto out;
	}
	if (range) {
		n = range_parse(range, (uint64_t)size, rg);
		if (n == 0) {
			http_add_headerf(s->req, "Content-Range",
					 "bytes */%lld", (long long)size);
			s3_error(s->req, 416, "InvalidRange", NULL,
				 s->resource);
			goto out;
		}
		if (n > 1)
			n = -1; /* several ranges: the whole, as S3 */
	}
	if (!head && is_slo(&r)) {
		slo_body(s, &r, etag, mtime);
		goto out;
	}
	object_headers(s, &r, etag, mtime, 0);
	length = size;
	if (n == 1) {
		snprintf(rh, sizeof(rh), "bytes %llu-%llu/%lld",
			 (unsigned long long)rg[0].start,
			 (unsigned long long)rg[0].end - 1, (long long)size);
		http_add_header(s->req, "Content-Range", rh);
		length = (int64_t)(rg[0].end - rg[0].start);
	}
	if (head) {
		http_reply_stream(s->req, n == 1 ? 206 : 200, length, none_read,
				  NULL, none_done);
		goto out;
	}
	if (n == 1) /* rg[0] is set only then */
		snprintf(rh, sizeof(rh), "bytes=%llu-%llu",
			 (unsigned long long)rg[0].start,
			 (unsigned long long)rg[0].end - 1);
	if (lo_segment_open(s->req, s->app, "GET", s->p.account, s->p.container,
			    s->p.object, n == 1 ? rh : NULL, NULL, &gr, &g)) {
		s3_error(s->req, 503, "ServiceUnavailable", NULL, s->resource);
		goto out;
	}
	if (!g || gr.status / 100 != 2) {
		if (gr.status == 404)
			reply_missing(s);
		else
			s3_error_status(s, gr.status, NULL);
		goto out;
	}
	http_reply_stream(s->req, gr.status, length, proxy_get_read, g,
			  proxy_get_done);
	g = NULL;
out:
	cluster_get_close(g);
	cluster_resp_free(&gr);
	cluster_resp_free(&r);
}

static void get_close(struct s3_req *s, int completed)
{
	(void)completed;
	free(s->state);
	s->state = NULL;
}

const struct s3_handler s3_object_get = {object_get, NULL, NULL, get_close};

/* --- DeleteObject ------------------------------------------------------- */

/* Read a body of at most max bytes into out. 0 or -EIO/-E2BIG/-ENOMEM. */
static int read_body(struct cluster_get *g, struct buf *out, size_t max)
{
	char chunk[COPY_CHUNK];
	ssize_t n;

	while ((n = cluster_get_read(g, chunk, sizeof(chunk))) > 0) {
		if (out->len + (size_t)n > max)
			return -E2BIG;
		if (buf_append(out, chunk, (size_t)n))
			return -ENOMEM;
	}
	return n < 0 ? -EIO : 0;
}

/* Delete the segments an SLO's manifest names (those the requester may
 * delete), as s3api's multipart-manifest=delete. */
static void delete_segments(struct s3_req *s, const struct proxy_path *p)
{
	struct cluster_resp r = {0};
	struct cluster_get *g = NULL;
	struct buf body = {0};
	json_t *segs = NULL, *seg;
	size_t i;

	if (lo_segment_open(s->req, s->app, "GET", p->account, p->container,
			    p->object, NULL, NULL, &r, &g) ||
	    !g || r.status != 200 ||
	    read_body(g, &body, 2 * SLO_MAX_MANIFEST_SIZE))
		goto out;
	segs = json_loadb((const char *)body.data, body.len, 0, NULL);
	json_array_foreach(segs, i, seg)
	{
		const char *name =
			json_string_value(json_object_get(seg, "name"));
		struct proxy_path sp;
		char *slash;

		if (!name || *name != '/' || strlen(name) >= sizeof(sp.buf))
			continue;
		memset(&sp, 0, sizeof(sp));
		snprintf(sp.buf, sizeof(sp.buf), "%s", name + 1);
		slash = strchr(sp.buf, '/');
		if (!slash)
			continue;
		*slash = '\0';
		sp.account = p->account;
		sp.container = sp.buf;
		sp.object = slash + 1;
		sp.user = p->user;
		sp.service = p->service;
		if (lo_allowed(s->req, s->app, p, "DELETE", sp.container,
			       sp.object))
			continue;
		proxy_object_delete_quiet(s->req, s->app, &sp);
	}
out:
	json_decref(segs);
	buf_free(&body);
	cluster_get_close(g);
	cluster_resp_free(&r);
}

int s3_delete_key(struct s3_req *s, const struct proxy_path *p)
{
	struct cluster_resp r = {0};
	char etag[80];
	int64_t size, mtime;
	int st = s3_head_object(s, p, &r, etag, &size, &mtime);

	if (st / 100 == 2 && is_slo(&r))
		delete_segments(s, p);
	cluster_resp_free(&r);
	if (st == 404)
		return 404;
	if (st / 100 != 2)
		return st;
	return proxy_object_delete_quiet(s->req, s->app, p);
}

static void object_delete(struct s3_req *s)
{
	int st = s3_delete_key(s, &s->p);

	if (st == 404 && proxy_head_status(s->req, s->app, CLUSTER_CONTAINER,
					   &s->p) == 404) {
		s3_error(s->req, 404, "NoSuchBucket", NULL, s->resource);
		return;
	}
	if (st / 100 != 2 && st != 404) {
		s3_error_status(s, st, NULL);
		return;
	}
	http_add_header(s->req, "x-amz-request-id", http_txn(s->req));
	http_reply(s->req, 204, "", 0);
}

const struct s3_handler s3_object_delete = {object_delete, NULL, NULL, NULL};

/* --- DeleteObjects (POST /bucket?delete) -------------------------------- */

static void objects_delete_headers(struct s3_req *s)
{
	if (!http_header(s->req, "Content-MD5")) {
		s3_error(s->req, 400, "InvalidRequest",
			 "Missing required header for this request: "
			 "Content-MD5",
			 s->resource);
		return;
	}
	if (!s->p.account ||
	    tempauth_allowed(s->req, s->app, "DELETE", &s->p)) {
		s3_error(s->req, 403, "AccessDenied", NULL, s->resource);
		return;
	}
}

static int result_entry(struct buf *b, const char *key, const char *code,
			const char *msg)
{
	int rc;

	if (!code) {
		rc = buf_printf(b, "<Deleted>");
		rc = rc ?: s3_xml_elem(b, "Key", key);
		return rc ?: buf_printf(b, "</Deleted>");
	}
	rc = buf_printf(b, "<Error>");
	rc = rc ?: s3_xml_elem(b, "Key", key);
	rc = rc ?: s3_xml_elem(b, "Code", code);
	rc = rc ?: s3_xml_elem(b, "Message", msg);
	return rc ?: buf_printf(b, "</Error>");
}

static void objects_delete_end(struct s3_req *s)
{
	struct s3_xml *x = NULL;
	const struct s3_xml *o, *q, *k;
	struct buf b = BUF_INIT;
	int quiet = 0, n = 0, rc, st;

	if (!s->body.len) {
		s3_error(s->req, 400, "MissingRequestBodyError",
			 "Request Body is empty", s->resource);
		return;
	}
	if (s3_xml_parse((const char *)s->body.data, s->body.len, &x) ||
	    strcmp(x->name, "Delete"))
		goto malformed;
	for (o = s3_xml_child(x, "Object"); o; o = s3_xml_next(o, "Object")) {
		k = s3_xml_child(o, "Key");
		if (!k || !*k->text)
			goto malformed;
		n++;
	}
	if (!n || n > MAX_DELETE_KEYS)
		goto malformed;
	q = s3_xml_child(x, "Quiet");
	quiet = q && !strcasecmp(q->text, "true");
	st = proxy_head_status(s->req, s->app, CLUSTER_CONTAINER, &s->p);
	if (st / 100 != 2) {
		s3_error_status(s, st, "NoSuchBucket");
		goto out;
	}
	rc = s3_xml_start(&b);
	rc = rc
		     ?: buf_printf(&b, "<DeleteResult "
				       "xmlns=\"http://s3.amazonaws.com/doc/"
				       "2006-03-01/\">");
	for (o = s3_xml_child(x, "Object"); o && !rc;
	     o = s3_xml_next(o, "Object")) {
		struct proxy_path kp;

		k = s3_xml_child(o, "Key");
		if (strlen(k->text) > MAX_OBJECT_NAME_LENGTH) {
			rc = result_entry(&b, k->text, "KeyTooLongError",
					  "Your key is too long.");
			continue;
		}
		kp = s->p;
		kp.object = k->text;
		st = s3_delete_key(s, &kp);
		if (st / 100 == 2 || st == 404)
			rc = quiet ? 0 : result_entry(&b, k->text, NULL, NULL);
		else
			rc = result_entry(
				&b, k->text,
				st == 403 || st == 401 ? "AccessDenied"
						       : "InternalError",
				st == 403 || st == 401
					? "Access Denied."
					: "We encountered an internal "
					  "error. Please try again.");
	}
	rc = rc ?: buf_printf(&b, "</DeleteResult>");
	if (rc) {
		s3_error(s->req, 500, "InternalError", NULL, s->resource);
		goto out;
	}
	s3_reply_xml(s->req, 200, &b);
	goto out;
malformed:
	s3_error(s->req, 400, "MalformedXML", NULL, s->resource);
out:
	buf_free(&b);
	s3_xml_free(x);
}

const struct s3_handler s3_objects_delete = {objects_delete_headers, NULL,
					     objects_delete_end, NULL};

/* --- CopyObject, UploadPartCopy ----------------------------------------- */

/* The object x-amz-copy-source names (in s's account) into *src, the
 * requester's. 0, or replied InvalidArgument and returns 400. */
static int copy_source_path(struct s3_req *s, struct proxy_path *src)
{
	const char *v = http_header(s->req, "x-amz-copy-source");
	char raw[4096], *q, *segs[2];
	size_t used;
	int n;

	memset(src, 0, sizeof(*src));
	n = snprintf(raw, sizeof(raw), "%s%s", *v == '/' ? "" : "/", v);
	if (n < 0 || (size_t)n >= sizeof(raw))
		goto bad;
	q = strchr(raw, '?');
	if (q) {
		*q++ = '\0';
		/* a versionId is the only parameter, and is ignored */
		if (strncmp(q, "versionId=", 10) || strchr(q, '&')) {
			s3_error(s->req, 400, "InvalidArgument",
				 "Unsupported copy source parameter.",
				 s->resource);
			return 400;
		}
	}
	used = strlen(s->p.account) + 1;
	memcpy(src->buf, s->p.account, used);
	src->account = src->buf;
	if (http_split_path(raw, src->buf + used, sizeof(src->buf) - used, segs,
			    2) != 2 ||
	    !*segs[0] || !*segs[1] || strlen(segs[1]) > MAX_OBJECT_NAME_LENGTH)
		goto bad;
	src->container = segs[0];
	src->object = segs[1];
	src->user = s->p.user;
	src->service = s->p.service;
	return 0;
bad:
	s3_error(s->req, 400, "InvalidArgument",
		 "Copy Source must mention the source bucket and key: "
		 "sourcebucket/sourcekey",
		 s->resource);
	return 400;
}

/* x-amz-copy-source-range "bytes=first-last" within size: 0 with *first
 * and *count, or replied InvalidArgument. */
static int copy_range(struct s3_req *s, const char *v, int64_t size,
		      uint64_t *first, uint64_t *count)
{
	struct byte_range rg[RANGE_MAX];
	unsigned long long a, b;
	char extra;

	if (sscanf(v, "bytes=%llu-%llu%c", &a, &b, &extra) != 2 || a > b) {
		s3_error(s->req, 400, "InvalidArgument",
			 "The x-amz-copy-source-range value must be of the "
			 "form bytes=first-last where first and last are the "
			 "zero-based offsets of the first and last bytes to "
			 "copy",
			 s->resource);
		return 400;
	}
	if (range_parse(v, (uint64_t)size, rg) != 1 || b >= (uint64_t)size) {
		char msg[128];

		snprintf(msg, sizeof(msg),
			 "Range specified is not valid for source object of "
			 "size: %lld",
			 (long long)size);
		s3_error(s->req, 400, "InvalidArgument", msg, s->resource);
		return 400;
	}
	*first = a;
	*count = b - a + 1;
	return 0;
}

void s3_copy_to(struct s3_req *s, const struct proxy_path *dst, int part)
{
	static const char *const descriptive[] = {
		"Content-Type", "Content-Disposition", "Content-Language",
		"Cache-Control", "Expires"};
	const char *directive = http_header(s->req, "x-amz-metadata-directive");
	const char *rng =
		part ? http_header(s->req, "x-amz-copy-source-range") : NULL;
	const char *drop[64];
	struct proxy_path *src = calloc(1, sizeof(*src));
	struct cluster_hdrs set = {0};
	struct cluster_resp r = {0};
	struct cluster_get *g = NULL;
	struct lo_reader *lo = NULL;
	struct obj_put *o = NULL;
	struct buf b = BUF_INIT;
	char etag[80], put_etag[33], date[32], *chunk = NULL;
	int64_t mtime, length = 0;
	uint64_t first = 0, count, skip;
	int replace, st, nd = 0, rc;
	size_t i;
	ssize_t n;

	if (!src) {
		s3_error(s->req, 500, "InternalError", NULL, s->resource);
		return;
	}
	if (copy_source_path(s, src))
		goto out;
	if (directive && strcmp(directive, "COPY") &&
	    strcmp(directive, "REPLACE")) {
		s3_error(s->req, 400, "InvalidArgument",
			 "Unknown metadata directive.", s->resource);
		goto out;
	}
	replace = directive && !strcmp(directive, "REPLACE");
	if (!part && !replace && !strcmp(src->container, dst->container) &&
	    !strcmp(src->object, dst->object)) {
		s3_error(s->req, 400, "InvalidRequest",
			 "This copy request is illegal because it is trying "
			 "to copy an object to itself without changing the "
			 "object's metadata, storage class, website redirect "
			 "location or encryption attributes.",
			 s->resource);
		goto out;
	}
	if (tempauth_allowed(s->req, s->app, "GET", src)) {
		s3_error(s->req, 403, "AccessDenied", NULL, s->resource);
		goto out;
	}
	if (lo_segment_open(s->req, s->app, "GET", src->account, src->container,
			    src->object, NULL, NULL, &r, &g)) {
		s3_error(s->req, 503, "ServiceUnavailable", NULL, s->resource);
		goto out;
	}
	if (!g || r.status != 200) {
		s3_error_status(s, r.status, "NoSuchKey");
		goto out;
	}
	resp_etag(&r, etag, &mtime);
	if (cond_status(
		    http_header(s->req, "x-amz-copy-source-if-match"),
		    http_header(s->req, "x-amz-copy-source-if-none-match"),
		    http_header(s->req, "x-amz-copy-source-if-modified-since"),
		    http_header(s->req,
				"x-amz-copy-source-if-unmodified-since"),
		    etag, mtime, 1)) {
		s3_error(s->req, 412, "PreconditionFailed", NULL, s->resource);
		goto out;
	}
	/* the copy is a plain object with its own ETag */
	lo_resp_del(&r, S3_SYSMETA_ETAG);
	lo_resp_del(&r, S3_SYSMETA_UPLOAD_ID);
	st = lo_copy_source(s->req, s->app, src, &r, &g, &lo, &length);
	if (st) {
		s3_error_status(s, st == 409 ? 500 : st, NULL);
		goto out;
	}
	if (!lo)
		length = strtoll(cluster_resp_header(&r, "Content-Length")
					 ?: "0",
				 NULL, 10);
	count = (uint64_t)length;
	if (rng && copy_range(s, rng, length, &first, &count))
		goto out;
	for (i = 0; s3_drop_headers[i]; i++)
		drop[nd++] = s3_drop_headers[i];
	if (part || !replace)
		for (i = 0; i < sizeof(descriptive) / sizeof(descriptive[0]);
		     i++)
			drop[nd++] = descriptive[i];
	drop[nd] = NULL;
	if (!part && replace && s3_request_meta(s, &set, 1))
		goto out;
	chunk = malloc(COPY_CHUNK);
	if (!chunk) {
		s3_error(s->req, 500, "InternalError", NULL, s->resource);
		goto out;
	}
	o = proxy_object_put_open_quiet(s->req, s->app, dst, (int64_t)count,
					part || replace ? NULL : &r, 0, &set,
					drop, &st);
	if (!o) {
		s3_error_status(s, st, "NoSuchBucket");
		goto out;
	}
	/* a range: the bytes before it are read and let go */
	for (skip = first; count;) {
		size_t want = COPY_CHUNK;

		n = lo ? lo_reader_read(lo, chunk, want)
		       : cluster_get_read(g, chunk, want);
		if (n <= 0)
			break;
		if (skip >= (uint64_t)n) {
			skip -= (uint64_t)n;
			continue;
		}
		n -= (ssize_t)skip;
		if ((uint64_t)n > count)
			n = (ssize_t)count;
		if (proxy_object_put_write(o, chunk + skip, (size_t)n)) {
			s3_error(s->req, 503, "ServiceUnavailable", NULL,
				 s->resource);
			goto out;
		}
		skip = 0;
		count -= (uint64_t)n;
	}
	if (count) {
		log_err("txn=%s S3 copy from /%s/%s: the source failed mid-way",
			http_txn(s->req), src->container, src->object);
		s3_error(s->req, 503, "ServiceUnavailable", NULL, s->resource);
		goto out;
	}
	st = proxy_object_put_finish(o, put_etag);
	if (st / 100 != 2) {
		s3_error_status(s, st, NULL);
		goto out;
	}
	s3_iso8601(strtod(proxy_object_put_ts(o), NULL), date);
	rc = s3_xml_start(&b);
	rc = rc
		     ?: buf_printf(&b,
				   "<%s xmlns=\"http://s3.amazonaws.com/doc/"
				   "2006-03-01/\">",
				   part ? "CopyPartResult"
					: "CopyObjectResult");
	rc = rc ?: s3_xml_elem(&b, "LastModified", date);
	rc = rc ?: s3_xml_elemf(&b, "ETag", "\"%s\"", put_etag);
	rc = rc
		     ?: buf_printf(&b, "</%s>",
				   part ? "CopyPartResult"
					: "CopyObjectResult");
	s3_reply_built(s, rc, &b);
out:
	buf_free(&b);
	proxy_object_put_free(o);
	free(chunk);
	lo_reader_close(lo);
	cluster_get_close(g);
	cluster_resp_free(&r);
	cluster_hdrs_free(&set);
	free(src);
}

/* --- PutObject ---------------------------------------------------------- */

/* x-amz-acl: a canned ACL is accepted (s3api without s3_acl keeps the
 * bucket's ACL); another value → InvalidArgument. 0 or replied. */
static int canned_acl_ok(struct s3_req *s)
{
	static const char *const canned[] = {
		"private",	     "public-read",
		"public-read-write", "authenticated-read",
		"bucket-owner-read", "bucket-owner-full-control",
		"aws-exec-read",     "log-delivery-write"};
	const char *v = http_header(s->req, "x-amz-acl");
	size_t i;

	if (!v)
		return 0;
	for (i = 0; i < sizeof(canned) / sizeof(canned[0]); i++)
		if (!strcmp(v, canned[i]))
			return 0;
	s3_error(s->req, 400, "InvalidArgument", NULL, s->resource);
	return 400;
}

static void object_put(struct s3_req *s)
{
	struct cluster_hdrs set = {0};

	if (canned_acl_ok(s))
		return;
	if (http_header(s->req, "x-amz-copy-source")) {
		if (http_header(s->req, "x-amz-copy-source-range")) {
			s3_error(s->req, 400, "InvalidArgument",
				 "Illegal copy header", s->resource);
			return;
		}
		s3_copy_to(s, &s->p, 0);
		return;
	}
	if (!s3_request_meta(s, &set, 1))
		s3_upload_open(s, &s->p, &set);
	cluster_hdrs_free(&set);
}

const struct s3_handler s3_object_put = {object_put, s3_upload_body,
					 s3_upload_end, s3_upload_close};

/* --- object ACLs (s3api without s3_acl: the owner has FULL_CONTROL) ----- */

/* 0 when s's key exists, else replied (NoSuchKey, NoSuchBucket...). */
static int object_there(struct s3_req *s)
{
	struct cluster_resp r = {0};
	char etag[80];
	int64_t size, mtime;
	int st = s3_head_object(s, &s->p, &r, etag, &size, &mtime);

	cluster_resp_free(&r);
	if (st == 404)
		reply_missing(s);
	else if (st / 100 != 2)
		s3_error_status(s, st, NULL);
	return st / 100 == 2 ? 0 : st;
}

static void object_acl_get(struct s3_req *s)
{
	struct buf b = BUF_INIT;
	int rc;

	if (object_there(s))
		return;
	rc = s3_xml_start(&b);
	rc = rc
		     ?: buf_printf(&b, "<AccessControlPolicy xmlns=\"http://"
				       "s3.amazonaws.com/doc/2006-03-01/\">");
	rc = rc ?: s3_xml_owner(&b, s);
	rc = rc
		     ?: buf_printf(&b, "<AccessControlList><Grant><Grantee "
				       "xmlns:xsi=\"http://www.w3.org/2001/"
				       "XMLSchema-instance\" "
				       "xsi:type=\"CanonicalUser\">");
	rc = rc ?: s3_xml_elem(&b, "ID", s->access_key);
	rc = rc ?: s3_xml_elem(&b, "DisplayName", s->access_key);
	rc = rc
		     ?: buf_printf(&b,
				   "</Grantee><Permission>FULL_CONTROL"
				   "</Permission></Grant></AccessControlList>"
				   "</AccessControlPolicy>");
	s3_reply_built(s, rc, &b);
	buf_free(&b);
}

static void object_acl_put_end(struct s3_req *s)
{
	if (canned_acl_ok(s) || object_there(s))
		return;
	http_add_header(s->req, "x-amz-request-id", http_txn(s->req));
	http_reply(s->req, 200, "", 0);
}

static void object_acl_put(struct s3_req *s)
{
	(void)s; /* the body (an ACL document, if any) is read first */
}

const struct s3_handler s3_object_acl_get = {object_acl_get, NULL, NULL, NULL};
const struct s3_handler s3_object_acl_put = {object_acl_put, NULL,
					     object_acl_put_end, NULL};
