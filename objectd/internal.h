/*
 * objectd/internal.h: private declarations of the object server
 * (bin/kumo-objectd), grouped by the file that defines them.
 *
 * The object server keeps Swift objects on local devices, one tree per
 * device under `devices`:
 *
 *   <devices>/<dev>/objects/<part>/<suffix>/<hash>/<timestamp>.data|.ts|.meta
 *   <devices>/<dev>/objects-N/...  storage policy N's objects; for an
 *                                  erasure-coded N a .data is a fragment
 *                                  archive <timestamp>#<i>[#d].data
 *   <devices>/<dev>/tmp/            uploads in progress
 *   <devices>/<dev>/async_pending/  container updates still to send
 *   <devices>/<dev>/expiring/<delete_at>-<hash>  objects with X-Delete-At
 *   <devices>/<dev>/quarantined/objects/<hash>/   corrupt objects
 *
 * where hash is the MD5 hex of prefix + "/a/c/o" + suffix (ring_hash_path)
 * and suffix its last three hex digits, as Swift lays them out. The file
 * format is described in diskfile.c.
 */
#ifndef KUMO_OBJECTD_INTERNAL_H
#define KUMO_OBJECTD_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/http.h"
#include "common/keepconn.h"
#include "common/recon.h"
#include "common/range.h"
#include "common/timestamp.h"
#include "ring/ring.h"

/* Swift's constraints (swift/common/constraints.py defaults). */
#define OBJ_MAX_FILE_SIZE      5368709122LL
#define OBJ_MAX_META_NAME      128
#define OBJ_MAX_META_VALUE     256
#define OBJ_MAX_META_COUNT     90
#define OBJ_MAX_META_OVERALL   4096
#define OBJ_MAX_HEADER_SIZE    8192
#define OBJ_MAX_OBJECT_NAME    1024
#define OBJ_MAX_CONTAINER_NAME 256
#define OBJ_MAX_ACCOUNT_NAME   256
/* Largest metadata block we agree to read back from a file. */
#define OBJ_MAX_META_BLOCK (256 * 1024)

/* [object-server] and [swift-hash], filled by conf_load (main.c). */
struct objd_conf {
	char hash_prefix[CONF_STR_MAX];
	char hash_suffix[CONF_STR_MAX];
	char bind_ip[CONF_STR_MAX];
	long long bind_port;
	char devices[CONF_STR_MAX];
	char log_level[CONF_STR_MAX];
	double conn_timeout;	    /* seconds, connecting to a container */
	double node_timeout;	    /* seconds, a whole container update */
	long long updater_interval; /* seconds between updater passes */
	long long tmp_max_age;	    /* seconds before a tmp file is stale */
	long long expirer_interval; /* seconds between expirer passes */
	/* auditor.c and recon (h6) */
	double auditor_files_per_second; /* 0: no limit */
	double auditor_bytes_per_second; /* 0: no limit */
	long long auditor_interval;	 /* seconds between auditor passes */
	char recon_cache_path[CONF_STR_MAX];
	/* replicator.c (h5) */
	char swift_dir[CONF_STR_MAX];	  /* holds object.ring.gz */
	long long reclaim_age;		  /* seconds a tombstone is kept */
	long long replicator_interval;	  /* seconds between passes */
	long long replicator_concurrency; /* partitions replicated at once */
	double replicator_node_timeout;	  /* seconds a peer may stay silent */
	/* reconstructor.c (issue 6) */
	long long reconstructor_interval;    /* seconds between passes */
	long long reconstructor_concurrency; /* partitions at once */
};

/* Stripes of the per-object locks that order expiry index changes with
 * the writes that make them (expirer.c). */
#define EXP_LOCKS 256

/* The server's state, shared by every connection thread (read-only but
 * for the updater's own fields). */
struct objd {
	const struct objd_conf *cfg; /* owned by daemon_main */
	struct ring_hash_conf hash;
	/* updater.c */
	pthread_t updater;
	int updater_started;
	pthread_mutex_t lock; /* guards stopping; held by a pass: pass_lock */
	pthread_mutex_t pass_lock;
	pthread_cond_t wake;
	int stopping;
	/* expirer.c */
	pthread_t expirer;
	int expirer_started;
	pthread_mutex_t exp_pass_lock; /* one expirer pass at a time */
	pthread_mutex_t hash_locks[EXP_LOCKS];
	/* auditor.c (h6) */
	pthread_t auditor;
	int auditor_started;
	pthread_mutex_t aud_pass_lock; /* one auditor pass at a time */
	struct recon_conf recon;       /* what /recon answers from */
	/* replicator.c (h5) */
	pthread_t replicator;
	int replicator_started;
	pthread_mutex_t repl_pass_lock; /* one replicator pass at a time */
	struct repl_state *repl;	/* the ring and its reload state */
	/* reconstructor.c (issue 6) */
	pthread_t reconstructor;
	int reconstructor_started;
	pthread_mutex_t rcon_pass_lock; /* one reconstructor pass at a time */
};

/* --- meta.c: object metadata, an ordered list of header-like pairs ------ */

struct objmeta_item {
	char *name;
	char *value;
};

struct objmeta {
	struct objmeta_item *items;
	int n;
	int cap;
};

#define OBJMETA_INIT       \
	{                  \
		NULL, 0, 0 \
	}

/* Set name (case-insensitive) to value, replacing an existing item in
 * place or appending. Both strings are copied. 0 or -ENOMEM. */
