/*
 * proxy/object.c: the object controller (swift/proxy/controllers/obj.py,
 * replicated policy).
 *
 * PUT: checked (length, name, metadata, X-Delete-*), the container must
 * exist (HEAD, or known to from the last few seconds:
 * proxy_container_exists), then the body is streamed to every object
 * primary at once by cluster_put_* (handoffs standing in for nodes that
 * refuse), each backend request carrying X-Timestamp (set here, once) and
 * its share of the container servers to update; a body of at most 64 KiB
 * whose length is known is gathered first and sent whole with its headers
 * (put_small). The answer is the quorum's; the backends' ETags must
 * agree. A client that goes away mid-body aborts every backend request
 * (a small body's were not sent yet), so no backend commits a truncated
 * object. The same upload (proxy_object_put_open/write/end) carries
 * copy.c's copies.
 * The body is hashed here, once, as it streams (MD5 for the ETag,
 * XXH3-128 for the transfer), and goes chunked to the object servers
 * with both hashes as trailers (put_trailers): each checks the XXH3-128
 * and stores the MD5 (objectd's trailer_hashed) instead of computing
 * its own MD5 of the body, one MD5 per object instead of one per replica.
 *
 * GET/HEAD stream from the first good replica (every replica with
 * X-Newest); POST and DELETE go to every primary and answer by quorum.
 *
 * Every request goes to the object ring of the container's storage policy
 * (proxy_object_lookup). In an erasure-coded policy's container the
 * upload is ec_put.c's (fragment archives, then COMMIT), a GET or HEAD
 * is decoded by the cluster client (common/ecget.c), and POST and DELETE
 * go to all k + m primaries with a quorum of k + 1.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/md5.h"
#include "common/policy.h"
#include "common/timestamp.h"
#include "common/xxh.h"
#include "proxy/internal.h"

struct obj_put {
	struct proxy_app *app;
	struct proxy_path *p;
	int own_p; /* p is freed with the upload (a client's PUT) */
	struct cluster_nodes nodes;
	struct cluster_hdrs hdrs[CLUSTER_MAX_NODES];
	int nslots;
	int quorum;
	struct cluster_put *put;
	struct ec_put *ec; /* an erasure-coded policy's upload (ec_put.c) */
	int64_t expected;  /* Content-Length, -1 when chunked */
	uint64_t received;
	/* a small body (put_small): gathered here and sent whole with its
	 * headers once it is all in, no backend asked before */
	int small;
	struct buf body;
	char *txn;
	void *md5; /* the body's hashes (a replicated upload over 64 KiB) */
	void *xxh;
	char ts[32];
};

static void obj_put_free(struct obj_put *o)
{
	int i;

	if (!o)
		return;
	cluster_put_free(o->put);
	ec_put_free(o->ec);
	md5_free(o->md5);
	xxh128_free(o->xxh);
	buf_free(&o->body);
	free(o->txn);
	for (i = 0; i < o->nslots; i++)
		cluster_hdrs_free(&o->hdrs[i]);
	cluster_nodes_release(&o->nodes);
	if (o->own_p)
		proxy_path_free(o->p);
	free(o);
}

void proxy_object_put_free(struct obj_put *o)
{
	obj_put_free(o);
}

/*
 * Swift's check_delete_headers: X-Delete-After becomes X-Delete-At. 0 with
 * *at set (0 when neither header is there), or 400 with msg set.
 */
static int delete_at(struct http_request *req, long long *at, const char **msg)
{
	const char *after = http_header(req, "X-Delete-After");
	const char *v = http_header(req, "X-Delete-At");
	long long now = (long long)time(NULL), n;
	char *end;

	*at = 0;
	if (after) {
		n = strtoll(after, &end, 10);
		if (!*after || *end) {
			*msg = "Non-integer X-Delete-After";
			return 400;
		}
		n += now;
		if (n > 9999999999LL)
			n = 9999999999LL;
		if (n <= now) {
			*msg = "X-Delete-After in past";
			return 400;
		}
		*at = n;
		return 0;
	}
	if (v) {
		double d = strtod(v, &end);

		if (!*v || *end || !isfinite(d)) {
			*msg = "Non-integer X-Delete-At";
			return 400;
		}
		n = (long long)d;
		if (n <= now) {
			*msg = "X-Delete-At in past";
			return 400;
		}
		*at = n;
	}
	return 0;
}

