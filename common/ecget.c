/*
 * common/ecget.c: GET and HEAD of an erasure-coded object (see ecget.h),
 * as Swift's ECObjectController GET, over cluster_fetch (several backend
 * requests running at once in the caller's thread).
 *
 *   open: HEAD every primary at once (each answers for the newest durable
 *     archive it holds: timestamp, X-Backend-Fragments, the object's
 *     metadata) → the newest timestamp with k distinct fragment indexes
 *     (an overwrite whose COMMIT reached fewer nodes leaves the older
 *     version readable; a HEAD takes the newest durable one when none has
 *     k), unless a newer tombstone says 404; a GET that finds no such
 *     timestamp on the primaries HEADs the handoffs too
 *     → the client's conditionals against the whole object's ETag and
 *     Last-Modified (304, 412), its Range against its length (416, one
 *     range, several: multipart/byteranges)
 *   read: k sources (data fragments first: decoding them is a copy) asked
 *     at once for the archive bytes of the segments a range needs
 *     (ec_range), with X-Backend-Ec-Frag-Index; segment by segment, each
 *     source's fragment gathered, checked (its header names its index)
 *     and the k decoded (ec_decode; the k data fragments are only joined,
 *     data_join); the client's bytes cut from it. A
 *     source that fails (no answer, another timestamp, cut, bad fragment)
 *     is replaced by a fragment index not in use, from the next segment
 *     on: other primaries, then handoffs. Fewer than k left: -EIO.
 *
 * Invariants:
 *   1. Only archives of the one chosen timestamp are decoded together
 *      (each source's X-Timestamp is checked).
 *   2. Nothing is buffered beyond one segment: a fragment per source and
 *      the decoded segment.
 *   3. A whole-object body (200) is checked against its ETag as it is
 *      handed out: the last bytes only when the MD5 matches.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "common/ec.h"
#include "common/ecget.h"
#include "common/log.h"
#include "common/range.h"
#include "common/timestamp.h"

#define MAX_CAND (2 * EC_MAX_FRAGS)

/* A fragment archive some node holds at the chosen timestamp. */
struct cand {
	const struct ring_dev *dev;
	int idx;
	struct ts t;
	int bad; /* failed as a source: not asked again */
};

/* One of the k archives being read. */
struct src {
	int cand; /* index in cand[] */
	int id;	  /* cluster_fetch id, -1: none */
	char *buf;
	size_t have; /* bytes of this segment's fragment in buf */
};

struct ecget {
	struct cluster *c;
	const struct ec_codec *codec;
	int k;
	struct cluster_nodes nodes; /* a ring reference of our own */
	char *account, *container, *object, *txn;
	struct cluster_hdrs base; /* the caller's, minus Range and If-* */
	struct cluster_fetch *f;
	char ts[40]; /* the chosen X-Timestamp as the archives give it */
	uint64_t len;
	size_t seg;	 /* segment size */
	size_t fsz_full; /* fragment bytes of a whole segment */
	struct cand cand[MAX_CAND];
	int ncand;
	struct src src[EC_MAX_FRAGS];
	int opened;	   /* sources deliver segment next_seg on */
	uint64_t next_seg; /* the next segment the sources give */
	uint64_t arch_end; /* the last archive byte asked of them */
	struct byte_range r[RANGE_MAX];
	int nr, cur, multi;
	char boundary[RANGE_BOUNDARY_LEN];
	char ctype[256];
	uint64_t pos; /* next object byte handed out */
	char *out;    /* the decoded segment */
	size_t out_len;
	uint64_t out_at; /* its first byte's offset in the object */
	int have_out;
	char lit[512]; /* multipart text to hand out */
	size_t lit_len, lit_pos;
	int finished;
	EVP_MD_CTX *md5;
	char want[33];
};

/* Append a copy of a "Name: value" line to h. 0 or -ENOMEM. */
static int line_add(struct cluster_hdrs *h, const char *line)
{
	char **l = realloc(h->lines, sizeof(*l) * (size_t)(h->n + 1));

	if (!l)
		return -ENOMEM;
	h->lines = l;
	l[h->n] = strdup(line);
	if (!l[h->n])
		return -ENOMEM;
	h->n++;
	return 0;
}

