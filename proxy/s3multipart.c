/*
 * proxy/s3multipart.c: S3's multipart uploads as Swift's s3api stores them
 * (swift/common/middleware/s3api/controllers/multi_upload.py), so that
 * either can read the other's:
 *
 *   <bucket>+segments/<key>/<upload-id>      the upload marker (empty;
 *       its sysmeta keeps the upload's Content-Type, its X-Object-Meta-*
 *       the object's metadata); there while the upload is open
 *   <bucket>+segments/<key>/<upload-id>/<N>  part N (1..10000)
 *
 *   CreateMultipartUpload  the segments container made if missing (in
 *                          the bucket's storage policy), the marker PUT,
 *                          a random upload id
 *   UploadPart(Copy)       marker checked (NoSuchUpload: unknown id, or an
 *                          id of another bucket or key), the part streamed
 *                          through s3object.c's upload or copy
 *   CompleteMultipartUpload the parts' XML checked (MalformedXML,
 *                          InvalidPartOrder, InvalidPart against the
 *                          segments' listing, EntityTooSmall for a
 *                          part but the last under [filter:s3api]
 *                          min_segment_size), then an SLO of the parts
 *                          stored by slo_store_quiet with the
 *                          S3 ETag "<md5 of the parts' md5s>-N" as sysmeta
 *                          (s3object.c answers it on GET/HEAD), then the
 *                          marker removed
 *   AbortMultipartUpload   the parts and the marker removed: 204
 *   ListParts, ListMultipartUploads  from the segments' listing
 *
 * Every check comes before the first write, so a refused request stores
 * and changes nothing. Errors are S3's XML (s3_error).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <jansson.h>

#include "common/log.h"
#include "common/md5.h"
#include "common/timestamp.h"
#include "proxy/internal.h"

#define SEGMENTS_SUFFIX	     "+segments"
#define MAX_PART_NUMBER	     10000
#define MAX_PARTS_LISTING    1000
#define MAX_UPLOADS_LISTING  1000
#define S3_SYSMETA_HAS_CTYPE "X-Object-Sysmeta-S3api-Has-Content-Type"
#define S3_SYSMETA_CTYPE     "X-Object-Sysmeta-S3api-Content-Type"
#define XMLNS		     " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""

/* The segments container of s's bucket and an object in it. 0, or
 * -ENAMETOOLONG. */
static int seg_path(const struct s3_req *s, struct proxy_path *out,
		    const char *fmt_obj, ...)
	__attribute__((format(printf, 3, 4)));

static int seg_path(const struct s3_req *s, struct proxy_path *out,
		    const char *fmt_obj, ...)
{
	va_list ap;
	size_t used;
	int n;

	memset(out, 0, sizeof(*out));
	n = snprintf(out->buf, sizeof(out->buf), "%s%c%s" SEGMENTS_SUFFIX "%c",
		     s->p.account, 0, s->bucket, 0);
	if (n < 0 || (size_t)n >= sizeof(out->buf))
		return -ENAMETOOLONG;
	out->account = out->buf;
	out->container = out->buf + strlen(s->p.account) + 1;
	used = (size_t)n;
	out->object = out->buf + used;
	va_start(ap, fmt_obj);
	n = vsnprintf(out->buf + used, sizeof(out->buf) - used, fmt_obj, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(out->buf) - used)
		return -ENAMETOOLONG;
	if (!n)
		out->object = NULL;
	out->user = s->p.user;
	out->service = s->p.service;
	out->owner = s->p.owner;
	return 0;
}

/* An upload id as s3api's: printable, no '/'. 1 when it may be one. */
static int upload_id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	size_t i;

	if (!n || n > 128)
		return 0;
	for (i = 0; i < n; i++)
		if (id[i] == '/' || (unsigned char)id[i] < 0x21 ||
		    (unsigned char)id[i] > 0x7e)
			return 0;
	return 1;
}

/*
 * The marker of s's upload (?uploadId): 0 with *marker (HEAD answer; the
 * caller frees it) and *id, or replied NoSuchUpload (unknown id, or one
 * of another bucket or key), NoSuchBucket, ... and returns the status.
 */
