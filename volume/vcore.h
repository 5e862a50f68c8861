/*
 * volume/vcore.h: private declarations of the volume core (the files of the
 * data layer), kept apart from internal.h (the service: api, nbd) so that
 * two helpers editing at once never clobber each other. Not seen outside
 * volume/ (the public headers are volume.h, export.h, nbd.h).
 */
#ifndef KUMO_VOLUME_VCORE_H
#define KUMO_VOLUME_VCORE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/cluster.h"
#include "volume/volume.h"

/* ====================================================================
 * The volume core: record.c, pool.c, io.c, gc.c, volume.c
 *
 * Layout in the cluster (account conf->account, ".kumo_volumes"):
 *   disks/<id>        the disk record: size, generation, chunk map
 *                     (format in record.c)
 *   families/<fid>    the family record: the disks whose maps may share
 *                     chunks, and deleted owners whose chunks are still
 *                     referenced (format in record.c)
 *   chunks/<owner>/<gen>/<index>   one chunk of data, always chunk_size
 *                     bytes; gen and index are 8 lower-case hex digits
 * ==================================================================== */

#define VOL_CONT_DISKS	   "disks"
#define VOL_CONT_FAMILIES  "families"
#define VOL_CONT_CHUNKS	   "chunks"
#define VOL_ID_MAX	   64
#define VOL_CHUNK_NAME_MAX (VOL_ID_MAX + 20)
/* flush/load/import threads per store: chunk PUTs wait mostly on the
 * replicas' disks and fsyncs, so a 64 MiB flush window (16 chunks) and
 * read-ahead all run at once */
#define VOL_WORKERS   32
#define VOL_READAHEAD 4 /* chunks loaded ahead of a missing one */
/* freed chunk buffers kept for reuse (io.c chunk_alloc): a new buffer
 * costs a page fault and a cleared page per 4 KiB; more while they fit in
 * the cache's room (chunk_free) */
#define VOL_SPARES     16
#define VOL_PAGE_SHIFT 10 /* chunks per page of the chunk table: 1024 */
#define VOL_PAGE_MASK  ((1u << VOL_PAGE_SHIFT) - 1)

/* Record flags. */
#define VOL_REC_SNAPSHOT 1u /* read-only point-in-time copy */

/* Where one chunk index's data lives: owner 0 is a hole, owner k > 0 is
 * rec->owners[k - 1] (owners[0] is the disk itself), gen its generation. */
struct vol_ref {
	uint32_t gen;
	uint16_t owner;
};

typedef char vol_id[VOL_ID_MAX + 1];

/* A disk record as stored in disks/<id>. */
struct vol_record {
	vol_id id;
	vol_id family;
	uint64_t size;
	uint32_t chunk_size;
	uint32_t gen; /* where this disk writes new chunks */
	uint32_t flags;
	uint32_t nowners;
	vol_id *owners; /* owners[0] == id */
	uint32_t nchunks;
	struct vol_ref *map; /* nchunks entries */
};

/* A set of disk ids (small: the members of a family). */
struct vol_idlist {
	vol_id *ids;
	int n, cap;
};

/* record.c */
int vol_id_valid(const char *id);
uint32_t vol_nchunks(uint64_t size, uint32_t chunk_size);
void vol_chunk_name(char *out, const char *owner, uint32_t gen, uint32_t index);
int vol_chunk_name_parse(const char *name, vol_id owner, uint32_t *gen,
			 uint32_t *index);
int vol_record_init(struct vol_record *r, const char *id, const char *family,
		    uint64_t size, uint32_t chunk_size);
int vol_record_resize(struct vol_record *r, uint64_t size);
int vol_record_derive(const struct vol_record *src, const char *id,
		      uint64_t size, uint32_t flags, struct vol_record *out);
void vol_record_free(struct vol_record *r);
int vol_record_encode(const struct vol_record *r, struct buf *out);
int vol_record_decode(const uint8_t *p, size_t len, struct vol_record *r);
int vol_record_load(struct vol_store *s, const char *id, struct vol_record *r);
int vol_record_save(struct vol_store *s, const struct vol_record *r);
int vol_idlist_add(struct vol_idlist *l, const char *id);
int vol_idlist_find(const struct vol_idlist *l, const char *id);
void vol_idlist_del(struct vol_idlist *l, const char *id);
void vol_idlist_free(struct vol_idlist *l);
int vol_family_load(struct vol_store *s, const char *fid,
		    struct vol_idlist *members, struct vol_idlist *dead);
int vol_family_save(struct vol_store *s, const char *fid,
		    const struct vol_idlist *members,
		    const struct vol_idlist *dead);

/* pool.c: a fixed set of worker threads running jobs; a batch counts the
 * jobs of one caller and keeps their first error. */
struct vol_batch {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int pending;
	int err;
};
struct vol_job {
	int (*fn)(void *arg);
	void *arg;
	struct vol_batch *batch; /* NULL: nobody waits */
	struct vol_job *next;
};
struct vol_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct vol_job *head, *tail;
	int stop;
	int nthreads;
	pthread_t threads[VOL_WORKERS];
};
int vol_pool_start(struct vol_pool *p, int nthreads);
void vol_pool_stop(struct vol_pool *p);
int vol_pool_submit(struct vol_pool *p, int (*fn)(void *), void *arg,
		    struct vol_batch *b);
void vol_batch_init(struct vol_batch *b);
int vol_batch_wait(struct vol_batch *b);

/* A circular doubly-linked list link; a list is a sentinel link. */
struct vol_link {
	struct vol_link *prev, *next;
};

static inline void vol_link_init(struct vol_link *l)
{
	l->prev = l->next = l;
}

