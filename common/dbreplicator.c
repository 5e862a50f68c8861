/*
 * common/dbreplicator.c: row ids, sync points and the replication of the
 * container and account databases (see dbreplicator.h for the keys, the
 * protocol and the invariants). The part-specific merges are behind
 * struct dbrepl_ops; this file never parses a record or a row itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/buf.h"
#include "common/dbreplicator.h"
#include "common/dbserver.h"
#include "common/log.h"
#include "common/periodic.h"
#include "common/recon.h"
#include "common/timestamp.h"
#include "ring/ring.h"

#define KEY_LEN	  DBSERVER_KEY_LEN /* kind + 32 hex */
#define ROWID_HEX 16
#define MAX_BODY  (64u << 20)
#define MAX_DEVS  16

struct dbrepl {
	struct dbrepl_conf conf; /* strings below are owned copies */
	char *devices, *swift_dir, *bind_ip, *recon_cache, *ring_path;
	const struct dbrepl_ops *ops;
	void *app;
	struct dbstore *store;
	pthread_mutex_t lock; /* guards ring, ring_stamp */
	struct ring *ring;
	struct ring_stamp ring_stamp;
	pthread_mutex_t pass_lock; /* one pass at a time */
	struct periodic thread;
	int ring_missing_told; /* under pass_lock */
};

/* --- keys and the "M" record ----------------------------------------- */

static void meta_key(const char *rkey, char out[KEY_LEN + 1])
{
	out[0] = 'M';
	memcpy(out + 1, rkey + 1, KEY_LEN - 1);
	out[KEY_LEN] = '\0';
}

static void rowid_key(const char *rkey, int64_t id, char out[KEY_LEN + 17])
{
	out[0] = 'R';
	memcpy(out + 1, rkey + 1, KEY_LEN - 1);
	snprintf(out + KEY_LEN, ROWID_HEX + 1, "%016llx", (long long)id);
}

static int new_id(char out[33])
{
	unsigned char r[16];
	int i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -EIO;
	for (i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	return 0;
}

/* The "M" record of rkey: a new reference, or NULL with *rc -ENOENT
 * (none yet), -EIO, -ENOMEM. */
static json_t *meta_load(struct dbstore_db *db, const char *rkey, int *rc)
{
	char mkey[KEY_LEN + 1], *val = NULL;
	json_t *m = NULL;
	size_t len;

	meta_key(rkey, mkey);
	*rc = dbstore_get(db, mkey, KEY_LEN, &val, &len);
	if (*rc)
		return NULL;
	m = json_loadb(val, len, 0, NULL);
	free(val);
	if (!json_is_object(m) || !json_is_string(json_object_get(m, "id")) ||
	    !json_is_integer(json_object_get(m, "max_row"))) {
		log_err("replication record of %s is corrupt", rkey);
		json_decref(m);
		*rc = -EIO;
		return NULL;
	}
	if (!json_is_object(json_object_get(m, "syncs")))
		json_object_set_new(m, "syncs", json_object());
	return m;
}

static int meta_stage(struct dbstore_batch *b, const char *rkey, json_t *m)
{
	char mkey[KEY_LEN + 1];
	char *text = json_dumps(m, JSON_COMPACT);

	if (!text)
		return -ENOMEM;
	meta_key(rkey, mkey);
	dbstore_batch_put(b, mkey, KEY_LEN, text, strlen(text));
	free(text);
	return 0;
}

/* Collects the names of one row kind of a record. */
struct names {
	char **v;
	char *kinds;
	size_t n, cap;
	char kind;
};

static int names_add(void *arg, const char *key, size_t klen, const char *val,
		     size_t vlen)
{
	struct names *ns = arg;
	char *name;

	(void)val;
	(void)vlen;
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? 2 * ns->cap : 64;
		char **v = realloc(ns->v, cap * sizeof(*v));
		char *k = realloc(ns->kinds, cap);

		if (v)
			ns->v = v;
		if (k)
			ns->kinds = k;
		if (!v || !k)
			return -ENOMEM;
		ns->cap = cap;
	}
	name = strndup(key + KEY_LEN + 1, klen - KEY_LEN - 1);
	if (!name)
		return -ENOMEM;
	ns->kinds[ns->n] = ns->kind;
	ns->v[ns->n++] = name;
	return 0;
}

static void names_free(struct names *ns)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
	free(ns->kinds);
	memset(ns, 0, sizeof(*ns));
}

/* Scan every key kind H "/" ... of rkey into ns (appending). */
static int scan_rows(struct dbstore_db *db, const char *rkey, char kind,
		     struct names *ns)
{
	char lo[KEY_LEN + 1], hi[KEY_LEN + 1];

	lo[0] = hi[0] = kind;
	memcpy(lo + 1, rkey + 1, KEY_LEN - 1);
	memcpy(hi + 1, rkey + 1, KEY_LEN - 1);
	lo[KEY_LEN] = '/';
	hi[KEY_LEN] = '/' + 1;
	ns->kind = kind;
	return dbstore_scan(db, lo, KEY_LEN + 1, 1, hi, KEY_LEN + 1, 0,
			    names_add, ns);
}

/*
 * Give every row of a record without an "M" record a row id (in name
 * order, live rows then dead ones) and write the "M" record, in one
 * commit. Under the database lock. 0, -ENOENT (no record), -errno.
 */
