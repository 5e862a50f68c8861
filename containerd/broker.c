/*
 * containerd/broker.c: container records and object rows in the device's
 * LevelDB (key layout in internal.h), as Swift's ContainerBroker keeps
 * them in SQLite.
 *
 * A record is JSON:
 *   {"account": "AUTH_test", "container": "c",
 *    "created_at": ts, "put_timestamp": ts, "delete_timestamp": ts,
 *    "status_changed_at": ts, "object_count": 3, "bytes_used": 42,
 *    "storage_policy_index": 0, "metadata": {name: [value, ts]},
 *    "account_update": {"hosts": [..], "devices": [..], "partition": "p",
 *                       "pending": [1, 0, ..]}}
 *
 * Invariants (each write is one synced batch under the database lock):
 * 1. object_count and bytes_used are the count and size sum of the "O"
 *    rows of the container; 2. a name has at most one of "O" and "T"
 *    (a "T" row keeps its three timestamps, so that an older update
 *    cannot revive the object);
 * 3. "U" H exists iff some target of the record is pending.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/listing.h"
#include "common/dbserver.h"
#include "common/log.h"
#include "common/md5.h"
#include "containerd/internal.h"

int contd_key(const struct contd *c, const char *account, const char *container,
	      char key[34])
{
	uint8_t digest[MD5_LEN];
	int rc = ring_hash_path(&c->hash, account, container, NULL, digest);

	if (rc)
		return rc;
	key[0] = 'C';
	md5_hex(digest, key + 1);
	return 0;
}

void contd_info_free(struct contd_info *info)
{
	free(info->account);
	free(info->container);
	json_decref(info->metadata);
	memset(info, 0, sizeof(*info));
}

static void parse_targets(json_t *u, struct contd_targets *t)
{
	json_t *hosts = json_object_get(u, "hosts");
	json_t *devs = json_object_get(u, "devices");
	json_t *pend = json_object_get(u, "pending");
	const char *part = json_string_value(json_object_get(u, "partition"));
	size_t i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < json_array_size(hosts) && i < CONTD_MAX_TARGET; i++) {
		const char *h = json_string_value(json_array_get(hosts, i));
		const char *d = json_string_value(json_array_get(devs, i));

		if (!h || !d)
			break;
		snprintf(t->host[i], sizeof(t->host[i]), "%s", h);
		snprintf(t->dev[i], sizeof(t->dev[i]), "%s", d);
		t->pending[i] = json_is_true(json_array_get(pend, i));
		t->n++;
	}
	snprintf(t->part, sizeof(t->part), "%s", part ? part : "");
}

int contd_info_from_json(json_t *o, struct contd_info *info)
{
	struct dbserver_times times = {&info->created_at, &info->put,
				       &info->del, &info->status_changed};
	int rc = 0;

	memset(info, 0, sizeof(*info));
	info->account =
		strdup(json_string_value(json_object_get(o, "account")) ?: "");
	info->container = strdup(
		json_string_value(json_object_get(o, "container")) ?: "");
	if (!info->account || !info->container) {
		rc = -ENOMEM;
		goto out;
	}
	rc = dbserver_record_parse(o, &times, &info->metadata);
	if (rc)
		goto out;
	info->object_count =
		json_integer_value(json_object_get(o, "object_count"));
	info->bytes_used = json_integer_value(json_object_get(o, "bytes_used"));
	info->policy = (int)json_integer_value(
		json_object_get(o, "storage_policy_index"));
	parse_targets(json_object_get(o, "account_update"), &info->targets);
out:
	if (rc)
		contd_info_free(info);
	return rc;
}

/* The record of key from its stored text val (len bytes) into info.
 * 0, -EIO (logged), -ENOMEM. */
static int info_parse(const char *key, const char *val, size_t len,
		      struct contd_info *info)
{
	json_error_t jerr;
	json_t *o;
	int rc;

	memset(info, 0, sizeof(*info));
	o = json_loadb(val, len, 0, &jerr);
	if (!o) {
		log_err("container record %s is not JSON: %s", key, jerr.text);
		return -EIO;
	}
	rc = contd_info_from_json(o, info);
	if (rc == -EIO)
		log_err("container record %s has a bad timestamp", key);
	json_decref(o);
	return rc;
}

int contd_info_get(struct dbstore_db *db, const char *key,
		   struct contd_info *info)
{
	char *val = NULL;
	size_t len;
	int rc;

