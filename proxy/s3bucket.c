/*
 * proxy/s3bucket.c: S3's bucket operations as Swift's s3api does them,
 * over the containers of the requester's account: ListBuckets (the
 * account listing), CreateBucket (a container PUT; BucketAlreadyOwnedByYou
 * when it exists, us-east-1's answer in s3api; a CreateBucketConfiguration
 * must name the configured location), DeleteBucket (BucketNotEmpty from
 * the container servers' 409), HeadBucket, GetBucketLocation, ListObjects
 * v1 and v2 (from the container listing in JSON, limit max-keys + 1 to
 * see truncation; delimiter's subdirs are the CommonPrefixes), and the
 * canned ACLs private and public-read as the container's X-Container-Read
 * (".r:*,.rlistings" or nothing), shown by GET ?acl as an
 * AccessControlPolicy.
 *
 * Container writes go straight to the container servers' quorum
 * (proxy_quorum_request) with only the headers S3 means: an S3 client's
 * own headers never reach them. Authorization happened in s3.c (route
 * authz); this file leaves objects and uploads to s3object.c and
 * s3multipart.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "common/log.h"
#include "common/policy.h"
#include "proxy/internal.h"

#define S3_XMLNS	  "http://s3.amazonaws.com/doc/2006-03-01/"
#define PUBLIC_READ_ACL	  ".r:*,.rlistings"
#define ALL_USERS	  "http://acs.amazonaws.com/groups/global/AllUsers"
#define MAX_KEYS_DEFAULT  1000
#define DEFAULT_BUCKET_TS "2009-02-03T16:45:09.000Z" /* s3api's */

int s3_valid_bucket_name(const char *name)
{
	size_t n = strlen(name), i, dots = 0;
	int digits_only = 1;

	if (n < 3 || n > 63 || !isalnum((unsigned char)name[0]) ||
	    !isalnum((unsigned char)name[n - 1]))
		return 0;
	if (strstr(name, ".-") || strstr(name, "-.") || strstr(name, ".."))
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!(islower((unsigned char)c) || isdigit((unsigned char)c) ||
		      c == '.' || c == '-'))
			return 0;
		if (c == '.')
			dots++;
		else if (!isdigit((unsigned char)c))
			digits_only = 0;
	}
	/* not an IP address */
	return !(digits_only && dots == 3);
}

int s3_xml_owner(struct buf *b, const struct s3_req *s)
{
	char id[600];
	int rc;

	if (s->p.user)
		snprintf(id, sizeof(id), "%s:%s", s->p.user->account,
			 s->p.user->user);
	else
		snprintf(id, sizeof(id), "%s",
			 s->p.account ? s->p.account : "");
	rc = buf_printf(b, "<Owner>");
	rc = rc ?: s3_xml_elem(b, "ID", id);
	rc = rc ?: s3_xml_elem(b, "DisplayName", id);
	return rc ?: buf_printf(b, "</Owner>");
}

/* GET the JSON listing of the account (container NULL) or a container. */
static int listing(struct s3_req *s, const char *container, const char *query,
		   json_t **out)
{
	enum cluster_kind kind =
		container ? CLUSTER_CONTAINER : CLUSTER_ACCOUNT;
	struct cluster_nodes nodes;
	struct cluster_hdrs h = {0};
	struct cluster_resp r = {0};
	struct cluster_get *g = NULL;
	struct buf body = BUF_INIT;
	char q[16384], chunk[65536];
	json_error_t jerr;
	ssize_t n;
	int status = 503;

	*out = NULL;
	snprintf(q, sizeof(q), "format=json%s%s", query && *query ? "&" : "",
		 query ? query : "");
	if (cluster_lookup(s->app->cluster, kind, s->p.account, container, NULL,
			   &nodes))
		return 503;
	if (cluster_hdrs_add(&h, "X-Backend-Storage-Policy-Index", "0") ||
	    cluster_get_open(s->app->cluster, &nodes, "GET", s->p.account,
			     container, NULL, q, &h, 0, http_txn(s->req), &r,
			     &g))
		goto out;
	status = r.status;
	if (!g || status / 100 != 2)
		goto out;
	while ((n = cluster_get_read(g, chunk, sizeof(chunk))) > 0) {
		if (buf_append(&body, chunk, (size_t)n)) {
			status = 503;
			goto out;
		}
	}
	if (n < 0) {
		status = 503;
		goto out;
	}
	*out = body.len
		       ? json_loadb((const char *)body.data, body.len, 0, &jerr)
		       : json_array();
	if (!*out || !json_is_array(*out)) {
		log_err("txn=%s bad JSON listing of %s/%s", http_txn(s->req),
			s->p.account, container ? container : "");
		json_decref(*out);
		*out = NULL;
		status = 503;
	}
out:
	cluster_get_close(g);
	cluster_resp_free(&r);
	cluster_hdrs_free(&h);
	buf_free(&body);
	cluster_nodes_release(&nodes);
	return status;
}

