/*
 * common/cluster.c: ring lookups, error limiting and backend requests over
 * libcurl's multi interface (see cluster.h).
 *
 * Every backend request is a struct xfer (one curl easy handle) run by an
 * engine (one curl multi handle) in the caller's thread. engine_step
 * performs what is ready, retires finished transfers and times out those
 * we wait on that stayed silent for node_timeout. The engine drives curl
 * through its socket interface (curl_multi_socket_action): one poll over
 * the sockets curl names (engine_sock) and its timer (engine_timer), then
 * curl acts on the ready ones only; curl_multi_perform instead polls each
 * transfer's socket again on every call (about 60 polls per 4 KiB PUT of
 * three replicas in the proxy). A transfer we do not
 * wait on is paused: an upload whose read callback found no data yet
 * (rpaused), a download whose buffer is full (wpaused); the silence timer
 * does not run while it is paused.
 *
 * Upload state of one PUT slot (cluster_put_*):
 *
 *   connecting --100 Continue--> ready --write(chunk)--> sending
 *        |                         ^                        |
 *        | no answer/5xx/507       +--- chunk all taken ----+
 *        v                                                   |
 *   next node of the walk (or dead)       finish: eof, sending --> answered
 *
 * Invariants:
 *   1. A slot is handed a chunk only when ready, and write returns only
 *      when every live slot took all of it (its read callback found the
 *      chunk exhausted), so the client's buffer may be reused at once.
 *   2. A slot that fails after the first byte of body was sent is dead:
 *      a handoff cannot take over a body it has not seen.
 *   3. The walk over nodes is shared by the slots, so no two slots use the
 *      same node.
 *
 * A GET of an object resumes as Swift's GETorHEADHandler does
 * (_make_app_iter, fast_forward): when the source fails mid-body (cut,
 * timeout), the rest is asked of the next untried node with If-Match on
 * the source's ETag and the same X-Timestamp. A Range the client asked for
 * resumes with a Range from the next byte (206). A whole-object body (200)
 * resumes with the whole body again: the object server checks a whole
 * body's hash (its MD5, or the XXH3-128 it arrived with: objectd/etag.c)
 * and cuts it before its last bytes on a mismatch, so the new
 * source is verified, and the bytes already handed out must have the same
 * XXH3-128 as the new source's first ones (common/xxh.c: its AVX2 build,
 * ~4% of the proxy's CPU in a 256 MiB GET, where the library's SSE2
 * XXH3-64 took 10%). Bytes of two replicas never pass for one
 * object, and a body that cannot be finished ends in -EIO, never short.
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "common/cluster.h"
#include "common/curlpool.h"
#include "common/ec.h"
#include "common/ecget.h"
#include "common/keepconn.h"
#include "common/log.h"
#include "common/policy.h"
#include "common/textput.h"
#include "common/timestamp.h"
#include "common/xxh.h"

#define BODY_MAX     (256 * 1024) /* streamed body buffered per transfer */
#define ERR_BODY_MAX (64 * 1024)  /* error bodies kept */
#define ENGINE_MAX   (2 * CLUSTER_MAX_NODES)
#define ENGINE_FDS   (2 * ENGINE_MAX) /* sockets curl may ask us to watch */
#define FETCH_MAX    (8 * CLUSTER_MAX_NODES) /* ids of one cluster_fetch */
#define PATH_MAX_ENC (3 * 2048 + 64)
#define HDRS_STEP    16 /* response header slots header_cb adds at once */

struct errslot {
	char key[300];
	int errors;
	double last;
};

/* Ring slots: account, container, then one object ring per storage
 * policy in policy_at order (slot CLUSTER_OBJECT is policy 0's). */
#define NRING_SLOTS (CLUSTER_OBJECT + POLICY_MAX)

struct cluster {
	/* rings[k] is replaced by a reload while lookups run: it is read and
	 * its reference taken under ring_lock, and the replaced ring lives on
	 * until the last cluster_nodes holding it is released */
	pthread_mutex_t ring_lock; /* guards rings, next_check */
	struct ring *rings[NRING_SLOTS];
	int nrings;	   /* slots in use: CLUSTER_OBJECT + policy_count() */
	double next_check; /* monotonic time of the next look at the files */
	int reloading;	   /* a thread is looking at the files */
	double check_every;
	char *ring_path[NRING_SLOTS];
	struct ring_stamp stamp[NRING_SLOTS]; /* the reloading thread's */
	struct ec_codec *codec[NRING_SLOTS];  /* of each EC policy's slot */
	char *prefix, *suffix;
	struct ring_hash_conf hash;
	long conn_ms, node_ms;
	double node_s;
	int err_limit;
	double err_interval;
	pthread_mutex_t lock;
	struct errslot *errs;
	int nerrs;
};

struct put_src {
	const char *data;
	const char *const *each; /* per slot (cluster_put_write_each) */
	size_t len;
	int eof;
	struct curl_slist *trailers; /* sent after a chunked body */
};

struct engine;

struct xfer {
	struct engine *e;
	CURL *easy;
	struct curl_slist *slist;
	char *url;
	const struct ring_dev *dev;
	int status; /* of the last status line */
	int got_continue;
	int headers_done; /* a final (>= 200) header block is complete */
	int done;
	CURLcode result;
	struct cluster_resp r;
	int stream;	 /* pause writes when the buffer is full */
	size_t body_off; /* consumed part of r.body when streaming */
	int wpaused;
	/* a reader's buffer that write_cb fills before r.body, while
	 * cluster_get_read waits on an empty r.body: one copy of the body
	 * fewer */
	char *dst;
	size_t dst_max, dst_len;
	struct put_src *src;
	int slot; /* of a streamed upload: its index in cluster_put */
	size_t up_off;
	int rpaused;
	int body_started;  /* some body was handed to curl */
	int reported;	   /* a PUT answer given by put_collect */
	int trailed;	   /* a chunked upload with trailers */
	uint64_t up_total; /* body bytes handed to curl in all */
	double last;
};

struct engine {
	struct cluster *c;
	CURLM *multi;
	struct xfer *xs[ENGINE_MAX];
	int nxs;
	int added;		       /* a transfer came since the last step */
	struct pollfd fds[ENGINE_FDS]; /* what curl watches (engine_sock) */
	int nfds;
	double timer_at; /* monotonic s curl wants a timeout action; < 0 none */
};

struct cluster_get {
	struct engine e;
	struct xfer *x;
	struct ecget *ec; /* an erasure-coded object's GET: ecget.c reads */
	/* resuming (can_resume): the rest of the body from another node */
	int can_resume;
	struct cluster_nodes nodes; /* holds a ring reference */
	uint32_t tried;		    /* bit i: nodes.dev[i] was used or failed */
	char *account, *container, *object, *txn;
	struct cluster_hdrs hdrs; /* the caller's, minus Range and If-* */
	char *etag, *ts;	  /* of the first source */
	uint64_t pos, end;	  /* next byte handed out, last byte */
	int whole;		  /* the first source sent a 200 body */
	void *sum;		  /* XXH3-128 of the bytes handed out (whole) */
};

struct cluster_put {
	struct engine e;
	struct cluster_nodes nodes;
	int walk; /* the handoffs standing in for primaries */
	int nslots;
	int quorum;
	int64_t clen; /* the body's length, -1: chunked */
	struct xfer *slot[CLUSTER_MAX_NODES];
	struct put_src src;
};

/* --- setup --------------------------------------------------------------- */

/* The ring file of a slot: account.ring.gz, container.ring.gz, then
 * object.ring.gz for policy 0 and object-N.ring.gz for policy N (Swift's
 * POLICIES.get_object_ring). 0 or -ENOMEM. */
static int ring_file(const char *dir, int slot, char **out)
{
	const struct storage_policy *sp;
	int n;

	if (slot == CLUSTER_ACCOUNT) {
		n = asprintf(out, "%s/account.ring.gz", dir);
	} else if (slot == CLUSTER_CONTAINER) {
		n = asprintf(out, "%s/container.ring.gz", dir);
	} else {
		sp = policy_at(slot - CLUSTER_OBJECT);
		n = sp->index ? asprintf(out, "%s/object-%d.ring.gz", dir,
					 sp->index)
			      : asprintf(out, "%s/object.ring.gz", dir);
	}
	if (n == -1)
		*out = NULL;
	return n == -1 ? -ENOMEM : 0;
}

/* Swift's ECStoragePolicy.load_ring check: an erasure-coded policy's ring
 * has exactly k + m replicas (one fragment index each). 0 or -EINVAL
 * (logged, naming the file). */
static int ring_fits(const struct cluster *c, int slot, const struct ring *r)
{
	const struct storage_policy *sp;

	if (slot < CLUSTER_OBJECT)
		return 0;
	sp = policy_at(slot - CLUSTER_OBJECT);
	if (sp->type != POLICY_ERASURE_CODING ||
	    (int)r->nrows == sp->ec_ndata + sp->ec_nparity)
		return 0;
	log_err("EC ring for policy %s needs to be configured with exactly "
		"%d replicas. Got %d (%s)",
		sp->name, sp->ec_ndata + sp->ec_nparity, (int)r->nrows,
		c->ring_path[slot]);
	return -EINVAL;
}

/* The codec of an erasure-coded policy's slot (others: none). 0, or
 * -errno (logged). */
static int codec_open(struct cluster *c, int slot)
{
	const struct storage_policy *sp;
	int rc;

	if (slot < CLUSTER_OBJECT)
		return 0;
	sp = policy_at(slot - CLUSTER_OBJECT);
	if (sp->type != POLICY_ERASURE_CODING)
		return 0;
	rc = ec_open(sp->ec_type, sp->ec_ndata, sp->ec_nparity,
		     &c->codec[slot]);
	if (rc)
		log_err("policy %s: cannot open %s %d+%d: %s", sp->name,
			sp->ec_type, sp->ec_ndata, sp->ec_nparity,
			strerror(-rc));
	return rc;
}

int cluster_open(const struct cluster_conf *conf, struct cluster **out)
{
	struct cluster *c = calloc(1, sizeof(*c));
	int i, rc = 0;

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->ring_lock, NULL);
	c->check_every = conf->ring_check_interval > 0
				 ? conf->ring_check_interval
				 : CLUSTER_RING_CHECK_DEFAULT;
	c->next_check = clock_mono_s() + c->check_every;
	c->prefix = strdup(conf->hash_prefix ? conf->hash_prefix : "");
	c->suffix = strdup(conf->hash_suffix ? conf->hash_suffix : "");
	if (!c->prefix || !c->suffix) {
		rc = -ENOMEM;
		goto fail;
	}
	c->hash.prefix = c->prefix;
	c->hash.suffix = c->suffix;
	c->conn_ms = (long)(conf->conn_timeout * 1000);
	c->node_s = conf->node_timeout;
	c->node_ms = (long)(conf->node_timeout * 1000);
	if (c->conn_ms < 1)
		c->conn_ms = 1;
	c->err_limit = conf->error_suppression_limit;
	c->err_interval = conf->error_suppression_interval;
	c->nrings = CLUSTER_OBJECT + policy_count();
	for (i = 0; i < c->nrings; i++) {
		rc = ring_file(conf->swift_dir, i, &c->ring_path[i]);
		if (rc)
			goto fail;
		rc = ring_reload(c->ring_path[i], &c->stamp[i], &c->rings[i]);
		if (rc < 0) {
			if (!c->stamp[i].ino) /* stat failed: not yet said */
				log_err("no ring at %s: %s", c->ring_path[i],
					strerror(-rc));
			goto fail;
		}
		rc = ring_fits(c, i, c->rings[i]);
		if (!rc)
			rc = codec_open(c, i);
		if (rc)
			goto fail;
	}
	if (curl_global_init(CURL_GLOBAL_ALL)) {
		log_err("curl_global_init failed");
		rc = -EIO;
		goto fail;
	}
	*out = c;
	return 0;
