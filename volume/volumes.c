/*
 * volume/volumes.c: the volume resource: create (empty, from a snapshot,
 * from another volume, from an image object of the project's account),
 * list, list detail, show, update, delete. A volume record (records.c)
 * holds what Cinder shows plus the private fields:
 *
 *   project     the account it belongs to
 *   image_ref   the "container/object" it was made from, or null
 *   nsnap       how many snapshots were taken of it and still exist
 *   attachment  null, or the attach state of actions.c
 *
 * Creating from an image copies the object (vol_disk_import) in a
 * background job and shows "creating" meanwhile; the other creations are
 * copy-on-write and finish before the reply. Every change of a volume
 * happens under its lock (rec_lock with its id); quota usage is changed
 * before a volume exists and after it is gone (quotas.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/objclient.h"
#include "volume/internal.h"
#include "volume/volume.h"

/* --- record helpers ------------------------------------------------------ */

const char *rec_str(const json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

long long rec_int(const json_t *rec, const char *key)
{
	return (long long)json_integer_value(json_object_get(rec, key));
}

void rec_set_str(json_t *rec, const char *key, const char *v)
{
	json_object_set_new(rec, key, v ? json_string(v) : json_null());
}

void rec_touch(json_t *rec)
{
	char now[32];

	rec_now(now);
	rec_set_str(rec, "updated_at", now);
}

json_t *vd_render_volume(const struct vd_req *r, const json_t *rec)
{
	const char *id = rec_str(rec, "id");
	json_t *att = json_object_get(rec, "attachment"), *list = json_array();
	json_t *meta = json_object_get(rec, "metadata");

	if (list && json_is_object(att) &&
	    !strcmp(rec_str(rec, "attach_status") ?: "", "attached"))
		json_array_append_new(
			list,
			json_pack(
				"{s:O?, s:O?, s:O?, s:O?, s:s, s:O?, s:s}",
				"server_id",
				json_object_get(att, "instance_uuid"),
				"attachment_id", json_object_get(att, "id"),
				"attached_at",
				json_object_get(att, "attached_at"),
				"host_name", json_object_get(att, "host_name"),
				"volume_id", id, "device",
				json_object_get(att, "mountpoint"), "id", id));
	return json_pack(
		"{s:s, s:o, s:O?, s:O?, s:s, s:I, s:s, s:O?, s:O?, s:o, s:O?, s:O?,"
		" s:s, s:b, s:b, s:n, s:n, s:s, s:O?, s:n, s:n, s:n, s:s, s:n,"
		" s:o}",
		"id", id, "links", vd_links(r, "volumes", id), "name",
		json_object_get(rec, "name"), "description",
		json_object_get(rec, "description"), "status",
		rec_str(rec, "status"), "size",
		(json_int_t)rec_int(rec, "size"), "availability_zone",
		r->vd->conf->availability_zone, "created_at",
		json_object_get(rec, "created_at"), "updated_at",
		json_object_get(rec, "updated_at"), "metadata",
		meta ? json_deep_copy(meta) : json_object(), "snapshot_id",
		json_object_get(rec, "snapshot_id"), "source_volid",
		json_object_get(rec, "source_volid"), "bootable",
		rec_str(rec, "bootable") ?: "false", "encrypted", 0,
		"multiattach", 0, "volume_type", "consistencygroup_id",
		"os-vol-tenant-attr:tenant_id", rec_str(rec, "project"),
		"user_id", json_object_get(rec, "user_id"),
		"replication_status", "migration_status",
		"os-vol-mig-status-attr:migstat", "attach_status",
		rec_str(rec, "attach_status") ?: "detached", "group_id",
		"attachments", list);
}

/* --- jobs ---------------------------------------------------------------- */

struct import_job {
	struct volumed *vd;
	char phash[33];
	char id[37];
	char project[VD_MAX_PROJECT + 1];
	char *container;
	char *object;
	uint64_t bytes;
	struct import_job *next; /* in vd->jobs */
};

/* Set the volume's status after a job (under its lock). */
static void finish_status(struct volumed *vd, const char *phash, const char *id,
			  const char *status)
{
	json_t *rec = NULL;

	rec_lock(vd, id);
	if (!rec_get(vd, REC_VOLUME, phash, id, &rec)) {
		rec_set_str(rec, "status", status);
		rec_touch(rec);
		rec_put(vd, REC_VOLUME, phash, id, rec);
	}
	json_decref(rec);
	rec_unlock(vd, id);
}

static void job_unlist(struct volumed *vd, struct import_job *j)
{
	struct import_job **pp;

	pthread_mutex_lock(&vd->jobs_lock);
	for (pp = &vd->jobs; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	pthread_cond_broadcast(&vd->jobs_done);
	pthread_mutex_unlock(&vd->jobs_lock);
}

/* Is an import of volume id running in this volumed? */
static int job_running(struct volumed *vd, const char *id)
{
	struct import_job *j;
	int found = 0;

	pthread_mutex_lock(&vd->jobs_lock);
	for (j = vd->jobs; j && !found; j = j->next)
		found = !strcmp(j->id, id);
	pthread_mutex_unlock(&vd->jobs_lock);
	return found;
}

static void *import_main(void *arg)
{
	struct import_job *j = arg;
	struct volumed *vd = j->vd;
	int rc;

	rc = vol_disk_import(vd->store, j->id, j->bytes, j->project,
			     j->container, j->object);
	if (rc)
		log_err("volume %s: import of %s/%s/%s failed: %s", j->id,
			j->project, j->container, j->object, strerror(-rc));
	finish_status(vd, j->phash, j->id, rc ? "error" : "available");
	job_unlist(vd, j);
	free(j->container);
	free(j->object);
	free(j);
	return NULL;
}

static int start_import(struct vd_req *r, const char *id, uint64_t bytes,
			const char *container, const char *object)
{
	struct import_job *j = calloc(1, sizeof(*j));
	pthread_attr_t attr;
	pthread_t t;
	int rc = -ENOMEM;

	if (!j)
		return -ENOMEM;
	j->vd = r->vd;
	snprintf(j->phash, sizeof(j->phash), "%s", r->phash);
	snprintf(j->id, sizeof(j->id), "%s", id);
	snprintf(j->project, sizeof(j->project), "%s", r->project);
	j->container = strdup(container);
	j->object = strdup(object);
	j->bytes = bytes;
	if (!j->container || !j->object)
		goto fail;
	pthread_mutex_lock(&r->vd->jobs_lock);
	j->next = r->vd->jobs;
	r->vd->jobs = j;
	pthread_mutex_unlock(&r->vd->jobs_lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = -pthread_create(&t, &attr, import_main, j);
	pthread_attr_destroy(&attr);
	if (!rc)
		return 0;
	job_unlist(r->vd, j);
fail:
	free(j->container);
	free(j->object);
	free(j);
	return rc;
}

void vd_jobs_wait(struct volumed *vd)
{
	pthread_mutex_lock(&vd->jobs_lock);
	while (vd->jobs)
		pthread_cond_wait(&vd->jobs_done, &vd->jobs_lock);
	pthread_mutex_unlock(&vd->jobs_lock);
}

/* --- create -------------------------------------------------------------- */

/* A name or description: absent, null, or a string of at most 255. */
static int opt_text(const json_t *v, const char *what, char *msg, size_t len)
{
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) > 255) {
		snprintf(msg, len,
			 "Invalid %s: a string of at most 255 "
			 "characters is expected.",
			 what);
		return -EINVAL;
	}
	return 0;
}

void vd_display_aliases(json_t *v)
{
	static const char *const alias[][2] = {
		{"display_name", "name"},
		{"display_description", "description"}};
	json_t *x;
	int i;

	for (i = 0; i < 2; i++) {
		x = json_object_get(v, alias[i][0]);
		if (x && !json_object_get(v, alias[i][1]))
			json_object_set(v, alias[i][1], x);
	}
}

/*
 * The "volume" object of a create or update body, its name, description
 * and metadata checked; replies 400 and returns NULL when it is not good.
 */
static json_t *volume_body(struct http_request *req, json_t *body)
{
	json_t *v = json_object_get(body, "volume"), *meta;
	char msg[512] = "";

	if (!json_is_object(v)) {
		vd_reply_error(req, 400,
			       "Missing required element 'volume' in request "
			       "body.");
		return NULL;
	}
	vd_display_aliases(v);
	meta = json_object_get(v, "metadata");
	if (opt_text(json_object_get(v, "name"), "name", msg, sizeof(msg)) ||
	    opt_text(json_object_get(v, "description"), "description", msg,
		     sizeof(msg)) ||
	    (meta && !json_is_null(meta) &&
	     meta_valid(meta, msg, sizeof(msg)))) {
		vd_reply_error(req, 400, "%s", msg);
		return NULL;
	}
	return v;
}

/* A size in GiB: an integer or an integer string, 1..VD_MAX_SIZE_GB. */
static int parse_size(const json_t *v, long long *out)
{
	char *end;

	if (json_is_integer(v)) {
		*out = (long long)json_integer_value(v);
	} else if (json_is_string(v)) {
		*out = strtoll(json_string_value(v), &end, 10);
		if (end == json_string_value(v) || *end)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	return *out >= 1 && *out <= VD_MAX_SIZE_GB ? 0 : -EINVAL;
}

/* "container/object" of an image in the project's account. */
static int split_image(const char *ref, char **container, char **object)
{
	const char *slash = ref ? strchr(ref, '/') : NULL;

	if (!slash || slash == ref || !slash[1] || slash - ref > 256 ||
	    strlen(slash + 1) > 1024)
		return -EINVAL;
	*container = strndup(ref, (size_t)(slash - ref));
	*object = strdup(slash + 1);
	if (!*container || !*object) {
		free(*container);
		free(*object);
		return -ENOMEM;
	}
	return 0;
}

/* The source of a new volume, checked; its size in GiB into *src_gb. */
static int check_source(struct http_request *req, struct vd_req *r,
			const char *snap_id, const char *src_vol,
			const char *image, long long *src_gb)
{
	char *cont = NULL, *obj = NULL;
	struct oc_info info;
	json_t *rec = NULL;
	const char *st;
	int rc = 0;

	*src_gb = 0;
	if (snap_id || src_vol) {
		const char *id = snap_id ? snap_id : src_vol;

		rc = rec_valid_id(id)
			     ? rec_get(r->vd,
				       snap_id ? REC_SNAPSHOT : REC_VOLUME,
				       r->phash, id, &rec)
			     : -ENOENT;
		if (rc) {
			vd_reply_errno(req, rc,
				       snap_id ? "Snapshot" : "Source volume");
			return rc;
		}
		st = rec_str(rec, "status");
		if (strcmp(st, "available") &&
		    (snap_id || strcmp(st, "in-use"))) {
			vd_reply_error(req, 400,
				       "Invalid %s: status must be available, "
				       "but the current status is: %s.",
				       snap_id ? "snapshot" : "source volume",
				       st);
			json_decref(rec);
			return -EINVAL;
		}
		*src_gb = rec_int(rec, "size");
		json_decref(rec);
		return 0;
	}
	if (!image)
		return 0;
	rc = split_image(image, &cont, &obj);
	if (!rc)
		rc = oc_head(r->vd->cluster, r->project, cont, obj, &info);
	if (rc == -EINVAL)
		vd_reply_error(req, 400,
			       "Invalid imageRef: \"container/object\" of an "
			       "object in the project's account is expected.");
	else if (rc == -ENOENT)
		vd_reply_error(req, 404, "Image %s could not be found.", image);
	else if (rc)
		vd_reply_errno(req, rc, "Image");
	else
		*src_gb = (long long)((info.size + GIB - 1) / GIB);
	if (!rc && *src_gb == 0)
		*src_gb = 1;
	free(cont);
	free(obj);
	return rc;
}

/* Make the disk of a new volume (not for images). 0 or -errno. */
static int make_disk(struct vd_req *r, const char *id, uint64_t bytes,
		     const char *snap_id, const char *src_vol)
{
	const char *src = snap_id ? snap_id : src_vol;
	int rc;

	if (!src)
		return vol_disk_create(r->vd->store, id, bytes);
	/* the source must not go away while it is copied */
	rec_lock(r->vd, src);
	rc = vol_disk_clone(r->vd->store, src, id, bytes);
	rec_unlock(r->vd, src);
	return rc;
}

void vd_create_volume(struct http_request *req, struct vd_req *r, json_t *body)
{
	json_t *v = volume_body(req, body), *rec = NULL, *meta;
	const char *snap_id, *src_vol, *image;
	char id[37], now[32], msg[512] = "";
	long long size = 0, src_gb = 0;
	int rc;

	if (!v)
		return;
	snap_id = rec_str(v, "snapshot_id");
	src_vol = rec_str(v, "source_volid");
	image = rec_str(v, "imageRef");
	meta = json_object_get(v, "metadata");
	if (!!snap_id + !!src_vol + !!image > 1) {
		vd_reply_error(req, 400,
			       "Invalid input: only one of snapshot_id, "
			       "source_volid and imageRef may be given.");
		return;
	}
	if (check_source(req, r, snap_id, src_vol, image, &src_gb))
		return;
	if (json_object_get(v, "size") &&
	    !json_is_null(json_object_get(v, "size"))) {
		if (parse_size(json_object_get(v, "size"), &size)) {
			vd_reply_error(req, 400,
				       "Invalid input: size must be an integer "
				       "between 1 and %d (GiB).",
				       VD_MAX_SIZE_GB);
			return;
		}
	} else if (src_gb) {
		size = src_gb;
	} else {
		vd_reply_error(req, 400, "Invalid input: size is required.");
		return;
	}
	if (size < src_gb) {
		vd_reply_error(req, 400,
			       "Invalid input: size %lld GiB is smaller than "
			       "its source (%lld GiB).",
			       size, src_gb);
		return;
	}
	rc = quota_change(r, 1, 0, size, msg, sizeof(msg));
	if (rc) {
		if (rc == -EDQUOT)
			vd_reply_error(req, 413, "%s", msg);
		else
			vd_reply_errno(req, rc, "Quota");
		return;
	}
	rec_now(now);
	if (rec_new_id(id) ||
	    !(rec = json_pack("{s:s, s:s, s:O?, s:O?, s:I, s:s, s:s, s:n,"
			      " s:o, s:s?, s:s?, s:s?, s:s, s:s, s:i, s:n,"
			      " s:n}",
			      "id", id, "project", r->project, "name",
			      json_object_get(v, "name"), "description",
			      json_object_get(v, "description"), "size",
			      (json_int_t)size, "status", "creating",
			      "created_at", now, "updated_at", "metadata",
			      json_is_object(meta) ? json_deep_copy(meta)
						   : json_object(),
			      "snapshot_id", snap_id, "source_volid", src_vol,
			      "image_ref", image, "bootable",
			      image ? "true" : "false", "attach_status",
			      "detached", "nsnap", 0, "attachment",
			      "user_id"))) {
		quota_change(r, -1, 0, -size, NULL, 0);
		vd_reply_error(req, 500, "Out of memory.");
		return;
	}
	rec_lock(r->vd, id);
	rc = rec_put(r->vd, REC_VOLUME, r->phash, id, rec);
	if (rc) {
		rec_unlock(r->vd, id);
		quota_change(r, -1, 0, -size, NULL, 0);
		vd_reply_errno(req, rc, "Volume record");
		goto out;
	}
	if (image) {
		char *cont = NULL, *obj = NULL;

		rc = split_image(image, &cont, &obj);
		if (!rc)
			rc = start_import(r, id, (uint64_t)size * GIB, cont,
					  obj);
		free(cont);
		free(obj);
	} else {
		rc = make_disk(r, id, (uint64_t)size * GIB, snap_id, src_vol);
		if (rc)
			log_err("volume %s: cannot make its disk: %s", id,
				strerror(-rc));
	}
	if (rc || !image) {
		rec_set_str(rec, "status", rc ? "error" : "available");
		rec_put(r->vd, REC_VOLUME, r->phash, id, rec);
	}
	rec_unlock(r->vd, id);
	vd_reply_json(req, 202,
		      json_pack("{s:o}", "volume", vd_render_volume(r, rec)));
out:
	json_decref(rec);
}

/* --- list, show ---------------------------------------------------------- */

static int by_created_desc(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int c = strcmp(rec_str(y, "created_at") ?: "",
		       rec_str(x, "created_at") ?: "");

	return c ? c : strcmp(rec_str(y, "id"), rec_str(x, "id"));
}

/*
 * The project's records of kind k as the client asked: ?name=, ?status=
 * filters, newest first, after ?marker= (an id), at most ?limit=. Renders
 * each with render(detail). Replies itself on error (returns NULL).
 */
json_t *vd_list(struct http_request *req, struct vd_req *r, enum rec_kind k,
		json_t *(*render)(const struct vd_req *, const json_t *, int),
		int detail)
{
	const char *name = http_query(req, "name");
	const char *status = http_query(req, "status");
	const char *marker = http_query(req, "marker");
	const char *lim = http_query(req, "limit");
	json_t *all = NULL, *out = json_array(), **v = NULL;
	long long limit = -1;
	size_t i, n;
	int rc, past_marker = !marker;

	if (lim) {
		char *end;

		limit = strtoll(lim, &end, 10);
		if (end == lim || *end || limit < 0) {
			vd_reply_error(req, 400, "Invalid limit: %s.", lim);
			goto fail;
		}
	}
	rc = rec_list(r->vd, k, r->phash, &all);
	if (rc || !out) {
		vd_reply_errno(req, rc ? rc : -ENOMEM, "Records");
		goto fail;
	}
	n = json_array_size(all);
	v = calloc(n + 1, sizeof(*v));
	if (!v) {
		vd_reply_errno(req, -ENOMEM, "Records");
		goto fail;
	}
	for (i = 0; i < n; i++)
		v[i] = json_array_get(all, i);
	qsort(v, n, sizeof(*v), by_created_desc);
	if (marker) {
		for (i = 0; i < n && strcmp(rec_str(v[i], "id"), marker); i++)
			;
		if (i == n) {
			vd_reply_error(req, 400,
				       "Marker %s could not be found.", marker);
			goto fail;
		}
	}
	for (i = 0; i < n; i++) {
		if (!past_marker) {
			past_marker = !strcmp(rec_str(v[i], "id"), marker);
			continue;
		}
		if (limit >= 0 && (long long)json_array_size(out) >= limit)
			break;
		if (name && strcmp(rec_str(v[i], "name") ?: "", name))
			continue;
		if (status && strcmp(rec_str(v[i], "status") ?: "", status))
			continue;
		json_array_append_new(out, render(r, v[i], detail));
	}
	free(v);
	json_decref(all);
	return out;
fail:
	free(v);
	json_decref(all);
	json_decref(out);
	return NULL;
}

static json_t *vol_render_list(const struct vd_req *r, const json_t *rec,
			       int detail)
{
	const char *id = rec_str(rec, "id");

	if (detail)
		return vd_render_volume(r, rec);
	return json_pack("{s:s, s:o, s:O}", "id", id, "links",
			 vd_links(r, "volumes", id), "name",
			 json_object_get(rec, "name"));
}

void vd_list_volumes(struct http_request *req, struct vd_req *r, json_t *body)
{
	json_t *l = vd_list(req, r, REC_VOLUME, vol_render_list, 0);

	(void)body;
	if (l)
		vd_reply_json(req, 200, json_pack("{s:o}", "volumes", l));
}

void vd_list_volumes_detail(struct http_request *req, struct vd_req *r,
			    json_t *body)
{
	json_t *l = vd_list(req, r, REC_VOLUME, vol_render_list, 1);

	(void)body;
	if (l)
		vd_reply_json(req, 200, json_pack("{s:o}", "volumes", l));
}

/* Read the volume r->arg[0] (replying 404 and returning NULL when none). */
json_t *vd_get_volume(struct http_request *req, struct vd_req *r)
{
	json_t *rec = NULL;
	int rc = rec_valid_id(r->arg[0])
			 ? rec_get(r->vd, REC_VOLUME, r->phash, r->arg[0], &rec)
			 : -ENOENT;

	if (rc == -ENOENT)
		vd_reply_error(req, 404, "Volume %s could not be found.",
			       r->arg[0]);
	else if (rc)
		vd_reply_errno(req, rc, "Volume");
	return rc ? NULL : rec;
}

void vd_show_volume(struct http_request *req, struct vd_req *r, json_t *body)
{
	json_t *rec = vd_get_volume(req, r);

	(void)body;
	if (rec)
		vd_reply_json(
			req, 200,
			json_pack("{s:o}", "volume", vd_render_volume(r, rec)));
	json_decref(rec);
}

/* --- update, delete ------------------------------------------------------ */

void vd_update_volume(struct http_request *req, struct vd_req *r, json_t *body)
{
	json_t *v = volume_body(req, body), *rec = NULL, *meta;
	int rc;

	if (!v)
		return;
	meta = json_object_get(v, "metadata");
	rec_lock(r->vd, r->arg[0]);
	rec = vd_get_volume(req, r);
	if (!rec)
		goto out;
	if (json_object_get(v, "name"))
		json_object_set(rec, "name", json_object_get(v, "name"));
	if (json_object_get(v, "description"))
		json_object_set(rec, "description",
				json_object_get(v, "description"));
	if (json_is_object(meta))
		json_object_set_new(rec, "metadata", json_deep_copy(meta));
	rec_touch(rec);
	rc = rec_put(r->vd, REC_VOLUME, r->phash, r->arg[0], rec);
	if (rc)
		vd_reply_errno(req, rc, "Volume record");
	else
		vd_reply_json(
			req, 200,
			json_pack("{s:o}", "volume", vd_render_volume(r, rec)));
out:
	json_decref(rec);
	rec_unlock(r->vd, r->arg[0]);
}

void vd_delete_volume(struct http_request *req, struct vd_req *r, json_t *body)
{
	const char *st;
	json_t *rec;
	long long size;
	int rc;

	(void)body;
	rec_lock(r->vd, r->arg[0]);
	rec = vd_get_volume(req, r);
	if (!rec)
		goto out;
	st = rec_str(rec, "status");
	/* an import cut short by a restart leaves "creating" for good */
	if (!strcmp(st, "creating") && !job_running(r->vd, r->arg[0]))
		st = "error";
	if ((strcmp(st, "available") && strcmp(st, "error") &&
	     strcmp(st, "error_deleting")) ||
	    rec_int(rec, "nsnap") > 0 ||
	    !json_is_null(json_object_get(rec, "attachment"))) {
		vd_reply_error(req, 400,
			       "Invalid volume: Volume status must be "
			       "available or error and must not be attached "
			       "or have snapshots (status %s, %lld "
			       "snapshots).",
			       st, rec_int(rec, "nsnap"));
		goto out;
	}
	size = rec_int(rec, "size");
	rec_set_str(rec, "status", "deleting");
	rec_touch(rec);
	rc = rec_put(r->vd, REC_VOLUME, r->phash, r->arg[0], rec);
	if (!rc) {
		rc = vol_disk_delete(r->vd->store, r->arg[0]);
		if (rc == -ENOENT) /* an error volume may have no disk */
			rc = 0;
	}
	if (rc) {
		log_err("volume %s: delete failed: %s", r->arg[0],
			strerror(-rc));
		rec_set_str(rec, "status", "error_deleting");
		rec_put(r->vd, REC_VOLUME, r->phash, r->arg[0], rec);
		vd_reply_errno(req, rc, "Volume");
		goto out;
	}
	rc = rec_delete(r->vd, REC_VOLUME, r->phash, r->arg[0]);
	if (!rc)
		quota_change(r, -1, 0, -size, NULL, 0);
	if (rc)
		vd_reply_errno(req, rc, "Volume record");
	else
		http_reply(req, 202, NULL, 0);
out:
	json_decref(rec);
	rec_unlock(r->vd, r->arg[0]);
}
