/*
 * tests/unit/objectd/test_diskfile.c: the object server's on-disk format
 * (objectd/diskfile.c, objectd/meta.c): metadata encoding, writing and
 * reading objects, tombstones and .meta files in timestamp order,
 * cleanup of obsolete files, expiry, and quarantine of corrupt files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <xxhash.h>

#include "common/md5.h"
#include "common/xxh.h"
#include "objectd/internal.h"

static char root[256];
static const struct ring_hash_conf hconf = {"", "kumotest"};

static void setup(void)
{
	char dev[300];

	snprintf(root, sizeof(root), "/tmp/kumo-df.XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	snprintf(dev, sizeof(dev), "%s/d1", root);
	cr_assert_eq(mkdir(dev, 0755), 0);
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	cr_assert_eq(system(cmd), 0);
}

static int count_files(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static struct ts mkts(int64_t secs)
{
	struct ts t = {secs * 100000, 0};

	return t;
}

/* Write a .data of body with Content-Type ctype at time secs; with kind,
 * its ETag is its XXH3-128, marked X-Backend-Etag-Hash: kind (as
 * server.c stores a volume chunk), else its MD5. */
static void put_as(const struct df_loc *loc, int64_t secs, const char *body,
		   const char *ctype, const char *kind)
{
	struct objmeta m = OBJMETA_INIT;
	struct df_writer w;
	struct ts t = mkts(secs);
	char etag[33], tsb[TS_INTERNAL_LEN + 1], len[32];

	cr_assert_eq(df_writer_open(loc, &w, -1), 0);
	if (kind) {
		cr_assert_eq(df_writer_use_xxh128(&w), 0);
		objmeta_set(&m, ETAG_HASH_HEADER, kind);
	}
	cr_assert_eq(df_writer_write(&w, body, strlen(body)), 0);
	cr_assert_eq(kind ? df_writer_xxh128(&w, etag)
			  : df_writer_etag(&w, etag),
		     0);
	snprintf(len, sizeof(len), "%zu", strlen(body));
	objmeta_set(&m, "name", loc->name);
	objmeta_set(&m, "X-Timestamp", ts_internal(&t, tsb));
	objmeta_set(&m, "Content-Type", ctype);
	objmeta_set(&m, "Content-Length", len);
	objmeta_set(&m, "ETag", etag);
	objmeta_set(&m, "X-Object-Meta-Color", "blue");
	objmeta_set(&m, "X-Object-Sysmeta-Kumo", "sys");
	cr_assert_eq(df_writer_commit(&w, loc, &t, ".data", &m), 0);
	df_writer_abort(&w); /* safe after commit */
	objmeta_free(&m);
}

static void put(const struct df_loc *loc, int64_t secs, const char *body,
		const char *ctype)
{
	put_as(loc, secs, body, ctype, NULL);
}

static void write_empty(const struct df_loc *loc, int64_t secs, const char *ext,
			const char *k, const char *v)
{
	struct objmeta m = OBJMETA_INIT;
	struct ts t = mkts(secs);
	char tsb[TS_INTERNAL_LEN + 1];

	objmeta_set(&m, "name", loc->name);
	objmeta_set(&m, "X-Timestamp", ts_internal(&t, tsb));
	if (k)
		objmeta_set(&m, k, v);
	cr_assert_eq(df_write_empty(loc, &t, ext, &m), 0);
	objmeta_free(&m);
}

static void locate(struct df_loc *loc, const char *o)
{
	cr_assert_eq(df_locate(root, "d1", "7", &hconf, "a", "c", o, loc), 0);
}

TestSuite(meta);

