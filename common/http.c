/*
 * common/http.c: the HTTP server layer over libmicrohttpd (see http.h).
 *
 * libmicrohttpd calls on_access several times per request: once with the
 * headers, once per body chunk, once at the end of the body. It accepts a
 * queued response only on the first and the last of these calls, so a
 * reply made while the body is still arriving is held (pending) and queued
 * at the end, the rest of the body being discarded meanwhile. A reply to a
 * GET or HEAD without a body is held until the last call too, because a
 * response queued on the first call closes the connection. (Other bodiless
 * requests are not held: libmicrohttpd 0.9.75 was seen to wait for their
 * last call until the connection timed out.) A server with drain_early
 * holds the reply made at the headers of a body sent without Expect:
 * 100-continue as well.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <microhttpd.h>

#include "common/buf.h"
#include "common/http.h"
#include "common/log.h"
#include "common/textput.h"

struct http_server {
	struct MHD_Daemon *mhd;
	struct http_server_opts opts;
	int port;
};

struct http_request {
	struct http_server *srv;
	struct MHD_Connection *conn;
	const struct http_handler *h;
	void *state;
	char *method;
	char *raw_path;
	char txn[64];
	struct buf hdrs; /* the reply's headers: "name\0value\0" each */
	int nhdrs;
	struct MHD_Response *pending;
	int status;
	int replied;
	int phase; /* 0 headers, 1 body, 2 end */
	uint64_t bytes_out;
	struct timespec start;
	char **decoded; /* query values decoded on demand */
	int ndecoded;
};

struct stream_ctx {
	struct http_request *req;
	ssize_t (*read)(void *ctx, uint64_t pos, char *buf, size_t max);
	void (*done)(void *ctx);
	void *ctx;
};

const char *http_method(const struct http_request *req)
{
	return req->method;
}

const char *http_raw_path(const struct http_request *req)
{
	return req->raw_path;
}

const char *http_txn(const struct http_request *req)
{
	return req->txn;
}

void *http_app(const struct http_request *req)
{
	return req->srv->opts.app;
}

void *http_state(const struct http_request *req)
{
	return req->state;
}

void http_set_state(struct http_request *req, void *state)
{
	req->state = state;
}

int http_replied(const struct http_request *req)
{
	return req->replied;
}

const char *http_header(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_footer(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_FOOTER_KIND, name);
}

struct each_ctx {
	void (*fn)(const char *, const char *, void *);
	void *arg;
};

static enum MHD_Result each_cb(void *cls, enum MHD_ValueKind kind,
			       const char *key, const char *value)
{
	struct each_ctx *e = cls;

	(void)kind;
	e->fn(key, value ? value : "", e->arg);
	return MHD_YES;
}

void http_each_header(const struct http_request *req,
		      void (*fn)(const char *name, const char *value,
				 void *arg),
		      void *arg)
{
	struct each_ctx e = {fn, arg};

	MHD_get_connection_values(req->conn, MHD_HEADER_KIND, each_cb, &e);
}

void http_each_query(const struct http_request *req,
		     void (*fn)(const char *name, const char *value, void *arg),
		     void *arg)
{
	struct each_ctx e = {fn, arg};

	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, each_cb,
				  &e);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decode src into dst (plus is a space when plus_space). */
