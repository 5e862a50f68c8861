/*
 * proxy/container.c: the container controller (swift/proxy/controllers/
 * container.py): HEAD and GET (listing, its query passed through) from the
 * first container server that answers; PUT, POST and DELETE to every
 * primary at once, each carrying a share of the account servers to update
 * (X-Account-Host/-Device/-Partition); the answer is the quorum's.
 *
 * A PUT's X-Storage-Policy names the container's storage policy
 * (common/policy.h; 400 for an unknown name); the container servers
 * refuse (409) a different policy for an existing container. HEAD and GET
 * name the container's policy in X-Storage-Policy (proxy_get_stream).
 *
 * Container ACLs (X-Container-Read/-Write) are cleaned as Swift's
 * clean_acl (400 when malformed) and kept by the container servers as
 * metadata; only owners may set them (a non-owner's are dropped, as
 * Swift) and only owners see them (proxy_relay_headers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/policy.h"
#include "proxy/internal.h"

static void container_get(struct http_request *req, struct proxy_app *app,
			  struct proxy_path *p)
{
	struct cluster_nodes nodes;
	const char *limit = http_query(req, "limit");
	char query[8192];

	if (limit && atoll(limit) > CONTAINER_LISTING_LIMIT) {
		http_reply_error(req, 412, "Maximum limit is %d",
				 CONTAINER_LISTING_LIMIT);
		return;
	}
	if (proxy_listing_query(req, query, sizeof(query))) {
		http_reply_error(req, 400, "query too long");
		return;
	}
	if (cluster_lookup(app->cluster, CLUSTER_CONTAINER, p->account,
			   p->container, NULL, &nodes)) {
		proxy_reply_status(req, 503);
		return;
	}
	proxy_get_stream(req, app, &nodes, p, query, NULL);
	cluster_nodes_release(&nodes);
}

/* The client's container ACLs, cleaned as Swift's clean_acl. */
struct acls {
	char read[4096];
	char write[4096];
	int has_read, has_write;
};

/* Clean X-Container-Read/-Write into *a; 0, or replies 400 and returns
 * it. */
static int clean_acls(struct http_request *req, struct acls *a)
{
	const char *r = http_header(req, "X-Container-Read");
	const char *w = http_header(req, "X-Container-Write");
	char msg[1200];

	memset(a, 0, sizeof(*a));
	if (r && acl_clean("X-Container-Read", r, a->read, sizeof(a->read), msg,
			   sizeof(msg))) {
		http_reply_error(req, 400, "%s", msg);
		return 400;
	}
	if (w && acl_clean("X-Container-Write", w, a->write, sizeof(a->write),
			   msg, sizeof(msg))) {
		http_reply_error(req, 400, "%s", msg);
		return 400;
	}
	a->has_read = r != NULL;
	a->has_write = w != NULL;
	return 0;
}

/* The backend headers' ACLs: dropped for non-owners, cleaned else. */
static int acl_headers(struct cluster_hdrs *hdrs, int n,
		       const struct proxy_path *p, const struct acls *a)
{
	int i, rc = 0;

	for (i = 0; i < n && !rc; i++) {
		rc = proxy_owner_headers(&hdrs[i], p);
		if (!rc && p->owner && a && a->has_read) {
			proxy_hdrs_del(&hdrs[i], "X-Container-Read");
			rc = proxy_hdrs_add(&hdrs[i], "X-Container-Read",
					    a->read);
		}
		if (!rc && p->owner && a && a->has_write) {
			proxy_hdrs_del(&hdrs[i], "X-Container-Write");
			rc = proxy_hdrs_add(&hdrs[i], "X-Container-Write",
					    a->write);
		}
	}
	return rc;
}

/*
 * Swift's _convert_policy_to_index: the index of the client's
 * X-Storage-Policy (a name or alias, without case) in *index, or -1 when
 * none was given (the container servers then take the default). 0, or
 * replies 400 and returns it for an unknown name or a deprecated policy
 * (which no container may choose; one that has it keeps it). A container
 * that exists with another policy is refused by its servers (409).
 */
static int policy_index(struct http_request *req, int *index)
{
	const char *name = http_header(req, "X-Storage-Policy");
	const struct storage_policy *sp;

	*index = -1;
	if (!name || !*name)
		return 0;
	sp = policy_by_name(name);
	if (!sp) {
		http_reply_error(req, 400, "Invalid X-Storage-Policy '%s'",
				 name);
		return 400;
	}
	if (sp->deprecated) {
		http_reply_error(req, 400, "Storage Policy '%s' is deprecated",
				 sp->name);
		return 400;
	}
	*index = sp->index;
	return 0;
}

/* A PUT's policy headers (Swift's _backend_requests): the chosen index,
 * or the default for the container servers to apply to a new container
 * (an existing one keeps its own). 0 or -ENOMEM. */