Test(meta, roundtrip_and_limits)
{
	struct objmeta m = OBJMETA_INIT, back = OBJMETA_INIT;
	struct buf b = BUF_INIT;
	char name[64], value[257];
	int i;

	memset(value, 'v', 256);
	value[256] = '\0';
	/* Swift's limits: 90 items of 256 bytes do not fit ext4 xattrs */
	for (i = 0; i < 90; i++) {
		snprintf(name, sizeof(name), "X-Object-Meta-K%02d", i);
		cr_assert_eq(objmeta_set(&m, name, value), 0);
	}
	cr_assert_eq(objmeta_set(&m, "x-object-meta-k00", "replaced"), 0);
	cr_assert_eq(m.n, 90);
	cr_assert_str_eq(objmeta_get(&m, "X-OBJECT-META-K00"), "replaced");
	cr_assert_eq(objmeta_encode(&m, &b), 0);
	cr_assert_gt(b.len, 20000);
	cr_assert_eq(objmeta_decode(b.data, b.len, &back), 0);
	cr_assert_eq(back.n, 90);
	for (i = 0; i < 90; i++) {
		cr_assert_str_eq(back.items[i].name, m.items[i].name);
		cr_assert_str_eq(back.items[i].value, m.items[i].value);
	}
	objmeta_free(&back);
	/* truncated or padded blocks are refused */
	cr_assert_eq(objmeta_decode(b.data, b.len - 1, &back), -EINVAL);
	cr_assert_eq(back.n, 0);
	cr_assert_eq(objmeta_decode(b.data, 3, &back), -EINVAL);
	objmeta_del(&m, "X-Object-Meta-K05");
	cr_assert_null(objmeta_get(&m, "X-Object-Meta-K05"));
	cr_assert_eq(m.n, 89);
	buf_free(&b);
	objmeta_free(&m);
}

Test(meta, title_and_utf8)
{
	char out[64];

	objmeta_title("x-object-meta-foo_bar9x", out, sizeof(out));
	cr_assert_str_eq(out, "X-Object-Meta-Foo_Bar9X");
	objmeta_title("CONTENT-TYPE", out, sizeof(out));
	cr_assert_str_eq(out, "Content-Type");
	cr_assert(objmeta_utf8_ok("caf\xc3\xa9", 5));
	cr_assert(objmeta_utf8_ok("\xf0\x9f\x98\x80", 4));
	cr_assert(!objmeta_utf8_ok("\xff", 1));
	cr_assert(!objmeta_utf8_ok("\xc3", 1));
	cr_assert(!objmeta_utf8_ok("\xc0\xaf", 2));	/* overlong */
	cr_assert(!objmeta_utf8_ok("\xed\xa0\x80", 3)); /* surrogate */
	cr_assert(!objmeta_utf8_ok("", 0));
	cr_assert(objmeta_is_user_or_sys("x-object-sysmeta-a"));
	cr_assert(!objmeta_is_post_meta("X-Object-Sysmeta-A"));
	cr_assert(objmeta_is_allowed_header("content-disposition"));
	cr_assert(!objmeta_is_allowed_header("Content-Type"));
}

TestSuite(diskfile, .init = setup, .fini = teardown);

Test(diskfile, locate_layout)
{
	struct df_loc loc;
	uint8_t digest[16];
	char hex[33], want[512];

	cr_assert_eq(df_locate(root, "nodev", "7", &hconf, "a", "c", "o", &loc),
		     -ENODEV);
	cr_assert_eq(df_locate(root, "d1", "7x", &hconf, "a", "c", "o", &loc),
		     -EINVAL);
	locate(&loc, "o");
	/* md5("/a/c/okumotest"), as Swift's hash_path */
	md5_buf("/a/c/okumotest", 14, digest);
	md5_hex(digest, hex);
	cr_assert_str_eq(loc.hash, hex);
	snprintf(want, sizeof(want), "%s/d1/objects/7/%s/%s", root, hex + 29,
		 hex);
	cr_assert_str_eq(loc.hash_dir, want);
	cr_assert_str_eq(loc.name, "/a/c/o");
}

/* df_locate_read leaves the device to df_open_ec: -ENODEV there when it
 * is missing (or not a folder), and still first when the path is also
 * refused; an existing device without the hash dir is DF_ABSENT. */
