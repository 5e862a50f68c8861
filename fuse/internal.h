/*
 * fuse/internal.h: private declarations of kumo-mount, grouped by file in
 * reading order (swift.c, meta.c, data.c, journal.c, ops.c). Not seen
 * outside fuse/ (tests/unit/fuse includes it to test meta.c).
 *
 * On-cluster layout, in container FILESYSTEM of the user's account:
 *   super                 "kumofs 1 chunk=<bytes>\n" (mkfs, If-None-Match)
 *   lease.<n 16 hex>      the write lease, epoch n (journal.c)
 *   m/snap/<seq 16 hex>   a snapshot of the namespace after log seq
 *   m/log/<seq 16 hex>    one committed batch of metadata records
 *   m/head                "<seq of the newest snapshot>\n" (a hint)
 *   d/<ino 16 hex>/<idx 8 hex>  chunk idx of inode ino (<= chunk bytes;
 *                         bytes past its end read as zeros)
 *   d/<ino 16 hex>/<idx 8 hex>.<gen 16 hex>  a delta of that chunk: some
 *                         of its units, newer than the chunk object and
 *                         the deltas before it (data.c, KFD1 format)
 */
#ifndef KUMO_FUSE_INTERNAL_H
#define KUMO_FUSE_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/buf.h"

#define KFS_ROOT_INO	1
#define KFS_NAME_MAX	255
#define KFS_XATTR_NAME	255
#define KFS_XATTR_VAL	65536
#define KFS_XATTR_TOTAL (1 << 20) /* all xattrs of one inode */
#define KFS_SYMLINK_MAX 4095
/* chunks of 4 MiB: a sequential write of 1 GiB is 256 chunk objects, not
 * 1024 (each costs its object servers a file, a hash dir, fsyncs and a
 * container row); random 4 KiB writes still go as deltas of 4 KiB units */
#define KFS_CHUNK_DEFAULT (4u << 20)
#define KFS_UNITS_MAX	  1024	       /* delta units per chunk, at most */
#define KFS_MAX_SIZE	  (1ULL << 50) /* 1 PiB per file */
#define KFS_INLINE_MAX	  4096	       /* chunk 0 up to this: in the metadata */
#define KFS_DELTAS_MAX	  64 /* deltas of one chunk before it is PUT whole */
#define KD_POOL_MAX	  16 /* free chunk buffers kept (data.c buf_give) */
#define KFS_KERNEL_RA	  0  /* the kernel's read-ahead (ops.c): its own */

/* ====================================================================
 * swift.c: a Swift API client over libcurl (auth v1.0, token renewal,
 * retries), for one container. Thread-safe; easy handles are pooled.
 * ==================================================================== */
struct swc;

/* Authenticate and remember the storage URL; *out owns the client.
 * 0, -EACCES (refused credentials), -EIO (no answer). */
int swc_open(const char *auth_url, const char *user, const char *key,
	     const char *container, struct swc **out);
void swc_close(struct swc *s);
/* PUT the container. 0 or -errno. */
int swc_container_create(struct swc *s);
/* PUT object name; if_none_match: create only (-EEXIST when it exists).
 * 0 once the cluster acknowledged it (durable on a quorum). */
int swc_put(struct swc *s, const char *name, const void *data, size_t len,
	    int if_none_match);
/* GET the whole object, appended to out. 0, -ENOENT, -EIO. */
int swc_get(struct swc *s, const char *name, struct buf *out);
/* GET [off, off+len) into buf; bytes read (short at the object's end). */
ssize_t swc_get_range(struct swc *s, const char *name, void *buf, size_t len,
		      uint64_t off);
/* HEAD: 0 (exists), -ENOENT, -EIO. */
int swc_head(struct swc *s, const char *name);
/* DELETE: 0 or -ENOENT (already gone) or -EIO. */
int swc_delete(struct swc *s, const char *name);
/* List names with prefix in order, fn(arg, name) for each until it
 * returns non-zero (returned). 0 at the end, -errno. */
