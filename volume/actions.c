/*
 * volume/actions.c: POST volumes/{id}/action, Cinder's volume actions:
 * os-extend, os-set_bootable and the attach state machine that Nova
 * drives (the "legacy" attach flow):
 *
 *   available --os-reserve--> reserved --os-initialize_connection--> attaching
 *       ^                        |                                      |
 *       +------os-unreserve------+-------------os-unreserve-------------+
 *       |                                                               |
 *       |           reserved, attaching --os-attach--> in-use <---------+
 *       |                                   |    ^
 *       |                 os-begin_detaching|    |os-roll_detaching
 *       |                                   v    |
 *       +------------os-detach---------- detaching (or in-use)
 *
 *   os-initialize_connection in attaching, in-use or detaching gives the
 *   attachment's export again (a new one if it was terminated);
 *   os-terminate_connection drops the export and leaves the status.
 *
 * Invariants (each transition is one read-modify-write of the record
 * under the volume's lock, in the function named):
 *   1. status available <=> attachment null (do_reserve makes it,
 *      do_detach and do_unreserve drop it).
 *   2. attachment.export is set only by do_initialize, in reserved,
 *      attaching, in-use or detaching; exports.c opens a name only while
 *      the record holds it.
 *   3. Whenever attachment.export is cleared or replaced (do_terminate,
 *      do_detach, do_unreserve), the record is written first and then
 *      every open handle of the volume is revoked (vd_exports_revoke),
 *      both under the lock: no client keeps I/O after its attachment.
 *   4. attach_status is "attached" exactly in in-use and detaching.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "volume/internal.h"
#include "volume/volume.h"

struct action {
	const char *name;
	/* with the record read under the lock; sets status and *out (a reply
	 * body, 200) or returns an HTTP status: 202, or an error it replied */
	int (*fn)(struct http_request *req, struct vd_req *r, json_t *rec,
		  json_t *arg, json_t **out);
};

static int bad_status(struct http_request *req, const json_t *rec,
		      const char *action, const char *want)
{
	vd_reply_error(req, 400,
		       "Invalid volume: %s: volume status must be %s, but the "
		       "current status is %s.",
		       action, want, rec_str(rec, "status"));
	return 400;
}

static int status_is(const json_t *rec, const char *a, const char *b,
		     const char *c)
{
	const char *st = rec_str(rec, "status");

	return (a && !strcmp(st, a)) || (b && !strcmp(st, b)) ||
	       (c && !strcmp(st, c));
}

static int do_extend(struct http_request *req, struct vd_req *r, json_t *rec,
		     json_t *arg, json_t **out)
{
	json_t *ns = json_object_get(arg, "new_size");
	long long size = rec_int(rec, "size"), new_size;
	char msg[512];
	int rc;

	(void)out;
	if (!status_is(rec, "available", "in-use", NULL))
		return bad_status(req, rec, "os-extend", "available or in-use");
	new_size = json_is_integer(ns) ? (long long)json_integer_value(ns) : 0;
	if (new_size <= size || new_size > VD_MAX_SIZE_GB) {
		vd_reply_error(req, 400,
			       "Invalid input received: New size for extend "
			       "must be greater than current size. (current: "
			       "%lld, extended: %lld).",
			       size, new_size);
		return 400;
	}
	rc = quota_change(r, 0, 0, new_size - size, msg, sizeof(msg));
	if (rc == -EDQUOT) {
		vd_reply_error(req, 413, "%s", msg);
		return 413;
	}
	if (!rc) {
		rc = vol_disk_extend(r->vd->store, r->arg[0],
				     (uint64_t)new_size * GIB);
		if (rc)
			quota_change(r, 0, 0, size - new_size, NULL, 0);
	}
	if (rc) {
		vd_reply_errno(req, rc, "Volume");
		return 500;
	}
	json_object_set_new(rec, "size", json_integer(new_size));
	return 202;
}

static int do_set_bootable(struct http_request *req, struct vd_req *r,
			   json_t *rec, json_t *arg, json_t **out)
{
	json_t *b = json_object_get(arg, "bootable");

	(void)r;
	(void)out;
	if (!json_is_boolean(b)) {
		vd_reply_error(req, 400,
			       "Invalid bootable: a boolean is "
			       "expected.");
		return 400;
	}
	rec_set_str(rec, "bootable", json_is_true(b) ? "true" : "false");
	return 202;
}

