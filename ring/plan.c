/*
 * ring/plan.c: the replica plan a rebalance works toward.
 *
 * Devices form a tree: root > region > zone > node (ip) > device. For each
 * tier the plan says how many replicas of an average partition it should
 * hold ("replicanths"), following the rules of Swift's builder:
 *  - weighted: in proportion to weight, no device holding more than one
 *    replica of a partition;
 *  - wanted: as dispersed as possible: each tier's replicas are split
 *    between its children as evenly as their count allows (between the
 *    floor and the ceiling of an even split), and by weight within that;
 *  - target: weighted, moved toward wanted by at most the builder's
 *    overload (a fraction); with no need for overload, wanted.
 * From the target come the most replicas of one partition a tier may hold
 * (its ceiling) and each tier's integer share of all partition-replicas.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring/internal.h"

#define EPS 1e-10

static const struct builder_dev *sort_devs;

static int dev_order(const void *x, const void *y)
{
	const struct builder_dev *a = &sort_devs[*(const int *)x];
	const struct builder_dev *c = &sort_devs[*(const int *)y];
	int r;

	if (a->region != c->region)
		return a->region < c->region ? -1 : 1;
	if (a->zone != c->zone)
		return a->zone < c->zone ? -1 : 1;
	r = strcmp(a->ip, c->ip);
	if (r)
		return r;
	return a->id < c->id ? -1 : a->id > c->id;
}

/* Does device a start a new tier at level lvl compared with device c? */
static int differs_at(const struct builder_dev *a, const struct builder_dev *c,
		      int lvl)
{
	if (a->region != c->region)
		return 1;
	if (lvl >= TIER_ZONE && a->zone != c->zone)
		return 1;
	if (lvl >= TIER_NODE && strcmp(a->ip, c->ip))
		return 1;
	return lvl >= TIER_DEV;
}

int plan_tree(struct plan *plan, const struct builder_dev *devs, int ndevs)
{
	int *order, n = 0, i, lvl, k, rc = 0;
	int *cur; /* per sorted device: its tier at this level */

	memset(plan, 0, sizeof(*plan));
	order = malloc(sizeof(int) * ((size_t)ndevs + 1));
	cur = malloc(sizeof(int) * ((size_t)ndevs + 1));
	plan->t = calloc((size_t)ndevs * TIER_LEVELS + 1, sizeof(*plan->t));
	plan->dev_tier = malloc(sizeof(int) * ((size_t)ndevs + 1));
	plan->anc = calloc((size_t)ndevs + 1, sizeof(*plan->anc));
	if (!order || !cur || !plan->t || !plan->dev_tier || !plan->anc) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < ndevs; i++) {
		plan->dev_tier[i] = -1;
		if (devs[i].present && !devs[i].removing)
			order[n++] = i;
	}
	sort_devs = devs;
	qsort(order, (size_t)n, sizeof(int), dev_order);

	plan->t[0] = (struct tier){.level = TIER_ROOT, .parent = -1, .dev = -1};
	plan->level_start[0] = 0;
	plan->ntiers = 1;
	for (i = 0; i < n; i++)
		cur[i] = 0;
	for (lvl = TIER_REGION; lvl <= TIER_DEV; lvl++) {
		int prev_parent = -1;

		plan->level_start[lvl] = plan->ntiers;
		for (i = 0; i < n; i++) {
			const struct builder_dev *d = &devs[order[i]];
			struct tier *t, *parent = &plan->t[cur[i]];
			int new_parent = cur[i] != prev_parent;

			/* cur[i - 1] already names a tier of this level */
			prev_parent = cur[i];
			if (i == 0 || new_parent ||
			    differs_at(d, &devs[order[i - 1]], lvl)) {
				k = plan->ntiers++;
				t = &plan->t[k];
				*t = (struct tier){.level = lvl,
						   .parent = cur[i],
						   .dev = -1};
				if (parent->nchild++ == 0)
					parent->child0 = k;
			}
			cur[i] = plan->ntiers - 1;
			plan->anc[order[i]][lvl] = cur[i];
			t = &plan->t[cur[i]];
			if (lvl == TIER_DEV) {
				t->dev = order[i];
				plan->dev_tier[order[i]] = cur[i];
			}
		}
	}
	plan->level_start[TIER_LEVELS] = plan->ntiers;
	/* sums of weight and weighted devices, bottom up */
	for (k = plan->ntiers - 1; k > 0; k--) {
		struct tier *t = &plan->t[k];

		if (t->level == TIER_DEV) {
			t->weight = devs[t->dev].weight;
			t->ndevs = t->weight > 0;
		}
		plan->t[t->parent].weight += t->weight;
		plan->t[t->parent].ndevs += t->ndevs;
	}
