/*
 * common/objclient.c: the cluster's internal client (see objclient.h), the
 * requests a proxy would send, made straight on common/cluster.c: object
 * PUTs streamed to the primaries (handoffs standing in) with their ETag
 * and an XXH3-128 of the body the object servers check the transfer by
 * (so they store the ETag without an MD5 pass of their own), or with the
 * XXH3-128 as the ETag itself (xxh_etag: volume chunks, no MD5 at all),
 * GETs and HEADs from the first good node, DELETEs and container/account
 * PUTs on every primary with Swift's quorum vote, and container listings
 * paged through the container servers' json.
 *
 * Every write carries one X-Timestamp (made here, strictly increasing in
 * the process so two writes of one object from one service never tie) and
 * the update headers that make the object servers tell the container
 * servers (and the container servers the account servers), as the proxy's
 * do. What it leaves to others: authentication and the client-facing
 * checks of the proxy (metadata limits, ACLs), the ring and transport
 * (cluster.c), placement of names (the callers choose them).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/listing.h"
#include "common/log.h"
#include "common/md5.h"
#include "common/objclient.h"
#include "common/policy.h"
#include "common/timestamp.h"
#include "common/xxh.h"

/* Swift's constraints on names */
#define OC_MAX_ACCOUNT	 256
#define OC_MAX_CONTAINER 256
#define OC_MAX_OBJECT	 1024

#define OC_QUERY_MAX (3 * OC_MAX_OBJECT * 2 + 128)

/* --- helpers --------------------------------------------------------- */

/* One name: non-empty, short enough, UTF-8, no '/' where none may be. */
static int name_ok(const char *s, size_t max, int slash_ok)
{
	size_t n;

	if (!s)
		return 0;
	n = strlen(s);
	if (!n || n > max || !listing_utf8_valid(s))
		return 0;
	return slash_ok || !strchr(s, '/');
}

/* 0, or -EINVAL (logged) when a name cannot be stored; object may be NULL
 * (container requests), container too (account requests). */
static int check_names(const char *account, const char *container,
		       const char *object)
{
	if (!name_ok(account, OC_MAX_ACCOUNT, 0) ||
	    (container && !name_ok(container, OC_MAX_CONTAINER, 0)) ||
	    (object && !name_ok(object, OC_MAX_OBJECT, 1))) {
		log_err("bad name /%s/%s/%s", account ? account : "",
			container ? container : "", object ? object : "");
		return -EINVAL;
	}
	return 0;
}

/* The nodes of an object whose names are fine. 0 or -EINVAL, -EIO. */
static int object_nodes(struct cluster *c, const char *account,
			const char *container, const char *object,
			struct cluster_nodes *nodes)
{
	int rc = check_names(account, container, object);

	if (rc)
		return rc;
	return cluster_lookup(c, CLUSTER_OBJECT, account, container, object,
			      nodes);
}

/*
 * A fresh X-Timestamp, later than every one this process made before
 * (ticks are 10 us: two writes in one tick would tie and the second lose
 * with 409).
 */
static void oc_timestamp(char out[TS_NORMAL_LEN + 1])
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static int64_t last;
	struct ts t;

	ts_now(&t);
	pthread_mutex_lock(&lock);
	if (t.ticks <= last)
		t.ticks = last + 1;
	last = t.ticks;
	pthread_mutex_unlock(&lock);
	t.offset = 0;
	ts_normal(&t, out);
}

/* The errno of a status that is not a success (see objclient.h). */
static int status_errno(int status)
{
	if (status >= 200 && status < 300)
		return 0;
	switch (status) {
	case 404:
		return -ENOENT;
	case 412:
		return -EEXIST;
	case 400:
	case 413:
		return -EINVAL;
	default:
		return -EIO;
	}
}

static void free_hdrs(struct cluster_hdrs *hdrs, int n)
{
	int i;

	for (i = 0; i < n; i++)
		cluster_hdrs_free(&hdrs[i]);
}

/*
 * Start n header lists (zeroed by the caller) for a write: X-Timestamp ts,
 * the policy of an object write (kind CLUSTER_OBJECT) and, with update,
 * the update headers of the kind above (the containers of an object, the
 * account of a container). 0, -ENOMEM, -EINVAL/-EIO from the ring lookup.
 */