Test(diskfile, locate_read_device_checked_at_open)
{
	struct df_loc loc;
	struct df_obj obj;
	char path[512], big[2100];
	int fd;

	cr_assert_eq(df_locate_read(root, "nodev", "7", 0, &hconf, "a", "c",
				    "o", &loc),
		     0);
	cr_assert_eq(df_open_ec(&loc, 0, -1, 0, &obj), -ENODEV);
	snprintf(path, sizeof(path), "%s/afile", root);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(df_locate_read(root, "afile", "7", 0, &hconf, "a", "c",
				    "o", &loc),
		     0);
	cr_assert_eq(df_open_ec(&loc, 0, -1, 0, &obj), -ENODEV);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(df_locate_read(root, "nodev", "7", 0, &hconf, "a", "c",
				    big, &loc),
		     -ENODEV);
	cr_assert_eq(
		df_locate_read(root, "d1", "7", 0, &hconf, "a", "c", big, &loc),
		-ENAMETOOLONG);
	cr_assert_eq(df_locate_read(root, "d1", "7x", 0, &hconf, "a", "c", "o",
				    &loc),
		     -EINVAL);
	cr_assert_eq(
		df_locate_read(root, "d1", "7", 0, &hconf, "a", "c", "o", &loc),
		0);
	cr_assert_eq(df_open_ec(&loc, 0, -1, 0, &obj), 0);
	cr_assert_eq(obj.state, DF_ABSENT);
	df_close(&obj);
}

/* A hash dir too big for one getdents64 (a multi-block folder): the
 * newest file is found wherever the listing puts it. */
Test(diskfile, open_lists_big_hash_dir)
{
	struct df_loc loc;
	struct df_obj obj;
	char path[sizeof(loc.hash_dir) + 256], name[256];
	int i, fd;

	locate(&loc, "o");
	put(&loc, 1000, "hello world", "text/plain");
	for (i = 0; i < 300; i++) {
		memset(name, 'j', 200);
		snprintf(name + 200, sizeof(name) - 200, "%03d.junk", i);
		snprintf(path, sizeof(path), "%s/%s", loc.hash_dir, name);
		fd = open(path, O_CREAT | O_WRONLY, 0644);
		cr_assert_geq(fd, 0);
		close(fd);
	}
	cr_assert_eq(df_open(&loc, 2000, &obj), 0);
	cr_assert_eq(obj.state, DF_LIVE);
	df_close(&obj);
	write_empty(&loc, 1500, ".ts", NULL, NULL);
	cr_assert_eq(df_open(&loc, 2000, &obj), 0);
	cr_assert_eq(obj.state, DF_DELETED);
	df_close(&obj);
}

/* DF_OPEN_NO_BODY (a HEAD): the metadata and length, no body read. */
Test(diskfile, open_no_body)
{
	struct df_loc loc;
	struct df_obj obj;

	locate(&loc, "o");
	put(&loc, 1000, "hello world", "text/plain");
	cr_assert_eq(df_open_ec(&loc, 2000, -1, 0, &obj), 0);
	cr_assert_not_null(obj.whole);
	df_close(&obj);
	cr_assert_eq(df_open_ec(&loc, 2000, -1, DF_OPEN_NO_BODY, &obj), 0);
	cr_assert_eq(obj.state, DF_LIVE);
	cr_assert_eq(obj.body_len, 11);
	cr_assert_str_eq(objmeta_get(&obj.meta, "X-Object-Meta-Color"), "blue");
	cr_assert_null(obj.whole);
	df_close(&obj);
}

