/*
 * proxy/s3.c: the S3 front of the proxy, as Swift's s3api: which requests
 * are S3 (s3_detect), the bucket and key they address (path style
 * /bucket/key, or virtual-host style Host: bucket.<storage_domain>), the
 * dispatch table (s3_routes: method, bucket?, key?, subresource →
 * handler), the request context every S3 handler gets (struct s3_req),
 * the body pipe between libmicrohttpd and the handlers, S3's XML error
 * replies (with RequestId = the transaction id) and the XML helpers
 * (escaping for answers, expat for request bodies).
 *
 * It leaves the signatures and the body checks to s3auth.c, buckets to
 * s3bucket.c, objects and multipart uploads to s3object.c and
 * s3multipart.c, and who may do what to tempauth.c (tempauth_allowed on
 * the request's proxy_path). The life of a request and the handlers'
 * invariants are in internal.h, section S3.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <expat.h>

#include "common/log.h"
#include "proxy/internal.h"

/* --- detection and addressing --------------------------------------- */

/*
 * Non-zero when an unsigned request's path starts with a Swift API version
 * (/v1, /v1.0, /v2...): Swift answers it (400 for a version it lacks).
 */
static int swift_version_path(const char *raw)
{
	size_t n;

	if (raw[0] != '/' || raw[1] != 'v')
		return 0;
	n = strspn(raw + 2, "0123456789.");
	return n > 0 && (raw[2 + n] == '/' || raw[2 + n] == '\0');
}

int s3_detect(struct http_request *req)
{
	const char *auth = http_header(req, "Authorization");
	const char *raw = http_raw_path(req);

	if (auth && (!strncmp(auth, "AWS4-HMAC-SHA256 ", 17) ||
		     !strncmp(auth, "AWS ", 4)))
		return 1;
	if (http_query_has(req, "X-Amz-Algorithm") ||
	    (http_query_has(req, "AWSAccessKeyId") &&
	     http_query_has(req, "Signature")))
		return 1;
	if (!strncmp(raw, "/auth/", 6) || !strcmp(raw, "/auth") ||
	    !strcmp(raw, "/info") || !strcmp(raw, "/healthcheck") ||
	    swift_version_path(raw))
		return 0;
	return 1;
}

/*
 * The bucket of a virtual-host-style request: Host "<bucket>.<domain>"
 * (port ignored) into out. 1 when found, 0 when path style.
 */
static int vhost_bucket(const struct s3_req *s, char *out, size_t outlen)
{
	const char *domain = s->app->conf->s3_storage_domain;
	const char *host = http_header(s->req, "Host");
	size_t hl, dl = strlen(domain);
	const char *colon;

	if (!host || !dl)
		return 0;
	colon = strrchr(host, ':');
	hl = colon && !strchr(colon, ']') ? (size_t)(colon - host)
					  : strlen(host);
	if (hl <= dl + 1 || strncasecmp(host + hl - dl, domain, dl) ||
	    host[hl - dl - 1] != '.' || hl - dl - 1 >= outlen)
		return 0;
	snprintf(out, outlen, "%.*s", (int)(hl - dl - 1), host);
	return 1;
}

/* Fill s->p.container/object (decoded, in s->p.buf) from the Host and
 * path. 0, or replied 400 and returns it. */
static int s3_address(struct s3_req *s)
{
	const char *raw = http_raw_path(s->req);
	char vb[256], *segs[2];
	size_t used = 0;
	int n;

	if (vhost_bucket(s, vb, sizeof(vb))) {
		used = strlen(vb) + 1;
		memcpy(s->p.buf, vb, used);
		s->p.container = s->p.buf;
		n = http_split_path(raw, s->p.buf + used,
				    sizeof(s->p.buf) - used, segs, 1);
		if (n < 0)
			goto bad;
		if (n == 1 && *segs[0])
			s->p.object = segs[0];
	} else {
		n = http_split_path(raw, s->p.buf, sizeof(s->p.buf), segs, 2);
		if (n < 0)
			goto bad;
		if (n >= 1 && *segs[0])
			s->p.container = segs[0];
		if (n == 2 && *segs[1])
			s->p.object = segs[1];
	}
	s->bucket = s->p.container;
	s->key = s->p.object;
	if (s->key && strlen(s->key) > MAX_OBJECT_NAME_LENGTH) {
		s3_error(s->req, 400, "KeyTooLongError", NULL, NULL);
		return 400;
	}
	snprintf(s->resource, sizeof(s->resource), "/%s%s%s",
		 s->bucket ? s->bucket : "", s->key ? "/" : "",
		 s->key ? s->key : "");
	return 0;
bad:
	s3_error(s->req, 400, "InvalidURI", NULL, NULL);
	return 400;
}