/* Set X-Delete-At on every slot (X-Delete-After never reaches a
 * backend: proxy_client_headers leaves it out). 0/-ENOMEM. */
static int set_delete_at(struct cluster_hdrs *hdrs, int n, long long at)
{
	char v[32];
	int i, rc = 0;

	if (!at)
		return 0;
	snprintf(v, sizeof(v), "%010lld", at);
	for (i = 0; i < n && !rc; i++)
		rc = cluster_hdrs_set(&hdrs[i], "X-Delete-At", v);
	return rc;
}

static int truthy(const char *v)
{
	return v && (!strcasecmp(v, "true") || !strcmp(v, "1") ||
		     !strcasecmp(v, "yes") || !strcasecmp(v, "on"));
}

/* Headers of a copy source that its copy keeps (Swift's copy.py: all but
 * a few, of which the object server keeps these). */
static int copied_header(const char *name, int fresh)
{
	static const char *const keep[] = {
		"Content-Type",	    "Content-Disposition", "Content-Encoding",
		"Content-Language", "Cache-Control",	   "Expires",
		"X-Robots-Tag",	    "X-Delete-At"};
	size_t i;

	if (!strncasecmp(name, "X-Object-Sysmeta-", 17))
		return 1;
	if (fresh)
		return !strcasecmp(name, "Content-Type");
	if (!strncasecmp(name, "X-Object-Meta-", 14) ||
	    !strncasecmp(name, "X-Object-Transient-Sysmeta-", 27))
		return 1;
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (!strcasecmp(name, keep[i]))
			return 1;
	return 0;
}

/* The backend headers of a copy: the copy's own headers dropped, the
 * source's metadata under the client's, the source's ETag. */
static int copy_headers(struct cluster_hdrs *h, const struct cluster_resp *src,
			int fresh)
{
	static const char *const drop[] = {
		"X-Copy-From",	       "X-Copy-From-Account", "Destination",
		"Destination-Account", "X-Fresh-Metadata",    "Etag"};
	const char *etag = cluster_resp_header(src, "Etag");
	char tag[64];
	size_t i;
	int j, rc = 0;

	for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		proxy_hdrs_del(h, drop[i]);
	for (j = 0; j < src->nhdrs && !rc; j++)
		if (copied_header(src->hdr_names[j], fresh) &&
		    !cluster_hdrs_get(h, src->hdr_names[j]))
			rc = cluster_hdrs_add(h, src->hdr_names[j],
					      src->hdr_values[j]);
	if (!rc && etag && src->status == 200) {
		snprintf(tag, sizeof(tag), "%s", etag + (*etag == '"'));
		tag[strcspn(tag, "\"")] = '\0';
		rc = cluster_hdrs_add(h, "Etag", tag);
	}
	return rc;
}

/* The name of a "Name: value" line into name (of len bytes); its value,
 * or NULL when the line has no ':' or too long a name. */
static const char *line_split(const char *line, char *name, size_t len)
{
	const char *c = strchr(line, ':');

	if (!c || c - line >= (int)len)
		return NULL;
	snprintf(name, len, "%.*s", (int)(c - line), line);
	for (c++; *c == ' '; c++)
		;
	return c;
}

static struct obj_put *put_open(struct http_request *req, struct proxy_app *app,
				const struct proxy_path *p, int64_t length,
				const struct cluster_resp *src, int fresh,
				const struct cluster_hdrs *set,
				const char *const *drop, int *quiet);

struct obj_put *proxy_object_put_open(struct http_request *req,
				      struct proxy_app *app,
				      const struct proxy_path *p,
				      int64_t length,
				      const struct cluster_resp *src, int fresh)
{
	return put_open(req, app, p, length, src, fresh, NULL, NULL, NULL);
}

