/*
 * proxy/server.c: the proxy's configuration, startup, request routing and
 * the helpers its controllers share (header passing, quorum requests,
 * streamed GETs), in the manner of swift/proxy/server.py and
 * swift/proxy/controllers/base.py.
 *
 * Every request goes through one handler: on_headers parses the path,
 * answers /healthcheck, /info and /auth/ at once, authenticates and
 * authorizes /v1/ requests (tempauth_request; no token: anonymous) and
 * hands them to the account, container or object controller, or to
 * copy.c for COPY and PUT with X-Copy-From. Only an object PUT reads a
 * body (object.c streams it to the backends); everything else answers
 * from on_headers.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/log.h"
#include "common/policy.h"
#include "common/timestamp.h"
#include "proxy/internal.h"

#define OFF(f) offsetof(struct proxy_conf, f)

const struct conf_key proxy_conf_table[] = {
	{"proxy-server", "bind_ip", CONF_STR, 0, 0, "127.0.0.1", OFF(bind_ip),
	 "address to listen on"},
	{"proxy-server", "bind_port", CONF_INT, 0, 65535, "8080",
	 OFF(bind_port), "port to listen on"},
	{"proxy-server", "log_level", CONF_STR, 0, 0, "info", OFF(log_level),
	 "error, warn, info or debug"},
	{"proxy-server", "swift_dir", CONF_STR, 0, 0, "/etc/swift",
	 OFF(swift_dir),
	 "where account.ring.gz, container.ring.gz and object.ring.gz live"},
	{"proxy-server", "conn_timeout", CONF_DOUBLE, 0.01, 60, "0.5",
	 OFF(conn_timeout), "seconds to connect to a backend server"},
	{"proxy-server", "node_timeout", CONF_DOUBLE, 0.1, 3600, "10",
	 OFF(node_timeout), "seconds a backend server may stay silent"},
	{"proxy-server", "error_suppression_limit", CONF_INT, 0, 1000000, "10",
	 OFF(error_suppression_limit),
	 "errors after which a node is skipped for a while"},
	{"proxy-server", "error_suppression_interval", CONF_DOUBLE, 0, 86400,
	 "60", OFF(error_suppression_interval),
	 "seconds a node's errors are remembered (and it is skipped)"},
	{"proxy-server", "ring_check_interval", CONF_DOUBLE, 0.01, 86400, "15",
	 OFF(ring_check_interval),
	 "seconds between checks of the ring files (a changed one is loaded)"},
	{"proxy-server", "account_autocreate", CONF_BOOL, 0, 0, "true",
	 OFF(account_autocreate),
	 "create an account on its first write (as Swift's option)"},
	{"filter:tempauth", "token_life", CONF_INT, 1, 315360000, "86400",
	 OFF(token_life), "seconds a token stays valid"},
	{"filter:tempauth", "reseller_prefix", CONF_STR, 0, 0, "AUTH",
	 OFF(reseller_prefix),
	 "accounts are <prefix>_<account>; several as Swift: AUTH, SERVICE"},
	{"filter:tempauth", "require_group", CONF_STR, 0, 0, "",
	 OFF(require_group),
	 "a group needed (besides .admin) to own accounts of every prefix"},
	{"filter:tempauth", "AUTH_require_group", CONF_STR, 0, 0, "",
	 OFF(auth_require_group),
	 "the same for AUTH_ accounts only (Swift's <prefix>_require_group)"},
	{"filter:tempauth", "SERVICE_require_group", CONF_STR, 0, 0, "",
	 OFF(service_require_group),
	 "the same for SERVICE_ accounts, e.g. service: a user token and a "
	 "service token (X-Service-Token) of a user in group service"},
	{"filter:tempauth", "user_", CONF_PREFIX, 0, 0,
	 "user_<account>_<user> = <key> [.admin] [.reseller_admin] [group...] "
	 "[storage_url]",
	 OFF(users),
	 "users, one a line, e.g. user_test_tester = testing .admin"},
	{"filter:s3api", "storage_domain", CONF_STR, 0, 0, "localhost",
	 OFF(s3_storage_domain),
	 "S3 virtual-host addressing: Host <bucket>.<storage_domain>; "
	 "empty: path style only"},
	{"filter:s3api", "location", CONF_STR, 0, 0, "us-east-1",
	 OFF(s3_location),
	 "the S3 region: signatures' scope, GetBucketLocation, "
	 "CreateBucket's LocationConstraint"},
	{"filter:s3api", "min_segment_size", CONF_INT, 1, 1073741824, "5242880",
	 OFF(s3_min_segment_size),
	 "smallest part but the last that CompleteMultipartUpload takes "
	 "(EntityTooSmall)"},
	{"swift-hash", "swift_hash_path_prefix", CONF_STR, 0, 0, "",
	 OFF(hash_prefix), "salt hashed before every path (swift.conf)"},
	{"swift-hash", "swift_hash_path_suffix", CONF_STR, 0, 0, "changeme",
	 OFF(hash_suffix), "salt hashed after every path (swift.conf)"},
	{NULL},
};

/* require_group, then <prefix>_require_group, as Swift's
 * config_read_reseller_options. */