fail:
	cluster_close(c);
	return rc;
}

void cluster_close(struct cluster *c)
{
	int i;

	if (!c)
		return;
	for (i = 0; i < c->nrings; i++)
		if (c->rings[i])
			ring_put(c->rings[i]);
	for (i = 0; i < c->nrings; i++) {
		free(c->ring_path[i]);
		ec_close(c->codec[i]);
	}
	free(c->prefix);
	free(c->suffix);
	free(c->errs);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->ring_lock);
	free(c);
}

/*
 * Look at the ring files again when check_every has passed (Swift's
 * proxy: reload_time). One thread looks at a time, outside ring_lock, so
 * lookups never wait on a file being read; a file whose mtime, size or
 * inode changed is loaded and swapped in, and one that fails to load
 * leaves the ring in use as it was (said once per bad file).
 */
static void rings_check(struct cluster *c)
{
	struct ring *fresh, *old;
	double now = clock_mono_s();
	int i, rc;

	pthread_mutex_lock(&c->ring_lock);
	if (c->reloading || now < c->next_check) {
		pthread_mutex_unlock(&c->ring_lock);
		return;
	}
	c->reloading = 1;
	pthread_mutex_unlock(&c->ring_lock);
	for (i = 0; i < c->nrings; i++) {
		rc = ring_reload(c->ring_path[i], &c->stamp[i], &fresh);
		if (rc > 0 && ring_fits(c, i, fresh)) {
			ring_put(fresh);
			rc = -EINVAL;
		}
		if (rc < 0 && rc != -ENOENT)
			log_warn("keeping the loaded ring instead of %s",
				 c->ring_path[i]);
		if (rc <= 0)
			continue;
		pthread_mutex_lock(&c->ring_lock);
		old = c->rings[i];
		c->rings[i] = fresh;
		pthread_mutex_unlock(&c->ring_lock);
		ring_put(old);
		log_info("ring %s reloaded (%u partitions, %d devices)",
			 c->ring_path[i], fresh->nparts, fresh->num_devs);
	}
	pthread_mutex_lock(&c->ring_lock);
	c->reloading = 0;
	c->next_check = clock_mono_s() + c->check_every;
	pthread_mutex_unlock(&c->ring_lock);
}

/* A slot's current ring, with a reference the caller puts. */
static struct ring *ring_of(struct cluster *c, int slot)
{
	struct ring *ring;

	rings_check(c);
	pthread_mutex_lock(&c->ring_lock);
	ring = ring_get(c->rings[slot]);
	pthread_mutex_unlock(&c->ring_lock);
	return ring;
}

/* The slot of a policy's object ring, or -EINVAL for no such policy. */
static int policy_slot(const struct cluster *c, int policy)
{
	int i;

	for (i = CLUSTER_OBJECT; i < c->nrings; i++)
		if (policy_at(i - CLUSTER_OBJECT)->index == policy)
			return i;
	return -EINVAL;
}

const struct ec_codec *cluster_ec_codec(struct cluster *c, int policy)
{
	int slot = policy_slot(c, policy);

	return slot < 0 ? NULL : c->codec[slot];
}

int cluster_replicas(struct cluster *c, enum cluster_kind kind)
{
	struct ring *ring = ring_of(c, kind);
	int n = ring->nrows;

	ring_put(ring);
	return n;
}

int cluster_replicas_policy(struct cluster *c, int policy)
{
	int slot = policy_slot(c, policy), n;
	struct ring *ring;

	if (slot < 0)
		return slot;
	ring = ring_of(c, slot);
	n = ring->nrows;
	ring_put(ring);
	return n;
}

/* cluster_lookup on the ring of a slot. */
static int lookup_slot(struct cluster *c, int slot, const char *account,
		       const char *container, const char *object,
		       struct cluster_nodes *out)
{
	struct ring *ring = ring_of(c, slot);
	int64_t part;
	int np, nh, max;

	memset(out, 0, sizeof(*out));
	part = ring_get_part(ring, &c->hash, account, container, object);
	if (part < 0) {
		ring_put(ring);
		return (int)part;
	}
	np = ring_get_part_nodes(ring, (uint32_t)part, out->dev,
				 CLUSTER_MAX_NODES);
	max = np;
	if (np + max > CLUSTER_MAX_NODES)
		max = CLUSTER_MAX_NODES - np;
	nh = ring_get_handoffs(ring, (uint32_t)part, out->dev + np, max);
	if (nh < 0) {
		ring_put(ring);
		return nh;
	}
	out->ring = ring; /* our reference passes to out */
	out->kind = slot < CLUSTER_OBJECT ? (enum cluster_kind)slot
					  : CLUSTER_OBJECT;
	out->policy = slot < CLUSTER_OBJECT
			      ? 0
			      : policy_at(slot - CLUSTER_OBJECT)->index;
	out->part = (uint32_t)part;
	out->nprimary = np;
	out->n = np + nh;
	return 0;
}

int cluster_lookup(struct cluster *c, enum cluster_kind kind,
		   const char *account, const char *container,
		   const char *object, struct cluster_nodes *out)
{
	return lookup_slot(c, (int)kind, account, container, object, out);
}

int cluster_lookup_policy(struct cluster *c, int policy, const char *account,
			  const char *container, const char *object,
			  struct cluster_nodes *out)
{
	int slot = policy_slot(c, policy);

	if (slot < 0) {
		memset(out, 0, sizeof(*out));
		return slot;
	}
	return lookup_slot(c, slot, account, container, object, out);
}

void cluster_nodes_release(struct cluster_nodes *nodes)
{
	if (nodes->ring)
		ring_put(nodes->ring);
	nodes->ring = NULL;
}

/* --- error limiting ------------------------------------------------------ */

/* Append dev's "ip:port" at *o (textput.h), the ip in brackets when
 * bracket and it holds a ':'. 0, or -1 when it does not fit. By hand:
 * every backend request formats it twice. */
static int host_port(const struct ring_dev *dev, char **o, const char *end,
		     int bracket)
{
	int v6 = bracket && strchr(dev->ip, ':');
	unsigned port =
		dev->port < 0 ? 0u - (unsigned)dev->port : (unsigned)dev->port;

	if ((v6 && text_put(o, end, "[")) || text_put(o, end, dev->ip) ||
	    (v6 && text_put(o, end, "]")) ||
	    text_put(o, end, dev->port < 0 ? ":-" : ":") ||
	    text_put_uint(o, end, port, 1))
		return -1;
	return 0;
}

/* dev's "ip:port/device" into key (room: len bytes). 0, or -1 when it
 * does not fit. */
static int node_key(const struct ring_dev *dev, char *key, size_t len)
{
	char *o = key;

	if (host_port(dev, &o, key + len, 0) || text_put(&o, key + len, "/") ||
	    text_put(&o, key + len, dev->device))
		return -1;
	*o = '\0';
	return 0;
}

/* The slot of dev, created when missing; lock held. NULL on ENOMEM or
 * when dev's key does not fit (no error limiting for it then). */
static struct errslot *errslot_of(struct cluster *c, const struct ring_dev *d)
{
	struct errslot *grown;
	char key[300];
	int i;

	if (node_key(d, key, sizeof(key)))
		return NULL; /* a name longer than any real one */
	for (i = 0; i < c->nerrs; i++)
		if (!strcmp(c->errs[i].key, key))
			return &c->errs[i];
	grown = realloc(c->errs, sizeof(*grown) * (size_t)(c->nerrs + 1));
	if (!grown)
		return NULL;
	c->errs = grown;
	memset(&grown[c->nerrs], 0, sizeof(*grown));
	memcpy(grown[c->nerrs].key, key, sizeof(key));
	return &grown[c->nerrs++];
}

int cluster_node_limited(struct cluster *c, const struct ring_dev *dev)
{
	struct errslot *s;
	double now = clock_mono_s();
	int limited = 0;

	pthread_mutex_lock(&c->lock);
	s = errslot_of(c, dev);
	if (s && s->errors) {
		if (s->last < now - c->err_interval)
			s->errors = 0;
		limited = s->errors > c->err_limit;
	}
	pthread_mutex_unlock(&c->lock);
	return limited;
}

void cluster_node_error(struct cluster *c, const struct ring_dev *dev)
{
	struct errslot *s;

	pthread_mutex_lock(&c->lock);
	s = errslot_of(c, dev);
	if (s) {
		s->errors++;
		s->last = clock_mono_s();
	}
	pthread_mutex_unlock(&c->lock);
}

void cluster_node_error_limit(struct cluster *c, const struct ring_dev *dev)
{
	struct errslot *s;

	pthread_mutex_lock(&c->lock);
	s = errslot_of(c, dev);
	if (s) {
		s->errors = c->err_limit + 1;
		s->last = clock_mono_s();
	}
	pthread_mutex_unlock(&c->lock);
	log_warn("node %s:%d/%s error limited", dev->ip, dev->port,
		 dev->device);
}

/* --- header lists -------------------------------------------------------- */

int cluster_hdrs_add(struct cluster_hdrs *h, const char *name,
		     const char *value)
{
	char **grown, *line;
	size_t nl, vl;

	grown = realloc(h->lines, sizeof(*grown) * (size_t)(h->n + 1));
	if (!grown)
		return -ENOMEM;
	h->lines = grown;
	/* "name: value" or "name:" (copied, not printed: every backend
	 * request adds a few) */
	nl = strlen(name);
	vl = value ? strlen(value) : 0;
	line = malloc(nl + (vl ? 2 + vl : 1) + 1);
	if (!line)
		return -ENOMEM;
	memcpy(line, name, nl);
	line[nl] = ':';
	if (vl) {
		line[nl + 1] = ' ';
		memcpy(line + nl + 2, value, vl);
		line[nl + 2 + vl] = '\0';
	} else {
		line[nl + 1] = '\0';
	}
	h->lines[h->n++] = line;
	return 0;
}

