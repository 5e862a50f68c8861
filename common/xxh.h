/*
 * common/xxh.h: the XXH3-128 of bodies (the transfer check of a client-
 * hashed PUT: objclient.c sends it, objectd checks it), as 32 lowercase
 * hex digits of its canonical (big-endian) form. On a CPU with AVX2 it
 * runs libxxhash's code compiled for AVX2 (xxh.c: 0.028 against 0.100
 * CPU s per GiB for Debian's build of the library on the build machine),
 * else the library itself; the results are the same. Thread-safe.
 */
#ifndef KUMO_COMMON_XXH_H
#define KUMO_COMMON_XXH_H

#include <stddef.h>

/* The XXH3-128 of len bytes into hex. */
void xxh128_hex(const void *data, size_t len, char hex[33]);

/* A running XXH3-128; NULL on ENOMEM. Ended by xxh128_final or
 * xxh128_free. */
void *xxh128_new(void);
/* Add len bytes. */
void xxh128_update(void *st, const void *data, size_t len);
/* The XXH3-128 of what was added, into hex; frees st. */
void xxh128_final(void *st, char hex[33]);
/* The XXH3-128 of what was added so far, into hex; st goes on. */
void xxh128_peek(const void *st, char hex[33]);
/* Drop st (NULL is fine). */
void xxh128_free(void *st);

#endif
