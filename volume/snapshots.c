/*
 * volume/snapshots.c: the snapshot resource: create (of an available
 * volume, or of an in-use one with "force": true), list, list detail,
 * show, update, delete. A snapshot is a read-only disk of the core
 * (vol_disk_snapshot: it shares every chunk with its volume), recorded
 * under snapshots/<phash>/<uuid> with the volume's id; the volume record
 * counts its snapshots (nsnap) so that the volume cannot be deleted while
 * one exists. Locks: the volume's, then the snapshot's (records.c order).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "volume/internal.h"
#include "volume/volume.h"

static json_t *snap_render(const struct vd_req *r, const json_t *rec,
			   int detail)
{
	json_t *meta = json_object_get(rec, "metadata");

	(void)r;
	(void)detail; /* Cinder shows snapshots whole in both lists */
	return json_pack("{s:s, s:O?, s:O?, s:s, s:I, s:s, s:O?, s:O?, s:o,"
			 " s:s, s:s}",
			 "id", rec_str(rec, "id"), "name",
			 json_object_get(rec, "name"), "description",
			 json_object_get(rec, "description"), "status",
			 rec_str(rec, "status"), "size",
			 (json_int_t)rec_int(rec, "size"), "volume_id",
			 rec_str(rec, "volume_id"), "created_at",
			 json_object_get(rec, "created_at"), "updated_at",
			 json_object_get(rec, "updated_at"), "metadata",
			 meta ? json_deep_copy(meta) : json_object(),
			 "os-extended-snapshot-attributes:progress", "100%",
			 "os-extended-snapshot-attributes:project_id",
			 rec_str(rec, "project"));
}

static json_t *get_snapshot(struct http_request *req, struct vd_req *r,
			    const char *id)
{
	json_t *rec = NULL;
	int rc = rec_valid_id(id)
			 ? rec_get(r->vd, REC_SNAPSHOT, r->phash, id, &rec)
			 : -ENOENT;

	if (rc == -ENOENT)
		vd_reply_error(req, 404, "Snapshot %s could not be found.", id);
	else if (rc)
		vd_reply_errno(req, rc, "Snapshot");
	return rc ? NULL : rec;
}

/* Add delta to the volume's snapshot count (its lock held). */
static int count_snapshots(struct vd_req *r, const char *vol_id, int delta)
{
	json_t *vol = NULL;
	long long n;
	int rc = rec_get(r->vd, REC_VOLUME, r->phash, vol_id, &vol);

	if (rc)
		return rc == -ENOENT ? 0 : rc;
	n = rec_int(vol, "nsnap") + delta;
	json_object_set_new(vol, "nsnap", json_integer(n < 0 ? 0 : n));
	rc = rec_put(r->vd, REC_VOLUME, r->phash, vol_id, vol);
	json_decref(vol);
	return rc;
}

void vd_create_snapshot(struct http_request *req, struct vd_req *r,
			json_t *body)
{
	json_t *s = json_object_get(body, "snapshot"), *vol = NULL;
	json_t *rec = NULL, *meta, *force;
	const char *vol_id, *st;
	char id[37], now[32], msg[512] = "";
	long long size;
	int rc;

	if (!json_is_object(s) || !(vol_id = rec_str(s, "volume_id"))) {
		vd_reply_error(req, 400,
			       "Missing required element 'snapshot' with a "
			       "volume_id in request body.");
		return;
	}
	vd_display_aliases(s);
	meta = json_object_get(s, "metadata");
	force = json_object_get(s, "force");
	if ((json_object_get(s, "name") &&
	     !json_is_null(json_object_get(s, "name")) &&
	     !json_is_string(json_object_get(s, "name"))) ||
	    (meta && !json_is_null(meta) &&
	     meta_valid(meta, msg, sizeof(msg)))) {
		vd_reply_error(req, 400, "%s",
			       *msg ? msg : "Invalid snapshot name.");
		return;
	}
	if (!rec_valid_id(vol_id)) {
		vd_reply_error(req, 404, "Volume %s could not be found.",
			       vol_id);
		return;
	}
	rec_lock(r->vd, vol_id);
	rc = rec_get(r->vd, REC_VOLUME, r->phash, vol_id, &vol);
	if (rc) {
		vd_reply_errno(req, rc, "Volume");
		goto out;
	}
	st = rec_str(vol, "status");
	if (strcmp(st, "available") &&
	    !(!strcmp(st, "in-use") &&
	      (json_is_true(force) ||
	       (json_is_string(force) &&
		!strcasecmp(json_string_value(force), "true"))))) {
		vd_reply_error(req, 400,
			       "Invalid volume: Volume %s status must be "
			       "available, but current status is: %s.",
			       vol_id, st);
		goto out;
	}
	size = rec_int(vol, "size");
	rc = quota_change(r, 0, 1, size, msg, sizeof(msg));
	if (rc) {
		if (rc == -EDQUOT)
			vd_reply_error(req, 413, "%s", msg);
		else
			vd_reply_errno(req, rc, "Quota");
		goto out;
	}
	rec_now(now);
	rc = rec_new_id(id);
	if (!rc) {
		rec = json_pack("{s:s, s:s, s:s, s:O?, s:O?, s:I, s:s, s:s, "
				"s:n, s:o}",
				"id", id, "project", r->project, "volume_id",
				vol_id, "name", json_object_get(s, "name"),
				"description",
				json_object_get(s, "description"), "size",
				(json_int_t)size, "status", "creating",
				"created_at", now, "updated_at", "metadata",
				json_is_object(meta) ? json_deep_copy(meta)
						     : json_object());
		rc = rec ? rec_put(r->vd, REC_SNAPSHOT, r->phash, id, rec)
			 : -ENOMEM;
	}
	if (rc) {
		quota_change(r, 0, -1, -size, NULL, 0);
		vd_reply_errno(req, rc, "Snapshot record");
		goto out;
	}
	rc = vol_disk_snapshot(r->vd->store, vol_id, id);
	if (rc)
		log_err("snapshot %s of %s failed: %s", id, vol_id,
			strerror(-rc));
	else
		rc = count_snapshots(r, vol_id, 1);
	rec_set_str(rec, "status", rc ? "error" : "available");
	rec_put(r->vd, REC_SNAPSHOT, r->phash, id, rec);
	vd_reply_json(req, 202,
		      json_pack("{s:o}", "snapshot", snap_render(r, rec, 1)));
out:
	json_decref(rec);
	json_decref(vol);
	rec_unlock(r->vd, vol_id);
}

