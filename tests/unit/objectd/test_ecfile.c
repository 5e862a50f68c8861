/*
 * tests/unit/objectd/test_ecfile.c: fragment archives in an erasure-coded
 * policy's folder (objectd/diskfile.c, objectd/hashes.c): the
 * <ts>#<i>.data / <ts>#<i>#d.data names, what is current (newest .ts or
 * durable archive, an index chosen among several), cleanup of older files
 * after a durable one, the reclaim of old non-durable archives, the
 * durable commit (df_commit_archive), df_list_archives, suffix hashes that
 * differ per index, and a replicated folder that ignores archive names.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/policy.h"
#include "objectd/internal.h"

static char root[256];
static const struct ring_hash_conf hconf = {"", "kumotest"};

static const char policies[] = "[swift-hash]\n"
			       "swift_hash_path_suffix = kumotest\n"
			       "[storage-policy:0]\n"
			       "name = gold\n"
			       "default = yes\n"
			       "[storage-policy:1]\n"
			       "name = ec42\n"
			       "policy_type = erasure_coding\n"
			       "ec_type = liberasurecode_rs_vand\n"
			       "ec_num_data_fragments = 4\n"
			       "ec_num_parity_fragments = 2\n";

static void setup(void)
{
	char path[300], err[256];
	FILE *f;

	snprintf(root, sizeof(root), "/tmp/kumo-ecfile.XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/d1", root);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/swift.conf", root);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(policies, f);
	fclose(f);
	cr_assert_eq(policy_load(path, err, sizeof(err)), 0, "%s", err);
}

static void teardown(void)
{
	char cmd[300];

	policy_reset();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(ecfile, .init = setup, .fini = teardown);

static struct ts mkts(int64_t secs)
{
	struct ts t = {secs * 100000, 0};

	return t;
}

static void locate(struct df_loc *loc, int policy, const char *o)
{
	cr_assert_eq(df_locate_policy(root, "d1", "7", policy, &hconf, "a", "c",
				      o, loc),
		     0);
}

/* Write a file of body at time secs named <ts><ext> ("#3.data", ...). */
static void put(const struct df_loc *loc, int64_t secs, const char *ext,
		const char *body)
{
	struct objmeta m = OBJMETA_INIT;
	struct df_writer w;
	struct ts t = mkts(secs);
	char etag[33], tsb[TS_INTERNAL_LEN + 1], len[32];

	cr_assert_eq(df_writer_open(loc, &w, -1), 0);
	cr_assert_eq(df_writer_write(&w, body, strlen(body)), 0);
	cr_assert_eq(df_writer_etag(&w, etag), 0);
	snprintf(len, sizeof(len), "%zu", strlen(body));
	objmeta_set(&m, "name", loc->name);
	objmeta_set(&m, "X-Timestamp", ts_internal(&t, tsb));
	objmeta_set(&m, "Content-Type", "x/y");
	objmeta_set(&m, "Content-Length", len);
	objmeta_set(&m, "ETag", etag);
	cr_assert_eq(df_writer_commit(&w, loc, &t, ext, &m), 0);
	objmeta_free(&m);
}

/* Make the archive idx of time secs durable through df_commit_archive. */
static int commit(const struct df_loc *loc, int64_t secs, int idx)
{
	struct objmeta add = OBJMETA_INIT, meta = OBJMETA_INIT;
	struct ts t = mkts(secs);
	int rc;

	objmeta_set(&add, "X-Object-Sysmeta-Ec-Etag", "0123");
	objmeta_set(&add, "X-Object-Sysmeta-Ec-Content-Length", "77");
	rc = df_commit_archive(loc, &t, idx, &add, &meta);
	objmeta_free(&add);
	objmeta_free(&meta);
	return rc;
}

/* The file names of loc's hash dir, sorted, space-separated, into out. */
static const char *names(const struct df_loc *loc, char *out, size_t len)
{
	struct dirent **list;
	size_t used = 0;
	int n, i;

	out[0] = '\0';
	n = scandir(loc->hash_dir, &list, NULL, alphasort);
	for (i = 0; i < n; i++) {
		if (list[i]->d_name[0] != '.')
			used += (size_t)snprintf(out + used, len - used, "%s%s",
						 used ? " " : "",
						 list[i]->d_name);
		free(list[i]);
	}
	if (n >= 0)
		free(list);
	return out;
}

/* The body df_open_ec serves (state DF_LIVE), or "" with *state set. */
static const char *served(const struct df_loc *loc, int idx, int nondurable,
			  enum df_state *state, char *out, size_t len)
{
	struct df_obj obj;
	ssize_t n = 0;

