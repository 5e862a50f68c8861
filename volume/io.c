/*
 * volume/io.c: an open disk: the block-export callbacks (export.h) over
 * chunk objects, with a bounded cache of clean chunks and write-back of
 * dirty ones. Which disk records exist, snapshots, clones and deletes are
 * volume.c's; the stored formats are record.c's.
 *
 * A chunk in memory:
 *
 *            read miss (GET whole chunk)        write (RMW if partial)
 *   absent ─────────────────────────▶ clean ────────────────────────▶ dirty
 *     ▲  ◀───────────────────────────  │  ◀──────────────────────────  │
 *     │     evicted (LRU, cache_bytes)  PUT on quorum, no write since │
 *     └──────────────────────────────────────────────────────────────┘
 *                         trim/zero of the whole chunk
 *
 * Invariants:
 *  1. c->in_lru iff c->data && !c->dirty (chunk lock and cache_lock held
 *     to change it), but for a clean chunk whose PUT is still in flight,
 *     which may wait outside the LRU until it ends (cache_trim skips it
 *     anyway); c->in_dirty iff c->dirty (chunk lock and dirty_lock).
 *  2. At most one PUT of a chunk is in flight (c->flushing); it sends
 *     the chunk's buffer itself (c->sending), which nobody changes: a
 *     write meanwhile first gives the chunk a copy (own_data), so writes
 *     and reads go on; the chunk stays dirty until a PUT of its newest
 *     data (wseq) is on a quorum of replicas, and c->sseq is the newest
 *     wseq stored so. The PUT stays in flight (c->flushing, its buffer
 *     not evicted) until the last replica answered.
 *  3. A chunk's map entry changes only with the chunk's PUT on a quorum
 *     (flush_chunk, chunk_stored) or the chunk lock held (drop_chunk), and always after
 *     the object it names exists: write the chunk object first, then the
 *     map (vol_disk_save_map), so a stored map never names a missing chunk.
 *  4. An object <self>/<rec.gen>/<i> is referenced by no other disk (a
 *     snapshot or clone bumps the source's gen first, vol_disk_freeze):
 *     it is overwritten in place and deleted on trim. Older generations
 *     are frozen: a write makes a new object; gc.c frees them, or the
 *     disk itself when it is alone in its family (d->solo): what its map
 *     stops naming is then deleted right after the map is stored.
 *  5. flush (vol_disk_flush_all) returns once every write acknowledged
 *     before it is in a chunk object and the map naming it is saved. It
 *     queues the PUTs of its dirty chunks (one queued job per chunk at
 *     most, c->queued; concurrent flushes share them) and waits for them
 *     in its own thread (settle): a pool worker never waits for another.
 *
 *  6. c->valid says which 64ths of c->data hold the chunk's bytes: a
 *     write of whole blocks to a stored chunk not in memory reads
 *     nothing (a sequential writer covers the chunk before its PUT);
 *     the rest comes from the stored chunk (complete_chunk) before a read
 *     of it, a write of part of a block, or the PUT. A clean chunk, and
 *     one being sent, is whole (VALID_ALL).
 *
 * Lock order: gen_lock → chunk lock → map_lock | save_lock → cache_lock |
 * dirty_lock → pool/jobs locks. Eviction takes chunk locks with trylock
 * only, under cache_lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/objclient.h"
#include "volume/vcore.h"

#define CS(d) ((d)->rec.chunk_size)

/* --- chunks, cache, dirty list ------------------------------------------- */

/* Where chunk idx (< d->nchunks) is kept. */
static struct vol_chunk **chunk_slot(struct vol_disk *d, uint32_t idx)
{
	struct vol_chunk ***pages =
		__atomic_load_n(&d->pages, __ATOMIC_ACQUIRE);

	return &pages[idx >> VOL_PAGE_SHIFT][idx & VOL_PAGE_MASK];
}

/* The chunk idx if it was ever used, else NULL. */
static struct vol_chunk *chunk_peek(struct vol_disk *d, uint32_t idx)
{
	return __atomic_load_n(chunk_slot(d, idx), __ATOMIC_ACQUIRE);
}

/* The chunk of index idx, created on first use (never freed while the disk
 * is open). NULL on ENOMEM. */
static struct vol_chunk *get_chunk(struct vol_disk *d, uint32_t idx)
{
	struct vol_chunk **slot = chunk_slot(d, idx), *c, *exp = NULL;

	c = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	vol_link_init(&c->lru);
	vol_link_init(&c->dirtyl);
	c->d = d;
	c->idx = idx;
	if (!__atomic_compare_exchange_n(slot, &exp, c, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->lock);
		free(c);
		return exp;
	}
	return c;
}

/* c->data and s->clean_bytes change under their locks but are also read
 * without them, as hints (read-ahead, the cache's room): atomic. */
static void set_data(struct vol_chunk *c, uint8_t *data)
{
	__atomic_store_n(&c->data, data, __ATOMIC_RELEASE);
}

static void clean_add(struct vol_store *s, int64_t n)
{
	__atomic_add_fetch(&s->clean_bytes, (uint64_t)n, __ATOMIC_RELAXED);
}

/* A chunk buffer of size bytes (contents undefined): a spare one when
 * size is the store's chunk size and one is kept. NULL on ENOMEM. */
static uint8_t *chunk_alloc(struct vol_store *s, size_t size)
{
	void *p = NULL;

	if (size == s->conf.chunk_size) {
		pthread_mutex_lock(&s->spare_lock);
		p = s->spares;
		if (p) {
			memcpy(&s->spares, p, sizeof(void *));
			s->nspares--;
		}
		pthread_mutex_unlock(&s->spare_lock);
	}
	return p ? p : malloc(size);
}

/*
 * Give back a chunk_alloc buffer (NULL is fine): kept as a spare while
 * fewer than VOL_SPARES are or the spares and the clean chunks fit in
 * cache_bytes, else freed. So the chunks of a disk closed (each NBD
 * connection's end) are the next disk's buffers: a fresh one costs a
 * page fault and a cleared page per 4 KiB (a GiB written after a
 * reconnect faulted ~250k pages, ~10% of kumo-volumed's CPU). Any lock
 * may be held.
 */
static void chunk_free(struct vol_store *s, uint8_t *p, size_t size)
{
	uint64_t clean;

	if (p && size == s->conf.chunk_size) {
		clean = __atomic_load_n(&s->clean_bytes, __ATOMIC_RELAXED);
		pthread_mutex_lock(&s->spare_lock);
		if (s->nspares < VOL_SPARES ||
		    clean + (uint64_t)(s->nspares + 1) * size <=
			    s->conf.cache_bytes) {
			memcpy(p, &s->spares, sizeof(void *));
			s->spares = p;
			s->nspares++;
			p = NULL;
		}
		pthread_mutex_unlock(&s->spare_lock);
	}
	free(p);
}