static int write_headers(struct cluster *c, enum cluster_kind kind,
			 const char *account, const char *container,
			 struct cluster_hdrs *hdrs, int n, const char *ts,
			 int update)
{
	struct cluster_nodes upd;
	int i, rc = 0;

	for (i = 0; i < n && !rc; i++) {
		rc = cluster_hdrs_add(&hdrs[i], "X-Timestamp", ts);
		if (!rc && kind == CLUSTER_OBJECT)
			rc = cluster_hdrs_add(&hdrs[i],
					      "X-Backend-Storage-Policy-Index",
					      "0");
	}
	if (rc || kind == CLUSTER_ACCOUNT || !update)
		return rc;
	if (kind == CLUSTER_OBJECT)
		rc = cluster_lookup(c, CLUSTER_CONTAINER, account, container,
				    NULL, &upd);
	else
		rc = cluster_lookup(c, CLUSTER_ACCOUNT, account, NULL, NULL,
				    &upd);
	if (rc)
		return rc;
	/* the proxy's numbers: an object write updates quorum + 1
	 * containers, a container write each account primary once */
	rc = cluster_update_headers(
		hdrs, n, &upd, kind == CLUSTER_OBJECT ? "Container" : "Account",
		kind == CLUSTER_OBJECT ? cluster_quorum(n) + 1 : 0);
	cluster_nodes_release(&upd);
	return rc;
}

/*
 * method on every primary of the path in kind's ring with hdrs (one list
 * a primary), voted as Swift's best_response. On 404s without a quorum,
 * override404 (non-zero) counts them as that status (Swift's DELETE).
 * Returns the voted status, or 503 without a quorum; -errno on a failure
 * to send at all.
 */
static int quorum_request(struct cluster *c, const struct cluster_nodes *nodes,
			  const char *method, const char *account,
			  const char *container, const char *object,
			  struct cluster_hdrs *hdrs, int override404)
{
	struct cluster_resp resps[CLUSTER_MAX_NODES];
	int statuses[CLUSTER_MAX_NODES], i, best, n = nodes->nprimary, rc;

	memset(resps, 0, sizeof(resps));
	rc = cluster_make_requests(c, nodes, method, account, container, object,
				   NULL, hdrs, n, NULL, 0, NULL, resps);
	if (rc)
		goto out;
	for (i = 0; i < n; i++)
		statuses[i] = resps[i].status;
	best = cluster_best_status(statuses, n, 0);
	if (best < 0 && override404) {
		for (i = 0; i < n; i++)
			if (statuses[i] == 404)
				statuses[i] = override404;
		best = cluster_best_status(statuses, n, 0);
	}
	rc = best < 0 ? 503 : statuses[best];
	if (best < 0)
		log_err("%s /%s/%s/%s: no quorum among %d answers", method,
			account, container ? container : "",
			object ? object : "", n);
out:
	for (i = 0; i < n; i++)
		cluster_resp_free(&resps[i]);
	return rc;
}

static void fill_info(const struct cluster_resp *r, struct oc_info *info)
{
	const char *v;

	memset(info, 0, sizeof(*info));
	v = cluster_resp_header(r, "Content-Length");
	if (v && r->status == 200)
		info->size = strtoull(v, NULL, 10);
	v = cluster_resp_header(r, "Content-Range"); /* bytes a-b/size */
	if (v && (v = strchr(v, '/')))
		info->size = strtoull(v + 1, NULL, 10);
	v = cluster_resp_header(r, "Etag");
	if (v) {
		if (*v == '"')
			v++;
		snprintf(info->etag, sizeof(info->etag), "%.32s", v);
	}
	v = cluster_resp_header(r, "X-Timestamp");
	if (v)
		snprintf(info->timestamp, sizeof(info->timestamp), "%s", v);
	v = cluster_resp_header(r, "Content-Type");
	if (v)
		snprintf(info->content_type, sizeof(info->content_type), "%s",
			 v);
}

/*
 * Open a GET or HEAD of the object (hdrs may be NULL). 0 with *resp the
 * 2xx answer and *g its source; 0 with *g NULL for a 416 (a Range past
 * the end); else -errno of the status voted (no node has it: -ENOENT).
 * *resp is freed by the caller either way.
 */
static int object_open(struct cluster *c, const char *method,
		       const char *account, const char *container,
		       const char *object, const struct cluster_hdrs *hdrs,
		       struct cluster_resp *resp, struct cluster_get **g)
{
	struct cluster_hdrs h = {0};
	struct cluster_nodes nodes;
	int rc;

