/*
 * tests/unit/common/test_dbstore.c: the LevelDB record store (devices,
 * lazy opens, the LOCK of a second store, batches, range scans in both
 * directions) and account/container metadata merging (dbmeta).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include "common/dbmeta.h"
#include "common/dbstore.h"

static char root[256];

static void setup(void)
{
	char dev[300];

	snprintf(root, sizeof(root), "/tmp/kumo-dbstore.XXXXXX");
	cr_assert(mkdtemp(root));
	snprintf(dev, sizeof(dev), "%s/sda", root);
	cr_assert_eq(mkdir(dev, 0755), 0);
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(dbstore, .init = setup, .fini = teardown);

Test(dbstore, devices)
{
	struct dbstore *st, *other;
	struct dbstore_db *db, *again;

	cr_assert_eq(dbstore_new(root, "t.ldb", &st), 0);
	cr_expect_eq(dbstore_device(st, "nodev", 1, &db), -ENODEV);
	cr_expect_eq(dbstore_device(st, "..", 1, &db), -ENODEV);
	cr_expect_eq(dbstore_device(st, "a/b", 1, &db), -ENODEV);
	cr_expect_eq(dbstore_device(st, "sda", 0, &db), -ENOENT);
	cr_assert_eq(dbstore_device(st, "sda", 1, &db), 0);
	cr_assert_eq(dbstore_device(st, "sda", 0, &again), 0);
	cr_expect_eq(db, again);
	/* a second owner is refused by LevelDB's LOCK */
	cr_assert_eq(dbstore_new(root, "t.ldb", &other), 0);
	cr_expect_eq(dbstore_device(other, "sda", 0, &again), -EBUSY);
	dbstore_free(other);
	dbstore_free(st);
	cr_expect(dbstore_valid_device("sd-a_1.x~"));
	cr_expect(!dbstore_valid_device("sd a"));
	cr_expect(!dbstore_valid_device(""));
}

static int collect(void *arg, const char *key, size_t klen, const char *val,
		   size_t vlen)
{
	char *out = arg;

	strncat(out, key, klen);
	strcat(out, "=");
	strncat(out, val, vlen);
	strcat(out, " ");
	return !strncmp(key, "k4", klen) ? 1 : 0;
}

Test(dbstore, batches_and_scans)
{
	struct dbstore *st;
	struct dbstore_db *db;
	struct dbstore_batch *b;
	char out[256], *val;
	size_t len;
	int i;

	cr_assert_eq(dbstore_new(root, "t.ldb", &st), 0);
	cr_assert_eq(dbstore_device(st, "sda", 1, &db), 0);
	b = dbstore_batch_new();
	for (i = 1; i <= 5; i++) {
		char k[16], v[16];

		snprintf(k, sizeof(k), "k%d", i);
		snprintf(v, sizeof(v), "v%d", i);
		dbstore_batch_put(b, k, 2, v, 2);
	}
	dbstore_batch_put(b, "j9", 2, "x", 1);
	dbstore_batch_put(b, "l0", 2, "x", 1);
	dbstore_batch_del(b, "k3", 2);
	cr_assert_eq(dbstore_commit(db, b), 0);
	dbstore_batch_free(b);
	cr_assert_eq(dbstore_get(db, "k2", 2, &val, &len), 0);
	cr_expect_str_eq(val, "v2");
	cr_expect_eq(len, 2);
	free(val);
	cr_expect_eq(dbstore_get(db, "k3", 2, &val, &len), -ENOENT);

	out[0] = '\0';
	cr_assert_eq(dbstore_scan(db, "k", 1, 1, "l", 1, 0, collect, out), 0);
	cr_expect_str_eq(out, "k1=v1 k2=v2 k4=v4 "); /* stopped at k4 */
	out[0] = '\0';
	cr_assert_eq(dbstore_scan(db, "k1", 2, 0, "k5", 2, 0, collect, out), 0);
	cr_expect_str_eq(out, "k2=v2 k4=v4 ");
	out[0] = '\0';
	cr_assert_eq(dbstore_scan(db, "k1", 2, 1, "l", 1, 1, collect, out), 0);
	cr_expect_str_eq(out, "k5=v5 k4=v4 ");
	out[0] = '\0';
	cr_assert_eq(dbstore_scan(db, "k1", 2, 0, "zz", 2, 1, collect, out), 0);
	cr_expect_str_eq(out, "l0=x k5=v5 k4=v4 ");
	/* durable: reopen and read */
	dbstore_free(st);
	cr_assert_eq(dbstore_new(root, "t.ldb", &st), 0);
	cr_assert_eq(dbstore_device(st, "sda", 0, &db), 0);
	cr_assert_eq(dbstore_get(db, "k5", 2, &val, NULL), 0);
	cr_expect_str_eq(val, "v5");
	free(val);
	dbstore_free(st);
}

