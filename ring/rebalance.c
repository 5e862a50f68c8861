/*
 * ring/rebalance.c: assigning partition-replicas to devices.
 *
 * A rebalance works on a scratch copy of the table and commits it only
 * when it succeeds. Its steps, each a function below:
 *
 *   resize_rows        rows to the replica count; new slots are gathered
 *   gather_removed     slots on removed devices are gathered (always)
 *   gather_dispersion  a replica in a tier holding more than the plan's
 *                      max of that partition is gathered
 *   gather_balance     from devices over their share, replicas that some
 *                      device under its share could take without hurting
 *                      dispersion are gathered
 *   place_gathered     each gathered replica goes, tier by tier, to the
 *                      child with room for it that is furthest below its
 *                      share
 * gather_balance and place_gathered repeat until no device is over its
 * share or nothing more can move.
 *
 * Invariants:
 *  1. as in Swift, a partition placed or moved less than min_part_hours
 *     ago is gathered only from a removed device, and a partition gathered
 *     once in a rebalance is not gathered again in it; so, removals aside,
 *     at most one replica of a partition moves per rebalance, and none
 *     moves again within min_part_hours;
 *  2. no device holds two replicas of one partition while another device
 *     with room exists;
 *  3. the same builder, time and seed give the same table.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "ring/internal.h"

#define MAX_ROWS       64
#define BALANCE_ROUNDS 6

struct rb {
	struct builder *b;
	struct plan plan;
	int nrows;
	uint32_t row_len[MAX_ROWS];
	uint16_t *rows[MAX_ROWS];
	uint8_t *moved;	    /* parts moved in this rebalance */
	uint64_t *gathered; /* part << 8 | row, waiting for a device */
	size_t ngathered, capgathered;
	uint64_t seed;
};

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static int can_move(const struct rb *rb, uint32_t part)
{
	return rb->moved[part] != 1 &&
	       rb->b->last_part_moves[part] >= rb->b->min_part_hours;
}

/* Add or remove one partition-replica on dev and every tier above it. */
static void count_slot(struct rb *rb, uint16_t dev, int delta)
{
	int k = rb->plan.dev_tier[dev];

	rb->b->devs[dev].parts += delta;
	for (; k >= 0; k = rb->plan.t[k].parent)
		rb->plan.t[k].parts += delta;
}

static int gather(struct rb *rb, uint32_t part, int row)
{
	uint16_t dev = rb->rows[row][part];

	if (rb->ngathered == rb->capgathered) {
		size_t cap = rb->capgathered ? rb->capgathered * 2 : 4096;
		uint64_t *g = realloc(rb->gathered, cap * sizeof(*g));

		if (!g)
			return -ENOMEM;
		rb->gathered = g;
		rb->capgathered = cap;
	}
	if (dev != RING_NONE_DEV) {
		if (rb->plan.dev_tier[dev] >= 0)
			count_slot(rb, dev, -1);
		else
			rb->b->devs[dev].parts--;
		rb->rows[row][part] = RING_NONE_DEV;
	}
	rb->gathered[rb->ngathered++] = (uint64_t)part << 8 | (unsigned)row;
	rb->moved[part] = 1;
	return 0;
}

/* Swift's elapsed-hours bookkeeping for min_part_hours. */
static void update_last_part_moves(struct builder *b)
{
	int64_t now = time(NULL);
	int64_t hours = (now - b->last_part_moves_epoch) / 3600;
	uint32_t p;

	if (hours <= 0)
		return;
	for (p = 0; p < b->nparts; p++) {
		int64_t v = b->last_part_moves[p] + hours;

		b->last_part_moves[p] = (uint8_t)(v < 0xff ? v : 0xff);
	}
	b->last_part_moves_epoch = now;
}

static uint64_t desired_lengths(const struct builder *b, uint32_t *len,
				int *nrows)
{
	int whole = (int)floor(b->replicas);
	double frac = b->replicas - whole;
	uint64_t total = 0;
	int r;

	for (r = 0; r < whole; r++)
		total += len[r] = b->nparts;
	*nrows = whole;
	if (frac > 0) {
		len[whole] = (uint32_t)(b->nparts * frac);
		total += len[whole];
		*nrows = whole + 1;
	}
	return total;
}