/* Free the spare buffers (store close). */
void vol_spares_free(struct vol_store *s)
{
	void *p, *next;

	for (p = s->spares; p; p = next) {
		memcpy(&next, p, sizeof(void *));
		free(p);
	}
	s->spares = NULL;
	s->nspares = 0;
}

#define LRU_CHUNK(l)   vol_link_entry(l, struct vol_chunk, lru)
#define DIRTY_CHUNK(l) vol_link_entry(l, struct vol_chunk, dirtyl)

/* Chunk lock held: a clean c at the front of the cache (added or moved);
 * a dirty chunk is not the cache's (invariant 1). */
static void lru_touch(struct vol_store *s, struct vol_chunk *c)
{
	if (c->dirty || !c->data)
		return;
	pthread_mutex_lock(&s->cache_lock);
	if (c->in_lru)
		vol_link_del(&c->lru);
	else
		clean_add(s, (int64_t)c->d->rec.chunk_size);
	vol_link_add(&s->lru, &c->lru);
	c->in_lru = 1;
	pthread_mutex_unlock(&s->cache_lock);
}

/* cache_lock held. */
static void lru_unlink(struct vol_store *s, struct vol_chunk *c)
{
	vol_link_del(&c->lru);
	c->in_lru = 0;
	clean_add(s, -(int64_t)c->d->rec.chunk_size);
}

/* Chunk lock held. */
static void lru_remove(struct vol_store *s, struct vol_chunk *c)
{
	if (!c->in_lru)
		return;
	pthread_mutex_lock(&s->cache_lock);
	lru_unlink(s, c);
	pthread_mutex_unlock(&s->cache_lock);
}

/* Drop least recently used clean chunks until the cache fits. Call with
 * no chunk lock held. */
static void cache_trim(struct vol_store *s)
{
	struct vol_chunk *c;
	int tries = 0;

	pthread_mutex_lock(&s->cache_lock);
	while (s->clean_bytes > s->conf.cache_bytes && s->lru.prev != &s->lru &&
	       tries++ < 256) {
		c = LRU_CHUNK(s->lru.prev);
		vol_link_del(&c->lru);
		if (pthread_mutex_trylock(&c->lock)) {
			/* busy: give it another round at the front */
			vol_link_add(&s->lru, &c->lru);
			continue;
		}
		if (c->flushing) { /* its last replica still reads data */
			pthread_mutex_unlock(&c->lock);
			vol_link_add(&s->lru, &c->lru);
			continue;
		}
		c->in_lru = 0;
		clean_add(s, -(int64_t)c->d->rec.chunk_size);
		chunk_free(s, c->data, c->d->rec.chunk_size);
		set_data(c, NULL);
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_unlock(&s->cache_lock);
}

/* Chunk lock held; c clean → dirty. */
static void mark_dirty(struct vol_store *s, struct vol_chunk *c)
{
	if (c->dirty)
		return;
	lru_remove(s, c);
	c->dirty = 1;
	pthread_mutex_lock(&s->dirty_lock);
	vol_link_add(s->dirty.prev, &c->dirtyl);
	c->in_dirty = 1;
	s->dirty_bytes += c->d->rec.chunk_size;
	pthread_mutex_unlock(&s->dirty_lock);
}

/* Chunk lock held; c dirty → clean (its data stays unless the caller
 * frees it). */
static void mark_clean(struct vol_store *s, struct vol_chunk *c)
{
	if (!c->dirty)
		return;
	c->dirty = 0;
	pthread_mutex_lock(&s->dirty_lock);
	vol_link_del(&c->dirtyl);
	c->in_dirty = 0;
	s->dirty_bytes -= c->d->rec.chunk_size;
	pthread_cond_broadcast(&s->dirty_cond);
	pthread_mutex_unlock(&s->dirty_lock);
}

/* The map entry of idx with its owner's id, and the disk's generation. */
static void map_get(struct vol_disk *d, uint32_t idx, struct vol_ref *ref,
		    vol_id owner, uint32_t *gen)
{
	pthread_mutex_lock(&d->map_lock);
	*ref = d->rec.map[idx];
	if (ref->owner)
		memcpy(owner, d->rec.owners[ref->owner - 1], sizeof(vol_id));
	if (gen)
		*gen = d->rec.gen;
	pthread_mutex_unlock(&d->map_lock);
}

/* map_lock held: remember the chunk (owner, gen, idx) that the map no
 * longer names (never our current generation's: that name is reused) for
 * deletion after the next map save. Best effort: without memory, the
 * chunk stays for gc.c. */
static void garbage_add(struct vol_disk *d, uint16_t owner, uint32_t gen,
			uint32_t idx)
{
	struct vol_garbage *g;

	if (d->ngarbage == d->capgarbage) {
		size_t cap = d->capgarbage ? 2 * d->capgarbage : 64;

		g = realloc(d->garbage, cap * sizeof(*g));
		if (!g)
			return;
		d->garbage = g;
		d->capgarbage = cap;
	}
	d->garbage[d->ngarbage].owner = owner;
	d->garbage[d->ngarbage].gen = gen;
	d->garbage[d->ngarbage++].idx = idx;
}

/* Set whether d is the only member of its family (gc.c, freeze). */
void vol_disk_set_solo(struct vol_disk *d, int solo)
{
	pthread_mutex_lock(&d->map_lock);
	d->solo = solo;
	pthread_mutex_unlock(&d->map_lock);
}

/* Delete the garbage taken at a map save that succeeded. */
static void garbage_delete(struct vol_disk *d, struct vol_garbage *g, size_t n)
{
	char name[VOL_CHUNK_NAME_MAX];
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		vol_chunk_name(name, d->rec.owners[g[i].owner - 1], g[i].gen,
			       g[i].idx);
		rc = oc_delete(d->s->conf.cluster, d->s->account,
			       VOL_CONT_CHUNKS, name);
		if (rc && rc != -ENOENT) /* gc.c frees it later */
			log_warn("disk %s: cannot delete chunk %s: %s",
				 d->rec.id, name, strerror(-rc));
	}
}

#define VALID_ALL UINT64_MAX
#define BLOCK(d)  (CS(d) / 64) /* a bit of c->valid */

