/*
 * proxy/s3auth.c: S3 authentication as Swift's s3api with tempauth. The
 * access key is "<account>:<user>" and the secret that user's tempauth
 * key; a request that checks acts as that user on their account
 * ("<prefix>_<account>"), with tempauth's rules (s3.c authorizes).
 *
 * Signature V4: the Authorization header or a presigned query
 * (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires,
 * X-Amz-SignedHeaders, X-Amz-Signature); the payload is UNSIGNED-PAYLOAD,
 * the hex SHA-256 of the body (checked as it streams), or
 * STREAMING-AWS4-HMAC-SHA256-PAYLOAD: aws-chunked, each chunk signed
 * over the previous chunk's signature (the first over the request's).
 * Signature V2: "AWS <key>:<sig>" or the AWSAccessKeyId/Signature/Expires
 * query, HMAC-SHA1 over s3api's string to sign. A date more than 15
 * minutes off is RequestTimeTooSkewed.
 *
 * The body pipe (struct s3_body) between libmicrohttpd and the handler:
 *
 *   CHUNKED:  HEADER --"<hex>;chunk-signature=<sig>\r\n"--> DATA
 *             DATA --size bytes (buffered)--> DATA_CRLF --"\r\n"-->
 *             (chunk signature checked, bytes emitted) HEADER
 *             HEADER --"0;chunk-signature=..\r\n"--> FINAL --"\r\n"--> DONE
 *   otherwise the bytes pass through, the last block held back until the
 *   payload's SHA-256 and Content-MD5 check at the end.
 *
 * Invariants: (1) nothing reaches the handler before its signature (chunk)
 * checks; (2) with a single payload hash, the last block is emitted only
 * after the hash checks, so a refused upload stays short; (3) every
 * failure replies once and sets s->aborted.
 *
 * It leaves routing and replies to s3.c and authorization to tempauth.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "common/log.h"
#include "proxy/internal.h"

#define S3_MAX_SKEW    900 /* seconds, as S3 and s3api */
#define S3_MAX_EXPIRES 604800
#define S3_MAX_CHUNK   (16 * 1024 * 1024)
#define EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define STREAMING "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"

/* --- digests --------------------------------------------------------- */

static void hex(const unsigned char *d, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
	out[2 * n] = '\0';
}

int s3_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1) {
		log_err("EVP_Digest sha256 failed");
		return -EIO;
	}
	hex(md, 32, out);
	return 0;
}

static int hmac(const char *digest, const void *key, size_t keylen,
		const void *msg, size_t msglen, unsigned char *out,
		size_t *outlen, size_t outmax)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[2];
	int rc = -EIO;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (ctx && EVP_MAC_init(ctx, key, keylen, params) == 1 &&
	    EVP_MAC_update(ctx, msg, msglen) == 1 &&
	    EVP_MAC_final(ctx, out, outlen, outmax) == 1)
		rc = 0;
	else
		log_err("HMAC-%s failed", digest);
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}

int s3_hmac_sha256(const void *key, size_t keylen, const void *msg,
		   size_t msglen, unsigned char out[32])
{
	size_t n = 0;

	return hmac("SHA256", key, keylen, msg, msglen, out, &n, 32);
}

int s3_sigv4_key(const char *secret, const char *date, const char *region,
		 const char *service, unsigned char out[32])
{
	char k[300];
	unsigned char a[32], b[32];
	int rc;

	snprintf(k, sizeof(k), "AWS4%s", secret);
	rc = s3_hmac_sha256(k, strlen(k), date, strlen(date), a);
	rc = rc ?: s3_hmac_sha256(a, 32, region, strlen(region), b);
	rc = rc ?: s3_hmac_sha256(b, 32, service, strlen(service), a);
	rc = rc ?: s3_hmac_sha256(a, 32, "aws4_request", 12, out);
	return rc;
}

int s3_sigv4_sign(const unsigned char key[32], const char *sts, size_t len,
		  char out[65])
{
	unsigned char md[32];
	int rc = s3_hmac_sha256(key, 32, sts, len, md);

	if (!rc)
		hex(md, 32, out);
	return rc;
}

int s3_sigv2_sign(const char *secret, const char *sts, size_t len, char out[64])
{
	unsigned char md[20];
	size_t n = 0;
	int rc = hmac("SHA1", secret, strlen(secret), sts, len, md, &n, 20);

	if (!rc)
		EVP_EncodeBlock((unsigned char *)out, md, 20);
	return rc;
}

/* --- canonical forms ------------------------------------------------- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode s into a new string ('+' kept); NULL when malformed. */
static char *pct_dup(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			*o++ = (char)(hexval(s[1]) << 4 | hexval(s[2]));
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return out;
}