int cluster_hdrs_addf(struct cluster_hdrs *h, const char *name, const char *fmt,
		      ...)
{
	char value[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	return cluster_hdrs_add(h, name, value);
}

int cluster_hdrs_copy(struct cluster_hdrs *dst, const struct cluster_hdrs *src)
{
	char **grown;
	int i;

	grown = realloc(dst->lines, sizeof(*grown) * (size_t)(dst->n + src->n));
	if (!grown && dst->n + src->n)
		return -ENOMEM;
	dst->lines = grown;
	for (i = 0; i < src->n; i++) {
		dst->lines[dst->n] = strdup(src->lines[i]);
		if (!dst->lines[dst->n])
			return -ENOMEM;
		dst->n++;
	}
	return 0;
}

static int line_is(const char *line, const char *name)
{
	size_t n = strlen(name);

	return !strncasecmp(line, name, n) && line[n] == ':';
}

const char *cluster_hdrs_get(const struct cluster_hdrs *h, const char *name)
{
	int i;

	for (i = 0; i < h->n; i++)
		if (line_is(h->lines[i], name)) {
			const char *v = h->lines[i] + strlen(name) + 1;

			while (*v == ' ')
				v++;
			return v;
		}
	return NULL;
}

int cluster_hdrs_set(struct cluster_hdrs *h, const char *name,
		     const char *value)
{
	char *line;
	int i;

	for (i = 0; i < h->n; i++)
		if (line_is(h->lines[i], name)) {
			if (asprintf(&line, "%s: %s", name, value) < 0)
				return -ENOMEM;
			free(h->lines[i]);
			h->lines[i] = line;
			return 0;
		}
	return cluster_hdrs_add(h, name, value);
}

void cluster_hdrs_free(struct cluster_hdrs *h)
{
	int i;

	for (i = 0; i < h->n; i++)
		free(h->lines[i]);
	free(h->lines);
	h->lines = NULL;
	h->n = 0;
}

/* Append value to the comma-separated header name of h. */
static int csv_append(struct cluster_hdrs *h, const char *name,
		      const char *value)
{
	const char *old = cluster_hdrs_get(h, name);
	char *both;
	int rc;

	if (!old)
		return cluster_hdrs_add(h, name, value);
	if (asprintf(&both, "%s,%s", old, value) < 0)
		return -ENOMEM;
	rc = cluster_hdrs_set(h, name, both);
	free(both);
	return rc;
}

/* "X-<what><suffix>" into name (room: len bytes). 0, or -1 when it does
 * not fit. */
static int update_name(char *name, size_t len, const char *what,
		       const char *suffix)
{
	char *o = name;

	if (text_put(&o, name + len, "X-") || text_put(&o, name + len, what) ||
	    text_put(&o, name + len, suffix))
		return -1;
	*o = '\0';
	return 0;
}

int cluster_update_headers(struct cluster_hdrs *hdrs, int nslots,
			   const struct cluster_nodes *upd, const char *what,
			   int needed)
{
	char host[300], hname[64], dname[64], pname[64], part[16];
	char *o = part;
	int i, j, rc = 0;

	if (!upd || !upd->nprimary || !nslots)
		return 0;
	if (needed < upd->nprimary)
		needed = upd->nprimary;
	/* printed without printf (about 15 lines per object PUT); what
	 * does not fit is refused, not cut */
	if (update_name(hname, sizeof(hname), what, "-Host") ||
	    update_name(dname, sizeof(dname), what, "-Device") ||
	    update_name(pname, sizeof(pname), what, "-Partition") ||
	    text_put_uint(&o, part + sizeof(part), upd->part, 1))
		rc = -EINVAL;
	*o = '\0';
	for (j = 0; j < needed && !rc; j++) {
		const struct ring_dev *d = upd->dev[j % upd->nprimary];

		i = j % nslots;
		o = host;
		rc = host_port(d, &o, host + sizeof(host), 1) ? -EINVAL : 0;
		*o = '\0';
		if (!rc)
			rc = csv_append(&hdrs[i], hname, host);
		if (!rc)
			rc = csv_append(&hdrs[i], dname, d->device);
		if (!rc)
			rc = cluster_hdrs_set(&hdrs[i], pname, part);
	}
	return rc;
}

/* --- responses ----------------------------------------------------------- */

const char *cluster_resp_header(const struct cluster_resp *r, const char *name)
{
	int c = name[0] | 0x20, i;

	/* the first letter, any case, before strcasecmp: a GET or HEAD
	 * looks up ~5 names in ~11 headers */
	for (i = 0; i < r->nhdrs; i++)
		if ((r->hdr_names[i][0] | 0x20) == c &&
		    !strcasecmp(r->hdr_names[i], name))
			return r->hdr_values[i];
	return NULL;
}

static void resp_clear_headers(struct cluster_resp *r)
{
	int i;

	for (i = 0; i < r->nhdrs; i++)
		free(r->hdr_names[i]); /* and its value */
	free(r->hdr_names);
	free(r->hdr_values);
	r->hdr_names = r->hdr_values = NULL;
	r->nhdrs = 0;
}

/* Add name (nl bytes): value (vl bytes), in one allocation, to r. The
 * arrays grow HDRS_STEP slots at a time (their size is always nhdrs
 * rounded up to a multiple of it). 0 or -ENOMEM. */
static int resp_add_n(struct cluster_resp *r, const char *name, size_t nl,
		      const char *value, size_t vl)
{
	char **nn = r->hdr_names, **nv = r->hdr_values, *blk;

	if (!(r->nhdrs % HDRS_STEP)) {
		nn = realloc(nn, sizeof(*nn) * (size_t)(r->nhdrs + HDRS_STEP));
		if (!nn)
			return -ENOMEM;
		r->hdr_names = nn;
		nv = realloc(nv, sizeof(*nv) * (size_t)(r->nhdrs + HDRS_STEP));
		if (!nv)
			return -ENOMEM;
		r->hdr_values = nv;
	}
	blk = malloc(nl + vl + 2);
	if (!blk)
		return -ENOMEM;
	memcpy(blk, name, nl);
	blk[nl] = '\0';
	memcpy(blk + nl + 1, value, vl);
	blk[nl + 1 + vl] = '\0';
	nn[r->nhdrs] = blk;
	nv[r->nhdrs] = blk + nl + 1;
	r->nhdrs++;
	return 0;
}

int cluster_resp_add(struct cluster_resp *r, const char *name,
		     const char *value)
{
	return resp_add_n(r, name, strlen(name), value, strlen(value));
}

void cluster_resp_del(struct cluster_resp *r, int i)
{
	free(r->hdr_names[i]); /* and its value */
	r->nhdrs--;
	r->hdr_names[i] = r->hdr_names[r->nhdrs];
	r->hdr_values[i] = r->hdr_values[r->nhdrs];
}

void cluster_resp_free(struct cluster_resp *r)
{
	resp_clear_headers(r);
	buf_free(&r->body);
	memset(r, 0, sizeof(*r));
}

/* Move src into dst (dst freed first); src is left empty. */
static void resp_move(struct cluster_resp *dst, struct cluster_resp *src)
{
	cluster_resp_free(dst);
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

int cluster_best_status(const int *statuses, int n, int quorum)
{
	int hundred, i, best, count;

	if (quorum <= 0)
		quorum = cluster_quorum(n);
	for (hundred = 200; hundred <= 400; hundred += 100) {
		best = -1;
		count = 0;
		for (i = 0; i < n; i++) {
			if (statuses[i] < hundred ||
			    statuses[i] >= hundred + 100)
				continue;
			count++;
			if (best < 0 || statuses[i] > statuses[best])
				best = i;
		}
		if (count >= quorum && count > 0)
			return best;
	}
	return -1;
}

int cluster_quote(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (o + 4 > outlen)
			return -ENAMETOOLONG;
		if (isalnum(ch) || strchr("_.-~/", ch)) {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	if (o >= outlen)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return (int)o;
}

/* --- transfers ----------------------------------------------------------- */

static size_t header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n, nl = len, vl;
	const char *colon, *value;

	x->last = clock_mono_s();
	while (nl && (data[nl - 1] == '\r' || data[nl - 1] == '\n'))
		nl--;
	if (len >= 5 && !strncmp(data, "HTTP/", 5)) {
		const char *sp = memchr(data, ' ', nl);

		x->status = sp ? atoi(sp + 1) : 0;
		resp_clear_headers(&x->r);
		return len;
	}
	if (!nl) {
		if (x->status >= 200)
			x->headers_done = 1;
		else if (x->status == 100)
			x->got_continue = 1;
		return len;
	}
	colon = memchr(data, ':', nl);
	if (!colon || x->status < 200)
		return len;
	vl = nl - (size_t)(colon + 1 - data);
	value = colon + 1;
	while (vl && (*value == ' ' || *value == '\t')) {
		value++;
		vl--;
	}
	/* name and value in one allocation: not two strndup a header */
	if (resp_add_n(&x->r, data, (size_t)(colon - data), value, vl))
		return 0;
	return len;
}

static size_t write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;

	x->last = clock_mono_s();
	if (x->dst && x->r.body.len == x->body_off) {
		size_t k = x->dst_max - x->dst_len;

		if (k > len)
			k = len;
		memcpy(x->dst + x->dst_len, data, k);
		x->dst_len += k;
		/* the rest (at most a read of curl's) waits in r.body, empty
		 * before: a write that took some bytes must take them all */
		if (k < len && buf_append(&x->r.body, data + k, len - k))
			return 0;
		return len;
	}
	if (x->stream) {
		if (x->r.body.len - x->body_off >= BODY_MAX) {
			x->wpaused = 1;
			return CURL_WRITEFUNC_PAUSE;
		}
	} else if (x->r.body.len >= ERR_BODY_MAX) {
		return len; /* keep the start of an error body only */
	}
	if (buf_append(&x->r.body, data, len))
		return 0;
	return len;
}

static size_t read_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	struct put_src *src = x->src;
	size_t max = size * n, avail;

	x->last = clock_mono_s();
	avail = src->len - x->up_off;
	if (avail) {
		if (avail > max)
			avail = max;
		memcpy(buf,
		       (src->each ? src->each[x->slot] : src->data) + x->up_off,
		       avail);
		x->up_off += avail;
		x->up_total += avail;
		x->body_started = 1;
		return avail;
	}
	if (src->eof)
		return 0;
	x->rpaused = 1;
	return CURL_READFUNC_PAUSE;
}

/* The trailers of a chunked upload (cluster_put_trailer), once its body
 * ended: copies, which curl frees. */
static int trailer_cb(struct curl_slist **list, void *arg)
{
	const struct xfer *x = arg;
	const struct curl_slist *t;

	for (t = x->src->trailers; t; t = t->next) {
		struct curl_slist *l = curl_slist_append(*list, t->data);

		if (!l)
			return CURL_TRAILERFUNC_ABORT;
		*list = l;
	}
	return CURL_TRAILERFUNC_OK;
}

