/*
 * proxy/constraints.c: what the proxy refuses before asking any backend,
 * with the statuses and texts of swift/common/constraints.py and
 * swift/proxy/server.py: API paths (version, empty segments, UTF-8, NUL),
 * metadata limits, and the Content-Type guessed from an object's name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/internal.h"

int valid_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned c = p[i];
		unsigned cp, need, min;
		size_t k;

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			need = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			need = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return 0;
		}
		for (k = 1; k <= need; k++) {
			if (i + k >= len || (p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

int proxy_parse_path(const char *raw, struct proxy_path *p, const char **msg)
{
	char *segs[4];
	int n, i;

	memset(p, 0, sizeof(*p) - sizeof(p->buf));
	n = http_split_path(raw, p->buf, sizeof(p->buf), segs, 4);
	if (n < 0) {
		*msg = strlen(raw) >= sizeof(p->buf) - 16
			       ? "Bad URL"
			       : "Invalid UTF8 or contains NULL";
		return 412;
	}
	for (i = 0; i < n; i++)
		if (*segs[i] && !valid_utf8(segs[i], strlen(segs[i]))) {
			*msg = "Invalid UTF8 or contains NULL";
			return 412;
		}
	/* a trailing empty segment is no segment: /v1/a/ is the account */
	while (n > 1 && !*segs[n - 1])
		n--;
	if (n < 2 || !*segs[0]) {
		*msg = n >= 1 && *segs[0] ? "Bad URL" : "Not Found";
		return n >= 1 && *segs[0] ? 412 : 404;
	}
	if (strcmp(segs[0], "v1") && strcmp(segs[0], "v1.0")) {
		*msg = "Invalid path";
		return 400;
	}
	for (i = 1; i < n; i++)
		if (!*segs[i]) {
			*msg = "Bad URL";
			return 412;
		}
	p->account = segs[1];
	p->container = n > 2 ? segs[2] : NULL;
	p->object = n > 3 ? segs[3] : NULL;
	return 0;
}

struct meta_ctx {
	const char *prefix;
	size_t plen;
	int count;
	size_t size;
	char *msg;
	size_t msglen;
	int bad;
	int utf8; /* account and container metadata must be UTF-8 */
};

static void meta_one(const char *name, const char *value, void *arg)
{
	struct meta_ctx *m = arg;
	const char *key;
	size_t klen, vlen = strlen(value);

	if (m->bad)
		return;
	if (vlen > MAX_HEADER_SIZE) {
		snprintf(m->msg, m->msglen, "Header value too long: %.*s",
			 MAX_META_NAME_LENGTH, name);
		m->bad = 1;
		return;
	}
	if (strncasecmp(name, m->prefix, m->plen))
		return;
	key = name + m->plen;
	klen = strlen(key);
	if (!klen) {
		snprintf(m->msg, m->msglen, "Metadata name cannot be empty");
		m->bad = 1;
		return;
	}
	if (m->utf8 && (!valid_utf8(key, klen) || !valid_utf8(value, vlen))) {
		snprintf(m->msg, m->msglen, "Metadata must be valid UTF-8");
		m->bad = 1;
		return;
	}
	m->count++;
	m->size += klen + vlen;
	if (klen > MAX_META_NAME_LENGTH) {
		snprintf(m->msg, m->msglen, "Metadata name too long: %s%s",
			 m->prefix, key);
		m->bad = 1;
	} else if (vlen > MAX_META_VALUE_LENGTH) {
		snprintf(m->msg, m->msglen,
			 "Metadata value longer than %d: %s%s",
			 MAX_META_VALUE_LENGTH, m->prefix, key);
		m->bad = 1;
	} else if (m->count > MAX_META_COUNT) {
		snprintf(m->msg, m->msglen, "Too many metadata items; max %d",
			 MAX_META_COUNT);
		m->bad = 1;
	} else if (m->size > MAX_META_OVERALL_SIZE) {
		snprintf(m->msg, m->msglen, "Total metadata too large; max %d",
			 MAX_META_OVERALL_SIZE);
		m->bad = 1;
	}
}

int check_metadata(struct http_request *req, const char *target, char *msg,
		   size_t msglen)
{
	char prefix[32];
	struct meta_ctx m = {prefix, 0, 0, 0, msg, msglen, 0, 0};

	snprintf(prefix, sizeof(prefix), "x-%s-meta-", target);
	m.plen = strlen(prefix);
	m.utf8 = strcmp(target, "object") != 0;
	http_each_header(req, meta_one, &m);
	return m.bad ? 400 : 0;
}

const char *guess_content_type(const char *name)
{
	static const char *const table[][2] = {
		{"txt", "text/plain"},
		{"text", "text/plain"},
		{"log", "text/plain"},
		{"html", "text/html"},
		{"htm", "text/html"},
		{"css", "text/css"},
		{"csv", "text/csv"},
		{"md", "text/markdown"},
		{"js", "application/javascript"},
		{"json", "application/json"},
		{"xml", "application/xml"},
		{"pdf", "application/pdf"},
		{"zip", "application/zip"},
		{"gz", "application/gzip"},
		{"tgz", "application/gzip"},
		{"tar", "application/x-tar"},
		{"bz2", "application/x-bzip2"},
		{"xz", "application/x-xz"},
		{"iso", "application/x-iso9660-image"},
		{"sh", "application/x-sh"},
		{"py", "text/x-python"},
		{"c", "text/x-c"},
		{"h", "text/x-c"},
		{"jpg", "image/jpeg"},
		{"jpeg", "image/jpeg"},
		{"png", "image/png"},
		{"gif", "image/gif"},
		{"svg", "image/svg+xml"},
		{"webp", "image/webp"},
		{"ico", "image/vnd.microsoft.icon"},
		{"bmp", "image/bmp"},
		{"tif", "image/tiff"},
		{"tiff", "image/tiff"},
		{"mp3", "audio/mpeg"},
		{"wav", "audio/x-wav"},
		{"ogg", "audio/ogg"},
		{"mp4", "video/mp4"},
		{"mpeg", "video/mpeg"},
		{"mov", "video/quicktime"},
		{"avi", "video/x-msvideo"},
		{"webm", "video/webm"},
	};
	const char *base = strrchr(name, '/'), *dot;
	size_t i;

	base = base ? base + 1 : name;
	dot = strrchr(base, '.');
	if (!dot || dot == base || !dot[1])
		return "application/octet-stream";
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (!strcasecmp(dot + 1, table[i][0]))
			return table[i][1];
	return "application/octet-stream";
}