/* AWS's UriEncode of s (slash kept when keep_slash). */
static int uri_encode(struct buf *b, const char *s, int keep_slash)
{
	int rc = 0;

	for (; *s && !rc; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '_' || c == '.' ||
		    c == '~' || (keep_slash && c == '/'))
			rc = buf_append(b, s, 1);
		else
			rc = buf_printf(b, "%%%02X", c);
	}
	return rc;
}

struct enc_pair {
	char *name, *value;
};

static int pair_cmp(const void *a, const void *b)
{
	const struct enc_pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

/* A header's value trimmed, inner runs of spaces squeezed. */
static int trimmed(struct buf *b, const char *v)
{
	int rc = 0, space = 0;

	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v && !rc; v++) {
		if (*v == ' ' || *v == '\t') {
			space = 1;
			continue;
		}
		if (space)
			rc = buf_append(b, " ", 1);
		space = 0;
		rc = rc ?: buf_append(b, v, 1);
	}
	return rc;
}

static const char *kv_get(const struct s3_kv *kv, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcasecmp(kv[i].name, name))
			return kv[i].value ? kv[i].value : "";
	return NULL;
}

int s3_sigv4_canonical(const char *method, const char *raw_path,
		       const struct s3_kv *query, int nq,
		       const struct s3_kv *hdrs, int nh, const char *signed_,
		       const char *payload_hash, struct buf *out)
{
	struct enc_pair *pairs = calloc((size_t)nq + 1, sizeof(*pairs));
	struct buf e = BUF_INIT;
	char *path = pct_dup(raw_path), *names = strdup(signed_), *tok, *save;
	int i, rc = -ENOMEM;

	if (!pairs || !path || !names)
		goto out;
	rc = buf_printf(out, "%s\n", method);
	rc = rc ?: uri_encode(out, path, 1);
	rc = rc ?: buf_append(out, "\n", 1);
	for (i = 0; i < nq && !rc; i++) {
		buf_free(&e);
		rc = uri_encode(&e, query[i].name, 0);
		rc = rc ?: buf_append(&e, "", 1);
		if (!rc && !(pairs[i].name = strdup((char *)e.data)))
			rc = -ENOMEM;
		buf_free(&e);
		rc = rc
			     ?: uri_encode(&e,
					   query[i].value ? query[i].value : "",
					   0);
		rc = rc ?: buf_append(&e, "", 1);
		if (!rc && !(pairs[i].value = strdup((char *)e.data)))
			rc = -ENOMEM;
	}
	if (rc)
		goto out;
	qsort(pairs, (size_t)nq, sizeof(*pairs), pair_cmp);
	for (i = 0; i < nq && !rc; i++)
		rc = buf_printf(out, "%s%s=%s", i ? "&" : "", pairs[i].name,
				pairs[i].value);
	rc = rc ?: buf_append(out, "\n", 1);
	for (tok = strtok_r(names, ";", &save); tok && !rc;
	     tok = strtok_r(NULL, ";", &save)) {
		const char *v = kv_get(hdrs, nh, tok);

		if (!v) {
			rc = -EINVAL;
			goto out;
		}
		rc = buf_printf(out, "%s:", tok);
		rc = rc ?: trimmed(out, v);
		rc = rc ?: buf_append(out, "\n", 1);
	}
	rc = rc ?: buf_printf(out, "\n%s\n%s", signed_, payload_hash);
out:
	for (i = 0; pairs && i < nq; i++) {
		free(pairs[i].name);
		free(pairs[i].value);
	}
	free(pairs);
	buf_free(&e);
	free(path);
	free(names);
	return rc;
}

int s3_sigv4_string_to_sign(const char *amzdate, const char *scope,
			    const char *canonical, size_t len, struct buf *out)
{
	char h[65];
	int rc = s3_sha256_hex(canonical, len, h);

	return rc
		       ?: buf_printf(out, "AWS4-HMAC-SHA256\n%s\n%s\n%s",
				     amzdate, scope, h);
}

int s3_chunk_string_to_sign(const char *amzdate, const char *scope,
			    const char *prev_sig, const void *data, size_t len,
			    struct buf *out)
{
	char h[65];
	int rc = s3_sha256_hex(data, len, h);

	return rc
		       ?: buf_printf(
				  out,
				  "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s",
				  amzdate, scope, prev_sig, EMPTY_SHA256, h);
}

/* botocore's HmacV1 QSAOfInterest and s3api's sub-resources */
static int v2_signed_arg(const char *name)
{
	static const char *const extra[] = {
		"accelerate",  "analytics",    "inventory",	  "metrics",
		"object-lock", "replication",  "restore",	  "select",
		"select-type", "storageClass", "defaultObjectAcl"};
	size_t i;

	if (!strncmp(name, "response-", 9))
		return 1;
	for (i = 0; i < (size_t)s3_nsubresources; i++)
		if (!strcmp(name, s3_subresources[i]))
			return 1;
	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		if (!strcmp(name, extra[i]))
			return 1;
	return 0;
}

static int kv_cmp(const void *a, const void *b)
{
	const struct s3_kv *x = a, *y = b;

	return strcmp(x->name, y->name);
}

