/*
 * common/md5mb.c: md5_batch (see md5.h): the MD5 of large buffers that
 * several threads hash at the same time, computed together, eight at
 * once in the lanes of AVX2 registers.
 *
 * One MD5 cannot go faster than its chain of 64 dependent steps per
 * 64-byte block (OpenSSL's assembly, ~5 cycles a byte); eight independent
 * MD5s run side by side in 32-bit lanes cost little more than one. The
 * callers are threads that each hash one buffer (kumo-volumed's chunk
 * PUTs, 4 MiB, many in flight): a caller takes a free lane and sleeps
 * while one of them, the driver, hashes every lane taken, a step (up to
 * MB_STEP blocks of each) at a time; a lane that ends is left, a new
 * caller joins at the next step. The driver whose own lane ends hands
 * the work to another caller.
 *
 * Invariants (mb.lock guards slot[] and driving):
 *  1. A lane's ctx, p and left change only in the driver, which holds a
 *     lane from its snapshot of slot[] until the step ends; its owner
 *     reads them once it sees done (set under the lock).
 *  2. At most one driver at a time (driving); a caller waits on cond
 *     only while a driver exists, and every driver that stops (its own
 *     lane done) broadcasts, so a caller still waiting takes over.
 *  3. A buffer is read only while its owner waits in md5_batch.
 *
 * With one lane taken, a step is OpenSSL's scalar MD5; with more, the
 * AVX2 kernel (md5_x8). A ninth caller waits for a lane. Small buffers
 * and CPUs without AVX2 take md5_buf. The state of each lane is an OpenSSL MD5_CTX
 * (its A-D and bit count advanced by the kernel), so the tail and the
 * padding are OpenSSL's MD5_Update/MD5_Final.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <openssl/md5.h>

#include "common/log.h"
#include "common/md5.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define MB_LANES 8
#define MB_STEP	 64	     /* blocks of each lane per step (4 KiB) */
#define MB_MIN	 (64 * 1024) /* smaller buffers: md5_buf */

struct mb_lane {
	MD5_CTX ctx;
	const uint8_t *p; /* the next block */
	size_t left;	  /* whole blocks still to hash */
	int done;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct mb_lane *slot[MB_LANES];
	int driving;
} mb = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0};

/* --- the AVX2 kernel: eight MD5 block chains at once ---------------------- */

#define AVX2 __attribute__((target("avx2")))

#define ROTL(x, s) \
	_mm256_or_si256(_mm256_slli_epi32(x, s), _mm256_srli_epi32(x, 32 - (s)))
#define F(b, c, d) \
	_mm256_xor_si256(d, _mm256_and_si256(b, _mm256_xor_si256(c, d)))
#define G(b, c, d) \
	_mm256_xor_si256(c, _mm256_and_si256(d, _mm256_xor_si256(b, c)))
#define H(b, c, d) _mm256_xor_si256(_mm256_xor_si256(b, c), d)
#define I(b, c, d)                  \
	_mm256_xor_si256(           \
		c, _mm256_or_si256( \
			   b, _mm256_xor_si256(d, _mm256_set1_epi32(-1))))
#define STEP(f, a, b, c, d, x, s, k)                                          \
	do {                                                                  \
		a = _mm256_add_epi32(                                         \
			a, _mm256_add_epi32(                                  \
				   f(b, c, d),                                \
				   _mm256_add_epi32(                          \
					   x, _mm256_set1_epi32((int)(k))))); \
		a = _mm256_add_epi32(b, ROTL(a, s));                          \
	} while (0)

