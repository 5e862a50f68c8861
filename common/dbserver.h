/*
 * common/dbserver.h: the pieces of the HTTP protocol that the container
 * and account servers share over their device databases (common/
 * dbstore.h): opening a request's device with Swift's error answers,
 * merging a request's metadata, the HEAD format check, and the listing
 * source that scans the rows of one account or container ("X" H "/" name
 * keys) for common/listing.h.
 *
 * Each part keeps its own records, rows and routes; this file knows only
 * the key shape every row has: one letter, the 32 hex digits of the
 * record's hash, '/', the name.
 */
#ifndef KUMO_COMMON_DBSERVER_H
#define KUMO_COMMON_DBSERVER_H

#include <stddef.h>

#include <jansson.h>

#include "common/dbstore.h"
#include "common/listing.h"
#include "common/timestamp.h"

struct http_request;

/* Length of a record key: the kind letter and 32 hex digits. */
#define DBSERVER_KEY_LEN 33

/*
 * The row key kind H "/" name, where rkey is a record key (its kind
 * letter is replaced by kind), into a malloc'd buffer of *klen bytes (not
 * NUL-terminated); NULL with errno ENOMEM.
 */
char *dbserver_row_key(char kind, const char *rkey, const char *name,
		       size_t *klen);

/*
 * The database of dev in st for a request. 0; -ENOENT when there is none
 * and create is 0 (not answered: the caller answers its own 404); else
 * the request is answered (507 not mounted, 503 busy, 500) and -errno is
 * returned.
 */
int dbserver_open(struct http_request *req, struct dbstore *st, const char *dev,
		  int create, struct dbstore_db **out);

/*
 * Merge the metadata that req carries for kind ("account", "container";
 * saved as dbmeta_from_request) at ts into *md, which is replaced by the
 * merged copy (the old object is released) when the result is valid. 0;
 * -EINVAL with Swift's message in msg (then *md is unchanged); -ENOMEM
 * ("out of memory" in msg).
 */
int dbserver_apply_meta(struct http_request *req, const char *kind,
			const char *const *saved, json_t **md,
			const struct ts *ts, char *msg, size_t msglen);

/*
 * The listing format of a HEAD (format= and Accept). 0, or the request is
 * answered (400, 406) and -EINVAL is returned.
 */
int dbserver_head_format(struct http_request *req, enum listing_format *fmt);

/* The timestamps every account and container record keeps. */
struct dbserver_times {
	struct ts *created_at, *put, *del, *status_changed;
};

/*
 * A record's timestamps (created_at, put_timestamp, delete_timestamp,
 * status_changed_at) and its metadata (*metadata: a new reference, an
 * empty object when absent) from its JSON o (borrowed). 0, -EIO (a
 * timestamp missing or bad), -ENOMEM.
 */
int dbserver_record_parse(json_t *o, const struct dbserver_times *t,
			  json_t **metadata);

/*
 * Swift's merge_timestamps over a replica's record: created_at the
 * oldest, put, delete and status change the newest of mine and peer's.
 * Returns 1 when mine changed, else 0.
 */
int dbserver_merge_times(const struct dbserver_times *mine,
			 const struct dbserver_times *peer);

/* A listing source over the rows prefix[0] H "/" name of one record. */
struct dbserver_rows {
	struct dbstore_db *db;
	struct dbstore_iter *iter; /* one snapshot for every scan of a walk */
	char prefix[DBSERVER_KEY_LEN + 1]; /* kind H "/" */
	listing_row_fn row;
	void *arg;
	char *name, *val; /* NUL-terminated copies for the callback */
	size_t name_cap, val_cap;
};

/*
 * Set up rs to scan the rows of kind of the record rkey in db, and src
 * to use it. Release rs with dbserver_rows_free after the walk.
 */
void dbserver_rows_init(struct dbserver_rows *rs, struct listing_source *src,
			struct dbstore_db *db, char kind, const char *rkey);
void dbserver_rows_free(struct dbserver_rows *rs);

#endif