int s3_sigv2_string_to_sign(const char *method, const char *md5,
			    const char *ctype, const char *date,
			    const struct s3_kv *hdrs, int nh,
			    const char *raw_path, const struct s3_kv *query,
			    int nq, struct buf *out)
{
	struct s3_kv *sorted = calloc((size_t)(nh + nq) + 1, sizeof(*sorted));
	int i, n = 0, rc;
	char lower[256];

	if (!sorted)
		return -ENOMEM;
	rc = buf_printf(out, "%s\n%s\n%s\n%s\n", method, md5 ? md5 : "",
			ctype ? ctype : "", date ? date : "");
	for (i = 0; i < nh; i++)
		if (!strncasecmp(hdrs[i].name, "x-amz-", 6))
			sorted[n++] = hdrs[i];
	qsort(sorted, (size_t)n, sizeof(*sorted), kv_cmp);
	for (i = 0; i < n && !rc; i++) {
		size_t j;

		snprintf(lower, sizeof(lower), "%s", sorted[i].name);
		for (j = 0; lower[j]; j++)
			lower[j] = (char)tolower((unsigned char)lower[j]);
		rc = buf_printf(out, "%s:", lower);
		rc = rc ?: trimmed(out, sorted[i].value ? sorted[i].value : "");
		rc = rc ?: buf_append(out, "\n", 1);
	}
	rc = rc ?: buf_printf(out, "%s", raw_path);
	for (i = n = 0; i < nq; i++)
		if (v2_signed_arg(query[i].name))
			sorted[n++] = query[i];
	qsort(sorted, (size_t)n, sizeof(*sorted), kv_cmp);
	for (i = 0; i < n && !rc; i++) {
		rc = buf_printf(out, "%c%s", i ? '&' : '?', sorted[i].name);
		if (!rc && sorted[i].value && *sorted[i].value)
			rc = buf_printf(out, "=%s", sorted[i].value);
	}
	free(sorted);
	return rc;
}

/* --- the request's pieces -------------------------------------------- */

struct qlist {
	struct s3_kv *kv;
	char **owned; /* 2 * nowned strings; kv may drop some of them */
	int n, nowned, cap, err;
};

static void q_add(const char *name, const char *value, void *arg)
{
	struct qlist *q = arg;
	char *n = pct_dup(name), *v = pct_dup(value);

	if (q->nowned == q->cap) {
		int cap = q->cap ? 2 * q->cap : 16;
		struct s3_kv *kv = realloc(q->kv, sizeof(*kv) * (size_t)cap);
		char **o = kv ? realloc(q->owned, sizeof(*o) * 2 * (size_t)cap)
			      : NULL;

		if (kv)
			q->kv = kv;
		if (o)
			q->owned = o;
		if (!kv || !o) {
			q->err = -ENOMEM;
			free(n);
			free(v);
			return;
		}
		q->cap = cap;
	}
	if (!n || !v) {
		q->err = -ENOMEM;
		free(n);
		free(v);
		return;
	}
	q->owned[2 * q->nowned] = n;
	q->owned[2 * q->nowned + 1] = v;
	q->nowned++;
	q->kv[q->n].name = n;
	q->kv[q->n].value = v;
	q->n++;
}

static void q_free(struct qlist *q)
{
	int i;

	for (i = 0; i < 2 * q->nowned; i++)
		free(q->owned[i]);
	free(q->owned);
	free(q->kv);
}

struct hlist {
	struct s3_kv kv[256];
	int n;
};

static void h_add(const char *name, const char *value, void *arg)
{
	struct hlist *h = arg;

	if (h->n < (int)(sizeof(h->kv) / sizeof(h->kv[0]))) {
		h->kv[h->n].name = name;
		h->kv[h->n].value = value;
		h->n++;
	}
}

/* "20150830T123600Z" to unix seconds; -1 when malformed. */
static time_t parse_amzdate(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (!s || strlen(s) != 16)
		return -1;
	end = strptime(s, "%Y%m%dT%H%M%SZ", &tm);
	if (!end || *end)
		return -1;
	return timegm(&tm);
}

/* An RFC 1123 (or 850, asctime) date, or an amz date; -1 when not. */
static time_t parse_http_date(const char *s)
{
	static const char *const fmts[] = {
		"%a, %d %b %Y %H:%M:%S GMT", "%a, %d %b %Y %H:%M:%S +0000",
		"%A, %d-%b-%y %H:%M:%S GMT", "%a %b %d %H:%M:%S %Y"};
	struct tm tm;
	size_t i;

	if (!s)
		return -1;
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		const char *end;

		memset(&tm, 0, sizeof(tm));
		end = strptime(s, fmts[i], &tm);
		if (end && !*end)
			return timegm(&tm);
	}
	return parse_amzdate(s);
}

/* The user of access key "account:user"; sets s->p.account. NULL when
 * unknown (replied InvalidAccessKeyId). */
