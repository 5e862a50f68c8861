/*
 * tests/unit/ring/test_builder.c: the ring builder: balance, dispersion,
 * min_part_hours, minimal movement, determinism, removal, the builder
 * file, and the add/search syntax of swift-ring-builder.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "ring/builder.h"
#include "ring/ring.h"
#include "tests/unit/lib/ringfix.h"

/* Assert each partition's replicas sit on distinct devices, and on
 * distinct zones when there are at least as many zones as replicas. */
static void check_spread(const struct builder *b, int zones)
{
	uint32_t p;
	int r, s;

	for (p = 0; p < b->nparts; p++)
		for (r = 0; r < b->nrows; r++) {
			if (p >= b->row_len[r])
				continue;
			for (s = 0; s < r; s++) {
				const struct builder_dev *x, *y;

				x = &b->devs[b->rows[r][p]];
				y = &b->devs[b->rows[s][p]];
				cr_assert_neq(x->id, y->id,
					      "part %u twice on dev %d", p,
					      x->id);
				if (zones >= b->nrows)
					cr_assert(x->zone != y->zone ||
							  x->region !=
								  y->region,
						  "part %u twice in zone %d", p,
						  x->zone);
			}
		}
}

static void check_layout(int pp, int regions, int zones, int nodes, int per)
{
	struct fix_dev *devs = fix_zones(regions, zones, nodes, per, 100);
	struct builder *b = fix_builder(pp, 3, 1, devs);
	struct rebalance_result res = fix_rebalance(b, 42);

	cr_expect_lt(res.balance, 1.0, "balance %.3f%%", res.balance);
	cr_expect_eq(res.dispersion, 0, "dispersion %.3f", res.dispersion);
	cr_expect_eq(res.changed, 3ull << pp);
	check_spread(b, regions * zones);
	builder_free(b);
	fix_free_devs(devs);
}

Test(builder, saio_layout_balanced_and_dispersed)
{
	check_layout(10, 1, 4, 1, 1);
}

Test(builder, hundred_devices_balanced_and_dispersed)
{
	check_layout(14, 1, 10, 1, 10);
}

Test(builder, two_regions_balanced_and_dispersed)
{
	check_layout(12, 2, 3, 2, 2);
}

Test(builder, partitions_follow_weights)
{
	/* three zones of equal total weight, uneven devices inside */
	struct fix_dev devs[] = {{"r1z1-10.0.1.1:6200/a", 100},
				 {"r1z1-10.0.1.1:6200/b", 200},
				 {"r1z1-10.0.1.2:6200/c", 300},
				 {"r1z2-10.0.2.1:6200/a", 300},
				 {"r1z2-10.0.2.1:6200/b", 300},
				 {"r1z3-10.0.3.1:6200/a", 600},
				 {NULL, 0}};
	struct builder *b = fix_builder(12, 3, 1, devs);
	struct rebalance_result res = fix_rebalance(b, 3);
	double per_weight = (3.0 * 4096) / 1800;
	int i;

	cr_expect_lt(res.balance, 1.0, "balance %.3f%%", res.balance);
	for (i = 0; i < 6; i++)
		cr_expect(fabs(b->devs[i].parts -
			       b->devs[i].weight * per_weight) <=
				  1 + 0.01 * b->devs[i].weight * per_weight,
			  "dev %d has %u parts for weight %.0f", i,
			  b->devs[i].parts, b->devs[i].weight);
	check_spread(b, 3);
	builder_free(b);
}

Test(builder, overload_trades_balance_for_dispersion)
{
	/* zone 3 weighs half the others: by weight alone it should hold
	 * 0.6 replicas of each partition, so some partitions must put two
	 * replicas in zone 1 or 2 -- unless overload lets zone 3 take one */
	struct fix_dev devs[] = {{"r1z1-10.0.1.1:6200/a", 100},
				 {"r1z1-10.0.1.2:6200/a", 100},
				 {"r1z2-10.0.2.1:6200/a", 100},
				 {"r1z2-10.0.2.2:6200/a", 100},
				 {"r1z3-10.0.3.1:6200/a", 50},
				 {"r1z3-10.0.3.2:6200/a", 50},
				 {NULL, 0}};
	struct builder *b = fix_builder(10, 3, 0, devs);
	struct rebalance_result res = fix_rebalance(b, 1);

	cr_expect_lt(res.balance, 1.0, "by weight: balance %.2f", res.balance);
	cr_expect_gt(res.dispersion, 0, "by weight: some parts undispersed");
	b->overload = 1.0;
	b->devs_changed = 1;
	builder_pretend_min_part_hours_passed(b);
	for (int i = 0; i < 4; i++) {
		builder_pretend_min_part_hours_passed(b);
		res = fix_rebalance(b, (uint64_t)i + 2);
	}
	cr_expect_eq(res.dispersion, 0, "with overload: dispersion %.2f",
		     res.dispersion);
	check_spread(b, 3);
	builder_free(b);
}