static int do_reserve(struct http_request *req, struct vd_req *r, json_t *rec,
		      json_t *arg, json_t **out)
{
	char att_id[37];

	(void)r;
	(void)arg;
	(void)out;
	if (!status_is(rec, "available", NULL, NULL))
		return bad_status(req, rec, "os-reserve", "available");
	if (rec_new_id(att_id)) {
		vd_reply_error(req, 500, "No randomness.");
		return 500;
	}
	rec_set_str(rec, "status", "reserved");
	json_object_set_new(rec, "attachment",
			    json_pack("{s:s, s:n, s:n, s:n, s:n, s:n, s:s}",
				      "id", att_id, "export", "instance_uuid",
				      "host_name", "mountpoint", "attached_at",
				      "mode", "rw"));
	return 202;
}

/* Drop the attachment's export (invariant 3: the caller writes the record
 * and then revokes). */
static void drop_export(json_t *rec)
{
	json_t *att = json_object_get(rec, "attachment");

	if (json_is_object(att))
		json_object_set_new(att, "export", json_null());
}

static int do_initialize(struct http_request *req, struct vd_req *r,
			 json_t *rec, json_t *arg, json_t **out)
{
	json_t *conn = json_object_get(arg, "connector");
	json_t *att = json_object_get(rec, "attachment");
	char name[128];

	if (!json_is_object(conn)) {
		vd_reply_error(req, 400, "Must specify 'connector'.");
		return 400;
	}
	if (!status_is(rec, "reserved", "attaching", "in-use") &&
	    !status_is(rec, "detaching", NULL, NULL))
		return bad_status(req, rec, "os-initialize_connection",
				  "reserved (os-reserve first), attaching or "
				  "in-use");
	if (!json_is_object(att)) {
		vd_reply_error(req, 500, "The volume has no attachment.");
		return 500;
	}
	if (!rec_str(att, "export")) {
		if (vd_export_name(r->phash, r->arg[0], name, sizeof(name))) {
			vd_reply_error(req, 500, "No randomness.");
			return 500;
		}
		rec_set_str(att, "export", name);
	}
	json_object_set(att, "connector", conn);
	if (status_is(rec, "reserved", NULL, NULL))
		rec_set_str(rec, "status", "attaching");
	*out = vd_connection_info(r->vd, r->arg[0], rec_str(att, "id"),
				  rec_str(att, "export"));
	return *out ? 200 : 500;
}

static int do_attach(struct http_request *req, struct vd_req *r, json_t *rec,
		     json_t *arg, json_t **out)
{
	json_t *att = json_object_get(rec, "attachment");
	const char *inst = rec_str(arg, "instance_uuid");
	const char *host = rec_str(arg, "host_name");
	const char *mp = rec_str(arg, "mountpoint");
	const char *mode = rec_str(arg, "mode");
	char now[32];

	(void)r;
	(void)out;
	if (!status_is(rec, "reserved", "attaching", NULL))
		return bad_status(req, rec, "os-attach",
				  "reserved or attaching");
	if ((!inst && !host) || !mp || strlen(mp) > 255 ||
	    (inst && strlen(inst) > 255) || (host && strlen(host) > 255) ||
	    (mode && strcmp(mode, "rw") && strcmp(mode, "ro"))) {
		vd_reply_error(
			req, 400,
			"Invalid request to attach volume: instance_uuid "
			"or host_name, and mountpoint, are required "
			"(mode rw or ro).");
		return 400;
	}
	rec_now(now);
	rec_set_str(att, "instance_uuid", inst);
	rec_set_str(att, "host_name", host);
	rec_set_str(att, "mountpoint", mp);
	rec_set_str(att, "attached_at", now);
	if (mode)
		rec_set_str(att, "mode", mode);
	rec_set_str(rec, "status", "in-use");
	rec_set_str(rec, "attach_status", "attached");
	return 202;
}

static int do_begin_detaching(struct http_request *req, struct vd_req *r,
			      json_t *rec, json_t *arg, json_t **out)
{
	(void)r;
	(void)arg;
	(void)out;
	if (!status_is(rec, "in-use", NULL, NULL))
		return bad_status(req, rec, "os-begin_detaching", "in-use");
	rec_set_str(rec, "status", "detaching");
	return 202;
}

static int do_roll_detaching(struct http_request *req, struct vd_req *r,
			     json_t *rec, json_t *arg, json_t **out)
{
	(void)req;
	(void)r;
	(void)arg;
	(void)out;
	if (status_is(rec, "detaching", NULL, NULL))
		rec_set_str(rec, "status", "in-use");
	return 202;
}

