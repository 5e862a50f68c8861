/*
 * ring/stats.c: how good a ring is, measured as swift-ring-builder does,
 * on any loaded ring (ours or one Swift wrote), so the two can be compared
 * with the same ruler.
 *
 * balance:    the worst device's percent above or below the partitions its
 *             weight earns it (999.99 for a weightless device with parts).
 * dispersion: the percent of partition-replicas that sit in a tier beyond
 *             the most that tier would hold if every partition's replicas
 *             were spread evenly over its siblings (ceil at each level);
 *             each partition counts at the level where it is worst.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ring/internal.h"

double ring_balance(const struct ring *ring)
{
	uint64_t *parts = calloc((size_t)ring->ndevs + 1, sizeof(*parts));
	double total = 0, wop, worst = 0;
	int r, i;
	uint32_t p;

	if (!parts)
		return NAN;
	for (r = 0; r < ring->nrows; r++)
		for (p = 0; p < ring->row_len[r]; p++)
			parts[ring->rows[r][p]]++;
	for (i = 0; i < ring->ndevs; i++)
		if (ring->devs[i])
			total += ring->devs[i]->weight;
	wop = total > 0 ? ring->nparts * ring_replica_count(ring) / total : 0;
	for (i = 0; i < ring->ndevs; i++) {
		const struct ring_dev *d = ring->devs[i];
		double b;

		if (!d)
			continue;
		if (d->weight <= 0)
			b = parts[i] ? BUILDER_MAX_BALANCE : 0;
		else
			b = fabs(100.0 * parts[i] / (d->weight * wop) - 100.0);
		if (b > worst)
			worst = b;
	}
	free(parts);
	return worst;
}

/* Swift's max replicas by tier: ceil of an even split, one per device. */
static void max_by_tier(struct plan *pl, int k, double replicas)
{
	struct tier *t = &pl->t[k];
	int i;

	if (t->level == TIER_DEV && replicas > 1)
		replicas = 1;
	t->target = replicas;
	for (i = 0; i < t->nchild; i++)
		max_by_tier(pl, t->child0 + i, ceil(replicas / t->nchild));
}

double ring_dispersion(const struct ring *ring)
{
	struct builder_dev *devs;
	struct plan pl;
	int *count = NULL, i, r, lvl;
	uint64_t at_risk = 0;
	double replicas = ring_replica_count(ring), result = NAN;
	uint32_t p;

	devs = calloc((size_t)ring->ndevs + 1, sizeof(*devs));
	if (!devs)
		return NAN;
	for (i = 0; i < ring->ndevs; i++) {
		const struct ring_dev *d = ring->devs[i];

		if (!d)
			continue;
		devs[i] = (struct builder_dev){.present = 1,
					       .id = i,
					       .region = d->region,
					       .zone = d->zone,
					       .ip = d->ip,
					       .weight = 1};
	}
	if (plan_tree(&pl, devs, ring->ndevs))
		goto out;
	max_by_tier(&pl, 0, replicas);
	count = calloc((size_t)pl.ntiers + 1, sizeof(*count));
	if (!count)
		goto out;
	for (p = 0; p < ring->nparts; p++) {
		int depth[TIER_LEVELS] = {0}, worst = 0;

		for (r = 0; r < ring->nrows; r++) {
			if (p >= ring->row_len[r])
				continue;
			for (lvl = TIER_REGION; lvl <= TIER_DEV; lvl++)
				count[pl.anc[ring->rows[r][p]][lvl]]++;
		}
		for (r = 0; r < ring->nrows; r++) {
			if (p >= ring->row_len[r])
				continue;
			for (lvl = TIER_REGION; lvl <= TIER_DEV; lvl++) {
				int k = pl.anc[ring->rows[r][p]][lvl];
				int over = count[k] - (int)pl.t[k].target;

				if (count[k] < 0)
					continue; /* tier already counted */
				if (over > 0)
					depth[lvl] += over;
				count[k] = -1;
			}
		}
		for (r = 0; r < ring->nrows; r++) {
			if (p >= ring->row_len[r])
				continue;
			for (lvl = TIER_REGION; lvl <= TIER_DEV; lvl++)
				count[pl.anc[ring->rows[r][p]][lvl]] = 0;
		}
		for (lvl = TIER_REGION; lvl <= TIER_DEV; lvl++)
			if (depth[lvl] > worst)
				worst = depth[lvl];
		at_risk += (uint64_t)worst;
	}
	result = ring->nparts && replicas > 0
			 ? 100.0 * (double)at_risk / (ring->nparts * replicas)
			 : 0;
out:
	free(count);
	plan_free(&pl);
	free(devs);
	return result;
}
