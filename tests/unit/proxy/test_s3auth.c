/*
 * tests/unit/proxy/test_s3auth.c: S3 signatures against outside
 * references: AWS's SigV4 test suite (get-vanilla), the aws-chunked
 * example of AWS's S3 documentation (seed, two chunks and the final
 * empty one), and botocore's signers (S3SigV4Auth's canonical request
 * with an encoded query, HmacV1Auth's string to sign and signature),
 * whose values were computed with /usr/bin/python3 and botocore.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "proxy/internal.h"

#define EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static char *str(struct buf *b)
{
	buf_append(b, "", 1);
	return (char *)b->data;
}

Test(s3auth, sigv4_get_vanilla)
{
	const struct s3_kv hdrs[] = {{"Host", "example.amazonaws.com"},
				     {"X-Amz-Date", "20150830T123600Z"}};
	struct buf canon = BUF_INIT, sts = BUF_INIT;
	unsigned char key[32];
	char sig[65];

	cr_assert_eq(s3_sigv4_canonical("GET", "/", NULL, 0, hdrs, 2,
					"host;x-amz-date", EMPTY, &canon),
		     0);
	cr_expect_str_eq(str(&canon), "GET\n/\n\n"
				      "host:example.amazonaws.com\n"
				      "x-amz-date:20150830T123600Z\n\n"
				      "host;x-amz-date\n" EMPTY);
	cr_assert_eq(s3_sigv4_string_to_sign(
			     "20150830T123600Z",
			     "20150830/us-east-1/service/aws4_request",
			     (char *)canon.data, canon.len - 1, &sts),
		     0);
	cr_expect_str_eq(str(&sts),
			 "AWS4-HMAC-SHA256\n20150830T123600Z\n"
			 "20150830/us-east-1/service/aws4_request\n"
			 "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c"
			 "25292927e63");
	cr_assert_eq(s3_sigv4_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
				  "20150830", "us-east-1", "service", key),
		     0);
	cr_assert_eq(s3_sigv4_sign(key, (char *)sts.data, sts.len - 1, sig), 0);
	cr_expect_str_eq(sig, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956"
			      "d9b8aae1d763fbf31");
	buf_free(&canon);
	buf_free(&sts);
}

/* botocore's S3SigV4Auth: the query sorted and AWS-encoded, the path
 * kept, header values as given. */
Test(s3auth, sigv4_botocore_query)
{
	const struct s3_kv q[] = {
		{"prefix", "a b/c"}, {"list-type", "2"}, {"max-keys", "5"}};
	const struct s3_kv hdrs[] = {
		{"Host", "127.0.0.1:8080"},
		{"x-amz-content-sha256", "UNSIGNED-PAYLOAD"},
		{"X-Amz-Date", "20261201T000000Z"},
		{"User-Agent", "not signed"}};
	struct buf canon = BUF_INIT, sts = BUF_INIT;
	unsigned char key[32];
	char sig[65];

	cr_assert_eq(s3_sigv4_canonical("GET", "/bkt", q, 3, hdrs, 4,
					"host;x-amz-content-sha256;x-amz-date",
					"UNSIGNED-PAYLOAD", &canon),
		     0);
	cr_expect_str_eq(str(&canon),
			 "GET\n/bkt\nlist-type=2&max-keys=5&prefix=a%20b%2Fc\n"
			 "host:127.0.0.1:8080\n"
			 "x-amz-content-sha256:UNSIGNED-PAYLOAD\n"
			 "x-amz-date:20261201T000000Z\n\n"
			 "host;x-amz-content-sha256;x-amz-date\n"
			 "UNSIGNED-PAYLOAD");
	cr_assert_eq(s3_sigv4_string_to_sign(
			     "20261201T000000Z",
			     "20261201/us-east-1/s3/aws4_request",
			     (char *)canon.data, canon.len - 1, &sts),
		     0);
	cr_assert_eq(
		s3_sigv4_key("testing", "20261201", "us-east-1", "s3", key), 0);
	cr_assert_eq(s3_sigv4_sign(key, (char *)sts.data, sts.len, sig), 0);
	cr_expect_str_eq(sig, "ac2e2a062d3a98f43a2a02d246f6f94cc56ffb4712dac51"
			      "fef6ae7d26e779ed8");
	buf_free(&canon);
	buf_free(&sts);
}

/* A path is decoded and re-encoded once, as S3 signs it. */
Test(s3auth, sigv4_path_encoding)
{
	struct buf canon = BUF_INIT;

	cr_assert_eq(s3_sigv4_canonical("GET", "/b/a%20b/%C3%BC~x!", NULL, 0,
					NULL, 0, "", EMPTY, &canon),
		     0);
	cr_expect(!strncmp(str(&canon), "GET\n/b/a%20b/%C3%BC~x%21\n", 25));
	buf_free(&canon);
}

/* A signed header the request lacks cannot verify. */
Test(s3auth, sigv4_missing_signed_header)
{
	const struct s3_kv hdrs[] = {{"Host", "h"}};
	struct buf canon = BUF_INIT;

	cr_expect_eq(s3_sigv4_canonical("GET", "/", NULL, 0, hdrs, 1,
					"host;x-amz-date", EMPTY, &canon),
		     -EINVAL);
	buf_free(&canon);
}

