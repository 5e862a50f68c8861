/*
 * objectd/reconstructor.c: the erasure-coding reconstructor (Swift's
 * obj/reconstructor.py, simplified): it keeps each fragment archive of an
 * EC object on the primary that should hold its index, rebuilding a lost
 * one from k others and moving archives off handoffs.
 *
 * A pass (rcon_run_once; a thread every reconstructor_interval seconds,
 * or `kumo-objectd CONF --once reconstruct`) goes over every
 * erasure-coded storage policy with the replicator's machinery
 * (replicator.c: the policy's ring, one job per partition dir of each
 * local device, handoffs first, reconstructor_concurrency workers). For
 * a job it tidies and lists every object of the partition (hashes.c,
 * df_tidy: obsolete files and non-durable archives older than
 * reclaim_age go) and asks every other primary for its listing of the
 * same suffixes (SSYNC, replserver.c: per object the newest durable
 * timestamp and the indexes held at it). Primary i is the i-th node the
 * ring gives for the partition; it holds fragment index i.
 *
 *   primary job (this device is primary i):
 *     for an object whose newest state here is a durable archive at T:
 *       - a primary that holds something newer (or a newer tombstone)
 *         is left alone: its own pass brings the news here;
 *       - primary j lacks index j at T (not listed, older, or another
 *         index): the holders of T are the indexes listed at T by the
 *         primaries that answered, and this node's; only the node that
 *         holds the first index after j (cyclically) among them rebuilds
 *         (so one node does each rebuild): it reads k archives (its own
 *         from disk, the others by GET with X-Backend-Ec-Frag-Index),
 *         rebuilds archive j segment by segment (ec_reconstruct; segment
 *         size and object length from the archive's sysmeta) while it
 *         streams it to j in a PUT with the archive's metadata and index
 *         j, then COMMITs it; a newer .meta follows as a replication PUT;
 *       - one of the first m handoffs lists index j at T: left to that
 *         handoff's revert;
 *       - primary j answered 507 (its device is gone): archive j is
 *         rebuilt on the first handoff instead, as Swift does (that
 *         handoff keeps it until the device is back, then reverts it).
 *     for a tombstone: sent (replication PUT) to each primary that lists
 *       nothing as new.
 *   handoff job (not a primary of the partition, or a device no longer
 *   in the ring):
 *     each durable archive T#i#d.data goes to primary i (PUT + COMMIT,
 *     headers from its metadata) unless i lists T#i or newer already,
 *     and is removed here once primary i has it; a tombstone goes to
 *     every primary and is removed once all have it; emptied dirs and the
 *     partition go (repl_prune_handoff).
 *
 * The rebuild state machine (rebuild_archive, one curl multi handle):
 *
 *   OPEN: k-1 or k GETs (sources) and the PUT to j started
 *   STREAM: each source's body fills its window (paused when full);
 *     once every source holds segment s's fragment, ec_reconstruct makes
 *     fragment j of s into the PUT's buffer (MD5 as it goes) and the
 *     sources drop it; the PUT's read callback pauses when the buffer is
 *     empty and is resumed when a segment is made
 *   SENT: every segment made and read by the PUT; the PUT answers
 *   COMMIT: 201 and the ETag equal to the MD5 made --> COMMIT to j
 *   any source answering other than 200 with the archive at T and the
 *   index asked, ending short, or the PUT failing --> FAILED: every
 *   transfer is dropped (the PUT's body is cut: nothing is stored).
 *
 * Invariants:
 *   1. A rebuilt archive is acknowledged (COMMIT) only when the target
 *      stored every byte made and its MD5 matches: a half-made archive
 *      never becomes durable.
 *   2. A handoff's archive is removed only after its primary answered
 *      201 to the COMMIT, or listed that archive (or something newer).
 *   3. Every source is checked to be the archive of time T and of the
 *      index asked for before a byte of it is used.
 *   4. Pushes are idempotent (a PUT of an archive already durable is
 *      harmless: COMMIT answers 201 and changes nothing), so passes may
 *      race with each other and with client writes.
 *
 * One log line per pass (partitions, archives rebuilt and reverted,
 * tombstones pushed, bytes, errors, duration) and the recon cache
 * ("object": object_reconstruction_last, object_reconstruction_time,
 * answered by /recon/reconstruction, and reconstruction_stats). Left to
 * others: the listing and the archives on disk (diskfile.c, hashes.c),
 * the peer verbs (server.c, replserver.c), the erasure code (common/ec.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common/cluster.h"
#include "common/ec.h"
#include "common/log.h"
#include "common/md5.h"
#include "common/policy.h"
#include "common/recon.h"
#include "objectd/internal.h"

#define EC_SYSMETA     "X-Object-Sysmeta-Ec-"
#define FRAG_INDEX_HDR EC_SYSMETA "Frag-Index"
#define SRC_WINDOW_MIN (256 * 1024) /* bytes a source may buffer ahead */
#define POLL_MS	       100
#define MAX_OBJ_PATH   (3 * 1600 + 1024 + 32)

/* What the jobs of one policy share (repl_pass.arg). */
struct rcon_ctx {
	const struct storage_policy *sp;
	struct ec_codec *codec;
	int n;		       /* k + m */
	struct rcon_stats *st; /* under the pass's lock */
};

/* One object of a job, as this node holds it. */
struct obj {
	char hash_dir[DF_HASH_DIR_MAX];
	const struct df_current *cur;
	const char *hash;
	char qname[3 * 1600]; /* quoted /a/c/o */
	char part[16];
};

