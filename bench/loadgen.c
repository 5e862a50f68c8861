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
 * Any non-2xx answer, transport error or short GET body is an error; the
 * first few are printed on stderr and the exit status is 1 when any
 * occurred. What the figures mean and how they compare is left to the
 * scripts (bench/swift.sh).
 */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

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
		"[-q QUERY] [-D URL]...\n");
}

/* object names must not need escaping in a URL */
static int safe_name(const char *s)
{
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789._-/") == strlen(s);
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{"auth", 1, 0, 'A'},	    {"user", 1, 0, 'U'},
		{"key", 1, 0, 'K'},	    {"container", 1, 0, 'C'},
		{"concurrency", 1, 0, 'c'}, {"duration", 1, 0, 'd'},
		{"ops", 1, 0, 'N'},	    {"size", 1, 0, 's'},
		{"op", 1, 0, 'o'},	    {"objects", 1, 0, 'n'},
		{"prefix", 1, 0, 'p'},	    {"query", 1, 0, 'q'},
		{"direct", 1, 0, 'D'},	    {"start", 1, 0, 'S'},
		{"dirs", 1, 0, 'k'},	    {0, 0, 0, 0}};
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
	int i, c, rc = 2;

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
	clock_gettime(CLOCK_MONOTONIC, &o.t0);
	o.deadline = o.duration;
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