	memset(info, 0, sizeof(*info));
	rc = dbstore_get(db, key, 33, &val, &len);
	if (!rc)
		rc = info_parse(key, val, len, info);
	free(val);
	return rc;
}

int contd_info_deleted(const struct contd_info *info)
{
	return info->object_count == 0 && ts_cmp(&info->del, &info->put) > 0;
}

void contd_info_report(const struct contd_info *info, struct contd_report *r)
{
	r->put = info->put;
	r->del = info->del;
	r->object_count = info->object_count;
	r->bytes_used = info->bytes_used;
	r->policy = info->policy;
}

void contd_mark_pending(struct contd_info *info,
			const struct contd_report *before)
{
	struct contd_report now;
	int i;

	contd_info_report(info, &now);
	if (!ts_cmp(&now.put, &before->put) &&
	    !ts_cmp(&now.del, &before->del) &&
	    now.object_count == before->object_count &&
	    now.bytes_used == before->bytes_used &&
	    now.policy == before->policy)
		return;
	for (i = 0; i < info->targets.n; i++)
		info->targets.pending[i] = 1;
}

static json_t *targets_json(const struct contd_targets *t)
{
	json_t *hosts = json_array(), *devs = json_array(),
	       *pend = json_array();
	int i;

	for (i = 0; i < t->n; i++) {
		json_array_append_new(hosts, json_string(t->host[i]));
		json_array_append_new(devs, json_string(t->dev[i]));
		json_array_append_new(pend, json_boolean(t->pending[i]));
	}
	return json_pack("{so so ss so}", "hosts", hosts, "devices", devs,
			 "partition", t->part, "pending", pend);
}

int contd_info_stage(struct dbstore_batch *b, const char *key,
		     const struct contd_info *info)
{
	char created[TS_INTERNAL_LEN + 1], put[TS_INTERNAL_LEN + 1];
	char del[TS_INTERNAL_LEN + 1], changed[TS_INTERNAL_LEN + 1];
	char ukey[34];
	json_t *o;
	char *text;
	int i, pending = 0;

	o = json_pack("{ss ss ss ss ss ss sI sI si sO so}", "account",
		      info->account, "container", info->container, "created_at",
		      ts_internal(&info->created_at, created), "put_timestamp",
		      ts_internal(&info->put, put), "delete_timestamp",
		      ts_internal(&info->del, del), "status_changed_at",
		      ts_internal(&info->status_changed, changed),
		      "object_count", (json_int_t)info->object_count,
		      "bytes_used", (json_int_t)info->bytes_used,
		      "storage_policy_index", info->policy, "metadata",
		      info->metadata, "account_update",
		      targets_json(&info->targets));
	if (!o)
		return -ENOMEM;
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		return -ENOMEM;
	dbstore_batch_put(b, key, 33, text, strlen(text));
	free(text);
	memcpy(ukey, key, 34);
	ukey[0] = 'U';
	for (i = 0; i < info->targets.n; i++)
		pending |= info->targets.pending[i];
	if (pending)
		dbstore_batch_put(b, ukey, 33, "", 0);
	else
		dbstore_batch_del(b, ukey, 33);
	return 0;
}

int contd_row_parse(char *val, struct contd_row *row)
{
	char *f[6], *p = val;
	char *end;
	int i;

	for (i = 0; i < 5; i++) {
		f[i] = p;
		p = strchr(p, '\n');
		if (!p)
			return -EIO;
		*p++ = '\0';
	}
	f[5] = p;
	if (ts_parse(f[0], &row->data) || ts_parse(f[1], &row->ctype) ||
	    ts_parse(f[2], &row->meta))
		return -EIO;
	row->size = strtoll(f[3], &end, 10);
	if (end == f[3] || *end)
		return -EIO;
	row->etag = f[4];
	row->content_type = f[5];
	return 0;
}