static int set_require_groups(struct tempauth *ta,
			      const struct proxy_conf *conf, char *err,
			      size_t errlen)
{
	int rc = tempauth_set_require_group(ta, NULL, conf->require_group);

	if (!rc && *conf->auth_require_group)
		rc = tempauth_set_require_group(ta, "AUTH",
						conf->auth_require_group);
	if (rc == -ENOENT) {
		snprintf(err, errlen,
			 "[filter:tempauth] AUTH_require_group: AUTH is not a "
			 "reseller_prefix");
		return -EINVAL;
	}
	if (!rc && *conf->service_require_group)
		rc = tempauth_set_require_group(ta, "SERVICE",
						conf->service_require_group);
	if (rc == -ENOENT) {
		snprintf(err, errlen,
			 "[filter:tempauth] SERVICE_require_group: SERVICE is "
			 "not a reseller_prefix");
		return -EINVAL;
	}
	if (rc)
		snprintf(err, errlen, "out of memory");
	return rc;
}

int proxy_start(void *cfg, void **out)
{
	struct proxy_conf *conf = cfg;
	struct cluster_conf cc = {0};
	struct proxy_app *app = calloc(1, sizeof(*app));
	char err[512];
	int rc;

	if (!app)
		return -ENOMEM;
	app->conf = conf;
	cc.swift_dir = conf->swift_dir;
	cc.hash_prefix = conf->hash_prefix;
	cc.hash_suffix = conf->hash_suffix;
	cc.conn_timeout = conf->conn_timeout;
	cc.node_timeout = conf->node_timeout;
	cc.error_suppression_limit = (int)conf->error_suppression_limit;
	cc.error_suppression_interval = conf->error_suppression_interval;
	cc.ring_check_interval = conf->ring_check_interval;
	rc = tempauth_new(&conf->users, conf->reseller_prefix, conf->token_life,
			  &app->auth, err, sizeof(err));
	if (!rc)
		rc = set_require_groups(app->auth, conf, err, sizeof(err));
	/* the users are parsed: the config's copies are no longer needed */
	conf_free(proxy_conf_table, conf);
	if (rc) {
		log_err("%s", err);
		goto fail;
	}
	rc = cluster_open(&cc, &app->cluster);
	if (rc)
		goto fail;
	*out = app;
	return 0;
fail:
	proxy_stop(app);
	return rc;
}

void proxy_stop(void *arg)
{
	struct proxy_app *app = arg;

	if (!app)
		return;
	cluster_close(app->cluster);
	tempauth_free(app->auth);
	free(app);
}

/* --- helpers ------------------------------------------------------------- */

void proxy_timestamp(char out[32])
{
	struct ts t;

	ts_now(&t);
	ts_normal(&t, out);
}

static const char *status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Request Entity Too Large";
	case 416:
		return "Requested Range Not Satisfiable";
	case 422:
		return "Unprocessable Entity";
	case 499:
		return "Client Disconnect";
	case 500:
		return "Internal Error";
	case 503:
		return "Service Unavailable";
	case 507:
		return "Insufficient Storage";
	default:
		return "";
	}
}

void proxy_reply_status(struct http_request *req, int status)
{
	if (status == 204 || status == 304 || status < 200) {
		http_reply(req, status, "", 0);
		return;
	}
	http_reply_error(req, status, "%s", status_text(status));
}

/* A header name and its length: the length is compared first, so that
 * most names cost no strcasecmp (a relayed GET or HEAD compared each of
 * its ~11 response headers with 17 names). */
struct hdr_name {
	const char *s;
	size_t len;
};
#define HDR(s)                   \
	{                        \
		s, sizeof(s) - 1 \
	}
#define NHDRS(list) (sizeof(list) / sizeof(list[0]))

/* Is name, len bytes long, one of list[0..n)? */
static int listed(const char *name, size_t len, const struct hdr_name *list,
		  size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i].len == len && !strcasecmp(name, list[i].s))
			return 1;
	return 0;
}

/* Does name hold "-Sysmeta-" (any case)? As strcasestr, without its
 * two-way setup on every header of every request. */
static int has_sysmeta(const char *name)
{
	const char *d;

	for (d = strchr(name, '-'); d; d = strchr(d + 1, '-'))
		if (!strncasecmp(d, "-Sysmeta-", 9))
			return 1;
	return 0;
}

