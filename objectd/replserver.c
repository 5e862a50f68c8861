/*
 * objectd/replserver.c: the object server's side of replication, the
 * verbs another object server's replicator (replicator.c) sends:
 *
 *   REPLICATE /<dev>/<part>[/<sfx>-<sfx>...]
 *       rehash the listed suffixes (and any invalidated ones), answer the
 *       partition's suffix hashes as JSON {sfx: md5} (Swift answers a
 *       pickle; we need not be wire-compatible).
 *   SSYNC /<dev>/<part>/<sfx>[-<sfx>...]
 *       the missing_check half of Swift's SSYNC: every object of those
 *       suffixes, tidied, as JSON {hash: [kind, data_ts, meta_ts|null]}
 *       (kind "data" or "ts", timestamps in internal form), so the sender
 *       sees what this replica lacks or holds older; for an erasure-coded
 *       policy a 4th element lists the fragment indexes held durable at
 *       data_ts (the reconstructor's view).
 *   PUT /<dev>/<part>/<a>/<c>/<o> with X-Backend-Replication: True and
 *       X-Backend-Replication-File: <ts>.data|.ts|.meta
 *       one file of the object exactly as the sender holds it (body,
 *       metadata, footer; see diskfile.c), placed under that name once
 *       it is checked whole (df_writer_place): the sender's metadata and
 *       timestamp are kept as they are, no container update is sent, and
 *       the newest file wins by the usual cleanup, so an old file sent
 *       late changes nothing. Tombstones travel this way too.
 *
 * Answers: 400 bad path or header, 412 bad UTF-8, 507 device missing,
 * 422 a file that is not whole (nothing is placed), 500 disk errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <jansson.h>

#include "common/backend.h"
#include "common/log.h"
#include "common/md5.h"
#include "common/policy.h"
#include "objectd/internal.h"

#define MAX_SUFFIXES 4096

/* Split "abc-def-..." in place into suffixes. Count, or -EINVAL. */
static int split_suffixes(char *s, char **out, int max)
{
	int n = 0;
	char *save = NULL, *tok;

	for (tok = strtok_r(s, "-", &save); tok;
	     tok = strtok_r(NULL, "-", &save)) {
		if (!objd_suffix_ok(tok) || n == max)
			return -EINVAL;
		out[n++] = tok;
	}
	return n;
}

/* A REPLICATE or SSYNC request: /<dev>/<part>[/<sfx>-<sfx>...]. */
struct part_req {
	char *pathbuf; /* the decoded path; part and sfx point into it */
	char dev_dir[DF_DEV_DIR_MAX];
	const char *part;
	char **sfx;
	int nsfx;
	int policy; /* X-Backend-Storage-Policy-Index (none: 0) */
};

static void part_req_free(struct part_req *pr)
{
	free(pr->pathbuf);
	free(pr->sfx);
}

/*
 * Parse the request's path and storage policy into *pr (zeroed first;
 * free it with part_req_free either way). 0, or answered (400, 412, 503
 * for an index no policy has, 507, 500) and -errno.
 */
static int parse_part_req(struct http_request *req, int need_sfx,
			  struct part_req *pr)
{
	struct objd *od = http_app(req);
	const char *raw = http_raw_path(req);
	const char *v = http_header(req, "X-Backend-Storage-Policy-Index");
	const struct storage_policy *sp =
		v ? policy_by_index_str(v) : policy_by_index(0);
	size_t len = strlen(raw) + 1;
	char *segs[3] = {NULL, NULL, NULL}, msg[256];
	struct stat st;
	int status, n;

	memset(pr, 0, sizeof(*pr));
	pr->pathbuf = malloc(len);
	pr->sfx = calloc(MAX_SUFFIXES, sizeof(*pr->sfx));
	if (!pr->pathbuf || !pr->sfx) {
		http_reply_error(req, 500, "out of memory");
		return -ENOMEM;
	}
	status = backend_split_path(raw, pr->pathbuf, len, need_sfx ? 3 : 2, 3,
				    0, segs, msg, sizeof(msg));
	if (!status && strspn(segs[1], "0123456789") != strlen(segs[1])) {
		snprintf(msg, sizeof(msg), "Invalid partition: %s", segs[1]);
		status = 400;
	}
	if (!status && segs[2] && *segs[2]) {
		n = split_suffixes(segs[2], pr->sfx, MAX_SUFFIXES);
		if (n < 0) {
			snprintf(msg, sizeof(msg), "Invalid suffixes");
			status = 400;
		} else {
			pr->nsfx = n;
		}
	}
	if (!status && !sp) {
		snprintf(msg, sizeof(msg), "No policy with index %s", v);
		status = 503;
	}
	if (status) {
		http_reply_error(req, status, "%s", msg);
		return -EINVAL;
	}
	pr->policy = sp->index;
	n = snprintf(pr->dev_dir, sizeof(pr->dev_dir), "%s/%s",
		     od->cfg->devices, segs[0]);
	if (n < 0 || (size_t)n >= sizeof(pr->dev_dir) ||
	    stat(pr->dev_dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		http_reply_error(req, 507, "Insufficient Storage: %s", segs[0]);
		return -ENODEV;
	}
	pr->part = segs[1];
	return 0;
}

static void reply_json(struct http_request *req, json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);

