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

/* Encode len bytes through ec_stream in pieces of varying sizes (seeded),
 * segment size seg; the archives (each of ec_archive_size bytes) decode,
 * segment by segment from archives 2..5 (0 and 1 lost), to the bytes. */
static void check_stream(size_t len, size_t seg)
{
	struct ec_stream *s;
	char *data = bytes(len, (unsigned)(len + seg)), *arch[K + M], *out;
	char *frags[K];
	size_t got, alen = 0, off = 0, piece, done = 0, fsz_full, n;
	int64_t want = ec_archive_size(codec, seg, len);
	int i;

	cr_assert_geq(want, EC_FRAGMENT_HEADER);
	for (i = 0; i < K + M; i++)
		arch[i] = malloc((size_t)want);
	cr_assert_eq(ec_stream_new(codec, seg, &s), 0);
	srand((unsigned)len);
	while (off < len) {
		piece = (size_t)rand() % (2 * seg + 3) + 1;
		piece = piece < len - off ? piece : len - off;
		cr_assert_eq(ec_stream_write(s, data + off, piece), 0);
		off += piece;
		n = ec_stream_ready(s);
		cr_assert_leq(alen + n, (size_t)want);
		/* nothing ready yet: no archive buffer (NULL) to copy from */
		for (i = 0; n && i < K + M; i++)
			memcpy(arch[i] + alen, ec_stream_archive(s, i), n);
		alen += n;
		ec_stream_drain(s);
	}
	cr_assert_eq(ec_stream_finish(s), 0);
	cr_assert_eq(ec_stream_write(s, "x", 1), -EINVAL);
	n = ec_stream_ready(s);
	cr_assert_eq(alen + n, (size_t)want, "len %zu seg %zu: %zu != %lld",
		     len, seg, alen + n, (long long)want);
	for (i = 0; n && i < K + M; i++)
		memcpy(arch[i] + alen, ec_stream_archive(s, i), n);
	ec_stream_free(s);
	/* decode each segment from fragments 2..5 */
	out = malloc(seg);
	fsz_full = (size_t)ec_fragment_size(codec, seg);
	for (off = 0; done < len || (len == 0 && off == 0);) {
		size_t this = len - done < seg ? len - done : seg;
		size_t flen = (size_t)ec_fragment_size(codec, this);

		for (i = 0; i < K; i++)
			frags[i] = arch[i + 2] + off;
		cr_assert_eq(ec_decode(codec, frags, K, flen, out, seg, &got),
			     0);
		cr_assert_eq(got, this);
		cr_assert(!memcmp(out, data + done, this), "segment at %zu",
			  done);
		done += this;
		off += flen;
		cr_assert(flen == fsz_full || done == len);
		if (!len)
			break;
	}
	cr_assert_eq(off, (size_t)want);
	free(out);
	for (i = 0; i < K + M; i++)
		free(arch[i]);
	free(data);
}

Test(ec, stream_archives)
{
	static const size_t lens[] = {0, 1, 4095, 4096, 4097, 3 * 4096 + 5};
	size_t i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		check_stream(lens[i], 4096);
	check_stream(SEG - 1, SEG);
	check_stream(SEG + 1, SEG);
}

/* Swift's client_range_to_segment_range and
 * segment_range_to_fragment_range, clipped to the object and archive. */