static void xfer_free(struct xfer *x)
{
	int i;

	if (!x)
		return;
	if (x->easy) {
		if (!x->done)
			curl_multi_remove_handle(x->e->multi, x->easy);
		/* a handle whose transfer ended well serves the next one;
		 * not one that had trailers: libcurl 7.88 keeps its trailer
		 * state (TRAILERS_DONE) through curl_easy_reset, and the next
		 * chunked upload on it writes its chunk header before curl's
		 * upload buffer */
		if (x->done && x->result == CURLE_OK && !x->wpaused &&
		    !x->rpaused && !x->trailed)
			curlpool_easy_put(x->easy);
		else
			curl_easy_cleanup(x->easy);
	}
	for (i = 0; i < x->e->nxs; i++)
		if (x->e->xs[i] == x) {
			x->e->xs[i] = x->e->xs[--x->e->nxs];
			break;
		}
	curl_slist_free_all(x->slist);
	free(x->url);
	cluster_resp_free(&x->r);
	free(x);
}

static int has_header(const struct cluster_hdrs *h, const char *name)
{
	return h && cluster_hdrs_get(h, name) != NULL;
}

/* "http://ip:port" + path (len bytes) + "?query" when there is one, in
 * one allocation (no asprintf on every backend request). NULL on ENOMEM. */
static char *join_url(const struct ring_dev *dev, const char *path, size_t len,
		      const char *query)
{
	char host[300] = "http://", *o = host + 7;
	size_t hl, ql = query ? strlen(query) : 0;
	char *url;

	if (host_port(dev, &o, host + sizeof(host), 1))
		return NULL; /* too long: no such node */
	hl = (size_t)(o - host);
	url = malloc(hl + len + (ql ? 1 + ql : 0) + 1);
	if (!url)
		return NULL;
	memcpy(url, host, hl);
	memcpy(url + hl, path, len);
	if (ql) {
		url[hl + len] = '?';
		memcpy(url + hl + len + 1, query, ql);
	}
	url[hl + len + (ql ? 1 + ql : 0)] = '\0';
	return url;
}

/* The quoted path "/dev/part/a[/c[/o]]" into enc (PATH_MAX_ENC bytes).
 * Its length, or -1 when it does not fit. */
static int url_path(const struct ring_dev *dev, uint32_t part,
		    const char *account, const char *container,
		    const char *object, char *enc)
{
	char *p = enc;
	size_t left = PATH_MAX_ENC;
	int n, rc = -1;

	n = snprintf(p, left, "/");
	p += n, left -= (size_t)n;
	if ((n = cluster_quote(dev->device, p, left)) < 0)
		goto out;
	p += n, left -= (size_t)n;
	n = snprintf(p, left, "/%u/", part);
	p += n, left -= (size_t)n;
	if ((n = cluster_quote(account, p, left)) < 0)
		goto out;
	p += n, left -= (size_t)n;
	if (container) {
		if (left < 2)
			goto out;
		*p++ = '/', left--;
		if ((n = cluster_quote(container, p, left)) < 0)
			goto out;
		p += n, left -= (size_t)n;
	}
	if (object) {
		if (left < 2)
			goto out;
		*p++ = '/', left--;
		if ((n = cluster_quote(object, p, left)) < 0)
			goto out;
		p += n;
	}
	rc = (int)(p - enc);
out:
	return rc;
}

/* The URL of a path on a node; NULL on ENOMEM/ENAMETOOLONG. */
static char *make_url(const struct ring_dev *dev, uint32_t part,
		      const char *account, const char *container,
		      const char *object, const char *query)
{
	char enc[PATH_MAX_ENC];
	int n = url_path(dev, part, account, container, object, enc);

	return n < 0 ? NULL : join_url(dev, enc, (size_t)n, query);
}

struct xfer_spec {
	const char *method;
	uint32_t part;
	const char *account, *container, *object, *query;
	const struct cluster_hdrs *hdrs;
	const char *txn;
	const void *body; /* in-memory body, or NULL */
	size_t body_len;
	struct put_src *src; /* streamed upload */
	int64_t upload_len;  /* -1: chunked */
	int stream;	     /* streamed download */
	int obj_policy;	     /* 1 + an object request's policy index, or 0 */
};

/* xfer_spec.obj_policy of a request to nodes: an object ring's requests
 * all carry its storage policy's X-Backend-Storage-Policy-Index, so an
 * object server files them under that policy's folder. */
static int obj_policy(const struct cluster_nodes *nodes)
{
	return nodes->kind == CLUSTER_OBJECT ? nodes->policy + 1 : 0;
}

/* Is line an X-Backend-Storage-Policy-Index header? */
static int is_policy_line(const char *line)
{
	static const char name[] = "X-Backend-Storage-Policy-Index:";

	return !strncasecmp(line, name, sizeof(name) - 1);
}

/* Append line to x's request headers. 0, or -ENOMEM (the list kept). */
static int slist_add(struct xfer *x, const char *line)
{
	struct curl_slist *l = curl_slist_append(x->slist, line);

	if (!l)
		return -ENOMEM;
	x->slist = l;
	return 0;
}

/* Start a transfer of spec on dev in engine e. NULL on failure (logged). */
static struct xfer *xfer_start(struct engine *e, const struct ring_dev *dev,
			       const struct xfer_spec *s)
{
	int has_body = s->src || s->body || !strcmp(s->method, "PUT") ||
		       !strcmp(s->method, "POST");
	struct xfer *x;
	int i, bad = 0;

	if (e->nxs >= ENGINE_MAX)
		return NULL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->e = e;
	x->dev = dev;
	x->r.dev = dev;
	x->stream = s->stream;
	x->src = s->src;
	x->last = clock_mono_s();
	e->xs[e->nxs++] = x;
	x->url = make_url(dev, s->part, s->account, s->container, s->object,
			  s->query);
	x->easy = curlpool_easy_get();
	if (!x->url || !x->easy)
		goto fail;
	for (i = 0; s->hdrs && i < s->hdrs->n; i++) {
		if (s->obj_policy && is_policy_line(s->hdrs->lines[i]))
			continue; /* the ring's policy is added below */
		bad |= slist_add(x, s->hdrs->lines[i]);
	}
	/* these two lines copied, not printed: every request has them */
	if (s->obj_policy) {
		static const char pre[] = "X-Backend-Storage-Policy-Index: ";
		char line[64], *o = line;

		/* fits: pre and an int's digits are < 64 */
		text_put(&o, line + sizeof(line), pre);
		text_put_uint(&o, line + sizeof(line),
			      (unsigned)(s->obj_policy - 1), 1);
		*o = '\0';
		bad |= slist_add(x, line);
	}
	if (s->txn) {
		static const char pre[] = "X-Trans-Id: ";
		char line[128];
		size_t l = strnlen(s->txn, sizeof(line) - sizeof(pre));

		memcpy(line, pre, sizeof(pre) - 1);
		memcpy(line + sizeof(pre) - 1, s->txn, l);
		line[sizeof(pre) - 1 + l] = '\0';
		bad |= slist_add(x, line);
	}
	if (!has_header(s->hdrs, "Accept"))
		bad |= slist_add(x, "Accept:");
	/* curl adds these two only to a request with a body (an upload, or
	 * post fields below): a GET or HEAD has no line to take out, and
	 * each line of the list costs curl a scan in every header lookup */
	if (!has_header(s->hdrs, "Expect") && has_body)
		bad |= slist_add(x, "Expect:");
	if (!has_header(s->hdrs, "Content-Type") && has_body)
		bad |= slist_add(x, "Content-Type:");
	if (bad)
		goto fail;
	bad |= curl_easy_setopt(x->easy, CURLOPT_URL, x->url);
	bad |= curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	bad |= curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	bad |= curl_easy_setopt(x->easy, CURLOPT_PATH_AS_IS, 1L);
	/* straight to the node, as Swift's backend requests: no proxy from
	 * http_proxy and the like (and no five getenv calls a request) */
	bad |= curl_easy_setopt(x->easy, CURLOPT_NOPROXY, "*");
	curlpool_easy_opts(x->easy);
	bad |= curl_easy_setopt(x->easy, CURLOPT_HTTP_VERSION,
				(long)CURL_HTTP_VERSION_1_1);
	bad |= curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS,
				e->c->conn_ms);
	bad |= curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->slist);
	bad |= curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, header_cb);
	bad |= curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
	bad |= curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, write_cb);
	bad |= curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	/* a large body in 256 KiB reads, not 16 KiB ones (a HEAD has none:
	 * no 256 KiB buffer to allocate) */
	if (s->stream && strcmp(s->method, "HEAD"))
		bad |= curl_easy_setopt(x->easy, CURLOPT_BUFFERSIZE,
					(long)BODY_MAX);
	if (!strcmp(s->method, "HEAD")) {
		bad |= curl_easy_setopt(x->easy, CURLOPT_NOBODY, 1L);
	} else if (s->src) {
		bad |= curl_easy_setopt(x->easy, CURLOPT_UPLOAD, 1L);
		bad |= curl_easy_setopt(x->easy, CURLOPT_READFUNCTION, read_cb);
		bad |= curl_easy_setopt(x->easy, CURLOPT_READDATA, x);
		bad |= curl_easy_setopt(x->easy, CURLOPT_INFILESIZE_LARGE,
					(curl_off_t)s->upload_len);
		bad |= curl_easy_setopt(x->easy, CURLOPT_EXPECT_100_TIMEOUT_MS,
					e->c->node_ms);
		bad |= curl_easy_setopt(x->easy, CURLOPT_UPLOAD_BUFFERSIZE,
					256L * 1024);
		/* trailers only for an upload that announces them */
		if (s->upload_len < 0 && has_header(s->hdrs, "Trailer")) {
			bad |= curl_easy_setopt(
				x->easy, CURLOPT_TRAILERFUNCTION, trailer_cb);
			bad |= curl_easy_setopt(x->easy, CURLOPT_TRAILERDATA,
						x);
			x->trailed = 1;
		}
		if (strcmp(s->method, "PUT"))
			bad |= curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST,
						s->method);
	} else if (s->body || !strcmp(s->method, "PUT") ||
		   !strcmp(s->method, "POST")) {
		bad |= curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE,
					(curl_off_t)s->body_len);
		bad |= curl_easy_setopt(x->easy, CURLOPT_COPYPOSTFIELDS,
					s->body ? s->body : "");
		bad |= curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST,
					s->method);
	} else if (strcmp(s->method, "GET")) {
		bad |= curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST,
					s->method);
	}
	if (bad)
		goto fail;
	if (curl_multi_add_handle(e->multi, x->easy) != CURLM_OK)
		goto fail;
	e->added = 1;
	return x;
fail:
	log_err("cannot start %s %s", s->method, x->url ? x->url : "(url)");
	curl_easy_cleanup(x->easy);
	x->easy = NULL;
	xfer_free(x);
	return NULL;
}

/* CURLMOPT_SOCKETFUNCTION: keep e->fds equal to the sockets curl wants
 * watched and for what. 0, or -1 when the table is full (logged). */
