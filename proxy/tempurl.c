/*
 * proxy/tempurl.c: temporary URLs (swift/common/middleware/tempurl.py of
 * Swift 2.30): an object request carrying temp_url_sig and
 * temp_url_expires is let in without a token when the signature is the
 * HMAC, under one of the account's (X-Account-Meta-Temp-URL-Key[-2]) or
 * container's (X-Container-Meta-Temp-URL-Key[-2]) keys, of
 *
 *     "<METHOD>\n<expires>\n/v1/<account>/<container>/<object>"
 *
 * or, with temp_url_prefix, of "...\nprefix:/v1/<a>/<c>/<prefix>" for
 * every object under the prefix. Digests: SHA1 (hex), SHA256 (hex or
 * "sha256:<base64>"), SHA512 ("sha512:<base64>" or hex); expires as unix
 * seconds or ISO 8601 ("2026-12-01T00:00:00Z"). A HEAD may use a GET,
 * PUT or POST signature. Methods: GET HEAD PUT POST DELETE (Swift's
 * defaults). A wrong, expired or incomplete signature is a 401 with
 * Swift's body; a request without either parameter goes to tempauth.
 *
 * A request let in this way stands for no user: p->tempurl holds its
 * scope (account or container, after the key that matched), which is
 * what large-object segments are checked against (Swift's
 * authorize_same_account/_same_container). Responses of GET/HEAD get a
 * Content-Disposition (inline, filename=, the object's own, or an
 * attachment named after the object) and Expires, and lose
 * X-Object-Meta-* but X-Object-Meta-Public-*.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "common/log.h"
#include "proxy/internal.h"

int tempurl_hmac(const char *digest, const char *method, long long expires,
		 const char *path, const char *key, char *out, size_t outlen)
{
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	unsigned char md[EVP_MAX_MD_SIZE];
	char *msg = NULL, dname[16];
	size_t mdlen = 0, i;
	int rc = -EINVAL;

	if (strcmp(digest, "sha1") && strcmp(digest, "sha256") &&
	    strcmp(digest, "sha512"))
		return -EINVAL;
	snprintf(dname, sizeof(dname), "%s", digest);
	if (asprintf(&msg, "%s\n%lld\n%s", method, expires, path) < 0)
		return -ENOMEM;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     dname, 0);
	params[1] = OSSL_PARAM_construct_end();
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	if (!ctx ||
	    EVP_MAC_init(ctx, (const unsigned char *)key, strlen(key),
			 params) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)msg, strlen(msg)) != 1 ||
	    EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) != 1) {
		log_err("HMAC-%s failed", digest);
		goto out;
	}
	if (outlen < 2 * mdlen + 1)
		goto out;
	for (i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	free(msg);
	return rc;
}

/* temp_url_expires as Swift reads it: an int, or ISO 8601 with 'Z';
 * 0 when bad or past. */
static long long parse_expires(const char *v)
{
	struct tm tm;
	long long n;
	char *end;

	if (!v)
		return 0;
	n = strtoll(v, &end, 10);
	if (end == v || *end) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(v, "%Y-%m-%dT%H:%M:%SZ", &tm);
		n = end && !*end ? (long long)timegm(&tm) : 0;
	}
	return n < (long long)time(NULL) ? 0 : n;
}

/* Swift's extract_digest_and_algorithm: the algorithm and the digest in
 * hex. 0 or -EINVAL. */
