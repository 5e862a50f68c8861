/*
 * proxy/acl.c: Swift's ACL syntax (swift/common/middleware/acl.py), pure
 * string work with no I/O, so that tempauth.c decides and this file only
 * parses:
 *
 *   container ACLs (v1), X-Container-Read / X-Container-Write: a comma
 *   list of grants. ".r:<host>" (".r:*", ".r:.example.com", ".r:-host"
 *   to deny) lets requests whose Referer names the host in (read ACLs
 *   only); ".rlistings" lets them list too; anything else is a tempauth
 *   group ("account:user", "account", a config group), percent-decoded.
 *   acl_clean normalizes what a client sends (as Swift's clean_acl) and
 *   refuses what Swift refuses.
 *
 *   account ACLs (v2), X-Account-Access-Control: a JSON object
 *   {"admin": [...], "read-write": [...], "read-only": [...]} of groups,
 *   kept as the account's sysmeta X-Account-Sysmeta-Core-Access-Control.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "proxy/internal.h"

/* Copy s[0..n) with the blanks around it cut into out (outlen bytes). */
static void strip_copy(const char *s, size_t n, char *out, size_t outlen)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

static int append(char *out, size_t outlen, size_t *used, const char *s)
{
	int n = snprintf(out + *used, outlen - *used, "%s%s", *used ? "," : "",
			 s);

	if (n < 0 || (size_t)n >= outlen - *used)
		return -ENAMETOOLONG;
	*used += (size_t)n;
	return 0;
}

int acl_clean(const char *name, const char *value, char *out, size_t outlen,
	      char *msg, size_t msglen)
{
	int write = strcasestr(name, "write") != NULL;
	const char *s = value, *end;
	char raw[1024], first[1024], second[1024], norm[1100];
	size_t used = 0;
	int rc = 0;

	out[0] = '\0';
	while (!rc && s) {
		char *colon;

		end = strchr(s, ',');
		strip_copy(s, end ? (size_t)(end - s) : strlen(s), raw,
			   sizeof(raw));
		s = end ? end + 1 : NULL;
		if (!*raw)
			continue;
		colon = strchr(raw, ':');
		if (!colon) {
			rc = append(out, outlen, &used, raw);
			continue;
		}
		strip_copy(raw, (size_t)(colon - raw), first, sizeof(first));
		strip_copy(colon + 1, strlen(colon + 1), second,
			   sizeof(second));
		if (first[0] != '.') {
			rc = append(out, outlen, &used, raw);
			continue;
		}
		if (strcmp(first, ".r") && strcmp(first, ".ref") &&
		    strcmp(first, ".referer") && strcmp(first, ".referrer")) {
			snprintf(msg, msglen,
				 "Unknown designator '%s' in ACL: '%s'", first,
				 raw);
			rc = -EINVAL;
			break;
		}
		if (write) {
			snprintf(msg, msglen,
				 "Referrers not allowed in write ACL: '%s'",
				 raw);
			rc = -EINVAL;
			break;
		}
		{
			int negate = second[0] == '-';
			char *host = second;

			if (negate) {
				host++;
				while (isspace((unsigned char)*host))
					host++;
			}
			if (host[0] == '*' && host[1]) {
				host++;
				while (isspace((unsigned char)*host))
					host++;
			}
			if (!*host || !strcmp(host, ".")) {
				snprintf(msg, msglen,
					 "No host/domain value after referrer "
					 "designation in ACL: '%s'",
					 raw);
				rc = -EINVAL;
				break;
			}
			snprintf(norm, sizeof(norm), ".r:%s%s",
				 negate ? "-" : "", host);
			rc = append(out, outlen, &used, norm);
		}
	}
	if (rc == -ENAMETOOLONG) {
		snprintf(msg, msglen, "ACL too long");
		rc = -EINVAL;
	}
	return rc;
}

/* The host of a Referer as Python's urlparse(r).hostname, lowercased, or
 * "unknown" (Swift's referrer_allowed). */
