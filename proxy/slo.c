/*
 * proxy/slo.c: static large objects (swift/common/middleware/slo.py of
 * Swift 2.30) and the large-object hook every object request passes
 * (lo_object), which also hands X-Object-Manifest objects to dlo.c.
 *
 *   PUT ?multipart-manifest=put   the body (JSON, at most 8 MiB) is a list
 *       of segments {path, etag, size_bytes, range} or {data}; each path
 *       is HEADed as the requester, checked (Swift's per-segment reasons,
 *       400), and the manifest is stored rewritten as Swift stores it
 *       ({name, bytes, hash, content_type, last_modified[, range]
 *       [, sub_slo]}) with X-Static-Large-Object: True, the SLO's ETag
 *       and size as sysmeta and Content-Type ";swift_bytes=<size>". The
 *       answer's ETag is the SLO's: the MD5 of the segments' ETags (a
 *       ranged one as "<etag>:<range>;", a data one the MD5 of its data).
 *       slo_store is that second half, for callers that already hold a
 *       parsed list (S3's CompleteMultipartUpload, later).
 *   GET/HEAD   the segments in order (segment.c), nested manifests walked
 *       lazily up to 10 deep; ?multipart-manifest=get gives the stored
 *       manifest (&format=raw: the put form).
 *   DELETE ?multipart-manifest=delete   every segment (nested ones too),
 *       then the manifest, answered with bulk delete's summary.
 *
 * Requests are made as the requester: each segment or sub-manifest is
 * authorized as tempauth would authorize the user's own GET, HEAD or
 * DELETE of it (lo_allowed), as Swift's subrequests are.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/md5.h"
#include "common/pyjson.h"
#include "common/timestamp.h"
#include "proxy/internal.h"

#define SYSMETA_SLO_ETAG "X-Object-Sysmeta-Slo-Etag"
#define SYSMETA_SLO_SIZE "X-Object-Sysmeta-Slo-Size"
/* a stored manifest is read up to this (Swift reads it whole) */
#define SLO_READ_MAX (2 * SLO_MAX_MANIFEST_SIZE)

static int truthy(const char *v)
{
	return v && (!strcasecmp(v, "true") || !strcmp(v, "1") ||
		     !strcasecmp(v, "yes") || !strcasecmp(v, "on") ||
		     !strcasecmp(v, "t") || !strcasecmp(v, "y"));
}

static int is_slo(const struct cluster_resp *r)
{
	return truthy(cluster_resp_header(r, "X-Static-Large-Object"));
}

/* Read the rest of g into out (at most max bytes). 0, -EIO, -EFBIG. */
static int read_all(struct cluster_get *g, struct buf *out, size_t max)
{
	char chunk[65536];
	ssize_t n;

	while ((n = cluster_get_read(g, chunk, sizeof(chunk))) > 0) {
		if (out->len + (size_t)n > max)
			return -EFBIG;
		if (buf_append(out, chunk, (size_t)n))
			return -ENOMEM;
	}
	return n < 0 ? -EIO : 0;
}

/* Split "/container/object" (a leading '/' optional) into its parts,
 * newly allocated. 0 or -EINVAL/-ENOMEM. */