	if (!text) {
		http_reply_error(req, 500, "out of memory");
		return;
	}
	http_add_header(req, "Content-Type", "application/json");
	http_reply(req, 200, text, strlen(text));
	free(text);
}

static void replicate_headers(struct http_request *req)
{
	struct objd *od = http_app(req);
	struct part_req pr;
	json_t *hashes = NULL;
	int rc;

	if (!parse_part_req(req, 0, &pr)) {
		rc = objd_get_hashes(pr.dev_dir, pr.policy, pr.part,
				     (const char *const *)pr.sfx, pr.nsfx,
				     od->cfg->reclaim_age, &hashes);
		if (rc)
			http_reply_error(req, 500, "cannot hash: %s",
					 strerror(-rc));
		else
			reply_json(req, hashes);
	}
	json_decref(hashes);
	part_req_free(&pr);
}

/* Append to an SSYNC entry the list of the fragment indexes in frags
 * (an EC policy: the durable archives held at the entry's time), for the
 * reconstructor. 0 or -ENOMEM. */
static int frags_append(json_t *entry, uint32_t frags)
{
	json_t *list = json_array();
	int i;

	for (i = 0; list && i < 32; i++)
		if ((frags & (1u << i)) &&
		    json_array_append_new(list, json_integer(i))) {
			json_decref(list);
			list = NULL;
		}
	return list && !json_array_append_new(entry, list) ? 0 : -ENOMEM;
}

static void ssync_headers(struct http_request *req)
{
	struct objd *od = http_app(req);
	char dts[TS_INTERNAL_LEN + 1], mts[TS_INTERNAL_LEN + 1];
	struct objd_entry *e = NULL;
	json_t *all = NULL, *one;
	struct part_req pr;
	int n, i, j, rc = 0;

	if (parse_part_req(req, 1, &pr))
		goto out;
	all = json_object();
	rc = all ? 0 : -ENOMEM;
	for (i = 0; i < pr.nsfx && !rc; i++) {
		rc = objd_list_suffix(pr.dev_dir, pr.policy, pr.part, pr.sfx[i],
				      od->cfg->reclaim_age, &e, &n);
		for (j = 0; !rc && j < n; j++) {
			const struct df_current *c = &e[j].cur;

			ts_internal(&c->data_ts, dts);
			ts_internal(&c->meta_ts, mts);
			one = json_pack("[s,s,s?]",
					c->state == DF_LIVE ? "data" : "ts",
					dts, c->has_meta ? mts : NULL);
			if (one && c->ec && frags_append(one, c->frags))
				rc = -ENOMEM;
			if (!one || json_object_set_new(all, e[j].hash, one))
				rc = -ENOMEM;
		}
		free(e);
		e = NULL;
	}
	if (rc)
		http_reply_error(req, 500, "cannot list: %s", strerror(-rc));
	else
		reply_json(req, all);
out:
	json_decref(all);
	part_req_free(&pr);
}

/* --- replication PUT ----------------------------------------------------- */

struct repl_put {
	char *pathbuf;
	const char *part, *a, *c, *o;
	char fname[64];
	struct df_loc loc;
	struct df_writer w;
	int writing;
	int64_t clen;
};

static void repl_put_close(struct http_request *req, int completed)
{
	struct repl_put *r = http_state(req);

	(void)completed;
	if (r) {
		if (r->writing)
			df_writer_abort(&r->w);
		free(r->pathbuf);
		free(r);
	}
	http_set_state(req, NULL);
}

