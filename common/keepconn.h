/*
 * common/keepconn.h: a small HTTP/1.1 client over keep-alive connections
 * kept between requests, for backend requests whose whole body is in
 * memory and whose answer is a status and an ETag: objectd's container
 * updates (objectd/updater.c) and the proxy's small object PUTs
 * (cluster_put_whole). Each request goes out in one send, headers and
 * body together; no Expect: 100-continue is asked for or understood.
 * Everything else (streamed bodies, answers with bodies) goes through
 * libcurl (common/cluster.c).
 */
#ifndef KUMO_COMMON_KEEPCONN_H
#define KUMO_COMMON_KEEPCONN_H

#include <stddef.h>

#define KC_HOST_MAX 256

/* One request: to host ("ip:port", "[ip6]:port"), head the request line
 * and headers up to and with the empty line, then body_len bytes of body
 * (NULL when none). Strings and body are the caller's. */
struct kc_req {
	const char *host;
	const char *head;
	size_t head_len;
	const void *body;
	size_t body_len;
	int status;	/* out: the answer's status; 0 when none came */
	char etag[33];	/* out: the answer's ETag, unquoted (or "") */
	int fd, reused; /* kc_send's own, for kc_collect */
	double deadline;
};

/*
 * Send the n requests at once over pooled keep-alive connections (or new
 * ones, each connect bounded by conn_timeout seconds), then read their
 * answers (bounded by node_timeout after the sends; a pooled connection
 * the server closed meanwhile is replaced once, the request sent again:
 * only for requests that may be repeated). Sets each status and etag.
 * Any thread; blocks.
 */
void kc_send_all(struct kc_req *r, int n, double conn_timeout,
		 double node_timeout);

/* kc_send_all in two halves, so that the caller can work while the
 * servers do: kc_send sends (blocking only on connects and sends) and
 * leaves each connection in r; kc_collect, called once with the same
 * arguments, reads the answers and pools or closes every connection.
 * Any thread, the same for both. */
void kc_send(struct kc_req *r, int n, double conn_timeout, double node_timeout);
void kc_collect(struct kc_req *r, int n, double conn_timeout,
		double node_timeout);

/* Close the pooled connections (at exit; tests). */
void kc_drain(void);

#endif