static int pct_decode(const char *src, size_t n, char *dst, int plus_space)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (src[i] == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -EINVAL;
			hi = hexval((unsigned char)src[i + 1]);
			lo = hexval((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -EINVAL;
			dst[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (plus_space && src[i] == '+') {
			dst[o++] = ' ';
		} else {
			dst[o++] = src[i];
		}
	}
	dst[o] = '\0';
	return (int)o;
}

int http_query_has(const struct http_request *req, const char *name)
{
	const char *v = NULL;
	size_t vlen = 0;

	return MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND,
					     name, strlen(name), &v,
					     &vlen) == MHD_YES;
}

const char *http_query(const struct http_request *req, const char *name)
{
	struct http_request *r = (struct http_request *)req;
	const char *raw = MHD_lookup_connection_value(
		req->conn, MHD_GET_ARGUMENT_KIND, name);
	char *dec, **grown;

	if (!raw)
		return NULL;
	dec = malloc(strlen(raw) + 1);
	if (!dec)
		return NULL;
	if (pct_decode(raw, strlen(raw), dec, 1) < 0) {
		free(dec);
		return NULL;
	}
	grown = realloc(r->decoded, sizeof(*grown) * (size_t)(r->ndecoded + 1));
	if (!grown) {
		free(dec);
		return NULL;
	}
	r->decoded = grown;
	r->decoded[r->ndecoded++] = dec;
	return dec;
}

int64_t http_content_length(const struct http_request *req)
{
	return http_header_length(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
}

int64_t http_header_length(const struct http_request *req, const char *name)
{
	const char *v = http_header(req, name);
	char *end;
	long long n;

	if (!v)
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || end == v || *end || n < 0)
		return -1;
	return n;
}

int http_split_path(const char *raw, char *buf, size_t buflen, char **segs,
		    int max)
{
	const char *p = raw;
	size_t used = 0;
	int n = 0;

	if (*p != '/' || max <= 0)
		return -EINVAL;
	p++;
	while (n < max) {
		const char *end = n == max - 1 ? p + strlen(p) : strchr(p, '/');
		size_t len;
		int got;

		if (!end)
			end = p + strlen(p);
		len = (size_t)(end - p);
		if (used + len + 1 > buflen)
			return -EINVAL;
		got = pct_decode(p, len, buf + used, 0);
		if (got < 0)
			return -EINVAL;
		segs[n++] = buf + used;
		used += (size_t)got + 1;
		if (!*end)
			break;
		p = end + 1;
	}
	return n;
}

void http_add_header(struct http_request *req, const char *name,
		     const char *value)
{
	size_t nl = strlen(name) + 1, vl = strlen(value) + 1;

	/* one buffer for all of them: a reply's dozen headers were three
	 * allocations each (the array grown, two copies) */
	if (buf_reserve(&req->hdrs,
			req->hdrs.cap || nl + vl > 512 ? nl + vl : 512))
		return;
	if (buf_append(&req->hdrs, name, nl) ||
	    buf_append(&req->hdrs, value, vl))
		return; /* reserved: cannot fail */
	req->nhdrs++;
}

void http_add_headerf(struct http_request *req, const char *name,
		      const char *fmt, ...)
{
	char value[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	http_add_header(req, name, value);
}

/* Attach the collected headers and queue now, or hold until the end. */
static void finish_reply(struct http_request *req, int status,
			 struct MHD_Response *resp)
{
	const char *h = (const char *)req->hdrs.data;
	int i;

	if (req->replied || !resp) {
		if (resp)
			MHD_destroy_response(resp);
		return;
	}
	for (i = 0; i < req->nhdrs; i++) {
		const char *v = h + strlen(h) + 1;

		MHD_add_response_header(resp, h, v);
		h = v + strlen(v) + 1;
	}
	MHD_add_response_header(resp, "X-Trans-Id", req->txn);
	MHD_add_response_header(resp, "X-Openstack-Request-Id", req->txn);
	req->replied = 1;
	req->status = status;
	if (req->phase == 1) {
		req->pending = resp;
		return;
	}
	if (MHD_queue_response(req->conn, (unsigned)status, resp) != MHD_YES)
		log_err("txn=%s could not queue a %d response", req->txn,
			status);
	MHD_destroy_response(resp);
}

void http_reply(struct http_request *req, int status, const void *body,
		size_t len)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(len, (void *)body,
					       MHD_RESPMEM_MUST_COPY);
	if (strcmp(req->method, "HEAD") != 0)
		req->bytes_out += len;
	finish_reply(req, status, resp);
}

void http_reply_take(struct http_request *req, int status, void *body,
		     size_t len)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer_with_free_callback(len, body,
								  free);
	if (!resp)
		free(body);
	if (strcmp(req->method, "HEAD") != 0)
		req->bytes_out += len;
	finish_reply(req, status, resp);
}