static int policy_headers(struct cluster_hdrs *h, int index)
{
	char v[16];

	proxy_hdrs_del(h, "X-Backend-Storage-Policy-Index");
	if (index >= 0) {
		snprintf(v, sizeof(v), "%d", index);
		return proxy_hdrs_add(h, "X-Backend-Storage-Policy-Index", v);
	}
	snprintf(v, sizeof(v), "%d", policy_default()->index);
	return proxy_hdrs_add(h, "X-Backend-Storage-Policy-Default", v);
}

/* PUT, POST or DELETE on every container primary (acls: the cleaned
 * ACLs of a PUT or POST, else NULL; policy: a PUT's policy index, -1 for
 * the default). */
static void container_write(struct http_request *req, struct proxy_app *app,
			    struct proxy_path *p, const char *method,
			    const struct acls *acls, int policy)
{
	struct cluster_hdrs hdrs[CLUSTER_MAX_NODES];
	struct cluster_nodes nodes, accounts;
	char ts[32];
	int i, n = 0, status, upd = strcmp(method, "POST") != 0;

	memset(hdrs, 0, sizeof(hdrs));
	if (cluster_lookup(app->cluster, CLUSTER_CONTAINER, p->account,
			   p->container, NULL, &nodes)) {
		proxy_reply_status(req, 503);
		return;
	}
	if (cluster_lookup(app->cluster, CLUSTER_ACCOUNT, p->account, NULL,
			   NULL, &accounts)) {
		proxy_reply_status(req, 503);
		goto out_nodes;
	}
	n = nodes.nprimary;
	proxy_timestamp(ts);
	if (proxy_backend_headers(req, hdrs, n, ts, upd ? &accounts : NULL,
				  "Account", 0) ||
	    acl_headers(hdrs, n, p, acls)) {
		proxy_reply_status(req, 503);
		goto out;
	}
	for (i = 0; i < n && !strcmp(method, "PUT"); i++) {
		if (policy_headers(&hdrs[i], policy)) {
			proxy_reply_status(req, 503);
			goto out;
		}
	}
	status = proxy_quorum_request(req, app, &nodes, method, p, hdrs, n, 0,
				      0);
	if (!strcmp(method, "DELETE") && status == 202)
		status = 404;
	if (status >= 200 && status < 300)
		http_add_headerf(req, "X-Timestamp", "%s", ts);
	proxy_reply_status(req, status);
out:
	for (i = 0; i < n; i++)
		cluster_hdrs_free(&hdrs[i]);
	cluster_nodes_release(&accounts);
out_nodes:
	cluster_nodes_release(&nodes);
}

static void container_put(struct http_request *req, struct proxy_app *app,
			  struct proxy_path *p)
{
	struct acls acls;
	char msg[512];
	int status, policy;

	if (strlen(p->container) > MAX_CONTAINER_NAME_LENGTH) {
		http_reply_error(
			req, 400, "Container name length of %zu longer than %d",
			strlen(p->container), MAX_CONTAINER_NAME_LENGTH);
		return;
	}
	if (clean_acls(req, &acls))
		return;
	if (check_metadata(req, "container", msg, sizeof(msg))) {
		http_reply_error(req, 400, "%s", msg);
		return;
	}
	if (policy_index(req, &policy))
		return;
	status = proxy_head_status(req, app, CLUSTER_ACCOUNT, p);
	if (status == 404 && app->conf->account_autocreate) {
		if (proxy_autocreate_account(req, app, p->account)) {
			proxy_reply_status(req, 503);
			return;
		}
	} else if (status == 404) {
		proxy_reply_status(req, 404);
		return;
	} else if (status / 100 != 2) {
		proxy_reply_status(req, 503);
		return;
	}
	container_write(req, app, p, "PUT", &acls, policy);
}

void proxy_container(struct http_request *req, struct proxy_app *app,
		     struct proxy_path *p)
{
	const char *m = http_method(req);
	struct acls acls;
	char msg[512];

	if (!strcmp(m, "GET") || !strcmp(m, "HEAD")) {
		container_get(req, app, p);
	} else if (!strcmp(m, "PUT")) {
		container_put(req, app, p);
	} else if (!strcmp(m, "POST")) {
		if (clean_acls(req, &acls))
			return;
		if (check_metadata(req, "container", msg, sizeof(msg))) {
			http_reply_error(req, 400, "%s", msg);
			return;
		}
		container_write(req, app, p, "POST", &acls, -1);
	} else if (!strcmp(m, "DELETE")) {
		container_write(req, app, p, "DELETE", NULL, -1);
	} else {
		http_add_header(req, "Allow", "DELETE, GET, HEAD, POST, PUT");
		proxy_reply_status(req, 405);
	}
}
