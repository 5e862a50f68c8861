/*
 * tests/unit/common/test_dbreplicator.c: the generic half of the
 * container and account replicators (common/dbreplicator.h): row ids
 * stamped on every write and moved on a rewrite, the rows since a sync
 * point in row id order, row ids given to records written before they
 * existed, sync points that only grow, tombstone reclaim and whole-db
 * removal that touch one record only, and the merge invariants with a
 * newest-wins row merge: rows pushed twice or in any order give the same
 * database, and a tombstone beats an older live row.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include "common/dbreplicator.h"
#include "common/dbserver.h"

static char root[256];
static struct dbstore *st;
static struct dbstore_db *db1, *db2;
static const char *rkey = "C0123456789abcdef0123456789abcdef";
static const char *other = "Cfedcba9876543210fedcba9876543210";
static const struct dbrepl_layout lay = {'C', 'O', 'T', "U"};

static void setup(void)
{
	char dev[300];

	snprintf(root, sizeof(root), "/tmp/kumo-dbrepl.XXXXXX");
	cr_assert(mkdtemp(root));
	snprintf(dev, sizeof(dev), "%s/sda", root);
	cr_assert_eq(mkdir(dev, 0755), 0);
	snprintf(dev, sizeof(dev), "%s/sdb", root);
	cr_assert_eq(mkdir(dev, 0755), 0);
	cr_assert_eq(dbstore_new(root, "t.ldb", &st), 0);
	cr_assert_eq(dbstore_device(st, "sda", 1, &db1), 0);
	cr_assert_eq(dbstore_device(st, "sdb", 1, &db2), 0);
}

static void teardown(void)
{
	char cmd[300];

	dbstore_free(st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(dbrepl, .init = setup, .fini = teardown);

static void put_raw(struct dbstore_db *db, const char *key, size_t klen,
		    const char *val)
{
	struct dbstore_batch *b = dbstore_batch_new();

	dbstore_batch_put(b, key, klen, val, strlen(val));
	cr_assert_eq(dbstore_commit(db, b), 0);
	dbstore_batch_free(b);
}

static void make_record(struct dbstore_db *db, const char *k)
{
	put_raw(db, k, 33, "{}");
}

/*
 * The test's row merge (a part's merge_row in miniature): a row value is
 * "<timestamp>"; the newest timestamp wins, a tombstone ('T') included;
 * the row id is stamped only when the row changes.
 */
static int merge(struct dbstore_db *db, const char *k, const char *name,
		 int deleted, const char *value)
{
	char *ok, *tk, *cur = NULL;
	size_t klen;
	struct dbstore_batch *b = dbstore_batch_new();
	int rc = 0;

	ok = dbserver_row_key('O', k, name, &klen);
	tk = dbserver_row_key('T', k, name, &klen);
	dbstore_lock(db);
	if (dbstore_get(db, ok, klen, &cur, NULL) &&
	    dbstore_get(db, tk, klen, &cur, NULL))
		cur = NULL;
	if (cur && atoll(cur) >= atoll(value))
		goto out;
	dbstore_batch_del(b, ok, klen);
	dbstore_batch_del(b, tk, klen);
	dbstore_batch_put(b, deleted ? tk : ok, klen, value, strlen(value));
	rc = dbrepl_stage_row(&lay, db, b, k, deleted ? 'T' : 'O', name);
	if (!rc)
		rc = dbstore_commit(db, b);
out:
	dbstore_unlock(db);
	dbstore_batch_free(b);
	free(cur);
	free(ok);
	free(tk);
	return rc;
}

struct seen {
	char text[4096];
	int64_t last;
	int n;
};

static int see(void *arg, int64_t rowid, const char *name, int deleted,
	       const char *value)
{
	struct seen *s = arg;
	size_t len = strlen(s->text);

	cr_assert_gt(rowid, s->last, "row ids ascend");
	s->last = rowid;
	s->n++;
	snprintf(s->text + len, sizeof(s->text) - len, "%s%s=%s ",
		 deleted ? "-" : "", name, value);
	return 0;
}

static void rows(struct dbstore_db *db, const char *k, int64_t point,
		 struct seen *s)
{
	memset(s, 0, sizeof(*s));
	cr_assert_eq(dbrepl_rows_since(&lay, db, k, point, see, s), 0);
}

