/*
 * common/config.c: INI parsing (inih) against a declarative key table.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "common/config.h"

struct conf_ctx {
	const struct conf_key *table;
	void *cfg;
	char *err;
	size_t errlen;
	const char *path;
	int failed;
};

static int set_value(const struct conf_key *k, void *cfg, const char *v)
{
	char *field = (char *)cfg + k->offset, *end;
	double d;
	long long ll;

	switch (k->type) {
	case CONF_INT:
		errno = 0;
		ll = strtoll(v, &end, 10);
		if (errno || end == v || *end || ll < k->min || ll > k->max)
			return -EINVAL;
		*(long long *)field = ll;
		return 0;
	case CONF_DOUBLE:
		errno = 0;
		d = strtod(v, &end);
		if (errno || end == v || *end || !isfinite(d) || d < k->min ||
		    d > k->max)
			return -EINVAL;
		*(double *)field = d;
		return 0;
	case CONF_BOOL:
		if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
		    !strcasecmp(v, "on") || !strcmp(v, "1"))
			*(int *)field = 1;
		else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") ||
			 !strcasecmp(v, "off") || !strcmp(v, "0"))
			*(int *)field = 0;
		else
			return -EINVAL;
		return 0;
	case CONF_STR:
		if (strlen(v) >= CONF_STR_MAX)
			return -EINVAL;
		strcpy(field, v);
		return 0;
	case CONF_PREFIX:
		return 0; /* filled by add_item */
	}
	return -EINVAL;
}

int conf_defaults(const struct conf_key *table, void *cfg)
{
	int i;

	for (i = 0; table[i].name; i++) {
		if (table[i].type == CONF_PREFIX) {
			memset((char *)cfg + table[i].offset, 0,
			       sizeof(struct conf_list));
			continue;
		}
		if (set_value(&table[i], cfg, table[i].dflt))
			return -EINVAL;
	}
	return 0;
}

/* Append name = value to a CONF_PREFIX list. 0 or -ENOMEM. */
static int add_item(const struct conf_key *k, void *cfg, const char *name,
		    const char *value)
{
	struct conf_list *l = (struct conf_list *)((char *)cfg + k->offset);
	struct conf_item *grown;
	char *n = strdup(name), *v = strdup(value);

	grown = realloc(l->items, sizeof(*grown) * (l->n + 1));
	if (!n || !v || !grown) {
		free(n);
		free(v);
		if (grown)
			l->items = grown;
		return -ENOMEM;
	}
	l->items = grown;
	grown[l->n].name = n;
	grown[l->n].value = v;
	l->n++;
	return 0;
}

void conf_free(const struct conf_key *table, void *cfg)
{
	size_t j;
	int i;

	for (i = 0; table[i].name; i++) {
		struct conf_list *l;

		if (table[i].type != CONF_PREFIX)
			continue;
		l = (struct conf_list *)((char *)cfg + table[i].offset);
		for (j = 0; j < l->n; j++) {
			free(l->items[j].name);
			free(l->items[j].value);
		}
		free(l->items);
		l->items = NULL;
		l->n = 0;
	}
}

static int section_known(const struct conf_key *table, const char *section)
{
	int i;

	for (i = 0; table[i].name; i++)
		if (!strcmp(table[i].section, section))
			return 1;
	return 0;
}

static int on_entry(void *user, const char *section, const char *name,
		    const char *value)
{
	struct conf_ctx *c = user;
	int i;

	if (c->failed)
		return 0;
	if (!name) /* a section header */
		return 1;
	for (i = 0; c->table[i].name; i++) {
		const struct conf_key *k = &c->table[i];

		if (k->type == CONF_PREFIX || strcmp(k->section, section) ||
		    strcmp(k->name, name))
			continue;
		if (set_value(k, c->cfg, value) == 0)
			return 1;
		snprintf(c->err, c->errlen,
			 "%s: bad value '%s' for %s in [%s]%s", c->path, value,
			 name, section,
			 k->type == CONF_BOOL  ? " (expected true or false)"
			 : k->type == CONF_STR ? " (too long)"
					       : " (not a number in range)");
		c->failed = 1;
		return 0;
	}
	for (i = 0; c->table[i].name; i++) {
		const struct conf_key *k = &c->table[i];

		if (k->type != CONF_PREFIX || strcmp(k->section, section) ||
		    strncmp(k->name, name, strlen(k->name)))
			continue;
		if (add_item(k, c->cfg, name, value) == 0)
			return 1;
		snprintf(c->err, c->errlen, "%s: out of memory", c->path);
		c->failed = 1;
		return 0;
	}
	if (!section_known(c->table, section))
		return 1; /* sections for other programs are theirs */
	snprintf(c->err, c->errlen, "%s: unknown key '%s' in [%s]", c->path,
		 name, section);
	c->failed = 1;
	return 0;
}

int conf_load(const char *path, const struct conf_key *table, void *cfg,
	      char *err, size_t errlen)
{
	struct conf_ctx c = {table, cfg, err, errlen, path, 0};
	FILE *f;
	int rc;

	if (conf_defaults(table, cfg)) {
		snprintf(err, errlen, "internal: a default is invalid");
		return -EINVAL;
	}
	f = fopen(path, "r");
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "cannot read %s: %s", path,
			 strerror(errno));
		return rc;
	}
	rc = ini_parse_file(f, on_entry, &c);
	fclose(f);
	if (c.failed)
		return -EINVAL;
	if (rc) {
		snprintf(err, errlen, "%s:%d: not INI syntax", path, rc);
		return -EINVAL;
	}
	return 0;
}

void conf_write_sample(const struct conf_key *table, FILE *out)
{
	const char *section = NULL;
	int i;

	for (i = 0; table[i].name; i++) {
		const struct conf_key *k = &table[i];

		if (!section || strcmp(section, k->section)) {
			fprintf(out, "%s[%s]\n", section ? "\n" : "",
				k->section);
			section = k->section;
		}
		fprintf(out, "# %s\n", k->help);
		if (k->type == CONF_PREFIX) {
			fprintf(out, "# %s\n", k->dflt);
			continue;
		}
		if (k->type == CONF_INT || k->type == CONF_DOUBLE)
			fprintf(out, "# (from %g to %g)\n", k->min, k->max);
		fprintf(out, "# %s = %s\n", k->name, k->dflt);
	}
}
