/*
 * volume/export.h: the block-export vtable. The NBD server (nbd.c), and
 * later an iSCSI target, are thin translators over it; the volume core
 * (volume.c) implements it. Nothing here knows a wire protocol.
 *
 * Every callback returns 0 or -errno (-EIO, -ENOSPC, -EINVAL, -ENOMEM,
 * -EROFS). Callbacks may block (they reach the cluster) and are called from
 * the connection threads of the front end, several at once on the same
 * handle (one handle may be open from several connections): the
 * implementation locks what it needs.
 */
#ifndef KUMO_VOLUME_EXPORT_H
#define KUMO_VOLUME_EXPORT_H

#include <stddef.h>
#include <stdint.h>

/* Extent flags, the same bits as NBD's base:allocation context. */
#define VOL_EXTENT_HOLE 1u /* not allocated */
#define VOL_EXTENT_ZERO 2u /* reads as zeros */

/* Flags of pwrite/trim/zero. */
#define VOL_FUA	    1u /* durable in the cluster before returning */
#define VOL_NO_HOLE 2u /* zero: write real zeros, do not deallocate */

struct vol_export_ops {
	/* Size in bytes (constant while the export is open). */
	uint64_t (*size)(void *h);
	/* Read len bytes at off into buf (off + len <= size). */
	int (*pread)(void *h, void *buf, uint32_t len, uint64_t off);
	/* Write; with VOL_FUA durable before returning. Acknowledged writes
	 * without it are durable after the next flush. */
	int (*pwrite)(void *h, const void *buf, uint32_t len, uint64_t off,
		      uint32_t flags);
	/* Optional (NULL: the front end uses pwrite), two steps of a pwrite
	 * whose bytes come from a connection. pwrite_from places them,
	 * straight from fill (which copies the next n bytes into dst: 0 or
	 * -errno) into the export's memory, holding the export's locks
	 * across the fills: the front end calls it only when fill never
	 * blocks (the payload has arrived), from its connection's reader.
	 * It never waits for the cluster: -EAGAIN before any fill when it
	 * would have to (the front end then reads the payload itself and
	 * calls pwrite). Any other error may come after some fills: the
	 * front end drains the rest. A failed fill ends it with that error,
	 * the range then holding old or new bytes. pwrite_end, after
	 * pwrite_from succeeded and outside the reader, does pwrite's
	 * waiting: with VOL_FUA durable before returning, without it the
	 * writer waits while write-back is behind. */
	int (*pwrite_from)(void *h, uint32_t len, uint64_t off,
			   int (*fill)(void *arg, void *dst, uint32_t n),
			   void *arg);
	int (*pwrite_end)(void *h, uint32_t len, uint64_t off, uint32_t flags);
	/* Make every write acknowledged so far durable in the cluster. */
	int (*flush)(void *h);
	/* Deallocate (reads then return zeros). */
	int (*trim)(void *h, uint32_t len, uint64_t off, uint32_t flags);
	/* Make the range read as zeros; deallocates unless VOL_NO_HOLE. */
	int (*zero)(void *h, uint32_t len, uint64_t off, uint32_t flags);
	/* Call fn for consecutive extents covering at least [off, off+1) and
	 * at most [off, off+len), in order; stop early when fn returns
	 * non-zero (that value is then returned). */
	int (*extents)(void *h, uint32_t len, uint64_t off,
		       int (*fn)(void *arg, uint64_t off, uint64_t len,
				 uint32_t flags),
		       void *arg);
};

/* An opened export: what the front end calls, and on what. */
struct vol_export {
	const struct vol_export_ops *ops;
	void *h;
	char name[256];	       /* the export name it was opened by */
	char description[256]; /* for NBD_INFO_DESCRIPTION; may be "" */
	int read_only;
	/* Smallest I/O the export handles, a power of two (0 or 1: any
	 * byte range). NBD advertises it in NBD_INFO_BLOCK_SIZE and refuses
	 * misaligned requests with EINVAL. The front end zeroes the struct
	 * before open, so an implementation may leave it alone. */
	uint32_t min_block;
};

/*
 * The front end's way to the exports it may serve (given by volumed): open
 * by name (-ENOENT when no such export is served now: unknown, or not
 * attached; the client then gets NBD_REP_ERR_UNKNOWN), close when the
 * connection ends, and list the names (for NBD_OPT_LIST; may list none).
 */
struct vol_exports {
	int (*open)(void *ctx, const char *name, struct vol_export *out);
	void (*close)(void *ctx, struct vol_export *e);
	int (*list)(void *ctx,
		    int (*fn)(void *arg, const char *name,
			      const char *description),
		    void *arg);
	void *ctx;
};

#endif
