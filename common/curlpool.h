/*
 * common/curlpool.h: backend keep-alive for the daemons' HTTP clients.
 *
 * libcurl keeps the connections a transfer used in the connection cache
 * of its multi handle, and closes them when the multi handle is cleaned
 * up. Backend requests (common/cluster.c, objectd/updater.c) each drive
 * their own multi handle, so a per-request multi opened a new TCP
 * connection (and a new server thread behind it) for every request. The
 * pool keeps finished multi handles, with their idle connections, for
 * the next request of any thread: a request to a backend reuses a
 * connection another request left open. A multi handle is used by one
 * thread at a time (the one that got it); the pool itself is locked.
 * Connections idle for longer than CURLPOOL_MAXAGE_S are not reused
 * (servers close theirs after 60 s).
 */
#ifndef KUMO_COMMON_CURLPOOL_H
#define KUMO_COMMON_CURLPOOL_H
#include <curl/curl.h>

/* Idle multi handles kept; more are cleaned up when put back. */
#define CURLPOOL_MAX 32
/* Idle easy handles kept (curlpool_easy_put). */
#define CURLPOOL_EASY_MAX 64
/* Seconds a cached connection may sit idle and still be reused. */
#define CURLPOOL_MAXAGE_S 20L

/*
 * A multi handle from the pool (with its cached connections), or a new
 * one; NULL on ENOMEM. The caller owns it until curlpool_put. Any
 * thread.
 */
CURLM *curlpool_get(void);
/*
 * Give back a multi handle from curlpool_get once every easy handle was
 * removed from it; its idle connections stay open for the next user.
 * NULL is allowed. Any thread.
 */
void curlpool_put(CURLM *m);
/*
 * An easy handle with no options set: one a finished transfer gave back
 * (curlpool_easy_put), or a new one; NULL on ENOMEM. The caller owns it
 * until curlpool_easy_put or curl_easy_cleanup. Any thread.
 */
CURL *curlpool_easy_get(void);
/*
 * Give back an easy handle that is in no multi handle and whose last
 * transfer ended (it is reset here and kept for curlpool_easy_get: a
 * backend request then does not allocate, clear and free a handle of a
 * few KiB). NULL is allowed. Any thread.
 */
void curlpool_easy_put(CURL *easy);
/* Set the options that let an easy handle reuse pooled connections. */
void curlpool_easy_opts(CURL *easy);
/* Close every pooled handle and its connections, and free the idle easy
 * handles (at exit; tests). */
void curlpool_drain(void);
#endif
