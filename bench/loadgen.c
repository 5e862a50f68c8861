/*
 * bench/loadgen.c: a load generator for any Swift-API endpoint (kumo's
 * proxy, OpenStack Swift, ...): N client threads, each with its own
 * keep-alive libcurl handle, run one operation in a loop for a duration or
 * a number of operations, then the run prints one line of figures:
 *
 *   loadgen op=put size=4096 conc=16 ops=N errors=0 secs=S ops_s=X
 *           mb_s=Y p50_ms=A p99_ms=B max_ms=C
 *
 * Operations:
 *   put   PUT objects PREFIX<i> (i counts up from --start), SIZE bytes each;
 *         the container is created first
 *   get   GET objects PREFIX<i mod OBJECTS> round robin; the body must be
 *         SIZE bytes
 *   head  HEAD the same objects
 *   list  GET the container with QUERY (default format=json&limit=10000)
 *   cput  the row an object server sends to a container server after a
 *         PUT (X-Timestamp, X-Size 0, X-Etag of the empty body), PUT
 *         straight to each --direct URL (http://ip:port/dev/part/a/c, one
 *         per replica): fills a container listing without object data
 * With --dirs K, the names are PREFIX<i mod K>/<i> (three and eight
 * digits) so that delimiter listings have K subdirectories.
 *
 * GET and HEAD go out on plain keep-alive sockets, all driven by one epoll
 * loop (raw_run): the load generator shares the cores with the servers it
 * measures, and a request then costs it a send, a recv and a share of an
 * epoll_wait instead of libcurl's polls and a thread's wakeup. Every
 * server gets the same requests. An https endpoint, or --curl, uses a
 * libcurl handle per thread as the other operations do.
 *
 * Any non-2xx answer, transport error or short GET body is an error; the
 * first few are printed on stderr and the exit status is 1 when any
 * occurred. What the figures mean and how they compare is left to the
 * scripts (bench/swift.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

enum op { OP_PUT, OP_GET, OP_HEAD, OP_LIST, OP_CPUT };

#define MAX_DIRECT 8
#define PATTERN	   (1 << 20)
#define EMPTY_MD5  "d41d8cd98f00b204e9800998ecf8427e"

struct opts {
	const char *auth, *user, *key, *container, *prefix, *query;
	const char *direct[MAX_DIRECT];
	int ndirect;
	enum op op;
	int conc, dirs;
	double duration;     /* seconds; 0 = until ops */
	long long max_ops;   /* 0 = until duration */
	long long objects;   /* names for get/head */
	long long start;     /* first index for put/cput */
	long long size;	     /* bytes per object */
	char storage[2048];  /* X-Storage-Url */
	char token[512];     /* X-Auth-Token */
	char *pattern;	     /* PATTERN bytes, the PUT bodies */
	struct timespec t0;  /* start of the run */
	double deadline;     /* seconds after t0; 0 = none */
	atomic_llong next;   /* the next operation's number */
	atomic_llong errors; /* failed operations */
};

struct worker {
	pthread_t tid;
	struct opts *o;
	CURL *curl;
	double *lat; /* milliseconds of each operation */
	long long nlat, cap;
	long long bytes; /* body bytes sent or received */
	long long got;	 /* bytes of the current GET */
	long long sent;	 /* bytes of the current PUT body so far */
};

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static size_t discard(char *p, size_t sz, size_t n, void *arg)
{
	struct worker *w = arg;

	(void)p;
	w->got += (long long)(sz * n);
	return sz * n;
}

static size_t fill_body(char *buf, size_t sz, size_t n, void *arg)
{
	struct worker *w = arg;
	long long left = w->o->size - w->sent;
	size_t want = sz * n, off = (size_t)(w->sent % PATTERN);

	if ((long long)want > left)
		want = (size_t)left;
	if (want > PATTERN - off)
		want = PATTERN - off;
	memcpy(buf, w->o->pattern + off, want);
	w->sent += (long long)want;
	return want;
}