static int engine_sock(CURL *easy, curl_socket_t fd, int what, void *arg,
		       void *sockp)
{
	struct engine *e = arg;
	short events = 0;
	int i;

	(void)easy;
	(void)sockp;
	if (!e)
		return 0; /* a pooled multi between two engines */
	for (i = 0; i < e->nfds && e->fds[i].fd != fd; i++)
		;
	if (what == CURL_POLL_REMOVE) {
		if (i < e->nfds)
			e->fds[i] = e->fds[--e->nfds];
		return 0;
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= POLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= POLLOUT;
	if (i == e->nfds) {
		if (e->nfds == ENGINE_FDS) {
			log_err("more than %d backend sockets in one request",
				ENGINE_FDS);
			return -1;
		}
		e->nfds++;
		e->fds[i].fd = fd;
	}
	e->fds[i].events = events;
	e->fds[i].revents = 0;
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: when curl wants a timeout action. */
static int engine_timer(CURLM *multi, long timeout_ms, void *arg)
{
	struct engine *e = arg;

	(void)multi;
	if (e)
		e->timer_at = timeout_ms < 0 ? -1
					     : clock_mono_s() +
						       (double)timeout_ms / 1e3;
	return 0;
}

/* Point the multi handle's socket and timer callbacks at e (NULL: at
 * nothing, before the handle goes back to the pool). */
static void engine_hook(struct engine *e, CURLM *multi)
{
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION,
			  e ? engine_sock : NULL);
	curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, e);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION,
			  e ? engine_timer : NULL);
	curl_multi_setopt(multi, CURLMOPT_TIMERDATA, e);
}

static int engine_init(struct engine *e, struct cluster *c)
{
	memset(e, 0, sizeof(*e));
	e->c = c;
	e->timer_at = -1;
	e->multi = curlpool_get(); /* with warm backend connections */
	if (!e->multi)
		return -ENOMEM;
	engine_hook(e, e->multi);
	return 0;
}

static void engine_free(struct engine *e)
{
	while (e->nxs)
		xfer_free(e->xs[0]);
	if (e->multi)
		engine_hook(NULL, e->multi);
	curlpool_put(e->multi); /* keeps its idle connections */
	e->multi = NULL;
}

static void xfer_finish(struct xfer *x, CURLcode result)
{
	if (x->done)
		return;
	x->done = 1;
	x->result = result;
	curl_multi_remove_handle(x->e->multi, x->easy);
}

/* Poll the sockets curl watches for up to wait_ms (less when its timer is
 * due sooner), then let curl act on the ready ones and on its timer. */
static void engine_act(struct engine *e, int wait_ms)
{
	struct pollfd ready[ENGINE_FDS];
	int running, n, i;

	if (e->timer_at >= 0) {
		double due = (e->timer_at - clock_mono_s()) * 1e3;

		if (due < wait_ms)
			wait_ms = due > 0 ? (int)due + 1 : 0;
	}
	/* a new transfer has its request to send: curl's timer for it is
	 * already due, so a poll first would only cost a system call */
	n = e->added && !wait_ms ? 0 : poll(e->fds, (nfds_t)e->nfds, wait_ms);
	e->added = 0;
	if (n > 0) {
		/* curl changes e->fds as it acts: act on a copy */
		n = e->nfds;
		memcpy(ready, e->fds, sizeof(ready[0]) * (size_t)n);
		for (i = 0; i < n; i++) {
			int ev = 0;

			if (ready[i].revents & (POLLIN | POLLHUP))
				ev |= CURL_CSELECT_IN;
			if (ready[i].revents & POLLOUT)
				ev |= CURL_CSELECT_OUT;
			if (ready[i].revents & (POLLERR | POLLNVAL))
				ev |= CURL_CSELECT_ERR;
			if (ev)
				curl_multi_socket_action(e->multi, ready[i].fd,
							 ev, &running);
		}
	}
	if (e->timer_at >= 0 && clock_mono_s() >= e->timer_at) {
		e->timer_at = -1;
		curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0,
					 &running);
	}
}

/*
 * Wait up to wait_ms for activity (less when curl has a timer due), then
 * perform what is ready, retire finished transfers, time out silent ones.
 */
static void engine_step(struct engine *e, int wait_ms)
{
	CURLMsg *m;
	double now;
	int left, i;

	engine_act(e, wait_ms);
	while ((m = curl_multi_info_read(e->multi, &left))) {
		struct xfer *x = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
				  (char **)&x);
		if (x)
			xfer_finish(x, m->data.result);
	}
	now = clock_mono_s();
	for (i = 0; i < e->nxs; i++) {
		struct xfer *x = e->xs[i];

		if (x->done || x->rpaused || x->wpaused)
			continue;
		if (now - x->last > e->c->node_s) {
			log_warn("timeout after %.1fs on %s", e->c->node_s,
				 x->url);
			xfer_finish(x, CURLE_OPERATION_TIMEDOUT);
		}
	}
}

/* Did the node fail (no answer, 5xx, 507)? Counts the error if so. */
static int node_failed(struct cluster *c, struct xfer *x)
{
	if (!x->headers_done) {
		cluster_node_error(c, x->dev);
		return 1;
	}
	if (x->status == 507) {
		cluster_node_error_limit(c, x->dev);
		return 1;
	}
	if (x->status >= 500) {
		cluster_node_error(c, x->dev);
		return 1;
	}
	return 0;
}

/* The next usable node of the walk, or NULL. */
static const struct ring_dev *
walk_next(struct cluster *c, const struct cluster_nodes *nodes, int *walk)
{
	while (*walk < nodes->n) {
		const struct ring_dev *d = nodes->dev[(*walk)++];

		if (!cluster_node_limited(c, d))
			return d;
	}
	return NULL;
}

/* --- make_requests ------------------------------------------------------- */

/*
 * cluster_make_requests, or with devs set: slot i to devs[i] only (no
 * walk, no failover; an error-limited node is still asked).
 */
static int requests_run(struct cluster *c, const struct cluster_nodes *nodes,
			const struct ring_dev *const *devs, const char *method,
			const char *account, const char *container,
			const char *object, const char *query,
			struct cluster_hdrs *hdrs, int nslots, const void *body,
			size_t body_len, const char *txn,
			struct cluster_resp *resps)
{
	struct xfer *slot[CLUSTER_MAX_NODES] = {0};
	struct xfer_spec s = {method,  nodes->part,
			      account, container,
			      object,  query,
			      NULL,    txn,
			      body,    body_len,
			      NULL,    0,
			      0,       obj_policy(nodes)};
	struct engine e;
	int i, walk = 0, pending = 0, rc;

	if (nslots > CLUSTER_MAX_NODES)
		nslots = CLUSTER_MAX_NODES;
	rc = engine_init(&e, c);
	if (rc)
		return rc;
	for (i = 0; i < nslots; i++) {
		const struct ring_dev *d;

		resps[i].status = 503;
		s.hdrs = &hdrs[i];
		if (devs) {
			slot[i] = xfer_start(&e, devs[i], &s);
			pending += slot[i] != NULL;
			continue;
		}
		while ((d = walk_next(c, nodes, &walk))) {
			slot[i] = xfer_start(&e, d, &s);
			if (slot[i])
				break;
		}
		pending += slot[i] != NULL;
	}
	while (pending) {
		engine_step(&e, 50);
		for (i = 0; i < nslots; i++) {
			struct xfer *x = slot[i];
			const struct ring_dev *d;

			if (!x || !x->done)
				continue;
			slot[i] = NULL;
			pending--;
			if (x->headers_done && x->result == CURLE_OK) {
				resp_move(&resps[i], &x->r);
				resps[i].status = x->status;
			} else if (x->headers_done) {
				x->headers_done = 0; /* the body was cut */
			}
			resps[i].dev = x->dev;
			if (!node_failed(c, x)) {
				xfer_free(x);
				continue;
			}
			if (!x->headers_done)
				log_warn("%s %s: %s", method, x->url,
					 curl_easy_strerror(x->result));
			xfer_free(x);
			while (!devs && (d = walk_next(c, nodes, &walk))) {
				s.hdrs = &hdrs[i];
				slot[i] = xfer_start(&e, d, &s);
				if (slot[i])
					break;
			}
			pending += slot[i] != NULL;
		}
	}
	for (i = 0; i < nslots; i++)
		if (!resps[i].status)
			resps[i].status = 503;
	engine_free(&e);
	return 0;
}

int cluster_make_requests(struct cluster *c, const struct cluster_nodes *nodes,
			  const char *method, const char *account,
			  const char *container, const char *object,
			  const char *query, struct cluster_hdrs *hdrs,
			  int nslots, const void *body, size_t body_len,
			  const char *txn, struct cluster_resp *resps)
{
	return requests_run(c, nodes, NULL, method, account, container, object,
			    query, hdrs, nslots, body, body_len, txn, resps);
}

int cluster_requests_at(struct cluster *c, const struct cluster_nodes *nodes,
			const struct ring_dev *const *devs, int n,
			const char *method, const char *account,
			const char *container, const char *object,
			struct cluster_hdrs *hdrs, const char *txn,
			struct cluster_resp *resps)
{
	return requests_run(c, nodes, devs, method, account, container, object,
			    NULL, hdrs, n, NULL, 0, txn, resps);
}

/* --- GET / HEAD ---------------------------------------------------------- */

static int good_source(int status)
{
	return (status >= 200 && status < 400) || status == 416;
}

/* The timestamp of a source (X-Backend-Timestamp, X-Timestamp, ...). */
static void source_ts(const struct cluster_resp *r, struct ts *t)
{
	static const char *const names[] = {"X-Backend-Data-Timestamp",
					    "X-Backend-Timestamp",
					    "X-Put-Timestamp", "X-Timestamp"};
	unsigned i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = cluster_resp_header(r, names[i]);

		if (v && !ts_parse(v, t))
			return;
	}
}

/* --- resuming a GET ------------------------------------------------------ */

int cluster_cond_header(const char *line)
{
	static const char *const drop[] = {"Range",
					   "If-Match",
					   "If-None-Match",
					   "If-Modified-Since",
					   "If-Unmodified-Since",
					   "If-Range",
					   "X-Newest"};
	unsigned i;

	for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		if (line_is(line, drop[i]))
			return 1;
	return 0;
}

/* "bytes a-b/t" into *a, *b. 0, or -EINVAL. */
static int content_range(const char *v, uint64_t *a, uint64_t *b)
{
	unsigned long long x, y;
	int n = 0;

	if (!v || sscanf(v, "bytes %llu-%llu/%n", &x, &y, &n) != 2 || !n ||
	    y < x)
		return -EINVAL;
	*a = x;
	*b = y;
	return 0;
}

static void resume_clear(struct cluster_get *g)
{
	g->can_resume = 0;
	cluster_nodes_release(&g->nodes);
	free(g->account);
	free(g->container);
	free(g->object);
	free(g->txn);
	free(g->etag);
	free(g->ts);
	g->account = g->container = g->object = g->txn = NULL;
	g->etag = g->ts = NULL;
	cluster_hdrs_free(&g->hdrs);
	xxh128_free(g->sum);
	g->sum = NULL;
}