static void repl_put_headers(struct http_request *req)
{
	struct objd *od = http_app(req);
	const char *raw = http_raw_path(req), *fname, *v;
	const struct storage_policy *sp;
	size_t len = strlen(raw) + 1;
	struct repl_put *r = calloc(1, sizeof(*r));
	char *segs[5], msg[256];
	int status, rc;

	if (!r || !(r->pathbuf = malloc(len))) {
		free(r);
		http_reply_error(req, 500, "out of memory");
		return;
	}
	r->w.fd = -1;
	http_set_state(req, r);
	status = backend_split_path(raw, r->pathbuf, len, 5, 5, 1, segs, msg,
				    sizeof(msg));
	if (status) {
		http_reply_error(req, status, "%s", msg);
		return;
	}
	fname = http_header(req, "X-Backend-Replication-File");
	r->clen = http_content_length(req);
	if (!fname || strlen(fname) >= sizeof(r->fname) || strchr(fname, '/') ||
	    r->clen < 0 || r->clen > OBJ_MAX_FILE_SIZE + OBJ_MAX_META_BLOCK) {
		http_reply_error(req, 400, "Bad replication headers");
		return;
	}
	snprintf(r->fname, sizeof(r->fname), "%s", fname);
	r->part = segs[1];
	r->a = segs[2];
	r->c = segs[3];
	r->o = segs[4];
	v = http_header(req, "X-Backend-Storage-Policy-Index");
	sp = v ? policy_by_index_str(v) : policy_by_index(0);
	if (!sp) {
		http_reply_error(req, 503, "No policy with index %s", v);
		return;
	}
	rc = df_locate_policy(od->cfg->devices, segs[0], r->part, sp->index,
			      &od->hash, r->a, r->c, r->o, &r->loc);
	if (rc == -ENODEV) {
		http_reply_error(req, 507, "Insufficient Storage: %s", segs[0]);
		return;
	}
	if (rc) {
		http_reply_error(req, 400, "Invalid path");
		return;
	}
	rc = df_writer_open(&r->loc, &r->w, -1);
	if (rc) {
		http_reply_error(req, rc == -ENOSPC ? 507 : 500,
				 "cannot write: %s", strerror(-rc));
		return;
	}
	/* df_writer_place checks the body against its ETag itself */
	md5_free(r->w.md5);
	r->w.md5 = NULL;
	r->writing = 1;
}

static void repl_put_body(struct http_request *req, const char *data,
			  size_t len)
{
	struct repl_put *r = http_state(req);
	int rc;

	if (!r || !r->writing)
		return;
	if (r->w.size + len > (uint64_t)r->clen) {
		df_writer_abort(&r->w);
		r->writing = 0;
		http_reply_error(req, 400, "body longer than Content-Length");
		return;
	}
	rc = df_writer_write(&r->w, data, len);
	if (rc) {
		df_writer_abort(&r->w);
		r->writing = 0;
		http_reply_error(req, rc == -ENOSPC ? 507 : 500,
				 "cannot write: %s", strerror(-rc));
	}
}

static void repl_put_end(struct http_request *req)
{
	struct repl_put *r = http_state(req);
	struct objd *od = http_app(req);
	struct objmeta meta = OBJMETA_INIT;
	struct df_obj old;
	int64_t old_da = 0, new_da;
	int rc;

	if (!r || !r->writing) {
		http_reply_error(req, 500, "no upload in progress");
		return;
	}
	if (r->w.size != (uint64_t)r->clen) {
		http_reply_error(req, 499, "Client Disconnect");
		return;
	}
	/* the expiry index follows the object's X-Delete-At (expirer.c) */
	exp_lock(od, r->loc.hash);
	if (!df_open(&r->loc, (int64_t)0, &old)) {
		if (old.state == DF_LIVE || old.state == DF_EXPIRED)
			old_da = exp_delete_at_of(&old.meta);
		df_close(&old);
	}
	r->writing = 0;
	rc = df_writer_place(&r->w, &r->loc, r->fname, &meta);
	new_da = rc ? 0 : exp_delete_at_of(&meta);
	if (!rc && new_da)
		rc = exp_before_write(od, NULL, &r->loc, r->part, r->a, r->c,
				      r->o, new_da);
	if (!rc && (old_da || new_da))
		exp_after_write(&r->loc, old_da, new_da);
	exp_unlock(od, r->loc.hash);
	objmeta_free(&meta);
	if (rc == -EILSEQ || rc == -EINVAL)
		http_reply_error(req, 422, "Unprocessable Entity");
	else if (rc)
		http_reply_error(req, rc == -ENOSPC ? 507 : 500,
				 "cannot place: %s", strerror(-rc));
	else
		http_reply(req, 201, "", 0);
}

const struct http_handler objd_h_replicate = {replicate_headers, NULL, NULL,
					      NULL};
const struct http_handler objd_h_ssync = {ssync_headers, NULL, NULL, NULL};
const struct http_handler objd_h_repl_put = {repl_put_headers, repl_put_body,
					     repl_put_end, repl_put_close};

const struct http_handler *objd_repl_route(struct http_request *req)
{
	const char *m = http_method(req), *v;

	if (!strcmp(m, "REPLICATE"))
		return &objd_h_replicate;
	if (!strcmp(m, "SSYNC"))
		return &objd_h_ssync;
	v = http_header(req, "X-Backend-Replication");
	if (!strcmp(m, "PUT") && v && !strcasecmp(v, "true"))
		return &objd_h_repl_put;
	return NULL;
}