Test(ec, range_to_segments_and_fragments)
{
	uint64_t ss, se, fs, fe;
	uint64_t fsz = (uint64_t)ec_fragment_size(codec, 4096);
	uint64_t len = 3 * 4096 + 5;
	int64_t asize = ec_archive_size(codec, 4096, len);

	/* inside the first segment */
	cr_assert_eq(ec_range(codec, 4096, len, 10, 20, &ss, &se, &fs, &fe), 0);
	cr_assert_eq(ss, 0);
	cr_assert_eq(se, 4095);
	cr_assert_eq(fs, 0);
	cr_assert_eq(fe, fsz - 1);
	/* across the edge of segments 1 and 2 */
	cr_assert_eq(ec_range(codec, 4096, len, 4095, 4096, &ss, &se, &fs, &fe),
		     0);
	cr_assert_eq(ss, 0);
	cr_assert_eq(se, 8191);
	cr_assert_eq(fe, 2 * fsz - 1);
	/* the last, short segment: clipped to the object and archive */
	cr_assert_eq(ec_range(codec, 4096, len, 12290, len + 100, &ss, &se, &fs,
			      &fe),
		     0);
	cr_assert_eq(ss, 3 * 4096);
	cr_assert_eq(se, len - 1);
	cr_assert_eq(fs, 3 * fsz);
	cr_assert_eq(fe, (uint64_t)asize - 1);
	cr_assert_eq(
		ec_range(codec, 4096, len, len, len + 1, &ss, &se, &fs, &fe),
		-EINVAL);
	cr_assert_eq(ec_range(codec, 4096, len, 5, 4, &ss, &se, &fs, &fe),
		     -EINVAL);
	cr_assert_eq(ec_archive_size(codec, 4096, 0),
		     ec_fragment_size(codec, 0));
	cr_assert_eq(ec_archive_size(codec, 4096, 8192), 2 * (int64_t)fsz);
}

/* A lost fragment is rebuilt from four others, byte for byte (what the
 * reconstructor writes back), for every index. */
Test(ec, reconstruct_each_index)
{
	char *frags[K + M], *others[K + M], *data, *out;
	size_t flen;
	int lost, i, n;

	data = encode(SEG + 1, 9, frags, &flen);
	out = malloc(flen);
	for (lost = 0; lost < K + M; lost++) {
		/* without lost and the next one: four fragments left */
		for (i = 0, n = 0; i < K + M; i++)
			if (i != lost && i != (lost + 1) % (K + M))
				others[n++] = frags[i];
		memset(out, 0, flen);
		cr_assert_eq(ec_reconstruct(codec, others, n, flen, lost, out),
			     0, "index %d", lost);
		cr_assert_eq(ec_fragment_index(out, flen), lost);
		cr_assert(!memcmp(out + EC_FRAGMENT_HEADER,
				  frags[lost] + EC_FRAGMENT_HEADER,
				  flen - EC_FRAGMENT_HEADER),
			  "index %d: payload differs", lost);
	}
	cr_assert_eq(ec_reconstruct(codec, others, K - 1, flen, 0, out),
		     -EINVAL);
	cr_assert_eq(ec_reconstruct(codec, others, n, flen, K + M, out),
		     -EINVAL);
	free(out);
	free(data);
	free_frags(frags);
}

/* Two codecs of the same parameters (two EC policies alike, or the
 * auditor's and the reconstructor's): closing one leaves the other whole
 * (liberasurecode_rs_vand's tables are process-wide; a destroy of one
 * instance freed them under the other, and a second destroy twice). */
Test(ec, codecs_alike_close_apart)
{
	struct ec_codec *a = NULL, *b = NULL;
	char data[5000], out[5000], *frags[6], *some[4];
	ssize_t fsz;
	size_t got = 0;
	int i, round;

	for (i = 0; i < (int)sizeof(data); i++)
		data[i] = (char)(i * 7);
	for (round = 0; round < 3; round++) {
		cr_assert_eq(ec_open("liberasurecode_rs_vand", 4, 2, &a), 0);
		cr_assert_eq(ec_open("liberasurecode_rs_vand", 4, 2, &b), 0);
		ec_close(a);
		fsz = ec_fragment_size(b, sizeof(data));
		cr_assert_gt(fsz, 0);
		for (i = 0; i < 6; i++)
			frags[i] = malloc((size_t)fsz);
		cr_assert_eq(ec_encode(b, data, sizeof(data), frags), 0);
		for (i = 0; i < 4; i++) /* parity needed: fragments 2..5 */
			some[i] = frags[i + 2];
		cr_assert_eq(ec_decode(b, some, 4, (size_t)fsz, out,
				       sizeof(out), &got),
			     0);
		cr_expect_eq(got, sizeof(data));
		cr_expect_eq(memcmp(out, data, sizeof(data)), 0);
		for (i = 0; i < 6; i++)
			free(frags[i]);
		ec_close(b);
	}
}