int objmeta_set(struct objmeta *m, const char *name, const char *value);
/* The value of name (case-insensitive), or NULL. Owned by m. */
const char *objmeta_get(const struct objmeta *m, const char *name);
/* Remove name if present. */
void objmeta_del(struct objmeta *m, const char *name);
/* Free every item; m is empty and reusable afterwards. */
void objmeta_free(struct objmeta *m);
/* Append the binary encoding of m to out (see meta.c). 0 or -ENOMEM. */
int objmeta_encode(const struct objmeta *m, struct buf *out);
/* Decode len bytes into m (which must be empty). 0, -EINVAL for a
 * malformed block, or -ENOMEM; m is left empty on error. */
int objmeta_decode(const uint8_t *p, size_t len, struct objmeta *m);
/* Python's str.title() of an ASCII header name, into out (same length). */
void objmeta_title(const char *name, char *out, size_t outlen);
/* 1 if name is object user metadata or sysmeta that a PUT stores:
 * X-Object-Meta-*, X-Object-Sysmeta-*, X-Object-Transient-Sysmeta-*. */
int objmeta_is_user_or_sys(const char *name);
/* 1 for X-Object-Meta-* and X-Object-Transient-Sysmeta-* (what a POST
 * replaces). */
int objmeta_is_post_meta(const char *name);
/* 1 for the other headers Swift's object server stores (allowed_headers:
 * Content-Disposition, Content-Encoding, X-Delete-At, ...). */
int objmeta_is_allowed_header(const char *name);
/* 1 if s (len bytes) is valid UTF-8 without NUL (Swift's check_utf8). */
int objmeta_utf8_ok(const char *s, size_t len);

/* --- etag.c: the hash an ETag is of ------------------------------------ */

/* Request header and metadata name of an ETag that is no MD5 (etag.c). */
#define ETAG_HASH_HEADER "X-Backend-Etag-Hash"
#define ETAG_XXH128_NAME "xxh3-128"
enum etag_kind { ETAG_MD5, ETAG_XXH128 };
/* The kind an X-Backend-Etag-Hash value names ("md5" or NULL: ETAG_MD5,
 * "xxh3-128": ETAG_XXH128, any case), or -EINVAL for one unknown. */
int etag_kind_parse(const char *v);
/* The kind of an object's ETag by its metadata; -EILSEQ for a value this
 * server does not know (the file cannot be checked). */
int etag_kind_of(const struct objmeta *m);
/* Metadata name of a replicated body's XXH3-128, stored by a PUT whose
 * body was checked by one the proxy sent (its X-Backend-Body-Xxh128
 * header or trailer): what every later check of the body takes. */
#define BODY_XXH_META "X-Backend-Body-Xxh128"
/* The hash a body of metadata m is checked by, and *want (in m) the value
 * it must have: the stored BODY_XXH_META if m has a well-formed one (an
 * XXH3-128), else the ETag by etag_kind_of. ETAG_MD5 or ETAG_XXH128;
 * -EILSEQ for no ETag or one of an unknown kind. */
int etag_check_of(const struct objmeta *m, const char **want);
/* 1 if s is 32 lowercase hex digits (a hash's hex, an object's hash dir). */
int etag_is_hex32(const char *s);
/* A running hash of kind; one thread at a time. */
struct etag_sum {
	int kind;
	void *st; /* NULL once final or freed */
};
/* 0 or -ENOMEM. Ended by etag_sum_final or etag_sum_free. */
int etag_sum_init(struct etag_sum *s, int kind);
/* Add len bytes. 0 or -EIO (OpenSSL). */
int etag_sum_update(struct etag_sum *s, const void *data, size_t len);
/* The hash of what was added, 32 lowercase hex digits; ends s. 0 or -EIO. */
int etag_sum_final(struct etag_sum *s, char hex[33]);
/* Drop s unless ended (safe twice). */
void etag_sum_free(struct etag_sum *s);
/* The hash of kind of one buffer into hex. 0 or -EIO. */
int etag_sum_buf(int kind, const void *data, size_t len, char hex[33]);

/* --- syncgroup.c: group commit of syncs ---------------------------------- */

/*
 * Make every change this thread made before the call to the filesystem
 * of fd (file data, inodes, directory entries) durable, by one syncfs
 * shared with the other threads waiting on the same filesystem (see
 * syncgroup.c). fd stays the caller's. 0 or -errno (not logged). Any
 * thread; blocks.
 */
int sg_sync(int fd);
/* sg_sync for a writer that syncs the same filesystem again right after
 * (a PUT: its file, then its new name): the next batch waits a little
 * for it (syncgroup.c). *ticket is for that second sync. */
int sg_sync_first(int fd, unsigned *ticket);
/* sg_sync, the second of a writer that called sg_sync_first. */
int sg_sync_again(int fd, unsigned ticket);
/* Tests: sync with fn(fd) instead of syncfs + fsync (NULL: those
 * again), and wait up to gather_us for the writers that come back (-1:
 * the default); how many writers are queued or in a running batch. */
void sg_set_sync(int (*fn)(int fd), long gather_us);
int sg_queued(void);

/* --- diskfile.c: the on-disk format ------------------------------------ */

/* Path buffers: a device dir leaves room for what goes under it. */
#define DF_DEV_DIR_MAX	3072
#define DF_HASH_DIR_MAX 3584

/* Where one object lives. */
struct df_loc {
	char dev_dir[DF_DEV_DIR_MAX]; /* <devices>/<dev> */
	/* .../objects[-N]/<part>/<sfx>/<hash> (N: the storage policy) */
	char hash_dir[DF_HASH_DIR_MAX];
	int policy;	   /* the storage policy index (df_locate_policy) */
	int dev_unchecked; /* df_locate_read: df_open_ec checks dev_dir */
	char hash[33];
	char name[1 + OBJ_MAX_ACCOUNT_NAME + 1 + OBJ_MAX_CONTAINER_NAME + 1 +
		  OBJ_MAX_OBJECT_NAME + 1]; /* "/a/c/o", as Swift's 'name' */
};