/* --- the dispatch table ---------------------------------------------- */

const struct s3_route s3_routes[] = {
	{"GET", S3_NO, S3_NO, NULL, S3_AUTHZ_NONE, &s3_list_buckets,
	 "ListBuckets"},
	{"GET", S3_YES, S3_NO, "acl", S3_AUTHZ_OWNER, &s3_bucket_acl_get,
	 "GetBucketAcl"},
	{"PUT", S3_YES, S3_NO, "acl", S3_AUTHZ_OWNER, &s3_bucket_acl_put,
	 "PutBucketAcl"},
	{"GET", S3_YES, S3_NO, "location", S3_AUTHZ_READ, &s3_bucket_location,
	 "GetBucketLocation"},
	{"GET", S3_YES, S3_NO, "uploads", S3_AUTHZ_READ, &s3_mpu_list,
	 "ListMultipartUploads"},
	{"POST", S3_YES, S3_NO, "delete", S3_AUTHZ_NONE, &s3_objects_delete,
	 "DeleteObjects"},
	{"GET", S3_YES, S3_NO, NULL, S3_AUTHZ_READ, &s3_bucket_get,
	 "ListObjects"},
	{"PUT", S3_YES, S3_NO, NULL, S3_AUTHZ_WRITE, &s3_bucket_put,
	 "CreateBucket"},
	{"DELETE", S3_YES, S3_NO, NULL, S3_AUTHZ_WRITE, &s3_bucket_delete,
	 "DeleteBucket"},
	{"GET", S3_YES, S3_YES, "acl", S3_AUTHZ_READ, &s3_object_acl_get,
	 "GetObjectAcl"},
	{"PUT", S3_YES, S3_YES, "acl", S3_AUTHZ_OWNER, &s3_object_acl_put,
	 "PutObjectAcl"},
	{"POST", S3_YES, S3_YES, "uploads", S3_AUTHZ_WRITE, &s3_mpu_create,
	 "CreateMultipartUpload"},
	{"PUT", S3_YES, S3_YES, "uploadId", S3_AUTHZ_WRITE, &s3_mpu_part,
	 "UploadPart"},
	{"POST", S3_YES, S3_YES, "uploadId", S3_AUTHZ_WRITE, &s3_mpu_complete,
	 "CompleteMultipartUpload"},
	{"DELETE", S3_YES, S3_YES, "uploadId", S3_AUTHZ_WRITE, &s3_mpu_abort,
	 "AbortMultipartUpload"},
	{"GET", S3_YES, S3_YES, "uploadId", S3_AUTHZ_READ, &s3_mpu_parts,
	 "ListParts"},
	{"GET", S3_YES, S3_YES, NULL, S3_AUTHZ_READ, &s3_object_get,
	 "GetObject"},
	{"PUT", S3_YES, S3_YES, NULL, S3_AUTHZ_WRITE, &s3_object_put,
	 "PutObject"},
	{"DELETE", S3_YES, S3_YES, NULL, S3_AUTHZ_WRITE, &s3_object_delete,
	 "DeleteObject"},
	{NULL},
};

/* s3api's ALLOWED_SUB_RESOURCES (what V2 signs), sorted. */
const char *const s3_subresources[] = {
	"acl",	    "cors",	      "delete",	      "lifecycle",
	"location", "logging",	      "notification", "partNumber",
	"policy",   "requestPayment", "tagging",      "torrent",
	"uploadId", "uploads",	      "versionId",    "versioning",
	"versions", "website"};
const int s3_nsubresources =
	(int)(sizeof(s3_subresources) / sizeof(s3_subresources[0]));

/* The subresources the table routes on, by priority; "" : routed nowhere
 * (501). Others (partNumber, versionId) go along with the plain route. */
static const char *const routed_subs[] = {"uploadId",
					  "uploads",
					  "acl",
					  "location",
					  "delete",
					  "cors",
					  "lifecycle",
					  "logging",
					  "notification",
					  "policy",
					  "requestPayment",
					  "tagging",
					  "torrent",
					  "versioning",
					  "versions",
					  "website",
					  "encryption",
					  "replication",
					  "object-lock",
					  "accelerate",
					  "analytics",
					  "inventory",
					  "metrics",
					  "ownershipControls",
					  "publicAccessBlock",
					  "intelligent-tiering",
					  "restore",
					  "select",
					  "legal-hold",
					  "retention",
					  "attributes"};

