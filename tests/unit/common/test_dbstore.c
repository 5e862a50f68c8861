/*
 * tests/unit/common/test_dbstore.c: the LevelDB record store (devices,
 * lazy opens, the LOCK of a second store, batches, range scans in both
 * directions), group commit (dbstore_commit_unlock: concurrent
 * read-modify-writes share syncs, lose no update, rows written during a
 * sync wait for the next one, and survive a kill -9 of the writer once
 * acknowledged; deferred writes then dbstore_sync) and account/container
 * metadata
 * merging (dbmeta).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* One iterator, several scans (a delimiter listing's seeks): each scan
 * sees its own range, forwards and backwards, and all of them the rows as
 * they were when the iterator was opened, not a write made in between. */
Test(dbstore, iterator_scans_one_snapshot)
{
	struct dbstore *st;
	struct dbstore_db *db;
	struct dbstore_batch *b;
	struct dbstore_iter *it;
	char out[256];

	cr_assert_eq(dbstore_new(root, "t.ldb", &st), 0);
	cr_assert_eq(dbstore_device(st, "sda", 1, &db), 0);
	b = dbstore_batch_new();
	dbstore_batch_put(b, "a1", 2, "1", 1);
	dbstore_batch_put(b, "a2", 2, "2", 1);
	dbstore_batch_put(b, "k1", 2, "3", 1);
	dbstore_batch_put(b, "k2", 2, "4", 1);
	cr_assert_eq(dbstore_commit(db, b), 0);
	dbstore_batch_free(b);
	cr_assert_eq(dbstore_iter_open(db, &it), 0);
	b = dbstore_batch_new();
	dbstore_batch_put(b, "a3", 2, "new", 3);
	dbstore_batch_del(b, "k1", 2);
	cr_assert_eq(dbstore_commit(db, b), 0);
	dbstore_batch_free(b);
	out[0] = '\0';
	cr_assert_eq(dbstore_iter_scan(it, "k", 1, 1, "l", 1, 0, collect, out),
		     0);
	cr_assert_eq(dbstore_iter_scan(it, "a", 1, 1, "b", 1, 1, collect, out),
		     0);
	cr_assert_eq(
		dbstore_iter_scan(it, "a1", 2, 0, "k2", 2, 0, collect, out), 0);
	cr_expect_str_eq(out, "k1=3 k2=4 a2=2 a1=1 a2=2 k1=3 ");
	dbstore_iter_close(it);
	out[0] = '\0';
	cr_assert_eq(dbstore_scan(db, "a", 1, 1, "l", 1, 0, collect, out), 0);
	cr_expect_str_eq(out, "a1=1 a2=2 a3=new k2=4 ");
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

/* --- group commit -------------------------------------------------------- */

#define GC_THREADS 16
#define GC_EACH	   40

struct gc_arg {
	struct dbstore_db *db;
	int id;
	int ack_fd; /* -1, or where (id, n) goes once n is acknowledged */
	int rounds;
};

/* Add one to key "total" and set key "c<id>" to n, in one batch. */
static int gc_bump(struct dbstore_db *db, int id, int n)
{
	struct dbstore_batch *b = dbstore_batch_new();
	char *val = NULL, k[16], v[32];
	long total = 0;
	int rc;

	cr_assert(b);
	dbstore_lock(db);
	rc = dbstore_get(db, "total", 5, &val, NULL);
	if (!rc)
		total = strtol(val, NULL, 10);
	free(val);
	snprintf(v, sizeof(v), "%ld", total + 1);
	dbstore_batch_put(b, "total", 5, v, strlen(v));
	snprintf(k, sizeof(k), "c%02d", id);
	snprintf(v, sizeof(v), "%d", n);
	dbstore_batch_put(b, k, strlen(k), v, strlen(v));
	rc = dbstore_commit_unlock(db, b); /* releases the lock */
	dbstore_batch_free(b);
	return rc;
}

static void *gc_thread(void *p)
{
	struct gc_arg *a = p;
	int n, ack[2];

	for (n = 1; n <= a->rounds; n++) {
		if (gc_bump(a->db, a->id, n))
			break;
		ack[0] = a->id;
		ack[1] = n;
		if (a->ack_fd >= 0 &&
		    write(a->ack_fd, ack, sizeof(ack)) != sizeof(ack))
			break;
	}
	return NULL;
}

static void gc_run(struct dbstore_db *db, int ack_fd, int rounds)
{
	pthread_t th[GC_THREADS];
	struct gc_arg a[GC_THREADS];
	int i;

	for (i = 0; i < GC_THREADS; i++) {
		a[i] = (struct gc_arg){db, i, ack_fd, rounds};
		cr_assert_eq(pthread_create(&th[i], NULL, gc_thread, &a[i]), 0);
	}
	for (i = 0; i < GC_THREADS; i++)
		pthread_join(th[i], NULL);
}

static long get_long(struct dbstore_db *db, const char *key)
{
	char *val;
	long v;

	if (dbstore_get(db, key, strlen(key), &val, NULL))
		return 0;
	v = strtol(val, NULL, 10);
	free(val);
	return v;
}

Test(dbstore, group_commit_shares_syncs)
{
	struct dbstore *st;
	struct dbstore_db *db;
	unsigned long syncs;
	char k[16];
	int i;

	cr_assert_eq(dbstore_new(root, "t.ldb", &st), 0);
	cr_assert_eq(dbstore_device(st, "sda", 1, &db), 0);
	gc_run(db, -1, GC_EACH);
	syncs = dbstore_sync_count(db);
	cr_log_info("%d group commits took %lu syncs", GC_THREADS * GC_EACH,
		    syncs);
	/* every update counted: the lock spans each read-modify-write */
	cr_expect_eq(get_long(db, "total"), GC_THREADS * GC_EACH);
	cr_expect_gt(syncs, 0);
	cr_expect_lt(syncs, GC_THREADS * GC_EACH);
	/* on disk: reopen */
	dbstore_free(st);
	cr_assert_eq(dbstore_new(root, "t.ldb", &st), 0);
	cr_assert_eq(dbstore_device(st, "sda", 0, &db), 0);
	cr_expect_eq(get_long(db, "total"), GC_THREADS * GC_EACH);
	for (i = 0; i < GC_THREADS; i++) {
		snprintf(k, sizeof(k), "c%02d", i);
		cr_expect_eq(get_long(db, k), GC_EACH, "%s", k);
	}
	dbstore_free(st);
}

/* the store of root, its database on sda (made when create) */
static void open_sda(struct dbstore **st, struct dbstore_db **db, int create)
{
	cr_assert_eq(dbstore_new(root, "t.ldb", st), 0);
	cr_assert_eq(dbstore_device(*st, "sda", create, db), 0);
}

/* a sync hook that holds the first sync until the test releases it */
static pthread_mutex_t hk_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hk_cond = PTHREAD_COND_INITIALIZER;
static int hk_started, hk_released;

static void holding_hook(struct dbstore_db *db)
{
	(void)db;
	pthread_mutex_lock(&hk_lock);
	hk_started++;
	pthread_cond_broadcast(&hk_cond);
	while (hk_started == 1 && !hk_released)
		pthread_cond_wait(&hk_cond, &hk_lock);
	pthread_mutex_unlock(&hk_lock);
}

struct hk_writer {
	pthread_t t;
	struct dbstore_db *db;
	int id, rc;
	int syncs_begun; /* syncs started when its commit returned */
};

static void *hk_main(void *p)
{
	struct hk_writer *w = p;

	w->rc = gc_bump(w->db, w->id, 1);
	pthread_mutex_lock(&hk_lock);
	w->syncs_begun = hk_started;
	pthread_mutex_unlock(&hk_lock);
	return NULL;
}

/* While a leader's sync runs, other writers' rows go into the log (and
 * are visible) without waiting for it, and none of them is acknowledged
 * by that sync, which began before their writes: only by a later one. */
Test(dbstore, rows_written_during_a_sync_wait_for_the_next)
{
	struct hk_writer w[5] = {0};
	struct dbstore *st;
	struct dbstore_db *db;
	char k[16], *val;
	int i, seen;

	open_sda(&st, &db, 1);
	hk_started = hk_released = 0;
	dbstore_set_sync_hook(holding_hook);
	for (i = 0; i < 5; i++)
		w[i] = (struct hk_writer){.db = db, .id = i};
	cr_assert_eq(pthread_create(&w[0].t, NULL, hk_main, &w[0]), 0);
	pthread_mutex_lock(&hk_lock);
	while (hk_started < 1)
		pthread_cond_wait(&hk_cond, &hk_lock);
	pthread_mutex_unlock(&hk_lock);
	for (i = 1; i < 5; i++)
		cr_assert_eq(pthread_create(&w[i].t, NULL, hk_main, &w[i]), 0);
	do { /* until the four rows are in; no timing asserted */
		usleep(1000);
		for (i = 1, seen = 0; i < 5; i++) {
			snprintf(k, sizeof(k), "c%02d", i);
			if (!dbstore_get(db, k, strlen(k), &val, NULL)) {
				seen++;
				free(val);
			}
		}
	} while (seen < 4);
	pthread_mutex_lock(&hk_lock);
	cr_assert_eq(hk_started, 1, "a second sync began during the first");
	hk_released = 1;
	pthread_cond_broadcast(&hk_cond);
	pthread_mutex_unlock(&hk_lock);
	for (i = 0; i < 5; i++)
		pthread_join(w[i].t, NULL);
	dbstore_set_sync_hook(NULL);
	for (i = 0; i < 5; i++)
		cr_expect_eq(w[i].rc, 0, "writer %d", i);
	for (i = 1; i < 5; i++)
		cr_expect_geq(w[i].syncs_begun, 2,
			      "writer %d acknowledged by "
			      "the sync that began before its write",
			      i);
	cr_expect_eq(get_long(db, "total"), 5);
	dbstore_free(st);
}

/* dbstore_sync after deferred writes: they survive a reopen */
Test(dbstore, deferred_writes_then_sync)
{
	struct dbstore *st;
	struct dbstore_db *db;
	struct dbstore_batch *b;
	char k[16];
	int i;

	open_sda(&st, &db, 1);
	dbstore_defer_sync(1);
	for (i = 0; i < 100; i++) {
		b = dbstore_batch_new();
		snprintf(k, sizeof(k), "d%03d", i);
		dbstore_batch_put(b, k, strlen(k), "1", 1);
		cr_assert_eq(dbstore_commit(db, b), 0);
		dbstore_batch_free(b);
	}
	dbstore_defer_sync(0);
	cr_assert_eq(dbstore_sync(db), 0);
	cr_assert_eq(dbstore_sync(db), 0);
	dbstore_free(st);
	open_sda(&st, &db, 0);
	for (i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "d%03d", i);
		cr_expect_eq(get_long(db, k), 1, "%s", k);
	}
	dbstore_free(st);
}