/* Copy src's headers into dst, but those an EC answer sets itself. */
static int resp_copy(struct cluster_resp *dst, const struct cluster_resp *src,
		     int keep_ctype, int keep_ec)
{
	static const char *const skip[] = {
		"Content-Length", "Etag", "Content-Range",
		"X-Backend-Fragments", "Transfer-Encoding"};
	size_t j;
	int i, rc = 0;

	for (i = 0; i < src->nhdrs && !rc; i++) {
		int skipped = !keep_ctype &&
			      !strcasecmp(src->hdr_names[i], "Content-Type");

		for (j = 0; j < sizeof(skip) / sizeof(skip[0]); j++)
			if (!strcasecmp(src->hdr_names[i], skip[j]))
				skipped = 1;
		/* an archive's own: a copy of the object must not keep them */
		if (!keep_ec &&
		    !strncasecmp(src->hdr_names[i], "X-Object-Sysmeta-Ec-", 20))
			skipped = 1;
		if (!skipped)
			rc = cluster_resp_add(dst, src->hdr_names[i],
					      src->hdr_values[i]);
	}
	return rc;
}

/* The data timestamp of an archive's answer, as text (NULL: none). */
static const char *answer_ts(const struct cluster_resp *r)
{
	const char *v = cluster_resp_header(r, "X-Backend-Data-Timestamp");

	if (!v)
		v = cluster_resp_header(r, "X-Timestamp");
	return v;
}

/* Record the fragment indexes an archive's answer r from dev holds. */
static void add_cands(struct ecget *g, const struct ring_dev *dev,
		      const struct cluster_resp *r, const struct ts *t)
{
	const char *v = cluster_resp_header(r, "X-Backend-Fragments");
	char *end;
	long idx;

	if (!v)
		v = cluster_resp_header(r, "X-Object-Sysmeta-Ec-Frag-Index");
	while (v && *v && g->ncand < MAX_CAND) {
		idx = strtol(v, &end, 10);
		if (end == v)
			break;
		if (idx >= 0 && idx < g->k + ec_nparity(g->codec)) {
			g->cand[g->ncand].dev = dev;
			g->cand[g->ncand].idx = (int)idx;
			g->cand[g->ncand].t = *t;
			g->ncand++;
		}
		v = end;
		while (*v == ',' || *v == ' ')
			v++;
	}
}

/* Distinct fragment indexes among the candidates of timestamp t. */
static int distinct(const struct ecget *g, const struct ts *t)
{
	uint64_t seen = 0;
	int i, n = 0;

	for (i = 0; i < g->ncand; i++)
		if (!ts_cmp(&g->cand[i].t, t) &&
		    !(seen & (1ull << g->cand[i].idx))) {
			seen |= 1ull << g->cand[i].idx;
			n++;
		}
	return n;
}

#define MAX_TS 4 /* durable timestamps of one object told apart */

struct survey {
	struct ts t[MAX_TS];		 /* durable archives' timestamps */
	struct cluster_resp rep[MAX_TS]; /* an answer of each (headers) */
	int nts;
	struct ts tomb;		  /* newest tombstone (404 with a timestamp) */
	struct cluster_resp gone; /* a 404 answer */
	int have_tomb;
	int statuses[CLUSTER_MAX_NODES];
	int nstat;
};

/* The timestamp of the survey to read: the newest, not older than a
 * tombstone, with at least k distinct fragment indexes (with fewer, and
 * only for a HEAD, the newest); its index in sv->t, or -1 (none). */
static int survey_pick(const struct ecget *g, const struct survey *sv, int head)
{
	int i, best = -1, newest = -1;

	for (i = 0; i < sv->nts; i++) {
		if (sv->have_tomb && ts_cmp(&sv->tomb, &sv->t[i]) > 0)
			continue;
		if (newest < 0 || ts_cmp(&sv->t[i], &sv->t[newest]) > 0)
			newest = i;
		if (distinct(g, &sv->t[i]) >= g->k &&
		    (best < 0 || ts_cmp(&sv->t[i], &sv->t[best]) > 0))
			best = i;
	}
	return best < 0 && head ? newest : best;
}