static const char *request_sub(struct http_request *req)
{
	size_t i;

	for (i = 0; i < sizeof(routed_subs) / sizeof(routed_subs[0]); i++)
		if (http_query_has(req, routed_subs[i]))
			return routed_subs[i];
	return NULL;
}

static int sub_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* The route of s; NULL when none (replied 405 or 501). */
static const struct s3_route *route_find(struct s3_req *s)
{
	const char *m = http_method(s->req), *sub = request_sub(s->req);
	int hasb = s->bucket != NULL, hask = s->key != NULL, shape = 0, i;

	for (i = 0; s3_routes[i].method; i++) {
		const struct s3_route *r = &s3_routes[i];

		if (r->bucket != hasb || r->key != hask || !sub_eq(r->sub, sub))
			continue;
		shape = 1;
		if (!strcmp(r->method, m) ||
		    (!strcmp(m, "HEAD") && !strcmp(r->method, "GET") && !sub))
			return r;
	}
	if (shape)
		s3_error(s->req, 405, "MethodNotAllowed", NULL, s->resource);
	else
		s3_error(s->req, 501, "NotImplemented", NULL, s->resource);
	return NULL;
}

/* Route authorization with tempauth's rules; 0 or replied 403. */
static int authorize(struct s3_req *s)
{
	const char *m = http_method(s->req);
	int status;

	switch (s->route->authz) {
	case S3_AUTHZ_NONE:
		return 0;
	case S3_AUTHZ_READ:
		m = "GET";
		break;
	case S3_AUTHZ_WRITE:
	case S3_AUTHZ_OWNER:
		if (!strcmp(m, "POST") && s->key)
			m = "PUT";
		break;
	}
	/* an anonymous request names no account (tempauth_allowed needs
	 * one): nothing to allow it */
	status =
		s->p.account ? tempauth_allowed(s->req, s->app, m, &s->p) : 403;
	if (!status && s->route->authz == S3_AUTHZ_OWNER && !s->p.owner)
		status = 403;
	if (!status)
		return 0;
	s3_error(s->req, 403, "AccessDenied", NULL, s->resource);
	return 403;
}

const char *s3_query(const struct s3_req *s, const char *name)
{
	return http_query(s->req, name);
}

/* --- the http handler ------------------------------------------------ */

static void s3_on_headers(struct http_request *req)
{
	struct s3_req *s = calloc(1, sizeof(*s));

	if (!s) {
		s3_error(req, 500, "InternalError", NULL, NULL);
		return;
	}
	s->req = req;
	s->app = http_app(req);
	s->length = -1;
	http_set_state(req, s);
	if (http_content_length(req) < 0 &&
	    http_header(req, "Content-Length")) {
		s3_error(req, 400, "InvalidArgument", "Invalid Content-Length",
			 NULL);
		return;
	}
	if (s3_address(s) || s3_auth_request(s))
		return;
	if (!s->p.account) {
		/* anonymous: no account to look the bucket up in (yet) */
		s3_error(req, 403, "AccessDenied", NULL, s->resource);
		return;
	}
	s->route = route_find(s);
	if (!s->route)
		return;
	s->sub = s->route->sub;
	if (authorize(s))
		return;
	log_debug("txn=%s s3 %s %s", http_txn(req), s->route->op, s->resource);
	s->route->h->on_headers(s);
}

/* Bytes the pipe lets through: to the handler, or collected. */
static void emit(struct s3_req *s, const char *data, size_t n)
{
	if (http_replied(s->req) || !n)
		return;
	if (s->route->h->on_body) {
		s->route->h->on_body(s, data, n);
		return;
	}
	if (s->body.len + n > S3_MAX_BODY) {
		s3_error(s->req, 400, "MaxMessageLengthExceeded", NULL,
			 s->resource);
		return;
	}
	if (buf_append(&s->body, data, n))
		s3_error(s->req, 500, "InternalError", NULL, NULL);
}

static void s3_on_body(struct http_request *req, const char *data, size_t len)
{
	struct s3_req *s = http_state(req);

	if (!s || !s->route || http_replied(req))
		return;
	s3_body_feed(s, data, len, emit);
}

