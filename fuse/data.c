/*
 * fuse/data.c: file data in chunk objects d/<ino>/<idx>, through a cache
 * of chunks in memory with write-back (a bound on dirty bytes), read-ahead
 * on sequential reads, and a size limit on clean chunks (LRU). A worker
 * pool flushes dirty chunks (oldest first) and loads read-ahead chunks.
 *
 * A chunk in the cache:
 *
 *   absent --load--> loading --GET done--> clean <--flush done-- flushing
 *      ^                                   |  ^                     ^
 *      +------------evict (LRU)------------+  +--write--> dirty ----+
 *
 * Invariants: (1) a chunk whose bit is clear in its inode's bitmap has no
 * object that may be read (reads give zeros); (2) a dirty or flushing
 * chunk is never evicted; (3) one PUT at a time per chunk, and no PUT
 * while a DELETE of the same object is in flight (fs->deleting), so a
 * delete queued by a truncate never lands after newer data; (4) every
 * chunk dirtied before epoch E (of one inode, or all) is flushed once
 * kd_flush_epoch(E, ino) returns. The workers PUT first the chunks an
 * fsync waits for (urgent), then chunks written whole since their last
 * PUT (a sequential writer has left them: their PUT overlaps its next
 * writes),
 * then the oldest when over half of dirty_max or when a commit waits.
 * Writers block only above dirty_max. Chunk 0 of an inode in inline mode
 * (small files, meta.c) is never dirty nor PUT: each change is copied into
 * the inode's idata, which the next cut carries; a write past
 * KFS_INLINE_MAX makes it a normal chunk for good (unline), which every
 * commit PUTs before its log when the metadata held bytes of it.
 * Random reads of chunks not cached fetch only the bytes asked for (a
 * ranged GET; a chunk with deltas is loaded whole); a write to a chunk
 * not cached loads it first unless the write covers it, it is a hole, or
 * the write covers whole units of it: then the chunk is sparse (vmap: the
 * units holding data) until fill fetches the rest for a read of other
 * bytes, a partial-unit write or a whole PUT.
 * A chunk the cluster holds, of which few 4 KiB units changed, is PUT as
 * a delta object of those units (flush_chunk, delta_ok; README "Small
 * writes"); past half a chunk of deltas it is PUT whole and they go.
 * A chunk a sequential reader has read to its end goes to the LRU's tail
 * (lru_back) and read-ahead evicts from there (room): a scan of a file
 * larger than the cache loses what it read, not what is ahead of it.
 * Everything runs under fs->lock except
 * the network calls. Leaves the namespace to meta.c, commits to journal.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "fuse/internal.h"

void kd_chunk_name(const struct kfs *fs, uint64_t ino, uint64_t idx,
		   uint64_t gen, char *out, size_t outlen)
{
	(void)fs;
	if (gen)
		snprintf(out, outlen,
			 "d/%016" PRIx64 "/%08" PRIx64 ".%016" PRIx64, ino, idx,
			 gen);
	else
		snprintf(out, outlen, "d/%016" PRIx64 "/%08" PRIx64, ino, idx);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Whether every unit of c changed since its last PUT (lock held). */
static int units_all(const struct kfs *fs, const struct kchunk *c)
{
	uint32_t per = fs->chunk_size / fs->unit, u;
	for (u = 0; u + 64 <= per; u += 64)
		if (c->umap[u / 64] != ~0ULL)
			return 0;
	return u == per || (~c->umap[u / 64] & ((1ULL << (per - u)) - 1)) == 0;
}

/* Note that bytes [from, to) of c changed since its last PUT. */
static void mark_units(struct kfs *fs, struct kchunk *c, uint32_t from,
		       uint32_t to)
{
	uint32_t u;
	for (u = from / fs->unit; u < KFS_UNITS_MAX && u * fs->unit < to; u++)
		c->umap[u / 64] |= 1ULL << (u % 64);
}

/* Queue the deletes of the delta objects of chunk idx of in and forget
 * them (the chunk was dropped or PUT whole). Lock held. */
static void drop_deltas(struct kfs *fs, struct kinode *in, uint64_t idx)
{
	uint32_t n, first = ns_delta_find(in, idx, &n), i;
	for (i = first; i < first + n; i++)
		kd_queue_delete(fs, in->ino, idx, in->deltas[i].gen);
	ns_delta_clear(&fs->ns, in, idx);
}

/* A commit between its cut and its log PUT carries the delta list of
 * chunk idx as it is now (kj_commit appends fs->amend to its log): a
 * delta stored meanwhile is named by the log that waited for it. */
static void amend(struct kfs *fs, struct kinode *in, uint64_t idx)
{
	if (fs->amending && ns_put_deltas(&fs->amend, in, idx))
		fs->amend_error = -ENOMEM;
}

static uint64_t chash(uint64_t ino, uint64_t idx)
{
	uint64_t x = ino * 0x9e3779b97f4a7c15ULL ^ idx;
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	return x ^ (x >> 29);
}

static struct kchunk *cfind(struct kfs *fs, uint64_t ino, uint64_t idx)
{
	struct kchunk *c = fs->ch[chash(ino, idx) & (fs->chnb - 1)];
	while (c && (c->ino != ino || c->idx != idx))
		c = c->hnext;
	return c;
}

static void lru_unlink(struct kfs *fs, struct kchunk *c)
{
	if (!c->lprev && !c->lnext && fs->lru_head != c)
		return; /* not in the list (a new chunk) */
	if (c->lprev)
		c->lprev->lnext = c->lnext;
	else
		fs->lru_head = c->lnext;
	if (c->lnext)
		c->lnext->lprev = c->lprev;
	else
		fs->lru_tail = c->lprev;
	c->lprev = c->lnext = NULL;
}

static void lru_front(struct kfs *fs, struct kchunk *c)
{
	if (fs->lru_head == c)
		return;
	c->spent = 0;
	lru_unlink(fs, c);
	c->lnext = fs->lru_head;
	if (fs->lru_head)
		fs->lru_head->lprev = c;
	fs->lru_head = c;
	if (!fs->lru_tail)
		fs->lru_tail = c;
}

/* Move c to the LRU's tail, the first evicted: a chunk a sequential
 * reader has gone past or a sequential writer's flushed chunk (the
 * kernel's page cache holds its bytes now), so that a scan of a file
 * larger than the cache evicts what it consumed, not the chunks still
 * ahead of it, and a new chunk takes its buffer (buf_take). */
static void lru_back(struct kfs *fs, struct kchunk *c)
{
	c->spent = 1;
	if (fs->lru_tail == c)
		return;
	lru_unlink(fs, c);
	c->lprev = fs->lru_tail;
	if (fs->lru_tail)
		fs->lru_tail->lnext = c;
	fs->lru_tail = c;
	if (!fs->lru_head)
		fs->lru_head = c;
}

static void cremove(struct kfs *fs, struct kchunk *c);