struct obj_put *proxy_object_put_open_set(struct http_request *req,
					  struct proxy_app *app,
					  const struct proxy_path *p,
					  int64_t length,
					  const struct cluster_hdrs *set)
{
	return put_open(req, app, p, length, NULL, 0, set, NULL, NULL);
}

struct obj_put *
proxy_object_put_open_quiet(struct http_request *req, struct proxy_app *app,
			    const struct proxy_path *p, int64_t length,
			    const struct cluster_resp *src, int fresh,
			    const struct cluster_hdrs *set,
			    const char *const *drop, int *status)
{
	*status = 0;
	return put_open(req, app, p, length, src, fresh, set, drop, status);
}

/* Is name one of drop's names, or does it start with one ending in '*'? */
static int dropped(const char *name, const char *const *drop)
{
	size_t n;

	for (; drop && *drop; drop++) {
		n = strlen(*drop);
		if (n && (*drop)[n - 1] == '*'
			    ? !strncasecmp(name, *drop, n - 1)
			    : !strcasecmp(name, *drop))
			return 1;
	}
	return 0;
}

/* Remove from h every line whose name drop names. */
static void drop_headers(struct cluster_hdrs *h, const char *const *drop)
{
	char name[256];
	int i, k = 0;

	for (i = 0; i < h->n; i++) {
		if (line_split(h->lines[i], name, sizeof(name)) &&
		    dropped(name, drop)) {
			free(h->lines[i]);
			continue;
		}
		h->lines[k++] = h->lines[i];
	}
	h->n = k;
}

/* A refusal of put_open: replied, or only recorded in *quiet. */
#define REFUSE(st, ...)                                           \
	do {                                                      \
		if (quiet)                                        \
			*quiet = (st);                            \
		else                                              \
			http_reply_error(req, (st), __VA_ARGS__); \
	} while (0)
#define REFUSE_STATUS(st)                              \
	do {                                           \
		if (quiet)                             \
			*quiet = (st);                 \
		else                                   \
			proxy_reply_status(req, (st)); \
	} while (0)

/*
 * A replicated upload of at most this many bytes, its length known, is
 * small (put_small); a larger or chunked one is hashed here as it streams
 * (hashed_headers, put_trailers).
 */
#define SMALL_PUT_MAX (64 * 1024)

/*
 * Is o's body small enough to wait for whole? Such a body goes to the
 * object servers with its headers in one request, without Expect:
 * 100-continue, once the client sent all of it (cluster_put_whole): no
 * round trip for the 100 Continue, one send per backend for headers and
 * body; each object server hashes it itself. A node that refuses (507,
 * 5xx, no answer) is replaced by the next handoff with the whole body, as
 * Swift replaces one that refuses at the headers, and a refusal at the
 * headers (409, 412) still decides the answer (put_early).
 */
static int put_small(const struct obj_put *o)
{
	return o->expected >= 0 && o->expected <= SMALL_PUT_MAX;
}

/* A replicated upload's hashes started and its backend headers told
 * that they come as trailers of a chunked body (objectd's
 * trailer_hashed), with the length, when known, that objectd claims and
 * checks. 0 or -ENOMEM. */
static int hashed_headers(struct obj_put *o)
{
	char len[24];
	int i, rc = 0;

	o->md5 = md5_new();
	o->xxh = xxh128_new();
	if (!o->md5 || !o->xxh)
		return -ENOMEM;
	snprintf(len, sizeof(len), "%lld", (long long)o->expected);
	for (i = 0; i < o->nslots && !rc; i++) {
		rc = cluster_hdrs_set(&o->hdrs[i], "Trailer",
				      "X-Backend-Body-Md5, "
				      "X-Backend-Body-Xxh128");
		if (!rc && o->expected >= 0)
			rc = cluster_hdrs_set(&o->hdrs[i],
					      "X-Backend-Obj-Content-Length",
					      len);
	}
	return rc;
}

