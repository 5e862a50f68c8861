/*
 * proxy/segment.c: the body of a large object, streamed from its
 * segments (Swift's SegmentedIterable, swift/common/request_helpers.py),
 * for slo.c and dlo.c.
 *
 * A large object is a walk over pieces (struct lo_piece: a byte window
 * of one segment object, or inline data) that a source (slo.c's manifest
 * walk, dlo.c's listing walk) hands out one at a time for a byte window
 * of the whole object. This file turns that into the HTTP reply: the
 * whole object (200), one range (206 with Content-Range) or several
 * (206 multipart/byteranges, as swob's multi_range_iterator), each
 * segment fetched through the cluster client only when the client has
 * taken the previous one, never buffered whole:
 *
 *   lo_reply → first piece opened (a failure here: 409, as Swift's
 *   validate_first_segment) → http_reply_stream → seg_read:
 *     literal text (part headers) | inline data | segment body
 *     → piece done → next piece (GET as the requester) | next range
 *     → end
 *
 * Each segment is read as the requester (tempauth's rules for a GET of
 * it, or the temp URL's scope), its ETag checked against the manifest's
 * and, when read whole, its length; a whole 200 body is also checked
 * against its MD5 by the cluster client. Any mismatch or failure after
 * the headers went out cuts the connection (read returns -1), so a
 * client never takes a short or wrong body for a good one.
 *
 * Threads: everything runs in the request's own thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "proxy/internal.h"

struct lo_reader {
	struct http_request *req;
	struct proxy_app *app;
	struct proxy_path who; /* account, user, service, tempurl scope */
	struct lo_source src;
	uint64_t size; /* the whole object */
	struct byte_range ranges[RANGE_MAX];
	int nranges; /* 0: the whole object */
	int cur;     /* the range being sent */
	int multi;   /* multipart/byteranges */
	char boundary[RANGE_BOUNDARY_LEN];
	const char *ctype;
	/* what is being handed out */
	char lit[512];
	size_t lit_len, lit_pos;
	struct lo_piece pc;
	int have_pc;
	uint64_t pc_left; /* bytes of pc not yet handed out */
	struct cluster_get *g;
	struct cluster_resp r;
	int finished; /* every range sent, closing text included */
	char authed[MAX_CONTAINER_NAME_LENGTH * 3 + 8]; /* last container
							   allowed */
};

void lo_path_copy(struct proxy_path *dst, const struct proxy_path *src)
{
	const char *lo = src->buf, *hi = src->buf + sizeof(src->buf);

	*dst = *src;
	/* names pointing into src->buf now point into dst->buf */
	if (src->account >= lo && src->account < hi)
		dst->account = dst->buf + (src->account - lo);
	if (src->container >= lo && src->container < hi)
		dst->container = dst->buf + (src->container - lo);
	if (src->object >= lo && src->object < hi)
		dst->object = dst->buf + (src->object - lo);
}

void lo_piece_clear(struct lo_piece *pc)
{
	free(pc->container);
	free(pc->object);
	free(pc->data);
	memset(pc, 0, sizeof(*pc));
}

int lo_allowed(struct http_request *req, struct proxy_app *app,
	       const struct proxy_path *who, const char *method,
	       const char *container, const char *object)
{
	struct proxy_path *sp;
	int status;

	if (who->tempurl) {
		/* Swift's authorize_same_account / _same_container */
		if (who->tempurl == TEMPURL_SCOPE_CONTAINER &&
		    strcmp(container, who->container))
			return 401;
		return 0;
	}
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return 500;
	sp->account = who->account;
	sp->container = (char *)container;
	sp->object = (char *)object;
	sp->user = who->user;
	sp->service = who->service;
	status = tempauth_allowed(req, app, method, sp);
	free(sp);
	return status;
}

int lo_segment_open(struct http_request *req, struct proxy_app *app,
		    const char *method, const char *account,
		    const char *container, const char *object,
		    const char *range, const char *query,
		    struct cluster_resp *r, struct cluster_get **g)
{
	struct cluster_nodes nodes;
	struct cluster_hdrs h = {0};
	int rc;