static int ensure_index(const struct dbrepl_layout *lay, struct dbstore_db *db,
			const char *rkey)
{
	struct names ns = {0};
	struct dbstore_batch *b = NULL;
	char id[33], rk[KEY_LEN + 17], hex[ROWID_HEX + 1], *ikey, *val = NULL;
	json_t *m;
	size_t i, klen;
	int rc;

	m = meta_load(db, rkey, &rc);
	json_decref(m);
	if (rc != -ENOENT)
		return rc;
	rc = dbstore_get(db, rkey, KEY_LEN, &val, NULL);
	free(val);
	if (rc)
		return rc;
	rc = scan_rows(db, rkey, lay->live, &ns);
	if (!rc)
		rc = scan_rows(db, rkey, lay->dead, &ns);
	if (!rc)
		rc = new_id(id);
	if (rc)
		goto out;
	b = dbstore_batch_new();
	m = json_pack("{ss sI s{}}", "id", id, "max_row", (json_int_t)ns.n,
		      "syncs");
	if (!b || !m) {
		json_decref(m);
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < ns.n && !rc; i++) {
		char *v = NULL;

		rowid_key(rkey, (int64_t)i + 1, rk);
		if (asprintf(&v, "%c%s", ns.kinds[i], ns.v[i]) < 0) {
			rc = -ENOMEM;
			break;
		}
		dbstore_batch_put(b, rk, KEY_LEN + ROWID_HEX, v, strlen(v));
		free(v);
		ikey = dbserver_row_key('I', rkey, ns.v[i], &klen);
		if (!ikey) {
			rc = -ENOMEM;
			break;
		}
		snprintf(hex, sizeof(hex), "%016llx", (long long)i + 1);
		dbstore_batch_put(b, ikey, klen, hex, ROWID_HEX);
		free(ikey);
	}
	if (!rc)
		rc = meta_stage(b, rkey, m);
	json_decref(m);
	if (!rc)
		rc = dbstore_commit(db, b);
out:
	dbstore_batch_free(b);
	names_free(&ns);
	return rc;
}

/* The row id of name (0 when it has none). 0 or -errno. */
static int name_rowid(struct dbstore_db *db, const char *rkey, const char *name,
		      int64_t *id)
{
	char *ikey, *val = NULL;
	size_t klen;
	int rc;

	*id = 0;
	ikey = dbserver_row_key('I', rkey, name, &klen);
	if (!ikey)
		return -ENOMEM;
	rc = dbstore_get(db, ikey, klen, &val, NULL);
	free(ikey);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	*id = strtoll(val, NULL, 16);
	free(val);
	return 0;
}

int dbrepl_stage_row(const struct dbrepl_layout *lay, struct dbstore_db *db,
		     struct dbstore_batch *b, const char *rkey, char kind,
		     const char *name)
{
	char rk[KEY_LEN + 17], hex[ROWID_HEX + 1], *ikey = NULL, *v = NULL;
	json_t *m = NULL;
	int64_t old, max;
	size_t klen;
	int rc;

	/* ensure_index would load the "M" record too: parsed once here
	 * unless it has to be made */
	m = meta_load(db, rkey, &rc);
	if (!m && rc == -ENOENT && !(rc = ensure_index(lay, db, rkey)))
		m = meta_load(db, rkey, &rc);
	if (!m)
		return rc;
	rc = name_rowid(db, rkey, name, &old);
	if (rc)
		goto out;
	if (old) {
		rowid_key(rkey, old, rk);
		dbstore_batch_del(b, rk, KEY_LEN + ROWID_HEX);
	}
	max = json_integer_value(json_object_get(m, "max_row")) + 1;
	json_object_set_new(m, "max_row", json_integer(max));
	rowid_key(rkey, max, rk);
	ikey = dbserver_row_key('I', rkey, name, &klen);
	if (!ikey || asprintf(&v, "%c%s", kind, name) < 0) {
		v = NULL;
		rc = -ENOMEM;
		goto out;
	}
	dbstore_batch_put(b, rk, KEY_LEN + ROWID_HEX, v, strlen(v));
	snprintf(hex, sizeof(hex), "%016llx", (long long)max);
	dbstore_batch_put(b, ikey, klen, hex, ROWID_HEX);
	rc = meta_stage(b, rkey, m);
out:
	free(v);
	free(ikey);
	json_decref(m);
	return rc;
}

int dbrepl_unstage_row(struct dbstore_db *db, struct dbstore_batch *b,
		       const char *rkey, const char *name)
{
	char rk[KEY_LEN + 17], *ikey;
	int64_t old;
	size_t klen;
	int rc = name_rowid(db, rkey, name, &old);

	if (rc)
		return rc;
	if (old) {
		rowid_key(rkey, old, rk);
		dbstore_batch_del(b, rk, KEY_LEN + ROWID_HEX);
	}
	ikey = dbserver_row_key('I', rkey, name, &klen);
	if (!ikey)
		return -ENOMEM;
	dbstore_batch_del(b, ikey, klen);
	free(ikey);
	return 0;
}

int dbrepl_db_meta(const struct dbrepl_layout *lay, struct dbstore_db *db,
		   const char *rkey, char id[33], int64_t *max_row,
		   json_t **syncs)
{
	json_t *m = NULL;
	int rc;

	dbstore_lock(db);
	rc = ensure_index(lay, db, rkey);
	if (!rc)
		m = meta_load(db, rkey, &rc);
	dbstore_unlock(db);
	if (!m)
		return rc;
	snprintf(id, 33, "%s", json_string_value(json_object_get(m, "id")));
	*max_row = json_integer_value(json_object_get(m, "max_row"));
	if (syncs)
		*syncs = json_incref(json_object_get(m, "syncs"));
	json_decref(m);
	return 0;
}

struct since {
	struct dbstore_db *db;
	const struct dbrepl_layout *lay;
	const char *rkey;
	int (*fn)(void *arg, int64_t rowid, const char *name, int deleted,
		  const char *value);
	void *arg;
};

