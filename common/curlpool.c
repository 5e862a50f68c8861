/*
 * common/curlpool.c: a locked stack of idle libcurl multi handles, each
 * holding the keep-alive connections its last transfers left, and one of
 * reset easy handles (see curlpool.h). The most recently used handle is handed out first, so a
 * steady load reuses a few handles whose connections are warm.
 */
#include <pthread.h>

#include <curl/curl.h>

#include "common/curlpool.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static CURLM *g_idle[CURLPOOL_MAX];
static int g_nidle;
static CURL *g_easy[CURLPOOL_EASY_MAX]; /* reset, under g_lock */
static int g_neasy;

CURLM *curlpool_get(void)
{
	CURLM *m = NULL;

	pthread_mutex_lock(&g_lock);
	if (g_nidle)
		m = g_idle[--g_nidle];
	pthread_mutex_unlock(&g_lock);
	if (!m) {
		m = curl_multi_init();
		/* room for the connections to every backend of a request */
		if (m)
			curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, 16L);
	}
	return m;
}

void curlpool_put(CURLM *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&g_lock);
	if (g_nidle < CURLPOOL_MAX) {
		g_idle[g_nidle++] = m;
		m = NULL;
	}
	pthread_mutex_unlock(&g_lock);
	if (m)
		curl_multi_cleanup(m);
}

CURL *curlpool_easy_get(void)
{
	CURL *e = NULL;

	pthread_mutex_lock(&g_lock);
	if (g_neasy)
		e = g_easy[--g_neasy];
	pthread_mutex_unlock(&g_lock);
	return e ? e : curl_easy_init();
}

void curlpool_easy_put(CURL *easy)
{
	if (!easy)
		return;
	curl_easy_reset(easy);
	pthread_mutex_lock(&g_lock);
	if (g_neasy < CURLPOOL_EASY_MAX) {
		g_easy[g_neasy++] = easy;
		easy = NULL;
	}
	pthread_mutex_unlock(&g_lock);
	if (easy)
		curl_easy_cleanup(easy);
}

void curlpool_easy_opts(CURL *easy)
{
	curl_easy_setopt(easy, CURLOPT_MAXAGE_CONN, CURLPOOL_MAXAGE_S);
}

void curlpool_drain(void)
{
	CURLM *m;
	CURL *e;

	for (;;) {
		pthread_mutex_lock(&g_lock);
		e = g_neasy ? g_easy[--g_neasy] : NULL;
		pthread_mutex_unlock(&g_lock);
		if (!e)
			break;
		curl_easy_cleanup(e);
	}

	for (;;) {
		pthread_mutex_lock(&g_lock);
		m = g_nidle ? g_idle[--g_nidle] : NULL;
		pthread_mutex_unlock(&g_lock);
		if (!m)
			break;
		curl_multi_cleanup(m);
	}
}
