/*
 * common/keepconn.c: the HTTP/1.1 client of objectd's container updates
 * (objectd/updater.c) and of the proxy's small object PUTs
 * (cluster.c cluster_put_whole), over keep-alive connections kept between
 * requests (see keepconn.h).
 *
 * Such a request is small, its body in memory, and its answer's status
 * (and ETag) alone matters. Through libcurl's multi interface each one
 * cost a few KiB of handle set up and torn down, the proxy and
 * environment look-ups of a transfer, the parse of its URL, and three
 * polls besides the send and the receive: ~13% of kumo-objectd's CPU per
 * small PUT in its container updates. Here a request to n servers is
 *
 *   for each: an idle connection to its host:port from the pool, or a
 *             new one (connect bounded by conn_timeout) --send the
 *             request--> SENT
 *   then for each SENT: blocking receives (each bounded by node_timeout,
 *             the whole by node_timeout after the sends, bound_wait) up
 *             to the end of the headers, then the body Content-Length
 *             announces
 *             --> status known; the connection goes back to the pool if
 *             the answer was whole and the server keeps it (HTTP/1.1,
 *             no "Connection: close"), else it is closed
 *
 * so a request takes one send and one receive. A pooled connection may
 * have been closed by the server meanwhile (its keep-alive timeout): when
 * one fails before any byte of an answer came back, the request is sent
 * once more on a new connection (a container update is idempotent: the
 * container orders updates by their timestamps; an object PUT sent again
 * with its X-Timestamp stores nothing twice: a server that has it
 * answers 409).
 *
 * Hosts are "ip:port" as the proxy names them (X-Container-Host); an
 * IPv6 address may be bracketed. Any thread; the pool is locked.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/timestamp.h"
#include "common/keepconn.h"

/* the proxy keeps ~3 connections per client request in flight */
#define POOL_MAX      128
#define POOL_MAXAGE_S 20 /* servers close idle connections after 60 s */
#define HEAD_MAX      8192

static struct {
	pthread_mutex_t lock;
	int n;
	struct {
		char host[KC_HOST_MAX];
		int fd;
		time_t idle_since;
	} c[POOL_MAX];
} pool = {PTHREAD_MUTEX_INITIALIZER, 0, {{{0}, 0, 0}}};

/* An idle connection to host, or -1. Connections idle too long are
 * closed on the way. */
static int pool_get(const char *host)
{
	time_t now = time(NULL);
	int i, fd = -1;

	pthread_mutex_lock(&pool.lock);
	for (i = pool.n - 1; i >= 0 && fd < 0; i--) {
		if (now - pool.c[i].idle_since > POOL_MAXAGE_S) {
			close(pool.c[i].fd);
		} else if (!strcmp(pool.c[i].host, host)) {
			fd = pool.c[i].fd;
		} else {
			continue;
		}
		pool.c[i] = pool.c[--pool.n];
	}
	pthread_mutex_unlock(&pool.lock);
	return fd;
}

/* Keep fd, connected to host, for the next update (closed if the pool
 * is full). */
static void pool_put(const char *host, int fd)
{
	pthread_mutex_lock(&pool.lock);
	if (pool.n < POOL_MAX) {
		snprintf(pool.c[pool.n].host, sizeof(pool.c[0].host), "%s",
			 host);
		pool.c[pool.n].fd = fd;
		pool.c[pool.n].idle_since = time(NULL);
		pool.n++;
		fd = -1;
	}
	pthread_mutex_unlock(&pool.lock);
	if (fd >= 0)
		close(fd);
}

void kc_drain(void)
{
	pthread_mutex_lock(&pool.lock);
	while (pool.n)
		close(pool.c[--pool.n].fd);
	pthread_mutex_unlock(&pool.lock);
}