/* Copy the table at the new replica count; new slots get gathered. */
static int resize_rows(struct rb *rb)
{
	struct builder *b = rb->b;
	int r;
	uint32_t p;

	for (r = 0; r < rb->nrows; r++) {
		uint32_t have = r < b->nrows ? b->row_len[r] : 0;

		rb->rows[r] = malloc((size_t)rb->row_len[r] * 2 + 2);
		if (!rb->rows[r])
			return -ENOMEM;
		for (p = 0; p < rb->row_len[r]; p++) {
			rb->rows[r][p] =
				p < have ? b->rows[r][p] : RING_NONE_DEV;
			if (rb->rows[r][p] == RING_NONE_DEV) {
				int rc = gather(rb, p, r);

				if (rc)
					return rc;
				rb->moved[p] = 2; /* new: may still gather */
			}
		}
	}
	return 0;
}

static int gather_removed(struct rb *rb)
{
	int r, rc;
	uint32_t p;

	for (r = 0; r < rb->nrows; r++)
		for (p = 0; p < rb->row_len[r]; p++) {
			uint16_t d = rb->rows[r][p];

			if (d == RING_NONE_DEV || rb->plan.dev_tier[d] >= 0)
				continue;
			rc = gather(rb, p, r);
			if (rc)
				return rc;
		}
	return 0;
}

/* The devices holding part's replicas, row skip left out; returns how many. */
static int part_devs(const struct rb *rb, uint32_t part, int skip,
		     uint16_t *held)
{
	int r, n = 0;

	for (r = 0; r < rb->nrows; r++) {
		uint16_t d;

		if (r == skip || part >= rb->row_len[r])
			continue;
		d = rb->rows[r][part];
		if (d != RING_NONE_DEV && rb->plan.dev_tier[d] >= 0)
			held[n++] = d;
	}
	return n;
}

/* How many of the n devices in held are under tier k. */
static int count_under(const struct rb *rb, const uint16_t *held, int n, int k)
{
	int lvl = rb->plan.t[k].level, i, c = 0;

	for (i = 0; i < n; i++)
		c += rb->plan.anc[held[i]][lvl] == k;
	return c;
}

/* Is the replica in row of part over the plan's max at some tier? */
static int undispersed(const struct rb *rb, uint32_t part, int row)
{
	uint16_t held[MAX_ROWS], d = rb->rows[row][part];
	int lvl, n = part_devs(rb, part, -1, held);

	for (lvl = TIER_REGION; lvl <= TIER_DEV; lvl++) {
		int k = rb->plan.anc[d][lvl];

		if (count_under(rb, held, n, k) > rb->plan.t[k].max)
			return 1;
	}
	return 0;
}

static int64_t excess(const struct rb *rb, uint16_t d)
{
	const struct tier *t = &rb->plan.t[rb->plan.dev_tier[d]];

	return t->parts - t->want_parts;
}

static int gather_dispersion(struct rb *rb)
{
	uint32_t p;
	int r;

	for (p = 0; p < rb->b->nparts; p++) {
		int best = -1;

		if (!can_move(rb, p))
			continue;
		/* of the undispersed replicas, take the one on the device
		 * furthest over its share */
		for (r = 0; r < rb->nrows; r++) {
			uint16_t d;

			if (p >= rb->row_len[r])
				continue;
			d = rb->rows[r][p];
			if (d == RING_NONE_DEV || !undispersed(rb, p, r))
				continue;
			if (best < 0 ||
			    excess(rb, d) > excess(rb, rb->rows[best][p]))
				best = r;
		}
		if (best >= 0) {
			int rc = gather(rb, p, best);

			if (rc)
				return rc;
		}
	}
	return 0;
}

/*
 * Could part's replica in row skip live on device tier k instead? Yes if
 * neither k nor any tier above it would exceed its max.
 */
static int fits(const struct rb *rb, uint32_t part, int skip, int k)
{
	uint16_t held[MAX_ROWS];
	int n = part_devs(rb, part, skip, held);

	for (; k > 0; k = rb->plan.t[k].parent)
		if (count_under(rb, held, n, k) + 1 > rb->plan.t[k].max)
			return 0;
	return 1;
}