static const struct tempauth_user *find_user(struct s3_req *s, const char *key,
					     size_t keylen)
{
	const struct tempauth_user *u = NULL;
	char ak[256], *colon;

	if (keylen < sizeof(ak)) {
		snprintf(ak, sizeof(ak), "%.*s", (int)keylen, key);
		snprintf(s->access_key, sizeof(s->access_key), "%s", ak);
		colon = strchr(ak, ':');
		if (colon) {
			*colon = '\0';
			u = tempauth_find(s->app->auth, ak, colon + 1);
		}
	}
	if (!u) {
		s3_error(s->req, 403, "InvalidAccessKeyId", NULL, NULL);
		return NULL;
	}
	s->p.user = u;
	if (u->url && strrchr(u->url, '/') && strrchr(u->url, '/')[1])
		snprintf(s->account, sizeof(s->account), "%s",
			 strrchr(u->url, '/') + 1);
	else
		snprintf(s->account, sizeof(s->account), "%s_%s",
			 tempauth_prefix(s->app->auth), u->account);
	s->p.account = s->account;
	return u;
}

static int skewed(struct s3_req *s, time_t t)
{
	time_t now = time(NULL);

	if (t < 0) {
		s3_error(s->req, 403, "AccessDenied",
			 "AWS authentication requires a valid Date or "
			 "x-amz-date header",
			 NULL);
		return 403;
	}
	if (t > now + S3_MAX_SKEW || t < now - S3_MAX_SKEW) {
		s3_error(s->req, 403, "RequestTimeTooSkewed", NULL, NULL);
		return 403;
	}
	return 0;
}

/* --- the body pipe --------------------------------------------------- */

enum { B_PLAIN, B_CHUNKED };
enum { C_HEADER, C_DATA, C_DATA_CRLF, C_FINAL, C_DONE };

struct s3_body {
	int mode;
	EVP_MD_CTX *sha; /* the payload's SHA-256 when given */
	char want_sha[65];
	EVP_MD_CTX *md5; /* Content-MD5, over the decoded bytes */
	unsigned char want_md5[16];
	struct buf held; /* the last block, until the hashes check */
	/* aws-chunked */
	unsigned char key[32];
	char amzdate[17], scope[128], prev[65];
	int state;
	char line[512];
	size_t linelen;
	size_t chunk_size;
	struct buf chunk;
	char chunk_sig[65];
	uint64_t decoded;
	int64_t want_decoded;
};

void s3_body_free(struct s3_body *b)
{
	if (!b)
		return;
	EVP_MD_CTX_free(b->sha);
	EVP_MD_CTX_free(b->md5);
	buf_free(&b->held);
	buf_free(&b->chunk);
	free(b);
}

static int body_fail(struct s3_req *s, int status, const char *code,
		     const char *msg)
{
	s->aborted = 1;
	s3_error(s->req, status, code, msg, s->resource);
	return status;
}

/* Decoded bytes: hashed, then passed on with the last block held. */
static int pass(struct s3_req *s, const char *data, size_t n,
		void (*emit)(struct s3_req *, const char *, size_t))
{
	struct s3_body *b = s->dec;

	if (b->md5 && EVP_DigestUpdate(b->md5, data, n) != 1)
		return body_fail(s, 500, "InternalError", NULL);
	if (b->mode == B_PLAIN && b->sha &&
	    EVP_DigestUpdate(b->sha, data, n) != 1)
		return body_fail(s, 500, "InternalError", NULL);
	if (!b->sha && !b->md5) {
		emit(s, data, n);
		return 0;
	}
	if (b->held.len) {
		emit(s, (const char *)b->held.data, b->held.len);
		b->held.len = 0;
	}
	if (buf_append(&b->held, data, n))
		return body_fail(s, 500, "InternalError", NULL);
	return 0;
}

/* The chunk in b->chunk is whole: check its signature and pass it. */
static int chunk_done(struct s3_req *s,
		      void (*emit)(struct s3_req *, const char *, size_t))
{
	struct s3_body *b = s->dec;
	struct buf sts = BUF_INIT;
	char sig[65];
	int rc;

	rc = s3_chunk_string_to_sign(b->amzdate, b->scope, b->prev,
				     b->chunk.data ? (char *)b->chunk.data : "",
				     b->chunk.len, &sts);
	rc = rc ?: s3_sigv4_sign(b->key, (char *)sts.data, sts.len, sig);
	buf_free(&sts);
	if (rc)
		return body_fail(s, 500, "InternalError", NULL);
	if (strcmp(sig, b->chunk_sig))
		return body_fail(s, 403, "SignatureDoesNotMatch", NULL);
	memcpy(b->prev, sig, sizeof(b->prev));
	b->decoded += b->chunk.len;
	if (b->want_decoded >= 0 && b->decoded > (uint64_t)b->want_decoded)
		return body_fail(s, 400, "IncompleteBody",
				 "more data than x-amz-decoded-content-length");
	rc = b->chunk.len ? pass(s, (char *)b->chunk.data, b->chunk.len, emit)
			  : 0;
	b->chunk.len = 0;
	return rc;
}