/* the auth answer's X-Storage-Url and X-Auth-Token */
static size_t auth_header(char *p, size_t sz, size_t n, void *arg)
{
	struct opts *o = arg;
	size_t len = sz * n;
	char line[2600], *v, *end;

	if (len >= sizeof(line))
		return len;
	memcpy(line, p, len);
	line[len] = '\0';
	v = strchr(line, ':');
	if (!v)
		return len;
	*v++ = '\0';
	v += strspn(v, " \t");
	end = v + strcspn(v, "\r\n");
	*end = '\0';
	if (!strcasecmp(line, "X-Storage-Url"))
		snprintf(o->storage, sizeof(o->storage), "%s", v);
	else if (!strcasecmp(line, "X-Auth-Token"))
		snprintf(o->token, sizeof(o->token), "%s", v);
	return len;
}

static int authenticate(struct opts *o)
{
	struct curl_slist *h = NULL;
	char hdr[1024];
	long status = 0;
	CURL *c = curl_easy_init();
	int rc = -1;

	if (!c)
		return -1;
	snprintf(hdr, sizeof(hdr), "X-Auth-User: %s", o->user);
	h = curl_slist_append(h, hdr);
	snprintf(hdr, sizeof(hdr), "X-Auth-Key: %s", o->key);
	h = curl_slist_append(h, hdr);
	curl_easy_setopt(c, CURLOPT_URL, o->auth);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, auth_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, o);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &(struct worker){0});
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status / 100 == 2 && o->storage[0] && o->token[0])
		rc = 0;
	else
		fprintf(stderr, "loadgen: auth at %s failed (status %ld)\n",
			o->auth, status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return rc;
}

static void object_name(const struct opts *o, long long i, char *buf,
			size_t len)
{
	if (o->dirs > 0)
		snprintf(buf, len, "%s%03lld/%08lld", o->prefix, i % o->dirs,
			 i);
	else
		snprintf(buf, len, "%s%08lld", o->prefix, i);
}

static void note_error(struct opts *o, const char *what, const char *url,
		       long status, const char *why)
{
	if (atomic_fetch_add(&o->errors, 1) < 5)
		fprintf(stderr, "loadgen: %s %s: %ld %s\n", what, url, status,
			why);
}

/*
 * One request on the worker's handle: METHOD url with the token and the
 * headers of extra (the caller's, left to it). Returns the HTTP status, 0
 * on a transport error (noted).
 */
static long request(struct worker *w, const char *method, const char *url,
		    int body, struct curl_slist *extra)
{
	struct opts *o = w->o;
	struct curl_slist *h = NULL, *e;
	char hdr[600];
	long status = 0;
	CURLcode cc;

	for (e = extra; e; e = e->next)
		h = curl_slist_append(h, e->data);
	if (o->token[0]) {
		snprintf(hdr, sizeof(hdr), "X-Auth-Token: %s", o->token);
		h = curl_slist_append(h, hdr);
	}
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(w->curl, CURLOPT_URL, url);
	curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(w->curl, CURLOPT_HTTPGET, 1L);
	if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(w->curl, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(method, "PUT")) {
		curl_easy_setopt(w->curl, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(w->curl, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)(body ? o->size : 0));
	}
	w->got = 0;
	w->sent = 0;
	cc = curl_easy_perform(w->curl);
	if (cc == CURLE_OK)
		curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
	else
		note_error(o, method, url, 0, curl_easy_strerror(cc));
	curl_slist_free_all(h);
	return status;
}

