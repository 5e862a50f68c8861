/*
 * tests/unit/ring/test_ring.c: path hashing, placement and the .ring.gz
 * format. (Placement equal to OpenStack Swift's own code is checked by
 * tests/integration/010-*, against python3-swift.)
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/buf.h"
#include "common/gzip.h"
#include "common/md5.h"
#include "ring/builder.h"
#include "ring/ring.h"
#include "tests/unit/lib/ringfix.h"

static struct ring *small_ring(double replicas)
{
	struct fix_dev *devs = fix_zones(2, 3, 2, 2, 100);
	struct builder *b = fix_builder(8, replicas, 0, devs);
	struct ring *ring;

	fix_rebalance(b, 1);
	ring = builder_get_ring(b);
	cr_assert_not_null(ring);
	builder_free(b);
	fix_free_devs(devs);
	return ring;
}

Test(ring, hash_path_is_md5_of_prefix_path_suffix)
{
	struct ring_hash_conf conf = {"pre", "suf"};
	uint8_t got[16], want[16];
	const char *s = "pre/AUTH_test/c/o/with/slashessuf";

	cr_assert_eq(
		ring_hash_path(&conf, "AUTH_test", "c", "o/with/slashes", got),
		0);
	md5_buf(s, strlen(s), want);
	cr_expect_eq(memcmp(got, want, 16), 0);

	/* an empty container means an account path, as in Swift */
	cr_assert_eq(ring_hash_path(&conf, "a", "", NULL, got), 0);
	md5_buf("pre/asuf", 8, want);
	cr_expect_eq(memcmp(got, want, 16), 0);
	cr_expect_eq(ring_hash_path(&conf, "a", NULL, "o", got), -EINVAL,
		     "an object needs a container");
}

Test(ring, partition_is_top_bits_of_digest)
{
	struct ring *ring = small_ring(3);
	uint8_t d[16] = {0xab, 0xcd, 0xef, 0x12};

	cr_expect_eq(ring->part_power, 8);
	cr_expect_eq(ring_part_of_digest(ring, d), 0xab);
	ring_put(ring);
}

Test(ring, primaries_are_distinct_and_handoffs_exclude_them)
{
	struct ring *ring = small_ring(3);
	const struct ring_dev *prim[8], *hand[64];
	uint32_t part;

	for (part = 0; part < ring->nparts; part++) {
		int np = ring_get_part_nodes(ring, part, prim, 8);
		int nh = ring_get_handoffs(ring, part, hand, 64);
		int seen[64] = {0}, i;

		cr_assert_eq(np, 3);
		cr_assert_eq(nh, ring->num_assigned_devs - 3,
			     "every other device is a handoff");
		for (i = 0; i < np; i++)
			seen[prim[i]->id]++;
		for (i = 0; i < nh; i++)
			seen[hand[i]->id]++;
		for (i = 0; i < ring->ndevs; i++)
			cr_assert_eq(seen[i], 1, "device %d seen %d times", i,
				     seen[i]);
		/* the primaries span both regions, so the first handoff is
		 * in a zone no primary uses */
		for (i = 0; i < np; i++)
			cr_assert(prim[i]->zone != hand[0]->zone ||
				  prim[i]->region != hand[0]->region);
	}
	cr_expect_eq(ring_get_handoffs(ring, 0, hand, 2), 2, "max is honoured");
	ring_put(ring);
}

/* Chi-squared of many random paths over the partitions: the hash spreads
 * them uniformly (df = 255; mean 255, sd ~22.6; 400 is > 6 sd). */
Test(ring, paths_spread_uniformly_over_partitions)
{
	struct ring *ring = small_ring(3);
	struct ring_hash_conf conf = {"", "changeme"};
	uint32_t counts[256] = {0};
	int i, n = 256 * 400;
	double chi2 = 0, expect = 400;
	char obj[32];

	for (i = 0; i < n; i++) {
		int64_t p;

		snprintf(obj, sizeof(obj), "obj-%d", i);
		p = ring_get_part(ring, &conf, "AUTH_test", "c", obj);
		cr_assert_geq(p, 0);
		counts[p]++;
	}
	for (i = 0; i < 256; i++)
		chi2 += (counts[i] - expect) * (counts[i] - expect) / expect;
	cr_expect_lt(chi2, 400, "chi2 %.1f over 255 df", chi2);
	ring_put(ring);
}