void http_reply_error(struct http_request *req, int status, const char *fmt,
		      ...)
{
	char msg[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(msg) - 2)
		n = (int)sizeof(msg) - 2;
	msg[n++] = '\n';
	http_add_header(req, "Content-Type", "text/plain; charset=UTF-8");
	/* a HEAD error says Content-Length: 0, so that a client that keeps
	 * the connection does not wait for a body that will never come */
	if (!strcmp(req->method, "HEAD"))
		n = 0;
	http_reply(req, status, msg, (size_t)n);
}

/* The largest piece a streamed reply is read in: the proxy's GET has
 * curl write a large body straight into it (cluster_get_read), most of it
 * when it holds a few of curl's 256 KiB reads; objectd's O_DIRECT reader
 * fills it with one of its 1 MiB blocks (objectd/dioread.c). */
#define HTTP_STREAM_BLOCK (1024 * 1024)

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream_ctx *s = cls;
	ssize_t n = s->read(s->ctx, pos, buf, max);

	if (n > 0) {
		s->req->bytes_out += (uint64_t)n;
		return n;
	}
	return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM
		      : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_free(void *cls)
{
	struct stream_ctx *s = cls;

	if (s->done)
		s->done(s->ctx);
	free(s);
}

void http_reply_stream(struct http_request *req, int status, int64_t size,
		       ssize_t (*read)(void *ctx, uint64_t pos, char *buf,
				       size_t max),
		       void *ctx, void (*done)(void *ctx))
{
	struct stream_ctx *s = calloc(1, sizeof(*s));
	size_t block = HTTP_STREAM_BLOCK;
	struct MHD_Response *resp;

	if (!s) {
		if (done)
			done(ctx);
		http_reply_error(req, 500, "out of memory");
		return;
	}
	*s = (struct stream_ctx){req, read, done, ctx};
	/* libmicrohttpd callocs the block with the response: no 64 KiB to
	 * clear for a small body */
	if (size >= 0 && size < HTTP_STREAM_BLOCK)
		block = size < 512 ? 512 : (size_t)size;
	/* nor a block for a HEAD's body, which is never read (a HEAD of a
	 * big object cleared 256 KiB) */
	if (!strcmp(req->method, "HEAD"))
		block = 512;
	resp = MHD_create_response_from_callback(
		size < 0 ? MHD_SIZE_UNKNOWN : (uint64_t)size, block,
		stream_read, s, stream_free);
	if (!resp) {
		stream_free(s);
		http_reply_error(req, 500, "out of memory");
		return;
	}
	finish_reply(req, status, resp);
}

/* xorshift128+ of this thread, seeded once from getrandom: a transaction
 * id a request, without a system call each */
static __thread uint64_t t_rng[2];

static uint64_t txn_random(void)
{
	uint64_t a = t_rng[0], b = t_rng[1];

	if (!a && !b) {
		struct timespec now;

		if (getrandom(t_rng, sizeof(t_rng), 0) !=
			    (ssize_t)sizeof(t_rng) ||
		    (!t_rng[0] && !t_rng[1])) {
			clock_gettime(CLOCK_REALTIME, &now);
			t_rng[0] = (uint64_t)now.tv_nsec << 32 ^
				   (uint64_t)now.tv_sec;
			t_rng[1] = (uint64_t)(uintptr_t)&now | 1;
		}
		a = t_rng[0];
		b = t_rng[1];
	}
	t_rng[0] = b;
	a ^= a << 23;
	t_rng[1] = a ^ b ^ (a >> 17) ^ (b >> 26);
	return t_rng[1] + b;
}

