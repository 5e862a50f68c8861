/*
 * proxy/account.c: the account controller (swift/proxy/controllers/
 * account.py): HEAD and GET (listing) from the first account server that
 * answers, POST of metadata to every primary; PUT and DELETE are refused
 * (Swift's allow_account_management is off). The account ACL
 * (X-Account-Access-Control, checked by tempauth_request) is kept as
 * sysmeta and shown to owners only. An account that does not
 * exist yet reads as an empty one (account_autocreate) and is created on
 * its first write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/timestamp.h"
#include "proxy/internal.h"

/* Swift's account_listing_response for an account not created yet. */
static void fake_listing(struct http_request *req, const struct proxy_path *p)
{
	const char *format = http_query(req, "format");
	const char *accept = http_header(req, "Accept");
	char ts[32], body[1024];
	int json = 0, xml = 0;

	if (format) {
		json = !strcasecmp(format, "json");
		xml = !strcasecmp(format, "xml");
	} else if (accept) {
		json = strstr(accept, "application/json") != NULL;
		xml = !json && (strstr(accept, "application/xml") ||
				strstr(accept, "text/xml"));
	}
	proxy_timestamp(ts);
	http_add_header(req, "X-Account-Container-Count", "0");
	http_add_header(req, "X-Account-Object-Count", "0");
	http_add_header(req, "X-Account-Bytes-Used", "0");
	http_add_header(req, "X-Timestamp", ts);
	http_add_header(req, "X-Put-Timestamp", ts);
	http_add_header(req, "X-Backend-Fake-Account-Listing", "yes");
	if (json) {
		http_add_header(req, "Content-Type",
				"application/json; charset=utf-8");
		http_reply(req, 200, "[]", 2);
	} else if (xml) {
		snprintf(body, sizeof(body),
			 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			 "<account name=\"%s\"></account>",
			 p->account);
		http_add_header(req, "Content-Type",
				"application/xml; charset=utf-8");
		http_reply(req, 200, body, strlen(body));
	} else {
		http_add_header(req, "Content-Type",
				"text/plain; charset=utf-8");
		http_reply(req, 204, "", 0);
	}
}

static void account_get(struct http_request *req, struct proxy_app *app,
			struct proxy_path *p)
{
	struct cluster_nodes nodes;
	const char *limit = http_query(req, "limit");
	char query[8192];

	if (limit && atoll(limit) > ACCOUNT_LISTING_LIMIT) {
		http_reply_error(req, 412, "Maximum limit is %d",
				 ACCOUNT_LISTING_LIMIT);
		return;
	}
	if (proxy_listing_query(req, query, sizeof(query))) {
		http_reply_error(req, 400, "query too long");
		return;
	}
	if (cluster_lookup(app->cluster, CLUSTER_ACCOUNT, p->account, NULL,
			   NULL, &nodes)) {
		proxy_reply_status(req, 503);
		return;
	}
	proxy_get_stream(req, app, &nodes, p, query,
			 app->conf->account_autocreate ? fake_listing : NULL);
	cluster_nodes_release(&nodes);
}

static int account_post_once(struct http_request *req, struct proxy_app *app,
			     struct proxy_path *p, int reply)
{
	struct cluster_hdrs hdrs[CLUSTER_MAX_NODES];
	struct cluster_nodes nodes;
	char ts[32];
	int i, n, rc, status = 503;

	memset(hdrs, 0, sizeof(hdrs));
	if (cluster_lookup(app->cluster, CLUSTER_ACCOUNT, p->account, NULL,
			   NULL, &nodes)) {
		if (reply)
			proxy_reply_status(req, 503);
		return 503;
	}
	n = nodes.nprimary;
	proxy_timestamp(ts);
	rc = proxy_backend_headers(req, hdrs, n, ts, NULL, NULL, 0);
	for (i = 0; i < n && !rc; i++)
		rc = proxy_owner_headers(&hdrs[i], p);
	if (!rc)
		status = proxy_quorum_request(req, app, &nodes, "POST", p, hdrs,
					      n, 0, reply);
	else if (reply)
		proxy_reply_status(req, 503);
	for (i = 0; i < n; i++)
		cluster_hdrs_free(&hdrs[i]);
	cluster_nodes_release(&nodes);
	return status;
}

static void account_post(struct http_request *req, struct proxy_app *app,
			 struct proxy_path *p)
{
	char msg[512];
	int status;

	if (check_metadata(req, "account", msg, sizeof(msg))) {
		http_reply_error(req, 400, "%s", msg);
		return;
	}
	if (!app->conf->account_autocreate) {
		account_post_once(req, app, p, 1);
		return;
	}
	status = account_post_once(req, app, p, 0);
	if (status == 404) {
		if (proxy_autocreate_account(req, app, p->account)) {
			proxy_reply_status(req, 503);
			return;
		}
		account_post_once(req, app, p, 1);
		return;
	}
	proxy_reply_status(req, status);
}

void proxy_account(struct http_request *req, struct proxy_app *app,
		   struct proxy_path *p)
{
	const char *m = http_method(req);

	if (strlen(p->account) > MAX_ACCOUNT_NAME_LENGTH) {
		http_reply_error(req, 400,
				 "Account name length of %zu longer than %d",
				 strlen(p->account), MAX_ACCOUNT_NAME_LENGTH);
		return;
	}
	if (!strcmp(m, "GET") || !strcmp(m, "HEAD")) {
		account_get(req, app, p);
	} else if (!strcmp(m, "POST")) {
		account_post(req, app, p);
	} else {
		http_add_header(req, "Allow", "DELETE, GET, HEAD, POST, PUT");
		proxy_reply_status(req, 405);
	}
}
