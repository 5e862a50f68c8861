/*
 * common/http.h: the HTTP server every kumo daemon is built on, a thin
 * layer over libmicrohttpd.
 *
 * A daemon gives a route function that picks a handler (a small vtable) for
 * each request from its method and path. The handler's callbacks run in
 * the connection's own thread (libmicrohttpd's thread-per-connection mode),
 * so they may block on disk or network:
 *
 *   headers in --on_headers--> (replied: done) | body expected
 *   body chunk --on_body-->     (replied: done, rest discarded) | more
 *   body end   --on_end-->      must reply
 *   always, last: on_close(completed): free per-request state; completed
 *   is 0 when the client went away first (a truncated upload).
 *
 * Handlers never touch sockets: they reply through http_reply*(). Every
 * request gets a transaction id (the client's X-Trans-Id if it sent one,
 * so that a proxy's id follows its backend requests) returned in
 * X-Trans-Id, and one access-log line: method, path, status, bytes,
 * duration, txn.
 */
#ifndef KUMO_COMMON_HTTP_H
#define KUMO_COMMON_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct http_request;
struct http_server;

struct http_handler {
	/* Headers are in. Reply to finish, or return to get the body. */
	void (*on_headers)(struct http_request *req);
	/* A chunk of the body; may reply (the rest is then discarded). */
	void (*on_body)(struct http_request *req, const char *data, size_t len);
	/* The whole body has arrived: must reply. */
	void (*on_end)(struct http_request *req);
	/* Last call for every request; free what the handler allocated. */
	void (*on_close)(struct http_request *req, int completed);
};

/* Picks the handler for a request (never NULL: use an error handler). */
typedef const struct http_handler *(*http_route_fn)(struct http_request *req);

struct http_server_opts {
	const char *ip; /* address to bind, e.g. "127.0.0.1" */
	int port;
	http_route_fn route;
	void *app;		 /* given back by http_app() */
	const char *log_name;	 /* for the access log, e.g. "object-server" */
	size_t max_header_bytes; /* per request; beyond it: 431 */
	int timeout_s;		 /* idle connection timeout */
	/* a request with a body but no Expect: 100-continue that is
	 * answered before its body ended: 1, the rest of the body is read
	 * and dropped and the answer sent after it, the connection kept
	 * (the backend servers: kumo's internal client sends a body it
	 * holds whole without the handshake); 0, the answer goes at once
	 * and the connection is closed unread (the proxy's clients) */
	int drain_early;
	/* libmicrohttpd's memory per connection, 0: max_header_bytes (64
	 * KiB by default). Half of it is the read buffer: a body arrives
	 * in pieces of at most that, each after its own select and recv.
	 * libmicrohttpd zeroes all of it at every request, so a server
	 * of large bodies (objectd) sets it larger and the others keep
	 * the default. Headers up to about half of it are accepted. */
	size_t conn_memory;
};

/* Start serving; *out owns the server. 0 or -errno (logged). */
int http_server_start(const struct http_server_opts *opts,
		      struct http_server **out);

/* Stop accepting, finish or drop connections, free the server. */
void http_server_stop(struct http_server *srv);

/* The port actually bound (useful when opts->port was 0). */
int http_server_port(const struct http_server *srv);

/* --- the request --------------------------------------------------------- */

const char *http_method(const struct http_request *req);
/* The path as sent (still percent-encoded), without the query string. */
const char *http_raw_path(const struct http_request *req);
/* A request header (case-insensitive name), or NULL. */
const char *http_header(const struct http_request *req, const char *name);
/* A trailer of a chunked request body (case-insensitive name), or NULL;
 * known in the handler's on_end only. */
const char *http_footer(const struct http_request *req, const char *name);
/* A query argument, decoded, or NULL ("" for a key without value). */
const char *http_query(const struct http_request *req, const char *name);
/* 1 when the query has the argument name, with or without a value
 * ("?inline"), else 0. */
int http_query_has(const struct http_request *req, const char *name);
/* Content-Length, or -1 when absent (e.g. chunked). */
int64_t http_content_length(const struct http_request *req);
/* The length in header name (digits only), or -1 when absent or bad. */
int64_t http_header_length(const struct http_request *req, const char *name);
const char *http_txn(const struct http_request *req);
void *http_app(const struct http_request *req);
/* Per-request state of the handler. */
void *http_state(const struct http_request *req);
void http_set_state(struct http_request *req, void *state);
/* Call fn(name, value, arg) for every request header. */
void http_each_header(const struct http_request *req,
		      void (*fn)(const char *name, const char *value,
				 void *arg),
		      void *arg);
int http_replied(const struct http_request *req);
/* Call fn(name, value, arg) for every query argument, both as sent
 * (percent-encoded; value "" for "?name" without a value). */
void http_each_query(const struct http_request *req,
		     void (*fn)(const char *name, const char *value, void *arg),
		     void *arg);

/*
 * Split a percent-encoded path "/a/b/c..." into at most max segments, the
 * last one taking the rest (slashes included), decoding each. Segments
 * point into buf (of buflen bytes). Returns the count, or -EINVAL for bad
 * percent-encoding, an encoded NUL, or a path not starting with '/'.
 */
int http_split_path(const char *raw, char *buf, size_t buflen, char **segs,
		    int max);

/* --- replies ------------------------------------------------------------- */

/* Add a response header for the coming reply (copied). */
void http_add_header(struct http_request *req, const char *name,
		     const char *value);
void http_add_headerf(struct http_request *req, const char *name,
		      const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reply with a body held in memory (copied). */
void http_reply(struct http_request *req, int status, const void *body,
		size_t len);

/* Reply with a malloc'd body, which the reply takes over (no copy; freed
 * when sent, or at once when the reply cannot be made). */
void http_reply_take(struct http_request *req, int status, void *body,
		     size_t len);

/* Reply with a short text/plain body naming the problem. */
void http_reply_error(struct http_request *req, int status, const char *fmt,
		      ...) __attribute__((format(printf, 3, 4)));

/*
 * Reply with a streamed body of size bytes (-1: unknown, sent chunked).
 * read(ctx, pos, buf, max) returns bytes written into buf, 0 at the end,
 * or -1 on error (the connection is then cut, so a client never takes a
 * short body for a whole one). done(ctx) is called once at the end. For
 * HEAD, read is never called.
 */
void http_reply_stream(struct http_request *req, int status, int64_t size,
		       ssize_t (*read)(void *ctx, uint64_t pos, char *buf,
				       size_t max),
		       void *ctx, void (*done)(void *ctx));

#endif
