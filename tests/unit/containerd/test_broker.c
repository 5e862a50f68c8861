/*
 * tests/unit/containerd/test_broker.c: container records and object rows
 * in LevelDB: the newest timestamp wins per object, tombstones stop older
 * puts, object_count and bytes_used follow exactly, and a change of the
 * report marks the account update owed ("U" key).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include "containerd/internal.h"

static char root[256];
static struct contd c;
static struct dbstore_db *db;
static char key[34];

static void setup(void)
{
	char dev[300];
	struct dbstore_batch *b;
	struct contd_info info;

	snprintf(root, sizeof(root), "/tmp/kumo-contd.XXXXXX");
	cr_assert(mkdtemp(root));
	snprintf(dev, sizeof(dev), "%s/sda", root);
	cr_assert_eq(mkdir(dev, 0755), 0);
	memset(&c, 0, sizeof(c));
	c.hash.prefix = "";
	c.hash.suffix = "unit";
	cr_assert_eq(dbstore_new(root, CONTD_DB_NAME, &c.store), 0);
	cr_assert_eq(dbstore_device(c.store, "sda", 1, &db), 0);
	cr_assert_eq(contd_key(&c, "AUTH_a", "c", key), 0);
	memset(&info, 0, sizeof(info));
	info.account = strdup("AUTH_a");
	info.container = strdup("c");
	info.metadata = json_object();
	ts_parse("10", &info.put);
	info.targets.n = 1;
	strcpy(info.targets.host[0], "127.0.0.1:1");
	strcpy(info.targets.dev[0], "sda");
	b = dbstore_batch_new();
	cr_assert_eq(contd_info_stage(b, key, &info), 0);
	cr_assert_eq(dbstore_commit(db, b), 0);
	dbstore_batch_free(b);
	contd_info_free(&info);
}

static void teardown(void)
{
	char cmd[300];

	dbstore_free(c.store);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(broker, .init = setup, .fini = teardown);

static int row(const char *name, const char *ts, int deleted, int64_t size)
{
	struct contd_row r = {.deleted = deleted,
			      .size = size,
			      .etag = "etag",
			      .content_type = "text/plain"};

	cr_assert_eq(ts_parse(ts, &r.data), 0);
	r.ctype = r.meta = r.data;
	return contd_row_update(db, key, name, &r);
}

static void expect_stats(int64_t count, int64_t bytes)
{
	struct contd_info info;

	cr_assert_eq(contd_info_get(db, key, &info), 0);
	cr_expect_eq(info.object_count, count, "count %lld, want %lld",
		     (long long)info.object_count, (long long)count);
	cr_expect_eq(info.bytes_used, bytes, "bytes %lld, want %lld",
		     (long long)info.bytes_used, (long long)bytes);
	contd_info_free(&info);
}

Test(broker, newest_wins_and_counts_follow)
{
	cr_expect_eq(row("a", "20", 0, 10), 0);
	cr_expect_eq(row("b", "20", 0, 5), 0);
	expect_stats(2, 15);
	cr_expect_eq(row("a", "19", 0, 100), 0); /* older: ignored */
	cr_expect_eq(row("a", "20", 0, 100), 0); /* same: ignored */
	expect_stats(2, 15);
	cr_expect_eq(row("a", "21", 0, 3), 0);
	expect_stats(2, 8);
	cr_expect_eq(row("b", "22", 1, 0), 0);
	expect_stats(1, 3);
	cr_expect_eq(row("b", "21", 0, 7), 0); /* older than the tombstone */
	expect_stats(1, 3);
	cr_expect_eq(row("c", "22", 1, 0), 0); /* never existed */
	expect_stats(1, 3);
	cr_expect_eq(row("b", "23", 0, 7), 0); /* newer: back */
	expect_stats(2, 10);
}

Test(broker, missing_container)
{
	struct contd_row r = {{100, 0}, {100, 0}, {100, 0}, 0, 1, "e", "t/p"};
	char other[34];

	cr_assert_eq(contd_key(&c, "AUTH_a", "nope", other), 0);
	cr_expect_eq(contd_row_update(db, other, "o", &r), -ENOENT);
}

Test(broker, report_change_owes_an_update)
{
	struct contd_info info;
	char ukey[34], *val;

	memcpy(ukey, key, 34);
	ukey[0] = 'U';
	cr_expect_eq(dbstore_get(db, ukey, 33, &val, NULL), -ENOENT);
	cr_expect_eq(row("a", "20", 0, 10), 0);
	cr_assert_eq(dbstore_get(db, ukey, 33, &val, NULL), 0);
	free(val);
	cr_assert_eq(contd_info_get(db, key, &info), 0);
	cr_expect_eq(info.targets.n, 1);
	cr_expect(info.targets.pending[0]);
	cr_expect(!contd_info_deleted(&info));
	contd_info_free(&info);
}

/* A POST's update (newer content type and metadata timestamps, the data
 * timestamp of the object) changes the content type and last_modified but
 * not the data; an older PUT then cannot undo it. */