int swc_list(struct swc *s, const char *prefix,
	     int (*fn)(void *arg, const char *name), void *arg);

/* ====================================================================
 * meta.c: the namespace in memory (inodes, directory entries, xattrs,
 * chunk bitmaps), the POSIX namespace operations on it, and its records:
 * every change is also appended to a pending batch, which ns_cut turns
 * into one log object; ns_apply replays logs and snapshots. Pure: no
 * I/O, no locks (the caller holds kfs.lock).
 * ==================================================================== */
struct kxattr {
	char *name;
	uint8_t *val;
	uint32_t len;
};

/* A delta object of chunk idx (see data.c): units is how many delta units
 * (chunk/KFS_UNITS_MAX, at least 4 KiB) it holds. */
struct kdelta {
	uint64_t idx, gen;
	uint32_t units;
};

struct kdent {
	uint64_t parent;
	uint64_t ino;
	uint32_t slot; /* index in the parent's ents[] */
	struct kdent *hnext;
	char name[];
};

struct kinode {
	uint64_t ino;
	uint32_t mode, uid, gid, nlink, rdev;
	uint64_t size;
	struct timespec atime, mtime, ctime;
	char *symlink;
	struct kxattr *xattrs;
	uint32_t nxattr;
	/* inline: chunk 0 lives in the metadata (ilen bytes of idata, then
	 * zeros), not in an object; set for new regular files, cleared for
	 * good once chunk 0 holds data past KFS_INLINE_MAX (data.c) */
	int inl;
	uint8_t *idata;
	uint32_t ilen;
	/* chunk bitmap: bit i set when chunk i has an object */
	uint8_t *cmap;
	uint64_t cmap_bytes;
	uint64_t nchunks;
	/* delta objects, sorted by chunk, oldest first within one */
	struct kdelta *deltas;
	uint32_t ndeltas, capdeltas;
	/* directories */
	struct kdent **ents;
	uint32_t nents, capents, nlive;
	uint64_t parent;
	/* runtime, never stored */
	uint64_t nlookup;
	uint32_t nopen, nopendir;
	int dirty, freed;
	int inq; /* in kfs.inq: its cached chunk 0 is newer than idata */
	struct kinode *hnext;
};

struct kns {
	struct kinode **ih; /* inode hash */
	uint64_t inb, icount;
	struct kdent **dh; /* dentry hash */
	uint64_t dnb, dcount;
	uint64_t next_ino;
	uint32_t chunk_size;
	/* the pending batch */
	struct buf ops;	 /* dentry records in order */
	uint64_t *dirty; /* inodes to write at the cut */
	uint64_t ndirty, capdirty;
	uint64_t *freed; /* inodes freed since the last cut */
	uint64_t nfreed, capfreed;
	int mount_mark; /* 1: a REC_MOUNT, 2: a REC_CLEAN pending */
	int last_clean; /* replay: the last mark seen was REC_CLEAN */
	int unclean;	/* a REC_MOUNT was cut, no REC_CLEAN since: a
			 * snapshot then carries a REC_MOUNT too */
};

enum {
	REC_INODE = 1,
	REC_LINK = 2,
	REC_UNLINK = 3,
	REC_FREE = 4,
	REC_NEXTINO = 5,
	REC_MOUNT = 6,
	REC_CLEAN = 7,
	REC_DATA = 8,	/* inline chunk 0 of the INODE record before it */
	REC_DELTAS = 9, /* the delta list of one chunk of an inode */
};

int ns_init(struct kns *ns, uint32_t chunk_size);
void ns_free(struct kns *ns);
/* Make the root directory (mkfs). */
int ns_mkroot(struct kns *ns, uint32_t uid, uint32_t gid,
	      const struct timespec *now);
struct kinode *ns_inode(struct kns *ns, uint64_t ino);
struct kdent *ns_lookup(struct kns *ns, uint64_t parent, const char *name);
void ns_touch(struct kns *ns, struct kinode *in); /* mark dirty */
int ns_name_valid(const char *name);