static int one_op(struct worker *w, long long i)
{
	struct opts *o = w->o;
	char name[512], url[3200];
	long status;
	int k;

	switch (o->op) {
	case OP_PUT:
		object_name(o, o->start + i, name, sizeof(name));
		snprintf(url, sizeof(url), "%s/%s/%s", o->storage, o->container,
			 name);
		status = request(w, "PUT", url, 1, NULL);
		if (status / 100 == 2)
			w->bytes += o->size;
		break;
	case OP_GET:
	case OP_HEAD:
		object_name(o, i % o->objects, name, sizeof(name));
		snprintf(url, sizeof(url), "%s/%s/%s", o->storage, o->container,
			 name);
		status = request(w, o->op == OP_GET ? "GET" : "HEAD", url, 0,
				 NULL);
		if (o->op == OP_GET && status / 100 == 2 && w->got != o->size) {
			note_error(o, "GET", url, status, "short body");
			return -1;
		}
		w->bytes += w->got;
		break;
	case OP_LIST:
		snprintf(url, sizeof(url), "%s/%s?%s", o->storage, o->container,
			 o->query);
		status = request(w, "GET", url, 0, NULL);
		w->bytes += w->got;
		break;
	case OP_CPUT:
	default:
		object_name(o, o->start + i, name, sizeof(name));
		status = 0;
		for (k = 0; k < o->ndirect; k++) {
			struct curl_slist *h = NULL;
			struct timeval tv;
			char ts[64];

			gettimeofday(&tv, NULL);
			snprintf(ts, sizeof(ts), "X-Timestamp: %ld.%05ld",
				 (long)tv.tv_sec, (long)tv.tv_usec / 10);
			h = curl_slist_append(h, ts);
			h = curl_slist_append(h, "X-Size: 0");
			h = curl_slist_append(
				h, "X-Content-Type: application/octet-stream");
			h = curl_slist_append(h, "X-Etag: " EMPTY_MD5);
			snprintf(url, sizeof(url), "%s/%s", o->direct[k], name);
			status = request(w, "PUT", url, 0, h);
			curl_slist_free_all(h);
			if (status / 100 != 2)
				break;
		}
		break;
	}
	if (status == 0)
		return -1; /* already noted */
	if (status / 100 != 2) {
		note_error(o, "request", url, status, "non-2xx");
		return -1;
	}
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct opts *o = w->o;

	for (;;) {
		double t = since(&o->t0);
		long long i;

		/* time first, then the number: the names done are 0..ops-1 */
		if (o->deadline > 0 && t >= o->deadline)
			break;
		i = atomic_fetch_add(&o->next, 1);
		if (o->max_ops && i >= o->max_ops)
			break;
		/* failed operations count in the latencies too */
		one_op(w, i);
		if (w->nlat == w->cap) {
			long long cap = w->cap ? w->cap * 2 : 4096;
			double *p = realloc(w->lat, (size_t)cap * sizeof(*p));

			if (!p)
				break;
			w->lat = p;
			w->cap = cap;
		}
		w->lat[w->nlat++] = (since(&o->t0) - t) * 1e3;
	}
	return NULL;
}

/* --- GET and HEAD on plain sockets (raw_run) ------------------------------ */

#define RAW_HEAD_MAX 16384 /* an answer's status line and headers */

/* An http:// storage URL taken apart. */
struct endpoint {
	struct sockaddr_storage sa;
	socklen_t salen;
	char host[256];	 /* the Host header: host[:port] as in the URL */
	char path[2048]; /* the URL's path, e.g. /v1/AUTH_test */
};

enum body_mode { BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_EOF };
enum chunk_state { CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILER };

/* One client: a keep-alive connection with at most one request on it. */
struct conn {
	int fd;
	int epfd;	/* the loop's epoll */
	int busy;	/* a request is in flight */
	long long i;	/* its operation number */
	double t;	/* when it was sent, seconds after t0 */
	char req[3072]; /* the request */
	size_t reqlen, sent;
	char head[RAW_HEAD_MAX]; /* the answer's head so far */
	size_t hlen;
	int in_body; /* the head is done */
	long status;
	int keep; /* the server keeps the connection */
	enum body_mode mode;
	long long left; /* BODY_LENGTH: bytes to come; chunked: of the chunk */
	enum chunk_state cs;
	char line[128]; /* a chunk size or trailer line */
	size_t llen;
	long long got; /* body bytes */
};

/* http://host[:port]/path into ep. 0, or -1 (another scheme, no such
 * host). */
static int endpoint_parse(const char *url, struct endpoint *ep)
{
	struct addrinfo hints, *ai = NULL;
	char name[256], port[16] = "80";
	const char *h, *slash, *colon;
	size_t hl;

	if (strncmp(url, "http://", 7))
		return -1;
	h = url + 7;
	slash = strchr(h, '/');
	if (!slash)
		slash = h + strlen(h);
	hl = (size_t)(slash - h);
	if (!hl || hl >= sizeof(ep->host) || strlen(slash) >= sizeof(ep->path))
		return -1;
	memcpy(ep->host, h, hl);
	ep->host[hl] = '\0';
	strcpy(ep->path, slash);
	if (ep->host[0] == '[') {
		const char *e = strchr(ep->host, ']');

		if (!e)
			return -1;
		snprintf(name, sizeof(name), "%.*s", (int)(e - ep->host - 1),
			 ep->host + 1);
		if (e[1] == ':')
			snprintf(port, sizeof(port), "%s", e + 2);
	} else {
		colon = strchr(ep->host, ':');
		snprintf(name, sizeof(name), "%.*s",
			 colon ? (int)(colon - ep->host) : (int)hl, ep->host);
		if (colon)
			snprintf(port, sizeof(port), "%s", colon + 1);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, port, &hints, &ai) || !ai)
		return -1;
	memcpy(&ep->sa, ai->ai_addr, ai->ai_addrlen);
	ep->salen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/* A new connection of c, watched by epfd. 0 or -1 (noted). */
