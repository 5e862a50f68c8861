/*
 * objectd/meta.c: object metadata as an ordered list of (name, value)
 * pairs, the way Swift keeps its metadata dict, and its binary encoding
 * inside object files (see diskfile.c for where the block sits).
 *
 * Encoding (all integers big-endian):
 *
 *   u32 count, then count times { u16 name_len, name, u32 value_len, value }
 *
 * Names and values are bytes without NUL; HTTP headers cannot hold NUL,
 * so C strings suffice in memory. Also here: which request headers Swift's
 * object server stores, and its UTF-8 check.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "objectd/internal.h"

static int find(const struct objmeta *m, const char *name)
{
	int i;

	for (i = 0; i < m->n; i++)
		if (!strcasecmp(m->items[i].name, name))
			return i;
	return -1;
}

int objmeta_set(struct objmeta *m, const char *name, const char *value)
{
	int i = find(m, name);
	char *v = strdup(value), *nm;

	if (!v)
		return -ENOMEM;
	if (i >= 0) {
		free(m->items[i].value);
		m->items[i].value = v;
		return 0;
	}
	if (m->n == m->cap) {
		int cap = m->cap ? m->cap * 2 : 16;
		struct objmeta_item *grown;

		grown = realloc(m->items, sizeof(*grown) * (size_t)cap);
		if (!grown) {
			free(v);
			return -ENOMEM;
		}
		m->items = grown;
		m->cap = cap;
	}
	nm = strdup(name);
	if (!nm) {
		free(v);
		return -ENOMEM;
	}
	m->items[m->n].name = nm;
	m->items[m->n].value = v;
	m->n++;
	return 0;
}

const char *objmeta_get(const struct objmeta *m, const char *name)
{
	int i = find(m, name);

	return i < 0 ? NULL : m->items[i].value;
}

void objmeta_del(struct objmeta *m, const char *name)
{
	int i = find(m, name);

	if (i < 0)
		return;
	free(m->items[i].name);
	free(m->items[i].value);
	memmove(&m->items[i], &m->items[i + 1],
		sizeof(m->items[0]) * (size_t)(m->n - i - 1));
	m->n--;
}

void objmeta_free(struct objmeta *m)
{
	int i;

	for (i = 0; i < m->n; i++) {
		free(m->items[i].name);
		free(m->items[i].value);
	}
	free(m->items);
	m->items = NULL;
	m->n = m->cap = 0;
}

int objmeta_encode(const struct objmeta *m, struct buf *out)
{
	int i, rc;

	rc = buf_put_be32(out, (uint32_t)m->n);
	for (i = 0; !rc && i < m->n; i++) {
		size_t nl = strlen(m->items[i].name);
		size_t vl = strlen(m->items[i].value);

		if (nl > 0xffff)
			return -EINVAL;
		rc = buf_put_be16(out, (uint16_t)nl);
		if (!rc)
			rc = buf_append(out, m->items[i].name, nl);
		if (!rc)
			rc = buf_put_be32(out, (uint32_t)vl);
		if (!rc)
			rc = buf_append(out, m->items[i].value, vl);
	}
	return rc;
}

/* Copy len bytes at p into a new C string; NULL if they hold a NUL. */
static char *take_str(const uint8_t *p, size_t len)
{
	char *s;

	if (memchr(p, 0, len))
		return NULL;
	s = malloc(len + 1);
	if (!s)
		return NULL;
	memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

int objmeta_decode(const uint8_t *p, size_t len, struct objmeta *m)
{
	const uint8_t *end = p + len;
	uint32_t count, i;
	int rc = -EINVAL;

	if (len < 4)
		goto out;
	count = be32_read(p);
	p += 4;
	for (i = 0; i < count; i++) {
		size_t nl, vl;
		char *name, *value;

		if (end - p < 2)
			goto out;
		nl = be16_read(p);
		p += 2;
		if ((size_t)(end - p) < nl + 4)
			goto out;
		name = take_str(p, nl);
		p += nl;
		vl = be32_read(p);
		p += 4;
		if (!name || (size_t)(end - p) < vl) {
			free(name);
			goto out;
		}
		value = take_str(p, vl);
		p += vl;
		if (!value || objmeta_set(m, name, value)) {
			free(name);
			free(value);
			goto out;
		}
		free(name);
		free(value);
	}
	if (p == end)
		rc = 0;
out:
	if (rc)
		objmeta_free(m);
	return rc;
}

void objmeta_title(const char *name, char *out, size_t outlen)
{
	int prev_alpha = 0;
	size_t i;

	for (i = 0; name[i] && i + 1 < outlen; i++) {
		char ch = name[i];
		int alpha =
			(ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');

		if (alpha)
			ch = prev_alpha ? (char)(ch | 0x20)
					: (char)(ch & ~0x20);
		out[i] = ch;
		prev_alpha = alpha;
	}
	out[i] = '\0';
}

static int has_prefix(const char *s, const char *prefix)
{
	return !strncasecmp(s, prefix, strlen(prefix));
}

int objmeta_is_user_or_sys(const char *name)
{
	return has_prefix(name, "X-Object-Meta-") ||
	       has_prefix(name, "X-Object-Sysmeta-") ||
	       has_prefix(name, "X-Object-Transient-Sysmeta-");
}

int objmeta_is_post_meta(const char *name)
{
	return has_prefix(name, "X-Object-Meta-") ||
	       has_prefix(name, "X-Object-Transient-Sysmeta-");
}

int objmeta_is_allowed_header(const char *name)
{
	static const char *const allowed[] = {
		"Content-Disposition",	 "Content-Encoding",
		"X-Delete-At",		 "X-Object-Manifest",
		"X-Static-Large-Object", "Cache-Control",
		"Content-Language",	 "Expires",
		"X-Robots-Tag",
	};
	size_t i;

	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (!strcasecmp(name, allowed[i]))
			return 1;
	return 0;
}

int objmeta_utf8_ok(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	if (!len)
		return 0;
	while (i < len) {
		unsigned char c = s[i];
		uint32_t cp;
		int n, k;

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + (size_t)n >= len)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += (size_t)n + 1;
	}
	return 1;
}