enum df_state {
	DF_ABSENT,  /* nothing on disk (or quarantined just now) */
	DF_DELETED, /* newest is a tombstone; ts is its time */
	DF_EXPIRED, /* a .data whose X-Delete-At has passed; ts is its time */
	DF_LIVE,    /* a .data, open in fd */
};

/* An object opened for reading (df_open). */
struct df_obj {
	enum df_state state;
	struct ts data_ts;   /* the .data's or .ts's timestamp */
	struct ts meta_ts;   /* the newest .meta's, or data_ts */
	struct objmeta meta; /* merged metadata of .data and .meta */
	int fd;		     /* the .data, or -1 */
	uint64_t body_len;
	void *whole; /* a small live .data read whole (body first, malloc'd;
			df_close frees it), or NULL */
	char data_path[PATH_MAX];
	/* erasure-coded policies (df_open_ec) */
	int frag_index; /* the archive opened (#<idx>), -1 if none */
	int durable;	/* the .data opened is durable (always, replicated) */
	uint32_t frags; /* indexes held at data_ts (bit i: #i; durable
			    ones, or any with nondurable) */
};

/*
 * An upload in progress into <dev>/tmp (df_writer_open). Once its body
 * passes DF_BUF_AFTER bytes, writes are gathered in buf (DF_BUF_SIZE)
 * and written a buffer at a time (the HTTP server hands bodies over in
 * ~31 KiB pieces), and every DF_SYNC_EVERY bytes the kernel is asked to
 * start writing back (sync_file_range), so the disk works while the body
 * arrives and the final fsync finds little left to write. Every buffer:
 * at 8 MiB a volume's 4 MiB chunk was all written back at its fsync, and
 * 10-16 chunks at once made bursts of fsyncs (NBD sequential writes
 * 43-78 -> 67-107 MiB/s, FLUSH 0.55-0.93 -> 0.35-0.49 s in three pairs).
 */
#define DF_BUF_AFTER  (256 * 1024)
#define DF_BUF_SIZE   (1024 * 1024)
#define DF_SYNC_EVERY DF_BUF_SIZE
/*
 * A body announced at DF_DIRECT_MIN bytes or more is written with
 * O_DIRECT, a whole buffer at a time, and only its last partial buffer
 * and the metadata go through the page cache (df_writer_open). As
 * Swift's object server drops the cache of what it writes, these bytes
 * would only push other data out; and taking fresh page-cache pages is
 * dear: a 2 GiB file written through the cache cost 8.8 CPU s here,
 * with O_DIRECT 0.74 s (docs/benchmarks.md).
 */
#define DF_DIRECT_MIN	DF_BUF_SIZE
#define DF_DIRECT_ALIGN 4096
struct df_writer {
	int fd;
	char tmp_path[PATH_MAX];
	void *md5;     /* EVP_MD_CTX */
	void *xxh;     /* XXH3_state_t, instead of md5 (df_writer_use_xxh128) */
	uint64_t size; /* body bytes accepted */
	char *buf;     /* NULL: unbuffered */
	size_t used;   /* bytes in buf, not yet written */
	uint64_t on_disk;   /* bytes written to fd */
	uint64_t writeback; /* writeback started below this offset */
	int direct;	    /* fd has O_DIRECT: full buffers only */
	int recycled;	    /* fd is a kept file (recycle.c): cut at commit */
};

/*
 * Fill loc for /<dev>/<part>/a/c/o under devices, in storage policy 0's
 * folder (objects/). part must be decimal digits. Returns 0, -ENODEV when
 * <devices>/<dev> is not a directory, -ENAMETOOLONG, or -EIO from the
 * hash.
 */
int df_locate(const char *devices, const char *dev, const char *part,
	      const struct ring_hash_conf *hash, const char *a, const char *c,
	      const char *o, struct df_loc *loc);
/* The same in storage policy index policy's folder (objects-N for N > 0,
 * Swift's get_data_dir; the caller checked that the policy exists). */
int df_locate_policy(const char *devices, const char *dev, const char *part,
		     int policy, const struct ring_hash_conf *hash,
		     const char *a, const char *c, const char *o,
		     struct df_loc *loc);

/* df_locate_policy for a read (df_open_ec): <devices>/<dev> is not looked
 * at unless the hash dir is missing (one stat less per GET or HEAD of an
 * object that exists); the -ENODEV then comes from df_open_ec. */
int df_locate_read(const char *devices, const char *dev, const char *part,
		   int policy, const struct ring_hash_conf *hash, const char *a,
		   const char *c, const char *o, struct df_loc *loc);

/*
 * Look at loc's hash dir as of now_secs (for X-Delete-At) and open what is
 * current. On 0, *obj is filled (state says what was found) and must be
 * released with df_close. A corrupt file is quarantined and reported as
 * DF_ABSENT. Returns 0 or -errno (an I/O error).
 */
int df_open(const struct df_loc *loc, int64_t now_secs, struct df_obj *obj);
/*
 * df_open for an erasure-coded policy's hash dir (the same as df_open on
 * a replicated one): the current state is the newest .ts or durable
 * archive <ts>#<i>#d.data (with DF_OPEN_NONDURABLE in flags, the newest
 * archive of either kind); of several indexes at that time, frag_index's
 * (-1: the lowest) is opened. obj->frags lists the indexes held at that
 * time; when frag_index is not among them the state is DF_ABSENT with
 * data_ts and frags filled. With DF_OPEN_NO_BODY a small .data is not
 * read whole (obj->whole stays NULL: a HEAD). 0 or -errno, as df_open;
 * -ENODEV when loc came from df_locate_read and its device is missing.
 */