int s3_container_listing(struct s3_req *s, const char *container,
			 const char *query, struct json_t **out)
{
	return listing(s, container, query, out);
}

/* A container's write (PUT, POST, DELETE) to every primary with only the
 * headers S3 means; read: X-Container-Read to set (NULL: untouched, "":
 * removed). The quorum status. */
static int container_write(struct s3_req *s, const char *method,
			   const char *read)
{
	struct cluster_hdrs hdrs[CLUSTER_MAX_NODES];
	struct cluster_nodes nodes, accounts;
	char ts[32], idx[16];
	int i, n = 0, rc = 0, status = 503, upd = strcmp(method, "POST");

	memset(hdrs, 0, sizeof(hdrs));
	if (cluster_lookup(s->app->cluster, CLUSTER_CONTAINER, s->p.account,
			   s->bucket, NULL, &nodes))
		return 503;
	if (cluster_lookup(s->app->cluster, CLUSTER_ACCOUNT, s->p.account, NULL,
			   NULL, &accounts))
		goto out_nodes;
	n = nodes.nprimary;
	proxy_timestamp(ts);
	snprintf(idx, sizeof(idx), "%d", policy_default()->index);
	for (i = 0; i < n && !rc; i++) {
		rc = cluster_hdrs_add(&hdrs[i], "X-Timestamp", ts);
		if (!strcmp(method, "PUT"))
			rc = rc
				     ?: cluster_hdrs_add(
						&hdrs[i],
						"X-Backend-Storage-Policy-Default",
						idx);
		else
			rc = rc
				     ?: cluster_hdrs_add(
						&hdrs[i],
						"X-Backend-Storage-Policy-Index",
						"0");
		if (read)
			rc = rc
				     ?: proxy_hdrs_add(&hdrs[i],
						       "X-Container-Read",
						       read);
	}
	if (!rc && upd)
		rc = cluster_update_headers(hdrs, n, &accounts, "Account", 0);
	if (!rc)
		status = proxy_quorum_request(s->req, s->app, &nodes, method,
					      &s->p, hdrs, n, 0, 0);
	for (i = 0; i < n; i++)
		cluster_hdrs_free(&hdrs[i]);
	cluster_nodes_release(&accounts);
out_nodes:
	cluster_nodes_release(&nodes);
	return status;
}

int s3_canned_acl(struct s3_req *s, const char **read)
{
	const char *acl = http_header(s->req, "x-amz-acl");

	*read = NULL;
	if (!acl)
		return 0;
	if (!strcmp(acl, "private")) {
		*read = "";
		return 0;
	}
	if (!strcmp(acl, "public-read")) {
		*read = PUBLIC_READ_ACL;
		return 0;
	}
	if (!strcmp(acl, "public-read-write") ||
	    !strcmp(acl, "authenticated-read") ||
	    !strcmp(acl, "bucket-owner-read") ||
	    !strcmp(acl, "bucket-owner-full-control") ||
	    !strcmp(acl, "aws-exec-read") ||
	    !strcmp(acl, "log-delivery-write")) {
		s3_error(s->req, 501, "NotImplemented",
			 "Only the canned ACLs private and public-read are "
			 "supported.",
			 s->resource);
		return 501;
	}
	s3_error(s->req, 400, "InvalidArgument", NULL, s->resource);
	return 400;
}