static int conn_open(struct opts *o, const struct endpoint *ep, int epfd,
		     struct conn *c)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	int one = 1;

	c->fd = socket(ep->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd == -1 ||
	    connect(c->fd, (const struct sockaddr *)&ep->sa, ep->salen) ||
	    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    fcntl(c->fd, F_SETFL, O_NONBLOCK) ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev)) {
		note_error(o, "connect", ep->host, 0, strerror(errno));
		if (c->fd != -1)
			close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

/* Watch c for reading, and for writing while its request is not all
 * sent. */
static void conn_watch(int epfd, struct conn *c, int out)
{
	struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0),
				 .data.ptr = c};

	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Send what is left of c's request. 0, or -1 (the connection failed). */
static int conn_send(int epfd, struct conn *c)
{
	int was_partial = c->sent > 0;

	while (c->sent < c->reqlen) {
		ssize_t n = send(c->fd, c->req + c->sent, c->reqlen - c->sent,
				 MSG_NOSIGNAL);

		if (n > 0) {
			c->sent += (size_t)n;
		} else if (n == -1 && errno == EAGAIN) {
			if (!was_partial)
				conn_watch(epfd, c, 1);
			return 0;
		} else if (!(n == -1 && errno == EINTR)) {
			return -1;
		}
	}
	if (was_partial)
		conn_watch(epfd, c, 0);
	return 0;
}

/* The status line and headers in c->head (hlen bytes, ending in an empty
 * line) into c's status, body mode and keep-alive. 0, or -1. */
static int parse_head(struct conn *c, int head_request)
{
	char *line = c->head, *end, *v;
	int minor, chunked = 0;
	long long clen = -1;

	c->head[c->hlen] = '\0';
	if (sscanf(line, "HTTP/1.%d %ld", &minor, &c->status) != 2)
		return -1;
	c->keep = minor >= 1;
	for (line = strstr(line, "\r\n") + 2; *line != '\r'; line = end + 2) {
		end = strstr(line, "\r\n");
		*end = '\0';
		v = strchr(line, ':');
		if (!v)
			return -1;
		*v++ = '\0';
		v += strspn(v, " \t");
		if (!strcasecmp(line, "Content-Length"))
			clen = strtoll(v, NULL, 10);
		else if (!strcasecmp(line, "Transfer-Encoding"))
			chunked = strcasestr(v, "chunked") != NULL;
		else if (!strcasecmp(line, "Connection"))
			c->keep = strcasestr(v, "close")	? 0
				  : strcasestr(v, "keep-alive") ? 1
								: c->keep;
	}
	if (head_request || c->status == 204 || c->status == 304) {
		c->mode = BODY_NONE;
	} else if (chunked) {
		c->mode = BODY_CHUNKED;
		c->cs = CH_SIZE;
		c->llen = 0;
	} else if (clen >= 0) {
		c->mode = BODY_LENGTH;
		c->left = clen;
	} else {
		c->mode = BODY_EOF;
		c->keep = 0;
	}
	return 0;
}

/* One line of a chunked body gathered in c->line: 1 when it ended at
 * p[*used - 1], 0 when more is needed, -1 when too long. */
static int chunk_line(struct conn *c, const char *p, size_t n, size_t *used)
{
	const char *nl = memchr(p, '\n', n);
	size_t take = nl ? (size_t)(nl - p) + 1 : n;

	*used = take;
	if (c->llen + take >= sizeof(c->line))
		return -1;
	memcpy(c->line + c->llen, p, take);
	c->llen += take;
	c->line[c->llen] = '\0';
	return nl != NULL;
}

