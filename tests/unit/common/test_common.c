/*
 * tests/unit/common/test_common.c: the shared helpers: Python-compatible
 * JSON output, gzip, MD5 (and md5_batch's lanes, by many threads at
 * once), atomic file writes, timestamps, the config
 * table and HTTP path splitting.
 */
#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <xxhash.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/fsutil.h"
#include "common/gzip.h"
#include "common/http.h"
#include "common/log.h"
#include "common/textput.h"
#include "common/md5.h"
#include "common/pyjson.h"
#include "common/timestamp.h"
#include "common/xxh.h"

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

/* One buffer of md5_batch_threads: lengths not whole blocks too. */
struct mb_job {
	uint8_t *data;
	size_t len;
	uint8_t want[MD5_LEN], got[MD5_LEN];
	int rc;
};

static void *mb_run(void *arg)
{
	struct mb_job *j = arg;
	int k;

	for (k = 0; k < 4 && !j->rc; k++) /* again, joining other lanes */
		j->rc = md5_batch(j->data, j->len, j->got);
	return NULL;
}

/* md5_batch gives md5_buf's digest alone and with 20 threads at once
 * (more than its 8 lanes, of different lengths, so lanes join and leave
 * while others run) */
Test(md5, batch_matches_md5_buf)
{
	enum { N = 20 };
	static struct mb_job job[N];
	pthread_t th[N];
	uint8_t d[MD5_LEN], w[MD5_LEN];
	int i;
	size_t k;

	srand(11);
	for (i = 0; i < N; i++) {
		job[i].len = (size_t)(64 * 1024 + (i * 77777) % (3 << 20) + i);
		job[i].data = malloc(job[i].len);
		cr_assert_not_null(job[i].data);
		for (k = 0; k < job[i].len; k++)
			job[i].data[k] = (uint8_t)rand();
		cr_assert_eq(md5_buf(job[i].data, job[i].len, job[i].want), 0);
	}
	cr_assert_eq(md5_batch(job[0].data, job[0].len, d), 0);
	cr_expect(!memcmp(d, job[0].want, MD5_LEN), "alone");
	cr_assert_eq(md5_batch("abc", 3, d), 0); /* small: md5_buf */
	cr_assert_eq(md5_buf("abc", 3, w), 0);
	cr_expect(!memcmp(d, w, MD5_LEN));
	for (i = 0; i < N; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, mb_run, &job[i]), 0);
	for (i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		cr_expect_eq(job[i].rc, 0);
		cr_expect(!memcmp(job[i].got, job[i].want, MD5_LEN),
			  "buffer %d (%zu bytes) hashed wrong", i, job[i].len);
		free(job[i].data);
	}
}

/* xxh128_hex and the running xxh128 (the AVX2 build on a CPU with AVX2)
 * give libxxhash's XXH3-128, at every size class of its code */
Test(xxh, matches_libxxhash)
{
	static const size_t sizes[] = {0,   1,	 16,   17,    128,	    129,
				       240, 241, 1024, 65536, (1 << 20) + 3};
	size_t i, k, n, cut;
	uint8_t *b = malloc(sizes[10]);
	char got[33], run[33], want[33];
	XXH128_canonical_t c;
	void *st;

	cr_assert_not_null(b);
	for (k = 0; k < sizes[10]; k++)
		b[k] = (uint8_t)(k * 31 + k / 977);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		n = sizes[i];
		XXH128_canonicalFromHash(&c, XXH3_128bits(b, n));
		md5_hex(c.digest, want);
		xxh128_hex(b, n, got);
		cr_expect_str_eq(got, want, "size %zu", n);
		st = xxh128_new();
		cr_assert_not_null(st);
		cut = n / 3;
		xxh128_update(st, b, cut);
		xxh128_update(st, b + cut, n - cut);
		xxh128_final(st, run);
		cr_expect_str_eq(run, want, "size %zu in two pieces", n);
	}
	xxh128_free(NULL);
	free(b);
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