/* Is name one of list[0..n), or a backend or sysmeta header? Those never
 * cross the proxy between clients and backends. */
static int hidden_header(const char *name, const struct hdr_name *list,
			 size_t n)
{
	return listed(name, strlen(name), list, n) ||
	       !strncasecmp(name, "X-Backend-", 10) || has_sysmeta(name);
}

/* Headers a client may not hand to a backend. */
static int private_request_header(const char *name)
{
	static const struct hdr_name drop[] = {HDR("Host"),
					       HDR("Connection"),
					       HDR("Keep-Alive"),
					       HDR("Content-Length"),
					       HDR("Transfer-Encoding"),
					       HDR("Expect"),
					       HDR("Te"),
					       HDR("Trailer"),
					       HDR("Upgrade"),
					       HDR("X-Auth-Token"),
					       HDR("X-Storage-Token"),
					       HDR("X-Service-Token"),
					       HDR("Authorization"),
					       HDR("X-Timestamp"),
					       HDR("X-Trans-Id"),
					       HDR("X-Newest"),
					       HDR("Proxy-Connection"),
					       HDR("Accept-Encoding"),
					       HDR("X-Auth-User"),
					       HDR("X-Auth-Key"),
					       HDR("X-Storage-User"),
					       HDR("X-Storage-Pass"),
					       HDR("X-Delete-After")};

	return hidden_header(name, drop, NHDRS(drop));
}

struct copy_ctx {
	struct cluster_hdrs *h;
	int rc;
};

static void copy_one(const char *name, const char *value, void *arg)
{
	struct copy_ctx *c = arg;

	if (c->rc || private_request_header(name))
		return;
	c->rc = proxy_hdrs_add(c->h, name, value);
}

int proxy_client_headers(struct http_request *req, struct cluster_hdrs *h)
{
	struct copy_ctx c = {h, 0};

	http_each_header(req, copy_one, &c);
	if (!c.rc)
		c.rc = cluster_hdrs_add(h, "X-Backend-Storage-Policy-Index",
					"0");
	return c.rc;
}

static int private_response_header(const char *name)
{
	static const struct hdr_name drop[] = {HDR("Connection"),
					       HDR("Keep-Alive"),
					       HDR("Transfer-Encoding"),
					       HDR("Content-Length"),
					       HDR("Date"),
					       HDR("Server"),
					       HDR("X-Trans-Id"),
					       HDR("X-Openstack-Request-Id")};

	return hidden_header(name, drop, NHDRS(drop));
}

/* Swift's swift_owner_headers: shown to (and taken from) owners only. */
int proxy_owner_header(const char *name)
{
	static const struct hdr_name owner[] = {
		HDR("X-Container-Read"),
		HDR("X-Container-Write"),
		HDR("X-Container-Sync-Key"),
		HDR("X-Container-Sync-To"),
		HDR("X-Account-Meta-Temp-Url-Key"),
		HDR("X-Account-Meta-Temp-Url-Key-2"),
		HDR("X-Container-Meta-Temp-Url-Key"),
		HDR("X-Container-Meta-Temp-Url-Key-2"),
		HDR("X-Account-Access-Control")};

	return listed(name, strlen(name), owner, NHDRS(owner));
}

void proxy_relay_headers(struct http_request *req, const struct cluster_resp *r,
			 const struct proxy_path *p)
{
	int owner = p && p->owner, i;

	for (i = 0; i < r->nhdrs; i++) {
		const char *name = r->hdr_names[i];

		if (owner && !strcasecmp(name, "X-Account-Sysmeta-Core-"
					       "Access-Control")) {
			char *acl = acl_account_format(r->hdr_values[i]);

			if (acl)
				http_add_header(req, "X-Account-Access-Control",
						acl);
			free(acl);
			continue;
		}
		if (private_response_header(name) ||
		    (!owner && proxy_owner_header(name)) ||
		    tempurl_hidden_header(p, name))
			continue;
		http_add_header(req, name, r->hdr_values[i]);
	}
}

int proxy_hdrs_add(struct cluster_hdrs *h, const char *name, const char *value)
{
	char *line;
	int rc;

	if (*value)
		return cluster_hdrs_add(h, name, value);
	/* libcurl drops "Name:" but sends "Name;" as "Name:" */
	rc = cluster_hdrs_add(h, name, NULL);
	if (!rc) {
		line = h->lines[h->n - 1];
		line[strlen(line) - 1] = ';';
	}
	return rc;
}

