/*
 * tests/unit/objectd/test_hashes.c: the suffix hashes of a partition
 * (objectd/hashes.c) and what the replicator relies on in diskfile.c:
 * every write invalidates its suffix, invalidations are never lost to
 * concurrent writers while hashes are being computed, old tombstones are
 * reclaimed by a rehash (and young ones are not), hashes.invalid is the
 * partition's lock (no .lock file), suffix listings, and a
 * replicated file is refused unless it is whole (df_writer_place).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "objectd/internal.h"

static char root[256];
static char dev[300];
static const struct ring_hash_conf hconf = {"", "kumotest"};

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/kumo-hashes.XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	snprintf(dev, sizeof(dev), "%s/d1", root);
	cr_assert_eq(mkdir(dev, 0755), 0);
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(hashes, .init = setup, .fini = teardown);

static void locate(struct df_loc *loc, const char *o)
{
	cr_assert_eq(df_locate(root, "d1", "7", &hconf, "a", "c", o, loc), 0);
}

/* A tombstone (or .meta) of object o at secs. */
static void write_at(const char *o, int64_t secs, const char *ext)
{
	struct objmeta m = OBJMETA_INIT;
	struct ts t = {secs * 100000, 0};
	char tsb[TS_INTERNAL_LEN + 1];
	struct df_loc loc;

	locate(&loc, o);
	objmeta_set(&m, "name", loc.name);
	objmeta_set(&m, "X-Timestamp", ts_internal(&t, tsb));
	cr_assert_eq(df_write_empty(&loc, &t, ext, &m), 0);
	objmeta_free(&m);
}

static json_t *hashes(void)
{
	json_t *h = NULL;

	cr_assert_eq(objd_get_hashes(dev, 0, "7", NULL, 0, 604800, &h), 0);
	cr_assert_not_null(h);
	return h;
}

/* The hashes computed from nothing cached. */
static json_t *fresh_hashes(void)
{
	char path[400];

	snprintf(path, sizeof(path), "%s/objects/7/hashes.json", dev);
	unlink(path);
	return hashes();
}

Test(hashes, absent_partition_is_empty)
{
	json_t *h = hashes();

	cr_assert_eq(json_object_size(h), 0);
	json_decref(h);
}

Test(hashes, every_write_invalidates_its_suffix)
{
	struct df_loc loc;
	json_t *a, *b, *c;
	const char *sfx;
	char path[400];
	struct stat st;
	int64_t now = (int64_t)time(NULL);

	locate(&loc, "o1");
	sfx = loc.hash + 29;
	write_at("o1", now - 20, ".ts");
	a = hashes();
	cr_assert_eq(json_object_size(a), 1);
	cr_assert(json_is_string(json_object_get(a, sfx)));
	/* cached: hashes.invalid was consolidated and emptied */
	snprintf(path, sizeof(path), "%s/objects/7/hashes.invalid", dev);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, 0);
	write_at("o1", now - 10, ".ts");
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, 4, "the write appended its suffix");
	b = hashes();
	cr_assert_str_neq(json_string_value(json_object_get(a, sfx)),
			  json_string_value(json_object_get(b, sfx)));
	c = fresh_hashes();
	cr_assert(json_equal(b, c));
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

/* a write in place locks hashes.invalid itself: no .lock file is made
 * beside it (one file and one open fewer per partition and write) */
Test(hashes, invalidation_locks_hashes_invalid)
{
	char path[400];
	struct stat st;
	json_t *h;

	write_at("o1", (int64_t)time(NULL) - 10, ".ts");
	snprintf(path, sizeof(path), "%s/objects/7/hashes.invalid", dev);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, 4);
	snprintf(path, sizeof(path), "%s/objects/7/.lock", dev);
	cr_assert_eq(stat(path, &st), -1, "a .lock file was made");
	h = hashes(); /* consolidating takes the same lock */
	cr_assert_eq(json_object_size(h), 1);
	cr_assert_eq(stat(path, &st), -1, "a .lock file was made");
	json_decref(h);
}

Test(hashes, quarantine_invalidates)
{
	struct df_loc loc;
	json_t *a, *b;
	int64_t now = (int64_t)time(NULL);

	write_at("q1", now, ".ts");
	write_at("q2", now, ".ts");
	a = hashes();
	locate(&loc, "q1");
	cr_assert_eq(df_quarantine(&loc, "test"), 0);
	b = hashes();
	cr_assert_not(json_equal(a, b));
	json_decref(a);
	a = fresh_hashes();
	cr_assert(json_equal(a, b));
	json_decref(a);
	json_decref(b);
}

