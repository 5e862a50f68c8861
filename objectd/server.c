/*
 * objectd/server.c: the object server's HTTP verbs, as Swift's
 * obj/server.py answers them: PUT, GET, HEAD, POST, DELETE on
 * /<device>/<partition>/<account>/<container>/<object>, and /healthcheck.
 *
 * Dispatch goes through one table of {method, handler} (objd_route); each
 * handler validates the path and headers in on_headers and answers there,
 * except PUT, which streams the body into a df_writer (diskfile.c) from
 * on_body and commits it in on_end. Replies go through http_reply*(); no
 * handler touches a socket. Errors are mapped to HTTP statuses here and
 * only here (status_of_errno).
 *
 * Erasure-coded policies (docs/storage-policies.md, the EC protocol):
 * a PUT writes the non-durable fragment archive <ts>#<i>.data (index i
 * from X-Object-Sysmeta-Ec-Frag-Index) and sends no container update;
 * COMMIT makes it durable (<ts>#<i>#d.data) and then sends the update
 * with the whole object's etag and size; GET and HEAD serve the newest
 * durable archive (X-Backend-Ec-Frag-Index picks an index,
 * X-Backend-Ec-Nondurable: yes shows non-durable ones, for the
 * reconstructor) and list the indexes held in X-Backend-Fragments.
 *
 * A GET of a whole object checks the body's MD5 while it streams: the
 * check completes before the last chunk is handed out, and a mismatch
 * quarantines the object and cuts the connection, so a client never gets
 * a corrupt body whole (stream_read). An object PUT with
 * X-Backend-Etag-Hash: xxh3-128 (volume chunks, etag.c) has the body's
 * XXH3-128 as its ETag, and is checked by that instead.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/ec.h"
#include "common/log.h"
#include "common/md5.h"
#include "common/policy.h"
#include "objectd/internal.h"

#define TICKS_PER_SEC 100000

/* Per-request state of every object verb. */
struct obj_req {
	struct objd *od;
	char *pathbuf;
	const char *dev, *part, *a, *c, *o;
	struct df_loc loc;
	const struct storage_policy *sp; /* of the request (locate) */
	struct ts ts;
	int frag_index; /* EC PUT: X-Object-Sysmeta-Ec-Frag-Index */
	/* PUT */
	struct df_writer w;
	int writing;
	int64_t clen; /* -1: chunked */
	struct objmeta meta;
	int64_t orig_da; /* X-Delete-At of the object found, 0 if none */
	int etag_kind;	 /* X-Backend-Etag-Hash: what the ETag is a hash of */
};

static int64_t ts_secs(const struct ts *t)
{
	return t->ticks / TICKS_PER_SEC;
}

static int status_of_errno(int rc)
{
	switch (rc) {
	case -ENODEV:
	case -ENOSPC:
	case -EDQUOT:
		return 507;
	case -EEXIST:
		return 403;
	default:
		return 500;
	}
}

static void reply_errno(struct http_request *req, struct obj_req *r, int rc)
{
	int status = status_of_errno(rc);

	if (status == 507)
		http_reply_error(req, 507, "Insufficient Storage: %s", r->dev);
	else if (status == 403)
		http_reply_error(req, 403, "Forbidden: name collision");
	else
		http_reply_error(req, 500, "Internal Server Error: %s",
				 strerror(-rc));
}

/*
 * Each connection thread keeps the obj_req of its last request for its
 * next one: a calloc of this 12 KiB struct made malloc consolidate its
 * fast bins on every request (3% of kumo-objectd's CPU per 4 KiB GET).
 * The spare is freed when its thread ends.
 */
static pthread_key_t spare_key;
static int spare_ok;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;

static void spare_key_make(void)
{
	spare_ok = !pthread_key_create(&spare_key, free);
}

/* A zeroed obj_req (this thread's spare, or a new one), or NULL. */
static struct obj_req *obj_req_new(void)
{
	struct obj_req *r = NULL;

	pthread_once(&spare_once, spare_key_make);
	if (spare_ok)
		r = pthread_getspecific(spare_key);
	if (!r)
		return calloc(1, sizeof(*r));
	pthread_setspecific(spare_key, NULL);
	memset(r, 0, sizeof(*r));
	return r;
}

static void free_obj_req(struct obj_req *r)
{
	if (!r)
		return;
	if (r->writing)
		df_writer_abort(&r->w);
	objmeta_free(&r->meta);
	free(r->pathbuf);
	pthread_once(&spare_once, spare_key_make);
	if (!spare_ok || pthread_getspecific(spare_key) ||
	    pthread_setspecific(spare_key, r))
		free(r);
}

static void obj_close(struct http_request *req, int completed)
{
	(void)completed;
	free_obj_req(http_state(req));
	http_set_state(req, NULL);
}

static int bad_fixed_segment(const char *s)
{
	return !*s || !strcmp(s, ".") || !strcmp(s, "..");
}

/*
 * Split and check /<dev>/<part>/<a>/<c>/<o> (Swift's split_and_validate
 * path and check_utf8, plus the name limits). On success the state is
 * attached to req and returned; otherwise the request has been answered
 * and NULL is returned.
 */
static struct obj_req *parse_request(struct http_request *req)
{
	const char *raw = http_raw_path(req);
	size_t len = strlen(raw) + 1;
	struct obj_req *r = obj_req_new();
	char *segs[5];
	int n, i;

