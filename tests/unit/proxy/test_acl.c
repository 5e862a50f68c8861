/*
 * tests/unit/proxy/test_acl.c: Swift's ACL syntax (acl.py) as proxy/acl.c
 * implements it: clean_acl's normal form and refusals, referrer_allowed's
 * host matching (deny wins, .domain suffixes, ports and userinfo cut),
 * .rlistings, group grants, and the account ACL JSON (validation
 * messages, levels, Swift's sorted compact output).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "proxy/internal.h"

Test(acl, clean_as_swift)
{
	char out[256], msg[256];

	cr_assert_eq(acl_clean("X-Container-Read",
			       " .ref:* , .referrer:-bad.com,a:b ,, c", out,
			       sizeof(out), msg, sizeof(msg)),
		     0);
	cr_expect_str_eq(out, ".r:*,.r:-bad.com,a:b,c");
	cr_assert_eq(acl_clean("X-Container-Read", ".r:*.example.com", out,
			       sizeof(out), msg, sizeof(msg)),
		     0);
	cr_expect_str_eq(out, ".r:.example.com");
	cr_expect_eq(acl_clean("X-Container-Write", ".r:*", out, sizeof(out),
			       msg, sizeof(msg)),
		     -EINVAL);
	cr_expect(strstr(msg, "Referrers not allowed in write ACL") != NULL);
	cr_expect_eq(acl_clean("X-Container-Read", ".x:y", out, sizeof(out),
			       msg, sizeof(msg)),
		     -EINVAL);
	cr_expect(strstr(msg, "Unknown designator") != NULL);
	cr_expect_eq(acl_clean("X-Container-Read", ".r:-", out, sizeof(out),
			       msg, sizeof(msg)),
		     -EINVAL);
	cr_expect_eq(acl_clean("X-Container-Read", ".r:.", out, sizeof(out),
			       msg, sizeof(msg)),
		     -EINVAL);
	cr_assert_eq(acl_clean("X-Container-Read", "", out, sizeof(out), msg,
			       sizeof(msg)),
		     0);
	cr_expect_str_eq(out, "");
}

Test(acl, referrers)
{
	const char *none[] = {""};

	cr_expect_eq(acl_allows(".r:*", NULL, 1, none, 1), 1);
	cr_expect_eq(acl_allows(".r:*", NULL, 0, none, 1), 0,
		     "a listing needs .rlistings");
	cr_expect_eq(acl_allows(".r:*,.rlistings", NULL, 0, none, 1), 1);
	cr_expect_eq(acl_allows(".r:example.com", NULL, 1, none, 1), 0);
	cr_expect_eq(acl_allows(".r:example.com", "http://example.com/x", 1,
				none, 1),
		     1);
	cr_expect_eq(acl_allows(".r:example.com", "http://EXAMPLE.com:80/", 1,
				none, 1),
		     1);
	cr_expect_eq(acl_allows(".r:example.com", "http://a.example.com/", 1,
				none, 1),
		     0);
	cr_expect_eq(acl_allows(".r:.example.com",
				"https://u:p@a.example.com:8443/", 1, none, 1),
		     1);
	cr_expect_eq(acl_allows(".r:example.com", "example.com", 1, none, 1), 0,
		     "no scheme, no host: 'unknown'");
	cr_expect_eq(
		acl_allows(".r:*,.r:-bad.com", "http://bad.com/", 1, none, 1),
		0);
	cr_expect_eq(
		acl_allows(".r:-bad.com,.r:*", "http://bad.com/", 1, none, 1),
		1, "later rules win, as Swift's loop");
	cr_expect_eq(acl_allows(".r:*,.r:-.bad.com", "http://x.bad.com/", 1,
				none, 1),
		     0);
}

Test(acl, groups)
{
	const char *g[] = {"test2", "test2:tester2", "AUTH_test2"};
	const char *anon[] = {""};

	cr_expect_eq(acl_allows("test2:tester2", NULL, 0, g, 3), 1);
	cr_expect_eq(acl_allows("x,test2", NULL, 1, g, 3), 1);
	cr_expect_eq(acl_allows("test2%3Atester2", NULL, 1, g, 3), 1,
		     "groups are percent-decoded");
	cr_expect_eq(acl_allows("test:tester3", NULL, 1, g, 3), 0);
	cr_expect_eq(acl_allows("test:tester3", NULL, 1, anon, 1), 0);
	cr_expect_eq(acl_allows(NULL, NULL, 1, g, 3), 0);
}

Test(acl, account_acls)
{
	const char *g[] = {"test2", "test2:tester2"};
	char msg[256];
	char *s;

	cr_expect_eq(acl_account_validate("", msg, sizeof(msg)), 0);
	cr_expect_eq(
		acl_account_validate("{\"admin\":[\"a\"],\"read-only\":[]}",
				     msg, sizeof(msg)),
		0);
	cr_expect_eq(acl_account_validate("{", msg, sizeof(msg)), -EINVAL);
	cr_expect(strstr(msg, "Syntax error") != NULL);
	cr_expect_eq(acl_account_validate("[]", msg, sizeof(msg)), -EINVAL);
	cr_expect_eq(acl_account_validate("{\"x\":[]}", msg, sizeof(msg)),
		     -EINVAL);
	cr_expect_str_eq(msg, "Key \"x\" not recognized");
	cr_expect_eq(
		acl_account_validate("{\"admin\":\"a\"}", msg, sizeof(msg)),
		-EINVAL);
	cr_expect_str_eq(msg, "Value for key \"admin\" must be a list");
	cr_expect_eq(acl_account_validate("{\"admin\":[1]}", msg, sizeof(msg)),
		     -EINVAL);
	cr_expect_str_eq(msg, "Elements of \"admin\" list must be strings");

	cr_expect_eq(acl_account_level("{\"read-only\":[\"test2\"]}", g, 2),
		     ACL_READ_ONLY);
	cr_expect_eq(acl_account_level("{\"read-only\":[\"test2\"],"
				       "\"admin\":[\"test2:tester2\"]}",
				       g, 2),
		     ACL_ADMIN);
	cr_expect_eq(acl_account_level("{\"read-write\":[\"x\"]}", g, 2),
		     ACL_NONE);
	cr_expect_eq(acl_account_level("junk", g, 2), ACL_NONE);
	s = acl_account_format("{\"read-only\": [\"b\"], \"admin\": [\"a\"]}");
	cr_assert_not_null(s);
	cr_expect_str_eq(s, "{\"admin\":[\"a\"],\"read-only\":[\"b\"]}");
	free(s);
	cr_expect_null(acl_account_format("{}"));
	cr_expect_null(acl_account_format(""));
}