out:
	free(order);
	free(cur);
	return rc;
}

/* Swift's weighted replicanths: by weight, capped at one per device. */
static void plan_weighted(struct plan *plan, double replicas)
{
	int first = plan->level_start[TIER_DEV], last = plan->ntiers, k;
	double total = plan->t[0].weight;

	for (k = first; k < last; k++) {
		struct tier *t = &plan->t[k];

		t->weighted = total > 0 ? replicas * t->weight / total : 0;
		if (t->weighted > 1)
			t->weighted = 1;
	}
	for (;;) {
		double sum = 0, room = 0;

		for (k = first; k < last; k++) {
			sum += plan->t[k].weighted;
			if (plan->t[k].weighted < 1)
				room += plan->t[k].weighted;
		}
		if (replicas - sum < EPS || room <= 0)
			break;
		for (k = first; k < last; k++) {
			struct tier *t = &plan->t[k];

			if (t->weighted < 1) {
				t->weighted *= 1 + (replicas - sum) / room;
				if (t->weighted > 1)
					t->weighted = 1;
			}
		}
	}
	for (k = 1; k < plan->ntiers; k++)
		plan->t[k].weighted =
			plan->t[k].level == TIER_DEV ? plan->t[k].weighted : 0;
	plan->t[0].weighted = 0;
	for (k = last - 1; k > 0; k--)
		plan->t[plan->t[k].parent].weighted += plan->t[k].weighted;
}

/* Sum over children of clamp(lambda * weighted, lo, hi). */
static double fill_at(const struct plan *plan, const struct tier *p,
		      const double *lo, const double *hi, double lambda)
{
	double s = 0;
	int i;

	for (i = 0; i < p->nchild; i++) {
		double x = lambda * plan->t[p->child0 + i].weighted;

		s += x < lo[i] ? lo[i] : x > hi[i] ? hi[i] : x;
	}
	return s;
}

/*
 * Split tier k's wanted replicanths r between its children: each gets
 * lambda * its weighted replicanths, clamped to the dispersion bounds
 * [floor, ceil] of an even split of maxf (the most tier k could hold if
 * everything were spread evenly), with lambda found by bisection. When the
 * children cannot take r within those bounds they take up to one replica
 * per device, as Swift's "device limited" case does.
 */
