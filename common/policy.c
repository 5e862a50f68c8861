/*
 * common/policy.c: the storage policy table (see policy.h): Swift's
 * legacy Policy-0 until policy_load reads [storage-policy:N] sections.
 * Parsing keeps each section's raw values first (inih calls back key by
 * key, in file order), then builds and checks the policies in index order
 * as Swift's StoragePolicyCollection does, so an error names the same
 * rule Swift's PolicyError would.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "common/ec.h"
#include "common/policy.h"

#define NAME_MAX_LEN   128
#define LEGACY_NAME    "Policy-0"
#define SECTION_PREFIX "storage-policy:"

/* A policy with the storage its strings point into. */
struct policy_slot {
	struct storage_policy sp;
	char names[POLICY_MAX_NAMES][NAME_MAX_LEN];
	char aliases[POLICY_MAX_NAMES * (NAME_MAX_LEN + 2)];
	char ec_type[64];
};

struct policy_table {
	int n;
	struct policy_slot slot[POLICY_MAX];
};

static struct policy_table legacy = {
	.n = 1,
	.slot = {{.sp = {.index = 0,
			 .name = LEGACY_NAME,
			 .aliases = LEGACY_NAME,
			 .names = {LEGACY_NAME},
			 .nnames = 1,
			 .is_default = 1}}},
};
static struct policy_table *table = &legacy;

/* The options of a [storage-policy:N] section, as Swift's
 * config_to_policy_option_map (ec_* only for erasure_coding). */
enum raw_key {
	K_NAME,
	K_ALIASES,
	K_DEFAULT,
	K_DEPRECATED,
	K_TYPE,
	K_DISKFILE,
	K_EC_TYPE, /* the first EC-only option */
	K_EC_NDATA,
	K_EC_NPARITY,
	K_EC_SEGMENT,
	K_EC_DUP,
	NKEYS
};

static const char *const key_names[NKEYS] = {
	"name",
	"aliases",
	"default",
	"deprecated",
	"policy_type",
	"diskfile_module",
	"ec_type",
	"ec_num_data_fragments",
	"ec_num_parity_fragments",
	"ec_object_segment_size",
	"ec_duplication_factor",
};

struct raw_section {
	char index[32];
	char *val[NKEYS];
};

struct parse_ctx {
	struct raw_section raw[POLICY_MAX];
	int n;
	char *err;
	size_t errlen;
	int failed;
};

int policy_count(void)
{
	return table->n;
}

const struct storage_policy *policy_at(int i)
{
	return i >= 0 && i < table->n ? &table->slot[i].sp : NULL;
}

const struct storage_policy *policy_default(void)
{
	const struct storage_policy *p = &table->slot[0].sp;
	int i;

	for (i = 0; i < table->n; i++)
		if (table->slot[i].sp.is_default)
			p = &table->slot[i].sp;
	return p;
}

const struct storage_policy *policy_by_index(int index)
{
	const struct storage_policy *p = NULL;
	int i;

	for (i = 0; i < table->n && !p; i++)
		if (table->slot[i].sp.index == index)
			p = &table->slot[i].sp;
	return p;
}

/* Decimal digits only, at most 9 of them: the number, else -1. */
static long parse_index(const char *text)
{
	long n = 0;
	const char *s;

	if (!text || !*text || strlen(text) > 9)
		return -1;
	for (s = text; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		n = n * 10 + (*s - '0');
	}
	return n;
}

const struct storage_policy *policy_by_index_str(const char *text)
{
	long n = parse_index(text);

	return n < 0 ? NULL : policy_by_index((int)n);
}

static const struct storage_policy *name_in(const struct policy_table *t,
					    const char *name, int n);

const struct storage_policy *policy_by_name(const char *name)
{
	return name ? name_in(table, name, table->n) : NULL;
}

const char *policy_type_name(const struct storage_policy *sp)
{
	return sp->type == POLICY_ERASURE_CODING ? "erasure_coding"
						 : "replication";
}

void policy_data_dir(int index, char *out, size_t outlen)
{
	if (index == 0)
		snprintf(out, outlen, "objects");
	else
		snprintf(out, outlen, "objects-%d", index);
}

void policy_reset(void)
{
	if (table != &legacy)
		free(table);
	table = &legacy;
}

/* --- parsing ------------------------------------------------------------ */