/* "<hex>;chunk-signature=<64 hex>" into size and b->chunk_sig. */
static int chunk_header(struct s3_body *b)
{
	char *semi, *end;
	unsigned long long n;

	b->line[b->linelen] = '\0';
	semi = strchr(b->line, ';');
	if (!semi || strncmp(semi + 1, "chunk-signature=", 16) ||
	    strlen(semi + 17) != 64)
		return -EINVAL;
	n = strtoull(b->line, &end, 16);
	if (end != semi || end == b->line || n > S3_MAX_CHUNK)
		return -EINVAL;
	b->chunk_size = (size_t)n;
	memcpy(b->chunk_sig, semi + 17, 65);
	return 0;
}

static int feed_chunked(struct s3_req *s, const char *data, size_t len,
			void (*emit)(struct s3_req *, const char *, size_t))
{
	struct s3_body *b = s->dec;
	size_t i = 0;
	int rc;

	while (i < len) {
		char c = data[i];

		switch (b->state) {
		case C_HEADER:
		case C_DATA_CRLF:
		case C_FINAL:
			i++;
			if (b->linelen >= sizeof(b->line) - 1)
				goto bad;
			b->line[b->linelen++] = c;
			if (b->linelen < 2 || b->line[b->linelen - 2] != '\r' ||
			    c != '\n')
				continue;
			b->linelen -= 2;
			if (b->state == C_DATA_CRLF || b->state == C_FINAL) {
				if (b->linelen)
					goto bad;
				rc = chunk_done(s, emit);
				if (rc)
					return rc;
				b->state =
					b->state == C_FINAL ? C_DONE : C_HEADER;
			} else {
				if (chunk_header(b))
					goto bad;
				b->state = b->chunk_size ? C_DATA : C_FINAL;
			}
			b->linelen = 0;
			break;
		case C_DATA: {
			size_t want = b->chunk_size - b->chunk.len;
			size_t n = len - i < want ? len - i : want;

			if (buf_append(&b->chunk, data + i, n))
				return body_fail(s, 500, "InternalError", NULL);
			i += n;
			if (b->chunk.len == b->chunk_size)
				b->state = C_DATA_CRLF;
			break;
		}
		case C_DONE:
			goto bad;
		}
	}
	return 0;
bad:
	return body_fail(s, 400, "IncompleteBody",
			 "malformed aws-chunked encoding");
}

int s3_body_feed(struct s3_req *s, const char *data, size_t len,
		 void (*emit)(struct s3_req *s, const char *data, size_t n))
{
	if (!s->dec) {
		emit(s, data, len);
		return 0;
	}
	if (s->dec->mode == B_CHUNKED)
		return feed_chunked(s, data, len, emit);
	return pass(s, data, len, emit);
}

int s3_body_end(struct s3_req *s,
		void (*emit)(struct s3_req *s, const char *data, size_t n))
{
	struct s3_body *b = s->dec;
	unsigned char md[32];
	unsigned int mdlen = 0;
	char h[65];

	if (!b)
		return 0;
	if (b->mode == B_CHUNKED &&
	    (b->state != C_DONE ||
	     (b->want_decoded >= 0 && b->decoded != (uint64_t)b->want_decoded)))
		return body_fail(s, 400, "IncompleteBody", NULL);
	if (b->sha && b->mode == B_PLAIN) {
		if (EVP_DigestFinal_ex(b->sha, md, &mdlen) != 1)
			return body_fail(s, 500, "InternalError", NULL);
		hex(md, 32, h);
		if (strcmp(h, b->want_sha))
			return body_fail(s, 400, "XAmzContentSHA256Mismatch",
					 NULL);
	}
	if (b->md5) {
		if (EVP_DigestFinal_ex(b->md5, md, &mdlen) != 1)
			return body_fail(s, 500, "InternalError", NULL);
		if (memcmp(md, b->want_md5, 16))
			return body_fail(s, 400, "BadDigest", NULL);
	}
	if (b->held.len)
		emit(s, (const char *)b->held.data, b->held.len);
	b->held.len = 0;
	return 0;
}

/* Set up s->dec for the payload hash ph (V4; NULL for V2/anonymous) and
 * Content-MD5. 0, or replied and returns the status. */
