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

#include "common/buf.h"
#include "common/dbserver.h"
#include "common/listing.h"
#include "common/log.h"
#include "common/md5.h"
#include "common/textput.h"
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

/*
 * Parsed records of the containers that rows went to lately, by their
 * stored text: the record a row update reads is most often the one the
 * previous row update of that container wrote, so it is not parsed again
 * (jansson's parse was a fifth of containerd's instructions per row). A
 * record is a function of its text alone, so an entry whose text equals
 * the bytes read is that record whoever wrote them: entries are only a
 * cache of info_parse. The metadata object is shared by the entry and
 * the copies handed out (jansson counts references atomically) and
 * nobody changes it: contd_row_update only reads it.
 */
#define INFO_CACHE_SLOTS 64 /* h >> 58 below */

struct info_cache_slot {
	char *text; /* NULL: empty */
	size_t len;
	struct contd_info info;
};

static struct info_cache_slot g_info_cache[INFO_CACHE_SLOTS];
static pthread_mutex_t g_info_cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* The slot of key in db (the replicas of a container on one server's
 * devices have the same key). */
static struct info_cache_slot *cache_slot(const struct dbstore_db *db,
					  const char *key)
{
	uint64_t h = (uintptr_t)db;
	int i;

	for (i = 1; i < 9; i++) /* hex digits of the path's MD5 */
		h = h * 31 + (unsigned char)key[i];
	h *= 0x9e3779b97f4a7c15ull; /* its top bits depend on all of h */
	return &g_info_cache[h >> 58];
}

/* A copy of src into dst (metadata shared). 0 or -ENOMEM. */
static int info_copy(struct contd_info *dst, const struct contd_info *src)
{
	*dst = *src;
	dst->account = strdup(src->account);
	dst->container = strdup(src->container);
	json_incref(dst->metadata);
	if (!dst->account || !dst->container) {
		contd_info_free(dst);
		return -ENOMEM;
	}
	return 0;
}

/* info_parse, from the cache when text is there. */
static int info_parse_cached(const struct dbstore_db *db, const char *key,
			     const char *text, size_t len,
			     struct contd_info *info)
{
	struct info_cache_slot *s = cache_slot(db, key);
	int rc = -ENOENT;

	pthread_mutex_lock(&g_info_cache_lock);
	if (s->text && s->len == len && !memcmp(s->text, text, len))
		rc = info_copy(info, &s->info);
	pthread_mutex_unlock(&g_info_cache_lock);
	if (rc == -ENOENT)
		rc = info_parse(key, text, len, info);
	return rc;
}

/* Remember info as the record of text (taken: freed here on failure);
 * whether text gets stored or not (an entry only says what text means). */
