/*
 * volume/nbd.c: the NBD server. It speaks the fixed newstyle handshake
 * (options GO, INFO, EXPORT_NAME, LIST, ABORT, STRUCTURED_REPLY,
 * LIST/SET_META_CONTEXT with base:allocation, STARTTLS through OpenSSL)
 * and the transmission phase (READ, WRITE, FLUSH, TRIM, WRITE_ZEROES,
 * BLOCK_STATUS, DISC), and turns every request into one call of the
 * export vtable (export.h). It leaves to others what an export is, which
 * names exist and who may open them (struct vol_exports, given by
 * volumed), and durability (the vtable's flush and VOL_FUA).
 *
 * One thread per connection runs the handshake, then it and the other
 * worker threads of that connection take turns at reading: the one that
 * holds the read lock reads one request (and its payload), lets go of the
 * lock, calls the export and writes the reply while another reads the
 * next request. qemu and nbdcopy keep many requests in flight; replies
 * may go out of order (the protocol only asks that a FLUSH covers the
 * writes replied to before it, which the vtable's flush gives). No queue
 * and no hand-off between threads: a request costs no wake-up on its way
 * (nbdkit's threads work the same way).
 *
 * The life of a connection:
 *
 *   accept ─► HELLO ─► OPTIONS ◄───────────────┐ each option gets its
 *               │        │ │                   │ replies (opt_*)
 *               │        │ └─ STARTTLS, ACK ─► TLS handshake (tls_start)
 *               │        ├─ ABORT, bad magic, EOF, timeout ─► CLOSED
 *               │        └─ GO (ACK) or EXPORT_NAME ─► TRANSMISSION
 *               └─ unknown client flags ─► CLOSED
 *   TRANSMISSION: each worker in turn: read lock, read a request (+
 *                 WRITE payload), unlock ─► check, vtable call, reply
 *                 DISC, EOF, bad magic, huge payload ─► closing: the
 *                 workers finish what they hold, end ─► CLOSED
 *
 * Invariants:
 *  1. Only the thread holding c->rlock reads from the socket (in the
 *     handshake: the connection thread, alone).
 *  2. Every write to the socket holds c->wlock and writes one whole
 *     message (option reply, simple reply or one structured chunk), so
 *     messages never interleave.
 *  3. With TLS every SSL_* call on the connection holds c->tls_lock
 *     (reader and workers use the one SSL object) and the socket is
 *     non-blocking; waits happen in poll() with the lock released.
 *  4. A request's payload is read whole (or skipped) before the next
 *     header: the stream never desynchronises; what cannot be skipped
 *     closes the connection. An export with pwrite_from takes a WRITE's
 *     payload that is whole in the socket's receive queue into its own
 *     memory, in the reader (place_payload): a stalled client never
 *     holds the export's locks; the worker then calls pwrite_end.
 *  5. A worker holds at most one request, and the READ and WRITE buffers
 *     (those not placed) of all connections together stay under
 *     NBD_PAYLOAD_BUDGET
 *     (payload_get waits for room): clients cannot make us hold more.
 *  6. The export is opened by GO or EXPORT_NAME and closed (exports->
 *     close) only after every worker of the connection has ended.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/buf.h"
#include "common/log.h"
#include "volume/nbd.h"
#include "volume/nbd_proto.h"

#define NBD_DEFAULT_MAX_CONNS 64
#define NBD_DEFAULT_WORKERS   16
#define NBD_HANDSHAKE_MS      30000	   /* idle limit before transmission */
#define NBD_SKIP_LIMIT	      (256u << 20) /* oversized WRITE we read away */
#define NBD_PAYLOAD_BUDGET    (512u << 20) /* buffers of all connections */
/* payload buffers of up to NBD_SPARE_LEN bytes are NBD_SPARE_LEN long and
 * reused, NBD_SPARES kept at most: a fresh 1 MiB buffer per WRITE costs
 * a page fault and a cleared page per 4 KiB (~15% of kumo-volumed's CPU
 * for sequential writes) */
#define NBD_SPARE_LEN	(1u << 20)
#define NBD_SPARES	32
#define NBD_MAX_EXTENTS 8192 /* per BLOCK_STATUS reply */

struct nbd_req {
	uint16_t flags;
	uint16_t type;
	uint64_t handle;
	uint64_t off;
	uint32_t len;
	uint8_t *data; /* WRITE payload, owned */
	int err;       /* set by the reader: refuse without calling */
	int placed;    /* WRITE payload in the export (pwrite_from) */
};

struct nbd_server {
	struct vol_exports exports;
	SSL_CTX *tls;
	int tls_required;
	int max_conns;
	int nworkers;
	int lfd;
	int port;
	pthread_t listener;
	pthread_mutex_t lock; /* conns, nconns, stopping */
	pthread_cond_t cond;  /* a connection ended */
	struct nbd_conn *conns;
	int nconns;
	int stopping;
	pthread_mutex_t plock; /* payload_bytes, spares */
	pthread_cond_t pcond;  /* payload memory was given back */
	uint64_t payload_bytes;
	void *spares; /* NBD_SPARE_LEN buffers, linked by their first bytes */
	int nspares;
};

struct nbd_conn {
	struct nbd_server *srv;
	struct nbd_conn *prev, *next; /* srv->conns, under srv->lock */
	int fd;
	char peer[64];
	int timeout_ms; /* poll limit for TLS I/O; -1 none */
	SSL *ssl;
	pthread_mutex_t tls_lock; /* every SSL_* call (invariant 3) */
	pthread_mutex_t wlock;	  /* one message at a time (invariant 2) */
	int broken;		  /* a write failed: later ones fail fast */

	/* negotiated in the handshake */
	int no_zeroes;
	int structured;
	int meta_alloc; /* base:allocation selected */
	char meta_export[NBD_MAX_STRING + 1];
	struct vol_export exp;
	int exp_open;
	uint64_t size;
	uint16_t tflags;
	uint32_t min_block;

	/* transmission */
	pthread_mutex_t rlock; /* the right to read (invariant 1) */
	int closing;	       /* under rlock: no more requests */
	pthread_t *workers;
	int nworkers;
};

/* The one place where an errno becomes an NBD error value. */
static uint32_t nbd_errno(int err)
{
	switch (err < 0 ? -err : err) {
	case 0:
		return 0;
	case EPERM:
	case EACCES:
	case EROFS:
		return NBD_EPERM;
	case ENOMEM:
		return NBD_ENOMEM;
	case EINVAL:
		return NBD_EINVAL;
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		return NBD_ENOSPC;
	case EOVERFLOW:
		return NBD_EOVERFLOW;
	case ENOTSUP:
		return NBD_ENOTSUP;
	case ESHUTDOWN:
		return NBD_ESHUTDOWN;
	default:
		return NBD_EIO;
	}
}