static void s3_on_end(struct http_request *req)
{
	struct s3_req *s = http_state(req);

	if (!s || !s->route) {
		s3_error(req, 500, "InternalError", NULL, NULL);
		return;
	}
	if (s3_body_end(s, emit) || http_replied(req))
		return;
	if (s->route->h->on_end)
		s->route->h->on_end(s);
	else
		s3_error(req, 500, "InternalError", NULL, NULL);
}

static void s3_on_close(struct http_request *req, int completed)
{
	struct s3_req *s = http_state(req);

	if (!s)
		return;
	/* a reply before on_end with a handler that streams a body means
	 * the body was refused: the handler aborts its upload */
	if (s->route && s->route->h->on_close)
		s->route->h->on_close(s, completed && !s->aborted);
	s3_body_free(s->dec);
	buf_free(&s->body);
	free(s);
	http_set_state(req, NULL);
}

const struct http_handler s3_http_handler = {s3_on_headers, s3_on_body,
					     s3_on_end, s3_on_close};

void s3_not_implemented(struct s3_req *s)
{
	s3_error(s->req, 501, "NotImplemented", NULL, s->resource);
}

/* --- errors ---------------------------------------------------------- */

struct s3_code {
	const char *code, *message;
};

static const struct s3_code codes[] = {
	{"AccessDenied", "Access Denied."},
	{"BadDigest", "The Content-MD5 you specified did not match what we "
		      "received."},
	{"BucketAlreadyExists", "The requested bucket name is not available. "
				"The bucket namespace is shared by all users "
				"of the system. Please select a different "
				"name and try again."},
	{"BucketAlreadyOwnedByYou", "Your previous request to create the named "
				    "bucket succeeded and you already own "
				    "it."},
	{"BucketNotEmpty", "The bucket you tried to delete is not empty"},
	{"EntityTooLarge", "Your proposed upload exceeds the maximum allowed "
			   "object size."},
	{"EntityTooSmall", "Your proposed upload is smaller than the minimum "
			   "allowed object size."},
	{"IncompleteBody", "The request body terminated unexpectedly"},
	{"InternalError", "We encountered an internal error. Please try "
			  "again."},
	{"InvalidAccessKeyId", "The AWS Access Key Id you provided does not "
			       "exist in our records."},
	{"InvalidArgument", "Invalid Argument"},
	{"InvalidBucketName", "The specified bucket is not valid."},
	{"InvalidDigest", "The Content-MD5 you specified was invalid."},
	{"InvalidLocationConstraint", "The specified location constraint is "
				      "not valid."},
	{"InvalidPart", "One or more of the specified parts could not be "
			"found. The part may not have been uploaded, or the "
			"specified entity tag may not match the part's "
			"entity tag."},
	{"InvalidPartOrder", "The list of parts was not in ascending order. "
			     "Parts must be ordered by part number."},
	{"InvalidRange", "The requested range is not satisfiable"},
	{"InvalidRequest", "Invalid Request"},
	{"InvalidURI", "Couldn't parse the specified URI."},
	{"KeyTooLongError", "Your key is too long."},
	{"MalformedACLError", "The XML you provided was not well-formed or "
			      "did not validate against our published "
			      "schema."},
	{"MalformedXML", "The XML you provided was not well-formed or did not "
			 "validate against our published schema."},
	{"MaxMessageLengthExceeded", "Your request was too big."},
	{"MethodNotAllowed", "The specified method is not allowed against "
			     "this resource."},
	{"MissingContentLength", "You must provide the Content-Length HTTP "
				 "header."},
	{"NoSuchBucket", "The specified bucket does not exist."},
	{"NoSuchKey", "The specified key does not exist."},
	{"NoSuchUpload", "The specified multipart upload does not exist. The "
			 "upload ID might be invalid, or the multipart upload "
			 "might have been aborted or completed."},
	{"NotImplemented", "A header you provided implies functionality that "
			   "is not implemented."},
	{"PreconditionFailed", "At least one of the preconditions you "
			       "specified did not hold."},
	{"RequestTimeTooSkewed", "The difference between the request time "
				 "and the current time is too large."},
	{"ServiceUnavailable", "Please reduce your request rate."},
	{"SignatureDoesNotMatch", "The request signature we calculated does "
				  "not match the signature you provided. "
				  "Check your key and signing method."},
	{"XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' "
				      "header does not match what was "
				      "computed."},
};

static const char *code_message(const char *code)
{
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (!strcmp(codes[i].code, code))
			return codes[i].message;
	return code;
}

