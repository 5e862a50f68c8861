/*
 * volume/metadata.c: the metadata endpoints of volumes and snapshots
 * (Cinder's volumes/{id}/metadata[/{key}] and snapshots/...): show,
 * merge (POST), replace (PUT), and one key's show, set and delete. The
 * route's shape says which kind of record; its lock is held across the
 * read-modify-write. Keys and values are strings of at most 255
 * characters (Cinder's limits), at most META_MAX_ITEMS of them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "volume/internal.h"

#define META_MAX_ITEMS 128

int meta_valid(const json_t *v, char *msg, size_t msglen)
{
	const char *k;
	json_t *val;

	if (!json_is_object(v)) {
		snprintf(msg, msglen,
			 "Malformed metadata: an object of "
			 "strings is expected.");
		return -EINVAL;
	}
	if (json_object_size(v) > META_MAX_ITEMS) {
		snprintf(msg, msglen, "Too many metadata items (at most %d).",
			 META_MAX_ITEMS);
		return -EINVAL;
	}
	json_object_foreach((json_t *)v, k, val)
	{
		if (!*k || strlen(k) > VD_MAX_META_LEN) {
			snprintf(msg, msglen,
				 "Metadata property key blank or longer than "
				 "%d characters.",
				 VD_MAX_META_LEN);
			return -EINVAL;
		}
		if (!json_is_string(val) ||
		    json_string_length(val) > VD_MAX_META_LEN) {
			snprintf(msg, msglen,
				 "Metadata property value of %s is not a "
				 "string of at most %d characters.",
				 k, VD_MAX_META_LEN);
			return -EINVAL;
		}
	}
	return 0;
}

static enum rec_kind kind_of(const struct vd_req *r)
{
	return strncmp(r->route->shape, "volumes", 7) ? REC_SNAPSHOT
						      : REC_VOLUME;
}

/* Read the record under its lock; replies and returns NULL on failure. */
static json_t *load(struct http_request *req, struct vd_req *r)
{
	enum rec_kind k = kind_of(r);
	json_t *rec = NULL;
	int rc = rec_valid_id(r->arg[0])
			 ? rec_get(r->vd, k, r->phash, r->arg[0], &rec)
			 : -ENOENT;

	if (rc == -ENOENT)
		vd_reply_error(req, 404, "%s %s could not be found.",
			       k == REC_VOLUME ? "Volume" : "Snapshot",
			       r->arg[0]);
	else if (rc)
		vd_reply_errno(req, rc, "Record");
	if (rc)
		return NULL;
	if (!json_is_object(json_object_get(rec, "metadata")))
		json_object_set_new(rec, "metadata", json_object());
	return rec;
}

/* Write rec back and reply {"<key>": what} (what is consumed). */
static void store(struct http_request *req, struct vd_req *r, json_t *rec,
		  const char *key, json_t *what)
{
	char msg[256];
	int rc;

	if (meta_valid(json_object_get(rec, "metadata"), msg, sizeof(msg))) {
		json_decref(what);
		vd_reply_error(req, 400, "%s", msg);
		return;
	}
	rec_touch(rec);
	rc = rec_put(r->vd, kind_of(r), r->phash, r->arg[0], rec);
	if (rc) {
		json_decref(what);
		vd_reply_errno(req, rc, "Record");
		return;
	}
	vd_reply_json(req, 200, json_pack("{s:o}", key, what));
}

void vd_meta_get(struct http_request *req, struct vd_req *r, json_t *body)
{
	json_t *rec = load(req, r);

	(void)body;
	if (rec)
		vd_reply_json(req, 200,
			      json_pack("{s:O}", "metadata",
					json_object_get(rec, "metadata")));
	json_decref(rec);
}

static void meta_set(struct http_request *req, struct vd_req *r, json_t *body,
		     int replace)
{
	json_t *m = json_object_get(body, "metadata"), *rec;
	char msg[256];

	if (!m || meta_valid(m, msg, sizeof(msg))) {
		vd_reply_error(req, 400, "%s",
			       m ? msg
				 : "Malformed request body: "
				   "'metadata' is required.");
		return;
	}
	rec_lock(r->vd, r->arg[0]);
	rec = load(req, r);
	if (rec) {
		if (replace)
			json_object_set(rec, "metadata", m);
		else
			json_object_update(json_object_get(rec, "metadata"), m);
		store(req, r, rec, "metadata",
		      json_deep_copy(json_object_get(rec, "metadata")));
	}
	json_decref(rec);
	rec_unlock(r->vd, r->arg[0]);
}

void vd_meta_merge(struct http_request *req, struct vd_req *r, json_t *body)
{
	meta_set(req, r, body, 0);
}

void vd_meta_replace(struct http_request *req, struct vd_req *r, json_t *body)
{
	meta_set(req, r, body, 1);
}

void vd_meta_get_key(struct http_request *req, struct vd_req *r, json_t *body)
{
	json_t *rec = load(req, r), *v;

	(void)body;
	if (!rec)
		return;
	v = json_object_get(json_object_get(rec, "metadata"), r->arg[1]);
	if (v)
		vd_reply_json(req, 200,
			      json_pack("{s:{s:O}}", "meta", r->arg[1], v));
	else
		vd_reply_error(req, 404, "Metadata item was not found.");
	json_decref(rec);
}

void vd_meta_put_key(struct http_request *req, struct vd_req *r, json_t *body)
{
	json_t *m = json_object_get(body, "meta"), *rec, *v;
	char msg[256];

	if (!json_is_object(m) || json_object_size(m) != 1 ||
	    !(v = json_object_get(m, r->arg[1]))) {
		vd_reply_error(req, 400, "Request body and URI mismatch.");
		return;
	}
	if (meta_valid(m, msg, sizeof(msg))) {
		vd_reply_error(req, 400, "%s", msg);
		return;
	}
	rec_lock(r->vd, r->arg[0]);
	rec = load(req, r);
	if (rec) {
		json_object_set(json_object_get(rec, "metadata"), r->arg[1], v);
		store(req, r, rec, "meta", json_deep_copy(m));
	}
	json_decref(rec);
	rec_unlock(r->vd, r->arg[0]);
}

void vd_meta_delete_key(struct http_request *req, struct vd_req *r,
			json_t *body)
{
	json_t *rec, *meta;
	int rc;

	(void)body;
	rec_lock(r->vd, r->arg[0]);
	rec = load(req, r);
	if (!rec)
		goto out;
	meta = json_object_get(rec, "metadata");
	if (!json_object_get(meta, r->arg[1])) {
		vd_reply_error(req, 404, "Metadata item was not found.");
		goto out;
	}
	json_object_del(meta, r->arg[1]);
	rec_touch(rec);
	rc = rec_put(r->vd, kind_of(r), r->phash, r->arg[0], rec);
	if (rc)
		vd_reply_errno(req, rc, "Record");
	else
		http_reply(req, 200, NULL, 0);
out:
	json_decref(rec);
	rec_unlock(r->vd, r->arg[0]);
}