/*
 * Make g able to resume the body of r (the first source, nodes->dev[at]).
 * walk >= 0: nodes before walk were tried already (Swift goes on with the
 * node iterator); -1 (X-Newest asked every node): only the source is
 * spent. A body that cannot be resumed (no ETag, multipart ranges, no
 * length) is streamed as before; failing to set up is not an error.
 */
static void resume_setup(struct cluster_get *g,
			 const struct cluster_nodes *nodes, const char *account,
			 const char *container, const char *object,
			 const struct cluster_hdrs *hdrs, const char *txn,
			 const struct cluster_resp *r, int walk, int at)
{
	const char *etag = cluster_resp_header(r, "Etag");
	const char *ts = cluster_resp_header(r, "X-Timestamp");
	const char *cl = cluster_resp_header(r, "Content-Length");
	const char *ct = cluster_resp_header(r, "Content-Type");
	int i, ok = 1;

	if (!etag || nodes->n > 32 || at < 0)
		return;
	if (r->status == 200) {
		if (!cl || !*cl || strspn(cl, "0123456789") != strlen(cl))
			return;
		g->pos = 0;
		g->end = strtoull(cl, NULL, 10);
		if (!g->end)
			return; /* nothing to resume */
		g->end--;
	} else if (r->status == 206) {
		if (ct && !strncasecmp(ct, "multipart/", 10))
			return;
		if (content_range(cluster_resp_header(r, "Content-Range"),
				  &g->pos, &g->end))
			return;
	} else {
		return;
	}
	g->nodes = *nodes;
	g->nodes.ring = ring_get(nodes->ring);
	g->tried = 1u << at;
	for (i = 0; i < walk && i < nodes->n; i++)
		g->tried |= 1u << i;
	g->account = strdup(account);
	g->container = container ? strdup(container) : NULL;
	g->object = strdup(object);
	g->txn = txn ? strdup(txn) : NULL;
	g->etag = strdup(etag);
	g->ts = ts ? strdup(ts) : NULL;
	if (!g->account || (container && !g->container) || !g->object ||
	    (txn && !g->txn) || !g->etag || (ts && !g->ts))
		ok = 0;
	for (i = 0; ok && hdrs && i < hdrs->n; i++) {
		char **l;

		if (cluster_cond_header(hdrs->lines[i]))
			continue;
		l = realloc(g->hdrs.lines,
			    sizeof(*l) * (size_t)(g->hdrs.n + 1));
		if (!l) {
			ok = 0;
			break;
		}
		g->hdrs.lines = l;
		l[g->hdrs.n] = strdup(hdrs->lines[i]);
		if (!l[g->hdrs.n])
			ok = 0;
		else
			g->hdrs.n++;
	}
	g->whole = r->status == 200;
	if (g->whole && !(g->sum = xxh128_new()))
		ok = 0;
	if (!ok) {
		log_warn("GET /%s/%s/%s: cannot resume (out of memory)",
			 account, container ? container : "", object);
		resume_clear(g);
		return;
	}
	g->can_resume = 1;
}

/* Is x (a resumed source) the same body: the rest from g->pos for a
 * range, the whole body again for a whole one? */
static int resume_fits(const struct cluster_get *g, const struct xfer *x)
{
	const char *etag = cluster_resp_header(&x->r, "Etag");
	const char *ts = cluster_resp_header(&x->r, "X-Timestamp");
	const char *cl = cluster_resp_header(&x->r, "Content-Length");
	uint64_t a, b;

	if (!etag || strcmp(etag, g->etag))
		return 0;
	if (g->ts && (!ts || strcmp(ts, g->ts)))
		return 0;
	if (g->whole)
		return x->status == 200 && cl &&
		       strtoull(cl, NULL, 10) == g->end + 1;
	if (x->status != 206 ||
	    content_range(cluster_resp_header(&x->r, "Content-Range"), &a, &b))
		return 0;
	return a == g->pos && b == g->end;
}

/* Let a download paused on a full buffer go on (its buffer was drained). */
static void body_resume(struct xfer *x)
{
	if (x->wpaused && !x->done) {
		x->wpaused = 0;
		x->last = clock_mono_s();
		curl_easy_pause(x->easy, CURLPAUSE_CONT);
	}
}

/*
 * Read the first g->pos bytes of x, a whole body again, and compare their
 * hash with that of the bytes handed out. Non-zero when they agree (x
 * then stands at g->pos).
 */
static int skip_handed_out(struct cluster_get *g, struct xfer *x)
{
	uint64_t left = g->pos;
	void *sum = xxh128_new();
	char had[33], got[33];
	int same;

	if (!sum)
		return 0;

	while (left) {
		size_t n = x->r.body.len - x->body_off;

		if (!n) {
			if (x->done)
				break;
			body_resume(x);
			engine_step(&g->e, 50);
			continue;
		}
		if (n > left)
			n = (size_t)left;
		xxh128_update(sum, x->r.body.data + x->body_off, n);
		x->body_off += n;
		left -= n;
		if (x->body_off == x->r.body.len)
			x->r.body.len = x->body_off = 0;
	}
	xxh128_peek(g->sum, had);
	xxh128_final(sum, got);
	same = !left && !strcmp(had, got);
	if (same)
		return 1;
	if (!left)
		log_warn(
			"GET %s: its first %llu bytes are not those handed out",
			x->url, (unsigned long long)g->pos);
	return 0;
}

/*
 * The source of g failed after handing out the bytes before g->pos: find
 * a node that serves g->pos..g->end of the same object and make it the
 * source. 0, or -EIO when no node can.
 */
static int resume(struct cluster_get *g)
{
	struct cluster *c = g->e.c;
	struct cluster_hdrs h = {0};
	struct xfer_spec s = {"GET",	  g->nodes.part,
			      g->account, g->container,
			      g->object,  NULL,
			      &h,	  g->txn,
			      NULL,	  0,
			      NULL,	  0,
			      1,	  obj_policy(&g->nodes)};
	int i, rc = -EIO;

	if (!g->can_resume || g->pos > g->end)
		return -EIO;
	if (cluster_hdrs_copy(&h, &g->hdrs) ||
	    (!g->whole && cluster_hdrs_addf(&h, "Range", "bytes=%llu-%llu",
					    (unsigned long long)g->pos,
					    (unsigned long long)g->end)) ||
	    cluster_hdrs_add(&h, "If-Match", g->etag)) {
		cluster_hdrs_free(&h);
		return -ENOMEM;
	}
	for (i = 0; i < g->nodes.n; i++) {
		const struct ring_dev *d = g->nodes.dev[i];
		struct xfer *x;

		if (g->tried & (1u << i))
			continue;
		g->tried |= 1u << i;
		if (cluster_node_limited(c, d))
			continue;
		x = xfer_start(&g->e, d, &s);
		if (!x)
			continue;
		while (!x->headers_done && !x->done)
			engine_step(&g->e, 50);
		if (x->headers_done && resume_fits(g, x) &&
		    (!g->whole || skip_handed_out(g, x))) {
			log_info("GET /%s/%s/%s: resumed at byte %llu on "
				 "%s:%d/%s",
				 g->account, g->container ? g->container : "",
				 g->object, (unsigned long long)g->pos, d->ip,
				 d->port, d->device);
			xfer_free(g->x);
			g->x = x;
			rc = 0;
			break;
		}
		if (node_failed(c, x) && !x->headers_done)
			log_warn("GET %s: %s", x->url,
				 curl_easy_strerror(x->result));
		else
			log_warn("GET %s: no resume (status %d)", x->url,
				 x->status);
		xfer_free(x);
	}
	cluster_hdrs_free(&h);
	return rc;
}

int cluster_get_open(struct cluster *c, const struct cluster_nodes *nodes,
		     const char *method, const char *account,
		     const char *container, const char *object,
		     const char *query, const struct cluster_hdrs *hdrs,
		     int newest, const char *txn, struct cluster_resp *resp,
		     struct cluster_get **out)
{
	struct xfer_spec s = {method,  nodes->part,
			      account, container,
			      object,  query,
			      hdrs,    txn,
			      NULL,    0,
			      NULL,    0,
			      1,       obj_policy(nodes)};
	struct cluster_resp errs[CLUSTER_MAX_NODES];
	int statuses[CLUSTER_MAX_NODES];
	struct cluster_get *g;
	struct xfer *best = NULL;
	struct ts best_ts = {0, 0}, t;
	const struct ring_dev *d;
	int walk = 0, nerr = 0, i, rc, best_at = -1;

	*out = NULL;
	memset(resp, 0, sizeof(*resp));
	memset(errs, 0, sizeof(errs));
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	i = nodes->kind == CLUSTER_OBJECT ? policy_slot(c, nodes->policy) : -1;
	if (object && i >= 0 && c->codec[i]) {
		/* an erasure-coded object: decoded from its fragments */
		rc = ecget_open(c, c->codec[i], nodes, method, account,
				container, object, query, hdrs, txn, resp,
				&g->ec);
		if (!rc && g->ec)
			*out = g;
		else
			free(g);
		return rc;
	}
	rc = engine_init(&g->e, c);
	if (rc) {
		free(g);
		return rc;
	}
	while ((d = walk_next(c, nodes, &walk))) {
		struct xfer *x = xfer_start(&g->e, d, &s);

		if (!x)
			continue;
		while (!x->headers_done && !x->done)
			engine_step(&g->e, 50);
		if (x->headers_done && good_source(x->status)) {
			if (!newest) {
				best = x;
				best_at = walk - 1;
				break;
			}
			source_ts(&x->r, &t);
			if (!best || ts_cmp(&t, &best_ts) > 0) {
				xfer_free(best);
				best = x;
				best_at = walk - 1;
				best_ts = t;
			} else {
				xfer_free(x);
			}
			continue;
		}
		if (node_failed(c, x) && !x->headers_done) {
			log_warn("%s %s: %s", method, x->url,
				 curl_easy_strerror(x->result));
		} else if (nerr < CLUSTER_MAX_NODES) {
			/* an answer that is no source: keep it for the vote */
			statuses[nerr] = x->status;
			resp_move(&errs[nerr], &x->r);
			errs[nerr++].status = x->status;
		}
		xfer_free(x);
	}
	if (best) {
		resp_move(resp, &best->r);
		resp->status = best->status;
		/* the headers moved out; the body buffer starts empty again,
		 * what arrived already is handed over */
		best->r.body = resp->body;
		memset(&resp->body, 0, sizeof(resp->body));
		best->body_off = 0;
		g->x = best;
		if (!strcmp(method, "GET") && object)
			resume_setup(g, nodes, account, container, object, hdrs,
				     txn, resp, newest ? -1 : walk, best_at);
		*out = g;
	} else {
		i = cluster_best_status(statuses, nerr, 0);
		if (i >= 0) {
			resp_move(resp, &errs[i]);
		} else {
			resp->status = 503;
		}
		engine_free(&g->e);
		free(g);
	}
	for (i = 0; i < nerr; i++)
		cluster_resp_free(&errs[i]);
	return 0;
}