struct writer_arg {
	int id;
	int64_t now;
};

static volatile int writers_done;

static void *writer(void *p)
{
	struct writer_arg *w = p;
	char name[64];
	int i;

	for (i = 0; i < 150; i++) {
		snprintf(name, sizeof(name), "w%d-%d", w->id, i % 40);
		write_at(name, w->now + i, ".ts");
	}
	return NULL;
}

static void *hasher(void *p)
{
	(void)p;
	while (!writers_done) {
		json_t *h = NULL;

		cr_assert_eq(objd_get_hashes(dev, 0, "7", NULL, 0, 604800, &h),
			     0);
		json_decref(h);
	}
	return NULL;
}

Test(hashes, no_invalidation_lost_under_concurrent_writes, .timeout = 60)
{
	struct writer_arg args[4];
	pthread_t w[4], h[2];
	json_t *cached, *fresh;
	int i;

	writers_done = 0;
	for (i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&h[i], NULL, hasher, NULL), 0);
	for (i = 0; i < 4; i++) {
		args[i].id = i;
		args[i].now = (int64_t)time(NULL) - 1000;
		cr_assert_eq(pthread_create(&w[i], NULL, writer, &args[i]), 0);
	}
	for (i = 0; i < 4; i++)
		pthread_join(w[i], NULL);
	writers_done = 1;
	for (i = 0; i < 2; i++)
		pthread_join(h[i], NULL);
	cached = hashes();
	fresh = fresh_hashes();
	cr_assert(json_object_size(fresh) > 50);
	cr_assert(json_equal(cached, fresh),
		  "a suffix hash missed a write made while hashing");
	json_decref(cached);
	json_decref(fresh);
}

Test(hashes, old_tombstones_are_reclaimed)
{
	struct df_loc old, young;
	json_t *h = NULL;
	struct stat st;
	int64_t now = (int64_t)time(NULL);

	write_at("old", now - 1000, ".ts");
	write_at("young", now - 10, ".ts");
	locate(&old, "old");
	locate(&young, "young");
	cr_assert_eq(objd_get_hashes(dev, 0, "7", NULL, 0, 100, &h), 0);
	cr_assert_eq(stat(old.hash_dir, &st), -1, "old tombstone kept");
	cr_assert_eq(stat(young.hash_dir, &st), 0, "young tombstone gone");
	cr_assert_not_null(json_object_get(h, young.hash + 29));
	if (strcmp(old.hash + 29, young.hash + 29))
		cr_assert_null(json_object_get(h, old.hash + 29),
			       "the emptied suffix is still hashed");
	json_decref(h);
}

Test(hashes, listing_shows_newest_files)
{
	struct objd_entry *e = NULL;
	struct df_loc loc;
	int64_t now = (int64_t)time(NULL);
	struct ts want = {(now - 5) * 100000, 0};
	int n;

	write_at("l1", now - 10, ".ts");
	write_at("l1", now - 5, ".ts");
	locate(&loc, "l1");
	cr_assert_eq(
		objd_list_suffix(dev, 0, "7", loc.hash + 29, 604800, &e, &n),
		0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(e[0].hash, loc.hash);
	cr_assert_eq(e[0].cur.state, DF_DELETED);
	cr_assert_eq(ts_cmp(&e[0].cur.data_ts, &want), 0);
	cr_assert_eq(e[0].cur.nfiles, 1, "the older tombstone went");
	free(e);
	cr_assert_eq(objd_list_suffix(dev, 0, "7", "fff", 604800, &e, &n), 0);
	cr_assert_eq(n, 0);
	free(e);
	cr_assert_eq(objd_list_suffix(dev, 0, "7", "../x", 604800, &e, &n),
		     -EINVAL);
}

/* Copy the file at src into a writer, flipping byte flip (-1: none). */
static int place_copy(const char *src, const struct df_loc *loc,
		      const char *fname, long flip)
{
	struct objmeta m = OBJMETA_INIT;
	struct df_writer w;
	char buf[65536];
	ssize_t n;
	long off = 0;
	int fd = open(src, O_RDONLY), rc, i;

	cr_assert_geq(fd, 0);
	cr_assert_eq(df_writer_open(loc, &w, -1), 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++)
			if (off + i == flip)
				buf[i] ^= 1;
		off += n;
		cr_assert_eq(df_writer_write(&w, buf, (size_t)n), 0);
	}
	close(fd);
	rc = df_writer_place(&w, loc, fname, &m);
	objmeta_free(&m);
	return rc;
}

