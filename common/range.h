/*
 * common/range.h: Range and conditional requests decided exactly as
 * Swift's swob does (swob.Range, Range.ranges_for_length, Match and
 * Response._get_conditional_response_status), as pure functions: the
 * object server applies them to an opened object, the proxy to large
 * objects it assembles from segments. Thread-safe (no state).
 */
#ifndef KUMO_COMMON_RANGE_H
#define KUMO_COMMON_RANGE_H

#include <stdint.h>

struct byte_range {
	uint64_t start; /* first byte */
	uint64_t end;	/* one past the last byte */
};

#define RANGE_MAX 50

/*
 * Parse a Range header for an entity of len bytes, as swob's Range and
 * ranges_for_length. Returns the number of satisfiable ranges written to
 * out (at most RANGE_MAX), 0 when none can be satisfied (416), or -1 when
 * the header must be ignored (absent or syntactically invalid: 200).
 */
int range_parse(const char *hdr, uint64_t len, struct byte_range *out);

/*
 * The status a conditional GET/HEAD gets (swob's
 * _get_conditional_response_status): 304, 412, or 0 to go on. etag may be
 * NULL (no entity), last_modified < 0 when unknown; exists says whether
 * there is an entity.
 */
int cond_status(const char *if_match, const char *if_none_match,
		const char *if_modified_since, const char *if_unmodified_since,
		const char *etag, int64_t last_modified, int exists);

/* Size of a multipart/byteranges boundary (range_boundary), NUL included. */
#define RANGE_BOUNDARY_LEN 33

/* A random boundary for a multipart/byteranges body (32 hex digits) into
 * out. */
void range_boundary(char out[RANGE_BOUNDARY_LEN]);

/* 1 if etag (bare hex) is in the If-Match/If-None-Match list hdr ("*"
 * matches any). */
int cond_etag_in(const char *hdr, const char *etag);

#endif