static int extract_digest(const char *sig, char algo[16], char *hex,
			  size_t hexlen)
{
	const char *colon = strchr(sig, ':');
	size_t n, i;

	if (colon) {
		char b64[400];
		unsigned char raw[300];
		int got, pad = 0;

		if ((size_t)(colon - sig) >= 16)
			return -EINVAL;
		snprintf(algo, 16, "%.*s", (int)(colon - sig), sig);
		n = strlen(colon + 1);
		if (n + 4 >= sizeof(b64))
			return -EINVAL;
		memcpy(b64, colon + 1, n + 1);
		/* url-safe base64 too, padding optional */
		if (strpbrk(b64, "-_") && !strpbrk(b64, "+/"))
			for (i = 0; i < n; i++)
				b64[i] = b64[i] == '-'	 ? '+'
					 : b64[i] == '_' ? '/'
							 : b64[i];
		while (n && b64[n - 1] == '=')
			n--;
		b64[n] = '\0';
		for (i = 0; i < n; i++)
			if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
				    "rstuvwxyz0123456789+/",
				    b64[i]))
				return -EINVAL;
		if (n % 4 == 1)
			return -EINVAL;
		while (n % 4) {
			b64[n++] = '=';
			pad++;
		}
		b64[n] = '\0';
		got = EVP_DecodeBlock(raw, (unsigned char *)b64, (int)n);
		if (got < 0 || (size_t)(2 * (got - pad)) + 1 > hexlen)
			return -EINVAL;
		for (i = 0; i < (size_t)(got - pad); i++)
			snprintf(hex + 2 * i, 3, "%02x", raw[i]);
		return 0;
	}
	n = strlen(sig);
	if (strspn(sig, "0123456789abcdefABCDEF") != n || n + 1 > hexlen)
		return -EINVAL;
	if (n == 40)
		snprintf(algo, 16, "sha1");
	else if (n == 64)
		snprintf(algo, 16, "sha256");
	else if (n == 128)
		snprintf(algo, 16, "sha512");
	else
		return -EINVAL;
	for (i = 0; i <= n; i++)
		hex[i] = (char)(sig[i] >= 'A' && sig[i] <= 'F' ? sig[i] + 32
							       : sig[i]);
	return 0;
}

static int invalid(struct http_request *req, const struct proxy_path *p)
{
	static const char body[] = "401 Unauthorized: Temp URL invalid\n";

	http_add_headerf(req, "Www-Authenticate", "Swift realm=\"%s\"",
			 p->account);
	http_add_header(req, "Content-Type", "text/html; charset=UTF-8");
	if (!strcmp(http_method(req), "HEAD"))
		http_reply(req, 401, "", 0);
	else
		http_reply(req, 401, body, sizeof(body) - 1);
	return 401;
}

/* The temp URL keys of the account, then of the container, into keys
 * (up to 4, scope in scopes). Returns the count. */
static int get_keys(struct http_request *req, struct proxy_app *app,
		    const struct proxy_path *p, char keys[4][256],
		    int scopes[4])
{
	static const char *const names[2][2] = {
		{"X-Account-Meta-Temp-Url-Key",
		 "X-Account-Meta-Temp-Url-Key-2"},
		{"X-Container-Meta-Temp-Url-Key",
		 "X-Container-Meta-Temp-Url-Key-2"}};
	struct cluster_resp r = {0};
	int n = 0, kind, i;

	for (kind = 0; kind < 2; kind++) {
		if (proxy_head_info(req, app,
				    kind ? CLUSTER_CONTAINER : CLUSTER_ACCOUNT,
				    p, &r) /
			    100 ==
		    2)
			for (i = 0; i < 2; i++) {
				const char *v =
					cluster_resp_header(&r, names[kind][i]);

				if (!v || strlen(v) >= 256)
					continue;
				snprintf(keys[n], 256, "%s", v);
				scopes[n++] = kind ? TEMPURL_SCOPE_CONTAINER
						   : TEMPURL_SCOPE_ACCOUNT;
			}
		cluster_resp_free(&r);
	}
	return n;
}

int tempurl_request(struct http_request *req, struct proxy_app *app,
		    struct proxy_path *p)
{
	static const char *const methods[] = {"GET", "HEAD", "PUT", "POST",
					      "DELETE"};
	static const char *const head_as[] = {"HEAD", "GET", "POST", "PUT"};
	static const char *const disallowed[] = {
		"X-Object-Manifest", "X-Symlink-Target", "X-Copy-From"};
	const char *method = http_method(req);
	const char *sig = http_query(req, "temp_url_sig");
	const char *exp = http_query(req, "temp_url_expires");
	const char *prefix = http_query(req, "temp_url_prefix");
	char algo[16], given[300], want[300], keys[4][256];
	char *path = NULL;
	const char *obj;
	int scopes[4], nkeys, i, k, nm, ok = 0, scope = 0;
	long long expires;
	size_t m;

