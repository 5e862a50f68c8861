/*
 * proxy/dlo.c: dynamic large objects (swift/common/middleware/dlo.py of
 * Swift 2.30). An object with X-Object-Manifest: <container>/<prefix>
 * stands for the concatenation, in name order, of the objects of
 * <container> whose names start with <prefix>; a GET lists them (as the
 * requester: a container GET it must be allowed) and streams them
 * (segment.c), a HEAD gives the total length and the ETag: the quoted MD5
 * of the segments' ETags concatenated. One Range is honoured (several
 * are ignored, as Swift does); ?multipart-manifest=get gives the
 * manifest object itself (slo.c's hook does not call dlo_get then).
 *
 * Unlike Swift, which reads listings past the first page lazily and then
 * answers without a length, every page is listed before the reply (the
 * reply then always has a Content-Length and an ETag), up to
 * DLO_MAX_PAGES pages: a DLO of more segments is refused (503, logged)
 * rather than held in memory or served short.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/md5.h"
#include "common/timestamp.h"
#include "proxy/internal.h"

/* most listing pages read for one DLO (10 pages of 10,000 segments) */
#define DLO_MAX_PAGES 10

int dlo_check_put(struct http_request *req)
{
	const char *v = http_header(req, "X-Object-Manifest");
	const char *slash;

	if (!v)
		return 0;
	slash = strchr(v, '/');
	if (!slash || slash == v || !slash[1] || strchr(v, '?') ||
	    strchr(v, '&') || slash[1] == '/') {
		http_reply_error(req, 400,
				 "X-Object-Manifest must be in the format "
				 "container/prefix");
		return 400;
	}
	return 0;
}

/* One page of the listing of container with prefix after marker,
 * appended to all. The listing's status (2xx, 404...) or 503. */
static int list_page(struct http_request *req, struct proxy_app *app,
		     const char *account, const char *container,
		     const char *prefix, const char *marker, json_t *all,
		     size_t *got)
{
	struct cluster_nodes nodes;
	struct cluster_hdrs h = {0};
	struct cluster_resp r = {0};
	struct cluster_get *g = NULL;
	struct buf body = {0};
	char query[16384], qp[3 * 2048], qm[3 * 2048];
	char chunk[65536];
	json_t *page = NULL;
	ssize_t n;
	int status = 503;

	*got = 0;
	if (cluster_quote(prefix, qp, sizeof(qp)) < 0 ||
	    cluster_quote(marker, qm, sizeof(qm)) < 0)
		return 400;
	snprintf(query, sizeof(query), "format=json&prefix=%s%s%s", qp,
		 *marker ? "&marker=" : "", *marker ? qm : "");
	if (cluster_lookup(app->cluster, CLUSTER_CONTAINER, account, container,
			   NULL, &nodes))
		return 503;
	if (cluster_hdrs_add(&h, "X-Backend-Storage-Policy-Index", "0") ||
	    cluster_get_open(app->cluster, &nodes, "GET", account, container,
			     NULL, query, &h, 0, http_txn(req), &r, &g))
		goto out;
	status = r.status;
	if (!g || r.status / 100 != 2)
		goto out;
	while ((n = cluster_get_read(g, chunk, sizeof(chunk))) > 0)
		if (buf_append(&body, chunk, (size_t)n)) {
			status = 500;
			goto out;
		}
	if (n < 0 ||
	    (r.status == 200 && !(page = json_loadb((const char *)body.data,
						    body.len, 0, NULL))) ||
	    (page && !json_is_array(page))) {
		status = 503;
		goto out;
	}
	if (page) {
		*got = json_array_size(page);
		json_array_extend(all, page);
	}
out:
	json_decref(page);
	buf_free(&body);
	cluster_get_close(g);
	cluster_resp_free(&r);
	cluster_hdrs_free(&h);
	cluster_nodes_release(&nodes);
	return status;
}

struct dlo_walk {
	json_t *segs;
	char *container;
	size_t i;
	int64_t first, last;
	char ctype[256];
};

static int dwalk_start(void *ctx, uint64_t first, uint64_t last)
{
	struct dlo_walk *w = ctx;

	w->i = 0;
	w->first = (int64_t)first;
	w->last = (int64_t)last;
	return 0;
}

static int dwalk_next(void *ctx, struct lo_piece *pc)
{
	struct dlo_walk *w = ctx;

	memset(pc, 0, sizeof(*pc));
	while (w->i < json_array_size(w->segs)) {
		json_t *seg = json_array_get(w->segs, w->i++);
		int64_t len = json_integer_value(json_object_get(seg, "bytes"));
		const char *name =
			json_string_value(json_object_get(seg, "name"));
		int64_t first = w->first, last = w->last;

		w->first -= len;
		w->last -= len;
		if (first >= len)
			continue;
		if (last < 0 || !name)
			return 0;
		if (len == 0)
			continue;
		pc->container = strdup(w->container);
		pc->object = strdup(name);
		if (!pc->container || !pc->object)
			return -ENOMEM;
		pc->size = len;
		pc->first = (uint64_t)(first > 0 ? first : 0);
		pc->last = (uint64_t)(last < len - 1 ? last : len - 1);
		return 1;
	}
	return 0;
}