static int since_one(void *arg, const char *key, size_t klen, const char *val,
		     size_t vlen)
{
	struct since *s = arg;
	char *name = NULL, *rkey = NULL, *value = NULL;
	int64_t rowid;
	size_t rlen;
	int rc;

	if (klen != KEY_LEN + ROWID_HEX || vlen < 1)
		return 0;
	rowid = strtoll(key + KEY_LEN, NULL, 16);
	name = strndup(val + 1, vlen - 1);
	if (!name)
		return -ENOMEM;
	rkey = dbserver_row_key(val[0], s->rkey, name, &rlen);
	if (!rkey) {
		rc = -ENOMEM;
		goto out;
	}
	rc = dbstore_get(s->db, rkey, rlen, &value, NULL);
	if (rc == -ENOENT) {
		rc = 0; /* changed since the index was read: next pass */
		goto out;
	}
	if (!rc)
		rc = s->fn(s->arg, rowid, name, val[0] == s->lay->dead, value);
out:
	free(value);
	free(rkey);
	free(name);
	return rc;
}

int dbrepl_rows_since(const struct dbrepl_layout *lay, struct dbstore_db *db,
		      const char *rkey, int64_t point,
		      int (*fn)(void *arg, int64_t rowid, const char *name,
				int deleted, const char *value),
		      void *arg)
{
	struct since s = {db, lay, rkey, fn, arg};
	char lo[KEY_LEN + 17], hi[KEY_LEN + 1];

	rowid_key(rkey, point < 0 ? 0 : point + 1, lo);
	memcpy(hi, lo, KEY_LEN);
	hi[KEY_LEN] = 'g'; /* past every hex digit */
	return dbstore_scan(db, lo, KEY_LEN + ROWID_HEX, 1, hi, KEY_LEN + 1, 0,
			    since_one, &s);
}

int dbrepl_merge_syncs(const struct dbrepl_layout *lay, struct dbstore_db *db,
		       const char *rkey, json_t *syncs)
{
	struct dbstore_batch *b = NULL;
	const char *id, *own;
	json_t *m = NULL, *mine, *p;
	int rc, changed = 0;

	dbstore_lock(db);
	rc = ensure_index(lay, db, rkey);
	if (!rc)
		m = meta_load(db, rkey, &rc);
	if (!m)
		goto out;
	own = json_string_value(json_object_get(m, "id"));
	mine = json_object_get(m, "syncs");
	json_object_foreach(syncs, id, p)
	{
		json_t *cur = json_object_get(mine, id);

		if (!json_is_integer(p) || !strcmp(id, own) || strlen(id) > 64)
			continue;
		if (cur && json_integer_value(cur) >= json_integer_value(p))
			continue;
		json_object_set_new(mine, id,
				    json_integer(json_integer_value(p)));
		changed = 1;
	}
	if (!changed)
		goto out;
	b = dbstore_batch_new();
	rc = b ? meta_stage(b, rkey, m) : -ENOMEM;
	if (!rc)
		rc = dbstore_commit(db, b);
out:
	dbstore_unlock(db);
	dbstore_batch_free(b);
	json_decref(m);
	return rc;
}

/* Stage the removal of name's row of kind with its index. */
static int stage_drop_row(struct dbstore_db *db, struct dbstore_batch *b,
			  const char *rkey, char kind, const char *name)
{
	char *k;
	size_t klen;
	int rc = dbrepl_unstage_row(db, b, rkey, name);

	if (rc)
		return rc;
	k = dbserver_row_key(kind, rkey, name, &klen);
	if (!k)
		return -ENOMEM;
	dbstore_batch_del(b, k, klen);
	free(k);
	return 0;
}

int dbrepl_reclaim_rows(const struct dbrepl_ops *ops, struct dbstore_db *db,
			const char *rkey, const struct ts *cutoff, long *n)
{
	const struct dbrepl_layout *lay = ops->layout;
	struct dbstore_batch *b = dbstore_batch_new();
	struct names ns = {0};
	size_t i;
	int rc;

	*n = 0;
	if (!b)
		return -ENOMEM;
	dbstore_lock(db);
	rc = scan_rows(db, rkey, lay->dead, &ns);
	for (i = 0; i < ns.n && !rc; i++) {
		char *k, *val = NULL;
		size_t klen;

		k = dbserver_row_key(lay->dead, rkey, ns.v[i], &klen);
		if (!k) {
			rc = -ENOMEM;
			break;
		}
		rc = dbstore_get(db, k, klen, &val, NULL);
		free(k);
		if (rc == -ENOENT) {
			rc = 0;
			continue;
		}
		if (!rc && ops->row_reclaimable(val, cutoff)) {
			rc = stage_drop_row(db, b, rkey, lay->dead, ns.v[i]);
			(*n)++;
		}
		free(val);
	}
	if (!rc && *n)
		rc = dbstore_commit(db, b);
	dbstore_unlock(db);
	dbstore_batch_free(b);
	names_free(&ns);
	return rc;
}

/* Stage the removal of every key kind H <anything> of rkey. */
static int drop_prefix(struct dbstore_db *db, struct dbstore_batch *b,
		       const char *rkey, char kind);

struct dropper {
	struct dbstore_batch *b;
};

static int drop_one(void *arg, const char *key, size_t klen, const char *val,
		    size_t vlen)
{
	struct dropper *d = arg;

	(void)val;
	(void)vlen;
	dbstore_batch_del(d->b, key, klen);
	return 0;
}

static int drop_prefix(struct dbstore_db *db, struct dbstore_batch *b,
		       const char *rkey, char kind)
{
	struct dropper d = {b};
	char lo[KEY_LEN], hi[KEY_LEN + 1];

	lo[0] = hi[0] = kind;
	memcpy(lo + 1, rkey + 1, KEY_LEN - 1);
	memcpy(hi + 1, rkey + 1, KEY_LEN - 1);
	hi[KEY_LEN] = '\x7f';
	return dbstore_scan(db, lo, KEY_LEN, 1, hi, KEY_LEN + 1, 0, drop_one,
			    &d);
}