Test(timestamp, parse_format_compare_as_swift)
{
	struct ts a, b;
	char n[TS_NORMAL_LEN + 1], in[TS_INTERNAL_LEN + 1], d[32];

	cr_assert_eq(ts_parse("1700000000.12345", &a), 0);
	cr_expect_str_eq(ts_normal(&a, n), "1700000000.12345");
	cr_assert_eq(ts_parse("1700000000.123456", &b), 0);
	cr_expect_str_eq(ts_normal(&b, n), "1700000000.12346", "rounded");
	cr_assert_eq(ts_parse("12", &b), 0);
	cr_expect_str_eq(ts_normal(&b, n), "0000000012.00000");
	cr_assert_eq(ts_parse("1700000000.12345_000000000000000a", &b), 0);
	cr_expect_eq(b.offset, 10);
	cr_expect_str_eq(ts_internal(&b, in),
			 "1700000000.12345_000000000000000a");
	cr_expect_str_eq(ts_internal(&a, in), "1700000000.12345");
	cr_expect_gt(ts_cmp(&b, &a), 0, "an offset orders equal times");
	cr_expect_eq(ts_parse("-1", &b), -EINVAL);
	cr_expect_eq(ts_parse("1e9", &b), -EINVAL);
	cr_expect_eq(ts_parse("", &b), -EINVAL);
	cr_expect_eq(ts_parse("99999999999999", &b), -EINVAL);
	cr_expect_str_eq(ts_http_date(&a, d), "Tue, 14 Nov 2023 22:13:21 GMT",
			 "rounded up to the second");
}

Test(timestamp, http_dates)
{
	int64_t s;

	cr_assert_eq(ts_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", &s),
		     0);
	cr_expect_eq(s, 784111777);
	cr_assert_eq(ts_parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", &s),
		     0);
	cr_expect_eq(s, 784111777);
	cr_assert_eq(ts_parse_http_date("Sun Nov  6 08:49:37 1994", &s), 0);
	cr_expect_eq(s, 784111777);
	cr_expect_eq(ts_parse_http_date("yesterday", &s), -EINVAL);
}

struct sample_cfg {
	long long port;
	int flag;
	double ratio;
	char name[CONF_STR_MAX];
};

static const struct conf_key sample_keys[] = {
	{"app", "port", CONF_INT, 1, 65535, "6200",
	 offsetof(struct sample_cfg, port), "port"},
	{"app", "flag", CONF_BOOL, 0, 0, "false",
	 offsetof(struct sample_cfg, flag), "a flag"},
	{"app", "ratio", CONF_DOUBLE, 0, 1, "0.5",
	 offsetof(struct sample_cfg, ratio), "a ratio"},
	{"app", "name", CONF_STR, 0, 0, "x", offsetof(struct sample_cfg, name),
	 "a name"},
	{NULL, NULL, 0, 0, 0, NULL, 0, NULL},
};

static int load_text(const char *text, struct sample_cfg *cfg, char *err)
{
	char path[] = "/tmp/kumo-conf.XXXXXX";
	int fd = mkstemp(path), rc;

	cr_assert_neq(fd, -1);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	rc = conf_load(path, sample_keys, cfg, err, 512);
	unlink(path);
	return rc;
}

Test(config, table_driven_ini)
{
	struct sample_cfg cfg;
	char err[512];

	cr_assert_eq(load_text("[app]\nport = 8080\nflag = yes\n"
			       "[other]\nwhatever = 1\n",
			       &cfg, err),
		     0, "%s", err);
	cr_expect_eq(cfg.port, 8080);
	cr_expect_eq(cfg.flag, 1);
	cr_expect_eq(cfg.ratio, 0.5, "defaults fill the rest");
	cr_expect_str_eq(cfg.name, "x");
	cr_expect_eq(load_text("[app]\nport = 70000\n", &cfg, err), -EINVAL);
	cr_expect(strstr(err, "port") != NULL, "%s", err);
	cr_expect_eq(load_text("[app]\nprot = 1\n", &cfg, err), -EINVAL);
	cr_expect(strstr(err, "unknown key 'prot'") != NULL, "%s", err);
	cr_expect_eq(load_text("[app]\nflag = maybe\n", &cfg, err), -EINVAL);
	cr_expect_eq(conf_load("/nonexistent.conf", sample_keys, &cfg, err,
			       sizeof(err)),
		     -ENOENT);
}

