/*
 * volume/api.c: the HTTP face of kumo-volumed, a subset of the OpenStack
 * Block Storage (Cinder) v3 API. It answers /healthcheck and the version
 * documents (GET / and GET /v3/) itself; every other request is
 * /v3/<project>/<what...>, where the project is a Swift account
 * (AUTH_test): the project name is checked, the token is checked for it
 * (auth.c), the route table below picks the handler, a JSON body is read
 * (at most VD_MAX_BODY bytes) and parsed, and the handler replies.
 * Handlers never see a socket and never see another project's records
 * (records.c names them by project).
 *
 * Errors are Cinder's: {"badRequest": {"message": "...", "code": 400}},
 * itemNotFound (404), overLimit (413)...
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "volume/internal.h"

#define API_VERSION "3.0" /* we speak no microversion beyond the base */

static const struct vd_route routes[] = {
	/* literals before '*' where both could match */
	{"GET", "volumes", vd_list_volumes, 0},
	{"GET", "volumes/detail", vd_list_volumes_detail, 0},
	{"POST", "volumes", vd_create_volume, 1},
	{"GET", "volumes/*", vd_show_volume, 0},
	{"PUT", "volumes/*", vd_update_volume, 1},
	{"DELETE", "volumes/*", vd_delete_volume, 0},
	{"POST", "volumes/*/action", vd_volume_action, 1},
	{"GET", "volumes/*/metadata", vd_meta_get, 0},
	{"POST", "volumes/*/metadata", vd_meta_merge, 1},
	{"PUT", "volumes/*/metadata", vd_meta_replace, 1},
	{"GET", "volumes/*/metadata/*", vd_meta_get_key, 0},
	{"PUT", "volumes/*/metadata/*", vd_meta_put_key, 1},
	{"DELETE", "volumes/*/metadata/*", vd_meta_delete_key, 0},
	{"GET", "snapshots", vd_list_snapshots, 0},
	{"GET", "snapshots/detail", vd_list_snapshots, 0},
	{"POST", "snapshots", vd_create_snapshot, 1},
	{"GET", "snapshots/*", vd_show_snapshot, 0},
	{"PUT", "snapshots/*", vd_update_snapshot, 1},
	{"DELETE", "snapshots/*", vd_delete_snapshot, 0},
	{"GET", "snapshots/*/metadata", vd_meta_get, 0},
	{"POST", "snapshots/*/metadata", vd_meta_merge, 1},
	{"PUT", "snapshots/*/metadata", vd_meta_replace, 1},
	{"GET", "snapshots/*/metadata/*", vd_meta_get_key, 0},
	{"PUT", "snapshots/*/metadata/*", vd_meta_put_key, 1},
	{"DELETE", "snapshots/*/metadata/*", vd_meta_delete_key, 0},
	{"GET", "limits", vd_get_limits, 0},
	{"GET", "os-quota-sets/*", vd_get_quota_set, 0},
	{"GET", "os-quota-sets/*/defaults", vd_get_quota_defaults, 0},
	{NULL},
};

/* --- replies ------------------------------------------------------------- */

static const char *error_kind(int status)
{
	switch (status) {
	case 400:
		return "badRequest";
	case 401:
		return "unauthorized";
	case 403:
		return "forbidden";
	case 404:
		return "itemNotFound";
	case 405:
		return "badMethod";
	case 409:
		return "conflictingRequest";
	case 413:
		return "overLimit";
	case 415:
		return "badMediaType";
	case 501:
		return "notImplemented";
	case 503:
		return "serviceUnavailable";
	default:
		return "computeFault";
	}
}

void vd_reply_json(struct http_request *req, int status, json_t *root)
{
	char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;

	json_decref(root);
	if (!text) {
		http_reply_error(req, 500, "out of memory");
		return;
	}
	http_add_header(req, "Content-Type", "application/json");
	http_add_header(req, "OpenStack-API-Version", "volume " API_VERSION);
	http_add_header(req, "Vary", "OpenStack-API-Version");
	http_reply(req, status, text, strlen(text));
	free(text);
}