/* GET the whole stored chunk idx (ref, owner) into buf (CS bytes). */
static int fetch_buf(struct vol_disk *d, uint32_t idx,
		     const struct vol_ref *ref, const char *owner, uint8_t *buf)
{
	struct vol_store *s = d->s;
	char name[VOL_CHUNK_NAME_MAX];
	ssize_t n;

	vol_chunk_name(name, owner, ref->gen, idx);
	n = oc_get_range(s->conf.cluster, s->account, VOL_CONT_CHUNKS, name,
			 buf, CS(d), 0);
	if (n < 0) {
		log_err("disk %s: cannot read chunk %s: %s", d->rec.id, name,
			strerror((int)-n));
		return n == -ENOENT ? -EIO : (int)n;
	}
	if ((size_t)n < CS(d))
		memset(buf + n, 0, CS(d) - (size_t)n);
	return 0;
}

/* Chunk lock held, c->data NULL, idx allocated: GET the whole chunk. */
static int fetch_chunk(struct vol_disk *d, struct vol_chunk *c,
		       const struct vol_ref *ref, const char *owner)
{
	uint8_t *buf = chunk_alloc(d->s, CS(d));
	int rc;

	if (!buf)
		return -ENOMEM;
	rc = fetch_buf(d, c->idx, ref, owner, buf);
	if (rc) {
		chunk_free(d->s, buf, CS(d));
		return rc;
	}
	c->valid = VALID_ALL;
	set_data(c, buf);
	return 0;
}

/* The bits of c->valid that [coff, coff + n) covers whole. */
static uint64_t blocks_of(struct vol_disk *d, uint32_t coff, uint32_t n)
{
	uint32_t first = (coff + BLOCK(d) - 1) / BLOCK(d);
	uint32_t end = (coff + n) / BLOCK(d);

	if (end <= first)
		return 0;
	return (end - first == 64 ? VALID_ALL
				  : ((1ull << (end - first)) - 1) << first);
}

/* The bits of c->valid that [coff, coff + n) touches (n > 0). */
static uint64_t blocks_touched(struct vol_disk *d, uint32_t coff, uint32_t n)
{
	uint32_t first = coff / BLOCK(d), last = (coff + n - 1) / BLOCK(d);

	return (last - first == 63
			? VALID_ALL
			: ((1ull << (last - first + 1)) - 1) << first);
}

/*
 * Chunk lock held, c->data set: fill the blocks no write covered yet
 * (c->valid) from the stored chunk, so that a sequential writer that
 * covers the whole chunk never reads it. 0 or -errno (c unchanged).
 */
static int complete_chunk(struct vol_disk *d, struct vol_chunk *c)
{
	struct vol_ref ref;
	vol_id owner;
	uint8_t *old = NULL;
	uint32_t b;
	int rc = 0;

	if (c->valid == VALID_ALL)
		return 0;
	map_get(d, c->idx, &ref, owner, NULL);
	if (ref.owner) {
		old = chunk_alloc(d->s, CS(d));
		rc = old ? fetch_buf(d, c->idx, &ref, owner, old) : -ENOMEM;
	}
	for (b = 0; !rc && b < 64; b++) {
		if (c->valid & (1ull << b))
			continue;
		if (old)
			memcpy(c->data + b * BLOCK(d), old + b * BLOCK(d),
			       BLOCK(d));
		else /* never stored (trimmed meanwhile): zeros */
			memset(c->data + b * BLOCK(d), 0, BLOCK(d));
	}
	if (!rc)
		c->valid = VALID_ALL;
	chunk_free(d->s, old, CS(d));
	return rc;
}

/* --- background jobs ------------------------------------------------------ */

static void job_hold(struct vol_disk *d)
{
	pthread_mutex_lock(&d->jobs_lock);
	d->jobs++;
	pthread_mutex_unlock(&d->jobs_lock);
}

static void job_release(struct vol_disk *d)
{
	pthread_mutex_lock(&d->jobs_lock);
	if (--d->jobs == 0)
		pthread_cond_broadcast(&d->jobs_cond);
	pthread_mutex_unlock(&d->jobs_lock);
}

static int load_job(void *arg)
{
	struct vol_chunk *c = arg;
	struct vol_disk *d = c->d;
	struct vol_ref ref;
	vol_id owner;
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	if (!c->data) {
		map_get(d, c->idx, &ref, owner, NULL);
		if (ref.owner) {
			rc = fetch_chunk(d, c, &ref, owner);
			if (!rc)
				lru_touch(d->s, c);
		}
	}
	pthread_mutex_unlock(&c->lock);
	__atomic_store_n(&c->loading, 0, __ATOMIC_RELEASE);
	cache_trim(d->s);
	job_release(d);
	return rc;
}

/* Queue loads of the allocated chunks after idx that are not in memory. */
static void read_ahead(struct vol_disk *d, uint32_t idx)
{
	struct vol_chunk *c;
	uint32_t i;
	int owner;

	for (i = idx + 1; i <= idx + VOL_READAHEAD; i++) {
		pthread_mutex_lock(&d->map_lock);
		owner = i < d->nchunks ? d->rec.map[i].owner : 0;
		pthread_mutex_unlock(&d->map_lock);
		if (!owner)
			continue;
		c = get_chunk(d, i);
		if (!c || __atomic_load_n(&c->data, __ATOMIC_ACQUIRE) ||
		    __atomic_exchange_n(&c->loading, 1, __ATOMIC_ACQ_REL))
			continue;
		job_hold(d);
		if (vol_pool_submit(&d->s->pool, load_job, c, NULL)) {
			__atomic_store_n(&c->loading, 0, __ATOMIC_RELEASE);
			job_release(d);
			return;
		}
	}
}

/* A chunk PUT in flight (flush_chunk), for chunk_stored. */
struct chunk_put {
	struct vol_disk *d;
	struct vol_chunk *c;
	struct vol_ref ref; /* the map's entry before */
	uint32_t gen;	    /* the generation written */
	uint64_t seq;	    /* the wseq of the data sent */
	int put;	    /* 0: a hole left as it is */
};

/*
 * The chunk's PUT is on a quorum of replicas (rc 0) or failed: point the
 * map at the new object and let those waiting for seq go on (settle),
 * while flush_chunk still waits for the last replica with c->flushing set.
 */
