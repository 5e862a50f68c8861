/*
 * common/xxh_avx2.c: libxxhash's XXH3-128, inlined from its header and
 * compiled for AVX2, for xxh.c, which calls it only on a CPU with AVX2.
 * Nothing else may call it. The running state is the library's
 * XXH3_state_t (the same header, so the same layout).
 */
#if defined(__x86_64__)
#pragma GCC target("avx2")

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

void xxh_avx2_128(const void *data, size_t len, uint8_t out[16]);
void xxh_avx2_update(void *st, const void *data, size_t len);

/* The XXH3-128 of len bytes, canonical (big-endian), into out. */
void xxh_avx2_128(const void *data, size_t len, uint8_t out[16])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits(data, len));
	memcpy(out, c.digest, 16);
}

/* XXH3_128bits_update on a state of the library (xxh.c). */
void xxh_avx2_update(void *st, const void *data, size_t len)
{
	XXH3_128bits_update(st, data, len);
}
#endif