	*g = NULL;
	memset(resp, 0, sizeof(*resp));
	rc = object_nodes(c, account, container, object, &nodes);
	if (rc)
		return rc;
	if (hdrs)
		rc = cluster_hdrs_copy(&h, hdrs);
	if (!rc)
		rc = cluster_hdrs_add(&h, "X-Backend-Storage-Policy-Index",
				      "0");
	if (!rc)
		rc = cluster_get_open(c, &nodes, method, account, container,
				      object, NULL, &h, 0, NULL, resp, g);
	if (!rc && (!*g || resp->status / 100 != 2)) {
		/* no source, or one that is no object (416, 3xx) */
		cluster_get_close(*g);
		*g = NULL;
		rc = resp->status == 416 ? 0 : status_errno(resp->status);
		if (!rc && resp->status != 416)
			rc = -EIO;
		if (rc == -EIO)
			log_err("%s /%s/%s/%s: status %d", method, account,
				container, object, resp->status);
	}
	cluster_hdrs_free(&h);
	cluster_nodes_release(&nodes);
	return rc;
}

/* --- objects --------------------------------------------------------- */

/* After a PUT answered at quorum: let the other replicas end, and log
 * those that failed (the replicator restores them) or stored another
 * ETag than etag. */
static void put_rest(struct cluster_put *p, const char *account,
		     const char *container, const char *object,
		     const char *etag)
{
	int statuses[CLUSTER_MAX_NODES];
	char etags[CLUSTER_MAX_NODES][33];
	int i, got = 0;

	cluster_put_rest(p, statuses, etags, &got);
	for (i = 0; i < got; i++) {
		if (statuses[i] / 100 == 2 && *etags[i] && *etag &&
		    strcmp(etags[i], etag))
			log_err("PUT /%s/%s/%s: a backend stored ETag %s, not "
				"%s",
				account, container, object, etags[i], etag);
		else if (statuses[i] / 100 != 2 && statuses[i] != 409)
			log_warn("PUT /%s/%s/%s: a replica answered %d after "
				 "the quorum",
				 account, container, object, statuses[i]);
	}
}

int oc_put(struct cluster *c, const char *account, const char *container,
	   const char *object, const void *data, size_t len,
	   const struct oc_put_opts *opts)
{
	struct cluster_hdrs hdrs[CLUSTER_MAX_NODES];
	struct cluster_nodes nodes;
	struct cluster_put *p = NULL;
	int statuses[CLUSTER_MAX_NODES];
	char etags[CLUSTER_MAX_NODES][33];
	uint8_t digest[MD5_LEN];
	char ts[TS_NORMAL_LEN + 1], etag[2 * MD5_LEN + 1], xxh[33] = "";
	const char *ctype = "application/octet-stream";
	int i, n = 0, got = 0, early = 0, best, quorum, rc;

	memset(hdrs, 0, sizeof(hdrs));
	rc = object_nodes(c, account, container, object, &nodes);
	if (rc) {
		if (opts && opts->at_quorum)
			opts->at_quorum(opts->arg, rc);
		return rc;
	}
	if (opts && opts->content_type)
		ctype = opts->content_type;
	if (opts && opts->xxh_etag) {
		/* the ETag is the XXH3-128: the object servers check the
		 * body by it and store it (objectd/etag.c) */
		xxh128_hex(data, len, etag);
	} else {
		rc = md5_batch(data, len, digest); /* with other PUTs' */
		if (rc)
			goto out;
		md5_hex(digest, etag);
		xxh128_hex(data, len, xxh);
	}
	n = nodes.nprimary;
	quorum = cluster_quorum(n);
	oc_timestamp(ts);
	rc = write_headers(c, CLUSTER_OBJECT, account, container, hdrs, n, ts,
			   !(opts && opts->no_container_update));
	for (i = 0; i < n && !rc; i++) {
		/* the object servers check the body against the XXH3-128
		 * and store the ETag (objectd/server.c client_hashed) */
		rc = cluster_hdrs_add(&hdrs[i], "Content-Type", ctype);
		if (!rc && *etag)
			rc = cluster_hdrs_add(&hdrs[i], "Etag", etag);
		if (!rc && opts && opts->xxh_etag)
			rc = cluster_hdrs_add(&hdrs[i], "X-Backend-Etag-Hash",
					      "xxh3-128");
		if (!rc && *xxh)
			rc = cluster_hdrs_add(&hdrs[i], "X-Backend-Body-Xxh128",
					      xxh);
		if (!rc && opts && opts->if_none_match)
			rc = cluster_hdrs_add(&hdrs[i], "If-None-Match", "*");
		if (!rc && opts && opts->extra)
			rc = cluster_hdrs_copy(&hdrs[i], opts->extra);
	}
	if (rc)
		goto out;
	rc = cluster_put_open(c, &nodes, account, container, object, hdrs,
			      (int64_t)len, quorum, NULL, &early, &p);
	if (rc == -EEXIST) {
		/* 409: a newer write (or tombstone) of the object is there
		 * already; it wins, as Swift's 202 says */
		rc = early == 409 ? 0 : status_errno(early);
		goto out;
	}
	if (rc)
		goto out;
	rc = cluster_put_write(p, data, len);
	if (!rc && opts && opts->at_quorum)
		rc = cluster_put_finish_quorum(p, statuses, etags, &got);
	else if (!rc)
		rc = cluster_put_finish(p, statuses, etags, &got);
	if (rc) {
		log_err("PUT /%s/%s/%s: too few backends took the body",
			account, container, object);
		goto out;
	}
	best = cluster_best_status(statuses, got, quorum);
	if (best < 0) {
		log_err("PUT /%s/%s/%s: no quorum (%d answers)", account,
			container, object, got);
		rc = -EIO;
		goto out;
	}
	rc = statuses[best] == 409 ? 0 : status_errno(statuses[best]);
	for (i = 0; !rc && i < got; i++) {
		if (statuses[i] / 100 != 2 || !*etags[i])
			continue;
		if (strcmp(etags[i], etag)) {
			log_err("PUT /%s/%s/%s: a backend stored ETag %s, not "
				"%s",
				account, container, object, etags[i], etag);
			rc = -EIO;
		}
	}
out:
	if (opts && opts->at_quorum) {
		opts->at_quorum(opts->arg, rc);
		if (!rc && p) /* p NULL: a newer write won (409) */
			put_rest(p, account, container, object, etag);
	}
	cluster_put_free(p);
	free_hdrs(hdrs, n);
	cluster_nodes_release(&nodes);
	return rc;
}