	if (!r || !(r->pathbuf = malloc(len))) {
		free_obj_req(r);
		http_reply_error(req, 500, "out of memory");
		return NULL;
	}
	r->od = http_app(req);
	r->w.fd = -1;
	http_set_state(req, r);
	n = http_split_path(raw, r->pathbuf, len, segs, 5);
	if (n < 0) {
		http_reply_error(req, 400, "Invalid path: %s", raw);
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (*segs[i] && !objmeta_utf8_ok(segs[i], strlen(segs[i]))) {
			http_reply_error(req, 412,
					 "Invalid UTF8 or contains NULL");
			return NULL;
		}
	if (n != 5) {
		http_reply_error(req, 400, "Invalid path: %s", raw);
		return NULL;
	}
	/* as Swift: "." and ".." are refused for the device and partition
	 * only; account and container names reach the disk only hashed */
	for (i = 0; i < 4; i++)
		if ((i < 2 && bad_fixed_segment(segs[i])) || !*segs[i] ||
		    strchr(segs[i], '/')) {
			http_reply_error(req, 400, "Invalid path: %s", raw);
			return NULL;
		}
	if (strspn(segs[1], "0123456789") != strlen(segs[1])) {
		http_reply_error(req, 400, "Invalid partition: %s", segs[1]);
		return NULL;
	}
	r->dev = segs[0];
	r->part = segs[1];
	r->a = segs[2];
	r->c = segs[3];
	r->o = segs[4];
	if (strlen(r->a) > OBJ_MAX_ACCOUNT_NAME) {
		http_reply_error(req, 400,
				 "Account name length of %zu longer "
				 "than %d",
				 strlen(r->a), OBJ_MAX_ACCOUNT_NAME);
		return NULL;
	}
	if (strlen(r->c) > OBJ_MAX_CONTAINER_NAME) {
		http_reply_error(req, 400,
				 "Container name length of %zu "
				 "longer than %d",
				 strlen(r->c), OBJ_MAX_CONTAINER_NAME);
		return NULL;
	}
	if (strlen(r->o) > OBJ_MAX_OBJECT_NAME) {
		http_reply_error(req, 400,
				 "Object name length of %zu longer "
				 "than %d",
				 strlen(r->o), OBJ_MAX_OBJECT_NAME);
		return NULL;
	}
	if (!*r->o) {
		http_reply_error(req, 400, "Invalid path: %s", raw);
		return NULL;
	}
	return r;
}

/* X-Timestamp into r->ts (Swift's valid_timestamp); when optional and
 * absent, now. 0, or answered 400 and -EINVAL. */
static int request_timestamp(struct http_request *req, struct obj_req *r,
			     int required)
{
	const char *v = http_header(req, "X-Timestamp");

	if (!v) {
		if (!required) {
			ts_now(&r->ts);
			return 0;
		}
		http_reply_error(req, 400, "Missing X-Timestamp header");
		return -EINVAL;
	}
	if (ts_parse(v, &r->ts)) {
		http_reply_error(req, 400, "Invalid X-Timestamp header");
		return -EINVAL;
	}
	return 0;
}

/* df_locate_policy with the errors answered: the storage policy of
 * X-Backend-Storage-Policy-Index (none: 0), as Swift's
 * get_name_and_placement (503 for an index no policy has); with read,
 * df_locate_read (GET and HEAD: df_open_ec checks the device). 0 or
 * -errno (answered). */
static int locate(struct http_request *req, struct obj_req *r, int read)
{
	const char *v = http_header(req, "X-Backend-Storage-Policy-Index");
	const struct storage_policy *sp =
		v ? policy_by_index_str(v) : policy_by_index(0);
	int rc;

	if (!sp) {
		http_reply_error(req, 503, "No policy with index %s", v);
		return -EINVAL;
	}
	r->sp = sp;
	rc = (read ? df_locate_read : df_locate_policy)(
		r->od->cfg->devices, r->dev, r->part, sp->index, &r->od->hash,
		r->a, r->c, r->o, &r->loc);
	if (rc == -ENAMETOOLONG || rc == -EINVAL)
		http_reply_error(req, 400, "Invalid path");
	else if (rc)
		reply_errno(req, r, rc);
	return rc;
}

static void add_ts_header(struct http_request *req, const char *name,
			  const struct ts *t)
{
	char buf[TS_INTERNAL_LEN + 1];

	http_add_header(req, name, ts_internal(t, buf));
}

static int is_ec(const struct obj_req *r)
{
	return r->sp && r->sp->type == POLICY_ERASURE_CODING;
}

/* The fragment index in header name (0 .. k+m-1 of r's EC policy) into
 * *idx; -1 when absent. 0, or answered 400 and -EINVAL. */
static int frag_index_header(struct http_request *req, struct obj_req *r,
			     const char *name, int *idx)
{
	const char *v = http_header(req, name);
	char *end;
	long i;

	*idx = -1;
	if (!v)
		return 0;
	errno = 0;
	i = strtol(v, &end, 10);
	if (errno || end == v || *end || i < 0 ||
	    i >= r->sp->ec_ndata + r->sp->ec_nparity) {
		http_reply_error(req, 400, "Invalid %s: %s", name, v);
		return -EINVAL;
	}
	*idx = (int)i;
	return 0;
}

/* X-Backend-Fragments: the indexes of frags, comma-separated. */
static void add_frags_header(struct http_request *req, uint32_t frags)
{
	char buf[EC_MAX_FRAGS * 4], *p = buf;
	int i;

	buf[0] = '\0';
	for (i = 0; i < EC_MAX_FRAGS; i++)
		if (frags & (1u << i))
			p += sprintf(p, "%s%d", p == buf ? "" : ",", i);
	http_add_header(req, "X-Backend-Fragments", buf);
}

/* --- metadata checks (Swift's check_metadata) ---------------------------- */

struct meta_check {
	int count;
	size_t size;
	char err[256];
};

static void check_one_header(const char *name, const char *value, void *arg)
{
	struct meta_check *mc = arg;
	const char *key;

	if (mc->err[0])
		return;
	if (strlen(value) > OBJ_MAX_HEADER_SIZE) {
		snprintf(mc->err, sizeof(mc->err),
			 "Header value too long: %.*s", OBJ_MAX_META_NAME,
			 name);
		return;
	}
	if (strncasecmp(name, "X-Object-Meta-", 14))
		return;
	key = name + 14;
	if (!*key) {
		snprintf(mc->err, sizeof(mc->err),
			 "Metadata name cannot be empty");
		return;
	}
	mc->count++;
	mc->size += strlen(key) + strlen(value);
	if (strlen(key) > OBJ_MAX_META_NAME)
		snprintf(mc->err, sizeof(mc->err),
			 "Metadata name too long: %.160s", name);
	else if (strlen(value) > OBJ_MAX_META_VALUE)
		snprintf(mc->err, sizeof(mc->err),
			 "Metadata value longer than %d: %.160s",
			 OBJ_MAX_META_VALUE, name);
	else if (mc->count > OBJ_MAX_META_COUNT)
		snprintf(mc->err, sizeof(mc->err),
			 "Too many metadata items; max %d", OBJ_MAX_META_COUNT);
	else if (mc->size > OBJ_MAX_META_OVERALL)
		snprintf(mc->err, sizeof(mc->err),
			 "Total metadata too large; max %d",
			 OBJ_MAX_META_OVERALL);
}

/* 0, or answered 400 and -EINVAL. */
static int check_metadata(struct http_request *req)
{
	struct meta_check mc = {0};

	http_each_header(req, check_one_header, &mc);
	if (mc.err[0]) {
		http_reply_error(req, 400, "%s", mc.err);
		return -EINVAL;
	}
	return 0;
}

/* Copy the headers a write stores (user and system metadata, allowed
 * headers) into a metadata list, names title-cased as Swift's. */
struct copy_ctx {
	struct objmeta *m;
	int post; /* POST: user meta only, no sysmeta */
	int rc;
};

static void copy_one_header(const char *name, const char *value, void *arg)
{
	struct copy_ctx *cc = arg;
	char title[512];

	if (cc->rc || strlen(name) >= sizeof(title))
		return;
	if (!(cc->post ? objmeta_is_post_meta(name)
		       : objmeta_is_user_or_sys(name)) &&
	    !objmeta_is_allowed_header(name))
		return;
	objmeta_title(name, title, sizeof(title));
	cc->rc = objmeta_set(cc->m, title, value);
}

static int copy_headers(struct http_request *req, struct objmeta *m, int post)
{
	struct copy_ctx cc = {m, post, 0};

	http_each_header(req, copy_one_header, &cc);
	return cc.rc;
}

/* Swift's check_delete_headers; sets X-Delete-At in m. 0 or answered. */
static int check_delete_headers(struct http_request *req, struct obj_req *r,
				struct objmeta *m)
{
	const char *after = http_header(req, "X-Delete-After");
	const char *at = http_header(req, "X-Delete-At");
	double now = (double)r->ts.ticks / TICKS_PER_SEC;
	char *end, buf[32];
	int64_t v;