static int plan_wanted(struct plan *plan, int k, double r, double maxf)
{
	struct tier *p = &plan->t[k];
	double lo[p->nchild + 1], hi[p->nchild + 1];
	double lmin = 0, lmax = 1, childf;
	int i, n = 0, it, rc;

	p->wanted = r;
	if (p->nchild == 0)
		return 0;
	for (i = 0; i < p->nchild; i++)
		n += plan->t[p->child0 + i].ndevs > 0;
	childf = n ? maxf / n : 0;
	for (i = 0; i < p->nchild; i++) {
		struct tier *c = &plan->t[p->child0 + i];
		double f = c->level == TIER_DEV && childf > 1 ? 1 : childf;

		if (c->ndevs == 0) {
			lo[i] = hi[i] = 0;
			continue;
		}
		lo[i] = floor(f + EPS);
		hi[i] = ceil(f - EPS);
		if (hi[i] > c->ndevs)
			hi[i] = c->ndevs;
		if (lo[i] > hi[i])
			lo[i] = hi[i];
	}
	if (fill_at(plan, p, lo, hi, 1e300) < r - EPS)
		for (i = 0; i < p->nchild; i++)
			hi[i] = plan->t[p->child0 + i].ndevs;
	for (it = 0; it < 2100 && fill_at(plan, p, lo, hi, lmax) < r; it++)
		lmax *= 2;
	for (it = 0; it < 200; it++) {
		double mid = (lmin + lmax) / 2;

		if (fill_at(plan, p, lo, hi, mid) < r)
			lmin = mid;
		else
			lmax = mid;
	}
	for (i = 0; i < p->nchild; i++) {
		struct tier *c = &plan->t[p->child0 + i];
		double x = lmax * c->weighted;
		double f = c->level == TIER_DEV && childf > 1 ? 1 : childf;

		x = x < lo[i] ? lo[i] : x > hi[i] ? hi[i] : x;
		rc = plan_wanted(plan, p->child0 + i, x, f);
		if (rc)
			return rc;
	}
	return 0;
}

/* Split want parts of tier k over its children by target, as integers. */
static void plan_parts(struct plan *plan, int k, int64_t want)
{
	struct tier *p = &plan->t[k];
	double rem[p->nchild + 1];
	int64_t given = 0;
	int i;

	p->want_parts = want;
	if (p->nchild == 0)
		return;
	for (i = 0; i < p->nchild; i++) {
		struct tier *c = &plan->t[p->child0 + i];
		double share = p->target > 0 ? want * c->target / p->target : 0;

		c->want_parts = (int64_t)floor(share);
		rem[i] = share - (double)c->want_parts;
		given += c->want_parts;
	}
	/* largest remainders first; ties to the earlier child */
	while (given < want) {
		int best = -1;

		for (i = 0; i < p->nchild; i++)
			if (plan->t[p->child0 + i].ndevs > 0 &&
			    (best < 0 || rem[i] > rem[best]))
				best = i;
		if (best < 0)
			break;
		plan->t[p->child0 + best].want_parts++;
		rem[best] = -1;
		given++;
	}
	for (i = 0; i < p->nchild; i++)
		plan_parts(plan, p->child0 + i,
			   plan->t[p->child0 + i].want_parts);
}

int plan_build(struct plan *plan, const struct builder *b, uint64_t total_slots,
	       char *err, size_t errlen)
{
	double required = 0, overload;
	int k, rc;

	rc = plan_tree(plan, b->devs, b->ndevs);
	if (rc)
		return rc;
	if (plan->t[0].ndevs < b->replicas - EPS) {
		snprintf(err, errlen,
			 "Replica count of %g requires more than %d devices",
			 b->replicas, plan->t[0].ndevs);
		return -EINVAL;
	}
	plan_weighted(plan, b->replicas);
	rc = plan_wanted(plan, 0, b->replicas, b->replicas);
	if (rc)
		return rc;
	for (k = plan->level_start[TIER_DEV]; k < plan->ntiers; k++) {
		struct tier *t = &plan->t[k];

		if (t->weighted > 0 &&
		    (t->wanted - t->weighted) / t->weighted > required)
			required = (t->wanted - t->weighted) / t->weighted;
	}
	overload = b->overload < required ? b->overload : required;
	for (k = 0; k < plan->ntiers; k++) {
		struct tier *t = &plan->t[k];

		if (required <= 0)
			t->target = t->wanted;
		else
			t->target = t->weighted + (t->wanted - t->weighted) *
							  overload / required;
		t->max = t->target > EPS ? (int)ceil(t->target - EPS) : 0;
	}
	plan_parts(plan, 0, (int64_t)total_slots);
	return 0;
}

void plan_free(struct plan *plan)
{
	free(plan->t);
	free(plan->dev_tier);
	free(plan->anc);
	memset(plan, 0, sizeof(*plan));
}
