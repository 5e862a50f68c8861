/*
 * tests/unit/common/test_dbaudit.c: the database auditor over a real
 * dbstore with a toy part (a record {"n": N} must have N "O" rows): good
 * records pass and keep every key, an inconsistent one and one that is
 * not JSON are quarantined with every key of their hash (any letter), the
 * quarantine file holds them, the pace is kept, and the recon cache gets
 * Swift's keys.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "common/dbaudit.h"
#include "common/dbstore.h"
#include "common/recon.h"

static char root[256], cache[300];

static void setup(void)
{
	char dev[300];

	snprintf(root, sizeof(root), "/tmp/kumo-dbaudit.XXXXXX");
	cr_assert(mkdtemp(root));
	snprintf(dev, sizeof(dev), "%s/sda", root);
	cr_assert_eq(mkdir(dev, 0755), 0);
	snprintf(cache, sizeof(cache), "%s/cache", root);
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(dbaudit, .init = setup, .fini = teardown);

static int count_row(void *arg, const char *key, size_t klen, const char *val,
		     size_t vlen)
{
	(void)key;
	(void)klen;
	(void)val;
	(void)vlen;
	(*(int *)arg)++;
	return 0;
}

static int toy_check(void *app, struct dbstore_db *db, const char *rkey,
		     const char *val, const char **why)
{
	char lo[40], hi[40];
	json_t *j = json_loads(val, 0, NULL);
	int rows = 0, want = (int)json_integer_value(json_object_get(j, "n"));

	(void)app;
	json_decref(j);
	snprintf(lo, sizeof(lo), "O%s/", rkey + 1);
	snprintf(hi, sizeof(hi), "O%s0", rkey + 1);
	dbstore_scan(db, lo, strlen(lo), 1, hi, strlen(hi), 0, count_row,
		     &rows);
	if (rows != want) {
		*why = "row count";
		return -EILSEQ;
	}
	return 0;
}

static const struct dbaudit_ops toy = {"container", "t.ldb", 'C', toy_check};

static void put(struct dbstore_db *db, const char *k, const char *v)
{
	struct dbstore_batch *b = dbstore_batch_new();

	dbstore_batch_put(b, k, strlen(k), v, strlen(v));
	cr_assert_eq(dbstore_commit(db, b), 0);
	dbstore_batch_free(b);
}

static int has(struct dbstore_db *db, const char *k)
{
	char *v = NULL;
	int rc = dbstore_get(db, k, strlen(k), &v, NULL);

	free(v);
	return rc == 0;
}

#define H_GOOD "00000000000000000000000000000001"
#define H_BAD  "00000000000000000000000000000002"
#define H_JUNK "00000000000000000000000000000003"

Test(dbaudit, quarantines_inconsistent_records)
{
	struct dbaudit_conf conf = {root, cache, 3600, 0};
	struct dbaudit_stats st;
	struct dbstore *store;
	struct dbstore_db *db;
	struct dbaudit *a;
	json_t *rec;
	char path[600];
	struct stat sb;

	cr_assert_eq(dbstore_new(root, "t.ldb", &store), 0);
	cr_assert_eq(dbstore_device(store, "sda", 1, &db), 0);
	put(db, "C" H_GOOD, "{\"n\": 1}");
	put(db, "O" H_GOOD "/x", "row");
	put(db, "C" H_BAD, "{\"n\": 2}");
	put(db, "O" H_BAD "/x", "row");
	put(db, "M" H_BAD, "{\"id\": 1}");
	put(db, "C" H_JUNK, "not json");
	cr_assert_eq(dbaudit_new(&conf, &toy, NULL, store, &a), 0);
	cr_assert_eq(dbaudit_pass(a, &st), 0);
	cr_expect_eq(st.passed, 1);
	cr_expect_eq(st.failed, 2);
	cr_expect_eq(st.errors, 0);
	cr_expect(has(db, "C" H_GOOD) && has(db, "O" H_GOOD "/x"));
	cr_expect(!has(db, "C" H_BAD) && !has(db, "O" H_BAD "/x") &&
		  !has(db, "M" H_BAD));
	cr_expect(!has(db, "C" H_JUNK));
	snprintf(path, sizeof(path), "%s/sda/quarantined/containers/%s", root,
		 H_BAD);
	cr_assert_eq(stat(path, &sb), 0);
	/* three keys: 4 + klen + 4 + vlen each */
	cr_expect_eq(sb.st_size,
		     (4 + 33 + 4 + 8) + (4 + 33 + 4 + 9) + (4 + 35 + 4 + 3),
		     "size %lld", (long long)sb.st_size);
	cr_expect_eq(recon_quarantined(root, "containers"), 2);
	rec = recon_load(cache, "container");
	cr_expect_eq(json_integer_value(
			     json_object_get(rec, "container_audits_passed")),
		     1);
	cr_expect_eq(json_integer_value(
			     json_object_get(rec, "container_audits_failed")),
		     2);
	cr_expect(json_is_real(
		json_object_get(rec, "container_auditor_pass_completed")));
	json_decref(rec);
	/* a second pass finds only the good record */
	cr_assert_eq(dbaudit_pass(a, &st), 0);
	cr_expect_eq(st.passed, 1);
	cr_expect_eq(st.failed, 0);
	dbaudit_free(a);
	dbstore_free(store);
}

Test(dbaudit, pace)
{
	struct dbaudit_conf conf = {root, cache, 3600, 20};
	struct dbaudit_stats st;
	struct dbstore *store;
	struct dbstore_db *db;
	struct dbaudit *a;
	char key[40];
	int i;

	cr_assert_eq(dbstore_new(root, "t.ldb", &store), 0);
	cr_assert_eq(dbstore_device(store, "sda", 1, &db), 0);
	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "C%032x", i);
		put(db, key, "{\"n\": 0}");
	}
	cr_assert_eq(dbaudit_new(&conf, &toy, NULL, store, &a), 0);
	cr_assert_eq(dbaudit_pass(a, &st), 0);
	cr_expect_eq(st.passed, 10);
	cr_expect_geq(st.duration, 0.45, "10 records at 20/s in %.3fs",
		      st.duration);
	dbaudit_free(a);
	dbstore_free(store);
}