Test(ring, serialize_parse_roundtrip_and_determinism)
{
	struct ring *ring = small_ring(2.5), *back = NULL;
	struct buf a = BUF_INIT, b = BUF_INIT;
	int r;

	cr_assert_eq(ring_serialize_v1(ring, "/x/object.ring.gz", &a), 0);
	cr_assert_eq(ring_serialize_v1(ring, "/x/object.ring.gz", &b), 0);
	cr_assert_eq(a.len, b.len);
	cr_expect_eq(memcmp(a.data, b.data, a.len), 0);
	cr_assert_eq(ring_parse(a.data, a.len, "mem", &back), 0);
	cr_expect_eq(back->nrows, 3);
	cr_expect_eq(back->row_len[2], 128, "2.5 replicas: half a row");
	cr_expect(fabs(ring_replica_count(back) - 2.5) < 1e-9);
	cr_expect_eq(back->ndevs, ring->ndevs);
	for (r = 0; r < ring->nrows; r++)
		cr_expect_eq(memcmp(back->rows[r], ring->rows[r],
				    ring->row_len[r] * 2),
			     0);
	for (r = 0; r < ring->ndevs; r++) {
		cr_expect_str_eq(back->devs[r]->ip, ring->devs[r]->ip);
		cr_expect_str_eq(back->devs[r]->device, ring->devs[r]->device);
		cr_expect_eq(back->devs[r]->zone, ring->devs[r]->zone);
		cr_expect_eq(back->devs[r]->weight, ring->devs[r]->weight);
	}
	ring_put(back);
	ring_put(ring);
	buf_free(&a);
	buf_free(&b);
}

/* Re-gzip raw ring bytes after damaging them, and expect -EINVAL. */
static void expect_rejected(const uint8_t *raw, size_t len, const char *why)
{
	struct buf gz = BUF_INIT;
	struct ring *ring = NULL;

	cr_assert_eq(gzip_compress(raw, len, NULL, 0, 1, &gz), 0);
	cr_expect_eq(ring_parse(gz.data, gz.len, why, &ring), -EINVAL, "%s",
		     why);
	cr_expect_null(ring);
	buf_free(&gz);
}

Test(ring, corrupt_files_are_rejected)
{
	struct ring *ring = small_ring(3), *out = NULL;
	struct buf gz = BUF_INIT, raw = BUF_INIT;
	uint8_t *copy;
	uint32_t jlen;
	char *json;

	cr_assert_eq(ring_serialize_v1(ring, "o.ring.gz", &gz), 0);
	cr_assert_eq(gzip_decompress(gz.data, gz.len, 1 << 24, &raw), 0);
	copy = malloc(raw.len);

	cr_expect_eq(ring_parse(gz.data, gz.len / 2, "half", &out), -EINVAL);
	cr_expect_eq(ring_parse((const uint8_t *)"plain", 5, "text", &out),
		     -EINVAL);
	expect_rejected(raw.data, raw.len - 1, "odd table length");
	/* a short last row is legal (fractional replicas); a missing row
	 * is not */
	expect_rejected(raw.data, raw.len - 2 * 256 - 2, "missing row");
	expect_rejected(raw.data, 12, "truncated header");

	memcpy(copy, raw.data, raw.len);
	copy[0] = 'X';
	expect_rejected(copy, raw.len, "bad magic");
	memcpy(copy, raw.data, raw.len);
	copy[5] = 9;
	expect_rejected(copy, raw.len, "unknown version");
	memcpy(copy, raw.data, raw.len);
	copy[raw.len - 1] = 0x7f; /* a device id far beyond the list */
	expect_rejected(copy, raw.len, "unknown device id");

	memcpy(copy, raw.data, raw.len);
	jlen = (uint32_t)copy[6] << 24 | copy[7] << 16 | copy[8] << 8 | copy[9];
	json = (char *)copy + 10;
	json[jlen / 2] = '{';
	expect_rejected(copy, raw.len, "broken JSON");

	memcpy(copy, raw.data, raw.len);
	copy[9] = 0xff; /* json length beyond the file */
	expect_rejected(copy, raw.len, "json length past the end");

	free(copy);
	buf_free(&raw);
	buf_free(&gz);
	ring_put(ring);
}

Test(ring, ring_without_a_table_is_rejected)
{
	struct fix_dev devs[] = {{"z1-10.0.0.1:6200/a", 1}, {NULL, 0}};
	struct builder *b = fix_builder(4, 1, 1, devs);
	struct ring *ring = builder_get_ring(b), *back = NULL;
	struct buf gz = BUF_INIT;

	cr_assert_not_null(ring, "a builder's ring may have no table yet");
	cr_assert_eq(ring_serialize_v1(ring, "x.ring.gz", &gz), 0);
	cr_expect_eq(ring_parse(gz.data, gz.len, "no table", &back), -EINVAL);
	buf_free(&gz);
	ring_put(ring);
	builder_free(b);
}

Test(ring, load_missing_file_fails_cleanly)
{
	struct ring *ring = NULL;

	cr_expect_eq(ring_load("/nonexistent/object.ring.gz", &ring), -ENOENT);
	cr_expect_null(ring);
}