static int gather_balance(struct rb *rb)
{
	struct plan *pl = &rb->plan;
	int first = pl->level_start[TIER_DEV], ntier = pl->ntiers;
	int *under, nunder = 0, k, r, rc = 0;
	int64_t over = 0;
	uint32_t nparts = rb->b->nparts, i, p, stride, start;

	under = malloc(sizeof(int) * (size_t)(ntier - first + 1));
	if (!under)
		return -ENOMEM;
	for (k = first; k < ntier; k++) {
		if (pl->t[k].parts > pl->t[k].want_parts)
			over += pl->t[k].parts - pl->t[k].want_parts;
		else if (pl->t[k].parts < pl->t[k].want_parts)
			under[nunder++] = k;
	}
	/* visit the partitions in a seeded order: odd stride mod 2^n */
	start = (uint32_t)mix64(rb->seed ^ 0x5151) & (nparts - 1);
	stride = ((uint32_t)mix64(rb->seed ^ 0xa7a7) | 1) & (nparts - 1);
	stride |= 1;
	for (i = 0, p = start; i < nparts && over > 0 && nunder > 0;
	     i++, p = (p + stride) & (nparts - 1)) {
		if (!can_move(rb, p))
			continue;
		for (r = 0; r < rb->nrows; r++) {
			uint16_t d;
			int u;

			if (p >= rb->row_len[r])
				continue;
			d = rb->rows[r][p];
			if (d == RING_NONE_DEV || excess(rb, d) <= 0)
				continue;
			for (u = 0; u < nunder; u++) {
				const struct tier *t = &pl->t[under[u]];

				if (t->parts < t->want_parts &&
				    rb->rows[r][p] != t->dev &&
				    fits(rb, p, r, under[u]))
					break;
			}
			if (u == nunder)
				continue;
			rc = gather(rb, p, r);
			if (rc)
				goto out;
			over--;
			break;
		}
	}
out:
	free(under);
	return rc;
}

/*
 * Choose a device for part's replica in row: from the root down, the
 * child that can hold one more replica of the partition within its max,
 * still has a device without one, and is furthest below its share;
 * if none is within its max, the one least over it.
 */
static int choose_device(const struct rb *rb, uint32_t part, int row)
{
	const struct plan *pl = &rb->plan;
	uint16_t held[MAX_ROWS];
	int k = 0, nheld = part_devs(rb, part, row, held);

	while (pl->t[k].level < TIER_DEV) {
		const struct tier *p = &pl->t[k];
		int i, best = -1, best_over = 0;
		int64_t best_def = 0;
		uint64_t best_tie = 0;

		for (i = 0; i < p->nchild; i++) {
			int c = p->child0 + i;
			const struct tier *t = &pl->t[c];
			int have, over_by;
			int64_t def;
			uint64_t tie;

			if (t->ndevs == 0)
				continue;
			have = count_under(rb, held, nheld, c);
			if (have >= t->ndevs)
				continue; /* every device has one already */
			over_by = have + 1 - t->max;
			if (over_by < 0)
				over_by = 0;
			def = t->want_parts - t->parts;
			if (best >= 0 &&
			    (over_by > best_over ||
			     (over_by == best_over && def < best_def)))
				continue;
			/* equal candidates: a seeded coin, not the first */
			tie = mix64(rb->seed ^ ((uint64_t)part << 20) ^
				    (uint64_t)c);
			if (best < 0 || over_by < best_over || def > best_def ||
			    tie < best_tie) {
				best = c;
				best_over = over_by;
				best_def = def;
				best_tie = tie;
			}
		}
		if (best < 0)
			return -1;
		k = best;
	}
	return pl->t[k].dev;
}

static int place_gathered(struct rb *rb)
{
	size_t i;

	/* a seeded shuffle, so no part is favoured by its number */
	for (i = rb->ngathered; i > 1; i--) {
		size_t j = mix64(rb->seed ^ (i * 0x9e37u)) % i;
		uint64_t x = rb->gathered[i - 1];

		rb->gathered[i - 1] = rb->gathered[j];
		rb->gathered[j] = x;
	}
	for (i = 0; i < rb->ngathered; i++) {
		uint32_t part = (uint32_t)(rb->gathered[i] >> 8);
		int row = (int)(rb->gathered[i] & 0xff);
		int dev = choose_device(rb, part, row);

		if (dev < 0) {
			log_err("no device can take partition %u", part);
			return -EINVAL;
		}
		rb->rows[row][part] = (uint16_t)dev;
		count_slot(rb, (uint16_t)dev, +1);
	}
	rb->ngathered = 0;
	return 0;
}

static int any_over(const struct rb *rb)
{
	int k;

	for (k = rb->plan.level_start[TIER_DEV]; k < rb->plan.ntiers; k++)
		if (rb->plan.t[k].parts > rb->plan.t[k].want_parts)
			return 1;
	return 0;
}

/* Count partition-replicas whose device differs from the old table. */
static uint64_t count_changes(const struct builder *b, const struct rb *rb)
{
	uint64_t n = 0;
	uint32_t p;
	int r;

	for (r = 0; r < rb->nrows; r++)
		for (p = 0; p < rb->row_len[r]; p++)
			if (r >= b->nrows || p >= b->row_len[r] ||
			    b->rows[r][p] != rb->rows[r][p])
				n++;
	return n;
}