Test(diskfile, write_read_verify)
{
	struct df_loc loc;
	struct df_obj obj;
	char buf[512];

	locate(&loc, "o");
	put(&loc, 1000, "hello world", "text/plain");
	cr_assert_eq(df_open(&loc, 2000, &obj), 0);
	cr_assert_eq(obj.state, DF_LIVE);
	cr_assert_eq(obj.body_len, 11);
	cr_assert_str_eq(objmeta_get(&obj.meta, "ETag"),
			 "5eb63bbbe01eeed093cb22bb8f5acdc3");
	cr_assert_str_eq(objmeta_get(&obj.meta, "Content-Type"), "text/plain");
	cr_assert_str_eq(objmeta_get(&obj.meta, "X-Object-Meta-Color"), "blue");
	cr_assert_eq(pread(obj.fd, buf, 11, 0), 11);
	cr_assert_eq(memcmp(buf, "hello world", 11), 0);
	cr_assert_eq(df_verify_body(obj.fd, obj.body_len,
				    objmeta_get(&obj.meta, "ETag"), ETAG_MD5),
		     0);
	cr_assert_eq(df_verify_body(obj.fd, obj.body_len,
				    "00000000000000000000000000000000",
				    ETAG_MD5),
		     -EILSEQ);
	df_close(&obj);
	/* nothing left in tmp */
	snprintf(buf, sizeof(buf), "%s/d1/tmp", root);
	cr_assert_eq(count_files(buf), 0);
}

/* An ETag that is the body's XXH3-128 (etag.c): the kind is read from the
 * metadata (and kept over a .meta), the body checks by it and not by
 * MD5, an empty body's ETag is the XXH3-128 of nothing, and a kind this
 * server does not know makes the file corrupt */
Test(diskfile, xxh128_etag)
{
	struct df_loc loc;
	struct df_obj obj;
	char hex[33], md5[33];
	uint8_t d[MD5_LEN];

	cr_assert_eq(etag_kind_parse(NULL), ETAG_MD5);
	cr_assert_eq(etag_kind_parse("MD5"), ETAG_MD5);
	cr_assert_eq(etag_kind_parse("XXH3-128"), ETAG_XXH128);
	cr_assert_eq(etag_kind_parse("sha256"), -EINVAL);
	cr_assert_eq(etag_sum_buf(ETAG_XXH128, "", 0, hex), 0);
	cr_assert_str_eq(hex, "99aa06d3014798d86001c324468d497f");

	locate(&loc, "x");
	put_as(&loc, 1000, "hello world", "text/plain", ETAG_XXH128_NAME);
	write_empty(&loc, 1500, ".meta", "X-Object-Meta-New", "yes");
	cr_assert_eq(df_open(&loc, 2000, &obj), 0);
	cr_assert_eq(obj.state, DF_LIVE);
	cr_assert_str_eq(objmeta_get(&obj.meta, "X-Object-Meta-New"), "yes");
	cr_assert_eq(etag_kind_of(&obj.meta), ETAG_XXH128);
	xxh128_hex("hello world", 11, hex);
	cr_assert_str_eq(objmeta_get(&obj.meta, "ETag"), hex);
	md5_buf("hello world", 11, d);
	md5_hex(d, md5);
	cr_assert_eq(df_verify_body(obj.fd, obj.body_len, hex, ETAG_XXH128), 0);
	cr_assert_eq(df_verify_body(obj.fd, obj.body_len, md5, ETAG_XXH128),
		     -EILSEQ);
	cr_assert_eq(df_verify_body(obj.fd, obj.body_len, hex, ETAG_MD5),
		     -EILSEQ);
	df_close(&obj);

	locate(&loc, "empty");
	put_as(&loc, 1000, "", "text/plain", ETAG_XXH128_NAME);
	cr_assert_eq(df_open(&loc, 2000, &obj), 0);
	cr_assert_eq(obj.state, DF_LIVE);
	df_close(&obj);

	locate(&loc, "unknown");
	put_as(&loc, 1000, "hello world", "text/plain", "sha256");
	cr_assert_eq(df_open(&loc, 2000, &obj), 0);
	cr_assert_eq(obj.state, DF_ABSENT); /* quarantined */
	df_close(&obj);
}

/* df_writer_use_xxh128: the body's XXH3-128 (canonical hex, across
 * writes buffered and not), and no MD5 (df_writer_etag refuses) */