void vd_reply_error(struct http_request *req, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vd_reply_json(req, status,
		      json_pack("{s:{s:s, s:i}}", error_kind(status), "message",
				msg, "code", status));
}

void vd_reply_errno(struct http_request *req, int rc, const char *what)
{
	switch (rc) {
	case -ENOENT:
		vd_reply_error(req, 404, "%s could not be found.", what);
		break;
	case -EINVAL:
		vd_reply_error(req, 400, "Invalid request for %s.", what);
		break;
	case -ENOMEM:
		vd_reply_error(req, 500, "Out of memory.");
		break;
	default:
		vd_reply_error(req, 503,
			       "The storage cluster could not be reached "
			       "(%s).",
			       strerror(-rc));
	}
}

json_t *vd_links(const struct vd_req *r, const char *kind, const char *id)
{
	return json_pack("[{s:s++++++, s:s}, {s:s++++++, s:s}]", "href",
			 r->base_url, "/v3/", r->project, "/", kind, "/", id,
			 "rel", "self", "href", r->base_url, "/", r->project,
			 "/", kind, "/", id, "rel", "bookmark");
}

/* --- version documents ------------------------------------------------ */

static json_t *version_doc(const char *base)
{
	return json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s, s:s}, "
		"{s:s+, s:s}], s:[{s:s, s:s}]}",
		"id", "v3.0", "status", "CURRENT", "version", API_VERSION,
		"min_version", "3.0", "updated", "2018-07-17T00:00:00Z",
		"links", "href", "https://docs.openstack.org/", "rel",
		"describedby", "type", "text/html", "href", base, "/v3/", "rel",
		"self", "media-types", "base", "application/json", "type",
		"application/vnd.openstack.volume+json;version=3");
}

static void base_url(struct http_request *req, char *out, size_t len)
{
	const char *host = http_header(req, "Host");
	const char *p;

	/* only a host[:port] of safe characters goes back into links */
	for (p = host; p && *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789.-:[]",
			    *p))
			break;
	if (!host || !*host || *p || strlen(host) > 255)
		host = "127.0.0.1";
	snprintf(out, len, "http://%s", host);
}

/* --- routing ------------------------------------------------------------- */

static int valid_project(const char *p)
{
	size_t n = strlen(p), i;

	if (n == 0 || n > VD_MAX_PROJECT || p[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789_-.",
			    p[i]))
			return 0;
	return 1;
}

/*
 * Match segs[0..n) against a shape ("volumes/ * /metadata", '*' taking
 * one segment, kept in r->arg). 1 when it matches.
 */
static int shape_match(const char *shape, char **segs, int n, struct vd_req *r)
{
	char buf[128], *save = NULL, *tok;
	int i = 0, nargs = 0;

	snprintf(buf, sizeof(buf), "%s", shape);
	for (tok = strtok_r(buf, "/", &save); tok;
	     tok = strtok_r(NULL, "/", &save), i++) {
		if (i >= n)
			return 0;
		if (!strcmp(tok, "*")) {
			if (!*segs[i] || nargs >= 3)
				return 0;
			r->arg[nargs++] = segs[i];
		} else if (strcmp(tok, segs[i])) {
			return 0;
		}
	}
	return i == n;
}

/* Find the route; 404 when no shape matches, 405 when only the method
 * differs. */
static int find_route(const char *method, char **segs, int n, struct vd_req *r)
{
	int i, shape_seen = 0;

	for (i = 0; routes[i].method; i++) {
		if (!shape_match(routes[i].shape, segs, n, r))
			continue;
		shape_seen = 1;
		if (!strcmp(routes[i].method, method)) {
			r->route = &routes[i];
			return 0;
		}
	}
	return shape_seen ? 405 : 404;
}

static void free_req(struct vd_req *r)
{
	if (!r)
		return;
	buf_free(&r->body);
	free(r);
}

