/*
 * ring/ring.c: placement on a loaded ring: path to partition, partition to
 * primaries, and the handoff walk of Swift's Ring.get_more_nodes.
 *
 * Loading and saving live in ringfile.c; building in builder.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/md5.h"
#include "ring/internal.h"

struct ring *ring_alloc(void)
{
	struct ring *ring = calloc(1, sizeof(*ring));

	if (!ring) {
		errno = ENOMEM;
		return NULL;
	}
	ring->refs = 1;
	ring->version = -1;
	ring->next_part_power = -1;
	return ring;
}

void ring_dev_free(struct ring_dev *dev)
{
	if (!dev)
		return;
	free(dev->ip);
	free(dev->replication_ip);
	free(dev->device);
	free(dev->meta);
	free(dev);
}

struct ring *ring_get(struct ring *ring)
{
	__atomic_add_fetch(&ring->refs, 1, __ATOMIC_RELAXED);
	return ring;
}

void ring_put(struct ring *ring)
{
	int r;

	if (!ring || __atomic_sub_fetch(&ring->refs, 1, __ATOMIC_ACQ_REL))
		return;
	for (r = 0; r < ring->nrows; r++)
		free(ring->rows[r]);
	free(ring->rows);
	free(ring->row_len);
	free(ring->by_part);
	for (r = 0; r < ring->ndevs; r++)
		ring_dev_free(ring->devs[r]);
	free(ring->devs);
	free(ring);
}

double ring_replica_count(const struct ring *ring)
{
	if (ring->nrows == 0 || ring->nparts == 0)
		return 0;
	return (ring->nrows - 1) +
	       (double)ring->row_len[ring->nrows - 1] / ring->row_len[0];
}

/*
 * Give each device dense indexes for its region, (region, zone) and
 * (region, zone, ip), so the handoff walk compares integers. Devices are
 * few (<= 65535), so a quadratic search over earlier devices is fine.
 */
static void ring_index_tiers(struct ring *ring)
{
	int i, j, nr = 0, nz = 0, ni = 0;

	for (i = 0; i < ring->ndevs; i++) {
		struct ring_dev *d = ring->devs[i];

		if (!d)
			continue;
		d->region_idx = d->zone_idx = d->ip_idx = -1;
		for (j = 0; j < i; j++) {
			struct ring_dev *e = ring->devs[j];

			if (!e || e->region != d->region)
				continue;
			d->region_idx = e->region_idx;
			if (e->zone != d->zone)
				continue;
			d->zone_idx = e->zone_idx;
			if (strcmp(e->ip, d->ip) != 0)
				continue;
			d->ip_idx = e->ip_idx;
			break;
		}
		if (d->region_idx < 0)
			d->region_idx = nr++;
		if (d->zone_idx < 0)
			d->zone_idx = nz++;
		if (d->ip_idx < 0)
			d->ip_idx = ni++;
	}
	ring->dev_regions = nr;
	ring->dev_zones = nz;
}

