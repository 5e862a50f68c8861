/*
 * tests/unit/objectd/test_dioread.c: the large GET's reader
 * (objectd/dioread.c): bytes read with O_DIRECT and read-ahead come back
 * as the file holds them, in order, backwards and in ranges; the MD5 it
 * takes of the first hash_len bytes (on its thread, or in the caller's
 * once it went back) is theirs; a file shorter than hash_len gives no MD5.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/md5.h"
#include "objectd/internal.h"

#define MiB	 (1024 * 1024)
#define BODY	 (5 * MiB + 4321)
#define FILE_LEN (BODY + 1000) /* a .data: the body, then metadata */

static char path[64];
static char *data;
static int fd = -1;

static void setup(void)
{
	int i, w;

	snprintf(path, sizeof(path), "/tmp/kumo-dioread.XXXXXX");
	w = mkstemp(path);
	cr_assert_geq(w, 0);
	data = malloc(FILE_LEN);
	cr_assert_not_null(data);
	for (i = 0; i < FILE_LEN; i++)
		data[i] = (char)((unsigned)i * 7919u + ((unsigned)i >> 13));
	cr_assert_eq(write(w, data, FILE_LEN), FILE_LEN);
	close(w);
	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0);
}

static void teardown(void)
{
	close(fd);
	unlink(path);
	free(data);
}

/* Read [from, to) through r in 256 KiB pieces (as the HTTP server asks)
 * and check the bytes against the file's. */
static void read_span(struct df_reader *r, uint64_t from, uint64_t to)
{
	static char buf[256 * 1024];
	uint64_t at = from;

	while (at < to) {
		size_t want =
			to - at < sizeof(buf) ? (size_t)(to - at) : sizeof(buf);
		ssize_t got = df_reader_pread(r, buf, want, at, to);

		cr_assert_gt(got, 0, "at %llu: %zd (%s)",
			     (unsigned long long)at, got, strerror(errno));
		cr_assert_eq(memcmp(buf, data + at, (size_t)got), 0,
			     "bytes at %llu", (unsigned long long)at);
		at += (uint64_t)got;
	}
}

static void expect_md5(struct df_reader *r, uint64_t len)
{
	uint8_t digest[MD5_LEN];
	char want[33], got[33];

	cr_assert_eq(md5_buf(data, len, digest), 0);
	md5_hex(digest, want);
	cr_assert_eq(df_reader_md5(r, got), 0);
	cr_assert_str_eq(got, want);
}

TestSuite(dioread, .init = setup, .fini = teardown);

Test(dioread, whole_body_in_order_and_its_md5)
{
	struct df_reader *r;

	cr_assert_eq(df_reader_open(fd, BODY, &r), 0);
	read_span(r, 0, BODY);
	expect_md5(r, BODY);
	df_reader_close(r);
}

Test(dioread, going_back_keeps_bytes_and_md5)
{
	struct df_reader *r;

	cr_assert_eq(df_reader_open(fd, BODY, &r), 0);
	read_span(r, 0, 2 * MiB + 10);
	read_span(r, 5, 100);		/* back: the thread is ended */
	read_span(r, MiB - 3, 3 * MiB); /* a block it may not have hashed */
	read_span(r, 3 * MiB, BODY);
	expect_md5(r, BODY);
	df_reader_close(r);
}

Test(dioread, ranges_without_md5)
{
	struct df_reader *r;
	char hex[33];

	cr_assert_eq(df_reader_open(fd, 0, &r), 0);
	read_span(r, 4 * MiB - 10, 4 * MiB + 10);
	read_span(r, MiB - 3, 3 * MiB + 2);
	read_span(r, 0, 10);
	read_span(r, BODY, FILE_LEN); /* the last, partial block */
	cr_assert_eq(df_reader_md5(r, hex), -EINVAL);
	df_reader_close(r);
}

Test(dioread, closed_halfway)
{
	struct df_reader *r;

	cr_assert_eq(df_reader_open(fd, BODY, &r), 0);
	read_span(r, 0, MiB + 1);
	df_reader_close(r); /* the thread ends, nothing left in flight */
}

Test(dioread, file_shorter_than_hash_len)
{
	struct df_reader *r;
	char buf[4096], hex[33];

	cr_assert_eq(df_reader_open(fd, FILE_LEN + 3 * MiB, &r), 0);
	read_span(r, 0, FILE_LEN);
	cr_assert_eq(df_reader_pread(r, buf, sizeof(buf), FILE_LEN,
				     FILE_LEN + 3 * MiB),
		     0);
	cr_assert_neq(df_reader_md5(r, hex), 0);
	df_reader_close(r);
}