#define DF_OPEN_NONDURABLE 1
#define DF_OPEN_NO_BODY	   2
int df_open_ec(const struct df_loc *loc, int64_t now_secs, int frag_index,
	       int flags, struct df_obj *obj);
/* Release what df_open holds. */
void df_close(struct df_obj *obj);

/* Start an upload of a body announced at len bytes (-1: unknown): a temp
 * file in <dev>/tmp. From DF_DIRECT_MIN on, the body is written with
 * O_DIRECT where the filesystem allows it (else through the page cache),
 * and the temp file is one recycle.c kept on loc's device if one fits
 * (then the room for it need not be claimed). 0 or -errno (logged). On
 * error w needs no abort. */
int df_writer_open(const struct df_loc *loc, struct df_writer *w, int64_t len);
/* bufpool.c: a DF_BUF_SIZE buffer aligned for O_DIRECT, in a huge page
 * when the kernel gives one (a kept one if any), NULL on ENOMEM; only
 * df_buf_put gives it back (NULL is fine), never free(). */
char *df_buf_get(void);
void df_buf_put(char *p);
/* How many buffers are kept for the next df_buf_get now. */
int df_buf_kept(void);
/* O_DIRECT on or off (1 or 0) for fd's reads and writes. 0 or -errno
 * (-EINVAL where the filesystem refuses it). */
int df_set_direct(int fd, int on);

/* dioread.c */
/*
 * Blocks (DF_BUF_SIZE) a large GET's reader holds: the one being sent
 * and two read (and hashed) ahead meanwhile (dioread.c).
 */
#define DF_READ_AHEAD 3
struct df_reader;
/*
 * A reader of fd (which stays the caller's) with O_DIRECT and read-ahead;
 * with hash_len, it also takes the MD5 of the file's first hash_len bytes
 * as it reads them (on a thread of its own where io_uring works). 0 or
 * -errno (-EINVAL: O_DIRECT refused, read fd as before; -ENOMEM).
 */
int df_reader_open(int fd, uint64_t hash_len, struct df_reader **out);
/* pread of up to n bytes at off, as the caller goes on reading up to
 * until (a file offset: read-ahead stops there). The count (0: end of
 * file) or -1 with errno. One thread at a time. */
ssize_t df_reader_pread(struct df_reader *r, char *buf, size_t n, uint64_t off,
			uint64_t until);
/* Once the caller read all of the hashed bytes: their MD5 in hex. 0 or
 * -errno (-ESPIPE: not all of them read, or with a gap between reads;
 * -EINVAL: opened without hash_len). */
int df_reader_md5(struct df_reader *r, char hex[33]);
/* Wait for the reads in flight, give the buffers back, free r (NULL is
 * fine). Does not close the fd. */
void df_reader_close(struct df_reader *r);
/* Append body bytes. 0 or -errno (logged; -ENOSPC when full). */
int df_writer_write(struct df_writer *w, const void *data, size_t len);
/* The MD5 hex of what was written so far; ends the digest (call once). */
int df_writer_etag(struct df_writer *w, char hex[33]);
/*
 * Before the first write: hash the body with XXH3-128 instead of MD5 (a
 * client that sent the body's MD5 as its ETag and its XXH3-128 to check
 * the transfer by; server.c). 0 or -ENOMEM (w unchanged).
 */
int df_writer_use_xxh128(struct df_writer *w);
/* The XXH3-128 of what was written so far as 32 lowercase hex digits
 * (its canonical, big-endian form); ends the digest (call once). */
int df_writer_xxh128(struct df_writer *w, char hex[33]);
/* The bytes df_writer_commit will append after the body for meta once
 * put_end has added the ETag and Content-Length: a reservation for the
 * whole file claims body + this, so the tail lands in the same extent. */
uint64_t df_tail_reserve(const struct objmeta *meta);
/*
 * Append meta and the footer, sync (sg_sync), and rename the temp file to
 * <hash_dir>/<ts><ext> (ext ".data", ".meta" or ".ts"), sync the
 * filesystem again (sg_sync: the new entries), then remove the files the new one makes obsolete. On 0 the
 * file is durable and w is finished; on error the temp file is removed.
 * Either way df_writer_abort is still safe to call.
 */
int df_writer_commit(struct df_writer *w, const struct df_loc *loc,
		     const struct ts *ts, const char *ext,
		     const struct objmeta *meta);
/* As df_writer_commit; placed(arg), when not NULL, runs once the file
 * has its final name, before the sync that makes the name durable, so
 * that work which needs the file in place (a PUT's container update)
 * overlaps that sync. It is not run when commit fails before. */
int df_writer_commit_then(struct df_writer *w, const struct df_loc *loc,
			  const struct ts *ts, const char *ext,
			  const struct objmeta *meta, void (*placed)(void *),
			  void *arg);
/* Drop an unfinished upload: close and unlink the temp file. Idempotent. */
void df_writer_abort(struct df_writer *w);

/*
 * Commit an upload that holds a whole file as another replica has it
 * (body, metadata, footer: a replication PUT) as <hash_dir>/<fname>:
 * check that it is whole (footer, CRC, name == loc->name, X-Timestamp ==
 * fname's, a .data's Content-Length and body MD5 against its ETag), then
 * fsync, rename, fsync dir, cleanup, invalidate the suffix. On 0 *meta
 * (empty on entry, the caller frees it) holds the file's metadata.
 * -EILSEQ for a file that is not whole, -EINVAL for a bad fname, -errno.
 * w is finished either way. (replicator)
 */
