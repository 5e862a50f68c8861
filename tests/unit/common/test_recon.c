/*
 * tests/unit/common/test_recon.c: the recon cache (Swift's
 * dump_recon_cache merge rules, concurrent writers losing nothing) and
 * the answers of the /recon checks (keys, counts measured on disk, 404
 * for unknown checks).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "common/recon.h"

static char root[256], cache[300], devices[300];

static void mk(const char *fmt, const char *arg)
{
	char path[600];

	snprintf(path, sizeof(path), fmt, root, arg);
	cr_assert_eq(mkdir(path, 0755), 0, "%s", path);
}

static void touch(const char *rel)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	cr_assert(f, "%s", path);
	fclose(f);
}

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/kumo-recon.XXXXXX");
	cr_assert(mkdtemp(root));
	snprintf(cache, sizeof(cache), "%s/cache/sub", root);
	snprintf(devices, sizeof(devices), "%s/node", root);
	mk("%s/%s", "node");
	mk("%s/node/%s", "d1");
	mk("%s/node/%s", "d2");
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(recon, .init = setup, .fini = teardown);

Test(recon, update_merges_like_swift)
{
	json_t *f, *got;

	f = json_pack("{s:i,s:{s:i,s:i}}", "a", 1, "stats", "x", 1, "y", 2);
	cr_assert_eq(recon_update(cache, "object", f), 0);
	json_decref(f);
	f = json_pack("{s:s,s:{s:i,s:{}}}", "b", "two", "stats", "z", 3, "x");
	cr_assert_eq(recon_update(cache, "object", f), 0);
	json_decref(f);
	got = recon_load(cache, "object");
	cr_assert_eq(json_integer_value(json_object_get(got, "a")), 1);
	cr_assert_str_eq(json_string_value(json_object_get(got, "b")), "two");
	f = json_object_get(got, "stats");
	cr_expect_null(json_object_get(f, "x"), "an empty dict removes");
	cr_expect_eq(json_integer_value(json_object_get(f, "y")), 2);
	cr_expect_eq(json_integer_value(json_object_get(f, "z")), 3);
	json_decref(got);
	/* an empty object removes the key */
	f = json_pack("{s:{}}", "stats");
	cr_assert_eq(recon_update(cache, "object", f), 0);
	json_decref(f);
	got = recon_load(cache, "object");
	cr_expect_null(json_object_get(got, "stats"));
	cr_expect_eq(json_integer_value(json_object_get(got, "a")), 1);
	json_decref(got);
}

Test(recon, bad_names_and_missing_files)
{
	json_t *f = json_object(), *got;

	cr_expect_eq(recon_update(cache, "../x", f), -EINVAL);
	cr_expect_eq(recon_update(cache, "", f), -EINVAL);
	json_decref(f);
	got = recon_load(cache, "nothing");
	cr_assert(json_is_object(got));
	cr_expect_eq(json_object_size(got), 0);
	json_decref(got);
}

static void *writer(void *arg)
{
	long id = (long)arg;
	char key[32];
	int i;

	for (i = 0; i < 20; i++) {
		json_t *f = json_object();

		snprintf(key, sizeof(key), "k%ld_%d", id, i);
		json_object_set_new(f, key, json_integer(i));
		if (recon_update(cache, "container", f))
			return (void *)1;
		json_decref(f);
	}
	return NULL;
}

Test(recon, concurrent_writers_lose_nothing)
{
	pthread_t t[4];
	void *ret;
	json_t *got;
	long i;

	for (i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, writer, (void *)i), 0);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], &ret);
		cr_expect_null(ret);
	}
	got = recon_load(cache, "container");
	cr_expect_eq(json_object_size(got), 80);
	json_decref(got);
}

Test(recon, answers)
{
	struct recon_conf rc = {"object", devices, cache, NULL};
	json_t *a, *f;
	int status;

	mk("%s/node/d1/%s", "quarantined");
	mk("%s/node/d1/quarantined/%s", "objects");
	mk("%s/node/d1/quarantined/objects/%s", "abc");
	mk("%s/node/d1/quarantined/objects/%s", "def");
	mk("%s/node/d2/%s", "quarantined");
	mk("%s/node/d2/quarantined/%s", "containers");
	touch("node/d2/quarantined/containers/x");
	mk("%s/node/d2/%s", "async_pending");
	mk("%s/node/d2/async_pending/%s", "123");
	touch("node/d2/async_pending/123/a");
	touch("node/d2/async_pending/123/b");

	a = recon_answer(&rc, "quarantined", NULL, &status);
	cr_assert_eq(status, 200);
	cr_expect_eq(json_integer_value(json_object_get(a, "objects")), 2);
	cr_expect_eq(json_integer_value(json_object_get(a, "containers")), 1);
	cr_expect_eq(json_integer_value(json_object_get(a, "accounts")), 0);
	json_decref(a);

	a = recon_answer(&rc, "async", NULL, &status);
	cr_expect_eq(json_integer_value(json_object_get(a, "async_pending")),
		     2);
	json_decref(a);

	a = recon_answer(&rc, "diskusage", NULL, &status);
	cr_assert(json_is_array(a));
	cr_assert_eq(json_array_size(a), 2);
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(a, 0),
							   "device")),
			 "d1");
	cr_expect(
		json_is_true(json_object_get(json_array_get(a, 1), "mounted")));
	cr_expect_gt(json_integer_value(
			     json_object_get(json_array_get(a, 1), "size")),
		     0);
	json_decref(a);

	f = json_pack("{s:f,s:f,s:{s:i}}", "object_replication_last", 12.5,
		      "object_replication_time", 0.5, "replication_stats",
		      "success", 7);
	cr_assert_eq(recon_update(cache, "object", f), 0);
	json_decref(f);
	a = recon_answer(&rc, "replication", "object", &status);
	cr_assert_eq(status, 200);
	cr_expect_eq(
		json_real_value(json_object_get(a, "object_replication_last")),
		12.5);
	/* Swift's replicator writes both pairs; swift-recon reads these */
	cr_expect_eq(json_real_value(json_object_get(a, "replication_last")),
		     12.5);
	cr_expect_eq(json_real_value(json_object_get(a, "replication_time")),
		     0.5);
	json_decref(a);

	a = recon_answer(&rc, "auditor", "container", &status);
	cr_assert_eq(status, 200);
	cr_expect(json_object_get(a, "container_audits_passed") != NULL);
	json_decref(a);

	a = recon_answer(&rc, "time", NULL, &status);
	cr_expect(json_is_real(a));
	json_decref(a);
	a = recon_answer(&rc, "unmounted", NULL, &status);
	cr_expect(json_is_array(a) && json_array_size(a) == 0);
	json_decref(a);

	/* ringmd5: every *.ring.gz of swift_dir */
	touch("node/object.ring.gz");
	rc.swift_dir = devices;
	a = recon_answer(&rc, "ringmd5", NULL, &status);
	cr_assert_eq(status, 200);
	cr_expect_eq(json_object_size(a), 1);
	{
		char want[600];

		snprintf(want, sizeof(want), "%s/object.ring.gz", devices);
		cr_expect_str_eq(json_string_value(json_object_get(a, want)),
				 "d41d8cd98f00b204e9800998ecf8427e");
	}
	json_decref(a);

	cr_expect_null(recon_answer(&rc, "nonsense", NULL, &status));
	cr_expect_eq(status, 404);
	cr_expect_null(recon_answer(&rc, "auditor", "volume", &status));
	cr_expect_eq(status, 404);
	cr_expect(recon_is_path("/recon/async"));
	cr_expect(!recon_is_path("/reconx"));
}
