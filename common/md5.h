/*
 * common/md5.h: MD5 through OpenSSL, for ring placement (hash_path) and
 * ETags. Thread-safe; no allocation.
 */
#ifndef KUMO_COMMON_MD5_H
#define KUMO_COMMON_MD5_H

#include <stddef.h>
#include <stdint.h>

#define MD5_LEN 16

struct md5_piece {
	const void *data;
	size_t len;
};

/*
 * Digest the concatenation of n pieces into out. Returns 0, or -EIO if
 * OpenSSL fails (logged).
 */
int md5_pieces(const struct md5_piece *pieces, int n, uint8_t out[MD5_LEN]);

/* Digest one buffer; as md5_pieces. */
int md5_buf(const void *data, size_t len, uint8_t out[MD5_LEN]);

/*
 * md5_buf for a large buffer (an object objclient PUTs) that others may be
 * hashing at the same time: up to eight such are hashed together, in the
 * lanes of AVX2 registers (md5mb.c). The caller sleeps while others'
 * buffers are hashed and may hash theirs. As md5_buf.
 */
int md5_batch(const void *data, size_t len, uint8_t out[MD5_LEN]);

/* Incremental MD5 (EVP) for streamed bodies: new returns NULL on failure;
 * final writes the hex digest and frees the context; free drops it
 * unfinished (NULL is fine). update and final: 0 or -EIO. */
void *md5_new(void);
int md5_update(void *ctx, const void *data, size_t len);
int md5_final(void *ctx, char hex[33]);
void md5_free(void *ctx);

/* Write the 32 lowercase hex digits and a NUL of a digest into hex. */
void md5_hex(const uint8_t digest[MD5_LEN], char hex[2 * MD5_LEN + 1]);

#endif