static void info_cache_put(const struct dbstore_db *db, const char *key,
			   char *text, const struct contd_info *info)
{
	struct info_cache_slot *s = cache_slot(db, key), old;
	struct contd_info copy;

	if (info_copy(&copy, info)) {
		free(text);
		return;
	}
	pthread_mutex_lock(&g_info_cache_lock);
	old = *s;
	s->text = text;
	s->len = strlen(text);
	s->info = copy;
	pthread_mutex_unlock(&g_info_cache_lock);
	if (old.text) {
		free(old.text);
		contd_info_free(&old.info);
	}
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

/* The record's JSON through jansson: any string it holds. */
static char *info_text_jansson(const struct contd_info *info)
{
	char created[TS_INTERNAL_LEN + 1], put[TS_INTERNAL_LEN + 1];
	char del[TS_INTERNAL_LEN + 1], changed[TS_INTERNAL_LEN + 1];
	json_t *o;
	char *text;

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
		return NULL;
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

/* Does jansson write s as it is between quotes (ASCII, no control
 * character, quote or backslash)? */
static int plain_string(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x80 ||
		    *s == '"' || *s == '\\')
			return 0;
	return 1;
}

/* Append the NUL-terminated strings of v (up to a NULL) to b. */
static int add_all(struct buf *b, const char *const *v)
{
	int rc = 0;

	for (; *v && !rc; v++)
		rc = buf_append(b, *v, strlen(*v));
	return rc;
}

/* v in decimal into out; returns out. */
static char *dec(long long v, char out[24])
{
	char *o = out;

	if (v < 0)
		*o++ = '-';
	/* 20 digits at most: always fits */
	text_put_uint(&o, out + 24,
		      v < 0 ? 0ULL - (unsigned long long)v
			    : (unsigned long long)v,
		      0);
	*o = '\0';
	return out;
}

/* Append a JSON array of n items: plain strings (q "\"") or literals
 * (q ""). */
static int add_list(struct buf *b, int n, const char *q,
		    const char *(*item)(int i, const void *arg),
		    const void *arg)
{
	int i, rc = buf_append(b, "[", 1);

	for (i = 0; i < n && !rc; i++)
		rc = add_all(b, (const char *const[]){i ? "," : "", q,
						      item(i, arg), q, NULL});
	return rc ? rc : buf_append(b, "]", 1);
}

static const char *host_item(int i, const void *arg)
{
	return ((const struct contd_targets *)arg)->host[i];
}

static const char *dev_item(int i, const void *arg)
{
	return ((const struct contd_targets *)arg)->dev[i];
}

static const char *pending_item(int i, const void *arg)
{
	return ((const struct contd_targets *)arg)->pending[i] ? "true"
							       : "false";
}

/*
 * The same bytes as info_text_jansson, written directly when every
 * string is plain (a row update writes the record three times per
 * object PUT: json_pack and json_dumps were a fifth of containerd's
 * instructions). 0, -EINVAL (a string that is not plain: use jansson),
 * -ENOMEM.
 */
static int info_text_plain(const struct contd_info *info, struct buf *b)
{
	char created[TS_INTERNAL_LEN + 1], put[TS_INTERNAL_LEN + 1];
	char del[TS_INTERNAL_LEN + 1], changed[TS_INTERNAL_LEN + 1];
	char count[24], bytes[24], policy[24];
	const struct contd_targets *t = &info->targets;
	char *md = NULL;
	int i, rc;

	if (!info->account || !info->container ||
	    !json_is_object(info->metadata) || !plain_string(info->account) ||
	    !plain_string(info->container) || !plain_string(t->part))
		return -EINVAL;
	for (i = 0; i < t->n; i++)
		if (!plain_string(t->host[i]) || !plain_string(t->dev[i]))
			return -EINVAL;
	if (json_object_size(info->metadata)) {
		md = json_dumps(info->metadata, JSON_COMPACT);
		if (!md)
			return -ENOMEM;
	}
	rc = add_all(b, (const char *const[]){
				"{\"account\":\"",
				info->account,
				"\",\"container\":\"",
				info->container,
				"\",\"created_at\":\"",
				ts_internal(&info->created_at, created),
				"\",\"put_timestamp\":\"",
				ts_internal(&info->put, put),
				"\",\"delete_timestamp\":\"",
				ts_internal(&info->del, del),
				"\",\"status_changed_at\":\"",
				ts_internal(&info->status_changed, changed),
				"\",\"object_count\":",
				dec(info->object_count, count),
				",\"bytes_used\":",
				dec(info->bytes_used, bytes),
				",\"storage_policy_index\":",
				dec(info->policy, policy),
				",\"metadata\":",
				md ? md : "{}",
				",\"account_update\":{\"hosts\":",
				NULL});
	free(md);
	if (!rc)
		rc = add_list(b, t->n, "\"", host_item, t);
	if (!rc)
		rc = buf_append(b, ",\"devices\":", 11);
	if (!rc)
		rc = add_list(b, t->n, "\"", dev_item, t);
	if (!rc)
		rc = add_all(b,
			     (const char *const[]){",\"partition\":\"", t->part,
						   "\",\"pending\":", NULL});
	if (!rc)
		rc = add_list(b, t->n, "", pending_item, t);
	if (!rc)
		rc = buf_append(b, "}}", 3); /* with its NUL */
	return rc;
}

char *contd_info_text(const struct contd_info *info)
{
	struct buf b = BUF_INIT;
	int rc = info_text_plain(info, &b);

	if (rc == -EINVAL)
		return info_text_jansson(info);
	if (rc) {
		buf_free(&b);
		errno = -rc;
		return NULL;
	}
	return (char *)b.data;
}

/* Stage text as key's record, and its "U" key as info says. */
static void stage_text(struct dbstore_batch *b, const char *key,
		       const struct contd_info *info, const char *text)
{
	char ukey[34];
	int i, pending = 0;

	dbstore_batch_put(b, key, 33, text, strlen(text));
	memcpy(ukey, key, 34);
	ukey[0] = 'U';
	for (i = 0; i < info->targets.n; i++)
		pending |= info->targets.pending[i];
	if (pending)
		dbstore_batch_put(b, ukey, 33, "", 0);
	else
		dbstore_batch_del(b, ukey, 33);
}

int contd_info_stage(struct dbstore_batch *b, const char *key,
		     const struct contd_info *info)
{
	char *text = contd_info_text(info);

	if (!text)
		return -ENOMEM;
	stage_text(b, key, info, text);
	free(text);
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
	char *text = NULL;
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
	rc = info_parse_cached(db, key, rec, reclen, &info);
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
	text = contd_info_text(&info);
	if (!text) {
		rc = -ENOMEM;
		goto out;
	}
	stage_text(b, key, &info, text);
	/* the row's new row id (common/dbreplicator.h) */
	rc = dbrepl_stage_row(&contd_layout, db, b, key,
			      row.deleted ? 'T' : 'O', name);
	if (!rc) {
		/* kept before the commit: the next row of this container
		 * may read it as soon as db->lock is released, and then
		 * parses nothing */
		info_cache_put(db, key, text, &info);
		text = NULL;
		/* group commit: shares its sync with concurrent rows */
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
	free(text);
	free(val);
	free(live);
	free(dead);
	free(okey);
	free(tkey);
	return rc;
}
