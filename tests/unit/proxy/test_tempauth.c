/*
 * tests/unit/proxy/test_tempauth.c: tempauth's user lines (as Swift's
 * sample), tokens (format, reuse, expiry) and authorization rules.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "proxy/internal.h"

static struct conf_item items[] = {
	{"user_admin_admin", "admin .admin .reseller_admin"},
	{"user_test_tester", "testing .admin"},
	{"user_test_tester3", "testing3"},
	{"user_test2_tester2", "testing2 .admin"},
	{"user_test5_tester5", "testing5 service http://h:1/v1/AUTH_x"},
};

static struct tempauth *make(long long life)
{
	struct conf_list l = {items, sizeof(items) / sizeof(items[0])};
	struct tempauth *ta = NULL;
	char err[256];

	cr_assert_eq(tempauth_new(&l, "AUTH", life, &ta, err, sizeof(err)), 0,
		     "%s", err);
	return ta;
}

Test(tempauth, parses_swift_user_lines)
{
	struct tempauth *ta = make(100);
	const struct tempauth_user *u;

	u = tempauth_find(ta, "test", "tester");
	cr_assert_not_null(u);
	cr_expect_str_eq(u->key, "testing");
	cr_expect_eq(u->ngroups, 1);
	cr_expect_str_eq(u->groups[0], ".admin");
	u = tempauth_find(ta, "admin", "admin");
	cr_assert_not_null(u);
	cr_expect_eq(u->ngroups, 2);
	u = tempauth_find(ta, "test5", "tester5");
	cr_assert_not_null(u);
	cr_expect_str_eq(u->url, "http://h:1/v1/AUTH_x");
	cr_expect_str_eq(u->groups[0], "service");
	cr_expect_null(tempauth_find(ta, "test", "nobody"));
	cr_expect_str_eq(tempauth_prefix(ta), "AUTH");
	tempauth_free(ta);
}

Test(tempauth, rejects_malformed_lines)
{
	struct conf_item bad[] = {{"user_nounderscore", "key"}};
	struct conf_item nokey[] = {{"user_a_b", ""}};
	struct conf_list l = {bad, 1};
	struct tempauth *ta = NULL;
	char err[256];

	cr_expect_eq(tempauth_new(&l, "AUTH", 10, &ta, err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "user_nounderscore") != NULL);
	l.items = nokey;
	cr_expect_eq(tempauth_new(&l, "AUTH", 10, &ta, err, sizeof(err)),
		     -EINVAL);
	cr_expect_null(ta);
}

Test(tempauth, tokens_are_reused_and_expire)
{
	struct tempauth *ta = make(1);
	const struct tempauth_user *u = tempauth_find(ta, "test", "tester");
	const struct tempauth_user *v = tempauth_find(ta, "test", "tester3");
	char t1[64], t2[64], t3[64];
	long long left;
	size_t i;

	cr_assert_eq(tempauth_issue(ta, u, t1, &left), 0);
	cr_expect_eq(left, 1);
	cr_expect_eq(strlen(t1), strlen("AUTH_tk") + 32);
	cr_expect_eq(strncmp(t1, "AUTH_tk", 7), 0);
	for (i = 7; i < strlen(t1); i++)
		cr_expect(strchr("0123456789abcdef", t1[i]) != NULL);
	cr_assert_eq(tempauth_issue(ta, u, t2, &left), 0);
	cr_expect_str_eq(t1, t2, "a live token is reused");
	cr_assert_eq(tempauth_issue(ta, v, t3, &left), 0);
	cr_expect_str_neq(t1, t3);
	cr_expect_eq(tempauth_check_token(ta, t1), u);
	cr_expect_eq(tempauth_check_token(ta, t3), v);
	cr_expect_null(tempauth_check_token(ta, "AUTH_tkbogus"));
	sleep(2);
	cr_expect_null(tempauth_check_token(ta, t1),
		       "an expired token is refused");
	cr_assert_eq(tempauth_issue(ta, u, t2, &left), 0);
	cr_expect_str_neq(t1, t2, "a new token after expiry");
	tempauth_free(ta);
}

Test(tempauth, authorize_as_swift)
{
	struct tempauth *ta = make(100);
	const struct tempauth_user *admin = tempauth_find(ta, "test", "tester");
	const struct tempauth_user *plain =
		tempauth_find(ta, "test", "tester3");
	const struct tempauth_user *other =
		tempauth_find(ta, "test2", "tester2");
	const struct tempauth_user *rs = tempauth_find(ta, "admin", "admin");

	cr_expect_eq(tempauth_authorize(ta, admin, "GET", "AUTH_test", NULL),
		     0);
	cr_expect_eq(tempauth_authorize(ta, admin, "PUT", "AUTH_test", "c"), 0);
	cr_expect_eq(tempauth_authorize(ta, admin, "DELETE", "AUTH_test", "c"),
		     0);
	cr_expect_eq(tempauth_authorize(ta, admin, "PUT", "AUTH_test", NULL),
		     403, "only a reseller admin makes accounts");
	cr_expect_eq(tempauth_authorize(ta, plain, "GET", "AUTH_test", "c"),
		     403);
	cr_expect_eq(tempauth_authorize(ta, other, "GET", "AUTH_test", NULL),
		     403);
	cr_expect_eq(tempauth_authorize(ta, admin, "GET", "OTHER_test", NULL),
		     403);
	cr_expect_eq(tempauth_authorize(ta, rs, "GET", "AUTH_test", "c"), 0);
	cr_expect_eq(tempauth_authorize(ta, rs, "PUT", "AUTH_new", NULL), 0);
	cr_expect_eq(tempauth_authorize(ta, rs, "GET", "AUTH_.x", NULL), 403);
	tempauth_free(ta);
}

Test(tempauth, groups_as_swift)
{
	struct conf_list l = {items, sizeof(items) / sizeof(items[0])};
	struct tempauth *ta = NULL;
	char err[256], g[16][TEMPAUTH_GROUP_MAX];
	int n;

	cr_assert_eq(
		tempauth_new(&l, "AUTH_, SERVICE", 100, &ta, err, sizeof(err)),
		0, "%s", err);
	cr_expect_str_eq(tempauth_prefix(ta), "AUTH");
	n = tempauth_groups(ta, tempauth_find(ta, "test", "tester"), NULL, g,
			    16);
	cr_assert_eq(n, 4);
	cr_expect_str_eq(g[0], "test");
	cr_expect_str_eq(g[1], "test:tester");
	cr_expect_str_eq(g[2], "AUTH_test");
	cr_expect_str_eq(g[3], "SERVICE_test");
	n = tempauth_groups(ta, tempauth_find(ta, "test", "tester3"),
			    tempauth_find(ta, "test5", "tester5"), g, 16);
	cr_assert_eq(n, 5);
	cr_expect_str_eq(g[4], "service");
	tempauth_free(ta);
}

Test(tempauth, service_prefix_requires_group)
{
	struct conf_list l = {items, sizeof(items) / sizeof(items[0])};
	struct tempauth *ta = NULL;
	const struct tempauth_user *u, *svc, *plain;
	char err[256];

	cr_assert_eq(
		tempauth_new(&l, "AUTH, SERVICE", 100, &ta, err, sizeof(err)),
		0, "%s", err);
	cr_expect_eq(tempauth_set_require_group(ta, "SERVICE", "service"), 0);
	cr_expect_eq(tempauth_set_require_group(ta, "NOPE", "x"), -ENOENT);
	u = tempauth_find(ta, "test", "tester");
	svc = tempauth_find(ta, "test5", "tester5");
	plain = tempauth_find(ta, "test", "tester3");
	cr_expect_eq(tempauth_owner(ta, u, NULL, "GET", "AUTH_test", "c"), 0);
	cr_expect_eq(tempauth_owner(ta, u, NULL, "GET", "SERVICE_test", "c"),
		     403);
	cr_expect_eq(tempauth_owner(ta, u, svc, "GET", "SERVICE_test", "c"), 0);
	cr_expect_eq(tempauth_owner(ta, svc, NULL, "GET", "SERVICE_test5", "c"),
		     403, "tester5 is no admin");
	cr_expect_eq(tempauth_owner(ta, u, plain, "GET", "SERVICE_test", "c"),
		     403);
	cr_expect_eq(tempauth_owner(ta, u, svc, "GET", "OTHER_test", "c"), 403);
	tempauth_free(ta);
}

Test(tempauth, empty_prefix_refused)
{
	struct conf_list l = {items, 1};
	struct tempauth *ta = NULL;
	char err[256];

	cr_expect_eq(tempauth_new(&l, "''", 100, &ta, err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "empty") != NULL, "%s", err);
}