	if (!strcmp(method, "OPTIONS") || (!sig && !exp))
		return -1;
	expires = parse_expires(exp);
	if (!sig || !*sig || !expires)
		return invalid(req, p);
	if (extract_digest(sig, algo, given, sizeof(given)) ||
	    (strcmp(algo, "sha1") && strcmp(algo, "sha256") &&
	     strcmp(algo, "sha512")))
		return invalid(req, p);
	for (m = 0; m < sizeof(methods) / sizeof(methods[0]); m++)
		if (!strcmp(method, methods[m]))
			break;
	obj = p->object;
	while (obj && *obj == '/')
		obj++;
	if (m == sizeof(methods) / sizeof(methods[0]) || !p->container ||
	    !obj || !*obj)
		return invalid(req, p);
	nkeys = get_keys(req, app, p, keys, scopes);
	if (!nkeys)
		return invalid(req, p);
	if (prefix) {
		if (strncmp(p->object, prefix, strlen(prefix)))
			return invalid(req, p);
		if (asprintf(&path, "prefix:/v1/%s/%s/%s", p->account,
			     p->container, prefix) < 0)
			path = NULL;
	} else if (asprintf(&path, "/v1/%s/%s/%s", p->account, p->container,
			    p->object) < 0) {
		path = NULL;
	}
	if (!path) {
		proxy_reply_status(req, 500);
		return 500;
	}
	nm = !strcmp(method, "HEAD") ? 4 : 1;
	for (i = 0; i < nm && !ok; i++)
		for (k = 0; k < nkeys && !ok; k++) {
			size_t wl;

			if (tempurl_hmac(algo, nm > 1 ? head_as[i] : method,
					 expires, path, keys[k], want,
					 sizeof(want)))
				continue;
			wl = strlen(want);
			if (wl == strlen(given) &&
			    !CRYPTO_memcmp(want, given, wl)) {
				ok = 1;
				scope = scopes[k];
			}
		}
	free(path);
	if (!ok)
		return invalid(req, p);
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		for (m = 0; m < sizeof(disallowed) / sizeof(disallowed[0]); m++)
			if (http_header(req, disallowed[m])) {
				http_reply_error(req, 400,
						 "The header '%s' is not "
						 "allowed in this tempurl",
						 disallowed[m]);
				return 400;
			}
	p->user = p->service = NULL;
	p->owner = 0;
	p->tempurl = scope;
	return 0;
}

int tempurl_hidden_header(const struct proxy_path *p, const char *name)
{
	if (!p || !p->tempurl)
		return 0;
	if (!strcasecmp(name, "Content-Disposition"))
		return 1; /* tempurl_response_headers sets it */
	return !strncasecmp(name, "X-Object-Meta-", 14) &&
	       strncasecmp(name, "X-Object-Meta-Public-", 21);
}

/* Python's quote(s, safe=safe) into out. */
static void py_quote(const char *s, const char *safe, char *out, size_t len)
{
	size_t o = 0;

	for (; *s && o + 4 < len; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("_.-~", ch) ||
		    (ch && strchr(safe, ch)))
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, len - o, "%%%02X", ch);
	}
	out[o] = '\0';
}

void tempurl_response_headers(struct http_request *req,
			      const struct proxy_path *p,
			      const char *disposition)
{
	const char *filename = http_query(req, "filename");
	int inl = http_query_has(req, "inline");
	const char *m = http_method(req);
	char q1[3 * 1024], q2[3 * 1024], date[64];
	const char *base;
	time_t t = (time_t)parse_expires(http_query(req, "temp_url_expires"));
	struct tm tm;
	size_t bl;
	char name[1100];

	if (!p->tempurl || (strcmp(m, "GET") && strcmp(m, "HEAD")))
		return;
	if (filename && *filename) {
		py_quote(filename, " /", q1, sizeof(q1));
		py_quote(filename, "/", q2, sizeof(q2));
		http_add_headerf(req, "Content-Disposition",
				 "%s; filename=\"%s\"; filename*=UTF-8''%s",
				 inl ? "inline" : "attachment", q1, q2);
	} else if (inl) {
		http_add_header(req, "Content-Disposition", "inline");
	} else if (disposition) {
		http_add_header(req, "Content-Disposition", disposition);
	} else {
		snprintf(name, sizeof(name), "%s", p->object);
		bl = strlen(name);
		while (bl && name[bl - 1] == '/')
			name[--bl] = '\0';
		base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
		py_quote(base, " /", q1, sizeof(q1));
		py_quote(base, "/", q2, sizeof(q2));
		http_add_headerf(req, "Content-Disposition",
				 "attachment; filename=\"%s\"; "
				 "filename*=UTF-8''%s",
				 q1, q2);
	}
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	http_add_header(req, "Expires", date);
}