static int on_entry(void *user, const char *section, const char *name,
		    const char *value)
{
	struct parse_ctx *c = user;
	struct raw_section *r = NULL;
	const char *idx;
	int i, k;

	if (c->failed ||
	    strncmp(section, SECTION_PREFIX, strlen(SECTION_PREFIX)))
		return 1;
	idx = section + strlen(SECTION_PREFIX);
	for (i = 0; i < c->n && !r; i++)
		if (!strcmp(c->raw[i].index, idx))
			r = &c->raw[i];
	if (!r && c->n == POLICY_MAX) {
		snprintf(c->err, c->errlen, "more than %d storage policies",
			 POLICY_MAX);
		c->failed = 1;
		return 0;
	}
	if (!r) {
		r = &c->raw[c->n++];
		snprintf(r->index, sizeof(r->index), "%.31s", idx);
	}
	if (!name) /* the section header */
		return 1;
	for (k = 0; k < NKEYS && strcmp(key_names[k], name); k++)
		;
	if (k == NKEYS) {
		snprintf(c->err, c->errlen,
			 "Invalid option '%s' in storage-policy section, for "
			 "index '%s'",
			 name, r->index);
		c->failed = 1;
		return 0;
	}
	free(r->val[k]);
	r->val[k] = strdup(value);
	if (!r->val[k]) {
		snprintf(c->err, c->errlen, "out of memory");
		c->failed = 1;
		return 0;
	}
	return 1;
}

/* Swift's config_true_value. */
static int true_value(const char *v)
{
	static const char *const yes[] = {"true", "1", "yes", "on", "t", "y"};
	size_t i;

	for (i = 0; v && i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!strcasecmp(v, yes[i]))
			return 1;
	return 0;
}

/* A positive integer option of an EC policy into *out. 0 or -EINVAL. */
static int positive(const char *v, long long max, long long *out)
{
	char *end;
	long long n;

	if (!v || !*v)
		return -EINVAL;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || *end || n <= 0 || n > max)
		return -EINVAL;
	*out = n;
	return 0;
}

/* Swift's _validate_policy_name, then the name added to s. */
static int add_name(struct policy_slot *s, const char *name, char *err,
		    size_t errlen)
{
	const char *p;
	int i;

	if (!*name || strlen(name) >= NAME_MAX_LEN) {
		snprintf(err, errlen, "Invalid name '%s', for index '%d'", name,
			 s->sp.index);
		return -EINVAL;
	}
	for (p = name; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-')
			continue;
		snprintf(err, errlen,
			 "Names are used as HTTP headers, and can not reliably "
			 "contain any characters not in '-' and [A-Za-z0-9]. "
			 "Invalid name '%s'",
			 name);
		return -EINVAL;
	}
	if (!strcasecmp(name, LEGACY_NAME) && s->sp.index != 0) {
		snprintf(err, errlen,
			 "The name %s is reserved for policy index 0. Invalid "
			 "name '%s', for index '%d'",
			 LEGACY_NAME, name, s->sp.index);
		return -EINVAL;
	}
	for (i = 0; i < s->sp.nnames; i++) {
		if (strcasecmp(s->names[i], name))
			continue;
		snprintf(err, errlen,
			 "The name %s is already assigned to this policy., "
			 "for index '%d'",
			 name, s->sp.index);
		return -EINVAL;
	}
	if (s->sp.nnames == POLICY_MAX_NAMES) {
		snprintf(err, errlen, "more than %d names, for index '%d'",
			 POLICY_MAX_NAMES, s->sp.index);
		return -EINVAL;
	}
	strcpy(s->names[s->sp.nnames++], name);
	return 0;
}

/* The name and the comma-separated aliases (Swift's list_from_csv, an
 * alias equal to the name skipped) of a section. */
static int set_names(struct policy_slot *s, const struct raw_section *r,
		     char *err, size_t errlen)
{
	char alias[NAME_MAX_LEN + 1];
	const char *p = r->val[K_ALIASES], *end;
	size_t len;
	int rc, i;

	rc = add_name(s, r->val[K_NAME] ? r->val[K_NAME] : "", err, errlen);
	while (!rc && p && *p) {
		end = strchr(p, ',');
		len = end ? (size_t)(end - p) : strlen(p);
		while (len && (*p == ' ' || *p == '\t'))
			p++, len--;
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		snprintf(alias, sizeof(alias), "%.*s",
			 (int)(len < NAME_MAX_LEN ? len : NAME_MAX_LEN), p);
		if (len && strcmp(alias, s->names[0]))
			rc = add_name(s, alias, err, errlen);
		p = end ? end + 1 : NULL;
	}
	for (i = 0; !rc && i < s->sp.nnames; i++) {
		s->sp.names[i] = s->names[i];
		if (i)
			strcat(s->aliases, ", ");
		strcat(s->aliases, s->names[i]);
	}
	s->sp.name = s->names[0];
	s->sp.aliases = s->aliases;
	return rc;
}

