/*
 * common/range.c: Range and conditional requests, decided exactly as
 * Swift's swob does (swob.Range, Range.ranges_for_length, Match and
 * Response._get_conditional_response_status), as pure functions that
 * objectd/server.c applies to an opened object and proxy/slo.c and
 * proxy/dlo.c to large objects.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "common/range.h"
#include "common/timestamp.h"

#define RANGE_MAX_OVERLAPS     2
#define RANGE_MAX_NONASCENDING 8

struct spec {
	int has_start, has_end;
	uint64_t start, end;
};

/* Digits only (swob: int() / isdigit()); saturates on overflow. */
static int parse_num(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!len)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		if (v > (UINT64_MAX - 9) / 10)
			v = UINT64_MAX / 2;
		else
			v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* swob.Range.__init__: every spec or none; -EINVAL means ignore. */
static int parse_specs(const char *hdr, struct spec **out, int *count)
{
	char *copy = NULL, *p, *q;
	struct spec *specs = NULL;
	int n = 0, cap = 0, rc = -EINVAL;

	*out = NULL;
	*count = 0;
	if (!hdr || !*hdr)
		return -EINVAL;
	copy = malloc(strlen(hdr) + 1);
	if (!copy)
		return -ENOMEM;
	for (p = (char *)hdr, q = copy; *p; p++)
		if (*p != ' ')
			*q++ = *p;
	*q = '\0';
	if (strncasecmp(copy, "bytes=", 6))
		goto out;
	p = copy + 6;
	for (;;) {
		char *comma = strchr(p, ','), *dash;
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		struct spec s = {0};

		dash = memchr(p, '-', len);
		if (!dash)
			goto out;
		if (dash > p) {
			if (parse_num(p, (size_t)(dash - p), &s.start))
				goto out;
			s.has_start = 1;
		}
		if (dash + 1 < p + len) {
			if (parse_num(dash + 1, (size_t)(p + len - dash - 1),
				      &s.end))
				goto out;
			s.has_end = 1;
			if (s.has_start && s.end < s.start)
				goto out;
		} else if (!s.has_start) {
			goto out;
		}
		if (n == cap) {
			struct spec *grown;

			cap = cap ? cap * 2 : 8;
			grown = realloc(specs, sizeof(*specs) * (size_t)cap);
			if (!grown) {
				rc = -ENOMEM;
				goto out;
			}
			specs = grown;
		}
		specs[n++] = s;
		if (!comma)
			break;
		p = comma + 1;
	}
	rc = 0;
out:
	free(copy);
	if (rc) {
		free(specs);
		return rc;
	}
	*out = specs;
	*count = n;
	return 0;
}

int range_parse(const char *hdr, uint64_t len, struct byte_range *out)
{
	struct byte_range *all = NULL;
	struct spec *specs;
	int nspecs, n = 0, i, j, overlaps = 0, ascending = 1, rc;

	if (parse_specs(hdr, &specs, &nspecs))
		return -1;
	all = malloc(sizeof(*all) * (size_t)(nspecs ? nspecs : 1));
	if (!all) {
		free(specs);
		return -1;
	}
	/* ranges_for_length */
	for (i = 0; i < nspecs; i++) {
		struct spec *s = &specs[i];

		if (!s->has_start) {
			if (s->end == 0)
				continue;
			all[n].start = s->end > len ? 0 : len - s->end;
			all[n++].end = len;
		} else if (s->start < len) {
			all[n].start = s->start;
			all[n++].end = !s->has_end || s->end + 1 > len
					       ? len
					       : s->end + 1;
		}
	}
	rc = n;
	if (n > RANGE_MAX) {
		rc = 0;
		goto out;
	}
	for (i = 0; i < n && rc; i++)
		for (j = i + 1; j < n && rc; j++) {
			uint64_t s1 = all[i].start, e1 = all[i].end;
			uint64_t s2 = all[j].start, e2 = all[j].end;

			if ((s1 < s2 && s2 < e1) || (s1 < e2 && e2 < e1) ||
			    (s2 < s1 && s1 < e2) || (s2 < e1 && e1 < e2))
				if (++overlaps > RANGE_MAX_OVERLAPS)
					rc = 0;
		}
	for (i = 0; i + 1 < n && rc; i++)
		if (all[i].start > all[i + 1].start ||
		    (all[i].start == all[i + 1].start &&
		     all[i].end > all[i + 1].end)) {
			ascending = 0;
			break;
		}
	if (rc && !ascending && n >= RANGE_MAX_NONASCENDING)
		rc = 0;
	/* a suffix range of an empty entity: the whole (empty) entity */
	if (rc > 0 && len == 0)
		rc = -1;
	if (rc > 0)
		memcpy(out, all, sizeof(*all) * (size_t)rc);
out:
	free(all);
	free(specs);
	return rc;
}

int cond_etag_in(const char *hdr, const char *etag)
{
	const char *p = hdr;

	while (*p) {
		const char *start, *end;
		size_t len;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		start = p;
		while (*p && *p != ',')
			p++;
		end = p;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		len = (size_t)(end - start);
		if (len >= 2 && start[0] == '"' && end[-1] == '"') {
			start++;
			len -= 2;
		}
		if (!len)
			continue;
		if ((len == 1 && *start == '*') ||
		    (etag && strlen(etag) == len && !memcmp(start, etag, len)))
			return 1;
	}
	return 0;
}

/* An HTTP date header as seconds, or -1 if absent or unparsable. */
static int64_t http_date(const char *s)
{
	int64_t secs;

	if (!s || ts_parse_http_date(s, &secs))
		return -1;
	return secs;
}

int cond_status(const char *if_match, const char *if_none_match,
		const char *if_modified_since, const char *if_unmodified_since,
		const char *etag, int64_t last_modified, int exists)
{
	int64_t ims = http_date(if_modified_since);
	int64_t ius = http_date(if_unmodified_since);

	if (etag && if_none_match && cond_etag_in(if_none_match, etag))
		return 304;
	if (etag && if_match && !cond_etag_in(if_match, etag))
		return 412;
	if (!exists && if_match && cond_etag_in(if_match, NULL))
		return 412;
	if (last_modified >= 0 && ims >= 0 && last_modified <= ims)
		return 304;
	if (last_modified >= 0 && ius >= 0 && last_modified > ius)
		return 412;
	return 0;
}

void range_boundary(char out[RANGE_BOUNDARY_LEN])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char rnd[(RANGE_BOUNDARY_LEN - 1) / 2];
	size_t i;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0x5a, sizeof(rnd));
	for (i = 0; i < sizeof(rnd); i++) {
		out[2 * i] = digits[rnd[i] >> 4];
		out[2 * i + 1] = digits[rnd[i] & 15];
	}
	out[2 * sizeof(rnd)] = '\0';
}