Test(dbrepl, row_ids_and_rows_since)
{
	struct seen s;
	char id[33];
	int64_t max;

	make_record(db1, rkey);
	cr_assert_eq(merge(db1, rkey, "a", 0, "10"), 0);
	cr_assert_eq(merge(db1, rkey, "b", 0, "11"), 0);
	cr_assert_eq(merge(db1, rkey, "c", 0, "12"), 0);
	cr_assert_eq(dbrepl_db_meta(&lay, db1, rkey, id, &max, NULL), 0);
	cr_assert_eq(max, 3);
	cr_assert_eq(strlen(id), 32);
	rows(db1, rkey, -1, &s);
	cr_assert_str_eq(s.text, "a=10 b=11 c=12 ");
	rows(db1, rkey, 2, &s);
	cr_assert_str_eq(s.text, "c=12 ");
	/* a rewrite moves the row past every sync point */
	cr_assert_eq(merge(db1, rkey, "a", 1, "20"), 0);
	rows(db1, rkey, 3, &s);
	cr_assert_str_eq(s.text, "-a=20 ");
	rows(db1, rkey, -1, &s);
	cr_assert_str_eq(s.text, "b=11 c=12 -a=20 ");
	/* an older write changes nothing and stamps nothing */
	cr_assert_eq(merge(db1, rkey, "a", 0, "15"), 0);
	cr_assert_eq(dbrepl_db_meta(&lay, db1, rkey, id, &max, NULL), 0);
	cr_assert_eq(max, 4);
}

Test(dbrepl, legacy_rows_get_ids)
{
	char k[64], id[33];
	struct seen s;
	int64_t max;

	make_record(db1, rkey);
	/* rows written before row ids existed */
	snprintf(k, sizeof(k), "O%s/x", rkey + 1);
	put_raw(db1, k, strlen(k), "5");
	snprintf(k, sizeof(k), "T%s/y", rkey + 1);
	put_raw(db1, k, strlen(k), "6");
	cr_assert_eq(merge(db1, rkey, "z", 0, "7"), 0);
	cr_assert_eq(dbrepl_db_meta(&lay, db1, rkey, id, &max, NULL), 0);
	cr_assert_eq(max, 3);
	rows(db1, rkey, -1, &s);
	cr_assert_str_eq(s.text, "x=5 -y=6 z=7 ");
	/* no record, no database */
	cr_assert_eq(dbrepl_db_meta(&lay, db1, other, id, &max, NULL), -ENOENT);
}

Test(dbrepl, sync_points_only_grow)
{
	json_t *in = json_pack("{sisi}", "peer1", 5, "peer2", 9), *syncs;
	char id[33];
	int64_t max;

	make_record(db1, rkey);
	cr_assert_eq(dbrepl_merge_syncs(&lay, db1, rkey, in), 0);
	json_decref(in);
	in = json_pack("{sisi}", "peer1", 3, "peer2", 12);
	cr_assert_eq(dbrepl_merge_syncs(&lay, db1, rkey, in), 0);
	json_decref(in);
	cr_assert_eq(dbrepl_db_meta(&lay, db1, rkey, id, &max, &syncs), 0);
	cr_assert_eq(json_integer_value(json_object_get(syncs, "peer1")), 5);
	cr_assert_eq(json_integer_value(json_object_get(syncs, "peer2")), 12);
	/* a replica's own id is never a sync point of its own */
	in = json_pack("{si}", id, 40);
	cr_assert_eq(dbrepl_merge_syncs(&lay, db1, rkey, in), 0);
	json_decref(in);
	json_decref(syncs);
	cr_assert_eq(dbrepl_db_meta(&lay, db1, rkey, id, &max, &syncs), 0);
	cr_assert_null(json_object_get(syncs, id));
	json_decref(syncs);
}

static int old_row(const char *value, const struct ts *cutoff)
{
	return atoll(value) < cutoff->ticks;
}

static int never(json_t *rec, const struct ts *cutoff)
{
	(void)rec;
	(void)cutoff;
	return 0;
}