Test(broker, fast_post_updates)
{
	struct contd_row r = {.size = 10, .etag = "e1", .content_type = "a/b"};
	char okey[64], *val;

	ts_parse("20", &r.data);
	r.ctype = r.meta = r.data;
	cr_assert_eq(contd_row_update(db, key, "o", &r), 0);
	r.size = 999;
	r.etag = "ignored";
	r.content_type = "c/d";
	ts_parse("30", &r.ctype);
	ts_parse("31", &r.meta);
	cr_assert_eq(contd_row_update(db, key, "o", &r), 0);
	expect_stats(1, 10);
	snprintf(okey, sizeof(okey), "O%.32s/o", key + 1);
	cr_assert_eq(dbstore_get(db, okey, strlen(okey), &val, NULL), 0);
	cr_expect_str_eq(val, "0000000020.00000\n0000000030.00000\n"
			      "0000000031.00000\n10\ne1\nc/d");
	free(val);
	/* a newer PUT replaces the data, keeps the newer content type */
	r.size = 5;
	r.etag = "e2";
	r.content_type = "x/y";
	ts_parse("25", &r.data);
	r.ctype = r.meta = r.data;
	cr_assert_eq(contd_row_update(db, key, "o", &r), 0);
	expect_stats(1, 5);
	cr_assert_eq(dbstore_get(db, okey, strlen(okey), &val, NULL), 0);
	cr_expect_str_eq(val, "0000000025.00000\n0000000030.00000\n"
			      "0000000031.00000\n5\ne2\nc/d");
	free(val);
}

/* The record's text as jansson wrote it before contd_info_text (the
 * format every reader and older database holds). */
static char *jansson_text(const struct contd_info *info)
{
	char a[TS_INTERNAL_LEN + 1], b[TS_INTERNAL_LEN + 1];
	char d[TS_INTERNAL_LEN + 1], s[TS_INTERNAL_LEN + 1];
	json_t *hosts = json_array(), *devs = json_array(),
	       *pend = json_array();
	json_t *o;
	char *text;
	int i;

	for (i = 0; i < info->targets.n; i++) {
		json_array_append_new(hosts,
				      json_string(info->targets.host[i]));
		json_array_append_new(devs, json_string(info->targets.dev[i]));
		json_array_append_new(pend,
				      json_boolean(info->targets.pending[i]));
	}
	o = json_pack("{ss ss ss ss ss ss sI sI si sO s{so so ss so}}",
		      "account", info->account, "container", info->container,
		      "created_at", ts_internal(&info->created_at, a),
		      "put_timestamp", ts_internal(&info->put, b),
		      "delete_timestamp", ts_internal(&info->del, d),
		      "status_changed_at",
		      ts_internal(&info->status_changed, s), "object_count",
		      (json_int_t)info->object_count, "bytes_used",
		      (json_int_t)info->bytes_used, "storage_policy_index",
		      info->policy, "metadata", info->metadata,
		      "account_update", "hosts", hosts, "devices", devs,
		      "partition", info->targets.part, "pending", pend);
	cr_assert(o);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

/* contd_info_text writes plain records itself: the bytes must stay those
 * jansson wrote, for names that need escaping too. */
Test(broker, record_text_is_janssons)
{
	static const char *const names[][2] = {
		{"AUTH_a", "c"},
		{"AUTH_test", "caf\xc3\xa9"},
		{"AUTH_q", "with \"quotes\" and \\"},
		{"AUTH_t", "tab\there"},
		{"AUTH_s", "a/b c~d"},
	};
	struct contd_info info;
	size_t i;
	int n;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (n = 0; n < 4; n++) {
			char *want, *got;
			int k;

			memset(&info, 0, sizeof(info));
			info.account = strdup(names[i][0]);
			info.container = strdup(names[i][1]);
			info.metadata = n & 1 ? json_pack("{s[ss]s[ss]}",
							  "X-Container-Meta-A",
							  "v\xc3\xa9", "12.5",
							  "X-Container-Read",
							  ".r:*", "13")
					      : json_object();
			ts_parse("1700000000.12345", &info.created_at);
			ts_parse("1700000001.5", &info.put);
			ts_parse("1700000002", &info.status_changed);
			info.object_count = 1234567890123LL * n;
			info.bytes_used = -5 + n;
			info.policy = n;
			info.targets.n = n;
			snprintf(info.targets.part, sizeof(info.targets.part),
				 "%d", n ? 77 : 0);
			for (k = 0; k < n; k++) {
				snprintf(info.targets.host[k], 128,
					 "127.0.0.%d:60%d2", k + 1, k);
				snprintf(info.targets.dev[k], 64, "sd%c",
					 'a' + k);
				info.targets.pending[k] = k & 1;
			}
			want = jansson_text(&info);
			got = contd_info_text(&info);
			cr_assert(got);
			cr_expect_str_eq(got, want, "names %zu, case %d", i, n);
			free(want);
			free(got);
			contd_info_free(&info);
		}
	}
}

/* Rewrite the record with these stats, as a replicator's merge does. */
static void set_stats(int64_t count, int64_t bytes)
{
	struct dbstore_batch *b;
	struct contd_info info;

	cr_assert_eq(contd_info_get(db, key, &info), 0);
	info.object_count = count;
	info.bytes_used = bytes;
	b = dbstore_batch_new();
	cr_assert_eq(contd_info_stage(b, key, &info), 0);
	cr_assert_eq(dbstore_commit(db, b), 0);
	dbstore_batch_free(b);
	contd_info_free(&info);
}

/* A row update keeps the record it wrote (contd_row_update's cache): a
 * record written meanwhile by anything else (a replicator's merge here)
 * must be the one the next row update starts from. */
Test(broker, row_update_reads_a_record_changed_behind_it)
{
	cr_expect_eq(row("a", "20", 0, 10), 0);
	cr_expect_eq(row("b", "20", 0, 5), 0);
	expect_stats(2, 15);
	set_stats(40, 400);
	cr_expect_eq(row("c", "20", 0, 1), 0);
	expect_stats(41, 401);
	set_stats(3, 16);
	cr_expect_eq(row("d", "20", 0, 2), 0);
	expect_stats(4, 18);
}