Test(diskfile, writer_xxh128)
{
	const size_t size = 3 << 20, cut = 100000;
	struct df_loc loc;
	struct df_writer w;
	XXH128_canonical_t c;
	char *body = malloc(size), want[33], got[33];
	size_t i;

	cr_assert_not_null(body);
	for (i = 0; i < size; i++)
		body[i] = (char)(i * 7 + i / 4096);
	XXH128_canonicalFromHash(&c, XXH3_128bits(body, size));
	md5_hex(c.digest, want);
	locate(&loc, "x");
	cr_assert_eq(df_writer_open(&loc, &w, -1), 0);
	cr_assert_eq(df_writer_use_xxh128(&w), 0);
	cr_assert_eq(df_writer_write(&w, body, cut), 0);
	cr_assert_eq(df_writer_write(&w, body + cut, size - cut), 0);
	cr_expect_eq(df_writer_etag(&w, got), -EINVAL);
	cr_assert_eq(df_writer_xxh128(&w, got), 0);
	cr_expect_str_eq(got, want);
	cr_expect_eq(df_writer_xxh128(&w, got), -EINVAL); /* once */
	df_writer_abort(&w);
	free(body);
}

/* The upload buffers given back are kept for the next uploads, as many
 * as a volume's write-back has at once (12 chunk PUTs of 3 replicas, and
 * then some): each fresh one costs page faults. They come in pairs from
 * 2 MiB-aligned regions, which the kernel can back with one huge page,
 * so that a 1 MiB O_DIRECT write is one disk request; past the regions
 * a buffer is malloc'd, and all of them are aligned for O_DIRECT. */
Test(diskfile, upload_buffers_kept)
{
	enum { N = 70 };
	char *b[N], *p;
	int i, j;

	for (i = 0; i < N; i++) {
		cr_assert_not_null(b[i] = df_buf_get());
		cr_expect_eq((uintptr_t)b[i] % DF_DIRECT_ALIGN, 0);
		memset(b[i], i, DF_BUF_SIZE); /* all of it is the caller's */
		for (j = 0; j < i; j++)
			cr_assert_neq(b[i], b[j]);
	}
	for (i = 0; i < 64; i += 2)
		cr_expect_eq((uintptr_t)b[i] / (2 << 20),
			     (uintptr_t)b[i + 1] / (2 << 20),
			     "buffers %d and %d share no huge page", i, i + 1);
	for (i = 0; i < N; i++)
		df_buf_put(b[i]);
	cr_expect_geq(df_buf_kept(), 48);
	p = df_buf_get(); /* a kept one, not a fresh one */
	for (i = 0; i < N && b[i] != p; i++)
		;
	cr_expect_lt(i, 64, "no kept buffer was handed out again");
	df_buf_put(p);
}

/* read_meta reads the footer and the metadata before it in one pread of
 * the file's last 4 KiB; metadata larger than that takes a second read,
 * and a file smaller than that is read whole. */
Test(diskfile, metadata_larger_than_the_tail_read)
{
	static char body[10001], big[6001];
	struct objmeta m = OBJMETA_INIT;
	struct df_writer w;
	struct df_loc loc;
	struct df_obj obj;
	struct ts t = mkts(1000);
	char etag[33], tsb[TS_INTERNAL_LEN + 1];

	memset(body, 'b', sizeof(body) - 1);
	memset(big, 'm', sizeof(big) - 1);
	locate(&loc, "big-meta");
	cr_assert_eq(df_writer_open(&loc, &w, -1), 0);
	cr_assert_eq(df_writer_write(&w, body, 10000), 0);
	cr_assert_eq(df_writer_etag(&w, etag), 0);
	objmeta_set(&m, "name", loc.name);
	objmeta_set(&m, "X-Timestamp", ts_internal(&t, tsb));
	objmeta_set(&m, "Content-Length", "10000");
	objmeta_set(&m, "ETag", etag);
	objmeta_set(&m, "X-Object-Meta-Big", big);
	cr_assert_eq(df_writer_commit(&w, &loc, &t, ".data", &m), 0);
	df_writer_abort(&w);
	objmeta_free(&m);
	cr_assert_eq(df_open(&loc, 2000, &obj), 0);
	cr_assert_eq(obj.state, DF_LIVE);
	cr_assert_eq(obj.body_len, 10000);
	cr_assert_str_eq(objmeta_get(&obj.meta, "X-Object-Meta-Big"), big);
	cr_assert_eq(df_verify_body(obj.fd, obj.body_len, etag, ETAG_MD5), 0);
	df_close(&obj);

	/* a body of 3 bytes: the whole file is the tail */
	locate(&loc, "tiny");
	put(&loc, 1000, "abc", "text/plain");
	cr_assert_eq(df_open(&loc, 2000, &obj), 0);
	cr_assert_eq(obj.state, DF_LIVE);
	cr_assert_eq(obj.body_len, 3);
	cr_assert_str_eq(objmeta_get(&obj.meta, "X-Object-Meta-Color"), "blue");
	df_close(&obj);
}

