/*
 * tests/unit/common/test_ec.c: the liberasurecode wrapper: a 4+2 codec
 * with 1 MiB segments encodes 0, 1, segment-1, segment and segment+1
 * bytes into fragments of the size ec_fragment_size says, each naming
 * its index; every choice of 4 of the 6 (any 2 missing) decodes to the
 * same bytes; too few fragments, corrupt or mixed ones, a small output
 * buffer and bad parameters are refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/ec.h"

#define K   4
#define M   2
#define SEG 1048576

static struct ec_codec *codec;

static void setup(void)
{
	cr_assert_eq(ec_open("liberasurecode_rs_vand", K, M, &codec), 0);
}

static void teardown(void)
{
	ec_close(codec);
	codec = NULL;
}

/* len pseudo-random bytes (seeded), caller frees. */
static char *bytes(size_t len, unsigned seed)
{
	char *b = malloc(len ? len : 1);
	size_t i;

	cr_assert_not_null(b);
	srand(seed);
	for (i = 0; i < len; i++)
		b[i] = (char)rand();
	return b;
}

/* Encode len bytes; frags[] get K + M fresh buffers of *flen bytes. */
static char *encode(size_t len, unsigned seed, char **frags, size_t *flen)
{
	char *data = bytes(len, seed);
	ssize_t fsz = ec_fragment_size(codec, len);
	int i;

	cr_assert_geq(fsz, EC_FRAGMENT_HEADER);
	for (i = 0; i < K + M; i++) {
		frags[i] = malloc((size_t)fsz);
		cr_assert_not_null(frags[i]);
	}
	cr_assert_eq(ec_encode(codec, data, len, frags), 0, "encode %zu", len);
	*flen = (size_t)fsz;
	return data;
}

static void free_frags(char **frags)
{
	int i;

	for (i = 0; i < K + M; i++)
		free(frags[i]);
}

/* Every pair of missing fragments: the other four decode to data. */
static void check_sizes(size_t len)
{
	char *frags[K + M], *pick[K + M], *data, *out;
	size_t flen, got;
	int a, b, i, n;

	data = encode(len, (unsigned)len + 1, frags, &flen);
	/* the payload is split k ways (aligned), plus the header */
	cr_assert_geq(flen, EC_FRAGMENT_HEADER + (len + K - 1) / K);
	cr_assert_leq(flen, EC_FRAGMENT_HEADER + (len + K - 1) / K + 64);
	for (i = 0; i < K + M; i++)
		cr_assert_eq(ec_fragment_index(frags[i], flen), i);
	out = malloc(len + 1);
	for (a = 0; a < K + M; a++) {
		for (b = a + 1; b < K + M; b++) {
			/* the survivors, backwards every other time */
			for (i = 0, n = 0; i < K + M; i++)
				if (i != a && i != b)
					pick[n++] =
						frags[(a + b) % 2
							      ? K + M - 1 - i
							      : i];
			cr_assert_eq(n, K);
			cr_assert_eq(ec_decode(codec, pick, n, flen, out,
					       len + 1, &got),
				     0, "len %zu without %d and %d", len, a, b);
			cr_assert_eq(got, len, "len %zu without %d, %d: %zu",
				     len, a, b, got);
			cr_assert(!memcmp(out, data, len),
				  "len %zu without %d and %d: wrong bytes", len,
				  a, b);
		}
	}
	free(out);
	free(data);
	free_frags(frags);
}

TestSuite(ec, .init = setup, .fini = teardown);

Test(ec, codec_parameters)
{
	cr_assert_eq(ec_ndata(codec), K);
	cr_assert_eq(ec_nparity(codec), M);
	cr_assert(ec_type_known("liberasurecode_rs_vand"));
	cr_assert(ec_type_available("liberasurecode_rs_vand"));
	cr_assert(ec_type_known("isa_l_rs_vand"));
	cr_assert(ec_type_known("jerasure_rs_vand"));
	cr_assert_not(ec_type_known("flat_xor_hd"));
	cr_assert_not(ec_type_known(NULL));
	cr_assert_not(ec_type_available("nope"));
}

Test(ec, size_0)
{
	check_sizes(0);
}

Test(ec, size_1)
{
	check_sizes(1);
}

Test(ec, size_segment_minus_1)
{
	check_sizes(SEG - 1);
}

