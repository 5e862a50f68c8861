/*
 * tests/unit/objectd/test_range.c: Range and conditional requests
 * (objectd/range.c) against the cases swob's Range, ranges_for_length and
 * _get_conditional_response_status decide.
 */
#include <criterion/criterion.h>

#include "objectd/internal.h"

static struct byte_range r[RANGE_MAX];

Test(range, single)
{
	cr_assert_eq(range_parse("bytes=0-9", 100, r), 1);
	cr_assert_eq(r[0].start, 0);
	cr_assert_eq(r[0].end, 10);
	cr_assert_eq(range_parse("bytes=90-200", 100, r), 1);
	cr_assert_eq(r[0].end, 100);
	cr_assert_eq(range_parse("bytes=-10", 100, r), 1);
	cr_assert_eq(r[0].start, 90);
	cr_assert_eq(range_parse("bytes=-1000", 100, r), 1);
	cr_assert_eq(r[0].start, 0);
	cr_assert_eq(range_parse("bytes=50-", 100, r), 1);
	cr_assert_eq(r[0].end, 100);
	cr_assert_eq(range_parse("BYTES = 1 - 2", 100, r), 1);
}

Test(range, multiple_and_unsatisfiable)
{
	cr_assert_eq(range_parse("bytes=0-0,-1", 100, r), 2);
	cr_assert_eq(r[1].start, 99);
	/* unsatisfiable parts are dropped; none left is 416 */
	cr_assert_eq(range_parse("bytes=100-,0-1", 100, r), 1);
	cr_assert_eq(range_parse("bytes=100-", 100, r), 0);
	cr_assert_eq(range_parse("bytes=-0", 100, r), 0);
	/* more than two overlaps, or many out of order: 416 */
	cr_assert_eq(range_parse("bytes=0-10,1-11,2-12", 100, r), 0);
	cr_assert_eq(range_parse("bytes=0-10,1-11", 100, r), 2);
	cr_assert_eq(
		range_parse("bytes=9-9,8-8,7-7,6-6,5-5,4-4,3-3,2-2", 100, r),
		0);
	cr_assert_eq(range_parse("bytes=9-9,8-8,7-7,6-6,5-5,4-4,3-3", 100, r),
		     7);
}

Test(range, ignored)
{
	const char *bad[] = {NULL,	  "",		"bytes=5-3",
			     "bytes=-",	  "bytes=45",	"bytes=a-b",
			     "pages=1-2", "bytes=1-2,", "bytes=--0",
			     "bytes=1--2"};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(range_parse(bad[i], 100, r), -1, "%s", bad[i]);
	/* a suffix range of an empty object: the whole (empty) object */
	cr_assert_eq(range_parse("bytes=-5", 0, r), -1);
	cr_assert_eq(range_parse("bytes=0-", 0, r), 0);
}

Test(range, too_many)
{
	char hdr[1024] = "bytes=";
	int i;

	for (i = 0; i < 51; i++)
		sprintf(hdr + strlen(hdr), "%s%d-%d", i ? "," : "", i * 2,
			i * 2);
	cr_assert_eq(range_parse(hdr, 1000, r), 0);
}

Test(cond, etags_and_dates)
{
	const char *e = "abc";
	const char *lm_str = "Sun, 22 Nov 2026 05:55:15 GMT";
	int64_t lm = 1795326915;

	cr_assert(cond_etag_in("\"abc\"", e));
	cr_assert(cond_etag_in(" x , abc ", e));
	cr_assert(cond_etag_in("*", e));
	cr_assert(!cond_etag_in("abcd", e));
	cr_assert_eq(cond_status(NULL, "\"abc\"", NULL, NULL, e, lm, 1), 304);
	cr_assert_eq(cond_status("\"x\"", NULL, NULL, NULL, e, lm, 1), 412);
	cr_assert_eq(cond_status("abc", NULL, NULL, NULL, e, lm, 1), 0);
	cr_assert_eq(cond_status("*", NULL, NULL, NULL, NULL, -1, 0), 412);
	cr_assert_eq(cond_status(NULL, "*", NULL, NULL, NULL, -1, 0), 0);
	cr_assert_eq(cond_status(NULL, NULL, lm_str, NULL, e, lm, 1), 304);
	cr_assert_eq(cond_status(NULL, NULL, lm_str, NULL, e, lm + 1, 1), 0);
	cr_assert_eq(cond_status(NULL, NULL, "junk", NULL, e, lm, 1), 0);
	cr_assert_eq(cond_status(NULL, NULL, NULL, lm_str, e, lm, 1), 0);
	cr_assert_eq(cond_status(NULL, NULL, NULL, lm_str, e, lm + 1, 1), 412);
}