static void dwalk_free(void *ctx)
{
	struct dlo_walk *w = ctx;

	json_decref(w->segs);
	free(w->container);
	free(w);
}

/*
 * List the segments of the DLO whose X-Object-Manifest is manifest, as
 * who: *out the walk over them, *total their length, etag the DLO's.
 * 0, or an HTTP status (not replied).
 */
static int dlo_walk_new(struct http_request *req, struct proxy_app *app,
			const struct proxy_path *who, const char *manifest,
			struct dlo_walk **out, int64_t *total, char etag[33])
{
	struct dlo_walk *w = calloc(1, sizeof(*w));
	struct buf cat = {0};
	char raw[4096], dec[4096], *segs[1], *prefix, marker[2048] = "";
	uint8_t d[MD5_LEN];
	size_t got, i;
	int status = 500, pages;
	json_t *seg;

	*out = NULL;
	*total = 0;
	if (!w)
		return 500;
	/* the value is percent-encoded as stored (wsgi_unquote) */
	snprintf(raw, sizeof(raw), "/%s", manifest);
	if (http_split_path(raw, dec, sizeof(dec), segs, 1) != 1 ||
	    !(prefix = strchr(segs[0], '/'))) {
		status = 400;
		goto fail;
	}
	*prefix++ = '\0';
	w->container = strdup(segs[0]);
	w->segs = json_array();
	if (!w->container || !w->segs)
		goto fail;
	status = lo_allowed(req, app, who, "GET", w->container, NULL);
	if (status)
		goto fail;
	for (pages = 0; pages < DLO_MAX_PAGES; pages++) {
		status = list_page(req, app, who->account, w->container, prefix,
				   marker, w->segs, &got);
		if (status / 100 != 2)
			goto fail;
		if (got < CONTAINER_LISTING_LIMIT)
			break;
		if (pages + 1 == DLO_MAX_PAGES) {
			log_err("%s: more than %d segments under %s",
				http_raw_path(req),
				DLO_MAX_PAGES * CONTAINER_LISTING_LIMIT,
				manifest);
			status = 503;
			goto fail;
		}
		snprintf(marker, sizeof(marker), "%s",
			 json_string_value(json_object_get(
				 json_array_get(w->segs,
						json_array_size(w->segs) - 1),
				 "name")));
	}
	status = 500;
	json_array_foreach(w->segs, i, seg)
	{
		const char *h = json_string_value(json_object_get(seg, "hash"));
		char tag[80];

		*total += json_integer_value(json_object_get(seg, "bytes"));
		snprintf(tag, sizeof(tag), "%s", h ? h : "");
		lo_unquote(tag);
		if (buf_append(&cat, tag, strlen(tag)))
			goto fail;
	}
	md5_buf(cat.data ? cat.data : (const uint8_t *)"", cat.len, d);
	md5_hex(d, etag);
	buf_free(&cat);
	*out = w;
	return 0;
fail:
	buf_free(&cat);
	dwalk_free(w);
	return status;
}

int dlo_source(struct http_request *req, struct proxy_app *app,
	       const struct proxy_path *who, const char *manifest,
	       struct lo_source *src, int64_t *size)
{
	struct dlo_walk *w;
	char etag[33];
	int status = dlo_walk_new(req, app, who, manifest, &w, size, etag);

	if (status)
		return status;
	src->start = dwalk_start;
	src->next = dwalk_next;
	src->free = dwalk_free;
	src->ctx = w;
	src->single_range = 1;
	return 0;
}

void dlo_get(struct http_request *req, struct proxy_app *app,
	     const struct proxy_path *p, struct cluster_resp *r,
	     const char *manifest)
{
	struct lo_source src = {dwalk_start, dwalk_next, dwalk_free, NULL, 1};
	const char *lm = cluster_resp_header(r, "Last-Modified");
	const char *ct = cluster_resp_header(r, "Content-Type");
	struct dlo_walk *w = NULL;
	char etag[33];
	int64_t total = 0, mtime = -1;
	int status;

	status = dlo_walk_new(req, app, p, manifest, &w, &total, etag);
	if (status) {
		proxy_reply_status(req, status);
		return;
	}
	snprintf(w->ctype, sizeof(w->ctype), "%s",
		 ct ? ct : "application/octet-stream");
	if (strstr(w->ctype, ";swift_bytes="))
		*strstr(w->ctype, ";swift_bytes=") = '\0';
	if (lm)
		ts_parse_http_date(lm, &mtime);
	/* the manifest object's headers but its length and ETag */
	lo_resp_del(r, "Etag");
	lo_resp_del(r, "Content-Length");
	lo_resp_del(r, "Content-Range");
	lo_resp_del(r, "Content-Type");
	proxy_relay_headers(req, r, p);
	if (lo_conditional(req, p, etag, mtime,
			   cluster_resp_header(r, "Content-Disposition"))) {
		dwalk_free(w);
		return;
	}
	src.ctx = w;
	lo_reply(req, app, p, (uint64_t)total, w->ctype, &src);
}