static int body_setup(struct s3_req *s, const char *ph,
		      const unsigned char *key, const char *amzdate,
		      const char *scope, const char *seed)
{
	const char *md5 = http_header(s->req, "Content-MD5");
	const char *te = http_header(s->req, "Transfer-Encoding");
	int64_t cl = http_content_length(s->req);
	struct s3_body *b;
	unsigned char raw[64];
	int n;

	s->length = cl;
	if (cl <= 0 && !te && !md5 && (!ph || strcmp(ph, STREAMING)))
		return 0;
	b = calloc(1, sizeof(*b));
	if (!b)
		return body_fail(s, 500, "InternalError", NULL);
	s->dec = b;
	b->want_decoded = -1;
	if (md5) {
		n = EVP_DecodeBlock(raw, (const unsigned char *)md5,
				    (int)strlen(md5));
		if (strlen(md5) != 24 || n != 18)
			return body_fail(s, 400, "InvalidDigest", NULL);
		memcpy(b->want_md5, raw, 16);
		b->md5 = EVP_MD_CTX_new();
		if (!b->md5 || EVP_DigestInit_ex(b->md5, EVP_md5(), NULL) != 1)
			return body_fail(s, 500, "InternalError", NULL);
	}
	if (!ph || !strcmp(ph, "UNSIGNED-PAYLOAD"))
		return 0;
	if (!strcmp(ph, STREAMING)) {
		const char *dl =
			http_header(s->req, "x-amz-decoded-content-length");
		char *end;

		if (!dl)
			return body_fail(s, 411, "MissingContentLength", NULL);
		b->want_decoded = strtoll(dl, &end, 10);
		if (*end || end == dl || b->want_decoded < 0)
			return body_fail(s, 400, "InvalidArgument",
					 "bad x-amz-decoded-content-length");
		s->length = b->want_decoded;
		b->mode = B_CHUNKED;
		memcpy(b->key, key, 32);
		snprintf(b->amzdate, sizeof(b->amzdate), "%s", amzdate);
		snprintf(b->scope, sizeof(b->scope), "%s", scope);
		snprintf(b->prev, sizeof(b->prev), "%s", seed);
		return 0;
	}
	if (strlen(ph) != 64 || strspn(ph, "0123456789abcdef") != 64)
		return body_fail(s, 400, "InvalidArgument",
				 "x-amz-content-sha256 must be "
				 "UNSIGNED-PAYLOAD, " STREAMING
				 ", or a valid sha256 value.");
	memcpy(b->want_sha, ph, 65);
	b->sha = EVP_MD_CTX_new();
	if (!b->sha || EVP_DigestInit_ex(b->sha, EVP_sha256(), NULL) != 1)
		return body_fail(s, 500, "InternalError", NULL);
	return 0;
}

/* --- V4 -------------------------------------------------------------- */

/* The value of "name=" in an Authorization header's list, up to ',' */
static int auth_param(const char *auth, const char *name, char *out,
		      size_t outlen)
{
	const char *p = auth;
	size_t nl = strlen(name), vl;

	while ((p = strstr(p, name))) {
		if ((p == auth || p[-1] == ' ' || p[-1] == ',') &&
		    p[nl] == '=') {
			p += nl + 1;
			vl = strcspn(p, ", ");
			if (vl >= outlen)
				return -EINVAL;
			snprintf(out, outlen, "%.*s", (int)vl, p);
			return 0;
		}
		p += nl;
	}
	return -EINVAL;
}

