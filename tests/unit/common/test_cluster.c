/*
 * tests/unit/common/test_cluster.c: the cluster client (common/cluster.c):
 * quorum arithmetic, Swift's best_response vote, path quoting, header
 * lists, error limiting, and the streamed PUT and failover GET against a
 * fake object server run in-process on common/http.c (devices listed in
 * `broken` answer 507, as a server whose device directory is gone).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/cluster.h"
#include "common/curlpool.h"
#include "common/http.h"
#include "common/md5.h"
#include "common/policy.h"
#include "ring/builder.h"
#include "ring/ring.h"

Test(cluster, quorum_is_swift_quorum_size)
{
	cr_expect_eq(cluster_quorum(1), 1);
	cr_expect_eq(cluster_quorum(2), 2);
	cr_expect_eq(cluster_quorum(3), 2);
	cr_expect_eq(cluster_quorum(4), 3);
	cr_expect_eq(cluster_quorum(5), 3);
	cr_expect_eq(cluster_quorum(6), 4);
}

Test(cluster, best_status_votes_by_class)
{
	int a[] = {201, 201, 503};
	int b[] = {201, 503, 503};
	int c[] = {404, 404, 204};
	int d[] = {202, 201, 404};
	int e[] = {409, 404, 201};
	int f[] = {507, 503, 0};

	cr_expect_eq(cluster_best_status(a, 3, 0), 0);
	cr_expect_eq(cluster_best_status(b, 3, 0), -1);
	cr_expect_eq(cluster_best_status(c, 3, 0), 0);
	/* the highest status of the winning class */
	cr_expect_eq(cluster_best_status(d, 3, 0), 0);
	cr_expect_eq(cluster_best_status(e, 3, 0), 0);
	cr_expect_eq(cluster_best_status(f, 3, 0), -1);
	/* an explicit quorum: two of two answers is not three */
	cr_expect_eq(cluster_best_status(a, 2, 3), -1);
	cr_expect_eq(cluster_best_status(a, 0, 0), -1);
}

Test(cluster, quote_keeps_slash_and_unreserved)
{
	char out[64];

	cr_assert_eq(cluster_quote("a b/c%d~é", out, sizeof(out)), 18);
	cr_expect_str_eq(out, "a%20b/c%25d~%C3%A9");
	cr_expect_eq(cluster_quote("abcdef", out, 4), -ENAMETOOLONG);
}

Test(cluster, header_lists)
{
	struct cluster_hdrs h = {0}, g = {0};

	cr_assert_eq(cluster_hdrs_add(&h, "X-Timestamp", "1.00000"), 0);
	cr_assert_eq(cluster_hdrs_addf(&h, "X-Container-Partition", "%d", 7),
		     0);
	cr_expect_str_eq(cluster_hdrs_get(&h, "x-container-partition"), "7");
	cr_assert_eq(cluster_hdrs_set(&h, "X-Timestamp", "2.00000"), 0);
	cr_expect_eq(h.n, 2);
	cr_expect_str_eq(cluster_hdrs_get(&h, "X-TIMESTAMP"), "2.00000");
	cr_expect_null(cluster_hdrs_get(&h, "X-Time"));
	cr_assert_eq(cluster_hdrs_copy(&g, &h), 0);
	cr_expect_eq(g.n, 2);
	cr_expect_str_eq(g.lines[1], "X-Container-Partition: 7");
	cr_assert_eq(cluster_hdrs_add(&h, "Accept", ""), 0);
	cr_assert_eq(cluster_hdrs_add(&h, "Expect", NULL), 0);
	cr_expect_str_eq(h.lines[2], "Accept:");
	cr_expect_str_eq(h.lines[3], "Expect:");
	cluster_hdrs_free(&h);
	cluster_hdrs_free(&g);
}

/* The container updates of an object write: each slot names its own
 * container replicas (brackets around an IPv6 address), more updates
 * than slots go comma-separated, and a host too long for its header is
 * refused, not cut. */
Test(cluster, update_headers_per_slot)
{
	struct ring_dev a = {.ip = "10.0.0.1", .port = 6201, .device = "sda"};
	struct ring_dev b = {.ip = "fe80::1", .port = 6202, .device = "sdb"};
	struct ring_dev c = {.ip = "10.0.0.3", .port = 6203, .device = "sdc"};
	struct cluster_nodes upd = {.part = 77, .nprimary = 3, .n = 3};
	struct cluster_hdrs h[3] = {{0}};
	char ip[400];
	int i;

	upd.dev[0] = &a;
	upd.dev[1] = &b;
	upd.dev[2] = &c;
	cr_assert_eq(cluster_update_headers(h, 3, &upd, "Container", 3), 0);
	cr_expect_str_eq(cluster_hdrs_get(&h[0], "X-Container-Host"),
			 "10.0.0.1:6201");
	cr_expect_str_eq(cluster_hdrs_get(&h[1], "X-Container-Host"),
			 "[fe80::1]:6202");
	cr_expect_str_eq(cluster_hdrs_get(&h[2], "X-Container-Device"), "sdc");
	for (i = 0; i < 3; i++) {
		cr_expect_str_eq(
			cluster_hdrs_get(&h[i], "X-Container-Partition"), "77");
		cluster_hdrs_free(&h[i]);
	}
	cr_assert_eq(cluster_update_headers(h, 2, &upd, "Account", 3), 0);
	cr_expect_str_eq(cluster_hdrs_get(&h[0], "X-Account-Host"),
			 "10.0.0.1:6201,10.0.0.3:6203");
	cr_expect_str_eq(cluster_hdrs_get(&h[0], "X-Account-Device"),
			 "sda,sdc");
	cr_expect_str_eq(cluster_hdrs_get(&h[1], "X-Account-Device"), "sdb");
	cluster_hdrs_free(&h[0]);
	cluster_hdrs_free(&h[1]);
	memset(ip, '1', sizeof(ip) - 1);
	ip[sizeof(ip) - 1] = '\0';
	c.ip = ip;
	cr_expect_eq(cluster_update_headers(h, 3, &upd, "Container", 3),
		     -EINVAL);
	for (i = 0; i < 3; i++)
		cluster_hdrs_free(&h[i]);
}