int df_writer_place(struct df_writer *w, const struct df_loc *loc,
		    const char *fname, struct objmeta *meta);

/* Write a file without body (.ts or .meta) durably; as df_writer_commit. */
int df_write_empty(const struct df_loc *loc, const struct ts *ts,
		   const char *ext, const struct objmeta *meta);

/* mkdir -p path, whose first base_len bytes name an existing directory;
 * each directory made is made durable (its parent fsynced). 0 or -errno
 * (logged). */
int df_mkdirs(const char *path, size_t base_len);

/* Remove the files of hash_dir made obsolete by newer ones (Swift's
 * hash_cleanup_listdir). 0 or -errno of opendir. */
int df_cleanup(const char *hash_dir);

/* What a hash dir holds once tidied (df_tidy), for the replicator. */
struct df_current {
	enum df_state state; /* DF_LIVE (.data), DF_DELETED (.ts), DF_ABSENT */
	struct ts data_ts;   /* of the .data or .ts */
	int has_meta;	     /* a .meta newer than the .data */
	struct ts meta_ts;
	char data_name[64]; /* file names in the hash dir, "" if none */
	char meta_name[64];
	int nfiles; /* files left (0: the hash dir was removed) */
	/* erasure-coded policies: data_name is the lowest durable index's
	 * archive; frags has bit i for each durable <data_ts>#<i>#d.data */
	int ec;
	uint32_t frags;
};

/* One fragment archive of a hash dir (df_list_archives). */
struct df_archive {
	struct ts ts;
	int idx;     /* fragment index */
	int durable; /* #d */
	char name[64];
};

/*
 * Every fragment archive (<ts>#<i>[#d].data) of hash_dir into *out
 * (malloc'd, the caller frees; *n entries), newest first, by index at
 * equal times, durable before non-durable. 0, -ENOENT (no such dir),
 * -errno. (reconstructor)
 */
int df_list_archives(const char *hash_dir, struct df_archive **out, int *n);

/* The storage policy index of the folder (objects, objects-N) a hash dir
 * <dev>/<folder>/<part>/<sfx>/<hash> lies in (0 for another shape). */
int df_dir_policy(const char *hash_dir);

/*
 * COMMIT of fragment archive idx at ts in loc's hash dir: add add's items
 * to the metadata of <ts>#<idx>.data (rewritten in place, fsynced),
 * rename it to <ts>#<idx>#d.data, fsync the dir, clean up, invalidate the
 * suffix. The caller holds the object's stripe lock (exp_lock) so that
 * two COMMITs of one object do not interleave. Returns 0 (made durable),
 * 1 (was already durable; add not applied), -ENOENT (no such non-durable
 * archive), -EILSEQ (corrupt file), -errno (logged). On 0 and 1 *meta
 * (empty on entry; the caller frees it in every case) holds the archive's
 * metadata.
 */
int df_commit_archive(const struct df_loc *loc, const struct ts *ts, int idx,
		      const struct objmeta *add, struct objmeta *meta);

/*
 * df_cleanup, then reclaim: a newest tombstone older than reclaim_before
 * (NULL: never) goes, as do .meta files without a .data that are older;
 * an emptied hash dir is removed. Fills *cur with what is left. 0, or
 * -errno of listing (-ENOENT when hash_dir is gone). (replicator, hashes.c)
 */
int df_tidy(const char *hash_dir, const struct ts *reclaim_before,
	    struct df_current *cur);

/* Read the footer and metadata of an open object file into m (empty) and
 * *body_len. 0, -EILSEQ when the file is corrupt (bad footer, lengths,
 * CRC or encoding), -errno. (the auditor) */
int df_read_meta(int fd, struct objmeta *m, uint64_t *body_len);

/* Move loc's hash dir to <dev>/quarantined/objects/<hash>[-N]. 0 or
 * -errno (logged either way). */
int df_quarantine(const struct df_loc *loc, const char *why);

/*
 * Read the body of a data file of body_len bytes and check its hash of
 * kind (etag_kind_of its metadata) against etag. 0 if equal, -EILSEQ if
 * not, -errno on I/O errors. (For tests and replicated files.)
 */
int df_verify_body(int fd, uint64_t body_len, const char *etag, int kind);

/* --- recycle.c: obsolete large .data files kept for the next upload ------ */

/* path, a .data an overwrite made obsolete on dev_dir: keep it for reuse
 * if it is large, nobody has it open and the device keeps few enough;
 * else unlink it. 1 kept, 0 unlinked (or gone), -errno from unlink. */
int rcy_offer(const char *dev_dir, const char *path);
/* If dev_dir keeps a file fit for a body of len bytes, put its path in
 * path (size bytes) and return 1: it is then the caller's temp file, to
 * write from offset 0, cut to length and rename or unlink. Else 0. */
int rcy_take(const char *dev_dir, uint64_t len, char *path, size_t size);
/* Unlink dev_dir's files kept unused for a while (the updater's pass). */
void rcy_expire(const char *dev_dir);
/* Unlink every file dev_dir keeps (the device is full). */
void rcy_drain(const char *dev_dir);
/* Unlink every kept file and free the lists (exit). */
void rcy_drain_all(void);

/* --- hashes.c: suffix hashes of a partition (replicator) ----------------- */