/*
 * Whole-chunk buffers kept after an eviction for the next load: a fresh
 * one comes from mmap (main.c's M_MMAP_THRESHOLD) and costs its page
 * faults and a munmap, 1 MiB at a time (~4 us a fault on a VM whose free
 * pages go back to the host). At most KD_POOL_MAX, and never more than an
 * eighth of cache_size. With the pool empty, a spent chunk at the LRU's
 * tail (lru_back) gives up its buffer even while the cache has room: a
 * sequential writer then cycles through about dirty_max plus the PUTs in
 * flight instead of touching cache_size of fresh memory (a 1 GiB write
 * into a new mount: 138,000 minor faults in kumo-mount before). Lock held.
 */
static uint8_t *buf_take(struct kfs *fs, int *zeroed)
{
	struct kchunk *c;
	uint8_t *p;
	int n;
	if (zeroed)
		*zeroed = 0;
	if (fs->npool)
		return fs->pool[--fs->npool];
	/* near the tail: chunks whose PUT is still in flight sit there too */
	for (c = fs->lru_tail, n = 0; c && n < 32; c = c->lprev, n++) {
		if (!c->spent || c->sparse || c->cap != fs->chunk_size ||
		    c->dirty || c->flushing || c->loading || c->refs)
			continue;
		p = c->data;
		c->data = NULL;
		cremove(fs, c);
		return p;
	}
	if (zeroed)
		*zeroed = 1;
	return calloc(1, fs->chunk_size); /* fresh pages: no memset */
}

static void buf_give(struct kfs *fs, uint8_t *p, uint32_t cap)
{
	uint64_t max = fs->o.cache_size / fs->chunk_size / 8;
	if (max > KD_POOL_MAX)
		max = KD_POOL_MAX;
	if (p && cap == fs->chunk_size && fs->npool < max)
		fs->pool[fs->npool++] = p;
	else
		free(p);
}

static void dirty_unlink(struct kfs *fs, struct kchunk *c)
{
	if (c->dprev)
		c->dprev->dnext = c->dnext;
	else
		fs->dirty_head = c->dnext;
	if (c->dnext)
		c->dnext->dprev = c->dprev;
	else
		fs->dirty_tail = c->dprev;
	c->dprev = c->dnext = NULL;
}

static void mark_dirty(struct kfs *fs, struct kchunk *c)
{
	if (c->dirty)
		return;
	c->dirty = 1;
	c->epoch = fs->epoch;
	c->dnext = NULL;
	c->dprev = fs->dirty_tail;
	if (fs->dirty_tail)
		fs->dirty_tail->dnext = c;
	else
		fs->dirty_head = c;
	fs->dirty_tail = c;
	fs->bytes_dirty += c->cap;
	if (fs->bytes_dirty > fs->o.dirty_max / 2)
		pthread_cond_signal(&fs->work);
}

static void clear_dirty(struct kfs *fs, struct kchunk *c)
{
	if (!c->dirty)
		return;
	dirty_unlink(fs, c);
	c->dirty = 0;
	fs->bytes_dirty -= c->cap;
	if (c->urgent)
		fs->nurgent--;
	if (c->full)
		fs->nfull--;
	c->urgent = c->full = 0;
}

/* Mark dirty c as wanted now: by an fsync (urgent) or because its writer
 * wrote all of it (full). Lock held. */
static void want_flush(struct kfs *fs, struct kchunk *c, int urgent)
{
	if (!c->dirty)
		return;
	if (urgent && !c->urgent) {
		c->urgent = 1;
		fs->nurgent++;
	} else if (!urgent && !c->full) {
		c->full = 1;
		fs->nfull++;
	}
	pthread_cond_signal(&fs->work);
}

static struct kchunk *cinsert(struct kfs *fs, uint64_t ino, uint64_t idx)
{
	struct kchunk *c = calloc(1, sizeof(*c));
	uint64_t b;
	if (!c)
		return NULL;
	if (fs->chcount >= fs->chnb) {
		uint64_t nb = fs->chnb * 2, i;
		struct kchunk **h = calloc(nb, sizeof(*h));
		if (h) {
			for (i = 0; i < fs->chnb; i++) {
				struct kchunk *x = fs->ch[i], *nx;
				for (; x; x = nx) {
					nx = x->hnext;
					x->hnext = h[chash(x->ino, x->idx) &
						     (nb - 1)];
					h[chash(x->ino, x->idx) & (nb - 1)] = x;
				}
			}
			free(fs->ch);
			fs->ch = h;
			fs->chnb = nb;
		}
	}
	c->ino = ino;
	c->idx = idx;
	b = chash(ino, idx) & (fs->chnb - 1);
	c->hnext = fs->ch[b];
	fs->ch[b] = c;
	fs->chcount++;
	lru_front(fs, c);
	return c;
}

/* Take c out of the table (cfind no longer finds it); idempotent. */
static void chash_unlink(struct kfs *fs, struct kchunk *c)
{
	struct kchunk **pp = &fs->ch[chash(c->ino, c->idx) & (fs->chnb - 1)];
	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = c->hnext;
	c->hnext = NULL;
}

/* Mark c (not flushing nor loading) dead: freed by its last unref, and
 * out of the table now, so that a later read or write of its place starts
 * from what the inode says, never from c's stale bytes (a truncate while
 * a reader held c let a write past the new end revive them). */
static void cbury(struct kfs *fs, struct kchunk *c)
{
	c->dead = 1;
	chash_unlink(fs, c);
}

/* Remove c (clean, not loading or flushing, no refs) and free it. */
static void cremove(struct kfs *fs, struct kchunk *c)
{
	chash_unlink(fs, c);
	fs->chcount--;
	clear_dirty(fs, c);
	lru_unlink(fs, c);
	fs->bytes_cached -= c->cap;
	buf_give(fs, c->data, c->cap);
	free(c);
}

/* cinsert for inode in, noting whether the chunk is inline. */
static struct kchunk *cnew(struct kfs *fs, struct kinode *in, uint64_t idx)
{
	struct kchunk *c = cinsert(fs, in->ino, idx);
	if (c)
		c->inl = idx == 0 && in->inl;
	return c;
}

/* Whether chunk idx of in has data to read (an object or inline). */
static int has_data(const struct kinode *in, uint64_t idx)
{
	return ns_chunk_test(in, idx) || (idx == 0 && in->inl && in->ilen);
}

/* Copy inline chunk c (of in) into in's metadata. Lock held. */
static int inline_sync(struct kinode *in, struct kchunk *c)
{
	uint32_t len = c->len;
	if (len > in->size)
		len = (uint32_t)in->size;
	return ns_inline_set(in, c->data, len);
}

/* Chunk 0 of in (c, cached) outgrows KFS_INLINE_MAX: from now on it is
 * an object. When the metadata held data, every commit PUTs the chunk
 * before its log (a log must not name the object while it is missing:
 * the inline bytes may have been fsynced). Lock held. */
static void unline(struct kinode *in, struct kchunk *c)
{
	c->ordered = in->ilen > 0;
	c->inl = 0;
	ns_inline_drop(in);
}

/* Remove clean unused chunks from the LRU's tail until at most limit
 * bytes are cached. Lock held. */