void proxy_hdrs_del(struct cluster_hdrs *h, const char *name)
{
	size_t n = strlen(name);
	int i = 0;

	while (i < h->n) {
		if (!strncasecmp(h->lines[i], name, n) &&
		    (h->lines[i][n] == ':' || h->lines[i][n] == ';')) {
			free(h->lines[i]);
			h->lines[i] = h->lines[--h->n];
		} else {
			i++;
		}
	}
}

int proxy_owner_headers(struct cluster_hdrs *h, const struct proxy_path *p)
{
	char *acl = NULL;
	int i = 0, rc = 0;

	while (i < h->n) {
		char *line = h->lines[i], *colon = strpbrk(line, ":;");
		char name[128];

		snprintf(name, sizeof(name), "%.*s",
			 colon ? (int)(colon - line) : 0, line);
		if (!proxy_owner_header(name)) {
			i++;
			continue;
		}
		if (p->owner && strcasecmp(name, "X-Account-Access-Control")) {
			i++;
			continue;
		}
		if (p->owner && !acl) {
			const char *v = *colon == ';' ? "" : colon + 1;

			while (*v == ' ')
				v++;
			acl = strdup(v);
			if (!acl)
				rc = -ENOMEM;
		}
		free(line);
		h->lines[i] = h->lines[--h->n];
	}
	if (acl) {
		proxy_hdrs_del(h, "X-Account-Sysmeta-Core-Access-Control");
		rc = proxy_hdrs_add(h, "X-Account-Sysmeta-Core-Access-Control",
				    acl);
	}
	free(acl);
	return rc;
}

int proxy_quorum_request(struct http_request *req, struct proxy_app *app,
			 const struct cluster_nodes *nodes, const char *method,
			 const struct proxy_path *p, struct cluster_hdrs *hdrs,
			 int nslots, int override404, int reply)
{
	return proxy_quorum_request_n(req, app, nodes, method, p, hdrs, nslots,
				      0, override404, reply);
}

int proxy_quorum_request_n(struct http_request *req, struct proxy_app *app,
			   const struct cluster_nodes *nodes,
			   const char *method, const struct proxy_path *p,
			   struct cluster_hdrs *hdrs, int nslots, int quorum,
			   int override404, int reply)
{
	struct cluster_resp resps[CLUSTER_MAX_NODES];
	int statuses[CLUSTER_MAX_NODES], i, best, status = 503;

	memset(resps, 0, sizeof(resps));
	if (nslots > CLUSTER_MAX_NODES)
		nslots = CLUSTER_MAX_NODES;
	if (cluster_make_requests(app->cluster, nodes, method, p->account,
				  p->container, p->object, NULL, hdrs, nslots,
				  NULL, 0, http_txn(req), resps))
		goto out;
	for (i = 0; i < nslots; i++)
		statuses[i] = resps[i].status;
	best = cluster_best_status(statuses, nslots, quorum);
	if (best < 0 && override404) {
		/* Swift's overrides: a 404 counts as override404 towards the
		 * quorum, but a real answer is the one given */
		int faked[CLUSTER_MAX_NODES], real = -1;

		for (i = 0; i < nslots; i++)
			faked[i] =
				statuses[i] == 404 ? override404 : statuses[i];
		best = cluster_best_status(faked, nslots, quorum);
		if (best >= 0) {
			for (i = 0; i < nslots; i++)
				if (statuses[i] != 404 &&
				    faked[i] / 100 == faked[best] / 100 &&
				    (real < 0 || statuses[i] > statuses[real]))
					real = i;
			if (real >= 0) {
				best = real;
			} else {
				status = override404;
				best = -1;
				if (reply)
					proxy_reply_status(req, status);
				goto out;
			}
		}
	}
	if (best < 0) {
		log_err("%s %s/%s: no quorum among %d answers", method,
			p->account, p->container ? p->container : "", nslots);
		status = 503;
	} else {
		status = statuses[best];
		if (reply)
			proxy_relay_headers(req, &resps[best], p);
	}
	if (reply)
		proxy_reply_status(req, status);
out:
	for (i = 0; i < nslots; i++)
		cluster_resp_free(&resps[i]);
	return status;
}

ssize_t proxy_get_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	ssize_t n = cluster_get_read(ctx, buf, max);

	(void)pos;
	return n < 0 ? -1 : n;
}

void proxy_get_done(void *ctx)
{
	cluster_get_close(ctx);
}

/* Swift's GETorHEAD_base: a success's X-Backend-Storage-Policy-Index
 * named for the client in X-Storage-Policy (logged when unknown). */
static void policy_name_header(struct http_request *req,
			       const struct cluster_resp *r)
{
	const char *v =
		cluster_resp_header(r, "X-Backend-Storage-Policy-Index");
	const struct storage_policy *sp = policy_by_index_str(v);

	if (!v || r->status / 100 != 2)
		return;
	if (sp)
		http_add_header(req, "X-Storage-Policy", sp->name);
	else
		log_err("could not translate X-Backend-Storage-Policy-Index "
			"'%s' to a policy",
			v);
}