/* A child commits without end and reports each acknowledgement; it is
 * killed with SIGKILL: every acknowledged value is in the database. */
Test(dbstore, group_commit_survives_kill9)
{
	struct dbstore *st;
	struct dbstore_db *db;
	int fds[2], ack[2], acked[GC_THREADS] = {0}, got = 0, i, status;
	char k[16];
	pid_t pid;
	ssize_t n;

	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		close(fds[0]);
		if (dbstore_new(root, "t.ldb", &st) ||
		    dbstore_device(st, "sda", 1, &db))
			_exit(1);
		gc_run(db, fds[1], 1000000);
		_exit(0);
	}
	close(fds[1]);
	while (got < 300 &&
	       (n = read(fds[0], ack, sizeof(ack))) == (ssize_t)sizeof(ack)) {
		acked[ack[0]] = ack[1];
		got++;
	}
	kill(pid, SIGKILL);
	/* acknowledgements written before the kill */
	while ((n = read(fds[0], ack, sizeof(ack))) == (ssize_t)sizeof(ack))
		acked[ack[0]] = ack[1];
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status));
	cr_assert_geq(got, 300);
	cr_assert_eq(dbstore_new(root, "t.ldb", &st), 0);
	cr_assert_eq(dbstore_device(st, "sda", 0, &db), 0);
	for (i = 0; i < GC_THREADS; i++) {
		snprintf(k, sizeof(k), "c%02d", i);
		cr_expect_geq(get_long(db, k), acked[i], "%s", k);
	}
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