/* Response headers: added past the arrays' first step, found in any case
 * (names sharing their first letter), taken out with the last moved in. */
Test(cluster, response_headers)
{
	struct cluster_resp r = {0};
	char name[32], value[32];
	int i;

	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "X-Object-Meta-%d", i);
		snprintf(value, sizeof(value), "v%d", i);
		cr_assert_eq(cluster_resp_add(&r, name, value), 0);
	}
	cr_assert_eq(cluster_resp_add(&r, "Etag", ""), 0);
	cr_expect_eq(r.nhdrs, 41);
	cr_expect_str_eq(cluster_resp_header(&r, "x-object-meta-17"), "v17");
	cr_expect_str_eq(cluster_resp_header(&r, "ETAG"), "");
	cr_expect_null(cluster_resp_header(&r, "X-Object-Meta"));
	cr_expect_null(cluster_resp_header(&r, "Content-Length"));
	cluster_resp_del(&r, 0);
	cr_expect_eq(r.nhdrs, 40);
	cr_expect_str_eq(r.hdr_names[0], "Etag");
	cr_expect_null(cluster_resp_header(&r, "X-Object-Meta-0"));
	cr_assert_eq(cluster_resp_add(&r, "Content-Type", "text/plain"), 0);
	cr_expect_str_eq(cluster_resp_header(&r, "content-type"), "text/plain");
	cr_expect_str_eq(r.hdr_values[40], "text/plain");
	cluster_resp_free(&r);
	cr_expect_eq(r.nhdrs, 0);
	cr_expect_null(r.hdr_names);
}

/* --- a fake object server ------------------------------------------------ */

static char broken[4][8]; /* devices that answer 507 */
static int puts_ok;	  /* PUT bodies received whole */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

struct fake_put {
	uint8_t *data;
	size_t len, cap;
};

static int is_broken(const char *path)
{
	int i;

	for (i = 0; i < 4; i++)
		if (broken[i][0] &&
		    !strncmp(path + 1, broken[i], strlen(broken[i])) &&
		    path[1 + strlen(broken[i])] == '/')
			return 1;
	return 0;
}

static const char body_text[] = "the stored body";

static void fake_headers(struct http_request *req)
{
	if (is_broken(http_raw_path(req))) {
		http_reply_error(req, 507, "no device");
		return;
	}
	if (!strcmp(http_method(req), "PUT")) {
		http_set_state(req, calloc(1, sizeof(struct fake_put)));
		return;
	}
	if (!strcmp(http_method(req), "GET")) {
		const char *pi =
			http_header(req, "X-Backend-Storage-Policy-Index");

		http_add_header(req, "X-Seen-Policy", pi ? pi : "none");
		http_add_header(req, "X-Timestamp", "1700000000.00000");
		http_reply(req, 200, body_text, strlen(body_text));
		return;
	}
	http_reply(req, 204, "", 0);
}

static void fake_body(struct http_request *req, const char *data, size_t len)
{
	struct fake_put *p = http_state(req);

	/* doubling: a 4 MiB body in 32 KiB pieces grown piece by piece
	 * copied ~256 MiB, over the client's timeout under ASan */
	if (p->len + len > p->cap) {
		p->cap = p->cap ? p->cap * 2 : 65536;
		if (p->cap < p->len + len)
			p->cap = p->len + len;
		p->data = realloc(p->data, p->cap);
		cr_assert_not_null(p->data);
	}
	memcpy(p->data + p->len, data, len);
	p->len += len;
}

static void fake_end(struct http_request *req)
{
	struct fake_put *p = http_state(req);
	uint8_t d[MD5_LEN];
	char hex[33];

	const char *trailer = http_footer(req, "X-Test-Trailer");

	md5_buf(p->data, p->len, d);
	md5_hex(d, hex);
	pthread_mutex_lock(&lock);
	puts_ok++;
	pthread_mutex_unlock(&lock);
	/* a trailer, when the body had one, stands for the body's MD5 */
	http_add_header(req, "Etag", trailer ? trailer : hex);
	http_reply(req, 201, "", 0);
}

static void fake_close(struct http_request *req, int completed)
{
	struct fake_put *p = http_state(req);

	(void)completed;
	if (p)
		free(p->data);
	free(p);
}

static const struct http_handler fake = {fake_headers, fake_body, fake_end,
					 fake_close};

static const struct http_handler *fake_route(struct http_request *req)
{
	(void)req;
	return &fake;
}

static struct http_server *srv;
static struct cluster *cl;
static char dir[] = "/tmp/kumo-cluster-test.XXXXXX";

/* A ring of devices d<first>..d<first+n-1> (zones 1..n) on the fake server,
 * with replicas rows, saved to path (atomically: a new inode). */
static void save_ring_rows(const char *path, int first, int n, int replicas)
{
	struct builder *b = NULL;
	struct rebalance_result res;
	struct ring *ring;
	char err[256];
	int i;

	cr_assert_eq(builder_create(6, replicas, 0, &b, err, sizeof(err)), 0);
	for (i = first; i < first + n; i++) {
		struct builder_dev t;
		char add[64], scratch[64];

		snprintf(add, sizeof(add), "r1z%d-127.0.0.1:%d/d%d",
			 i - first + 1, http_server_port(srv), i);
		cr_assert_eq(
			builder_parse_add(add, &t, scratch, err, sizeof(err)),
			0);
		t.weight = 100;
		cr_assert_geq(builder_add_dev(b, &t, err, sizeof(err)), 0);
	}
	cr_assert_eq(builder_rebalance(b, 1, &res, err, sizeof(err)), 0);
	ring = builder_get_ring(b);
	cr_assert_eq(ring_save(ring, path), 0);
	ring_put(ring);
	builder_free(b);
}

