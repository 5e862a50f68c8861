/*
 * tests/unit/common/test_objclient.c: the internal client (common/
 * objclient.c) against a real all-in-one cluster: bin/kumo-aio (from
 * KUMO_BIN, else the bin/ beside the build folder this binary is in) in a
 * temp folder on free loopback ports (tests/unit/lib/aiofix.h), one
 * cluster per test, stopped with SIGTERM at the end. Covers every call: put/get/range/head/delete,
 * If-None-Match, -ENOENT and -EINVAL, container creation (the account
 * lists it), listings longer than the servers' page of 10,000 names, and
 * writes by quorum with a device gone (its folder removed: the servers
 * answer 507) and failing without one.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/cluster.h"
#include "common/md5.h"
#include "common/objclient.h"
#include "common/xxh.h"
#include "tests/unit/lib/aiofix.h"

#define ACCT "AUTH_oc"

static struct cluster *cl;

/* KUMO_BIN, else <build>/../bin for <build>/tests/unit/common/<me>. */
#define BIN_MAX (PATH_MAX + 16)

static void bin_dir(char out[BIN_MAX])
{
	const char *env = getenv("KUMO_BIN");
	char self[PATH_MAX];
	ssize_t n;
	int i;

	if (env && *env) {
		snprintf(out, BIN_MAX, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	cr_assert_gt(n, 0, "cannot read /proc/self/exe");
	self[n] = '\0';
	for (i = 0; i < 4; i++) {
		char *slash = strrchr(self, '/');

		cr_assert_not_null(slash, "odd path %s", self);
		*slash = '\0';
	}
	snprintf(out, BIN_MAX, "%s/../bin", self);
}

/* One kumo-aio per test (a test takes devices away), on six free ports
 * (proxy, three servers, volume API, NBD) so that tests run at once. */
static void start_aio(void)
{
	char bin[BIN_MAX], exe[BIN_MAX + 16], out[300];
	int i, tries, base = 0;

	bin_dir(bin);
	snprintf(exe, sizeof(exe), "%s/kumo-aio", bin);
	cr_assert_eq(access(exe, X_OK), 0,
		     "no %s: build first (make) or set KUMO_BIN", exe);
	snprintf(aiofix_dir, sizeof(aiofix_dir), "%s/objclient.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	cr_assert_not_null(mkdtemp(aiofix_dir));
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	snprintf(out, sizeof(out), "%s/aio.out", aiofix_dir);
	/* a port another program took between the check and kumo-aio's
	 * bind: another block, twice */
	for (tries = 0; tries < 3; tries++) {
		for (base = 0, i = 0; i < 200 && !base; i++) {
			int p = 10000 + rand() % 22000; /* not ephemeral */

			if (aiofix_ports_free(p, 6))
				base = p;
		}
		cr_assert_neq(base, 0, "no free port block");
		if (!aiofix_launch(exe, out, base, 1))
			break;
	}
	cr_assert_lt(tries, 3, "kumo-aio died (see %s/aio.err)", aiofix_dir);
	cr_assert(aiofix_up(out), "kumo-aio did not start in 60 s");
	setenv("AIOFIX_DIR", aiofix_dir, 1);
	cl = aiofix_cluster();
	cr_assert_not_null(cl);
}

static void stop_aio(void)
{
	cluster_close(cl);
	cl = NULL;
	/* the device folders a test renamed are under its folder too */
	aiofix_stop();
}

TestSuite(objclient, .init = start_aio, .fini = stop_aio, .timeout = 120);

static void random_bytes(void *p, size_t n)
{
	uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)rand();
}

static void md5_of(const void *p, size_t n, char hex[33])
{
	uint8_t d[MD5_LEN];

	cr_assert_eq(md5_buf(p, n, d), 0);
	md5_hex(d, hex);
}

Test(objclient, put_get_range_head_delete)
{
	const size_t size = 1 << 20;
	const char *obj = "dir/a b \xc3\xa9?&x=1";
	struct cluster_hdrs meta = {0};
	struct oc_put_opts opts = {"text/x-test", 0, &meta};
	struct oc_info info, hinfo;
	struct buf got = {0};
	char *data = malloc(size), part[5000], etag[33];

	srand(1);
	random_bytes(data, size);
	md5_of(data, size, etag);
	cr_assert_eq(oc_container_create(cl, ACCT, "c"), 0);
	cr_assert_eq(cluster_hdrs_add(&meta, "X-Object-Meta-Color", "blue"), 0);
	cr_assert_eq(oc_put(cl, ACCT, "c", obj, data, size, &opts), 0);

	cr_assert_eq(oc_get(cl, ACCT, "c", obj, &got, &info), 0);
	cr_assert_eq(got.len, size);
	cr_assert(!memcmp(got.data, data, size), "GET gave other bytes");
	cr_expect_eq(info.size, size);
	cr_expect_str_eq(info.etag, etag);
	cr_expect_str_eq(info.content_type, "text/x-test");
	cr_expect_eq(strlen(info.timestamp), 16);

	cr_assert_eq(oc_head(cl, ACCT, "c", obj, &hinfo), 0);
	cr_expect_eq(hinfo.size, size);
	cr_expect_str_eq(hinfo.etag, etag);
	cr_expect_str_eq(hinfo.timestamp, info.timestamp);
	cr_expect_str_eq(hinfo.content_type, "text/x-test");

	/* ranges: inside, across the end, at and past the end */
	cr_assert_eq(oc_get_range(cl, ACCT, "c", obj, part, 5000, 1000), 5000);
	cr_expect(!memcmp(part, data + 1000, 5000));
	cr_assert_eq(oc_get_range(cl, ACCT, "c", obj, part, 100, size - 10),
		     10);
	cr_expect(!memcmp(part, data + size - 10, 10));
	cr_expect_eq(oc_get_range(cl, ACCT, "c", obj, part, 10, size), 0);
	cr_expect_eq(oc_get_range(cl, ACCT, "c", obj, part, 10, size + 99), 0);
	cr_expect_eq(oc_get_range(cl, ACCT, "c", obj, part, 1, 0), 1);
	cr_expect_eq(part[0], data[0]);

	/* an empty object */
	cr_assert_eq(oc_put(cl, ACCT, "c", "empty", "", 0, NULL), 0);
	got.len = 0;
	cr_assert_eq(oc_get(cl, ACCT, "c", "empty", &got, &info), 0);
	cr_expect_eq(got.len, 0);
	cr_expect_eq(info.size, 0);
	cr_expect_str_eq(info.etag, "d41d8cd98f00b204e9800998ecf8427e");
	cr_expect_str_eq(info.content_type, "application/octet-stream");
	cr_expect_eq(oc_get_range(cl, ACCT, "c", "empty", part, 10, 0), 0);

	/* overwrites right after each other: the last one wins */
	cr_assert_eq(oc_put(cl, ACCT, "c", "v", "one", 3, NULL), 0);
	cr_assert_eq(oc_put(cl, ACCT, "c", "v", "two", 3, NULL), 0);
	cr_assert_eq(oc_put(cl, ACCT, "c", "v", "three", 5, NULL), 0);
	got.len = 0;
	cr_assert_eq(oc_get(cl, ACCT, "c", "v", &got, NULL), 0);
	cr_expect_eq(got.len, 5);
	cr_expect(!memcmp(got.data, "three", 5));

	/* delete: gone by quorum, a second delete finds nothing */
	cr_assert_eq(oc_delete(cl, ACCT, "c", obj), 0);
	got.len = 0;
	cr_expect_eq(oc_get(cl, ACCT, "c", obj, &got, NULL), -ENOENT);
	cr_expect_eq(got.len, 0);
	cr_expect_eq(oc_head(cl, ACCT, "c", obj, &info), -ENOENT);
	cr_expect_eq(oc_get_range(cl, ACCT, "c", obj, part, 10, 0), -ENOENT);
	cr_expect_eq(oc_delete(cl, ACCT, "c", obj), -ENOENT);
	buf_free(&got);
	cluster_hdrs_free(&meta);
	free(data);
}

/* xxh_etag (volume chunks): no MD5 anywhere, the body's XXH3-128 is the
 * ETag every replica stores; whole GETs of a large body (read ahead), a
 * small one (read at once) and an empty one pass the object servers'
 * check by it */
Test(objclient, xxh_etag_put_stores_the_body_xxh128)
{
	static const size_t sizes[] = {3 << 20, 5000, 0};
	struct oc_put_opts opts = {.xxh_etag = 1};
	struct oc_info info;
	struct buf got = {0};
	char *data = malloc(sizes[0]), etag[33], md5[33];
	size_t i;

	srand(11);
	random_bytes(data, sizes[0]);
	cr_assert_eq(oc_container_create(cl, ACCT, "c"), 0);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		xxh128_hex(data, sizes[i], etag);
		md5_of(data, sizes[i], md5);
		cr_assert_eq(
			oc_put(cl, ACCT, "c", "xxh", data, sizes[i], &opts), 0);
		got.len = 0;
		cr_assert_eq(oc_get(cl, ACCT, "c", "xxh", &got, &info), 0,
			     "GET of %zu bytes", sizes[i]);
		cr_assert_eq(got.len, sizes[i]);
		cr_expect(!memcmp(got.data, data, sizes[i]),
			  "GET gave other bytes");
		cr_expect_str_eq(info.etag, etag);
		cr_expect_str_neq(info.etag, md5);
		cr_assert_eq(oc_head(cl, ACCT, "c", "xxh", &info), 0);
		cr_expect_str_eq(info.etag, etag);
	}
	buf_free(&got);
	free(data);
}

struct quorum_seen {
	int calls, rc;
};

static void quorum_cb(void *arg, int rc)
{
	struct quorum_seen *q = arg;

	q->calls++;
	q->rc = rc;
}

/* at_quorum: called once, with what oc_put then returns, also when the
 * PUT fails before any body went out */
Test(objclient, at_quorum_called_once_with_the_result)
{
	struct quorum_seen q = {0, 1};
	struct oc_put_opts opts = {.at_quorum = quorum_cb, .arg = &q};
	struct buf got = {0};

	cr_assert_eq(oc_container_create(cl, ACCT, "c"), 0);
	cr_assert_eq(oc_put(cl, ACCT, "c", "q", "quorum", 6, &opts), 0);
	cr_expect_eq(q.calls, 1);
	cr_expect_eq(q.rc, 0);
	cr_assert_eq(oc_get(cl, ACCT, "c", "q", &got, NULL), 0);
	cr_expect_eq(got.len, 6);
	cr_expect(!memcmp(got.data, "quorum", 6));

	q.calls = 0;
	opts.if_none_match = 1;
	cr_expect_eq(oc_put(cl, ACCT, "c", "q", "again", 5, &opts), -EEXIST);
	cr_expect_eq(q.calls, 1);
	cr_expect_eq(q.rc, -EEXIST);
	buf_free(&got);
}

Test(objclient, if_none_match_create_loses_with_eexist)
{
	struct oc_put_opts create = {NULL, 1, NULL};
	struct buf got = {0};

	cr_assert_eq(oc_container_create(cl, ACCT, "c"), 0);
	cr_assert_eq(oc_put(cl, ACCT, "c", "once", "first", 5, &create), 0);
	cr_expect_eq(oc_put(cl, ACCT, "c", "once", "second", 6, &create),
		     -EEXIST);
	cr_assert_eq(oc_get(cl, ACCT, "c", "once", &got, NULL), 0);
	cr_expect_eq(got.len, 5);
	cr_expect(!memcmp(got.data, "first", 5));
	/* a plain PUT still overwrites */
	cr_expect_eq(oc_put(cl, ACCT, "c", "once", "third", 5, NULL), 0);
	buf_free(&got);
}

static int count_row(void *arg, const char *name, uint64_t size,
		     const char *etag)
{
	(void)name;
	(void)size;
	(void)etag;
	(*(int *)arg)++;
	return 0;
}

Test(objclient, missing_and_bad_names)
{
	struct buf got = {0};
	struct oc_info info;
	char b[10], longname[1100];
	int n = 0;

	cr_assert_eq(oc_container_create(cl, ACCT, "c"), 0);
	cr_expect_eq(oc_get(cl, ACCT, "c", "nothing", &got, &info), -ENOENT);
	cr_expect_eq(oc_head(cl, ACCT, "c", "nothing", &info), -ENOENT);
	cr_expect_eq(oc_get_range(cl, ACCT, "c", "nothing", b, 10, 0), -ENOENT);
	cr_expect_eq(oc_delete(cl, ACCT, "c", "nothing"), -ENOENT);
	cr_expect_eq(
		oc_list(cl, ACCT, "nocontainer", NULL, NULL, count_row, &n),
		-ENOENT);
	cr_expect_eq(
		oc_list(cl, "AUTH_noaccount", "c", NULL, NULL, count_row, &n),
		-ENOENT);
	cr_expect_eq(oc_list(cl, ACCT, "c", NULL, NULL, count_row, &n), 0);
	cr_expect_eq(n, 0);

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	cr_expect_eq(oc_put(cl, ACCT, "c", "", "x", 1, NULL), -EINVAL);
	cr_expect_eq(oc_put(cl, ACCT, "c", longname, "x", 1, NULL), -EINVAL);
	cr_expect_eq(oc_put(cl, ACCT, "c", "bad\xff", "x", 1, NULL), -EINVAL);
	cr_expect_eq(oc_put(cl, ACCT, "c/d", "o", "x", 1, NULL), -EINVAL);
	cr_expect_eq(oc_get(cl, "", "c", "o", &got, NULL), -EINVAL);
	cr_expect_eq(oc_container_create(cl, ACCT, "a/b"), -EINVAL);
	cr_expect_eq(oc_list(cl, ACCT, "", NULL, NULL, count_row, &n), -EINVAL);
	buf_free(&got);
}

/* An object row straight on the container primaries, as the object
 * servers send them (a fast way to a long listing). */
static void put_row(const struct cluster_nodes *nodes, const char *name)
{
	struct cluster_hdrs h[CLUSTER_MAX_NODES];
	struct cluster_resp r[CLUSTER_MAX_NODES];
	static int64_t tick;
	int i, ok = 0;

	memset(h, 0, sizeof(h));
	memset(r, 0, sizeof(r));
	for (i = 0; i < nodes->nprimary; i++) {
		cluster_hdrs_addf(&h[i], "X-Timestamp", "1700000000.%05lld",
				  (long long)++tick % 100000);
		cluster_hdrs_add(&h[i], "X-Size", "7");
		cluster_hdrs_add(&h[i], "X-Content-Type", "text/plain");
		cluster_hdrs_add(&h[i], "X-Etag",
				 "0123456789abcdef0123456789abcdef");
		cluster_hdrs_add(&h[i], "X-Backend-Storage-Policy-Index", "0");
	}
	cr_assert_eq(cluster_make_requests(cl, nodes, "PUT", ACCT, "big", name,
					   NULL, h, nodes->nprimary, NULL, 0,
					   NULL, r),
		     0);
	for (i = 0; i < nodes->nprimary; i++) {
		ok += r[i].status == 201;
		cluster_resp_free(&r[i]);
		cluster_hdrs_free(&h[i]);
	}
	cr_assert_eq(ok, nodes->nprimary, "row %s not stored", name);
}

struct seen {
	int n;
	int bad_order;
	int stop_at;
	char last[1100];
	int real_rows; /* rows of the objects put through oc_put */
};

static int note_row(void *arg, const char *name, uint64_t size,
		    const char *etag)
{
	struct seen *s = arg;

	if (s->n && strcmp(s->last, name) >= 0)
		s->bad_order++;
	snprintf(s->last, sizeof(s->last), "%s", name);
	s->n++;
	if (!strncmp(name, "real", 4)) {
		char want[33];

		md5_of(name, strlen(name), want);
		if (size == strlen(name) && !strcmp(etag, want))
			s->real_rows++;
	}
	if (s->stop_at && s->n == s->stop_at)
		return 42;
	return 0;
}

Test(objclient, listing_pages_past_the_server_limit)
{
	const int rows = 10050; /* the servers give 10,000 a page */
	struct cluster_nodes nodes;
	struct seen s;
	char name[64];
	int i;

	cr_assert_eq(oc_container_create(cl, ACCT, "big"), 0);
	cr_assert_eq(cluster_lookup(cl, CLUSTER_CONTAINER, ACCT, "big", NULL,
				    &nodes),
		     0);
	for (i = 0; i < rows; i++) {
		snprintf(name, sizeof(name), "row%06d", i);
		put_row(&nodes, name);
	}
	cluster_nodes_release(&nodes);
	/* and a few real objects: their rows come from the object servers */
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "real%d", i);
		cr_assert_eq(
			oc_put(cl, ACCT, "big", name, name, strlen(name), NULL),
			0);
	}

	memset(&s, 0, sizeof(s));
	cr_assert_eq(oc_list(cl, ACCT, "big", NULL, NULL, note_row, &s), 0);
	cr_expect_eq(s.n, rows + 3);
	cr_expect_eq(s.bad_order, 0);
	cr_expect_eq(s.real_rows, 3);
	cr_expect_str_eq(s.last, "row010049");

	/* from a marker, with a prefix, and stopped by the callback */
	memset(&s, 0, sizeof(s));
	cr_assert_eq(oc_list(cl, ACCT, "big", NULL, "row000049", note_row, &s),
		     0);
	cr_expect_eq(s.n, rows - 50);
	memset(&s, 0, sizeof(s));
	cr_assert_eq(oc_list(cl, ACCT, "big", "row0100", NULL, note_row, &s),
		     0);
	cr_expect_eq(s.n, 50);
	memset(&s, 0, sizeof(s));
	cr_assert_eq(oc_list(cl, ACCT, "big", "real", NULL, note_row, &s), 0);
	cr_expect_eq(s.n, 3);
	cr_expect_eq(s.real_rows, 3);
	memset(&s, 0, sizeof(s));
	s.stop_at = 10001;
	cr_expect_eq(oc_list(cl, ACCT, "big", NULL, NULL, note_row, &s), 42);
	cr_expect_eq(s.n, 10001);

	/* deleted objects leave the listing */
	cr_assert_eq(oc_delete(cl, ACCT, "big", "real1"), 0);
	memset(&s, 0, sizeof(s));
	cr_assert_eq(oc_list(cl, ACCT, "big", "real", NULL, note_row, &s), 0);
	cr_expect_eq(s.n, 2);
}