static int split_seg_path(const char *path, char **c, char **o)
{
	const char *s = path + (*path == '/'), *slash = strchr(s, '/');

	*c = *o = NULL;
	if (!slash || slash == s || !slash[1])
		return -EINVAL;
	*c = strndup(s, (size_t)(slash - s));
	*o = strdup(slash + 1);
	if (!*c || !*o) {
		free(*c);
		free(*o);
		*c = *o = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Strict base64 (Swift's strict_b64decode): the decoded bytes, newly
 * allocated, or NULL (bad input, errno EINVAL). */
static unsigned char *b64_decode(const char *in, size_t *outlen)
{
	size_t n = strlen(in), pad = 0, i;
	unsigned char *out;
	int got;

	if (n % 4) {
		errno = EINVAL;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		char ch = in[i];

		if (ch == '=' && i >= n - 2) {
			pad++;
			continue;
		}
		if (pad ||
		    !((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '+' || ch == '/')) {
			errno = EINVAL;
			return NULL;
		}
	}
	out = malloc(n / 4 * 3 + 1);
	if (!out)
		return NULL;
	got = n ? EVP_DecodeBlock(out, (const unsigned char *)in, (int)n) : 0;
	if (got < 0) {
		free(out);
		errno = EINVAL;
		return NULL;
	}
	*outlen = (size_t)got - pad;
	return out;
}

/* --- the walk over a manifest's pieces (lazy, nested) ------------------- */

struct slo_frame {
	json_t *segs;
	size_t i;
	int64_t first, last; /* window, relative to this manifest */
};

struct slo_walk {
	struct http_request *req;
	struct proxy_app *app;
	struct proxy_path who;
	json_t *root;
	struct slo_frame stack[SLO_MAX_RECURSION_DEPTH];
	int depth;
	char ctype[256];
};

/* The bytes a segment entry stands for (Swift's _segment_length, with
 * override_bytes_from_content_type for sub-manifests). -1 if invalid. */
static int64_t seg_length(json_t *seg)
{
	json_t *data = json_object_get(seg, "data");
	const char *range = json_string_value(json_object_get(seg, "range"));
	const char *ct;
	const char *sb;
	long long a, b;

	if (data) {
		size_t n = 0;
		unsigned char *raw = b64_decode(
			json_string_value(data) ? json_string_value(data) : "",
			&n);

		free(raw);
		return raw ? (int64_t)n : -1;
	}
	if (range && sscanf(range, "%lld-%lld", &a, &b) == 2)
		return b - a + 1;
	ct = json_string_value(json_object_get(seg, "content_type"));
	if (json_is_true(json_object_get(seg, "sub_slo")) && ct &&
	    (sb = strstr(ct, "swift_bytes=")))
		return strtoll(sb + 12, NULL, 10);
	return json_integer_value(json_object_get(seg, "bytes"));
}

static int walk_start(void *ctx, uint64_t first, uint64_t last)
{
	struct slo_walk *w = ctx;

	while (w->depth > 1)
		json_decref(w->stack[--w->depth].segs);
	w->depth = 1;
	w->stack[0].segs = w->root;
	w->stack[0].i = 0;
	w->stack[0].first = (int64_t)first;
	w->stack[0].last = (int64_t)last;
	return 0;
}

/* GET the manifest /c/o as the requester and parse it. NULL on failure
 * (logged). */
static json_t *fetch_manifest(struct http_request *req, struct proxy_app *app,
			      const struct proxy_path *who, const char *c,
			      const char *o, int *status)
{
	struct cluster_resp r = {0};
	struct cluster_get *g = NULL;
	struct buf body = {0};
	json_t *j = NULL;

	*status = lo_allowed(req, app, who, "GET", c, o);
	if (*status) {
		log_err("%s: manifest /%s/%s not allowed (%d)",
			http_raw_path(req), c, o, *status);
		return NULL;
	}
	if (lo_segment_open(req, app, "GET", who->account, c, o, NULL, NULL, &r,
			    &g)) {
		*status = 503;
		goto out;
	}
	*status = r.status;
	if (!g || r.status != 200) {
		log_err("%s: GET of submanifest /%s/%s failed with status %d",
			http_raw_path(req), c, o, r.status);
		goto out;
	}
	if (!is_slo(&r)) {
		*status = 400;
		goto out;
	}
	if (read_all(g, &body, SLO_READ_MAX)) {
		*status = 503;
		goto out;
	}
	j = json_loadb((const char *)body.data, body.len, 0, NULL);
	if (!json_is_array(j)) {
		log_err("%s: submanifest /%s/%s is not a JSON list",
			http_raw_path(req), c, o);
		json_decref(j);
		j = NULL;
		*status = 500;
	}
out:
	buf_free(&body);
	cluster_get_close(g);
	cluster_resp_free(&r);
	return j;
}

static int walk_next(void *ctx, struct lo_piece *pc)
{
	struct slo_walk *w = ctx;

	memset(pc, 0, sizeof(*pc));
	while (w->depth > 0) {
		struct slo_frame *f = &w->stack[w->depth - 1];
		json_t *seg = json_array_get(f->segs, f->i);
		const char *name, *range, *hash;
		int64_t len, first, last;
		long long rs = 0, re = 0;
		char *c = NULL, *o = NULL;

		if (!seg) {
			if (w->depth > 1)
				json_decref(f->segs);
			w->depth--;
			continue;
		}
		len = seg_length(seg);
		if (len < 0) {
			log_err("%s: bad segment entry %zu",
				http_raw_path(w->req), f->i);
			return -EINVAL;
		}
		if (f->first >= len) {
			f->first -= len;
			f->last -= len;
			f->i++;
			continue;
		}
		if (f->last < 0) {
			if (w->depth > 1)
				json_decref(f->segs);
			w->depth--;
			continue;
		}
		first = f->first;
		last = f->last;
		f->first -= len;
		f->last -= len;
		f->i++;
		if (json_object_get(seg, "data")) {
			size_t n;

			pc->data = (char *)b64_decode(
				json_string_value(json_object_get(seg, "data")),
				&n);
			if (!pc->data)
				return -ENOMEM;
			pc->size = (int64_t)n;
			pc->first = (uint64_t)(first > 0 ? first : 0);
			pc->last = (uint64_t)(last < len - 1 ? last : len - 1);
			return 1;
		}
		name = json_string_value(json_object_get(seg, "name"));
		range = json_string_value(json_object_get(seg, "range"));
		hash = json_string_value(json_object_get(seg, "hash"));
		if (range) {
			if (sscanf(range, "%lld-%lld", &rs, &re) != 2)
				return -EINVAL;
		} else {
			re = len - 1;
		}
		if (!name || split_seg_path(name, &c, &o)) {
			log_err("%s: bad segment name", http_raw_path(w->req));
			return -EINVAL;
		}
		if (json_is_true(json_object_get(seg, "sub_slo"))) {
			json_t *sub;
			int status;

			if (w->depth >= SLO_MAX_RECURSION_DEPTH) {
				log_err("While processing manifest %s, max "
					"recursion depth was exceeded",
					http_raw_path(w->req));
				free(c);
				free(o);
				return -ELOOP;
			}
			sub = fetch_manifest(w->req, w->app, &w->who, c, o,
					     &status);
			free(c);
			free(o);
			if (!sub)
				return -EIO;
			f = &w->stack[w->depth++];
			f->segs = sub;
			f->i = 0;
			f->first = rs + (first > 0 ? first : 0);
			f->last = re < rs + last ? re : rs + last;
			continue;
		}
		pc->container = c;
		pc->object = o;
		snprintf(pc->etag, sizeof(pc->etag), "%s", hash ? hash : "");
		pc->size = json_integer_value(json_object_get(seg, "bytes"));
		pc->first = (uint64_t)((first > 0 ? first : 0) + rs);
		pc->last = (uint64_t)(re < rs + last ? re : rs + last);
		return 1;
	}
	return 0;
}

static void walk_free(void *ctx)
{
	struct slo_walk *w = ctx;

	while (w->depth > 1)
		json_decref(w->stack[--w->depth].segs);
	json_decref(w->root);
	free(w);
}

/* Swift's computed SLO ETag and size of a stored manifest. */
static int manifest_totals(json_t *segs, char etag[33], int64_t *size);

int slo_manifest_totals(const char *json, size_t len, char etag[33],
			int64_t *size)
{
	json_t *segs = json_loadb(json, len, 0, NULL);
	int rc = json_is_array(segs) ? manifest_totals(segs, etag, size)
				     : -EINVAL;

	json_decref(segs);
	return rc;
}

static int manifest_totals(json_t *segs, char etag[33], int64_t *size)
{
	struct buf cat = {0};
	uint8_t d[MD5_LEN];
	size_t i;
	json_t *seg;
	int rc = 0;

	*size = 0;
	json_array_foreach(segs, i, seg)
	{
		json_t *data = json_object_get(seg, "data");
		const char *range =
			json_string_value(json_object_get(seg, "range"));
		const char *hash =
			json_string_value(json_object_get(seg, "hash"));
		int64_t len = seg_length(seg);

		if (len < 0) {
			rc = -EINVAL;
			break;
		}
		*size += len;
		if (data) {
			size_t n;
			unsigned char *raw =
				b64_decode(json_string_value(data), &n);
			char hex[33];

			if (!raw) {
				rc = -EINVAL;
				break;
			}
			md5_buf(raw, n, d);
			free(raw);
			md5_hex(d, hex);
			rc = buf_append(&cat, hex, 32);
		} else if (range && *range) {
			rc = buf_printf(&cat, "%s:%s;", hash ? hash : "",
					range);
		} else {
			rc = buf_printf(&cat, "%s", hash ? hash : "");
		}
		if (rc)
			break;
	}
	if (!rc) {
		md5_buf(cat.data ? cat.data : (const uint8_t *)"", cat.len, d);
		md5_hex(d, etag);
	}
	buf_free(&cat);
	return rc;
}

/* The Content-Type without ";swift_bytes=N" (the proxy's
 * clean_content_type), into out. */
static void clean_ctype(const char *ct, char *out, size_t len)
{
	const char *sb;

	snprintf(out, len, "%s", ct ? ct : "application/octet-stream");
	sb = strstr(out, ";swift_bytes=");
	if (sb)
		out[sb - out] = '\0';
}

/* GET ?multipart-manifest=get&format=raw: the put form (sorted keys). */
static void reply_raw_manifest(struct http_request *req,
			       const struct proxy_path *p,
			       struct cluster_resp *r, struct cluster_get *g)
{
	struct buf body = {0};
	json_t *segs = NULL, *seg;
	char *out = NULL, hex[33];
	uint8_t d[MD5_LEN];
	size_t i;

	if (read_all(g, &body, SLO_READ_MAX)) {
		proxy_reply_status(req, 503);
		goto out;
	}
	segs = json_loadb((const char *)body.data, body.len, 0, NULL);
	if (!json_is_array(segs)) {
		json_decref(segs);
		segs = json_array();
	}
	json_array_foreach(segs, i, seg)
	{
		if (json_object_get(seg, "data"))
			continue;
		json_object_del(seg, "content_type");
		json_object_del(seg, "last_modified");
		json_object_del(seg, "sub_slo");
		json_object_set(seg, "path", json_object_get(seg, "name"));
		json_object_set(seg, "size_bytes",
				json_object_get(seg, "bytes"));
		json_object_set(seg, "etag", json_object_get(seg, "hash"));
		json_object_del(seg, "name");
		json_object_del(seg, "bytes");
		json_object_del(seg, "hash");
	}
	/* Python's json.dumps(sort_keys=True): ", " and ": " */
	out = json_dumps(segs,
			 JSON_SORT_KEYS | JSON_ENSURE_ASCII | JSON_INDENT(0));
	if (!out) {
		proxy_reply_status(req, 500);
		goto out;
	}
	{
		/* JSON_INDENT(0) puts newlines between items: join them */
		char *s = out, *t = out;

		for (; *s; s++)
			if (*s != '\n')
				*t++ = *s;
		*t = '\0';
	}
	lo_resp_del(r, "Etag");
	lo_resp_del(r, "Content-Length");
	proxy_relay_headers(req, r, p);
	md5_buf(out, strlen(out), d);
	md5_hex(d, hex);
	http_add_header(req, "Etag", hex);
	http_reply(req, r->status, out, strlen(out));
out:
	free(out);
	json_decref(segs);
	buf_free(&body);
}

/* Reply to a GET/HEAD of the SLO whose manifest answered r (200, body in
 * g; for HEAD g may be NULL when sysmeta gives ETag and size). */
static void slo_get(struct http_request *req, struct proxy_app *app,
		    const struct proxy_path *p, struct cluster_resp *r,
		    struct cluster_get *g)
{
	const char *setag = cluster_resp_header(r, SYSMETA_SLO_ETAG);
	const char *ssize = cluster_resp_header(r, SYSMETA_SLO_SIZE);
	const char *lm = cluster_resp_header(r, "Last-Modified");
	const char *metag = cluster_resp_header(r, "Etag");
	struct lo_source src = {walk_start, walk_next, walk_free, NULL};
	struct slo_walk *w = NULL;
	struct buf body = {0};
	json_t *segs = NULL;
	char etag[33], manifest_etag[80];
	int64_t size = 0, mtime = -1;

	snprintf(manifest_etag, sizeof(manifest_etag), "%s",
		 metag ? metag : "");
	if (g) {
		if (read_all(g, &body, SLO_READ_MAX)) {
			proxy_reply_status(req, 503);
			goto out;
		}
		segs = json_loadb((const char *)body.data, body.len, 0, NULL);
		if (!json_is_array(segs)) {
			log_err("GET %s: the manifest is not a JSON list",
				http_raw_path(req));
			proxy_reply_status(req, 500);
			goto out;
		}
	}
	if (setag && ssize) {
		snprintf(etag, sizeof(etag), "%s", setag);
		size = strtoll(ssize, NULL, 10);
	} else if (!segs || manifest_totals(segs, etag, &size)) {
		proxy_reply_status(req, 500);
		goto out;
	}
	if (lm)
		ts_parse_http_date(lm, &mtime);
	lo_resp_del(r, "Etag");
	lo_resp_del(r, "Content-Length");
	lo_resp_del(r, "Content-Range");
	w = calloc(1, sizeof(*w));
	if (!w) {
		proxy_reply_status(req, 500);
		goto out;
	}
	clean_ctype(cluster_resp_header(r, "Content-Type"), w->ctype,
		    sizeof(w->ctype));
	lo_resp_del(r, "Content-Type");
	proxy_relay_headers(req, r, p);
	http_add_header(req, "X-Manifest-Etag", manifest_etag);
	if (lo_conditional(req, p, etag, mtime,
			   cluster_resp_header(r, "Content-Disposition")))
		goto out;
	w->req = req;
	w->app = app;
	lo_path_copy(&w->who, p);
	w->root = segs ? segs : json_array();
	segs = NULL;
	src.ctx = w;
	lo_reply(req, app, p, (uint64_t)size, w->ctype, &src);
	w = NULL;
out:
	if (w)
		free(w);
	json_decref(segs);
	buf_free(&body);
}

/* The backend headers of a GET of p: the client's, minus Range and the
 * conditionals when plain is set (to read a manifest whole). */
static int get_headers(struct http_request *req, struct cluster_hdrs *h,
		       int plain)
{
	static const char *const cond[] = {"Range", "If-Match", "If-None-Match",
					   "If-Modified-Since",
					   "If-Unmodified-Since"};
	size_t i;
	int rc = proxy_client_headers(req, h);

	for (i = 0; plain && i < sizeof(cond) / sizeof(cond[0]); i++)
		proxy_hdrs_del(h, cond[i]);
	return rc;
}

static int lo_open(struct http_request *req, struct proxy_app *app,
		   const struct proxy_path *p, const char *method, int plain,
		   struct cluster_resp *r, struct cluster_get **g)
{
	const char *newest = http_header(req, "X-Newest");
	struct cluster_nodes nodes;
	struct cluster_hdrs h = {0};
	int rc;

	*g = NULL;
	memset(r, 0, sizeof(*r));
	if (proxy_object_lookup(req, app, p->account, p->container, p->object,
				&nodes))
		return -EIO;
	rc = get_headers(req, &h, plain);
	if (!rc)
		rc = cluster_get_open(app->cluster, &nodes, method, p->account,
				      p->container, p->object, NULL, &h,
				      truthy(newest), http_txn(req), r, g);
	cluster_hdrs_free(&h);
	cluster_nodes_release(&nodes);
	return rc;
}

/* GET/HEAD of any object: large ones assembled, others relayed. */
static void lo_get(struct http_request *req, struct proxy_app *app,
		   struct proxy_path *p)
{
	const char *mm = http_query(req, "multipart-manifest");
	const char *method = http_method(req);
	int manifest_get = mm && !strcmp(mm, "get");
	struct cluster_resp r = {0};
	struct cluster_get *g = NULL;
	const char *dlo;
	char *dlo_copy = NULL;

	if (lo_open(req, app, p, method, 0, &r, &g)) {
		proxy_reply_status(req, 503);
		goto out;
	}
	if (is_slo(&r) && manifest_get) {
		if (g && http_query(req, "format") &&
		    !strcmp(http_query(req, "format"), "raw") &&
		    r.status == 200) {
			reply_raw_manifest(req, p, &r, g);
			goto out;
		}
		lo_resp_del(&r, "Content-Type");
		if (!cluster_resp_header(&r, "Content-Type"))
			cluster_resp_add(&r, "Content-Type",
					 "application/json; charset=utf-8");
		proxy_get_reply(req, p, &r, g);
		g = NULL;
		goto out;
	}
	if (is_slo(&r)) {
		int head_ok = !strcmp(method, "HEAD") && r.status / 100 == 2 &&
			      cluster_resp_header(&r, SYSMETA_SLO_ETAG) &&
			      cluster_resp_header(&r, SYSMETA_SLO_SIZE);

		if (!head_ok &&
		    (r.status != 200 || !g || strcmp(method, "GET"))) {
			/* a part of the manifest, a conditional answer, or
			 * a HEAD without the sysmeta: read it whole */
			cluster_get_close(g);
			cluster_resp_free(&r);
			if (lo_open(req, app, p, "GET", 1, &r, &g)) {
				proxy_reply_status(req, 503);
				goto out;
			}
			if (!is_slo(&r) || r.status != 200 || !g) {
				proxy_get_reply(req, p, &r, g);
				g = NULL;
				goto out;
			}
		}
		if (head_ok) {
			cluster_get_close(g);
			g = NULL;
		}
		slo_get(req, app, p, &r, g);
		goto out;
	}
	dlo = cluster_resp_header(&r, "X-Object-Manifest");
	if (dlo && !manifest_get) {
		dlo_copy = strdup(dlo);
		cluster_get_close(g);
		g = NULL;
		if (!dlo_copy) {
			proxy_reply_status(req, 500);
			goto out;
		}
		if (r.status / 100 != 2) {
			/* a conditional or Range answer of the manifest
			 * object: ask again for its headers only */
			cluster_resp_free(&r);
			if (lo_open(req, app, p, "HEAD", 1, &r, &g)) {
				proxy_reply_status(req, 503);
				goto out;
			}
			cluster_get_close(g);
			g = NULL;
		}
		dlo_get(req, app, p, &r, dlo_copy);
		goto out;
	}
	proxy_get_reply(req, p, &r, g);
	g = NULL;
out:
	free(dlo_copy);
	cluster_get_close(g);
	cluster_resp_free(&r);
}

/* A plain copy's headers: what made the source large goes (Swift's
 * copy reads the source through the slo and dlo middlewares). */
static void plain_copy_headers(struct cluster_resp *r)
{
	static const char *const drop[] = {
		"Etag",		  "X-Static-Large-Object", SYSMETA_SLO_ETAG,
		SYSMETA_SLO_SIZE, "X-Object-Manifest",	   "Content-Length",
		"X-Manifest-Etag"};
	size_t i;
	int k;

	for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		lo_resp_del(r, drop[i]);
	for (k = 0; k < r->nhdrs; k++) {
		char *sb;

		if (strcasecmp(r->hdr_names[k], "Content-Type"))
			continue;
		sb = strstr(r->hdr_values[k], ";swift_bytes=");
		if (sb)
			*sb = '\0';
	}
}

int slo_source(struct http_request *req, struct proxy_app *app,
	       const struct proxy_path *who, struct cluster_get *g,
	       struct lo_source *src, int64_t *size)
{
	struct lo_source ls = {walk_start, walk_next, walk_free, NULL, 0};
	struct slo_walk *w = NULL;
	struct buf body = {0};
	json_t *segs = NULL;
	char etag[33];
	int rc = -EIO;

	if (read_all(g, &body, SLO_READ_MAX))
		goto out;
	segs = json_loadb((const char *)body.data, body.len, 0, NULL);
	if (!json_is_array(segs) || manifest_totals(segs, etag, size))
		goto out;
	rc = -ENOMEM;
	w = calloc(1, sizeof(*w));
	if (!w)
		goto out;
	w->req = req;
	w->app = app;
	lo_path_copy(&w->who, who);
	w->root = segs;
	segs = NULL;
	ls.ctx = w;
	*src = ls;
	rc = 0;
out:
	json_decref(segs);
	buf_free(&body);
	return rc;
}

int lo_copy_source(struct http_request *req, struct proxy_app *app,
		   const struct proxy_path *src, struct cluster_resp *r,
		   struct cluster_get **g, struct lo_reader **out,
		   int64_t *size)
{
	const char *mm = http_query(req, "multipart-manifest");
	const char *dlo = cluster_resp_header(r, "X-Object-Manifest");
	struct lo_source ls = {walk_start, walk_next, walk_free, NULL, 0};
	char *manifest = NULL;
	int status;

	*out = NULL;
	if ((mm && !strcmp(mm, "get")) || r->status != 200 ||
	    (!is_slo(r) && !dlo))
		return 0;
	if (dlo) {
		manifest = strdup(dlo);
		if (!manifest)
			return 500;
		status = dlo_source(req, app, src, manifest, &ls, size);
		free(manifest);
		if (status)
			return status;
	} else if (slo_source(req, app, src, *g, &ls, size)) {
		return 500;
	}
	cluster_get_close(*g);
	*g = NULL;
	plain_copy_headers(r);
	*out = lo_reader_open(req, app, src, (uint64_t)*size, &ls);
	return *out ? 0 : errno == EIO ? 409 : 500;
}

/* --- PUT ?multipart-manifest=put ----------------------------------------- */

struct slo_put {
	struct proxy_app *app;
	struct proxy_path *p;
	struct buf body;
	int too_big;
};

int slo_put_request(struct http_request *req)
{
	const char *mm = http_query(req, "multipart-manifest");

	return !strcmp(http_method(req), "PUT") && mm && !strcmp(mm, "put");
}

void slo_put_body(struct http_request *req, const char *data, size_t len)
{
	struct slo_put *sp = http_state(req);

	if (sp->too_big)
		return;
	if (sp->body.len + len > SLO_MAX_MANIFEST_SIZE ||
	    buf_append(&sp->body, data, len))
		sp->too_big = 1;
}

void slo_put_close(struct http_request *req, int completed)
{
	struct slo_put *sp = http_state(req);

	(void)completed;
	buf_free(&sp->body);
	proxy_path_free(sp->p);
	free(sp);
	http_set_state(req, NULL);
}

enum out_format { OUT_TEXT, OUT_JSON, OUT_XML };

/* Swift's req.accept.best_match(ACCEPTABLE_FORMATS), roughly: the first
 * of json or xml the client names, else text. */
static enum out_format out_format(struct http_request *req)
{
	const char *a = http_header(req, "Accept");
	const char *j = a ? strstr(a, "application/json") : NULL;
	const char *x = a ? strstr(a, "/xml") : NULL;

	if (j && (!x || j < x))
		return OUT_JSON;
	if (x)
		return OUT_XML;
	return OUT_TEXT;
}

static const char *format_ctype(enum out_format f)
{
	return f == OUT_JSON  ? "application/json; charset=utf-8"
	       : f == OUT_XML ? "application/xml; charset=utf-8"
			      : "text/plain; charset=utf-8";
}

/* Escape for XML as saxutils.escape. */
static int xml_escape(struct buf *b, const char *s)
{
	int rc = 0;

	for (; *s && !rc; s++) {
		if (*s == '&')
			rc = buf_printf(b, "&amp;");
		else if (*s == '<')
			rc = buf_printf(b, "&lt;");
		else if (*s == '>')
			rc = buf_printf(b, "&gt;");
		else
			rc = buf_append(b, s, 1);
	}
	return rc;
}

/* One [name, status] pair of a bulk body. */
struct problem {
	char *name;
	char *status;
};

/*
 * bulk.py's get_response_body: keys[i]/vals[i] (sorted by the caller for
 * text and xml, in Swift's insertion order for json; a value starting with
 * '#' is a number), then the errors.
 */
static int bulk_body(struct buf *b, enum out_format f, const char *const *keys,
		     const char *const *vals, int nkeys,
		     const struct problem *errs, int nerrs, const char *root)
{
	int i, rc = 0;

	if (f == OUT_JSON) {
		rc = buf_printf(b, "{");
		for (i = 0; i < nkeys && !rc; i++) {
			rc = pyjson_string(b, keys[i]);
			if (!rc && vals[i][0] == '#')
				rc = buf_printf(b, ": %s, ", vals[i] + 1);
			else if (!rc) {
				rc = buf_printf(b, ": ");
				if (!rc)
					rc = pyjson_string(b, vals[i]);
				if (!rc)
					rc = buf_printf(b, ", ");
			}
		}
		if (!rc)
			rc = buf_printf(b, "\"Errors\": [");
		for (i = 0; i < nerrs && !rc; i++) {
			rc = buf_printf(b, "%s[", i ? ", " : "");
			if (!rc)
				rc = pyjson_string(b, errs[i].name);
			if (!rc)
				rc = buf_printf(b, ", ");
			if (!rc)
				rc = pyjson_string(b, errs[i].status);
			if (!rc)
				rc = buf_printf(b, "]");
		}
		return rc ? rc : buf_printf(b, "]}");
	}
	if (f == OUT_XML) {
		rc = buf_printf(b, "<%s>\n", root);
		for (i = 0; i < nkeys && !rc; i++) {
			char tag[64];
			size_t k;

			snprintf(tag, sizeof(tag), "%s", keys[i]);
			for (k = 0; tag[k]; k++)
				tag[k] =
					tag[k] == ' '
						? '_'
						: (char)tolower((
							  unsigned char)tag[k]);
			rc = buf_printf(b, "<%s>", tag);
			if (!rc)
				rc = xml_escape(b,
						vals[i] + (vals[i][0] == '#'));
			if (!rc)
				rc = buf_printf(b, "</%s>\n", tag);
		}
		if (!rc)
			rc = buf_printf(b, "<errors>\n");
		for (i = 0; i < nerrs && !rc; i++) {
			rc = buf_printf(b, "<object><name>");
			if (!rc)
				rc = xml_escape(b, errs[i].name);
			if (!rc)
				rc = buf_printf(b, "</name><status>");
			if (!rc)
				rc = xml_escape(b, errs[i].status);
			if (!rc)
				rc = buf_printf(b, "</status></object>\n");
		}
		return rc ? rc : buf_printf(b, "</errors>\n</%s>\n", root);
	}
	for (i = 0; i < nkeys && !rc; i++)
		rc = buf_printf(b, "%s: %s\n", keys[i],
				vals[i] + (vals[i][0] == '#'));
	if (!rc)
		rc = buf_printf(b, "Errors:\n");
	for (i = 0; i < nerrs && !rc; i++)
		rc = buf_printf(b, "%s, %s\n", errs[i].name, errs[i].status);
	return rc;
}

static void problems_free(struct problem *errs, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		free(errs[i].name);
		free(errs[i].status);
	}
	free(errs);
}

/* Add [quote(name), status] to *errs. 0 or -ENOMEM. */
static int problem_add(struct problem **errs, int *n, const char *name,
		       const char *status)
{
	struct problem *e = realloc(*errs, sizeof(**errs) * (size_t)(*n + 1));
	char q[3 * 2048];

	if (!e)
		return -ENOMEM;
	*errs = e;
	if (cluster_quote(name, q, sizeof(q)) < 0)
		snprintf(q, sizeof(q), "%s", name);
	e[*n].name = strdup(q);
	e[*n].status = strdup(status);
	if (!e[*n].name || !e[*n].status) {
		free(e[*n].name);
		free(e[*n].status);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

/* "404 Not Found", as swob's status line. */
static void status_line(int status, char *out, size_t len)
{
	static const struct {
		int code;
		const char *text;
	} names[] = {{200, "OK"},
		     {400, "Bad Request"},
		     {401, "Unauthorized"},
		     {403, "Forbidden"},
		     {404, "Not Found"},
		     {409, "Conflict"},
		     {412, "Precondition Failed"},
		     {500, "Internal Error"},
		     {502, "Bad Gateway"},
		     {503, "Service Unavailable"}};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].code == status) {
			snprintf(out, len, "%d %s", status, names[i].text);
			return;
		}
	snprintf(out, len, "%d", status);
}

/* A message line of parse_and_validate_input. */
static int add_line(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int add_line(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char line[512];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return buf_printf(b, "%s\n", line);
}

/*
 * Parse a Range value for one segment as swob's Range('bytes=' + v):
 * "M-N", "M-", "-N". 0 with *a and *b (-1 when absent), -EINVAL for a bad
 * one, -E2BIG for several.
 */
static int seg_range_parse(const char *v, long long *a, long long *b)
{
	const char *dash;
	char *end;

	if (strchr(v, ','))
		return -E2BIG;
	dash = strchr(v, '-');
	if (!dash || dash != strrchr(v, '-'))
		return -EINVAL;
	*a = *b = -1;
	if (dash > v) {
		*a = strtoll(v, &end, 10);
		if (end != dash || *v < '0' || *v > '9')
			return -EINVAL;
	}
	if (dash[1]) {
		*b = strtoll(dash + 1, &end, 10);
		if (*end || dash[1] < '0' || dash[1] > '9')
			return -EINVAL;
	}
	if (*a < 0 && *b < 0)
		return -EINVAL;
	if (*a >= 0 && *b >= 0 && *b < *a)
		return -EINVAL;
	return 0;
}

/* ranges_for_length of one range on len: 1 with [*s, *e) or 0. */
static int seg_range_apply(long long a, long long b, long long len,
			   long long *s, long long *e)
{
	if (len <= 0)
		return 0;
	if (a < 0) { /* suffix */
		if (b == 0)
			return 0;
		*s = b >= len ? 0 : len - b;
		*e = len;
		return 1;
	}
	if (a >= len)
		return 0;
	*s = a;
	*e = (b < 0 || b >= len) ? len : b + 1;
	return 1;
}

/* Turn the put body into segs (Swift's parse_and_validate_input). 0, or
 * 400 with the message lines in msg. */
int slo_parse_put(const char *body, size_t len, const struct proxy_path *p,
		  struct slo_seg_in **out, int *nout, struct buf *msg)
{
	json_t *j = json_loadb(body, len, JSON_DECODE_ANY, NULL), *seg;
	struct slo_seg_in *segs = NULL;
	size_t i, n;
	int all_data = 1, rc = 0;

	*out = NULL;
	*nout = 0;
	if (!j) {
		buf_printf(msg, "Manifest must be valid JSON.\n");
		return 400;
	}
	if (!json_is_array(j)) {
		buf_printf(msg, "Manifest must be a list.\n");
		json_decref(j);
		return 400;
	}
	n = json_array_size(j);
	segs = calloc(n ? n : 1, sizeof(*segs));
	if (!segs) {
		json_decref(j);
		return 500;
	}
	json_array_foreach(j, i, seg)
	{
		struct slo_seg_in *s = &segs[i];
		const char *key;
		json_t *v;
		int bad = 0, is_data;

		s->size_bytes = -1;
		if (!json_is_object(seg)) {
			add_line(msg, "Index %zu: not a JSON object", i);
			continue;
		}
		is_data = json_object_get(seg, "data") != NULL;
		if (!is_data && !json_object_get(seg, "path")) {
			add_line(msg,
				 "Index %zu: expected keys to include one of "
				 "'data' or 'path'",
				 i);
			continue;
		}
		{
			/* extraneous keys, sorted, json-quoted */
			const char *extra[16];
			int ne = 0, a, b;

			json_object_foreach(seg, key, v)
			{
				if (is_data ? strcmp(key, "data")
					    : (strcmp(key, "path") &&
					       strcmp(key, "etag") &&
					       strcmp(key, "size_bytes") &&
					       strcmp(key, "range")))
					if (ne < 16)
						extra[ne++] = key;
			}
			for (a = 0; a < ne; a++)
				for (b = a + 1; b < ne; b++)
					if (strcmp(extra[b], extra[a]) < 0) {
						const char *t = extra[a];

						extra[a] = extra[b];
						extra[b] = t;
					}
			if (ne) {
				buf_printf(msg, "Index %zu: extraneous keys ",
					   i);
				for (a = 0; a < ne; a++) {
					if (a)
						buf_printf(msg, ", ");
					pyjson_string(msg, extra[a]);
				}
				buf_printf(msg, "\n");
				continue;
			}
		}
		if (is_data) {
			const char *d =
				json_string_value(json_object_get(seg, "data"));
			size_t dl = 0;
			unsigned char *raw = d ? b64_decode(d, &dl) : NULL;

			if (!raw) {
				add_line(msg,
					 "Index %zu: data must be valid base64",
					 i);
				continue;
			}
			free(raw);
			if (dl < 1) {
				add_line(msg,
					 "Index %zu: too small; each segment "
					 "must be at least 1 byte.",
					 i);
				continue;
			}
			s->data = strdup(d);
			continue;
		}
		all_data = 0;
		v = json_object_get(seg, "path");
		if (!json_is_string(v)) {
			add_line(msg, "Index %zu: \"path\" must be a string",
				 i);
			continue;
		}
		s->path = strdup(json_string_value(v));
		v = json_object_get(seg, "etag");
		if (v && !json_is_null(v) && !json_is_string(v)) {
			add_line(msg,
				 "Index %zu: \"etag\" must be a string or "
				 "null (if provided)",
				 i);
			continue;
		}
		if (json_is_string(v))
			s->etag = strdup(json_string_value(v));
		{
			const char *pp = s->path ? s->path : "";
			size_t pl;

			while (*pp == '/')
				pp++;
			pl = strlen(pp);
			while (pl && pp[pl - 1] == '/')
				pl--;
			if (!memchr(pp, '/', pl)) {
				add_line(msg,
					 "Index %zu: path does not refer to "
					 "an object. Path must be of the form "
					 "/container/object.",
					 i);
				continue;
			}
		}
		v = json_object_get(seg, "size_bytes");
		if (v && !json_is_null(v)) {
			char *end;

			if (json_is_integer(v))
				s->size_bytes = json_integer_value(v);
			else if (json_is_string(v) && *json_string_value(v) &&
				 (s->size_bytes = strtoll(json_string_value(v),
							  &end, 10),
				  !*end))
				;
			else
				bad = 1;
			if (bad) {
				add_line(msg, "Index %zu: invalid size_bytes",
					 i);
				continue;
			}
			if (s->size_bytes < 1 && i != n - 1) {
				add_line(msg,
					 "Index %zu: too small; each segment "
					 "must be at least 1 byte.",
					 i);
				continue;
			}
		}
		{
			const char *pp = s->path;

			while (*pp == '/')
				pp++;
			if ((!strncmp(pp, p->container, strlen(p->container)) &&
			     pp[strlen(p->container)] == '/' &&
			     !strcmp(pp + strlen(p->container) + 1,
				     p->object))) {
				add_line(msg,
					 "Index %zu: manifest must not "
					 "include itself as a segment",
					 i);
				continue;
			}
		}
		v = json_object_get(seg, "range");
		if (json_is_string(v) && *json_string_value(v)) {
			long long a = -1, b = -1, rs = 0, re = 0;
			int r = seg_range_parse(json_string_value(v), &a, &b);

			if (r == -E2BIG) {
				add_line(msg,
					 "Index %zu: multiple ranges (only one "
					 "allowed)",
					 i);
				continue;
			}
			if (r) {
				add_line(msg, "Index %zu: invalid range", i);
				continue;
			}
			if (s->size_bytes >= 0 &&
			    !seg_range_apply(a, b, s->size_bytes, &rs, &re)) {
				add_line(msg, "Index %zu: unsatisfiable range",
					 i);
				continue;
			}
			s->range = strdup(json_string_value(v));
		} else if (v && !json_is_string(v) && !json_is_null(v) &&
			   !json_is_false(v)) {
			add_line(msg, "Index %zu: invalid range", i);
			continue;
		}
	}
	if (n && all_data)
		buf_printf(msg, "Inline data segments require at least one "
				"object-backed segment.\n");
	json_decref(j);
	*out = segs;
	*nout = (int)n;
	if (msg->len)
		rc = 400;
	return rc;
}

void slo_segs_free(struct slo_seg_in *segs, int n)
{
	int i;

	for (i = 0; segs && i < n; i++) {
		free(segs[i].path);
		free(segs[i].etag);
		free(segs[i].range);
		free(segs[i].data);
	}
	free(segs);
}

void slo_put_end(struct http_request *req)
{
	struct slo_put *sp = http_state(req);
	struct slo_seg_in *segs = NULL;
	struct buf msg = {0};
	int n = 0, status;

	if (sp->too_big) {
		http_reply_error(req, 413, "Manifest File > %d bytes",
				 SLO_MAX_MANIFEST_SIZE);
		return;
	}
	status = slo_parse_put(
		(const char *)(sp->body.data ? sp->body.data : (uint8_t *)""),
		sp->body.len, sp->p, &segs, &n, &msg);
	if (status == 400) {
		http_add_header(req, "Content-Type", "text/plain");
		http_reply(req, 400, msg.data, msg.len);
	} else if (status) {
		proxy_reply_status(req, status);
	} else {
		slo_store(req, sp->app, sp->p, segs, n, NULL);
	}
	slo_segs_free(segs, n);
	buf_free(&msg);
}

/* What a segment's HEAD said (as the requester, SLO-aware). */
struct seg_head {
	int status;
	long long length;
	char etag[80];
	char ctype[256];
	char last_modified[40];
	int sub_slo;
};

/* HEAD /c/o of a segment path as the requester, as Swift's do_head
 * (through the SLO middleware: a sub-SLO shows its ETag and size). */
static void head_segment(struct http_request *req, struct proxy_app *app,
			 const struct proxy_path *p, const char *path,
			 struct seg_head *h)
{
	struct cluster_resp r = {0};
	struct cluster_get *g = NULL;
	const char *v;
	char *c = NULL, *o = NULL;
	int64_t secs;
	struct tm tm;
	time_t t;

	memset(h, 0, sizeof(*h));
	h->status = 400;
	if (split_seg_path(path, &c, &o))
		goto out;
	h->status = lo_allowed(req, app, p, "HEAD", c, o);
	if (h->status)
		goto out;
	if (lo_segment_open(req, app, "HEAD", p->account, c, o, NULL, NULL, &r,
			    &g)) {
		h->status = 503;
		goto out;
	}
	h->status = r.status;
	if (r.status / 100 != 2)
		goto out;
	h->sub_slo = is_slo(&r);
	v = cluster_resp_header(&r, "Content-Length");
	h->length = v ? strtoll(v, NULL, 10) : 0;
	v = cluster_resp_header(&r, "Etag");
	snprintf(h->etag, sizeof(h->etag), "%s", v ? v : "");
	if (h->sub_slo && cluster_resp_header(&r, SYSMETA_SLO_ETAG) &&
	    cluster_resp_header(&r, SYSMETA_SLO_SIZE)) {
		snprintf(h->etag, sizeof(h->etag), "%s",
			 cluster_resp_header(&r, SYSMETA_SLO_ETAG));
		h->length = strtoll(cluster_resp_header(&r, SYSMETA_SLO_SIZE),
				    NULL, 10);
	}
	{
		/* swob's etag getter drops every quote */
		char *s = h->etag, *d = h->etag;

		for (; *s; s++)
			if (*s != '"')
				*d++ = *s;
		*d = '\0';
	}
	/* swob's content_type: up to the first ';' */
	v = cluster_resp_header(&r, "Content-Type");
	snprintf(h->ctype, sizeof(h->ctype), "%s", v ? v : "");
	h->ctype[strcspn(h->ctype, ";")] = '\0';
	v = cluster_resp_header(&r, "Last-Modified");
	t = v && !ts_parse_http_date(v, &secs) ? (time_t)secs : time(NULL);
	gmtime_r(&t, &tm);
	strftime(h->last_modified, sizeof(h->last_modified),
		 "%Y-%m-%dT%H:%M:%S.000000", &tm);
out:
	free(c);
	free(o);
	cluster_get_close(g);
	cluster_resp_free(&r);
}

/* The stored manifest and its totals from segs and their HEADs. */
static int build_manifest(const struct slo_seg_in *segs, int n,
			  const struct seg_head *heads, struct buf *json,
			  struct buf *etags, long long *total)
{
	int i, rc = 0;

	*total = 0;
	rc = buf_printf(json, "[");
	for (i = 0; i < n && !rc; i++) {
		const struct slo_seg_in *s = &segs[i];
		const struct seg_head *h = &heads[i];
		const char *name = s->path;

		if (i)
			rc = buf_printf(json, ", ");
		if (s->data) {
			size_t dl;
			unsigned char *raw = b64_decode(s->data, &dl);
			uint8_t d[MD5_LEN];
			char hex[33];
			/* re-encoded: padding normalized */
			char *enc = raw ? malloc(4 * ((dl + 2) / 3) + 1) : NULL;

			if (!enc) {
				free(raw);
				return -ENOMEM;
			}
			EVP_EncodeBlock((unsigned char *)enc, raw, (int)dl);
			md5_buf(raw, dl, d);
			md5_hex(d, hex);
			*total += (long long)dl;
			rc = buf_printf(json, "{\"data\": ");
			if (!rc)
				rc = pyjson_string(json, enc);
			if (!rc)
				rc = buf_printf(json, "}");
			if (!rc)
				rc = buf_append(etags, hex, 32);
			free(enc);
			free(raw);
			continue;
		}
		while (*name == '/')
			name++;
		rc = buf_printf(json, "{\"name\": ");
		if (!rc) {
			char *full = NULL;

			if (asprintf(&full, "/%s", name) < 0)
				return -ENOMEM;
			rc = pyjson_string(json, full);
			free(full);
		}
		if (!rc)
			rc = buf_printf(json, ", \"bytes\": %lld, \"hash\": ",
					h->length);
		if (!rc)
			rc = pyjson_string(json, h->etag);
		if (!rc)
			rc = buf_printf(json, ", \"content_type\": ");
		if (!rc)
			rc = pyjson_string(json, h->ctype);
		if (!rc)
			rc = buf_printf(json, ", \"last_modified\": \"%s\"",
					h->last_modified);
		if (!rc && s->range) {
			long long a = -1, b = -1, rs = 0, re = 0;

			seg_range_parse(s->range, &a, &b);
			seg_range_apply(a, b, h->length, &rs, &re);
			if (rs == 0 && re == h->length) {
				*total += h->length;
				rc = buf_printf(etags, "%s", h->etag);
			} else {
				*total += re - rs;
				rc = buf_printf(json,
						", \"range\": \"%lld-%lld\"",
						rs, re - 1);
				if (!rc)
					rc = buf_printf(etags, "%s:%lld-%lld;",
							h->etag, rs, re - 1);
			}
		} else if (!rc) {
			*total += h->length;
			rc = buf_printf(etags, "%s", h->etag);
		}
		if (!rc && h->sub_slo)
			rc = buf_printf(json, ", \"sub_slo\": true");
		if (!rc)
			rc = buf_printf(json, "}");
	}
	return rc ? rc : buf_printf(json, "]");
}

/* Check each segment's HEAD as validate_seg_dict; problems appended. */
static int check_segment(const struct slo_seg_in *s, const struct seg_head *h,
			 int last, struct problem **errs, int *nerrs)
{
	char st[64];
	long long length = h->length, a = -1, b = -1, rs = 0, re = 0;
	int rc = 0;

	if (h->status / 100 != 2) {
		status_line(h->status, st, sizeof(st));
		return problem_add(errs, nerrs, s->path, st);
	}
	if (s->range) {
		seg_range_parse(s->range, &a, &b);
		if (!seg_range_apply(a, b, h->length, &rs, &re))
			rc = problem_add(errs, nerrs, s->path,
					 "Unsatisfiable Range");
		else
			length = re - rs;
	}
	if (!rc && length < 1 && !last)
		rc = problem_add(errs, nerrs, s->path,
				 "Too small; each segment must be at least 1 "
				 "byte.");
	if (!rc && s->size_bytes >= 0 && s->size_bytes != h->length)
		rc = problem_add(errs, nerrs, s->path, "Size Mismatch");
	if (!rc && s->etag && strcmp(s->etag, h->etag))
		rc = problem_add(errs, nerrs, s->path, "Etag Mismatch");
	return rc;
}

/* slo_store, replying unless quiet (then the status is returned, the
 * SLO's ETag in out_etag on success); drop as proxy_object_put_open_quiet. */
static int store(struct http_request *req, struct proxy_app *app,
		 const struct proxy_path *p, const struct slo_seg_in *segs,
		 int n, const struct cluster_hdrs *more,
		 const char *const *drop, int quiet, char out_etag[33])
{
	enum out_format f = out_format(req);
	struct seg_head *heads = NULL;
	struct problem *errs = NULL;
	struct buf json = {0}, etags = {0}, body = {0};
	struct cluster_hdrs set = {0}, extra = {0};
	struct obj_put *o = NULL;
	const char *client_etag = http_header(req, "Etag");
	const char *ct = http_header(req, "Content-Type");
	char slo_etag[33], hex[33], qetag[40], ctype[512], cetag[80];
	uint8_t d[MD5_LEN];
	long long total = 0;
	int i, j, nobj = 0, nerrs = 0, status = 500;

	for (i = 0; i < n; i++)
		nobj += segs[i].path != NULL;
	if (nobj > SLO_MAX_MANIFEST_SEGMENTS) {
		if (!quiet)
			http_reply_error(req, 413,
					 "Number of object-backed segments "
					 "must be <= %d",
					 SLO_MAX_MANIFEST_SEGMENTS);
		return 413;
	}
	heads = calloc((size_t)(n > 0 ? n : 1), sizeof(*heads));
	if (!heads) {
		if (!quiet)
			proxy_reply_status(req, 500);
		return 500;
	}
	for (i = 0; i < n; i++) {
		if (!segs[i].path)
			continue;
		/* one HEAD per distinct path, as Swift's path2indices */
		for (j = 0; j < i; j++)
			if (segs[j].path && !strcmp(segs[j].path, segs[i].path))
				break;
		if (j < i)
			heads[i] = heads[j];
		else
			head_segment(req, app, p, segs[i].path, &heads[i]);
		if (check_segment(&segs[i], &heads[i], i == n - 1, &errs,
				  &nerrs))
			goto oom;
	}
	if (nerrs) {
		status = 400;
		if (quiet)
			goto out;
		if (bulk_body(&body, f, NULL, NULL, 0, errs, nerrs, "upload"))
			goto oom;
		http_add_header(req, "Content-Type", format_ctype(f));
		http_reply(req, 400, body.data, body.len);
		goto out;
	}
	if (build_manifest(segs, n, heads, &json, &etags, &total))
		goto oom;
	md5_buf(etags.data ? etags.data : (const uint8_t *)"", etags.len, d);
	md5_hex(d, slo_etag);
	if (client_etag) {
		snprintf(cetag, sizeof(cetag), "%s", client_etag);
		lo_unquote(cetag);
		if (strcmp(cetag, slo_etag)) {
			status = 422;
			if (!quiet)
				proxy_reply_status(req, status);
			goto out;
		}
	}
	md5_buf(json.data, json.len, d);
	md5_hex(d, hex);
	snprintf(ctype, sizeof(ctype), "%s;swift_bytes=%lld",
		 ct && *ct ? ct : guess_content_type(p->object), total);
	snprintf(qetag, sizeof(qetag), "\"%s\"", slo_etag);
	if (cluster_hdrs_add(&set, "Etag", hex) ||
	    cluster_hdrs_add(&set, "X-Static-Large-Object", "True") ||
	    cluster_hdrs_add(&set, SYSMETA_SLO_ETAG, slo_etag) ||
	    cluster_hdrs_addf(&set, SYSMETA_SLO_SIZE, "%lld", total) ||
	    cluster_hdrs_add(&set, "Content-Type", ctype) ||
	    cluster_hdrs_add(&extra, "Etag", qetag) ||
	    (more && cluster_hdrs_copy(&set, more)))
		goto oom;
	if (quiet)
		o = proxy_object_put_open_quiet(req, app, p, (int64_t)json.len,
						NULL, 0, &set, drop, &status);
	else
		o = proxy_object_put_open_set(req, app, p, (int64_t)json.len,
					      &set);
	if (!o)
		goto out;
	if (proxy_object_put_write(o, json.data, json.len)) {
		status = 503;
		if (!quiet)
			proxy_reply_status(req, status);
		goto out;
	}
	if (quiet) {
		status = proxy_object_put_finish(o, hex);
		if (status / 100 == 2)
			snprintf(out_etag, 33, "%s", slo_etag);
	} else {
		proxy_object_put_end(req, o, &extra);
		status = 201;
	}
	goto out;
oom:
	status = 500;
	if (!quiet)
		proxy_reply_status(req, status);
out:
	proxy_object_put_free(o);
	cluster_hdrs_free(&set);
	cluster_hdrs_free(&extra);
	problems_free(errs, nerrs);
	buf_free(&json);
	buf_free(&etags);
	buf_free(&body);
	free(heads);
	return status;
}

void slo_store(struct http_request *req, struct proxy_app *app,
	       const struct proxy_path *p, const struct slo_seg_in *segs, int n,
	       const struct cluster_hdrs *more)
{
	char etag[33];

	store(req, app, p, segs, n, more, NULL, 0, etag);
}

int slo_store_quiet(struct http_request *req, struct proxy_app *app,
		    const struct proxy_path *p, const struct slo_seg_in *segs,
		    int n, const struct cluster_hdrs *more,
		    const char *const *drop, char etag[33])
{
	*etag = '\0';
	return store(req, app, p, segs, n, more, drop, 1, etag);
}

/* --- DELETE ?multipart-manifest=delete ----------------------------------- */

struct del_item {
	char *name; /* "/c/o" */
	int sub_slo;
	int err_code; /* from reading it as a manifest */
	char *err_msg;
};

struct del_queue {
	struct del_item *items;
	size_t head, n, cap;
};

static int queue_push(struct del_queue *q, const char *name, int sub_slo)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? 2 * q->cap : 16;
		struct del_item *it = realloc(q->items, sizeof(*it) * cap);

		if (!it)
			return -ENOMEM;
		q->items = it;
		q->cap = cap;
	}
	memset(&q->items[q->n], 0, sizeof(q->items[0]));
	q->items[q->n].name = strdup(name);
	q->items[q->n].sub_slo = sub_slo;
	if (!q->items[q->n].name)
		return -ENOMEM;
	q->n++;
	return 0;
}

/* Swift's get_slo_segments: the segments of the manifest at name, pushed
 * onto q; on failure the item gets Swift's error. */
static int expand_manifest(struct http_request *req, struct proxy_app *app,
			   const struct proxy_path *p, struct del_queue *q,
			   size_t idx)
{
	struct del_item *it = &q->items[idx];
	json_t *segs, *seg;
	char *c = NULL, *o = NULL;
	size_t i;
	int status, rc = 0;

	if (split_seg_path(it->name, &c, &o)) {
		it->err_code = 400;
		it->err_msg = strdup("Not an SLO manifest");
		return 0;
	}
	segs = fetch_manifest(req, app, p, c, o, &status);
	free(c);
	free(o);
	if (!segs) {
		it->err_code = status == 404 || status == 400 || status == 401
				       ? status
				       : 500;
		it->err_msg = strdup(status == 404   ? "SLO manifest not found"
				     : status == 400 ? "Not an SLO manifest"
				     : status == 401
					     ? "401 Unauthorized"
					     : "Unable to load SLO manifest or "
					       "segment.");
		return it->err_msg ? 0 : -ENOMEM;
	}
	json_array_foreach(segs, i, seg)
	{
		const char *name =
			json_string_value(json_object_get(seg, "name"));

		if (json_object_get(seg, "data") || !name)
			continue;
		rc = queue_push(q, name,
				json_is_true(json_object_get(seg, "sub_slo")));
		if (rc)
			break;
	}
	json_decref(segs);
	return rc;
}

/* DELETE /c/o as the requester on every primary: the quorum status. */
static int delete_object(struct http_request *req, struct proxy_app *app,
			 const struct proxy_path *p, const char *name)
{
	struct cluster_hdrs hdrs[CLUSTER_MAX_NODES];
	struct cluster_nodes nodes = {0}, containers = {0};
	struct proxy_path *dp = calloc(1, sizeof(*dp));
	char *c = NULL, *o = NULL, ts[32];
	int i, n = 0, status = 500;

	memset(hdrs, 0, sizeof(hdrs));
	if (!dp || split_seg_path(name, &c, &o))
		goto out;
	status = lo_allowed(req, app, p, "DELETE", c, o);
	if (status)
		goto out;
	dp->account = p->account;
	dp->container = c;
	dp->object = o;
	status = 503;
	if (proxy_object_lookup(req, app, p->account, c, o, &nodes) ||
	    cluster_lookup(app->cluster, CLUSTER_CONTAINER, p->account, c, NULL,
			   &containers))
		goto out;
	n = nodes.nprimary;
	proxy_timestamp(ts);
	status = 500;
	for (i = 0; i < n; i++)
		if (cluster_hdrs_add(&hdrs[i], "X-Backend-Storage-Policy-Index",
				     "0") ||
		    cluster_hdrs_add(&hdrs[i], "X-Timestamp", ts))
			goto out;
	if (cluster_update_headers(hdrs, n, &containers, "Container",
				   cluster_quorum(n) + 1))
		goto out;
	status = proxy_quorum_request(req, app, &nodes, "DELETE", dp, hdrs, n,
				      204, 0);
out:
	for (i = 0; i < n; i++)
		cluster_hdrs_free(&hdrs[i]);
	cluster_nodes_release(&containers);
	cluster_nodes_release(&nodes);
	free(c);
	free(o);
	free(dp);
	return status;
}

static void slo_delete(struct http_request *req, struct proxy_app *app,
		       const struct proxy_path *p)
{
	enum out_format f = out_format(req);
	struct del_queue q = {0};
	struct problem *errs = NULL;
	struct buf body = {0};
	char name[8192], st[64], ndel[32], nnf[32];
	int nerrs = 0, deleted = 0, notfound = 0, bad_gateway = 0, rc = 0;
	size_t i;

	snprintf(name, sizeof(name), "/%s/%s", p->container, p->object);
	if (queue_push(&q, name, 1))
		goto oom;
	/* segments first, each manifest after its segments (Swift's
	 * get_segments_to_delete_iter) */
	while (q.head < q.n && !rc) {
		struct del_item it;

		if (q.n - q.head > (size_t)SLO_MAX_MANIFEST_SEGMENTS * 10) {
			http_reply_error(req, 400,
					 "Too many buffered slo segments to "
					 "delete.");
			goto out;
		}
		if (q.items[q.head].sub_slo) {
			rc = expand_manifest(req, app, p, &q, q.head);
			if (rc)
				break;
			it = q.items[q.head];
			q.items[q.head].name = NULL;
			q.items[q.head].err_msg = NULL;
			q.head++;
			rc = queue_push(&q, it.name, 0);
			if (!rc) {
				q.items[q.n - 1].err_code = it.err_code;
				q.items[q.n - 1].err_msg = it.err_msg;
				it.err_msg = NULL;
			}
			free(it.name);
			free(it.err_msg);
			continue;
		}
		it = q.items[q.head++];
		if (it.err_code == 404) {
			notfound++;
		} else if (it.err_code) {
			rc = problem_add(&errs, &nerrs, it.name,
					 it.err_msg ? it.err_msg : "");
		} else {
			int status = delete_object(req, app, p, it.name);

			if (status / 100 == 2) {
				deleted++;
			} else if (status == 404) {
				notfound++;
			} else {
				status_line(status, st, sizeof(st));
				if (status / 100 == 5)
					bad_gateway = 1;
				rc = problem_add(&errs, &nerrs, it.name, st);
			}
		}
		free(it.name);
		free(it.err_msg);
	}
	if (rc)
		goto oom;
	{
		const char *status = nerrs ? (bad_gateway ? "502 Bad Gateway"
							  : "400 Bad Request")
					   : "200 OK";
		const char *rbody = "";
		const char *jkeys[] = {"Response Status", "Response Body",
				       "Number Deleted", "Number Not Found"};
		const char *skeys[] = {"Number Deleted", "Number Not Found",
				       "Response Body", "Response Status"};
		const char *jvals[4], *svals[4];

		if (!nerrs && !deleted && !notfound) {
			status = "400 Bad Request";
			rbody = "Invalid bulk delete.";
		}
		snprintf(ndel, sizeof(ndel), "#%d", deleted);
		snprintf(nnf, sizeof(nnf), "#%d", notfound);
		jvals[0] = svals[3] = status;
		jvals[1] = svals[2] = rbody;
		jvals[2] = svals[0] = ndel;
		jvals[3] = svals[1] = nnf;
		if (bulk_body(&body, f, f == OUT_JSON ? jkeys : skeys,
			      f == OUT_JSON ? jvals : svals, 4, errs, nerrs,
			      "delete"))
			goto oom;
	}
	http_add_header(req, "Content-Type", format_ctype(f));
	if (f == OUT_XML) {
		struct buf x = {0};

		if (buf_printf(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
				   "\n") ||
		    buf_append(&x, body.data, body.len)) {
			buf_free(&x);
			goto oom;
		}
		buf_free(&body);
		body = x;
	}
	http_reply(req, 200, body.data, body.len);
	goto out;
oom:
	proxy_reply_status(req, 500);
out:
	for (i = q.head; i < q.n; i++) {
		free(q.items[i].name);
		free(q.items[i].err_msg);
	}
	free(q.items);
	problems_free(errs, nerrs);
	buf_free(&body);
}

/* --- the hook ------------------------------------------------------------ */

int lo_object(struct http_request *req, struct proxy_app *app,
	      struct proxy_path *p)
{
	const char *m = http_method(req);
	const char *mm = http_query(req, "multipart-manifest");
	struct slo_put *sp;
	int64_t cl = http_content_length(req);
	const char *te = http_header(req, "Transfer-Encoding");

	if (!strcmp(m, "PUT") && mm && !strcmp(mm, "put")) {
		if (http_header(req, "X-Copy-From")) {
			http_reply_error(req, 405,
					 "Multipart Manifest PUTs cannot be "
					 "COPY requests");
			goto done;
		}
		if (cl < 0 && !(te && !strcasecmp(te, "chunked"))) {
			proxy_reply_status(req, 411);
			goto done;
		}
		if (cl > SLO_MAX_MANIFEST_SIZE) {
			http_reply_error(req, 413, "Manifest File > %d bytes",
					 SLO_MAX_MANIFEST_SIZE);
			goto done;
		}
		sp = calloc(1, sizeof(*sp));
		if (!sp) {
			proxy_reply_status(req, 500);
			goto done;
		}
		sp->app = app;
		sp->p = p;
		http_set_state(req, sp);
		return 1;
	}
	if (!strcmp(m, "DELETE") && mm && !strcmp(mm, "delete")) {
		slo_delete(req, app, p);
		goto done;
	}
	if (!strcmp(m, "GET") || !strcmp(m, "HEAD")) {
		lo_get(req, app, p);
		goto done;
	}
	if (http_header(req, "X-Static-Large-Object")) {
		http_reply_error(req, 400,
				 "X-Static-Large-Object is a reserved header. "
				 "To create a static large object add query "
				 "param multipart-manifest=put.");
		goto done;
	}
	if (!strcmp(m, "PUT") && dlo_check_put(req))
		goto done;
	return 0;
done:
	proxy_path_free(p);
	return 1;
}

int lo_info(json_t *root)
{
	json_t *slo = json_pack(
		"{s:i, s:i, s:i, s:i, s:b}", "max_manifest_segments",
		SLO_MAX_MANIFEST_SEGMENTS, "max_manifest_size",
		SLO_MAX_MANIFEST_SIZE, "yield_frequency", SLO_YIELD_FREQUENCY,
		"min_segment_size", 1, "allow_async_delete", 0);
	json_t *tu = json_pack(
		"{s:[s,s,s,s,s], s:[s], s:[], s:[s], s:[s], s:[s,s,s], "
		"s:[s]}",
		"methods", "GET", "HEAD", "PUT", "POST", "DELETE",
		"incoming_remove_headers", "x-timestamp",
		"incoming_allow_headers", "outgoing_remove_headers",
		"x-object-meta-*", "outgoing_allow_headers",
		"x-object-meta-public-*", "allowed_digests", "sha1", "sha256",
		"sha512", "deprecated_digests", "sha1");

	if (!slo || !tu) {
		json_decref(slo);
		json_decref(tu);
		return -ENOMEM;
	}
	json_object_set_new(root, "slo", slo);
	json_object_set_new(root, "tempurl", tu);
	return 0;
}
