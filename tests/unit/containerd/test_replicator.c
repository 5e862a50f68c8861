/*
 * tests/unit/containerd/test_replicator.c: how a peer's container record
 * and object rows merge into a replica (containerd/replicator.c):
 * timestamps as Swift's merge_timestamps, metadata key by key, a whole
 * copy that starts empty and takes its counts from the rows, tombstones
 * that beat older rows whatever the order, and what reclaim may remove.
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
static const struct dbrepl_ops *ops = &contd_repl_ops;

static json_t *record(const char *created, const char *put, const char *del,
		      json_t *md)
{
	return json_pack("{ss ss ss ss ss ss sI sI si so}", "account", "AUTH_a",
			 "container", "c", "created_at", created,
			 "put_timestamp", put, "delete_timestamp", del,
			 "status_changed_at", put, "object_count",
			 (json_int_t)7, "bytes_used", (json_int_t)70,
			 "storage_policy_index", 0, "metadata", md);
}

static void setup(void)
{
	char dev[300];

	snprintf(root, sizeof(root), "/tmp/kumo-contrepl.XXXXXX");
	cr_assert(mkdtemp(root));
	snprintf(dev, sizeof(dev), "%s/sda", root);
	cr_assert_eq(mkdir(dev, 0755), 0);
	memset(&c, 0, sizeof(c));
	c.hash.prefix = "";
	c.hash.suffix = "unit";
	cr_assert_eq(dbstore_new(root, CONTD_DB_NAME, &c.store), 0);
	cr_assert_eq(dbstore_device(c.store, "sda", 1, &db), 0);
	cr_assert_eq(contd_key(&c, "AUTH_a", "c", key), 0);
}

static void teardown(void)
{
	char cmd[300];

	dbstore_free(c.store);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(repl, .init = setup, .fini = teardown);

static const char *meta(const struct contd_info *info, const char *k)
{
	return json_string_value(
		json_array_get(json_object_get(info->metadata, k), 0));
}

Test(repl, record_merge)
{
	struct contd_info info;
	json_t *r;

	/* missing and not a whole copy: 404 */
	r = record("5", "10", "0", json_object());
	cr_assert_eq(ops->merge_record(&c, db, key, r, 0), -ENOENT);
	/* a whole copy starts with no rows, hence no counts */
	cr_assert_eq(ops->merge_record(&c, db, key, r, 1), 1);
	json_decref(r);
	cr_assert_eq(contd_info_get(db, key, &info), 0);
	cr_assert_eq(info.object_count, 0);
	cr_assert_eq(info.bytes_used, 0);
	contd_info_free(&info);
	r = record("3", "20", "0",
		   json_pack("{s[ss]}", "X-Container-Meta-Color", "blue",
			     "0000000020.00000"));
	cr_assert_eq(ops->merge_record(&c, db, key, r, 0), 1);
	json_decref(r);
	/* an older peer changes nothing: its metadata is older */
	r = record("9", "15", "0",
		   json_pack("{s[ss]}", "X-Container-Meta-Color", "red",
			     "0000000015.00000"));
	cr_assert_eq(ops->merge_record(&c, db, key, r, 0), 0);
	json_decref(r);
	cr_assert_eq(contd_info_get(db, key, &info), 0);
	cr_assert_eq(info.created_at.ticks, 300000, "created_at: the oldest");
	cr_assert_eq(info.put.ticks, 2000000, "put: the newest");
	cr_assert_str_eq(meta(&info, "X-Container-Meta-Color"), "blue");
	contd_info_free(&info);
	/* a newer delete timestamp arrives */
	r = record("3", "20", "30", json_object());
	cr_assert_eq(ops->merge_record(&c, db, key, r, 0), 1);
	json_decref(r);
	cr_assert_eq(contd_info_get(db, key, &info), 0);
	cr_assert(contd_info_deleted(&info));
	contd_info_free(&info);
}

static void expect(int64_t count, int64_t bytes)
{
	struct contd_info info;

	cr_assert_eq(contd_info_get(db, key, &info), 0);
	cr_assert_eq(info.object_count, count);
	cr_assert_eq(info.bytes_used, bytes);
	contd_info_free(&info);
}

Test(repl, rows_newest_wins_tombstones_included)
{
	json_t *r = record("1", "1", "0", json_object());

	cr_assert_eq(ops->merge_record(&c, db, key, r, 1), 1);
	json_decref(r);
	/* the peer's rows, as stored: data\nctype\nmeta\nsize\netag\nctype */
	cr_assert_eq(ops->merge_row(&c, db, key, "o", 0,
				    "0000000010.00000\n0000000010.00000\n"
				    "0000000010.00000\n5\ne1\ntext/plain"),
		     0);
	expect(1, 5);
	/* a newer tombstone wins */
	cr_assert_eq(ops->merge_row(&c, db, key, "o", 1,
				    "0000000020.00000\n0000000020.00000\n"
				    "0000000020.00000\n0\n\n"),
		     0);
	expect(0, 0);
	/* the old live row pushed again by a stale replica stays dead */
	cr_assert_eq(ops->merge_row(&c, db, key, "o", 0,
				    "0000000010.00000\n0000000010.00000\n"
				    "0000000010.00000\n5\ne1\ntext/plain"),
		     0);
	expect(0, 0);
	/* a put newer than the tombstone revives it */
	cr_assert_eq(ops->merge_row(&c, db, key, "o", 0,
				    "0000000030.00000\n0000000030.00000\n"
				    "0000000030.00000\n9\ne2\ntext/plain"),
		     0);
	expect(1, 9);
	/* a bad row is refused */
	cr_assert_eq(ops->merge_row(&c, db, key, "p", 0, "garbage"), -EIO);
	expect(1, 9);
}

Test(repl, reclaimable)
{
	struct ts cutoff;
	json_t *r;

	ts_parse("100", &cutoff);
	cr_assert(ops->row_reclaimable("0000000050.00000\n0000000050.00000\n"
				       "0000000050.00000\n0\n\n",
				       &cutoff));
	cr_assert_not(ops->row_reclaimable(
		"0000000150.00000\n0000000150.00000\n0000000150.00000\n0\n\n",
		&cutoff));
	r = record("1", "10", "50", json_object());
	json_object_set_new(r, "object_count", json_integer(0));
	cr_assert(ops->db_reclaimable(r, &cutoff), "deleted long ago");
	json_object_set_new(r, "delete_timestamp", json_string("150"));
	cr_assert_not(ops->db_reclaimable(r, &cutoff), "deleted recently");
	json_object_set_new(r, "delete_timestamp", json_string("5"));
	cr_assert_not(ops->db_reclaimable(r, &cutoff), "put after delete");
	json_decref(r);
}