	if (after) {
		errno = 0;
		v = strtoll(after, &end, 10);
		if (errno || end == after || *end) {
			http_reply_error(req, 400,
					 "Non-integer X-Delete-After");
			return -EINVAL;
		}
		/* normalize_delete_at_timestamp(now + after), truncated */
		v += ts_secs(&r->ts);
		if (v < 0)
			v = 0;
		if (v > 9999999999LL)
			v = 9999999999LL;
		if ((double)v <= now) {
			http_reply_error(req, 400, "X-Delete-After in past");
			return -EINVAL;
		}
		snprintf(buf, sizeof(buf), "%010" PRId64, v);
		return objmeta_set(m, "X-Delete-At", buf) ? -ENOMEM : 0;
	}
	if (at) {
		errno = 0;
		v = strtoll(at, &end, 10);
		if (errno || end == at || *end) {
			http_reply_error(req, 400, "Non-integer X-Delete-At");
			return -EINVAL;
		}
		if ((double)v <= now) {
			http_reply_error(req, 400, "X-Delete-At in past");
			return -EINVAL;
		}
	}
	return 0;
}

/* --- GET and HEAD -------------------------------------------------------- */

/* A piece of a response body: literal bytes, or a span of the file. */
struct seg {
	char *lit;
	uint64_t off, len;
};

struct stream {
	int fd;
	struct seg *segs;
	int nsegs, cur;
	uint64_t cur_base;   /* body position where segs[cur] starts */
	int verify;	     /* check the hash of a whole-body read */
	struct etag_sum sum; /* the ETag's hash, when verify and !rd_hashes */
	uint64_t next;	     /* the position expected next */
	uint64_t body_len;
	char etag[33];
	/* for the quarantine: a copy made only for a body read as it goes
	 * out (a struct this large, allocated per HEAD or small GET, made
	 * malloc consolidate its fast bins: 2.5% of objectd's CPU) */
	struct df_loc *loc;
	struct df_reader *rd; /* a large body: O_DIRECT, read ahead */
	int rd_hashes;	      /* rd takes the MD5 (instead of sum) */
};

static void stream_done(void *ctx)
{
	struct stream *s = ctx;
	int i;

	if (s->fd >= 0)
		close(s->fd);
	for (i = 0; i < s->nsegs; i++)
		free(s->segs[i].lit);
	free(s->segs);
	df_reader_close(s->rd);
	free(s->loc);
	etag_sum_free(&s->sum);
	free(s);
}

static ssize_t stream_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = ctx;
	struct seg *g;
	uint64_t in;
	size_t n;

	if (pos != s->next && s->verify) {
		/* not a straight read: nothing to check against */
		s->verify = 0;
	}
	if (pos < s->cur_base) {
		s->cur = 0;
		s->cur_base = 0;
	}
	while (s->cur < s->nsegs && pos >= s->cur_base + s->segs[s->cur].len) {
		s->cur_base += s->segs[s->cur].len;
		s->cur++;
	}
	if (s->cur >= s->nsegs)
		return 0;
	g = &s->segs[s->cur];
	in = pos - s->cur_base;
	n = g->len - in < max ? (size_t)(g->len - in) : max;
	if (g->lit) {
		memcpy(buf, g->lit + in, n);
	} else {
		ssize_t got =
			s->rd ? df_reader_pread(s->rd, buf, n, g->off + in,
						g->off + g->len)
			      : pread(s->fd, buf, n, (off_t)(g->off + in));

		if (got <= 0) {
			log_err("cannot read %s: %s", s->loc->hash_dir,
				got ? strerror(errno) : "short file");
			return -1;
		}
		n = (size_t)got;
	}
	s->next = pos + n;
	if (s->verify && (s->sum.st || s->rd_hashes)) {
		char hex[33] = "";
		int rc = 0;

		if (s->sum.st) /* else s->rd hashes what it reads */
			rc = etag_sum_update(&s->sum, buf, n);
		if (rc) {
			log_err("%s: cannot hash the body: %s",
				s->loc->hash_dir, strerror(-rc));
			return -1;
		}
		if (s->next == s->body_len) {
			rc = s->sum.st ? etag_sum_final(&s->sum, hex)
				       : df_reader_md5(s->rd, hex);
			s->verify = 0;
			if (rc || strcmp(hex, s->etag)) {
				log_err("%s: body hash %s, ETag %s",
					s->loc->hash_dir, hex, s->etag);
				df_quarantine(s->loc, "body hash mismatch");
				return -1;
			}
		}
	}
	return (ssize_t)n;
}

static int add_seg(struct stream *s, char *lit, uint64_t off, uint64_t len)
{
	struct seg *grown;

	grown = realloc(s->segs, sizeof(*grown) * (size_t)(s->nsegs + 1));
	if (!grown) {
		free(lit);
		return -ENOMEM;
	}
	s->segs = grown;
	s->segs[s->nsegs++] = (struct seg){lit, off, len};
	return 0;
}