static uint16_t **copy_rows(const struct builder *b)
{
	uint16_t **rows = calloc((size_t)b->nrows, sizeof(*rows));
	int r;

	for (r = 0; r < b->nrows; r++) {
		rows[r] = malloc(b->row_len[r] * 2);
		memcpy(rows[r], b->rows[r], b->row_len[r] * 2);
	}
	return rows;
}

static void free_rows(uint16_t **rows, int n)
{
	for (int r = 0; r < n; r++)
		free(rows[r]);
	free(rows);
}

Test(builder, min_part_hours_moves_one_replica_per_partition)
{
	struct fix_dev *devs = fix_zones(1, 4, 2, 2, 100);
	struct builder *b = fix_builder(10, 3, 24, devs);
	struct builder_dev t;
	char err[256], scratch[64];
	struct rebalance_result res;
	uint16_t **old;
	uint8_t recent[1024];
	uint32_t p;
	int r, moved_parts = 0;

	fix_rebalance(b, 1);
	old = copy_rows(b);
	/* a heavy new device in a new zone wants many partitions */
	cr_assert_eq(builder_parse_add("r1z5-10.0.5.1:6200/d1", &t, scratch,
				       err, sizeof(err)),
		     0);
	t.weight = 400;
	cr_assert_geq(builder_add_dev(b, &t, err, sizeof(err)), 0);
	builder_pretend_min_part_hours_passed(b);
	res = fix_rebalance(b, 2);
	cr_assert_gt(res.changed, 0);
	for (p = 0; p < b->nparts; p++) {
		int changed = 0;

		for (r = 0; r < 3; r++)
			changed += old[r][p] != b->rows[r][p];
		cr_assert_leq(changed, 1, "part %u moved %d replicas", p,
			      changed);
		moved_parts += changed;
	}
	cr_expect_eq((uint64_t)moved_parts, res.changed);

	/* within min_part_hours, the moved partitions stay put */
	free_rows(old, 3);
	old = copy_rows(b);
	memcpy(recent, b->last_part_moves, sizeof(recent));
	cr_assert_eq(builder_set_weight(b, 16, 800), 0);
	res = fix_rebalance(b, 3);
	cr_expect_gt(res.changed, 0, "parts not moved recently can move");
	for (p = 0; p < b->nparts; p++)
		for (r = 0; r < 3; r++)
			if (old[r][p] != b->rows[r][p])
				cr_assert_geq(recent[p], 24,
					      "part %u moved twice within "
					      "min_part_hours",
					      p);
	free_rows(old, 3);
	builder_free(b);
	fix_free_devs(devs);
}

Test(builder, adding_a_device_moves_near_the_minimum)
{
	struct fix_dev *devs = fix_zones(1, 5, 2, 2, 100);
	struct builder *b = fix_builder(13, 3, 1, devs);
	struct builder_dev t;
	char err[256], scratch[64];
	struct rebalance_result res;
	double minimum;

	fix_rebalance(b, 1);
	cr_assert_eq(builder_parse_add("r1z2-10.0.2.3:6200/d9", &t, scratch,
				       err, sizeof(err)),
		     0);
	t.weight = 100;
	cr_assert_geq(builder_add_dev(b, &t, err, sizeof(err)), 0);
	builder_pretend_min_part_hours_passed(b);
	res = fix_rebalance(b, 2);
	/* at least the new device's share must move; at most 10% more */
	minimum = 3.0 * 8192 / 21;
	cr_expect_geq((double)res.changed, floor(minimum));
	cr_expect_leq((double)res.changed, 1.10 * minimum,
		      "moved %llu, minimum %.0f",
		      (unsigned long long)res.changed, minimum);
	cr_expect_lt(res.balance, 1.0, "balance %.2f", res.balance);
	check_spread(b, 5);
	builder_free(b);
	fix_free_devs(devs);
}

