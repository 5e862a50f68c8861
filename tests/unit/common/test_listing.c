/*
 * tests/unit/common/test_listing.c: the listing walk (prefix, delimiter,
 * marker, end_marker, reverse, path, limit) over an in-memory sorted
 * array, UTF-8 byte order, content negotiation, limits, and the json,
 * xml and plain bodies as Swift writes them. The expected results are
 * those of Swift 2.30's list_objects_iter on the same names.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/listing.h"

/* --- an array source ------------------------------------------------- */

struct arr {
	const char **names;
	size_t n;
};

static int arr_scan(void *ctx, const char *lo, int lo_incl, const char *hi,
		    int reverse, listing_row_fn row, void *arg)
{
	struct arr *a = ctx;
	size_t k;
	int rc;

	for (k = 0; k < a->n; k++) {
		const char *n = a->names[reverse ? a->n - 1 - k : k];
		int c = lo ? strcmp(n, lo) : 1;

		if (c < 0 || (c == 0 && !lo_incl))
			continue;
		if (hi && strcmp(n, hi) >= 0)
			continue;
		rc = row(arg, n, "v", 1);
		if (rc)
			return rc < 0 ? rc : 0;
	}
	return 0;
}

static int collect(void *arg, const char *name, const char *val, size_t vlen)
{
	char *out = arg;

	(void)vlen;
	strcat(out, name);
	strcat(out, val ? " " : "| ");
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Run a walk over names (sorted here) and return "name name subdir| ". */
static char *walk(const char **names, size_t n, struct listing_query *q)
{
	static char out[4096];
	struct arr a = {names, n};
	struct listing_source src = {arr_scan, &a};

	qsort(names, n, sizeof(*names), cmp);
	out[0] = '\0';
	if (!q->marker)
		q->marker = "";
	if (!q->limit)
		q->limit = LISTING_MAX_LIMIT;
	cr_assert_eq(listing_run(&src, q, collect, out), 0);
	return out;
}

#define N(arr) (sizeof(arr) / sizeof((arr)[0]))

static const char *tree[] = {"a", "a/",	 "a/b",	  "a/b/c", "a/c",      "a//d",
			     "b", "b/x", "c.txt", "d/e/f", "\xc3\xa9", "z"};

Test(listing, plain_order_is_utf8_bytes)
{
	const char *names[] = {"\xf0\x9f\x98\x80", "z", "\xc3\xa9", "A",
			       "\xe6\x97\xa5"};
	struct listing_query q = {0};

	cr_expect_str_eq(walk(names, N(names), &q),
			 "A z \xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80 ");
}

Test(listing, prefix_and_limit)
{
	const char *names[N(tree)];
	struct listing_query q = {0};

	memcpy(names, tree, sizeof(tree));
	q.prefix = "a/";
	cr_expect_str_eq(walk(names, N(names), &q), "a/ a//d a/b a/b/c a/c ");
	q.limit = 2;
	cr_expect_str_eq(walk(names, N(names), &q), "a/ a//d ");
}

Test(listing, delimiter_rolls_up_subdirs)
{
	const char *names[N(tree)];
	struct listing_query q = {0};

	memcpy(names, tree, sizeof(tree));
	q.delimiter = "/";
	cr_expect_str_eq(walk(names, N(names), &q),
			 "a a/| b b/| c.txt d/| z \xc3\xa9 ");
	q.prefix = "a/";
	cr_expect_str_eq(walk(names, N(names), &q), "a/ a//| a/b a/b/| a/c ");
	q.prefix = "d/";
	cr_expect_str_eq(walk(names, N(names), &q), "d/e/| ");
}

Test(listing, delimiter_reverse)
{
	const char *names[N(tree)];
	struct listing_query q = {0};

	memcpy(names, tree, sizeof(tree));
	q.delimiter = "/";
	q.reverse = 1;
	cr_expect_str_eq(walk(names, N(names), &q),
			 "\xc3\xa9 z d/| c.txt b/| b a/| a ");
}

Test(listing, marker_and_end_marker)
{
	const char *names[N(tree)];
	struct listing_query q = {0};

	memcpy(names, tree, sizeof(tree));
	q.marker = "a/b";
	q.end_marker = "b/x";
	cr_expect_str_eq(walk(names, N(names), &q), "a/b/c a/c b ");
	/* a marker inside a subdir lists the subdir again, as Swift */
	q.delimiter = "/";
	cr_expect_str_eq(walk(names, N(names), &q), "a/| b ");
	/* but not when the marker is the subdir itself */
	q.marker = "a/";
	cr_expect_str_eq(walk(names, N(names), &q), "b ");
	/* reversed: markers swap meaning */
	q.delimiter = NULL;
	q.reverse = 1;
	q.marker = "b/x";
	q.end_marker = "a/c";
	cr_expect_str_eq(walk(names, N(names), &q), "b ");
	/* an end_marker past the prefix does not widen it */
	q.reverse = 0;
	q.marker = "";
	q.prefix = "a/b";
	q.end_marker = "zzz";
	cr_expect_str_eq(walk(names, N(names), &q), "a/b a/b/c ");
	/* a marker before the prefix starts at the prefix */
	q.marker = "0";
	cr_expect_str_eq(walk(names, N(names), &q), "a/b a/b/c ");
}

Test(listing, path_lists_one_level_without_subdirs)
{
	const char *names[N(tree)];
	struct listing_query q = {0};

	memcpy(names, tree, sizeof(tree));
	/* names deeper down are skipped; "a/b" is listed, "a/b/c" not */
	q.path = "a";
	cr_expect_str_eq(walk(names, N(names), &q), "a/b a/c ");
	q.path = "a/";
	cr_expect_str_eq(walk(names, N(names), &q), "a/b a/c ");
	q.path = "";
	cr_expect_str_eq(walk(names, N(names), &q), "a a/ b c.txt z \xc3\xa9 ");
}

Test(listing, multibyte_delimiter)
{
	const char *names[] = {"x\xc3\xa9y", "x\xc3\xa9z", "x\xc3\xaa", "xz"};
	struct listing_query q = {0};

	q.delimiter = "\xc3\xa9"; /* é: the next code point is ê */
	cr_expect_str_eq(walk(names, N(names), &q), "xz x\xc3\xa9| x\xc3\xaa ");
	q.delimiter = "z";
	q.reverse = 1;
	cr_expect_str_eq(walk(names, N(names), &q),
			 "x\xc3\xaa x\xc3\xa9z| x\xc3\xa9y xz| ");
}

Test(listing, limit_zero_lists_nothing)
{
	const char *names[N(tree)];
	struct listing_query q = {0};
	struct arr a = {names, N(tree)};
	struct listing_source src = {arr_scan, &a};
	char out[64] = "";

	memcpy(names, tree, sizeof(tree));
	q.marker = "";
	q.limit = 0;
	q.delimiter = "/";
	cr_expect_eq(listing_run(&src, &q, collect, out), 0);
	cr_expect_str_eq(out, "");
}

Test(listing, content_negotiation)
{
	enum listing_format f;

	cr_expect_eq(listing_content_type(NULL, NULL, &f), 0);
	cr_expect_eq(f, LISTING_PLAIN);
	cr_expect_eq(listing_content_type("JSON", "text/xml", &f), 0);
	cr_expect_eq(f, LISTING_JSON);
	cr_expect_eq(listing_content_type("xml", NULL, &f), 0);
	cr_expect_eq(f, LISTING_XML);
	cr_expect_eq(listing_content_type("bogus", NULL, &f), 0);
	cr_expect_eq(f, LISTING_PLAIN);
	cr_expect_eq(listing_content_type(NULL, "application/json", &f), 0);
	cr_expect_eq(f, LISTING_JSON);
	cr_expect_eq(listing_content_type(NULL, "*/*", &f), 0);
	cr_expect_eq(f, LISTING_PLAIN);
	cr_expect_eq(listing_content_type(NULL, "application/*", &f), 0);
	cr_expect_eq(f, LISTING_JSON);
	cr_expect_eq(listing_content_type(NULL, "text/*;q=0.5, text/xml", &f),
		     0);
	cr_expect_eq(f, LISTING_TEXT_XML);
	cr_expect_eq(
		listing_content_type(
			NULL, "application/json;q=0.2, text/xml;q=0.9", &f),
		0);
	cr_expect_eq(f, LISTING_TEXT_XML);
	cr_expect_eq(listing_content_type(NULL, "image/png", &f), -ENOENT);
	cr_expect_eq(listing_content_type(NULL, "foo", &f), -EINVAL);
	cr_expect_eq(listing_content_type(NULL, "text/plain,", &f), -EINVAL);
	cr_expect_eq(listing_content_type(NULL, "text/plain;q=x", &f), -EINVAL);
}

Test(listing, limits_and_true_values)
{
	long l;

	cr_expect_eq(listing_parse_limit(NULL, 10000, &l), 0);
	cr_expect_eq(l, 10000);
	cr_expect_eq(listing_parse_limit("17", 10000, &l), 0);
	cr_expect_eq(l, 17);
	cr_expect_eq(listing_parse_limit("-1", 10000, &l), 0);
	cr_expect_eq(l, 10000);
	cr_expect_eq(listing_parse_limit("10000", 10000, &l), 0);
	cr_expect_eq(listing_parse_limit("10001", 10000, &l), -ERANGE);
	cr_expect_eq(listing_parse_limit("99999999999999999999999", 10000, &l),
		     -ERANGE);
	cr_expect(listing_true_value("On"));
	cr_expect(listing_true_value("t"));
	cr_expect(!listing_true_value("no"));
	cr_expect(!listing_true_value(""));
	cr_expect(!listing_true_value(NULL));
}

Test(listing, utf8_validation)
{
	cr_expect(listing_utf8_valid("plain \xc3\xa9 \xf0\x9f\x98\x80"));
	cr_expect(!listing_utf8_valid("\xff"));
	cr_expect(!listing_utf8_valid("\xc3"));
	cr_expect(!listing_utf8_valid("\xc0\xaf"));	    /* overlong */
	cr_expect(!listing_utf8_valid("\xed\xa0\x80"));	    /* surrogate */
	cr_expect(!listing_utf8_valid("\xf4\x90\x80\x80")); /* > U+10FFFF */
}

Test(listing, content_type_and_isoformat)
{
	struct ts t = {170000000012345LL, 0};
	char iso[32], *ct;
	int64_t sb;

	cr_expect_str_eq(listing_isoformat(&t, iso),
			 "2023-11-14T22:13:20.123450");
	cr_assert_eq(listing_clean_content_type("text/plain; charset=UTF-8",
						&ct, &sb),
		     0);
	cr_expect_str_eq(ct, "text/plain;charset=UTF-8");
	cr_expect_eq(sb, -1);
	free(ct);
	cr_assert_eq(listing_clean_content_type("a/b;swift_bytes=99;x=\"q\"",
						&ct, &sb),
		     0);
	cr_expect_str_eq(ct, "a/b;x=\"q\"");
	cr_expect_eq(sb, 99);
	free(ct);
	cr_assert_eq(
		listing_clean_content_type("image/png ; a=b ;  c", &ct, &sb),
		0);
	cr_expect_str_eq(ct, "image/png ;a=b;c="); /* as Swift: split on ";" */
	free(ct);
}

static char *body(struct listing_out *o)
{
	static char out[2048];

	snprintf(out, sizeof(out), "%.*s", (int)o->body.len,
		 (char *)o->body.data);
	return out;
}

Test(listing, bodies_as_swift)
{
	struct ts t = {170000000100000LL, 0};
	struct listing_out o;

	cr_assert_eq(listing_out_begin(&o, LISTING_JSON, LISTING_OBJECTS, "c"),
		     0);
	listing_out_object(&o, "\xc3\xa9", 3, "abc", "t/p;swift_bytes=7", &t);
	listing_out_subdir(&o, "d/");
	listing_out_end(&o);
	cr_expect_str_eq(body(&o),
			 "[{\"bytes\": 7, \"hash\": \"abc\", \"name\": "
			 "\"\\u00e9\", \"content_type\": \"t/p\", "
			 "\"last_modified\": \"2023-11-14T22:13:21.000000\"}, "
			 "{\"subdir\": \"d/\"}]");
	listing_out_free(&o);

	listing_out_begin(&o, LISTING_XML, LISTING_OBJECTS, "c&\"");
	listing_out_end(&o);
	cr_expect_str_eq(body(&o),
			 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			 "<container name=\"c&amp;&quot;\" />");
	listing_out_free(&o);

	listing_out_begin(&o, LISTING_XML, LISTING_OBJECTS, "c");
	listing_out_subdir(&o, "<d>/");
	listing_out_object(&o, "o", 3, "h", "t/p", &t);
	listing_out_end(&o);
	cr_expect_str_eq(body(&o),
			 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			 "<container name=\"c\"><subdir name=\"&lt;d&gt;/\">"
			 "<name>&lt;d&gt;/</name></subdir><object><name>o"
			 "</name><hash>h</hash><bytes>3</bytes><content_type>"
			 "t/p</content_type><last_modified>2023-11-14T22:13:"
			 "21.000000</last_modified></object></container>");
	listing_out_free(&o);

	listing_out_begin(&o, LISTING_TEXT_XML, LISTING_CONTAINERS, "AUTH_a");
	listing_out_container(&o, "c", 2, 10, &t);
	listing_out_subdir(&o, "s/");
	listing_out_end(&o);
	cr_expect_str_eq(body(&o),
			 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			 "<account name=\"AUTH_a\">\n<container><name>c</name>"
			 "<count>2</count><bytes>10</bytes><last_modified>"
			 "2023-11-14T22:13:21.000000</last_modified>"
			 "</container>\n<subdir name=\"s/\" />\n</account>");
	listing_out_free(&o);

	listing_out_begin(&o, LISTING_PLAIN, LISTING_CONTAINERS, "AUTH_a");
	listing_out_end(&o);
	cr_expect_eq(o.body.len, 0); /* Swift answers 204 */
	listing_out_free(&o);
}

/* The dates the listing writes itself (no strftime below year 10000):
 * the epoch, leap days, a century that is no leap year, the last
 * 4-digit second and past it. */
Test(listing, isoformat_edges)
{
	static const struct {
		int64_t ticks;
		const char *iso;
	} cases[] = {
		{-5, "1970-01-01T00:00:00.000000"},
		{0, "1970-01-01T00:00:00.000000"},
		{95178240000000LL, "2000-02-29T00:00:00.000000"},
		{95186879999999LL, "2000-02-29T23:59:59.999990"},
		{410754240000001LL, "2100-03-01T00:00:00.000010"},
		{25340230079900000LL, "9999-12-31T23:59:59.000000"},
		{25340230080000000LL, "10000-01-01T00:00:00.000000"},
	};
	char iso[32];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ts t = {cases[i].ticks, 0};

		cr_expect_str_eq(listing_isoformat(&t, iso), cases[i].iso);
	}
}