/* Swift's ECStoragePolicy checks: a known, loadable ec_type, positive
 * fragment counts and segment size, a codec that can be made. */
static int set_ec(struct policy_slot *s, const struct raw_section *r, char *err,
		  size_t errlen)
{
	const char *t = r->val[K_EC_TYPE];
	struct ec_codec *codec = NULL;
	long long k, m, seg = EC_DEFAULT_SEGMENT_SIZE, dup = 1;
	int rc;

	if (!t || !ec_type_known(t)) {
		snprintf(err, errlen,
			 "Wrong ec_type %s for policy %s, should be one of "
			 "\"%s\"",
			 t ? t : "None", s->sp.name, EC_TYPES_LIST);
		return -EINVAL;
	}
	if (!ec_type_available(t)) {
		snprintf(err, errlen,
			 "Storage policy %s: ec_type %s is not available on "
			 "this system (its backend library does not load)",
			 s->sp.name, t);
		return -EINVAL;
	}
	if (positive(r->val[K_EC_NDATA], EC_MAX_FRAGS, &k)) {
		snprintf(err, errlen,
			 "Invalid ec_num_data_fragments '%s', for index '%d'",
			 r->val[K_EC_NDATA] ? r->val[K_EC_NDATA] : "None",
			 s->sp.index);
		return -EINVAL;
	}
	if (positive(r->val[K_EC_NPARITY], EC_MAX_FRAGS, &m)) {
		snprintf(err, errlen,
			 "Invalid ec_num_parity_fragments '%s', for index '%d'",
			 r->val[K_EC_NPARITY] ? r->val[K_EC_NPARITY] : "None",
			 s->sp.index);
		return -EINVAL;
	}
	if (r->val[K_EC_SEGMENT] &&
	    positive(r->val[K_EC_SEGMENT], 1LL << 32, &seg)) {
		snprintf(err, errlen,
			 "Invalid ec_object_segment_size '%s', for index '%d'",
			 r->val[K_EC_SEGMENT], s->sp.index);
		return -EINVAL;
	}
	if (r->val[K_EC_DUP] && (positive(r->val[K_EC_DUP], 1, &dup))) {
		snprintf(
			err, errlen,
			"Invalid ec_duplication_factor '%s' (kumo supports 1), "
			"for index '%d'",
			r->val[K_EC_DUP], s->sp.index);
		return -EINVAL;
	}
	rc = ec_open(t, (int)k, (int)m, &codec);
	if (rc) {
		snprintf(err, errlen,
			 "Error creating EC policy (%s: %d data + %d parity "
			 "fragments: %s), for index '%d'",
			 t, (int)k, (int)m, strerror(-rc), s->sp.index);
		return -EINVAL;
	}
	ec_close(codec);
	snprintf(s->ec_type, sizeof(s->ec_type), "%s", t);
	s->sp.ec_type = s->ec_type;
	s->sp.ec_ndata = (int)k;
	s->sp.ec_nparity = (int)m;
	s->sp.ec_segment_size = seg;
	return 0;
}

/* One section into s (BaseStoragePolicy.__init__ and from_config). */
static int build_policy(struct policy_slot *s, const struct raw_section *r,
			char *err, size_t errlen)
{
	const char *type = r->val[K_TYPE] ? r->val[K_TYPE] : "replication";
	long idx = parse_index(r->index);
	int k, rc;

	if (idx < 0) {
		snprintf(err, errlen, "Invalid index '%s'", r->index);
		return -EINVAL;
	}
	s->sp.index = (int)idx;
	if (!strcmp(type, "erasure_coding")) {
		s->sp.type = POLICY_ERASURE_CODING;
	} else if (!strcmp(type, "replication")) {
		s->sp.type = POLICY_REPLICATION;
		for (k = K_EC_TYPE; k < NKEYS; k++) {
			if (!r->val[k])
				continue;
			snprintf(err, errlen,
				 "Invalid option '%s' in storage-policy "
				 "section, for index '%d'",
				 key_names[k], s->sp.index);
			return -EINVAL;
		}
	} else {
		snprintf(err, errlen, "Invalid type '%s', for index '%d'", type,
			 s->sp.index);
		return -EINVAL;
	}
	rc = set_names(s, r, err, errlen);
	if (rc)
		return rc;
	s->sp.is_default = true_value(r->val[K_DEFAULT]);
	s->sp.deprecated = true_value(r->val[K_DEPRECATED]);
	if (s->sp.deprecated && s->sp.is_default) {
		snprintf(err, errlen,
			 "Deprecated policy can not be default.  Invalid "
			 "config, for index '%d'",
			 s->sp.index);
		return -EINVAL;
	}
	if (s->sp.type == POLICY_ERASURE_CODING)
		rc = set_ec(s, r, err, errlen);
	return rc;
}