/* The hashes of the whole body as the upload's trailers. 0 or -errno. */
static int put_trailers(struct obj_put *o)
{
	char hex[33];
	int rc;

	if (!o->md5)
		return 0;
	rc = md5_final(o->md5, hex); /* frees the context */
	o->md5 = NULL;
	if (!rc)
		rc = cluster_put_trailer(o->put, "X-Backend-Body-Md5", hex);
	xxh128_final(o->xxh, hex);
	o->xxh = NULL;
	if (!rc)
		rc = cluster_put_trailer(o->put, "X-Backend-Body-Xxh128", hex);
	return rc;
}

static struct obj_put *put_open(struct http_request *req, struct proxy_app *app,
				const struct proxy_path *p, int64_t length,
				const struct cluster_resp *src, int fresh,
				const struct cluster_hdrs *set,
				const char *const *drop, int *quiet)
{
	const char *ctype = http_header(req, "Content-Type");
	const char *msg = NULL;
	struct cluster_nodes containers = {0};
	struct obj_put *o = NULL;
	long long at;
	char err[512];
	int i, rc, early = 0, status, policy, ec;

	if (length > MAX_FILE_SIZE) {
		REFUSE(413, "Your request is too large.");
		goto fail;
	}
	if (strlen(p->object) > MAX_OBJECT_NAME_LENGTH) {
		REFUSE(400, "Object name length of %zu longer than %d",
		       strlen(p->object), MAX_OBJECT_NAME_LENGTH);
		goto fail;
	}
	if (ctype && !valid_utf8(ctype, strlen(ctype))) {
		REFUSE(400, "Invalid Content-Type");
		goto fail;
	}
	status = delete_at(req, &at, &msg);
	if (status) {
		REFUSE(status, "%s", msg);
		goto fail;
	}
	if (check_metadata(req, "object", err, sizeof(err))) {
		REFUSE(400, "%s", err);
		goto fail;
	}
	status = proxy_container_exists(req, app, p, &policy);
	if (status / 100 != 2) {
		REFUSE_STATUS(status == 503 ? 503 : 404);
		goto fail;
	}
	ec = policy_by_index(policy)->type == POLICY_ERASURE_CODING;
	o = calloc(1, sizeof(*o));
	if (!o) {
		REFUSE_STATUS(500);
		goto fail;
	}
	o->app = app;
	o->p = (struct proxy_path *)p;
	o->expected = length;
	if (cluster_lookup_policy(app->cluster, policy, o->p->account,
				  o->p->container, o->p->object, &o->nodes) ||
	    cluster_lookup(app->cluster, CLUSTER_CONTAINER, o->p->account,
			   o->p->container, NULL, &containers)) {
		REFUSE_STATUS(503);
		goto fail;
	}
	o->nslots = o->nodes.nprimary;
	/* an EC object is durable once k + 1 of its k + m archives are, and
	 * every archive's node tells a container (each archive is needed) */
	o->quorum = ec ? policy_by_index(policy)->ec_ndata + 1
		       : cluster_quorum(o->nslots);
	proxy_timestamp(o->ts);
	if (proxy_backend_headers(req, o->hdrs, o->nslots, o->ts, &containers,
				  "Container",
				  ec ? o->nslots : o->quorum + 1) ||
	    set_delete_at(o->hdrs, o->nslots, at)) {
		REFUSE_STATUS(500);
		goto fail;
	}
	/* the client's headers dropped, the container updates made again */
	for (i = 0; drop && i < o->nslots; i++)
		drop_headers(&o->hdrs[i], drop);
	if (drop && cluster_update_headers(o->hdrs, o->nslots, &containers,
					   "Container", o->quorum + 1)) {
		REFUSE_STATUS(500);
		goto fail;
	}
	for (i = 0; src && i < o->nslots; i++)
		if (copy_headers(&o->hdrs[i], src, fresh)) {
			REFUSE_STATUS(500);
			goto fail;
		}
	if (!cluster_hdrs_get(&o->hdrs[0], "Content-Type") ||
	    truthy(http_header(req, "X-Detect-Content-Type")))
		for (i = 0; i < o->nslots; i++)
			cluster_hdrs_set(&o->hdrs[i], "Content-Type",
					 guess_content_type(o->p->object));
	for (i = 0; set && i < o->nslots; i++) {
		int k;

		for (k = 0; k < set->n; k++) {
			char name[256];
			const char *c =
				line_split(set->lines[k], name, sizeof(name));

			if (!c)
				continue;
			if (cluster_hdrs_set(&o->hdrs[i], name, c)) {
				REFUSE_STATUS(500);
				goto fail;
			}
		}
	}
	if (ec) {
		rc = ec_put_open(app, &o->nodes, o->p, o->hdrs, o->expected,
				 http_txn(req), &early, &o->ec);
	} else if (put_small(o)) {
		o->small = 1;
		o->txn = strdup(http_txn(req));
		rc = o->txn ? 0 : -ENOMEM;
	} else if (!(rc = hashed_headers(o))) {
		rc = cluster_put_open(app->cluster, &o->nodes, o->p->account,
				      o->p->container, o->p->object, o->hdrs,
				      -1, o->quorum, http_txn(req), &early,
				      &o->put);
	}
	if (rc == -EEXIST) {
		/* Swift: 412 for If-None-Match, 202 for an older timestamp */
		REFUSE_STATUS(early == 409 ? 202 : early);
		goto fail;
	}
	if (rc) {
		REFUSE_STATUS(503);
		goto fail;
	}
	cluster_nodes_release(&containers);
	return o;
fail:
	cluster_nodes_release(&containers);
	obj_put_free(o);
	return NULL;
}