/* HEAD nodes->dev[from..to) at once and survey the answers. 0/-errno */
static int survey(struct ecget *g, int from, int to, struct survey *sv)
{
	struct cluster_fetch *f = NULL;
	int ids[CLUSTER_MAX_NODES], i, j, rc;

	rc = cluster_fetch_new(g->c, &f);
	if (rc)
		return rc;
	for (i = from; i < to; i++) {
		ids[i] = -1;
		if (cluster_node_limited(g->c, g->nodes.dev[i]))
			continue;
		ids[i] = cluster_fetch_start(f, &g->nodes, g->nodes.dev[i],
					     "HEAD", g->account, g->container,
					     g->object, &g->base, g->txn);
	}
	cluster_fetch_wait_headers(f);
	for (i = from; i < to && !rc; i++) {
		const struct cluster_resp *r;
		const char *v;
		struct ts t;

		if (ids[i] < 0 || cluster_fetch_failed(f, ids[i]))
			continue;
		r = cluster_fetch_resp(f, ids[i]);
		if (sv->nstat < CLUSTER_MAX_NODES)
			sv->statuses[sv->nstat++] = r->status;
		if (r->status / 100 == 2) {
			v = answer_ts(r);
			if (!v || ts_parse(v, &t))
				continue;
			add_cands(g, g->nodes.dev[i], r, &t);
			for (j = 0; j < sv->nts && ts_cmp(&t, &sv->t[j]); j++)
				;
			if (j == sv->nts && j < MAX_TS) {
				sv->t[j] = t;
				sv->rep[j].status = r->status;
				rc = resp_copy(&sv->rep[j], r, 1, 1);
				sv->nts++;
			}
		} else if (r->status == 404) {
			v = cluster_resp_header(r, "X-Backend-Timestamp");
			if (v && !ts_parse(v, &t) &&
			    (!sv->have_tomb || ts_cmp(&t, &sv->tomb) > 0)) {
				sv->tomb = t;
				sv->have_tomb = 1;
			}
			if (!sv->gone.status) {
				sv->gone.status = 404;
				rc = resp_copy(&sv->gone, r, 1, 0);
			}
		}
	}
	cluster_fetch_free(f);
	return rc;
}

/* Candidates in the order sources are taken: data fragments first (their
 * decoding is a copy), then in the order found (primaries first). */
static void order_cands(struct ecget *g)
{
	struct cand sorted[MAX_CAND];
	int i, n = 0, pass;

	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < g->ncand; i++)
			if ((g->cand[i].idx >= g->k) == pass)
				sorted[n++] = g->cand[i];
	memcpy(g->cand, sorted, sizeof(sorted[0]) * (size_t)n);
}

/* Launch source j on an unused candidate of an index no other source
 * reads, for the archive bytes of segment g->next_seg to g->arch_end
 * (its headers not waited for). 0, -EIO when no candidate is left,
 * -ENOMEM. */
static int source_launch(struct ecget *g, int j)
{
	struct src *s = &g->src[j];
	struct cluster_hdrs h = {0};
	int i, l, busy, rc = -EIO;

	cluster_fetch_stop(g->f, s->id);
	s->id = -1;
	s->have = 0;
	for (i = 0; i < g->ncand && rc; i++) {
		struct cand *cd = &g->cand[i];

		if (cd->bad)
			continue;
		for (busy = 0, l = 0; l < g->k; l++)
			if (l != j && g->src[l].id >= 0 &&
			    g->cand[g->src[l].cand].idx == cd->idx)
				busy = 1;
		if (busy)
			continue;
		cluster_hdrs_free(&h);
		if (cluster_hdrs_copy(&h, &g->base) ||
		    cluster_hdrs_addf(&h, "X-Backend-Ec-Frag-Index", "%d",
				      cd->idx) ||
		    cluster_hdrs_addf(
			    &h, "Range", "bytes=%llu-%llu",
			    (unsigned long long)(g->next_seg * g->fsz_full),
			    (unsigned long long)g->arch_end)) {
			rc = -ENOMEM;
			break;
		}
		s->id = cluster_fetch_start(g->f, &g->nodes, cd->dev, "GET",
					    g->account, g->container, g->object,
					    &h, g->txn);
		if (s->id >= 0) {
			s->cand = i;
			rc = 0;
		} else {
			cd->bad = 1;
		}
	}
	cluster_hdrs_free(&h);
	if (rc == -EIO)
		log_err("GET /%s/%s/%s: no fragment archive left to read",
			g->account, g->container, g->object);
	return rc;
}

/* Is launched source j's answer (headers in) an archive of the chosen
 * timestamp? Else it is stopped. 1 or 0. */
