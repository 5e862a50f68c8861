/*
 * tests/unit/objectd/test_expirer.c: the object server's expiry index and
 * expirer (objectd/expirer.c): entry names and files, adding, reading and
 * removing entries, the write-side hooks, and expirer passes over objects
 * written with df_writer: due entries expire their object (tombstone at
 * X-Delete-At, .data gone, entry gone), stale entries are dropped without
 * touching the object, entries not yet due stay.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "objectd/internal.h"

static char root[256], dev[300];
static struct objd_conf conf;
static struct objd od;

static void setup(void)
{
	int i;

	snprintf(root, sizeof(root), "/tmp/kumo-exp.XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	snprintf(dev, sizeof(dev), "%s/d1", root);
	cr_assert_eq(mkdir(dev, 0755), 0);
	memset(&conf, 0, sizeof(conf));
	snprintf(conf.devices, sizeof(conf.devices), "%s", root);
	snprintf(conf.hash_suffix, sizeof(conf.hash_suffix), "kumotest");
	conf.conn_timeout = 0.5;
	conf.node_timeout = 1;
	conf.tmp_max_age = 86400;
	conf.expirer_interval = 1;
	memset(&od, 0, sizeof(od));
	od.cfg = &conf;
	od.hash.prefix = conf.hash_prefix;
	od.hash.suffix = conf.hash_suffix;
	pthread_mutex_init(&od.lock, NULL);
	pthread_mutex_init(&od.pass_lock, NULL);
	pthread_mutex_init(&od.exp_pass_lock, NULL);
	pthread_cond_init(&od.wake, NULL);
	for (i = 0; i < EXP_LOCKS; i++)
		pthread_mutex_init(&od.hash_locks[i], NULL);
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(expirer, .init = setup, .fini = teardown);

static int count_files(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static void locate(const char *o, struct df_loc *loc)
{
	cr_assert_eq(df_locate(root, "d1", "7", &od.hash, "a", "c", o, loc), 0);
}

/* Write a .data of o at secs with X-Delete-At da (0: none). */
static void put(const struct df_loc *loc, int64_t secs, int64_t da)
{
	struct objmeta m = OBJMETA_INIT;
	struct df_writer w;
	struct ts t = {secs * 100000, 0};
	char etag[33], tsb[TS_INTERNAL_LEN + 1], v[32];

	cr_assert_eq(df_writer_open(loc, &w, -1), 0);
	cr_assert_eq(df_writer_write(&w, "body", 4), 0);
	cr_assert_eq(df_writer_etag(&w, etag), 0);
	objmeta_set(&m, "name", loc->name);
	objmeta_set(&m, "X-Timestamp", ts_internal(&t, tsb));
	objmeta_set(&m, "Content-Type", "text/plain");
	objmeta_set(&m, "Content-Length", "4");
	objmeta_set(&m, "ETag", etag);
	if (da) {
		snprintf(v, sizeof(v), "%010lld", (long long)da);
		objmeta_set(&m, "X-Delete-At", v);
	}
	cr_assert_eq(df_writer_commit(&w, loc, &t, ".data", &m), 0);
	objmeta_free(&m);
}

/* The index entry of (da, loc) as the server writes it. */
static void index_add(const struct df_loc *loc, const char *o, int64_t da)
{
	cr_assert_eq(exp_before_write(&od, NULL, loc, "7", "a", "c", o, da), 0);
}

static int has_entry(const struct df_loc *loc, int64_t da)
{
	char path[4096];

	cr_assert_eq(exp_index_path(dev, da, loc->hash, path, sizeof(path)), 0);
	return exists(path);
}

static enum df_state state_of(const struct df_loc *loc, struct ts *t)
{
	struct df_obj obj;
	enum df_state s;

	cr_assert_eq(df_open(loc, 0, &obj), 0);
	s = obj.state;
	if (t)
		*t = obj.data_ts;
	df_close(&obj);
	return s;
}

Test(expirer, delete_at_of)
{
	struct objmeta m = OBJMETA_INIT;

	cr_assert_eq(exp_delete_at_of(&m), 0);
	objmeta_set(&m, "X-Delete-At", "1700000000");
	cr_assert_eq(exp_delete_at_of(&m), 1700000000);
	objmeta_set(&m, "X-Delete-At", "");
	cr_assert_eq(exp_delete_at_of(&m), 0);
	objmeta_set(&m, "X-Delete-At", "12x");
	cr_assert_eq(exp_delete_at_of(&m), 0);
	objmeta_set(&m, "X-Delete-At", "-5");
	cr_assert_eq(exp_delete_at_of(&m), 0);
	objmeta_free(&m);
}