static int sigv4(struct s3_req *s, int presigned)
{
	struct http_request *req = s->req;
	const char *auth = http_header(req, "Authorization");
	const struct tempauth_user *u;
	char cred[512], signed_[1024], sig[128], amzdate[32], calc[65];
	char scope[256], *parts[5], *save = NULL, *tok;
	const char *ph, *v;
	unsigned char key[32];
	struct qlist q = {0};
	struct hlist h = {{{0}}};
	struct buf canon = BUF_INIT, sts = BUF_INIT;
	time_t t;
	int i, n = 0, rc = 0;

	s->sigv = 4;
	if (presigned) {
		v = http_query(req, "X-Amz-Credential");
		snprintf(cred, sizeof(cred), "%s", v ? v : "");
		v = http_query(req, "X-Amz-SignedHeaders");
		snprintf(signed_, sizeof(signed_), "%s", v ? v : "");
		v = http_query(req, "X-Amz-Signature");
		snprintf(sig, sizeof(sig), "%s", v ? v : "");
		v = http_query(req, "X-Amz-Date");
		snprintf(amzdate, sizeof(amzdate), "%s", v ? v : "");
		if (strcmp(http_query(req, "X-Amz-Algorithm") ?: "",
			   "AWS4-HMAC-SHA256") ||
		    !*cred || !*signed_ || !*sig || !*amzdate)
			goto malformed_query;
	} else {
		if (auth_param(auth, "Credential", cred, sizeof(cred)) ||
		    auth_param(auth, "SignedHeaders", signed_,
			       sizeof(signed_)) ||
		    auth_param(auth, "Signature", sig, sizeof(sig)))
			goto malformed;
		v = http_header(req, "X-Amz-Date");
		if (!v)
			v = http_header(req, "Date");
		snprintf(amzdate, sizeof(amzdate), "%s", v ? v : "");
	}
	/* Credential: AK/YYYYMMDD/region/s3/aws4_request (AK may hold '/'
	 * no: tempauth names have none) */
	for (tok = strtok_r(cred, "/", &save); tok && n < 5;
	     tok = strtok_r(NULL, "/", &save))
		parts[n++] = tok;
	if (n != 5 || tok || strcmp(parts[4], "aws4_request"))
		goto malformed;
	u = find_user(s, parts[0], strlen(parts[0]));
	if (!u)
		return 403;
	if (strcmp(parts[2], s->app->conf->s3_location)) {
		char m[512];

		snprintf(m, sizeof(m),
			 "The authorization header is malformed; the region "
			 "'%.64s' is wrong; expecting '%.64s'",
			 parts[2], s->app->conf->s3_location);
		s3_error(req, 400, "AuthorizationHeaderMalformed", m, NULL);
		return 400;
	}
	t = parse_amzdate(amzdate);
	if (t < 0)
		t = parse_http_date(amzdate);
	if (presigned) {
		const char *ex = http_query(req, "X-Amz-Expires");
		long long e = ex ? atoll(ex) : -1;

		if (t < 0 || e < 0 || e > S3_MAX_EXPIRES) {
			s3_error(req, 400, "AuthorizationQueryParametersError",
				 "X-Amz-Expires must be between 0 and "
				 "604800 seconds, with a valid X-Amz-Date",
				 NULL);
			return 400;
		}
		if (time(NULL) > t + e) {
			s3_error(req, 403, "AccessDenied",
				 "Request has expired", NULL);
			return 403;
		}
		if (t > time(NULL) + S3_MAX_SKEW) {
			s3_error(req, 403, "RequestTimeTooSkewed", NULL, NULL);
			return 403;
		}
	} else if (skewed(s, t)) {
		return 403;
	}
	{
		/* the scope's date is the request's */
		struct tm tm;
		char d8[16];

		gmtime_r(&t, &tm);
		strftime(d8, sizeof(d8), "%Y%m%d", &tm);
		if (strcmp(d8, parts[1]))
			goto mismatch;
		strftime(amzdate, sizeof(amzdate), "%Y%m%dT%H%M%SZ", &tm);
	}
	snprintf(scope, sizeof(scope), "%s/%s/%s/%s", parts[1], parts[2],
		 parts[3], parts[4]);
	ph = http_header(req, "x-amz-content-sha256");
	if (!ph)
		ph = "UNSIGNED-PAYLOAD";
	http_each_query(req, q_add, &q);
	http_each_header(req, h_add, &h);
	if (q.err) {
		rc = -ENOMEM;
		goto out;
	}
	/* the signature itself is not signed */
	for (i = 0; i < q.n; i++)
		if (!strcmp(q.kv[i].name, "X-Amz-Signature"))
			q.kv[i] = q.kv[--q.n];
	rc = s3_sigv4_canonical(http_method(req), http_raw_path(req), q.kv, q.n,
				h.kv, h.n, signed_, ph, &canon);
	if (rc == -EINVAL) {
		rc = 0;
		goto mismatch;
	}
	rc = rc
		     ?: s3_sigv4_string_to_sign(amzdate, scope,
						(char *)canon.data, canon.len,
						&sts);
	rc = rc ?: s3_sigv4_key(u->key, parts[1], parts[2], parts[3], key);
	rc = rc ?: s3_sigv4_sign(key, (char *)sts.data, sts.len, calc);
	if (rc)
		goto out;
	if (strcmp(calc, sig)) {
		log_debug("txn=%s sigv4 mismatch; canonical:\n%.*s",
			  http_txn(req), (int)canon.len, (char *)canon.data);
		goto mismatch;
	}
	rc = body_setup(s, ph, key, amzdate, scope, sig);
	goto done;
malformed_query:
	s3_error(req, 400, "AuthorizationQueryParametersError",
		 "Query-string authentication version 4 requires the "
		 "X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, "
		 "X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires "
		 "parameters.",
		 NULL);
	rc = 400;
	goto done;
malformed:
	s3_error(req, 400, "AuthorizationHeaderMalformed",
		 "The authorization header is malformed", NULL);
	rc = 400;
	goto done;
mismatch:
	s3_error(req, 403, "SignatureDoesNotMatch", NULL, NULL);
	rc = 403;
	goto done;
out:
	if (rc) {
		s3_error(req, 500, "InternalError", NULL, NULL);
		rc = 500;
	}
done:
	q_free(&q);
	buf_free(&canon);
	buf_free(&sts);
	return rc;
}

/* --- V2 -------------------------------------------------------------- */