static int do_detach(struct http_request *req, struct vd_req *r, json_t *rec,
		     json_t *arg, json_t **out)
{
	const char *want = rec_str(arg, "attachment_id");
	const char *have = rec_str(json_object_get(rec, "attachment"), "id");

	(void)r;
	(void)out;
	if (!status_is(rec, "in-use", "detaching", NULL))
		return bad_status(req, rec, "os-detach", "in-use or detaching");
	if (want && (!have || strcmp(want, have))) {
		vd_reply_error(req, 404,
			       "Volume attachment %s could not be "
			       "found.",
			       want);
		return 404;
	}
	rec_set_str(rec, "status", "available");
	rec_set_str(rec, "attach_status", "detached");
	json_object_set_new(rec, "attachment", json_null());
	return 202;
}

static int do_terminate(struct http_request *req, struct vd_req *r, json_t *rec,
			json_t *arg, json_t **out)
{
	(void)r;
	(void)out;
	if (!json_is_object(json_object_get(arg, "connector"))) {
		vd_reply_error(req, 400, "Must specify 'connector'.");
		return 400;
	}
	drop_export(rec);
	return 202;
}

static int do_unreserve(struct http_request *req, struct vd_req *r, json_t *rec,
			json_t *arg, json_t **out)
{
	(void)req;
	(void)r;
	(void)arg;
	(void)out;
	/* as Cinder: only a volume not yet attached goes back */
	if (status_is(rec, "reserved", "attaching", NULL)) {
		rec_set_str(rec, "status", "available");
		json_object_set_new(rec, "attachment", json_null());
	}
	return 202;
}

static const struct action actions[] = {
	{"os-extend", do_extend},
	{"os-set_bootable", do_set_bootable},
	{"os-reserve", do_reserve},
	{"os-initialize_connection", do_initialize},
	{"os-attach", do_attach},
	{"os-begin_detaching", do_begin_detaching},
	{"os-roll_detaching", do_roll_detaching},
	{"os-detach", do_detach},
	{"os-terminate_connection", do_terminate},
	{"os-unreserve", do_unreserve},
	{NULL, NULL},
};

void vd_volume_action(struct http_request *req, struct vd_req *r, json_t *body)
{
	const struct action *a = NULL;
	json_t *rec = NULL, *arg = NULL, *out = NULL;
	const char *key, *old_export;
	char before[128] = "";
	int i, st, rc;

	if (json_object_size(body) != 1) {
		vd_reply_error(req, 400,
			       "Invalid request body: one action is "
			       "expected.");
		return;
	}
	json_object_foreach(body, key, arg)
	{
		for (i = 0; actions[i].name; i++)
			if (!strcmp(actions[i].name, key))
				a = &actions[i];
		break;
	}
	if (!a) {
		vd_reply_error(req, 400, "There is no such action: %s", key);
		return;
	}
	if (!json_is_object(arg) && !json_is_null(arg)) {
		vd_reply_error(req, 400, "Invalid %s: an object is expected.",
			       a->name);
		return;
	}
	rec_lock(r->vd, r->arg[0]);
	rec = vd_get_volume(req, r);
	if (!rec)
		goto out;
	old_export = rec_str(json_object_get(rec, "attachment"), "export");
	if (old_export)
		snprintf(before, sizeof(before), "%s", old_export);
	st = a->fn(req, r, rec, arg, &out);
	if (st != 200 && st != 202)
		goto out; /* replied */
	rec_touch(rec);
	rc = rec_put(r->vd, REC_VOLUME, r->phash, r->arg[0], rec);
	if (rc) {
		vd_reply_errno(req, rc, "Volume record");
		goto out;
	}
	old_export = rec_str(json_object_get(rec, "attachment"), "export");
	if (*before && (!old_export || strcmp(before, old_export)))
		vd_exports_revoke(r->vd, r->arg[0]); /* invariant 3 */
	log_info("volume %s: %s, now %s", r->arg[0], a->name,
		 rec_str(rec, "status"));
	if (st == 200)
		vd_reply_json(req, 200, out);
	else
		http_reply(req, 202, NULL, 0);
	out = NULL;
out:
	json_decref(out);
	json_decref(rec);
	rec_unlock(r->vd, r->arg[0]);
}