void proxy_get_stream(struct http_request *req, struct proxy_app *app,
		      const struct cluster_nodes *nodes,
		      const struct proxy_path *p, const char *query,
		      void (*on404)(struct http_request *req,
				    const struct proxy_path *p))
{
	struct cluster_hdrs h = {0};
	struct cluster_resp r = {0};
	struct cluster_get *g = NULL;
	const char *newest = http_header(req, "X-Newest");

	if (proxy_client_headers(req, &h)) {
		http_reply_error(req, 500, "out of memory");
		goto out;
	}
	if (cluster_get_open(app->cluster, nodes, http_method(req), p->account,
			     p->container, p->object, query, &h,
			     newest && (!strcasecmp(newest, "true") ||
					!strcmp(newest, "1") ||
					!strcasecmp(newest, "yes")),
			     http_txn(req), &r, &g)) {
		http_reply_error(req, 500, "out of memory");
		goto out;
	}
	if (!g && r.status == 404 && on404) {
		on404(req, p);
		goto out;
	}
	proxy_get_reply(req, p, &r, g);
out:
	cluster_resp_free(&r);
	cluster_hdrs_free(&h);
}

/* The largest body proxy_get_reply reads whole before it answers. */
#define SMALL_REPLY (64 * 1024)

/*
 * The size bytes of g's body read whole into a new buffer (*out, the
 * caller frees it), so that the answer's headers and body leave together
 * without a streamed reply's callbacks. A source that fails is resumed on
 * another replica by cluster_get_read as for a stream. 0, or -EIO when
 * the body cannot be finished (logged), -ENOMEM.
 */
static int read_small(struct http_request *req, struct cluster_get *g,
		      size_t size, char **out)
{
	char *body = malloc(size ? size : 1);
	size_t got = 0;
	ssize_t n = 1;

	*out = NULL;
	if (!body)
		return -ENOMEM;
	while (n > 0 && got < size) {
		n = cluster_get_read(g, body + got, size - got);
		if (n > 0)
			got += (size_t)n;
	}
	if (got < size) {
		log_err("txn=%s: body ended at byte %zu of %zu", http_txn(req),
			got, size);
		free(body);
		return -EIO;
	}
	*out = body;
	return 0;
}

void proxy_get_reply(struct http_request *req, const struct proxy_path *p,
		     const struct cluster_resp *r, struct cluster_get *g)
{
	const char *cl = g ? cluster_resp_header(r, "Content-Length") : NULL;
	int64_t size = cl ? strtoll(cl, NULL, 10) : -1;
	char *small = NULL;

	if (!g) {
		if (r->status == 404 || r->status == 416 || r->status == 412 ||
		    r->status == 304)
			proxy_relay_headers(req, r, p);
		proxy_reply_status(req, r->status);
		return;
	}
	if (r->status != 204 && r->status != 304 && size >= 0 &&
	    size <= SMALL_REPLY && strcmp(http_method(req), "HEAD")) {
		/* read before any header is added: a failure is a plain 503 */
		int rc = read_small(req, g, (size_t)size, &small);

		if (rc) {
			cluster_get_close(g);
			proxy_reply_status(req, rc == -ENOMEM ? 500 : 503);
			return;
		}
	}
	proxy_relay_headers(req, r, p);
	policy_name_header(req, r);
	if (p && p->tempurl && r->status / 100 == 2)
		tempurl_response_headers(
			req, p, cluster_resp_header(r, "Content-Disposition"));
	if (r->status == 204 || r->status == 304) {
		cluster_get_close(g);
		http_reply(req, r->status, "", 0);
		return;
	}
	if (small) {
		cluster_get_close(g);
		http_reply_take(req, r->status, small, (size_t)size);
		return;
	}
	http_reply_stream(req, r->status, size, proxy_get_read, g,
			  proxy_get_done);
}

int proxy_backend_headers(struct http_request *req, struct cluster_hdrs *hdrs,
			  int nslots, const char *ts,
			  const struct cluster_nodes *upd, const char *what,
			  int needed)
{
	int i, rc = 0;

	for (i = 0; i < nslots && !rc; i++) {
		rc = proxy_client_headers(req, &hdrs[i]);
		if (!rc)
			rc = cluster_hdrs_add(&hdrs[i], "X-Timestamp", ts);
	}
	if (rc)
		return rc;
	return cluster_update_headers(hdrs, nslots, upd, what, needed);
}