Test(diskfile, absent_and_abort)
{
	struct df_loc loc;
	struct df_obj obj;
	struct df_writer w;
	char tmp[300];

	locate(&loc, "nothing");
	cr_assert_eq(df_open(&loc, 0, &obj), 0);
	cr_assert_eq(obj.state, DF_ABSENT);
	df_close(&obj);
	cr_assert_eq(df_writer_open(&loc, &w, -1), 0);
	cr_assert_eq(df_writer_write(&w, "partial", 7), 0);
	snprintf(tmp, sizeof(tmp), "%s/d1/tmp", root);
	cr_assert_eq(count_files(tmp), 1);
	df_writer_abort(&w);
	df_writer_abort(&w);
	cr_assert_eq(count_files(tmp), 0);
	cr_assert_eq(df_open(&loc, 0, &obj), 0);
	cr_assert_eq(obj.state, DF_ABSENT);
	df_close(&obj);
}

Test(diskfile, tombstone_ordering)
{
	struct df_loc loc;
	struct df_obj obj;

	locate(&loc, "o");
	put(&loc, 1000, "v1", "text/plain");
	write_empty(&loc, 1100, ".ts", NULL, NULL);
	/* the tombstone made the older .data obsolete */
	cr_assert_eq(count_files(loc.hash_dir), 1);
	cr_assert_eq(df_open(&loc, 2000, &obj), 0);
	cr_assert_eq(obj.state, DF_DELETED);
	cr_assert_eq(obj.data_ts.ticks, 1100LL * 100000);
	df_close(&obj);
	/* an older .data arriving late loses, and is cleaned up */
	put(&loc, 1050, "late", "text/plain");
	cr_assert_eq(df_open(&loc, 2000, &obj), 0);
	cr_assert_eq(obj.state, DF_DELETED);
	df_close(&obj);
	cr_assert_eq(count_files(loc.hash_dir), 1);
	/* a newer .data wins */
	put(&loc, 1200, "v2", "text/plain");
	cr_assert_eq(df_open(&loc, 2000, &obj), 0);
	cr_assert_eq(obj.state, DF_LIVE);
	cr_assert_eq(obj.body_len, 2);
	df_close(&obj);
	cr_assert_eq(count_files(loc.hash_dir), 1);
}

