/*
 * common/curlpool.c: a locked stack of idle libcurl multi handles, each
 * holding the keep-alive connections its last transfers left, and one of
 * reset easy handles (see curlpool.h). The most recently used handle is
 * handed out first, so a steady load reuses a few handles whose
 * connections are warm.
 */
#include <pthread.h>

#include <curl/curl.h>

#include "common/curlpool.h"

/* A locked stack of idle handles, most recently used on top. */
struct stack {
	void **h;
	int n, max;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static void *g_multi_h[CURLPOOL_MAX];
static void *g_easy_h[CURLPOOL_EASY_MAX]; /* reset */
static struct stack g_multi = {g_multi_h, 0, CURLPOOL_MAX};
static struct stack g_easy = {g_easy_h, 0, CURLPOOL_EASY_MAX};

/* The top handle of st, taken off it, or NULL when st is empty. */
static void *pop(struct stack *st)
{
	void *h = NULL;

	pthread_mutex_lock(&g_lock);
	if (st->n)
		h = st->h[--st->n];
	pthread_mutex_unlock(&g_lock);
	return h;
}

/* Push h onto st: 0, or -1 when st is full (the caller frees h). */
static int push(struct stack *st, void *h)
{
	int rc = -1;

	pthread_mutex_lock(&g_lock);
	if (st->n < st->max) {
		st->h[st->n++] = h;
		rc = 0;
	}
	pthread_mutex_unlock(&g_lock);
	return rc;
}

CURLM *curlpool_get(void)
{
	CURLM *m = pop(&g_multi);

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
	if (m && push(&g_multi, m))
		curl_multi_cleanup(m);
}

CURL *curlpool_easy_get(void)
{
	CURL *e = pop(&g_easy);

	return e ? e : curl_easy_init();
}

void curlpool_easy_put(CURL *easy)
{
	if (!easy)
		return;
	curl_easy_reset(easy);
	if (push(&g_easy, easy))
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

	while ((e = pop(&g_easy)))
		curl_easy_cleanup(e);
	while ((m = pop(&g_multi)))
		curl_multi_cleanup(m);
}