int proxy_head_status(struct http_request *req, struct proxy_app *app,
		      enum cluster_kind kind, const struct proxy_path *p)
{
	struct cluster_resp r = {0};
	int status = proxy_head_info(req, app, kind, p, &r);

	cluster_resp_free(&r);
	return status;
}

int proxy_head_info(struct http_request *req, struct proxy_app *app,
		    enum cluster_kind kind, const struct proxy_path *p,
		    struct cluster_resp *r)
{
	struct cluster_nodes nodes;
	struct cluster_hdrs h = {0};
	struct cluster_get *g = NULL;
	int status = 503;

	memset(r, 0, sizeof(*r));
	r->status = 503;
	if (cluster_lookup(app->cluster, kind, p->account,
			   kind == CLUSTER_ACCOUNT ? NULL : p->container, NULL,
			   &nodes))
		return 503;
	if (cluster_hdrs_add(&h, "X-Backend-Storage-Policy-Index", "0"))
		goto out;
	if (cluster_get_open(app->cluster, &nodes, "HEAD", p->account,
			     kind == CLUSTER_ACCOUNT ? NULL : p->container,
			     NULL, NULL, &h, 0, http_txn(req), r, &g))
		goto out;
	status = r->status;
out:
	cluster_get_close(g);
	cluster_hdrs_free(&h);
	cluster_nodes_release(&nodes);
	return status;
}

/*
 * The container existence cache, as Swift's proxy keeps container info
 * in memcache (recheck_container_existence): an object request asks a
 * container server whether its container exists, and which storage
 * policy it has, at most once per CINFO_TTL_S. Only answers of an
 * existing container are kept. Every request that may create, delete or
 * change a container or an account through this proxy (anything but an
 * object request, a GET or a HEAD) empties the cache when it starts and
 * when it ends (proxy_route, on_close), and a HEAD that overlapped such
 * a request is not kept (gen).
 */
#define CINFO_SLOTS 256
#define CINFO_TTL_S 10.0
#define CINFO_KEY   (2 * 256 + 2)

struct cinfo {
	char key[CINFO_KEY]; /* account "/" container; "" when free */
	double expires;	     /* CLOCK_MONOTONIC seconds */
	int policy;
};

static pthread_mutex_t g_cinfo_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cinfo g_cinfo[CINFO_SLOTS];
static unsigned long g_cinfo_gen; /* bumped by each emptying */

/* The slot of key (FNV-1a). */
static struct cinfo *cinfo_slot(const char *key)
{
	uint32_t h = 2166136261u;
	const char *c;

