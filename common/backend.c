/*
 * common/backend.c: path and timestamp checks of the storage servers
 * (see backend.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/backend.h"
#include "common/http.h"
#include "common/listing.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int backend_split_path(const char *raw, char *buf, size_t buflen, int minsegs,
		       int maxsegs, int rest_with_last, char **segs, char *msg,
		       size_t msglen)
{
	size_t i, o = 0, n = strlen(raw);
	char *p, *parts[64];
	int count = 0, j, nul = 0;

	if (n + 1 > buflen || maxsegs + 2 > 64) {
		snprintf(msg, msglen, "Invalid path: too long");
		return 400;
	}
	/* WSGI's unquote: a bad escape is kept as it is */
	for (i = 0; i < n; i++) {
		int hi, lo;

		if (raw[i] == '%' && i + 2 < n &&
		    (hi = hexval(raw[i + 1])) >= 0 &&
		    (lo = hexval(raw[i + 2])) >= 0) {
			buf[o] = (char)(hi << 4 | lo);
			nul |= buf[o] == '\0';
			o++;
			i += 2;
		} else {
			buf[o++] = raw[i];
		}
	}
	buf[o] = '\0';
	if (nul || !listing_utf8_valid(buf)) {
		snprintf(msg, msglen, "Invalid UTF8 or contains NULL");
		return 412;
	}
	/* path.split('/', maxsegs [+ 1]) */
	p = buf;
	for (;;) {
		char *slash;

		parts[count++] = p;
		if (count == maxsegs + (rest_with_last ? 1 : 2))
			break;
		slash = strchr(p, '/');
		if (!slash)
			break;
		*slash = '\0';
		p = slash + 1;
	}
	if (rest_with_last) {
		if (*parts[0] || count < minsegs + 1 || count > maxsegs + 1)
			goto bad;
	} else {
		if (*parts[0] || count < minsegs + 1 || count > maxsegs + 2 ||
		    (count == maxsegs + 2 && *parts[maxsegs + 1]))
			goto bad;
	}
	for (j = 1; j < minsegs + 1; j++)
		if (!*parts[j])
			goto bad;
	for (j = 0; j < maxsegs; j++)
		segs[j] = j + 1 < count ? parts[j + 1] : NULL;
	if (!strcmp(segs[0], ".") || !strcmp(segs[0], "..")) {
		snprintf(msg, msglen, "Invalid device: %s", segs[0]);
		return 400;
	}
	if (!strcmp(segs[1], ".") || !strcmp(segs[1], "..")) {
		snprintf(msg, msglen, "Invalid partition: %s", segs[1]);
		return 400;
	}
	return 0;
bad:
	snprintf(msg, msglen, "Invalid path: %s", raw);
	return 400;
}

int backend_timestamp(struct http_request *req, struct ts *t, char *msg,
		      size_t msglen)
{
	const char *v = http_header(req, "X-Timestamp");

	if (!v) {
		snprintf(msg, msglen, "Missing X-Timestamp header");
		return 400;
	}
	if (ts_parse(v, t)) {
		snprintf(msg, msglen, "Invalid X-Timestamp header");
		return 400;
	}
	return 0;
}
