/*
 * fuse/swift.c: kumo-mount's client of the cluster: the Swift API through
 * the proxy, as any client reaches it (auth v1.0 for a token and storage
 * URL, then object GET/PUT/DELETE/HEAD with Range and If-None-Match). The
 * mount needs no ring files and holds no more rights than its user.
 *
 * A 401 renews the token once; a connection error or a 5xx is retried
 * three times with a short pause. Easy handles are kept in a pool so their
 * connections are reused. Leaves what the objects mean to journal.c and
 * data.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/buf.h"
#include "common/log.h"
#include "fuse/internal.h"

#define SWC_POOL 64 /* the flush workers (up to 64) keep their connections */

struct swc {
	char *auth_url, *user, *key, *container;
	pthread_mutex_t lock;
	char *storage_url, *token;
	uint64_t token_gen;
	CURL *pool[SWC_POOL];
	int npool;
};

struct swc_resp {
	struct buf body;
	char *token, *url;
	uint8_t *dst; /* ranged reads land here */
	size_t dst_len, dst_got;
};

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct swc_resp *r = arg;
	size_t len = sz * n;
	if (r->dst) {
		size_t room = r->dst_len - r->dst_got;
		size_t k = len < room ? len : room;
		memcpy(r->dst + r->dst_got, p, k);
		r->dst_got += k;
		return len;
	}
	return buf_append(&r->body, p, len) ? 0 : len;
}

static char *header_value(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);
	const char *v, *e = line + len;
	if (len <= n || strncasecmp(line, name, n) || line[n] != ':')
		return NULL;
	v = line + n + 1;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
		e--;
	return strndup(v, (size_t)(e - v));
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct swc_resp *r = arg;
	char *v;
	if ((v = header_value(p, sz * n, "X-Auth-Token"))) {
		free(r->token);
		r->token = v;
	} else if ((v = header_value(p, sz * n, "X-Storage-Url"))) {
		free(r->url);
		r->url = v;
	}
	return sz * n;
}

static CURL *handle_get(struct swc *s)
{
	CURL *h = NULL;
	pthread_mutex_lock(&s->lock);
	if (s->npool)
		h = s->pool[--s->npool];
	pthread_mutex_unlock(&s->lock);
	if (!h)
		h = curl_easy_init();
	else
		curl_easy_reset(h);
	return h;
}