static void chunk_stored(void *arg, int rc)
{
	struct chunk_put *cp = arg;
	struct vol_disk *d = cp->d;
	struct vol_chunk *c = cp->c;

	if (!rc && cp->put && (cp->ref.owner != 1 || cp->ref.gen != cp->gen)) {
		pthread_mutex_lock(&d->map_lock);
		d->rec.map[c->idx].owner = 1;
		d->rec.map[c->idx].gen = cp->gen;
		d->map_seq++;
		if (cp->ref.owner && d->solo) /* nobody else names it */
			garbage_add(d, cp->ref.owner, cp->ref.gen, c->idx);
		pthread_mutex_unlock(&d->map_lock);
	}
	pthread_mutex_lock(&c->lock);
	if (!rc && cp->seq > c->sseq)
		c->sseq = cp->seq;
	if (!rc && c->wseq == cp->seq)
		mark_clean(d->s, c);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/*
 * PUT the chunk's data if it is dirty (invariant 2) and point the map at
 * it (in memory: vol_disk_save_map stores it). The PUT sends c->data
 * itself, marked as c->sending: a write meanwhile gives the chunk a copy
 * first (own_data), so a sequential writer, done with the chunk, costs no
 * copy. oc_put hashes the chunk once here with XXH3-128, which is its
 * ETag (xxh_etag, objclient.h): the object servers check the transfer by
 * it and store it, and their GETs and auditor check the chunk by it. No
 * MD5 pass anywhere: each PUT used to take one before its headers went
 * out, on one hashing thread all PUTs shared, which held a FLUSH's last
 * chunk back 87-111 ms. An overwrite of the object the map names sends
 * no container update (each replica's object server would wait for one
 * before answering, to change only the row's ETag and date). The chunk
 * counts as stored once a quorum of replicas has it (chunk_stored); the
 * last replica is waited for here, c->flushing still set. locked: the
 * caller holds gen_lock for writing. 0 or -errno (the chunk then stays dirty).
 */
static int flush_chunk(struct vol_disk *d, struct vol_chunk *c, int locked)
{
	struct vol_store *s = d->s;
	char name[VOL_CHUNK_NAME_MAX];
	struct chunk_put cp = {.d = d, .c = c, .put = 1};
	struct oc_put_opts opts = {
		.xxh_etag = 1, .at_quorum = chunk_stored, .arg = &cp};
	vol_id owner;
	uint8_t *data;
	int rc = 0;

	if (!locked)
		pthread_rwlock_rdlock(&d->gen_lock);
	pthread_mutex_lock(&c->lock);
	while (c->flushing)
		pthread_cond_wait(&c->cond, &c->lock);
	if (!c->dirty) {
		pthread_mutex_unlock(&c->lock);
		goto cleanup;
	}
	rc = complete_chunk(d, c);
	if (rc) {
		pthread_mutex_unlock(&c->lock);
		goto cleanup;
	}
	data = c->data;
	c->sending = data;
	cp.seq = c->wseq;
	c->flushing = 1;
	pthread_mutex_unlock(&c->lock);

	map_get(d, c->idx, &cp.ref, owner, &cp.gen);
	/* a never-stored chunk of zeros stays a hole */
	if (!cp.ref.owner && !memcmp(data, s->zeros, CS(d)))
		cp.put = 0;
	/* an overwrite in place: the listing row (gc.c reads only its
	 * name) is there since the object's first PUT, and the size stays */
	opts.no_container_update = cp.ref.owner == 1 && cp.ref.gen == cp.gen;
	if (cp.put) {
		vol_chunk_name(name, d->rec.id, cp.gen, c->idx);
		rc = oc_put(s->conf.cluster, s->account, VOL_CONT_CHUNKS, name,
			    data, CS(d), &opts);
		if (rc)
			log_err("disk %s: cannot write chunk %s: %s", d->rec.id,
				name, strerror(-rc));
	} else {
		chunk_stored(&cp, 0);
	}
	pthread_mutex_lock(&c->lock);
	c->flushing = 0;
	c->sending = NULL;
	if (c->data != data) /* a write made its own copy meanwhile */
		chunk_free(s, data, CS(d));
	lru_touch(s, c); /* if clean */
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	cache_trim(s);
cleanup:
	if (!locked)
		pthread_rwlock_unlock(&d->gen_lock);
	return rc;
}

/* Chunk lock held, c->data set: make c->data the chunk's own before a
 * write changes it (a PUT in flight sends it). 0 or -ENOMEM. */
static int own_data(struct vol_chunk *c)
{
	uint8_t *copy;

	if (!c->sending || c->data != c->sending)
		return 0;
	copy = chunk_alloc(c->d->s, c->d->rec.chunk_size);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, c->data, c->d->rec.chunk_size);
	set_data(c, copy);
	return 0;
}

static int flush_job(void *arg)
{
	struct vol_chunk *c = arg;
	struct vol_disk *d = c->d;
	struct vol_store *s = d->s;
	int rc = flush_chunk(d, c, 0);

	pthread_mutex_lock(&c->lock);
	pthread_mutex_lock(&s->dirty_lock);
	c->queued = 0;
	s->wb_err = rc;
	pthread_cond_broadcast(&s->dirty_cond);
	pthread_mutex_unlock(&s->dirty_lock);
	pthread_cond_broadcast(&c->cond); /* settle() waits for queued */
	pthread_mutex_unlock(&c->lock);
	job_release(d);
	return rc;
}

/* Queue a background flush of c unless one is queued. dirty_lock held. */
static void kick_locked(struct vol_chunk *c)
{
	if (c->queued)
		return;
	c->queued = 1;
	job_hold(c->d);
	if (vol_pool_submit(&c->d->s->pool, flush_job, c, NULL)) {
		c->queued = 0;
		job_release(c->d);
	}
}

static void kick(struct vol_chunk *c)
{
	struct vol_store *s = c->d->s;

	pthread_mutex_lock(&s->dirty_lock);
	if (c->in_dirty)
		kick_locked(c);
	pthread_mutex_unlock(&s->dirty_lock);
}

/*
 * Writers wait here while dirty memory is over the limit. The oldest dirty
 * chunks are queued for write-back, as many as bring memory under the
 * limit and keep every worker busy; the younger ones stay in memory and
 * gather more writes before their PUT (random writes coalesce). -EIO (or
 * the error) when write-back keeps failing.
 */
static int throttle(struct vol_store *s)
{
	struct vol_link *l;
	struct timespec ts;
	int rc = 0;

	pthread_mutex_lock(&s->dirty_lock);
	while (s->dirty_bytes > s->conf.dirty_bytes) {
		uint64_t want = s->dirty_bytes - s->conf.dirty_bytes +
				(uint64_t)VOL_WORKERS * s->conf.chunk_size;
		uint64_t queued = 0;

		for (l = s->dirty.next; l != &s->dirty && queued < want;
		     l = l->next) {
			kick_locked(DIRTY_CHUNK(l));
			queued += DIRTY_CHUNK(l)->d->rec.chunk_size;
		}
		if (s->wb_err) {
			rc = s->wb_err;
			break;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&s->dirty_cond, &s->dirty_lock, &ts);
	}
	pthread_mutex_unlock(&s->dirty_lock);
	return rc;
}

/* --- the disk ------------------------------------------------------------- */

/*
 * Store the map if it changed since it was last stored (or always, with
 * force), then delete the garbage it no longer names. One PUT at a time
 * per disk; a caller that waited finds its change already stored by the
 * one before. 0 or -errno.
 */
