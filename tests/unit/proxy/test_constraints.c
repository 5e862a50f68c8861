/*
 * tests/unit/proxy/test_constraints.c: API path parsing with Swift's
 * statuses, UTF-8 validation as Swift's check_utf8, and the Content-Type
 * guessed from an object's name.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "proxy/internal.h"

static int parse(const char *raw, struct proxy_path *p)
{
	const char *msg = NULL;
	int st = proxy_parse_path(raw, p, &msg);

	if (st)
		cr_expect_not_null(msg);
	return st;
}

Test(constraints, paths)
{
	static struct proxy_path p;

	cr_assert_eq(parse("/v1/AUTH_a/c/o/with/slashes", &p), 0);
	cr_expect_str_eq(p.account, "AUTH_a");
	cr_expect_str_eq(p.container, "c");
	cr_expect_str_eq(p.object, "o/with/slashes");
	cr_assert_eq(parse("/v1/AUTH_a/c/x//y", &p), 0);
	cr_expect_str_eq(p.object, "x//y");
	cr_assert_eq(parse("/v1.0/AUTH_a", &p), 0);
	cr_expect_null(p.container);
	cr_assert_eq(parse("/v1/AUTH_a/", &p), 0, "trailing slash: account");
	cr_expect_null(p.container);
	cr_assert_eq(parse("/v1/AUTH_a/c/", &p), 0);
	cr_expect_str_eq(p.container, "c");
	cr_expect_null(p.object);
	cr_assert_eq(parse("/v1/AUTH_a/c/%E2%9C%93", &p), 0);
	cr_expect_str_eq(p.object, "\xe2\x9c\x93");
	cr_expect_eq(parse("/v1//c", &p), 412);
	cr_expect_eq(parse("/v1/a//o", &p), 412);
	cr_expect_eq(parse("/v1", &p), 412);
	cr_expect_eq(parse("/", &p), 404);
	cr_expect_eq(parse("/v2/a", &p), 400);
	cr_expect_eq(parse("/v1/a/c/%FF", &p), 412);
	cr_expect_eq(parse("/v1/a/c/a%00b", &p), 412);
	cr_expect_eq(parse("/v1/a/c/%zz", &p), 412);
}

Test(constraints, utf8_as_swift)
{
	cr_expect(valid_utf8("plain", 5));
	cr_expect(valid_utf8("\xc3\xa9", 2));
	cr_expect(valid_utf8("\xf0\x9f\x98\x80", 4));
	cr_expect_not(valid_utf8("a\0b", 3), "NUL");
	cr_expect_not(valid_utf8("\xc3", 1), "truncated");
	cr_expect_not(valid_utf8("\xc0\xaf", 2), "overlong");
	cr_expect_not(valid_utf8("\xed\xa0\x80", 3), "surrogate");
	cr_expect_not(valid_utf8("\xf4\x90\x80\x80", 4), "past U+10FFFF");
	cr_expect_not(valid_utf8("\xff", 1));
}

Test(constraints, content_type_guess)
{
	cr_expect_str_eq(guess_content_type("a/b/notes.txt"), "text/plain");
	cr_expect_str_eq(guess_content_type("x.JSON"), "application/json");
	cr_expect_str_eq(guess_content_type("photo.jpeg"), "image/jpeg");
	cr_expect_str_eq(guess_content_type("page.html"), "text/html");
	cr_expect_str_eq(guess_content_type("noext"),
			 "application/octet-stream");
	cr_expect_str_eq(guess_content_type(".hidden"),
			 "application/octet-stream");
	cr_expect_str_eq(guess_content_type("dir.txt/file"),
			 "application/octet-stream");
	cr_expect_str_eq(guess_content_type("a.unknownext"),
			 "application/octet-stream");
}