static void referer_host(const char *ref, char *out, size_t outlen)
{
	const char *p = ref, *net, *end, *at, *h;
	size_t n, i;

	snprintf(out, outlen, "unknown");
	if (!ref)
		return;
	/* an optional scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
	if (isalpha((unsigned char)*p)) {
		while (isalnum((unsigned char)*p) || (*p && strchr("+-.", *p)))
			p++;
		if (*p != ':')
			p = ref;
		else
			p++;
	}
	if (strncmp(p, "//", 2))
		return;
	net = p + 2;
	end = net + strcspn(net, "/?#");
	h = net;
	for (at = net; at < end; at++)
		if (*at == '@')
			h = at + 1;
	if (*h == '[') {
		const char *close = memchr(h, ']', (size_t)(end - h));

		if (!close)
			return;
		h++;
		n = (size_t)(close - h);
	} else {
		const char *colon = memchr(h, ':', (size_t)(end - h));

		n = (size_t)((colon ? colon : end) - h);
	}
	if (!n || n >= outlen)
		return;
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)h[i]);
	out[n] = '\0';
}

/* Does Swift's host match mhost ("*", "host", ".domain")? */
static int host_match(const char *mhost, const char *rhost)
{
	size_t ml = strlen(mhost), rl = strlen(rhost);

	if (!strcmp(mhost, rhost))
		return 1;
	return mhost[0] == '.' && rl >= ml && !strcmp(rhost + rl - ml, mhost);
}

/* Percent-decode s into out (as Python's unquote: bad escapes kept). */
static void unquote(const char *s, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *s && o + 1 < outlen; s++) {
		if (s[0] == '%' && isxdigit((unsigned char)s[1]) &&
		    isxdigit((unsigned char)s[2])) {
			char hex[3] = {s[1], s[2], 0};

			out[o++] = (char)strtol(hex, NULL, 16);
			s += 2;
		} else {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
}

int acl_allows(const char *acl, const char *referer, int is_object,
	       const char *const *groups, int ngroups)
{
	char rhost[300], item[1024], dec[1024];
	const char *s = acl, *end;
	int ref_ok = 0, listings = 0, member = 0, i;

	if (!acl || !*acl)
		return 0;
	referer_host(referer, rhost, sizeof(rhost));
	while (s) {
		size_t n;

		end = strchr(s, ',');
		n = end ? (size_t)(end - s) : strlen(s);
		if (n >= sizeof(item))
			n = sizeof(item) - 1;
		memcpy(item, s, n);
		item[n] = '\0';
		s = end ? end + 1 : NULL;
		if (!strncmp(item, ".r:", 3)) {
			const char *m = item + 3;

			if (*m == '-') {
				if (host_match(m + 1, rhost))
					ref_ok = 0;
			} else if (!strcmp(m, "*") || host_match(m, rhost)) {
				ref_ok = 1;
			}
			continue;
		}
		unquote(item, dec, sizeof(dec));
		if (!strcmp(dec, ".rlistings"))
			listings = 1;
		for (i = 0; i < ngroups; i++)
			if (*groups[i] && !strcmp(groups[i], dec))
				member = 1;
	}
	if (ref_ok && (is_object || listings))
		return 1;
	return member;
}

static const char *const acct_keys[] = {"admin", "read-write", "read-only"};

int acl_account_validate(const char *value, char *msg, size_t msglen)
{
	json_t *root = NULL, *v;
	const char *key;
	size_t i, j;
	int rc = -EINVAL;

	if (!*value)
		return 0; /* Swift: '' is {}, which removes the ACL */
	root = json_loads(value, JSON_DECODE_ANY, NULL);
	if (!root || !json_is_object(root)) {
		snprintf(msg, msglen, "Syntax error in input ('%s')", value);
		goto out;
	}
	json_object_foreach(root, key, v)
	{
		for (i = 0; i < 3; i++)
			if (!strcmp(key, acct_keys[i]))
				break;
		if (i == 3) {
			snprintf(msg, msglen, "Key \"%s\" not recognized", key);
			goto out;
		}
		if (!json_is_array(v)) {
			snprintf(msg, msglen,
				 "Value for key \"%s\" must be a list", key);
			goto out;
		}
		for (j = 0; j < json_array_size(v); j++)
			if (!json_is_string(json_array_get(v, j))) {
				snprintf(msg, msglen,
					 "Elements of \"%s\" list must be "
					 "strings",
					 key);
				goto out;
			}
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* Is one of groups in root's list key? */
static int in_list(json_t *root, const char *key, const char *const *groups,
		   int ngroups)
{
	json_t *l = json_object_get(root, key);
	size_t j;
	int i;

	if (!json_is_array(l))
		return 0;
	for (j = 0; j < json_array_size(l); j++) {
		const char *s = json_string_value(json_array_get(l, j));

		for (i = 0; s && i < ngroups; i++)
			if (*groups[i] && !strcmp(s, groups[i]))
				return 1;
	}
	return 0;
}

enum acl_level acl_account_level(const char *stored, const char *const *groups,
				 int ngroups)
{
	json_t *root;
	enum acl_level level = ACL_NONE;

	if (!stored || !*stored)
		return ACL_NONE;
	root = json_loads(stored, JSON_DECODE_ANY, NULL);
	if (!json_is_object(root))
		goto out;
	if (in_list(root, "admin", groups, ngroups))
		level = ACL_ADMIN;
	else if (in_list(root, "read-write", groups, ngroups))
		level = ACL_READ_WRITE;
	else if (in_list(root, "read-only", groups, ngroups))
		level = ACL_READ_ONLY;
out:
	json_decref(root);
	return level;
}

char *acl_account_format(const char *stored)
{
	json_t *root;
	char *out = NULL;

	if (!stored || !*stored)
		return NULL;
	root = json_loads(stored, JSON_DECODE_ANY, NULL);
	if (json_is_object(root) && json_object_size(root))
		out = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS |
					       JSON_ENSURE_ASCII);
	json_decref(root);
	return out;
}