int contd_row_update(struct dbstore_db *db, const char *key, const char *name,
		     const struct contd_row *in)
{
	char *okey = NULL, *tkey = NULL, *live = NULL, *dead = NULL;
	char *val = NULL, d[TS_INTERNAL_LEN + 1], c[TS_INTERNAL_LEN + 1];
	char m[TS_INTERNAL_LEN + 1];
	struct dbstore_batch *b = NULL;
	char *old_ct = NULL, *new_ct = NULL, *merged_ct = NULL, *rec = NULL;
	struct contd_row old, row = *in;
	struct contd_info info;
	struct contd_report before;
	int64_t old_sb = -1, new_sb = -1;
	size_t klen, reclen;
	int rc, have_info = 0, newer = 0;

	okey = dbserver_row_key('O', key, name, &klen);
	tkey = dbserver_row_key('T', key, name, &klen);
	b = dbstore_batch_new();
	if (!okey || !tkey || !b) {
		rc = -ENOMEM;
		goto out_nolock;
	}
	dbstore_lock(db);
	/* the record is parsed only once the row is known to change: a
	 * replicated row this replica has already costs no JSON */
	rc = dbstore_get(db, key, 33, &rec, &reclen);
	if (rc)
		goto out;
	rc = dbstore_get(db, okey, klen, &live, NULL);
	if (rc && rc != -ENOENT)
		goto out;
	rc = dbstore_get(db, tkey, klen, &dead, NULL);
	if (rc && rc != -ENOENT)
		goto out;
	rc = 0;
	if (live || dead) {
		if (contd_row_parse(live ? live : dead, &old)) {
			log_err("bad row of %s in %s", name, key);
			rc = -EIO;
			goto out;
		}
		old.deleted = !live;
		/*
		 * Swift's update_new_item_from_existing. swift_bytes rides
		 * in the content type but belongs to the data: split it off
		 * both sides, put the data side's back on the result.
		 */
		if (listing_clean_content_type(old.content_type, &old_ct,
					       &old_sb) ||
		    listing_clean_content_type(row.content_type, &new_ct,
					       &new_sb)) {
			rc = -ENOMEM;
			goto out;
		}
		row.content_type = new_ct;
		if (ts_cmp(&old.data, &row.data) >= 0) {
			row.data = old.data;
			row.size = old.size;
			row.etag = old.etag;
			row.deleted = old.deleted;
			new_sb = old_sb;
		} else {
			newer = 1;
		}
		if (ts_cmp(&old.ctype, &row.ctype) >= 0) {
			row.ctype = old.ctype;
			row.content_type = old_ct;
		} else {
			newer = 1;
		}
		if (new_sb >= 0) {
			if (asprintf(&merged_ct, "%s;swift_bytes=%lld",
				     row.content_type, (long long)new_sb) < 0) {
				merged_ct = NULL;
				rc = -ENOMEM;
				goto out;
			}
			row.content_type = merged_ct;
		}
		if (ts_cmp(&old.meta, &row.meta) >= 0)
			row.meta = old.meta;
		else
			newer = 1;
		if (!newer)
			goto out;
		dbstore_batch_del(b, live ? okey : tkey, klen);
	}
	rc = info_parse(key, rec, reclen, &info);
	if (rc)
		goto out;
	have_info = 1;
	contd_info_report(&info, &before);
	if (live) {
		info.object_count--;
		info.bytes_used -= old.size;
	}
	if (asprintf(&val, "%s\n%s\n%s\n%lld\n%s\n%s",
		     ts_internal(&row.data, d), ts_internal(&row.ctype, c),
		     ts_internal(&row.meta, m),
		     (long long)(row.deleted ? 0 : row.size),
		     row.etag ? row.etag : "",
		     row.content_type ? row.content_type : "") < 0) {
		val = NULL;
		rc = -ENOMEM;
		goto out;
	}
	dbstore_batch_put(b, row.deleted ? tkey : okey, klen, val, strlen(val));
	if (!row.deleted) {
		info.object_count++;
		info.bytes_used += row.size;
	}
	contd_mark_pending(&info, &before);
	rc = contd_info_stage(b, key, &info);
	if (!rc) /* the row's new row id (common/dbreplicator.h) */
		rc = dbrepl_stage_row(&contd_layout, db, b, key,
				      row.deleted ? 'T' : 'O', name);
	if (!rc) { /* group commit: shares its sync with concurrent rows */
		rc = dbstore_commit_unlock(db, b);
		goto out_nolock;
	}
out:
	dbstore_unlock(db);
out_nolock:
	if (have_info)
		contd_info_free(&info);
	dbstore_batch_free(b);
	free(old_ct);
	free(new_ct);
	free(merged_ct);
	free(rec);
	free(val);
	free(live);
	free(dead);
	free(okey);
	free(tkey);
	return rc;
}