/* Create a node (file, dir, symlink when target, device, fifo) named
 * name in parent; *out the new inode. -EEXIST, -ENOENT, -ENOTDIR,
 * -ENAMETOOLONG, -EINVAL, -ENOMEM. */
int ns_mknod(struct kns *ns, uint64_t parent, const char *name, uint32_t mode,
	     uint32_t rdev, uint32_t uid, uint32_t gid, const char *target,
	     const struct timespec *now, struct kinode **out);
/* Hard link ino as newparent/newname. -EPERM for a directory. */
int ns_link(struct kns *ns, uint64_t ino, uint64_t newparent,
	    const char *newname, const struct timespec *now);
/* Remove parent/name (rmdir: a directory, else not one). *victim gets the
 * inode whose nlink dropped; the caller frees it once nlink and nopen
 * are 0 (ns_release). */
int ns_remove(struct kns *ns, uint64_t parent, const char *name, int rmdir,
	      const struct timespec *now, struct kinode **victim);
/* rename(2) with RENAME_NOREPLACE/RENAME_EXCHANGE flags. *victim as for
 * ns_remove (NULL when nothing was replaced). */
int ns_rename(struct kns *ns, uint64_t op, const char *oname, uint64_t np,
	      const char *nname, unsigned flags, const struct timespec *now,
	      struct kinode **victim);
/* Free in (nlink 0, not open): a REC_FREE at the next cut; its memory
 * goes once the kernel forgets it (ns_forget). */
void ns_release(struct kns *ns, struct kinode *in);
/* Drop n kernel references; frees a released inode's memory at 0. */
void ns_forget(struct kns *ns, uint64_t ino, uint64_t n);

int ns_xattr_set(struct kns *ns, struct kinode *in, const char *name,
		 const void *val, size_t len, int flags);
const struct kxattr *ns_xattr_get(struct kinode *in, const char *name);
int ns_xattr_remove(struct kns *ns, struct kinode *in, const char *name);

/* Set inline chunk 0 of in to len bytes of data (len <= KFS_INLINE_MAX;
 * in->inl must be set). -ENOMEM. */
int ns_inline_set(struct kinode *in, const void *data, uint32_t len);
/* Leave inline mode for good (chunk 0 goes to an object). */
void ns_inline_drop(struct kinode *in);

int ns_chunk_test(const struct kinode *in, uint64_t idx);
int ns_chunk_set(struct kns *ns, struct kinode *in, uint64_t idx);
void ns_chunk_clear(struct kns *ns, struct kinode *in, uint64_t idx);
/* The deltas of chunk idx of in: the index of the first in in->deltas,
 * *n how many (oldest first). */
uint32_t ns_delta_find(const struct kinode *in, uint64_t idx, uint32_t *n);
/* Append delta gen (units delta units) to chunk idx of in; marks in dirty
 * when ns is given. -ENOMEM. */
int ns_delta_add(struct kns *ns, struct kinode *in, uint64_t idx, uint64_t gen,
		 uint32_t units);
/* Forget the deltas of chunk idx (the caller deletes their objects). */
void ns_delta_clear(struct kns *ns, struct kinode *in, uint64_t idx);
/* Append a REC_DELTAS record (chunk idx's list, as now) to b. -ENOMEM. */
int ns_put_deltas(struct buf *b, const struct kinode *in, uint64_t idx);
/* The next set chunk >= idx, or UINT64_MAX. */
uint64_t ns_chunk_next(const struct kinode *in, uint64_t idx);
/* st_blocks (512-byte units) of in. */
uint64_t ns_blocks(const struct kns *ns, const struct kinode *in);

/* Append the pending batch (as log seq) to out and clear it. Returns 1
 * when something was pending, 0 when not, -ENOMEM. */
int ns_cut(struct kns *ns, uint64_t seq, struct buf *out);
/* The whole namespace as snapshot seq. */
int ns_snapshot(struct kns *ns, uint64_t seq, struct buf *out);
/* Replay a log or snapshot object; *seq gets its number. -EINVAL when
 * it is malformed (nothing partial is applied to a snapshot's ns). */