/* Hand out n bytes at buf (hashed for a resume). n. */
static ssize_t hand_out(struct cluster_get *g, const char *buf, size_t n)
{
	if (g->can_resume && g->sum)
		xxh128_update(g->sum, buf, n);
	g->pos += n;
	return (ssize_t)n;
}

/* Move up to max buffered body bytes of a streamed download x into buf
 * (some must be there). Returns the count. A transfer paused on a full
 * buffer is left paused: the next read lets it go on (body_resume), and
 * cluster_get_read does so with its buffer as x->dst, so what curl kept
 * back goes there directly. */
static size_t body_take(struct xfer *x, char *buf, size_t max)
{
	size_t avail = x->r.body.len - x->body_off;

	if (avail > max)
		avail = max;
	memcpy(buf, x->r.body.data + x->body_off, avail);
	x->body_off += avail;
	if (x->body_off >= BODY_MAX && x->body_off < x->r.body.len) {
		/* never drained (the writer keeps pace): keep it bounded */
		memmove(x->r.body.data, x->r.body.data + x->body_off,
			x->r.body.len - x->body_off);
		x->r.body.len -= x->body_off;
		x->body_off = 0;
	}
	if (x->body_off == x->r.body.len) {
		x->r.body.len = 0;
		x->body_off = 0;
	}
	return avail;
}

ssize_t cluster_get_read(struct cluster_get *g, char *buf, size_t max)
{
	struct xfer *x = g->x;

	if (g->ec)
		return ecget_read(g->ec, buf, max);

	for (;;) {
		size_t avail = x->r.body.len - x->body_off;

		if (avail)
			return hand_out(g, buf, body_take(x, buf, max));
		if (x->done) {
			if (x->result != CURLE_OK) {
				log_warn("GET %s failed mid-body: %s", x->url,
					 curl_easy_strerror(x->result));
				cluster_node_error(g->e.c, x->dev);
				if (resume(g))
					return -EIO;
				x = g->x;
				continue;
			}
			if (g->can_resume && g->pos <= g->end) {
				log_warn("GET %s: body ended at byte %llu of "
					 "%llu",
					 x->url, (unsigned long long)g->pos,
					 (unsigned long long)g->end + 1);
				return -EIO;
			}
			return 0;
		}
		x->dst = buf;
		x->dst_max = max;
		x->dst_len = 0;
		body_resume(x); /* hands over what curl kept back */
		if (!x->dst_len)
			engine_step(&g->e, 50);
		x->dst = NULL;
		if (x->dst_len)
			return hand_out(g, buf, x->dst_len);
	}
}

void cluster_get_close(struct cluster_get *g)
{
	if (!g)
		return;
	if (g->ec) {
		ecget_close(g->ec);
		free(g);
		return;
	}
	engine_free(&g->e);
	resume_clear(g);
	free(g);
}

/* --- several GETs at once (cluster_fetch) --------------------------------- */

struct cluster_fetch {
	struct engine e;
	struct xfer *src[FETCH_MAX]; /* by id; NULL: stopped */
	int n;			     /* ids handed out */
};

int cluster_fetch_new(struct cluster *c, struct cluster_fetch **out)
{
	struct cluster_fetch *f = calloc(1, sizeof(*f));
	int rc;

	*out = NULL;
	if (!f)
		return -ENOMEM;
	rc = engine_init(&f->e, c);
	if (rc) {
		free(f);
		return rc;
	}
	*out = f;
	return 0;
}

void cluster_fetch_free(struct cluster_fetch *f)
{
	if (!f)
		return;
	engine_free(&f->e);
	free(f);
}

int cluster_fetch_start(struct cluster_fetch *f,
			const struct cluster_nodes *nodes,
			const struct ring_dev *dev, const char *method,
			const char *account, const char *container,
			const char *object, const struct cluster_hdrs *hdrs,
			const char *txn)
{
	struct xfer_spec s = {method,  nodes->part,
			      account, container,
			      object,  NULL,
			      hdrs,    txn,
			      NULL,    0,
			      NULL,    0,
			      1,       obj_policy(nodes)};
	struct xfer *x;

	if (f->n >= FETCH_MAX)
		return -ENOSPC;
	x = xfer_start(&f->e, dev, &s);
	if (!x)
		return -EIO;
	f->src[f->n] = x;
	return f->n++;
}

void cluster_fetch_wait_headers(struct cluster_fetch *f)
{
	int i, waiting;

	do {
		waiting = 0;
		for (i = 0; i < f->n; i++)
			if (f->src[i] && !f->src[i]->headers_done &&
			    !f->src[i]->done)
				waiting++;
		if (waiting)
			engine_step(&f->e, 50);
	} while (waiting);
}

const struct cluster_resp *cluster_fetch_resp(struct cluster_fetch *f, int id)
{
	static const struct cluster_resp none;
	struct xfer *x = id >= 0 && id < f->n ? f->src[id] : NULL;

	if (!x || !x->headers_done)
		return &none;
	x->r.status = x->status;
	return &x->r;
}

int cluster_fetch_failed(struct cluster_fetch *f, int id)
{
	struct xfer *x = id >= 0 && id < f->n ? f->src[id] : NULL;

	if (!x)
		return 1;
	if (x->done && !x->headers_done && x->result != CURLE_OK)
		log_warn("%s: %s", x->url, curl_easy_strerror(x->result));
	return (x->done || x->headers_done) && node_failed(f->e.c, x);
}

ssize_t cluster_fetch_read(struct cluster_fetch *f, int id, char *buf,
			   size_t max)
{
	struct xfer *x = id >= 0 && id < f->n ? f->src[id] : NULL;

	if (!x)
		return -EIO;
	for (;;) {
		size_t avail = x->r.body.len - x->body_off;

		if (avail)
			return (ssize_t)body_take(x, buf, max);
		if (x->done) {
			if (x->result == CURLE_OK)
				return 0;
			log_warn("GET %s failed mid-body: %s", x->url,
				 curl_easy_strerror(x->result));
			cluster_node_error(f->e.c, x->dev);
			return -EIO;
		}
		body_resume(x);
		engine_step(&f->e, 50);
	}
}

void cluster_fetch_stop(struct cluster_fetch *f, int id)
{
	if (id < 0 || id >= f->n || !f->src[id])
		return;
	xfer_free(f->src[id]);
	f->src[id] = NULL;
}

/* --- PUT ----------------------------------------------------------------- */

static int slot_ready(const struct xfer *x)
{
	return (x->got_continue || x->rpaused) && !x->done;
}

int cluster_put_open(struct cluster *c, const struct cluster_nodes *nodes,
		     const char *account, const char *container,
		     const char *object, struct cluster_hdrs *hdrs,
		     int64_t content_length, int quorum, const char *txn,
		     int *early_status, struct cluster_put **out)
{
	struct xfer_spec s = {"PUT",   nodes->part,
			      account, container,
			      object,  NULL,
			      NULL,    txn,
			      NULL,    0,
			      NULL,    -1,
			      0,       obj_policy(nodes)};
	int dead[CLUSTER_MAX_NODES] = {0}, tried[CLUSTER_MAX_NODES] = {0};
	struct cluster_put *p;
	int i, pending, ready = 0, early = 0, rc;

	*out = NULL;
	*early_status = 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	rc = engine_init(&p->e, c);
	if (rc) {
		free(p);
		return rc;
	}
	p->nodes = *nodes;
	p->nslots = nodes->nprimary;
	p->walk = nodes->nprimary;
	p->quorum = quorum;
	p->clen = content_length > 0 ? content_length : -1;
	s.src = &p->src;
	s.upload_len = content_length > 0 ? content_length : -1;
	for (i = 0; i < p->nslots; i++) {
		if (has_header(&hdrs[i], "Expect"))
			continue; /* the caller's choice ("Expect:": none) */
		rc = cluster_hdrs_set(&hdrs[i], "Expect", "100-continue");
		if (rc)
			goto fail;
	}
	for (;;) {
		pending = 0;
		for (i = 0; i < p->nslots; i++) {
			struct xfer *x = p->slot[i];
			const struct ring_dev *d;

			if (dead[i] || (x && slot_ready(x)))
				continue;
			if (x && !x->done && !x->headers_done) {
				pending++;
				continue;
			}
			if (x) {
				/* answered before the body: a final status */
				if (!node_failed(c, x) && x->status >= 400) {
					if (x->status > early)
						early = x->status;
				} else if (!x->headers_done) {
					log_warn("PUT %s: %s", x->url,
						 curl_easy_strerror(x->result));
				}
				xfer_free(x);
				p->slot[i] = NULL;
				if (early)
					goto fail;
			}
			if (!x && !tried[i]) {
				/* slot i is primary i's; a handoff stands in
				 * for it only when it is limited or refuses
				 * (an EC slot's fragment index is i) */
				tried[i] = 1;
				s.hdrs = &hdrs[i];
				if (!cluster_node_limited(c, nodes->dev[i]))
					p->slot[i] = xfer_start(
						&p->e, nodes->dev[i], &s);
				if (p->slot[i])
					p->slot[i]->slot = i;
			}
			while (!p->slot[i] &&
			       (d = walk_next(c, &p->nodes, &p->walk))) {
				s.hdrs = &hdrs[i];
				p->slot[i] = xfer_start(&p->e, d, &s);
				if (p->slot[i])
					p->slot[i]->slot = i;
			}
			if (p->slot[i])
				pending++;
			else
				dead[i] = 1;
		}
		if (!pending)
			break;
		engine_step(&p->e, 20);
	}
	for (i = 0; i < p->nslots; i++)
		if (p->slot[i])
			ready++;
	if (ready < quorum) {
		log_err("PUT /%s/%s/%s: %d of %d backends ready, %d needed",
			account, container, object, ready, p->nslots, quorum);
		rc = -EIO;
		goto fail;
	}
	*out = p;
	return 0;
fail:
	if (early) {
		*early_status = early;
		rc = -EEXIST;
	}
	engine_free(&p->e);
	free(p);
	return rc;
}

/* Slots whose transfer ended with a 2xx answer. */
static int put_ok(const struct cluster_put *p)
{
	int i, ok = 0;

	for (i = 0; i < p->nslots; i++) {
		const struct xfer *x = p->slot[i];

		ok += x && x->done && x->headers_done &&
		      x->result == CURLE_OK && x->status / 100 == 2;
	}
	return ok;
}

/* What put_drain waits for. */
enum put_wait {
	PUT_TAKEN,  /* each live slot took the source (or the whole body) */
	PUT_ANSWER, /* each live slot answered */
	PUT_QUORUM, /* quorum slots answered 2xx, or each answered */
};

