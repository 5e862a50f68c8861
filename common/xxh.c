/*
 * common/xxh.c: XXH3-128 (see xxh.h). libxxhash as Debian builds it uses
 * SSE2; its header, inlined into the functions below compiled for AVX2,
 * gives the same hash at ~3.5x the speed. Which one runs is chosen per
 * call by the CPU's flags; the state is the library's XXH3_state_t either
 * way (the same header, so the same layout).
 */
#include <stdint.h>
#include <string.h>

#include <xxhash.h>

#include "common/md5.h"
#include "common/xxh.h"

#if defined(__x86_64__)
/* xxh_avx2.c */
void xxh_avx2_128(const void *data, size_t len, uint8_t out[16]);
void xxh_avx2_update(void *st, const void *data, size_t len);
#define HAVE_AVX2_XXH 1
#endif

/* Does this CPU run the AVX2 build? */
static int use_avx2(void)
{
#if defined(HAVE_AVX2_XXH)
	return __builtin_cpu_supports("avx2");
#else
	return 0;
#endif
}

static void to_hex(XXH128_hash_t h, char hex[33])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, h);
	md5_hex(c.digest, hex); /* 16 bytes, as an MD5 */
}

void xxh128_hex(const void *data, size_t len, char hex[33])
{
#if defined(HAVE_AVX2_XXH)
	uint8_t c[16];

	if (use_avx2()) {
		xxh_avx2_128(data, len, c);
		md5_hex(c, hex);
		return;
	}
#endif
	to_hex(XXH3_128bits(data, len), hex);
}

void *xxh128_new(void)
{
	XXH3_state_t *st = XXH3_createState();

	if (st && XXH3_128bits_reset(st) != XXH_OK) {
		XXH3_freeState(st);
		st = NULL;
	}
	return st;
}

void xxh128_update(void *st, const void *data, size_t len)
{
#if defined(HAVE_AVX2_XXH)
	if (use_avx2()) {
		xxh_avx2_update(st, data, len);
		return;
	}
#endif
	XXH3_128bits_update(st, data, len);
}

void xxh128_final(void *st, char hex[33])
{
	to_hex(XXH3_128bits_digest(st), hex);
	XXH3_freeState(st);
}

void xxh128_peek(const void *st, char hex[33])
{
	to_hex(XXH3_128bits_digest(st), hex);
}

void xxh128_free(void *st)
{
	XXH3_freeState(st);
}