Test(objclient, container_create_is_listed_by_the_account)
{
	struct cluster_nodes nodes;
	struct cluster_resp r;
	struct cluster_get *g = NULL;
	struct buf body = {0};
	char chunk[4096];
	ssize_t n;
	int count = 0;

	cr_assert_eq(oc_container_create(cl, "AUTH_fresh", "one"), 0);
	cr_assert_eq(oc_container_create(cl, "AUTH_fresh", "one"), 0);
	cr_assert_eq(oc_container_create(cl, "AUTH_fresh", "two"), 0);
	cr_assert_eq(
		oc_list(cl, "AUTH_fresh", "two", NULL, NULL, count_row, &count),
		0);
	cr_expect_eq(count, 0);
	cr_assert_eq(cluster_lookup(cl, CLUSTER_ACCOUNT, "AUTH_fresh", NULL,
				    NULL, &nodes),
		     0);
	cr_assert_eq(cluster_get_open(cl, &nodes, "GET", "AUTH_fresh", NULL,
				      NULL, NULL, NULL, 0, NULL, &r, &g),
		     0);
	cr_assert_eq(r.status, 200);
	while ((n = cluster_get_read(g, chunk, sizeof(chunk))) > 0)
		buf_append(&body, chunk, (size_t)n);
	cr_assert_eq(n, 0);
	buf_append(&body, "", 1);
	cr_expect_str_eq((char *)body.data, "one\ntwo\n");
	cluster_get_close(g);
	cluster_resp_free(&r);
	cluster_nodes_release(&nodes);
	buf_free(&body);
}