int vol_disk_save_map(struct vol_disk *d, int force)
{
	struct buf b = BUF_INIT;
	uint64_t seq;
	int rc = 0;

	struct vol_garbage *g = NULL;
	size_t i, ng = 0;

	pthread_mutex_lock(&d->save_lock);
	pthread_mutex_lock(&d->map_lock);
	seq = d->map_seq;
	if (force || seq != d->map_saved) {
		rc = vol_record_encode(&d->rec, &b);
		/* what this map no longer names */
		g = d->garbage;
		ng = d->ngarbage;
		d->garbage = NULL;
		d->ngarbage = d->capgarbage = 0;
	}
	pthread_mutex_unlock(&d->map_lock);
	if (!rc && b.len) {
		rc = oc_put(d->s->conf.cluster, d->s->account, VOL_CONT_DISKS,
			    d->rec.id, b.data, b.len, NULL);
		if (rc)
			log_err("disk %s: cannot store its map: %s", d->rec.id,
				strerror(-rc));
		else
			d->map_saved = seq;
	}
	if (!rc) {
		garbage_delete(d, g, ng);
	} else {
		pthread_mutex_lock(&d->map_lock);
		for (i = 0; i < ng; i++)
			garbage_add(d, g[i].owner, g[i].gen, g[i].idx);
		pthread_mutex_unlock(&d->map_lock);
	}
	pthread_mutex_unlock(&d->save_lock);
	free(g);
	buf_free(&b);
	return rc;
}

/* The dirty chunks of d now (oldest first) in a new array. */
static int dirty_of(struct vol_disk *d, struct vol_chunk ***out, size_t *n)
{
	struct vol_store *s = d->s;
	struct vol_chunk *c, **v = NULL, **nv;
	struct vol_link *l;
	size_t cap = 0;

	*n = 0;
	pthread_mutex_lock(&s->dirty_lock);
	for (l = s->dirty.next; l != &s->dirty; l = l->next) {
		c = DIRTY_CHUNK(l);
		if (c->d != d)
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				pthread_mutex_unlock(&s->dirty_lock);
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[(*n)++] = c;
	}
	pthread_mutex_unlock(&s->dirty_lock);
	*out = v;
	return 0;
}

/*
 * Once kicked: wait until c's data up to write target (a wseq) is stored.
 * A PUT in flight or queued is waited for here, in the caller, so no
 * worker ever blocks on another; one that failed (or none at all) is
 * retried inline, and its error returned. 0 or -errno.
 */