#undef REFUSE
#undef REFUSE_STATUS

/* Is the upload still going (not failed, not finished)? */
static int put_live(const struct obj_put *o)
{
	return o->put || o->ec || o->small;
}

/* Abort the upload: the backends see a truncated body. */
static void put_abort(struct obj_put *o)
{
	cluster_put_free(o->put);
	o->put = NULL;
	ec_put_free(o->ec);
	o->ec = NULL;
	o->small = 0;
	buf_free(&o->body);
}

/* Hand len bytes to the backends (o->received not counted). 0 or -EIO */
static int put_write(struct obj_put *o, const void *data, size_t len)
{
	if (o->ec)
		return ec_put_write(o->ec, data, len);
	if (o->small) {
		if (o->body.len + len > (uint64_t)o->expected ||
		    buf_append(&o->body, data, len))
			return -EIO;
		return 0;
	}
	if (md5_update(o->md5, data, len))
		return -EIO;
	xxh128_update(o->xxh, data, len);
	return cluster_put_write(o->put, data, len);
}

int proxy_object_put_write(struct obj_put *o, const void *data, size_t len)
{
	o->received += len;
	if (!put_live(o))
		return -EIO;
	return put_write(o, data, len);
}

static void object_put(struct http_request *req, struct proxy_app *app,
		       struct proxy_path *p)
{
	const char *te = http_header(req, "Transfer-Encoding");
	struct obj_put *o = NULL;
	int64_t cl = http_content_length(req);

	if (te && strcasecmp(te, "chunked")) {
		http_reply_error(req, 501, "Unsupported Transfer-Coding");
		goto fail;
	}
	if (cl > MAX_FILE_SIZE) {
		http_reply_error(req, 413, "Your request is too large.");
		goto fail;
	}
	if (cl < 0 && !te) {
		http_reply_error(req, 411, "Missing Content-Length header.");
		goto fail;
	}
	o = proxy_object_put_open(req, app, p, cl, NULL, 0);
	if (!o)
		goto fail;
	o->own_p = 1;
	http_set_state(req, o);
	return;
fail:
	proxy_path_free(p);
}

void proxy_object_body(struct http_request *req, const char *data, size_t len)
{
	struct obj_put *o = http_state(req);

	if (!put_live(o))
		return;
	o->received += len;
	if (o->expected < 0 && o->received > (uint64_t)MAX_FILE_SIZE) {
		put_abort(o);
		http_reply_error(req, 413, "Your request is too large.");
		return;
	}
	if (put_write(o, data, len)) {
		log_err("PUT /%s/%s/%s: too few backends left mid-body",
			o->p->account, o->p->container, o->p->object);
		put_abort(o);
		proxy_reply_status(req, 503);
	}
}