Test(diskfile, meta_merge)
{
	struct df_loc loc;
	struct df_obj obj;

	locate(&loc, "o");
	put(&loc, 1000, "body", "text/plain");
	write_empty(&loc, 1100, ".meta", "X-Object-Meta-Shape", "round");
	cr_assert_eq(df_open(&loc, 2000, &obj), 0);
	cr_assert_eq(obj.state, DF_LIVE);
	/* user meta replaced; sysmeta, ETag, length and type kept */
	cr_assert_null(objmeta_get(&obj.meta, "X-Object-Meta-Color"));
	cr_assert_str_eq(objmeta_get(&obj.meta, "X-Object-Meta-Shape"),
			 "round");
	cr_assert_str_eq(objmeta_get(&obj.meta, "X-Object-Sysmeta-Kumo"),
			 "sys");
	cr_assert_str_eq(objmeta_get(&obj.meta, "Content-Type"), "text/plain");
	cr_assert_str_eq(objmeta_get(&obj.meta, "Content-Length"), "4");
	cr_assert_eq(obj.meta_ts.ticks, 1100LL * 100000);
	cr_assert_eq(obj.data_ts.ticks, 1000LL * 100000);
	cr_assert_str_eq(objmeta_get(&obj.meta, "X-Timestamp"),
			 "0000001100.00000");
	df_close(&obj);
	/* a newer .meta replaces the older one */
	write_empty(&loc, 1200, ".meta", "X-Object-Meta-Size", "big");
	cr_assert_eq(count_files(loc.hash_dir), 2);
	cr_assert_eq(df_open(&loc, 2000, &obj), 0);
	cr_assert_null(objmeta_get(&obj.meta, "X-Object-Meta-Shape"));
	cr_assert_str_eq(objmeta_get(&obj.meta, "X-Object-Meta-Size"), "big");
	df_close(&obj);
	/* a newer .data makes the .meta obsolete */
	put(&loc, 1300, "new", "text/new");
	cr_assert_eq(count_files(loc.hash_dir), 1);
	cr_assert_eq(df_open(&loc, 2000, &obj), 0);
	cr_assert_str_eq(objmeta_get(&obj.meta, "X-Object-Meta-Color"), "blue");
	df_close(&obj);
}

Test(diskfile, expiry)
{
	struct df_loc loc;
	struct df_obj obj;
	struct objmeta m = OBJMETA_INIT;

	locate(&loc, "o");
	put(&loc, 1000, "body", "text/plain");
	write_empty(&loc, 1100, ".meta", "X-Delete-At", "0000001500");
	cr_assert_eq(df_open(&loc, 1499, &obj), 0);
	cr_assert_eq(obj.state, DF_LIVE);
	df_close(&obj);
	cr_assert_eq(df_open(&loc, 1500, &obj), 0);
	cr_assert_eq(obj.state, DF_EXPIRED);
	cr_assert_eq(obj.fd, -1);
	cr_assert_eq(obj.data_ts.ticks, 1000LL * 100000);
	df_close(&obj);
	objmeta_free(&m);
}

Test(diskfile, quarantine_bad_footer)
{
	struct df_loc loc;
	struct df_obj obj;
	char path[8192], q[512];
	struct stat st;
	DIR *d;
	struct dirent *de;
	int fd;

	locate(&loc, "o");
	put(&loc, 1000, "body", "text/plain");
	d = opendir(loc.hash_dir);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			snprintf(path, sizeof(path), "%s/%s", loc.hash_dir,
				 de->d_name);
	closedir(d);
	/* flip a byte of the metadata: its CRC fails */
	fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, "Z", 1, 10), 1);
	close(fd);
	cr_assert_eq(df_open(&loc, 2000, &obj), 0);
	cr_assert_eq(obj.state, DF_ABSENT);
	df_close(&obj);
	snprintf(q, sizeof(q), "%s/d1/quarantined/objects/%s", root, loc.hash);
	cr_assert_eq(stat(q, &st), 0);
	cr_assert_eq(count_files(q), 1);
	cr_assert_eq(stat(loc.hash_dir, &st), -1);
}

Test(diskfile, quarantine_length_mismatch_and_name)
{
	struct df_loc loc, other;
	struct df_obj obj;
	char path[8192];
	DIR *d;
	struct dirent *de;

	locate(&loc, "o");
	put(&loc, 1000, "body", "text/plain");
	/* the same hash dir opened under another name: a collision */
	other = loc;
	strcpy(other.name, "/a/c/other");
	cr_assert_eq(df_open(&other, 2000, &obj), -EEXIST);
	/* a file cut short is quarantined */
	d = opendir(loc.hash_dir);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			snprintf(path, sizeof(path), "%s/%s", loc.hash_dir,
				 de->d_name);
	closedir(d);
	cr_assert_eq(truncate(path, 30), 0);
	cr_assert_eq(df_open(&loc, 2000, &obj), 0);
	cr_assert_eq(obj.state, DF_ABSENT);
	df_close(&obj);
}
