/*
 * common/pyjson.c: Python-compatible JSON string and float output.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pyjson.h"

/* Decode one UTF-8 code point at *s; -1 on an invalid sequence. */
static long utf8_next(const unsigned char **s)
{
	const unsigned char *p = *s;
	long cp;
	int extra, i;

	if (p[0] < 0x80) {
		*s = p + 1;
		return p[0];
	} else if ((p[0] & 0xe0) == 0xc0) {
		cp = p[0] & 0x1f;
		extra = 1;
	} else if ((p[0] & 0xf0) == 0xe0) {
		cp = p[0] & 0x0f;
		extra = 2;
	} else if ((p[0] & 0xf8) == 0xf0) {
		cp = p[0] & 0x07;
		extra = 3;
	} else {
		return -1;
	}
	for (i = 1; i <= extra; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
	    (extra == 3 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*s = p + extra + 1;
	return cp;
}

int pyjson_string(struct buf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	int rc = buf_append(b, "\"", 1);

	while (!rc && *s) {
		const unsigned char *run = s;
		long cp;

		/* printable ASCII other than " and \ goes out as is: in runs */
		while (*s >= 0x20 && *s < 0x7f && *s != '"' && *s != '\\')
			s++;
		if (s > run) {
			rc = buf_append(b, run, (size_t)(s - run));
			continue;
		}
		cp = utf8_next(&s);
		if (cp < 0)
			return -EINVAL;
		switch (cp) {
		case '"':
			rc = buf_append(b, "\\\"", 2);
			break;
		case '\\':
			rc = buf_append(b, "\\\\", 2);
			break;
		case '\n':
			rc = buf_append(b, "\\n", 2);
			break;
		case '\r':
			rc = buf_append(b, "\\r", 2);
			break;
		case '\t':
			rc = buf_append(b, "\\t", 2);
			break;
		case '\b':
			rc = buf_append(b, "\\b", 2);
			break;
		case '\f':
			rc = buf_append(b, "\\f", 2);
			break;
		default:
			if (cp >= 0x20 && cp < 0x7f) {
				char c = (char)cp;

				rc = buf_append(b, &c, 1);
			} else if (cp < 0x10000) {
				rc = buf_printf(b, "\\u%04lx", cp);
			} else {
				long v = cp - 0x10000;

				rc = buf_printf(b, "\\u%04lx\\u%04lx",
						0xd800 + (v >> 10),
						0xdc00 + (v & 0x3ff));
			}
		}
	}
	return rc ? rc : buf_append(b, "\"", 1);
}

int pyjson_float(struct buf *b, double v)
{
	char tmp[40], digits[24], out[64];
	int prec, exp, nd = 0, i, o = 0;
	char *e;

	if (isnan(v))
		return buf_printf(b, "NaN");
	if (isinf(v))
		return buf_printf(b, v < 0 ? "-Infinity" : "Infinity");
	/* the shortest %e form that reads back to the same double */
	for (prec = 0; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	e = strchr(tmp, 'e');
	exp = atoi(e + 1);
	for (i = 0; tmp + i < e; i++)
		if (tmp[i] >= '0' && tmp[i] <= '9')
			digits[nd++] = tmp[i];
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (signbit(v))
		out[o++] = '-';
	if (exp >= -4 && exp < 16) {
		if (exp < 0) {
			out[o++] = '0';
			out[o++] = '.';
			for (i = 0; i < -exp - 1; i++)
				out[o++] = '0';
			for (i = 0; i < nd; i++)
				out[o++] = digits[i];
		} else {
			for (i = 0; i <= exp; i++)
				out[o++] = i < nd ? digits[i] : '0';
			out[o++] = '.';
			if (nd > exp + 1)
				for (i = exp + 1; i < nd; i++)
					out[o++] = digits[i];
			else
				out[o++] = '0';
		}
		out[o] = '\0';
	} else {
		out[o++] = digits[0];
		if (nd > 1) {
			out[o++] = '.';
			for (i = 1; i < nd; i++)
				out[o++] = digits[i];
		}
		snprintf(out + o, sizeof(out) - (size_t)o, "e%c%02d",
			 exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
	}
	return buf_printf(b, "%s", out);
}