void proxy_object_end(struct http_request *req)
{
	proxy_object_put_end(req, http_state(req), NULL);
}

/*
 * The answer that a refusal before the body would have given (Swift's
 * _check_failure_put_connections): the highest 4xx of the answers, 409
 * (a newer object there) as 202. 0 when no node refused so.
 */
static int put_early(const int *statuses, int n)
{
	int i, early = 0;

	for (i = 0; i < n; i++)
		if (statuses[i] / 100 == 4 && statuses[i] > early)
			early = statuses[i];
	return early == 409 ? 202 : early;
}

/*
 * Send o's small body, whole, with its headers to every slot
 * (put_small); the answers in statuses and etags as cluster_put_finish
 * gives them. 0, or the status to answer at once (put_early, or 503).
 */
static int put_small_send(struct obj_put *o, int *statuses, char etags[][33],
			  int *n)
{
	int rc;

	o->small = 0;
	if (o->body.len != (uint64_t)o->expected)
		return 503; /* cannot be: the client's body is whole here */
	rc = cluster_put_whole(o->app->cluster, &o->nodes, o->p->account,
			       o->p->container, o->p->object, o->hdrs,
			       o->nslots, o->body.data, o->body.len, o->txn,
			       statuses, etags);
	buf_free(&o->body);
	if (rc)
		return 503;
	*n = o->nslots;
	return put_early(statuses, *n);
}

int proxy_object_put_finish(struct obj_put *o, char etag[33])
{
	int statuses[CLUSTER_MAX_NODES];
	char etags[CLUSTER_MAX_NODES][33];
	const char *e = NULL;
	int n = 0, i, best;

	*etag = '\0';
	if (o->ec) {
		best = ec_put_finish(o->ec, etag);
		ec_put_free(o->ec);
		o->ec = NULL;
		return best;
	}
	if (o->small) {
		best = put_small_send(o, statuses, etags, &n);
		if (best)
			return best;
	} else {
		if (!o->put)
			return 503;
		if (put_trailers(o)) {
			log_err("PUT /%s/%s/%s: no trailers", o->p->account,
				o->p->container, o->p->object);
			return 500;
		}
		cluster_put_finish(o->put, statuses, etags, &n);
		cluster_put_free(o->put);
		o->put = NULL;
	}
	for (i = 0; i < n; i++) {
		if (statuses[i] < 200 || statuses[i] >= 300 || !*etags[i])
			continue;
		if (e && strcmp(e, etags[i])) {
			log_err("PUT /%s/%s/%s: backends disagree on ETag "
				"(%s, %s)",
				o->p->account, o->p->container, o->p->object, e,
				etags[i]);
			return 500;
		}
		e = etags[i];
	}
	best = cluster_best_status(statuses, n, o->quorum);
	if (best < 0) {
		log_err("PUT /%s/%s/%s: no quorum (%d answers)", o->p->account,
			o->p->container, o->p->object, n);
		return 503;
	}
	if (e) {
		memcpy(etag, e, 32);
		etag[32] = '\0';
	}
	return statuses[best];
}

const char *proxy_object_put_ts(const struct obj_put *o)
{
	return o->ts;
}

void proxy_object_put_end(struct http_request *req, struct obj_put *o,
			  const struct cluster_hdrs *extra)
{
	struct ts t;
	char date[32], etag[33];
	int i, status = proxy_object_put_finish(o, etag);

	if (status / 100 == 2) {
		for (i = 0; extra && i < extra->n; i++) {
			char name[256];
			const char *c =
				line_split(extra->lines[i], name, sizeof(name));

			if (!c)
				continue;
			http_add_header(req, name, c);
		}
		/* an Etag of extra (an SLO's) stands for the backends' */
		if (*etag && !(extra && cluster_hdrs_get(extra, "Etag")))
			http_add_header(req, "Etag", etag);
		if (!ts_parse(o->ts, &t))
			http_add_header(req, "Last-Modified",
					ts_http_date(&t, date));
	}
	http_add_header(req, "Content-Type", "text/html; charset=UTF-8");
	if (status == 201)
		http_reply(req, 201, "", 0);
	else
		proxy_reply_status(req, status);
}