/* Let every live slot run until what w says. */
static void put_drain(struct cluster_put *p, enum put_wait w)
{
	int i, waiting, wait_ms = 0;

	for (i = 0; i < p->nslots; i++) {
		struct xfer *x = p->slot[i];

		if (!x || x->done)
			continue;
		x->up_off = 0;
		x->rpaused = 0;
		x->last = clock_mono_s();
		curl_easy_pause(x->easy, CURLPAUSE_CONT);
	}
	/* the first step only performs: the resumed uploads have bytes to
	 * send at once, and a poll first would sleep its whole wait (curl
	 * watches their sockets again only once it performed) */
	do {
		engine_step(&p->e, wait_ms);
		wait_ms = 50;
		waiting = 0;
		for (i = 0; i < p->nslots; i++) {
			struct xfer *x = p->slot[i];

			if (!x || x->done || x->rpaused)
				continue;
			/* curl asks for no more once it has the whole body:
			 * its answer is what finish waits for */
			if (w == PUT_TAKEN && p->clen > 0 &&
			    x->up_total == (uint64_t)p->clen)
				continue;
			waiting++;
		}
	} while (waiting && !(w == PUT_QUORUM && put_ok(p) >= p->quorum));
}

/* cluster_put_write of data, or of each[i] to slot i when each is set. */
static int put_write(struct cluster_put *p, const void *data,
		     const void *const *each, size_t len)
{
	int i, live = 0;

	if (!len)
		return 0;
	p->src.data = data;
	p->src.each = (const char *const *)each;
	p->src.len = len;
	put_drain(p, PUT_TAKEN);
	p->src.data = NULL;
	p->src.each = NULL;
	p->src.len = 0;
	for (i = 0; i < p->nslots; i++) {
		struct xfer *x = p->slot[i];

		if (!x)
			continue;
		if (x->done && x->result == CURLE_OK && x->headers_done &&
		    x->status < 500) {
			live++; /* it has all the body and answered already */
			continue;
		}
		if (x->done) {
			/* it ended before the body did: it failed (a 507
			 * answered after a body sent without Expect
			 * limits the node at once, as one before it) */
			log_warn("PUT %s ended mid-body: status %d, %s", x->url,
				 x->status, curl_easy_strerror(x->result));
			if (x->headers_done && x->status == 507)
				cluster_node_error_limit(p->e.c, x->dev);
			else
				cluster_node_error(p->e.c, x->dev);
			xfer_free(x);
			p->slot[i] = NULL;
			continue;
		}
		live++;
	}
	return live >= p->quorum ? 0 : -EIO;
}

int cluster_put_write(struct cluster_put *p, const void *data, size_t len)
{
	return put_write(p, data, NULL, len);
}

int cluster_put_write_each(struct cluster_put *p, const void *const *each,
			   size_t len)
{
	return put_write(p, NULL, each, len);
}

/* The answers of the ended slots not given yet (cluster_put_finish). */
static int put_collect(struct cluster_put *p, int *statuses, char etags[][33],
		       int *slots, const struct ring_dev **devs, int *n)
{
	int i, got = 0;

	for (i = 0; i < p->nslots; i++) {
		struct xfer *x = p->slot[i];
		const char *etag;

		if (!x || x->reported || !x->done)
			continue;
		x->reported = 1;
		if (!x->headers_done || x->result != CURLE_OK) {
			log_warn("PUT %s: no answer: %s", x->url,
				 curl_easy_strerror(x->result));
			cluster_node_error(p->e.c, x->dev);
			continue;
		}
		if (x->status == 507)
			cluster_node_error_limit(p->e.c, x->dev);
		else if (x->status >= 500)
			cluster_node_error(p->e.c, x->dev);
		statuses[got] = x->status;
		if (slots)
			slots[got] = i;
		if (devs)
			devs[got] = x->dev;
		etags[got][0] = '\0';
		etag = cluster_resp_header(&x->r, "Etag");
		if (etag && x->status >= 200 && x->status < 300) {
			if (*etag == '"')
				etag++;
			snprintf(etags[got], 33, "%.32s", etag);
		}
		got++;
	}
	*n = got;
	return got;
}

/* End the body, wait for w (PUT_ANSWER or PUT_QUORUM), give the answers. */
static int put_finish(struct cluster_put *p, enum put_wait w, int *statuses,
		      char etags[][33], int *slots,
		      const struct ring_dev **devs, int *n)
{
	p->src.eof = 1;
	p->src.len = 0;
	put_drain(p, w);
	return put_collect(p, statuses, etags, slots, devs, n) >= p->quorum
		       ? 0
		       : -EIO;
}

int cluster_put_finish_nodes(struct cluster_put *p, int *statuses,
			     char etags[][33], int *slots,
			     const struct ring_dev **devs, int *n)
{
	return put_finish(p, PUT_ANSWER, statuses, etags, slots, devs, n);
}

int cluster_put_finish(struct cluster_put *p, int *statuses, char etags[][33],
		       int *n)
{
	return put_finish(p, PUT_ANSWER, statuses, etags, NULL, NULL, n);
}

int cluster_put_finish_quorum(struct cluster_put *p, int *statuses,
			      char etags[][33], int *n)
{
	return put_finish(p, PUT_QUORUM, statuses, etags, NULL, NULL, n);
}

int cluster_put_trailer(struct cluster_put *p, const char *name,
			const char *value)
{
	struct curl_slist *l;
	char *line = NULL;

	if (asprintf(&line, "%s: %s", name, value) < 0)
		return -ENOMEM;
	l = curl_slist_append(p->src.trailers, line);
	free(line);
	if (!l)
		return -ENOMEM;
	p->src.trailers = l;
	return 0;
}

int cluster_put_rest(struct cluster_put *p, int *statuses, char etags[][33],
		     int *n)
{
	put_drain(p, PUT_ANSWER);
	put_collect(p, statuses, etags, NULL, NULL, n);
	return 0;
}

void cluster_put_free(struct cluster_put *p)
{
	if (!p)
		return;
	engine_free(&p->e);
	curl_slist_free_all(p->src.trailers);
	free(p);
}

/* --- whole small PUTs ---------------------------------------------------- */

/* Is line one that the head of a whole PUT leaves out: a libcurl "Name:"
 * that only takes one of curl's own lines out, the policy line when the
 * ring's goes instead, or one put_whole_head writes itself? */
static int whole_skips(const char *line, int obj_policy)
{
	static const char *const own[] = {
		"Expect:", "Content-Length:", "Transfer-Encoding:", "Host:"};
	const char *colon = strchr(line, ':');
	size_t i;

	if (!colon || !colon[1 + strspn(colon + 1, " \t")])
		return 1;
	if (obj_policy && is_policy_line(line))
		return 1;
	for (i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (!strncasecmp(line, own[i], strlen(own[i])))
			return 1;
	return 0;
}

/* The head of a PUT of len bytes of path to dev into b (emptied first):
 * request line, Host, the lines of h, the policy, X-Trans-Id,
 * Content-Length, the empty line. 0, or -ENOMEM / -ENAMETOOLONG. */
static int put_whole_head(struct buf *b, const struct ring_dev *dev,
			  const char *path, const struct cluster_hdrs *h,
			  int obj_policy, const char *txn, size_t len)
{
	char line[320], *o = line, *end = line + sizeof(line);
	int i, rc = 0;

	b->len = 0;
	if (text_put(&o, end, " HTTP/1.1\r\nHost: ") ||
	    host_port(dev, &o, end, 1) || text_put(&o, end, "\r\n"))
		return -ENAMETOOLONG;
	rc |= buf_append(b, "PUT ", 4);
	rc |= buf_append(b, path, strlen(path));
	rc |= buf_append(b, line, (size_t)(o - line));
	for (i = 0; h && i < h->n; i++) {
		if (whole_skips(h->lines[i], obj_policy))
			continue;
		rc |= buf_append(b, h->lines[i], strlen(h->lines[i]));
		rc |= buf_append(b, "\r\n", 2);
	}
	o = line;
	if (obj_policy) {
		text_put(&o, end, "X-Backend-Storage-Policy-Index: ");
		text_put_uint(&o, end, (unsigned)(obj_policy - 1), 1);
		text_put(&o, end, "\r\n");
	}
	if (txn && strlen(txn) < 200) {
		text_put(&o, end, "X-Trans-Id: ");
		text_put(&o, end, txn);
		text_put(&o, end, "\r\n");
	}
	text_put(&o, end, "Content-Length: ");
	text_put_uint(&o, end, (uint64_t)len, 1);
	text_put(&o, end, "\r\n\r\n");
	rc |= buf_append(b, line, (size_t)(o - line));
	return rc ? -ENOMEM : 0;
}

int cluster_put_whole(struct cluster *c, const struct cluster_nodes *nodes,
		      const char *account, const char *container,
		      const char *object, const struct cluster_hdrs *hdrs,
		      int nslots, const void *body, size_t len, const char *txn,
		      int *statuses, char etags[][33])
{
	const struct ring_dev *dev[CLUSTER_MAX_NODES];
	struct buf head[CLUSTER_MAX_NODES];
	struct kc_req r[CLUSTER_MAX_NODES];
	char host[CLUSTER_MAX_NODES][KC_HOST_MAX];
	char path[PATH_MAX_ENC];
	int at[CLUSTER_MAX_NODES];
	int i, k, n, walk = 0, rc = 0;

	if (nslots > CLUSTER_MAX_NODES)
		nslots = CLUSTER_MAX_NODES;
	memset(head, 0, sizeof(head));
	for (i = 0; i < nslots; i++) {
		statuses[i] = 503;
		etags[i][0] = '\0';
		dev[i] = walk_next(c, nodes, &walk);
	}
	for (;;) {
		for (i = 0, n = 0; i < nslots && !rc; i++) {
			char *o = host[n];

			if (!dev[i])
				continue;
			if (url_path(dev[i], nodes->part, account, container,
				     object, path) < 0 ||
			    host_port(dev[i], &o, host[n] + KC_HOST_MAX, 1)) {
				rc = -ENAMETOOLONG;
				break;
			}
			*o = '\0';
			rc = put_whole_head(&head[n], dev[i], path, &hdrs[i],
					    obj_policy(nodes), txn, len);
			r[n] = (struct kc_req){.host = host[n],
					       .head = (char *)head[n].data,
					       .head_len = head[n].len,
					       .body = body,
					       .body_len = len};
			at[n++] = i;
		}
		if (rc || !n)
			break;
		kc_send_all(r, n, (double)c->conn_ms / 1e3, c->node_s);
		for (k = 0; k < n; k++) {
			const struct ring_dev *d = dev[at[k]];

			i = at[k];
			dev[i] = NULL;
			statuses[i] = r[k].status ? r[k].status : 503;
			if (r[k].status / 100 == 2)
				snprintf(etags[i], 33, "%s", r[k].etag);
			if (!r[k].status) {
				log_warn("PUT http://%s/%s/%u/...: no answer",
					 r[k].host, d->device, nodes->part);
				cluster_node_error(c, d);
			} else if (r[k].status == 507) {
				cluster_node_error_limit(c, d);
			} else if (r[k].status >= 500) {
				cluster_node_error(c, d);
			} else {
				continue;
			}
			dev[i] = walk_next(c, nodes, &walk);
		}
	}
	for (i = 0; i < CLUSTER_MAX_NODES; i++)
		buf_free(&head[i]);
	if (rc)
		log_err("PUT /%s/%s/%s: %s", account, container, object,
			strerror(-rc));
	return rc;
}
