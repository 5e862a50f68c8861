/*
 * common/dbserver.c: what the container and account servers' protocols
 * share (see dbserver.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/dbmeta.h"
#include "common/dbserver.h"
#include "common/http.h"

char *dbserver_row_key(char kind, const char *rkey, const char *name,
		       size_t *klen)
{
	size_t n = strlen(name);
	char *k = malloc(DBSERVER_KEY_LEN + 1 + n);

	if (!k) {
		errno = ENOMEM;
		return NULL;
	}
	k[0] = kind;
	memcpy(k + 1, rkey + 1, DBSERVER_KEY_LEN - 1);
	k[DBSERVER_KEY_LEN] = '/';
	memcpy(k + DBSERVER_KEY_LEN + 1, name, n);
	*klen = DBSERVER_KEY_LEN + 1 + n;
	return k;
}

int dbserver_open(struct http_request *req, struct dbstore *st, const char *dev,
		  int create, struct dbstore_db **out)
{
	int rc = dbstore_device(st, dev, create, out);

	if (!rc || rc == -ENOENT)
		return rc;
	if (rc == -ENODEV)
		http_reply_error(req, 507, "%s is not mounted", dev);
	else if (rc == -EBUSY)
		http_reply_error(req, 503, "database of %s is busy", dev);
	else
		http_reply_error(req, 500, "cannot open the database: %s",
				 strerror(-rc));
	return rc;
}

int dbserver_apply_meta(struct http_request *req, const char *kind,
			const char *const *saved, json_t **md,
			const struct ts *ts, char *msg, size_t msglen)
{
	char tsbuf[TS_INTERNAL_LEN + 1];
	json_t *updates = json_object();
	json_t *copy = json_deep_copy(*md);
	int rc = updates && copy ? 0 : -ENOMEM;

	if (!rc)
		rc = dbmeta_from_request(req, kind, saved,
					 ts_internal(ts, tsbuf), updates);
	if (!rc)
		rc = dbmeta_merge(copy, updates);
	if (rc >= 0)
		rc = dbmeta_validate(copy, msg, msglen);
	if (!rc) {
		json_decref(*md);
		*md = copy;
		copy = NULL;
	} else if (rc != -EINVAL) {
		snprintf(msg, msglen, "out of memory");
	}
	json_decref(updates);
	json_decref(copy);
	return rc;
}

int dbserver_head_format(struct http_request *req, enum listing_format *fmt)
{
	const char *format = http_query(req, "format");
	int rc;

	if (format && !listing_utf8_valid(format)) {
		http_reply_error(req, 400,
				 "\"format\" parameter not valid UTF-8");
		return -EINVAL;
	}
	rc = listing_content_type(format, http_header(req, "Accept"), fmt);
	if (rc == -EINVAL) {
		http_reply_error(req, 400, "Invalid Accept header");
		return -EINVAL;
	} else if (rc) {
		http_reply_error(req, 406, "Not Acceptable");
		return -EINVAL;
	}
	return 0;
}

static int copy_grow(char **dst, size_t *cap, const char *s, size_t n)
{
	if (n + 1 > *cap) {
		char *p = realloc(*dst, n + 1);

		if (!p)
			return -ENOMEM;
		*dst = p;
		*cap = n + 1;
	}
	memcpy(*dst, s, n);
	(*dst)[n] = '\0';
	return 0;
}

static int src_row(void *arg, const char *key, size_t klen, const char *val,
		   size_t vlen)
{
	struct dbserver_rows *s = arg;
	size_t skip = DBSERVER_KEY_LEN + 1;

	if (copy_grow(&s->name, &s->name_cap, key + skip, klen - skip) ||
	    copy_grow(&s->val, &s->val_cap, val, vlen))
		return -ENOMEM;
	return s->row(s->arg, s->name, s->val, vlen);
}

static int src_scan(void *ctx, const char *lo, int lo_incl, const char *hi,
		    int reverse, listing_row_fn row, void *arg)
{
	struct dbserver_rows *s = ctx;
	size_t plen = DBSERVER_KEY_LEN + 1;
	size_t lolen = plen + (lo ? strlen(lo) : 0);
	size_t hilen = hi ? plen + strlen(hi) : plen;
	char *lok = malloc(lolen + 1), *hik = malloc(hilen + 1);
	int rc = -ENOMEM;

	if (!lok || !hik)
		goto out;
	memcpy(lok, s->prefix, plen);
	if (lo)
		memcpy(lok + plen, lo, lolen - plen);
	else
		lo_incl = 1;
	memcpy(hik, s->prefix, plen);
	if (hi)
		memcpy(hik + plen, hi, hilen - plen);
	else
		hik[plen - 1] = '/' + 1; /* past every name of this record */
	s->row = row;
	s->arg = arg;
	rc = s->iter ? 0 : dbstore_iter_open(s->db, &s->iter);
	if (!rc)
		rc = dbstore_iter_scan(s->iter, lok, lolen, lo_incl, hik, hilen,
				       reverse, src_row, s);
out:
	free(lok);
	free(hik);
	return rc;
}

void dbserver_rows_init(struct dbserver_rows *rs, struct listing_source *src,
			struct dbstore_db *db, char kind, const char *rkey)
{
	memset(rs, 0, sizeof(*rs));
	rs->db = db;
	rs->prefix[0] = kind;
	memcpy(rs->prefix + 1, rkey + 1, DBSERVER_KEY_LEN - 1);
	rs->prefix[DBSERVER_KEY_LEN] = '/';
	src->scan = src_scan;
	src->ctx = rs;
}

void dbserver_rows_free(struct dbserver_rows *rs)
{
	free(rs->name);
	free(rs->val);
	rs->name = rs->val = NULL;
	dbstore_iter_close(rs->iter);
	rs->iter = NULL;
}

static int get_ts(json_t *o, const char *name, struct ts *t)
{
	const char *s = json_string_value(json_object_get(o, name));

	return s ? ts_parse(s, t) : -EINVAL;
}

int dbserver_record_parse(json_t *o, const struct dbserver_times *t,
			  json_t **metadata)
{
	json_t *md;

	if (get_ts(o, "created_at", t->created_at) ||
	    get_ts(o, "put_timestamp", t->put) ||
	    get_ts(o, "delete_timestamp", t->del) ||
	    get_ts(o, "status_changed_at", t->status_changed))
		return -EIO;
	md = json_object_get(o, "metadata");
	*metadata = json_is_object(md) ? json_incref(md) : json_object();
	return *metadata ? 0 : -ENOMEM;
}

/* *a = the older (newer when newest) of *a and *b; 1 when *a changed. */
static int take(struct ts *a, const struct ts *b, int newest)
{
	int c = ts_cmp(b, a);

	if (newest ? c <= 0 : c >= 0)
		return 0;
	*a = *b;
	return 1;
}

int dbserver_merge_times(const struct dbserver_times *mine,
			 const struct dbserver_times *peer)
{
	int changed = take(mine->created_at, peer->created_at, 0);

	changed |= take(mine->put, peer->put, 1);
	changed |= take(mine->del, peer->del, 1);
	changed |= take(mine->status_changed, peer->status_changed, 1);
	return changed;
}