Test(http, split_path_decodes_and_rejects_nul)
{
	char buf[256], *segs[5];

	cr_assert_eq(http_split_path("/sda/12/AUTH_t/c/o/with%20space/x", buf,
				     sizeof(buf), segs, 5),
		     5);
	cr_expect_str_eq(segs[0], "sda");
	cr_expect_str_eq(segs[2], "AUTH_t");
	cr_expect_str_eq(segs[4], "o/with space/x");
	cr_expect_eq(http_split_path("/a/b", buf, sizeof(buf), segs, 5), 2);
	cr_expect_eq(http_split_path("/a/%00", buf, sizeof(buf), segs, 5),
		     -EINVAL);
	cr_expect_eq(http_split_path("/a/%4", buf, sizeof(buf), segs, 5),
		     -EINVAL);
	cr_expect_eq(http_split_path("a/b", buf, sizeof(buf), segs, 5),
		     -EINVAL);
}

/* What log_line writes to stderr for these arguments (at most len - 1
 * bytes, NUL-terminated). */
static void log_capture(char *out, size_t len, const char *file,
			const char *func, int line, const char *msg)
{
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	cr_assert_not_null(f);
	cr_assert_neq(saved, -1);
	cr_assert_neq(dup2(fileno(f), STDERR_FILENO), -1);
	log_line(LOG_WARN, file, func, line, "%s %d", msg, 7);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	fclose(f);
}

/* A line is "DATE.mmmZ prog[pid] LEVEL file:func:line message\n"; a
 * prefix that does not fit its 352 bytes is left out. */
Test(log, line_format)
{
	char out[4096], expect[128], longname[400];
	regex_t re;

	log_init("/usr/bin/kumo-logtest", LOG_INFO);
	log_capture(out, sizeof(out), "common/dir/file.c", "fn", 42, "hi");
	snprintf(expect, sizeof(expect),
		 "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
		 "\\.[0-9]{3}Z kumo-logtest\\[%d\\] WARN file\\.c:fn:42 "
		 "hi 7\n$",
		 (int)getpid());
	cr_assert_eq(regcomp(&re, expect, REG_EXTENDED | REG_NOSUB), 0);
	cr_expect_eq(regexec(&re, out, 0, NULL, 0), 0, "line: %s", out);
	regfree(&re);
	memset(longname, 'f', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	log_capture(out, sizeof(out), longname, "fn", 1, "cut");
	cr_expect_str_eq(out, "cut 7\n");
}

/* log_line_text prints what log_line(.., "%s", text) prints, cut alike. */
Test(log, text_lines)
{
	static char big[3000], a[4096], b[4096];
	int saved = dup(STDERR_FILENO);
	FILE *f = tmpfile();
	size_t n;

	cr_assert_not_null(f);
	memset(big, 'x', sizeof(big) - 1);
	cr_assert_neq(dup2(fileno(f), STDERR_FILENO), -1);
	log_line(LOG_INFO, "a/b.c", "fn", 3, "%s", big);
	log_line_text(LOG_INFO, "a/b.c", "fn", 3, big);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	cr_assert_not_null(fgets(a, sizeof(a), f));
	cr_assert_not_null(fgets(b, sizeof(b), f));
	fclose(f);
	n = strlen(a);
	cr_expect_eq(n, strlen(b));
	/* the same but for the millisecond stamp at the start */
	cr_expect_str_eq(strchr(a, 'Z'), strchr(b, 'Z'));
	cr_expect(n > 2047 && a[n - 2] == 'x');
}

/* The text_put helpers append text and numbers, and refuse (leaving the
 * end where it was) what would not fit with its NUL. */
Test(textput, appends_within_bounds)
{
	char m[8], *o = m;

	cr_expect_eq(text_put(&o, m + sizeof(m), "abc"), 0);
	cr_expect_eq(text_put_uint(&o, m + sizeof(m), 7, 3), 0);
	cr_expect_eq(text_put(&o, m + sizeof(m), "z"), 0);
	cr_expect_eq(text_put(&o, m + sizeof(m), "q"), -1);
	cr_expect_eq(text_put_uint(&o, m + sizeof(m), 1, 1), -1);
	cr_expect_eq(text_put_mem(&o, m + sizeof(m), "qq", 0), 0);
	cr_expect_eq(o - m, 7);
	*o = '\0';
	cr_expect_str_eq(m, "abc007z");
	o = m;
	cr_expect_eq(text_put_uint(&o, m + sizeof(m), 4294967295u, 1), -1);
	cr_expect_eq(text_put_uint(&o, m + sizeof(m), 1234567, 1), 0);
	*o = '\0';
	cr_expect_str_eq(m, "1234567");
}