/* HEAD the bucket's container into *r (the caller frees): the status. */
static int head_bucket(struct s3_req *s, struct cluster_resp *r)
{
	return proxy_head_info(s->req, s->app, CLUSTER_CONTAINER, &s->p, r);
}

/* --- ListBuckets ----------------------------------------------------- */

static void list_buckets(struct s3_req *s)
{
	struct buf b = BUF_INIT;
	json_t *list = NULL, *it;
	char marker[1024] = "", q[4096], enc[3200], date[32];
	size_t i;
	int rc, status, more = 1;

	if (!s->p.user) {
		s3_error(s->req, 403, "AccessDenied", NULL, NULL);
		return;
	}
	if (tempauth_allowed(s->req, s->app, "GET", &s->p)) {
		s3_error(s->req, 403, "AccessDenied", NULL, NULL);
		return;
	}
	rc = s3_xml_start(&b);
	rc = rc
		     ?: buf_printf(&b,
				   "<ListAllMyBucketsResult xmlns=\"" S3_XMLNS
				   "\">");
	rc = rc ?: s3_xml_owner(&b, s);
	rc = rc ?: buf_printf(&b, "<Buckets>");
	while (!rc && more) {
		if (cluster_quote(marker, enc, sizeof(enc)) < 0)
			break;
		snprintf(q, sizeof(q), "limit=%d&marker=%s",
			 ACCOUNT_LISTING_LIMIT, enc);
		status = listing(s, NULL, q, &list);
		if (status == 404)
			break;
		if (status / 100 != 2) {
			s3_error_status(s, status, NULL);
			goto out;
		}
		more = json_array_size(list) == ACCOUNT_LISTING_LIMIT;
		json_array_foreach(list, i, it)
		{
			const char *name =
				json_string_value(json_object_get(it, "name"));
			const char *lm = json_string_value(
				json_object_get(it, "last_modified"));

			if (!name)
				continue;
			snprintf(marker, sizeof(marker), "%s", name);
			/* s3api hides the containers no bucket name fits
			 * (e.g. the +segments ones) */
			if (!s3_valid_bucket_name(name))
				continue;
			if (lm)
				s3_iso8601_listing(lm, date);
			rc = rc ?: buf_printf(&b, "<Bucket>");
			rc = rc ?: s3_xml_elem(&b, "Name", name);
			rc = rc
				     ?: s3_xml_elem(&b, "CreationDate",
						    lm ? date
						       : DEFAULT_BUCKET_TS);
			rc = rc ?: buf_printf(&b, "</Bucket>");
		}
		json_decref(list);
		list = NULL;
	}
	rc = rc ?: buf_printf(&b, "</Buckets></ListAllMyBucketsResult>");
	s3_reply_built(s, rc, &b);
out:
	json_decref(list);
	buf_free(&b);
}

const struct s3_handler s3_list_buckets = {list_buckets, NULL, NULL, NULL};

/* --- CreateBucket ---------------------------------------------------- */

static void bucket_put_headers(struct s3_req *s)
{
	const char *read;

	if (!s3_valid_bucket_name(s->bucket)) {
		s3_error(s->req, 400, "InvalidBucketName", NULL, s->resource);
		return;
	}
	if (s3_canned_acl(s, &read))
		return;
	/* the body (CreateBucketConfiguration) is read, then on_end */
}

