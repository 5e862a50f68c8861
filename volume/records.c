/*
 * volume/records.c: the service's records (volumes, snapshots, quota
 * usage) as small JSON objects in the cluster, so that a restarted or
 * replaced volumed loses nothing; plus the ids, times and named locks the
 * handlers share.
 *
 *   <records_account>/volumes/<phash>/<uuid>    a volume
 *   <records_account>/snapshots/<phash>/<uuid>  a snapshot
 *   <records_account>/quotas/<phash>            a project's usage
 *
 * phash is the MD5 of the project name: object names come from generated
 * UUIDs and digests only, never from what a user typed, and a project's
 * records list under one prefix. A record of another project is simply
 * not found. What a record holds is the handlers' business (volumes.c,
 * snapshots.c, quotas.c); this file only stores and lists them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>

#include "common/log.h"
#include "common/md5.h"
#include "common/objclient.h"
#include "volume/internal.h"

static const char *const rec_containers[REC_NKINDS] = {"volumes", "snapshots",
						       "quotas"};

#define REC_MAX_BYTES (1024 * 1024) /* a record larger is corrupt */

int rec_init(struct volumed *vd)
{
	int i, rc;

	for (i = 0; i < REC_NKINDS; i++) {
		rc = oc_container_create(vd->cluster, vd->conf->records_account,
					 rec_containers[i]);
		if (rc) {
			log_err("cannot create the records container %s/%s: %s",
				vd->conf->records_account, rec_containers[i],
				strerror(-rc));
			return rc;
		}
	}
	return 0;
}

void rec_project_hash(const char *project, char out[33])
{
	uint8_t d[MD5_LEN];

	if (md5_buf(project, strlen(project), d))
		memset(d, 0, sizeof(d));
	md5_hex(d, out);
}

int rec_new_id(char out[37])
{
	uint8_t b[16];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return -EIO;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

int rec_valid_id(const char *s)
{
	int i;

	if (!s || strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!strchr("0123456789abcdef", s[i])) {
			return 0;
		}
	}
	return 1;
}

void rec_now(char out[32])
{
	struct timeval tv;
	struct tm tm;
	char buf[96];
	size_t n;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06ld",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (long)tv.tv_usec);
	n = strnlen(buf, 31); /* always 26 characters */
	memcpy(out, buf, n);
	out[n] = '\0';
}

static void rec_name(const char *phash, const char *id, char out[80])
{
	if (id)
		snprintf(out, 80, "%s/%s", phash, id);
	else
		snprintf(out, 80, "%s", phash);
}

int rec_get(struct volumed *vd, enum rec_kind k, const char *phash,
	    const char *id, json_t **out)
{
	struct buf b = BUF_INIT;
	json_error_t jerr;
	char name[80];
	int rc;

	rec_name(phash, id, name);
	rc = oc_get(vd->cluster, vd->conf->records_account, rec_containers[k],
		    name, &b, NULL);
	if (rc)
		goto out;
	*out = json_loadb((const char *)b.data, b.len, 0, &jerr);
	if (!*out || !json_is_object(*out)) {
		log_err("record %s/%s is not JSON: %s", rec_containers[k], name,
			jerr.text);
		json_decref(*out);
		*out = NULL;
		rc = -EIO;
	}
out:
	buf_free(&b);
	return rc;
}

int rec_put(struct volumed *vd, enum rec_kind k, const char *phash,
	    const char *id, const json_t *rec)
{
	struct oc_put_opts opts = {.content_type = "application/json"};
	char name[80], *text;
	int rc;

	rec_name(phash, id, name);
	text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return -ENOMEM;
	rc = oc_put(vd->cluster, vd->conf->records_account, rec_containers[k],
		    name, text, strlen(text), &opts);
	if (rc)
		log_err("cannot write record %s/%s: %s", rec_containers[k],
			name, strerror(-rc));
	free(text);
	return rc;
}

int rec_delete(struct volumed *vd, enum rec_kind k, const char *phash,
	       const char *id)
{
	char name[80];
	int rc;

	rec_name(phash, id, name);
	rc = oc_delete(vd->cluster, vd->conf->records_account,
		       rec_containers[k], name);
	if (rc && rc != -ENOENT)
		log_err("cannot delete record %s/%s: %s", rec_containers[k],
			name, strerror(-rc));
	return rc == -ENOENT ? 0 : rc;
}

/* Collect the ids first: no record is read while a listing is open. */
static int list_one(void *arg, const char *name, uint64_t size,
		    const char *etag)
{
	const char *slash = strchr(name, '/');

	(void)etag;
	if (!slash || size > REC_MAX_BYTES || !rec_valid_id(slash + 1))
		return 0;
	return json_array_append_new(arg, json_string(slash + 1)) ? -ENOMEM : 0;
}

int rec_list(struct volumed *vd, enum rec_kind k, const char *phash,
	     json_t **out)
{
	json_t *ids = json_array(), *arr = json_array(), *rec, *v;
	char prefix[40];
	size_t i;
	int rc = -ENOMEM;

	if (!ids || !arr)
		goto out;
	snprintf(prefix, sizeof(prefix), "%s/", phash);
	rc = oc_list(vd->cluster, vd->conf->records_account, rec_containers[k],
		     prefix, NULL, list_one, ids);
	json_array_foreach(ids, i, v)
	{
		if (rc)
			break;
		rec = NULL;
		rc = rec_get(vd, k, phash, json_string_value(v), &rec);
		if (rc == -ENOENT) /* deleted since the listing was made */
			rc = 0;
		else if (!rc)
			json_array_append_new(arr, rec);
	}
out:
	json_decref(ids);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

/* --- named locks --------------------------------------------------------- */

struct held {
	char name[48];
	struct held *next;
};

struct vd_lockset {
	pthread_mutex_t mu;
	pthread_cond_t released;
	struct held *held;
};

int rec_locks_new(struct vd_lockset **out)
{
	struct vd_lockset *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->released, NULL);
	*out = l;
	return 0;
}

void rec_locks_free(struct vd_lockset *l)
{
	if (!l)
		return;
	pthread_cond_destroy(&l->released);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

static int is_held(const struct vd_lockset *l, const char *name)
{
	const struct held *h;

	for (h = l->held; h; h = h->next)
		if (!strcmp(h->name, name))
			return 1;
	return 0;
}

void rec_lock(struct volumed *vd, const char *name)
{
	struct vd_lockset *l = vd->locks;
	struct held *h = calloc(1, sizeof(*h));

	if (!h)
		abort(); /* a few bytes: OOM here is fatal */
	snprintf(h->name, sizeof(h->name), "%s", name);
	pthread_mutex_lock(&l->mu);
	while (is_held(l, h->name))
		pthread_cond_wait(&l->released, &l->mu);
	h->next = l->held;
	l->held = h;
	pthread_mutex_unlock(&l->mu);
}

void rec_unlock(struct volumed *vd, const char *name)
{
	struct vd_lockset *l = vd->locks;
	struct held **pp, *h;
	char key[48];

	snprintf(key, sizeof(key), "%s", name);
	pthread_mutex_lock(&l->mu);
	for (pp = &l->held; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->name, key)) {
			h = *pp;
			*pp = h->next;
			free(h);
			break;
		}
	}
	pthread_cond_broadcast(&l->released);
	pthread_mutex_unlock(&l->mu);
}