static void on_headers(struct http_request *req)
{
	struct volumed *vd = http_app(req);
	const char *raw = http_raw_path(req), *method = http_method(req);
	struct vd_req *r = NULL;
	char *segs[8], base[300];
	int n, st;

	if (!strcmp(raw, "/healthcheck")) {
		http_add_header(req, "Content-Type", "text/plain");
		http_reply(req, 200, "OK", 2);
		return;
	}
	base_url(req, base, sizeof(base));
	if (!strcmp(raw, "/")) {
		vd_reply_json(
			req, 300,
			json_pack("{s:[o]}", "versions", version_doc(base)));
		return;
	}
	if (!strcmp(raw, "/v3") || !strcmp(raw, "/v3/")) {
		vd_reply_json(
			req, 200,
			json_pack("{s:[o]}", "versions", version_doc(base)));
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		http_reply_error(req, 500, "out of memory");
		return;
	}
	r->vd = vd;
	snprintf(r->base_url, sizeof(r->base_url), "%s", base);
	n = http_split_path(raw, r->segbuf, sizeof(r->segbuf), segs, 8);
	if (n < 3 || strcmp(segs[0], "v3")) {
		vd_reply_error(req, n < 0 ? 400 : 404,
			       "The resource could not be found.");
		goto fail;
	}
	if (n >= 3 && !*segs[n - 1]) /* a trailing slash */
		n--;
	if (!valid_project(segs[1])) {
		vd_reply_error(req, 400, "Invalid project id.");
		goto fail;
	}
	snprintf(r->project, sizeof(r->project), "%s", segs[1]);
	rec_project_hash(r->project, r->phash);
	st = vd_auth_check(vd->auth, r->project,
			   http_header(req, "X-Auth-Token"));
	if (st) {
		vd_reply_error(req, st,
			       st == 503 ? "The token could not be checked."
			       : st == 403
				       ? "Policy doesn't allow this project."
				       : "The request you have made requires "
					 "authentication.");
		goto fail;
	}
	st = find_route(method, segs + 2, n - 2, r);
	if (st) {
		if (st == 405)
			vd_reply_error(req, 405, "Method %s not allowed here.",
				       method);
		else
			vd_reply_error(req, 404,
				       "The resource could not be found.");
		goto fail;
	}
	if (http_content_length(req) > VD_MAX_BODY) {
		vd_reply_error(req, 413, "Request is too large.");
		goto fail;
	}
	if (!r->route->body) {
		r->route->fn(req, r, NULL);
		goto fail; /* done with r */
	}
	http_set_state(req, r);
	return;
fail:
	free_req(r);
}

static void on_body(struct http_request *req, const char *data, size_t len)
{
	struct vd_req *r = http_state(req);

	if (!r || r->too_big)
		return;
	if (r->body.len + len > VD_MAX_BODY || buf_append(&r->body, data, len))
		r->too_big = 1;
}

static void on_end(struct http_request *req)
{
	struct vd_req *r = http_state(req);
	json_error_t jerr;
	json_t *body;

	if (!r) {
		if (!http_replied(req))
			vd_reply_error(req, 400, "Unexpected request body.");
		return;
	}
	if (r->too_big) {
		vd_reply_error(req, 413, "Request is too large.");
		return;
	}
	body = json_loadb((const char *)r->body.data, r->body.len, 0, &jerr);
	if (!body || !json_is_object(body)) {
		vd_reply_error(req, 400, "Malformed request body: %s",
			       body ? "not a JSON object" : jerr.text);
		json_decref(body);
		return;
	}
	r->route->fn(req, r, body);
	json_decref(body);
}

static void on_close(struct http_request *req, int completed)
{
	(void)completed;
	free_req(http_state(req));
	http_set_state(req, NULL);
}

static const struct http_handler vd_handler = {on_headers, on_body, on_end,
					       on_close};

const struct http_handler *vd_route(struct http_request *req)
{
	(void)req;
	return &vd_handler;
}