Test(builder, same_seed_same_ring)
{
	struct fix_dev *devs = fix_zones(2, 2, 2, 3, 100);
	struct builder *a = fix_builder(11, 3, 1, devs);
	struct builder *b = fix_builder(11, 3, 1, devs);
	struct builder *c = fix_builder(11, 3, 1, devs);
	int r, differs = 0;

	fix_rebalance(a, 77);
	fix_rebalance(b, 77);
	fix_rebalance(c, 78);
	for (r = 0; r < 3; r++) {
		cr_expect_eq(memcmp(a->rows[r], b->rows[r], 2 << 11), 0);
		differs |= memcmp(a->rows[r], c->rows[r], 2 << 11) != 0;
	}
	cr_expect(differs, "another seed gives another assignment");
	builder_free(a);
	builder_free(b);
	builder_free(c);
	fix_free_devs(devs);
}

Test(builder, removed_device_is_drained_and_its_id_reused)
{
	struct fix_dev *devs = fix_zones(1, 4, 1, 3, 100);
	struct builder *b = fix_builder(10, 3, 24, devs);
	struct rebalance_result res;
	struct builder_dev t;
	char err[256], scratch[64];
	uint32_t p;
	int r;

	fix_rebalance(b, 1);
	cr_assert_eq(builder_remove_dev(b, 4), 0);
	/* removal ignores min_part_hours: the device is going away */
	res = fix_rebalance(b, 2);
	cr_expect_eq(res.removed_devs, 1);
	cr_expect_not(b->devs[4].present);
	for (r = 0; r < 3; r++)
		for (p = 0; p < b->nparts; p++)
			cr_assert_neq(b->rows[r][p], 4);
	check_spread(b, 4);
	cr_assert_eq(builder_parse_add("r1z2-10.0.9.9:6200/new", &t, scratch,
				       err, sizeof(err)),
		     0);
	t.weight = 100;
	cr_expect_eq(builder_add_dev(b, &t, err, sizeof(err)), 4,
		     "the lowest free id, as swift-ring-builder");
	cr_expect_eq(builder_remove_dev(b, 99), -ENOENT);
	builder_free(b);
	fix_free_devs(devs);
}

/* set_weight 0 (Swift's way to drain a device before removing it): one
 * rebalance moves every partition off it, only those, and the others stay
 * balanced; a device added with weight 0 gets nothing. */
Test(builder, zero_weight_drains_the_device)
{
	struct fix_dev *devs = fix_zones(1, 4, 1, 3, 100);
	struct builder *b = fix_builder(10, 3, 24, devs);
	struct rebalance_result res;
	struct builder_dev t;
	char err[256], scratch[64];
	uint16_t **old;
	uint32_t p, held;
	int r, i, moved = 0;

	fix_rebalance(b, 1);
	held = b->devs[4].parts;
	cr_assert_gt(held, 0);
	old = copy_rows(b);
	cr_assert_eq(builder_set_weight(b, 4, 0), 0);
	cr_assert_eq(builder_parse_add("r1z2-10.0.9.9:6200/empty", &t, scratch,
				       err, sizeof(err)),
		     0);
	t.weight = 0;
	i = builder_add_dev(b, &t, err, sizeof(err));
	cr_assert_geq(i, 0, "%s", err);
	builder_pretend_min_part_hours_passed(b);
	res = fix_rebalance(b, 2);
	cr_expect_eq(b->devs[4].parts, 0, "d4 still holds %u partitions",
		     b->devs[4].parts);
	cr_expect_eq(b->devs[i].parts, 0, "a weightless new device got parts");
	cr_expect(b->devs[4].present, "drained, not removed");
	for (p = 0; p < b->nparts; p++)
		for (r = 0; r < 3; r++) {
			cr_assert_neq(b->rows[r][p], 4);
			moved += old[r][p] != b->rows[r][p];
		}
	cr_expect_leq((uint32_t)moved, held + held / 10,
		      "%d replicas moved to drain %u", moved, held);
	cr_expect_lt(res.balance, 2.0, "balance %.2f", res.balance);
	check_spread(b, 4);
	/* then removed: nothing more moves */
	free_rows(old, 3);
	old = copy_rows(b);
	cr_assert_eq(builder_remove_dev(b, 4), 0);
	res = fix_rebalance(b, 3);
	cr_expect_eq(res.removed_devs, 1);
	for (p = 0; p < b->nparts; p++)
		for (r = 0; r < 3; r++)
			cr_expect_eq(old[r][p], b->rows[r][p]);
	free_rows(old, 3);
	builder_free(b);
	fix_free_devs(devs);
}