/*
 * Record that suffix of partition part of storage policy policy's folder
 * (objects, objects-N) of the device at dev_dir changed (appended to
 * <dev>/objects[-N]/<part>/hashes.invalid under the partition's lock), so
 * the next objd_get_hashes rehashes it. Call after every change under the
 * folder is in place. Any thread or process. 0 or -errno (logged).
 */
int objd_hash_invalidate(const char *dev_dir, int policy, const char *part,
			 const char *suffix);
/* Non-zero for "objects" or "objects-<digits>": a storage policy's folder
 * on a device (Swift's get_data_dir). */
int objd_data_dir_ok(const char *name);

/* The same for a hash dir path <dev>/objects/<part>/<suffix>/<hash>. */
int objd_hash_invalidate_dir(const char *hash_dir);

/* 1 if s is a suffix: three lowercase hex digits. */
int objd_suffix_ok(const char *s);
/* 1 if s is exactly n lowercase hex digits. */
int objd_hex_ok(const char *s, int n);

/*
 * The suffix hashes of a partition (in storage policy policy's folder) as
 * a new JSON object {suffix: md5 hex}
 * in *out (owned by the caller): cached in <part>/hashes.json, with the
 * invalidated suffixes and the nrecalc given ones rehashed (tidying each
 * hash dir: obsolete files go, tombstones older than reclaim_age seconds
 * are reclaimed, empty dirs removed). An absent partition gives {}.
 * Any thread or process (flock on <part>/.lock). 0 or -errno (logged).
 */
int objd_get_hashes(const char *dev_dir, int policy, const char *part,
		    const char *const *recalc, int nrecalc, int64_t reclaim_age,
		    json_t **out);

/* One object of a suffix listing (objd_list_suffix). */
struct objd_entry {
	char hash[33];
	struct df_current cur;
};

/*
 * Tidy and list every object of one suffix of a partition (as
 * objd_get_hashes tidies) into *out (malloc'd, *n entries, sorted by
 * hash; objects left with nothing current are skipped). An absent
 * suffix gives none. 0 or -errno.
 */
int objd_list_suffix(const char *dev_dir, int policy, const char *part,
		     const char *sfx, int64_t reclaim_age,
		     struct objd_entry **out, int *n);

/* --- replserver.c: the verbs replication uses --------------------------- */

/* The handler of a replication request (REPLICATE, SSYNC, a PUT with
 * X-Backend-Replication: True), or NULL for any other (objd_route). */
const struct http_handler *objd_repl_route(struct http_request *req);

/* --- replicator.c: the object replicator ------------------------------- */

/* Figures of one replicator pass (logged, and recorded in the recon
 * cache as replication_stats). */
struct repl_stats {
	long long attempted; /* partition jobs */
	long long success, failure;
	long long suffix_hash; /* suffixes compared with a peer */
	long long suffix_sync; /* suffixes synced to a peer */
	long long objects_moved, bytes_moved;
	long long handoffs_removed;
	long long errors;
	double start, duration;
};

/* Most primaries of a partition (k + m of an EC policy included). */
#define REPL_MAX_PRIMARIES 16

/* One partition job of a pass (replicator.c walks the partitions). */
struct repl_job {
	int dev_id;
	int policy;	   /* storage policy index */
	char data_dir[16]; /* its folder: objects, objects-N */
	char dev_dir[DF_DEV_DIR_MAX];
	char part[16];
	uint32_t partno;
	int handoff;
	int npeers; /* the primaries but this device, in ring order */
	const struct ring_dev *peers[REPL_MAX_PRIMARIES];
};

/* A pass over one policy: jobs shared by the workers, each running
 * run(pass, job); arg is the caller's (the reconstructor's figures). */
struct repl_pass {
	struct objd *od;
	struct ring *ring; /* the object ring of the policy being worked on */
	int policy;
	char data_dir[16];
	struct repl_job *jobs;
	int njobs, next;
	pthread_mutex_t lock; /* next, st and what arg holds */
	struct repl_stats st;
	int concurrency; /* worker threads */
	void (*run)(struct repl_pass *p, struct repl_job *j);
	void *arg;
};

/* One connection to peers, reused across requests of a job (and across a
 * replicator worker's jobs: replicator.c t_easy). */
struct repl_conn {
	struct objd *od;
	void *easy; /* CURL *, made at first use; freed by the job, or kept
		     * by the replicator's worker for its next job */
	int policy; /* of the job: every request names it */
	const char *agent; /* "replicator", "reconstructor" (User-Agent) */
};

/* A request body read from bytes [off, size) of fd. */
struct repl_upload {
	int fd;
	uint64_t off, size;
};

/* The current files of every object of some suffixes, with their suffix
 * (what is pushed, and for a handoff what is removed afterwards). */
struct repl_snap {
	struct objd_entry *e;
	char (*sfx)[4];
	int n;
	const char **sfxs; /* the suffixes listed */
	int nsfx;
};

struct curl_slist;

/* The replicator's state (rings), made before any pass of the replicator
 * or the reconstructor. 0 or -ENOMEM. */
int repl_init(struct objd *od);
/* The current object ring of the i-th policy (policy_at order; a
 * reference the caller puts), reloaded when the file changed, or NULL. */
struct ring *repl_ring(struct objd *od, int i);
/* 1 if ring device d is this server (bind_ip and bind_port). */
int repl_is_local(const struct objd *od, const struct ring_dev *d);
/* Seconds since the epoch, as a double. */
double repl_now(void);
/* The headers every request of c carries (User-Agent, policy index, no
 * Expect); the caller frees the list. NULL on ENOMEM. */
struct curl_slist *repl_headers(const struct repl_conn *c);
/* Point easy (a CURL *) at method on path of peer with headers hdrs and
 * the replicator's timeouts (conn_timeout, replicator_node_timeout). */
