/*
 * common/dbmeta.c: account and container metadata (see dbmeta.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/dbmeta.h"
#include "common/http.h"
#include "common/timestamp.h"

void dbmeta_title_case(char *name)
{
	int prev_alpha = 0;

	for (; *name; name++) {
		unsigned char c = (unsigned char)*name;

		if (c == '_')
			c = '-';
		if (isalpha(c))
			c = (unsigned char)(prev_alpha ? tolower(c)
						       : toupper(c));
		prev_alpha = isalpha(c) != 0;
		*name = (char)c;
	}
}

struct collect {
	const char *kind;
	const char *const *saved;
	const char *ts;
	json_t *updates;
	int rc;
};

/* Is name (lowercase) one Swift keeps for kind? */
static int wanted(const struct collect *c, const char *name)
{
	char meta[64], sys[64];
	size_t i;

	snprintf(meta, sizeof(meta), "x-%s-meta-", c->kind);
	snprintf(sys, sizeof(sys), "x-%s-sysmeta-", c->kind);
	if (!strncmp(name, meta, strlen(meta)) && name[strlen(meta)])
		return 1;
	if (!strncmp(name, sys, strlen(sys)) && name[strlen(sys)])
		return 1;
	for (i = 0; c->saved && c->saved[i]; i++)
		if (!strcmp(name, c->saved[i]))
			return 1;
	return 0;
}

static void collect_one(const char *name, const char *value, void *arg)
{
	struct collect *c = arg;
	char *lower = strdup(name), *key;
	const char *v = value;
	json_t *pair;
	size_t i;

	if (!lower) {
		c->rc = -ENOMEM;
		return;
	}
	for (i = 0; lower[i]; i++)
		lower[i] = (char)tolower((unsigned char)lower[i]);
	key = lower;
	if (!strncmp(lower, "x-remove-", 9)) {
		key = lower + 7;
		memcpy(key, "x-", 2);
		v = "";
	}
	if (!wanted(c, key))
		goto out;
	dbmeta_title_case(key);
	/* a value sent for a name wins over X-Remove- of the same name */
	if (!*v && json_object_get(c->updates, key))
		goto out;
	pair = json_pack("[ss]", v, c->ts);
	if (!pair || json_object_set_new(c->updates, key, pair))
		c->rc = -ENOMEM;
out:
	free(lower);
}

int dbmeta_from_request(struct http_request *req, const char *kind,
			const char *const *saved, const char *ts,
			json_t *updates)
{
	struct collect c = {kind, saved, ts, updates, 0};

	http_each_header(req, collect_one, &c);
	return c.rc;
}

static int pair_ts(const json_t *pair, struct ts *t)
{
	const char *s = json_string_value(json_array_get(pair, 1));

	return s ? ts_parse(s, t) : -EINVAL;
}

int dbmeta_merge(json_t *md, const json_t *updates)
{
	const char *key;
	json_t *val;
	int changed = 0;

	json_object_foreach((json_t *)updates, key, val)
	{
		json_t *old = json_object_get(md, key);
		struct ts a, b;

		if (old && !pair_ts(old, &a) && !pair_ts(val, &b) &&
		    ts_cmp(&b, &a) <= 0)
			continue;
		if (json_object_set(md, key, val))
			return -ENOMEM;
		changed = 1;
	}
	return changed;
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

int dbmeta_validate(const json_t *md, char *msg, size_t msglen)
{
	const char *key;
	json_t *val;
	size_t count = 0, size = 0;

	json_object_foreach((json_t *)md, key, val)
	{
		const char *v = json_string_value(json_array_get(val, 0));
		size_t skip = 0;

		if (!v || !*v)
			continue;
		if (!strncasecmp(key, "x-account-meta-", 15))
			skip = 15;
		else if (!strncasecmp(key, "x-container-meta-", 17))
			skip = 17;
		if (!skip)
			continue;
		count++;
		size += utf8_chars(key + skip) + utf8_chars(v);
	}
	if (count > DBMETA_MAX_COUNT) {
		snprintf(msg, msglen, "Too many metadata items; max %d",
			 DBMETA_MAX_COUNT);
		return -EINVAL;
	}
	if (size > DBMETA_MAX_OVERALL) {
		snprintf(msg, msglen, "Total metadata too large; max %d",
			 DBMETA_MAX_OVERALL);
		return -EINVAL;
	}
	return 0;
}

int dbmeta_clear(json_t *md, const char *ts)
{
	json_t *updates = json_object();
	const char *key;
	json_t *val;
	int rc = 0;

	if (!updates)
		return -ENOMEM;
	json_object_foreach(md, key, val)
	{
		if (json_object_set_new(updates, key,
					json_pack("[ss]", "", ts)))
			rc = -ENOMEM;
	}
	if (!rc && dbmeta_merge(md, updates) < 0)
		rc = -ENOMEM;
	json_decref(updates);
	return rc;
}

void dbmeta_add_headers(struct http_request *req, const json_t *md)
{
	const char *key;
	json_t *val;

	json_object_foreach((json_t *)md, key, val)
	{
		const char *v = json_string_value(json_array_get(val, 0));

		if (v && *v)
			http_add_header(req, key, v);
	}
}