void proxy_object_close(struct http_request *req, int completed)
{
	struct obj_put *o = http_state(req);

	if (!completed && put_live(o))
		log_warn("PUT /%s/%s/%s: the client went away after %llu "
			 "bytes; aborted",
			 o->p->account, o->p->container, o->p->object,
			 (unsigned long long)o->received);
	obj_put_free(o);
	http_set_state(req, NULL);
}

/* POST or DELETE on every object primary; replies when reply is set.
 * Returns the status. */
static int object_write(struct http_request *req, struct proxy_app *app,
			const struct proxy_path *p, const char *method,
			int reply)
{
	struct cluster_hdrs hdrs[CLUSTER_MAX_NODES];
	struct cluster_nodes nodes = {0}, containers = {0};
	const char *msg;
	const struct storage_policy *sp;
	char err[512], ts[32];
	long long at = 0;
	int i, n = 0, status = 0, quorum;

	memset(hdrs, 0, sizeof(hdrs));
	if (!strcmp(method, "POST")) {
		status = delete_at(req, &at, &msg);
		if (status) {
			http_reply_error(req, status, "%s", msg);
			return status;
		}
		if (check_metadata(req, "object", err, sizeof(err))) {
			http_reply_error(req, 400, "%s", err);
			return 400;
		}
	}
	if (proxy_object_lookup(req, app, p->account, p->container, p->object,
				&nodes) ||
	    cluster_lookup(app->cluster, CLUSTER_CONTAINER, p->account,
			   p->container, NULL, &containers)) {
		status = 503;
		if (reply)
			proxy_reply_status(req, status);
		goto out;
	}
	n = nodes.nprimary;
	sp = policy_by_index(nodes.policy);
	/* EC: every archive's node, quorum k + 1 (as its PUT) */
	quorum = sp && sp->type == POLICY_ERASURE_CODING ? sp->ec_ndata + 1
							 : cluster_quorum(n);
	proxy_timestamp(ts);
	if (proxy_backend_headers(req, hdrs, n, ts, &containers, "Container",
				  quorum == cluster_quorum(n) ? quorum + 1
							      : n) ||
	    set_delete_at(hdrs, n, at)) {
		status = 500;
		if (reply)
			proxy_reply_status(req, status);
		goto out;
	}
	status = proxy_quorum_request_n(
		req, app, &nodes, method, p, hdrs, n, quorum,
		!strcmp(method, "DELETE") ? 204 : 0, reply);
out:
	for (i = 0; i < n; i++)
		cluster_hdrs_free(&hdrs[i]);
	cluster_nodes_release(&containers);
	cluster_nodes_release(&nodes);
	return status;
}

int proxy_object_delete_quiet(struct http_request *req, struct proxy_app *app,
			      const struct proxy_path *p)
{
	return object_write(req, app, p, "DELETE", 0);
}

void proxy_object(struct http_request *req, struct proxy_app *app,
		  struct proxy_path *p)
{
	const char *m = http_method(req);
	struct cluster_nodes nodes;

	if (!strcmp(m, "PUT")) {
		object_put(req, app, p); /* takes p */
		return;
	}
	if (!strcmp(m, "GET") || !strcmp(m, "HEAD")) {
		if (proxy_object_lookup(req, app, p->account, p->container,
					p->object, &nodes)) {
			proxy_reply_status(req, 503);
		} else {
			proxy_get_stream(req, app, &nodes, p, NULL, NULL);
			cluster_nodes_release(&nodes);
		}
	} else if (!strcmp(m, "POST") || !strcmp(m, "DELETE")) {
		object_write(req, app, p, m, 1);
	} else {
		http_add_header(req, "Allow", "DELETE, GET, HEAD, POST, PUT");
		proxy_reply_status(req, 405);
	}
	proxy_path_free(p);
}
