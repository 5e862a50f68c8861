/*
 * proxy/copy.c: server-side copy (swift/common/middleware/copy.py): a
 * COPY of /a/c/o with Destination: <container>/<object> (and
 * Destination-Account: <account> across accounts), or a PUT of the
 * destination with X-Copy-From: <container>/<object> (and
 * X-Copy-From-Account).
 *
 * The source is read with a GET (X-Newest, as Swift) and streamed into a
 * PUT of the destination (object.c's upload, one chunk at a time: the
 * object is never held whole). The copy is a new object with its own
 * timestamp; its metadata are the source's under the request's own (or
 * with X-Fresh-Metadata: true only the request's; sysmeta always
 * follows), its Content-Type the source's unless the request gives one.
 * The answer is the PUT's, with X-Copied-From, X-Copied-From-Account and
 * X-Copied-From-Last-Modified on success.
 *
 * A large object (SLO or DLO) is copied assembled from its segments
 * (slo.c's lo_copy_source), as a plain object; with
 * ?multipart-manifest=get its manifest object is copied as it is stored.
 *
 * Authorization: tempauth_request has checked the request's own path
 * (COPY as a GET of the source); here the other side is checked (a PUT
 * of the destination for COPY, a GET of the source for X-Copy-From), as
 * Swift's subrequests are.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "proxy/internal.h"

#define COPY_CHUNK (64 * 1024)

/*
 * Fill out with account and the "<container>/<object>" of a header
 * (percent-encoded, a leading '/' optional), as Swift's check_path_header.
 * 0, or replies 412 with Swift's message and returns it.
 */
static int path_from_header(struct http_request *req, const char *name,
			    const char *account, const char *value,
			    struct proxy_path *out)
{
	char raw[4096], *segs[2];
	size_t used;
	int n;

	n = snprintf(raw, sizeof(raw), "%s%s", *value == '/' ? "" : "/", value);
	if (n < 0 || (size_t)n >= sizeof(raw))
		goto bad;
	used = strlen(account) + 1;
	if (used >= sizeof(out->buf) / 2)
		goto bad;
	memcpy(out->buf, account, used);
	out->account = out->buf;
	n = http_split_path(raw, out->buf + used, sizeof(out->buf) - used, segs,
			    2);
	if (n != 2 || !*segs[0] || !*segs[1])
		goto bad;
	out->container = segs[0];
	out->object = segs[1];
	return 0;
bad:
	http_reply_error(req, 412,
			 "%s header must be of the form <container "
			 "name>/<object name>",
			 name);
	return 412;
}

/* An account name from a header (percent-encoded), into out; 0 or replies
 * 412 as Swift's check_account_format. */
static int account_from_header(struct http_request *req, const char *value,
			       char *out, size_t outlen)
{
	char raw[1024], *segs[1];
	int n = snprintf(raw, sizeof(raw), "/%s", value);

	if (n < 0 || (size_t)n >= sizeof(raw) ||
	    http_split_path(raw, out, outlen, segs, 1) != 1 || !*segs[0]) {
		http_reply_error(req, 412, "Account name is required");
		return 412;
	}
	if (strchr(segs[0], '/')) {
		http_reply_error(req, 412,
				 "Account name cannot contain slashes");
		return 412;
	}
	memmove(out, segs[0], strlen(segs[0]) + 1);
	return 0;
}

static int truthy(const char *v)
{
	return v && (!strcasecmp(v, "true") || !strcmp(v, "1") ||
		     !strcasecmp(v, "yes") || !strcasecmp(v, "on") ||
		     !strcasecmp(v, "t") || !strcasecmp(v, "y"));
}

struct meta_ctx {
	struct cluster_hdrs *h;
	int rc;
};

static void client_meta(const char *name, const char *value, void *arg)
{
	struct meta_ctx *m = arg;

	if (!m->rc && !strncasecmp(name, "X-Object-Meta-", 14))
		m->rc = cluster_hdrs_add(m->h, name, value);
}

/* The headers of a successful copy's answer (Swift's
 * _create_response_headers). 0 or -ENOMEM. */
static int response_headers(struct http_request *req,
			    const struct proxy_path *src,
			    const struct cluster_resp *r, int fresh,
			    struct cluster_hdrs *h)
{
	struct meta_ctx m = {h, 0};
	char path[8192], enc[3 * 8192];
	const char *lm = cluster_resp_header(r, "Last-Modified");
	int i;

	if (cluster_quote(src->account, enc, sizeof(enc)) < 0)
		return -ENAMETOOLONG;
	m.rc = cluster_hdrs_add(h, "X-Copied-From-Account", enc);
	snprintf(path, sizeof(path), "%s/%s", src->container, src->object);
	if (!m.rc && cluster_quote(path, enc, sizeof(enc)) < 0)
		m.rc = -ENAMETOOLONG;
	if (!m.rc)
		m.rc = cluster_hdrs_add(h, "X-Copied-From", enc);
	if (!m.rc && lm)
		m.rc = cluster_hdrs_add(h, "X-Copied-From-Last-Modified", lm);
	http_each_header(req, client_meta, &m);
	for (i = 0; !fresh && !m.rc && i < r->nhdrs; i++)
		if (!strncasecmp(r->hdr_names[i], "X-Object-Meta-", 14) &&
		    !cluster_hdrs_get(h, r->hdr_names[i]))
			m.rc = cluster_hdrs_add(h, r->hdr_names[i],
						r->hdr_values[i]);
	return m.rc;
}

