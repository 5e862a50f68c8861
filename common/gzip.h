/*
 * common/gzip.h: gzip in memory through zlib, for ring and builder files.
 *
 * gzip_compress writes the header the way Python's GzipFile does (fixed
 * mtime, the file name, OS byte 255, level 9), so that the same bytes in
 * give the same file out, byte for byte, whoever writes it.
 */
#ifndef KUMO_COMMON_GZIP_H
#define KUMO_COMMON_GZIP_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/*
 * Compress len bytes at level (1..9) into out (appended). name may be
 * NULL (no FNAME field). Returns 0, -ENOMEM, or -EIO if zlib fails.
 */
int gzip_compress(const void *data, size_t len, const char *name,
		  uint32_t mtime, int level, struct buf *out);

/*
 * Decompress a whole gzip file into out (appended). Fails with -EINVAL on a
 * corrupt or truncated stream (including a bad CRC), -EFBIG past max_out
 * bytes of output, -ENOMEM.
 */
int gzip_decompress(const uint8_t *data, size_t len, size_t max_out,
		    struct buf *out);

#endif
