/*
 * volume/quotas.c: quotas per project (volumes, snapshots, gigabytes of
 * both), their limits the configuration's quota_* keys, their usage one
 * record per project (records.c, quotas/<phash>) changed under the
 * project's quota lock: read, check, write. A growth beyond a limit is
 * refused before anything is made (413 overLimit, Cinder's messages); a
 * shrink happens after the thing is gone, so a crash in between leaves
 * usage too high, never too low. GET limits and os-quota-sets show them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "volume/internal.h"

struct usage {
	long long volumes, snapshots, gigabytes;
};

static int read_usage(struct volumed *vd, const char *phash, struct usage *u)
{
	json_t *rec = NULL;
	int rc = rec_get(vd, REC_QUOTA, phash, NULL, &rec);

	memset(u, 0, sizeof(*u));
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	u->volumes = rec_int(rec, "volumes");
	u->snapshots = rec_int(rec, "snapshots");
	u->gigabytes = rec_int(rec, "gigabytes");
	json_decref(rec);
	return 0;
}

static long long clamp0(long long v)
{
	return v < 0 ? 0 : v;
}

int quota_change(struct vd_req *r, long long volumes, long long snapshots,
		 long long gigabytes, char *msg, size_t msglen)
{
	const struct volumed_conf *c = r->vd->conf;
	struct usage u;
	char lock[40];
	json_t *rec;
	int rc;

	snprintf(lock, sizeof(lock), "q:%s", r->phash);
	rec_lock(r->vd, lock);
	rc = read_usage(r->vd, r->phash, &u);
	if (rc)
		goto out;
	rc = -EDQUOT;
	if (volumes > 0 && c->quota_volumes >= 0 &&
	    u.volumes + volumes > c->quota_volumes) {
		snprintf(msg, msglen,
			 "VolumeLimitExceeded: Maximum number of volumes "
			 "allowed (%lld) exceeded for quota 'volumes'.",
			 c->quota_volumes);
		goto out;
	}
	if (snapshots > 0 && c->quota_snapshots >= 0 &&
	    u.snapshots + snapshots > c->quota_snapshots) {
		snprintf(msg, msglen,
			 "SnapshotLimitExceeded: Maximum number of snapshots "
			 "allowed (%lld) exceeded for quota 'snapshots'.",
			 c->quota_snapshots);
		goto out;
	}
	if (gigabytes > 0 && c->quota_gigabytes >= 0 &&
	    u.gigabytes + gigabytes > c->quota_gigabytes) {
		snprintf(msg, msglen,
			 "VolumeSizeExceedsAvailableQuota: Requested volume "
			 "or snapshot exceeds allowed gigabytes quota. "
			 "Requested %lldG, quota is %lldG and %lldG has been "
			 "consumed.",
			 gigabytes, c->quota_gigabytes, u.gigabytes);
		goto out;
	}
	u.volumes = clamp0(u.volumes + volumes);
	u.snapshots = clamp0(u.snapshots + snapshots);
	u.gigabytes = clamp0(u.gigabytes + gigabytes);
	rec = json_pack("{s:I, s:I, s:I}", "volumes", (json_int_t)u.volumes,
			"snapshots", (json_int_t)u.snapshots, "gigabytes",
			(json_int_t)u.gigabytes);
	rc = rec ? rec_put(r->vd, REC_QUOTA, r->phash, NULL, rec) : -ENOMEM;
	json_decref(rec);
out:
	rec_unlock(r->vd, lock);
	return rc;
}

void vd_get_limits(struct http_request *req, struct vd_req *r, json_t *body)
{
	const struct volumed_conf *c = r->vd->conf;
	struct usage u;
	int rc = read_usage(r->vd, r->phash, &u);

	(void)body;
	if (rc) {
		vd_reply_errno(req, rc, "Quota usage");
		return;
	}
	vd_reply_json(
		req, 200,
		json_pack("{s:{s:[], s:{s:I, s:I, s:I, s:I, s:I, s:I, s:i, "
			  "s:i, s:i, s:i}}}",
			  "limits", "rate", "absolute", "maxTotalVolumes",
			  (json_int_t)c->quota_volumes, "maxTotalSnapshots",
			  (json_int_t)c->quota_snapshots,
			  "maxTotalVolumeGigabytes",
			  (json_int_t)c->quota_gigabytes, "totalVolumesUsed",
			  (json_int_t)u.volumes, "totalSnapshotsUsed",
			  (json_int_t)u.snapshots, "totalGigabytesUsed",
			  (json_int_t)u.gigabytes, "maxTotalBackups", 0,
			  "maxTotalBackupGigabytes", 0, "totalBackupsUsed", 0,
			  "totalBackupGigabytesUsed", 0));
}

static json_t *quota_item(long long limit, long long used, int usage)
{
	if (!usage)
		return json_integer(limit);
	return json_pack("{s:I, s:I, s:i, s:i}", "limit", (json_int_t)limit,
			 "in_use", (json_int_t)used, "reserved", 0, "allocated",
			 0);
}

/* GET os-quota-sets/<project>[?usage=true]: only a project's own. */
void vd_get_quota_set(struct http_request *req, struct vd_req *r, json_t *body)
{
	const struct volumed_conf *c = r->vd->conf;
	const char *q = http_query(req, "usage");
	int usage = q && (!strcasecmp(q, "true") || !strcmp(q, "1"));
	struct usage u;
	int rc;

	(void)body;
	if (strcmp(r->arg[0], r->project)) {
		vd_reply_error(req, 403,
			       "Policy doesn't allow showing another "
			       "project's quotas.");
		return;
	}
	rc = read_usage(r->vd, r->phash, &u);
	if (rc) {
		vd_reply_errno(req, rc, "Quota usage");
		return;
	}
	vd_reply_json(
		req, 200,
		json_pack("{s:{s:s, s:o, s:o, s:o, s:o, s:o, s:o}}",
			  "quota_set", "id", r->project, "volumes",
			  quota_item(c->quota_volumes, u.volumes, usage),
			  "snapshots",
			  quota_item(c->quota_snapshots, u.snapshots, usage),
			  "gigabytes",
			  quota_item(c->quota_gigabytes, u.gigabytes, usage),
			  "per_volume_gigabytes",
			  quota_item(VD_MAX_SIZE_GB, 0, usage), "backups",
			  quota_item(0, 0, usage), "backup_gigabytes",
			  quota_item(0, 0, usage)));
}

void vd_get_quota_defaults(struct http_request *req, struct vd_req *r,
			   json_t *body)
{
	const struct volumed_conf *c = r->vd->conf;

	(void)body;
	vd_reply_json(req, 200,
		      json_pack("{s:{s:s, s:I, s:I, s:I, s:I, s:i, s:i}}",
				"quota_set", "id", r->arg[0], "volumes",
				(json_int_t)c->quota_volumes, "snapshots",
				(json_int_t)c->quota_snapshots, "gigabytes",
				(json_int_t)c->quota_gigabytes,
				"per_volume_gigabytes",
				(json_int_t)VD_MAX_SIZE_GB, "backups", 0,
				"backup_gigabytes", 0));
}