/* Take device dN away (its folder renamed: the servers answer 507). */
static void device_gone(int d, int gone)
{
	char a[PATH_MAX + 32], b[PATH_MAX + 32];

	snprintf(a, sizeof(a), "%s/node/d%d", aiofix_dir, d);
	snprintf(b, sizeof(b), "%s/node/gone-d%d", aiofix_dir, d);
	cr_assert_eq(gone ? rename(a, b) : rename(b, a), 0, "rename %s: %m",
		     gone ? a : b);
}

Test(objclient, a_device_gone_still_writes_by_quorum)
{
	struct cluster_nodes nodes;
	struct buf got = {0};
	char name[32], body[64];
	int i, j, on_d1 = 0, count = 0;

	cr_assert_eq(oc_container_create(cl, ACCT, "c"), 0);
	device_gone(1, 1);
	/* objects whose primaries include d1 go to the handoff */
	for (i = 0; i < 24; i++) {
		snprintf(name, sizeof(name), "o%d", i);
		snprintf(body, sizeof(body), "body of %d", i);
		cr_assert_eq(cluster_lookup(cl, CLUSTER_OBJECT, ACCT, "c", name,
					    &nodes),
			     0);
		for (j = 0; j < nodes.nprimary; j++)
			on_d1 += !strcmp(nodes.dev[j]->device, "d1");
		cluster_nodes_release(&nodes);
		cr_assert_eq(
			oc_put(cl, ACCT, "c", name, body, strlen(body), NULL),
			0, "PUT %s with d1 gone", name);
		got.len = 0;
		cr_assert_eq(oc_get(cl, ACCT, "c", name, &got, NULL), 0);
		cr_assert_eq(got.len, strlen(body));
		cr_assert(!memcmp(got.data, body, got.len));
	}
	cr_assert_gt(on_d1, 5, "too few objects placed on d1 to test it");
	cr_expect_eq(oc_delete(cl, ACCT, "c", "o0"), 0);
	cr_expect_eq(oc_head(cl, ACCT, "c", "o0", NULL), -ENOENT);
	cr_expect_eq(oc_container_create(cl, ACCT, "c2"), 0);
	cr_expect_eq(oc_list(cl, ACCT, "c", NULL, NULL, count_row, &count), 0);
	cr_expect_eq(count, 23,
		     "listed %d objects of c, not 23 (24 PUT, o0 deleted)",
		     count);
	/* and every container replica that is up lists them all: a handoff
	 * stood in for d1 in every PUT, with d1's container update */
	cr_assert_eq(
		cluster_lookup(cl, CLUSTER_CONTAINER, ACCT, "c", NULL, &nodes),
		0);
	for (j = 0; j < nodes.nprimary; j++) {
		const struct ring_dev *dev = nodes.dev[j];
		struct cluster_hdrs h = {0};
		struct cluster_resp r;
		size_t k, lines = 0;

		if (!strcmp(dev->device, "d1"))
			continue;
		memset(&r, 0, sizeof(r));
		cr_assert_eq(cluster_requests_at(cl, &nodes, &dev, 1, "GET",
						 ACCT, "c", NULL, &h, NULL, &r),
			     0);
		cr_expect_eq(r.status, 200, "container GET on %s: %d",
			     dev->device, r.status);
		for (k = 0; k < r.body.len; k++)
			lines += r.body.data[k] == '\n';
		cr_expect_eq(lines, 23, "the container replica on %s lists %zu",
			     dev->device, lines);
		cluster_resp_free(&r);
	}
	cluster_nodes_release(&nodes);

	/* three of four devices gone: no quorum anywhere */
	device_gone(2, 1);
	device_gone(3, 1);
	cr_expect_eq(oc_put(cl, ACCT, "c", "lost", "x", 1, NULL), -EIO);
	cr_expect_eq(oc_delete(cl, ACCT, "c", "o1"), -EIO);
	device_gone(1, 0);
	device_gone(2, 0);
	device_gone(3, 0);
	buf_free(&got);
}