static int upload_marker(struct s3_req *s, struct cluster_resp *marker,
			 const char **id)
{
	struct proxy_path mp;
	char etag[80];
	int64_t size, mtime;
	int st;

	memset(marker, 0, sizeof(*marker));
	*id = s3_query(s, "uploadId");
	if (!upload_id_ok(*id) || seg_path(s, &mp, "%s/%s", s->key, *id)) {
		s3_error(s->req, 404, "NoSuchUpload", NULL, s->resource);
		return 404;
	}
	st = s3_head_object(s, &mp, marker, etag, &size, &mtime);
	if (st / 100 == 2)
		return 0;
	if (st == 404) {
		if (proxy_head_status(s->req, s->app, CLUSTER_CONTAINER,
				      &s->p) == 404)
			s3_error(s->req, 404, "NoSuchBucket", NULL,
				 s->resource);
		else
			s3_error(s->req, 404, "NoSuchUpload", NULL,
				 s->resource);
	} else {
		s3_error_status(s, st, NULL);
	}
	cluster_resp_free(marker);
	return st == 404 ? 404 : st;
}

/* A container PUT of p->container on every primary, answer by quorum
 * (no reply), in the storage policy of s's bucket (as s3api: an
 * erasure-coded bucket's parts are erasure-coded too). */
static int container_create(struct s3_req *s, const struct proxy_path *p)
{
	struct cluster_hdrs hdrs[CLUSTER_MAX_NODES];
	struct cluster_nodes nodes = {0}, accounts = {0};
	struct cluster_resp r = {0};
	char ts[32], policy[16];
	int i, n = 0, st = 503;

	memset(hdrs, 0, sizeof(hdrs));
	proxy_head_info(s->req, s->app, CLUSTER_CONTAINER, &s->p, &r);
	snprintf(policy, sizeof(policy), "%d", proxy_container_policy(&r));
	cluster_resp_free(&r);
	if (cluster_lookup(s->app->cluster, CLUSTER_CONTAINER, p->account,
			   p->container, NULL, &nodes) ||
	    cluster_lookup(s->app->cluster, CLUSTER_ACCOUNT, p->account, NULL,
			   NULL, &accounts))
		goto out;
	n = nodes.nprimary;
	proxy_timestamp(ts);
	for (i = 0; i < n; i++)
		if (cluster_hdrs_add(&hdrs[i], "X-Timestamp", ts) ||
		    cluster_hdrs_add(&hdrs[i], "X-Backend-Storage-Policy-Index",
				     policy)) {
			st = 500;
			goto out;
		}
	if (cluster_update_headers(hdrs, n, &accounts, "Account",
				   cluster_quorum(n) + 1)) {
		st = 500;
		goto out;
	}
	st = proxy_quorum_request(s->req, s->app, &nodes, "PUT", p, hdrs, n, 0,
				  0);
out:
	for (i = 0; i < n; i++)
		cluster_hdrs_free(&hdrs[i]);
	cluster_nodes_release(&accounts);
	cluster_nodes_release(&nodes);
	return st;
}

/* An empty object at p with headers set (no reply): the status. */
static int put_empty(struct s3_req *s, const struct proxy_path *p,
		     const struct cluster_hdrs *set)
{
	char etag[33];
	int st = 0;
	struct obj_put *o = proxy_object_put_open_quiet(
		s->req, s->app, p, 0, NULL, 0, set, s3_drop_headers, &st);

	if (!o)
		return st;
	st = proxy_object_put_finish(o, etag);
	proxy_object_put_free(o);
	return st;
}

/* --- CreateMultipartUpload ------------------------------------------------ */