	*g = NULL;
	memset(r, 0, sizeof(*r));
	r->status = 503;
	if (proxy_object_lookup(req, app, account, container, object, &nodes))
		return -EIO;
	rc = cluster_hdrs_add(&h, "X-Backend-Storage-Policy-Index", "0");
	if (!rc && range)
		rc = cluster_hdrs_add(&h, "Range", range);
	if (!rc)
		rc = cluster_get_open(app->cluster, &nodes, method, account,
				      container, object, query, &h, 0,
				      http_txn(req), r, g);
	cluster_hdrs_free(&h);
	cluster_nodes_release(&nodes);
	return rc;
}

/* Is the segment answer r fit to give the bytes pc wants? */
static int segment_fits(const struct lo_reader *lr, const struct lo_piece *pc,
			const struct cluster_resp *r, int whole)
{
	const char *etag = cluster_resp_header(r, "Etag");
	const char *cl = cluster_resp_header(r, "Content-Length");
	char tag[64];

	if (r->status != (whole ? 200 : 206)) {
		log_err("GET %s: segment /%s/%s answered %d",
			http_raw_path(lr->req), pc->container, pc->object,
			r->status);
		return 0;
	}
	snprintf(tag, sizeof(tag), "%s", etag ? etag : "");
	lo_unquote(tag);
	if (*pc->etag && strcmp(tag, pc->etag)) {
		log_err("GET %s: segment /%s/%s has ETag %s, the manifest "
			"says %s",
			http_raw_path(lr->req), pc->container, pc->object, tag,
			pc->etag);
		return 0;
	}
	if (whole && pc->size >= 0 &&
	    (!cl || strtoll(cl, NULL, 10) != pc->size)) {
		log_err("GET %s: segment /%s/%s is %s bytes, the manifest "
			"says %lld",
			http_raw_path(lr->req), pc->container, pc->object,
			cl ? cl : "?", (long long)pc->size);
		return 0;
	}
	return 1;
}

/* Open the body of lr->pc. 0, or -EIO (logged) / -EACCES. */
static int piece_open(struct lo_reader *lr)
{
	struct lo_piece *pc = &lr->pc;
	char range[64];
	int whole, status;

	lr->pc_left = pc->last - pc->first + 1;
	if (pc->data)
		return 0;
	if (strcmp(lr->authed, pc->container)) {
		status = lo_allowed(lr->req, lr->app, &lr->who, "GET",
				    pc->container, pc->object);
		if (status) {
			log_err("GET %s: segment /%s/%s not allowed (%d)",
				http_raw_path(lr->req), pc->container,
				pc->object, status);
			return -EACCES;
		}
		snprintf(lr->authed, sizeof(lr->authed), "%s", pc->container);
	}
	whole = pc->size >= 0 && pc->first == 0 &&
		pc->last + 1 == (uint64_t)pc->size;
	snprintf(range, sizeof(range), "bytes=%llu-%llu",
		 (unsigned long long)pc->first, (unsigned long long)pc->last);
	if (lo_segment_open(lr->req, lr->app, "GET", lr->who.account,
			    pc->container, pc->object, whole ? NULL : range,
			    NULL, &lr->r, &lr->g))
		return -EIO;
	if (!lr->g || !segment_fits(lr, pc, &lr->r, whole)) {
		if (!lr->g)
			log_err("GET %s: segment /%s/%s answered %d",
				http_raw_path(lr->req), pc->container,
				pc->object, lr->r.status);
		return -EIO;
	}
	return 0;
}

static void piece_close(struct lo_reader *lr)
{
	cluster_get_close(lr->g);
	lr->g = NULL;
	cluster_resp_free(&lr->r);
	lo_piece_clear(&lr->pc);
	lr->have_pc = 0;
}

/* The part header of range i into lr->lit. */
static void part_header(struct lo_reader *lr, int i)
{
	lr->lit_len = (size_t)snprintf(
		lr->lit, sizeof(lr->lit),
		"%s--%s\r\nContent-Type: %s\r\nContent-Range: bytes "
		"%llu-%llu/%llu\r\n\r\n",
		i ? "\r\n" : "", lr->boundary, lr->ctype,
		(unsigned long long)lr->ranges[i].start,
		(unsigned long long)lr->ranges[i].end - 1,
		(unsigned long long)lr->size);
	lr->lit_pos = 0;
}

/* Start range lr->cur (or the whole object). 0 or -errno. */
static int range_start(struct lo_reader *lr)
{
	uint64_t first = 0, last = lr->size - 1;

	if (lr->nranges) {
		first = lr->ranges[lr->cur].start;
		last = lr->ranges[lr->cur].end - 1;
	}
	if (lr->multi)
		part_header(lr, lr->cur);
	return lr->src.start(lr->src.ctx, first, last);
}