/* Read the rest of g's body into out (max bytes at most; the rest is an
 * error). 0 or -EIO / -ENOMEM. */
static int read_all(struct cluster_get *g, struct buf *out)
{
	char chunk[65536];
	ssize_t n;

	while ((n = cluster_get_read(g, chunk, sizeof(chunk))) > 0)
		if (buf_append(out, chunk, (size_t)n))
			return -ENOMEM;
	return n < 0 ? -EIO : 0;
}

int oc_get(struct cluster *c, const char *account, const char *container,
	   const char *object, struct buf *out, struct oc_info *info)
{
	struct cluster_resp r;
	struct cluster_get *g = NULL;
	size_t start = out->len;
	int rc;

	rc = object_open(c, "GET", account, container, object, NULL, &r, &g);
	if (!rc && !g)
		rc = -EIO; /* a 416 to a GET without a Range */
	if (!rc)
		rc = read_all(g, out);
	if (!rc && info)
		fill_info(&r, info);
	if (rc)
		out->len = start;
	cluster_get_close(g);
	cluster_resp_free(&r);
	return rc;
}

ssize_t oc_get_range(struct cluster *c, const char *account,
		     const char *container, const char *object, void *buf,
		     size_t len, uint64_t off)
{
	struct cluster_hdrs h = {0};
	struct cluster_resp r;
	struct cluster_get *g = NULL;
	char skip[65536];
	uint64_t toskip = 0;
	size_t got = 0;
	ssize_t n;
	int rc;

	if (!len) {
		struct oc_info info;

		rc = oc_head(c, account, container, object, &info);
		return rc;
	}
	rc = cluster_hdrs_addf(&h, "Range", "bytes=%llu-%llu",
			       (unsigned long long)off,
			       (unsigned long long)(off + len - 1));
	if (rc)
		return rc;
	rc = object_open(c, "GET", account, container, object, &h, &r, &g);
	cluster_hdrs_free(&h);
	if (rc || !g)
		goto out; /* an error, or 416: off is past the end */
	/* a 200 is the whole object (a server may ignore the Range of an
	 * empty one): skip to off */
	if (r.status == 200)
		toskip = off;
	while (got < len) {
		if (toskip) {
			n = cluster_get_read(g, skip,
					     toskip < sizeof(skip)
						     ? (size_t)toskip
						     : sizeof(skip));
			if (n > 0)
				toskip -= (uint64_t)n;
		} else {
			n = cluster_get_read(g, (char *)buf + got, len - got);
			if (n > 0)
				got += (size_t)n;
		}
		if (n < 0) {
			rc = -EIO;
			goto out;
		}
		if (!n)
			break;
	}
out:
	cluster_get_close(g);
	cluster_resp_free(&r);
	return rc ? rc : (ssize_t)got;
}