int dbrepl_remove_db(const struct dbrepl_layout *lay, struct dbstore_db *db,
		     const char *rkey, int64_t if_max)
{
	json_t *m;
	struct dbstore_batch *b = dbstore_batch_new();
	char kinds[16];
	size_t i;
	int rc = 0;

	if (!b)
		return -ENOMEM;
	snprintf(kinds, sizeof(kinds), "%c%c%cMRI%s", lay->rec, lay->live,
		 lay->dead, lay->extra ? lay->extra : "");
	dbstore_lock(db);
	if (if_max >= 0) {
		m = meta_load(db, rkey, &rc);
		if (m &&
		    json_integer_value(json_object_get(m, "max_row")) != if_max)
			rc = -EAGAIN; /* written meanwhile: keep it */
		json_decref(m);
	}
	for (i = 0; kinds[i] && !rc; i++)
		rc = drop_prefix(db, b, rkey, kinds[i]);
	if (!rc)
		rc = dbstore_commit(db, b);
	dbstore_unlock(db);
	dbstore_batch_free(b);
	return rc;
}

/* --- the client side: one HTTP exchange --------------------------------- */

static size_t gather(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	if (b->len + size * n > MAX_BODY)
		return 0;
	return buf_append(b, p, size * n) ? 0 : size * n;
}

/*
 * method url with a JSON body (may be NULL): *status and the JSON answer
 * (a new reference, NULL when none or not JSON). 0, or -ECONNREFUSED (no
 * server listening), -EIO (other transport errors, logged at debug).
 */
static int exchange(const char *method, const char *url, json_t *body,
		    double conn_timeout, double timeout, long *status,
		    json_t **answer)
{
	struct curl_slist *hdrs = NULL;
	struct buf in = BUF_INIT;
	char *text = NULL;
	CURLcode cc;
	CURL *curl = curl_easy_init();
	int rc = 0;

	*status = 0;
	if (answer)
		*answer = NULL;
	if (!curl)
		return -ENOMEM;
	if (body && !(text = json_dumps(body, JSON_COMPACT))) {
		rc = -ENOMEM;
		goto out;
	}
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text ? text : "");
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE,
			 (long)(text ? strlen(text) : 0));
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(conn_timeout * 1000));
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, gather);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &in);
	cc = curl_easy_perform(curl);
	if (cc == CURLE_COULDNT_CONNECT) {
		rc = -ECONNREFUSED;
		goto out;
	}
	if (cc != CURLE_OK) {
		log_debug("%s %s: %s", method, url, curl_easy_strerror(cc));
		rc = -EIO;
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
	if (answer && in.len)
		*answer = json_loadb((const char *)in.data, in.len, 0, NULL);
out:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
	buf_free(&in);
	free(text);
	return rc;
}

/* --- replicating one database to one peer ------------------------------- */

/* What one replication did, for the stats. */
enum repl_kind { REPL_NO_CHANGE, REPL_DIFF, REPL_RSYNC };

/* A merge_items batch being filled by rows_since. */
struct batch {
	struct dbrepl *r;
	const char *url;
	json_t *rec; /* our record, sent with the first batch */
	char id[33];
	int create;
	json_t *rows;
	int64_t last;
	int rc;
};

static int send_batch(struct batch *bt)
{
	json_t *body;
	long status;
	int rc;

	body = json_pack("{ss ss sO sb sO sI}", "op", "merge_items", "id",
			 bt->id, "record", bt->rec, "create", bt->create,
			 "rows", bt->rows, "point", (json_int_t)bt->last);
	if (!body)
		return -ENOMEM;
	rc = exchange("REPLICATE", bt->url, body, bt->r->conf.conn_timeout,
		      bt->r->conf.node_timeout * 10, &status, NULL);
	json_decref(body);
	if (!rc && (status < 200 || status > 299)) {
		log_warn("merge_items to %s: status %ld", bt->url, status);
		rc = -EIO;
	}
	json_array_clear(bt->rows);
	bt->create = 0;
	return rc;
}

static int batch_row(void *arg, int64_t rowid, const char *name, int deleted,
		     const char *value)
{
	struct batch *bt = arg;
	json_t *row = json_pack("[sbs]", name, deleted, value);

	if (!row) {
		log_warn("row %s of %s cannot be sent (not UTF-8?)", name,
			 bt->url);
		return -EINVAL;
	}
	json_array_append_new(bt->rows, row);
	bt->last = rowid;
	if ((int)json_array_size(bt->rows) >= bt->r->conf.per_diff)
		return send_batch(bt);
	return 0;
}

/* Our record's JSON: a new reference, or NULL with *rc. */
static json_t *record_load(struct dbstore_db *db, const char *rkey, int *rc)
{
	char *val = NULL;
	json_t *o;
	size_t len;

	*rc = dbstore_get(db, rkey, KEY_LEN, &val, &len);
	if (*rc)
		return NULL;
	o = json_loadb(val, len, 0, NULL);
	free(val);
	if (!o)
		*rc = -EIO;
	return o;
}

/*
 * Replicate the database rkey of db to the peer at base (the URL of
 * /<dev>/<part>/<hash>). *kind says what was done. 0 or -errno.
 */
static int replicate_one(struct dbrepl *r, struct dbstore_db *db,
			 const char *rkey, const char *url,
			 enum repl_kind *kind)
{
	const struct dbrepl_layout *lay = r->ops->layout;
	struct batch bt = {0};
	json_t *syncs = NULL, *body = NULL, *ans = NULL, *prec;
	int64_t max_row, point, peer_max;
	long status;
	int rc;