static void make_txn(struct http_request *req)
{
	static const char hex[] = "0123456789abcdef";
	const char *given = http_header(req, "X-Trans-Id");
	uint64_t r[2];
	const unsigned char *rnd = (const unsigned char *)r;
	uint64_t t;
	int i;

	if (given && *given && strlen(given) < sizeof(req->txn)) {
		snprintf(req->txn, sizeof(req->txn), "%s", given);
		return;
	}
	r[0] = txn_random();
	r[1] = txn_random();
	req->txn[0] = 't';
	req->txn[1] = 'x';
	for (i = 0; i < 11; i++) {
		req->txn[2 + 2 * i] = hex[rnd[i] >> 4];
		req->txn[3 + 2 * i] = hex[rnd[i] & 15];
	}
	/* "-%010lx" of the time, without a printf a request */
	t = (uint64_t)time(NULL);
	req->txn[24] = '-';
	for (i = 0; i < 10; i++)
		req->txn[25 + i] = hex[(t >> (4 * (9 - i))) & 15];
	req->txn[35] = '\0';
}

/* Whether the client waits for 100 Continue before its body. */
static int expects_continue(struct http_request *req)
{
	const char *v = http_header(req, MHD_HTTP_HEADER_EXPECT);

	return v && !strcasecmp(v, "100-continue");
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn,
				 const char *url, const char *method,
				 const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct http_request *req = *con_cls;

	(void)version;
	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*con_cls = req;
		req->srv = srv;
		req->conn = conn;
		clock_gettime(CLOCK_MONOTONIC, &req->start);
		req->method = strdup(method);
		req->raw_path = strdup(url);
		if (!req->method || !req->raw_path)
			return MHD_NO;
		make_txn(req);
		/* without a body, hold even an early reply until the last
		 * call: libmicrohttpd keeps the connection alive only then
		 * (a PUT or POST answered at its headers is closed after the
		 * reply, so a backend's keep-alive would end at each row
		 * update) */
		if (!http_header(req, MHD_HTTP_HEADER_TRANSFER_ENCODING) &&
		    http_content_length(req) <= 0)
			req->phase = 1;
		/* a body sent without waiting for 100 Continue: an answer
		 * held till its end lets it be read, and the connection
		 * live on, where one queued now closes it unread (the
		 * client, still sending, may lose the answer to a reset) */
		else if (srv->opts.drain_early && !expects_continue(req))
			req->phase = 1;
		req->h = srv->opts.route(req);
		if (req->h->on_headers)
			req->h->on_headers(req);
		return MHD_YES;
	}
	if (*upload_data_size) {
		req->phase = 1;
		if (!req->replied && req->h->on_body)
			req->h->on_body(req, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	req->phase = 2;
	if (req->pending) {
		MHD_queue_response(conn, (unsigned)req->status, req->pending);
		MHD_destroy_response(req->pending);
		req->pending = NULL;
		return MHD_YES;
	}
	if (!req->replied && req->h->on_end)
		req->h->on_end(req);
	if (!req->replied)
		http_reply_error(req, 500, "the server did not answer");
	return MHD_YES;
}

/* The message of req's access log line into m (room: len bytes): that of
 * "%s %s %s %d %llu %llu.%04u txn=%s%s" (name, method, path, status,
 * bytes, t tenths of a millisecond as seconds, txn, tail), built without
 * printf, which was most of the cost of the line. 0, or -1 when it does
 * not fit (the caller prints it then). */
static int access_line(char *m, size_t len, const char *name,
		       const struct http_request *req, unsigned long long t,
		       const char *tail)
{
	const char *end = m + len;
	char *o = m;

	if (!name || req->status < 0 || text_put(&o, end, name) ||
	    text_put(&o, end, " ") ||
	    text_put(&o, end, req->method ? req->method : "-") ||
	    text_put(&o, end, " ") ||
	    text_put(&o, end, req->raw_path ? req->raw_path : "-") ||
	    text_put(&o, end, " ") ||
	    text_put_uint(&o, end, (unsigned)req->status, 1) ||
	    text_put(&o, end, " ") ||
	    text_put_uint(&o, end, req->bytes_out, 1) ||
	    text_put(&o, end, " ") || text_put_uint(&o, end, t / 10000, 1) ||
	    text_put(&o, end, ".") || text_put_uint(&o, end, t % 10000, 4) ||
	    text_put(&o, end, " txn=") || text_put(&o, end, req->txn) ||
	    text_put(&o, end, tail))
		return -1;
	*o = '\0';
	return 0;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct http_request *req = *con_cls;
	struct timespec now;
	unsigned long long t; /* the duration in 0.1 ms, rounded */
	const char *tail;
	char line[2048];
	int i;

	(void)conn;
	if (!req)
		return;
	if (req->h && req->h->on_close)
		req->h->on_close(req,
				 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* in integers: a %.4f of the seconds cost a float formatting on
	 * every request */
	t = ((unsigned long long)(now.tv_sec - req->start.tv_sec) *
		     1000000000ULL +
	     (unsigned long long)now.tv_nsec -
	     (unsigned long long)req->start.tv_nsec + 50000) /
	    100000;
	tail = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? ""
							  : " (client gone)";
	if (LOG_INFO <= log_current_level) {
		if (!access_line(line, sizeof(line), srv->opts.log_name, req, t,
				 tail))
			log_info_text(line);
		else /* too long for line: log_info cuts it as before */
			log_info("%s %s %s %d %llu %llu.%04u txn=%s%s",
				 srv->opts.log_name,
				 req->method ? req->method : "-",
				 req->raw_path ? req->raw_path : "-",
				 req->status,
				 (unsigned long long)req->bytes_out, t / 10000,
				 (unsigned)(t % 10000), req->txn, tail);
	}
	if (req->pending)
		MHD_destroy_response(req->pending);
	for (i = 0; i < req->ndecoded; i++)
		free(req->decoded[i]);
	free(req->decoded);
	buf_free(&req->hdrs);
	free(req->method);
	free(req->raw_path);
	free(req);
	*con_cls = NULL;
}

/* Keep the URL as sent: handlers decode paths and queries themselves. */
static size_t keep_escaped(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

int http_server_start(const struct http_server_opts *opts,
		      struct http_server **out)
{
	struct http_server *srv = calloc(1, sizeof(*srv));
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;
	size_t mem =
		opts->max_header_bytes ? opts->max_header_bytes : 64 * 1024;

	if (!srv)
		return -ENOMEM;
	srv->opts = *opts;
	if (opts->conn_memory)
		mem = opts->conn_memory;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)opts->port);
	if (inet_pton(AF_INET, opts->ip, &sa.sin_addr) != 1) {
		log_err("bind_ip %s is not an IPv4 address", opts->ip);
		free(srv);
		return -EINVAL;
	}
	srv->mhd = MHD_start_daemon(
		MHD_USE_THREAD_PER_CONNECTION |
			MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
		0, NULL, NULL, on_access, srv, MHD_OPTION_SOCK_ADDR, &sa,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
		MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, NULL,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem,
		MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)(opts->timeout_s ? opts->timeout_s : 60),
		MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_END);
	if (!srv->mhd) {
		log_err("cannot listen on %s:%d", opts->ip, opts->port);
		free(srv);
		return -EADDRINUSE;
	}
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = info ? info->port : opts->port;
	*out = srv;
	return 0;
}

int http_server_port(const struct http_server *srv)
{
	return srv->port;
}

void http_server_stop(struct http_server *srv)
{
	if (!srv)
		return;
	MHD_stop_daemon(srv->mhd);
	free(srv);
}