int ring_finish(struct ring *ring, const char *what)
{
	uint8_t *assigned = NULL, *seen = NULL;
	int r, i, rc = 0, nz = 0;
	uint32_t p;

	if (ring->part_power < 0 || ring->part_power > 32) {
		log_err("%s: part_shift out of range", what);
		return -EINVAL;
	}
	ring->part_shift = 32 - ring->part_power;
	ring->nparts = ring->part_power == 32 ? 0 : 1u << ring->part_power;

	assigned = calloc((size_t)ring->ndevs + 1, 1);
	if (!assigned)
		return -ENOMEM;
	for (r = 0; r < ring->nrows; r++) {
		if (ring->row_len[r] > ring->nparts ||
		    (r > 0 && ring->row_len[r] > ring->row_len[0])) {
			log_err("%s: replica row %d has %u entries for %u "
				"partitions",
				what, r, ring->row_len[r], ring->nparts);
			rc = -EINVAL;
			goto out;
		}
		for (p = 0; p < ring->row_len[r]; p++) {
			uint16_t id = ring->rows[r][p];

			if (id >= ring->ndevs || !ring->devs[id]) {
				log_err("%s: partition %u replica %d is on "
					"device %u, which is not in the ring",
					what, p, r, id);
				rc = -EINVAL;
				goto out;
			}
			assigned[id] = 1;
		}
	}
	ring->by_part =
		malloc((size_t)ring->nparts * (size_t)ring->nrows * 2 + 2);
	if (!ring->by_part) {
		rc = -ENOMEM;
		goto out;
	}
	for (r = 0; r < ring->nrows; r++)
		for (p = 0; p < ring->nparts; p++)
			ring->by_part[(size_t)p * ring->nrows + r] =
				p < ring->row_len[r] ? ring->rows[r][p]
						     : RING_NONE_DEV;
	ring_index_tiers(ring);
	ring->num_devs = ring->num_assigned_devs = 0;
	for (i = 0; i < ring->ndevs; i++)
		if (ring->devs[i]) {
			ring->num_devs++;
			if (ring->devs[i]->zone_idx + 1 > nz)
				nz = ring->devs[i]->zone_idx + 1;
			if (ring->devs[i]->ip_idx + 1 > nz)
				nz = ring->devs[i]->ip_idx + 1;
		}
	seen = calloc((size_t)nz + 1, 3);
	if (!seen) {
		rc = -ENOMEM;
		goto out;
	}
	ring->num_regions = ring->num_zones = ring->num_ips = 0;
	for (i = 0; i < ring->ndevs; i++) {
		struct ring_dev *d = ring->devs[i];

		if (!d || !assigned[i])
			continue;
		ring->num_assigned_devs++;
		if (!seen[3 * d->region_idx]++)
			ring->num_regions++;
		if (!seen[3 * d->zone_idx + 1]++)
			ring->num_zones++;
		if (!seen[3 * d->ip_idx + 2]++)
			ring->num_ips++;
	}
out:
	free(seen);
	free(assigned);
	return rc;
}

int ring_hash_path(const struct ring_hash_conf *conf, const char *account,
		   const char *container, const char *object,
		   uint8_t digest[16])
{
	const char *parts[3];
	size_t total = 0;
	struct md5_piece pc[9];
	char stack[512];
	int n = 0, np = 0, i;

	if (object && *object && !(container && *container)) {
		log_err("an object path needs a container");
		return -EINVAL;
	}
	parts[n++] = account;
	if (container && *container) {
		parts[n++] = container;
		if (object && *object)
			parts[n++] = object;
	}
	/* prefix + "/" + "/".join(parts) + suffix, as Swift's hash_path */
	pc[np++] = (struct md5_piece){conf->prefix, strlen(conf->prefix)};
	for (i = 0; i < n; i++) {
		pc[np++] = (struct md5_piece){"/", 1};
		pc[np++] = (struct md5_piece){parts[i], strlen(parts[i])};
	}
	pc[np++] = (struct md5_piece){conf->suffix, strlen(conf->suffix)};
	for (i = 0; i < np; i++)
		total += pc[i].len;
	if (total > sizeof(stack))
		return md5_pieces(pc, np, digest);
	/* one update of one buffer is cheaper than several small ones */
	for (i = 0, total = 0; i < np; i++) {
		memcpy(stack + total, pc[i].data, pc[i].len);
		total += pc[i].len;
	}
	return md5_buf(stack, total, digest);
}

int64_t ring_get_part(const struct ring *ring,
		      const struct ring_hash_conf *conf, const char *account,
		      const char *container, const char *object)
{
	uint8_t digest[16];
	int rc = ring_hash_path(conf, account, container, object, digest);

	if (rc)
		return rc;
	return ring_part_of_digest(ring, digest);
}

int ring_get_part_nodes(const struct ring *ring, uint32_t part,
			const struct ring_dev **out, int max)
{
	const uint16_t *ids = ring->by_part + (size_t)part * ring->nrows;
	int r, i, n = 0;

	if (part >= ring->nparts)
		return 0;
	for (r = 0; r < ring->nrows && n < max; r++) {
		if (ids[r] == RING_NONE_DEV)
			continue;
		for (i = 0; i < n; i++)
			if (out[i]->id == ids[r])
				break;
		if (i == n)
			out[n++] = ring->devs[ids[r]];
	}
	return n;
}

/*
 * The handoff walk. Swift visits partitions in the order
 *   range(start, parts, inc) then range(inc - ((parts - start) % inc),
 *   start, inc)
 * (start from the MD5 of the partition number's decimal string), and for
 * each partition its devices row by row. It does so four times, each time
 * accepting a device only if it is unused and, in turn, its region, its
 * zone or its ip is new; each pass stops as soon as every region (zone,
 * ip, device) holding partitions has been used.
 */