Test(expirer, names)
{
	char path[512], hash[33];
	int64_t da;

	cr_assert_eq(exp_index_path("/srv/d1", 42,
				    "0123456789abcdef0123456789abcdef", path,
				    sizeof(path)),
		     0);
	cr_assert_str_eq(path, "/srv/d1/expiring/0000000042-"
			       "0123456789abcdef0123456789abcdef");
	cr_assert_eq(exp_index_parse_name(strrchr(path, '/') + 1, &da, hash),
		     0);
	cr_assert_eq(da, 42);
	cr_assert_str_eq(hash, "0123456789abcdef0123456789abcdef");
	cr_assert_eq(exp_index_path("/srv/d1", 42, "x", path, 10),
		     -ENAMETOOLONG);
	cr_assert_eq(exp_index_parse_name("0000000042-0123", &da, hash),
		     -EINVAL);
	cr_assert_eq(exp_index_parse_name("000000004x-0123456789abcdef"
					  "0123456789abcdef",
					  &da, hash),
		     -EINVAL);
	cr_assert_eq(exp_index_parse_name("0000000042-0123456789ABCDEF"
					  "0123456789abcdef",
					  &da, hash),
		     -EINVAL);
	cr_assert_eq(exp_index_parse_name("0000000042-0123456789abcdef"
					  "0123456789abcdef.tmpAbCdEf",
					  &da, hash),
		     -EINVAL);
}

Test(expirer, add_read_remove)
{
	struct exp_entry e, back;
	char path[4096];

	memset(&e, 0, sizeof(e));
	e.delete_at = 1700000123;
	strcpy(e.hash, "00112233445566778899aabbccddeeff");
	strcpy(e.part, "17");
	strcpy(e.account, "AUTH_test");
	strcpy(e.container, "c \xc3\xa9");
	strcpy(e.obj, "dir/o\"bj");
	strcpy(e.cont_host, "127.0.0.1:6201,127.0.0.1:6202");
	strcpy(e.cont_device, "d1,d2");
	strcpy(e.cont_part, "99");
	cr_assert_eq(exp_index_add(dev, &e), 0);
	cr_assert_eq(
		exp_index_path(dev, e.delete_at, e.hash, path, sizeof(path)),
		0);
	cr_assert(exists(path));
	cr_assert_eq(exp_index_read(path, &back), 0);
	cr_assert_eq(back.delete_at, e.delete_at);
	cr_assert_str_eq(back.hash, e.hash);
	cr_assert_str_eq(back.part, "17");
	cr_assert_str_eq(back.account, "AUTH_test");
	cr_assert_str_eq(back.container, e.container);
	cr_assert_str_eq(back.obj, e.obj);
	cr_assert_str_eq(back.cont_host, e.cont_host);
	cr_assert_str_eq(back.cont_device, "d1,d2");
	cr_assert_str_eq(back.cont_part, "99");
	cr_assert_eq(back.policy, 0);
	/* adding again replaces; only one file, no temp left; the storage
	 * policy of an objects-N object travels with its entry */
	strcpy(e.cont_part, "98");
	e.policy = 3;
	cr_assert_eq(exp_index_add(dev, &e), 0);
	cr_assert_eq(exp_index_read(path, &back), 0);
	cr_assert_str_eq(back.cont_part, "98");
	cr_assert_eq(back.policy, 3);
	snprintf(path, sizeof(path), "%s/expiring", dev);
	cr_assert_eq(count_files(path), 1);
	cr_assert_eq(exp_index_remove(dev, e.delete_at, e.hash), 0);
	cr_assert_eq(count_files(path), 0);
	cr_assert_eq(exp_index_remove(dev, e.delete_at, e.hash), 0);
}

Test(expirer, read_rejects_garbage)
{
	char path[4096];
	struct exp_entry e;
	FILE *f;

	cr_assert_eq(exp_index_path(dev, 5, "00112233445566778899aabbccddeeff",
				    path, sizeof(path)),
		     0);
	cr_assert_eq(exp_index_read(path, &e), -ENOENT);
	snprintf(path, sizeof(path), "%s/expiring", dev);
	mkdir(path, 0755);
	cr_assert_eq(exp_index_path(dev, 5, "00112233445566778899aabbccddeeff",
				    path, sizeof(path)),
		     0);
	f = fopen(path, "w");
	fputs("{\"account\": \"a\"}", f);
	fclose(f);
	cr_assert_eq(exp_index_read(path, &e), -EINVAL);
}

Test(expirer, write_hooks)
{
	struct df_loc loc;

	locate("o", &loc);
	/* PUT with T1: entry before the commit, kept after */
	index_add(&loc, "o", 2000);
	put(&loc, 1000, 2000);
	exp_after_write(&loc, 0, 2000);
	cr_assert(has_entry(&loc, 2000));
	/* a newer PUT with T2 replaces it */
	index_add(&loc, "o", 3000);
	put(&loc, 1001, 3000);
	exp_after_write(&loc, 2000, 3000);
	cr_assert_not(has_entry(&loc, 2000));
	cr_assert(has_entry(&loc, 3000));
	/* an entry for a write that lost to a newer one goes away */
	index_add(&loc, "o", 4000);
	put(&loc, 999, 4000); /* older than the current: cleaned up */
	exp_after_write(&loc, 3000, 4000);
	cr_assert(has_entry(&loc, 3000));
	cr_assert_not(has_entry(&loc, 4000));
	/* a PUT without X-Delete-At drops it */
	put(&loc, 1002, 0);
	exp_after_write(&loc, 3000, 0);
	cr_assert_not(has_entry(&loc, 3000));
}