static void evict_to(struct kfs *fs, uint64_t limit)
{
	struct kchunk *c = fs->lru_tail, *prev;
	while (fs->bytes_cached > limit && c) {
		prev = c->lprev;
		if (!c->dirty && !c->flushing && !c->loading && !c->refs)
			cremove(fs, c);
		c = prev;
	}
}

static void evict(struct kfs *fs)
{
	evict_to(fs, fs->o.cache_size);
}

/* Before c's data changes: a PUT in flight sends it (c->sending), so c
 * takes a copy (a whole chunk's from buf_take: a writer's pages reaching
 * a chunk after its PUT started made a fresh 1 MiB each time) and the
 * PUT keeps the buffer it sends, then gives it back (buf_give). */
static int own_data(struct kfs *fs, struct kchunk *c)
{
	uint8_t *p;
	if (!c->sending)
		return 0;
	p = c->cap == fs->chunk_size ? buf_take(fs, NULL) : malloc(c->cap);
	if (!p)
		return -ENOMEM;
	memcpy(p, c->data, c->cap);
	c->data = p;
	c->sending = 0;
	return 0;
}

/*
 * Room in c for need bytes; the bytes added read as zeros, but for
 * [skip, need), which the caller writes at once (skip = need: none). A
 * whole-chunk buffer comes from the pool or a spent chunk (buf_take),
 * not from a fresh mmap, whose page faults cost more than the copy (a
 * sequential writer's every chunk). Lock held.
 */