	cr_assert_eq(df_open_ec(loc, 0, idx, nondurable, &obj), 0);
	*state = obj.state;
	if (obj.state == DF_LIVE)
		n = pread(obj.fd, out, len - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	df_close(&obj);
	return out;
}

Test(ecfile, nondurable_invisible_until_commit)
{
	struct df_loc loc;
	struct df_obj obj;
	enum df_state st;
	char buf[512];

	locate(&loc, 1, "o");
	put(&loc, 100, "#2.data", "arch2");
	cr_expect_str_eq(names(&loc, buf, sizeof(buf)),
			 "0000000100.00000#2.data");
	served(&loc, -1, 0, &st, buf, sizeof(buf));
	cr_expect_eq(st, DF_ABSENT);
	cr_expect_str_eq(served(&loc, -1, 1, &st, buf, sizeof(buf)), "arch2");
	cr_expect_eq(st, DF_LIVE);
	cr_expect_eq(commit(&loc, 100, 3), -ENOENT);
	cr_expect_eq(commit(&loc, 101, 2), -ENOENT);
	cr_expect_eq(commit(&loc, 100, 2), 0);
	cr_expect_eq(commit(&loc, 100, 2), 1); /* idempotent */
	cr_expect_str_eq(names(&loc, buf, sizeof(buf)),
			 "0000000100.00000#2#d.data");
	cr_assert_eq(df_open_ec(&loc, 0, -1, 0, &obj), 0);
	cr_expect_eq(obj.state, DF_LIVE);
	cr_expect_eq(obj.frag_index, 2);
	cr_expect_eq(obj.durable, 1);
	cr_expect_eq(obj.frags, 1u << 2);
	cr_expect_eq(obj.body_len, 5);
	/* the commit's sysmeta joined the metadata; the rest is kept */
	cr_expect_str_eq(
		objmeta_get(&obj.meta, "X-Object-Sysmeta-Ec-Content-Length"),
		"77");
	cr_expect_str_eq(objmeta_get(&obj.meta, "X-Object-Sysmeta-Ec-Etag"),
			 "0123");
	cr_expect_str_eq(objmeta_get(&obj.meta, "Content-Type"), "x/y");
	cr_expect_eq(df_verify_body(obj.fd, obj.body_len,
				    objmeta_get(&obj.meta, "ETag"), ETAG_MD5),
		     0);
	df_close(&obj);
}

Test(ecfile, several_indexes_and_choice)
{
	struct df_loc loc;
	struct df_archive *a;
	enum df_state st;
	char buf[512];
	int n;

	locate(&loc, 1, "o");
	put(&loc, 100, "#4#d.data", "arch4");
	put(&loc, 100, "#1#d.data", "arch1");
	put(&loc, 100, "#0.data", "arch0");
	put(&loc, 101, "#5.data", "new5");
	cr_expect_str_eq(served(&loc, -1, 0, &st, buf, sizeof(buf)), "arch1");
	cr_expect_str_eq(served(&loc, 4, 0, &st, buf, sizeof(buf)), "arch4");
	served(&loc, 0, 0, &st, buf, sizeof(buf));
	cr_expect_eq(st, DF_ABSENT, "a non-durable index is not served");
	served(&loc, 2, 0, &st, buf, sizeof(buf));
	cr_expect_eq(st, DF_ABSENT);
	/* the reconstructor's view: the newest archive of any kind */
	cr_expect_str_eq(served(&loc, -1, 1, &st, buf, sizeof(buf)), "new5");
	/* nothing is obsolete: non-durable ones are not older than T100 */
	cr_expect_str_eq(names(&loc, buf, sizeof(buf)),
			 "0000000100.00000#0.data 0000000100.00000#1#d.data "
			 "0000000100.00000#4#d.data 0000000101.00000#5.data");
	cr_assert_eq(df_list_archives(loc.hash_dir, &a, &n), 0);
	cr_assert_eq(n, 4);
	cr_expect_eq(a[0].idx, 5);
	cr_expect_eq(a[0].durable, 0);
	cr_expect_eq(a[1].idx, 0);
	cr_expect_eq(a[1].durable, 0);
	cr_expect_eq(a[2].idx, 1);
	cr_expect_eq(a[2].durable, 1);
	cr_expect_str_eq(a[3].name, "0000000100.00000#4#d.data");
	free(a);
}

Test(ecfile, cleanup_after_newer_durable_and_tombstone)
{
	struct df_loc loc;
	struct df_current cur;
	struct ts cutoff = mkts(50);
	enum df_state st;
	char buf[512];

	locate(&loc, 1, "o");
	put(&loc, 100, "#1#d.data", "a1");
	put(&loc, 100, "#3#d.data", "a3");
	put(&loc, 99, "#2.data", "old");
	put(&loc, 200, "#1.data", "b1");
	/* a PUT's cleanup removed the non-durable older than T100 */
	cr_expect_str_eq(names(&loc, buf, sizeof(buf)),
			 "0000000100.00000#1#d.data 0000000100.00000#3#d.data "
			 "0000000200.00000#1.data");
	cr_expect_eq(commit(&loc, 200, 1), 0);
	cr_expect_str_eq(names(&loc, buf, sizeof(buf)),
			 "0000000200.00000#1#d.data");
	cr_expect_str_eq(served(&loc, -1, 0, &st, buf, sizeof(buf)), "b1");
	/* a tombstone removes what is older, not the newer non-durable */
	put(&loc, 400, "#2.data", "c2");
	put(&loc, 300, ".ts", "");
	cr_expect_str_eq(names(&loc, buf, sizeof(buf)),
			 "0000000300.00000.ts 0000000400.00000#2.data");
	served(&loc, -1, 0, &st, buf, sizeof(buf));
	cr_expect_eq(st, DF_DELETED);
	cr_assert_eq(df_tidy(loc.hash_dir, &cutoff, &cur), 0);
	cr_expect_eq(cur.state, DF_DELETED);
	cr_expect_eq(cur.ec, 1);
	cr_expect_eq(commit(&loc, 400, 2), 0);
	cr_expect_str_eq(names(&loc, buf, sizeof(buf)),
			 "0000000400.00000#2#d.data");
	cr_assert_eq(df_tidy(loc.hash_dir, &cutoff, &cur), 0);
	cr_expect_eq(cur.state, DF_LIVE);
	cr_expect_eq(cur.frags, 1u << 2);
	cr_expect_str_eq(cur.data_name, "0000000400.00000#2#d.data");
}

Test(ecfile, old_nondurable_reclaimed_by_tidy)
{
	struct df_loc loc;
	struct df_current cur;
	struct ts young = mkts(150), old = mkts(1000);
	char buf[512];

	locate(&loc, 1, "o");
	put(&loc, 100, "#1#d.data", "a1");
	put(&loc, 200, "#1.data", "b1");
	put(&loc, 200, "#4.data", "b4");
	cr_assert_eq(df_tidy(loc.hash_dir, &young, &cur), 0);
	cr_expect_eq(cur.nfiles, 3, "young non-durable archives stay");
	cr_assert_eq(df_tidy(loc.hash_dir, &old, &cur), 0);
	cr_expect_str_eq(names(&loc, buf, sizeof(buf)),
			 "0000000100.00000#1#d.data");
	cr_expect_eq(cur.state, DF_LIVE);
	/* only non-durable ones: the dir goes once they are old */
	locate(&loc, 1, "p");
	put(&loc, 200, "#3.data", "x");
	cr_assert_eq(df_tidy(loc.hash_dir, &old, &cur), 0);
	cr_expect_eq(cur.nfiles, 0);
	cr_expect_eq(access(loc.hash_dir, F_OK), -1);
}

Test(ecfile, replicated_folder_ignores_archive_names)
{
	struct df_loc loc, eloc;
	enum df_state st;
	char buf[512];

	locate(&loc, 0, "o");
	put(&loc, 100, ".data", "plain");
	put(&loc, 200, "#1#d.data", "arch");
	cr_expect_str_eq(served(&loc, -1, 0, &st, buf, sizeof(buf)), "plain");
	/* and an EC folder ignores plain .data files */
	locate(&eloc, 1, "o");
	put(&eloc, 100, ".data", "plain");
	served(&eloc, -1, 1, &st, buf, sizeof(buf));
	cr_expect_eq(st, DF_ABSENT);
	cr_expect_eq(df_dir_policy(eloc.hash_dir), 1);
	cr_expect_eq(df_dir_policy(loc.hash_dir), 0);
}

/* The hash of suffix sfx of partition 7 in policy 1's folder. */
static const char *suffix_hash(const char *sfx)
{
	static char hex[33];
	char dev[300];
	json_t *h = NULL;

	snprintf(dev, sizeof(dev), "%s/d1", root);
	cr_assert_eq(objd_get_hashes(dev, 1, "7", NULL, 0, 86400 * 365, &h), 0);
	snprintf(hex, sizeof(hex), "%s",
		 json_string_value(json_object_get(h, sfx)));
	json_decref(h);
	return hex;
}

Test(ecfile, suffix_hash_names_every_index)
{
	struct df_loc loc;
	char h1[33], h2[33], h3[33];

	locate(&loc, 1, "o");
	put(&loc, 100, "#1#d.data", "a1");
	snprintf(h1, sizeof(h1), "%s", suffix_hash(loc.hash + 29));
	put(&loc, 100, "#2#d.data", "a2");
	objd_hash_invalidate_dir(loc.hash_dir);
	snprintf(h2, sizeof(h2), "%s", suffix_hash(loc.hash + 29));
	cr_expect_str_neq(h1, h2, "a second index changes the hash");
	/* a non-durable archive does not */
	put(&loc, 300, "#4.data", "b4");
	objd_hash_invalidate_dir(loc.hash_dir);
	snprintf(h3, sizeof(h3), "%s", suffix_hash(loc.hash + 29));
	cr_expect_str_eq(h2, h3);
}