static void log_tls_errors(const char *peer, const char *what)
{
	char msg[256];
	unsigned long e = ERR_get_error();

	if (!e) {
		log_warn("%s: %s failed", peer, what);
		return;
	}
	ERR_error_string_n(e, msg, sizeof(msg));
	log_warn("%s: %s: %s", peer, what, msg);
	ERR_clear_error();
}

/* ---- socket and TLS I/O --------------------------------------------- */

/* Wait for the socket after SSL asked for it. 0, -ETIMEDOUT or -errno. */
static int tls_wait(struct nbd_conn *c, int ssl_err)
{
	struct pollfd p = {.fd = c->fd};
	int r;

	p.events = ssl_err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
	do
		r = poll(&p, 1, c->timeout_ms);
	while (r == -1 && errno == EINTR);
	if (r == -1)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

/*
 * Read exactly len bytes. 0, -ECONNRESET at end of stream, -ETIMEDOUT in
 * the handshake, -EIO on a TLS failure. Holder of c->rlock only (inv. 1).
 */
static int conn_recv(struct nbd_conn *c, void *buf, size_t len)
{
	uint8_t *p = buf;
	ssize_t n;
	int err, r;

	while (len) {
		if (!c->ssl) {
			n = recv(c->fd, p, len, 0);
			if (n == 0)
				return -ECONNRESET;
			if (n == -1) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					return -ETIMEDOUT;
				return -errno;
			}
		} else {
			pthread_mutex_lock(&c->tls_lock);
			r = SSL_read(c->ssl, p,
				     len > INT32_MAX ? INT32_MAX : (int)len);
			err = r > 0 ? 0 : SSL_get_error(c->ssl, r);
			if (err && err != SSL_ERROR_WANT_READ &&
			    err != SSL_ERROR_WANT_WRITE)
				ERR_clear_error();
			pthread_mutex_unlock(&c->tls_lock);
			if (err == SSL_ERROR_WANT_READ ||
			    err == SSL_ERROR_WANT_WRITE) {
				r = tls_wait(c, err);
				if (r)
					return r;
				continue;
			}
			if (err == SSL_ERROR_ZERO_RETURN ||
			    err == SSL_ERROR_SYSCALL)
				return -ECONNRESET;
			if (err)
				return -EIO;
			n = r;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read and drop len bytes (a payload we refuse). */
static int conn_skip(struct nbd_conn *c, uint64_t len)
{
	uint8_t scratch[65536];
	size_t n;
	int r;

	while (len) {
		n = len > sizeof(scratch) ? sizeof(scratch) : (size_t)len;
		r = conn_recv(c, scratch, n);
		if (r)
			return r;
		len -= n;
	}
	return 0;
}

static int tls_send_all(struct nbd_conn *c, const uint8_t *p, size_t len)
{
	int r, err;

	while (len) {
		pthread_mutex_lock(&c->tls_lock);
		r = SSL_write(c->ssl, p,
			      len > INT32_MAX ? INT32_MAX : (int)len);
		err = r > 0 ? 0 : SSL_get_error(c->ssl, r);
		if (err && err != SSL_ERROR_WANT_READ &&
		    err != SSL_ERROR_WANT_WRITE)
			ERR_clear_error();
		pthread_mutex_unlock(&c->tls_lock);
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
			r = tls_wait(c, err);
			if (r)
				return r;
			continue;
		}
		if (err)
			return -EPIPE;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

/*
 * Write one whole message made of iov (invariant 2: takes c->wlock). 0 or
 * -errno; after a failure every later write fails at once (the reader
 * sees the closed socket and ends the connection). Any thread.
 */
static int conn_send(struct nbd_conn *c, struct iovec *iov, int iovcnt)
{
	struct msghdr m;
	ssize_t n;
	int r = 0, i;

	pthread_mutex_lock(&c->wlock);
	if (c->broken) {
		r = -EPIPE;
		goto out;
	}
	if (c->ssl) {
		for (i = 0; i < iovcnt && !r; i++)
			r = tls_send_all(c, iov[i].iov_base, iov[i].iov_len);
		goto out;
	}
	while (iovcnt) {
		memset(&m, 0, sizeof(m));
		m.msg_iov = iov;
		m.msg_iovlen = (size_t)iovcnt;
		n = sendmsg(c->fd, &m, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		while (iovcnt && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
out:
	if (r) {
		c->broken = 1;
		log_debug("%s: write failed: %s", c->peer, strerror(-r));
	}
	pthread_mutex_unlock(&c->wlock);
	return r;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

/* ---- handshake ------------------------------------------------------ */

/* One option reply: header, then data (may be NULL with len 0). */
static int opt_reply(struct nbd_conn *c, uint32_t opt, uint32_t type,
		     const void *data, uint32_t len)
{
	uint8_t h[NBD_OPT_REPLY_LEN];
	struct iovec iov[2] = {{h, sizeof(h)}, {(void *)data, len}};

	put64(h, NBD_REP_MAGIC);
	put32(h + 8, opt);
	put32(h + 12, type);
	put32(h + 16, len);
	return conn_send(c, iov, len ? 2 : 1);
}

/* An error reply with a message for the person behind the client. */
static int opt_error(struct nbd_conn *c, uint32_t opt, uint32_t type,
		     const char *msg)
{
	return opt_reply(c, opt, type, msg, (uint32_t)strlen(msg));
}

/* What the client sees in the transmission flags of export e. */
static uint16_t export_tflags(const struct nbd_conn *c,
			      const struct vol_export *e)
{
	uint16_t f = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH |
		     NBD_FLAG_CAN_MULTI_CONN;

	if (c->structured)
		f |= NBD_FLAG_SEND_DF;
	if (e->read_only)
		f |= NBD_FLAG_READ_ONLY;
	else
		f |= NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM |
		     NBD_FLAG_SEND_WRITE_ZEROES;
	return f;
}

/* Open export name (NUL-terminated, checked) into c->exp. 0 or -errno. */
static int export_open(struct nbd_conn *c, const char *name)
{
	const struct vol_exports *x = &c->srv->exports;
	uint32_t mb;
	int r;

	memset(&c->exp, 0, sizeof(c->exp));
	r = x->open(x->ctx, name, &c->exp);
	if (r) {
		log_info("%s: export '%s' refused: %s", c->peer, name,
			 strerror(-r));
		return r;
	}
	mb = c->exp.min_block ? c->exp.min_block : 1;
	if (mb & (mb - 1) || mb > NBD_PREF_BLOCK)
		mb = 1; /* a bad hint must not wedge clients: any range */
	c->min_block = mb;
	c->exp_open = 1;
	c->size = c->exp.ops->size(c->exp.h);
	c->tflags = export_tflags(c, &c->exp);
	return 0;
}

static void export_close(struct nbd_conn *c)
{
	if (!c->exp_open)
		return;
	c->srv->exports.close(c->srv->exports.ctx, &c->exp);
	c->exp_open = 0;
}

/* The reply to an option whose export could not be opened. */
static int opt_open_error(struct nbd_conn *c, uint32_t opt, int err)
{
	switch (-err) {
	case ENOENT:
		return opt_error(c, opt, NBD_REP_ERR_UNKNOWN,
				 "no such export is served");
	case EPERM:
	case EACCES:
	case EBUSY:
		return opt_error(c, opt, NBD_REP_ERR_POLICY,
				 "export not available to this client");
	case ESHUTDOWN:
		return opt_error(c, opt, NBD_REP_ERR_SHUTDOWN,
				 "server shutting down");
	default:
		return opt_error(c, opt, NBD_REP_ERR_INVALID,
				 "export cannot be opened");
	}
}

static int valid_string(const uint8_t *p, uint32_t len)
{
	return len <= NBD_MAX_STRING && !memchr(p, 0, len);
}

static int list_one(void *arg, const char *name, const char *description)
{
	struct nbd_conn *c = arg;
	struct buf b = BUF_INIT;
	size_t nl = strlen(name);
	int r;

	r = buf_put_be32(&b, (uint32_t)nl);
	if (!r)
		r = buf_append(&b, name, nl);
	if (!r && description)
		r = buf_append(&b, description, strlen(description));
	if (!r)
		r = opt_reply(c, NBD_OPT_LIST, NBD_REP_SERVER, b.data,
			      (uint32_t)b.len);
	buf_free(&b);
	return r;
}

static int opt_list(struct nbd_conn *c, uint32_t len)
{
	const struct vol_exports *x = &c->srv->exports;
	int r;

	if (len)
		return opt_error(c, NBD_OPT_LIST, NBD_REP_ERR_INVALID,
				 "NBD_OPT_LIST takes no data");
	r = x->list ? x->list(x->ctx, list_one, c) : 0;
	if (c->broken)
		return -EPIPE;
	if (r)
		return opt_error(c, NBD_OPT_LIST, NBD_REP_ERR_INVALID,
				 "cannot list exports");
	return opt_reply(c, NBD_OPT_LIST, NBD_REP_ACK, NULL, 0);
}

/* NBD_REP_INFO of type info with body (len bytes). */
static int info_reply(struct nbd_conn *c, uint32_t opt, uint16_t info,
		      const void *body, size_t len)
{
	uint8_t d[2 + NBD_MAX_STRING];

	put16(d, info);
	memcpy(d + 2, body, len);
	return opt_reply(c, opt, NBD_REP_INFO, d, (uint32_t)(2 + len));
}

/*
 * NBD_OPT_INFO and NBD_OPT_GO: data is name length, name, request count,
 * requests. Sets *go when the export stays open for transmission.
 */
static int opt_info_go(struct nbd_conn *c, uint32_t opt, const uint8_t *d,
		       uint32_t len, int *go)
{
	char name[NBD_MAX_STRING + 1];
	uint32_t nl;
	uint16_t nreq, i, t;
	int want_name = 0, want_desc = 0, r;
	uint8_t v[12];

	if (len < 6)
		goto invalid;
	nl = be32_read(d);
	if (nl > len - 6 || !valid_string(d + 4, nl))
		goto invalid;
	nreq = be16_read(d + 4 + nl);
	if ((uint64_t)4 + nl + 2 + 2ull * nreq != len)
		goto invalid;
	for (i = 0; i < nreq; i++) {
		t = be16_read(d + 4 + nl + 2 + 2 * i);
		want_name |= t == NBD_INFO_NAME;
		want_desc |= t == NBD_INFO_DESCRIPTION;
	}
	memcpy(name, d + 4, nl);
	name[nl] = 0;

	r = export_open(c, name);
	if (r)
		return opt_open_error(c, opt, r);
	put64(v, c->size);
	put16(v + 8, c->tflags);
	r = info_reply(c, opt, NBD_INFO_EXPORT, v, 10);
	if (!r && want_name)
		r = info_reply(c, opt, NBD_INFO_NAME, c->exp.name,
			       strnlen(c->exp.name, sizeof(c->exp.name)));
	if (!r && want_desc && c->exp.description[0])
		r = info_reply(c, opt, NBD_INFO_DESCRIPTION, c->exp.description,
			       strnlen(c->exp.description,
				       sizeof(c->exp.description)));
	if (!r) {
		/* sent even when not asked: the protocol allows it */
		put32(v, c->min_block);
		put32(v + 4, NBD_PREF_BLOCK);
		put32(v + 8, NBD_MAX_PAYLOAD);
		r = info_reply(c, opt, NBD_INFO_BLOCK_SIZE, v, 12);
	}
	if (!r)
		r = opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
	if (r || opt == NBD_OPT_INFO) {
		export_close(c);
		return r;
	}
	/* contexts chosen for another export do not carry over */
	if (c->meta_alloc && strcmp(c->meta_export, name))
		c->meta_alloc = 0;
	*go = 1;
	return 0;
invalid:
	return opt_error(c, opt, NBD_REP_ERR_INVALID,
			 "malformed NBD_OPT_INFO/GO");
}

/* Does query q (qlen bytes) pick base:allocation? */
static int meta_matches(uint32_t opt, const uint8_t *q, uint32_t qlen)
{
	static const char ctx[] = NBD_META_BASE_ALLOCATION;

	if (qlen == sizeof(ctx) - 1 && !memcmp(q, ctx, qlen))
		return 1;
	/* listing may ask for a whole namespace */
	return opt == NBD_OPT_LIST_META_CONTEXT && qlen == 5 &&
	       !memcmp(q, "base:", 5);
}

/*
 * NBD_OPT_LIST_META_CONTEXT and NBD_OPT_SET_META_CONTEXT: data is export
 * name length, name, query count, then (length, query) each.
 */
static int opt_meta(struct nbd_conn *c, uint32_t opt, const uint8_t *d,
		    uint32_t len)
{
	char name[NBD_MAX_STRING + 1];
	uint32_t nl, nq, ql, i, pos;
	int match = 0, r;
	uint8_t reply[4 + sizeof(NBD_META_BASE_ALLOCATION)];

	if (!c->structured)
		return opt_error(c, opt, NBD_REP_ERR_INVALID,
				 "structured replies must come first");
	if (len < 8)
		goto invalid;
	nl = be32_read(d);
	if (nl > len - 8 || !valid_string(d + 4, nl))
		goto invalid;
	nq = be32_read(d + 4 + nl);
	pos = 8 + nl;
	for (i = 0; i < nq; i++) {
		if (len - pos < 4)
			goto invalid;
		ql = be32_read(d + pos);
		pos += 4;
		if (ql > len - pos || !valid_string(d + pos, ql))
			goto invalid;
		match |= meta_matches(opt, d + pos, ql);
		pos += ql;
	}
	if (pos != len)
		goto invalid;
	if (opt == NBD_OPT_LIST_META_CONTEXT && nq == 0)
		match = 1; /* no query lists every context */
	memcpy(name, d + 4, nl);
	name[nl] = 0;

	r = export_open(c, name);
	if (r)
		return opt_open_error(c, opt, r);
	export_close(c);
	if (opt == NBD_OPT_SET_META_CONTEXT) {
		c->meta_alloc = match;
		memcpy(c->meta_export, name, nl + 1);
	}
	if (match) {
		put32(reply, opt == NBD_OPT_SET_META_CONTEXT
				     ? NBD_META_BASE_ALLOCATION_ID
				     : 0);
		memcpy(reply + 4, NBD_META_BASE_ALLOCATION,
		       sizeof(NBD_META_BASE_ALLOCATION) - 1);
		r = opt_reply(c, opt, NBD_REP_META_CONTEXT, reply,
			      sizeof(reply) - 1);
		if (r)
			return r;
	}
	return opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
invalid:
	return opt_error(c, opt, NBD_REP_ERR_INVALID,
			 "malformed meta context option");
}

/*
 * After the ACK of NBD_OPT_STARTTLS: the TLS handshake on the socket,
 * made non-blocking for good (invariant 3). 0, or -errno and the
 * connection must close (too late for plain text).
 */
static int tls_start(struct nbd_conn *c)
{
	int fl, r, err;

	fl = fcntl(c->fd, F_GETFL);
	if (fl == -1 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -errno;
	c->ssl = SSL_new(c->srv->tls);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
		log_tls_errors(c->peer, "SSL_new");
		return -ENOMEM;
	}
	for (;;) {
		r = SSL_accept(c->ssl);
		if (r == 1)
			break;
		err = SSL_get_error(c->ssl, r);
		if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
			log_tls_errors(c->peer, "TLS handshake");
			return -EPROTO;
		}
		r = tls_wait(c, err);
		if (r) {
			log_warn("%s: TLS handshake: %s", c->peer,
				 strerror(-r));
			return r;
		}
	}
	log_debug("%s: TLS %s", c->peer, SSL_get_version(c->ssl));
	return 0;
}

/* After EXPORT_NAME: size, flags, and the zeroes unless declined. */
static int export_name_reply(struct nbd_conn *c)
{
	uint8_t d[8 + 2 + 124];
	struct iovec iov = {d, sizeof(d)};

	memset(d, 0, sizeof(d));
	put64(d, c->size);
	put16(d + 8, c->tflags);
	if (c->no_zeroes)
		iov.iov_len = 10;
	return conn_send(c, &iov, 1);
}

/*
 * The handshake up to transmission. 0 with the export open, or -errno
 * (the connection closes; already logged where it mattered).
 */
static int handshake(struct nbd_conn *c)
{
	uint8_t h[NBD_HELLO_LEN], *d = NULL;
	struct iovec iov = {h, NBD_HELLO_LEN};
	uint32_t cflags, opt, len;
	int r, go = 0, tls_ok;

	put64(h, NBD_MAGIC);
	put64(h + 8, NBD_OPTS_MAGIC);
	put16(h + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	r = conn_send(c, &iov, 1);
	if (r)
		return r;
	r = conn_recv(c, h, 4);
	if (r)
		return r;
	cflags = be32_read(h);
	if (cflags & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) {
		log_info("%s: unknown client flags 0x%x", c->peer, cflags);
		return -EPROTO;
	}
	c->no_zeroes = !!(cflags & NBD_FLAG_C_NO_ZEROES);
	/* TLS needs fixed newstyle; without it only EXPORT_NAME works */
	tls_ok = c->srv->tls && (cflags & NBD_FLAG_C_FIXED_NEWSTYLE);

	while (!go) {
		free(d);
		d = NULL;
		r = conn_recv(c, h, NBD_OPT_HDR_LEN);
		if (r)
			goto out;
		if (be64_read(h) != NBD_OPTS_MAGIC) {
			log_info("%s: bad option magic", c->peer);
			r = -EPROTO;
			goto out;
		}
		opt = be32_read(h + 8);
		len = be32_read(h + 12);
		if (len > NBD_MAX_OPT_LEN) {
			log_info("%s: option %u of %u bytes", c->peer, opt,
				 len);
			r = -EPROTO;
			goto out;
		}
		d = malloc(len + 1);
		if (!d) {
			r = -ENOMEM;
			goto out;
		}
		r = conn_recv(c, d, len);
		if (r)
			goto out;
		d[len] = 0;

		if (c->srv->tls_required && !c->ssl &&
		    opt != NBD_OPT_STARTTLS && opt != NBD_OPT_ABORT) {
			if (opt == NBD_OPT_EXPORT_NAME) {
				/* cannot be refused but by hanging up */
				log_info("%s: EXPORT_NAME without TLS",
					 c->peer);
				r = -EPERM;
				goto out;
			}
			r = opt_error(c, opt, NBD_REP_ERR_TLS_REQD,
				      "TLS is required");
			if (r)
				goto out;
			continue;
		}
		switch (opt) {
		case NBD_OPT_EXPORT_NAME:
			if (!valid_string(d, len)) {
				r = -EPROTO;
				goto out;
			}
			r = export_open(c, (char *)d);
			if (r)
				goto out; /* no error reply exists for it */
			r = export_name_reply(c);
			go = 1;
			break;
		case NBD_OPT_ABORT:
			opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
			r = -ECONNRESET;
			goto out;
		case NBD_OPT_LIST:
			r = opt_list(c, len);
			break;
		case NBD_OPT_STARTTLS:
			if (len)
				r = opt_error(c, opt, NBD_REP_ERR_INVALID,
					      "STARTTLS takes no data");
			else if (c->ssl)
				r = opt_error(c, opt, NBD_REP_ERR_INVALID,
					      "TLS already started");
			else if (!tls_ok)
				r = opt_error(c, opt, NBD_REP_ERR_POLICY,
					      "TLS is not offered");
			else {
				r = opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
				if (!r)
					r = tls_start(c);
				/* nothing said in clear text carries over */
				c->structured = 0;
				c->meta_alloc = 0;
			}
			break;
		case NBD_OPT_INFO:
		case NBD_OPT_GO:
			r = opt_info_go(c, opt, d, len, &go);
			break;
		case NBD_OPT_STRUCTURED_REPLY:
			if (len) {
				r = opt_error(c, opt, NBD_REP_ERR_INVALID,
					      "takes no data");
				break;
			}
			c->structured = 1;
			r = opt_reply(c, opt, NBD_REP_ACK, NULL, 0);
			break;
		case NBD_OPT_LIST_META_CONTEXT:
		case NBD_OPT_SET_META_CONTEXT:
			r = opt_meta(c, opt, d, len);
			break;
		default:
			r = opt_error(c, opt, NBD_REP_ERR_UNSUP,
				      "option not supported");
			break;
		}
		if (r)
			goto out;
	}
out:
	free(d);
	if (r && c->exp_open)
		export_close(c);
	return r;
}

/* ---- transmission --------------------------------------------------- */

static int simple_reply(struct nbd_conn *c, const struct nbd_req *q, int err,
			void *data, uint32_t len)
{
	uint8_t h[NBD_SIMPLE_REPLY_LEN];
	struct iovec iov[2] = {{h, sizeof(h)}, {data, len}};

	put32(h, NBD_SIMPLE_REPLY_MAGIC);
	put32(h + 4, nbd_errno(err));
	put64(h + 8, q->handle);
	return conn_send(c, iov, data && !err ? 2 : 1);
}

static void chunk_header(uint8_t *h, const struct nbd_req *q, uint16_t flags,
			 uint16_t type, uint32_t len)
{
	put32(h, NBD_STRUCTURED_REPLY_MAGIC);
	put16(h + 4, flags);
	put16(h + 6, type);
	put64(h + 8, q->handle);
	put32(h + 16, len);
}

/* The final chunk carrying err, with its text for the person. */
static int error_chunk(struct nbd_conn *c, const struct nbd_req *q, int err)
{
	uint8_t h[NBD_CHUNK_HDR_LEN + 6];
	const char *msg = strerror(err < 0 ? -err : err);
	uint16_t ml = (uint16_t)strlen(msg);
	struct iovec iov[2] = {{h, sizeof(h)}, {(void *)msg, ml}};

	chunk_header(h, q, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR, 6u + ml);
	put32(h + NBD_CHUNK_HDR_LEN, nbd_errno(err));
	put16(h + NBD_CHUNK_HDR_LEN + 4, ml);
	return conn_send(c, iov, 2);
}

/* The reply to any request but a successful READ or BLOCK_STATUS. */
static int status_reply(struct nbd_conn *c, const struct nbd_req *q, int err)
{
	if (err && c->structured)
		return error_chunk(c, q, err);
	return simple_reply(c, q, err, NULL, 0);
}

static int read_reply(struct nbd_conn *c, const struct nbd_req *q, void *data)
{
	uint8_t h[NBD_CHUNK_HDR_LEN + 8];
	struct iovec iov[2] = {{h, sizeof(h)}, {data, q->len}};

	if (!c->structured)
		return simple_reply(c, q, 0, data, q->len);
	/* one chunk: NBD_CMD_FLAG_DF is always honoured */
	chunk_header(h, q, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_DATA,
		     8 + q->len);
	put64(h + NBD_CHUNK_HDR_LEN, q->off);
	return conn_send(c, iov, 2);
}

/* base:allocation extents being gathered for one BLOCK_STATUS reply */
struct extent_acc {
	uint8_t *pairs; /* (length, flags) big-endian, 8 bytes each */
	uint32_t n;
	uint64_t next; /* where the next extent must start */
	uint64_t end;
	int one; /* NBD_CMD_FLAG_REQ_ONE */
};

static int extent_add(void *arg, uint64_t off, uint64_t len, uint32_t flags)
{
	struct extent_acc *a = arg;
	uint8_t *last = a->n ? a->pairs + 8 * (a->n - 1) : NULL;

	if (off > a->next) {
		log_err("export skipped [%llu, %llu) in its extents",
			(unsigned long long)a->next, (unsigned long long)off);
		return -EIO;
	}
	if (off + len <= a->next)
		return 0; /* overlap with what we have */
	len = off + len - a->next;
	if (len > a->end - a->next)
		len = a->end - a->next;
	flags &= NBD_STATE_HOLE | NBD_STATE_ZERO;
	if (last && be32_read(last + 4) == flags) {
		/* request length is 32 bits: the sum fits */
		put32(last, be32_read(last) + (uint32_t)len);
	} else {
		if (a->n == NBD_MAX_EXTENTS || (a->one && a->n))
			return 1;
		put32(a->pairs + 8 * a->n, (uint32_t)len);
		put32(a->pairs + 8 * a->n + 4, flags);
		a->n++;
	}
	a->next += len;
	return a->next == a->end ? 1 : 0;
}

static int block_status(struct nbd_conn *c, const struct nbd_req *q)
{
	struct extent_acc a = {.next = q->off, .end = q->off + q->len};
	uint8_t h[NBD_CHUNK_HDR_LEN + 4];
	struct iovec iov[2] = {{h, sizeof(h)}, {NULL, 0}};
	int r;

	a.one = !!(q->flags & NBD_CMD_FLAG_REQ_ONE);
	a.pairs = malloc(8 * NBD_MAX_EXTENTS);
	if (!a.pairs)
		return -ENOMEM;
	r = c->exp.ops->extents(c->exp.h, q->len, q->off, extent_add, &a);
	if (r >= 0 && a.n == 0) {
		log_err("export gave no extent at %llu",
			(unsigned long long)q->off);
		r = -EIO;
	}
	if (r < 0) {
		free(a.pairs);
		return r;
	}
	chunk_header(h, q, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_BLOCK_STATUS,
		     4 + 8 * a.n);
	put32(h + NBD_CHUNK_HDR_LEN, NBD_META_BASE_ALLOCATION_ID);
	iov[1].iov_base = a.pairs;
	iov[1].iov_len = 8u * a.n;
	conn_send(c, iov, 2);
	free(a.pairs);
	return 0;
}

/* Flags each command accepts. */
static uint16_t allowed_flags(const struct nbd_conn *c, uint16_t type)
{
	switch (type) {
	case NBD_CMD_READ:
		return c->structured ? NBD_CMD_FLAG_DF : 0;
	case NBD_CMD_WRITE:
	case NBD_CMD_TRIM:
		return NBD_CMD_FLAG_FUA;
	case NBD_CMD_WRITE_ZEROES:
		return NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE;
	case NBD_CMD_BLOCK_STATUS:
		return NBD_CMD_FLAG_REQ_ONE;
	default:
		return 0;
	}
}

/* Refuse what the export must never see: 0 or -errno for the reply. */
static int check_request(const struct nbd_conn *c, const struct nbd_req *q)
{
	int writes = q->type == NBD_CMD_WRITE || q->type == NBD_CMD_TRIM ||
		     q->type == NBD_CMD_WRITE_ZEROES;

	switch (q->type) {
	case NBD_CMD_READ:
	case NBD_CMD_WRITE:
	case NBD_CMD_TRIM:
	case NBD_CMD_WRITE_ZEROES:
	case NBD_CMD_BLOCK_STATUS:
		break;
	case NBD_CMD_FLUSH:
		return q->flags ? -EINVAL : 0;
	default:
		return -EINVAL; /* CACHE is not offered */
	}
	if (q->flags & ~allowed_flags(c, q->type))
		return -EINVAL;
	if (q->type == NBD_CMD_BLOCK_STATUS && !c->meta_alloc)
		return -EINVAL; /* no context negotiated */
	if (writes && c->exp.read_only)
		return -EPERM;
	if (q->len == 0)
		return -EINVAL;
	if ((q->type == NBD_CMD_READ || q->type == NBD_CMD_WRITE) &&
	    q->len > NBD_MAX_PAYLOAD)
		return -EINVAL;
	if (q->off > c->size || q->len > c->size - q->off)
		return writes ? -ENOSPC : -EINVAL;
	if ((q->off | q->len) & (c->min_block - 1))
		return -EINVAL;
	return 0;
}

static uint32_t vol_flags(const struct nbd_req *q)
{
	return (q->flags & NBD_CMD_FLAG_FUA ? VOL_FUA : 0) |
	       (q->flags & NBD_CMD_FLAG_NO_HOLE ? VOL_NO_HOLE : 0);
}

/* A buffer of len bytes for a payload, once the budget has room for it
 * (invariant 5); NULL on ENOMEM. Give it back with payload_put. */
static void *payload_get(struct nbd_server *s, uint32_t len)
{
	void *p = NULL;

	pthread_mutex_lock(&s->plock);
	while (s->payload_bytes && s->payload_bytes + len > NBD_PAYLOAD_BUDGET)
		pthread_cond_wait(&s->pcond, &s->plock);
	s->payload_bytes += len;
	if (len <= NBD_SPARE_LEN && s->spares) {
		p = s->spares;
		memcpy(&s->spares, p, sizeof(void *));
		s->nspares--;
	}
	pthread_mutex_unlock(&s->plock);
	if (!p)
		p = malloc(len <= NBD_SPARE_LEN ? NBD_SPARE_LEN : len);
	if (!p) {
		pthread_mutex_lock(&s->plock);
		s->payload_bytes -= len;
		pthread_cond_broadcast(&s->pcond);
		pthread_mutex_unlock(&s->plock);
	}
	return p;
}

static void payload_put(struct nbd_server *s, void *p, uint32_t len)
{
	if (!p)
		return;
	pthread_mutex_lock(&s->plock);
	if (len <= NBD_SPARE_LEN && s->nspares < NBD_SPARES) {
		memcpy(p, &s->spares, sizeof(void *));
		s->spares = p;
		s->nspares++;
		p = NULL;
	}
	s->payload_bytes -= len;
	pthread_cond_broadcast(&s->pcond);
	pthread_mutex_unlock(&s->plock);
	free(p);
}

/* Run one request and reply (worker thread). */
static void serve(struct nbd_conn *c, struct nbd_req *q)
{
	const struct vol_export_ops *ops = c->exp.ops;
	void *h = c->exp.h;
	void *buf;
	int err = q->err ? q->err : check_request(c, q);

	if (err)
		goto reply;
	switch (q->type) {
	case NBD_CMD_READ:
		buf = payload_get(c->srv, q->len);
		if (!buf) {
			err = -ENOMEM;
			break;
		}
		err = ops->pread(h, buf, q->len, q->off);
		if (!err)
			read_reply(c, q, buf);
		payload_put(c->srv, buf, q->len);
		if (!err)
			return;
		break;
	case NBD_CMD_WRITE:
		if (q->placed)
			err = ops->pwrite_end(h, q->len, q->off, vol_flags(q));
		else
			err = ops->pwrite(h, q->data, q->len, q->off,
					  vol_flags(q));
		break;
	case NBD_CMD_FLUSH:
		err = ops->flush(h);
		break;
	case NBD_CMD_TRIM:
		err = ops->trim(h, q->len, q->off, vol_flags(q));
		break;
	case NBD_CMD_WRITE_ZEROES:
		err = ops->zero(h, q->len, q->off, vol_flags(q));
		break;
	case NBD_CMD_BLOCK_STATUS:
		err = block_status(c, q);
		if (!err)
			return;
		break;
	}
	if (err)
		log_debug("%s: command %u at %llu+%u: %s", c->peer, q->type,
			  (unsigned long long)q->off, q->len, strerror(-err));
reply:
	status_reply(c, q, err);
}

/* A WRITE payload read by the export's pwrite_from, fill by fill. */
struct payload_in {
	struct nbd_conn *c;
	uint32_t got; /* bytes read so far */
	int err;      /* a read failed: the connection ends */
};

static int payload_fill(void *arg, void *dst, uint32_t n)
{
	struct payload_in *in = arg;

	in->err = conn_recv(in->c, dst, n);
	if (!in->err)
		in->got += n;
	return in->err;
}

/*
 * Reader: hand q's payload to the export's pwrite_from, which reads it
 * from the socket straight into its memory (no payload buffer, no copy).
 * Only a payload already whole in the socket's receive queue: the export
 * holds its locks while it reads, and a client stalled mid-payload must
 * not hold them (a revoke would wait for it); nor with TLS (what arrived
 * is not what SSL_read gives). 1 when the payload is not taken so (then
 * nothing was read), else 0 with q->placed or q->err set (the rest of a
 * refused payload read away), or -errno when the connection ends.
 */
static int place_payload(struct nbd_conn *c, struct nbd_req *q)
{
	const struct vol_export_ops *ops = c->exp.ops;
	struct payload_in in = {.c = c};
	int rc, queued;

	if (!ops->pwrite_from || !ops->pwrite_end || c->ssl ||
	    check_request(c, q))
		return 1;
	if (ioctl(c->fd, FIONREAD, &queued) == -1 || queued < 0 ||
	    (uint32_t)queued < q->len)
		return 1;
	rc = ops->pwrite_from(c->exp.h, q->len, q->off, payload_fill, &in);
	if (in.err)
		return in.err;
	if (rc == -EAGAIN && !in.got)
		return 1;
	if (!rc) {
		q->placed = 1;
		return 0;
	}
	q->err = rc;
	return conn_skip(c, q->len - in.got);
}

/*
 * Read one request (and its payload) into *out; NULL *out at DISC.
 * 0, or -errno: the connection ends (invariant 4).
 */
static int read_request(struct nbd_conn *c, struct nbd_req **out)
{
	uint8_t h[NBD_REQUEST_LEN];
	struct nbd_req *q;
	int r;

	*out = NULL;
	r = conn_recv(c, h, sizeof(h));
	if (r)
		return r;
	if (be32_read(h) != NBD_REQUEST_MAGIC) {
		log_info("%s: bad request magic 0x%08x", c->peer, be32_read(h));
		return -EPROTO;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->flags = be16_read(h + 4);
	q->type = be16_read(h + 6);
	q->handle = be64_read(h + 8);
	q->off = be64_read(h + 16);
	q->len = be32_read(h + 24);
	if (q->type == NBD_CMD_DISC) {
		free(q);
		return 0;
	}
	if (q->type != NBD_CMD_WRITE || !q->len)
		goto done;
	if (q->len > NBD_MAX_PAYLOAD) {
		if (q->len > NBD_SKIP_LIMIT) {
			log_info("%s: WRITE of %u bytes: hanging up", c->peer,
				 q->len);
			free(q);
			return -EPROTO;
		}
		r = conn_skip(c, q->len);
		q->err = -EINVAL;
		goto payload_read;
	}
	r = place_payload(c, q);
	if (r <= 0)
		goto payload_read;
	q->data = payload_get(c->srv, q->len);
	if (!q->data) {
		r = conn_skip(c, q->len);
		q->err = -ENOMEM;
		goto payload_read;
	}
	r = conn_recv(c, q->data, q->len);
payload_read:
	if (r) {
		/* the client went away mid-payload: nothing is written */
		payload_put(c->srv, q->data, q->len);
		free(q);
		return r;
	}
done:
	*out = q;
	return 0;
}

/*
 * A worker of the transmission phase: read a request while holding
 * c->rlock, serve it without. The first to meet DISC, the end of the
 * stream or a broken request sets c->closing; the others then end once
 * they have replied to what they hold.
 */
static void *worker_main(void *arg)
{
	struct nbd_conn *c = arg;
	struct nbd_req *q;
	int r;

	for (;;) {
		pthread_mutex_lock(&c->rlock);
		if (c->closing) {
			pthread_mutex_unlock(&c->rlock);
			break;
		}
		r = read_request(c, &q);
		if (r || !q) {
			c->closing = 1;
			pthread_mutex_unlock(&c->rlock);
			if (r && r != -ECONNRESET && r != -EPROTO)
				log_info("%s: %s", c->peer, strerror(-r));
			break;
		}
		pthread_mutex_unlock(&c->rlock);
		serve(c, q);
		payload_put(c->srv, q->data, q->len);
		free(q);
	}
	return NULL;
}

/* The transmission phase until DISC or the end of the stream: the
 * connection thread is one of the workers. */
static void transmission(struct nbd_conn *c)
{
	int i;

	c->workers = calloc((size_t)c->srv->nworkers, sizeof(pthread_t));
	if (!c->workers) {
		log_err("%s: no memory for workers", c->peer);
		return;
	}
	for (i = 1; i < c->srv->nworkers; i++) {
		if (pthread_create(&c->workers[c->nworkers], NULL, worker_main,
				   c)) {
			log_warn("%s: %d workers only", c->peer, i);
			break;
		}
		c->nworkers++;
	}
	worker_main(c);
	for (i = 0; i < c->nworkers; i++)
		pthread_join(c->workers[i], NULL);
	free(c->workers);
	c->workers = NULL;
}

/* ---- connections and the listener ----------------------------------- */

static void set_recv_timeout(int fd, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static void conn_free(struct nbd_conn *c)
{
	pthread_mutex_destroy(&c->tls_lock);
	pthread_mutex_destroy(&c->wlock);
	pthread_mutex_destroy(&c->rlock);
	free(c);
}

static void *conn_main(void *arg)
{
	struct nbd_conn *c = arg;
	struct nbd_server *s = c->srv;
	int r;

	c->timeout_ms = NBD_HANDSHAKE_MS;
	set_recv_timeout(c->fd, NBD_HANDSHAKE_MS);
	r = handshake(c);
	if (!r) {
		c->timeout_ms = -1; /* idle clients are fine from here */
		set_recv_timeout(c->fd, 0);
		log_debug("%s: serving '%s'", c->peer, c->exp.name);
		transmission(c);
		export_close(c);
	} else if (r != -ECONNRESET) {
		log_debug("%s: handshake ended: %s", c->peer, strerror(-r));
	}
	if (c->ssl) {
		pthread_mutex_lock(&c->tls_lock);
		if (!c->broken)
			SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		ERR_clear_error();
		pthread_mutex_unlock(&c->tls_lock);
	}

	pthread_mutex_lock(&s->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	close(c->fd);
	s->nconns--;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	conn_free(c);
	return NULL;
}

static struct nbd_conn *conn_new(struct nbd_server *s, int fd,
				 const struct sockaddr_storage *sa)
{
	struct nbd_conn *c = calloc(1, sizeof(*c));
	char host[INET6_ADDRSTRLEN] = "?", port[8] = "?";

	if (!c)
		return NULL;
	c->srv = s;
	c->fd = fd;
	getnameinfo((const struct sockaddr *)sa, sizeof(*sa), host,
		    sizeof(host), port, sizeof(port),
		    NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(c->peer, sizeof(c->peer), "nbd %s:%s", host, port);
	pthread_mutex_init(&c->tls_lock, NULL);
	pthread_mutex_init(&c->wlock, NULL);
	pthread_mutex_init(&c->rlock, NULL);
	return c;
}

static void *listener_main(void *arg)
{
	struct nbd_server *s = arg;
	struct sockaddr_storage sa;
	socklen_t sl;
	struct nbd_conn *c;
	pthread_attr_t attr;
	pthread_t t;
	int fd, one = 1;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		sl = sizeof(sa);
		fd = accept4(s->lfd, (struct sockaddr *)&sa, &sl, SOCK_CLOEXEC);
		pthread_mutex_lock(&s->lock);
		if (s->stopping) {
			pthread_mutex_unlock(&s->lock);
			if (fd != -1)
				close(fd);
			break;
		}
		if (fd == -1) {
			pthread_mutex_unlock(&s->lock);
			if (errno != EINTR && errno != ECONNABORTED) {
				log_warn("nbd accept: %m");
				usleep(100000); /* EMFILE and friends */
			}
			continue;
		}
		if (s->nconns >= s->max_conns) {
			pthread_mutex_unlock(&s->lock);
			log_warn("nbd: %d connections already, refusing one",
				 s->max_conns);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = conn_new(s, fd, &sa);
		if (c) {
			c->next = s->conns;
			if (s->conns)
				s->conns->prev = c;
			s->conns = c;
			s->nconns++;
		}
		if (!c || pthread_create(&t, &attr, conn_main, c)) {
			log_err("nbd: no memory or thread for a connection");
			if (c) {
				s->conns = c->next;
				if (c->next)
					c->next->prev = NULL;
				s->nconns--;
				conn_free(c);
			}
			close(fd);
		}
		pthread_mutex_unlock(&s->lock);
	}
	pthread_attr_destroy(&attr);
	return NULL;
}

static int tls_ctx_new(const struct nbd_server_conf *conf, SSL_CTX **out)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	const char *key = conf->tls_key ? conf->tls_key : conf->tls_cert;

	if (!ctx) {
		log_tls_errors("nbd", "SSL_CTX_new");
		return -ENOMEM;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_use_certificate_chain_file(ctx, conf->tls_cert) != 1) {
		log_err("nbd TLS certificate %s unusable", conf->tls_cert);
		goto bad;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		log_err("nbd TLS key %s unusable or not the certificate's",
			key);
		goto bad;
	}
	if (conf->tls_ca) {
		if (SSL_CTX_load_verify_locations(ctx, conf->tls_ca, NULL) !=
		    1) {
			log_err("nbd TLS CA %s unusable", conf->tls_ca);
			goto bad;
		}
		SSL_CTX_set_verify(
			ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
			NULL);
	}
	*out = ctx;
	return 0;
bad:
	log_tls_errors("nbd", "TLS setup");
	SSL_CTX_free(ctx);
	return -EINVAL;
}

static int listen_on(const char *ip, int port, int *fd_out, int *port_out)
{
	struct addrinfo hints = {0}, *ai = NULL;
	struct sockaddr_storage sa;
	socklen_t sl = sizeof(sa);
	char ps[16];
	int fd = -1, one = 1, r;

	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(ps, sizeof(ps), "%d", port);
	r = getaddrinfo(ip, ps, &hints, &ai);
	if (r) {
		log_err("nbd: bind address %s: %s", ip, gai_strerror(r));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		r = -errno;
		log_err("nbd socket: %m");
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, 64) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == -1) {
		r = -errno;
		log_err("nbd: cannot listen on %s:%d: %m", ip, port);
		close(fd);
		goto out;
	}
	*port_out = ntohs(sa.ss_family == AF_INET6
				  ? ((struct sockaddr_in6 *)&sa)->sin6_port
				  : ((struct sockaddr_in *)&sa)->sin_port);
	*fd_out = fd;
	r = 0;
out:
	freeaddrinfo(ai);
	return r;
}

int nbd_server_start(const struct nbd_server_conf *conf,
		     const struct vol_exports *exports, struct nbd_server **out)
{
	struct nbd_server *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->exports = *exports;
	s->lfd = -1;
	s->tls_required = conf->tls_required;
	s->max_conns = conf->max_connections > 0 ? conf->max_connections
						 : NBD_DEFAULT_MAX_CONNS;
	s->nworkers = conf->workers > 0 ? conf->workers : NBD_DEFAULT_WORKERS;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	pthread_mutex_init(&s->plock, NULL);
	pthread_cond_init(&s->pcond, NULL);
	if (conf->tls_cert) {
		r = tls_ctx_new(conf, &s->tls);
		if (r)
			goto fail;
	} else if (conf->tls_required) {
		log_err("nbd: TLS required but no certificate given");
		r = -EINVAL;
		goto fail;
	}
	r = listen_on(conf->ip ? conf->ip : "127.0.0.1", conf->port, &s->lfd,
		      &s->port);
	if (r)
		goto fail;
	/* multi-threaded from here: the listener and its connections */
	r = -pthread_create(&s->listener, NULL, listener_main, s);
	if (r) {
		log_err("nbd: listener thread: %s", strerror(-r));
		goto fail;
	}
	log_info("nbd: listening on %s:%d%s", conf->ip ? conf->ip : "127.0.0.1",
		 s->port,
		 s->tls ? (s->tls_required ? " (TLS required)"
					   : " (TLS offered)")
			: "");
	*out = s;
	return 0;
fail:
	if (s->lfd != -1)
		close(s->lfd);
	SSL_CTX_free(s->tls);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->plock);
	pthread_cond_destroy(&s->pcond);
	free(s);
	return r;
}

int nbd_server_port(const struct nbd_server *s)
{
	return s->port;
}

void nbd_server_stop(struct nbd_server *s)
{
	struct nbd_conn *c;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	pthread_mutex_unlock(&s->lock);
	shutdown(s->lfd, SHUT_RDWR); /* wakes accept() */
	pthread_join(s->listener, NULL);
	close(s->lfd);

	pthread_mutex_lock(&s->lock);
	for (c = s->conns; c; c = c->next)
		shutdown(c->fd, SHUT_RDWR); /* their reads end */
	while (s->nconns)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	while (s->spares) {
		void *p = s->spares;

		memcpy(&s->spares, p, sizeof(void *));
		free(p);
	}
	SSL_CTX_free(s->tls);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->plock);
	pthread_cond_destroy(&s->pcond);
	free(s);
}