/* Insert n after at (at = the list: the front; at = list->prev: the back). */
static inline void vol_link_add(struct vol_link *at, struct vol_link *n)
{
	n->prev = at;
	n->next = at->next;
	at->next->prev = n;
	at->next = n;
}

static inline void vol_link_del(struct vol_link *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	vol_link_init(n);
}

#define vol_link_entry(l, type, member) \
	((type *)((char *)(l)-offsetof(type, member)))

/* io.c: an open disk (shared by every open of one id) and its chunks. */
struct vol_disk;
struct vol_chunk {
	pthread_mutex_t lock; /* data, dirty, flushing, sending, wseq, sseq */
	pthread_cond_t cond;  /* flushing ended, queued cleared */
	struct vol_disk *d;
	uint32_t idx;
	uint8_t *data;	  /* NULL: not in memory */
	uint64_t valid;	  /* with data: bit b set when block b (of 64, each
			   * chunk_size / 64) holds the chunk's bytes; the
			   * others wait for the stored chunk (complete_chunk) */
	int dirty;	  /* data newer than the cluster's */
	int flushing;	  /* a PUT is in flight */
	uint8_t *sending; /* the buffer that PUT sends: read-only, so a
			   * write meanwhile first gives data a copy */
	uint64_t wseq;	  /* bumped by every write */
	uint64_t sseq;	  /* the wseq of the newest data stored */
	uint64_t wbytes;  /* bytes written since dirty or last kick */
	/* under s->cache_lock: clean chunks with data, most recent first */
	struct vol_link lru;
	int in_lru;
	/* under s->dirty_lock: dirty chunks, oldest first */
	struct vol_link dirtyl;
	int in_dirty;
	int queued;  /* a background flush is queued (dirty_lock) */
	int loading; /* a read-ahead load is queued (atomic) */
};

/* A chunk to delete after the next map save (io.c garbage_add). */
struct vol_garbage {
	uint32_t gen, idx;
	uint16_t owner; /* as in vol_ref */
};

struct vol_disk {
	struct vol_store *s;
	struct vol_disk *next; /* s->disks */
	int refs;	       /* under s->lock */
	/* readers: a chunk flush or drop (name chosen → map updated);
	 * writer: a generation bump (snapshot, clone) */
	pthread_rwlock_t gen_lock;
	pthread_mutex_t map_lock; /* rec (map, gen, size), map_seq */
	struct vol_record rec;
	uint64_t map_seq, map_saved;
	/* under map_lock: the only live member of its family, so no other
	 * disk names a chunk this map names: a chunk it replaces or trims is
	 * garbage, deleted once the map without it is stored */
	int solo;
	struct vol_garbage *garbage;
	size_t ngarbage, capgarbage;
	pthread_mutex_t save_lock; /* one record PUT at a time */
	/* chunks and rec.map cover nchunks indexes (open_size bytes); they
	 * grow at an open after an extend (vol_disk_resize), under map_lock */
	uint32_t nchunks;
	uint64_t open_size;
	/* chunk i is pages[i >> VOL_PAGE_SHIFT][i & VOL_PAGE_MASK], created on
	 * first use, never freed while open; pages is swapped whole when it
	 * grows (the old tops are kept in retired until the disk is freed, as
	 * readers go through them without a lock) */
	struct vol_chunk ***pages;
	uint32_t npages;
	struct vol_chunk ****retired;
	int nretired;
	pthread_mutex_t jobs_lock;
	pthread_cond_t jobs_cond;
	int jobs; /* background jobs still holding the disk */
};

/* An open handle: what vol_export.h points to. */
struct vol_handle {
	struct vol_disk *d;
	uint64_t size;
	int read_only;
};

extern const struct vol_export_ops vol_disk_ops;
int vol_disk_load(struct vol_store *s, struct vol_record *rec,
		  struct vol_disk **out);
void vol_disk_free(struct vol_disk *d);
int vol_disk_flush_all(struct vol_disk *d);
int vol_disk_save_map(struct vol_disk *d, int force);
int vol_disk_freeze(struct vol_disk *d, const char *new_id, uint64_t size,
		    uint32_t flags, struct vol_record *out);
int vol_disk_count(struct vol_disk *d, uint64_t *size, uint64_t *allocated);
int vol_disk_grow(struct vol_disk *d, uint64_t size);
int vol_disk_resize(struct vol_disk *d);
void vol_disk_set_solo(struct vol_disk *d, int solo);
void vol_spares_free(struct vol_store *s);

/* The store (volume.c). */
struct vol_store {
	struct vol_store_conf conf;
	char account[256];
	pthread_mutex_t lock; /* disks list, family changes */
	struct vol_disk *disks;
	struct vol_pool pool;
	pthread_mutex_t cache_lock;
	struct vol_link lru; /* chunks, most recently used first */
	uint64_t clean_bytes;
	pthread_mutex_t dirty_lock;
	pthread_cond_t dirty_cond;
	struct vol_link dirty; /* chunks, oldest first */
	uint64_t dirty_bytes;
	int wb_err;	/* last background flush error, 0 after a success */
	uint8_t *zeros; /* chunk_size zero bytes */
	/* conf.chunk_size buffers to reuse, linked through their first
	 * bytes (io.c chunk_alloc, chunk_free) */
	pthread_mutex_t spare_lock;
	void *spares;
	int nspares;
};

/* gc.c */
int vol_gc_family(struct vol_store *s, const char *fid,
		  struct vol_idlist *members, struct vol_idlist *dead);
struct vol_disk *vol_store_find_open(struct vol_store *s, const char *id);

/* ==================== end of the volume core section ================ */

#endif