/* Feed the next n received bytes of c's answer. 1 when the answer is
 * complete, 0 when more must come, -1 on a malformed answer. */
static int conn_feed(struct conn *c, const char *p, size_t n, int head_request)
{
	size_t used;
	int r;

	while (n) {
		if (!c->in_body) {
			size_t room = RAW_HEAD_MAX - 1 - c->hlen, from, take;
			char *e;

			if (!room)
				return -1;
			take = n < room ? n : room;
			from = c->hlen > 3 ? c->hlen - 3 : 0;
			memcpy(c->head + c->hlen, p, take);
			c->hlen += take;
			c->head[c->hlen] = '\0';
			e = strstr(c->head + from, "\r\n\r\n");
			if (!e) {
				p += take;
				n -= take;
				continue;
			}
			used = (size_t)(e + 4 - c->head) - (c->hlen - take);
			c->hlen = (size_t)(e + 4 - c->head);
			p += used;
			n -= used;
			if (parse_head(c, head_request))
				return -1;
			if (c->status >= 100 && c->status < 200) {
				c->hlen = 0; /* an interim answer */
				continue;
			}
			c->in_body = 1;
			if (c->mode == BODY_NONE ||
			    (c->mode == BODY_LENGTH && !c->left))
				return 1;
			continue;
		}
		switch (c->mode) {
		case BODY_LENGTH:
			used = (long long)n < c->left ? n : (size_t)c->left;
			c->got += (long long)used;
			c->left -= (long long)used;
			if (!c->left)
				return 1;
			break;
		case BODY_CHUNKED:
			if (c->cs == CH_DATA) {
				used = (long long)n < c->left ? n
							      : (size_t)c->left;
				c->got += (long long)used;
				c->left -= (long long)used;
				if (!c->left) {
					c->cs = CH_DATA_END;
					c->llen = 0;
				}
				break;
			}
			r = chunk_line(c, p, n, &used);
			if (r < 0)
				return -1;
			if (!r)
				break;
			c->llen = 0;
			if (c->cs == CH_SIZE) {
				c->left = strtoll(c->line, NULL, 16);
				c->cs = c->left > 0 ? CH_DATA : CH_TRAILER;
			} else if (c->cs == CH_DATA_END) {
				c->cs = CH_SIZE;
			} else if (c->line[0] == '\r' || c->line[0] == '\n') {
				return 1; /* the trailer's empty line */
			}
			break;
		default: /* BODY_EOF: until the server closes */
			used = n;
			c->got += (long long)n;
			break;
		}
		p += used;
		n -= used;
	}
	return 0;
}

/* Start c's next operation, if the run goes on. 1 started, 0 none left,
 * -1 the connection failed. */
static int conn_start(struct opts *o, const struct endpoint *ep, int epfd,
		      struct conn *c)
{
	double t = since(&o->t0);
	char name[512];
	long long i;
	int n;

	if (o->deadline > 0 && t >= o->deadline)
		return 0;
	i = atomic_fetch_add(&o->next, 1);
	if (o->max_ops && i >= o->max_ops)
		return 0;
	c->i = i;
	c->t = t;
	c->busy = 1;
	c->sent = 0;
	c->hlen = 0;
	c->in_body = 0;
	c->got = 0;
	object_name(o, i % o->objects, name, sizeof(name));
	n = snprintf(c->req, sizeof(c->req),
		     "%s %s/%s/%s HTTP/1.1\r\nHost: %s\r\nAccept: */*\r\n"
		     "X-Auth-Token: %s\r\n\r\n",
		     o->op == OP_GET ? "GET" : "HEAD", ep->path, o->container,
		     name, ep->host, o->token);
	if (n < 0 || (size_t)n >= sizeof(c->req))
		return -1;
	c->reqlen = (size_t)n;
	return conn_send(epfd, c) ? -1 : 1;
}

struct lat_list {
	double *v;
	long long n, cap;
};