Test(hashes, replicated_file_must_be_whole)
{
	struct objmeta m = OBJMETA_INIT;
	struct df_loc src, dst;
	struct df_writer w;
	struct ts t = {1000000000LL * 100000, 0};
	char etag[33], tsb[TS_INTERNAL_LEN + 1], path[PATH_MAX + 64];
	char other[400];
	struct df_obj obj;

	locate(&src, "r1");
	cr_assert_eq(df_writer_open(&src, &w, -1), 0);
	cr_assert_eq(df_writer_write(&w, "hello world", 11), 0);
	cr_assert_eq(df_writer_etag(&w, etag), 0);
	objmeta_set(&m, "name", src.name);
	objmeta_set(&m, "X-Timestamp", ts_internal(&t, tsb));
	objmeta_set(&m, "Content-Type", "text/plain");
	objmeta_set(&m, "Content-Length", "11");
	objmeta_set(&m, "ETag", etag);
	cr_assert_eq(df_writer_commit(&w, &src, &t, ".data", &m), 0);
	objmeta_free(&m);
	snprintf(path, sizeof(path), "%s/%s.data", src.hash_dir, tsb);
	/* another device receives it */
	snprintf(other, sizeof(other), "%s/d2", root);
	cr_assert_eq(mkdir(other, 0755), 0);
	cr_assert_eq(df_locate(root, "d2", "7", &hconf, "a", "c", "r1", &dst),
		     0);
	snprintf(other, sizeof(other), "%s.data", tsb);
	cr_assert_eq(place_copy(path, &dst, other, 3), -EILSEQ,
		     "a flipped body byte");
	cr_assert_eq(place_copy(path, &dst, other, 20), -EILSEQ,
		     "a flipped metadata byte");
	cr_assert_eq(place_copy(path, &dst, "1000000001.00000.data", -1),
		     -EILSEQ, "a name with another timestamp");
	cr_assert_eq(df_open(&dst, 0, &obj), 0);
	cr_assert_eq(obj.state, DF_ABSENT, "nothing placed");
	df_close(&obj);
	cr_assert_eq(place_copy(path, &dst, other, -1), 0);
	cr_assert_eq(df_open(&dst, 0, &obj), 0);
	cr_assert_eq(obj.state, DF_LIVE);
	cr_assert_str_eq(objmeta_get(&obj.meta, "ETag"), etag);
	df_close(&obj);
}

/* A storage policy's objects live in objects-N (Swift's get_data_dir):
 * a write there invalidates its suffix in objects-N/<part>, not in
 * objects/; a hash dir outside objects[-N] is refused. */
Test(hashes, policy_folder_invalidates_its_own_suffix)
{
	struct objmeta m = OBJMETA_INIT;
	struct ts t = {((int64_t)time(NULL) - 5) * 100000, 0};
	char tsb[TS_INTERNAL_LEN + 1], path[DF_HASH_DIR_MAX], want[8];
	struct df_loc loc, loc0;
	struct stat st;
	FILE *f;

	cr_assert_eq(df_locate_policy(root, "d1", "7", 2, &hconf, "a", "c",
				      "o1", &loc),
		     0);
	locate(&loc0, "o1");
	cr_assert_str_eq(loc.hash, loc0.hash);
	snprintf(path, sizeof(path), "%s/objects-2/7/%.3s/%.32s", dev,
		 loc.hash + 29, loc.hash);
	cr_assert_str_eq(loc.hash_dir, path);
	objmeta_set(&m, "name", loc.name);
	objmeta_set(&m, "X-Timestamp", ts_internal(&t, tsb));
	cr_assert_eq(df_write_empty(&loc, &t, ".ts", &m), 0);
	objmeta_free(&m);
	snprintf(path, sizeof(path), "%s/objects-2/7/hashes.invalid", dev);
	f = fopen(path, "r");
	cr_assert_not_null(f, "no %s", path);
	cr_assert_not_null(fgets(want, sizeof(want), f));
	fclose(f);
	cr_assert_eq(strncmp(want, loc.hash + 29, 3), 0);
	snprintf(path, sizeof(path), "%s/objects/7", dev);
	cr_assert_neq(stat(path, &st), 0, "policy 0's folder was touched");
	snprintf(path, sizeof(path), "%s/objectsX/7/%.3s/%.32s", dev,
		 loc.hash + 29, loc.hash);
	cr_assert_eq(objd_hash_invalidate_dir(path), -EINVAL);
	snprintf(path, sizeof(path), "%s/objects-/7/%.3s/%.32s", dev,
		 loc.hash + 29, loc.hash);
	cr_assert_eq(objd_hash_invalidate_dir(path), -EINVAL);
}