int ns_apply(struct kns *ns, const uint8_t *p, size_t len, uint64_t *seq);
/* Note a mount (1) or a clean unmount (2) in the pending batch. */
void ns_mark(struct kns *ns, int mark);

/* ====================================================================
 * data.c, journal.c, ops.c: the mounted filesystem
 * ==================================================================== */
struct kchunk {
	uint64_t ino, idx;
	uint8_t *data;
	uint32_t len, cap; /* bytes meaningful / allocated */
	int loading, dirty, flushing, dead;
	int inl; /* chunk 0 of an inline inode: mirrored in its idata */
	int ordered; /* every commit PUTs it before its log (left inline; renamed over a file) */
	int urgent; /* an fsync waits for it: flushed before the others */
	int full;   /* written up to its end: flushed without waiting */
	int based; /* the cluster holds it (object and deltas): deltas may go */
	int sending; /* a PUT in flight sends data itself (own_data) */
	int sparse;  /* written without a load: only units in vmap hold data */
	int spent;   /* a sequential reader or writer left it (lru_back) */
	uint64_t vmap[KFS_UNITS_MAX / 64];
	/* delta units written since its last PUT */
	uint64_t umap[KFS_UNITS_MAX / 64];
	uint64_t epoch; /* commit epoch of its first unflushed write */
	int refs;
	struct kchunk *hnext;
	struct kchunk *lprev, *lnext; /* LRU, most recent first */
	struct kchunk *dprev, *dnext; /* dirty FIFO */
};

struct kdel {
	uint64_t ino, idx;
	uint64_t gen; /* a delta object of the chunk, or 0: the chunk's */
};

struct kopts {
	char *auth_url, *user, *key, *conf;
	uint64_t cache_size, dirty_max;
	int ro, lease_seconds, commit_seconds, threads, readahead;
	uint64_t kernel_ra; /* the kernel's read-ahead (bytes, 0: its own) */
};

struct kfs {
	struct kopts o;
	char *name;
	struct swc *sw;
	pthread_mutex_t lock; /* everything below */
	pthread_cond_t cond;  /* any state change */
	pthread_cond_t work;  /* workers: flush or read-ahead wanted */
	struct kns ns;
	uint32_t chunk_size;
	/* chunk cache */
	struct kchunk **ch;
	uint64_t chnb, chcount;
	struct kchunk *lru_head, *lru_tail;
	struct kchunk *dirty_head, *dirty_tail;
	uint64_t bytes_cached, bytes_dirty;
	uint64_t epoch;	       /* current dirty epoch */
	uint64_t flush_target; /* flush every chunk of epoch <= this */
	int nflushing;
	uint64_t flying[64];	 /* inodes of the PUTs in flight (0: free) */
	int ordered_flying;	 /* PUTs in flight of ordered chunks */
	uint64_t nurgent, nfull; /* dirty chunks with urgent / full set */
	int flush_error;	 /* the last failed PUT's -errno */
	uint64_t flush_error_ino, flush_errors; /* its inode; count */
	int writeback;	 /* the kernel's writeback cache is on (ops.c) */
	struct kfh *fhs; /* open file handles (ops.c) */
	char bdi[32];	 /* the mount's "major:minor" (ops.c bdi_tune) */
	int bdi_done;
	uint32_t unit;	  /* delta unit: chunk_size / KFS_UNITS_MAX, >= 4 KiB */
	uint64_t ngen;	  /* deltas stored by this mount (their gen) */
	int amending;	  /* a commit is between its cut and its log PUT */
	int amend_error;  /* an amend record could not be kept */
	struct buf amend; /* REC_DELTAS of deltas stored meanwhile */
	struct kdel *ra;  /* read-ahead queue */
	uint32_t nra, capra;
	uint8_t *pool[KD_POOL_MAX]; /* free whole-chunk buffers (data.c) */
	uint32_t npool;
	/* deletes waiting for the next commit, and those in flight */
	struct kdel *dels;
	uint64_t ndels, capdels;
	struct kdel *deleting;
	uint32_t ndeleting, capdeleting;
	/* journal */
	pthread_mutex_t commit_lock;
	uint64_t seq; /* last committed log */
	uint64_t snap_seq, prev_snap_seq;
	uint64_t logs_since_snap, log_bytes_since_snap;
	struct buf uncommitted; /* a cut whose PUT failed, retried first */
	uint64_t lease_epoch;
	time_t lease_until;
	int lease_lost;
	int stopping;
	pthread_t *workers;
	int nworkers;
	pthread_t committer, renewer;
	int committer_up, renewer_up;
};

