/*
 * common/timestamp.c: Swift timestamps (see timestamp.h).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/timestamp.h"

#define TICKS_PER_SEC 100000
#define MAX_SECS      253402300799LL /* 9999-12-31T23:59:59Z */

void ts_now(struct ts *t)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	t->ticks = (int64_t)now.tv_sec * TICKS_PER_SEC + now.tv_nsec / 10000;
	t->offset = 0;
}

static double clock_s(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

double clock_mono_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

double clock_wall_s(void)
{
	return clock_s(CLOCK_REALTIME);
}

int ts_parse(const char *s, struct ts *t)
{
	int64_t secs = 0, frac = 0;
	int digits = 0, round_up = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		secs = secs * 10 + (*p - '0');
		if (secs > MAX_SECS)
			return -EINVAL;
	}
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++, digits++) {
			if (digits < 5)
				frac = frac * 10 + (*p - '0');
			else if (digits == 5)
				round_up = *p >= '5';
		}
		for (; digits < 5; digits++)
			frac *= 10;
	}
	t->ticks = secs * TICKS_PER_SEC + frac + round_up;
	t->offset = 0;
	if (*p == '_') {
		char *end;

		p++;
		if (!isxdigit((unsigned char)*p) || strlen(p) > 16)
			return -EINVAL;
		t->offset = strtoull(p, &end, 16);
		p = end;
	}
	return *p ? -EINVAL : 0;
}

char *ts_normal(const struct ts *t, char out[TS_NORMAL_LEN + 1])
{
	uint64_t ticks = t->ticks > 0 ? (uint64_t)t->ticks : 0;
	char tmp[48];

	/* ticks stay below 10^15 (year 9999), so this fits 16 chars */
	snprintf(tmp, sizeof(tmp), "%010" PRIu64 ".%05" PRIu64,
		 ticks / TICKS_PER_SEC, ticks % TICKS_PER_SEC);
	memcpy(out, tmp, TS_NORMAL_LEN);
	out[TS_NORMAL_LEN] = '\0';
	return out;
}

char *ts_internal(const struct ts *t, char out[TS_INTERNAL_LEN + 1])
{
	ts_normal(t, out);
	if (t->offset)
		snprintf(out + TS_NORMAL_LEN,
			 TS_INTERNAL_LEN - TS_NORMAL_LEN + 1, "_%016" PRIx64,
			 t->offset);
	return out;
}

int ts_cmp(const struct ts *a, const struct ts *b)
{
	if (a->ticks != b->ticks)
		return a->ticks < b->ticks ? -1 : 1;
	if (a->offset != b->offset)
		return a->offset < b->offset ? -1 : 1;
	return 0;
}

char *ts_http_date(const struct ts *t, char out[32])
{
	time_t secs = (time_t)((t->ticks + TICKS_PER_SEC - 1) / TICKS_PER_SEC);
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(out, 32, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	return out;
}

int ts_parse_http_date(const char *s, int64_t *secs)
{
	static const char *formats[] = {
		"%a, %d %b %Y %H:%M:%S GMT", /* RFC 1123 */
		"%A, %d-%b-%y %H:%M:%S GMT", /* RFC 850 */
		"%a %b %e %H:%M:%S %Y",	     /* asctime */
	};
	struct tm tm;
	size_t i;

	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		const char *end;

		memset(&tm, 0, sizeof(tm));
		end = strptime(s, formats[i], &tm);
		if (end && !*end) {
			*secs = (int64_t)timegm(&tm);
			return 0;
		}
	}
	return -EINVAL;
}
