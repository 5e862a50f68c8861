/*
 * common/listing.h: account and container listings as Swift's backend
 * servers make them: the query parameters (limit, marker, end_marker,
 * prefix, delimiter, path, reverse, format or Accept), the walk over
 * names in order that turns them into rows and subdirs (Swift's
 * list_objects_iter / list_containers_iter), and the json, xml and plain
 * bodies, byte for byte as Swift writes them.
 *
 * The walk knows nothing of storage: it asks a listing_source for range
 * scans over live names in UTF-8 byte order (the order Swift's SQLite
 * uses), so the same code serves LevelDB and the unit tests' arrays.
 */
#ifndef KUMO_COMMON_LISTING_H
#define KUMO_COMMON_LISTING_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/timestamp.h"

struct http_request;

/* Swift's CONTAINER_LISTING_LIMIT and ACCOUNT_LISTING_LIMIT. */
#define LISTING_MAX_LIMIT 10000

enum listing_format {
	LISTING_PLAIN,	  /* text/plain */
	LISTING_JSON,	  /* application/json */
	LISTING_XML,	  /* application/xml */
	LISTING_TEXT_XML, /* text/xml */
};

struct listing_query {
	const char *prefix;	/* NULL when absent */
	const char *delimiter;	/* NULL when absent */
	const char *marker;	/* "" when absent */
	const char *end_marker; /* NULL when absent */
	const char *path;	/* NULL when absent (containers only) */
	long limit;
	int reverse;
	enum listing_format format;
};

/* 1 when s is valid UTF-8 (no overlong forms, surrogates or code points
 * past U+10FFFF), as Python's strict decoder; else 0. */
int listing_utf8_valid(const char *s);

/*
 * Swift's get_listing_content_type: format (may be NULL: json, xml or
 * plain, anything else meaning plain) wins over accept (may be NULL),
 * which is matched as swob's Accept.best_match against text/plain,
 * application/json, application/xml, text/xml. 0, -EINVAL for a
 * malformed Accept (400), -ENOENT when nothing is acceptable (406).
 */
int listing_content_type(const char *format, const char *accept,
			 enum listing_format *out);

/* The Content-Type value of a format, e.g. "application/json". */
const char *listing_mime(enum listing_format f);

/*
 * The limit as Swift takes it: absent or not all digits means max;
 * above max is -ERANGE (412 "Maximum limit is N"). 0 or -ERANGE.
 */
int listing_parse_limit(const char *given, long max, long *out);

/* Swift's config_true_value: true, 1, yes, on, t, y (any case). */
int listing_true_value(const char *s);

/*
 * Fill q from the request's query string and Accept header, as Swift's
 * container (allow_path set) and account servers do. Returns 0, or the
 * HTTP status to answer (400, 406, 412) with a message in msg. The
 * strings in q belong to the request.
 */
int listing_query_from_request(struct http_request *req, int allow_path,
			       struct listing_query *q, char *msg,
			       size_t msglen);

/* Called for each live name in a scanned range; 0 goes on, > 0 stops the
 * scan, < 0 is an error. val is the source's record for the name. */
typedef int (*listing_row_fn)(void *arg, const char *name, const char *val,
			      size_t vlen);

struct listing_source {
	/*
	 * Call row for each live name n with lo <= n (lo < n when lo_incl
	 * is 0; no bound when lo is NULL) and n < hi (no bound when hi is
	 * NULL), ascending or, when reverse, descending, until row returns
	 * non-zero or the names run out. 0 or -errno.
	 */
	int (*scan)(void *ctx, const char *lo, int lo_incl, const char *hi,
		    int reverse, listing_row_fn row, void *arg);
	void *ctx;
};

/* Called for each result in order: val is NULL for a subdir. 0 or
 * -errno (which stops the walk). */
typedef int (*listing_emit_fn)(void *arg, const char *name, const char *val,
			       size_t vlen);

/*
 * Walk src as Swift lists: at most q->limit results, names after marker
 * and before end_marker (swapped when reverse), starting with prefix,
 * names holding delimiter after the prefix rolled up into one subdir,
 * path as prefix "path/" with delimiter "/" and no subdirs. Returns 0 or
 * the first error of src or emit.
 */
int listing_run(const struct listing_source *src, const struct listing_query *q,
		listing_emit_fn emit, void *arg);

/* --- bodies ---------------------------------------------------------- */

enum listing_kind {
	LISTING_OBJECTS,    /* a container's listing */
	LISTING_CONTAINERS, /* an account's listing */
};

struct listing_out {
	struct buf body;
	enum listing_format format;
	enum listing_kind kind;
	long count;
};

/* Start a body; base_name is the container (account) name of the xml
 * root element. 0 or -ENOMEM; release with listing_out_free. */
int listing_out_begin(struct listing_out *o, enum listing_format format,
		      enum listing_kind kind, const char *base_name);

/* An object row. content_type may carry ";swift_bytes=N", which then
 * replaces bytes (Swift's override_bytes_from_content_type). */
int listing_out_object(struct listing_out *o, const char *name, int64_t bytes,
		       const char *etag, const char *content_type,
		       const struct ts *last_modified);

/* A container row of an account listing. */
int listing_out_container(struct listing_out *o, const char *name,
			  int64_t count, int64_t bytes,
			  const struct ts *put_timestamp);

int listing_out_subdir(struct listing_out *o, const char *name);

/* Close the body. Afterwards o->body holds it (empty for an empty plain
 * listing, which Swift answers with 204). 0 or -ENOMEM. */
int listing_out_end(struct listing_out *o);

void listing_out_free(struct listing_out *o);

/* Swift's Timestamp.isoformat: "2025-01-02T03:04:05.678900". */
char *listing_isoformat(const struct ts *t, char out[32]);

/* Swift's extract_swift_bytes: content_type without its swift_bytes
 * parameter (params rewritten as ";k=v") into out (malloc'd, caller
 * frees), and the value in *swift_bytes (-1 when absent or bad). 0 or
 * -ENOMEM. */
int listing_clean_content_type(const char *content_type, char **out,
			       int64_t *swift_bytes);

#endif
