/*
 * tests/unit/common/test_common.c: the shared helpers: Python-compatible
 * JSON output, gzip, MD5 and atomic file writes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/gzip.h"
#include "common/md5.h"
#include "common/pyjson.h"

static char *float_repr(double v)
{
	static char out[64];
	struct buf b = BUF_INIT;

	cr_assert_eq(pyjson_float(&b, v), 0);
	snprintf(out, sizeof(out), "%.*s", (int)b.len, (char *)b.data);
	buf_free(&b);
	return out;
}

/* The expected strings are what Python 3's repr(float) prints. */
Test(pyjson, floats_as_python_repr)
{
	cr_expect_str_eq(float_repr(100.0), "100.0");
	cr_expect_str_eq(float_repr(0.1), "0.1");
	cr_expect_str_eq(float_repr(2.5), "2.5");
	cr_expect_str_eq(float_repr(1.0 / 3), "0.3333333333333333");
	cr_expect_str_eq(float_repr(0.0001), "0.0001");
	cr_expect_str_eq(float_repr(0.00001), "1e-05");
	cr_expect_str_eq(float_repr(1.5e-5), "1.5e-05");
	cr_expect_str_eq(float_repr(1e16), "1e+16");
	cr_expect_str_eq(float_repr(1234567890123456.0), "1234567890123456.0");
	cr_expect_str_eq(float_repr(-0.0), "-0.0");
	cr_expect_str_eq(float_repr(-12.75), "-12.75");
	cr_expect_str_eq(float_repr(1e22), "1e+22");
}

static char *string_repr(const char *s, int *rc)
{
	static char out[256];
	struct buf b = BUF_INIT;

	*rc = pyjson_string(&b, s);
	snprintf(out, sizeof(out), "%.*s", (int)b.len, (char *)b.data);
	buf_free(&b);
	return out;
}

Test(pyjson, strings_escaped_as_ensure_ascii)
{
	int rc;

	cr_expect_str_eq(string_repr("sdb1", &rc), "\"sdb1\"");
	cr_expect_str_eq(string_repr("a\"b\\c\n\t\x01", &rc),
			 "\"a\\\"b\\\\c\\n\\t\\u0001\"");
	cr_expect_str_eq(string_repr("caf\xc3\xa9", &rc), "\"caf\\u00e9\"");
	cr_expect_str_eq(string_repr("\xf0\x9f\x98\x80", &rc),
			 "\"\\ud83d\\ude00\"");
	cr_expect_eq(rc, 0);
	string_repr("bad \xff utf8", &rc);
	cr_expect_eq(rc, -EINVAL);
	string_repr("overlong \xc0\xaf", &rc);
	cr_expect_eq(rc, -EINVAL);
}

Test(md5, rfc1321_vectors)
{
	uint8_t d[16];
	char hex[33];
	struct md5_piece pieces[2] = {{"message ", 8}, {"digest", 6}};

	cr_assert_eq(md5_buf("", 0, d), 0);
	md5_hex(d, hex);
	cr_expect_str_eq(hex, "d41d8cd98f00b204e9800998ecf8427e");
	cr_assert_eq(md5_pieces(pieces, 2, d), 0);
	md5_hex(d, hex);
	cr_expect_str_eq(hex, "f96b697d7cb7938d525a2f31aaf161d0");
}

Test(gzip, roundtrip_is_deterministic_and_detects_damage)
{
	struct buf a = BUF_INIT, b = BUF_INIT, out = BUF_INIT;
	char data[10000];
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7 % 13);
	cr_assert_eq(gzip_compress(data, sizeof(data), "x.ring", 1, 9, &a), 0);
	cr_assert_eq(gzip_compress(data, sizeof(data), "x.ring", 1, 9, &b), 0);
	cr_assert_eq(a.len, b.len);
	cr_expect_eq(memcmp(a.data, b.data, a.len), 0,
		     "same input, same bytes");
	cr_assert_eq(gzip_decompress(a.data, a.len, 1 << 20, &out), 0);
	cr_assert_eq(out.len, sizeof(data));
	cr_expect_eq(memcmp(out.data, data, sizeof(data)), 0);

	out.len = 0;
	cr_expect_eq(gzip_decompress(a.data, a.len / 2, 1 << 20, &out), -EINVAL,
		     "a truncated file is an error");
	out.len = 0;
	a.data[a.len - 6] ^= 0x55; /* inside the CRC32 */
	cr_expect_eq(gzip_decompress(a.data, a.len, 1 << 20, &out), -EINVAL,
		     "a bad CRC is an error");
	out.len = 0;
	cr_expect_eq(gzip_decompress(b.data, b.len, 100, &out), -EFBIG,
		     "output beyond the limit is refused");
	out.len = 0;
	cr_expect_eq(gzip_decompress((const uint8_t *)"junk", 4, 100, &out),
		     -EINVAL);
	buf_free(&a);
	buf_free(&b);
	buf_free(&out);
}

Test(fsutil, atomic_write_replaces_whole_file)
{
	char dir[] = "/tmp/kumo-unit.XXXXXX", path[256], cmd[300];
	uint8_t *data;
	size_t len;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	cr_assert_eq(fs_write_atomic(path, "old", 3, 0644), 0);
	cr_assert_eq(fs_write_atomic(path, "newer", 5, 0644), 0);
	cr_assert_eq(fs_read_file(path, 100, &data, &len), 0);
	cr_expect_eq(len, 5);
	cr_expect_eq(memcmp(data, "newer", 5), 0);
	free(data);
	cr_expect_eq(fs_read_file(path, 2, &data, &len), -EFBIG);
	snprintf(path, sizeof(path), "%s/missing/f", dir);
	cr_expect_eq(fs_write_atomic(path, "x", 1, 0644), -ENOENT);
	snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 1", dir);
	cr_expect_eq(system(cmd), 0, "no temporary file is left behind");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	system(cmd);
}