static void mpu_create(struct s3_req *s)
{
	const char *ct = http_header(s->req, "Content-Type");
	struct cluster_hdrs set = {0};
	struct proxy_path mp;
	struct buf b = BUF_INIT;
	unsigned char rnd[16];
	char id[40];
	int i, st, rc;

	st = proxy_head_status(s->req, s->app, CLUSTER_CONTAINER, &s->p);
	if (st / 100 != 2) {
		s3_error_status(s, st, "NoSuchBucket");
		return;
	}
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		s3_error(s->req, 500, "InternalError", NULL, s->resource);
		return;
	}
	for (i = 0; i < 16; i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
	if (seg_path(s, &mp, "%s/%s", s->key, id) ||
	    strlen(mp.object) + 6 > MAX_OBJECT_NAME_LENGTH) {
		s3_error(s->req, 400, "KeyTooLongError", NULL, s->resource);
		return;
	}
	if (s3_request_meta(s, &set, 0))
		goto out;
	rc = cluster_hdrs_set(&set, S3_SYSMETA_HAS_CTYPE,
			      ct && *ct ? "yes" : "no");
	rc = rc
		     ?: (ct && *ct
				 ? cluster_hdrs_set(&set, S3_SYSMETA_CTYPE, ct)
				 : 0);
	rc = rc
		     ?: cluster_hdrs_set(&set, "Content-Type",
					 "application/directory");
	if (rc) {
		s3_error(s->req, 500, "InternalError", NULL, s->resource);
		goto out;
	}
	st = proxy_head_status(s->req, s->app, CLUSTER_CONTAINER, &mp);
	if (st == 404) {
		struct proxy_path cp;

		if (seg_path(s, &cp, "%s", ""))
			st = 500;
		else
			st = container_create(s, &cp);
	}
	if (st / 100 != 2) {
		s3_error_status(s, st, "NoSuchBucket");
		goto out;
	}
	st = put_empty(s, &mp, &set);
	if (st / 100 != 2) {
		s3_error_status(s, st, "NoSuchBucket");
		goto out;
	}
	rc = s3_xml_start(&b);
	rc = rc ?: buf_printf(&b, "<InitiateMultipartUploadResult" XMLNS ">");
	rc = rc ?: s3_xml_elem(&b, "Bucket", s->bucket);
	rc = rc ?: s3_xml_elem(&b, "Key", s->key);
	rc = rc ?: s3_xml_elem(&b, "UploadId", id);
	rc = rc ?: buf_printf(&b, "</InitiateMultipartUploadResult>");
	s3_reply_built(s, rc, &b);
out:
	buf_free(&b);
	cluster_hdrs_free(&set);
}

/* The body of a create is ignored; everything happens once it is in. */
static void mpu_create_headers(struct s3_req *s)
{
	(void)s;
}

const struct s3_handler s3_mpu_create = {mpu_create_headers, NULL, mpu_create,
					 NULL};

/* --- UploadPart, UploadPartCopy ------------------------------------------- */

/* ?partNumber as 1..10000: the number, or replied InvalidArgument. */
static int part_number(struct s3_req *s)
{
	const char *v = s3_query(s, "partNumber");
	char *end;
	long n = v ? strtol(v, &end, 10) : 0;

	if (!v || !*v || *end || n < 1 || n > MAX_PART_NUMBER) {
		char msg[96];

		snprintf(msg, sizeof(msg),
			 "Part number must be an integer between 1 and %d, "
			 "inclusive",
			 MAX_PART_NUMBER);
		s3_error(s->req, 400, "InvalidArgument", msg, s->resource);
		return -1;
	}
	return (int)n;
}

static void mpu_part(struct s3_req *s)
{
	struct cluster_resp marker;
	struct proxy_path pp;
	const char *id;
	int n;

	if (!http_query_has(s->req, "partNumber")) {
		s3_error(s->req, 400, "InvalidArgument",
			 "Unexpected query string parameter", s->resource);
		return;
	}
	n = part_number(s);
	if (n < 0 || upload_marker(s, &marker, &id))
		return;
	cluster_resp_free(&marker);
	if (seg_path(s, &pp, "%s/%s/%d", s->key, id, n)) {
		s3_error(s->req, 400, "KeyTooLongError", NULL, s->resource);
		return;
	}
	if (http_header(s->req, "x-amz-copy-source")) {
		s3_copy_to(s, &pp, 1);
		return;
	}
	s3_upload_open(s, &pp, NULL);
}

const struct s3_handler s3_mpu_part = {mpu_part, s3_upload_body, s3_upload_end,
				       s3_upload_close};

/* --- the parts of an upload ----------------------------------------------- */

struct part {
	int number;
	long long bytes;
	char hash[33];
	char last_modified[40];
};

static int part_cmp(const void *a, const void *b)
{
	return ((const struct part *)a)->number -
	       ((const struct part *)b)->number;
}

/*
 * The parts stored for upload id of s's key, sorted by number, into
 * *out (*n of them; the caller frees). 0, or replied and returns the
 * status.
 */