	bt.r = r;
	bt.url = url;
	rc = dbrepl_db_meta(lay, db, rkey, bt.id, &max_row, &syncs);
	if (rc)
		goto out;
	bt.rec = record_load(db, rkey, &rc);
	if (!bt.rec)
		goto out;
	body = json_pack("{ss ss sO sI}", "op", "sync", "id", bt.id, "record",
			 bt.rec, "max_row", (json_int_t)max_row);
	bt.rows = json_array();
	if (!body || !bt.rows) {
		rc = -ENOMEM;
		goto out;
	}
	rc = exchange("REPLICATE", url, body, r->conf.conn_timeout,
		      r->conf.node_timeout, &status, &ans);
	if (rc)
		goto out;
	if (status == 404) {
		*kind = REPL_RSYNC;
		bt.create = 1;
		point = -1;
	} else if (status == 200 && json_is_object(ans)) {
		point = json_integer_value(json_object_get(ans, "point"));
		peer_max = json_integer_value(json_object_get(ans, "max_row"));
		if (!json_is_integer(json_object_get(ans, "point")))
			point = -1;
		prec = json_object_get(ans, "record");
		if (json_is_object(prec)) {
			rc = r->ops->merge_record(r->app, db, rkey, prec, 0);
			if (rc < 0)
				goto out;
			rc = 0;
		}
		if (point >= max_row) {
			*kind = REPL_NO_CHANGE;
			goto syncs;
		}
		*kind = REPL_DIFF;
		if (peer_max < max_row / 2 &&
		    max_row - peer_max > r->conf.per_diff) {
			*kind = REPL_RSYNC;
			point = -1;
		}
	} else {
		log_warn("sync with %s: status %ld", url, status);
		rc = -EIO;
		goto out;
	}
	rc = dbrepl_rows_since(lay, db, rkey, point, batch_row, &bt);
	/* every row up to max_row was in the scan (or moved past it, and
	 * then sent): the last batch may claim max_row */
	if (!rc &&
	    (json_array_size(bt.rows) || bt.create || bt.last < max_row)) {
		if (bt.last < max_row)
			bt.last = max_row;
		rc = send_batch(&bt);
	}
	if (rc)
		goto out;
syncs:
	json_decref(body);
	body = json_pack("{ss sO}", "op", "merge_syncs", "syncs", syncs);
	if (!body) {
		rc = -ENOMEM;
		goto out;
	}
	rc = exchange("REPLICATE", url, body, r->conf.conn_timeout,
		      r->conf.node_timeout, &status, NULL);
	if (!rc && (status < 200 || status > 299))
		rc = -EIO;
out:
	json_decref(syncs);
	json_decref(body);
	json_decref(ans);
	json_decref(bt.rec);
	json_decref(bt.rows);
	return rc;
}

/* --- a pass -------------------------------------------------------------- */

/* Load the ring again when its file changed. 0 (a ring is loaded: the
 * older one when the new file does not load), -ENOENT (no ring file) or
 * -EINVAL (no ring could be loaded). */
static int ring_refresh(struct dbrepl *r)
{
	struct ring *ring = NULL, *old = NULL;
	int rc;

	pthread_mutex_lock(&r->lock);
	rc = ring_reload(r->ring_path, &r->ring_stamp, &ring);
	if (rc == -ENOENT) {
		/* said once: a server without a ring has nothing to do */
		if (!r->ring_missing_told)
			log_warn("no %s ring at %s (no replication)",
				 r->ops->server, r->ring_path);
		r->ring_missing_told = 1;
	} else if (rc == 1) {
		r->ring_missing_told = 0;
		old = r->ring;
		r->ring = ring;
		if (old)
			log_info("%s ring reloaded", r->ops->server);
	}
	if (rc != -ENOENT)
		rc = r->ring ? 0 : -EINVAL;
	pthread_mutex_unlock(&r->lock);
	if (old)
		ring_put(old);
	return rc;
}

static int is_local(const struct dbrepl *r, const struct ring_dev *d)
{
	const char *ip = r->bind_ip;

	if (d->port != r->conf.bind_port &&
	    d->replication_port != r->conf.bind_port)
		return 0;
	return !*ip || !strcmp(ip, "0.0.0.0") || !strcmp(ip, d->ip) ||
	       (d->replication_ip && !strcmp(ip, d->replication_ip));
}

/* One database found by the pass. */
struct item {
	struct dbstore_db *db;
	char dev[64];
	char rkey[KEY_LEN + 1];
};

struct pass {
	struct dbrepl *r;
	struct ring *ring;
	struct item *items;
	size_t n, cap, next;
	pthread_mutex_t lock; /* guards next and stats */
	struct dbrepl_stats st;
	int busy;
};

struct collect {
	struct pass *p;
	struct dbstore_db *db;
	const char *dev;
};

static int collect_rec(void *arg, const char *key, size_t klen, const char *val,
		       size_t vlen)
{
	struct collect *c = arg;
	struct pass *p = c->p;
	struct item *it;

	(void)val;
	(void)vlen;
	if (klen != KEY_LEN)
		return 0;
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 256;
		struct item *v = realloc(p->items, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		p->items = v;
		p->cap = cap;
	}
	it = &p->items[p->n++];
	it->db = c->db;
	snprintf(it->dev, sizeof(it->dev), "%s", c->dev);
	memcpy(it->rkey, key, KEY_LEN);
	it->rkey[KEY_LEN] = '\0';
	return 0;
}

static int collect_dev(struct dbstore_db *db, const char *dev, void *arg)
{
	struct pass *p = arg;
	struct collect c = {p, db, dev};
	char lo[1] = {p->r->ops->layout->rec};
	char hi[1] = {(char)(p->r->ops->layout->rec + 1)};

	return dbstore_scan(db, lo, 1, 1, hi, 1, 0, collect_rec, &c);
}