Test(builder, fractional_replicas)
{
	struct fix_dev *devs = fix_zones(1, 4, 1, 2, 100);
	struct builder *b = fix_builder(10, 2.5, 1, devs);
	struct rebalance_result res = fix_rebalance(b, 1);

	cr_expect_eq(b->nrows, 3);
	cr_expect_eq(b->row_len[0], 1024);
	cr_expect_eq(b->row_len[2], 512);
	cr_expect_lt(res.balance, 1.0, "balance %.2f", res.balance);
	check_spread(b, 4);
	/* going up to 3 replicas fills the third row, moving nothing else */
	cr_assert_eq(builder_set_replicas(b, 3), 0);
	builder_pretend_min_part_hours_passed(b);
	res = fix_rebalance(b, 2);
	cr_expect_eq(b->row_len[2], 1024);
	check_spread(b, 4);
	builder_free(b);
	fix_free_devs(devs);
}

Test(builder, too_few_devices_is_an_error_and_changes_nothing)
{
	struct fix_dev devs[] = {{"z1-10.0.0.1:6200/a", 1},
				 {"z2-10.0.0.2:6200/a", 1},
				 {NULL, 0}};
	struct builder *b = fix_builder(8, 3, 1, devs);
	struct rebalance_result res;
	char err[256] = "";

	cr_expect_eq(builder_rebalance(b, 1, &res, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "requires more than") != NULL, "%s", err);
	cr_expect_eq(b->nrows, 0);
	builder_free(b);
}

Test(builder, create_validates_settings)
{
	struct builder *b = NULL;
	char err[256];

	cr_expect_eq(builder_create(0, 3, 1, &b, err, sizeof(err)), -EINVAL);
	cr_expect_eq(builder_create(33, 3, 1, &b, err, sizeof(err)), -EINVAL);
	cr_expect_eq(builder_create(8, 0.5, 1, &b, err, sizeof(err)), -EINVAL);
	cr_expect_eq(builder_create(8, 3, -1, &b, err, sizeof(err)), -EINVAL);
	cr_expect_null(b);
}

Test(builder, add_syntax_and_validation)
{
	struct builder *b = NULL;
	struct builder_dev t;
	char err[256], scratch[128];
	static const char *bad[] = {"1-10.0.0.1:6200/d",
				    "z1-10.0.0.1/d",
				    "z1-10.0.0.1:70000/d",
				    "z1-10.0.0.1:6200",
				    "z1-10.0.0.1:6200/",
				    "z1:6200/d",
				    "rz1-10.0.0.1:6200/d",
				    "z1-10.0.0.1:6200/..",
				    NULL};
	int i;

	cr_assert_eq(builder_create(8, 3, 1, &b, err, sizeof(err)), 0);
	cr_assert_eq(builder_parse_add("r2z3-10.1.2.3:6200R10.9.9.9:6300/sdb1"
				       "_fast disk",
				       &t, scratch, err, sizeof(err)),
		     0);
	cr_expect_eq(t.region, 2);
	cr_expect_eq(t.zone, 3);
	cr_expect_str_eq(t.ip, "10.1.2.3");
	cr_expect_eq(t.port, 6200);
	cr_expect_str_eq(t.replication_ip, "10.9.9.9");
	cr_expect_eq(t.replication_port, 6300);
	cr_expect_str_eq(t.device, "sdb1");
	cr_expect_str_eq(t.meta, "fast disk");
	cr_assert_eq(builder_parse_add("z1-[::1]:6200/d", &t, scratch, err,
				       sizeof(err)),
		     0);
	cr_expect_str_eq(t.ip, "::1");
	cr_expect_eq(t.region, 1, "region defaults to 1");
	for (i = 0; bad[i]; i++)
		cr_expect_eq(builder_parse_add(bad[i], &t, scratch, err,
					       sizeof(err)),
			     -EINVAL, "%s", bad[i]);

	cr_assert_eq(builder_parse_add("z1-10.0.0.1:6200/d", &t, scratch, err,
				       sizeof(err)),
		     0);
	t.weight = -5;
	cr_expect_eq(builder_add_dev(b, &t, err, sizeof(err)), -EINVAL);
	t.weight = NAN;
	cr_expect_eq(builder_add_dev(b, &t, err, sizeof(err)), -EINVAL);
	t.weight = INFINITY;
	cr_expect_eq(builder_add_dev(b, &t, err, sizeof(err)), -EINVAL);
	t.weight = 0; /* as swift-ring-builder: a device that holds nothing */
	cr_expect_eq(builder_add_dev(b, &t, err, sizeof(err)), 0);
	cr_expect_eq(builder_add_dev(b, &t, err, sizeof(err)), -EINVAL,
		     "the same ip:port/device twice");
	cr_expect_eq(builder_set_weight(b, 0, -1), -EINVAL);
	cr_expect_eq(builder_set_weight(b, 0, NAN), -EINVAL);
	cr_expect_eq(builder_set_weight(b, 0, 20), 0);
	cr_expect_eq(builder_set_weight(b, 0, 0), 0, "0 drains");
	builder_free(b);
}