/* GET src and PUT it to dst, streamed; replies. */
static void copy_object(struct http_request *req, struct proxy_app *app,
			const struct proxy_path *src,
			const struct proxy_path *dst)
{
	int fresh = truthy(http_header(req, "X-Fresh-Metadata"));
	struct cluster_nodes nodes;
	struct cluster_hdrs h = {0}, extra = {0};
	struct cluster_resp r = {0};
	struct cluster_get *g = NULL;
	struct obj_put *o = NULL;
	struct lo_reader *lo = NULL;
	const char *cl;
	char *chunk = NULL;
	int64_t length = 0;
	ssize_t n;
	int status;

	if (proxy_object_lookup(req, app, src->account, src->container,
				src->object, &nodes)) {
		proxy_reply_status(req, 503);
		return;
	}
	if (cluster_hdrs_add(&h, "X-Backend-Storage-Policy-Index", "0") ||
	    cluster_get_open(app->cluster, &nodes, "GET", src->account,
			     src->container, src->object, NULL, &h, 1,
			     http_txn(req), &r, &g)) {
		proxy_reply_status(req, 500);
		goto out;
	}
	if (!g) {
		/* Swift answers with the source's answer (404 when gone) */
		proxy_reply_status(req, r.status);
		goto out;
	}
	/* a large object is copied assembled, as Swift's copy reads it
	 * through the slo and dlo middlewares */
	status = lo_copy_source(req, app, src, &r, &g, &lo, &length);
	if (status) {
		proxy_reply_status(req, status);
		goto out;
	}
	cl = cluster_resp_header(&r, "Content-Length");
	if (!lo && (!cl || r.status != 200)) {
		http_reply_error(req, 413, "Your request is too large.");
		goto out;
	}
	if (!lo)
		length = strtoll(cl, NULL, 10);
	chunk = malloc(COPY_CHUNK);
	if (!chunk || response_headers(req, src, &r, fresh, &extra)) {
		proxy_reply_status(req, 500);
		goto out;
	}
	o = proxy_object_put_open(req, app, dst, length, &r, fresh);
	if (!o)
		goto out;
	while ((n = lo ? lo_reader_read(lo, chunk, COPY_CHUNK)
		       : cluster_get_read(g, chunk, COPY_CHUNK)) > 0)
		if (proxy_object_put_write(o, chunk, (size_t)n)) {
			log_err("COPY to /%s/%s/%s: too few backends left",
				dst->account, dst->container, dst->object);
			proxy_reply_status(req, 503);
			goto out;
		}
	if (n < 0) {
		log_err("COPY from /%s/%s/%s: the source failed mid-way",
			src->account, src->container, src->object);
		proxy_reply_status(req, 503);
		goto out;
	}
	proxy_object_put_end(req, o, &extra);
out:
	proxy_object_put_free(o);
	free(chunk);
	lo_reader_close(lo);
	cluster_get_close(g);
	cluster_resp_free(&r);
	cluster_hdrs_free(&extra);
	cluster_hdrs_free(&h);
	cluster_nodes_release(&nodes);
}

void proxy_copy(struct http_request *req, struct proxy_app *app,
		struct proxy_path *p)
{
	struct proxy_path *other = calloc(1, sizeof(*other));
	const char *v;
	char account[1024];

	if (!other) {
		proxy_reply_status(req, 500);
		return;
	}
	other->user = p->user;
	other->service = p->service;
	if (!strcmp(http_method(req), "COPY")) {
		v = http_header(req, "Destination");
		if (!v || !*v) {
			http_reply_error(req, 412,
					 "Destination header required");
			goto out;
		}
		snprintf(account, sizeof(account), "%s", p->account);
		if (http_header(req, "Destination-Account") &&
		    account_from_header(req,
					http_header(req, "Destination-Account"),
					account, sizeof(account)))
			goto out;
		if (path_from_header(req, "Destination", account, v, other))
			goto out;
		/* the destination is written: a PUT there must be allowed */
		if (tempauth_check(req, app, "PUT", other))
			goto out;
		copy_object(req, app, p, other);
	} else {
		if (http_content_length(req) > 0) {
			http_reply_error(req, 400,
					 "Copy requests require a zero byte "
					 "body");
			goto out;
		}
		snprintf(account, sizeof(account), "%s", p->account);
		v = http_header(req, "X-Copy-From-Account");
		if (v && account_from_header(req, v, account, sizeof(account)))
			goto out;
		if (path_from_header(req, "X-Copy-From", account,
				     http_header(req, "X-Copy-From"), other))
			goto out;
		/* the source is read: a GET there must be allowed */
		if (tempauth_check(req, app, "GET", other))
			goto out;
		copy_object(req, app, other, p);
	}
out:
	free(other);
}