static int grow(struct kfs *fs, struct kchunk *c, uint32_t need, uint32_t skip)
{
	uint32_t cap = c->cap ? c->cap : 4096;
	uint8_t *p;
	int zeroed = 0;
	if (need <= c->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	/* past a quarter chunk, the whole chunk at once (a pooled buffer):
	 * a sequential writer's 1 MiB writes grew a 4 MiB chunk through
	 * 1 and 2 MiB of fresh memory (768 faults a chunk) */
	if (cap >= fs->chunk_size / 4)
		cap = fs->chunk_size;
	if (cap == fs->chunk_size && (p = buf_take(fs, &zeroed))) {
		if (c->cap)
			memcpy(p, c->data, c->cap);
		free(c->data);
	} else if (!(p = realloc(c->data, cap))) {
		return -ENOMEM;
	}
	if (skip < c->cap)
		skip = c->cap;
	/* a fresh buffer reads as zeros already: its pages are touched
	 * only where written (a sparse chunk's few units) */
	if (!zeroed && skip < need) {
		memset(p + c->cap, 0, skip - c->cap);
		memset(p + need, 0, cap - need);
	} else if (!zeroed) {
		memset(p + c->cap, 0, cap - c->cap);
	}
	fs->bytes_cached += cap - c->cap;
	if (c->dirty)
		fs->bytes_dirty += cap - c->cap;
	c->data = p;
	c->cap = cap;
	return 0;
}

static int deleting(struct kfs *fs, uint64_t ino, uint64_t idx)
{
	uint32_t i;
	for (i = 0; i < fs->ndeleting; i++)
		if (fs->deleting[i].ino == ino && fs->deleting[i].idx == idx &&
		    !fs->deleting[i].gen)
			return 1;
	return 0;
}

/*
 * A delta object ("KFD1", be32 unit, be32 count, be32 chunk length, the
 * count unit indexes in increasing order, then their bytes): GET delta
 * gen of chunk idx of ino and lay its units over data (the chunk, whose
 * first len bytes are meaningful; zeros after), which then has the
 * delta's length (bytes past it zeroed). No lock held. The length, or
 * -errno (-EIO for a missing or malformed delta: a log names it).
 */
static ssize_t load_delta(struct kfs *fs, uint64_t ino, uint64_t idx,
			  uint64_t gen, uint8_t *data, ssize_t len)
{
	struct buf b = BUF_INIT;
	char name[80];
	uint32_t unit, count, clen, i;
	ssize_t rc;
	kd_chunk_name(fs, ino, idx, gen, name, sizeof(name));
	if ((rc = swc_get(fs->sw, name, &b)))
		goto out;
	rc = -EIO;
	if (b.len < 16 || memcmp(b.data, "KFD1", 4))
		goto out;
	unit = be32_read(b.data + 4);
	count = be32_read(b.data + 8);
	clen = be32_read(b.data + 12);
	if (unit != fs->unit || count > KFS_UNITS_MAX ||
	    clen > fs->chunk_size || b.len != 16 + (size_t)count * (4 + unit))
		goto out;
	for (i = 0; i < count; i++) {
		uint32_t u = be32_read(b.data + 16 + 4 * i);
		uint64_t at = (uint64_t)u * unit;
		if (at >= fs->chunk_size)
			goto out;
		memcpy(data + at, b.data + 16 + 4 * count + (size_t)i * unit,
		       at + unit > fs->chunk_size ? fs->chunk_size - at : unit);
	}
	/* the chunk's length when the delta was stored (it may have
	 * shrunk: a truncate zeroed its end) */
	if ((ssize_t)clen < len)
		memset(data + clen, 0, (size_t)len - clen);
	rc = clen;
out:
	if (rc < 0)
		log_err("filesystem %s: delta %s: %s", fs->name, name,
			strerror((int)-rc));
	buf_free(&b);
	return rc;
}

static void unref(struct kfs *fs, struct kchunk *c)
{
	c->refs--;
	if (c->dead && !c->refs && !c->flushing && !c->loading)
		cremove(fs, c);
}

/* GET chunk idx of ino (its object, then its deltas gens[0..nd)) into
 * data (chunk_size bytes; zeros past the chunk's length). No lock held.
 * The chunk's length, or -errno. */
static ssize_t fetch(struct kfs *fs, uint64_t ino, uint64_t idx,
		     const uint64_t *gens, uint32_t nd, uint8_t *data)
{
	char name[80];
	ssize_t n;
	uint32_t i;
	kd_chunk_name(fs, ino, idx, 0, name, sizeof(name));
	n = swc_get_range(fs->sw, name, data, fs->chunk_size, 0);
	if (n == -ENOENT)
		n = 0; /* a chunk its writer never stored reads as zeros */
	if (n >= 0)
		memset(data + n, 0, fs->chunk_size - (size_t)n);
	for (i = 0; i < nd && n >= 0; i++)
		n = load_delta(fs, ino, idx, gens[i], data, n);
	return n;
}

/* A copy of the gens of chunk idx's deltas (*nd of them; NULL when none,
 * or with *nd > 0 on ENOMEM). Lock held. */
static uint64_t *delta_gens(const struct kinode *in, uint64_t idx, uint32_t *nd)
{
	uint32_t first = ns_delta_find(in, idx, nd), i;
	uint64_t *g = *nd ? malloc(*nd * sizeof(*g)) : NULL;
	for (i = 0; g && i < *nd; i++)
		g[i] = in->deltas[first + i].gen;
	return g;
}

/* Whether units [from, to) of sparse chunk c all hold data. */
static int units_valid(struct kfs *fs, const struct kchunk *c, uint32_t from,
		       uint32_t to)
{
	uint32_t u;
	for (u = from / fs->unit; u * fs->unit < to; u++)
		if (!(c->vmap[u / 64] >> (u % 64) & 1))
			return 0;
	return 1;
}

/*
 * A sparse chunk (written into without a load: only its units in vmap
 * hold data) that bytes [from, to) are wanted of is made whole: GET its
 * object and deltas and keep the units written meanwhile. Lock held
 * (dropped while fetching), c referenced. 0 or -errno.
 */
static int fill(struct kfs *fs, struct kchunk *c, uint32_t from, uint32_t to)
{
	struct kinode *in;
	uint8_t *data;
	uint64_t *gens;
	uint32_t nd, u;
	ssize_t n;
	while (c->loading)
		pthread_cond_wait(&fs->cond, &fs->lock);
	if (!c->sparse || units_valid(fs, c, from, to))
		return 0;
	if (!(in = ns_inode(&fs->ns, c->ino)))
		return -ENOENT;
	gens = delta_gens(in, c->idx, &nd);
	c->loading = 1;
	data = buf_take(fs, NULL);
	pthread_mutex_unlock(&fs->lock);
	n = data && (gens || !nd) ? fetch(fs, c->ino, c->idx, gens, nd, data)
				  : -ENOMEM;
	free(gens);
	pthread_mutex_lock(&fs->lock);
	c->loading = 0;
	pthread_cond_broadcast(&fs->cond);
	if (n < 0 || (n = own_data(fs, c))) {
		buf_give(fs, data, fs->chunk_size);
		return (int)n;
	}
	for (u = 0; u * fs->unit < fs->chunk_size; u++)
		if (!(c->vmap[u / 64] >> (u % 64) & 1))
			memcpy(c->data + (size_t)u * fs->unit,
			       data + (size_t)u * fs->unit, fs->unit);
	/* past its length a chunk holds zeros (a write may extend it) */
	memset(c->data + c->len, 0, fs->chunk_size - c->len);
	c->sparse = 0;
	buf_give(fs, data, fs->chunk_size);
	return 0;
}

/* The index of chunk idx of ino in the read-ahead queue, or -1. */
static int ra_find(const struct kfs *fs, uint64_t ino, uint64_t idx)
{
	uint32_t i;
	for (i = 0; i < fs->nra; i++)
		if (fs->ra[i].ino == ino && fs->ra[i].idx == idx)
			return (int)i;
	return -1;
}

/*
 * Load chunk (ino, idx) whole into the cache (or wait for a load in
 * flight). Called and returns with fs->lock held; *out gets the chunk
 * with a reference. 0 or -errno.
 */
static int load(struct kfs *fs, struct kinode *in, uint64_t idx,
		struct kchunk **out)
{
	struct kchunk *c;
	uint8_t *data;
	uint64_t *gens, ino = in->ino;
	uint32_t nd;
	ssize_t n;
	int i;
	for (;;) {
		c = cfind(fs, in->ino, idx);
		if (!c || !c->loading)
			break;
		pthread_cond_wait(&fs->cond, &fs->lock);
	}
	if (c) {
		int rc;
		c->refs++;
		lru_front(fs, c);
		if ((rc = fill(fs, c, 0, fs->chunk_size))) {
			unref(fs, c);
			return rc;
		}
		*out = c;
		return 0;
	}
	if (!(c = cnew(fs, in, idx)))
		return -ENOMEM;
	c->refs++;
	if (c->inl && in->ilen) { /* inline: from the metadata */
		int rc = grow(fs, c, in->ilen, in->ilen);
		if (rc) {
			c->refs--;
			if (!c->dirty && !c->refs)
				cremove(fs, c);
			return rc;
		}
		memcpy(c->data, in->idata, in->ilen);
		c->len = in->ilen;
	}
	if (c->inl || !ns_chunk_test(in, idx)) { /* a hole: zeros, no GET */
		*out = c;
		return 0;
	}
	c->loading = 1;
	c->based = 1;
	/* a read-ahead still queued for it would load it again after
	 * its reader has gone past it and it was evicted */
	if ((i = ra_find(fs, ino, idx)) >= 0)
		memmove(fs->ra + i, fs->ra + i + 1,
			(fs->nra-- - (uint32_t)i - 1) * sizeof(*fs->ra));
	gens = delta_gens(in, idx, &nd);
	data = buf_take(fs, NULL);
	pthread_mutex_unlock(&fs->lock);
	n = data && (gens || !nd) ? fetch(fs, ino, idx, gens, nd, data)
				  : -ENOMEM;
	free(gens);
	pthread_mutex_lock(&fs->lock);
	c->loading = 0;
	pthread_cond_broadcast(&fs->cond);
	if (n < 0) {
		buf_give(fs, data, fs->chunk_size);
		c->refs--;
		if (!c->dirty && !c->refs)
			cremove(fs, c);
		return (int)n;
	}
	if (c->cap) { /* written meanwhile (a hole filled): keep writes */
		buf_give(fs, data, fs->chunk_size);
	} else {
		c->data = data;
		c->cap = fs->chunk_size;
		c->len = (uint32_t)n;
		fs->bytes_cached += c->cap;
	}
	*out = c;
	return 0;
}

/* Replace one entry from by to in fs->flying (a PUT starts: 0 → ino;
 * ends: ino → 0). Only workers PUT chunks, and there are at most 64. */
static void fly(struct kfs *fs, uint64_t from, uint64_t to)
{
	size_t i;
	for (i = 0; i < sizeof(fs->flying) / sizeof(*fs->flying); i++)
		if (fs->flying[i] == from) {
			fs->flying[i] = to;
			break;
		}
}

/* Whether c's next PUT may be a delta (lock held): the cluster holds the
 * chunk, few of its units changed, and its deltas stay under half the
 * chunk and KFS_DELTAS_MAX (past that it goes whole, and they go). The
 * units to send (of the first len bytes) are counted into *units. */
static int delta_ok(struct kfs *fs, struct kchunk *c, struct kinode *in,
		    uint32_t len, uint32_t *units)
{
	uint32_t per = fs->chunk_size / fs->unit, n, first, i, u, had = 0;
	*units = 0;
	for (u = 0; u < per && u * fs->unit < len; u++)
		*units += (uint32_t)(c->umap[u / 64] >> (u % 64) & 1);
	if (!in || !c->based || !ns_chunk_test(in, c->idx) || !*units ||
	    *units * 4 > per)
		return 0;
	first = ns_delta_find(in, c->idx, &n);
	for (i = first; i < first + n; i++)
		had += in->deltas[i].units;
	return n < KFS_DELTAS_MAX && (had + *units) * 2 <= per;
}

/* The body of a delta of c with its units changed among the first len
 * bytes (see load_delta); NULL on ENOMEM. Lock held. */
static uint8_t *delta_body(struct kfs *fs, struct kchunk *c, uint32_t len,
			   uint32_t units, size_t *blen)
{
	uint32_t u, k = 0;
	uint8_t *b;
	*blen = 16 + (size_t)units * (4 + fs->unit);
	if (!(b = malloc(*blen)))
		return NULL;
	memcpy(b, "KFD1", 4);
	put32(b + 4, fs->unit);
	put32(b + 8, units);
	put32(b + 12, len);
	for (u = 0; k < units; u++) {
		uint8_t *to = b + 16 + 4 * units + (size_t)k * fs->unit;
		uint64_t at = (uint64_t)u * fs->unit, have;
		if (!(c->umap[u / 64] >> (u % 64) & 1))
			continue;
		put32(b + 16 + 4 * k, u);
		have = at < c->cap ? c->cap - at : 0;
		if (have > fs->unit)
			have = fs->unit;
		memcpy(to, c->data + at, have);
		memset(to + have, 0, fs->unit - have);
		k++;
	}
	return b;
}

/*
 * Flush c if dirty (lock held, dropped around the PUT): as a delta object
 * of the units written since its last PUT (delta_ok), named in the inode
 * once stored; else whole, in place, after which its deltas are queued
 * for deletion (the next log no longer names them). Either way the delta
 * list as it then is goes into a commit waiting between cut and log.
 */
static int flush_chunk(struct kfs *fs, struct kchunk *c)
{
	struct kinode *in;
	char name[80];
	uint8_t *body;
	uint64_t fsize, gen = 0, umap[KFS_UNITS_MAX / 64];
	uint32_t len, units;
	size_t blen;
	uint32_t bcap = 0;
	int rc, ordered, ok, full;
	c->refs++;
again:
	while (c->flushing || deleting(fs, c->ino, c->idx))
		pthread_cond_wait(&fs->cond, &fs->lock);
	if (!c->dirty || c->dead) {
		unref(fs, c);
		return 0;
	}
	in = ns_inode(&fs->ns, c->ino);
	fsize = in ? in->size : 0;
	len = c->len;
	if ((uint64_t)c->idx * fs->chunk_size + len > fsize)
		len = fsize > c->idx * fs->chunk_size
			      ? (uint32_t)(fsize - c->idx * fs->chunk_size)
			      : 0;
	ok = delta_ok(fs, c, in, len, &units);
	if (!ok && c->sparse) { /* a whole PUT needs the whole chunk */
		if ((rc = fill(fs, c, 0, fs->chunk_size))) {
			fs->flush_error = rc;
			fs->flush_error_ino = c->ino;
			fs->flush_errors++;
			pthread_cond_broadcast(&fs->cond);
			unref(fs, c);
			return rc;
		}
		goto again;
	}
	if (ok) {
		gen = fs->lease_epoch << 32 | ++fs->ngen;
		body = delta_body(fs, c, len, units, &blen);
	} else { /* the chunk's buffer itself (own_data before changes) */
		blen = len;
		body = c->data;
		bcap = c->cap;
		c->sending = c->data != NULL;
	}
	if (!body && (gen || len)) {
		unref(fs, c);
		return -ENOMEM;
	}
	memcpy(umap, c->umap, sizeof(umap));
	memset(c->umap, 0, sizeof(c->umap));
	full = c->full;
	clear_dirty(fs, c);
	c->flushing = 1;
	fs->nflushing++;
	fly(fs, 0, c->ino);
	ordered = c->ordered;
	fs->ordered_flying += ordered;
	kd_chunk_name(fs, c->ino, c->idx, gen, name, sizeof(name));
	pthread_mutex_unlock(&fs->lock);
	rc = swc_put(fs->sw, name, body ? body : (uint8_t *)"", blen, 0);
	pthread_mutex_lock(&fs->lock);
	if (gen)
		free(body);	  /* a delta */
	else if (body != c->data) /* a buffer c replaced (own_data) */
		buf_give(fs, body, bcap);
	else
		c->sending = 0;
	c->flushing = 0;
	fs->nflushing--;
	fly(fs, c->ino, 0);
	fs->ordered_flying -= ordered;
	in = ns_inode(&fs->ns, c->ino);
	if (in && in->freed)
		in = NULL;
	if (!rc && gen) {
		if (!in || c->dead || !ns_chunk_test(in, c->idx))
			kd_queue_delete(fs, c->ino, c->idx, gen); /* dropped */
		else if (!(rc = ns_delta_add(&fs->ns, in, c->idx, gen, units)))
			amend(fs, in, c->idx);
	} else if (!rc) {
		c->based = 1;
		if (in) {
			uint32_t n;
			ns_delta_find(in, c->idx, &n);
			if (n) {
				drop_deltas(fs, in, c->idx);
				amend(fs, in, c->idx);
			}
		}
	}
	if (!rc && !c->dirty)
		c->ordered = 0;
	/* a sequential writer's chunk: its buffer goes to the next one */
	if (!rc && !c->dirty && full && !c->dead)
		lru_back(fs, c);
	if (rc) {
		fs->flush_error = rc;
		fs->flush_error_ino = c->ino;
		fs->flush_errors++;
		/* the units sent stay to be sent */
		for (units = 0; units < KFS_UNITS_MAX / 64; units++)
			c->umap[units] |= umap[units];
		if (!c->dead && !c->dirty) {
			mark_dirty(fs, c);
			c->epoch = 0; /* oldest: retried first */
		}
	}
	pthread_cond_broadcast(&fs->cond);
	unref(fs, c);
	evict(fs);
	return rc;
}

/*
 * The dirty chunk a worker should PUT next, or NULL (lock held): one an
 * fsync waits for; else one its writer filled and left (a whole chunk
 * freed per PUT: a sequential writer is not held behind a backlog of
 * small files); else the oldest, when over half of dirty_max or when a
 * commit waits for its epoch.
 */
static struct kchunk *pick(struct kfs *fs)
{
	struct kchunk *c, *oldest = NULL;
	for (c = fs->dirty_head; c; c = c->dnext) {
		if (c->flushing)
			continue;
		if (c->urgent || (!fs->nurgent && c->full))
			return c;
		if (!oldest)
			oldest = c;
		if (!fs->nurgent && !fs->nfull)
			break;
	}
	if (oldest && (fs->bytes_dirty > fs->o.dirty_max / 2 ||
		       oldest->epoch <= fs->flush_target))
		return oldest;
	return NULL;
}

/* Whether a read-ahead chunk fits in the cache, once clean chunks are
 * evicted from the LRU's tail for it (those a sequential reader went
 * past come first, lru_back). Lock held. */
static int room(struct kfs *fs)
{
	if (fs->o.cache_size < fs->chunk_size)
		return 0;
	evict_to(fs, fs->o.cache_size - fs->chunk_size);
	return fs->bytes_cached + fs->chunk_size <= fs->o.cache_size;
}

static void *worker(void *arg)
{
	struct kfs *fs = arg;
	pthread_mutex_lock(&fs->lock);
	while (fs->stopping < 2) {
		struct kchunk *c = pick(fs);
		if (c) {
			flush_chunk(fs, c);
			continue;
		}
		if (fs->nra) {
			struct kdel r = fs->ra[--fs->nra];
			struct kinode *in = ns_inode(&fs->ns, r.ino);
			if (in && !in->freed && !cfind(fs, r.ino, r.idx) &&
			    ns_chunk_test(in, r.idx) && room(fs)) {
				struct kchunk *k;
				if (!load(fs, in, r.idx, &k))
					unref(fs, k);
			}
			continue;
		}
		pthread_cond_wait(&fs->work, &fs->lock);
	}
	pthread_mutex_unlock(&fs->lock);
	return NULL;
}

int kd_start(struct kfs *fs)
{
	int i;
	fs->unit = fs->chunk_size / KFS_UNITS_MAX > 4096
			   ? fs->chunk_size / KFS_UNITS_MAX
			   : 4096;
	if (!fs->ch) {
		fs->chnb = 1024;
		fs->ch = calloc(fs->chnb, sizeof(*fs->ch));
	}
	fs->workers = calloc((size_t)fs->o.threads, sizeof(*fs->workers));
	if (!fs->ch || !fs->workers)
		return -ENOMEM;
	for (i = 0; i < fs->o.threads; i++) {
		if (pthread_create(&fs->workers[i], NULL, worker, fs))
			return -EAGAIN;
		fs->nworkers++;
	}
	return 0;
}

void kd_stop(struct kfs *fs)
{
	int i;
	pthread_mutex_lock(&fs->lock);
	fs->stopping = 2;
	pthread_cond_broadcast(&fs->work);
	pthread_mutex_unlock(&fs->lock);
	for (i = 0; i < fs->nworkers; i++)
		pthread_join(fs->workers[i], NULL);
	while (fs->lru_head) {
		fs->lru_head->dirty = 0;
		cremove(fs, fs->lru_head);
	}
	while (fs->npool)
		free(fs->pool[--fs->npool]);
	free(fs->ch);
	free(fs->workers);
	free(fs->ra);
	free(fs->dels);
	free(fs->deleting);
	buf_free(&fs->amend);
}

/* Queue read-ahead of the chunks after idx, or after the one the reader
 * asked for last (seq_end: the furthest byte; the kernel sends several
 * reads at once, and one that waited for its chunk must not queue again
 * the chunks the others have read past and evicted). Lock held. */
static void readahead(struct kfs *fs, struct kinode *in, uint64_t idx,
		      uint64_t seq_end)
{
	int i, queued = 0;
	if ((seq_end - 1) / fs->chunk_size > idx)
		idx = (seq_end - 1) / fs->chunk_size;
	for (i = 1; i <= fs->o.readahead; i++) {
		uint64_t k = idx + (uint64_t)i;
		if (k * fs->chunk_size >= in->size || cfind(fs, in->ino, k) ||
		    !ns_chunk_test(in, k) || ra_find(fs, in->ino, k) >= 0)
			continue;
		if (fs->nra == fs->capra) {
			uint32_t cap = fs->capra ? fs->capra * 2 : 64;
			struct kdel *p = realloc(fs->ra, cap * sizeof(*p));
			if (!p)
				return;
			fs->ra = p;
			fs->capra = cap;
		}
		/* a stack: the nearest chunk is taken first */
		memmove(fs->ra + 1, fs->ra, fs->nra * sizeof(*fs->ra));
		fs->ra[0] = (struct kdel){in->ino, k};
		fs->nra++;
		if (fs->nra > 256)
			fs->nra = 256;
		queued++;
	}
	/* one worker per chunk, not all of them for each */
	while (queued--)
		pthread_cond_signal(&fs->work);
}

ssize_t kd_read(struct kfs *fs, struct kinode *in, char *buf, size_t size,
		uint64_t off, const uint64_t *seq_end)
{
	size_t done = 0;
	if (off >= in->size)
		return 0;
	if (size > in->size - off)
		size = (size_t)(in->size - off);
	while (done < size) {
		uint64_t pos = off + done, idx = pos / fs->chunk_size;
		uint32_t co = (uint32_t)(pos % fs->chunk_size);
		size_t n = fs->chunk_size - co;
		struct kchunk *c = cfind(fs, in->ino, idx);
		uint32_t nd;
		if (n > size - done)
			n = size - done;
		if (c && c->loading) {
			pthread_cond_wait(&fs->cond, &fs->lock);
			continue;
		}
		if (!c && !has_data(in, idx)) {
			memset(buf + done, 0, n);
		} else if (c || seq_end || n == fs->chunk_size ||
			   !ns_chunk_test(in, idx) ||
			   (ns_delta_find(in, idx, &nd), nd)) {
			/* cached, inline, or with deltas: the whole chunk */
			int rc;
			if (!c) {
				if ((rc = load(fs, in, idx, &c)))
					return done ? (ssize_t)done : rc;
			} else {
				c->refs++;
				lru_front(fs, c);
				if ((rc = fill(fs, c, co, co + (uint32_t)n))) {
					unref(fs, c);
					return done ? (ssize_t)done : rc;
				}
			}
			if (co < c->len) {
				size_t k = c->len - co < n ? c->len - co : n;
				memcpy(buf + done, c->data + co, k);
				memset(buf + done + k, 0, n - k);
			} else {
				memset(buf + done, 0, n);
			}
			if (seq_end && co + n == fs->chunk_size)
				lru_back(fs, c); /* read past: evicted first */
			unref(fs, c);
			if (seq_end && (co + n == fs->chunk_size || co == 0))
				readahead(fs, in, idx, *seq_end);
		} else { /* random: fetch only these bytes */
			char name[80];
			ssize_t got;
			uint64_t ino = in->ino;
			kd_chunk_name(fs, ino, idx, 0, name, sizeof(name));
			pthread_mutex_unlock(&fs->lock);
			got = swc_get_range(fs->sw, name, buf + done, n, co);
			pthread_mutex_lock(&fs->lock);
			if (got == -ENOENT)
				got = 0;
			if (got < 0)
				return done ? (ssize_t)done : got;
			memset(buf + done + got, 0, n - (size_t)got);
		}
		done += n;
	}
	evict(fs);
	return (ssize_t)done;
}

/* Whether a write of [from, to) into chunk idx of in, not cached, may
 * start a sparse chunk: the cluster holds the chunk and the write covers
 * whole units (or ends at the end of file: the rest of its unit is
 * zeros). */
static int sparse_ok(struct kfs *fs, struct kinode *in, uint64_t idx,
		     uint32_t from, uint32_t to, int eof)
{
	return ns_chunk_test(in, idx) && !in->inl && from % fs->unit == 0 &&
	       (to % fs->unit == 0 || eof);
}

/* Whether the units a write of [from, to) covers in part hold data in
 * sparse chunk c (or the part after it is past the end of file). */
static int edges_valid(struct kfs *fs, const struct kchunk *c, uint32_t from,
		       uint32_t to, int eof)
{
	if (from % fs->unit && !units_valid(fs, c, from, from + 1))
		return 0;
	return to % fs->unit == 0 || eof || units_valid(fs, c, to - 1, to);
}

/* The units [from, to) touches of sparse chunk c now hold data. */
static void mark_valid(struct kfs *fs, struct kchunk *c, uint32_t from,
		       uint32_t to)
{
	uint32_t u;
	for (u = from / fs->unit; u < KFS_UNITS_MAX && u * fs->unit < to; u++)
		c->vmap[u / 64] |= 1ULL << (u % 64);
}

/* How many bytes of the file chunk idx of in holds (0 to chunk_size). */
static uint32_t file_part(const struct kfs *fs, const struct kinode *in,
			  uint64_t idx)
{
	uint64_t start = idx * fs->chunk_size;
	if (in->size <= start)
		return 0;
	return in->size - start < fs->chunk_size ? (uint32_t)(in->size - start)
						 : fs->chunk_size;
}

/* Remove c, just made and unreferenced, if nothing else holds it. */
static void cremove_unused(struct kfs *fs, struct kchunk *c)
{
	if (!c->dirty && !c->refs && !c->flushing && !c->loading)
		cremove(fs, c);
}

ssize_t kd_write(struct kfs *fs, struct kinode *in, const char *buf,
		 size_t size, uint64_t off)
{
	size_t done = 0;
	uint64_t ino = in->ino;
	if (off + size > KFS_MAX_SIZE || off + size < off)
		return -EFBIG;
	while (fs->bytes_dirty > fs->o.dirty_max && fs->stopping < 2) {
		pthread_cond_broadcast(&fs->work);
		pthread_cond_wait(&fs->cond, &fs->lock);
	}
	if (!(in = ns_inode(&fs->ns, ino)))
		return -ENOENT;
	while (done < size) {
		uint64_t pos = off + done, idx = pos / fs->chunk_size;
		uint32_t co = (uint32_t)(pos % fs->chunk_size);
		size_t n = fs->chunk_size - co;
		struct kchunk *c = cfind(fs, ino, idx);
		int rc, eof;
		if (n > size - done)
			n = size - done;
		if (c && c->loading) {
			pthread_cond_wait(&fs->cond, &fs->lock);
			continue;
		}
		eof = pos + n >= in->size;
		if (!c && (n == fs->chunk_size || !has_data(in, idx))) {
			if (!(c = cnew(fs, in, idx)))
				return done ? (ssize_t)done : -ENOMEM;
			c->refs++;
		} else if (!c &&
			   sparse_ok(fs, in, idx, co, co + (uint32_t)n, eof)) {
			/* whole units of a stored chunk: no load */
			if (!(c = cnew(fs, in, idx)))
				return done ? (ssize_t)done : -ENOMEM;
			c->refs++;
			c->sparse = c->based = 1;
			/* not zeroed: only the units in vmap are ever read
			 * (fill brings the others), and a write ending at
			 * the end of file zeroes the rest of its unit below;
			 * zeroing a pooled buffer faulted in all its pages */
			if ((rc = grow(fs, c, fs->chunk_size, 0))) {
				unref(fs, c);
				cremove_unused(fs, c);
				return done ? (ssize_t)done : rc;
			}
			/* the file's bytes in it */
			c->len = file_part(fs, in, idx);
		} else if (!c) {
			if ((rc = load(fs, in, idx, &c)))
				return done ? (ssize_t)done : rc;
			if (!(in = ns_inode(&fs->ns, ino)))
				return -ENOENT;
		} else {
			c->refs++;
			lru_front(fs, c);
			if (c->sparse &&
			    !edges_valid(fs, c, co, co + (uint32_t)n, eof)) {
				if ((rc = fill(fs, c, 0, fs->chunk_size))) {
					unref(fs, c);
					return done ? (ssize_t)done : rc;
				}
				if (!(in = ns_inode(&fs->ns, ino))) {
					unref(fs, c);
					return -ENOENT;
				}
			}
		}
		if (c->inl && co + n > KFS_INLINE_MAX)
			unline(in, c);
		if ((rc = own_data(fs, c)) ||
		    (rc = grow(fs, c, co + (uint32_t)n, co)) ||
		    (!c->inl && (rc = ns_chunk_set(&fs->ns, in, idx)))) {
			unref(fs, c);
			return done ? (ssize_t)done : rc;
		}
		memcpy(c->data + co, buf + done, n);
		mark_units(fs, c, co, co + (uint32_t)n);
		if (c->sparse) { /* edges valid or past the end of file */
			uint32_t to = co + (uint32_t)n, end = to + fs->unit - 1;
			end = end / fs->unit * fs->unit;
			if (end > fs->chunk_size)
				end = fs->chunk_size;
			if (eof) /* past the end of file: zeros */
				memset(c->data + to, 0, end - to);
			mark_valid(fs, c, co, to);
		}
		if (co + n > c->len)
			c->len = co + (uint32_t)n;
		if (pos + n > in->size)
			in->size = pos + n;
		if (c->inl) {
			rc = inline_sync(in, c);
		} else {
			mark_dirty(fs, c);
			/* a writer that wrote all of the chunk has left it
			 * (the kernel's writeback may send its pages out of
			 * order: reaching its end is not enough, a PUT then
			 * went before the last pages came and a second one
			 * after them) */
			if (units_all(fs, c))
				want_flush(fs, c, 0);
		}
		unref(fs, c);
		if (rc)
			return done ? (ssize_t)done : rc;
		done += n;
	}
	ns_touch(&fs->ns, in);
	evict(fs);
	return (ssize_t)done;
}

int kd_queue_delete(struct kfs *fs, uint64_t ino, uint64_t idx, uint64_t gen)
{
	if (fs->ndels == fs->capdels) {
		uint64_t cap = fs->capdels ? fs->capdels * 2 : 256;
		struct kdel *p = realloc(fs->dels, cap * sizeof(*p));
		if (!p)
			return -ENOMEM; /* left to the mount-time sweep */
		fs->dels = p;
		fs->capdels = cap;
	}
	fs->dels[fs->ndels++] = (struct kdel){ino, idx, gen};
	return 0;
}

/* Drop chunk idx of in from the cache (waiting for a flush in flight). */
static void drop_chunk(struct kfs *fs, uint64_t ino, uint64_t idx)
{
	struct kchunk *c;
	while ((c = cfind(fs, ino, idx)) && (c->flushing || c->loading))
		pthread_cond_wait(&fs->cond, &fs->lock);
	if (!c)
		return;
	clear_dirty(fs, c);
	if (c->refs)
		cbury(fs, c);
	else
		cremove(fs, c);
}

/* Zero [from, to) of chunk idx, which stays (lock held). */
static int zero_in_chunk(struct kfs *fs, struct kinode *in, uint64_t idx,
			 uint32_t from, uint32_t to)
{
	struct kchunk *c;
	int rc;
	uint64_t ino = in->ino;
	if (!has_data(in, idx) && !cfind(fs, ino, idx))
		return 0;
	if ((rc = load(fs, in, idx, &c)))
		return rc;
	if (from < c->len && !(rc = own_data(fs, c))) {
		uint32_t end = to < c->len ? to : c->len;
		memset(c->data + from, 0, end - from);
		mark_units(fs, c, from, end);
		if (end == c->len)
			c->len = from;
		if (!c->inl)
			mark_dirty(fs, c);
		else if ((in = ns_inode(&fs->ns, ino)))
			rc = inline_sync(in, c);
	}
	unref(fs, c);
	return rc;
}

int kd_zero(struct kfs *fs, struct kinode *in, uint64_t off, uint64_t len)
{
	uint64_t end = off + len, idx;
	uint64_t ino = in->ino;
	int rc = 0;
	if (end > in->size)
		end = in->size;
	if (off >= end)
		return 0;
	if (in->inl && off < fs->chunk_size && off < end) { /* inline chunk 0 */
		uint64_t to = end < fs->chunk_size ? end : fs->chunk_size;
		if (off == 0 && to == fs->chunk_size) {
			drop_chunk(fs, ino, 0);
			if ((in = ns_inode(&fs->ns, ino)))
				rc = ns_inline_set(in, NULL, 0);
		} else {
			rc = zero_in_chunk(fs, in, 0, (uint32_t)off,
					   (uint32_t)to);
		}
		if (rc || !(in = ns_inode(&fs->ns, ino)))
			return rc ? rc : -ENOENT;
	}
	/* only chunks with a bit hold data (a cached hole is empty) */
	for (idx = ns_chunk_next(in, off / fs->chunk_size);
	     idx != UINT64_MAX && idx * fs->chunk_size < end;) {
		uint64_t cs = idx * fs->chunk_size, ce = cs + fs->chunk_size;
		uint64_t from = off > cs ? off - cs : 0;
		uint64_t to = end < ce ? end - cs : fs->chunk_size;
		if (from == 0 && to == fs->chunk_size) {
			drop_chunk(fs, ino, idx);
			if ((in = ns_inode(&fs->ns, ino)) &&
			    ns_chunk_test(in, idx)) {
				ns_chunk_clear(&fs->ns, in, idx);
				kd_queue_delete(fs, ino, idx, 0);
				drop_deltas(fs, in, idx);
			}
		} else if ((rc = zero_in_chunk(fs, in, idx, (uint32_t)from,
					       (uint32_t)to))) {
			return rc;
		}
		if (!(in = ns_inode(&fs->ns, ino)))
			return -ENOENT;
		idx = ns_chunk_next(in, idx + 1);
	}
	return 0;
}

int kd_truncate(struct kfs *fs, struct kinode *in, uint64_t size)
{
	uint64_t ino = in->ino, old = in->size;
	int rc;
	if (size > KFS_MAX_SIZE)
		return -EFBIG;
	if (size < old) {
		if ((rc = kd_zero(fs, in, size, old - size)))
			return rc;
		if (!(in = ns_inode(&fs->ns, ino)))
			return -ENOENT;
	}
	in->size = size;
	ns_touch(&fs->ns, in);
	return 0;
}

void kd_drop_inode(struct kfs *fs, struct kinode *in)
{
	uint64_t ino = in->ino, idx;
	struct kchunk *c, *nx;
	uint32_t i;
	/* cached chunks: scan the LRU (chunks without a bit included) */
	for (c = fs->lru_head; c; c = nx) {
		nx = c->lnext;
		if (c->ino == ino && !c->flushing && !c->loading) {
			clear_dirty(fs, c);
			if (c->refs)
				cbury(fs, c);
			else
				cremove(fs, c);
		} else if (c->ino == ino) {
			/* stays findable: a DELETE waits for its PUT */
			c->dead = 1;
			clear_dirty(fs, c);
		}
	}
	for (idx = ns_chunk_next(in, 0); idx != UINT64_MAX;
	     idx = ns_chunk_next(in, idx + 1))
		kd_queue_delete(fs, ino, idx, 0);
	for (i = 0; i < in->ndeltas; i++)
		kd_queue_delete(fs, ino, in->deltas[i].idx, in->deltas[i].gen);
}

void kd_order_inode(struct kfs *fs, uint64_t ino)
{
	struct kchunk *c;
	for (c = fs->dirty_head; c; c = c->dnext)
		if (c->ino == ino)
			c->ordered = 1;
}

/* Chunks of ino (or all, KD_ALL) of epoch <= epoch still dirty or in
 * flight; those dirty are marked urgent when one inode is asked for. */
static int flush_pending(struct kfs *fs, uint64_t epoch, uint64_t ino)
{
	struct kchunk *c;
	size_t i;
	int busy = 0;
	for (c = fs->dirty_head; c; c = c->dnext) {
		if (c->epoch > epoch ||
		    (ino != KD_ALL && c->ino != ino && !c->ordered))
			continue;
		busy = 1;
		if (ino == KD_ALL)
			break;
		want_flush(fs, c, 1);
	}
	if (ino == KD_ALL)
		return busy || fs->nflushing;
	for (i = 0; i < sizeof(fs->flying) / sizeof(*fs->flying); i++)
		busy |= fs->flying[i] == ino;
	return busy || fs->ordered_flying;
}

int kd_flush_epoch(struct kfs *fs, uint64_t epoch, uint64_t ino)
{
	uint64_t errors = fs->flush_errors;
	int rc = 0;
	if (ino == KD_ALL && epoch > fs->flush_target)
		fs->flush_target = epoch;
	pthread_cond_broadcast(&fs->work);
	while (flush_pending(fs, epoch, ino)) {
		if (fs->flush_errors != errors &&
		    (ino == KD_ALL || fs->flush_error_ino == ino)) {
			rc = fs->flush_error;
			break;
		}
		pthread_cond_wait(&fs->cond, &fs->lock);
	}
	return rc;
}

int kd_delete_now(struct kfs *fs, uint64_t ino, uint64_t idx, uint64_t gen)
{
	struct kinode *in = ns_inode(&fs->ns, ino);
	char name[80];
	uint32_t i;
	int rc;
	/* a chunk written again since keeps its newer data; a delta is
	 * never stored again under its name */
	if (!gen && in && !in->freed &&
	    (ns_chunk_test(in, idx) || cfind(fs, ino, idx)))
		return 0;
	while (!gen && cfind(fs, ino, idx) && cfind(fs, ino, idx)->flushing)
		pthread_cond_wait(&fs->cond, &fs->lock);
	if (fs->ndeleting == fs->capdeleting) {
		uint32_t cap = fs->capdeleting ? fs->capdeleting * 2 : 16;
		struct kdel *p = realloc(fs->deleting, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		fs->deleting = p;
		fs->capdeleting = cap;
	}
	fs->deleting[fs->ndeleting++] = (struct kdel){ino, idx, gen};
	kd_chunk_name(fs, ino, idx, gen, name, sizeof(name));
	pthread_mutex_unlock(&fs->lock);
	rc = swc_delete(fs->sw, name);
	pthread_mutex_lock(&fs->lock);
	for (i = 0; i < fs->ndeleting; i++)
		if (fs->deleting[i].ino == ino && fs->deleting[i].idx == idx &&
		    fs->deleting[i].gen == gen) {
			fs->deleting[i] = fs->deleting[--fs->ndeleting];
			break;
		}
	pthread_cond_broadcast(&fs->cond);
	return rc == -ENOENT ? 0 : rc;
}