int builder_rebalance(struct builder *b, uint64_t seed,
		      struct rebalance_result *res, char *err, size_t errlen)
{
	struct rb rb = {.b = b, .seed = mix64(seed)};
	uint32_t *saved_parts = NULL;
	uint64_t total;
	struct ring *ring;
	int i, round, rc;

	memset(res, 0, sizeof(*res));
	if (b->part_power > 24) {
		snprintf(err, errlen,
			 "part_power %d is more than this "
			 "builder can assign (24)",
			 b->part_power);
		return -EINVAL;
	}
	total = desired_lengths(b, rb.row_len, &rb.nrows);
	rc = plan_build(&rb.plan, b, total, err, errlen);
	if (rc)
		goto out;
	rb.moved = calloc(b->nparts, 1);
	saved_parts = malloc(sizeof(*saved_parts) * ((size_t)b->ndevs + 1));
	if (!rb.moved || !saved_parts) {
		rc = -ENOMEM;
		goto out;
	}
	if (!b->last_part_moves) {
		b->last_part_moves = malloc(b->nparts);
		if (!b->last_part_moves) {
			rc = -ENOMEM;
			goto out;
		}
		memset(b->last_part_moves, 0xff, b->nparts);
		b->last_part_moves_epoch = time(NULL);
	}
	update_last_part_moves(b);

	/* device and tier counts start from the table as it is */
	for (i = 0; i < b->ndevs; i++) {
		saved_parts[i] = b->devs[i].parts;
		b->devs[i].parts = 0;
	}
	for (i = 0; i < b->nrows; i++) {
		uint32_t p;

		for (p = 0; p < b->row_len[i]; p++) {
			uint16_t d = b->rows[i][p];

			if (i >= rb.nrows || p >= rb.row_len[i] ||
			    d == RING_NONE_DEV)
				continue;
			if (rb.plan.dev_tier[d] >= 0)
				count_slot(&rb, d, +1);
			else
				b->devs[d].parts++;
		}
	}

	rc = resize_rows(&rb);
	if (!rc)
		rc = gather_removed(&rb);
	if (!rc)
		rc = gather_dispersion(&rb);
	for (round = 0; !rc && round < BALANCE_ROUNDS; round++) {
		if (round > 0 || rb.ngathered == 0)
			rc = gather_balance(&rb);
		if (rc || rb.ngathered == 0)
			break;
		rc = place_gathered(&rb);
		if (!rc && !any_over(&rb))
			break;
	}
	if (rc) {
		for (i = 0; i < b->ndevs; i++)
			b->devs[i].parts = saved_parts[i];
		goto out;
	}

	/* commit: the new table, moves, removed devices */
	res->changed = count_changes(b, &rb);
	for (i = 0; i < b->nrows; i++)
		free(b->rows[i]);
	free(b->rows);
	free(b->row_len);
	b->rows = calloc(MAX_ROWS, sizeof(*b->rows));
	b->row_len = calloc(MAX_ROWS, sizeof(*b->row_len));
	if (!b->rows || !b->row_len) {
		rc = -ENOMEM; /* the builder is lost; callers exit */
		goto out;
	}
	for (i = 0; i < rb.nrows; i++) {
		b->rows[i] = rb.rows[i];
		b->row_len[i] = rb.row_len[i];
		rb.rows[i] = NULL;
	}
	b->nrows = rb.nrows;
	for (uint32_t p = 0; p < b->nparts; p++)
		if (rb.moved[p])
			b->last_part_moves[p] = 0;
	for (i = 0; i < b->ndevs; i++) {
		struct builder_dev *d = &b->devs[i];

		if (d->present && d->removing) {
			free(d->ip);
			free(d->replication_ip);
			free(d->device);
			free(d->meta);
			memset(d, 0, sizeof(*d));
			d->id = i;
			res->removed_devs++;
		}
	}
	b->devs_changed = 0;
	b->version++;
	ring = builder_get_ring(b);
	b->dispersion = ring ? ring_dispersion(ring) : 0;
	ring_put(ring);
	res->dispersion = b->dispersion;
	res->balance = builder_balance(b);
out:
	for (i = 0; i < rb.nrows; i++)
		free(rb.rows[i]);
	free(rb.moved);
	free(rb.gathered);
	free(saved_parts);
	plan_free(&rb.plan);
	return rc;
}
