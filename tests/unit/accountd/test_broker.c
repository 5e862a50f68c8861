/*
 * tests/unit/accountd/test_broker.c: account records and container rows:
 * Swift's merge (newest put and delete timestamps kept, counts from the
 * latest report, deleted rows leave the listing), and exact account
 * stats.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include "accountd/internal.h"

static char root[256];
static struct acctd a;
static struct dbstore_db *db;
static char key[34];

static void setup(void)
{
	char dev[300];
	struct acctd_info info;

	snprintf(root, sizeof(root), "/tmp/kumo-acctd.XXXXXX");
	cr_assert(mkdtemp(root));
	snprintf(dev, sizeof(dev), "%s/sda", root);
	cr_assert_eq(mkdir(dev, 0755), 0);
	memset(&a, 0, sizeof(a));
	a.hash.prefix = "";
	a.hash.suffix = "unit";
	cr_assert_eq(dbstore_new(root, ACCTD_DB_NAME, &a.store), 0);
	cr_assert_eq(dbstore_device(a.store, "sda", 1, &db), 0);
	cr_assert_eq(acctd_key(&a, "AUTH_a", key), 0);
	memset(&info, 0, sizeof(info));
	info.account = strdup("AUTH_a");
	info.metadata = json_object();
	ts_parse("10", &info.put);
	cr_assert_eq(acctd_info_put(db, key, &info), 0);
	acctd_info_free(&info);
}

static void teardown(void)
{
	char cmd[300];

	dbstore_free(a.store);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(broker, .init = setup, .fini = teardown);

static int put(const char *name, const char *put, const char *del,
	       int64_t count, int64_t bytes)
{
	struct acctd_row r = {.object_count = count, .bytes_used = bytes};

	cr_assert_eq(ts_parse(put, &r.put), 0);
	cr_assert_eq(ts_parse(del, &r.del), 0);
	return acctd_row_update(db, key, name, &r);
}

static void expect_stats(int64_t containers, int64_t objects, int64_t bytes)
{
	struct acctd_info info;

	cr_assert_eq(acctd_info_get(db, key, &info), 0);
	cr_expect_eq(info.container_count, containers);
	cr_expect_eq(info.object_count, objects);
	cr_expect_eq(info.bytes_used, bytes);
	acctd_info_free(&info);
}

Test(broker, rows_merge_as_swift)
{
	char lkey[40], *val;
	struct acctd_row r;

	cr_expect_eq(put("c1", "20", "0", 2, 20), 0);
	cr_expect_eq(put("c2", "20", "0", 1, 5), 0);
	expect_stats(2, 3, 25);
	/* an older put with new counts: counts taken, put kept */
	cr_expect_eq(put("c1", "15", "0", 4, 40), 0);
	expect_stats(2, 5, 45);
	snprintf(lkey, sizeof(lkey), "L%.32s/c1", key + 1);
	cr_assert_eq(dbstore_get(db, lkey, strlen(lkey), &val, NULL), 0);
	cr_assert_eq(acctd_row_parse(val, &r), 0);
	cr_expect_eq(r.put.ticks, 2000000);
	cr_expect_eq(r.object_count, 4);
	free(val);
	/* deleted: out of the count and the listing */
	cr_expect_eq(put("c2", "20", "30", 0, 0), 0);
	expect_stats(1, 4, 40);
	snprintf(lkey, sizeof(lkey), "L%.32s/c2", key + 1);
	cr_expect_eq(dbstore_get(db, lkey, strlen(lkey), &val, NULL), -ENOENT);
	/* a delete that still has objects is not a deletion */
	cr_expect_eq(put("c1", "20", "30", 1, 1), 0);
	expect_stats(1, 1, 1);
	/* re-created after its deletion */
	cr_expect_eq(put("c2", "40", "0", 0, 0), 0);
	expect_stats(2, 1, 1);
}

Test(broker, no_account)
{
	struct acctd_row r = {{100, 0}, {0, 0}, 0, 0, 0};
	char other[34];

	cr_assert_eq(acctd_key(&a, "AUTH_none", other), 0);
	cr_expect_eq(acctd_row_update(db, other, "c", &r), -ENOENT);
}

static int put_pol(const char *name, const char *put, const char *del,
		   int64_t count, int64_t bytes, int policy)
{
	struct acctd_row r = {
		.object_count = count, .bytes_used = bytes, .policy = policy};

	cr_assert_eq(ts_parse(put, &r.put), 0);
	cr_assert_eq(ts_parse(del, &r.del), 0);
	return acctd_row_update(db, key, name, &r);
}

static void expect_pstat(int index, int64_t containers, int64_t objects,
			 int64_t bytes)
{
	struct acctd_info info;
	int i, found = 0;

	cr_assert_eq(acctd_info_get(db, key, &info), 0);
	for (i = 0; i < info.npstats; i++) {
		if (info.pstats[i].index != index)
			continue;
		found = 1;
		cr_expect_eq(info.pstats[i].container_count, containers);
		cr_expect_eq(info.pstats[i].object_count, objects);
		cr_expect_eq(info.pstats[i].bytes_used, bytes);
	}
	cr_expect(found, "no stats for policy %d", index);
	acctd_info_free(&info);
}

/* Swift's policy_stat triggers: each policy counts its own rows; a row
 * moving to another policy moves its counts; stats stay (at zero) once a
 * policy has been seen. */
Test(broker, policy_stats_as_swift)
{
	struct acctd_info info;

	cr_assert_eq(acctd_info_get(db, key, &info), 0);
	cr_expect_eq(info.npstats, 0);
	acctd_info_free(&info);
	cr_expect_eq(put_pol("c1", "20", "0", 2, 20, 0), 0);
	cr_expect_eq(put_pol("c2", "20", "0", 3, 30, 1), 0);
	cr_expect_eq(put_pol("c3", "20", "0", 1, 1, 0), 0);
	expect_stats(3, 6, 51);
	expect_pstat(0, 2, 3, 21);
	expect_pstat(1, 1, 3, 30);
	/* c2 reported in policy 0 now (recreated elsewhere) */
	cr_expect_eq(put_pol("c2", "40", "30", 4, 40, 0), 0);
	expect_pstat(0, 3, 7, 61);
	expect_pstat(1, 0, 0, 0);
	/* a deleted container leaves the count, its objects are gone */
	cr_expect_eq(put_pol("c3", "20", "50", 0, 0, 0), 0);
	expect_stats(2, 6, 60);
	expect_pstat(0, 2, 6, 60);
	cr_assert_eq(acctd_info_get(db, key, &info), 0);
	cr_expect_eq(info.npstats, 2);
	acctd_info_free(&info);
}

/* A record written before policy_stats existed: its totals are policy
 * 0's. */
Test(broker, policy_stats_from_old_record)
{
	const char *old = "{\"account\": \"AUTH_a\", \"created_at\": "
			  "\"0000000010.00000\", \"put_timestamp\": "
			  "\"0000000010.00000\", \"delete_timestamp\": "
			  "\"0000000000.00000\", \"status_changed_at\": "
			  "\"0000000010.00000\", \"status\": \"\", "
			  "\"container_count\": 2, \"object_count\": 5, "
			  "\"bytes_used\": 50, \"metadata\": {}}";
	struct dbstore_batch *b = dbstore_batch_new();

	cr_assert(b);
	dbstore_batch_put(b, key, 33, old, strlen(old));
	cr_assert_eq(dbstore_commit(db, b), 0);
	dbstore_batch_free(b);
	expect_pstat(0, 2, 5, 50);
}
