/*
 * ring/ring.h: the consistent-hashing ring, as OpenStack Swift defines it.
 *
 * A path /account[/container[/object]] is hashed with MD5 between the
 * cluster's hash_path_prefix and hash_path_suffix; the top part_power bits
 * of the digest name a partition; the replica-to-partition-to-device table
 * gives the primaries; a deterministic walk over other partitions gives the
 * handoffs (ring_get_handoffs), in exactly the order of Swift's
 * Ring.get_more_nodes. Rings are read from Swift's .ring.gz files (format
 * versions 1 and 2) and written in version 1 (ringfile.c).
 *
 * A loaded ring is immutable and may be shared by threads without locks;
 * ring_get/ring_put count references so a reloaded ring can replace an old
 * one while requests still hold it.
 */
#ifndef KUMO_RING_RING_H
#define KUMO_RING_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/buf.h"

#define RING_NONE_DEV 0xffff	 /* an unassigned slot in a builder table */
#define RING_MAX_DEVS 65535	 /* device ids are 16 bits in v1 rings */
#define RING_MAX_FILE (1u << 30) /* largest ring we agree to inflate */

struct ring_dev {
	int id;
	int region;
	int zone;
	char *ip;
	int port;
	char *replication_ip;
	int replication_port;
	char *device;
	char *meta;
	double weight;
	/* derived at load: dense indexes for the handoff walk */
	int region_idx; /* distinct region */
	int zone_idx;	/* distinct (region, zone) */
	int ip_idx;	/* distinct (region, zone, ip) */
};

struct ring {
	int refs;
	int part_power;
	int part_shift;		/* 32 - part_power */
	uint32_t nparts;	/* 1 << part_power */
	int nrows;		/* rows of the table: ceil(replicas) */
	uint32_t *row_len;	/* entries in each row (last may be short) */
	uint16_t **rows;	/* rows[r][part] = device id */
	uint16_t *by_part;	/* by_part[part * nrows + r]: the same table
				 * partition-major, so that a lookup reads one
				 * cache line; RING_NONE_DEV past a short row */
	int ndevs;		/* length of devs, holes included */
	struct ring_dev **devs; /* devs[id], NULL for a removed device */
	int version;		/* builder version, -1 if absent */
	int next_part_power;	/* -1 if absent */
	/* counts over devices that hold at least one partition */
	int num_regions, num_zones, num_ips, num_assigned_devs;
	int num_devs; /* devices present (not holes) */
	/* distinct regions and (region, zone)s over all present devices */
	int dev_regions, dev_zones;
};

/* A cluster's hash path prefix and suffix (swift.conf [swift-hash]). */
struct ring_hash_conf {
	const char *prefix;
	const char *suffix;
};

/*
 * Load a ring from a .ring.gz file (Swift format v1 or v2). On success
 * *out holds one reference. On failure returns -ENOENT/-EACCES (open),
 * -EINVAL for a corrupt, truncated or inconsistent file, -ENOMEM; the
 * reason is logged once, naming the file.
 */
int ring_load(const char *path, struct ring **out);

/* What a ring file looked like when it was last loaded (or tried). */
struct ring_stamp {
	struct timespec mtime;
	off_t size;
	ino_t ino;
};

/*
 * Load path again when its mtime, size or inode differ from *stamp (all
 * zero at first: always loads). Returns 1 with *out holding one reference
 * to the new ring; 0 with *out NULL when the file did not change; -errno
 * with *out NULL when it cannot be read or parsed (logged once, by
 * ring_load; *stamp then records the bad file, so the same file is not
 * tried again until it changes). The caller serializes calls per stamp.
 */
int ring_reload(const char *path, struct ring_stamp *stamp, struct ring **out);

/* Parse a ring from the bytes of a .ring.gz file; as ring_load. */
int ring_parse(const uint8_t *data, size_t len, const char *what,
	       struct ring **out);

/* Take or drop a reference; the last ring_put frees the ring. */
struct ring *ring_get(struct ring *ring);
void ring_put(struct ring *ring);

/*
 * Serialize in Swift's format v1 (gzip, R1NG, version 1, JSON, rows in
 * little-endian) into out, appended, for the file path (whose base name,
 * less ".gz", the gzip header records). The same ring and path give the
 * same bytes, equal to what python3-swift's RingData.save writes.
 * 0 or -ENOMEM/-EIO.
 */
int ring_serialize_v1(const struct ring *ring, const char *path,
		      struct buf *out);

/* Write ring to path atomically (tmp, fsync, rename). 0 or -errno. */
int ring_save(const struct ring *ring, const char *path);

/*
 * Replicas as Swift counts them: full rows plus the fraction of the last.
 */
double ring_replica_count(const struct ring *ring);

/*
 * MD5 of prefix + "/account[/container[/object]]" + suffix, as Swift's
 * hash_path. container may be NULL or empty; object needs a container.
 * Returns 0 or -EINVAL (object without container), -EIO.
 */
int ring_hash_path(const struct ring_hash_conf *conf, const char *account,
		   const char *container, const char *object,
		   uint8_t digest[16]);

/* The partition of a path's digest. */
static inline uint32_t ring_part_of_digest(const struct ring *ring,
					   const uint8_t digest[16])
{
	uint32_t top = (uint32_t)digest[0] << 24 | (uint32_t)digest[1] << 16 |
		       (uint32_t)digest[2] << 8 | digest[3];

	return ring->part_shift >= 32 ? 0 : top >> ring->part_shift;
}

/*
 * The partition of a path; as ring_hash_path. Returns the partition, or a
 * negative errno.
 */
int64_t ring_get_part(const struct ring *ring,
		      const struct ring_hash_conf *conf, const char *account,
		      const char *container, const char *object);

/*
 * The primary devices of part, duplicates removed, in replica order, into
 * out[0..max). Returns how many there are (at most nrows).
 */
int ring_get_part_nodes(const struct ring *ring, uint32_t part,
			const struct ring_dev **out, int max);

/*
 * The first max handoff devices of part, in the order of Swift's
 * get_more_nodes: devices in unused regions first, then unused zones, then
 * unused ips, then any unused device. Returns how many were found, or
 * -ENOMEM.
 */
int ring_get_handoffs(const struct ring *ring, uint32_t part,
		      const struct ring_dev **out, int max);

#endif