/* data.c */
int kd_start(struct kfs *fs);
void kd_stop(struct kfs *fs);
/* The object name of chunk idx of ino (gen 0) or of its delta gen. */
void kd_chunk_name(const struct kfs *fs, uint64_t ino, uint64_t idx,
		   uint64_t gen, char *out, size_t outlen);
/* Read size bytes at off of in into buf (lock held, dropped while
 * fetching): the bytes read, short at the end of file, or -errno.
 * seq_end: NULL for a random read; for a sequential reader, where it
 * keeps the furthest byte it asked for (under the lock; read-ahead goes
 * on from there as it is after a wait). */
ssize_t kd_read(struct kfs *fs, struct kinode *in, char *buf, size_t size,
		uint64_t off, const uint64_t *seq_end);
ssize_t kd_write(struct kfs *fs, struct kinode *in, const char *buf,
		 size_t size, uint64_t off);
int kd_truncate(struct kfs *fs, struct kinode *in, uint64_t size);
int kd_zero(struct kfs *fs, struct kinode *in, uint64_t off, uint64_t len);
void kd_drop_inode(struct kfs *fs, struct kinode *in);
/* Wait until every chunk dirtied in an epoch <= epoch is in the cluster:
 * all of them (ino KD_ALL) or those of inode ino only (none for an ino
 * that does not exist), which the workers take before any other, and
 * always the chunks that left inline mode. fs->lock held (dropped while
 * waiting). 0, or the -errno of a failed PUT (the chunk stays dirty and
 * is retried). */
#define KD_ALL 0
int kd_flush_epoch(struct kfs *fs, uint64_t epoch, uint64_t ino);
int kd_queue_delete(struct kfs *fs, uint64_t ino, uint64_t idx, uint64_t gen);
/* The next commit, whichever file it is for, PUTs ino's dirty chunks
 * before its log (a file renamed over another: the name must not come
 * with missing data, as ext4's auto_da_alloc). Lock held. */
void kd_order_inode(struct kfs *fs, uint64_t ino);
int kd_delete_now(struct kfs *fs, uint64_t ino, uint64_t idx, uint64_t gen);

/* journal.c */
int kj_mkfs(struct kopts *o, const char *name);
int kj_load(struct kfs *fs);
int kj_lease_take(struct kfs *fs);
void kj_lease_release(struct kfs *fs);
/* Commit the pending metadata, after the data of inode ino dirtied so far
 * (KJ_ALL: of every inode; KJ_META: none). fsync passes its inode: other
 * files' dirty chunks are not waited for. 0 or -errno. */
#define KJ_ALL	KD_ALL
#define KJ_META UINT64_MAX
int kj_commit(struct kfs *fs, uint64_t ino);
int kj_start(struct kfs *fs);
void kj_stop(struct kfs *fs);
void kj_free_inode(struct kfs *fs, struct kinode *in);

/* ops.c */
struct fuse_lowlevel_ops;
extern const struct fuse_lowlevel_ops kfs_ops;
/* After the FUSE loop ended: close the handles the kernel never released
 * as release would (the last open of an unlinked file frees it, for the
 * final commit to delete its chunks) and free them. Takes fs->lock. */
void ko_close_all(struct kfs *fs);
/* Find the mount's device ("major:minor", for its read-ahead) in
 * /proc/self/mountinfo: mountpoint as realpath(3) gave it before the
 * mount (a lookup in the mount would wait for INIT). 0 or -errno. */
int ko_bdi_find(struct kfs *fs, const char *mountpoint);

#endif