static void set_timeout(int fd, int opt, double secs)
{
	struct timeval tv;

	tv.tv_sec = (time_t)secs;
	tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
	if (!tv.tv_sec && !tv.tv_usec)
		tv.tv_usec = 1000;
	setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

/* A new blocking connection to host ("ip:port", "[ip6]:port"), its
 * connect bounded by conn_timeout, its sends and receives each by
 * node_timeout. fd or -errno. */
static int connect_to(const char *host, double conn_timeout,
		      double node_timeout)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV},
			*ai = NULL;
	char name[KC_HOST_MAX];
	const char *colon = strrchr(host, ':');
	struct pollfd p;
	socklen_t len = sizeof(int);
	int fd = -1, rc, err = 0;
	size_t n;

	if (!colon || !colon[1])
		return -EINVAL;
	n = (size_t)(colon - host);
	if (n && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	if (n >= sizeof(name))
		return -ENAMETOOLONG;
	memcpy(name, host, n);
	name[n] = '\0';
	rc = getaddrinfo(name, colon + 1, &hints, &ai);
	if (rc) {
		rc = -EHOSTUNREACH;
		goto out;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd == -1) {
		rc = -errno;
		goto out;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		rc = -errno;
		if (rc != -EINPROGRESS)
			goto out;
		p.fd = fd;
		p.events = POLLOUT;
		rc = poll(&p, 1, (int)(conn_timeout * 1000) + 1);
		if (rc == 0)
			rc = -ETIMEDOUT;
		else if (rc == -1)
			rc = -errno;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			rc = -errno;
		else
			rc = -err;
		if (rc)
			goto out;
	}
	rc = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1 ? -errno
									: 0;
	if (!rc) {
		set_timeout(fd, SO_RCVTIMEO, node_timeout);
		set_timeout(fd, SO_SNDTIMEO, node_timeout);
	}
out:
	if (ai)
		freeaddrinfo(ai);
	if (rc && fd >= 0)
		close(fd);
	return rc ? rc : fd;
}

/* Send r's head and body on fd, in one sendmsg when the socket takes
 * them. 0 or -errno (-EIO: nothing taken). */