static int by_index(const void *a, const void *b)
{
	const struct raw_section *x = a, *y = b;
	long i = parse_index(x->index), j = parse_index(y->index);

	return i < j ? -1 : i > j;
}

/* The policy among t's first n that has name (without case), or NULL. */
static const struct storage_policy *name_in(const struct policy_table *t,
					    const char *name, int n)
{
	const struct storage_policy *p = NULL;
	int i, j;

	for (i = 0; i < n && !p; i++)
		for (j = 0; j < t->slot[i].sp.nnames && !p; j++)
			if (!strcasecmp(t->slot[i].sp.names[j], name))
				p = &t->slot[i].sp;
	return p;
}

/* StoragePolicyCollection._validate_policies over t's sorted policies. */
static int validate(struct policy_table *t, char *err, size_t errlen)
{
	const struct storage_policy *dflt = NULL, *other;
	int i, j, enabled = 0;

	for (i = 0; i < t->n; i++) {
		const struct storage_policy *sp = &t->slot[i].sp;

		if (i && t->slot[i - 1].sp.index == sp->index) {
			snprintf(err, errlen,
				 "Duplicate index %d conflicts with %d",
				 sp->index, sp->index);
			return -EINVAL;
		}
		for (j = 0; j < sp->nnames; j++) {
			other = name_in(t, sp->names[j], i);
			if (!other)
				continue;
			snprintf(err, errlen,
				 "Duplicate name %s conflicts with %s",
				 sp->names[j], other->name);
			return -EINVAL;
		}
		if (sp->is_default && dflt) {
			snprintf(err, errlen,
				 "Duplicate default %s conflicts with %s",
				 sp->name, dflt->name);
			return -EINVAL;
		}
		if (sp->is_default)
			dflt = sp;
		enabled += !sp->deprecated;
	}
	if (t->n && t->slot[0].sp.index != 0) {
		snprintf(err, errlen,
			 "You must specify a storage policy section for policy "
			 "index 0 in order to define multiple policies");
		return -EINVAL;
	}
	if (!enabled) {
		snprintf(err, errlen,
			 "Unable to find policy that's not deprecated!");
		return -EINVAL;
	}
	if (!dflt && t->n > 1) {
		snprintf(err, errlen, "Unable to find default policy");
		return -EINVAL;
	}
	if (!dflt)
		t->slot[0].sp.is_default = 1;
	return 0;
}

int policy_load(const char *path, char *err, size_t errlen)
{
	struct parse_ctx *c = calloc(1, sizeof(*c));
	struct policy_table *t = calloc(1, sizeof(*t));
	FILE *f = NULL;
	int i, k, rc = -ENOMEM;

	if (!c || !t) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	c->err = err;
	c->errlen = errlen;
	if (errlen)
		err[0] = '\0';
	f = fopen(path, "r");
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "cannot read %s: %s", path,
			 strerror(errno));
		goto out;
	}
	rc = -EINVAL;
	if (ini_parse_file(f, on_entry, c) && !c->failed)
		snprintf(err, errlen, "%s: not INI syntax", path);
	if (c->failed || *err)
		goto out;
	for (i = 0; i < c->n; i++) {
		if (parse_index(c->raw[i].index) >= 0)
			continue;
		snprintf(err, errlen, "Invalid index '%s'", c->raw[i].index);
		goto out;
	}
	qsort(c->raw, (size_t)c->n, sizeof(c->raw[0]), by_index);
	for (t->n = 0; t->n < c->n; t->n++)
		if (build_policy(&t->slot[t->n], &c->raw[t->n], err, errlen))
			goto out;
	if (t->n && validate(t, err, errlen))
		goto out;
	if (t->n) {
		policy_reset();
		table = t;
		t = NULL;
	} else {
		policy_reset(); /* no section: Swift's legacy Policy-0 */
	}
	rc = 0;
out:
	if (f)
		fclose(f);
	for (i = 0; c && i < c->n; i++)
		for (k = 0; k < NKEYS; k++)
			free(c->raw[i].val[k]);
	free(c);
	free(t);
	return rc;
}