Test(ec, size_segment)
{
	check_sizes(SEG);
}

Test(ec, size_segment_plus_1)
{
	check_sizes(SEG + 1);
}

Test(ec, more_than_k_fragments_in_any_order)
{
	char *frags[K + M], *rev[K + M], *data, *out = malloc(1000);
	size_t flen, got;
	int i;

	data = encode(1000, 7, frags, &flen);
	for (i = 0; i < K + M; i++)
		rev[i] = frags[K + M - 1 - i];
	cr_assert_eq(ec_decode(codec, rev, K + M, flen, out, 1000, &got), 0);
	cr_assert_eq(got, 1000);
	cr_assert(!memcmp(out, data, 1000));
	free(out);
	free(data);
	free_frags(frags);
}

Test(ec, bad_input_refused)
{
	char *frags[K + M], *other[K + M], *mixed[K], *data, *data2;
	char out[4096];
	size_t flen, flen2, got = 99;
	struct ec_codec *c = NULL;

	data = encode(3000, 1, frags, &flen);
	/* fewer than k fragments */
	cr_assert_eq(
		ec_decode(codec, frags, K - 1, flen, out, sizeof(out), &got),
		-EINVAL);
	cr_assert_eq(got, 0);
	/* too small an output buffer */
	cr_assert_eq(ec_decode(codec, frags, K, flen, out, 2999, &got),
		     -ENOSPC);
	/* fragments too short to hold a header */
	cr_assert_eq(ec_decode(codec, frags, K, 10, out, sizeof(out), &got),
		     -EINVAL);
	/* a fragment whose header is garbage */
	memset(frags[1], 0xa5, EC_FRAGMENT_HEADER);
	cr_assert_neq(ec_decode(codec, frags, K, flen, out, sizeof(out), &got),
		      0);
	cr_assert_eq(ec_fragment_index(frags[1], flen), -EINVAL);
	cr_assert_eq(ec_fragment_index(frags[0], 5), -EINVAL);
	/* the same index twice is not k distinct fragments */
	mixed[0] = frags[0];
	mixed[1] = frags[0];
	mixed[2] = frags[2];
	mixed[3] = frags[3];
	cr_assert_neq(ec_decode(codec, mixed, K, flen, out, sizeof(out), &got),
		      0);
	/* fragments of another segment size mixed in */
	data2 = encode(100, 2, other, &flen2);
	cr_assert_neq(flen, flen2);
	/* bad codec parameters */
	cr_assert_eq(ec_open("nope", 4, 2, &c), -EINVAL);
	cr_assert_null(c);
	cr_assert_eq(ec_open("liberasurecode_rs_vand", 0, 2, &c), -EINVAL);
	cr_assert_eq(ec_open("liberasurecode_rs_vand", 4, 0, &c), -EINVAL);
	cr_assert_eq(ec_open("liberasurecode_rs_vand", 30, 3, &c), -EINVAL);
	cr_assert_eq(ec_fragment_size(codec, (size_t)1 << 40), -EINVAL);
	free(data);
	free(data2);
	free_frags(frags);
	free_frags(other);
}

Test(ec, loadable_backends_agree)
{
	static const char *const types[] = {"isa_l_rs_vand",
					    "jerasure_rs_vand"};
	char *frags[K + M], *data = bytes(5000, 3), out[5000];
	struct ec_codec *c;
	ssize_t fsz;
	size_t got;
	int t, i;

	for (t = 0; t < 2; t++) {
		if (!ec_type_available(types[t])) {
			cr_assert_eq(ec_open(types[t], K, M, &c), -ENOTSUP);
			continue;
		}
		cr_assert_eq(ec_open(types[t], K, M, &c), 0, "%s", types[t]);
		fsz = ec_fragment_size(c, 5000);
		for (i = 0; i < K + M; i++)
			frags[i] = malloc((size_t)fsz);
		cr_assert_eq(ec_encode(c, data, 5000, frags), 0);
		/* without the first two data fragments */
		cr_assert_eq(ec_decode(c, frags + 2, K, (size_t)fsz, out,
				       sizeof(out), &got),
			     0, "%s", types[t]);
		cr_assert_eq(got, 5000);
		cr_assert(!memcmp(out, data, 5000), "%s", types[t]);
		free_frags(frags);
		ec_close(c);
	}
	free(data);
}