void repl_easy_setup(const struct repl_conn *c, void *easy,
		     const struct ring_dev *peer, const char *method,
		     const char *path, struct curl_slist *hdrs);
/* One request to peer: method on path (quoted), headers hdrs, body from
 * up (NULL: none), answer into resp (NULL: dropped). The HTTP status,
 * or 0 without an answer (logged). */
long repl_request(struct repl_conn *c, const struct ring_dev *peer,
		  const char *method, const char *path, struct curl_slist *hdrs,
		  struct repl_upload *up, struct buf *resp);
/* REPLICATE or SSYNC of suffixes of part on peer in batches, the JSON
 * answers merged into *out (new reference). 0, -EIO, -ENODEV (507). */
int repl_peer_json(struct repl_conn *c, const struct ring_dev *peer,
		   const char *method, const char *part, const char **sfx,
		   int nsfx, json_t **out);
/* Send one file of hash_dir as a replication PUT (the exact file). Bytes
 * sent (0: the file is gone), or -errno (-ENODEV for 507). */
int64_t repl_send_file(struct repl_conn *c, const struct ring_dev *peer,
		       const char *part, const char *hash_dir,
		       const char *fname);
/* Tidy and list every object of the suffixes of j's partition into *s
 * (repl_snap_free it either way). 0 or -errno. */
int repl_snapshot(const struct objd *od, const struct repl_job *j,
		  const char **sfxs, int nsfx, struct repl_snap *s);
void repl_snap_free(struct repl_snap *s);
/* Now and then drop j's hashes.json so every suffix is rehashed (old
 * tombstones reclaimed). */
void repl_maybe_full_rehash(const struct objd *od, const struct repl_job *j);
/* Remove the emptied dirs of a handoff snapshot's objects, and the
 * partition when nothing is left. 1 if the partition is gone. */
int repl_prune_handoff(const struct repl_job *j, const struct repl_snap *s);
/* Collect the jobs of p's policy (ring, policy, data_dir set) on every
 * local device and orphan device, handoffs first, and run them with
 * p->concurrency workers calling p->run. 0 or -errno. */
int repl_run_policy(struct repl_pass *p);

/*
 * One replicator pass over every local device (see replicator.c): sync
 * each partition held with the other primaries, push handoff partitions
 * and remove them once every primary has them. Serialised with other
 * passes of this process. 0 (figures in *st when not NULL), -ENOENT when
 * there is no object ring, -errno.
 */
int repl_run_once(struct objd *od, struct repl_stats *st);

/* --once replicate: one pass (repl_run_once) with the state it needs.
 * 0, or -errno (also when a partition failed). */
int repl_once(struct objd *od);

/* Start / stop the replicator thread (every replicator_interval);
 * repl_stop also frees what repl_once made. */
int repl_start(struct objd *od);
void repl_stop(struct objd *od);

/* --- server.c: routes and the HTTP verbs -------------------------------- */

/* Route a request to its handler (never NULL). */
const struct http_handler *objd_route(struct http_request *req);

/* --- updater.c: container updates and async_pending --------------------- */

/* One container update (one target). Strings are owned by the caller. */
struct cont_update {
	const char *op; /* "PUT" or "DELETE" */
	const char *account, *container, *obj;
	const struct objmeta *headers; /* X-Size, X-Timestamp, ... */
};

/*
 * Send op to every container named by the request's X-Container-Host /
 * X-Container-Device / X-Container-Partition at once (bounded by
 * conn_timeout and node_timeout); for each target that does not answer 2xx,
 * save a record under <dev_dir>/async_pending/ durably. Runs in the
 * request's thread; returns when every target answered or was saved.
 */
void upd_container_update(struct objd *od, struct http_request *req,
			  const char *dev_dir, const char *obj_hash,
			  const struct cont_update *u);

/* upd_container_update in two halves, so that the request's thread can
 * work while the containers do: upd_update_send sends u to the
 * request's targets and returns what upd_update_finish needs (NULL when
 * there is nothing to wait for: no targets, or no memory, logged);
 * upd_update_finish(NULL) does nothing. u must live until then. */
struct upd_sent;
struct upd_sent *upd_update_send(struct objd *od, struct http_request *req,
				 const struct cont_update *u);

/* Read the answers to s, save a record (as upd_container_update) for
 * each target that did not answer 2xx when save is set, free s. */
void upd_update_finish(struct objd *od, struct upd_sent *s, const char *dev_dir,
		       const char *obj_hash, int save);

/* As upd_container_update, with the targets given (comma-separated
 * hosts and devices, one container partition) rather than read from a
 * request; txn may be NULL. */
void upd_container_update_to(struct objd *od, const char *hosts,
			     const char *devices, const char *cpart,
			     const char *txn, const char *dev_dir,
			     const char *obj_hash, const struct cont_update *u);

/* One updater pass over every device: send each async_pending record,
 * remove the ones a container answered 2xx; also remove stale tmp
 * files. Serialised with other passes. Returns the records left, or
 * -errno. */
int upd_run_once(struct objd *od);

/*
 * Run pass(od) every interval seconds until od->stopping is set (and
 * od->wake signalled); the body of each background thread. Takes od->lock
 * only while waiting, never while pass runs.
 */
void objd_every(struct objd *od, long long interval,
		void (*pass)(struct objd *));

/* Start fn(od) as a background thread into *tid with every signal
 * blocked (they are daemon_main's); what names it in the log. 0 or
 * -errno (logged). */
int objd_thread_start(struct objd *od, pthread_t *tid, void *(*fn)(void *),
		      const char *what);
