/*
 * accountd/broker.c: account records and container rows in the device's
 * LevelDB (key layout in internal.h), as Swift's AccountBroker keeps
 * them in SQLite.
 *
 * A record is JSON:
 *   {"account": "AUTH_test", "created_at": ts, "put_timestamp": ts,
 *    "delete_timestamp": ts, "status_changed_at": ts, "status": "",
 *    "container_count": 2, "object_count": 10, "bytes_used": 42,
 *    "policy_stats": [{"storage_policy_index": 0, "container_count": 2,
 *                      "object_count": 10, "bytes_used": 42}],
 *    "metadata": {name: [value, ts]}}
 *
 * policy_stats is Swift's policy_stat table: one entry per policy a
 * container row has ever been reported in (kept at zero afterwards). A
 * record written before it existed held only policy 0's rows, so its
 * totals become policy 0's stats when read.
 *
 * Invariants (each write is one synced batch under the database lock):
 * 1. container_count is the number of "L" rows; object_count and
 *    bytes_used are the sums over the "L" and "X" rows (Swift's triggers
 *    count deleted rows' objects too), and each policy's stats the same
 *    over that policy's rows; 2. a name has at most one of "L" and "X".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accountd/internal.h"
#include "common/dbserver.h"
#include "common/log.h"
#include "common/md5.h"

int acctd_key(const struct acctd *a, const char *account, char key[34])
{
	uint8_t digest[MD5_LEN];
	int rc = ring_hash_path(&a->hash, account, NULL, NULL, digest);

	if (rc)
		return rc;
	key[0] = 'A';
	md5_hex(digest, key + 1);
	return 0;
}

struct acctd_policy_stat *acctd_policy_stat(struct acctd_info *info, int index)
{
	struct acctd_policy_stat *st = NULL;
	int i;

	for (i = 0; i < info->npstats && !st; i++)
		if (info->pstats[i].index == index)
			st = &info->pstats[i];
	if (!st && info->npstats < ACCTD_MAX_POLICIES) {
		st = &info->pstats[info->npstats++];
		memset(st, 0, sizeof(*st));
		st->index = index;
	}
	return st;
}

/* The record's policy_stats into info (see the top comment). 0 or
 * -EIO. */
static int get_pstats(json_t *o, struct acctd_info *info)
{
	json_t *arr = json_object_get(o, "policy_stats"), *e;
	struct acctd_policy_stat *st;
	size_t i;

	info->npstats = 0;
	if (!arr) {
		if (!info->container_count && !info->object_count &&
		    !info->bytes_used)
			return 0;
		st = acctd_policy_stat(info, 0);
		st->container_count = info->container_count;
		st->object_count = info->object_count;
		st->bytes_used = info->bytes_used;
		return 0;
	}
	if (!json_is_array(arr) || json_array_size(arr) > ACCTD_MAX_POLICIES)
		return -EIO;
	json_array_foreach(arr, i, e)
	{
		st = acctd_policy_stat(info,
				       (int)json_integer_value(json_object_get(
					       e, "storage_policy_index")));
		if (!st)
			return -EIO;
		st->container_count = json_integer_value(
			json_object_get(e, "container_count"));
		st->object_count =
			json_integer_value(json_object_get(e, "object_count"));
		st->bytes_used =
			json_integer_value(json_object_get(e, "bytes_used"));
	}
	return 0;
}

void acctd_info_free(struct acctd_info *info)
{
	free(info->account);
	json_decref(info->metadata);
	memset(info, 0, sizeof(*info));
}

int acctd_info_from_json(json_t *o, struct acctd_info *info)
{
	struct dbserver_times times = {&info->created_at, &info->put,
				       &info->del, &info->status_changed};
	const char *status;
	int rc = 0;

	memset(info, 0, sizeof(*info));
	info->account =
		strdup(json_string_value(json_object_get(o, "account")) ?: "");
	if (!info->account) {
		rc = -ENOMEM;
		goto out;
	}
	rc = dbserver_record_parse(o, &times, &info->metadata);
	if (rc)
		goto out;
	status = json_string_value(json_object_get(o, "status"));
	info->status_deleted = status && !strcmp(status, "DELETED");
	info->container_count =
		json_integer_value(json_object_get(o, "container_count"));
	info->object_count =
		json_integer_value(json_object_get(o, "object_count"));
	info->bytes_used = json_integer_value(json_object_get(o, "bytes_used"));
	if (get_pstats(o, info))
		rc = -EIO;
out:
	if (rc)
		acctd_info_free(info);
	return rc;
}