struct handoff_walk {
	const struct ring *ring;
	uint8_t *used_dev, *used_region, *used_zone, *used_ip;
	int n_used_dev, n_used_region, n_used_zone, n_used_ip;
	const struct ring_dev **out;
	int n, max;
};

static void walk_take(struct handoff_walk *w, const struct ring_dev *d)
{
	w->out[w->n++] = d;
	w->used_dev[d->id] = 1;
	w->n_used_dev++;
	if (!w->used_region[d->region_idx]++)
		w->n_used_region++;
	if (!w->used_zone[d->zone_idx]++)
		w->n_used_zone++;
	if (!w->used_ip[d->ip_idx]++)
		w->n_used_ip++;
}

/* 0: new region, 1: new zone, 2: new ip, 3: any unused device */
static int walk_wants(const struct handoff_walk *w, int stage,
		      const struct ring_dev *d)
{
	if (w->used_dev[d->id])
		return 0;
	switch (stage) {
	case 0:
		return !w->used_region[d->region_idx];
	case 1:
		return !w->used_zone[d->zone_idx];
	case 2:
		return !w->used_ip[d->ip_idx];
	default:
		return 1;
	}
}

static int walk_done(const struct handoff_walk *w, int stage)
{
	const struct ring *ring = w->ring;

	switch (stage) {
	case 0:
		return w->n_used_region == ring->num_regions;
	case 1:
		return w->n_used_zone == ring->num_zones;
	case 2:
		return w->n_used_ip == ring->num_ips;
	default:
		return w->n_used_dev == ring->num_assigned_devs;
	}
}

/* Visit one partition in one stage; returns 1 when the stage is over. */
static int walk_part(struct handoff_walk *w, int stage, uint32_t hp)
{
	const struct ring *ring = w->ring;
	int r;

	for (r = 0; r < ring->nrows; r++) {
		const struct ring_dev *d;

		if (hp >= ring->row_len[r])
			continue;
		d = ring->devs[ring->rows[r][hp]];
		if (!walk_wants(w, stage, d))
			continue;
		walk_take(w, d);
		if (w->n == w->max || walk_done(w, stage))
			return 1;
	}
	return 0;
}

int ring_get_handoffs(const struct ring *ring, uint32_t part,
		      const struct ring_dev **out, int max)
{
	const struct ring_dev *prim[64];
	struct handoff_walk w = {.ring = ring, .out = out, .max = max};
	uint8_t digest[16];
	char partstr[16];
	uint32_t parts = ring->row_len[0], start, inc, hp, second;
	int i, nprim, stage, ntiers, rc = 0;

	if (max <= 0 || ring->nrows == 0)
		return 0;
	ntiers = ring->ndevs + 1;
	w.used_dev = calloc((size_t)ntiers, 4);
	if (!w.used_dev)
		return -ENOMEM;
	w.used_region = w.used_dev + ntiers;
	w.used_zone = w.used_region + ntiers;
	w.used_ip = w.used_zone + ntiers;

	nprim = ring_get_part_nodes(ring, part, prim, 64);
	for (i = 0; i < nprim; i++) {
		/* primaries count as used without being output */
		const struct ring_dev *d = prim[i];

		w.used_dev[d->id] = 1;
		w.n_used_dev++;
		if (!w.used_region[d->region_idx]++)
			w.n_used_region++;
		if (!w.used_zone[d->zone_idx]++)
			w.n_used_zone++;
		if (!w.used_ip[d->ip_idx]++)
			w.n_used_ip++;
	}

	snprintf(partstr, sizeof(partstr), "%u", part);
	rc = md5_buf(partstr, strlen(partstr), digest);
	if (rc)
		goto out;
	start = ring_part_of_digest(ring, digest);
	inc = parts / 65536;
	if (!inc)
		inc = 1;
	second = inc - ((parts - start) % inc);

	for (stage = 0; stage < 4 && w.n < max; stage++) {
		int over = walk_done(&w, stage);

		for (hp = start; !over && hp < parts; hp += inc)
			over = walk_part(&w, stage, hp);
		for (hp = second; !over && hp < start; hp += inc)
			over = walk_part(&w, stage, hp);
	}
	rc = w.n;
out:
	free(w.used_dev);
	return rc;
}
