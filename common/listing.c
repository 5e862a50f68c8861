/*
 * common/listing.c: listing parameters, the listing walk and the bodies
 * (see listing.h). The walk follows swift/container/backend.py
 * list_objects_iter step by step, with one range scan where Swift runs
 * one SQL query: the same bounds, the same marker moves after a subdir,
 * so that edge cases (markers inside a subdir, reverse, end_marker past
 * the prefix) come out as Swift's.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/http.h"
#include "common/listing.h"
#include "common/pyjson.h"

/* --- UTF-8 --------------------------------------------------------------- */

/* Decode one code point at s (n bytes left); its length, or 0 if bad. */
static int utf8_decode(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned c = s[0], v, min;
	int len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		len = 2, v = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, v = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if ((size_t)len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

static size_t utf8_encode(unsigned cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	} else if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

int listing_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	unsigned cp;

	while (n) {
		int len = utf8_decode(p, n, &cp);

		if (!len)
			return 0;
		p += len;
		n -= (size_t)len;
	}
	return 1;
}

/*
 * Python's s[:-1] + chr(ord(s[-1]) + 1) on the code points of s (len > 0
 * bytes): a malloc'd string, or NULL (ENOMEM).
 */
static char *bump_last(const char *s, size_t len)
{
	size_t start = len - 1;
	unsigned cp;
	char *out;
	int got;

	while (start > 0 && ((unsigned char)s[start] & 0xc0) == 0x80)
		start--;
	got = utf8_decode((const unsigned char *)s + start, len - start, &cp);
	if (!got || (size_t)got != len - start) {
		/* not UTF-8 (callers validate first): bump the last byte */
		start = len - 1;
		cp = (unsigned char)s[start];
	}
	out = malloc(start + 5);
	if (!out)
		return NULL;
	memcpy(out, s, start);
	if (cp >= 0x80 && got == 0)
		out[start++] = (char)(cp + 1);
	else
		start += utf8_encode(cp + 1, out + start);
	out[start] = '\0';
	return out;
}

/* --- parameters ---------------------------------------------------------- */

static const char *const offers[] = {"text/plain", "application/json",
				     "application/xml", "text/xml"};

const char *listing_mime(enum listing_format f)
{
	return offers[f];
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

/* RFC 2616 token characters, as swob's regular expression. */
static int is_tok(char ch)
{
	unsigned char c = (unsigned char)ch;

	return c > 0x20 && c != 0x7f && !strchr("()<>@,;:\"/[]?={}", c);
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && is_ws(*p))
		p++;
	return p;
}

static const char *skip_tok(const char *p, const char *end)
{
	while (p < end && is_tok(*p))
		p++;
	return p;
}

struct acc_type {
	const char *typ, *sub;
	size_t tlen, slen;
	double q;
	int noglob;
};

/* One comma-separated element of Accept into t; 0 or -EINVAL. */
static int parse_accept_one(const char *p, const char *end, struct acc_type *t)
{
	const char *q;
	int seen_q = 0;

	p = skip_ws(p, end);
	t->typ = p;
	p = skip_tok(p, end);
	t->tlen = (size_t)(p - t->typ);
	if (!t->tlen || p >= end || *p != '/')
		return -EINVAL;
	t->sub = ++p;
	p = skip_tok(p, end);
	t->slen = (size_t)(p - t->sub);
	if (!t->slen)
		return -EINVAL;
	t->q = 1.0;
	/* (\s*;\s*token\s*=\s*(token|quoted))* \s* */
	for (;;) {
		const char *name, *val;
		size_t nlen, vlen;

		p = skip_ws(p, end);
		if (p == end)
			break;
		if (*p != ';')
			return -EINVAL;
		p = skip_ws(p + 1, end);
		name = p;
		p = skip_tok(p, end);
		nlen = (size_t)(p - name);
		if (!nlen)
			return -EINVAL;
		p = skip_ws(p, end);
		if (p == end || *p != '=')
			return -EINVAL;
		p = skip_ws(p + 1, end);
		val = p;
		if (p < end && *p == '"') {
			for (p++; p < end && *p != '"'; p++)
				if (*p == '\\' && p + 1 < end)
					p++;
			if (p == end)
				return -EINVAL;
			p++;
			/* swob splits on '=': one inside quotes is an error */
			if (memchr(val, '=', (size_t)(p - val)))
				return -EINVAL;
		} else {
			p = skip_tok(p, end);
			if (p == val)
				return -EINVAL;
		}
		vlen = (size_t)(p - val);
		if (nlen == 1 && name[0] == 'q') {
			char num[64], *e;

			if (seen_q || vlen >= sizeof(num))
				return -EINVAL;
			seen_q = 1;
			memcpy(num, val, vlen);
			num[vlen] = '\0';
			t->q = strtod(num, &e);
			if (e == num || *e)
				return -EINVAL;
		}
	}
	q = t->typ;
	t->noglob = !(t->tlen == 1 && q[0] == '*') &&
		    !(t->slen == 1 && t->sub[0] == '*');
	return 0;
}

static int part_matches(const char *pat, size_t plen, const char *s,
			size_t slen)
{
	if (plen == 1 && pat[0] == '*')
		return 1;
	return plen == slen && !memcmp(pat, s, slen);
}

int listing_content_type(const char *format, const char *accept,
			 enum listing_format *out)
{
	struct acc_type *types = NULL, *grown;
	const char *p, *end;
	size_t n = 0, i, j, k;
	int rc = -ENOENT;

	if (format && *format) {
		if (!strcasecmp(format, "json"))
			*out = LISTING_JSON;
		else if (!strcasecmp(format, "xml"))
			*out = LISTING_XML;
		else
			*out = LISTING_PLAIN;
		return 0;
	}
	if (!accept || !*accept) {
		*out = LISTING_PLAIN;
		return 0;
	}
	for (p = accept;; p = end + 1) {
		end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		grown = realloc(types, sizeof(*types) * (n + 1));
		if (!grown) {
			rc = -ENOMEM;
			goto out;
		}
		types = grown;
		if (parse_accept_one(p, end, &types[n])) {
			rc = -EINVAL;
			goto out;
		}
		n++;
		if (!*end)
			break;
	}
	/* stable insertion sort: quality, then types without globs first */
	for (i = 1; i < n; i++) {
		struct acc_type t = types[i];

		for (j = i; j > 0 && (types[j - 1].q < t.q ||
				      (types[j - 1].q == t.q &&
				       types[j - 1].noglob < t.noglob));
		     j--)
			types[j] = types[j - 1];
		types[j] = t;
	}
	for (i = 0; i < n && rc == -ENOENT; i++) {
		for (k = 0; k < sizeof(offers) / sizeof(offers[0]); k++) {
			const char *o = offers[k], *slash = strchr(o, '/');

			if (part_matches(types[i].typ, types[i].tlen, o,
					 (size_t)(slash - o)) &&
			    part_matches(types[i].sub, types[i].slen, slash + 1,
					 strlen(slash + 1))) {
				*out = (enum listing_format)k;
				rc = 0;
				break;
			}
		}
	}
out:
	free(types);
	return rc;
}

int listing_parse_limit(const char *given, long max, long *out)
{
	const char *p;
	long v = 0;

	*out = max;
	if (!given || !*given)
		return 0;
	for (p = given; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	for (p = given; *p; p++) {
		v = v * 10 + (*p - '0');
		if (v > max)
			return -ERANGE;
	}
	*out = v;
	return 0;
}

int listing_true_value(const char *s)
{
	static const char *const yes[] = {"true", "1", "yes", "on", "t", "y"};
	size_t i;

	if (!s)
		return 0;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!strcasecmp(s, yes[i]))
			return 1;
	return 0;
}

int listing_query_from_request(struct http_request *req, int allow_path,
			       struct listing_query *q, char *msg,
			       size_t msglen)
{
	static const char *const names[] = {"marker",	 "end_marker", "prefix",
					    "delimiter", "path",       "format",
					    "reverse",	 "limit"};
	const char *vals[8];
	size_t i;
	int rc;

	for (i = 0; i < 8; i++) {
		vals[i] = http_query(req, names[i]);
		if (vals[i] && !listing_utf8_valid(vals[i])) {
			snprintf(msg, msglen,
				 "\"%s\" parameter not valid UTF-8", names[i]);
			return 400;
		}
	}
	memset(q, 0, sizeof(*q));
	q->marker = vals[0] ? vals[0] : "";
	q->end_marker = vals[1];
	q->prefix = vals[2];
	q->delimiter = vals[3];
	q->path = allow_path ? vals[4] : NULL;
	q->reverse = listing_true_value(vals[6]);
	if (listing_parse_limit(vals[7], LISTING_MAX_LIMIT, &q->limit)) {
		snprintf(msg, msglen, "Maximum limit is %d", LISTING_MAX_LIMIT);
		return 412;
	}
	rc = listing_content_type(vals[5], http_header(req, "Accept"),
				  &q->format);
	if (rc == -EINVAL) {
		snprintf(msg, msglen, "Invalid Accept header");
		return 400;
	} else if (rc) {
		snprintf(msg, msglen, "Not Acceptable");
		return 406;
	}
	return 0;
}

/* --- the walk ------------------------------------------------------------ */

struct walk {
	const struct listing_query *q;
	listing_emit_fn emit;
	void *arg;
	const char *prefix; /* effective; NULL: none */
	const char *delim;
	size_t dlen, plen;
	const char *path; /* "path/" in path mode, else NULL */
	char *marker;
	char *end_marker;
	const char *orig_marker;
	int force_gte;
	long count;
	long rows;
	int done;  /* limit reached */
	int broke; /* a subdir moved the bounds */
	int err;
};

static int set_str(char **dst, const char *s, size_t len)
{
	char *v = strndup(s, len);

	if (!v)
		return -ENOMEM;
	free(*dst);
	*dst = v;
	return 0;
}

/* The rows of a listing without delimiter: emit until the limit. */
static int plain_row(void *arg, const char *name, const char *val, size_t vlen)
{
	struct walk *w = arg;
	int rc;

	if (w->count >= w->q->limit)
		return 1;
	rc = w->emit(w->arg, name, val, vlen);
	if (rc)
		return rc;
	return ++w->count >= w->q->limit ? 1 : 0;
}

/* The body of Swift's "for row in curs" loop with a delimiter. */
static int delim_row(void *arg, const char *name, const char *val, size_t vlen)
{
	struct walk *w = arg;
	const char *hit;
	size_t nlen = strlen(name), end;
	int rc;

	w->rows++;
	rc = set_str(w->q->reverse ? &w->end_marker : &w->marker, name, nlen);
	if (rc)
		return rc;
	if (w->count >= w->q->limit) {
		w->done = 1;
		return 1;
	}
	if (strncmp(name, w->prefix, w->plen)) {
		w->done = 1; /* cannot happen with prefix bounds; as Swift */
		return 1;
	}
	hit = strstr(name + w->plen, w->delim);
	end = hit ? (size_t)(hit - name) : 0;
	if (w->path) {
		if (!strcmp(name, w->path))
			return 0;
		if (hit && nlen > end + w->dlen)
			goto skip_dir;
	} else if (hit) {
		goto skip_dir;
	}
	rc = w->emit(w->arg, name, val, vlen);
	if (rc)
		return rc;
	w->count++;
	return 0;

skip_dir:
	if (w->q->reverse) {
		rc = set_str(&w->end_marker, name, end + w->dlen);
	} else {
		char *next = bump_last(w->delim, w->dlen);
		char *m = next ? malloc(end + strlen(next) + 1) : NULL;

		if (!m) {
			free(next);
			return -ENOMEM;
		}
		memcpy(m, name, end);
		strcpy(m + end, next);
		free(next);
		free(w->marker);
		w->marker = m;
		rc = 0;
		if (!w->path)
			w->force_gte = 1;
	}
	if (rc)
		return rc;
	if (!w->path) {
		char *dir = strndup(name, end + w->dlen);

		if (!dir)
			return -ENOMEM;
		if (strcmp(dir, w->orig_marker ? w->orig_marker : "")) {
			rc = w->emit(w->arg, dir, NULL, 0);
			w->count++;
		}
		free(dir);
		if (rc)
			return rc;
	}
	w->broke = 1;
	return 1;
}

int listing_run(const struct listing_source *src, const struct listing_query *q,
		listing_emit_fn emit, void *arg)
{
	struct walk w;
	char *prefix_buf = NULL, *end_prefix = NULL, *orig = NULL;
	const char *marker_in, *end_in;
	int rc = 0;

	memset(&w, 0, sizeof(w));
	w.q = q;
	w.emit = emit;
	w.arg = arg;
	marker_in = q->reverse ? q->end_marker : q->marker;
	end_in = q->reverse ? q->marker : q->end_marker;
	if ((marker_in && !(w.marker = strdup(marker_in))) ||
	    (end_in && !(w.end_marker = strdup(end_in)))) {
		rc = -ENOMEM;
		goto out;
	}
	w.prefix = q->prefix;
	w.delim = q->delimiter;
	if (q->path) {
		if (*q->path) {
			size_t n = strlen(q->path);

			while (n && q->path[n - 1] == '/')
				n--;
			prefix_buf = malloc(n + 2);
			if (!prefix_buf) {
				rc = -ENOMEM;
				goto out;
			}
			memcpy(prefix_buf, q->path, n);
			strcpy(prefix_buf + n, "/");
			w.prefix = prefix_buf;
		} else {
			w.prefix = "";
		}
		w.path = w.prefix;
		w.delim = "/";
	} else if (w.delim && *w.delim && (!w.prefix || !*w.prefix)) {
		w.prefix = "";
	}
	w.plen = w.prefix ? strlen(w.prefix) : 0;
	w.dlen = w.delim ? strlen(w.delim) : 0;
	if (w.plen && !(end_prefix = bump_last(w.prefix, w.plen))) {
		rc = -ENOMEM;
		goto out;
	}
	if (w.marker && !(orig = strdup(w.marker))) {
		rc = -ENOMEM;
		goto out;
	}
	w.orig_marker = orig;

	while (w.count < q->limit) {
		const char *lo = NULL, *hi = NULL;
		int lo_incl = 0;

		if (w.end_marker && *w.end_marker &&
		    (!w.plen || strcmp(w.end_marker, end_prefix) < 0))
			hi = w.end_marker;
		else if (w.plen)
			hi = end_prefix;
		if (w.force_gte) {
			lo = w.marker;
			lo_incl = 1;
			w.force_gte = 0;
		} else if (w.marker && *w.marker &&
			   (!w.plen || strcmp(w.marker, w.prefix) >= 0)) {
			lo = w.marker;
		} else if (w.plen) {
			lo = w.prefix;
			lo_incl = 1;
		}
		if (!w.prefix || !w.dlen) {
			rc = src->scan(src->ctx, lo, lo_incl, hi, q->reverse,
				       plain_row, &w);
			break;
		}
		w.rows = 0;
		w.broke = 0;
		/* lo and hi may be freed by the row callback: copy them */
		{
			char *lo_c = lo ? strdup(lo) : NULL;
			char *hi_c = hi ? strdup(hi) : NULL;

			if ((lo && !lo_c) || (hi && !hi_c)) {
				free(lo_c);
				free(hi_c);
				rc = -ENOMEM;
				break;
			}
			rc = src->scan(src->ctx, lo_c, lo_incl, hi_c,
				       q->reverse, delim_row, &w);
			free(lo_c);
			free(hi_c);
		}
		if (rc < 0)
			break;
		rc = 0;
		if (w.done || !w.rows || !w.broke)
			break;
	}
out:
	free(w.marker);
	free(w.end_marker);
	free(prefix_buf);
	free(end_prefix);
	free(orig);
	return rc < 0 ? rc : 0;
}

/* --- bodies -------------------------------------------------------------- */

/* Write v as exactly n decimal digits at p. */
static void put_digits(char *p, unsigned long v, int n)
{
	while (n--) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

char *listing_isoformat(const struct ts *t, char out[32])
{
	int64_t ticks = t->ticks > 0 ? t->ticks : 0;
	int64_t secs = ticks / 100000, days = secs / 86400, rem = secs % 86400;
	/* days to a civil date (H. Hinnant's days_from_civil inverse) */
	int64_t z = days + 719468, era = z / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;
	int64_t y = (int64_t)yoe + era * 400 + (m <= 2);

	if (y > 9999) {
		/* past the 4-digit years: as strftime's %Y */
		time_t tsecs = (time_t)secs;
		struct tm tm;
		char day[24];

		gmtime_r(&tsecs, &tm);
		strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(out, 32, "%s.%06ld", day, (long)(ticks % 100000) * 10);
		return out;
	}
	memcpy(out, "0000-00-00T00:00:00.000000", 27);
	put_digits(out, (unsigned long)y, 4);
	put_digits(out + 5, m, 2);
	put_digits(out + 8, d, 2);
	put_digits(out + 11, (unsigned long)(rem / 3600), 2);
	put_digits(out + 14, (unsigned long)(rem / 60 % 60), 2);
	put_digits(out + 17, (unsigned long)(rem % 60), 2);
	put_digits(out + 20, (unsigned long)(ticks % 100000) * 10, 6);
	return out;
}

int listing_clean_content_type(const char *ct, char **out, int64_t *swift_bytes)
{
	const char *semi = strchr(ct, ';'), *p, *end;
	struct buf b = BUF_INIT;
	int rc = 0;

	*swift_bytes = -1;
	if (!semi) {
		*out = strdup(ct);
		return *out ? 0 : -ENOMEM;
	}
	rc = buf_append(&b, ct, (size_t)(semi - ct));
	/* findall of (?:\s*;\s*(token)\s*(?:=\s*(token|"quoted"))?) */
	for (p = semi, end = ct + strlen(ct); p < end && !rc;) {
		const char *q = skip_ws(p, end), *k, *ke, *v = NULL, *ve = NULL;

		if (q >= end || *q != ';') {
			p++;
			continue;
		}
		q = skip_ws(q + 1, end);
		k = q;
		ke = skip_tok(q, end);
		if (ke == k) {
			p++;
			continue;
		}
		q = skip_ws(ke, end);
		if (q < end && *q == '=') {
			const char *r = skip_ws(q + 1, end);

			if (r < end && *r == '"') {
				const char *e = r + 1;

				while (e < end && *e != '"') {
					if (*e == '\\' && e + 1 < end)
						e++;
					e++;
				}
				if (e < end) {
					v = r;
					ve = e + 1;
				}
			} else if (skip_tok(r, end) > r) {
				v = r;
				ve = skip_tok(r, end);
			}
		}
		p = v ? ve : q;
		if ((size_t)(ke - k) == 11 && !memcmp(k, "swift_bytes", 11)) {
			char num[32], *e;
			size_t n = v ? (size_t)(ve - v) : 0;
			long long val;

			if (n && n < sizeof(num)) {
				memcpy(num, v, n);
				num[n] = '\0';
				val = strtoll(num, &e, 10);
				*swift_bytes = *e || e == num ? -1 : val;
			}
			continue;
		}
		rc = buf_printf(&b, ";%.*s=%.*s", (int)(ke - k), k,
				v ? (int)(ve - v) : 0, v ? v : "");
	}
	if (!rc)
		rc = buf_append(&b, "", 1);
	if (rc) {
		buf_free(&b);
		return rc;
	}
	*out = (char *)b.data;
	return 0;
}

/* Append s escaped as ElementTree escapes text (attr: attribute). */
static int xml_escape(struct buf *b, const char *s, int attr)
{
	int rc = 0;

	while (*s && !rc) {
		/* what needs no escaping goes out in runs */
		size_t n = strcspn(s, attr ? "&<>\"\n\r\t" : "&<>");

		if (n) {
			rc = buf_append(b, s, n);
			s += n;
			continue;
		}
		switch (*s) {
		case '&':
			rc = buf_printf(b, "&amp;");
			break;
		case '<':
			rc = buf_printf(b, "&lt;");
			break;
		case '>':
			rc = buf_printf(b, "&gt;");
			break;
		case '"':
			rc = attr ? buf_printf(b, "&quot;")
				  : buf_append(b, s, 1);
			break;
		case '\n':
			rc = attr ? buf_printf(b, "&#10;")
				  : buf_append(b, s, 1);
			break;
		case '\r':
			rc = attr ? buf_printf(b, "&#13;")
				  : buf_append(b, s, 1);
			break;
		case '\t':
			rc = attr ? buf_printf(b, "&#09;")
				  : buf_append(b, s, 1);
			break;
		default:
			rc = buf_append(b, s, 1);
		}
		s++;
	}
	return rc;
}

static int xml_field(struct buf *b, const char *tag, const char *text)
{
	int rc = buf_printf(b, "<%s>", tag);

	if (!rc)
		rc = xml_escape(b, text, 0);
	if (!rc)
		rc = buf_printf(b, "</%s>", tag);
	return rc;
}

static int is_xml(const struct listing_out *o)
{
	return o->format == LISTING_XML || o->format == LISTING_TEXT_XML;
}

int listing_out_begin(struct listing_out *o, enum listing_format format,
		      enum listing_kind kind, const char *base_name)
{
	int rc = 0;

	memset(o, 0, sizeof(*o));
	o->format = format;
	o->kind = kind;
	if (format == LISTING_JSON) {
		rc = buf_append(&o->body, "[", 1);
	} else if (is_xml(o)) {
		rc = buf_printf(&o->body,
				"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
				"<%s name=\"",
				kind == LISTING_OBJECTS ? "container"
							: "account");
		if (!rc)
			rc = xml_escape(&o->body, base_name, 1);
		if (!rc)
			rc = buf_append(&o->body, "\"", 1);
		/* the account element has text "\n"; the container none */
		if (!rc && kind == LISTING_CONTAINERS)
			rc = buf_append(&o->body, ">\n", 2);
	}
	return rc;
}

/* What goes before an item: the JSON separator, the xml open tag end. */
static int item_start(struct listing_out *o)
{
	int rc = 0;

	if (o->format == LISTING_JSON && o->count)
		rc = buf_append(&o->body, ", ", 2);
	else if (is_xml(o) && o->kind == LISTING_OBJECTS && !o->count)
		rc = buf_append(&o->body, ">", 1);
	o->count++;
	return rc;
}

/* v in decimal into out, as "%lld". */
static void fmt_i64(char out[32], int64_t v)
{
	char tmp[24];
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	int n = 0, i = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		out[i++] = '-';
	while (n)
		out[i++] = tmp[--n];
	out[i] = '\0';
}

/* Append a string literal. */
#define PUT_LIT(b, lit) buf_append((b), (lit), sizeof(lit) - 1)

/* The JSON object of a row, as Swift's json.dumps of the record. */
static int json_object(struct buf *b, const char *name, const char *num,
		       const char *etag, const char *ct, const char *iso)
{
	int rc = PUT_LIT(b, "{\"bytes\": ");

	if (!rc)
		rc = buf_append(b, num, strlen(num));
	if (!rc)
		rc = PUT_LIT(b, ", \"hash\": ");
	if (!rc)
		rc = pyjson_string(b, etag);
	if (!rc)
		rc = PUT_LIT(b, ", \"name\": ");
	if (!rc)
		rc = pyjson_string(b, name);
	if (!rc)
		rc = PUT_LIT(b, ", \"content_type\": ");
	if (!rc)
		rc = pyjson_string(b, ct);
	if (!rc)
		rc = PUT_LIT(b, ", \"last_modified\": \"");
	if (!rc)
		rc = buf_append(b, iso, strlen(iso));
	if (!rc)
		rc = PUT_LIT(b, "\"}");
	return rc;
}

int listing_out_object(struct listing_out *o, const char *name, int64_t bytes,
		       const char *etag, const char *content_type,
		       const struct ts *last_modified)
{
	struct buf *b = &o->body;
	char iso[32], num[32], *ct = NULL;
	const char *ctv = content_type;
	int64_t swift_bytes = -1;
	int rc = 0;

	/* only a content type with parameters needs cleaning */
	if (strchr(content_type, ';')) {
		rc = listing_clean_content_type(content_type, &ct,
						&swift_bytes);
		if (rc)
			return rc;
		ctv = ct;
	}
	if (swift_bytes >= 0)
		bytes = swift_bytes;
	listing_isoformat(last_modified, iso);
	fmt_i64(num, bytes);
	rc = item_start(o);
	if (rc)
		goto out;
	switch (o->format) {
	case LISTING_JSON:
		rc = json_object(b, name, num, etag, ctv, iso);
		break;
	case LISTING_XML:
	case LISTING_TEXT_XML:
		rc = buf_printf(b, "<object>");
		if (!rc)
			rc = xml_field(b, "name", name);
		if (!rc)
			rc = xml_field(b, "hash", etag);
		if (!rc)
			rc = xml_field(b, "bytes", num);
		if (!rc)
			rc = xml_field(b, "content_type", ctv);
		if (!rc)
			rc = xml_field(b, "last_modified", iso);
		if (!rc)
			rc = buf_printf(b, "</object>");
		break;
	default:
		rc = buf_append(b, name, strlen(name));
		if (!rc)
			rc = buf_append(b, "\n", 1);
	}
out:
	free(ct);
	return rc;
}

int listing_out_container(struct listing_out *o, const char *name,
			  int64_t count, int64_t bytes,
			  const struct ts *put_timestamp)
{
	struct buf *b = &o->body;
	char iso[32], n1[32], n2[32];
	int rc;

	listing_isoformat(put_timestamp, iso);
	fmt_i64(n1, count);
	fmt_i64(n2, bytes);
	rc = item_start(o);
	if (rc)
		return rc;
	switch (o->format) {
	case LISTING_JSON:
		rc = buf_printf(b, "{\"name\": ");
		if (!rc)
			rc = pyjson_string(b, name);
		if (!rc)
			rc = buf_printf(b,
					", \"count\": %s, \"bytes\": %s, "
					"\"last_modified\": \"%s\"}",
					n1, n2, iso);
		break;
	case LISTING_XML:
	case LISTING_TEXT_XML:
		rc = buf_printf(b, "<container>");
		if (!rc)
			rc = xml_field(b, "name", name);
		if (!rc)
			rc = xml_field(b, "count", n1);
		if (!rc)
			rc = xml_field(b, "bytes", n2);
		if (!rc)
			rc = xml_field(b, "last_modified", iso);
		if (!rc)
			rc = buf_printf(b, "</container>\n");
		break;
	default:
		rc = buf_printf(b, "%s\n", name);
	}
	return rc;
}

int listing_out_subdir(struct listing_out *o, const char *name)
{
	struct buf *b = &o->body;
	int rc = item_start(o);

	if (rc)
		return rc;
	switch (o->format) {
	case LISTING_JSON:
		rc = buf_printf(b, "{\"subdir\": ");
		if (!rc)
			rc = pyjson_string(b, name);
		if (!rc)
			rc = buf_append(b, "}", 1);
		break;
	case LISTING_XML:
	case LISTING_TEXT_XML:
		rc = buf_printf(b, "<subdir name=\"");
		if (!rc)
			rc = xml_escape(b, name, 1);
		if (!rc && o->kind == LISTING_OBJECTS) {
			rc = buf_printf(b, "\">");
			if (!rc)
				rc = xml_field(b, "name", name);
			if (!rc)
				rc = buf_printf(b, "</subdir>");
		} else if (!rc) {
			rc = buf_printf(b, "\" />\n");
		}
		break;
	default:
		rc = buf_printf(b, "%s\n", name);
	}
	return rc;
}

int listing_out_end(struct listing_out *o)
{
	if (o->format == LISTING_JSON)
		return buf_append(&o->body, "]", 1);
	if (!is_xml(o))
		return 0;
	if (o->kind == LISTING_CONTAINERS)
		return buf_printf(&o->body, "</account>");
	if (!o->count)
		return buf_printf(&o->body, " />");
	return buf_printf(&o->body, "</container>");
}

void listing_out_free(struct listing_out *o)
{
	buf_free(&o->body);
}