int acctd_info_get(struct dbstore_db *db, const char *key,
		   struct acctd_info *info)
{
	json_error_t jerr;
	json_t *o = NULL;
	char *val = NULL;
	size_t len;
	int rc;

	memset(info, 0, sizeof(*info));
	rc = dbstore_get(db, key, 33, &val, &len);
	if (rc)
		return rc;
	o = json_loadb(val, len, 0, &jerr);
	if (!o) {
		log_err("account record %s is not JSON: %s", key, jerr.text);
		rc = -EIO;
		goto out;
	}
	rc = acctd_info_from_json(o, info);
	if (rc == -EIO)
		log_err("account record %s has a bad timestamp or policy stats",
			key);
out:
	json_decref(o);
	free(val);
	return rc;
}

static int stage_info(struct dbstore_batch *b, const char *key,
		      const struct acctd_info *info)
{
	char created[TS_INTERNAL_LEN + 1], put[TS_INTERNAL_LEN + 1];
	char del[TS_INTERNAL_LEN + 1], changed[TS_INTERNAL_LEN + 1];
	json_t *o, *pstats = json_array(), *e;
	char *text;
	int i;

	for (i = 0; pstats && i < info->npstats; i++) {
		e = json_pack("{sisIsIsI}", "storage_policy_index",
			      info->pstats[i].index, "container_count",
			      (json_int_t)info->pstats[i].container_count,
			      "object_count",
			      (json_int_t)info->pstats[i].object_count,
			      "bytes_used",
			      (json_int_t)info->pstats[i].bytes_used);
		if (!e || json_array_append_new(pstats, e)) {
			json_decref(pstats);
			return -ENOMEM;
		}
	}
	if (!pstats)
		return -ENOMEM;
	o = json_pack("{ss ss ss ss ss ss sI sI sI sO}", "account",
		      info->account, "created_at",
		      ts_internal(&info->created_at, created), "put_timestamp",
		      ts_internal(&info->put, put), "delete_timestamp",
		      ts_internal(&info->del, del), "status_changed_at",
		      ts_internal(&info->status_changed, changed), "status",
		      info->status_deleted ? "DELETED" : "", "container_count",
		      (json_int_t)info->container_count, "object_count",
		      (json_int_t)info->object_count, "bytes_used",
		      (json_int_t)info->bytes_used, "metadata", info->metadata);
	if (!o) {
		json_decref(pstats);
	} else if (json_object_set_new(o, "policy_stats", pstats)) {
		json_decref(o); /* pstats is stolen even then */
		o = NULL;
	}
	if (!o)
		return -ENOMEM;
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		return -ENOMEM;
	dbstore_batch_put(b, key, 33, text, strlen(text));
	free(text);
	return 0;
}

int acctd_info_put(struct dbstore_db *db, const char *key,
		   const struct acctd_info *info)
{
	struct dbstore_batch *b = dbstore_batch_new();
	int rc = b ? stage_info(b, key, info) : -ENOMEM;

	if (!rc)
		rc = dbstore_commit(db, b);
	dbstore_batch_free(b);
	return rc;
}

int acctd_info_deleted(const struct acctd_info *info)
{
	return info->status_deleted || (info->container_count == 0 &&
					ts_cmp(&info->del, &info->put) > 0);
}

int acctd_info_status_deleted(const struct acctd_info *info)
{
	return info->status_deleted || ts_cmp(&info->del, &info->put) > 0;
}

int acctd_row_parse(const char *val, struct acctd_row *row)
{
	char put[TS_INTERNAL_LEN + 1], del[TS_INTERNAL_LEN + 1];
	long long count, bytes;
	int policy;

	if (sscanf(val, "%33[^\n]\n%33[^\n]\n%lld\n%lld\n%d", put, del, &count,
		   &bytes, &policy) != 5 ||
	    ts_parse(put, &row->put) || ts_parse(del, &row->del))
		return -EIO;
	row->object_count = count;
	row->bytes_used = bytes;
	row->policy = policy;
	return 0;
}