static int list_parts(struct s3_req *s, const char *id, struct part **out,
		      int *n)
{
	struct proxy_path sp;
	struct part *parts = NULL;
	json_t *list = NULL, *o;
	char prefix[MAX_OBJECT_NAME_LENGTH + 64];
	char enc[3 * sizeof(prefix)], marker[3 * sizeof(prefix)] = "";
	char q[sizeof(enc) + sizeof(marker) + 32];
	size_t i, plen;
	int st, cap = 0, more = 1;

	*out = NULL;
	*n = 0;
	snprintf(prefix, sizeof(prefix), "%s/%s/", s->key, id);
	plen = strlen(prefix);
	if (seg_path(s, &sp, "%s", "") ||
	    cluster_quote(prefix, enc, sizeof(enc)) < 0)
		goto fail;
	/* up to 10000 parts, one listing page each 10000 names */
	while (more) {
		snprintf(q, sizeof(q), "prefix=%s&marker=%s", enc, marker);
		st = s3_container_listing(s, sp.container, q, &list);
		if (st == 404 || st == 204) {
			st = 200;
			break;
		}
		if (st / 100 != 2) {
			s3_error_status(s, st, NULL);
			goto out;
		}
		more = json_array_size(list) > 0;
		json_array_foreach(list, i, o)
		{
			const char *name =
				json_string_value(json_object_get(o, "name"));
			const char *hash =
				json_string_value(json_object_get(o, "hash"));
			const char *lm = json_string_value(
				json_object_get(o, "last_modified"));
			char *end;
			long num;

			if (!name)
				continue;
			if (cluster_quote(name, marker, sizeof(marker)) < 0)
				goto fail;
			if (strncmp(name, prefix, plen))
				continue;
			num = strtol(name + plen, &end, 10);
			if (*end || end == name + plen || num < 1 ||
			    num > MAX_PART_NUMBER)
				continue;
			if (*n == cap) {
				struct part *g;

				cap = cap ? 2 * cap : 64;
				g = realloc(parts, sizeof(*g) * (size_t)cap);
				if (!g)
					goto fail;
				parts = g;
			}
			parts[*n].number = (int)num;
			parts[*n].bytes = (long long)json_integer_value(
				json_object_get(o, "bytes"));
			snprintf(parts[*n].hash, sizeof(parts[*n].hash), "%s",
				 hash ? hash : "");
			snprintf(parts[*n].last_modified,
				 sizeof(parts[*n].last_modified), "%s",
				 lm ? lm : "");
			(*n)++;
		}
		json_decref(list);
		list = NULL;
	}
	if (*n)
		qsort(parts, (size_t)*n, sizeof(*parts), part_cmp);
	*out = parts;
	return 0;
fail:
	s3_error(s->req, 500, "InternalError", NULL, s->resource);
	st = 500;
out:
	json_decref(list);
	free(parts);
	*n = 0;
	return st;
}

static struct part *find_part(struct part *parts, int n, int number)
{
	struct part key = {.number = number};

	return n ? bsearch(&key, parts, (size_t)n, sizeof(*parts), part_cmp)
		 : NULL;
}

/* --- CompleteMultipartUpload ---------------------------------------------- */