static int hex_digest(const char *hex, uint8_t out[16])
{
	int i;

	for (i = 0; i < 16; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static void count(struct pass *p, long *field)
{
	pthread_mutex_lock(&p->lock);
	(*field)++;
	pthread_mutex_unlock(&p->lock);
}

/* Replicate one database to its primaries (Swift's _replicate_object). */
static void do_item(struct pass *p, struct item *it)
{
	struct dbrepl *r = p->r;
	const struct ring_dev *prim[MAX_DEVS];
	struct ts now, cutoff;
	char url[512];
	uint8_t digest[16];
	uint32_t part;
	json_t *rec;
	long reclaimed = 0;
	int64_t before = 0;
	char id[33];
	int n, i, rc, primary = 0, ok = 0, tried = 0;

	count(p, &p->st.attempted);
	ts_now(&now);
	cutoff = now;
	cutoff.ticks -= (int64_t)(r->conf.reclaim_age * 100000);
	rec = record_load(it->db, it->rkey, &rc);
	if (!rec)
		return;
	if (r->ops->db_reclaimable(rec, &cutoff)) {
		json_decref(rec);
		if (!dbrepl_remove_db(r->ops->layout, it->db, it->rkey, -1))
			count(p, &p->st.remove);
		return;
	}
	json_decref(rec);
	if (!dbrepl_reclaim_rows(r->ops, it->db, it->rkey, &cutoff,
				 &reclaimed) &&
	    reclaimed) {
		pthread_mutex_lock(&p->lock);
		p->st.reclaimed += reclaimed;
		pthread_mutex_unlock(&p->lock);
	}
	if (hex_digest(it->rkey + 1, digest))
		return;
	part = ring_part_of_digest(p->ring, digest);
	n = ring_get_part_nodes(p->ring, part, prim, MAX_DEVS);
	for (i = 0; i < n; i++)
		if (!strcmp(prim[i]->device, it->dev) && is_local(r, prim[i]))
			primary = 1;
	/* a handoff goes once every primary took it, unless it changed
	 * meanwhile (Swift's check of max_row before delete_db) */
	if (!primary &&
	    dbrepl_db_meta(r->ops->layout, it->db, it->rkey, id, &before, NULL))
		return;
	for (i = 0; i < n; i++) {
		enum repl_kind kind = REPL_NO_CHANGE;

		if (!strcmp(prim[i]->device, it->dev) && is_local(r, prim[i]))
			continue;
		tried++;
		snprintf(url, sizeof(url), "http://%s:%d/%s/%u/%s",
			 prim[i]->replication_ip ? prim[i]->replication_ip
						 : prim[i]->ip,
			 prim[i]->replication_port ? prim[i]->replication_port
						   : prim[i]->port,
			 prim[i]->device, part, it->rkey + 1);
		rc = replicate_one(r, it->db, it->rkey, url, &kind);
		if (rc) {
			log_debug("replicating %s to %s: %s", it->rkey, url,
				  strerror(-rc));
			count(p, &p->st.failure);
			continue;
		}
		ok++;
		count(p, &p->st.success);
		count(p, kind == REPL_NO_CHANGE ? &p->st.no_change
			 : kind == REPL_DIFF	? &p->st.diff
						: &p->st.rsync);
	}
	if (!primary && tried && ok == tried &&
	    !dbrepl_remove_db(r->ops->layout, it->db, it->rkey, before))
		count(p, &p->st.remove);
}

static void *worker(void *arg)
{
	struct pass *p = arg;

	for (;;) {
		struct item *it = NULL;

		pthread_mutex_lock(&p->lock);
		if (p->next < p->n)
			it = &p->items[p->next++];
		pthread_mutex_unlock(&p->lock);
		if (!it)
			break;
		do_item(p, it);
	}
	return NULL;
}

static void report(struct dbrepl *r, const struct dbrepl_stats *st, double took)
{
	json_t *f;

	log_info("%s replication pass: %ld dbs attempted, %ld success, %ld "
		 "failure, %ld no_change, %ld diff, %ld rsync, %ld removed, "
		 "%ld rows reclaimed in %.2fs",
		 r->ops->server, st->attempted, st->success, st->failure,
		 st->no_change, st->diff, st->rsync, st->remove, st->reclaimed,
		 took);
	f = json_pack(
		"{sf sf s{sI sI sI sI sI sI sI sI sf}}", "replication_last",
		st->start + took, "replication_time", took, "replication_stats",
		"attempted", (json_int_t)st->attempted, "success",
		(json_int_t)st->success, "failure", (json_int_t)st->failure,
		"no_change", (json_int_t)st->no_change, "rsync",
		(json_int_t)st->rsync, "diff", (json_int_t)st->diff, "remove",
		(json_int_t)st->remove, "reclaimed", (json_int_t)st->reclaimed,
		"start", st->start);
	if (f && r->recon_cache && *r->recon_cache)
		recon_update(r->recon_cache, r->ops->server, f);
	json_decref(f);
}

int dbrepl_pass(struct dbrepl *r, struct dbrepl_stats *stats)
{
	struct pass p;
	pthread_t th[64];
	int rc, i, nth = r->conf.concurrency;

	memset(&p, 0, sizeof(p));
	pthread_mutex_lock(&r->pass_lock);
	p.r = r;
	p.st.start = clock_wall_s();
	pthread_mutex_init(&p.lock, NULL);
	rc = ring_refresh(r);
	if (rc)
		goto out;
	pthread_mutex_lock(&r->lock);
	p.ring = ring_get(r->ring);
	pthread_mutex_unlock(&r->lock);
	rc = dbstore_each(r->store, collect_dev, &p);
	if (rc == -EBUSY)
		p.busy = 1;
	else if (rc)
		goto out;
	if (nth < 1)
		nth = 1;
	if (nth > 64)
		nth = 64;
	if ((size_t)nth > p.n)
		nth = (int)p.n;
	for (i = 0; i < nth; i++)
		if (pthread_create(&th[i], NULL, worker, &p)) {
			nth = i;
			break;
		}
	worker(&p); /* this thread helps too (and does all when nth is 0) */
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	report(r, &p.st, clock_wall_s() - p.st.start);
	if (stats)
		*stats = p.st;
	rc = p.busy ? -EBUSY : 0;
out:
	if (p.ring)
		ring_put(p.ring);
	free(p.items);
	pthread_mutex_destroy(&p.lock);
	pthread_mutex_unlock(&r->pass_lock);
	return rc;
}

/* --- the background thread ---------------------------------------------- */

static void repl_pass(void *arg)
{
	dbrepl_pass(arg, NULL);
}

int dbrepl_start(struct dbrepl *r)
{
	r->thread.name = r->ops->server;
	r->thread.interval = r->conf.interval;
	r->thread.pass = repl_pass;
	r->thread.arg = r;
	return periodic_start(&r->thread);
}

void dbrepl_stop(struct dbrepl *r)
{
	if (r)
		periodic_stop(&r->thread);
}

int dbrepl_new(const struct dbrepl_conf *conf, const struct dbrepl_ops *ops,
	       void *app, struct dbstore *store, struct dbrepl **out)
{
	struct dbrepl *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->conf = *conf;
	r->devices = strdup(conf->devices ? conf->devices : "");
	r->swift_dir = strdup(conf->swift_dir ? conf->swift_dir : "");
	r->bind_ip = strdup(conf->bind_ip ? conf->bind_ip : "");
	r->recon_cache = strdup(conf->recon_cache ? conf->recon_cache : "");
	if (asprintf(&r->ring_path, "%s/%s.ring.gz", r->swift_dir,
		     ops->server) < 0)
		r->ring_path = NULL;
	if (!r->devices || !r->swift_dir || !r->bind_ip || !r->recon_cache ||
	    !r->ring_path) {
		dbrepl_free(r);
		return -ENOMEM;
	}
	if (r->conf.per_diff < 1)
		r->conf.per_diff = 1000;
	r->ops = ops;
	r->app = app;
	r->store = store;
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->pass_lock, NULL);
	*out = r;
	return 0;
}

void dbrepl_free(struct dbrepl *r)
{
	if (!r)
		return;
	dbrepl_stop(r);
	if (r->ring)
		ring_put(r->ring);
	if (r->ops) { /* the locks were made */
		pthread_mutex_destroy(&r->lock);
		pthread_mutex_destroy(&r->pass_lock);
	}
	free(r->devices);
	free(r->swift_dir);
	free(r->bind_ip);
	free(r->recon_cache);
	free(r->ring_path);
	free(r);
}

/* --- the server side: the REPLICATE verb --------------------------------- */

/* A REPLICATE or /once/ request being served. */
struct repl_req {
	struct dbrepl *r;
	const struct dbrepl_job *jobs;
	struct buf body;
};

static void req_body(struct http_request *req, const char *data, size_t len)
{
	struct repl_req *q = http_state(req);

	if (q->body.len + len > MAX_BODY) {
		http_reply_error(req, 413, "replication body too large");
		return;
	}
	if (buf_append(&q->body, data, len))
		http_reply_error(req, 500, "out of memory");
}

static void req_close(struct http_request *req, int completed)
{
	struct repl_req *q = http_state(req);

	(void)completed;
	if (q) {
		buf_free(&q->body);
		free(q);
		http_set_state(req, NULL);
	}
}

static void reply_json(struct http_request *req, int status, json_t *o)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	if (!text) {
		http_reply_error(req, 500, "out of memory");
		return;
	}
	http_add_header(req, "Content-Type", "application/json");
	http_reply(req, status, text, strlen(text));
	free(text);
}