static int lat_add(struct lat_list *l, double ms)
{
	if (l->n == l->cap) {
		long long cap = l->cap ? l->cap * 2 : 65536;
		double *p = realloc(l->v, (size_t)cap * sizeof(*p));

		if (!p)
			return -1;
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = ms;
	return 0;
}

/*
 * c's operation ended: complete (the answer read whole) or not (why says
 * what failed). Its latency is kept, its errors noted; a connection the
 * server or a failure ended is opened again.
 */
static void conn_done(struct opts *o, const struct endpoint *ep, int epfd,
		      struct conn *c, int complete, const char *why,
		      struct lat_list *lat, long long *bytes)
{
	char url[3200], name[512];
	long status = complete ? c->status : 0;

	c->busy = 0;
	lat_add(lat, (since(&o->t0) - c->t) * 1e3);
	if (status / 100 == 2 && o->op == OP_GET && c->got != o->size)
		why = "short body";
	else if (complete && status / 100 != 2)
		why = "non-2xx";
	else if (complete)
		why = NULL;
	if (why) {
		object_name(o, c->i % o->objects, name, sizeof(name));
		snprintf(url, sizeof(url), "http://%s%s/%s/%s", ep->host,
			 ep->path, o->container, name);
		note_error(o, o->op == OP_GET ? "GET" : "HEAD", url, status,
			   why);
	}
	if (complete)
		*bytes += c->got;
	if (!complete || !c->keep) {
		close(c->fd);
		c->fd = -1;
		conn_open(o, ep, epfd, c);
	}
}

/* Start c's next operation; one whose request cannot be sent ends
 * there and the next goes on a new connection. 1 when one is in flight,
 * 0 when c is done. */
static int conn_next(struct opts *o, const struct endpoint *ep, int epfd,
		     struct conn *c, struct lat_list *lat, long long *bytes)
{
	int k;

	while (c->fd != -1) {
		k = conn_start(o, ep, epfd, c);
		if (k >= 0)
			return k;
		conn_done(o, ep, epfd, c, 0, "send failed", lat, bytes);
	}
	return 0;
}

/* What events of epoll mean for c's operation: 1 its answer is complete,
 * 0 more must come, -1 it failed (*why says how). */
static int conn_event(struct conn *c, uint32_t events, int head_request,
		      const char **why)
{
	char buf[65536];
	ssize_t got;

	*why = "send failed";
	if ((events & EPOLLOUT) && c->sent < c->reqlen && conn_send(c->epfd, c))
		return -1;
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return 0;
	got = recv(c->fd, buf, sizeof(buf), 0);
	if (got == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (got > 0) {
		*why = "malformed answer";
		return conn_feed(c, buf, (size_t)got, head_request);
	}
	if (got == 0 && c->in_body && c->mode == BODY_EOF)
		return 1;
	*why = got ? strerror(errno) : "connection closed";
	return -1;
}

/*
 * Run o's GET or HEAD on o->conc connections to ep from this thread: the
 * latency of each operation into *lat (the caller frees lat->v), the body
 * bytes into *bytes. 0, or -1 when it could not start.
 */
static int raw_run(struct opts *o, const struct endpoint *ep,
		   struct lat_list *lat, long long *bytes)
{
	int head_request = o->op == OP_HEAD;
	struct epoll_event *evs = calloc((size_t)o->conc, sizeof(*evs));
	struct conn *cs = calloc((size_t)o->conc, sizeof(*cs));
	int epfd = epoll_create1(EPOLL_CLOEXEC), busy = 0, i, n, rc = -1;
	const char *why;

	if (!evs || !cs || epfd == -1)
		goto out;
	for (i = 0; i < o->conc; i++) {
		cs[i].fd = -1;
		cs[i].epfd = epfd;
	}
	for (i = 0; i < o->conc; i++)
		if (conn_open(o, ep, epfd, &cs[i]))
			goto out;
	for (i = 0; i < o->conc; i++)
		busy += conn_next(o, ep, epfd, &cs[i], lat, bytes);
	rc = 0;
	while (busy) {
		n = epoll_wait(epfd, evs, o->conc, 1000);
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			int k;

			if (!c->busy)
				continue;
			k = conn_event(c, evs[i].events, head_request, &why);
			if (!k)
				continue;
			conn_done(o, ep, epfd, c, k > 0, why, lat, bytes);
			busy -= !conn_next(o, ep, epfd, c, lat, bytes);
		}
		/* the 600 s of the libcurl path's CURLOPT_TIMEOUT */
		for (i = 0; i < o->conc; i++)
			if (cs[i].busy && since(&o->t0) - cs[i].t > 600) {
				conn_done(o, ep, epfd, &cs[i], 0, "timed out",
					  lat, bytes);
				busy -= !conn_next(o, ep, epfd, &cs[i], lat,
						   bytes);
			}
	}
out:
	for (i = 0; cs && i < o->conc; i++)
		if (cs[i].fd != -1)
			close(cs[i].fd);
	if (epfd != -1)
		close(epfd);
	free(cs);
	free(evs);
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static long long parse_size(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	switch (*end) {
	case 'k':
	case 'K':
		return v << 10;
	case 'm':
	case 'M':
		return v << 20;
	case 'g':
	case 'G':
		return v << 30;
	default:
		return *end ? -1 : v;
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: loadgen -o put|get|head|list|cput [-A AUTH_URL -U USER "
		"-K KEY]\n"
		"  [-C CONTAINER] [-c CONCURRENCY] [-d SECONDS] [-N OPS] "
		"[-s SIZE[K|M|G]]\n"
		"  [-n OBJECTS] [-p PREFIX] [--start I] [--dirs K] "
		"[-q QUERY] [-D URL]... [--curl]\n");
}

/* object names must not need escaping in a URL */
static int safe_name(const char *s)
{
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789._-/") == strlen(s);
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {{"auth", 1, 0, 'A'},
					      {"user", 1, 0, 'U'},
					      {"key", 1, 0, 'K'},
					      {"container", 1, 0, 'C'},
					      {"concurrency", 1, 0, 'c'},
					      {"duration", 1, 0, 'd'},
					      {"ops", 1, 0, 'N'},
					      {"size", 1, 0, 's'},
					      {"op", 1, 0, 'o'},
					      {"objects", 1, 0, 'n'},
					      {"prefix", 1, 0, 'p'},
					      {"query", 1, 0, 'q'},
					      {"direct", 1, 0, 'D'},
					      {"start", 1, 0, 'S'},
					      {"dirs", 1, 0, 'k'},
					      {"curl", 0, 0, 'L'},
					      {0, 0, 0, 0}};
	struct opts o = {.container = "bench",
			 .prefix = "obj-",
			 .query = "format=json&limit=10000",
			 .op = -1,
			 .conc = 16,
			 .objects = 0,
			 .size = 4096};
	static const char *names[] = {"put", "get", "head", "list", "cput"};
	struct worker *ws = NULL;
	double *all = NULL, secs;
	long long n = 0, bytes = 0, ops;
	struct endpoint ep;
	int i, c, rc = 2, use_curl = 0, raw;

	while ((c = getopt_long(argc, argv, "A:U:K:C:c:d:N:s:o:n:p:q:D:", longs,
				NULL)) != -1) {
		switch (c) {
		case 'A':
			o.auth = optarg;
			break;
		case 'U':
			o.user = optarg;
			break;
		case 'K':
			o.key = optarg;
			break;
		case 'C':
			o.container = optarg;
			break;
		case 'c':
			o.conc = atoi(optarg);
			break;
		case 'd':
			o.duration = atof(optarg);
			break;
		case 'N':
			o.max_ops = atoll(optarg);
			break;
		case 's':
			o.size = parse_size(optarg);
			break;
		case 'n':
			o.objects = atoll(optarg);
			break;
		case 'p':
			o.prefix = optarg;
			break;
		case 'q':
			o.query = optarg;
			break;
		case 'S':
			o.start = atoll(optarg);
			break;
		case 'k':
			o.dirs = atoi(optarg);
			break;
		case 'L':
			use_curl = 1;
			break;
		case 'D':
			if (o.ndirect == MAX_DIRECT) {
				usage();
				return 2;
			}
			o.direct[o.ndirect++] = optarg;
			break;
		case 'o':
			o.op = !strcmp(optarg, "put")	 ? OP_PUT
			       : !strcmp(optarg, "get")	 ? OP_GET
			       : !strcmp(optarg, "head") ? OP_HEAD
			       : !strcmp(optarg, "list") ? OP_LIST
			       : !strcmp(optarg, "cput") ? OP_CPUT
							 : -1;
			break;
		default:
			usage();
			return 2;
		}
	}
	if ((int)o.op < 0 || o.conc < 1 || o.size < 0 || !safe_name(o.prefix) ||
	    !safe_name(o.container) ||
	    (o.op == OP_CPUT ? o.ndirect == 0 : !o.auth || !o.user || !o.key) ||
	    ((o.op == OP_GET || o.op == OP_HEAD) && o.objects < 1)) {
		usage();
		return 2;
	}
	if (!o.duration && !o.max_ops)
		o.duration = 20;
	curl_global_init(CURL_GLOBAL_ALL);
	if (o.op != OP_CPUT && authenticate(&o))
		goto out;
	o.pattern = malloc(PATTERN);
	ws = calloc((size_t)o.conc, sizeof(*ws));
	if (!o.pattern || !ws)
		goto out;
	for (i = 0; i < PATTERN; i++)
		o.pattern[i] = (char)('a' + i % 26);
	if (o.op == OP_PUT) {
		struct worker w0 = {.o = &o, .curl = curl_easy_init()};
		char url[2400];
		long st;

		snprintf(url, sizeof(url), "%s/%s", o.storage, o.container);
		curl_easy_setopt(w0.curl, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(w0.curl, CURLOPT_WRITEDATA, &w0);
		st = request(&w0, "PUT", url, 0, NULL);
		curl_easy_cleanup(w0.curl);
		if (st / 100 != 2) {
			fprintf(stderr, "loadgen: PUT %s: %ld\n", url, st);
			goto out;
		}
	}
	raw = (o.op == OP_GET || o.op == OP_HEAD) && !use_curl &&
	      !endpoint_parse(o.storage, &ep);
	clock_gettime(CLOCK_MONOTONIC, &o.t0);
	o.deadline = o.duration;
	if (raw) {
		struct lat_list lat = {0};

		rc = raw_run(&o, &ep, &lat, &bytes);
		secs = since(&o.t0);
		all = lat.v;
		n = lat.n;
		if (rc) {
			rc = 2;
			goto out;
		}
		goto report;
	}
	for (i = 0; i < o.conc; i++) {
		ws[i].o = &o;
		ws[i].curl = curl_easy_init();
		if (!ws[i].curl)
			goto out;
		curl_easy_setopt(ws[i].curl, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(ws[i].curl, CURLOPT_WRITEDATA, &ws[i]);
		curl_easy_setopt(ws[i].curl, CURLOPT_READFUNCTION, fill_body);
		curl_easy_setopt(ws[i].curl, CURLOPT_READDATA, &ws[i]);
		curl_easy_setopt(ws[i].curl, CURLOPT_TIMEOUT, 600L);
		curl_easy_setopt(ws[i].curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(ws[i].curl, CURLOPT_TCP_NODELAY, 1L);
	}
	for (i = 0; i < o.conc; i++)
		if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i])) {
			o.conc = i;
			break;
		}
	for (i = 0; i < o.conc; i++) {
		pthread_join(ws[i].tid, NULL);
		n += ws[i].nlat;
		bytes += ws[i].bytes;
	}
	secs = since(&o.t0);
	all = malloc((size_t)(n ? n : 1) * sizeof(*all));
	if (!all)
		goto out;
	ops = 0;
	for (i = 0; i < o.conc; i++) {
		memcpy(all + ops, ws[i].lat, (size_t)ws[i].nlat * sizeof(*all));
		ops += ws[i].nlat;
	}
report:
	qsort(all, (size_t)n, sizeof(*all), cmp_double);
	printf("loadgen op=%s size=%lld conc=%d ops=%lld errors=%lld "
	       "secs=%.3f ops_s=%.1f mb_s=%.1f p50_ms=%.3f p99_ms=%.3f "
	       "max_ms=%.3f\n",
	       names[o.op], o.size, o.conc, n, (long long)o.errors, secs,
	       n / secs, bytes / secs / 1e6, n ? all[n / 2] : 0.0,
	       n ? all[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] : 0.0,
	       n ? all[n - 1] : 0.0);
	rc = o.errors || !n ? 1 : 0;
out:
	if (ws)
		for (i = 0; i < o.conc; i++) {
			if (ws[i].curl)
				curl_easy_cleanup(ws[i].curl);
			free(ws[i].lat);
		}
	free(ws);
	free(all);
	free(o.pattern);
	curl_global_cleanup();
	return rc;
}