Test(dbrepl, reclaim_and_remove)
{
	struct dbrepl_ops ops = {.layout = &lay,
				 .server = "container",
				 .row_reclaimable = old_row,
				 .db_reclaimable = never};
	struct ts cutoff = {.ticks = 100};
	struct seen s;
	char *v = NULL;
	long n;

	make_record(db1, rkey);
	make_record(db1, other);
	cr_assert_eq(merge(db1, rkey, "old", 1, "50"), 0);
	cr_assert_eq(merge(db1, rkey, "new", 1, "150"), 0);
	cr_assert_eq(merge(db1, rkey, "live", 0, "10"), 0);
	cr_assert_eq(merge(db1, other, "old", 1, "50"), 0);
	cr_assert_eq(dbrepl_reclaim_rows(&ops, db1, rkey, &cutoff, &n), 0);
	cr_assert_eq(n, 1);
	rows(db1, rkey, -1, &s);
	cr_assert_str_eq(s.text, "-new=150 live=10 ", "only old tombstones go");
	rows(db1, other, -1, &s);
	cr_assert_str_eq(s.text, "-old=50 ", "another record keeps its own");
	cr_assert_eq(dbrepl_remove_db(&lay, db1, rkey, 1), -EAGAIN,
		     "a database written since is kept");
	cr_assert_eq(dbrepl_remove_db(&lay, db1, rkey, -1), 0);
	cr_assert_eq(dbstore_get(db1, rkey, 33, &v, NULL), -ENOENT);
	rows(db1, rkey, -1, &s);
	cr_assert_eq(s.n, 0);
	rows(db1, other, -1, &s);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(dbstore_get(db1, other, 33, &v, NULL), 0);
	free(v);
}

/* Push every row of src since point into dst, as merge_items does. */
struct push {
	struct dbstore_db *dst;
};

static int push_one(void *arg, int64_t rowid, const char *name, int deleted,
		    const char *value)
{
	struct push *p = arg;

	(void)rowid;
	return merge(p->dst, rkey, name, deleted, value);
}

static void push(struct dbstore_db *src, struct dbstore_db *dst, int64_t pt)
{
	struct push p = {dst};

	cr_assert_eq(dbrepl_rows_since(&lay, src, rkey, pt, push_one, &p), 0);
}

Test(dbrepl, merges_converge_and_tombstones_win)
{
	struct seen s1, s2;
	char id[33];
	int64_t max1, max2, m1, m2;
	int k;

	make_record(db1, rkey);
	make_record(db2, rkey);
	cr_assert_eq(merge(db1, rkey, "x", 0, "10"), 0);
	cr_assert_eq(merge(db1, rkey, "y", 0, "10"), 0);
	cr_assert_eq(merge(db2, rkey, "x", 1, "20"), 0); /* newer delete */
	cr_assert_eq(merge(db2, rkey, "y", 0, "5"), 0);	 /* older put */
	cr_assert_eq(merge(db2, rkey, "z", 0, "30"), 0);
	/* either order, twice */
	for (k = 0; k < 2; k++) {
		push(db2, db1, -1);
		push(db1, db2, -1);
	}
	rows(db1, rkey, -1, &s1);
	rows(db2, rkey, -1, &s2);
	for (k = 0; k < 2; k++) {
		const char *t = k ? s2.text : s1.text;

		cr_assert(strstr(t, "-x=20 "), "the tombstone wins: %s", t);
		cr_assert(strstr(t, "y=10 "), "the newer put wins: %s", t);
		cr_assert(strstr(t, "z=30 "), "%s", t);
	}
	cr_assert_eq(s1.n, 3);
	cr_assert_eq(s2.n, 3);
	/* agreeing replicas stamp nothing more: another round is a no-op */
	cr_assert_eq(dbrepl_db_meta(&lay, db1, rkey, id, &max1, NULL), 0);
	cr_assert_eq(dbrepl_db_meta(&lay, db2, rkey, id, &max2, NULL), 0);
	push(db2, db1, -1);
	push(db1, db2, -1);
	cr_assert_eq(dbrepl_db_meta(&lay, db1, rkey, id, &m1, NULL), 0);
	cr_assert_eq(dbrepl_db_meta(&lay, db2, rkey, id, &m2, NULL), 0);
	cr_assert_eq(m1, max1);
	cr_assert_eq(m2, max2);
}

Test(dbrepl, deferred_sync_writes_are_readable_and_synced)
{
	char *v = NULL;

	dbstore_defer_sync(1);
	put_raw(db1, "k1", 2, "v1");
	dbstore_defer_sync(0);
	cr_assert_eq(dbstore_get(db1, "k1", 2, &v, NULL), 0);
	cr_assert_str_eq(v, "v1");
	free(v);
	cr_assert_eq(dbstore_sync(db1), 0);
}