int acctd_row_update(struct dbstore_db *db, const char *key, const char *name,
		     const struct acctd_row *in)
{
	char *lkey = NULL, *xkey = NULL, *live = NULL, *dead = NULL;
	char *val = NULL, put[TS_INTERNAL_LEN + 1], del[TS_INTERNAL_LEN + 1];
	struct dbstore_batch *b = NULL;
	struct acctd_info info;
	struct acctd_row rec = *in, old;
	struct acctd_policy_stat *ps;
	size_t klen;
	int rc, have = 0, deleted;

	lkey = dbserver_row_key('L', key, name, &klen);
	xkey = dbserver_row_key('X', key, name, &klen);
	b = dbstore_batch_new();
	if (!lkey || !xkey || !b) {
		rc = -ENOMEM;
		goto out_nolock;
	}
	dbstore_lock(db);
	rc = acctd_info_get(db, key, &info);
	if (rc)
		goto out;
	have = 1;
	rc = dbstore_get(db, lkey, klen, &live, NULL);
	if (rc && rc != -ENOENT)
		goto out;
	rc = dbstore_get(db, xkey, klen, &dead, NULL);
	if (rc && rc != -ENOENT)
		goto out;
	rc = 0;
	if (live || dead) {
		if (acctd_row_parse(live ? live : dead, &old)) {
			rc = -EIO;
			goto out;
		}
		if (ts_cmp(&old.put, &rec.put) > 0)
			rec.put = old.put;
		if (ts_cmp(&old.del, &rec.del) > 0)
			rec.del = old.del;
		/* nothing new: no write, no new row id (a replicated row
		 * that agrees must not travel back) */
		if (!ts_cmp(&old.put, &rec.put) &&
		    !ts_cmp(&old.del, &rec.del) &&
		    old.object_count == rec.object_count &&
		    old.bytes_used == rec.bytes_used &&
		    old.policy == rec.policy)
			goto out;
		info.container_count -= live ? 1 : 0;
		info.object_count -= old.object_count;
		info.bytes_used -= old.bytes_used;
		ps = acctd_policy_stat(&info, old.policy);
		if (!ps) {
			rc = -ENOSPC;
			goto out;
		}
		ps->container_count -= live ? 1 : 0;
		ps->object_count -= old.object_count;
		ps->bytes_used -= old.bytes_used;
		dbstore_batch_del(b, live ? lkey : xkey, klen);
	}
	deleted = ts_cmp(&rec.del, &rec.put) > 0 && rec.object_count == 0;
	info.container_count += deleted ? 0 : 1;
	info.object_count += rec.object_count;
	info.bytes_used += rec.bytes_used;
	ps = acctd_policy_stat(&info, rec.policy);
	if (!ps) {
		rc = -ENOSPC;
		goto out;
	}
	ps->container_count += deleted ? 0 : 1;
	ps->object_count += rec.object_count;
	ps->bytes_used += rec.bytes_used;
	if (asprintf(&val, "%s\n%s\n%lld\n%lld\n%d", ts_internal(&rec.put, put),
		     ts_internal(&rec.del, del), (long long)rec.object_count,
		     (long long)rec.bytes_used, rec.policy) < 0) {
		val = NULL;
		rc = -ENOMEM;
		goto out;
	}
	dbstore_batch_put(b, deleted ? xkey : lkey, klen, val, strlen(val));
	rc = stage_info(b, key, &info);
	if (!rc) /* the row's new row id (common/dbreplicator.h) */
		rc = dbrepl_stage_row(&acctd_layout, db, b, key,
				      deleted ? 'X' : 'L', name);
	if (!rc) { /* group commit: shares its sync with concurrent rows */
		rc = dbstore_commit_unlock(db, b);
		goto out_nolock;
	}
out:
	dbstore_unlock(db);
out_nolock:
	if (have)
		acctd_info_free(&info);
	dbstore_batch_free(b);
	free(val);
	free(live);
	free(dead);
	free(lkey);
	free(xkey);
	return rc;
}