static void bucket_put_end(struct s3_req *s)
{
	const char *read;
	struct s3_xml *x = NULL;
	int status;

	if (s3_canned_acl(s, &read))
		return;
	if (s->body.len) {
		const struct s3_xml *lc;
		int rc = s3_xml_parse((const char *)s->body.data, s->body.len,
				      &x);

		if (rc || strcmp(x->name, "CreateBucketConfiguration")) {
			s3_error(s->req, 400, "MalformedXML", NULL,
				 s->resource);
			goto out;
		}
		lc = s3_xml_child(x, "LocationConstraint");
		if (lc && strcmp(lc->text, s->app->conf->s3_location) &&
		    !(!*lc->text &&
		      !strcmp(s->app->conf->s3_location, "us-east-1"))) {
			char m[1200];

			snprintf(m, sizeof(m),
				 "The specified location-constraint is not "
				 "valid (%.512s); this service is %.128s",
				 lc->text, s->app->conf->s3_location);
			s3_error(s->req, 400, "InvalidLocationConstraint", m,
				 s->resource);
			goto out;
		}
	}
	status = proxy_head_status(s->req, s->app, CLUSTER_CONTAINER, &s->p);
	if (status / 100 == 2) {
		s3_error(s->req, 409, "BucketAlreadyOwnedByYou", NULL,
			 s->resource);
		goto out;
	}
	status = proxy_head_status(s->req, s->app, CLUSTER_ACCOUNT, &s->p);
	if (status == 404 && s->app->conf->account_autocreate) {
		if (proxy_autocreate_account(s->req, s->app, s->p.account)) {
			s3_error_status(s, 503, NULL);
			goto out;
		}
	} else if (status / 100 != 2) {
		s3_error_status(s, status == 404 ? 403 : status, NULL);
		goto out;
	}
	status = container_write(s, "PUT", read && *read ? read : NULL);
	if (status == 202) {
		s3_error(s->req, 409, "BucketAlreadyOwnedByYou", NULL,
			 s->resource);
	} else if (status / 100 == 2) {
		http_add_headerf(s->req, "Location", "/%s", s->bucket);
		http_add_header(s->req, "x-amz-request-id", http_txn(s->req));
		http_reply(s->req, 200, "", 0);
	} else {
		s3_error_status(s, status, NULL);
	}
out:
	s3_xml_free(x);
}

const struct s3_handler s3_bucket_put = {bucket_put_headers, NULL,
					 bucket_put_end, NULL};

/* --- DeleteBucket, HeadBucket, GetBucketLocation ---------------------- */

static void bucket_delete(struct s3_req *s)
{
	int status =
		proxy_head_status(s->req, s->app, CLUSTER_CONTAINER, &s->p);

	if (status / 100 == 2)
		status = container_write(s, "DELETE", NULL);
	if (status == 204 || status == 200) {
		http_add_header(s->req, "x-amz-request-id", http_txn(s->req));
		http_reply(s->req, 204, "", 0);
	} else if (status == 202) {
		s3_error(s->req, 404, "NoSuchBucket", NULL, s->resource);
	} else {
		s3_error_status(s, status, "NoSuchBucket");
	}
}

const struct s3_handler s3_bucket_delete = {bucket_delete, NULL, NULL, NULL};

static void bucket_location(struct s3_req *s)
{
	int status =
		proxy_head_status(s->req, s->app, CLUSTER_CONTAINER, &s->p);
	const char *loc = s->app->conf->s3_location;
	struct buf b = BUF_INIT;
	int rc;

	if (status / 100 != 2) {
		s3_error_status(s, status, "NoSuchBucket");
		return;
	}
	rc = s3_xml_start(&b);
	rc = rc
		     ?: buf_printf(&b, "<LocationConstraint xmlns=\"" S3_XMLNS
				       "\">");
	/* us-east-1 is S3's empty constraint */
	if (strcmp(loc, "us-east-1"))
		rc = rc ?: s3_xml_escape(&b, loc);
	rc = rc ?: buf_printf(&b, "</LocationConstraint>");
	s3_reply_built(s, rc, &b);
	buf_free(&b);
}

const struct s3_handler s3_bucket_location = {bucket_location, NULL, NULL,
					      NULL};

/* --- ACLs ------------------------------------------------------------ */

static int grant(struct buf *b, const struct s3_req *s, const char *group,
		 const char *perm)
{
	int rc = buf_printf(b,
			    "<Grant><Grantee xmlns:xsi=\"http://www.w3.org"
			    "/2001/XMLSchema-instance\" xsi:type=\"%s\">",
			    group ? "Group" : "CanonicalUser");

	if (group) {
		rc = rc ?: s3_xml_elem(b, "URI", group);
	} else {
		struct buf o = BUF_INIT;

		/* the owner's ID and DisplayName, without <Owner> */
		rc = rc ?: s3_xml_owner(&o, s);
		if (!rc && o.len > 15)
			rc = buf_append(b, o.data + 7, o.len - 15);
		buf_free(&o);
	}
	rc = rc ?: buf_printf(b, "</Grantee>");
	rc = rc ?: s3_xml_elem(b, "Permission", perm);
	return rc ?: buf_printf(b, "</Grant>");
}