static int add_lit(struct stream *s, uint64_t *total, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int add_lit(struct stream *s, uint64_t *total, const char *fmt, ...)
{
	char *lit;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&lit, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	*total += (uint64_t)n;
	return add_seg(s, lit, 0, (uint64_t)n);
}

/* The headers of a found object (as obj/server.py's GET and HEAD). */
static void add_object_headers(struct http_request *req,
			       const struct df_obj *obj, int with_ctype)
{
	const char *v = objmeta_get(&obj->meta, "X-Timestamp");
	char date[32], normal[TS_NORMAL_LEN + 1];
	struct ts xts = obj->meta_ts;
	int i;

	if (v)
		ts_parse(v, &xts);
	if (with_ctype) {
		v = objmeta_get(&obj->meta, "Content-Type");
		http_add_header(req, "Content-Type",
				v ? v : "application/octet-stream");
	}
	for (i = 0; i < obj->meta.n; i++) {
		const char *nm = obj->meta.items[i].name;

		if (objmeta_is_user_or_sys(nm) || objmeta_is_allowed_header(nm))
			http_add_header(req, nm, obj->meta.items[i].value);
	}
	http_add_headerf(req, "ETag", "\"%s\"",
			 objmeta_get(&obj->meta, "ETag"));
	v = objmeta_get(&obj->meta, ETAG_HASH_HEADER);
	if (v) /* an ETag that is no MD5 says so */
		http_add_header(req, ETAG_HASH_HEADER, v);
	http_add_header(req, "Last-Modified", ts_http_date(&xts, date));
	http_add_header(req, "X-Timestamp", ts_normal(&xts, normal));
	add_ts_header(req, "X-Backend-Timestamp", &xts);
	add_ts_header(req, "X-Backend-Data-Timestamp", &obj->data_ts);
	if (obj->durable)
		add_ts_header(req, "X-Backend-Durable-Timestamp",
			      &obj->data_ts);
	if (obj->frag_index >= 0)
		add_frags_header(req, obj->frags);
}

static int64_t last_modified_of(const struct df_obj *obj)
{
	const char *v = objmeta_get(&obj->meta, "X-Timestamp");
	struct ts xts = obj->meta_ts;

	if (v)
		ts_parse(v, &xts);
	return (xts.ticks + TICKS_PER_SEC - 1) / TICKS_PER_SEC;
}

/* The largest whole body a GET reads at once and checks before the first
 * byte goes out (serve_small). */
#define SMALL_BODY (64 * 1024)

/*
 * A whole GET of a small body: read in one piece (or taken from obj when
 * df_open_ec read the file whole) and its hash (of kind: etag.c)
 * checked before anything is sent, then answered from memory (headers
 * and body leave together). A body whose hash is not its ETag is
 * quarantined and answered 404, as one found corrupt at open: the client
 * (the proxy) gets it from another replica. Closes s. The stream path
 * (stream_read) serves bigger bodies and ranges.
 */
static void serve_small(struct http_request *req, const struct df_loc *loc,
			struct df_obj *obj, struct stream *s, int kind)
{
	char *body = obj->whole, hex[33];
	uint64_t off = 0;
	int rc = 0;

	obj->whole = NULL;
	if (body)
		off = s->body_len; /* already read */
	else
		body = malloc(s->body_len ? s->body_len : 1);
	if (!body)
		rc = -ENOMEM;
	while (!rc && off < s->body_len) {
		ssize_t got =
			pread(s->fd, body + off, s->body_len - off, (off_t)off);

		if (got > 0)
			off += (uint64_t)got;
		else if (got == 0)
			rc = -EIO;
		else if (errno != EINTR)
			rc = -errno;
	}
	/* the whole body at once (an MD5: OpenSSL's plain one, no EVP
	 * context) */
	if (!rc)
		rc = etag_sum_buf(kind, body, s->body_len, hex);
	if (!rc && strcmp(hex, s->etag)) {
		log_err("%s: body hash %s, ETag %s", loc->hash_dir, hex,
			s->etag);
		df_quarantine(loc, "body hash mismatch");
		http_reply_error(req, 404, "Not Found");
	} else if (rc) {
		log_err("cannot read %s: %s", loc->hash_dir, strerror(-rc));
		http_reply_error(req, 500, "Internal Server Error: %s",
				 strerror(-rc));
	} else {
		add_object_headers(req, obj, 1);
		http_reply_take(req, 200, body, s->body_len);
		body = NULL;
	}
	free(body);
	stream_done(s);
}

/*
 * Answer a GET (or HEAD) of a live object: whole (hash-checked), one range
 * (206), several (206 multipart/byteranges) or none satisfiable (416). The
 * object's fd moves to the stream.
 */
static void serve_body(struct http_request *req, struct obj_req *r,
		       struct df_obj *obj)
{
	struct byte_range ranges[RANGE_MAX];
	const char *ctype = objmeta_get(&obj->meta, "Content-Type");
	int head = !strcmp(http_method(req), "HEAD");
	struct stream *s = calloc(1, sizeof(*s));
	uint64_t total = 0, len = obj->body_len;
	const char *want;
	/* df_open_ec refused a kind unknown here */
	int kind = etag_check_of(&obj->meta, &want) == ETAG_XXH128 ? ETAG_XXH128
								   : ETAG_MD5;
	int n = -1, i, rc = 0, status = 200;

	if (!s) {
		http_reply_error(req, 500, "out of memory");
		return;
	}
	if (!ctype)
		ctype = "application/octet-stream";
	s->fd = obj->fd;
	obj->fd = -1;
	s->body_len = len;
	snprintf(s->etag, sizeof(s->etag), "%s", want ? want : "");
	if (!head)
		n = range_parse(http_header(req, "Range"), len, ranges);
	if (n == 0) {
		static const char body[] =
			"<html><h1>Requested Range Not Satisfiable</h1>"
			"<p>The Range requested is not available.</p></html>";

		stream_done(s);
		add_object_headers(req, obj, 0);
		http_add_header(req, "Content-Type",
				"text/html; charset=UTF-8");
		http_add_headerf(req, "Content-Range", "bytes */%" PRIu64, len);
		http_reply(req, 416, body, sizeof(body) - 1);
		return;
	}
	if (n < 0 && !head && len <= SMALL_BODY) {
		serve_small(req, &r->loc, obj, s, kind);
		return;
	}
	if (!head && !(s->loc = malloc(sizeof(*s->loc)))) {
		stream_done(s);
		http_reply_error(req, 500, "out of memory");
		return;
	}
	if (!head)
		*s->loc = r->loc;
	if (head) {
		/* no body leaves (libmicrohttpd never reads a HEAD's): no
		 * segment, nothing to check (no hash context) */
		add_object_headers(req, obj, 1);
		total = len;
	} else if (n < 0) {
		add_object_headers(req, obj, 1);
		s->verify = 1;
		rc = etag_sum_init(&s->sum, kind);
		if (!rc)
			rc = add_seg(s, NULL, 0, len);
		total = len;
	} else if (n == 1) {
		status = 206;
		add_object_headers(req, obj, 1);
		http_add_headerf(req, "Content-Range",
				 "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64,
				 ranges[0].start, ranges[0].end - 1, len);
		rc = add_seg(s, NULL, ranges[0].start,
			     ranges[0].end - ranges[0].start);
		total = ranges[0].end - ranges[0].start;
	} else {
		char boundary[RANGE_BOUNDARY_LEN];

		status = 206;
		range_boundary(boundary);
		add_object_headers(req, obj, 0);
		http_add_headerf(req, "Content-Type",
				 "multipart/byteranges;boundary=%s", boundary);
		for (i = 0; i < n && !rc; i++) {
			rc = add_lit(s, &total,
				     "--%s\r\nContent-Type: %s\r\n"
				     "Content-Range: bytes %" PRIu64 "-%" PRIu64
				     "/%" PRIu64 "\r\n\r\n",
				     boundary, ctype, ranges[i].start,
				     ranges[i].end - 1, len);
			if (!rc)
				rc = add_seg(s, NULL, ranges[i].start,
					     ranges[i].end - ranges[i].start);
			total += ranges[i].end - ranges[i].start;
			if (!rc)
				rc = add_lit(s, &total, "\r\n");
		}
		if (!rc)
			rc = add_lit(s, &total, "--%s--", boundary);
	}
	if (rc) {
		stream_done(s);
		http_reply_error(req, 500, "out of memory");
		return;
	}
	if (head)
		total = len;
	else if (len >= DF_DIRECT_MIN && s->verify && kind == ETAG_MD5 &&
		 !df_reader_open(s->fd, len, &s->rd)) {
		/* the reader takes the MD5 on a thread of its own; an
		 * XXH3-128 (~3% of it) is taken here as the body goes */
		etag_sum_free(&s->sum);
		s->rd_hashes = 1;
	} else if (len >= DF_DIRECT_MIN) {
		df_reader_open(s->fd, 0, &s->rd); /* else the page cache */
	}
	http_reply_stream(req, status, (int64_t)total, stream_read, s,
			  stream_done);
}

static void get_headers(struct http_request *req)
{
	struct obj_req *r = parse_request(req);
	const char *nd;
	struct df_obj obj;
	int rc, cond, want = -1, nondurable = 0, flags = 0;

	if (!r || request_timestamp(req, r, 0) || locate(req, r, 1))
		return;
	if (is_ec(r)) {
		if (frag_index_header(req, r, "X-Backend-Ec-Frag-Index", &want))
			return;
		nd = http_header(req, "X-Backend-Ec-Nondurable");
		nondurable =
			nd && (!strcasecmp(nd, "yes") ||
			       !strcasecmp(nd, "true") || !strcmp(nd, "1"));
	}
	if (nondurable)
		flags |= DF_OPEN_NONDURABLE;
	if (!strcmp(http_method(req), "HEAD"))
		flags |= DF_OPEN_NO_BODY; /* no whole read of a small body */
	rc = df_open_ec(&r->loc, ts_secs(&r->ts), want, flags, &obj);
	if (rc) {
		reply_errno(req, r, rc);
		return;
	}
	if (obj.state != DF_LIVE) {
		if (obj.state != DF_ABSENT || obj.frags)
			add_ts_header(req, "X-Backend-Timestamp", &obj.data_ts);
		if (obj.state == DF_ABSENT && obj.frags)
			add_frags_header(req, obj.frags);
		cond = cond_status(http_header(req, "If-Match"), NULL, NULL,
				   NULL, NULL, -1, 0);
		if (cond)
			http_reply(req, cond, "", 0);
		else
			http_reply_error(req, 404, "Not Found");
		df_close(&obj);
		return;
	}
	cond = cond_status(
		http_header(req, "If-Match"), http_header(req, "If-None-Match"),
		http_header(req, "If-Modified-Since"),
		http_header(req, "If-Unmodified-Since"),
		objmeta_get(&obj.meta, "ETag"), last_modified_of(&obj), 1);
	if (cond) {
		add_object_headers(req, &obj, 1);
		http_reply(req, cond, "", 0);
	} else {
		serve_body(req, r, &obj);
	}
	df_close(&obj);
}

/* --- PUT ----------------------------------------------------------------- */

/* swob's message_length and check_object_creation up to the metadata.
 * 0 or answered. */
static int check_creation(struct http_request *req, struct obj_req *r)
{
	const char *te = http_header(req, "Transfer-Encoding");
	/* a chunked body's length when its sender knows it (the proxy's
	 * hashed uploads): the room to claim and the length to get */
	const char *lname =
		te ? "X-Backend-Obj-Content-Length" : "Content-Length";
	const char *cl = http_header(req, lname);
	const char *ct = http_header(req, "Content-Type");

	r->clen = -1;
	if (te && strcasecmp(te, "chunked")) {
		http_reply_error(
			req, 501,
			"Unsupported Transfer-Coding header"
			" value specified in Transfer-Encoding header");
		return -EINVAL;
	}
	if (cl) {
		r->clen = http_header_length(req, lname);
		if (r->clen < 0) {
			http_reply_error(req, 400,
					 "Invalid Content-Length header value");
			return -EINVAL;
		}
		if (r->clen > OBJ_MAX_FILE_SIZE) {
			http_reply_error(req, 413,
					 "Your request is too large.");
			return -EFBIG;
		}
	}
	if (!te && !cl) {
		http_reply_error(req, 411, "Missing Content-Length header.");
		return -EINVAL;
	}
	if (!ct) {
		http_reply_error(req, 400, "No content type");
		return -EINVAL;
	}
	if (!objmeta_utf8_ok(ct, strlen(ct))) {
		http_reply_error(req, 400, "Invalid Content-Type");
		return -EINVAL;
	}
	return 0;
}

/*
 * Swift's fallocate: claim room for a body of len bytes (-1: chunked, not
 * known) before 100 Continue, so a full device answers 507 while the
 * proxy can still send the body to a handoff instead. The room claimed
 * covers the metadata and footer that follow the body too: a claim of
 * the body alone left the tail's block to be allocated apart at
 * writeback, one more disk write per small object. A full device first
 * unlinks the files kept for reuse (recycle.c). 0, or -ENOSPC / -EDQUOT
 * (logged); a filesystem without fallocate finds out on write.
 */
static int reserve_body(struct df_writer *w, const struct df_loc *loc,
			int64_t len, const struct objmeta *meta)
{
	off_t want = len + (off_t)df_tail_reserve(meta);
	int rc;

	if (len <= 0 || fallocate(w->fd, FALLOC_FL_KEEP_SIZE, 0, want) == 0)
		return 0;
	rc = -errno;
	if (rc == -ENOSPC || rc == -EDQUOT) {
		/* the files recycle.c keeps give their room back first */
		rcy_drain(loc->dev_dir);
		if (fallocate(w->fd, FALLOC_FL_KEEP_SIZE, 0, want) == 0)
			return 0;
		rc = -errno;
	}
	if (rc != -ENOSPC && rc != -EDQUOT)
		return 0;
	log_warn("no room for %lld bytes in %s", (long long)len, w->tmp_path);
	return rc;
}

/*
 * The value of header name without the quotes around it, if it is 32 hex
 * digits, into hex (lowercase); else -EINVAL.
 */
static int hex32_value(const char *v, char hex[33])
{
	size_t n = v ? strlen(v) : 0;
	int i;

	if (n == 34 && v[0] == '"' && v[33] == '"')
		v++, n -= 2;
	if (n != 32)
		return -EINVAL;
	for (i = 0; i < 32; i++) {
		if (!isxdigit((unsigned char)v[i]))
			return -EINVAL;
		hex[i] = (char)tolower((unsigned char)v[i]);
	}
	hex[32] = '\0';
	return 0;
}

/* hex32_value of header name. */
static int hex32_header(struct http_request *req, const char *name,
			char hex[33])
{
	return hex32_value(http_header(req, name), hex);
}

/*
 * A client that hashed the body itself (kumo's internal client, which
 * holds the whole body: volumed's records, an imported image's chunks;
 * a volume's chunks are written with an XXH3-128 ETag instead, etag.c)
 * sends its MD5 as the ETag and its
 * XXH3-128 as X-Backend-Body-Xxh128 (backend only: the proxy passes no
 * X-Backend-* header of its clients). The transfer is then checked by the
 * XXH3-128, ~40x cheaper than MD5, and the ETag given is stored: one MD5
 * pass at the client instead of one per replica here.
 */
static int client_hashed(struct http_request *req)
{
	char hex[33];

	return !hex32_header(req, "ETag", hex) &&
	       !hex32_header(req, "X-Backend-Body-Xxh128", hex);
}

/*
 * The proxy hashes a body once as it streams it to every replica and
 * sends the MD5 and XXH3-128 after it, as the trailers
 * X-Backend-Body-Md5 and X-Backend-Body-Xxh128 of a chunked body that
 * Trailer announces (a client's Trailer and X-Backend-* headers never
 * pass the proxy). The body is then checked by the XXH3-128 as in
 * client_hashed, and the client's own ETag, if any, against that MD5.
 */
static int trailer_hashed(struct http_request *req)
{
	const char *t = http_header(req, "Trailer");

	return t && strcasestr(t, "X-Backend-Body-Xxh128") &&
	       http_header(req, "Transfer-Encoding");
}

/* put_end in client_hashed's or trailer_hashed's case: etag is the MD5
 * given and xxh the body's XXH3-128 once it is the one sent; else
 * -EILSEQ (also when a trailer is missing or malformed). */
static int client_etag(struct http_request *req, struct obj_req *r,
		       char etag[33], char xxh_out[33])
{
	int trailed = trailer_hashed(req);
	const char *xxh = trailed ? http_footer(req, "X-Backend-Body-Xxh128")
				  : http_header(req, "X-Backend-Body-Xxh128");
	const char *md5 = trailed ? http_footer(req, "X-Backend-Body-Md5")
				  : http_header(req, "ETag");
	char sum[33], want[33];
	int rc = df_writer_xxh128(&r->w, sum);

	if (!rc && (hex32_value(xxh, want) || strcmp(sum, want) ||
		    hex32_value(md5, etag)))
		rc = -EILSEQ;
	if (!rc)
		memcpy(xxh_out, sum, 33);
	return rc;
}

static void put_headers(struct http_request *req)
{
	struct obj_req *r = parse_request(req);
	const char *inm;
	char tsbuf[TS_INTERNAL_LEN + 1];
	struct df_obj obj;
	struct ts orig = {0, 0};
	int rc, exists = 0;

	if (!r || request_timestamp(req, r, 1) || check_creation(req, r) ||
	    check_delete_headers(req, r, &r->meta) || check_metadata(req) ||
	    locate(req, r, 0))
		return;
	r->frag_index = -1;
	if (is_ec(r) &&
	    (frag_index_header(req, r, "X-Object-Sysmeta-Ec-Frag-Index",
			       &r->frag_index) ||
	     r->frag_index < 0)) {
		if (!http_replied(req))
			http_reply_error(
				req, 400,
				"Missing X-Object-Sysmeta-Ec-Frag-Index"
				" for an erasure-coded policy");
		return;
	}
	/* an ETag other than the MD5 (etag.c): not for an EC archive, whose
	 * MD5 the reconstructor checks */
	r->etag_kind = etag_kind_parse(http_header(req, ETAG_HASH_HEADER));
	if (r->etag_kind < 0 || (r->etag_kind != ETAG_MD5 && is_ec(r))) {
		http_reply_error(req, 400, "Bad " ETAG_HASH_HEADER);
		return;
	}
	rc = df_open(&r->loc, ts_secs(&r->ts), &obj);
	if (rc) {
		reply_errno(req, r, rc);
		return;
	}
	if (obj.state != DF_ABSENT)
		orig = obj.data_ts;
	exists = obj.state == DF_LIVE;
	if (exists || obj.state == DF_EXPIRED)
		r->orig_da = exp_delete_at_of(&obj.meta);
	inm = http_header(req, "If-None-Match");
	if (exists && inm &&
	    cond_etag_in(inm, objmeta_get(&obj.meta, "ETag"))) {
		df_close(&obj);
		http_reply_error(req, 412, "Precondition Failed");
		return;
	}
	df_close(&obj);
	/* another index of the current archives' time may join them (a
	 * handoff's or a rebuilt archive) */
	if (ts_cmp(&orig, &r->ts) > 0 ||
	    (!ts_cmp(&orig, &r->ts) &&
	     (r->frag_index < 0 || obj.state != DF_LIVE ||
	      (obj.frags & (1u << r->frag_index))))) {
		add_ts_header(req, "X-Backend-Timestamp", &orig);
		http_reply_error(req, 409, "Conflict");
		return;
	}
	rc = objmeta_set(&r->meta, "name", r->loc.name);
	if (!rc)
		rc = objmeta_set(&r->meta, "X-Timestamp",
				 ts_internal(&r->ts, tsbuf));
	if (!rc)
		rc = objmeta_set(&r->meta, "Content-Type",
				 http_header(req, "Content-Type"));
	if (!rc)
		rc = copy_headers(req, &r->meta, 0);
	if (!rc && r->etag_kind == ETAG_XXH128)
		rc = objmeta_set(&r->meta, ETAG_HASH_HEADER, ETAG_XXH128_NAME);
	if (!rc)
		rc = df_writer_open(&r->loc, &r->w, r->clen);
	if (!rc) {
		if (r->etag_kind == ETAG_XXH128 || client_hashed(req) ||
		    trailer_hashed(req))
			rc = df_writer_use_xxh128(&r->w);
		if (!rc)
			rc = reserve_body(&r->w, &r->loc, r->clen, &r->meta);
		if (rc)
			df_writer_abort(&r->w);
	}
	if (rc) {
		reply_errno(req, r, rc);
		return;
	}
	r->writing = 1;
}

static void put_body(struct http_request *req, const char *data, size_t len)
{
	struct obj_req *r = http_state(req);
	int rc;

	if (!r || !r->writing)
		return;
	if (r->w.size + len > (uint64_t)OBJ_MAX_FILE_SIZE) {
		df_writer_abort(&r->w);
		r->writing = 0;
		http_reply_error(req, 413, "Your request is too large.");
		return;
	}
	rc = df_writer_write(&r->w, data, len);
	if (rc) {
		df_writer_abort(&r->w);
		r->writing = 0;
		reply_errno(req, r, rc);
	}
}

/* The container update headers of an object write. */
static int put_update_headers(const struct objmeta *meta, struct objmeta *u)
{
	int rc = objmeta_set(u, "X-Size", objmeta_get(meta, "Content-Length"));

	if (!rc)
		rc = objmeta_set(u, "X-Content-Type",
				 objmeta_get(meta, "Content-Type"));
	if (!rc)
		rc = objmeta_set(u, "X-Timestamp",
				 objmeta_get(meta, "X-Timestamp"));
	if (!rc)
		rc = objmeta_set(u, "X-Etag", objmeta_get(meta, "ETag"));
	return rc;
}

/* A PUT's container update, sent once its file is in place
 * (df_writer_commit_then), so that the containers' sync overlaps the
 * object server's last one. */
struct put_update {
	struct obj_req *r;
	struct http_request *req;
	const struct cont_update *u;
	struct upd_sent *sent;
};

static void put_update_send(void *arg)
{
	struct put_update *p = arg;

	p->sent = upd_update_send(p->r->od, p->req, p->u);
}

static void put_end(struct http_request *req)
{
	struct obj_req *r = http_state(req);
	struct objmeta uh = OBJMETA_INIT;
	struct cont_update u = {"PUT", NULL, NULL, NULL, &uh};
	struct put_update pu = {r, req, NULL, NULL};
	const char *want = http_header(req, "ETag");
	char etag[33], xxh[33] = "", size[32], given[64], ext[24];
	int64_t new_da = exp_delete_at_of(&r->meta);
	int locked = new_da || r->orig_da;
	size_t wl;
	int rc;

	if (!r || !r->writing) {
		http_reply_error(req, 500, "no upload in progress");
		return;
	}
	if (r->clen >= 0 && r->w.size != (uint64_t)r->clen) {
		http_reply_error(req, 499, "Client Disconnect");
		return;
	}
	/* an XXH3-128 ETag: the ETag given (if any) is checked below */
	if (r->etag_kind == ETAG_XXH128)
		rc = df_writer_xxh128(&r->w, etag);
	else if (r->w.xxh)
		rc = client_etag(req, r, etag, xxh);
	else
		rc = df_writer_etag(&r->w, etag);
	if (rc == -EILSEQ) {
		http_reply_error(req, 422, "Unprocessable Entity");
		return;
	}
	if (rc) {
		reply_errno(req, r, rc);
		return;
	}
	if (want && *want) {
		wl = strlen(want);
		if (wl >= 2 && want[0] == '"' && want[wl - 1] == '"') {
			want++;
			wl -= 2;
		}
		snprintf(given, sizeof(given), "%.*s", (int)wl, want);
		if (wl != 32 || strcmp(given, etag)) {
			http_reply_error(req, 422, "Unprocessable Entity");
			return;
		}
	}
	snprintf(size, sizeof(size), "%" PRIu64, r->w.size);
	rc = objmeta_set(&r->meta, "Content-Length", size);
	if (!rc)
		rc = objmeta_set(&r->meta, "ETag", etag);
	/* what the body was checked by, for every later check (etag.c) */
	if (!rc && *xxh && !is_ec(r))
		rc = objmeta_set(&r->meta, BODY_XXH_META, xxh);
	if (locked)
		exp_lock(r->od, r->loc.hash);
	if (!rc)
		rc = exp_before_write(r->od, req, &r->loc, r->part, r->a, r->c,
				      r->o, new_da);
	if (r->frag_index >= 0)
		snprintf(ext, sizeof(ext), "#%d.data", r->frag_index);
	/* an EC archive's container update waits for its COMMIT */
	if (!rc && r->frag_index < 0 && !put_update_headers(&r->meta, &uh)) {
		u.account = r->a;
		u.container = r->c;
		u.obj = r->o;
		pu.u = &u;
	}
	if (!rc)
		rc = df_writer_commit_then(&r->w, &r->loc, &r->ts,
					   r->frag_index >= 0 ? ext : ".data",
					   &r->meta,
					   pu.u ? put_update_send : NULL, &pu);
	if (locked) {
		exp_after_write(&r->loc, r->orig_da, new_da);
		exp_unlock(r->od, r->loc.hash);
	}
	r->writing = 0;
	/* records of failed updates only for an object that is durable */
	upd_update_finish(r->od, pu.sent, r->loc.dev_dir, r->loc.hash, !rc);
	objmeta_free(&uh);
	if (rc) {
		reply_errno(req, r, rc);
		return;
	}
	http_add_headerf(req, "ETag", "\"%s\"", etag);
	http_reply(req, 201, "", 0);
}

/* --- COMMIT (erasure-coded policies) ------------------------------------- */

/* Copy header name of req into m when the request has it. 0 or -ENOMEM. */
static int copy_if_given(struct http_request *req, const char *name,
			 struct objmeta *m)
{
	const char *v = http_header(req, name);

	return v ? objmeta_set(m, name, v) : 0;
}

/* The container update of a committed archive: the whole object's etag
 * and size (the override headers, else the Ec sysmeta). 0 or -ENOMEM. */
static int commit_update_headers(struct http_request *req,
				 const struct objmeta *meta, struct objmeta *u)
{
	const char *size =
		http_header(req, "X-Backend-Container-Update-Override-Size");
	const char *etag =
		http_header(req, "X-Backend-Container-Update-Override-Etag");
	int rc;

	if (!size)
		size = objmeta_get(meta, "X-Object-Sysmeta-Ec-Content-Length");
	if (!etag)
		etag = objmeta_get(meta, "X-Object-Sysmeta-Ec-Etag");
	rc = put_update_headers(meta, u);
	if (!rc && size)
		rc = objmeta_set(u, "X-Size", size);
	if (!rc && etag)
		rc = objmeta_set(u, "X-Etag", etag);
	return rc;
}

/*
 * COMMIT /<dev>/<part>/<a>/<c>/<o> with X-Timestamp and
 * X-Object-Sysmeta-Ec-Frag-Index: make the archive a PUT left
 * non-durable durable (df_commit_archive), with the Ec-Etag and
 * Ec-Content-Length sysmeta the request brings, then send the container
 * update. 201, or 201 and nothing done when it was durable already; 404
 * when there is no such archive.
 */
static void commit_headers(struct http_request *req)
{
	struct obj_req *r = parse_request(req);
	struct objmeta add = OBJMETA_INIT, meta = OBJMETA_INIT,
		       uh = OBJMETA_INIT;
	int rc, idx;

	if (!r || request_timestamp(req, r, 1) || locate(req, r, 0))
		return;
	if (!is_ec(r)) {
		http_reply_error(req, 400,
				 "COMMIT needs an erasure-coded "
				 "storage policy");
		return;
	}
	if (frag_index_header(req, r, "X-Object-Sysmeta-Ec-Frag-Index", &idx))
		return;
	if (idx < 0) {
		http_reply_error(req, 400,
				 "Missing X-Object-Sysmeta-Ec-Frag-Index");
		return;
	}
	rc = copy_if_given(req, "X-Object-Sysmeta-Ec-Etag", &add);
	if (!rc)
		rc = copy_if_given(req, "X-Object-Sysmeta-Ec-Content-Length",
				   &add);
	if (!rc) {
		exp_lock(r->od, r->loc.hash);
		rc = df_commit_archive(&r->loc, &r->ts, idx, &add, &meta);
		exp_unlock(r->od, r->loc.hash);
	}
	if (rc == -ENOENT) {
		http_reply_error(req, 404, "Not Found");
	} else if (rc < 0) {
		reply_errno(req, r, rc);
	} else {
		if (rc == 0 && !commit_update_headers(req, &meta, &uh)) {
			struct cont_update u = {"PUT", r->a, r->c, r->o, &uh};

			upd_container_update(r->od, req, r->loc.dev_dir,
					     r->loc.hash, &u);
		}
		http_reply(req, 201, "", 0);
	}
	objmeta_free(&add);
	objmeta_free(&meta);
	objmeta_free(&uh);
}

/* --- DELETE -------------------------------------------------------------- */

static void delete_headers(struct http_request *req)
{
	struct obj_req *r = parse_request(req);
	const char *ifda, *orig_da = NULL, *ctype = "";
	struct objmeta m = OBJMETA_INIT;
	char tsbuf[TS_INTERNAL_LEN + 1];
	struct ts orig = {0, 0}, if_da, resp_ts;
	struct df_obj obj;
	int rc, status;

	if (!r || request_timestamp(req, r, 1) || locate(req, r, 0))
		return;
	ifda = http_header(req, "X-If-Delete-At");
	if (ifda && ts_parse(ifda, &if_da)) {
		http_reply_error(req, 400, "Bad X-If-Delete-At header value");
		return;
	}
	rc = df_open(&r->loc, ts_secs(&r->ts), &obj);
	if (rc) {
		reply_errno(req, r, rc);
		return;
	}
	status = 404;
	if (obj.state != DF_ABSENT)
		orig = obj.data_ts;
	if (obj.state == DF_LIVE || obj.state == DF_EXPIRED) {
		orig_da = objmeta_get(&obj.meta, "X-Delete-At");
		r->orig_da = exp_delete_at_of(&obj.meta);
		ctype = objmeta_get(&obj.meta, "Content-Type");
		if (!ctype)
			ctype = "";
	}
	if (obj.state == DF_LIVE)
		status = ts_cmp(&orig, &r->ts) < 0 ? 204 : 409;
	if (ifda) {
		struct ts da = {0, 0};

		if (orig_da)
			ts_parse(orig_da, &da);
		if (obj.state == DF_ABSENT) {
			http_reply_error(req, 404, "Not Found");
			goto out;
		}
		if (ts_cmp(&orig, &r->ts) >= 0) {
			http_reply_error(req, 409, "Conflict");
			goto out;
		}
		if (ts_cmp(&da, &if_da)) {
			http_reply_error(req, 412,
					 "X-If-Delete-At and "
					 "X-Delete-At do not match");
			goto out;
		}
		status = 204;
	}
	resp_ts = ts_cmp(&orig, &r->ts) > 0 ? orig : r->ts;
	if (ts_cmp(&orig, &r->ts) < 0) {
		rc = objmeta_set(&m, "name", r->loc.name);
		if (!rc)
			rc = objmeta_set(&m, "X-Timestamp",
					 ts_internal(&r->ts, tsbuf));
		if (!rc && r->orig_da) {
			exp_lock(r->od, r->loc.hash);
			rc = df_write_empty(&r->loc, &r->ts, ".ts", &m);
			exp_after_write(&r->loc, r->orig_da, 0);
			exp_unlock(r->od, r->loc.hash);
		} else if (!rc) {
			rc = df_write_empty(&r->loc, &r->ts, ".ts", &m);
		}
		if (rc) {
			reply_errno(req, r, rc);
			goto out;
		}
		objmeta_free(&m);
		if (!objmeta_set(&m, "X-Timestamp", tsbuf)) {
			struct cont_update u = {"DELETE", r->a, r->c, r->o, &m};

			upd_container_update(r->od, req, r->loc.dev_dir,
					     r->loc.hash, &u);
		}
	}
	add_ts_header(req, "X-Backend-Timestamp", &resp_ts);
	http_add_header(req, "X-Backend-Content-Type", ctype);
	if (status == 204)
		http_reply(req, 204, "", 0);
	else if (status == 409)
		http_reply_error(req, 409, "Conflict");
	else
		http_reply_error(req, 404, "Not Found");
out:
	objmeta_free(&m);
	df_close(&obj);
}

/* --- POST ---------------------------------------------------------------- */

static void post_headers(struct http_request *req)
{
	struct obj_req *r = parse_request(req);
	const char *da, *ct, *v;
	struct objmeta m = OBJMETA_INIT, uh = OBJMETA_INIT;
	char tsbuf[TS_INTERNAL_LEN + 1], dbuf[TS_INTERNAL_LEN + 1];
	struct ts orig;
	struct df_obj obj;
	int rc;
	long long dv;
	char *end;

	if (!r || request_timestamp(req, r, 1))
		return;
	da = http_header(req, "X-Delete-At");
	if (da && *da) {
		errno = 0;
		dv = strtoll(da, &end, 10);
		if (errno || *end) {
			http_reply_error(req, 400, "Non-integer X-Delete-At");
			return;
		}
		if (dv && (double)dv < (double)r->ts.ticks / TICKS_PER_SEC) {
			http_reply_error(req, 400, "X-Delete-At in past");
			return;
		}
	}
	ct = http_header(req, "Content-Type");
	if (ct && *ct && !objmeta_utf8_ok(ct, strlen(ct))) {
		http_reply_error(req, 400, "Invalid Content-Type");
		return;
	}
	if (check_metadata(req) || locate(req, r, 0))
		return;
	rc = df_open(&r->loc, ts_secs(&r->ts), &obj);
	if (rc) {
		reply_errno(req, r, rc);
		return;
	}
	if (obj.state != DF_LIVE) {
		http_reply_error(req, 404, "Not Found");
		goto out;
	}
	orig = obj.meta_ts;
	v = objmeta_get(&obj.meta, "X-Timestamp");
	if (v)
		ts_parse(v, &orig);
	if (ts_cmp(&orig, &r->ts) >= 0) {
		add_ts_header(req, "X-Backend-Timestamp", &orig);
		http_reply_error(req, 409, "Conflict");
		goto out;
	}
	rc = objmeta_set(&m, "name", r->loc.name);
	if (!rc)
		rc = objmeta_set(&m, "X-Timestamp", ts_internal(&r->ts, tsbuf));
	if (!rc)
		rc = copy_headers(req, &m, 1);
	if (!rc && ct && *ct) {
		const char *ctt = http_header(req, "Content-Type-Timestamp");

		rc = objmeta_set(&m, "Content-Type", ct);
		if (!rc)
			rc = objmeta_set(&m, "Content-Type-Timestamp",
					 ctt ? ctt : tsbuf);
	} else if (!rc && objmeta_get(&obj.meta, "Content-Type-Timestamp")) {
		/* keep the content-type an earlier POST set */
		rc = objmeta_set(&m, "Content-Type",
				 objmeta_get(&obj.meta, "Content-Type"));
		if (!rc)
			rc = objmeta_set(&m, "Content-Type-Timestamp",
					 objmeta_get(&obj.meta,
						     "Content-Type-Timestamp"));
	}
	if (!rc) {
		int64_t new_da = exp_delete_at_of(&m);

		r->orig_da = exp_delete_at_of(&obj.meta);
		if (new_da || r->orig_da)
			exp_lock(r->od, r->loc.hash);
		rc = exp_before_write(r->od, req, &r->loc, r->part, r->a, r->c,
				      r->o, new_da);
		if (!rc)
			rc = df_write_empty(&r->loc, &r->ts, ".meta", &m);
		if (new_da || r->orig_da) {
			exp_after_write(&r->loc, r->orig_da, new_da);
			exp_unlock(r->od, r->loc.hash);
		}
	}
	if (rc) {
		reply_errno(req, r, rc);
		goto out;
	}
	v = objmeta_get(&m, "Content-Type");
	if (!v)
		v = objmeta_get(&obj.meta, "Content-Type");
	rc = objmeta_set(&uh, "X-Size",
			 objmeta_get(&obj.meta, "Content-Length"));
	if (!rc)
		rc = objmeta_set(&uh, "X-Content-Type", v ? v : "");
	if (!rc)
		rc = objmeta_set(&uh, "X-Timestamp",
				 ts_internal(&obj.data_ts, dbuf));
	if (!rc)
		rc = objmeta_set(
			&uh, "X-Content-Type-Timestamp",
			objmeta_get(&m, "Content-Type-Timestamp")
				? objmeta_get(&m, "Content-Type-Timestamp")
				: dbuf);
	if (!rc)
		rc = objmeta_set(&uh, "X-Meta-Timestamp", tsbuf);
	if (!rc)
		rc = objmeta_set(&uh, "X-Etag", objmeta_get(&obj.meta, "ETag"));
	if (!rc) {
		struct cont_update u = {"PUT", r->a, r->c, r->o, &uh};

		upd_container_update(r->od, req, r->loc.dev_dir, r->loc.hash,
				     &u);
	}
	http_add_header(req, "X-Backend-Content-Type", v ? v : "");
	http_reply(req, 202, "", 0);
out:
	objmeta_free(&m);
	objmeta_free(&uh);
	df_close(&obj);
}

/* --- the rest ------------------------------------------------------------ */

static void health_headers(struct http_request *req)
{
	http_add_header(req, "Content-Type", "text/plain");
	http_reply(req, 200, "OK", 2);
}

/* GET /recon/... (common/recon.c) */
static void recon_headers(struct http_request *req)
{
	struct objd *od = http_app(req);

	recon_serve(req, &od->recon);
}

static void not_allowed_headers(struct http_request *req)
{
	http_reply_error(req, 405, "Method Not Allowed");
}

static const struct http_handler h_get = {get_headers, NULL, NULL, obj_close};
static const struct http_handler h_put = {put_headers, put_body, put_end,
					  obj_close};
static const struct http_handler h_delete = {delete_headers, NULL, NULL,
					     obj_close};
static const struct http_handler h_post = {post_headers, NULL, NULL, obj_close};
static const struct http_handler h_commit = {commit_headers, NULL, NULL,
					     obj_close};
static const struct http_handler h_health = {health_headers, NULL, NULL, NULL};
static const struct http_handler h_recon = {recon_headers, NULL, NULL, NULL};
static const struct http_handler h_405 = {not_allowed_headers, NULL, NULL,
					  NULL};

static const struct {
	const char *method;
	const struct http_handler *h;
} routes[] = {
	{"GET", &h_get},   {"HEAD", &h_get},	  {"PUT", &h_put},
	{"POST", &h_post}, {"DELETE", &h_delete}, {"COMMIT", &h_commit},
};

const struct http_handler *objd_route(struct http_request *req)
{
	const struct http_handler *repl;
	size_t i;

	if (!strcmp(http_raw_path(req), "/healthcheck"))
		return &h_health;
	repl = objd_repl_route(req); /* replserver.c */
	if (repl)
		return repl;
	if (recon_is_path(http_raw_path(req)))
		return &h_recon;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (!strcmp(http_method(req), routes[i].method))
			return routes[i].h;
	return &h_405;
}