static void serve_sync(struct dbrepl *r, struct http_request *req,
		       struct dbstore_db *db, const char *rkey, json_t *body)
{
	json_t *peer = json_object_get(body, "record"), *syncs = NULL, *rec;
	json_t *ans, *pt;
	const char *id = json_string_value(json_object_get(body, "id"));
	int64_t max_row;
	char my_id[33];
	int rc;

	if (json_is_object(peer)) {
		rc = r->ops->merge_record(r->app, db, rkey, peer, 0);
		if (rc == -ENOENT) {
			http_reply(req, 404, "", 0);
			return;
		}
		if (rc < 0) {
			http_reply_error(req, 500, "merge: %s", strerror(-rc));
			return;
		}
	}
	rc = dbrepl_db_meta(r->ops->layout, db, rkey, my_id, &max_row, &syncs);
	if (rc == -ENOENT) {
		http_reply(req, 404, "", 0);
		return;
	}
	rec = rc ? NULL : record_load(db, rkey, &rc);
	if (!rec) {
		json_decref(syncs);
		http_reply_error(req, rc == -ENOENT ? 404 : 500, "%s",
				 strerror(-rc));
		return;
	}
	pt = id ? json_object_get(syncs, id) : NULL;
	ans = json_pack("{ss sI sI sO}", "id", my_id, "max_row",
			(json_int_t)max_row, "point",
			(json_int_t)(pt ? json_integer_value(pt) : -1),
			"record", rec);
	reply_json(req, 200, ans);
	json_decref(ans);
	json_decref(rec);
	json_decref(syncs);
}

static void serve_merge(struct dbrepl *r, struct http_request *req,
			struct dbstore_db *db, const char *rkey, json_t *body)
{
	json_t *rows = json_object_get(body, "rows"), *row, *s;
	json_t *peer = json_object_get(body, "record");
	const char *id = json_string_value(json_object_get(body, "id"));
	int create = json_is_true(json_object_get(body, "create"));
	size_t i;
	int rc = 0;