Test(builder, search_values)
{
	struct fix_dev *devs = fix_zones(2, 2, 1, 2, 100);
	struct builder *b = fix_builder(8, 3, 1, devs);
	int ids[16];

	cr_expect_eq(builder_search(b, "d3", ids, 16), 1);
	cr_expect_eq(ids[0], 3);
	cr_expect_eq(builder_search(b, "r2", ids, 16), 4);
	cr_expect_eq(builder_search(b, "r1z2", ids, 16), 2);
	cr_expect_eq(builder_search(b, "10.1.1.1", ids, 16), 2);
	cr_expect_eq(builder_search(b, "z1-10.2.1.1:6200/d2", ids, 16), 1);
	cr_expect_eq(builder_search(b, "/d1", ids, 16), 4);
	cr_expect_eq(builder_search(b, "d99", ids, 16), 0);
	cr_expect_eq(builder_search(b, "", ids, 16), -EINVAL);
	cr_expect_eq(builder_search(b, "q7", ids, 16), -EINVAL);
	builder_free(b);
	fix_free_devs(devs);
}

Test(builder, file_roundtrip_and_corruption)
{
	struct fix_dev *devs = fix_zones(1, 3, 1, 2, 100);
	struct builder *b = fix_builder(9, 3, 5, devs), *back = NULL;
	char path[] = "/tmp/kumo-builder.XXXXXX";
	int fd = mkstemp(path), r, i;
	FILE *f;
	long len;

	cr_assert_neq(fd, -1);
	close(fd);
	fix_rebalance(b, 9);
	cr_assert_eq(builder_save(b, path), 0);
	cr_assert_eq(builder_load(path, &back), 0);
	cr_expect_eq(back->part_power, 9);
	cr_expect_eq(back->min_part_hours, 5);
	cr_expect_eq(back->replicas, 3);
	cr_expect_eq(back->ndevs, b->ndevs);
	cr_expect_eq(back->version, b->version);
	for (i = 0; i < b->ndevs; i++) {
		cr_expect_str_eq(back->devs[i].ip, b->devs[i].ip);
		cr_expect_eq(back->devs[i].parts, b->devs[i].parts);
	}
	for (r = 0; r < 3; r++)
		cr_expect_eq(memcmp(back->rows[r], b->rows[r], 2 << 9), 0);
	cr_expect_eq(memcmp(back->last_part_moves, b->last_part_moves, 512), 0);
	builder_free(back);
	back = NULL;

	/* a truncated file is refused, not half-read */
	f = fopen(path, "r+");
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	cr_assert_eq(ftruncate(fileno(f), len / 2), 0);
	fclose(f);
	cr_expect_eq(builder_load(path, &back), -EINVAL);
	cr_expect_null(back);
	unlink(path);
	cr_expect_eq(builder_load(path, &back), -ENOENT);
	builder_free(b);
	fix_free_devs(devs);
}