static void bucket_acl_get(struct s3_req *s)
{
	struct cluster_resp r = {0};
	struct buf b = BUF_INIT;
	const char *read;
	int status = head_bucket(s, &r), rc;

	if (status / 100 != 2) {
		s3_error_status(s, status, "NoSuchBucket");
		goto out;
	}
	read = cluster_resp_header(&r, "X-Container-Read");
	rc = s3_xml_start(&b);
	rc = rc
		     ?: buf_printf(&b, "<AccessControlPolicy xmlns=\"" S3_XMLNS
				       "\">");
	rc = rc ?: s3_xml_owner(&b, s);
	rc = rc ?: buf_printf(&b, "<AccessControlList>");
	rc = rc ?: grant(&b, s, NULL, "FULL_CONTROL");
	if (read && strstr(read, ".r:*"))
		rc = rc ?: grant(&b, s, ALL_USERS, "READ");
	rc = rc ?: buf_printf(&b, "</AccessControlList></AccessControlPolicy>");
	s3_reply_built(s, rc, &b);
out:
	buf_free(&b);
	cluster_resp_free(&r);
}

const struct s3_handler s3_bucket_acl_get = {bucket_acl_get, NULL, NULL, NULL};

static void bucket_acl_put_end(struct s3_req *s)
{
	const char *read;
	int status;

	if (s3_canned_acl(s, &read))
		return;
	if (!read) {
		/* an AccessControlPolicy body: s3api's full ACLs */
		s3_error(s->req, 501, "NotImplemented",
			 "Only the canned ACLs (x-amz-acl) private and "
			 "public-read are supported.",
			 s->resource);
		return;
	}
	status = proxy_head_status(s->req, s->app, CLUSTER_CONTAINER, &s->p);
	if (status / 100 == 2)
		status = container_write(s, "POST", read);
	if (status / 100 == 2) {
		http_add_header(s->req, "x-amz-request-id", http_txn(s->req));
		http_reply(s->req, 200, "", 0);
	} else {
		s3_error_status(s, status, "NoSuchBucket");
	}
}

static void bucket_acl_put_headers(struct s3_req *s)
{
	const char *read;

	s3_canned_acl(s, &read); /* replies when refused */
}

const struct s3_handler s3_bucket_acl_put = {bucket_acl_put_headers, NULL,
					     bucket_acl_put_end, NULL};

/* --- ListObjects v1 and v2 ------------------------------------------- */

/* A name in the answer: escaped, or URL-encoded (encoding-type=url). */
static int name_elem(struct buf *b, const char *tag, const char *v, int url)
{
	int rc;

	if (!url)
		return s3_xml_elem(b, tag, v);
	rc = buf_printf(b, "<%s>", tag);
	for (; *v && !rc; v++) {
		unsigned char c = (unsigned char)*v;

		if (isalnum(c) || strchr("-_.~/", c))
			rc = buf_append(b, v, 1);
		else
			rc = buf_printf(b, "%%%02X", c);
	}
	return rc ?: buf_printf(b, "</%s>", tag);
}

/* An opaque continuation token: base64 of the marker (s3api's). */
static void token_encode(const char *marker, char *out, size_t outlen)
{
	size_t n = strlen(marker);

	if (4 * ((n + 2) / 3) + 1 > outlen)
		n = (outlen - 1) / 4 * 3;
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)marker,
			(int)n);
}

static int token_decode(const char *tok, char *out, size_t outlen)
{
	size_t n = strlen(tok);
	int got, pad = 0;

	if (!n || n % 4 || 3 * (n / 4) + 1 > outlen)
		return -EINVAL;
	got = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)tok,
			      (int)n);
	if (got < 0)
		return -EINVAL;
	if (tok[n - 1] == '=')
		pad++;
	if (tok[n - 2] == '=')
		pad++;
	out[got - pad] = '\0';
	return 0;
}