static int send_whole(int fd, const struct kc_req *r)
{
	struct iovec iov[2] = {{(void *)r->head, r->head_len},
			       {(void *)r->body, r->body ? r->body_len : 0}};
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
	ssize_t n;

	while (iov[0].iov_len || iov[1].iov_len) {
		/* a head alone: a plain send */
		n = m.msg_iovlen == 2 && !iov[1].iov_len
			    ? send(fd, iov[0].iov_base, iov[0].iov_len,
				   MSG_NOSIGNAL)
			    : sendmsg(fd, &m, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == -1 ? -errno : -EIO;
		while (n && m.msg_iovlen) {
			size_t k = (size_t)n < m.msg_iov->iov_len
					   ? (size_t)n
					   : m.msg_iov->iov_len;

			m.msg_iov->iov_base = (char *)m.msg_iov->iov_base + k;
			m.msg_iov->iov_len -= k;
			n -= (ssize_t)k;
			if (!m.msg_iov->iov_len) {
				m.msg_iov++;
				m.msg_iovlen--;
			}
		}
	}
	return 0;
}

/* The value of header name in the head (lines after the status line),
 * copied into out; 0 or -ENOENT. */
static int head_value(const char *head, const char *name, char *out,
		      size_t outlen)
{
	size_t nl = strlen(name), vl;
	const char *p = strstr(head, "\r\n"), *v, *end;

	for (; p && p[2] != '\r'; p = end) {
		p += 2;
		end = strstr(p, "\r\n");
		if (!end)
			break;
		if (strncasecmp(p, name, nl) || p[nl] != ':')
			continue;
		for (v = p + nl + 1; *v == ' ' || *v == '\t'; v++)
			;
		vl = (size_t)(end - v);
		while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			vl--;
		snprintf(out, outlen, "%.*s", (int)vl, v);
		return 0;
	}
	return -ENOENT;
}

/*
 * Read the answer to the request sent on fd, by deadline (monotonic
 * seconds): its status into *status, its ETag (unquoted) into etag,
 * *keep set when the connection may carry another request. 0, -EPIPE
 * when the connection ended before any byte of an answer, else -errno /
 * -EPROTO.
 */
static int read_answer(int fd, double deadline, int *status, char etag[33],
		       int *keep)
{
	char head[HEAD_MAX + 1], v[64], *end = NULL, *e;
	size_t got = 0, body, have;
	ssize_t n;
	long long clen;
	int minor, code;

	*keep = 0;
	while (!end) {
		if (got == HEAD_MAX)
			return -EPROTO;
		n = recv(fd, head + got, HEAD_MAX - got, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return !got && (n == 0 || errno == ECONNRESET)
				       ? -EPIPE
				       : (n == 0 ? -EPROTO : -errno);
		got += (size_t)n;
		head[got] = '\0';
		end = strstr(head, "\r\n\r\n");
		if (!end && clock_mono_s() > deadline)
			return -ETIMEDOUT;
	}
	if (sscanf(head, "HTTP/1.%d %3d", &minor, &code) != 2 || code < 100)
		return -EPROTO;
	*status = code;
	end[2] = '\0'; /* head_value stops at the empty line */
	if (!head_value(head, "Etag", v, sizeof(v)))
		snprintf(etag, 33, "%.32s", v + (*v == '"'));
	have = got - (size_t)(end + 4 - head);
	if (minor < 1 || (!head_value(head, "Connection", v, sizeof(v)) &&
			  !strcasecmp(v, "close")))
		return 0;
	if (code == 204 || code == 304)
		clen = 0;
	else if (head_value(head, "Content-Length", v, sizeof(v)) ||
		 (clen = strtoll(v, &e, 10)) < 0 || *e)
		return 0; /* chunked or to the end: not worth reading */
	body = (size_t)clen;
	while (have < body) { /* a short error text, at most */
		n = recv(fd, head, sizeof(head) - 1, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0 || clock_mono_s() > deadline)
			return 0;
		have += (size_t)n;
	}
	*keep = have == body;
	return 0;
}

/*
 * Before an answer is read: once more than half of node_timeout went by
 * since the sends (answers before it were slow), fd's receive timeout is
 * cut to what is left until deadline, so that n silent servers cost about
 * node_timeout, not n times it. 1 when cut (kc_collect puts it back
 * before it pools fd), else 0: the usual case, no system call.
 */
static int bound_wait(int fd, double deadline, double node_timeout)
{
	double left = deadline - clock_mono_s();

	if (left > node_timeout / 2)
		return 0;
	set_timeout(fd, SO_RCVTIMEO, left > 0.001 ? left : 0.001);
	return 1;
}

void kc_send(struct kc_req *r, int n, double conn_timeout, double node_timeout)
{
	double deadline;
	int i;

	for (i = 0; i < n; i++) {
		r[i].status = 0;
		r[i].etag[0] = '\0';
		r[i].fd = pool_get(r[i].host);
		r[i].reused = r[i].fd >= 0;
		if (!r[i].reused)
			r[i].fd = connect_to(r[i].host, conn_timeout,
					     node_timeout);
		if (r[i].fd >= 0 && send_whole(r[i].fd, &r[i])) {
			close(r[i].fd);
			r[i].fd = r[i].reused ? -EPIPE : -EIO;
		}
	}
	deadline = clock_mono_s() + node_timeout;
	for (i = 0; i < n; i++)
		r[i].deadline = deadline;
}

void kc_collect(struct kc_req *r, int n, double conn_timeout,
		double node_timeout)
{
	int i, fd, rc, keep, reused, tries, cut = 0;

	for (i = 0; i < n; i++) {
		fd = r[i].fd;
		reused = r[i].reused;
		rc = fd >= 0 ? 0 : fd;
		for (tries = 0; tries < 2; tries++) {
			if (rc == -EPIPE && reused) {
				/* the server closed its idle end: anew */
				reused = 0;
				fd = connect_to(r[i].host, conn_timeout,
						node_timeout);
				rc = fd >= 0 ? send_whole(fd, &r[i]) : fd;
			}
			if (!rc) {
				cut = bound_wait(fd, r[i].deadline,
						 node_timeout);
				rc = read_answer(fd, r[i].deadline,
						 &r[i].status, r[i].etag,
						 &keep);
			}
			if (rc != -EPIPE || !reused)
				break;
			close(fd);
			fd = -1;
		}
		if (fd >= 0 && !rc && keep) {
			if (cut)
				set_timeout(fd, SO_RCVTIMEO, node_timeout);
			pool_put(r[i].host, fd);
		} else if (fd >= 0)
			close(fd);
		r[i].fd = -1;
	}
}

void kc_send_all(struct kc_req *r, int n, double conn_timeout,
		 double node_timeout)
{
	kc_send(r, n, conn_timeout, node_timeout);
	kc_collect(r, n, conn_timeout, node_timeout);
}