static void handle_put(struct swc *s, CURL *h)
{
	pthread_mutex_lock(&s->lock);
	if (s->npool < SWC_POOL) {
		s->pool[s->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	if (h)
		curl_easy_cleanup(h);
}

static int do_auth(struct swc *s, uint64_t seen_gen)
{
	CURL *h;
	struct curl_slist *hl = NULL;
	struct swc_resp r = {0};
	char line[1024];
	long status = 0;
	int rc = -EIO;
	pthread_mutex_lock(&s->lock);
	if (s->token_gen != seen_gen) { /* another thread renewed it */
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	pthread_mutex_unlock(&s->lock);
	h = handle_get(s);
	if (!h)
		return -ENOMEM;
	snprintf(line, sizeof(line), "X-Auth-User: %s", s->user);
	hl = curl_slist_append(hl, line);
	snprintf(line, sizeof(line), "X-Auth-Key: %s", s->key);
	hl = curl_slist_append(hl, line);
	curl_easy_setopt(h, CURLOPT_URL, s->auth_url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	if (curl_easy_perform(h) != CURLE_OK) {
		log_err("auth at %s: no answer", s->auth_url);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status == 401 || status == 403) {
		log_err("auth at %s refused user %s", s->auth_url, s->user);
		rc = -EACCES;
		goto out;
	}
	if (status / 100 != 2 || !r.token || !r.url) {
		log_err("auth at %s: status %ld", s->auth_url, status);
		goto out;
	}
	pthread_mutex_lock(&s->lock);
	free(s->token);
	free(s->storage_url);
	s->token = r.token;
	s->storage_url = r.url;
	r.token = r.url = NULL;
	s->token_gen++;
	pthread_mutex_unlock(&s->lock);
	rc = 0;
out:
	curl_slist_free_all(hl);
	free(r.token);
	free(r.url);
	buf_free(&r.body);
	handle_put(s, h);
	return rc;
}

/* Percent-encode an object name (our names are plain: keep '/'). */
static int object_url(struct swc *s, const char *name, const char *query,
		      char *out, size_t outlen, uint64_t *gen, char *tok,
		      size_t toklen)
{
	int n;
	pthread_mutex_lock(&s->lock);
	n = snprintf(out, outlen, "%s/%s%s%s%s%s", s->storage_url, s->container,
		     name ? "/" : "", name ? name : "", query ? "?" : "",
		     query ? query : "");
	snprintf(tok, toklen, "X-Auth-Token: %s", s->token);
	*gen = s->token_gen;
	pthread_mutex_unlock(&s->lock);
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

struct swc_req {
	const char *method, *name, *query;
	const void *body;
	size_t body_len;
	int if_none_match;
	uint64_t range_off;
	size_t range_len; /* 0: no Range */
	void *dst;	  /* ranged read target */
	struct buf *out;  /* whole body target */
	size_t got;
};

struct upload {
	const uint8_t *p;
	size_t left;
};

static size_t on_read(char *p, size_t sz, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t k = sz * n < u->left ? sz * n : u->left;
	memcpy(p, u->p, k);
	u->p += k;
	u->left -= k;
	return k;
}

/* One request with renewal and retries: the HTTP status, or -errno. */
static long swc_do(struct swc *s, struct swc_req *q)
{
	long status = 0;
	int attempt, reauthed = 0;
	for (attempt = 0; attempt < 4; attempt++) {
		char url[2048], tok[1024], range[64];
		struct curl_slist *hl = NULL;
		struct swc_resp r = {0};
		struct upload u = {q->body, q->body_len};
		uint64_t gen;
		CURLcode cc;
		CURL *h;
		if (object_url(s, q->name, q->query, url, sizeof(url), &gen,
			       tok, sizeof(tok)))
			return -ENAMETOOLONG;
		if (!(h = handle_get(s)))
			return -ENOMEM;
		hl = curl_slist_append(hl, tok);
		hl = curl_slist_append(hl, "Expect:");
		if (q->if_none_match)
			hl = curl_slist_append(hl, "If-None-Match: *");
		if (q->range_len) {
			snprintf(range, sizeof(range), "Range: bytes=%llu-%llu",
				 (unsigned long long)q->range_off,
				 (unsigned long long)(q->range_off +
						      q->range_len - 1));
			hl = curl_slist_append(hl, range);
		}
		r.dst = q->dst;
		r.dst_len = q->range_len;
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
		if (!strcmp(q->method, "PUT")) {
			curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(h, CURLOPT_READDATA, &u);
			curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
					 (curl_off_t)q->body_len);
		} else if (!strcmp(q->method, "HEAD")) {
			curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
		} else if (strcmp(q->method, "GET")) {
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
		}
		cc = curl_easy_perform(h);
		status = 0;
		if (cc == CURLE_OK)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		curl_slist_free_all(hl);
		handle_put(s, h);
		if (status == 401 && !reauthed) {
			buf_free(&r.body);
			reauthed = 1;
			attempt--;
			if (do_auth(s, gen))
				return -EACCES;
			continue;
		}
		if (status && status < 500) {
			if (q->out && status / 100 == 2)
				buf_append(q->out, r.body.data, r.body.len);
			q->got = r.dst_got;
			buf_free(&r.body);
			return status;
		}
		buf_free(&r.body);
		log_warn("%s %s: %s (attempt %d)", q->method,
			 q->name ? q->name : "",
			 cc != CURLE_OK ? curl_easy_strerror(cc)
					: "server error",
			 attempt + 1);
		usleep(200000u << attempt);
	}
	return -EIO;
}

int swc_open(const char *auth_url, const char *user, const char *key,
	     const char *container, struct swc **out)
{
	struct swc *s = calloc(1, sizeof(*s));
	int rc;
	if (!s)
		return -ENOMEM;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pthread_mutex_init(&s->lock, NULL);
	s->auth_url = strdup(auth_url);
	s->user = strdup(user);
	s->key = strdup(key);
	s->container = strdup(container);
	if (!s->auth_url || !s->user || !s->key || !s->container) {
		swc_close(s);
		return -ENOMEM;
	}
	if ((rc = do_auth(s, 0))) {
		swc_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void swc_close(struct swc *s)
{
	int i;
	if (!s)
		return;
	for (i = 0; i < s->npool; i++)
		curl_easy_cleanup(s->pool[i]);
	free(s->auth_url);
	free(s->user);
	free(s->key);
	free(s->container);
	free(s->token);
	free(s->storage_url);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static int status_errno(long st)
{
	if (st < 0)
		return (int)st;
	if (st / 100 == 2)
		return 0;
	if (st == 404)
		return -ENOENT;
	if (st == 412)
		return -EEXIST;
	if (st == 401 || st == 403)
		return -EACCES;
	if (st == 413 || st == 507)
		return -ENOSPC;
	return -EIO;
}

int swc_container_create(struct swc *s)
{
	struct swc_req q = {.method = "PUT", .name = NULL};
	return status_errno(swc_do(s, &q));
}

int swc_put(struct swc *s, const char *name, const void *data, size_t len,
	    int if_none_match)
{
	struct swc_req q = {.method = "PUT",
			    .name = name,
			    .body = data,
			    .body_len = len,
			    .if_none_match = if_none_match};
	long st = swc_do(s, &q);
	int rc = status_errno(st);
	if (rc && rc != -EEXIST)
		log_err("PUT %s: %s", name, st > 0 ? "refused" : strerror(-rc));
	return rc;
}

int swc_get(struct swc *s, const char *name, struct buf *out)
{
	struct swc_req q = {.method = "GET", .name = name, .out = out};
	return status_errno(swc_do(s, &q));
}

ssize_t swc_get_range(struct swc *s, const char *name, void *buf, size_t len,
		      uint64_t off)
{
	struct swc_req q = {.method = "GET",
			    .name = name,
			    .range_off = off,
			    .range_len = len,
			    .dst = buf};
	long st;
	if (len == 0)
		return 0;
	st = swc_do(s, &q);
	if (st == 416)
		return 0;
	if (st == 200 || st == 206)
		return (ssize_t)q.got;
	return status_errno(st) ? status_errno(st) : -EIO;
}

int swc_head(struct swc *s, const char *name)
{
	struct swc_req q = {.method = "HEAD", .name = name};
	return status_errno(swc_do(s, &q));
}

int swc_delete(struct swc *s, const char *name)
{
	struct swc_req q = {.method = "DELETE", .name = name};
	return status_errno(swc_do(s, &q));
}

int swc_list(struct swc *s, const char *prefix,
	     int (*fn)(void *arg, const char *name), void *arg)
{
	char marker[1024] = "";
	for (;;) {
		char query[2600];
		struct buf out = BUF_INIT;
		struct swc_req q = {.method = "GET", .name = NULL, .out = &out};
		char *line, *save = NULL;
		int n = 0, rc;
		snprintf(query, sizeof(query),
			 "format=plain&limit=10000&prefix=%s&marker=%s", prefix,
			 marker);
		q.query = query;
		if ((rc = status_errno(swc_do(s, &q)))) {
			buf_free(&out);
			return rc;
		}
		if (buf_append(&out, "", 1)) {
			buf_free(&out);
			return -ENOMEM;
		}
		for (line = strtok_r((char *)out.data, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			n++;
			snprintf(marker, sizeof(marker), "%s", line);
			if ((rc = fn(arg, line))) {
				buf_free(&out);
				return rc;
			}
		}
		buf_free(&out);
		if (n < 10000)
			return 0;
	}
}