/* An S3 ETag from a listing's hash ("<md5>[; s3_etag=<etag>]"). */
static void listing_etag(const char *hash, char *out, size_t outlen)
{
	const char *s3 = strstr(hash, "; s3_etag=");

	if (s3)
		snprintf(out, outlen, "\"%s\"", s3 + 10);
	else
		snprintf(out, outlen, "\"%.*s\"", (int)strcspn(hash, ";"),
			 hash);
}

static int int_arg(struct s3_req *s, const char *name, long long def,
		   long long *out)
{
	const char *v = s3_query(s, name);
	char *end;

	*out = def;
	if (!v)
		return 0;
	*out = strtoll(v, &end, 10);
	if (!*v || *end || *out < 0) {
		char m[256];

		snprintf(m, sizeof(m),
			 "Provided %s not an integer or within "
			 "integer range",
			 name);
		s3_error(s->req, 400, "InvalidArgument", m, s->resource);
		return 400;
	}
	return 0;
}

static void bucket_list(struct s3_req *s)
{
	const char *prefix = s3_query(s, "prefix");
	const char *delim = s3_query(s, "delimiter");
	const char *enc_type = s3_query(s, "encoding-type");
	const char *lt = s3_query(s, "list-type");
	int v2 = lt && !strcmp(lt, "2"), url = 0, rc = 0, status, truncated;
	int fetch_owner = 0;
	char marker[MAX_OBJECT_NAME_LENGTH * 3 + 8] = "", q[3 * 4096 + 64];
	char e1[4096], e2[4096], e3[4096], etag[128], date[32];
	const char *tok = NULL, *start_after = NULL, *next = NULL;
	long long max_keys;
	size_t i, n, shown;
	struct buf b = BUF_INIT;
	json_t *list = NULL, *it;

	if (!strcmp(http_method(s->req), "HEAD")) {
		/* HeadBucket */
		status = proxy_head_status(s->req, s->app, CLUSTER_CONTAINER,
					   &s->p);
		if (status / 100 != 2) {
			s3_error_status(s, status, "NoSuchBucket");
			return;
		}
		http_add_header(s->req, "x-amz-request-id", http_txn(s->req));
		http_reply(s->req, 200, "", 0);
		return;
	}
	if (lt && !v2) {
		s3_error(s->req, 400, "InvalidArgument",
			 "Invalid List Type specified", s->resource);
		return;
	}
	if (int_arg(s, "max-keys", MAX_KEYS_DEFAULT, &max_keys))
		return;
	if (max_keys > MAX_KEYS_DEFAULT)
		max_keys = MAX_KEYS_DEFAULT;
	if (enc_type && strcmp(enc_type, "url")) {
		s3_error(s->req, 400, "InvalidArgument",
			 "Invalid Encoding Method specified in Request",
			 s->resource);
		return;
	}
	url = enc_type != NULL;
	if (v2) {
		const char *fo = s3_query(s, "fetch-owner");

		fetch_owner = fo && !strcasecmp(fo, "true");
		tok = s3_query(s, "continuation-token");
		start_after = s3_query(s, "start-after");
		if (tok && token_decode(tok, marker, sizeof(marker))) {
			s3_error(s->req, 400, "InvalidArgument",
				 "The continuation token provided is "
				 "incorrect",
				 s->resource);
			return;
		}
		if (!tok && start_after)
			snprintf(marker, sizeof(marker), "%s", start_after);
	} else if (s3_query(s, "marker")) {
		snprintf(marker, sizeof(marker), "%s", s3_query(s, "marker"));
	}
	if (cluster_quote(marker, e1, sizeof(e1)) < 0 ||
	    cluster_quote(prefix ? prefix : "", e2, sizeof(e2)) < 0 ||
	    cluster_quote(delim ? delim : "", e3, sizeof(e3)) < 0) {
		s3_error(s->req, 400, "InvalidArgument", NULL, s->resource);
		return;
	}
	snprintf(q, sizeof(q), "limit=%lld&marker=%s%s%s%s%s", max_keys + 1, e1,
		 prefix ? "&prefix=" : "", prefix ? e2 : "",
		 delim ? "&delimiter=" : "", delim ? e3 : "");
	status = listing(s, s->bucket, q, &list);
	if (status / 100 != 2) {
		s3_error_status(s, status, "NoSuchBucket");
		return;
	}
	n = json_array_size(list);
	truncated = max_keys >= 0 && n > (size_t)max_keys;
	shown = truncated ? (size_t)max_keys : n;
	rc = s3_xml_start(&b);
	rc = rc ?: buf_printf(&b, "<ListBucketResult xmlns=\"" S3_XMLNS "\">");
	rc = rc ?: s3_xml_elem(&b, "Name", s->bucket);
	rc = rc ?: name_elem(&b, "Prefix", prefix ? prefix : "", url);
	if (!v2)
		rc = rc ?: name_elem(&b, "Marker", marker, url);
	if (v2 && start_after)
		rc = rc ?: name_elem(&b, "StartAfter", start_after, url);
	if (v2 && tok)
		rc = rc ?: s3_xml_elem(&b, "ContinuationToken", tok);
	if (truncated && shown) {
		json_t *last = json_array_get(list, shown - 1);

		next = json_string_value(json_object_get(last, "name"));
		if (!next)
			next = json_string_value(
				json_object_get(last, "subdir"));
	}
	if (!v2 && truncated && next)
		rc = rc ?: name_elem(&b, "NextMarker", next, url);
	if (v2 && truncated && next) {
		char t[4 * (MAX_OBJECT_NAME_LENGTH * 3 + 8) / 3 + 8];

		token_encode(next, t, sizeof(t));
		rc = rc ?: s3_xml_elem(&b, "NextContinuationToken", t);
	}
	if (v2)
		rc = rc ?: s3_xml_elemf(&b, "KeyCount", "%zu", shown);
	rc = rc ?: s3_xml_elemf(&b, "MaxKeys", "%lld", max_keys);
	if (delim)
		rc = rc ?: name_elem(&b, "Delimiter", delim, url);
	if (url)
		rc = rc ?: s3_xml_elem(&b, "EncodingType", "url");
	rc = rc ?: s3_xml_elem(&b, "IsTruncated", truncated ? "true" : "false");
	for (i = 0; i < shown && !rc; i++) {
		const char *name, *hash, *lm;

		it = json_array_get(list, i);
		name = json_string_value(json_object_get(it, "name"));
		if (!name)
			continue;
		hash = json_string_value(json_object_get(it, "hash"));
		lm = json_string_value(json_object_get(it, "last_modified"));
		listing_etag(hash ? hash : "", etag, sizeof(etag));
		s3_iso8601_listing(lm ? lm : "1970-01-01T00:00:00", date);
		rc = buf_printf(&b, "<Contents>");
		rc = rc ?: name_elem(&b, "Key", name, url);
		rc = rc ?: s3_xml_elem(&b, "LastModified", date);
		rc = rc ?: s3_xml_elem(&b, "ETag", etag);
		rc = rc
			     ?: s3_xml_elemf(
					&b, "Size", "%lld",
					(long long)json_integer_value(
						json_object_get(it, "bytes")));
		if (!v2 || fetch_owner)
			rc = rc ?: s3_xml_owner(&b, s);
		rc = rc ?: s3_xml_elem(&b, "StorageClass", "STANDARD");
		rc = rc ?: buf_printf(&b, "</Contents>");
	}
	json_array_foreach(list, i, it)
	{
		const char *sub =
			json_string_value(json_object_get(it, "subdir"));

		if (i >= shown || rc)
			break;
		if (!sub)
			continue;
		rc = buf_printf(&b, "<CommonPrefixes>");
		rc = rc ?: name_elem(&b, "Prefix", sub, url);
		rc = rc ?: buf_printf(&b, "</CommonPrefixes>");
	}
	rc = rc ?: buf_printf(&b, "</ListBucketResult>");
	s3_reply_built(s, rc, &b);
	json_decref(list);
	buf_free(&b);
}

const struct s3_handler s3_bucket_get = {bucket_list, NULL, NULL, NULL};
