/*
 * tests/unit/proxy/test_slo.c: an SLO manifest's put body checked as
 * Swift's parse_and_validate_input (its messages, line by line), and the
 * SLO ETag and size of a stored manifest as Swift computes them (ranged
 * segments as "<etag>:<range>;", data segments as the MD5 of the data;
 * the expected values come from Python's hashlib).
 */
#include <string.h>

#include <criterion/criterion.h>

#include "common/buf.h"
#include "proxy/internal.h"

static struct proxy_path path = {
	.account = "AUTH_a", .container = "c", .object = "m"};

/* Parse body; the status, with the message in msg (NUL-terminated). */
static int parse(const char *body, struct buf *msg, int *n)
{
	struct slo_seg_in *segs = NULL;
	int st = slo_parse_put(body, strlen(body), &path, &segs, n, msg);

	buf_append(msg, "", 1);
	slo_segs_free(segs, *n);
	return st;
}

Test(slo, good_manifest)
{
	struct buf msg = {0};
	int n = 0;

	cr_expect_eq(parse("[{\"path\": \"/c/a\", \"etag\": null, "
			   "\"size_bytes\": \"5\"}, {\"path\": \"c/b\", "
			   "\"range\": \"1-\"}, {\"data\": \"WFla\"}]",
			   &msg, &n),
		     0);
	cr_expect_eq(n, 3);
	buf_free(&msg);
}

Test(slo, swift_messages)
{
	struct buf msg = {0};
	int n = 0;

	cr_assert_eq(parse("[{\"path\": \"nocontainer\"}, {\"foo\": 1}, 5, "
			   "{\"path\": \"/c/s\", \"range\": \"1-2,3-4\"}, "
			   "{\"path\": \"/c/s\", \"x\": 1, \"a\": 2}, "
			   "{\"path\": \"/c/s\", \"size_bytes\": 0}, "
			   "{\"path\": \"/c/m\"}, "
			   "{\"path\": \"/c/s\", \"range\": \"x\"}, "
			   "{\"path\": \"/c/s\", \"size_bytes\": 3, "
			   "\"range\": \"5-\"}, "
			   "{\"data\": \"!!\"}, "
			   "{\"path\": \"/c/s\", \"size_bytes\": \"z\"}]",
			   &msg, &n),
		     400);
	cr_expect_str_eq(
		(char *)msg.data,
		"Index 0: path does not refer to an object. Path must be of "
		"the form /container/object.\n"
		"Index 1: expected keys to include one of 'data' or 'path'\n"
		"Index 2: not a JSON object\n"
		"Index 3: multiple ranges (only one allowed)\n"
		"Index 4: extraneous keys \"a\", \"x\"\n"
		"Index 5: too small; each segment must be at least 1 byte.\n"
		"Index 6: manifest must not include itself as a segment\n"
		"Index 7: invalid range\n"
		"Index 8: unsatisfiable range\n"
		"Index 9: data must be valid base64\n"
		"Index 10: invalid size_bytes\n");
	buf_free(&msg);
}

Test(slo, not_a_list)
{
	struct buf msg = {0};
	int n = 0;

	cr_expect_eq(parse("{}", &msg, &n), 400);
	cr_expect_str_eq((char *)msg.data, "Manifest must be a list.\n");
	buf_free(&msg);
	cr_expect_eq(parse("nope", &msg, &n), 400);
	cr_expect_str_eq((char *)msg.data, "Manifest must be valid JSON.\n");
	buf_free(&msg);
	cr_expect_eq(parse("[{\"data\": \"WFla\"}]", &msg, &n), 400);
	cr_expect_str_eq((char *)msg.data,
			 "Inline data segments require at least one "
			 "object-backed segment.\n");
	buf_free(&msg);
}

Test(slo, etag_and_size)
{
	const char *m =
		"[{\"name\": \"/c/s1\", \"bytes\": 5, \"hash\": "
		"\"594f803b380a41396ed63dca39503542\"}, {\"name\": \"/c/s2\", "
		"\"bytes\": 7, \"hash\": \"e1faffe9c3c801f2f8c3fbe7cb032cb2\"}, "
		"{\"name\": \"/c/s3\", \"bytes\": 3, \"hash\": "
		"\"9df62e693988eb4e1e1444ece0578579\", \"range\": \"1-2\"}, "
		"{\"data\": \"WFla\"}]";
	char etag[33];
	int64_t size = 0;

	cr_assert_eq(slo_manifest_totals(m, strlen(m), etag, &size), 0);
	cr_expect_str_eq(etag, "73cd9386c71b28deeec396b625a66d7f");
	cr_expect_eq(size, 5 + 7 + 2 + 3);
}