static int source_good(struct ecget *g, int j)
{
	struct src *s = &g->src[j];
	const struct cluster_resp *r = cluster_fetch_resp(g->f, s->id);
	const struct cand *cd = &g->cand[s->cand];
	const char *v = answer_ts(r);

	if (!cluster_fetch_failed(g->f, s->id) &&
	    (r->status == 206 || r->status == 200) && v && !strcmp(v, g->ts))
		return 1;
	log_warn("GET /%s/%s/%s: fragment %d on %s:%d/%s: status %d",
		 g->account, g->container, g->object, cd->idx, cd->dev->ip,
		 cd->dev->port, cd->dev->device, r->status);
	g->cand[s->cand].bad = 1;
	cluster_fetch_stop(g->f, s->id);
	s->id = -1;
	return 0;
}

/* Source j (again) on another candidate, its answer checked. 0, -EIO
 * (none left), -ENOMEM. */
static int source_start(struct ecget *g, int j)
{
	int rc;

	do {
		rc = source_launch(g, j);
		if (rc)
			return rc;
		cluster_fetch_wait_headers(g->f);
	} while (!source_good(g, j));
	return 0;
}

/* Open the k sources for the segments of bytes pos .. r[cur].end - 1. */
static int sources_open(struct ecget *g)
{
	uint64_t ss, se, fs, fe;
	int j, rc;

	for (j = 0; j < g->k; j++) {
		cluster_fetch_stop(g->f, g->src[j].id);
		g->src[j].id = -1;
	}
	rc = ec_range(g->codec, g->seg, g->len, g->pos, g->r[g->cur].end - 1,
		      &ss, &se, &fs, &fe);
	if (rc)
		return rc;
	g->next_seg = ss / g->seg;
	g->arch_end = fe;
	/* all k asked at once; one that answers badly is replaced */
	for (j = 0; j < g->k && !rc; j++)
		rc = source_launch(g, j);
	if (!rc)
		cluster_fetch_wait_headers(g->f);
	for (j = 0; j < g->k && !rc; j++)
		if (!source_good(g, j))
			rc = source_start(g, j);
	g->opened = !rc;
	return rc;
}

/* Are the k sources the k data fragments (indexes 0 .. k-1)? */
static int data_only(const struct ecget *g)
{
	int j;

	for (j = 0; j < g->k; j++)
		if (g->cand[g->src[j].cand].idx >= g->k)
			return 0;
	return 1;
}

/*
 * The segment (seglen bytes) from the k data fragments of fsz bytes each,
 * into out: liberasurecode splits a segment into k payloads of equal
 * size, in index order, the last zero-padded, so this is what its decode
 * does with them, without its allocation and two more copies. Returns
 * seglen.
 */
static size_t data_join(struct ecget *g, size_t fsz, size_t seglen)
{
	size_t payload = fsz - EC_FRAGMENT_HEADER, at, n;
	int j;

	for (j = 0; j < g->k; j++) {
		at = (size_t)g->cand[g->src[j].cand].idx * payload;
		if (at >= seglen)
			continue;
		n = seglen - at < payload ? seglen - at : payload;
		memcpy(g->out + at, g->src[j].buf + EC_FRAGMENT_HEADER, n);
	}
	return seglen;
}

/* Gather, check and decode segment next_seg into out. 0 or -EIO. */
static int segment_decode(struct ecget *g)
{
	uint64_t at = g->next_seg * g->seg;
	size_t seglen = g->len - at < g->seg ? (size_t)(g->len - at) : g->seg;
	ssize_t fsz = ec_fragment_size(g->codec, seglen), n;
	char *frags[EC_MAX_FRAGS];
	size_t outlen = 0;
	int j, rc = 0;

	if (fsz < 0)
		return -EIO;
	for (j = 0; j < g->k; j++) {
		struct src *s = &g->src[j];

		while (s->have < (size_t)fsz) {
			n = cluster_fetch_read(g->f, s->id, s->buf + s->have,
					       (size_t)fsz - s->have);
			if (n > 0) {
				s->have += (size_t)n;
				if (s->have < (size_t)fsz ||
				    ec_fragment_index(s->buf, s->have) ==
					    g->cand[s->cand].idx)
					continue;
				log_warn("GET /%s/%s/%s: fragment %d on "
					 "%s:%d/%s is not one",
					 g->account, g->container, g->object,
					 g->cand[s->cand].idx,
					 g->cand[s->cand].dev->ip,
					 g->cand[s->cand].dev->port,
					 g->cand[s->cand].dev->device);
			}
			g->cand[s->cand].bad = 1;
			if (source_start(g, j))
				return -EIO;
		}
		frags[j] = s->buf;
	}
	if (data_only(g))
		outlen = data_join(g, (size_t)fsz, seglen);
	else
		rc = ec_decode(g->codec, frags, g->k, (size_t)fsz, g->out,
			       g->seg, &outlen);
	if (rc || outlen != seglen) {
		log_err("GET /%s/%s/%s: segment %llu does not decode (%d)",
			g->account, g->container, g->object,
			(unsigned long long)g->next_seg, rc);
		return -EIO;
	}
	for (j = 0; j < g->k; j++)
		g->src[j].have = 0;
	g->out_at = at;
	g->out_len = outlen;
	g->have_out = 1;
	g->next_seg++;
	return 0;
}