int oc_head(struct cluster *c, const char *account, const char *container,
	    const char *object, struct oc_info *info)
{
	struct cluster_resp r;
	struct cluster_get *g = NULL;
	int rc;

	rc = object_open(c, "HEAD", account, container, object, NULL, &r, &g);
	if (!rc && !g)
		rc = -EIO;
	if (!rc && info)
		fill_info(&r, info);
	cluster_get_close(g);
	cluster_resp_free(&r);
	return rc;
}

int oc_delete(struct cluster *c, const char *account, const char *container,
	      const char *object)
{
	struct cluster_hdrs hdrs[CLUSTER_MAX_NODES];
	struct cluster_nodes nodes;
	char ts[TS_NORMAL_LEN + 1];
	int n = 0, rc;

	memset(hdrs, 0, sizeof(hdrs));
	rc = object_nodes(c, account, container, object, &nodes);
	if (rc)
		return rc;
	n = nodes.nprimary;
	oc_timestamp(ts);
	rc = write_headers(c, CLUSTER_OBJECT, account, container, hdrs, n, ts,
			   1);
	if (!rc)
		rc = quorum_request(c, &nodes, "DELETE", account, container,
				    object, hdrs, 204);
	if (rc > 0)
		rc = status_errno(rc);
	free_hdrs(hdrs, n);
	cluster_nodes_release(&nodes);
	return rc;
}

/* --- containers ------------------------------------------------------ */

/* HEAD the account or container (container NULL): its voted status, or
 * -errno. */
static int db_head(struct cluster *c, const char *account,
		   const char *container)
{
	enum cluster_kind kind =
		container ? CLUSTER_CONTAINER : CLUSTER_ACCOUNT;
	struct cluster_nodes nodes;
	struct cluster_resp r = {0};
	struct cluster_get *g = NULL;
	int rc;

	rc = cluster_lookup(c, kind, account, container, NULL, &nodes);
	if (rc)
		return rc;
	rc = cluster_get_open(c, &nodes, "HEAD", account, container, NULL, NULL,
			      NULL, 0, NULL, &r, &g);
	if (!rc)
		rc = r.status;
	cluster_get_close(g);
	cluster_resp_free(&r);
	cluster_nodes_release(&nodes);
	return rc;
}

/* PUT the account or container (container NULL) on its primaries. The
 * voted status, or -errno. */
static int db_put(struct cluster *c, const char *account, const char *container)
{
	enum cluster_kind kind =
		container ? CLUSTER_CONTAINER : CLUSTER_ACCOUNT;
	struct cluster_hdrs hdrs[CLUSTER_MAX_NODES];
	struct cluster_nodes nodes;
	char ts[TS_NORMAL_LEN + 1], pol[16];
	int i, n = 0, rc;

	memset(hdrs, 0, sizeof(hdrs));
	rc = cluster_lookup(c, kind, account, container, NULL, &nodes);
	if (rc)
		return rc;
	n = nodes.nprimary;
	oc_timestamp(ts);
	rc = write_headers(c, kind, account, container, hdrs, n, ts, 1);
	/* as the proxy: an account gets policy 0, a container the default
	 * policy (an existing container keeps its own) */
	snprintf(pol, sizeof(pol), "%d",
		 container ? policy_default()->index : 0);
	for (i = 0; i < n && !rc; i++)
		rc = cluster_hdrs_add(
			&hdrs[i],
			container ? "X-Backend-Storage-Policy-Default"
				  : "X-Backend-Storage-Policy-Index",
			pol);
	if (!rc)
		rc = quorum_request(c, &nodes, "PUT", account, container, NULL,
				    hdrs, 0);
	free_hdrs(hdrs, n);
	cluster_nodes_release(&nodes);
	return rc;
}

int oc_container_create(struct cluster *c, const char *account,
			const char *container)
{
	int rc;

	rc = check_names(account, container, NULL);
	if (rc)
		return rc;
	rc = db_head(c, account, NULL);
	if (rc == 404)
		rc = db_put(c, account, NULL);
	if (rc > 0 && rc / 100 != 2) {
		log_err("account %s: status %d", account, rc);
		rc = -EIO;
	}
	if (rc < 0)
		return rc;
	rc = db_put(c, account, container);
	if (rc > 0 && rc / 100 != 2) {
		log_err("PUT /%s/%s: status %d", account, container, rc);
		rc = -EIO;
	}
	return rc < 0 ? rc : 0;
}