void vd_list_snapshots(struct http_request *req, struct vd_req *r, json_t *body)
{
	json_t *l = vd_list(req, r, REC_SNAPSHOT, snap_render, 1);

	(void)body;
	if (l)
		vd_reply_json(req, 200, json_pack("{s:o}", "snapshots", l));
}

void vd_show_snapshot(struct http_request *req, struct vd_req *r, json_t *body)
{
	json_t *rec = get_snapshot(req, r, r->arg[0]);

	(void)body;
	if (rec)
		vd_reply_json(
			req, 200,
			json_pack("{s:o}", "snapshot", snap_render(r, rec, 1)));
	json_decref(rec);
}

void vd_update_snapshot(struct http_request *req, struct vd_req *r,
			json_t *body)
{
	json_t *s = json_object_get(body, "snapshot"), *rec = NULL, *v;
	static const char *const keys[] = {"name", "description"};
	int i, rc;

	if (!json_is_object(s)) {
		vd_reply_error(req, 400,
			       "Missing required element 'snapshot' in "
			       "request body.");
		return;
	}
	vd_display_aliases(s);
	for (i = 0; i < 2; i++) {
		v = json_object_get(s, keys[i]);
		if (v && !json_is_null(v) &&
		    (!json_is_string(v) || json_string_length(v) > 255)) {
			vd_reply_error(req, 400, "Invalid %s.", keys[i]);
			return;
		}
	}
	rec_lock(r->vd, r->arg[0]);
	rec = get_snapshot(req, r, r->arg[0]);
	if (!rec)
		goto out;
	for (i = 0; i < 2; i++)
		if ((v = json_object_get(s, keys[i])))
			json_object_set(rec, keys[i], v);
	rec_touch(rec);
	rc = rec_put(r->vd, REC_SNAPSHOT, r->phash, r->arg[0], rec);
	if (rc)
		vd_reply_errno(req, rc, "Snapshot record");
	else
		vd_reply_json(
			req, 200,
			json_pack("{s:o}", "snapshot", snap_render(r, rec, 1)));
out:
	json_decref(rec);
	rec_unlock(r->vd, r->arg[0]);
}

void vd_delete_snapshot(struct http_request *req, struct vd_req *r,
			json_t *body)
{
	json_t *rec = get_snapshot(req, r, r->arg[0]);
	char vol_id[37];
	const char *st;
	long long size;
	int rc;

	(void)body;
	if (!rec)
		return;
	snprintf(vol_id, sizeof(vol_id), "%s", rec_str(rec, "volume_id"));
	json_decref(rec);
	rec_lock(r->vd, vol_id);
	rec_lock(r->vd, r->arg[0]);
	rec = get_snapshot(req, r, r->arg[0]);
	if (!rec)
		goto out;
	st = rec_str(rec, "status");
	if (strcmp(st, "available") && strcmp(st, "error") &&
	    strcmp(st, "error_deleting")) {
		vd_reply_error(req, 400,
			       "Invalid snapshot: Snapshot status must be "
			       "available or error, but is %s.",
			       st);
		goto out;
	}
	size = rec_int(rec, "size");
	rc = vol_disk_delete(r->vd->store, r->arg[0]);
	if (rc == -ENOENT)
		rc = 0;
	if (rc) {
		log_err("snapshot %s: delete failed: %s", r->arg[0],
			strerror(-rc));
		rec_set_str(rec, "status", "error_deleting");
		rec_put(r->vd, REC_SNAPSHOT, r->phash, r->arg[0], rec);
		vd_reply_errno(req, rc, "Snapshot");
		goto out;
	}
	rc = rec_delete(r->vd, REC_SNAPSHOT, r->phash, r->arg[0]);
	if (!rc && strcmp(st, "error"))
		rc = count_snapshots(r, vol_id, -1);
	if (!rc)
		quota_change(r, 0, -1, -size, NULL, 0);
	if (rc)
		vd_reply_errno(req, rc, "Snapshot record");
	else
		http_reply(req, 202, NULL, 0);
out:
	json_decref(rec);
	rec_unlock(r->vd, r->arg[0]);
	rec_unlock(r->vd, vol_id);
}