/* What a job knows of the partition's other nodes: the primaries in
 * ring order (index i on nodes[i]; me is this device's, -1 on a
 * handoff), their SSYNC listings (NULL: no answer; gone: the answer was
 * 507, the device is missing), and the first m handoffs' that answered
 * (asked at the first archive a primary lacks: one may hold it for that
 * primary, and reverts it instead of a rebuild; the first stands in for
 * a gone primary). */
struct job_view {
	const struct repl_job *j;
	const struct repl_snap *snap;
	const struct ring_dev *nodes[REPL_MAX_PRIMARIES];
	json_t *listing[REPL_MAX_PRIMARIES];
	int gone[REPL_MAX_PRIMARIES];
	int me;
	int hloaded, nhand;
	const struct ring_dev *hand[EC_MAX_FRAGS];
	json_t *hlisting[EC_MAX_FRAGS];
};

/* What a peer listed for one hash (SSYNC). */
struct peer_view {
	int found, deleted;
	struct ts ts, meta_ts;
	uint32_t frags; /* durable indexes at ts */
};

/* --- small helpers --------------------------------------------------------- */

static void peer_view_of(json_t *listing, const char *hash, struct peer_view *v)
{
	json_t *e = listing ? json_object_get(listing, hash) : NULL;
	const char *kind, *d, *m;
	size_t i;

	memset(v, 0, sizeof(*v));
	if (!json_is_array(e))
		return;
	kind = json_string_value(json_array_get(e, 0));
	d = json_string_value(json_array_get(e, 1));
	m = json_string_value(json_array_get(e, 2));
	if (!kind || !d || ts_parse(d, &v->ts))
		return;
	v->found = 1;
	v->deleted = !strcmp(kind, "ts");
	if (!m || ts_parse(m, &v->meta_ts))
		v->meta_ts = v->ts;
	for (i = 0; i < json_array_size(json_array_get(e, 3)); i++) {
		json_int_t f = json_integer_value(
			json_array_get(json_array_get(e, 3), i));

		if (f >= 0 && f < EC_MAX_FRAGS)
			v->frags |= 1u << f;
	}
}

static void count(struct repl_pass *p, long long *field, long long by)
{
	pthread_mutex_lock(&p->lock);
	*field += by;
	pthread_mutex_unlock(&p->lock);
}

static int obj_name(struct obj *o);

/* "/<dev>/<part>/a/c/o" of o on peer into out (the name read from the
 * archive at first use). 0, -ENAMETOOLONG or -EIO. */