/* The multipart text before range cur (or the closing one). */
static void part_text(struct ecget *g, int first)
{
	int n;

	if (g->cur < g->nr)
		n = snprintf(g->lit, sizeof(g->lit),
			     "%s--%s\r\nContent-Type: %s\r\n"
			     "Content-Range: bytes %llu-%llu/%llu\r\n\r\n",
			     first ? "" : "\r\n", g->boundary, g->ctype,
			     (unsigned long long)g->r[g->cur].start,
			     (unsigned long long)g->r[g->cur].end - 1,
			     (unsigned long long)g->len);
	else
		n = snprintf(g->lit, sizeof(g->lit), "\r\n--%s--", g->boundary);
	g->lit_len = n > 0 && (size_t)n < sizeof(g->lit) ? (size_t)n : 0;
	g->lit_pos = 0;
}

/* Check n more bytes of a whole body at buf against its ETag. 0/-EIO */
static int md5_check(struct ecget *g, const char *buf, size_t n)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;
	char hex[33];
	int i, ok;

	if (!g->md5)
		return 0;
	if (EVP_DigestUpdate(g->md5, buf, n) != 1)
		return -EIO;
	if (g->pos + n < g->len)
		return 0;
	ok = EVP_DigestFinal_ex(g->md5, d, &dl) == 1 && dl == 16;
	EVP_MD_CTX_free(g->md5);
	g->md5 = NULL;
	for (i = 0; ok && i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	if (ok && !strcmp(hex, g->want))
		return 0;
	log_err("GET /%s/%s/%s: the decoded body's MD5 is not its ETag %s; cut",
		g->account, g->container, g->object, g->want);
	return -EIO;
}

ssize_t ecget_read(struct ecget *g, char *buf, size_t max)
{
	size_t n;

	for (;;) {
		if (g->lit_pos < g->lit_len) {
			n = g->lit_len - g->lit_pos;
			if (n > max)
				n = max;
			memcpy(buf, g->lit + g->lit_pos, n);
			g->lit_pos += n;
			return (ssize_t)n;
		}
		if (g->finished || g->cur >= g->nr)
			return 0;
		if (g->pos < g->r[g->cur].end) {
			if (g->have_out && g->pos >= g->out_at &&
			    g->pos < g->out_at + g->out_len) {
				n = (size_t)(g->out_at + g->out_len - g->pos);
				if (n > g->r[g->cur].end - g->pos)
					n = (size_t)(g->r[g->cur].end - g->pos);
				if (n > max)
					n = max;
				memcpy(buf, g->out + (g->pos - g->out_at), n);
				if (md5_check(g, buf, n))
					return -EIO;
				g->pos += n;
				return (ssize_t)n;
			}
			if ((!g->opened || g->pos / g->seg != g->next_seg) &&
			    sources_open(g))
				return -EIO;
			if (segment_decode(g))
				return -EIO;
			continue;
		}
		g->cur++;
		g->opened = 0;
		if (g->multi)
			part_text(g, 0);
		if (g->cur < g->nr)
			g->pos = g->r[g->cur].start;
		else
			g->finished = 1;
	}
}

void ecget_close(struct ecget *g)
{
	int j;

	if (!g)
		return;
	cluster_fetch_free(g->f);
	for (j = 0; j < EC_MAX_FRAGS; j++)
		free(g->src[j].buf);
	free(g->out);
	if (g->md5)
		EVP_MD_CTX_free(g->md5);
	cluster_hdrs_free(&g->base);
	cluster_nodes_release(&g->nodes);
	free(g->account);
	free(g->container);
	free(g->object);
	free(g->txn);
	free(g);
}