void s3_reply_xml(struct http_request *req, int status, const struct buf *b)
{
	http_add_header(req, "Content-Type", "application/xml");
	http_add_header(req, "x-amz-request-id", http_txn(req));
	http_reply(req, status, b->data ? (const char *)b->data : "", b->len);
}

void s3_reply_built(struct s3_req *s, int rc, const struct buf *b)
{
	if (rc)
		s3_error(s->req, 500, "InternalError", NULL, s->resource);
	else
		s3_reply_xml(s->req, 200, b);
}

void s3_error(struct http_request *req, int status, const char *code,
	      const char *message, const char *resource)
{
	struct buf b = BUF_INIT;
	int rc;

	if (http_replied(req))
		return;
	rc = s3_xml_start(&b);
	rc = rc ?: buf_printf(&b, "<Error>");
	rc = rc ?: s3_xml_elem(&b, "Code", code);
	rc = rc
		     ?: s3_xml_elem(&b, "Message",
				    message ? message : code_message(code));
	if (resource)
		rc = rc ?: s3_xml_elem(&b, "Resource", resource);
	rc = rc ?: s3_xml_elem(&b, "RequestId", http_txn(req));
	rc = rc ?: buf_printf(&b, "</Error>");
	if (rc) {
		http_reply_error(req, 500, "out of memory");
		goto out;
	}
	s3_reply_xml(req, status, &b);
out:
	buf_free(&b);
}

void s3_error_status(struct s3_req *s, int status, const char *notfound_code)
{
	const char *m = http_method(s->req);

	switch (status) {
	case 401:
	case 403:
		s3_error(s->req, 403, "AccessDenied", NULL, s->resource);
		break;
	case 404:
		s3_error(s->req, 404,
			 notfound_code ? notfound_code
			 : s->key      ? "NoSuchKey"
				       : "NoSuchBucket",
			 NULL, s->resource);
		break;
	case 409:
		if (!strcmp(m, "DELETE") && !s->key)
			s3_error(s->req, 409, "BucketNotEmpty", NULL,
				 s->resource);
		else
			s3_error(s->req, 409, "OperationAborted",
				 "A conflicting conditional operation is "
				 "currently in progress against this "
				 "resource.",
				 s->resource);
		break;
	case 412:
		s3_error(s->req, 412, "PreconditionFailed", NULL, s->resource);
		break;
	case 416:
		s3_error(s->req, 416, "InvalidRange", NULL, s->resource);
		break;
	case 413:
		s3_error(s->req, 400, "EntityTooLarge", NULL, s->resource);
		break;
	case 503:
		s3_error(s->req, 503, "ServiceUnavailable", NULL, s->resource);
		break;
	default:
		s3_error(s->req, 500, "InternalError", NULL, s->resource);
		break;
	}
}

/* --- XML building ---------------------------------------------------- */

int s3_xml_start(struct buf *b)
{
	return buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
}

int s3_xml_escape(struct buf *b, const char *s)
{
	const char *run = s;
	int rc = 0;

	for (; *s && !rc; s++) {
		const char *rep = NULL;
		char num[8];
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&apos;";
			break;
		default:
			if (c < 0x20) {
				snprintf(num, sizeof(num), "&#%d;", c);
				rep = num;
			}
		}
		if (!rep)
			continue;
		rc = buf_append(b, run, (size_t)(s - run));
		rc = rc ?: buf_append(b, rep, strlen(rep));
		run = s + 1;
	}
	return rc ?: buf_append(b, run, strlen(run));
}

int s3_xml_elem(struct buf *b, const char *name, const char *value)
{
	int rc = buf_printf(b, "<%s>", name);

	rc = rc ?: s3_xml_escape(b, value ? value : "");
	return rc ?: buf_printf(b, "</%s>", name);
}