/* The same with 3 replicas. */
static void save_ring(const char *path, int first, int n)
{
	save_ring_rows(path, first, n, 3);
}

/* Rings with d1..d4 on the fake server, 3 replicas; a cluster over them. */
static void setup(void)
{
	static const char *const kinds[] = {"account", "container", "object"};
	struct http_server_opts o = {"127.0.0.1", 0, fake_route, NULL,
				     "fake",	  0, 10,	 1};
	struct cluster_conf cc = {dir, "", "x", 0.5, 2.0, 10, 60};
	int k;

	cr_assert_eq(http_server_start(&o, &srv), 0);
	cr_assert_not_null(mkdtemp(dir));
	for (k = 0; k < 3; k++) {
		char path[256];

		snprintf(path, sizeof(path), "%s/%s.ring.gz", dir, kinds[k]);
		save_ring(path, 1, 4);
	}
	cr_assert_eq(cluster_open(&cc, &cl), 0);
	memset(broken, 0, sizeof(broken));
	puts_ok = 0;
}

static void teardown(void)
{
	char cmd[128];

	cluster_close(cl);
	http_server_stop(srv);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

/* PUT 1 MiB in 64 KiB chunks, as length (-1: chunked); returns the
 * quorum status (or -errno). */
static int put_object_len(const char *name, int64_t length, int *nanswers,
			  char etag[33])
{
	struct cluster_nodes nodes;
	struct cluster_hdrs hdrs[CLUSTER_MAX_NODES];
	struct cluster_put *p = NULL;
	int statuses[CLUSTER_MAX_NODES], early, i, n = 0, rc, best;
	char etags[CLUSTER_MAX_NODES][33];
	static char data[1 << 20];

	memset(hdrs, 0, sizeof(hdrs));
	memset(data, 'k', sizeof(data));
	cr_assert_eq(cluster_lookup(cl, CLUSTER_OBJECT, "a", "c", name, &nodes),
		     0);
	cr_assert_eq(nodes.nprimary, 3);
	cr_assert_eq(nodes.n, 4);
	for (i = 0; i < 3; i++)
		cluster_hdrs_add(&hdrs[i], "X-Timestamp", "1700000000.00000");
	rc = cluster_put_open(cl, &nodes, "a", "c", name, hdrs, length, 2,
			      "txtest", &early, &p);
	if (rc)
		goto out;
	for (i = 0; i < (int)sizeof(data); i += 65536)
		cr_assert_eq(cluster_put_write(p, data + i, 65536), 0);
	cluster_put_finish(p, statuses, etags, &n);
	best = cluster_best_status(statuses, n, 2);
	rc = best < 0 ? 503 : statuses[best];
	snprintf(etag, 33, "%s", etags[best < 0 ? 0 : best]);
out:
	*nanswers = n;
	cluster_put_free(p);
	for (i = 0; i < 3; i++)
		cluster_hdrs_free(&hdrs[i]);
	cluster_nodes_release(&nodes);
	return rc;
}

/* put_object_len with the length. */
static int put_object(const char *name, int *nanswers, char etag[33])
{
	return put_object_len(name, 1 << 20, nanswers, etag);
}

Test(cluster, put_streams_to_all_primaries, .init = setup, .fini = teardown)
{
	static char data[1 << 20];
	uint8_t d[MD5_LEN];
	char etag[33], want[33];
	int n;

	memset(data, 'k', sizeof(data));
	md5_buf(data, sizeof(data), d);
	md5_hex(d, want);
	cr_expect_eq(put_object("o1", &n, etag), 201);
	cr_expect_eq(n, 3);
	cr_expect_str_eq(etag, want, "the body reached the backends whole");
	cr_expect_eq(puts_ok, 3);
}

Test(cluster, put_takes_a_handoff_for_a_507, .init = setup, .fini = teardown)
{
	struct cluster_nodes nodes;
	char etag[33];
	int n;

	cr_assert_eq(cluster_lookup(cl, CLUSTER_OBJECT, "a", "c", "o2", &nodes),
		     0);
	snprintf(broken[0], sizeof(broken[0]), "%s", nodes.dev[1]->device);
	cr_expect_eq(put_object("o2", &n, etag), 201);
	cr_expect_eq(n, 3, "the handoff stands in for the broken primary");
	cr_expect_eq(puts_ok, 3);
	/* a 507 error-limits the node at once */
	cr_expect(cluster_node_limited(cl, nodes.dev[1]));
	cr_expect_not(cluster_node_limited(cl, nodes.dev[0]));
	cluster_nodes_release(&nodes);
}

/* A body sent without Expect: 100-continue (objclient's, in memory, whole
 * in one write) that a primary refuses with 507 after it: the other two
 * are a quorum, and the node is error-limited at once, so the next PUTs
 * take a handoff at their start. */
Test(cluster, put_without_expect_limits_a_507, .init = setup, .fini = teardown)
{
	struct cluster_nodes nodes;
	struct cluster_hdrs hdrs[CLUSTER_MAX_NODES];
	struct cluster_put *p = NULL;
	int statuses[CLUSTER_MAX_NODES], early, i, n = 0, ok = 0;
	char etags[CLUSTER_MAX_NODES][33];
	static char data[4 << 20];

	memset(hdrs, 0, sizeof(hdrs));
	memset(data, 'e', sizeof(data));
	cr_assert_eq(cluster_lookup(cl, CLUSTER_OBJECT, "a", "c", "o9", &nodes),
		     0);
	snprintf(broken[0], sizeof(broken[0]), "%s", nodes.dev[1]->device);
	for (i = 0; i < 3; i++) {
		cluster_hdrs_add(&hdrs[i], "X-Timestamp", "1700000000.00000");
		cluster_hdrs_add(&hdrs[i], "Expect", "");
	}
	cr_assert_eq(cluster_put_open(cl, &nodes, "a", "c", "o9", hdrs,
				      sizeof(data), 2, "txtest", &early, &p),
		     0);
	cr_assert_eq(cluster_put_write(p, data, sizeof(data)), 0);
	cluster_put_finish(p, statuses, etags, &n);
	for (i = 0; i < n; i++)
		ok += statuses[i] == 201;
	cr_expect_eq(ok, 2, "the two good primaries store it");
	cr_expect(cluster_node_limited(cl, nodes.dev[1]),
		  "the 507 limits the node");
	cr_expect_not(cluster_node_limited(cl, nodes.dev[0]));
	cluster_put_free(p);
	for (i = 0; i < 3; i++)
		cluster_hdrs_free(&hdrs[i]);
	cluster_nodes_release(&nodes);
}

/* cluster_put_whole: a small body in memory, one request per slot over
 * kept connections (common/keepconn.c): a primary that refuses with 507
 * (after the body: no Expect) is error-limited and the handoff gets the
 * whole body; each answer's ETag is the body's MD5; a second PUT, on the
 * kept connections, goes the same way. */
Test(cluster, put_whole_fails_over_with_the_body, .init = setup,
     .fini = teardown)
{
	struct cluster_nodes nodes;
	struct cluster_hdrs hdrs[CLUSTER_MAX_NODES];
	int statuses[CLUSTER_MAX_NODES], i, round;
	char etags[CLUSTER_MAX_NODES][33], want[33];
	static char data[4096];
	uint8_t d[MD5_LEN];

	memset(hdrs, 0, sizeof(hdrs));
	memset(data, 'w', sizeof(data));
	md5_buf(data, sizeof(data), d);
	md5_hex(d, want);
	cr_assert_eq(cluster_lookup(cl, CLUSTER_OBJECT, "a", "c", "o8", &nodes),
		     0);
	snprintf(broken[0], sizeof(broken[0]), "%s", nodes.dev[1]->device);
	for (i = 0; i < 3; i++) {
		cluster_hdrs_add(&hdrs[i], "X-Timestamp", "1700000000.00000");
		cluster_hdrs_add(&hdrs[i], "Accept", ""); /* curl's: not sent */
	}
	for (round = 0; round < 2; round++) {
		puts_ok = 0;
		cr_assert_eq(cluster_put_whole(cl, &nodes, "a", "c", "o8", hdrs,
					       3, data, sizeof(data), "txtest",
					       statuses, etags),
			     0);
		for (i = 0; i < 3; i++) {
			cr_expect_eq(statuses[i], 201, "slot %d", i);
			cr_expect_str_eq(etags[i], want, "slot %d", i);
		}
		cr_expect_eq(puts_ok, 3, "three whole bodies, one a handoff's");
		cr_expect(cluster_node_limited(cl, nodes.dev[1]),
			  "the 507 limits the node");
		cr_expect_not(cluster_node_limited(cl, nodes.dev[0]));
	}
	for (i = 0; i < 3; i++)
		cluster_hdrs_free(&hdrs[i]);
	cluster_nodes_release(&nodes);
}

/* cluster_put_write_each: slot i gets its own body (an EC fragment
 * archive), also when a handoff stands in for a broken primary. */
Test(cluster, put_each_slot_its_own_body, .init = setup, .fini = teardown)
{
	struct cluster_nodes nodes;
	struct cluster_hdrs hdrs[CLUSTER_MAX_NODES];
	struct cluster_put *p = NULL;
	int statuses[CLUSTER_MAX_NODES], early, i, j, n = 0;
	char etags[CLUSTER_MAX_NODES][33], want[33];
	static char body[3][256 * 1024];
	const void *each[3] = {body[0], body[1], body[2]};
	uint8_t d[MD5_LEN];

	memset(hdrs, 0, sizeof(hdrs));
	for (i = 0; i < 3; i++)
		memset(body[i], 'a' + i, sizeof(body[i]));
	cr_assert_eq(cluster_lookup(cl, CLUSTER_OBJECT, "a", "c", "o5", &nodes),
		     0);
	snprintf(broken[0], sizeof(broken[0]), "%s", nodes.dev[1]->device);
	for (i = 0; i < 3; i++)
		cluster_hdrs_add(&hdrs[i], "X-Timestamp", "1700000000.00000");
	cr_assert_eq(cluster_put_open(cl, &nodes, "a", "c", "o5", hdrs,
				      sizeof(body[0]), 3, "txeach", &early, &p),
		     0);
	for (j = 0; j < (int)sizeof(body[0]); j += 65536) {
		const void *at[3];

		for (i = 0; i < 3; i++)
			at[i] = (const char *)each[i] + j;
		cr_assert_eq(cluster_put_write_each(p, at, 65536), 0);
	}
	cr_assert_eq(cluster_put_finish(p, statuses, etags, &n), 0);
	cr_assert_eq(n, 3);
	for (i = 0; i < 3; i++) {
		cr_expect_eq(statuses[i], 201);
		md5_buf(body[i], sizeof(body[i]), d);
		md5_hex(d, want);
		cr_expect_str_eq(etags[i], want, "slot %d got another body", i);
	}
	cluster_put_free(p);
	for (i = 0; i < 3; i++)
		cluster_hdrs_free(&hdrs[i]);
	cluster_nodes_release(&nodes);
}

Test(cluster, put_chunked_sends_trailers, .init = setup, .fini = teardown)
{
	struct cluster_nodes nodes;
	struct cluster_hdrs hdrs[CLUSTER_MAX_NODES];
	struct cluster_put *p = NULL;
	int statuses[CLUSTER_MAX_NODES], early, i, n = 0, round;
	char etags[CLUSTER_MAX_NODES][33], want[33];
	static char body[300 * 1024];

	memset(hdrs, 0, sizeof(hdrs));
	memset(body, 't', sizeof(body));
	cr_assert_eq(cluster_lookup(cl, CLUSTER_OBJECT, "a", "c", "o8", &nodes),
		     0);
	for (i = 0; i < 3; i++) {
		cluster_hdrs_add(&hdrs[i], "X-Timestamp", "1700000000.00000");
		cluster_hdrs_add(&hdrs[i], "Trailer", "X-Test-Trailer");
	}
	/* twice: the second upload runs on the first one's connections
	 * (and would run on its easy handles, were they kept) */
	for (round = 0; round < 2; round++) {
		cr_assert_eq(cluster_put_open(cl, &nodes, "a", "c", "o8", hdrs,
					      -1, 3, "txtrail", &early, &p),
			     0);
		cr_assert_eq(cluster_put_write(p, body, 100 * 1024), 0);
		cr_assert_eq(cluster_put_write(p, body, 200 * 1024), 0);
		/* known only once the body is written: after it, to all */
		cr_assert_eq(
			cluster_put_trailer(p, "X-Test-Trailer", "late-value"),
			0);
		cr_assert_eq(cluster_put_finish(p, statuses, etags, &n), 0);
		cr_assert_eq(n, 3);
		for (i = 0; i < 3; i++) {
			cr_expect_eq(statuses[i], 201);
			cr_expect_str_eq(etags[i], "late-value",
					 "slot %d: no trailer", i);
		}
		cluster_put_free(p);
		p = NULL;
	}
	/* then a chunked upload without trailers on the same pool */
	cr_assert_eq(put_object_len("o9", -1, &n, want), 201);
	cr_expect_eq(n, 3);
	for (i = 0; i < 3; i++)
		cluster_hdrs_free(&hdrs[i]);
	cluster_nodes_release(&nodes);
}

Test(cluster, put_without_quorum_fails, .init = setup, .fini = teardown)
{
	struct cluster_nodes nodes;
	char etag[33];
	int n, i;

	cr_assert_eq(cluster_lookup(cl, CLUSTER_OBJECT, "a", "c", "o3", &nodes),
		     0);
	for (i = 0; i < 3; i++) /* two primaries and the handoff */
		snprintf(broken[i], sizeof(broken[i]), "%s",
			 nodes.dev[i + 1]->device);
	cr_expect_eq(put_object("o3", &n, etag), -EIO);
	cr_expect_eq(puts_ok, 0);
	cluster_nodes_release(&nodes);
}

Test(cluster, get_falls_over_to_the_next_node, .init = setup, .fini = teardown)
{
	struct cluster_nodes nodes;
	struct cluster_resp r = {0};
	struct cluster_get *g = NULL;
	char buf[64];
	ssize_t got;

	cr_assert_eq(cluster_lookup(cl, CLUSTER_OBJECT, "a", "c", "o4", &nodes),
		     0);
	snprintf(broken[0], sizeof(broken[0]), "%s", nodes.dev[0]->device);
	cr_assert_eq(cluster_get_open(cl, &nodes, "GET", "a", "c", "o4", NULL,
				      NULL, 0, NULL, &r, &g),
		     0);
	cr_assert_not_null(g);
	cr_expect_eq(r.status, 200);
	cr_expect_eq(r.dev, nodes.dev[1]);
	cr_expect_str_eq(cluster_resp_header(&r, "x-timestamp"),
			 "1700000000.00000");
	got = cluster_get_read(g, buf, sizeof(buf));
	cr_assert_eq(got, (ssize_t)strlen(body_text));
	cr_expect_eq(memcmp(buf, body_text, (size_t)got), 0);
	cr_expect_eq(cluster_get_read(g, buf, sizeof(buf)), 0);
	cluster_get_close(g);
	cluster_resp_free(&r);
	cluster_nodes_release(&nodes);
}

/* The engine drives its pooled multi handle through curl's socket
 * interface (socket and timer callbacks pointing at the engine). A
 * handle given back to the pool must carry no callback into the freed
 * engine: objectd's updater drives pooled handles with
 * curl_multi_perform, which calls them (`make asan`, or valgrind
 * --trace-children=yes, reports engine_timer's write into the freed
 * cluster_get when engine_free leaves them set). */
Test(cluster, pooled_multi_serves_perform_after_engine, .init = setup,
     .fini = teardown)
{
	struct cluster_nodes nodes;
	struct cluster_resp r = {0};
	struct cluster_get *g = NULL;
	char buf[64], url[128], etag[33];
	CURLM *m;
	CURL *easy;
	CURLMsg *msg;
	long code = 0;
	int running = 1, left, n;
	CURLcode res = CURLE_FAILED_INIT;

	cr_assert_eq(put_object("o5", &n, etag), 201);
	cr_assert_eq(cluster_lookup(cl, CLUSTER_OBJECT, "a", "c", "o5", &nodes),
		     0);
	cr_assert_eq(cluster_get_open(cl, &nodes, "GET", "a", "c", "o5", NULL,
				      NULL, 0, NULL, &r, &g),
		     0);
	cr_assert_not_null(g);
	while (cluster_get_read(g, buf, sizeof(buf)) > 0)
		;
	cluster_get_close(g);
	cluster_resp_free(&r);
	cluster_nodes_release(&nodes);

	m = curlpool_get();
	easy = curl_easy_init();
	cr_assert(m && easy);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/d1/0/a/c/o5",
		 http_server_port(srv));
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
	curl_multi_add_handle(m, easy);
	while (running) {
		cr_assert_eq(curl_multi_perform(m, &running), CURLM_OK);
		if (running)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	while ((msg = curl_multi_info_read(m, &left)))
		if (msg->msg == CURLMSG_DONE)
			res = msg->data.result;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	cr_expect_eq(res, CURLE_OK);
	cr_expect_eq(code, 204); /* the fake server's HEAD */
	curl_multi_remove_handle(m, easy);
	curl_easy_cleanup(easy);
	curlpool_put(m);
}

Test(cluster, make_requests_and_error_limiting, .init = setup, .fini = teardown)
{
	struct cluster_nodes nodes;
	struct cluster_hdrs hdrs[3];
	struct cluster_resp resps[3];
	int i;

	memset(hdrs, 0, sizeof(hdrs));
	memset(resps, 0, sizeof(resps));
	cr_assert_eq(
		cluster_lookup(cl, CLUSTER_CONTAINER, "a", "c", NULL, &nodes),
		0);
	snprintf(broken[0], sizeof(broken[0]), "%s", nodes.dev[2]->device);
	cr_assert_eq(cluster_make_requests(cl, &nodes, "DELETE", "a", "c", NULL,
					   NULL, hdrs, 3, NULL, 0, NULL, resps),
		     0);
	for (i = 0; i < 3; i++) {
		cr_expect_eq(resps[i].status, 204);
		cluster_resp_free(&resps[i]);
	}
	cr_expect_eq(resps[2].dev, NULL); /* freed; the handoff answered */
	cr_expect(cluster_node_limited(cl, nodes.dev[2]));
	/* plain errors limit only past error_suppression_limit (10) */
	for (i = 0; i < 10; i++)
		cluster_node_error(cl, nodes.dev[0]);
	cr_expect_not(cluster_node_limited(cl, nodes.dev[0]));
	cluster_node_error(cl, nodes.dev[0]);
	cr_expect(cluster_node_limited(cl, nodes.dev[0]));
	cluster_nodes_release(&nodes);
}

/* The device number of every node of obj: all below 10 (d1..d4) or all
 * above (d11..); -1 when mixed. */
static int ring_generation(struct cluster *c, const char *obj)
{
	struct cluster_nodes nodes;
	int i, old = 0, fresh = 0;

	cr_assert_eq(cluster_lookup(c, CLUSTER_OBJECT, "a", "c", obj, &nodes),
		     0);
	for (i = 0; i < nodes.n; i++) {
		if (atoi(nodes.dev[i]->device + 1) < 10)
			old++;
		else
			fresh++;
	}
	cluster_nodes_release(&nodes);
	return fresh == 0 ? 0 : old == 0 ? 1 : -1;
}

Test(cluster, rings_reloaded_after_interval, .init = setup, .fini = teardown)
{
	struct cluster_conf cc = {dir, "", "x", 0.5, 2.0, 10, 60, 0.3};
	struct cluster_nodes held;
	struct cluster *c = NULL;
	char path[256];
	FILE *f;

	cr_assert_eq(cluster_open(&cc, &c), 0);
	cr_assert_eq(ring_generation(c, "o"), 0);
	/* a lookup in flight keeps its ring (and its devices) */
	cr_assert_eq(cluster_lookup(c, CLUSTER_OBJECT, "a", "c", "o", &held),
		     0);
	snprintf(path, sizeof(path), "%s/object.ring.gz", dir);
	save_ring(path, 11, 6);
	cr_expect_eq(ring_generation(c, "o"), 0,
		     "reloaded before the interval");
	usleep(400 * 1000);
	cr_expect_eq(ring_generation(c, "o"), 1, "new ring not loaded");
	cr_expect_eq(ring_generation(c, "p"), 1);
	cr_expect_eq(cluster_replicas(c, CLUSTER_OBJECT), 3);
	cr_expect_lt(atoi(held.dev[0]->device + 1), 10);
	cr_expect_eq(held.ring->num_devs, 4);
	cluster_nodes_release(&held);
	/* the other rings did not change */
	cr_assert_eq(
		cluster_lookup(c, CLUSTER_CONTAINER, "a", "c", NULL, &held), 0);
	cr_expect_eq(held.ring->num_devs, 4);
	cluster_nodes_release(&held);

	/* a corrupt file (a copy cut short) keeps the ring in use */
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("\x1f\x8b not a ring", f);
	fclose(f);
	usleep(400 * 1000);
	cr_expect_eq(ring_generation(c, "o"), 1, "corrupt ring replaced ours");
	usleep(400 * 1000);
	cr_expect_eq(ring_generation(c, "o"), 1);
	/* a missing file too; a good one after it is loaded */
	cr_assert_eq(unlink(path), 0);
	usleep(400 * 1000);
	cr_expect_eq(ring_generation(c, "o"), 1, "ring lost with its file");
	save_ring(path, 1, 4);
	usleep(400 * 1000);
	cr_expect_eq(ring_generation(c, "o"), 0, "good ring not loaded");
	cluster_close(c);
}

struct reload_race {
	struct cluster *c;
	volatile int stop;
	int lookups, bad;
};

static void *race_lookups(void *arg)
{
	struct reload_race *r = arg;
	char name[32];
	int i = 0;

	while (!r->stop) {
		struct cluster_nodes nodes;

		snprintf(name, sizeof(name), "o%d", i++);
		if (cluster_lookup(r->c, CLUSTER_OBJECT, "a", "c", name,
				   &nodes)) {
			__atomic_add_fetch(&r->bad, 1, __ATOMIC_RELAXED);
			continue;
		}
		/* read every device while other threads swap rings */
		for (int k = 0; k < nodes.n; k++)
			if (nodes.dev[k]->device[0] != 'd')
				__atomic_add_fetch(&r->bad, 1,
						   __ATOMIC_RELAXED);
		cluster_nodes_release(&nodes);
		__atomic_add_fetch(&r->lookups, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Lookups from four threads while the ring file changes under them: each
 * answer is whole (ASan and TSan builds check the references). */
Test(cluster, reload_under_concurrent_lookups, .init = setup, .fini = teardown)
{
	struct cluster_conf cc = {dir, "", "x", 0.5, 2.0, 10, 60, 0.001};
	struct reload_race r = {0};
	pthread_t t[4];
	char path[256];
	int i;

	cr_assert_eq(cluster_open(&cc, &r.c), 0);
	snprintf(path, sizeof(path), "%s/object.ring.gz", dir);
	for (i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, race_lookups, &r), 0);
	for (i = 0; i < 20; i++) {
		save_ring(path, i % 2 ? 1 : 11, 4 + i % 3);
		usleep(10 * 1000);
	}
	r.stop = 1;
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	cr_expect_eq(r.bad, 0);
	cr_expect_gt(r.lookups, 20);
	cluster_close(r.c);
}

/* The X-Backend-Storage-Policy-Index a GET to nodes carried when the
 * caller's headers said `given`. */
static char *seen_policy(struct cluster *c, const struct cluster_nodes *n,
			 const char *given)
{
	struct cluster_hdrs h = {0};
	struct cluster_resp r = {0};
	struct cluster_get *g = NULL;
	const char *v;
	char *out;

	cr_assert_eq(
		cluster_hdrs_add(&h, "X-Backend-Storage-Policy-Index", given),
		0);
	cr_assert_eq(cluster_get_open(c, n, "GET", "a", "c", "o", NULL, &h, 0,
				      NULL, &r, &g),
		     0);
	cr_assert_eq(r.status, 200);
	v = cluster_resp_header(&r, "X-Seen-Policy");
	out = strdup(v ? v : "missing");
	cluster_get_close(g);
	cluster_resp_free(&r);
	cluster_hdrs_free(&h);
	return out;
}

/* object.ring.gz for policy 0, object-N.ring.gz for N; an EC policy's
 * ring must have k + m replicas; every object request carries the
 * policy of the ring its nodes came from. */
Test(cluster, object_ring_per_policy, .init = setup, .fini = teardown)
{
	static const char conf[] =
		"[storage-policy:0]\nname = gold\ndefault = yes\n"
		"[storage-policy:1]\nname = silver\n"
		"[storage-policy:2]\nname = ec\npolicy_type = "
		"erasure_coding\nec_type = liberasurecode_rs_vand\n"
		"ec_num_data_fragments = 4\nec_num_parity_fragments = 2\n";
	struct cluster_conf cc = {dir, "", "x", 0.5, 2.0, 10, 60};
	struct cluster_nodes n;
	struct cluster *c = NULL;
	char path[256], err[256], *seen;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "%s/swift.conf", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(conf, f);
	fclose(f);
	cr_assert_eq(policy_load(path, err, sizeof(err)), 0, "%s", err);
	/* no object-1 ring yet */
	cr_expect_eq(cluster_open(&cc, &c), -ENOENT);
	snprintf(path, sizeof(path), "%s/object-1.ring.gz", dir);
	save_ring(path, 11, 4);
	/* an EC 4+2 ring of 3 replicas is refused */
	snprintf(path, sizeof(path), "%s/object-2.ring.gz", dir);
	save_ring(path, 21, 6);
	cr_expect_eq(cluster_open(&cc, &c), -EINVAL);
	save_ring_rows(path, 21, 6, 6);
	cr_assert_eq(cluster_open(&cc, &c), 0);
	cr_expect_eq(cluster_replicas_policy(c, 0), 3);
	cr_expect_eq(cluster_replicas_policy(c, 2), 6);
	cr_expect_eq(cluster_replicas_policy(c, 3), -EINVAL);
	cr_expect_eq(cluster_lookup_policy(c, 3, "a", "c", "o", &n), -EINVAL);

	cr_assert_eq(cluster_lookup_policy(c, 1, "a", "c", "o", &n), 0);
	cr_expect_eq(n.policy, 1);
	cr_expect_eq(n.kind, CLUSTER_OBJECT);
	for (i = 0; i < n.n; i++)
		cr_expect(atoi(n.dev[i]->device + 1) / 10 == 1, "%s",
			  n.dev[i]->device);
	seen = seen_policy(c, &n, "0");
	cr_expect_str_eq(seen, "1", "policy 1's ring, header %s", seen);
	free(seen);
	cluster_nodes_release(&n);

	cr_assert_eq(cluster_lookup_policy(c, 2, "a", "c", "o", &n), 0);
	cr_expect_eq(n.nprimary, 6);
	for (i = 0; i < n.nprimary; i++)
		cr_expect(atoi(n.dev[i]->device + 1) / 10 == 2);
	cluster_nodes_release(&n);

	/* policy 0's ring is CLUSTER_OBJECT's */
	cr_assert_eq(cluster_lookup(c, CLUSTER_OBJECT, "a", "c", "o", &n), 0);
	cr_expect_eq(n.policy, 0);
	cr_expect_lt(atoi(n.dev[0]->device + 1), 10);
	seen = seen_policy(c, &n, "7");
	cr_expect_str_eq(seen, "0");
	free(seen);
	cluster_nodes_release(&n);
	/* a container request keeps the caller's header */
	cr_assert_eq(cluster_lookup(c, CLUSTER_CONTAINER, "a", "c", NULL, &n),
		     0);
	seen = seen_policy(c, &n, "1");
	cr_expect_str_eq(seen, "1");
	free(seen);
	cluster_nodes_release(&n);
	cluster_close(c);
	policy_reset();
}

/* A PUT slot is its primary's: with primary 0 error-limited the handoff
 * stands in for slot 0, and slots 1 and 2 keep primaries 1 and 2 (an EC
 * slot's fragment index is its primary's). */
Test(cluster, put_slot_keeps_its_primary, .init = setup, .fini = teardown)
{
	struct cluster_nodes nodes;
	struct cluster_hdrs hdrs[CLUSTER_MAX_NODES];
	struct cluster_put *p = NULL;
	const struct ring_dev *devs[CLUSTER_MAX_NODES];
	int statuses[CLUSTER_MAX_NODES], slots[CLUSTER_MAX_NODES], early, i;
	int n = 0;
	char etags[CLUSTER_MAX_NODES][33];

	memset(hdrs, 0, sizeof(hdrs));
	cr_assert_eq(cluster_lookup(cl, CLUSTER_OBJECT, "a", "c", "o7", &nodes),
		     0);
	cluster_node_error_limit(cl, nodes.dev[0]);
	for (i = 0; i < 3; i++)
		cluster_hdrs_add(&hdrs[i], "X-Timestamp", "1700000000.00000");
	cr_assert_eq(cluster_put_open(cl, &nodes, "a", "c", "o7", hdrs, 4, 3,
				      "txslot", &early, &p),
		     0);
	cr_assert_eq(cluster_put_write(p, "abcd", 4), 0);
	cr_assert_eq(
		cluster_put_finish_nodes(p, statuses, etags, slots, devs, &n),
		0);
	cr_assert_eq(n, 3);
	for (i = 0; i < 3; i++) {
		cr_expect_eq(statuses[i], 201);
		cr_expect_eq(slots[i], i);
		cr_expect_eq(devs[i], nodes.dev[i ? i : 3], "slot %d on %s", i,
			     devs[i]->device);
	}
	cluster_put_free(p);
	for (i = 0; i < 3; i++)
		cluster_hdrs_free(&hdrs[i]);
	cluster_nodes_release(&nodes);
}

/* cluster_requests_at: each request to its named node only, a failing
 * one not taken over by another node. */
Test(cluster, requests_at_named_nodes, .init = setup, .fini = teardown)
{
	struct cluster_nodes nodes;
	struct cluster_hdrs hdrs[2];
	struct cluster_resp resps[2];
	const struct ring_dev *devs[2];
	int i;

	memset(hdrs, 0, sizeof(hdrs));
	memset(resps, 0, sizeof(resps));
	cr_assert_eq(cluster_lookup(cl, CLUSTER_OBJECT, "a", "c", "o8", &nodes),
		     0);
	devs[0] = nodes.dev[2];
	devs[1] = nodes.dev[0];
	snprintf(broken[0], sizeof(broken[0]), "%s", nodes.dev[0]->device);
	cr_assert_eq(cluster_requests_at(cl, &nodes, devs, 2, "COMMIT", "a",
					 "c", "o8", hdrs, "txat", resps),
		     0);
	cr_expect_eq(resps[0].status, 204);
	cr_expect_eq(resps[0].dev, nodes.dev[2]);
	cr_expect_eq(resps[1].status, 507, "no failover to another node");
	cr_expect_eq(resps[1].dev, nodes.dev[0]);
	for (i = 0; i < 2; i++)
		cluster_resp_free(&resps[i]);
	cluster_nodes_release(&nodes);
}

/* cluster_fetch: GETs of several nodes at once, each read on its own; a
 * node that fails is said to. */
Test(cluster, fetch_several_at_once, .init = setup, .fini = teardown)
{
	struct cluster_nodes nodes;
	struct cluster_fetch *f = NULL;
	int ids[4], i;
	char buf[64];
	ssize_t got;

	cr_assert_eq(cluster_lookup(cl, CLUSTER_OBJECT, "a", "c", "o9", &nodes),
		     0);
	snprintf(broken[0], sizeof(broken[0]), "%s", nodes.dev[3]->device);
	cr_assert_eq(cluster_fetch_new(cl, &f), 0);
	for (i = 0; i < 4; i++) {
		ids[i] = cluster_fetch_start(f, &nodes, nodes.dev[i], "GET",
					     "a", "c", "o9", NULL, "txf");
		cr_assert_eq(ids[i], i);
	}
	cluster_fetch_wait_headers(f);
	for (i = 2; i >= 0; i--) {
		cr_expect_not(cluster_fetch_failed(f, ids[i]));
		cr_expect_eq(cluster_fetch_resp(f, ids[i])->status, 200);
		got = cluster_fetch_read(f, ids[i], buf, sizeof(buf));
		cr_assert_eq(got, (ssize_t)strlen(body_text));
		cr_expect_eq(memcmp(buf, body_text, (size_t)got), 0);
		cr_expect_eq(cluster_fetch_read(f, ids[i], buf, sizeof(buf)),
			     0);
	}
	cr_expect(cluster_fetch_failed(f, ids[3]), "a 507 is a failed node");
	cr_expect_eq(cluster_fetch_resp(f, ids[3])->status, 507);
	cluster_fetch_stop(f, ids[0]);
	cr_expect_eq(cluster_fetch_read(f, ids[0], buf, sizeof(buf)), -EIO);
	cluster_fetch_free(f);
	cluster_nodes_release(&nodes);
}