static int obj_path(struct obj *o, const struct ring_dev *peer, char *out,
		    size_t len)
{
	char qdev[1024];
	int n;

	if (!o->qname[0] && obj_name(o))
		return -EIO;
	if (cluster_quote(peer->device, qdev, sizeof(qdev)) < 0)
		return -ENAMETOOLONG;
	n = snprintf(out, len, "/%s/%s%s", qdev, o->part, o->qname);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Open archive fname of o's hash dir and read its metadata into m
 * (empty on entry). The fd, or -errno. */
static int open_archive(const struct obj *o, const char *fname,
			struct objmeta *m, uint64_t *body_len)
{
	char path[PATH_MAX];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", o->hash_dir, fname);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	rc = df_read_meta(fd, m, body_len);
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

/*
 * The headers of an archive PUT (commit 0) or COMMIT (commit 1) of
 * index idx from the archive's metadata m: X-Timestamp, and for the PUT
 * Content-Type, ETag (etag_too), user metadata, sysmeta and the other
 * stored headers; for the COMMIT the object's Ec-Etag and
 * Ec-Content-Length. NULL on ENOMEM.
 */
static struct curl_slist *archive_headers(const struct repl_conn *c,
					  const struct objmeta *m, int idx,
					  int commit, int etag_too)
{
	struct curl_slist *h = repl_headers(c), *g;
	char line[OBJ_MAX_HEADER_SIZE + 64];
	int i, keep;

	for (i = 0; h && i < m->n; i++) {
		const char *name = m->items[i].name;

		if (!strcasecmp(name, FRAG_INDEX_HDR))
			continue;
		if (commit)
			keep = !strcasecmp(name, "X-Timestamp") ||
			       !strcasecmp(name, EC_SYSMETA "Etag") ||
			       !strcasecmp(name, EC_SYSMETA "Content-Length");
		else
			keep = !strcasecmp(name, "X-Timestamp") ||
			       !strcasecmp(name, "Content-Type") ||
			       (etag_too && !strcasecmp(name, "ETag")) ||
			       objmeta_is_user_or_sys(name) ||
			       objmeta_is_allowed_header(name);
		if (!keep)
			continue;
		snprintf(line, sizeof(line), "%s: %s", name, m->items[i].value);
		if (!(g = curl_slist_append(h, line))) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = g;
	}
	snprintf(line, sizeof(line), FRAG_INDEX_HDR ": %d", idx);
	if (h && !(g = curl_slist_append(h, line))) {
		curl_slist_free_all(h);
		return NULL;
	}
	return h;
}

/* COMMIT archive idx (metadata m) on peer. 0 or -EIO (logged). */
static int commit_archive(struct repl_conn *c, const struct ring_dev *peer,
			  const char *path, const struct objmeta *m, int idx)
{
	struct curl_slist *h = archive_headers(c, m, idx, 1, 0);
	long status =
		h ? repl_request(c, peer, "COMMIT", path, h, NULL, NULL) : 0;

	curl_slist_free_all(h);
	if (status == 201)
		return 0;
	log_warn("COMMIT of index %d at %s:%d%s: status %ld", idx, peer->ip,
		 peer->port, path, status);
	return -EIO;
}

/* --- rebuilding one archive -------------------------------------------------- */

struct rebuild;

/* One archive read to rebuild another: remote (a GET) or local (fd). */
struct src {
	struct rebuild *rb;
	CURL *h;	  /* NULL: the local archive */
	int fd;		  /* local */
	uint64_t at;	  /* local: next offset */
	void *md5;	  /* local: of the bytes read, checked at the end */
	const char *etag; /* local: what the MD5 must be (its ETag) */
	struct curl_slist *hdrs;
	struct buf b; /* bytes received and not used yet start at off */
	size_t off;
	int index, checked, paused, done, bad;
};

struct rebuild {
	const struct ec_codec *codec;
	const struct ts *ts; /* the archives' time */
	const char *what;    /* the hash dir, for messages */
	const int *stopping; /* the server's: a rebuild stops with it */
	int target;
	struct src src[EC_MAX_FRAGS];
	int nsrc;
	uint64_t nseg, seg; /* segments, the next to make */
	size_t frag_full, frag_last, window;
	struct buf out; /* made, not yet read by the PUT, from out_off */
	size_t out_off;
	CURL *put;
	int put_paused;
	void *md5;
	uint64_t made;
};

static size_t frag_len(const struct rebuild *rb, uint64_t seg)
{
	return seg + 1 == rb->nseg ? rb->frag_last : rb->frag_full;
}

/* A source's answer is usable: 200, the archive of time ts, the index
 * asked for. */
static int src_answer_ok(struct src *s)
{
	struct curl_header *hd;
	struct ts t;
	long status = 0;

	curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200)
		return 0;
	if (curl_easy_header(s->h, "X-Backend-Data-Timestamp", 0, CURLH_HEADER,
			     -1, &hd) != CURLHE_OK &&
	    curl_easy_header(s->h, "X-Timestamp", 0, CURLH_HEADER, -1, &hd) !=
		    CURLHE_OK)
		return 0;
	if (ts_parse(hd->value, &t) || ts_cmp(&t, s->rb->ts))
		return 0;
	if (curl_easy_header(s->h, FRAG_INDEX_HDR, 0, CURLH_HEADER, -1, &hd) !=
		    CURLHE_OK ||
	    atoi(hd->value) != s->index)
		return 0;
	return 1;
}

static size_t src_write(char *p, size_t size, size_t n, void *arg)
{
	struct src *s = arg;
	size_t len = size * n;

	if (!s->checked) {
		s->checked = 1;
		s->bad = !src_answer_ok(s);
	}
	if (s->bad)
		return 0;
	if (s->b.len - s->off >= s->rb->window) {
		s->paused = 1;
		return CURL_WRITEFUNC_PAUSE;
	}
	return buf_append(&s->b, p, len) ? 0 : len;
}

/* 1 when s holds need bytes (a local source reads them now), 0 when a
 * remote one is still on its way, -EIO when it cannot. */
static int src_ready(struct src *s, size_t need)
{
	size_t have = s->b.len - s->off;
	ssize_t got;

	if (have >= need)
		return 1;
	if (s->h)
		return s->done || s->bad ? -EIO : 0;
	if (buf_reserve(&s->b, need - have))
		return -ENOMEM;
	while (have < need) {
		got = pread(s->fd, s->b.data + s->b.len, need - have,
			    (off_t)s->at);
		if (got <= 0)
			return -EIO;
		if (md5_update(s->md5, s->b.data + s->b.len, (size_t)got))
			return -EIO;
		s->b.len += (size_t)got;
		s->at += (uint64_t)got;
		have += (size_t)got;
	}
	return 1;
}

/* Once the whole local archive is read: its MD5 against its ETag, so a
 * rotten archive is not spread (remote ones are checked by the server
 * that sends them). 0 or -EILSEQ (logged). */
static int src_check_local(struct src *s, const char *what)
{
	char hex[33];
	int rc = md5_final(s->md5, hex);

	s->md5 = NULL;
	if (!rc && s->etag && !strcmp(hex, s->etag))
		return 0;
	log_err("%s: the local archive's MD5 %s is not its ETag %s: not "
		"used",
		what, hex, s->etag ? s->etag : "(none)");
	return -EILSEQ;
}

/* Drop need bytes of s and let a paused transfer go on. */
static void src_consume(struct src *s, size_t need)
{
	s->off += need;
	memmove(s->b.data, s->b.data + s->off, s->b.len - s->off);
	s->b.len -= s->off;
	s->off = 0;
	if (s->paused) {
		s->paused = 0;
		curl_easy_pause(s->h, CURLPAUSE_CONT);
	}
}

static size_t put_read(char *p, size_t size, size_t n, void *arg)
{
	struct rebuild *rb = arg;
	size_t want = size * n, avail = rb->out.len - rb->out_off;

	if (!avail) {
		if (rb->seg == rb->nseg)
			return 0;
		rb->put_paused = 1;
		return CURL_READFUNC_PAUSE;
	}
	if (want > avail)
		want = avail;
	memcpy(p, rb->out.data + rb->out_off, want);
	rb->out_off += want;
	return want;
}

/* Make the segments every source holds, while the PUT's buffer is below
 * a segment. The number made (0: done, or waiting for sources), or
 * -errno. */
static int make_segments(struct rebuild *rb)
{
	char *frags[EC_MAX_FRAGS];
	size_t need;
	int i, rc, made = 0;

	while (rb->seg < rb->nseg &&
	       rb->out.len - rb->out_off < rb->frag_full) {
		need = frag_len(rb, rb->seg);
		for (i = 0; i < rb->nsrc; i++) {
			rc = src_ready(&rb->src[i], need);
			if (rc <= 0)
				return rc;
			frags[i] = (char *)rb->src[i].b.data + rb->src[i].off;
		}
		/* before the last fragment is made, the PUT still short */
		for (i = 0; rb->seg + 1 == rb->nseg && i < rb->nsrc; i++)
			if (!rb->src[i].h &&
			    src_check_local(&rb->src[i], rb->what))
				return -EILSEQ;
		if (rb->out_off) {
			memmove(rb->out.data, rb->out.data + rb->out_off,
				rb->out.len - rb->out_off);
			rb->out.len -= rb->out_off;
			rb->out_off = 0;
		}
		if (buf_reserve(&rb->out, need))
			return -ENOMEM;
		rc = ec_reconstruct(rb->codec, frags, rb->nsrc, need,
				    rb->target,
				    (char *)rb->out.data + rb->out.len);
		if (!rc)
			rc = md5_update(rb->md5, rb->out.data + rb->out.len,
					need);
		if (rc)
			return rc;
		rb->out.len += need;
		rb->made += need;
		for (i = 0; i < rb->nsrc; i++)
			src_consume(&rb->src[i], need);
		rb->seg++;
		made++;
	}
	if (rb->put_paused &&
	    (rb->out.len > rb->out_off || rb->seg == rb->nseg)) {
		rb->put_paused = 0;
		curl_easy_pause(rb->put, CURLPAUSE_CONT);
	}
	return made;
}

/* Run the transfers of rb until the PUT ends. The PUT's status, or
 * -errno. Waits for the sockets only when no segment could be made: the
 * sources and the PUT may all be paused on bytes already received. */
static long run_transfers(struct rebuild *rb, CURLM *m)
{
	int running, left, i, done = 0, made = 0;
	long status = 0;
	CURLMsg *msg;
	int rc = 0;

	while (!done && !rc) {
		if (!made)
			curl_multi_poll(m, NULL, 0, POLL_MS, NULL);
		if (curl_multi_perform(m, &running) != CURLM_OK) {
			rc = -EIO;
			break;
		}
		while ((msg = curl_multi_info_read(m, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			if (msg->easy_handle == rb->put) {
				done = 1;
				if (msg->data.result == CURLE_OK)
					curl_easy_getinfo(
						rb->put, CURLINFO_RESPONSE_CODE,
						&status);
				continue;
			}
			for (i = 0; i < rb->nsrc; i++)
				if (rb->src[i].h == msg->easy_handle)
					rb->src[i].done = 1;
		}
		made = done ? 0 : make_segments(rb);
		if (made < 0)
			rc = made;
		else if (*rb->stopping)
			rc = -EINTR;
	}
	return rc ? rc : status;
}

/*
 * Rebuild archive target of o at cur's time from the archives of
 * indexes srcs (nsrc, at least k; holder[i] is the node of index i, NULL
 * for this one, whose archive is local_fd) and PUT it to peer; the
 * metadata m and size body_len are those of a local archive. The bytes
 * sent, or -errno (logged).
 */
static int64_t rebuild_archive(struct repl_conn *c, struct rcon_ctx *x,
			       struct obj *o, const struct objmeta *m,
			       uint64_t body_len, int local_fd,
			       const struct ring_dev *const *holder,
			       const int *srcs, int nsrc,
			       const struct ring_dev *peer, int target)
{
	struct rebuild rb;
	const char *v;
	char path[MAX_OBJ_PATH], etag[33] = "", line[64];
	struct curl_header *hd;
	struct curl_slist *put_h = NULL;
	uint64_t len, seg_size;
	CURLM *mh = NULL;
	int64_t rc = -EINVAL;
	long status;
	int i;

	memset(&rb, 0, sizeof(rb));
	rb.codec = x->codec;
	rb.ts = &o->cur->data_ts;
	rb.what = o->hash_dir;
	rb.stopping = &c->od->stopping;
	rb.target = target;
	v = objmeta_get(m, EC_SYSMETA "Content-Length");
	len = v ? strtoull(v, NULL, 10) : 0;
	v = objmeta_get(m, EC_SYSMETA "Segment-Size");
	seg_size = v ? strtoull(v, NULL, 10) : 0;
	if (!objmeta_get(m, EC_SYSMETA "Content-Length") || !seg_size ||
	    ec_archive_size(x->codec, (size_t)seg_size, len) !=
		    (int64_t)body_len) {
		log_warn("%s: archive sysmeta does not match its size",
			 o->hash_dir);
		goto out;
	}
	rb.nseg = len ? (len + seg_size - 1) / seg_size : 1;
	rb.frag_full = (size_t)ec_fragment_size(x->codec, (size_t)seg_size);
	rb.frag_last = (size_t)ec_fragment_size(
		x->codec, (size_t)(len - (rb.nseg - 1) * seg_size));
	rb.window = 2 * rb.frag_full > SRC_WINDOW_MIN ? 2 * rb.frag_full
						      : SRC_WINDOW_MIN;
	rc = -ENOMEM;
	if (!(rb.md5 = md5_new()) || !(mh = curl_multi_init()))
		goto out;
	for (i = 0; i < nsrc; i++) {
		struct src *s = &rb.src[rb.nsrc++];

		s->rb = &rb;
		s->index = srcs[i];
		s->fd = -1;
		if (!holder[srcs[i]]) {
			s->fd = local_fd;
			s->etag = objmeta_get(m, "ETag");
			if (!(s->md5 = md5_new()))
				goto out;
			continue;
		}
		snprintf(line, sizeof(line), "X-Backend-Ec-Frag-Index: %d",
			 srcs[i]);
		if (!(s->hdrs = repl_headers(c)) ||
		    !curl_slist_append(s->hdrs, line) ||
		    obj_path(o, holder[srcs[i]], path, sizeof(path)) ||
		    !(s->h = curl_easy_init()))
			goto out;
		repl_easy_setup(c, s->h, holder[srcs[i]], "GET", path, s->hdrs);
		curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, src_write);
		curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
		curl_multi_add_handle(mh, s->h);
	}
	put_h = archive_headers(c, m, target, 0, 0);
	if (!put_h || obj_path(o, peer, path, sizeof(path)) ||
	    !(rb.put = curl_easy_init()))
		goto out;
	repl_easy_setup(c, rb.put, peer, "PUT", path, put_h);
	curl_easy_setopt(rb.put, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(rb.put, CURLOPT_READFUNCTION, put_read);
	curl_easy_setopt(rb.put, CURLOPT_READDATA, &rb);
	curl_easy_setopt(rb.put, CURLOPT_INFILESIZE_LARGE,
			 (curl_off_t)body_len);
	curl_multi_add_handle(mh, rb.put);
	status = run_transfers(&rb, mh);
	rc = -EIO;
	md5_final(rb.md5, etag);
	rb.md5 = NULL;
	if (status != 201 || rb.made != body_len ||
	    curl_easy_header(rb.put, "ETag", 0, CURLH_HEADER, -1, &hd) !=
		    CURLHE_OK ||
	    strncmp(hd->value[0] == '"' ? hd->value + 1 : hd->value, etag,
		    32)) {
		log_warn("rebuilding index %d of %s for %s:%d/%s failed "
			 "(PUT status %ld, %" PRIu64 " of %" PRIu64 " bytes)",
			 target, o->hash_dir, peer->ip, peer->port,
			 peer->device, status, rb.made, body_len);
		goto out;
	}
	rc = commit_archive(c, peer, path, m, target);
	if (!rc)
		rc = (int64_t)body_len;
out:
	for (i = 0; i < rb.nsrc; i++) {
		if (rb.src[i].h) {
			curl_multi_remove_handle(mh, rb.src[i].h);
			curl_easy_cleanup(rb.src[i].h);
		}
		curl_slist_free_all(rb.src[i].hdrs);
		buf_free(&rb.src[i].b);
		md5_free(rb.src[i].md5);
	}
	if (rb.put) {
		curl_multi_remove_handle(mh, rb.put);
		curl_easy_cleanup(rb.put);
	}
	if (mh)
		curl_multi_cleanup(mh);
	curl_slist_free_all(put_h);
	md5_free(rb.md5);
	buf_free(&rb.out);
	return rc;
}

/* --- the jobs ---------------------------------------------------------------- */

/* Send file fname of o to peer as a replication PUT (a tombstone or a
 * .meta), counted. 0 or -errno. */
static int push_file(struct repl_pass *p, struct repl_conn *c,
		     const struct obj *o, const struct ring_dev *peer,
		     const char *fname)
{
	struct rcon_ctx *x = p->arg;
	int64_t sent = repl_send_file(c, peer, o->part, o->hash_dir, fname);

	if (sent < 0) {
		count(p, &x->st->errors, 1);
		return (int)sent;
	}
	count(p, &x->st->tombstones, 1);
	count(p, &x->st->bytes, sent);
	return 0;
}

/* The .meta of o to a peer whose view (after an archive at o's time
 * reached it) has an older one. */
static void push_meta(struct repl_pass *p, struct repl_conn *c,
		      const struct obj *o, const struct ring_dev *peer,
		      const struct peer_view *v)
{
	if (o->cur->has_meta &&
	    (!v || ts_cmp(&v->meta_ts, &o->cur->meta_ts) < 0))
		push_file(p, c, o, peer, o->cur->meta_name);
}

/* 1 if one of the first handoffs lists archive idx of o at o's time
 * (loading their listings at the first call of a job). */
static int on_handoff(struct repl_pass *p, struct repl_conn *c,
		      const struct obj *o, struct job_view *jv, int idx)
{
	struct rcon_ctx *x = p->arg;
	const struct ring_dev *hand[EC_MAX_FRAGS];
	struct peer_view v;
	int i, n;

	if (!jv->hloaded) {
		jv->hloaded = 1;
		n = ring_get_handoffs(p->ring, jv->j->partno, hand,
				      x->sp->ec_nparity);
		for (i = 0; i < n; i++) {
			if (hand[i]->id == jv->j->dev_id)
				continue;
			jv->hand[jv->nhand] = hand[i];
			if (!repl_peer_json(c, hand[i], "SSYNC", jv->j->part,
					    jv->snap->sfxs, jv->snap->nsfx,
					    &jv->hlisting[jv->nhand]))
				jv->nhand++;
		}
	}
	for (i = 0; i < jv->nhand; i++) {
		peer_view_of(jv->hlisting[i], o->hash, &v);
		if (v.found && !v.deleted && !ts_cmp(&v.ts, &o->cur->data_ts) &&
		    (v.frags & (1u << idx)))
			return 1;
	}
	return 0;
}

/*
 * Primary job, one live object: rebuild each index a primary lacks when
 * this node is the one that should (see the top of the file); a primary
 * whose device is gone (507) gets its index rebuilt on the first handoff
 * instead, which gives it back once the device returns (as Swift).
 */
static void rebuild_missing(struct repl_pass *p, struct repl_conn *c,
			    struct obj *o, struct job_view *jv)
{
	struct rcon_ctx *x = p->arg;
	const struct ring_dev **nodes = jv->nodes;
	json_t **listing = jv->listing;
	int me = jv->me;
	const struct ring_dev *holder[EC_MAX_FRAGS];
	struct peer_view v[EC_MAX_FRAGS];
	struct objmeta m = OBJMETA_INIT;
	uint32_t have = o->cur->frags;
	uint64_t body_len = 0;
	int srcs[EC_MAX_FRAGS], nsrc, i, j, d, first, fd = -1;
	int lo = __builtin_ctz(have);
	const struct ring_dev *target;
	int64_t sent;

	memset(holder, 0, sizeof(holder));
	memset(v, 0, sizeof(v));
	for (j = 0; j < x->n; j++) {
		if (j == me || !listing[j])
			continue;
		peer_view_of(listing[j], o->hash, &v[j]);
		if (v[j].found && ts_cmp(&v[j].ts, &o->cur->data_ts) > 0)
			return; /* newer there: its pass brings it here */
		if (v[j].found && v[j].deleted &&
		    !ts_cmp(&v[j].ts, &o->cur->data_ts))
			return;
		if (!v[j].found || v[j].deleted ||
		    ts_cmp(&v[j].ts, &o->cur->data_ts))
			v[j].frags = 0;
		for (i = 0; i < x->n; i++)
			if ((v[j].frags & (1u << i)) &&
			    (!(have & (1u << i)) || i == j)) {
				have |= 1u << i;
				if (!(o->cur->frags & (1u << i)))
					holder[i] = nodes[j];
			}
	}
	for (j = 0; j < x->n; j++) {
		if (j == me || (!listing[j] && !jv->gone[j]))
			continue;
		if (v[j].frags & (1u << j)) {
			push_meta(p, c, o, nodes[j], &v[j]);
			continue;
		}
		for (d = 1, first = -1; d < x->n && first < 0; d++)
			if (have & (1u << ((j + d) % x->n)))
				first = (j + d) % x->n;
		if (first < 0 || holder[first] ||
		    !(o->cur->frags & (1u << first)))
			continue; /* another node rebuilds it */
		if (on_handoff(p, c, o, jv, j))
			continue; /* the handoff's pass reverts it */
		target = jv->gone[j] ? (jv->nhand ? jv->hand[0] : NULL)
				     : nodes[j];
		if (!target) {
			count(p, &x->st->errors, 1);
			continue;
		}
		/* the local archive (data_name, the lowest index here)
		 * first, then the other holders' */
		nsrc = 0;
		if (lo != j)
			srcs[nsrc++] = lo;
		for (i = 0; i < x->n && nsrc < x->sp->ec_ndata; i++)
			if (i != j && (have & (1u << i)) && holder[i])
				srcs[nsrc++] = i;
		if (nsrc < x->sp->ec_ndata) {
			log_warn("%s: index %d lost and only %d archives left",
				 o->hash_dir, j, nsrc);
			count(p, &x->st->errors, 1);
			continue;
		}
		if (fd < 0) {
			objmeta_free(&m);
			fd = open_archive(o, o->cur->data_name, &m, &body_len);
			if (fd < 0) {
				count(p, &x->st->errors, 1);
				return;
			}
		}
		sent = rebuild_archive(c, x, o, &m, body_len, fd, holder, srcs,
				       nsrc, target, j);
		if (sent < 0) {
			count(p, &x->st->errors, 1);
			continue;
		}
		log_info("rebuilt index %d of %s onto %s:%d/%s%s", j,
			 o->hash_dir, target->ip, target->port, target->device,
			 jv->gone[j]
				 ? " (a handoff: the primary's device is gone)"
				 : "");
		count(p, &x->st->rebuilt, 1);
		count(p, &x->st->bytes, sent);
		push_meta(p, c, o, target, NULL);
	}
	if (fd >= 0)
		close(fd);
	objmeta_free(&m);
}

/* Handoff job, one live object: each durable archive at its time to the
 * primary of its index, removed here once that one has it. 1 when
 * nothing is left to push. */
static int revert_archives(struct repl_pass *p, struct repl_conn *c,
			   struct obj *o, const struct job_view *jv)
{
	const struct ring_dev *const *nodes = jv->nodes;
	json_t *const *listing = jv->listing;
	struct rcon_ctx *x = p->arg;
	struct objmeta m = OBJMETA_INIT;
	struct repl_upload up = {-1, 0, 0};
	struct curl_slist *h = NULL;
	char name[80], tsb[TS_INTERNAL_LEN + 1], path[MAX_OBJ_PATH];
	struct peer_view v;
	long status;
	int i, left = 0, rc;

	ts_internal(&o->cur->data_ts, tsb);
	for (i = 0; i < x->n; i++) {
		if (!(o->cur->frags & (1u << i)))
			continue;
		snprintf(name, sizeof(name), "%s#%d#d.data", tsb, i);
		peer_view_of(listing[i], o->hash, &v);
		rc = !listing[i] ? -EIO : 0;
		if (!rc &&
		    !(v.found && (ts_cmp(&v.ts, &o->cur->data_ts) > 0 ||
				  (!ts_cmp(&v.ts, &o->cur->data_ts) &&
				   (v.deleted || (v.frags & (1u << i))))))) {
			objmeta_free(&m);
			up.fd = open_archive(o, name, &m, &up.size);
			h = up.fd < 0 ? NULL : archive_headers(c, &m, i, 0, 1);
			rc = -EIO;
			if (h && !obj_path(o, nodes[i], path, sizeof(path))) {
				up.off = 0;
				status = repl_request(c, nodes[i], "PUT", path,
						      h, &up, NULL);
				rc = status == 201 ? commit_archive(c, nodes[i],
								    path, &m, i)
						   : -EIO;
				if (status != 201)
					log_warn("reverting %s/%s to %s:%d/%s: "
						 "status %ld",
						 o->hash_dir, name,
						 nodes[i]->ip, nodes[i]->port,
						 nodes[i]->device, status);
			}
			if (!rc) {
				count(p, &x->st->reverted, 1);
				count(p, &x->st->bytes, (long long)up.size);
				push_meta(p, c, o, nodes[i], NULL);
			}
			curl_slist_free_all(h);
			h = NULL;
			if (up.fd >= 0)
				close(up.fd);
			up.fd = -1;
		}
		snprintf(path, sizeof(path), "%s/%s", o->hash_dir, name);
		if (rc) {
			if (!jv->gone[i]) /* kept for the device's return */
				count(p, &x->st->errors, 1);
			left++;
		} else if (unlink(path) == -1 && errno != ENOENT) {
			log_warn("cannot remove %s: %m", path);
			left++;
		}
	}
	objmeta_free(&m);
	return !left;
}

/* A tombstone of o to every primary that lists nothing as new. 1 when
 * every primary has it (a handoff may then drop it). */
static int push_tombstone(struct repl_pass *p, struct repl_conn *c,
			  const struct obj *o, const struct job_view *jv)
{
	const struct ring_dev *const *nodes = jv->nodes;
	json_t *const *listing = jv->listing;
	int me = jv->me;
	struct rcon_ctx *x = p->arg;
	struct peer_view v;
	int j, all = 1;

	for (j = 0; j < x->n; j++) {
		if (j == me)
			continue;
		peer_view_of(listing[j], o->hash, &v);
		if (!listing[j])
			all = 0;
		else if ((!v.found || ts_cmp(&v.ts, &o->cur->data_ts) < 0) &&
			 push_file(p, c, o, nodes[j], o->cur->data_name))
			all = 0;
	}
	return all;
}

/* Remove a handoff's file name of o. */
static void drop_file(const struct obj *o, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", o->hash_dir, name);
	if (name[0] && unlink(path) == -1 && errno != ENOENT)
		log_warn("cannot remove %s: %m", path);
}

/* The object name of o's archive (its metadata's 'name'), quoted. */
static int obj_name(struct obj *o)
{
	struct objmeta m = OBJMETA_INIT;
	uint64_t len;
	const char *name;
	int fd = open_archive(o, o->cur->data_name, &m, &len), rc = -EIO;

	if (fd >= 0) {
		name = objmeta_get(&m, "name");
		if (name && name[0] == '/' &&
		    cluster_quote(name, o->qname, sizeof(o->qname)) >= 0)
			rc = 0;
		close(fd);
	}
	objmeta_free(&m);
	return rc;
}

static void rcon_job(struct repl_pass *p, struct repl_job *j)
{
	struct rcon_ctx *x = p->arg;
	struct objd *od = p->od;
	struct repl_conn c = {od, NULL, j->policy, "reconstructor"};
	struct job_view jv;
	struct repl_snap snap = {0};
	const char **all = NULL, *key;
	json_t *local = NULL, *val;
	struct obj o;
	int i, n = 0, nn, rc, failed = 0, done;

	memset(&jv, 0, sizeof(jv));
	jv.j = j;
	jv.snap = &snap;
	jv.me = -1;
	repl_maybe_full_rehash(od, j);
	if (objd_get_hashes(j->dev_dir, j->policy, j->part, NULL, 0,
			    od->cfg->reclaim_age, &local) ||
	    !(all = calloc(json_object_size(local) + 1, sizeof(*all)))) {
		failed = 1;
		goto out;
	}
	json_object_foreach(local, key, val) all[n++] = key;
	if (repl_snapshot(od, j, all, n, &snap)) {
		failed = 1;
		goto out;
	}
	nn = ring_get_part_nodes(p->ring, j->partno, jv.nodes,
				 REPL_MAX_PRIMARIES);
	if (nn != x->n) {
		log_warn("partition %s: the ring gives %d primaries, the "
			 "policy wants %d",
			 j->part, nn, x->n);
		failed = 1;
		goto out;
	}
	for (i = 0; i < nn; i++)
		if (jv.nodes[i]->id == j->dev_id)
			jv.me = i;
	for (i = 0; i < nn && snap.n; i++) {
		if (i == jv.me)
			continue;
		rc = repl_peer_json(&c, jv.nodes[i], "SSYNC", j->part,
				    snap.sfxs, snap.nsfx, &jv.listing[i]);
		jv.gone[i] = rc == -ENODEV;
		if (rc && !jv.gone[i])
			failed = 1;
	}
	for (i = 0; i < snap.n && !od->stopping; i++) {
		memset(&o, 0, sizeof(o));
		o.cur = &snap.e[i].cur;
		o.hash = snap.e[i].hash;
		snprintf(o.part, sizeof(o.part), "%s", j->part);
		snprintf(o.hash_dir, sizeof(o.hash_dir), "%s/%s/%s/%s/%s",
			 j->dev_dir, j->data_dir, j->part, snap.sfx[i], o.hash);
		if (o.cur->state == DF_DELETED) {
			done = push_tombstone(p, &c, &o, &jv);
			if (done && jv.me < 0)
				drop_file(&o, o.cur->data_name);
			continue;
		}
		if (o.cur->state != DF_LIVE || !o.cur->frags)
			continue;
		if (jv.me >= 0) {
			rebuild_missing(p, &c, &o, &jv);
		} else if (revert_archives(p, &c, &o, &jv) && o.cur->has_meta) {
			drop_file(&o, o.cur->meta_name);
		}
	}
	if (jv.me < 0 && !od->stopping)
		repl_prune_handoff(j, &snap);
out:
	for (i = 0; i < REPL_MAX_PRIMARIES; i++)
		json_decref(jv.listing[i]);
	for (i = 0; i < jv.nhand; i++)
		json_decref(jv.hlisting[i]);
	if (c.easy)
		curl_easy_cleanup(c.easy);
	repl_snap_free(&snap);
	free(all);
	json_decref(local);
	count(p, &x->st->partitions, 1);
	count(p, &x->st->failed, failed || od->stopping);
}

/* --- the pass ------------------------------------------------------------ */

static void record(struct objd *od, const struct rcon_stats *st)
{
	json_t *f = json_pack(
		"{s:I, s:f, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f}}",
		"object_reconstruction_last", (json_int_t)st->start,
		"object_reconstruction_time", st->duration / 60.0,
		"reconstruction_stats", "partitions",
		(json_int_t)st->partitions, "failed", (json_int_t)st->failed,
		"rebuilt", (json_int_t)st->rebuilt, "reverted",
		(json_int_t)st->reverted, "tombstones",
		(json_int_t)st->tombstones, "bytes", (json_int_t)st->bytes,
		"errors", (json_int_t)st->errors, "start", st->start,
		"duration", st->duration);

	if (f)
		recon_update(od->cfg->recon_cache_path, "object", f);
	json_decref(f);
}

int rcon_run_once(struct objd *od, struct rcon_stats *out)
{
	struct rcon_stats st;
	struct rcon_ctx x;
	struct repl_pass p;
	int i, rings = 0, rc = 0;

	memset(&st, 0, sizeof(st));
	pthread_mutex_lock(&od->rcon_pass_lock);
	st.start = repl_now();
	for (i = 0; i < policy_count() && !rc; i++) {
		const struct storage_policy *sp = policy_at(i);

		if (sp->type != POLICY_ERASURE_CODING)
			continue;
		memset(&p, 0, sizeof(p));
		memset(&x, 0, sizeof(x));
		p.ring = repl_ring(od, i);
		if (!p.ring)
			continue;
		rings++;
		x.sp = sp;
		x.n = sp->ec_ndata + sp->ec_nparity;
		x.st = &st;
		rc = ec_open(sp->ec_type, sp->ec_ndata, sp->ec_nparity,
			     &x.codec);
		if (rc) {
			log_err("policy %d: cannot open ec_type %s: %s",
				sp->index, sp->ec_type, strerror(-rc));
		} else {
			p.od = od;
			p.policy = sp->index;
			policy_data_dir(sp->index, p.data_dir,
					sizeof(p.data_dir));
			p.run = rcon_job;
			p.arg = &x;
			p.concurrency = (int)od->cfg->reconstructor_concurrency;
			pthread_mutex_init(&p.lock, NULL);
			rc = repl_run_policy(&p);
			st.errors += p.st.errors;
			pthread_mutex_destroy(&p.lock);
		}
		ec_close(x.codec);
		ring_put(p.ring);
	}
	if (!rings && !rc)
		rc = -ENOENT;
	st.duration = repl_now() - st.start;
	if (rings) {
		log_info("reconstruction pass: %lld partitions (%lld failed), "
			 "%lld archives rebuilt, %lld reverted, %lld "
			 "tombstones and metadata pushed, %lld bytes, %lld "
			 "errors, %.2fs",
			 st.partitions, st.failed, st.rebuilt, st.reverted,
			 st.tombstones, st.bytes, st.errors, st.duration);
		record(od, &st);
	}
	pthread_mutex_unlock(&od->rcon_pass_lock);
	if (out)
		*out = st;
	return rc;
}

/* --- the thread -------------------------------------------------------- */

static void reconstructor_pass(struct objd *od)
{
	rcon_run_once(od, NULL);
}

static void *reconstructor_main(void *arg)
{
	struct objd *od = arg;

	objd_every(od, od->cfg->reconstructor_interval, reconstructor_pass);
	return NULL;
}

int rcon_once(struct objd *od)
{
	struct rcon_stats st;
	int rc = repl_init(od);

	if (!rc)
		rc = rcon_run_once(od, &st);
	if (rc == -ENOENT) /* no EC policy: nothing to do */
		rc = 0;
	else if (!rc && (st.failed || st.errors))
		rc = -EIO;
	return rc;
}

int rcon_start(struct objd *od)
{
	int rc = repl_init(od);

	if (!rc)
		rc = objd_thread_start(od, &od->reconstructor,
				       reconstructor_main, "reconstructor");
	if (!rc)
		od->reconstructor_started = 1;
	return rc;
}

void rcon_stop(struct objd *od)
{
	objd_thread_stop(od, &od->reconstructor, &od->reconstructor_started);
}