int s3_xml_elemf(struct buf *b, const char *name, const char *fmt, ...)
{
	char v[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	return s3_xml_elem(b, name, v);
}

void s3_iso8601(double t, char out[32])
{
	time_t secs = (time_t)t;
	struct tm tm;
	int ms = (int)((t - (double)secs) * 1000);
	char base[24];

	gmtime_r(&secs, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 32, "%.19s.%03dZ", base,
		 ms < 0	    ? 0
		 : ms > 999 ? 999
			    : ms);
}

void s3_iso8601_listing(const char *lm, char out[32])
{
	/* "2009-10-12T17:50:30.123456" or without fraction */
	char frac[4] = "000";
	const char *dot = strchr(lm, '.');
	int i;

	if (dot)
		for (i = 0; i < 3 && dot[1 + i] >= '0' && dot[1 + i] <= '9';
		     i++)
			frac[i] = dot[1 + i];
	snprintf(out, 32, "%.19s.%sZ", lm, frac);
}

void s3_http_date(double t, char out[64])
{
	time_t secs = (time_t)t;
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(out, 64, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* --- XML parsing (expat) --------------------------------------------- */

#define XML_MAX_DEPTH 32

struct xml_ctx {
	struct s3_xml *root;
	struct s3_xml *stack[XML_MAX_DEPTH];
	struct s3_xml *last[XML_MAX_DEPTH]; /* last child of each level */
	int depth;
	int err;
	XML_Parser parser;
};

static void xml_fail(struct xml_ctx *c, int err)
{
	if (!c->err)
		c->err = err;
	XML_StopParser(c->parser, XML_FALSE);
}

static void xml_start(void *arg, const XML_Char *name, const XML_Char **atts)
{
	struct xml_ctx *c = arg;
	struct s3_xml *x;
	const char *local = strrchr(name, '|');

	(void)atts;
	if (c->err)
		return;
	if (c->depth >= XML_MAX_DEPTH || (!c->depth && c->root)) {
		xml_fail(c, -EINVAL);
		return;
	}
	x = calloc(1, sizeof(*x));
	if (!x) {
		xml_fail(c, -ENOMEM);
		return;
	}
	x->name = strdup(local ? local + 1 : name);
	x->text = strdup("");
	if (!x->name || !x->text) {
		s3_xml_free(x);
		xml_fail(c, -ENOMEM);
		return;
	}
	if (!c->depth) {
		c->root = x;
	} else {
		struct s3_xml *parent = c->stack[c->depth - 1];

		if (c->last[c->depth])
			c->last[c->depth]->next = x;
		else
			parent->child = x;
	}
	c->last[c->depth] = x;
	c->stack[c->depth++] = x;
	c->last[c->depth] = NULL;
}

static void xml_end(void *arg, const XML_Char *name)
{
	struct xml_ctx *c = arg;

	(void)name;
	if (!c->err && c->depth)
		c->depth--;
}

static void xml_text(void *arg, const XML_Char *s, int len)
{
	struct xml_ctx *c = arg;
	struct s3_xml *x;
	size_t old;
	char *grown;

	if (c->err || !c->depth)
		return;
	x = c->stack[c->depth - 1];
	old = strlen(x->text);
	grown = realloc(x->text, old + (size_t)len + 1);
	if (!grown) {
		xml_fail(c, -ENOMEM);
		return;
	}
	memcpy(grown + old, s, (size_t)len);
	grown[old + (size_t)len] = '\0';
	x->text = grown;
}

int s3_xml_parse(const char *data, size_t len, struct s3_xml **out)
{
	struct xml_ctx c;
	int rc = 0;

	*out = NULL;
	if (len > S3_MAX_BODY)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	/* namespaces split as "uri|local": the local name is kept */
	c.parser = XML_ParserCreateNS("UTF-8", '|');
	if (!c.parser)
		return -ENOMEM;
	XML_SetUserData(c.parser, &c);
	XML_SetElementHandler(c.parser, xml_start, xml_end);
	XML_SetCharacterDataHandler(c.parser, xml_text);
	if (XML_Parse(c.parser, data, (int)len, XML_TRUE) != XML_STATUS_OK)
		rc = c.err ? c.err : -EINVAL;
	if (!rc && (!c.root || c.depth))
		rc = -EINVAL;
	XML_ParserFree(c.parser);
	if (rc) {
		s3_xml_free(c.root);
		return rc;
	}
	*out = c.root;
	return 0;
}

void s3_xml_free(struct s3_xml *x)
{
	while (x) {
		struct s3_xml *next = x->next;

		s3_xml_free(x->child);
		free(x->name);
		free(x->text);
		free(x);
		x = next;
	}
}

const struct s3_xml *s3_xml_next(const struct s3_xml *x, const char *name)
{
	for (x = x ? x->next : NULL; x; x = x->next)
		if (!strcmp(x->name, name))
			return x;
	return NULL;
}

const struct s3_xml *s3_xml_child(const struct s3_xml *x, const char *name)
{
	for (x = x ? x->child : NULL; x; x = x->next)
		if (!strcmp(x->name, name))
			return x;
	return NULL;
}