/* The answer to a good GET/HEAD of the chosen archive (rep): conditionals,
 * ranges, headers; sets up g's reading. 0 or -ENOMEM. */
static int answer(struct ecget *g, const struct cluster_hdrs *hdrs, int head,
		  const struct cluster_resp *rep, struct cluster_resp *resp,
		  int *body)
{
	const char *etag = cluster_resp_header(rep, "X-Object-Sysmeta-Ec-Etag");
	const char *ct = cluster_resp_header(rep, "Content-Type");
	const char *xts = cluster_resp_header(rep, "X-Timestamp");
	uint64_t total = 0;
	int64_t lm = -1;
	struct ts t;
	char v[128];
	int i, st, rc;

	*body = 0;
	if (xts && !ts_parse(xts, &t))
		lm = (t.ticks + 99999) / 100000;
	st = cond_status(cluster_hdrs_get(hdrs, "If-Match"),
			 cluster_hdrs_get(hdrs, "If-None-Match"),
			 cluster_hdrs_get(hdrs, "If-Modified-Since"),
			 cluster_hdrs_get(hdrs, "If-Unmodified-Since"),
			 etag ? etag : "", lm, 1);
	snprintf(v, sizeof(v), "\"%s\"", etag ? etag : "");
	if (st) {
		resp->status = st;
		rc = resp_copy(resp, rep, 1, 0);
		return rc ? rc : cluster_resp_add(resp, "Etag", v);
	}
	g->nr = head ? -1
		     : range_parse(cluster_hdrs_get(hdrs, "Range"), g->len,
				   g->r);
	if (g->nr == 0) {
		resp->status = 416;
		snprintf(v, sizeof(v), "bytes */%llu",
			 (unsigned long long)g->len);
		rc = resp_copy(resp, rep, 0, 0);
		return rc ? rc : cluster_resp_add(resp, "Content-Range", v);
	}
	snprintf(g->ctype, sizeof(g->ctype), "%s",
		 ct ? ct : "application/octet-stream");
	rc = resp_copy(resp, rep, g->nr <= 1, 0);
	if (!rc)
		rc = cluster_resp_add(resp, "Etag", v);
	if (g->nr < 0) {
		resp->status = 200;
		g->r[0].start = 0;
		g->r[0].end = g->len;
		g->nr = 1;
		total = g->len;
		if (!head && etag && strlen(etag) == 32) {
			snprintf(g->want, sizeof(g->want), "%s", etag);
			g->md5 = EVP_MD_CTX_new();
			if (!g->md5 ||
			    EVP_DigestInit_ex(g->md5, EVP_md5(), NULL) != 1)
				rc = -ENOMEM;
		}
	} else if (g->nr == 1) {
		resp->status = 206;
		total = g->r[0].end - g->r[0].start;
		snprintf(v, sizeof(v), "bytes %llu-%llu/%llu",
			 (unsigned long long)g->r[0].start,
			 (unsigned long long)g->r[0].end - 1,
			 (unsigned long long)g->len);
		if (!rc)
			rc = cluster_resp_add(resp, "Content-Range", v);
	} else {
		resp->status = 206;
		g->multi = 1;
		range_boundary(g->boundary);
		for (g->cur = 0; g->cur <= g->nr; g->cur++) {
			part_text(g, g->cur == 0);
			total += g->lit_len;
			if (g->cur < g->nr)
				total += g->r[g->cur].end - g->r[g->cur].start;
		}
		g->cur = 0;
		part_text(g, 1);
		snprintf(v, sizeof(v), "multipart/byteranges;boundary=%s",
			 g->boundary);
		if (!rc)
			rc = cluster_resp_add(resp, "Content-Type", v);
	}
	g->pos = g->r[0].start;
	snprintf(v, sizeof(v), "%llu",
		 (unsigned long long)(head ? g->len : total));
	if (!rc)
		rc = cluster_resp_add(resp, "Content-Length", v);
	if (head || !g->len)
		g->finished = !g->multi;
	for (i = 0; !rc && !g->finished && i < g->k; i++) {
		g->src[i].id = -1;
		g->src[i].buf = malloc(g->fsz_full);
		if (!g->src[i].buf)
			rc = -ENOMEM;
	}
	if (!rc && !g->finished) {
		g->out = malloc(g->seg);
		rc = g->out ? cluster_fetch_new(g->c, &g->f) : -ENOMEM;
	}
	*body = 1;
	return rc;
}