/*
 * Make lr->pc the next piece, opened; moving to the next range when the
 * current one is done. 1 with a piece, 0 at the very end, -errno.
 */
static int piece_next(struct lo_reader *lr)
{
	int rc;

	for (;;) {
		rc = lr->src.next(lr->src.ctx, &lr->pc);
		if (rc < 0)
			return rc;
		if (rc > 0) {
			lr->have_pc = 1;
			return piece_open(lr) ? -EIO : 1;
		}
		if (lr->cur + 1 >= (lr->nranges ? lr->nranges : 1))
			return 0;
		lr->cur++;
		rc = range_start(lr);
		if (rc)
			return rc;
		if (lr->lit_len)
			return 2; /* literal text to send first */
	}
}

static ssize_t seg_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	struct lo_reader *lr = ctx;
	size_t n;
	ssize_t got;
	int rc;

	(void)pos;
	for (;;) {
		if (lr->lit_pos < lr->lit_len) {
			n = lr->lit_len - lr->lit_pos;
			if (n > max)
				n = max;
			memcpy(buf, lr->lit + lr->lit_pos, n);
			lr->lit_pos += n;
			return (ssize_t)n;
		}
		lr->lit_len = lr->lit_pos = 0;
		if (lr->have_pc && lr->pc_left) {
			if (lr->pc.data) {
				n = lr->pc_left < max ? lr->pc_left : max;
				memcpy(buf,
				       lr->pc.data + lr->pc.first +
					       (lr->pc.last - lr->pc.first + 1 -
						lr->pc_left),
				       n);
				lr->pc_left -= n;
				return (ssize_t)n;
			}
			got = cluster_get_read(lr->g, buf,
					       lr->pc_left < max ? lr->pc_left
								 : max);
			if (got <= 0) {
				log_err("GET %s: segment /%s/%s ended %llu "
					"bytes early",
					http_raw_path(lr->req),
					lr->pc.container, lr->pc.object,
					(unsigned long long)lr->pc_left);
				return -1;
			}
			lr->pc_left -= (uint64_t)got;
			return got;
		}
		if (lr->have_pc) {
			/* the whole window was read: let the cluster client
			 * finish its MD5 check on a whole body */
			if (lr->g && cluster_get_read(lr->g, buf, 1) != 0) {
				log_err("GET %s: segment /%s/%s failed its "
					"check",
					http_raw_path(lr->req),
					lr->pc.container, lr->pc.object);
				return -1;
			}
			piece_close(lr);
		}
		if (lr->finished)
			return 0;
		rc = piece_next(lr);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			lr->finished = 1;
			if (lr->multi) {
				lr->lit_len = (size_t)snprintf(
					lr->lit, sizeof(lr->lit), "\r\n--%s--",
					lr->boundary);
				lr->lit_pos = 0;
			}
		}
	}
}

static void lo_reader_free(struct lo_reader *lr)
{
	if (!lr)
		return;
	piece_close(lr);
	if (lr->src.free)
		lr->src.free(lr->src.ctx);
	free(lr);
}

static void seg_done(void *ctx)
{
	lo_reader_free(ctx);
}

/* The length of the multipart body of lr's ranges (swob's
 * _prepare_for_ranges). */
static uint64_t multipart_length(struct lo_reader *lr)
{
	uint64_t total = 0;
	int i;

	for (i = 0; i < lr->nranges; i++) {
		part_header(lr, i);
		total +=
			lr->lit_len + (lr->ranges[i].end - lr->ranges[i].start);
	}
	lr->lit_len = 0;
	return total + 2 + strlen(lr->boundary) + 4;
}

/* A reader of src (taken: freed with the reader) as who; NULL with src
 * freed when out of memory. */
static struct lo_reader *reader_new(struct http_request *req,
				    struct proxy_app *app,
				    const struct proxy_path *who, uint64_t size,
				    const char *ctype, struct lo_source *src)
{
	struct lo_reader *lr = calloc(1, sizeof(*lr));

	if (!lr) {
		if (src->free)
			src->free(src->ctx);
		return NULL;
	}
	lr->req = req;
	lr->app = app;
	lo_path_copy(&lr->who, who);
	lr->src = *src;
	lr->size = size;
	lr->ctype = ctype;
	return lr;
}

