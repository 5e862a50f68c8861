/*
 * ring/builder.h: the ring builder: devices with weights in regions and
 * zones, and the rebalance that assigns every partition-replica to one.
 *
 * The workflow is swift-ring-builder's: create, add devices, rebalance,
 * write the ring; later add, remove or reweight devices and rebalance
 * again. A rebalance moves as few partition-replicas as it can, never more
 * than one replica of a partition while min_part_hours has not passed since
 * that partition last moved (removed devices excepted), spreads the
 * replicas of each partition over as many regions, zones, nodes and
 * devices as the replica plan allows, and gives each device partitions in
 * proportion to its weight. With the same builder and seed it makes the
 * same assignment.
 *
 * A builder is used by one thread at a time; nothing here locks.
 */
#ifndef KUMO_RING_BUILDER_H
#define KUMO_RING_BUILDER_H

#include <stdint.h>

#include "ring/ring.h"

#define BUILDER_MAX_BALANCE 999.99 /* shown for a weightless dev with parts */

struct builder_dev {
	int present; /* 0: a hole left by a removed device */
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
	int removing;	/* marked by remove, gone after rebalance */
	uint32_t parts; /* partition-replicas assigned now */
};

struct builder {
	int part_power;
	uint32_t nparts;
	double replicas;
	int min_part_hours;
	double overload;
	int version; /* bumped on every change, as Swift's */
	int ndevs;   /* length of devs, holes included */
	struct builder_dev *devs;
	int nrows; /* 0 until the first rebalance */
	uint32_t *row_len;
	uint16_t **rows;	  /* rows[r][part] = device id */
	uint8_t *last_part_moves; /* hours since each part moved, <= 255 */
	int64_t last_part_moves_epoch;
	double dispersion; /* of the last rebalance; < 0 if never */
	int devs_changed;
};

struct rebalance_result {
	uint64_t changed;  /* partition-replicas that moved */
	double balance;	   /* worst device, percent off its weight */
	double dispersion; /* percent of replicas badly dispersed */
	int removed_devs;
};

/*
 * Make a new builder. part_power 1..32, replicas >= 1, min_part_hours
 * 0..255. Returns 0 or -EINVAL (with the reason in err, a buffer of errlen
 * bytes), -ENOMEM. The caller owns *out and frees it with builder_free.
 */
int builder_create(int part_power, double replicas, int min_part_hours,
		   struct builder **out, char *err, size_t errlen);

void builder_free(struct builder *b);

/*
 * Add a device described by tmpl (strings are copied; id is ignored and
 * the lowest free id chosen). The weight must be >= 0; ip:port/device must
 * be new. Returns the id, or -EINVAL (reason in err), -ENOMEM.
 */
int builder_add_dev(struct builder *b, const struct builder_dev *tmpl,
		    char *err, size_t errlen);

/*
 * Parse swift-ring-builder's add value
 *   [r<region>]z<zone>-<ip>:<port>[R<rip>:<rport>]/<device>[_<meta>]
 * into tmpl (strings point into scratch, which must outlive tmpl and hold
 * strlen(value) + 1 bytes). Returns 0 or -EINVAL (reason in err).
 */
int builder_parse_add(const char *value, struct builder_dev *tmpl,
		      char *scratch, char *err, size_t errlen);

/*
 * Find devices matching a swift-ring-builder search value
 * (d<id>r<region>z<zone>-<ip>:<port>R<rip>:<rport>/<device>_<meta>, any
 * part optional). Writes up to max ids into ids; returns the number of
 * matches (which may exceed max), or -EINVAL for a malformed value.
 */
int builder_search(const struct builder *b, const char *value, int *ids,
		   int max);

/* Mark a device for removal at the next rebalance. 0 or -ENOENT. */
int builder_remove_dev(struct builder *b, int id);

/* Set a device's weight (>= 0; 0 drains it at the next rebalance).
 * 0, -ENOENT or -EINVAL. */
int builder_set_weight(struct builder *b, int id, double weight);

/* Change the replica count (>= 1), effective at the next rebalance. */
int builder_set_replicas(struct builder *b, double replicas);

/* Let every partition move at the next rebalance. */
void builder_pretend_min_part_hours_passed(struct builder *b);

/* Seconds until min_part_hours have passed since the last rebalance. */
int64_t builder_min_part_seconds_left(const struct builder *b);

/*
 * Assign partitions (see the top of this file). seed makes it
 * deterministic. Returns 0 or -EINVAL when the devices cannot hold the
 * replicas (reason in err), -ENOMEM. On error the builder is unchanged.
 */
int builder_rebalance(struct builder *b, uint64_t seed,
		      struct rebalance_result *res, char *err, size_t errlen);

/*
 * The ring this builder describes, for writing or for statistics. The
 * caller owns the returned ring (ring_put). NULL with errno on failure.
 */
struct ring *builder_get_ring(const struct builder *b);

/* Percent each device is off its weight-fair share; NULL devs get 0. */
double builder_dev_balance(const struct builder *b, int id);

/* The worst |builder_dev_balance| over all devices. */
double builder_balance(const struct builder *b);

/* The bytes of the builder file, appended to out. 0 or -ENOMEM/-EIO. */
int builder_serialize(const struct builder *b, struct buf *out);

/* Load/save the builder file (gzip'd, see builderfile.c). 0 or -errno;
 * load logs what is wrong with a corrupt file and returns -EINVAL. */
int builder_load(const char *path, struct builder **out);
int builder_save(const struct builder *b, const char *path);

/*
 * Statistics over any ring (ours or Swift's): the worst percent a device
 * is off its weight-fair share, and Swift's dispersion: the percent of
 * partition-replicas beyond the most a tier could hold if spread evenly.
 */
double ring_balance(const struct ring *ring);
double ring_dispersion(const struct ring *ring);

#endif
