/*
 * common/config.h: daemon configuration from INI files, through one
 * declarative table per daemon (as redis's config.c): each key names its
 * section, type, bounds, default and the field it fills. The same table
 * writes etc/<daemon>.conf-sample, so that a test can check the sample
 * documents every key.
 */
#ifndef KUMO_COMMON_CONFIG_H
#define KUMO_COMMON_CONFIG_H

#include <stddef.h>
#include <stdio.h>

enum conf_type {
	CONF_INT,    /* long long, within [min, max] */
	CONF_BOOL,   /* int: true/false, yes/no, on/off, 1/0 */
	CONF_DOUBLE, /* double, within [min, max] */
	CONF_STR,    /* char[CONF_STR_MAX], copied */
	CONF_PREFIX, /* struct conf_list: every key of the section that
		      * starts with name (e.g. tempauth's user_<a>_<u>);
		      * dflt is an example line for the sample only */
};

#define CONF_STR_MAX 4096

/* The keys a CONF_PREFIX entry collected, in file order (names whole). */
struct conf_item {
	char *name;
	char *value;
};

struct conf_list {
	struct conf_item *items;
	size_t n;
};

struct conf_key {
	const char *section;
	const char *name;
	enum conf_type type;
	double min, max;  /* bounds for numbers */
	const char *dflt; /* default, as it would be written in the file */
	size_t offset;	  /* of the field in the daemon's config struct */
	const char *help; /* one line for the sample file */
};

/* Fill cfg with every key's default (a CONF_PREFIX list starts empty: cfg
 * must not hold one yet). 0, or -EINVAL for a bad table. */
int conf_defaults(const struct conf_key *table, void *cfg);

/*
 * Fill cfg from defaults, then from the INI file at path. An unknown key in
 * a section the table knows, a value of the wrong type or out of bounds,
 * or an unreadable file is an error: -EINVAL or -errno, with a message
 * naming the file, line and key in err.
 */
int conf_load(const char *path, const struct conf_key *table, void *cfg,
	      char *err, size_t errlen);

/* Free what CONF_PREFIX lists in cfg hold and empty them. */
void conf_free(const struct conf_key *table, void *cfg);

/* Write a sample file documenting every key with its default. */
void conf_write_sample(const struct conf_key *table, FILE *out);

#endif