/* Names mixing plain runs with what JSON and XML escape, as Python's
 * json.dumps and ElementTree write them. */
Test(listing, escapes_between_plain_runs)
{
	struct ts t = {0, 0};
	struct listing_out o;

	cr_assert_eq(listing_out_begin(&o, LISTING_JSON, LISTING_OBJECTS, "c"),
		     0);
	cr_assert_eq(listing_out_object(&o,
					"ab\"c\\d\ne\x01"
					"f\xc3\xa9g\xf0\x9f\x98\x80h\x7fi\tj",
					-1, "h", "t/p", &t),
		     0);
	listing_out_end(&o);
	cr_expect_str_eq(body(&o),
			 "[{\"bytes\": -1, \"hash\": \"h\", \"name\": "
			 "\"ab\\\"c\\\\d\\ne\\u0001f\\u00e9g\\ud83d\\ude00h"
			 "\\u007fi\\tj\", \"content_type\": \"t/p\", "
			 "\"last_modified\": \"1970-01-01T00:00:00.000000\"}]");
	listing_out_free(&o);

	listing_out_begin(&o, LISTING_XML, LISTING_OBJECTS, "c");
	listing_out_subdir(&o, "a\"b\n&<c>\td\r");
	listing_out_end(&o);
	cr_expect_str_eq(body(&o),
			 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			 "<container name=\"c\"><subdir name=\"a&quot;b&#10;"
			 "&amp;&lt;c&gt;&#09;d&#13;\"><name>a\"b\n&amp;&lt;c"
			 "&gt;\td\r</name></subdir></container>");
	listing_out_free(&o);
}