/* Set od->stopping, wake the threads and join *tid if *started; then
 * *started is 0. */
void objd_thread_stop(struct objd *od, pthread_t *tid, int *started);

/* Start / stop the background updater thread (every updater_interval). */
int upd_start(struct objd *od);
void upd_stop(struct objd *od);

/* --- expirer.c: the expiry index and the expirer ----------------------- */

/* One entry of a device's expiry index. */
struct exp_entry {
	int64_t delete_at;
	char hash[33];
	char part[32];
	char account[OBJ_MAX_ACCOUNT_NAME + 1];
	char container[OBJ_MAX_CONTAINER_NAME + 1];
	char obj[OBJ_MAX_OBJECT_NAME + 1];
	/* the container update target of the write that set X-Delete-At
	 * (X-Container-Host, -Device, -Partition; empty when none) */
	char cont_host[1024];
	char cont_device[1024];
	char cont_part[32];
	int policy; /* the object's storage policy ("policy", absent: 0) */
};

/* The X-Delete-At of metadata m in seconds, or 0 when it has none (or an
 * unparsable one). */
int64_t exp_delete_at_of(const struct objmeta *m);

/* The path of the entry (delete_at, hash) under dev_dir into out. 0 or
 * -ENAMETOOLONG. */
int exp_index_path(const char *dev_dir, int64_t delete_at, const char *hash,
		   char *out, size_t len);

/* Parse an entry's file name "<10 digits>-<32 hex>". 0 or -EINVAL. */
int exp_index_parse_name(const char *name, int64_t *delete_at, char hash[33]);

/* Write e durably as <dev_dir>/expiring/<delete_at>-<hash> (replacing an
 * entry of the same name). 0 or -errno (logged). */
int exp_index_add(const char *dev_dir, const struct exp_entry *e);

/* Read the entry at path into e. 0, -ENOENT, -EINVAL (not an entry), or
 * -errno. */
int exp_index_read(const char *path, struct exp_entry *e);

/* Remove the entry (delete_at, hash) of dev_dir durably; an absent entry
 * is no error. 0 or -errno (logged). */
int exp_index_remove(const char *dev_dir, int64_t delete_at, const char *hash);

/* Lock / unlock the stripe of object hash (held across a write that
 * changes or may change its X-Delete-At, see expirer.c). */
void exp_lock(struct objd *od, const char *hash);
void exp_unlock(struct objd *od, const char *hash);

/*
 * The write-side hook (call with the hash locked): before a write that
 * sets X-Delete-At new_da (0: none) is committed, record it in the index.
 * req gives the container update target and may be NULL. 0 or -errno.
 */
int exp_before_write(struct objd *od, struct http_request *req,
		     const struct df_loc *loc, const char *part, const char *a,
		     const char *c, const char *o, int64_t new_da);

/*
 * After a write (hash still locked): remove the entries for old_da and
 * new_da (either may be 0) that the object's current X-Delete-At, read
 * from disk now, no longer matches.
 */
void exp_after_write(const struct df_loc *loc, int64_t old_da, int64_t new_da);

/* One expirer pass over every device as of now_secs: expire each object
 * whose entry is due (see expirer.c), drop stale entries. Serialised with
 * other passes. Returns the number of objects expired, or -errno. */
int exp_run_once(struct objd *od, int64_t now_secs);

/* Start / stop the expirer thread (every expirer_interval). exp_stop
 * also stops the updater thread's loop (they share od->stopping). */
int exp_start(struct objd *od);
void exp_stop(struct objd *od);

/* --- auditor.c: the object auditor ------------------------------------ */

/* What one auditor pass did. */
struct aud_stats {
	uint64_t files;	      /* files read */
	uint64_t passes;      /* files that passed */
	uint64_t quarantined; /* hash dirs moved to quarantine */
	uint64_t errors;      /* I/O errors (files left alone) */
	uint64_t bytes;	      /* body bytes read */
	double duration;      /* seconds */
};

/*
 * One auditor pass over every object file of every device, paced by
 * auditor_files_per_second and auditor_bytes_per_second (see auditor.c);
 * a corrupt file's hash dir is quarantined. Logs the pass and records it
 * in the recon cache. Serialised with other passes; returns early (0)
 * when the server stops. *out (may be NULL) gets the figures. 0 or
 * -errno.
 */
int aud_run_once(struct objd *od, struct aud_stats *out);

/* Start / stop the auditor thread (every auditor_interval). */
int aud_start(struct objd *od);
void aud_stop(struct objd *od);

/* --- reconstructor.c: the EC reconstructor (issue 6) ------------------- */

/* Figures of one reconstructor pass (logged; recon cache). */
struct rcon_stats {
	long long partitions, failed; /* partition jobs, those that failed */
	long long rebuilt;	      /* archives rebuilt onto a primary */
	long long reverted;	      /* archives moved from a handoff */
	long long tombstones;	      /* .ts/.meta files pushed */
	long long bytes;	      /* archive bytes sent */
	long long errors;
	double start, duration;
};

/*
 * One reconstructor pass over every erasure-coded policy (see
 * reconstructor.c). Serialised with other passes. 0 (figures in *st when
 * not NULL), -ENOENT when no EC policy has a ring, -errno.
 */
int rcon_run_once(struct objd *od, struct rcon_stats *st);
/* --once reconstruct: one pass; -EIO when a partition failed. */
int rcon_once(struct objd *od);
/* Start / stop the reconstructor thread (every reconstructor_interval). */
int rcon_start(struct objd *od);
void rcon_stop(struct objd *od);

#endif
