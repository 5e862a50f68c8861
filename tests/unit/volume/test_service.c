/*
 * tests/unit/volume/test_service.c: the volume service's pure pieces, no
 * cluster needed: record ids, project hashes, export names, metadata
 * checks, the named locks, and the token checker's refusals that never
 * reach the proxy (a token that could smuggle a header).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "volume/internal.h"

Test(service, ids_are_uuids_and_distinct)
{
	char a[37], b[37];

	cr_assert_eq(rec_new_id(a), 0);
	cr_assert_eq(rec_new_id(b), 0);
	cr_assert(rec_valid_id(a), "%s", a);
	cr_assert_str_neq(a, b);
	cr_assert_eq(a[14], '4', "version 4: %s", a);
	cr_assert(!rec_valid_id("not-a-uuid"));
	cr_assert(!rec_valid_id("00000000-0000-4000-8000-00000000000G"));
	cr_assert(!rec_valid_id("00000000-0000-4000-8000-0000000000000"));
	cr_assert(!rec_valid_id("../../../../../../../../../../etc/pw"));
	cr_assert(!rec_valid_id(NULL));
}

Test(service, project_hash_is_hex_and_stable)
{
	char h1[33], h2[33], h3[33];

	rec_project_hash("AUTH_test", h1);
	rec_project_hash("AUTH_test", h2);
	rec_project_hash("AUTH_test2", h3);
	cr_assert_str_eq(h1, h2);
	cr_assert_str_neq(h1, h3);
	cr_assert_eq(strspn(h1, "0123456789abcdef"), 32);
}

Test(service, export_names_are_unguessable)
{
	char id[37], ph[33], n1[128], n2[128];

	rec_new_id(id);
	rec_project_hash("AUTH_test", ph);
	cr_assert_eq(vd_export_name(ph, id, n1, sizeof(n1)), 0);
	cr_assert_eq(vd_export_name(ph, id, n2, sizeof(n2)), 0);
	cr_assert_str_neq(n1, n2, "two attachments, one name");
	cr_assert_eq(strncmp(n1, id, 36), 0);
	cr_assert_eq(strlen(n1), 36 + 1 + 32 + 1 + 32, "%s", n1);
}

Test(service, metadata_limits)
{
	char msg[256], big[300];
	json_t *m;

	m = json_pack("{s:s, s:s}", "a", "1", "b", "");
	cr_assert_eq(meta_valid(m, msg, sizeof(msg)), 0);
	json_object_set_new(m, "n", json_integer(5));
	cr_assert_eq(meta_valid(m, msg, sizeof(msg)), -EINVAL);
	json_decref(m);
	memset(big, 'x', 256);
	big[256] = '\0';
	m = json_pack("{s:s}", big, "v");
	cr_assert_eq(meta_valid(m, msg, sizeof(msg)), -EINVAL, "long key");
	json_decref(m);
	m = json_pack("{s:s}", "k", big);
	cr_assert_eq(meta_valid(m, msg, sizeof(msg)), -EINVAL, "long value");
	json_decref(m);
	m = json_pack("{s:s}", "", "v");
	cr_assert_eq(meta_valid(m, msg, sizeof(msg)), -EINVAL, "empty key");
	json_decref(m);
	m = json_pack("[s]", "a");
	cr_assert_eq(meta_valid(m, msg, sizeof(msg)), -EINVAL, "array");
	json_decref(m);
}

static struct volumed lock_vd;
static int in_section, overlap;

static void *locker(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 200; i++) {
		rec_lock(&lock_vd, "vol-1");
		if (__atomic_add_fetch(&in_section, 1, __ATOMIC_SEQ_CST) > 1)
			overlap = 1;
		usleep(10);
		__atomic_sub_fetch(&in_section, 1, __ATOMIC_SEQ_CST);
		rec_unlock(&lock_vd, "vol-1");
		/* another name is never blocked by vol-1 */
		rec_lock(&lock_vd, "vol-2");
		rec_unlock(&lock_vd, "vol-2");
	}
	return NULL;
}

Test(service, named_locks_exclude)
{
	pthread_t t[4];
	int i;

	cr_assert_eq(rec_locks_new(&lock_vd.locks), 0);
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, locker, NULL);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(overlap, 0, "two holders of one lock");
	rec_locks_free(lock_vd.locks);
}

Test(service, tokens_that_could_smuggle_headers_are_refused)
{
	struct volumed_conf conf;
	struct vd_auth *a;

	memset(&conf, 0, sizeof(conf));
	/* nothing listens there: a check that asked would get 503 */
	strcpy(conf.proxy_url, "http://127.0.0.1:1");
	conf.auth_cache_time = 5;
	cr_assert_eq(vd_auth_new(&conf, &a), 0);
	cr_assert_eq(vd_auth_check(a, "AUTH_test", NULL), 401);
	cr_assert_eq(vd_auth_check(a, "AUTH_test", ""), 401);
	cr_assert_eq(vd_auth_check(a, "AUTH_test", "tok\r\nX-Evil: 1"), 401);
	cr_assert_eq(vd_auth_check(a, "AUTH_test", "tok en"), 401);
	cr_assert_eq(vd_auth_check(a, "AUTH_test", "AUTH_tkgood"), 503,
		     "an unreachable proxy is not a refusal");
	vd_auth_free(a);
}
