/*
 * common/buf.h: a growable byte buffer for building files and messages in
 * memory. The buffer owns its bytes; buf_free releases them.
 */
#ifndef KUMO_COMMON_BUF_H
#define KUMO_COMMON_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT           \
	{                  \
		NULL, 0, 0 \
	}

/* Append len bytes. Returns 0 or -ENOMEM (the buffer is then unchanged). */
int buf_append(struct buf *b, const void *data, size_t len);

/* Append a formatted string (no NUL is counted in len). 0 or -ENOMEM. */
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Append a big-endian integer of 2, 4 or 8 bytes. 0 or -ENOMEM. */
int buf_put_be16(struct buf *b, uint16_t v);
int buf_put_be32(struct buf *b, uint32_t v);
int buf_put_be64(struct buf *b, uint64_t v);

/* Make room for len more bytes. 0 or -ENOMEM. */
int buf_reserve(struct buf *b, size_t len);

/* Release the bytes and reset to empty. */
void buf_free(struct buf *b);

/* Read big-endian integers from memory. */
static inline uint32_t be32_read(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t be64_read(const uint8_t *p)
{
	return (uint64_t)be32_read(p) << 32 | be32_read(p + 4);
}

static inline uint16_t be16_read(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

#endif