/* r[l] holds 8 words of lane l; after, r[w] holds word w of every lane. */
AVX2 static void transpose8(__m256i r[8])
{
	__m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]);
	__m256i t1 = _mm256_unpackhi_epi32(r[0], r[1]);
	__m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]);
	__m256i t3 = _mm256_unpackhi_epi32(r[2], r[3]);
	__m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]);
	__m256i t5 = _mm256_unpackhi_epi32(r[4], r[5]);
	__m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]);
	__m256i t7 = _mm256_unpackhi_epi32(r[6], r[7]);
	__m256i u0 = _mm256_unpacklo_epi64(t0, t2);
	__m256i u1 = _mm256_unpackhi_epi64(t0, t2);
	__m256i u2 = _mm256_unpacklo_epi64(t1, t3);
	__m256i u3 = _mm256_unpackhi_epi64(t1, t3);
	__m256i u4 = _mm256_unpacklo_epi64(t4, t6);
	__m256i u5 = _mm256_unpackhi_epi64(t4, t6);
	__m256i u6 = _mm256_unpacklo_epi64(t5, t7);
	__m256i u7 = _mm256_unpackhi_epi64(t5, t7);

	r[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
	r[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
	r[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
	r[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
	r[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
	r[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
	r[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
	r[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

/* Advance the states st[0..3][lane] (A, B, C, D) over n blocks of each
 * lane's data p[lane]. */
AVX2 static void md5_x8(uint32_t st[4][MB_LANES], const uint8_t *p[MB_LANES],
			size_t n)
{
	__m256i a = _mm256_loadu_si256((const __m256i *)st[0]);
	__m256i b = _mm256_loadu_si256((const __m256i *)st[1]);
	__m256i c = _mm256_loadu_si256((const __m256i *)st[2]);
	__m256i d = _mm256_loadu_si256((const __m256i *)st[3]);
	__m256i x[16], aa, bb, cc, dd;
	size_t off;
	int l;

	for (off = 0; off < n * 64; off += 64) {
		for (l = 0; l < MB_LANES; l++) {
			x[l] = _mm256_loadu_si256(
				(const __m256i *)(p[l] + off));
			x[8 + l] = _mm256_loadu_si256(
				(const __m256i *)(p[l] + off + 32));
		}
		transpose8(x);
		transpose8(x + 8);
		aa = a, bb = b, cc = c, dd = d;

		STEP(F, a, b, c, d, x[0], 7, 0xd76aa478);
		STEP(F, d, a, b, c, x[1], 12, 0xe8c7b756);
		STEP(F, c, d, a, b, x[2], 17, 0x242070db);
		STEP(F, b, c, d, a, x[3], 22, 0xc1bdceee);
		STEP(F, a, b, c, d, x[4], 7, 0xf57c0faf);
		STEP(F, d, a, b, c, x[5], 12, 0x4787c62a);
		STEP(F, c, d, a, b, x[6], 17, 0xa8304613);
		STEP(F, b, c, d, a, x[7], 22, 0xfd469501);
		STEP(F, a, b, c, d, x[8], 7, 0x698098d8);
		STEP(F, d, a, b, c, x[9], 12, 0x8b44f7af);
		STEP(F, c, d, a, b, x[10], 17, 0xffff5bb1);
		STEP(F, b, c, d, a, x[11], 22, 0x895cd7be);
		STEP(F, a, b, c, d, x[12], 7, 0x6b901122);
		STEP(F, d, a, b, c, x[13], 12, 0xfd987193);
		STEP(F, c, d, a, b, x[14], 17, 0xa679438e);
		STEP(F, b, c, d, a, x[15], 22, 0x49b40821);

		STEP(G, a, b, c, d, x[1], 5, 0xf61e2562);
		STEP(G, d, a, b, c, x[6], 9, 0xc040b340);
		STEP(G, c, d, a, b, x[11], 14, 0x265e5a51);
		STEP(G, b, c, d, a, x[0], 20, 0xe9b6c7aa);
		STEP(G, a, b, c, d, x[5], 5, 0xd62f105d);
		STEP(G, d, a, b, c, x[10], 9, 0x02441453);
		STEP(G, c, d, a, b, x[15], 14, 0xd8a1e681);
		STEP(G, b, c, d, a, x[4], 20, 0xe7d3fbc8);
		STEP(G, a, b, c, d, x[9], 5, 0x21e1cde6);
		STEP(G, d, a, b, c, x[14], 9, 0xc33707d6);
		STEP(G, c, d, a, b, x[3], 14, 0xf4d50d87);
		STEP(G, b, c, d, a, x[8], 20, 0x455a14ed);
		STEP(G, a, b, c, d, x[13], 5, 0xa9e3e905);
		STEP(G, d, a, b, c, x[2], 9, 0xfcefa3f8);
		STEP(G, c, d, a, b, x[7], 14, 0x676f02d9);
		STEP(G, b, c, d, a, x[12], 20, 0x8d2a4c8a);

		STEP(H, a, b, c, d, x[5], 4, 0xfffa3942);
		STEP(H, d, a, b, c, x[8], 11, 0x8771f681);
		STEP(H, c, d, a, b, x[11], 16, 0x6d9d6122);
		STEP(H, b, c, d, a, x[14], 23, 0xfde5380c);
		STEP(H, a, b, c, d, x[1], 4, 0xa4beea44);
		STEP(H, d, a, b, c, x[4], 11, 0x4bdecfa9);
		STEP(H, c, d, a, b, x[7], 16, 0xf6bb4b60);
		STEP(H, b, c, d, a, x[10], 23, 0xbebfbc70);
		STEP(H, a, b, c, d, x[13], 4, 0x289b7ec6);
		STEP(H, d, a, b, c, x[0], 11, 0xeaa127fa);
		STEP(H, c, d, a, b, x[3], 16, 0xd4ef3085);
		STEP(H, b, c, d, a, x[6], 23, 0x04881d05);
		STEP(H, a, b, c, d, x[9], 4, 0xd9d4d039);
		STEP(H, d, a, b, c, x[12], 11, 0xe6db99e5);
		STEP(H, c, d, a, b, x[15], 16, 0x1fa27cf8);
		STEP(H, b, c, d, a, x[2], 23, 0xc4ac5665);

		STEP(I, a, b, c, d, x[0], 6, 0xf4292244);
		STEP(I, d, a, b, c, x[7], 10, 0x432aff97);
		STEP(I, c, d, a, b, x[14], 15, 0xab9423a7);
		STEP(I, b, c, d, a, x[5], 21, 0xfc93a039);
		STEP(I, a, b, c, d, x[12], 6, 0x655b59c3);
		STEP(I, d, a, b, c, x[3], 10, 0x8f0ccc92);
		STEP(I, c, d, a, b, x[10], 15, 0xffeff47d);
		STEP(I, b, c, d, a, x[1], 21, 0x85845dd1);
		STEP(I, a, b, c, d, x[8], 6, 0x6fa87e4f);
		STEP(I, d, a, b, c, x[15], 10, 0xfe2ce6e0);
		STEP(I, c, d, a, b, x[6], 15, 0xa3014314);
		STEP(I, b, c, d, a, x[13], 21, 0x4e0811a1);
		STEP(I, a, b, c, d, x[4], 6, 0xf7537e82);
		STEP(I, d, a, b, c, x[11], 10, 0xbd3af235);
		STEP(I, c, d, a, b, x[2], 15, 0x2ad7d2bb);
		STEP(I, b, c, d, a, x[9], 21, 0xeb86d391);

		a = _mm256_add_epi32(a, aa);
		b = _mm256_add_epi32(b, bb);
		c = _mm256_add_epi32(c, cc);
		d = _mm256_add_epi32(d, dd);
	}
	_mm256_storeu_si256((__m256i *)st[0], a);
	_mm256_storeu_si256((__m256i *)st[1], b);
	_mm256_storeu_si256((__m256i *)st[2], c);
	_mm256_storeu_si256((__m256i *)st[3], d);
}

/* --- lanes ----------------------------------------------------------------- */

/* Count len more bytes in c's bit length, as MD5_Update does. */
static void count_bytes(MD5_CTX *c, size_t len)
{
	MD5_LONG l = (c->Nl + (((MD5_LONG)len) << 3)) & 0xffffffffUL;

	if (l < c->Nl)
		c->Nh++;
	c->Nh += (MD5_LONG)(len >> 29);
	c->Nl = l;
}

/*
 * One step of the n lanes v (n >= 1): min(MB_STEP, the fewest blocks any
 * has left) blocks of each. Lanes beyond n read a block of zeros and
 * their results are dropped. Driver only (invariant 1).
 */
static void mb_step(struct mb_lane **v, int n)
{
	static const uint8_t zeros[MB_STEP * 64];
	uint32_t st[4][MB_LANES] = {{0}};
	const uint8_t *p[MB_LANES];
	size_t k = MB_STEP;
	int i;

	for (i = 0; i < n; i++)
		if (v[i]->left < k)
			k = v[i]->left;
	if (n == 1) {
		MD5_Update(&v[0]->ctx, v[0]->p, k * 64);
	} else {
		for (i = 0; i < MB_LANES; i++) {
			p[i] = i < n ? v[i]->p : zeros;
			if (i < n) {
				st[0][i] = v[i]->ctx.A;
				st[1][i] = v[i]->ctx.B;
				st[2][i] = v[i]->ctx.C;
				st[3][i] = v[i]->ctx.D;
			}
		}
		md5_x8(st, p, k);
		for (i = 0; i < n; i++) {
			v[i]->ctx.A = st[0][i];
			v[i]->ctx.B = st[1][i];
			v[i]->ctx.C = st[2][i];
			v[i]->ctx.D = st[3][i];
			count_bytes(&v[i]->ctx, k * 64);
		}
	}
	for (i = 0; i < n; i++) {
		v[i]->p += k * 64;
		v[i]->left -= k;
	}
}

/* mb.lock held: drive steps until me is done (invariant 2). */
static void mb_drive(struct mb_lane *me)
{
	struct mb_lane *v[MB_LANES];
	int i, n, ended;

	mb.driving = 1;
	while (!me->done) {
		for (n = 0, i = 0; i < MB_LANES; i++)
			if (mb.slot[i])
				v[n++] = mb.slot[i];
		pthread_mutex_unlock(&mb.lock);
		mb_step(v, n);
		pthread_mutex_lock(&mb.lock);
		for (ended = 0, i = 0; i < MB_LANES; i++) {
			if (mb.slot[i] && !mb.slot[i]->left) {
				mb.slot[i]->done = 1;
				mb.slot[i] = NULL;
				ended = 1;
			}
		}
		if (ended)
			pthread_cond_broadcast(&mb.cond);
	}
	mb.driving = 0;
	pthread_cond_broadcast(&mb.cond); /* another waiter drives */
}

#endif /* __x86_64__ */

int md5_batch(const void *data, size_t len, uint8_t out[MD5_LEN])
{
#if defined(__x86_64__)
	struct mb_lane me;
	int i;

	if (len < MB_MIN || !__builtin_cpu_supports("avx2"))
		return md5_buf(data, len, out);
	MD5_Init(&me.ctx);
	me.p = data;
	me.left = len / 64;
	me.done = 0;
	pthread_mutex_lock(&mb.lock);
	for (;;) { /* all lanes taken: one ends soon (and broadcasts) */
		for (i = 0; i < MB_LANES && mb.slot[i]; i++)
			;
		if (i < MB_LANES)
			break;
		pthread_cond_wait(&mb.cond, &mb.lock);
	}
	mb.slot[i] = &me;
	while (!me.done) {
		if (!mb.driving)
			mb_drive(&me);
		else
			pthread_cond_wait(&mb.cond, &mb.lock);
	}
	pthread_mutex_unlock(&mb.lock);
	if (MD5_Update(&me.ctx, me.p, len % 64) != 1 ||
	    MD5_Final(out, &me.ctx) != 1) {
		log_err("MD5 failed in OpenSSL");
		return -EIO;
	}
	return 0;
#else
	return md5_buf(data, len, out);
#endif
}
