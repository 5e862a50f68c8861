/*
 * volume/auth.c: tokens. The volume API accepts the tokens of the proxy's
 * tempauth, scoped by account: a request for /v3/<project>/... is allowed
 * when the proxy answers HEAD /v1/<project> with that X-Auth-Token with a
 * 2xx (the token's user may act as the account's owner or was granted it
 * by an account ACL). A positive answer is kept for auth_cache_time
 * seconds so a busy client does not cost a proxy round trip a request; a
 * refusal is never kept, so a new token works at once. The proxy decides
 * everything else (expiry, groups, reseller admins).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "common/log.h"
#include "common/md5.h"
#include "volume/internal.h"

#define AUTH_CACHE_SLOTS 256

struct auth_slot {
	uint8_t key[MD5_LEN]; /* md5(project NUL token): no token kept */
	time_t until;
};

struct vd_auth {
	char proxy_url[CONF_STR_MAX];
	long long cache_time;
	pthread_mutex_t mu;
	struct auth_slot slot[AUTH_CACHE_SLOTS];
};

int vd_auth_new(const struct volumed_conf *conf, struct vd_auth **out)
{
	struct vd_auth *a = calloc(1, sizeof(*a));
	size_t n;

	if (!a)
		return -ENOMEM;
	snprintf(a->proxy_url, sizeof(a->proxy_url), "%s", conf->proxy_url);
	n = strlen(a->proxy_url);
	while (n && a->proxy_url[n - 1] == '/')
		a->proxy_url[--n] = '\0';
	a->cache_time = conf->auth_cache_time;
	pthread_mutex_init(&a->mu, NULL);
	*out = a;
	return 0;
}

void vd_auth_free(struct vd_auth *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->mu);
	free(a);
}

static void auth_key(const char *project, const char *token,
		     uint8_t key[MD5_LEN])
{
	struct md5_piece p[2] = {{project, strlen(project) + 1},
				 {token, strlen(token)}};

	if (md5_pieces(p, 2, key))
		memset(key, 0, MD5_LEN);
}

static int cached(struct vd_auth *a, const uint8_t key[MD5_LEN], time_t now)
{
	int i, hit = 0;

	pthread_mutex_lock(&a->mu);
	for (i = 0; i < AUTH_CACHE_SLOTS && !hit; i++)
		hit = a->slot[i].until > now &&
		      !memcmp(a->slot[i].key, key, MD5_LEN);
	pthread_mutex_unlock(&a->mu);
	return hit;
}

static void remember(struct vd_auth *a, const uint8_t key[MD5_LEN], time_t now)
{
	int i, victim = 0;

	if (a->cache_time <= 0)
		return;
	pthread_mutex_lock(&a->mu);
	for (i = 0; i < AUTH_CACHE_SLOTS; i++) {
		if (a->slot[i].until < a->slot[victim].until)
			victim = i;
		if (a->slot[i].until <= now) {
			victim = i;
			break;
		}
	}
	memcpy(a->slot[victim].key, key, MD5_LEN);
	a->slot[victim].until = now + (time_t)a->cache_time;
	pthread_mutex_unlock(&a->mu);
}

/* HEAD <proxy>/v1/<project> with the token: the HTTP status, 0 when the
 * proxy did not answer. */
static long ask_proxy(struct vd_auth *a, const char *project, const char *token)
{
	struct curl_slist *hdrs = NULL, *h2;
	char url[CONF_STR_MAX + 300], *line = NULL;
	long status = 0;
	CURL *c = curl_easy_init();

	if (!c || asprintf(&line, "X-Auth-Token: %s", token) < 0) {
		line = NULL;
		goto out;
	}
	h2 = curl_slist_append(hdrs, line);
	if (!h2)
		goto out;
	hdrs = h2;
	snprintf(url, sizeof(url), "%s/v1/%s", a->proxy_url, project);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		log_warn("the proxy at %s did not answer a token check",
			 a->proxy_url);
out:
	curl_slist_free_all(hdrs);
	free(line);
	curl_easy_cleanup(c);
	return status;
}

int vd_auth_check(struct vd_auth *a, const char *project, const char *token)
{
	uint8_t key[MD5_LEN];
	time_t now = time(NULL);
	const char *p;
	long st;

	if (!token || !*token || strlen(token) > 1024)
		return 401;
	for (p = token; *p; p++)
		if (*p <= ' ' || *p > '~') /* never a header of our own */
			return 401;
	auth_key(project, token, key);
	if (cached(a, key, now))
		return 0;
	st = ask_proxy(a, project, token);
	if (st >= 200 && st < 300) {
		remember(a, key, now);
		return 0;
	}
	if (st == 0 || st >= 500)
		return 503;
	return st == 403 ? 403 : 401;
}
