/*
 * tests/unit/proxy/test_tempurl.c: temp URL signatures as Swift's
 * get_hmac makes them (the expected digests come from Python's hmac
 * module), for each digest and for prefix-based paths.
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "proxy/internal.h"

Test(tempurl, sha1_hex)
{
	char out[300];

	cr_assert_eq(tempurl_hmac("sha1", "GET", 1700000000,
				  "/v1/AUTH_test/c/o", "mykey", out,
				  sizeof(out)),
		     0);
	cr_expect_str_eq(out, "3994d403a1e371c61672cc49d49e3504805f4887");
}

Test(tempurl, sha256_prefix)
{
	char out[300];

	cr_assert_eq(tempurl_hmac("sha256", "PUT", 1700000000,
				  "prefix:/v1/AUTH_test/c/pre", "mykey", out,
				  sizeof(out)),
		     0);
	cr_expect_str_eq(out, "d18feb49719193c150659ec0a7551180145550843db294c"
			      "e3aa01e28025f9d84");
}

Test(tempurl, sha512)
{
	char out[300];

	cr_assert_eq(tempurl_hmac("sha512", "HEAD", 1, "/v1/a/c/o", "k", out,
				  sizeof(out)),
		     0);
	cr_expect_str_eq(out,
			 "25960c4c3635dc52a115a51964dae35e2fd6e99c26383fa27054"
			 "3433689a37f02cc8b1b15c85e6d297f6f336539c34d5f0f1be27"
			 "7443f47bb5730b9005b59c68");
}

Test(tempurl, refused)
{
	char out[300], small[10];

	cr_expect_eq(tempurl_hmac("md5", "GET", 1, "/v1/a/c/o", "k", out,
				  sizeof(out)),
		     -EINVAL);
	cr_expect_eq(tempurl_hmac("sha1", "GET", 1, "/v1/a/c/o", "k", small,
				  sizeof(small)),
		     -EINVAL);
}

Test(tempurl, hidden_headers)
{
	static struct proxy_path p;

	cr_expect_eq(tempurl_hidden_header(&p, "X-Object-Meta-Secret"), 0);
	p.tempurl = TEMPURL_SCOPE_ACCOUNT;
	cr_expect_eq(tempurl_hidden_header(&p, "X-Object-Meta-Secret"), 1);
	cr_expect_eq(tempurl_hidden_header(&p, "x-object-meta-public-ok"), 0);
	cr_expect_eq(tempurl_hidden_header(&p, "Content-Type"), 0);
	cr_expect_eq(tempurl_hidden_header(NULL, "X-Object-Meta-A"), 0);
}