/* AWS's S3 documentation, "Signature Calculations for the Authorization
 * Header: Transferring Payload in Multiple Chunks": 64 KiB of 'a', 1 KiB
 * of 'a', then the empty final chunk, chained from the seed signature. */
Test(s3auth, aws_chunked_chain)
{
	static const char *const want[] = {
		"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288"
		"648",
		"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5"
		"497",
		"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449"
		"df9"};
	const size_t sizes[] = {65536, 1024, 0};
	char prev[65] = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7"
			"db9fa80a0a9";
	char *data = malloc(65536);
	unsigned char key[32];
	int i;

	cr_assert(data);
	memset(data, 'a', 65536);
	cr_assert_eq(s3_sigv4_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
				  "20130524", "us-east-1", "s3", key),
		     0);
	for (i = 0; i < 3; i++) {
		struct buf sts = BUF_INIT;

		cr_assert_eq(s3_chunk_string_to_sign(
				     "20130524T000000Z",
				     "20130524/us-east-1/s3/aws4_request", prev,
				     data, sizes[i], &sts),
			     0);
		cr_assert_eq(
			s3_sigv4_sign(key, (char *)sts.data, sts.len, prev), 0);
		cr_expect_str_eq(prev, want[i], "chunk %d", i);
		buf_free(&sts);
	}
	free(data);
}

/* botocore's HmacV1Auth: x-amz-* headers lowercased, trimmed and sorted,
 * the raw path, only the sub-resources of the query. */
Test(s3auth, sigv2_botocore)
{
	const struct s3_kv hdrs[] = {{"Content-Type", "text/plain"},
				     {"x-amz-meta-b", "two"},
				     {"X-Amz-Meta-A", "  one  "},
				     {"Date", "Tue, 01 Dec 2026 00:05:34 GMT"}};
	const struct s3_kv q[] = {{"foo", "bar"}, {"acl", ""}};
	struct buf sts = BUF_INIT;
	char sig[64];

	cr_assert_eq(s3_sigv2_string_to_sign(
			     "PUT", "1B2M2Y8AsgTpgAmY7PhCfg==", "text/plain",
			     "Tue, 01 Dec 2026 00:05:34 GMT", hdrs, 4,
			     "/bkt/some%20key", q, 2, &sts),
		     0);
	cr_expect_str_eq(str(&sts), "PUT\n1B2M2Y8AsgTpgAmY7PhCfg==\n"
				    "text/plain\n"
				    "Tue, 01 Dec 2026 00:05:34 GMT\n"
				    "x-amz-meta-a:one\nx-amz-meta-b:two\n"
				    "/bkt/some%20key?acl");
	cr_assert_eq(
		s3_sigv2_sign("testing", (char *)sts.data, sts.len - 1, sig),
		0);
	cr_expect_str_eq(sig, "jYGUGE3bIQtARFtzSfTMyf0P28c=");
	buf_free(&sts);
}

Test(s3auth, sha256_hex)
{
	char out[65];

	cr_assert_eq(s3_sha256_hex("", 0, out), 0);
	cr_expect_str_eq(out, EMPTY);
}

Test(s3bucket, bucket_names)
{
	cr_expect(s3_valid_bucket_name("bkt1"));
	cr_expect(s3_valid_bucket_name("my.bucket-name"));
	cr_expect(!s3_valid_bucket_name("b1"));
	cr_expect(!s3_valid_bucket_name("Upper"));
	cr_expect(!s3_valid_bucket_name("a..b"));
	cr_expect(!s3_valid_bucket_name("a.-b"));
	cr_expect(!s3_valid_bucket_name("-ab"));
	cr_expect(!s3_valid_bucket_name("192.168.5.4"));
	cr_expect(!s3_valid_bucket_name("bkt1+segments"));
}

Test(s3xml, parse_and_escape)
{
	const char *doc = "<?xml version=\"1.0\"?><CreateBucketConfiguration "
			  "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			  "<LocationConstraint>eu&amp;1</LocationConstraint>"
			  "</CreateBucketConfiguration>";
	struct s3_xml *x = NULL;
	struct buf b = BUF_INIT;

	cr_assert_eq(s3_xml_parse(doc, strlen(doc), &x), 0);
	cr_expect_str_eq(x->name, "CreateBucketConfiguration");
	cr_expect_str_eq(s3_xml_child(x, "LocationConstraint")->text, "eu&1");
	s3_xml_free(x);
	cr_expect_eq(s3_xml_parse("<a><b></a>", 10, &x), -EINVAL);
	cr_expect_eq(s3_xml_parse("", 0, &x), -EINVAL);
	cr_assert_eq(s3_xml_elem(&b, "K", "a<&>\"'\x01"), 0);
	cr_expect_str_eq(str(&b), "<K>a&lt;&amp;&gt;&quot;&apos;&#1;</K>");
	buf_free(&b);
}