static int hex_digest(const char *etag, uint8_t out[MD5_LEN])
{
	int i;
	unsigned v;

	if (strlen(etag) != 32)
		return -EINVAL;
	for (i = 0; i < 32; i++)
		if (!strchr("0123456789abcdef", etag[i]))
			return -EINVAL;
	for (i = 0; i < MD5_LEN; i++) {
		sscanf(etag + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* The headers of the finished object from the marker: its metadata and
 * Content-Type (with swift_bytes), the S3 ETag and upload id. */
static int complete_headers(struct s3_req *s, const struct cluster_resp *m,
			    const char *id, const char *s3etag, long long total,
			    struct cluster_hdrs *h)
{
	static const char *const kept[] = {
		"Content-Encoding", "Content-Language", "Content-Disposition",
		"Expires", "Cache-Control"};
	const char *has = cluster_resp_header(m, S3_SYSMETA_HAS_CTYPE);
	const char *ct = cluster_resp_header(m, S3_SYSMETA_CTYPE);
	size_t i;
	int k, rc = 0;

	for (k = 0; k < m->nhdrs && !rc; k++)
		if (!strncasecmp(m->hdr_names[k], "X-Object-Meta-", 14))
			rc = cluster_hdrs_add(h, m->hdr_names[k],
					      m->hdr_values[k]);
	for (i = 0; i < sizeof(kept) / sizeof(kept[0]) && !rc; i++)
		if (cluster_resp_header(m, kept[i]))
			rc = cluster_hdrs_add(h, kept[i],
					      cluster_resp_header(m, kept[i]));
	if (!rc)
		rc = cluster_hdrs_addf(h, "Content-Type", "%s;swift_bytes=%lld",
				       has && !strcmp(has, "yes") && ct
					       ? ct
					       : guess_content_type(s->key),
				       total);
	rc = rc ?: cluster_hdrs_add(h, S3_SYSMETA_ETAG, s3etag);
	rc = rc ?: cluster_hdrs_add(h, S3_SYSMETA_UPLOAD_ID, id);
	return rc;
}

static void mpu_complete_headers(struct s3_req *s)
{
	(void)s;
}

static void mpu_complete(struct s3_req *s)
{
	struct cluster_resp marker = {0};
	struct s3_xml *x = NULL;
	const struct s3_xml *pe;
	struct part *parts = NULL, *pt;
	struct slo_seg_in *segs = NULL;
	struct cluster_hdrs more = {0};
	struct proxy_path mp;
	struct buf b = BUF_INIT, digests = BUF_INIT;
	const char *id;
	char s3etag[48], slo_etag[33], hex[33], etag[40];
	uint8_t d[MD5_LEN];
	long long total = 0;
	int nparts = 0, nsegs = 0, prev = 0, i, st, rc;

	if (upload_marker(s, &marker, &id))
		return;
	if (s3_xml_parse((const char *)s->body.data, s->body.len, &x) ||
	    strcmp(x->name, "CompleteMultipartUpload") ||
	    !s3_xml_child(x, "Part"))
		goto malformed;
	for (pe = s3_xml_child(x, "Part"); pe; pe = s3_xml_next(pe, "Part")) {
		const struct s3_xml *num = s3_xml_child(pe, "PartNumber");
		const struct s3_xml *et = s3_xml_child(pe, "ETag");
		char *end;
		long n;

		if (!num || !et)
			goto malformed;
		n = strtol(num->text, &end, 10);
		if (!*num->text || *end)
			goto malformed;
		if (n <= prev) {
			s3_error(s->req, 400, "InvalidPartOrder", NULL,
				 s->resource);
			goto out;
		}
		prev = (int)n;
		nsegs++;
	}
	if (nsegs > MAX_PART_NUMBER)
		goto malformed;
	if (list_parts(s, id, &parts, &nparts))
		goto out;
	segs = calloc((size_t)nsegs, sizeof(*segs));
	if (!segs)
		goto oom;
	i = 0;
	for (pe = s3_xml_child(x, "Part"); pe;
	     pe = s3_xml_next(pe, "Part"), i++) {
		int n = atoi(s3_xml_child(pe, "PartNumber")->text);

		snprintf(etag, sizeof(etag), "%s",
			 s3_xml_child(pe, "ETag")->text);
		lo_unquote(etag);
		pt = find_part(parts, nparts, n);
		if (!pt || hex_digest(etag, d) || strcmp(pt->hash, etag)) {
			s3_error(s->req, 400, "InvalidPart", NULL, s->resource);
			goto out;
		}
		if (i < nsegs - 1 &&
		    pt->bytes < s->app->conf->s3_min_segment_size) {
			s3_error(s->req, 400, "EntityTooSmall", NULL,
				 s->resource);
			goto out;
		}
		if (buf_append(&digests, d, MD5_LEN) ||
		    asprintf(&segs[i].path, "/%s" SEGMENTS_SUFFIX "/%s/%s/%d",
			     s->bucket, s->key, id, n) < 0 ||
		    !(segs[i].etag = strdup(etag)))
			goto oom;
		segs[i].size_bytes = pt->bytes;
		total += pt->bytes;
	}
	md5_buf(digests.data, digests.len, d);
	md5_hex(d, hex);
	snprintf(s3etag, sizeof(s3etag), "%s-%d", hex, nsegs);
	if (complete_headers(s, &marker, id, s3etag, total, &more))
		goto oom;
	st = slo_store_quiet(s->req, s->app, &s->p, segs, nsegs, &more,
			     s3_drop_headers, slo_etag);
	if (st == 400) {
		/* a part went away since the listing */
		s3_error(s->req, 400, "InvalidPart", NULL, s->resource);
		goto out;
	}
	if (st / 100 != 2) {
		s3_error_status(s, st, "NoSuchBucket");
		goto out;
	}
	if (!seg_path(s, &mp, "%s/%s", s->key, id))
		proxy_object_delete_quiet(s->req, s->app, &mp);
	rc = s3_xml_start(&b);
	rc = rc ?: buf_printf(&b, "<CompleteMultipartUploadResult" XMLNS ">");
	rc = rc
		     ?: buf_printf(&b, "<Location>http://%s/",
				   http_header(s->req, "Host") ?: "localhost");
	rc = rc ?: s3_xml_escape(&b, s->bucket);
	rc = rc ?: buf_printf(&b, "/");
	rc = rc ?: s3_xml_escape(&b, s->key);
	rc = rc ?: buf_printf(&b, "</Location>");
	rc = rc ?: s3_xml_elem(&b, "Bucket", s->bucket);
	rc = rc ?: s3_xml_elem(&b, "Key", s->key);
	rc = rc ?: s3_xml_elemf(&b, "ETag", "\"%s\"", s3etag);
	rc = rc ?: buf_printf(&b, "</CompleteMultipartUploadResult>");
	if (rc)
		goto oom;
	s3_reply_xml(s->req, 200, &b);
	goto out;
malformed:
	s3_error(s->req, 400, "MalformedXML", NULL, s->resource);
	goto out;
oom:
	s3_error(s->req, 500, "InternalError", NULL, s->resource);
out:
	slo_segs_free(segs, nsegs);
	free(parts);
	cluster_hdrs_free(&more);
	cluster_resp_free(&marker);
	buf_free(&digests);
	buf_free(&b);
	s3_xml_free(x);
}

const struct s3_handler s3_mpu_complete = {mpu_complete_headers, NULL,
					   mpu_complete, NULL};

/* --- AbortMultipartUpload ------------------------------------------------- */

static void mpu_abort(struct s3_req *s)
{
	struct cluster_resp marker;
	struct part *parts = NULL;
	struct proxy_path pp;
	const char *id;
	int n = 0, i;

	if (upload_marker(s, &marker, &id))
		return;
	cluster_resp_free(&marker);
	if (list_parts(s, id, &parts, &n))
		return;
	for (i = 0; i < n; i++)
		if (!seg_path(s, &pp, "%s/%s/%d", s->key, id, parts[i].number))
			proxy_object_delete_quiet(s->req, s->app, &pp);
	free(parts);
	if (!seg_path(s, &pp, "%s/%s", s->key, id))
		proxy_object_delete_quiet(s->req, s->app, &pp);
	http_add_header(s->req, "x-amz-request-id", http_txn(s->req));
	http_reply(s->req, 204, "", 0);
}

const struct s3_handler s3_mpu_abort = {mpu_abort, NULL, NULL, NULL};

/* --- ListParts ------------------------------------------------------------ */

/* An integer query argument in [0, max] (def when absent): the value, or
 * replied InvalidArgument and -1. */
static long query_int(struct s3_req *s, const char *name, long def, long max)
{
	const char *v = s3_query(s, name);
	char *end;
	long n;

	if (!v)
		return def;
	n = strtol(v, &end, 10);
	if (!*v || *end || n < 0) {
		s3_error(s->req, 400, "InvalidArgument",
			 "Provided value is not a non-negative integer",
			 s->resource);
		return -1;
	}
	return n > max ? max : n;
}

static void mpu_parts(struct s3_req *s)
{
	struct cluster_resp marker;
	struct part *parts = NULL;
	struct buf b = BUF_INIT;
	const char *id;
	char date[32];
	long maxp, pmark;
	int n = 0, i, first, shown = 0, rc;

	maxp = query_int(s, "max-parts", MAX_PARTS_LISTING, MAX_PARTS_LISTING);
	if (maxp < 0)
		return;
	pmark = query_int(s, "part-number-marker", 0, MAX_PART_NUMBER);
	if (pmark < 0 || upload_marker(s, &marker, &id))
		return;
	cluster_resp_free(&marker);
	if (list_parts(s, id, &parts, &n))
		return;
	for (first = 0; first < n && parts[first].number <= pmark; first++)
		;
	shown = n - first < maxp ? n - first : (int)maxp;
	rc = s3_xml_start(&b);
	rc = rc ?: buf_printf(&b, "<ListPartsResult" XMLNS ">");
	rc = rc ?: s3_xml_elem(&b, "Bucket", s->bucket);
	rc = rc ?: s3_xml_elem(&b, "Key", s->key);
	rc = rc ?: s3_xml_elem(&b, "UploadId", id);
	rc = rc ?: buf_printf(&b, "<Initiator>");
	rc = rc ?: s3_xml_elem(&b, "ID", s->access_key);
	rc = rc ?: s3_xml_elem(&b, "DisplayName", s->access_key);
	rc = rc ?: buf_printf(&b, "</Initiator>");
	rc = rc ?: s3_xml_owner(&b, s);
	rc = rc ?: s3_xml_elem(&b, "StorageClass", "STANDARD");
	rc = rc ?: s3_xml_elemf(&b, "PartNumberMarker", "%ld", pmark);
	rc = rc
		     ?: s3_xml_elemf(&b, "NextPartNumberMarker", "%d",
				     shown ? parts[first + shown - 1].number
					   : 0);
	rc = rc ?: s3_xml_elemf(&b, "MaxParts", "%ld", maxp);
	rc = rc
		     ?: s3_xml_elem(&b, "IsTruncated",
				    first + shown < n ? "true" : "false");
	for (i = first; i < first + shown && !rc; i++) {
		s3_iso8601_listing(parts[i].last_modified, date);
		rc = buf_printf(&b, "<Part>");
		rc = rc
			     ?: s3_xml_elemf(&b, "PartNumber", "%d",
					     parts[i].number);
		rc = rc ?: s3_xml_elem(&b, "LastModified", date);
		rc = rc ?: s3_xml_elemf(&b, "ETag", "\"%s\"", parts[i].hash);
		rc = rc ?: s3_xml_elemf(&b, "Size", "%lld", parts[i].bytes);
		rc = rc ?: buf_printf(&b, "</Part>");
	}
	rc = rc ?: buf_printf(&b, "</ListPartsResult>");
	s3_reply_built(s, rc, &b);
	free(parts);
	buf_free(&b);
}

const struct s3_handler s3_mpu_parts = {mpu_parts, NULL, NULL, NULL};

/* --- ListMultipartUploads ------------------------------------------------- */

/* One open upload (a marker's name "<key>/<id>"). */
struct upload {
	char *key, *id;
	char last_modified[40];
};

static void mpu_list(struct s3_req *s)
{
	const char *prefix = s3_query(s, "prefix");
	const char *delim = s3_query(s, "delimiter");
	const char *kmark = s3_query(s, "key-marker");
	const char *umark = s3_query(s, "upload-id-marker");
	struct upload *ups = NULL;
	char **cps = NULL;
	struct proxy_path sp;
	struct buf b = BUF_INIT;
	json_t *list = NULL, *o;
	char enc[3 * 2048], marker[3 * 2048] = "", date[32];
	char q[sizeof(enc) + sizeof(marker) + 32];
	long maxu;
	int nu = 0, ncp = 0, i, st, rc, truncated = 0;
	size_t k;

	maxu = query_int(s, "max-uploads", MAX_UPLOADS_LISTING,
			 MAX_UPLOADS_LISTING);
	if (maxu < 0)
		return;
	st = proxy_head_status(s->req, s->app, CLUSTER_CONTAINER, &s->p);
	if (st / 100 != 2) {
		s3_error_status(s, st, "NoSuchBucket");
		return;
	}
	if (kmark && *kmark) {
		char m[2048 + 160];

		snprintf(m, sizeof(m), "%s/%s", kmark,
			 umark && *umark ? umark : "~");
		if (cluster_quote(m, marker, sizeof(marker)) < 0)
			goto oom;
	}
	if (cluster_quote(prefix ? prefix : "", enc, sizeof(enc)) < 0 ||
	    seg_path(s, &sp, "%s", ""))
		goto oom;
	for (;;) {
		snprintf(q, sizeof(q), "prefix=%s&marker=%s", enc, marker);
		st = s3_container_listing(s, sp.container, q, &list);
		if (st / 100 != 2 || st == 204 || !json_array_size(list))
			break;
		json_array_foreach(list, k, o)
		{
			const char *name =
				json_string_value(json_object_get(o, "name"));
			const char *lm = json_string_value(
				json_object_get(o, "last_modified"));
			const char *slash, *c;
			struct upload *g;

			if (!name ||
			    cluster_quote(name, marker, sizeof(marker)) < 0)
				goto oom;
			slash = strrchr(name, '/');
			if (!slash || slash == name || !slash[1])
				continue;
			for (c = slash + 1; *c >= '0' && *c <= '9'; c++)
				;
			if (!*c)
				continue; /* a part: "<key>/<id>/<N>" */
			if (delim && *delim) {
				size_t pl = prefix ? strlen(prefix) : 0;
				const char *d = strstr(name + pl, delim);

				if (d && d < slash) {
					size_t cl = (size_t)(d - name) +
						    strlen(delim);

					if (ncp &&
					    !strncmp(cps[ncp - 1], name, cl) &&
					    !cps[ncp - 1][cl])
						continue;
					if (nu + ncp >= maxu) {
						truncated = 1;
						goto done;
					}
					char **gc = realloc(
						cps, sizeof(*gc) *
							     (size_t)(ncp + 1));
					if (!gc)
						goto oom;
					cps = gc;
					cps[ncp] = strndup(name, cl);
					if (!cps[ncp++])
						goto oom;
					continue;
				}
			}
			if (nu + ncp >= maxu) {
				truncated = 1;
				goto done;
			}
			g = realloc(ups, sizeof(*g) * (size_t)(nu + 1));
			if (!g)
				goto oom;
			ups = g;
			ups[nu].key = strndup(name, (size_t)(slash - name));
			ups[nu].id = strdup(slash + 1);
			snprintf(ups[nu].last_modified,
				 sizeof(ups[nu].last_modified), "%s",
				 lm ? lm : "");
			if (!ups[nu].key || !ups[nu++].id)
				goto oom;
		}
		json_decref(list);
		list = NULL;
	}
done:
	rc = s3_xml_start(&b);
	rc = rc ?: buf_printf(&b, "<ListMultipartUploadsResult" XMLNS ">");
	rc = rc ?: s3_xml_elem(&b, "Bucket", s->bucket);
	rc = rc ?: s3_xml_elem(&b, "KeyMarker", kmark ? kmark : "");
	rc = rc ?: s3_xml_elem(&b, "UploadIdMarker", umark ? umark : "");
	rc = rc
		     ?: s3_xml_elem(&b, "NextKeyMarker",
				    truncated && nu ? ups[nu - 1].key : "");
	rc = rc
		     ?: s3_xml_elem(&b, "NextUploadIdMarker",
				    truncated && nu ? ups[nu - 1].id : "");
	if (delim)
		rc = rc ?: s3_xml_elem(&b, "Delimiter", delim);
	if (prefix)
		rc = rc ?: s3_xml_elem(&b, "Prefix", prefix);
	rc = rc ?: s3_xml_elemf(&b, "MaxUploads", "%ld", maxu);
	rc = rc ?: s3_xml_elem(&b, "IsTruncated", truncated ? "true" : "false");
	for (i = 0; i < nu && !rc; i++) {
		s3_iso8601_listing(ups[i].last_modified, date);
		rc = buf_printf(&b, "<Upload>");
		rc = rc ?: s3_xml_elem(&b, "Key", ups[i].key);
		rc = rc ?: s3_xml_elem(&b, "UploadId", ups[i].id);
		rc = rc ?: buf_printf(&b, "<Initiator>");
		rc = rc ?: s3_xml_elem(&b, "ID", s->access_key);
		rc = rc ?: s3_xml_elem(&b, "DisplayName", s->access_key);
		rc = rc ?: buf_printf(&b, "</Initiator>");
		rc = rc ?: s3_xml_owner(&b, s);
		rc = rc ?: s3_xml_elem(&b, "StorageClass", "STANDARD");
		rc = rc ?: s3_xml_elem(&b, "Initiated", date);
		rc = rc ?: buf_printf(&b, "</Upload>");
	}
	for (i = 0; i < ncp && !rc; i++) {
		rc = buf_printf(&b, "<CommonPrefixes>");
		rc = rc ?: s3_xml_elem(&b, "Prefix", cps[i]);
		rc = rc ?: buf_printf(&b, "</CommonPrefixes>");
	}
	rc = rc ?: buf_printf(&b, "</ListMultipartUploadsResult>");
	if (rc)
		goto oom;
	s3_reply_xml(s->req, 200, &b);
	goto out;
oom:
	s3_error(s->req, 500, "InternalError", NULL, s->resource);
out:
	for (i = 0; i < nu; i++) {
		free(ups[i].key);
		free(ups[i].id);
	}
	free(ups);
	for (i = 0; i < ncp; i++)
		free(cps[i]);
	free(cps);
	json_decref(list);
	buf_free(&b);
}

const struct s3_handler s3_mpu_list = {mpu_list, NULL, NULL, NULL};