int ecget_open(struct cluster *c, const struct ec_codec *codec,
	       const struct cluster_nodes *nodes, const char *method,
	       const char *account, const char *container, const char *object,
	       const char *query, const struct cluster_hdrs *hdrs,
	       const char *txn, struct cluster_resp *resp, struct ecget **out)
{
	struct survey sv;
	struct ecget *g = calloc(1, sizeof(*g));
	const char *v;
	const struct cluster_resp *rp;
	int head = !strcmp(method, "HEAD"), i, kept, pick, rc = -ENOMEM;
	int body = 0;
	ssize_t fsz;

	(void)query;
	*out = NULL;
	memset(&sv, 0, sizeof(sv));
	memset(resp, 0, sizeof(*resp));
	resp->status = 503;
	if (!g)
		return -ENOMEM;
	for (i = 0; i < EC_MAX_FRAGS; i++)
		g->src[i].id = -1;
	g->c = c;
	g->codec = codec;
	g->k = ec_ndata(codec);
	g->nodes = *nodes;
	g->nodes.ring = ring_get(nodes->ring);
	g->account = strdup(account);
	g->container = strdup(container ? container : "");
	g->object = strdup(object);
	g->txn = txn ? strdup(txn) : NULL;
	if (!g->account || !g->container || !g->object || (txn && !g->txn))
		goto out;
	for (i = 0; hdrs && i < hdrs->n; i++)
		if (!cluster_cond_header(hdrs->lines[i]) &&
		    line_add(&g->base, hdrs->lines[i]))
			goto out;
	rc = survey(g, 0, nodes->nprimary, &sv);
	if (!rc && !head && sv.nts && survey_pick(g, &sv, 0) < 0 &&
	    nodes->n > nodes->nprimary)
		rc = survey(g, nodes->nprimary, nodes->n, &sv);
	if (rc)
		goto out;
	pick = survey_pick(g, &sv, 1);
	if (pick < 0) {
		/* nothing durable, or deleted since */
		i = cluster_best_status(sv.statuses, sv.nstat, 0);
		if (sv.gone.status &&
		    (sv.nts || (i >= 0 && sv.statuses[i] == 404))) {
			*resp = sv.gone;
			memset(&sv.gone, 0, sizeof(sv.gone));
			i = cond_status(cluster_hdrs_get(hdrs, "If-Match"),
					NULL, NULL, NULL, NULL, -1, 0);
			if (i)
				resp->status = i;
		}
		goto out;
	}
	if (!head && distinct(g, &sv.t[pick]) < g->k) {
		log_err("GET /%s/%s/%s: %d fragment indexes reachable, %d "
			"needed",
			account, container, object, distinct(g, &sv.t[pick]),
			g->k);
		goto out;
	}
	/* keep the candidates of the chosen timestamp only */
	for (i = 0, kept = 0; i < g->ncand; i++)
		if (!ts_cmp(&g->cand[i].t, &sv.t[pick]))
			g->cand[kept++] = g->cand[i];
	g->ncand = kept;
	order_cands(g);
	rp = &sv.rep[pick];
	snprintf(g->ts, sizeof(g->ts), "%s", answer_ts(rp));
	v = cluster_resp_header(rp, "X-Object-Sysmeta-Ec-Content-Length");
	g->len = v ? strtoull(v, NULL, 10) : 0;
	v = cluster_resp_header(rp, "X-Object-Sysmeta-Ec-Segment-Size");
	g->seg = v ? strtoull(v, NULL, 10) : 0;
	fsz = g->seg ? ec_fragment_size(codec, g->seg) : -EINVAL;
	if (!v || fsz < 0 ||
	    !cluster_resp_header(rp, "X-Object-Sysmeta-Ec-Content-Length")) {
		log_err("GET /%s/%s/%s: archive without EC sysmeta", account,
			container, object);
		goto out;
	}
	g->fsz_full = (size_t)fsz;
	resp->status = 0;
	rc = answer(g, hdrs, head, rp, resp, &body);
	if (!rc && body && (resp->status == 200 || resp->status == 206)) {
		*out = g;
		g = NULL;
	}
out:
	if (rc) {
		cluster_resp_free(resp);
		resp->status = 503;
	}
	for (i = 0; i < sv.nts; i++)
		cluster_resp_free(&sv.rep[i]);
	cluster_resp_free(&sv.gone);
	ecget_close(g);
	return rc == -ENOMEM ? rc : 0;
}
