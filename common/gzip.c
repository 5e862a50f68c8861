/*
 * common/gzip.c: in-memory gzip through zlib (see gzip.h).
 */
#include <errno.h>
#include <string.h>

#include <zlib.h>

#include "common/gzip.h"

int gzip_compress(const void *data, size_t len, const char *name,
		  uint32_t mtime, int level, struct buf *out)
{
	z_stream zs;
	gz_header hdr;
	int zrc, rc = 0;

	memset(&zs, 0, sizeof(zs));
	memset(&hdr, 0, sizeof(hdr));
	if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	hdr.time = mtime;
	hdr.os = 255;
	hdr.name = (Bytef *)name;
	if (deflateSetHeader(&zs, &hdr) != Z_OK) {
		rc = -EIO;
		goto out;
	}
	rc = buf_reserve(out, deflateBound(&zs, len) + 64 +
				      (name ? strlen(name) : 0));
	if (rc)
		goto out;
	zs.next_in = (Bytef *)data;
	zs.avail_in = (uInt)len;
	zs.next_out = out->data + out->len;
	zs.avail_out = (uInt)(out->cap - out->len);
	zrc = deflate(&zs, Z_FINISH);
	if (zrc != Z_STREAM_END) {
		rc = -EIO;
		goto out;
	}
	out->len += zs.total_out;
out:
	deflateEnd(&zs);
	return rc;
}

int gzip_decompress(const uint8_t *data, size_t len, size_t max_out,
		    struct buf *out)
{
	z_stream zs;
	int zrc, rc = 0;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		return -ENOMEM;
	zs.next_in = (Bytef *)data;
	zs.avail_in = (uInt)len;
	for (;;) {
		rc = buf_reserve(out, 1 << 20);
		if (rc)
			goto out;
		zs.next_out = out->data + out->len;
		zs.avail_out = (uInt)(out->cap - out->len);
		zrc = inflate(&zs, Z_NO_FLUSH);
		out->len = out->cap - zs.avail_out;
		if (out->len > max_out) {
			rc = -EFBIG;
			goto out;
		}
		if (zrc == Z_STREAM_END)
			break;
		if (zrc == Z_OK)
			continue;
		if (zrc == Z_BUF_ERROR && zs.avail_in == 0) {
			rc = -EINVAL; /* truncated */
			goto out;
		}
		if (zrc != Z_BUF_ERROR) {
			rc = -EINVAL;
			goto out;
		}
	}
out:
	inflateEnd(&zs);
	return rc;
}