Test(expirer, pass_expires_due_objects)
{
	struct df_loc loc;
	struct ts t;
	char path[4096];

	locate("o", &loc);
	index_add(&loc, "o", 2000);
	put(&loc, 1000, 2000);
	/* not due yet: nothing happens */
	cr_assert_eq(exp_run_once(&od, 1999), 0);
	cr_assert(has_entry(&loc, 2000));
	cr_assert_eq(state_of(&loc, NULL), DF_LIVE);
	/* due: a tombstone at exactly X-Delete-At, the .data gone */
	cr_assert_eq(exp_run_once(&od, 2000), 1);
	cr_assert_not(has_entry(&loc, 2000));
	cr_assert_eq(state_of(&loc, &t), DF_DELETED);
	cr_assert_eq(t.ticks, 2000LL * 100000);
	cr_assert_eq(t.offset, 0);
	cr_assert_eq(count_files(loc.hash_dir), 1);
	snprintf(path, sizeof(path), "%s/0000002000.00000.ts", loc.hash_dir);
	cr_assert(exists(path), "%s", path);
	/* idempotent */
	cr_assert_eq(exp_run_once(&od, 5000), 0);
	cr_assert_eq(count_files(loc.hash_dir), 1);
}

Test(expirer, stale_entries_are_dropped)
{
	struct df_loc a, b, c;

	/* a: re-PUT without X-Delete-At after the entry was made (a crash
	 * before exp_after_write left the entry) */
	locate("a", &a);
	index_add(&a, "a", 2000);
	put(&a, 1000, 2000);
	put(&a, 1500, 0);
	/* b: X-Delete-At changed to a later time */
	locate("b", &b);
	index_add(&b, "b", 2000);
	index_add(&b, "b", 9000);
	put(&b, 1000, 9000);
	/* c: entry, but the write never committed */
	locate("c", &c);
	index_add(&c, "c", 2000);
	cr_assert_eq(exp_run_once(&od, 3000), 0);
	cr_assert_not(has_entry(&a, 2000));
	cr_assert_not(has_entry(&b, 2000));
	cr_assert(has_entry(&b, 9000));
	cr_assert_not(has_entry(&c, 2000));
	cr_assert_eq(state_of(&a, NULL), DF_LIVE);
	cr_assert_eq(state_of(&b, NULL), DF_LIVE);
	cr_assert_eq(state_of(&c, NULL), DF_ABSENT);
	/* b expires when its own time comes */
	cr_assert_eq(exp_run_once(&od, 9000), 1);
	cr_assert_eq(state_of(&b, NULL), DF_DELETED);
}

Test(expirer, newer_put_wins_over_expiry)
{
	struct df_loc loc;
	struct ts t;

	/* a replica that already holds a PUT newer than X-Delete-At (say,
	 * replicated in) with the same X-Delete-At is left alone */
	locate("o", &loc);
	index_add(&loc, "o", 2000);
	put(&loc, 2500, 2000);
	cr_assert_eq(exp_run_once(&od, 3000), 0);
	cr_assert_not(has_entry(&loc, 2000));
	cr_assert_eq(state_of(&loc, &t), DF_LIVE); /* .data kept */
	cr_assert_eq(t.ticks, 2500LL * 100000);
}

Test(expirer, tombstone_without_update_is_resent)
{
	struct df_loc loc;
	struct objmeta m = OBJMETA_INIT;
	struct ts t = {2000LL * 100000, 0};

	/* a crash after the tombstone, before the entry went: the next pass
	 * finds the tombstone at X-Delete-At and finishes (drops the entry) */
	locate("o", &loc);
	index_add(&loc, "o", 2000);
	put(&loc, 1000, 2000);
	objmeta_set(&m, "name", loc.name);
	objmeta_set(&m, "X-Timestamp", "0000002000.00000");
	cr_assert_eq(df_write_empty(&loc, &t, ".ts", &m), 0);
	objmeta_free(&m);
	cr_assert_eq(exp_run_once(&od, 3000), 0);
	cr_assert_not(has_entry(&loc, 2000));
	cr_assert_eq(state_of(&loc, NULL), DF_DELETED);
}

Test(expirer, garbage_and_temp_files)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/expiring", dev);
	mkdir(path, 0755);
	/* an unreadable entry that is due is removed */
	snprintf(path, sizeof(path),
		 "%s/expiring/0000000010-00112233445566778899aabbccddeeff",
		 dev);
	f = fopen(path, "w");
	fputs("not json", f);
	fclose(f);
	/* a fresh temp file is left alone, other names are ignored */
	snprintf(path, sizeof(path),
		 "%s/expiring/0000000010-00112233445566778899aabbccddeeff"
		 ".tmpAbCdEf",
		 dev);
	f = fopen(path, "w");
	fclose(f);
	cr_assert_eq(exp_run_once(&od, 3000), 0);
	snprintf(path, sizeof(path), "%s/expiring", dev);
	cr_assert_eq(count_files(path), 1);
}