struct lo_reader *lo_reader_open(struct http_request *req,
				 struct proxy_app *app,
				 const struct proxy_path *who, uint64_t size,
				 struct lo_source *src)
{
	struct lo_reader *lr = reader_new(req, app, who, size, "", src);
	int rc;

	if (!lr) {
		errno = ENOMEM;
		return NULL;
	}
	rc = range_start(lr);
	if (!rc && size)
		rc = piece_next(lr);
	if (rc < 0) {
		lo_reader_free(lr);
		errno = EIO;
		return NULL;
	}
	return lr;
}

ssize_t lo_reader_read(struct lo_reader *lr, char *buf, size_t max)
{
	ssize_t n = seg_read(lr, 0, buf, max);

	return n < 0 ? -EIO : n;
}

void lo_reader_close(struct lo_reader *lr)
{
	lo_reader_free(lr);
}

void lo_reply(struct http_request *req, struct proxy_app *app,
	      const struct proxy_path *who, uint64_t size, const char *ctype,
	      struct lo_source *src)
{
	struct lo_reader *lr = reader_new(req, app, who, size, ctype, src);
	const char *range = http_header(req, "Range");
	char cr[96];
	int64_t length = (int64_t)size;
	int rc;

	if (!lr) {
		proxy_reply_status(req, 500);
		return;
	}
	http_add_header(req, "Accept-Ranges", "bytes");
	if (range && !strcmp(http_method(req), "GET")) {
		lr->nranges = range_parse(range, size, lr->ranges);
		if (lr->nranges == 0) {
			http_add_headerf(req, "Content-Range", "bytes */%llu",
					 (unsigned long long)size);
			proxy_reply_status(req, 416);
			goto fail;
		}
		if (lr->nranges < 0 || (lr->nranges > 1 && src->single_range))
			lr->nranges = 0;
	}
	if (lr->nranges == 1) {
		length = (int64_t)(lr->ranges[0].end - lr->ranges[0].start);
		snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu",
			 (unsigned long long)lr->ranges[0].start,
			 (unsigned long long)lr->ranges[0].end - 1,
			 (unsigned long long)size);
		http_add_header(req, "Content-Range", cr);
	} else if (lr->nranges > 1) {
		lr->multi = 1;
		range_boundary(lr->boundary);
		length = (int64_t)multipart_length(lr);
		http_add_headerf(req, "Content-Type",
				 "multipart/byteranges;boundary=%s",
				 lr->boundary);
	}
	if (!lr->multi)
		http_add_header(req, "Content-Type", ctype);
	if (!strcmp(http_method(req), "HEAD")) {
		/* the length of the whole, no body read */
		http_reply_stream(req, 200, length, seg_read, lr, seg_done);
		return;
	}
	if (size == 0) {
		lo_reader_free(lr);
		http_reply(req, 200, "", 0);
		return;
	}
	/* Swift's validate_first_segment: a first segment that cannot be
	 * read is a 409 before anything is sent */
	rc = range_start(lr);
	if (!rc && !lr->multi)
		rc = piece_next(lr);
	if (rc < 0) {
		proxy_reply_status(req, 409);
		goto fail;
	}
	http_reply_stream(req, lr->nranges ? 206 : 200, length, seg_read, lr,
			  seg_done);
	return;
fail:
	lo_reader_free(lr);
}

int lo_conditional(struct http_request *req, const struct proxy_path *p,
		   const char *etag, int64_t mtime, const char *disposition)
{
	int status;

	http_add_headerf(req, "Etag", "\"%s\"", etag);
	if (p->tempurl)
		tempurl_response_headers(req, p, disposition);
	status = cond_status(
		http_header(req, "If-Match"), http_header(req, "If-None-Match"),
		http_header(req, "If-Modified-Since"),
		http_header(req, "If-Unmodified-Since"), etag, mtime, 1);
	if (status)
		proxy_reply_status(req, status);
	return status;
}

void lo_resp_del(struct cluster_resp *r, const char *name)
{
	int i = 0;

	while (i < r->nhdrs) {
		if (strcasecmp(r->hdr_names[i], name)) {
			i++;
			continue;
		}
		cluster_resp_del(r, i);
	}
}

void lo_unquote(char *etag)
{
	size_t n;

	if (*etag == '"')
		memmove(etag, etag + 1, strlen(etag));
	n = strlen(etag);
	if (n && etag[n - 1] == '"')
		etag[n - 1] = '\0';
}
