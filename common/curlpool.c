/*
 * common/curlpool.c: a locked stack of idle libcurl multi handles, each
 * holding the keep-alive connections its last transfers left (see
 * curlpool.h). The most recently used handle is handed out first, so a
 * steady load reuses a few handles whose connections are warm.
 */
#include <pthread.h>

#include <curl/curl.h>

#include "common/curlpool.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static CURLM *g_idle[CURLPOOL_MAX];
static int g_nidle;

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

void curlpool_easy_opts(CURL *easy)
{
	curl_easy_setopt(easy, CURLOPT_MAXAGE_CONN, CURLPOOL_MAXAGE_S);
}

void curlpool_drain(void)
{
	CURLM *m;

	for (;;) {
		pthread_mutex_lock(&g_lock);
		m = g_nidle ? g_idle[--g_nidle] : NULL;
		pthread_mutex_unlock(&g_lock);
		if (!m)
			break;
		curl_multi_cleanup(m);
	}
}
