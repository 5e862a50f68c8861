/*
 * common/timestamp.h: Swift's timestamps. Every write carries one (set once
 * by the proxy as X-Timestamp) and the newest wins everywhere.
 *
 * A timestamp is a count of 10-microsecond ticks since the epoch plus an
 * offset that orders writes made with the same time (Swift's internal
 * form). Normal form: "1700000000.12345" (always 16 characters); internal
 * form: the normal form followed by "_" and the offset in 16 hex digits
 * when the offset is not zero.
 */
#ifndef KUMO_COMMON_TIMESTAMP_H
#define KUMO_COMMON_TIMESTAMP_H

#include <stdint.h>

struct ts {
	int64_t ticks; /* 1e-5 s since the epoch */
	uint64_t offset;
};

#define TS_NORMAL_LEN	16
#define TS_INTERNAL_LEN (16 + 1 + 16)

/* The current time. */
void ts_now(struct ts *t);

/* Seconds on CLOCK_MONOTONIC: for intervals and deadlines. */
double clock_mono_s(void);

/* Seconds since the epoch (CLOCK_REALTIME) as a double: for ages of
 * files and records, and reports. */
double clock_wall_s(void);

/*
 * Parse "seconds[.fraction][_hexoffset]" as Swift does (the fraction is
 * rounded to 5 digits). Returns 0, or -EINVAL for anything else, a
 * negative time, or one past the year 9999.
 */
int ts_parse(const char *s, struct ts *t);

/* Write the normal form (16 chars + NUL) into out. */
char *ts_normal(const struct ts *t, char out[TS_NORMAL_LEN + 1]);

/* Write the internal form (with _offset when non-zero) into out. */
char *ts_internal(const struct ts *t, char out[TS_INTERNAL_LEN + 1]);

/* <0, 0, >0 as a is older than, equal to, newer than b. */
int ts_cmp(const struct ts *a, const struct ts *b);

/* An HTTP date (RFC 7231) of the timestamp rounded up to the second, as
 * Swift's Last-Modified: "Tue, 15 Nov 1994 08:12:31 GMT". */
char *ts_http_date(const struct ts *t, char out[32]);

/* Parse an HTTP date (the three formats of RFC 7231) into *secs. 0 or
 * -EINVAL. */
int ts_parse_http_date(const char *s, int64_t *secs);

#endif
