/*
 * ring/internal.h: declarations shared by the files of ring/ only.
 */
#ifndef KUMO_RING_INTERNAL_H
#define KUMO_RING_INTERNAL_H

#include "ring/ring.h"

/* ring.c */

/* A new empty ring with one reference, or NULL (errno = ENOMEM). */
struct ring *ring_alloc(void);

/* Free one device record and its strings. */
void ring_dev_free(struct ring_dev *dev);

/*
 * Check a freshly filled ring (every assigned id names a device) and
 * compute the derived indexes and counts. 0 or -EINVAL (logged with what).
 */
int ring_finish(struct ring *ring, const char *what);

#endif

/* plan.c */

#include "ring/builder.h"

enum { TIER_ROOT, TIER_REGION, TIER_ZONE, TIER_NODE, TIER_DEV, TIER_LEVELS };

/*
 * One failure domain of the tree root > region > zone > node (ip) > device,
 * with how many replicas of each partition it should hold.
 */
struct tier {
	int level;
	int parent;	    /* -1 for the root */
	int child0, nchild; /* children: tiers[child0 .. child0 + nchild) */
	int dev;	    /* level TIER_DEV: the device id */
	int ndevs;	    /* devices with weight below */
	double weight;
	double weighted;    /* replicanths by weight alone */
	double wanted;	    /* replicanths for the widest dispersion */
	double target;	    /* between the two, as overload allows */
	int max;	    /* most replicas of one partition it may hold */
	int64_t want_parts; /* partition-replicas it should hold */
	int64_t parts;	    /* partition-replicas it holds (rebalance) */
};

struct plan {
	int ntiers;
	struct tier *t;
	int *dev_tier;		 /* device id -> its TIER_DEV tier, or -1 */
	int (*anc)[TIER_LEVELS]; /* device id -> its tier at each level */
	int level_start[TIER_LEVELS + 1];
};

/*
 * Lay out the tier tree of devs[0..ndevs) that are present and not being
 * removed, level by level so that siblings are contiguous; fills level,
 * parent, children, dev, weight and ndevs. 0 or -ENOMEM.
 */
int plan_tree(struct plan *plan, const struct builder_dev *devs, int ndevs);

/*
 * Build the tier tree of the devices that will hold partitions (present,
 * not being removed) and the replica plan: target replicanths per tier
 * (Swift's weighted/wanted/overload rules), the most replicas of one
 * partition each tier may hold, and want_parts, which splits total_slots
 * partition-replicas over the tiers as integers. 0, -ENOMEM, or -EINVAL
 * with the reason in err.
 */
int plan_build(struct plan *plan, const struct builder *b, uint64_t total_slots,
	       char *err, size_t errlen);
void plan_free(struct plan *plan);

/* stats.c */

/* Swift's dispersion of a ring, in percent (see builder.h). */
double ring_dispersion(const struct ring *ring);