	if (json_is_object(peer)) {
		rc = r->ops->merge_record(r->app, db, rkey, peer, create);
		if (rc == -ENOENT) {
			http_reply(req, 404, "", 0);
			return;
		}
		if (rc < 0)
			goto fail;
		rc = 0;
	}
	/* one fsync for the whole batch, before the answer (dbstore.h) */
	dbstore_defer_sync(1);
	json_array_foreach(rows, i, row)
	{
		const char *name = json_string_value(json_array_get(row, 0));
		const char *value = json_string_value(json_array_get(row, 2));

		if (!name || !value || !*name) {
			rc = -EINVAL;
			break;
		}
		rc = r->ops->merge_row(r->app, db, rkey, name,
				       json_is_true(json_array_get(row, 1)),
				       value);
		if (rc)
			break;
	}
	dbstore_defer_sync(0);
	if (!rc)
		rc = dbstore_sync(db);
	if (rc == -EINVAL) {
		http_reply_error(req, 400, "bad row %zu", i);
		return;
	}
	if (rc == -ENOENT) {
		http_reply(req, 404, "", 0);
		return;
	}
	if (rc)
		goto fail;
	if (id && json_is_integer(json_object_get(body, "point"))) {
		s = json_pack("{sO}", id, json_object_get(body, "point"));
		rc = s ? dbrepl_merge_syncs(r->ops->layout, db, rkey, s)
		       : -ENOMEM;
		json_decref(s);
		if (rc)
			goto fail;
	}
	http_reply(req, 204, "", 0);
	return;
fail:
	http_reply_error(req, 500, "merge: %s", strerror(-rc));
}

static void req_end(struct http_request *req)
{
	struct repl_req *q = http_state(req);
	struct dbrepl *r = q->r;
	struct buf *b = &q->body;
	char path[256], *segs[4], *save = NULL, *s, rkey[KEY_LEN + 1];
	struct dbstore_db *db;
	const char *op;
	json_t *body = NULL;
	int n = 0, rc, create;

	snprintf(path, sizeof(path), "%s", http_raw_path(req));
	for (s = strtok_r(path, "/", &save); s && n < 4;
	     s = strtok_r(NULL, "/", &save))
		segs[n++] = s;
	if (n != 3 || !dbstore_valid_device(segs[0]) || strlen(segs[2]) != 32 ||
	    strspn(segs[2], "0123456789abcdef") != 32) {
		http_reply_error(req, 400, "bad replication path");
		return;
	}
	body = json_loadb((const char *)b->data, b->len, 0, NULL);
	op = json_string_value(json_object_get(body, "op"));
	if (!op) {
		http_reply_error(req, 400, "bad replication body");
		goto out;
	}
	rkey[0] = r->ops->layout->rec;
	memcpy(rkey + 1, segs[2], 32);
	rkey[KEY_LEN] = '\0';
	create = !strcmp(op, "merge_items") &&
		 json_is_true(json_object_get(body, "create"));
	rc = dbserver_open(req, r->store, segs[0], create, &db);
	if (rc == -ENOENT) {
		http_reply(req, 404, "", 0);
		goto out;
	}
	if (rc)
		goto out;
	if (!strcmp(op, "sync")) {
		serve_sync(r, req, db, rkey, body);
	} else if (!strcmp(op, "merge_items")) {
		serve_merge(r, req, db, rkey, body);
	} else if (!strcmp(op, "merge_syncs")) {
		rc = dbrepl_merge_syncs(r->ops->layout, db, rkey,
					json_object_get(body, "syncs"));
		if (rc == -ENOENT)
			http_reply(req, 404, "", 0);
		else if (rc)
			http_reply_error(req, 500, "%s", strerror(-rc));
		else
			http_reply(req, 204, "", 0);
	} else {
		http_reply_error(req, 400, "unknown replication op");
	}
out:
	json_decref(body);
}

static void req_headers(struct http_request *req)
{
	(void)req; /* the body comes next */
}

static const struct http_handler repl_handler = {
	.on_headers = req_headers,
	.on_body = req_body,
	.on_end = req_end,
	.on_close = req_close,
};

/* POST /once/<job>: one pass of a job now (for --once). */
static void once_headers(struct http_request *req)
{
	struct repl_req *q = http_state(req);
	const char *name = http_raw_path(req) + 6;
	const struct dbrepl_job *j;
	int rc;

	for (j = q->jobs; j && j->name; j++)
		if (!strcmp(j->name, name))
			break;
	if (!j || !j->name) {
		http_reply_error(req, 404, "no such job");
		return;
	}
	rc = j->run(http_app(req));
	if (rc && rc != -EBUSY)
		http_reply_error(req, 500, "%s failed: %s", name,
				 strerror(-rc));
	else
		http_reply(req, 200, "", 0);
}

static const struct http_handler once_handler = {
	.on_headers = once_headers,
	.on_close = req_close,
};

const struct http_handler *dbrepl_route(struct http_request *req,
					struct dbrepl *r,
					const struct dbrepl_job *jobs)
{
	const char *m = http_method(req);
	const struct http_handler *h = NULL;
	struct repl_req *q;

	if (!strcmp(m, "REPLICATE"))
		h = &repl_handler;
	else if (!strcmp(m, "POST") &&
		 !strncmp(http_raw_path(req), "/once/", 6))
		h = &once_handler;
	if (!h)
		return NULL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL; /* the part's handler answers */
	q->r = r;
	q->jobs = jobs;
	http_set_state(req, q);
	return h;
}

int dbrepl_once_remote(const char *ip, int port, const char *what,
		       double timeout)
{
	char url[256];
	long status;
	int rc;

	snprintf(url, sizeof(url), "http://%s:%d/once/%s",
		 !*ip || !strcmp(ip, "0.0.0.0") ? "127.0.0.1" : ip, port, what);
	rc = exchange("POST", url, NULL, 2, timeout, &status, NULL);
	if (rc)
		return rc;
	if (status < 200 || status > 299) {
		log_err("%s answered %ld", url, status);
		return -EIO;
	}
	return 0;
}