	for (c = key; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	return &g_cinfo[h % CINFO_SLOTS];
}

void proxy_container_cache_clear(void)
{
	pthread_mutex_lock(&g_cinfo_lock);
	memset(g_cinfo, 0, sizeof(g_cinfo));
	g_cinfo_gen++;
	pthread_mutex_unlock(&g_cinfo_lock);
}

int proxy_container_exists(struct http_request *req, struct proxy_app *app,
			   const struct proxy_path *p, int *policy)
{
	struct cluster_resp r = {0};
	char key[CINFO_KEY];
	struct cinfo *ci;
	unsigned long gen;
	int status, n;

	*policy = 0;
	n = snprintf(key, sizeof(key), "%s/%s", p->account, p->container);
	if (n < 0 || (size_t)n >= sizeof(key))
		key[0] = '\0'; /* too long to keep: asked every time */
	ci = cinfo_slot(key);
	pthread_mutex_lock(&g_cinfo_lock);
	gen = g_cinfo_gen;
	if (key[0] && !strcmp(ci->key, key) && ci->expires > clock_mono_s()) {
		*policy = ci->policy;
		pthread_mutex_unlock(&g_cinfo_lock);
		return 200;
	}
	pthread_mutex_unlock(&g_cinfo_lock);
	status = proxy_head_info(req, app, CLUSTER_CONTAINER, p, &r);
	*policy = proxy_container_policy(&r);
	cluster_resp_free(&r);
	if (status / 100 != 2)
		return status;
	pthread_mutex_lock(&g_cinfo_lock);
	if (key[0] && gen == g_cinfo_gen) {
		memcpy(ci->key, key, (size_t)n + 1);
		ci->expires = clock_mono_s() + CINFO_TTL_S;
		ci->policy = *policy;
	}
	pthread_mutex_unlock(&g_cinfo_lock);
	return status;
}

/* May req change a container or an account (see the cache above)? Only
 * GET, HEAD and requests on a /v1/<a>/<c>/<o> path leave them alone. */
static int changes_containers(struct http_request *req)
{
	const char *m = http_method(req), *path = http_raw_path(req), *s;
	int segs = 0;

	if (!strcmp(m, "GET") || !strcmp(m, "HEAD"))
		return 0;
	if (!strncmp(path, "/v1/", 4))
		path += 4;
	else if (!strncmp(path, "/v1.0/", 6))
		path += 6;
	else
		return 1;
	for (s = path; segs < 2 && (s = strchr(s, '/')); s++)
		segs++;
	/* a non-empty account, container and object (s: the object) */
	return segs < 2 || !s || !*s || path[0] == '/' || s[-2] == '/';
}

int proxy_container_policy(const struct cluster_resp *r)
{
	const struct storage_policy *sp = policy_by_index_str(
		cluster_resp_header(r, "X-Backend-Storage-Policy-Index"));

	return r->status / 100 == 2 && sp ? sp->index : 0;
}

int proxy_object_lookup(struct http_request *req, struct proxy_app *app,
			const char *account, const char *container,
			const char *object, struct cluster_nodes *out)
{
	struct proxy_path p;
	int policy = 0;

	if (policy_count() > 1) {
		/* the names only: zeroing the 8 KiB buffer cost every GET */
		memset(&p, 0, offsetof(struct proxy_path, buf));
		p.account = (char *)account;
		p.container = (char *)container;
		proxy_container_exists(req, app, &p, &policy);
	}
	return cluster_lookup_policy(app->cluster, policy, account, container,
				     object, out);
}

int proxy_autocreate_account(struct http_request *req, struct proxy_app *app,
			     const char *account)
{
	struct proxy_path p = {0};
	struct cluster_nodes nodes;
	struct cluster_hdrs hdrs[CLUSTER_MAX_NODES];
	char ts[32];
	int i, n, status;

	p.account = (char *)account;
	if (cluster_lookup(app->cluster, CLUSTER_ACCOUNT, account, NULL, NULL,
			   &nodes))
		return -EIO;
	n = nodes.nprimary;
	memset(hdrs, 0, sizeof(hdrs));
	proxy_timestamp(ts);
	for (i = 0; i < n; i++) {
		cluster_hdrs_add(&hdrs[i], "X-Timestamp", ts);
		cluster_hdrs_add(&hdrs[i], "X-Backend-Storage-Policy-Index",
				 "0");
	}
	status = proxy_quorum_request(req, app, &nodes, "PUT", &p, hdrs, n, 0,
				      0);
	for (i = 0; i < n; i++)
		cluster_hdrs_free(&hdrs[i]);
	cluster_nodes_release(&nodes);
	if (status / 100 != 2) {
		log_err("could not autocreate account %s: %d", account, status);
		return -EIO;
	}
	log_info("autocreated account %s", account);
	return 0;
}

int proxy_listing_query(struct http_request *req, char *out, size_t len)
{
	static const char *const keys[] = {"limit",  "marker",	  "end_marker",
					   "prefix", "delimiter", "reverse",
					   "path",   "format"};
	size_t used = 0, i;
	char enc[4096];

	out[0] = '\0';
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = http_query(req, keys[i]);
		int n;

		if (!v)
			continue;
		if (cluster_quote(v, enc, sizeof(enc)) < 0)
			return -ENAMETOOLONG;
		n = snprintf(out + used, len - used, "%s%s=%s", used ? "&" : "",
			     keys[i], enc);
		if (n < 0 || (size_t)n >= len - used)
			return -ENAMETOOLONG;
		used += (size_t)n;
	}
	return 0;
}

/* --- routing ------------------------------------------------------------- */

/* Swift's web server limits: one header line, and how many there are. */
#define MAX_HEADER_LINE	 8192
#define MAX_HEADER_COUNT 200

struct header_tally {
	int count;
	size_t longest;
	int lengths; /* Content-Length headers */
	int lengths_differ;
	const char *first_length;
};

static void tally_header(const char *name, const char *value, void *arg)
{
	struct header_tally *t = arg;
	size_t len = strlen(name) + 2 + strlen(value);

	t->count++;
	if (len > t->longest)
		t->longest = len;
	if (!strcasecmp(name, "Content-Length")) {
		if (t->lengths++ && strcmp(t->first_length, value))
			t->lengths_differ = 1;
		else
			t->first_length = value;
	}
}

/* Refuse requests beyond the header limits; 1 if it replied. */
static int header_limits_exceeded(struct http_request *req)
{
	struct header_tally t = {0, 0};

	http_each_header(req, tally_header, &t);
	if (t.longest > MAX_HEADER_LINE) {
		http_reply_error(req, 400,
				 "Header Line Too Long: more than %d "
				 "bytes",
				 MAX_HEADER_LINE);
		return 1;
	}
	if (t.lengths_differ) {
		/* which one is right is anyone's guess: refuse, so that no
		 * body is read as the next request (request smuggling) */
		http_reply_error(req, 400,
				 "Conflicting Content-Length headers");
		return 1;
	}
	if (t.count > MAX_HEADER_COUNT) {
		http_reply_error(req, 431, "Too many headers: more than %d",
				 MAX_HEADER_COUNT);
		return 1;
	}
	return 0;
}

