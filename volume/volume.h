/*
 * volume/volume.h: the volume core: thin block devices ("disks": a volume
 * or a snapshot) made of fixed-size chunk objects in an internal account
 * of the cluster, reached through common/objclient.h. A chunk never
 * written reads as zeros and is not stored; snapshots and clones share
 * chunks copy-on-write; deleting a disk frees exactly the chunks no other
 * disk uses. An open disk is a struct vol_export (export.h) that the NBD
 * server (and later iSCSI) drives; reads are served from a bounded cache
 * of clean chunks, writes are buffered (bounded dirty memory) until a
 * flush, FUA, or the buffer limit makes them durable in the cluster.
 *
 * It knows nothing about the Cinder API, projects, statuses or quotas
 * (api.c keeps those records). Disk ids are chosen by the caller: short
 * [A-Za-z0-9-] strings (UUIDs), never user input.
 *
 * Every function returns 0 or -errno (-ENOENT unknown id, -EEXIST id
 * taken, -EINVAL bad size/id, -EBUSY open elsewhere when that matters,
 * -EIO cluster failure, -ENOMEM); thread-safe.
 */
#ifndef KUMO_VOLUME_VOLUME_H
#define KUMO_VOLUME_VOLUME_H

#include <stdint.h>

#include "common/cluster.h"
#include "volume/export.h"

struct vol_store_conf {
	struct cluster *cluster; /* borrowed; outlives the store */
	const char *account;	 /* internal account, e.g. ".kumo_volumes" */
	uint32_t chunk_size;	 /* bytes, power of two; 4 MiB default */
	uint64_t cache_bytes;	 /* clean-chunk cache limit */
	uint64_t dirty_bytes;	 /* write-back limit before forced flush */
};

struct vol_store;

int vol_store_open(const struct vol_store_conf *conf, struct vol_store **out);
/* Flushes every open disk's dirty data; no disk may still be open. */
void vol_store_close(struct vol_store *s);

/* A new empty disk of size bytes (a multiple of 512). */
int vol_disk_create(struct vol_store *s, const char *id, uint64_t size);

/* A read-only point-in-time copy of disk src (flushed first) as snap_id;
 * shares every chunk with src. */
int vol_disk_snapshot(struct vol_store *s, const char *src,
		      const char *snap_id);

/* A new writable disk id with src's content (a snapshot or a disk,
 * flushed first), size >= src's size (the rest reads as zeros); shares
 * chunks copy-on-write. */
int vol_disk_clone(struct vol_store *s, const char *src, const char *id,
		   uint64_t size);

/* A new disk id of size bytes holding the object account/container/object
 * (an image), read through the cluster; chunks that are all zeros are not
 * stored. -ENOENT when the object is missing, -EINVAL when it is larger
 * than size. */
int vol_disk_import(struct vol_store *s, const char *id, uint64_t size,
		    const char *account, const char *container,
		    const char *object);

/* Grow a disk. When it is open, the handles open keep their size (an
 * export's size is constant); those opened afterwards see the new one.
 * -EINVAL when size is smaller than the current size. */
int vol_disk_extend(struct vol_store *s, const char *id, uint64_t size);

/* Delete a disk (-EBUSY while open); chunks still used by another disk
 * stay. */
int vol_disk_delete(struct vol_store *s, const char *id);

/* Size and bytes actually stored for the disk (chunks it owns or shares). */
int vol_disk_stat(struct vol_store *s, const char *id, uint64_t *size,
		  uint64_t *allocated);

/* Open a disk as an export (read_only for snapshots is forced). Several
 * opens of one disk share its caches. Close with vol_disk_close (flushes). */
int vol_disk_open(struct vol_store *s, const char *id, int read_only,
		  struct vol_export *out);
void vol_disk_close(struct vol_store *s, struct vol_export *e);

#endif