static int sigv2(struct s3_req *s, int query)
{
	struct http_request *req = s->req;
	const char *auth = http_header(req, "Authorization"), *date, *colon;
	const struct tempauth_user *u;
	struct qlist q = {0};
	struct hlist h = {{{0}}};
	struct buf sts = BUF_INIT, path = BUF_INIT;
	char sig[64], given[256];
	int rc = 0;

	s->sigv = 2;
	if (query) {
		const char *ak = http_query(req, "AWSAccessKeyId");
		const char *ex = http_query(req, "Expires");

		u = find_user(s, ak, strlen(ak));
		if (!u)
			return 403;
		if (!ex || !*ex) {
			s3_error(req, 403, "AccessDenied",
				 "Query-string authentication requires the "
				 "Signature, Expires and AWSAccessKeyId "
				 "parameters",
				 NULL);
			return 403;
		}
		if (atoll(ex) < (long long)time(NULL)) {
			s3_error(req, 403, "AccessDenied",
				 "Request has expired", NULL);
			return 403;
		}
		date = ex;
		snprintf(given, sizeof(given), "%s",
			 http_query(req, "Signature") ?: "");
	} else {
		colon = strrchr(auth + 4, ':');
		if (!colon || colon == auth + 4) {
			s3_error(req, 400, "InvalidArgument",
				 "AWS authorization header is invalid.  "
				 "Expected AwsAccessKeyId:signature",
				 NULL);
			return 400;
		}
		u = find_user(s, auth + 4, (size_t)(colon - auth - 4));
		if (!u)
			return 403;
		snprintf(given, sizeof(given), "%s", colon + 1);
		date = http_header(req, "X-Amz-Date");
		if (skewed(s, parse_http_date(date ? date
						   : http_header(req, "Date"))))
			return 403;
		date = date ? "" : http_header(req, "Date");
	}
	http_each_query(req, q_add, &q);
	http_each_header(req, h_add, &h);
	if (q.err)
		goto oom;
	{
		char vb[256];
		const char *domain = s->app->conf->s3_storage_domain;
		const char *host = http_header(req, "Host");
		size_t dl = strlen(domain);

		/* virtual host: the resource starts with /bucket */
		if (s->bucket && host && dl && strstr(host, domain) &&
		    strncmp(host, s->bucket, strlen(s->bucket)) == 0 &&
		    host[strlen(s->bucket)] == '.') {
			snprintf(vb, sizeof(vb), "/%s", s->bucket);
			rc = buf_printf(&path, "%s", vb);
		}
	}
	rc = rc ?: buf_printf(&path, "%s", http_raw_path(req));
	rc = rc
		     ?: s3_sigv2_string_to_sign(
				http_method(req),
				http_header(req, "Content-MD5"),
				http_header(req, "Content-Type"), date, h.kv,
				h.n, (char *)path.data, q.kv, q.n, &sts);
	rc = rc ?: s3_sigv2_sign(u->key, (char *)sts.data, sts.len, sig);
	if (rc)
		goto oom;
	/* botocore signs a path-style bucket request (GET /bucket?...) with
	 * the resource "/bucket/" of its virtual-host form: accept that too */
	if (strcmp(sig, given) && s->bucket && !s->key && path.len &&
	    ((char *)path.data)[path.len - 1] != '/') {
		rc = buf_printf(&path, "/");
		sts.len = 0;
		rc = rc
			     ?: s3_sigv2_string_to_sign(
					http_method(req),
					http_header(req, "Content-MD5"),
					http_header(req, "Content-Type"), date,
					h.kv, h.n, (char *)path.data, q.kv, q.n,
					&sts);
		rc = rc
			     ?: s3_sigv2_sign(u->key, (char *)sts.data, sts.len,
					      sig);
		if (rc)
			goto oom;
	}
	if (strcmp(sig, given)) {
		log_debug("txn=%s sigv2 mismatch; string to sign:\n%.*s",
			  http_txn(req), (int)sts.len, (char *)sts.data);
		s3_error(req, 403, "SignatureDoesNotMatch", NULL, NULL);
		rc = 403;
		goto out;
	}
	rc = body_setup(s, NULL, NULL, NULL, NULL, NULL);
	goto out;
oom:
	s3_error(req, 500, "InternalError", NULL, NULL);
	rc = 500;
out:
	q_free(&q);
	buf_free(&sts);
	buf_free(&path);
	return rc;
}

int s3_auth_request(struct s3_req *s)
{
	const char *auth = http_header(s->req, "Authorization");

	if (auth && !strncmp(auth, "AWS4-HMAC-SHA256 ", 17))
		return sigv4(s, 0);
	if (auth && !strncmp(auth, "AWS ", 4))
		return sigv2(s, 0);
	if (auth) {
		s3_error(s->req, 400, "InvalidArgument",
			 "Unsupported Authorization Type", NULL);
		return 400;
	}
	if (http_query_has(s->req, "X-Amz-Algorithm"))
		return sigv4(s, 1);
	if (http_query_has(s->req, "AWSAccessKeyId"))
		return sigv2(s, 1);
	/* anonymous: allowed only where a container ACL lets everyone in */
	s->sigv = 0;
	return body_setup(s, NULL, NULL, NULL, NULL, NULL);
}