/*
 * One page of the listing after marker: fn for each row. Returns fn's
 * non-zero value, 0 with *rows the count (0: the listing ended) and last
 * (of lastlen bytes) the last name, or -errno.
 */
static int list_page(struct cluster *c, const struct cluster_nodes *nodes,
		     const char *account, const char *container,
		     const char *prefix, const char *marker,
		     int (*fn)(void *arg, const char *name, uint64_t size,
			       const char *etag),
		     void *arg, int *rows, char *last, size_t lastlen)
{
	struct cluster_hdrs h = {0};
	struct cluster_resp r = {0};
	struct cluster_get *g = NULL;
	struct buf body = {0};
	char query[OC_QUERY_MAX], enc[3 * OC_MAX_OBJECT + 4];
	json_t *root = NULL, *row;
	json_error_t jerr;
	size_t i, used;
	int rc;

	*rows = 0;
	used = (size_t)snprintf(query, sizeof(query), "format=json");
	if (marker && *marker) {
		if (cluster_quote(marker, enc, sizeof(enc)) < 0)
			return -EINVAL;
		used += (size_t)snprintf(query + used, sizeof(query) - used,
					 "&marker=%s", enc);
	}
	if (prefix && *prefix) {
		if (cluster_quote(prefix, enc, sizeof(enc)) < 0)
			return -EINVAL;
		snprintf(query + used, sizeof(query) - used, "&prefix=%s", enc);
	}
	rc = cluster_hdrs_add(&h, "X-Backend-Storage-Policy-Index", "0");
	if (!rc)
		rc = cluster_get_open(c, nodes, "GET", account, container, NULL,
				      query, &h, 0, NULL, &r, &g);
	if (rc)
		goto out;
	if (!g) {
		rc = status_errno(r.status);
		if (!rc)
			rc = -EIO;
		if (rc == -EIO)
			log_err("GET /%s/%s?%s: status %d", account, container,
				query, r.status);
		goto out;
	}
	if (r.status == 204)
		goto out; /* an empty container */
	rc = read_all(g, &body);
	if (rc)
		goto out;
	root = json_loadb(body.len ? (const char *)body.data : "", body.len, 0,
			  &jerr);
	if (!json_is_array(root)) {
		log_err("GET /%s/%s: a listing that is no json array: %s",
			account, container, jerr.text);
		rc = -EIO;
		goto out;
	}
	json_array_foreach(root, i, row)
	{
		const char *name =
			json_string_value(json_object_get(row, "name"));
		const char *hash =
			json_string_value(json_object_get(row, "hash"));
		json_int_t bytes =
			json_integer_value(json_object_get(row, "bytes"));

		if (!name)
			continue; /* a subdir row: we ask for none */
		snprintf(last, lastlen, "%s", name);
		(*rows)++;
		rc = fn(arg, name, (uint64_t)bytes, hash ? hash : "");
		if (rc)
			goto out;
	}
out:
	json_decref(root);
	buf_free(&body);
	cluster_get_close(g);
	cluster_resp_free(&r);
	cluster_hdrs_free(&h);
	return rc;
}

int oc_list(struct cluster *c, const char *account, const char *container,
	    const char *prefix, const char *marker,
	    int (*fn)(void *arg, const char *name, uint64_t size,
		      const char *etag),
	    void *arg)
{
	struct cluster_nodes nodes;
	char last[OC_MAX_OBJECT + 1];
	int rows, rc;

	rc = check_names(account, container, NULL);
	if (rc)
		return rc;
	if ((marker && strlen(marker) > OC_MAX_OBJECT) ||
	    (prefix && strlen(prefix) > OC_MAX_OBJECT))
		return -EINVAL;
	rc = cluster_lookup(c, CLUSTER_CONTAINER, account, container, NULL,
			    &nodes);
	if (rc)
		return rc;
	snprintf(last, sizeof(last), "%s", marker ? marker : "");
	/* a page is at most the servers' limit; the listing ends with an
	 * empty one (a page may be short for reasons of the server's own) */
	do {
		rc = list_page(c, &nodes, account, container, prefix, last, fn,
			       arg, &rows, last, sizeof(last));
	} while (!rc && rows);
	cluster_nodes_release(&nodes);
	return rc;
}