/*
 * Each connection thread keeps the proxy_path of its last request (8 KiB)
 * for the next one: a malloc of that size made malloc consolidate its
 * fast bins on every request. The spare is freed when the thread ends.
 */
static pthread_key_t g_path_key;
static pthread_once_t g_path_once = PTHREAD_ONCE_INIT;
static int g_path_keyed; /* g_path_key exists */

static void path_key_make(void)
{
	g_path_keyed = !pthread_key_create(&g_path_key, free);
}

struct proxy_path *proxy_path_new(void)
{
	struct proxy_path *p = NULL;

	pthread_once(&g_path_once, path_key_make);
	if (g_path_keyed) {
		p = pthread_getspecific(g_path_key);
		if (p)
			pthread_setspecific(g_path_key, NULL);
	}
	return p ? p : malloc(sizeof(*p));
}

void proxy_path_free(struct proxy_path *p)
{
	if (!p)
		return;
	pthread_once(&g_path_once, path_key_make);
	if (g_path_keyed && !pthread_getspecific(g_path_key) &&
	    !pthread_setspecific(g_path_key, p))
		return;
	free(p);
}

static void on_headers(struct http_request *req)
{
	struct proxy_app *app = http_app(req);
	const char *raw = http_raw_path(req);
	const char *method = http_method(req);
	struct proxy_path *p = NULL;
	const char *msg = NULL;
	int status;

	if (header_limits_exceeded(req))
		return;
	if (!strcmp(raw, "/healthcheck")) {
		http_add_header(req, "Content-Type", "text/plain");
		http_reply(req, 200, "OK", 2);
		return;
	}
	if (!strcmp(raw, "/info")) {
		proxy_info(req, app);
		return;
	}
	if (!strncmp(raw, "/auth/", 6) || !strcmp(raw, "/auth")) {
		tempauth_handle_get_token(req, app);
		return;
	}
	if (http_content_length(req) < 0 &&
	    http_header(req, "Content-Length")) {
		http_reply_error(req, 400, "Invalid Content-Length");
		return;
	}
	/* proxy_parse_path clears all but the 8 KiB name buffer */
	p = proxy_path_new();
	if (!p) {
		http_reply_error(req, 500, "out of memory");
		return;
	}
	status = proxy_parse_path(raw, p, &msg);
	if (status) {
		http_reply_error(req, status, "%s", msg);
		goto out;
	}
	/* a temp URL lets its request in, or refuses it; else tempauth */
	status = tempurl_request(req, app, p);
	if (status > 0 || (status < 0 && tempauth_request(req, app, p)))
		goto out;
	if (p->object && lo_object(req, app, p))
		return; /* large objects took p */
	if (p->object &&
	    (!strcmp(method, "COPY") ||
	     (!strcmp(method, "PUT") && http_header(req, "X-Copy-From")))) {
		proxy_copy(req, app, p);
		goto out;
	}
	if (p->object) {
		proxy_object(req, app, p);
		return; /* object.c owns p now (freed in on_close) */
	}
	if (p->container)
		proxy_container(req, app, p);
	else
		proxy_account(req, app, p);
out:
	proxy_path_free(p);
}

/* An SLO manifest PUT's body goes to slo.c, other PUTs' to object.c. */
static void on_body(struct http_request *req, const char *data, size_t len)
{
	if (http_state(req) && slo_put_request(req))
		slo_put_body(req, data, len);
	else if (http_state(req))
		proxy_object_body(req, data, len);
}

static void on_end(struct http_request *req)
{
	if (http_state(req) && slo_put_request(req))
		slo_put_end(req);
	else if (http_state(req))
		proxy_object_end(req);
	else
		proxy_reply_status(req, 400);
}

static void on_close(struct http_request *req, int completed)
{
	if (changes_containers(req))
		proxy_container_cache_clear(); /* done: HEADs see it now */
	if (http_state(req) && slo_put_request(req))
		slo_put_close(req, completed);
	else if (http_state(req))
		proxy_object_close(req, completed);
}

static const struct http_handler proxy_handler = {on_headers, on_body, on_end,
						  on_close};

const struct http_handler *proxy_route(struct http_request *req)
{
	if (changes_containers(req))
		proxy_container_cache_clear();
	/* S3 requests (s3.c) have their own handler */
	return s3_detect(req) ? &s3_http_handler : &proxy_handler;
}