static int settle(struct vol_disk *d, struct vol_chunk *c, uint64_t target)
{
	struct vol_store *s = d->s;
	int rc = 0, queued;

	pthread_mutex_lock(&c->lock);
	while (c->dirty && c->sseq < target) {
		pthread_mutex_lock(&s->dirty_lock);
		queued = c->queued;
		pthread_mutex_unlock(&s->dirty_lock);
		if (c->flushing || queued) {
			pthread_cond_wait(&c->cond, &c->lock);
			continue;
		}
		pthread_mutex_unlock(&c->lock);
		rc = flush_chunk(d, c, 0);
		pthread_mutex_lock(&c->lock);
		if (rc)
			break;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* Make chunks [v, v + n) durable: the write-back of each queued (they
 * run in parallel on the pool), then each waited for. 0 or -errno. */
static int settle_all(struct vol_disk *d, struct vol_chunk **v, size_t n)
{
	uint64_t *target = calloc(n ? n : 1, sizeof(*target));
	size_t i;
	int rc = 0, rc2;

	if (!target)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		pthread_mutex_lock(&v[i]->lock);
		target[i] = v[i]->wseq;
		pthread_mutex_unlock(&v[i]->lock);
		kick(v[i]);
	}
	for (i = 0; i < n; i++) {
		rc2 = settle(d, v[i], target[i]);
		if (rc2 && !rc)
			rc = rc2;
	}
	free(target);
	return rc;
}

/* Invariant 5: every dirty chunk PUT (in parallel), then the map. */
int vol_disk_flush_all(struct vol_disk *d)
{
	struct vol_chunk **v = NULL;
	size_t n;
	int rc;

	rc = dirty_of(d, &v, &n);
	if (!rc)
		rc = settle_all(d, v, n);
	if (!rc)
		rc = vol_disk_save_map(d, 0);
	free(v);
	return rc;
}

/*
 * The point-in-time copy behind a snapshot or clone (invariant 4): flush,
 * then with no chunk flush in flight, flush what came meanwhile, copy the
 * map into a new record new_id (vol_record_derive), bump the generation
 * and store it. *out is the caller's. 0 or -errno.
 */
int vol_disk_freeze(struct vol_disk *d, const char *new_id, uint64_t size,
		    uint32_t flags, struct vol_record *out)
{
	struct vol_chunk **v = NULL;
	size_t i, n;
	int rc;

	rc = vol_disk_flush_all(d);
	if (rc)
		return rc;
	pthread_rwlock_wrlock(&d->gen_lock);
	rc = dirty_of(d, &v, &n);
	for (i = 0; !rc && i < n; i++)
		rc = flush_chunk(d, v[i], 1);
	free(v);
	if (!rc)
		rc = vol_disk_save_map(d, 0);
	if (rc)
		goto cleanup;
	pthread_mutex_lock(&d->map_lock);
	d->solo = 0; /* the copy will share our chunks */
	rc = vol_record_derive(&d->rec, new_id, size, flags, out);
	if (!rc && !(d->rec.flags & VOL_REC_SNAPSHOT)) {
		d->rec.gen++;
		d->map_seq++;
	}
	pthread_mutex_unlock(&d->map_lock);
	if (!rc) {
		rc = vol_disk_save_map(d, 0);
		if (rc)
			vol_record_free(out);
	}
cleanup:
	pthread_rwlock_unlock(&d->gen_lock);
	return rc;
}

/* Size and allocated bytes as the open disk sees them (its record size:
 * larger than the open size after an extend). */
int vol_disk_count(struct vol_disk *d, uint64_t *size, uint64_t *allocated)
{
	uint64_t n = 0;
	uint32_t i;

	pthread_mutex_lock(&d->map_lock);
	for (i = 0; i < d->nchunks; i++)
		n += d->rec.map[i].owner != 0;
	if (size)
		*size = d->rec.size;
	if (allocated)
		*allocated = n * d->rec.chunk_size;
	pthread_mutex_unlock(&d->map_lock);
	return 0;
}

/* Record a larger size for an open disk (stored now; handles opened
 * before the last close keep the size they had). 0, -EINVAL, -errno. */
int vol_disk_grow(struct vol_disk *d, uint64_t size)
{
	pthread_mutex_lock(&d->map_lock);
	if (size < d->rec.size) {
		pthread_mutex_unlock(&d->map_lock);
		return -EINVAL;
	}
	d->rec.size = size;
	d->map_seq++;
	pthread_mutex_unlock(&d->map_lock);
	return vol_disk_save_map(d, 0);
}

/* Pages for npages * 2^VOL_PAGE_SHIFT chunks, the first old_n taken from
 * old. NULL on ENOMEM. */
static struct vol_chunk ***pages_grow(struct vol_chunk ***old, uint32_t old_n,
				      uint32_t npages)
{
	struct vol_chunk ***pages = calloc(npages ? npages : 1, sizeof(*pages));
	uint32_t i;

	if (!pages)
		return NULL;
	for (i = 0; i < npages; i++) {
		pages[i] = i < old_n ? old[i]
				     : calloc(1u << VOL_PAGE_SHIFT,
					      sizeof(struct vol_chunk *));
		if (!pages[i]) {
			while (i-- > old_n)
				free(pages[i]);
			free(pages);
			return NULL;
		}
	}
	return pages;
}

static uint32_t npages_of(uint32_t nchunks)
{
	return (nchunks + VOL_PAGE_MASK) >> VOL_PAGE_SHIFT;
}

/*
 * An open disk from its record (taken over: *rec is emptied). *out is
 * freed with vol_disk_free. 0 or -ENOMEM.
 */
int vol_disk_load(struct vol_store *s, struct vol_record *rec,
		  struct vol_disk **out)
{
	pthread_rwlockattr_t attr;
	struct vol_disk *d;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->npages = npages_of(rec->nchunks);
	d->pages = pages_grow(NULL, 0, d->npages);
	if (!d->pages) {
		free(d);
		return -ENOMEM;
	}
	d->s = s;
	d->rec = *rec;
	memset(rec, 0, sizeof(*rec));
	d->nchunks = d->rec.nchunks;
	d->open_size = d->rec.size;
	/* a freeze must not starve behind a stream of chunk flushes */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(
		&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&d->gen_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&d->map_lock, NULL);
	pthread_mutex_init(&d->save_lock, NULL);
	pthread_mutex_init(&d->jobs_lock, NULL);
	pthread_cond_init(&d->jobs_cond, NULL);
	*out = d;
	return 0;
}

/*
 * After an extend of the open disk (its record is larger than what it
 * serves): cover the new size, for the handles opened from now on (those
 * open keep their size and never reach the new indexes). Store lock held
 * (one resize at a time). 0 or -ENOMEM (then nothing changed).
 */
int vol_disk_resize(struct vol_disk *d)
{
	struct vol_chunk ****retired, ***pages = NULL;
	uint64_t size;
	uint32_t n, np;
	int rc = 0;

	pthread_mutex_lock(&d->map_lock);
	size = d->rec.size;
	pthread_mutex_unlock(&d->map_lock);
	if (size <= d->open_size)
		return 0;
	n = vol_nchunks(size, CS(d));
	np = npages_of(n);
	if (np > d->npages) {
		retired = realloc(d->retired,
				  (size_t)(d->nretired + 1) * sizeof(*retired));
		if (!retired)
			return -ENOMEM;
		d->retired = retired;
		pages = pages_grow(d->pages, d->npages, np);
		if (!pages)
			return -ENOMEM;
	}
	pthread_mutex_lock(&d->map_lock);
	rc = vol_record_resize(&d->rec, size);
	if (!rc) {
		if (pages) {
			d->retired[d->nretired++] = d->pages;
			__atomic_store_n(&d->pages, pages, __ATOMIC_RELEASE);
			d->npages = np;
		}
		d->nchunks = n;
		__atomic_store_n(&d->open_size, size, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&d->map_lock);
	if (rc && pages) {
		for (n = d->npages; n < np; n++)
			free(pages[n]);
		free(pages);
	}
	return rc;
}

/* Take the chunks off the dirty list (so nobody queues a job for them;
 * dirty data that could not be flushed is lost: the caller flushed and
 * logged), wait for the jobs still running, free. */
void vol_disk_free(struct vol_disk *d)
{
	struct vol_chunk *c;
	uint32_t i;
	int k;

	if (!d)
		return;
	for (i = 0; i < d->nchunks; i++) {
		c = chunk_peek(d, i);
		if (!c)
			continue;
		pthread_mutex_lock(&c->lock);
		mark_clean(d->s, c);
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_lock(&d->jobs_lock);
	while (d->jobs)
		pthread_cond_wait(&d->jobs_cond, &d->jobs_lock);
	pthread_mutex_unlock(&d->jobs_lock);
	for (i = 0; i < d->nchunks; i++) {
		c = chunk_peek(d, i);
		if (!c)
			continue;
		pthread_mutex_lock(&c->lock);
		lru_remove(d->s, c);
		pthread_mutex_unlock(&c->lock);
		chunk_free(d->s, c->data, CS(d));
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->lock);
		free(c);
	}
	for (i = 0; i < d->npages; i++)
		free(d->pages[i]);
	free(d->pages);
	for (k = 0; k < d->nretired; k++)
		free(d->retired[k]);
	free(d->retired);
	free(d->garbage);
	vol_record_free(&d->rec);
	pthread_cond_destroy(&d->jobs_cond);
	pthread_mutex_destroy(&d->jobs_lock);
	pthread_mutex_destroy(&d->save_lock);
	pthread_mutex_destroy(&d->map_lock);
	pthread_rwlock_destroy(&d->gen_lock);
	free(d);
}

/* --- the export callbacks ------------------------------------------------- */

static uint64_t disk_size(void *h)
{
	return ((struct vol_handle *)h)->size;
}

static int check_range(struct vol_handle *hd, uint32_t len, uint64_t off)
{
	if (off > hd->size || len > hd->size - off)
		return -EINVAL;
	return 0;
}

static int read_chunk(struct vol_disk *d, uint32_t idx, uint8_t *out,
		      uint32_t n, uint32_t coff)
{
	struct vol_store *s = d->s;
	struct vol_chunk *c = get_chunk(d, idx);
	char name[VOL_CHUNK_NAME_MAX];
	struct vol_ref ref;
	vol_id owner;
	ssize_t got;
	int rc = 0, seq, room;

	if (!c)
		return -ENOMEM;
	pthread_mutex_lock(&c->lock);
	if (c->data) {
		uint64_t need = blocks_touched(d, coff, n);

		if ((c->valid & need) != need)
			rc = complete_chunk(d, c);
		if (!rc) {
			memcpy(out, c->data + coff, n);
			lru_touch(s, c);
		}
		pthread_mutex_unlock(&c->lock);
		return rc;
	}
	map_get(d, idx, &ref, owner, NULL);
	if (!ref.owner) {
		memset(out, 0, n);
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	/*
	 * A miss. Sequential readers (a chunk's start, large reads) and any
	 * reader while the cache has room get the whole chunk, so the next
	 * reads of it hit memory; a small random read of a full cache reads
	 * just its range (a whole chunk per 4 KiB read would thrash).
	 */
	seq = coff == 0 || n >= CS(d) / 8;
	room = __atomic_load_n(&s->clean_bytes, __ATOMIC_RELAXED) + CS(d) <=
	       s->conf.cache_bytes;
	if (seq || room) {
		rc = fetch_chunk(d, c, &ref, owner);
		if (!rc) {
			memcpy(out, c->data + coff, n);
			lru_touch(s, c);
		}
	} else {
		vol_chunk_name(name, owner, ref.gen, idx);
		got = oc_get_range(s->conf.cluster, s->account, VOL_CONT_CHUNKS,
				   name, out, n, coff);
		if (got < 0) {
			rc = (int)got;
			log_err("disk %s: cannot read chunk %s: %s", d->rec.id,
				name, strerror(-rc));
			if (rc == -ENOENT)
				rc = -EIO;
		} else if ((uint32_t)got < n) {
			memset(out + got, 0, n - (uint32_t)got);
		}
	}
	pthread_mutex_unlock(&c->lock);
	if (!rc && seq)
		read_ahead(d, idx);
	cache_trim(s);
	return rc;
}

static int disk_pread(void *h, void *buf, uint32_t len, uint64_t off)
{
	struct vol_handle *hd = h;
	struct vol_disk *d = hd->d;
	uint8_t *out = buf;
	uint32_t idx, coff, n;
	int rc = check_range(hd, len, off);

	while (!rc && len) {
		idx = (uint32_t)(off / CS(d));
		coff = (uint32_t)(off % CS(d));
		n = CS(d) - coff < len ? CS(d) - coff : len;
		rc = read_chunk(d, idx, out, n, coff);
		out += n;
		off += n;
		len -= n;
	}
	return rc;
}

/* Where a write's bytes come from: buf, else fill (pwrite_from: the front
 * end's connection, straight into the chunk), else zeros. */
struct wsrc {
	const uint8_t *buf;
	int (*fill)(void *arg, void *dst, uint32_t n);
	void *arg;
};

/* Copy the next n bytes of src (buf advanced) into the chunk, loading it
 * first when the write covers part of a block of an allocated chunk
 * (invariant 6). Once writes have covered as many bytes as the chunk
 * holds (a sequential writer filled it), its write-back starts while the
 * writer fills the next one. A fill that fails leaves a buffer made for
 * it unused (freed), else the chunk dirty with old or new bytes in the
 * range, and its error is returned. */
static int write_chunk(struct vol_disk *d, uint32_t idx, struct wsrc *src,
		       uint32_t n, uint32_t coff)
{
	struct vol_chunk *c = get_chunk(d, idx);
	uint64_t end, cover;
	struct vol_ref ref;
	vol_id owner;
	int rc = 0, whole, fresh = 0;

	if (!c)
		return -ENOMEM;
	end = __atomic_load_n(&d->open_size, __ATOMIC_RELAXED);
	/* whole blocks written: the rest of an allocated chunk can wait */
	cover = blocks_of(d, coff, n);
	whole = cover == blocks_touched(d, coff, n);
	pthread_mutex_lock(&c->lock);
	if (!c->data) {
		map_get(d, idx, &ref, owner, NULL);
		if (ref.owner && !whole) {
			rc = fetch_chunk(d, c, &ref, owner);
		} else {
			set_data(c, chunk_alloc(d->s, CS(d)));
			c->valid = ref.owner ? 0 : VALID_ALL;
			if (c->data && !ref.owner && n != CS(d))
				memset(c->data, 0, CS(d));
			fresh = 1;
		}
		if (!rc && !c->data)
			rc = -ENOMEM;
	} else {
		rc = own_data(c);
		if (!rc && !whole)
			rc = complete_chunk(d, c);
	}
	if (rc)
		goto cleanup;
	if (src->buf) {
		memcpy(c->data + coff, src->buf, n);
		src->buf += n;
	} else if (src->fill) {
		rc = src->fill(src->arg, c->data + coff, n);
	} else {
		memset(c->data + coff, 0, n);
	}
	if (rc && fresh) {
		chunk_free(d->s, c->data, CS(d));
		set_data(c, NULL);
		goto cleanup;
	}
	if (!rc)
		c->valid |= cover;
	c->wseq++;
	if (!c->dirty)
		c->wbytes = 0;
	mark_dirty(d->s, c);
	c->wbytes += n;
	if (c->wbytes >= (end - (uint64_t)idx * CS(d) < CS(d)
				  ? end - (uint64_t)idx * CS(d)
				  : CS(d))) {
		c->wbytes = 0;
		kick(c);
	}
cleanup:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* After the writes of [first, last]: FUA makes them durable now; else
 * the writer waits while dirty memory is over the limit. */
static int after_write(struct vol_disk *d, uint32_t first, uint32_t last,
		       uint32_t flags)
{
	struct vol_chunk **v;
	uint32_t i, n = last - first + 1;
	int rc = 0;

	if (!(flags & VOL_FUA))
		return throttle(d->s);
	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; !rc && i < n; i++) {
		v[i] = get_chunk(d, first + i);
		if (!v[i])
			rc = -ENOMEM;
	}
	if (!rc)
		rc = settle_all(d, v, n);
	free(v);
	return rc ? rc : vol_disk_save_map(d, 0);
}

/* Write len bytes of src at off (checked) into the chunks. */
static int place(struct vol_handle *hd, struct wsrc *src, uint32_t len,
		 uint64_t off)
{
	struct vol_disk *d = hd->d;
	uint32_t idx, coff, n;
	int rc = check_range(hd, len, off);

	if (!rc && hd->read_only)
		rc = -EROFS;
	while (!rc && len) {
		idx = (uint32_t)(off / CS(d));
		coff = (uint32_t)(off % CS(d));
		n = CS(d) - coff < len ? CS(d) - coff : len;
		rc = write_chunk(d, idx, src, n, coff);
		off += n;
		len -= n;
	}
	return rc;
}

static int disk_pwrite_end(void *h, uint32_t len, uint64_t off, uint32_t flags)
{
	struct vol_handle *hd = h;
	struct vol_disk *d = hd->d;
	int rc = check_range(hd, len, off);

	if (rc || !len)
		return rc;
	return after_write(d, (uint32_t)(off / CS(d)),
			   (uint32_t)((off + len - 1) / CS(d)), flags);
}

static int disk_pwrite(void *h, const void *buf, uint32_t len, uint64_t off,
		       uint32_t flags)
{
	struct wsrc src = {.buf = buf};
	int rc;

	if (!len)
		return place(h, &src, 0, off);
	rc = place(h, &src, len, off);
	return rc ? rc : disk_pwrite_end(h, len, off, flags);
}

/* Whole blocks (c->valid's) only: then write_chunk reads nothing from the
 * cluster (invariant 6), so the bytes go from the connection straight
 * into the chunks, the payload never copied. */
static int disk_pwrite_from(void *h, uint32_t len, uint64_t off,
			    int (*fill)(void *arg, void *dst, uint32_t n),
			    void *arg)
{
	struct vol_handle *hd = h;
	struct wsrc src = {.fill = fill, .arg = arg};

	if (!len || (off | len) % BLOCK(hd->d))
		return -EAGAIN;
	return place(hd, &src, len, off);
}

static int disk_flush(void *h)
{
	return vol_disk_flush_all(((struct vol_handle *)h)->d);
}

/* Deallocate chunk idx: drop what memory holds, make the map entry a hole
 * and, for an object of the current generation (invariant 4), store the
 * map and then delete the object. */
static int drop_chunk(struct vol_disk *d, uint32_t idx)
{
	struct vol_store *s = d->s;
	struct vol_chunk *c = get_chunk(d, idx);
	char name[VOL_CHUNK_NAME_MAX];
	struct vol_ref ref;
	uint32_t gen;
	int rc = 0;

	if (!c)
		return -ENOMEM;
	pthread_rwlock_rdlock(&d->gen_lock);
	pthread_mutex_lock(&c->lock);
	while (c->flushing)
		pthread_cond_wait(&c->cond, &c->lock);
	mark_clean(s, c);
	lru_remove(s, c);
	chunk_free(s, c->data, CS(d));
	set_data(c, NULL);
	c->wseq++;
	pthread_mutex_lock(&d->map_lock);
	ref = d->rec.map[idx];
	gen = d->rec.gen;
	if (ref.owner) {
		d->rec.map[idx].owner = 0;
		d->rec.map[idx].gen = 0;
		d->map_seq++;
		if ((ref.owner != 1 || ref.gen != gen) && d->solo)
			garbage_add(d, ref.owner, ref.gen, idx);
	}
	pthread_mutex_unlock(&d->map_lock);
	if (ref.owner == 1 && ref.gen == gen) {
		rc = vol_disk_save_map(d, 0);
		if (!rc) {
			vol_chunk_name(name, d->rec.id, gen, idx);
			rc = oc_delete(s->conf.cluster, s->account,
				       VOL_CONT_CHUNKS, name);
			if (rc == -ENOENT)
				rc = 0;
			else if (rc) /* an orphan for gc.c; the map is right */
				log_warn("disk %s: cannot delete chunk %s: %s",
					 d->rec.id, name, strerror(-rc));
			rc = 0;
		}
	}
	pthread_mutex_unlock(&c->lock);
	pthread_rwlock_unlock(&d->gen_lock);
	return rc;
}

/* Trim (dealloc) or zero: whole chunks are deallocated when allowed, the
 * rest written as zeros. */
static int discard(struct vol_handle *hd, uint32_t len, uint64_t off,
		   uint32_t flags, int dealloc)
{
	struct vol_disk *d = hd->d;
	struct wsrc zeros = {0};
	uint32_t idx, coff, n;
	int rc = check_range(hd, len, off);

	if (!rc && hd->read_only)
		rc = -EROFS;
	while (!rc && len) {
		idx = (uint32_t)(off / CS(d));
		coff = (uint32_t)(off % CS(d));
		n = CS(d) - coff < len ? CS(d) - coff : len;
		/* the last chunk may end past the disk: its tail is zeros */
		if (dealloc && coff == 0 && (n == CS(d) || off + n == hd->size))
			rc = drop_chunk(d, idx);
		else
			rc = write_chunk(d, idx, &zeros, n, coff);
		off += n;
		len -= n;
	}
	if (rc)
		return rc;
	if (flags & VOL_FUA)
		return vol_disk_flush_all(d);
	return throttle(d->s);
}

static int disk_trim(void *h, uint32_t len, uint64_t off, uint32_t flags)
{
	return discard(h, len, off, flags, 1);
}

static int disk_zero(void *h, uint32_t len, uint64_t off, uint32_t flags)
{
	return discard(h, len, off, flags, !(flags & VOL_NO_HOLE));
}

/* A chunk is allocated when the map names an object for it or memory holds
 * data not yet stored. */
static uint32_t chunk_flags(struct vol_disk *d, uint32_t idx)
{
	struct vol_chunk *c = chunk_peek(d, idx);
	int dirty = 0, owner;

	if (c) {
		pthread_mutex_lock(&c->lock);
		dirty = c->dirty;
		pthread_mutex_unlock(&c->lock);
		if (dirty)
			return 0;
	}
	pthread_mutex_lock(&d->map_lock);
	owner = d->rec.map[idx].owner;
	pthread_mutex_unlock(&d->map_lock);
	return owner ? 0 : VOL_EXTENT_HOLE | VOL_EXTENT_ZERO;
}

static int disk_extents(void *h, uint32_t len, uint64_t off,
			int (*fn)(void *arg, uint64_t off, uint64_t len,
				  uint32_t flags),
			void *arg)
{
	struct vol_handle *hd = h;
	struct vol_disk *d = hd->d;
	uint64_t end, pos, start, cend;
	uint32_t flags, cur = 0;
	int rc = check_range(hd, len, off), have = 0;

	if (rc || !len)
		return rc;
	end = off + len;
	start = pos = off;
	while (pos < end) {
		uint32_t idx = (uint32_t)(pos / CS(d));

		cend = ((uint64_t)idx + 1) * CS(d);
		if (cend > end)
			cend = end;
		flags = chunk_flags(d, idx);
		if (have && flags != cur) {
			rc = fn(arg, start, pos - start, cur);
			if (rc)
				return rc;
			start = pos;
		}
		cur = flags;
		have = 1;
		pos = cend;
	}
	return fn(arg, start, end - start, cur);
}

const struct vol_export_ops vol_disk_ops = {
	.size = disk_size,
	.pread = disk_pread,
	.pwrite = disk_pwrite,
	.pwrite_from = disk_pwrite_from,
	.pwrite_end = disk_pwrite_end,
	.flush = disk_flush,
	.trim = disk_trim,
	.zero = disk_zero,
	.extents = disk_extents,
};