static int count_dev(struct dbstore_db *db, const char *dev, void *arg)
{
	(void)db;
	(void)dev;
	(*(int *)arg)++;
	return 0;
}

Test(dbstore, each_opens_existing_databases_only)
{
	struct dbstore *st;
	struct dbstore_db *db;
	char dev[300];
	int n = 0;

	snprintf(dev, sizeof(dev), "%s/sdb", root);
	cr_assert_eq(mkdir(dev, 0755), 0);
	cr_assert_eq(dbstore_new(root, "t.ldb", &st), 0);
	cr_assert_eq(dbstore_device(st, "sdb", 1, &db), 0);
	dbstore_free(st);
	cr_assert_eq(dbstore_new(root, "t.ldb", &st), 0);
	cr_expect_eq(dbstore_each(st, count_dev, &n), 0);
	cr_expect_eq(n, 1); /* sda has no database */
	cr_expect_eq(dbstore_device(st, "sda", 0, &db), -ENOENT);
	dbstore_free(st);
}

Test(dbmeta, merge_newest_wins)
{
	json_t *md = json_object(), *up = json_object();
	char msg[128];
	int i;

	json_object_set_new(md, "X-Container-Meta-A",
			    json_pack("[ss]", "1", "0000000010.00000"));
	json_object_set_new(up, "X-Container-Meta-A",
			    json_pack("[ss]", "old", "0000000009.00000"));
	json_object_set_new(up, "X-Container-Meta-B",
			    json_pack("[ss]", "2", "0000000009.00000"));
	cr_expect_eq(dbmeta_merge(md, up), 1);
	cr_expect_str_eq(json_string_value(json_array_get(
				 json_object_get(md, "X-Container-Meta-A"), 0)),
			 "1");
	cr_expect_eq(dbmeta_merge(md, up), 0);
	cr_expect_eq(dbmeta_clear(md, "0000000011.00000"), 0);
	cr_expect_str_eq(json_string_value(json_array_get(
				 json_object_get(md, "X-Container-Meta-B"), 0)),
			 "");
	cr_expect_eq(dbmeta_validate(md, msg, sizeof(msg)), 0);
	for (i = 0; i < 91; i++) {
		char k[64];

		snprintf(k, sizeof(k), "X-Container-Meta-M%d", i);
		json_object_set_new(md, k, json_pack("[ss]", "v", "1"));
	}
	cr_expect_eq(dbmeta_validate(md, msg, sizeof(msg)), -EINVAL);
	cr_expect_str_eq(msg, "Too many metadata items; max 90");
	json_decref(md);
	json_decref(up);
}

Test(dbmeta, title_case_as_wsgi)
{
	char a[] = "x-container-meta-fOO_bar", b[] = "X-ACCOUNT-META-1abc";

	dbmeta_title_case(a);
	dbmeta_title_case(b);
	cr_expect_str_eq(a, "X-Container-Meta-Foo-Bar");
	cr_expect_str_eq(b, "X-Account-Meta-1Abc");
}
