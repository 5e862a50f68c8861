/*
 * tests/unit/lib/ringfix.h: fixtures for ring and builder unit tests:
 * builders from swift-ring-builder add strings, and rebalanced rings.
 */
#ifndef KUMO_TESTS_RINGFIX_H
#define KUMO_TESTS_RINGFIX_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ring/builder.h"
#include "ring/ring.h"

struct fix_dev {
	const char *add; /* e.g. "r1z2-10.0.0.2:6200/sdb" */
	double weight;
};

/* A builder holding the given devices (terminated by a NULL add). */
static inline struct builder *fix_builder(int part_power, double replicas,
					  int min_part_hours,
					  const struct fix_dev *devs)
{
	struct builder *b = NULL;
	char err[256];
	int i;

	cr_assert_eq(builder_create(part_power, replicas, min_part_hours, &b,
				    err, sizeof(err)),
		     0, "%s", err);
	for (i = 0; devs[i].add; i++) {
		struct builder_dev t;
		char *scratch = malloc(strlen(devs[i].add) + 1);

		cr_assert_eq(builder_parse_add(devs[i].add, &t, scratch, err,
					       sizeof(err)),
			     0, "%s", err);
		t.weight = devs[i].weight;
		cr_assert_geq(builder_add_dev(b, &t, err, sizeof(err)), 0, "%s",
			      err);
		free(scratch);
	}
	return b;
}

/* Rebalance and assert it worked; returns the result. */
static inline struct rebalance_result fix_rebalance(struct builder *b,
						    uint64_t seed)
{
	struct rebalance_result res;
	char err[256] = "";

	cr_assert_eq(builder_rebalance(b, seed, &res, err, sizeof(err)), 0,
		     "rebalance failed: %s", err);
	return res;
}

/* n zones z1..zn in region 1, each one node with per devices. */
static inline struct fix_dev *fix_zones(int regions, int zones, int nodes,
					int per, double weight)
{
	struct fix_dev *d =
		calloc((size_t)(regions * zones * nodes * per) + 1, sizeof(*d));
	int r, z, n, k, i = 0;

	for (r = 1; r <= regions; r++)
		for (z = 1; z <= zones; z++)
			for (n = 1; n <= nodes; n++)
				for (k = 1; k <= per; k++) {
					char *s = malloc(96);

					snprintf(s, 96,
						 "r%dz%d-10.%d.%d.%d:6200/d%d",
						 r, z, r, z, n, k);
					d[i].add = s;
					d[i++].weight = weight;
				}
	return d;
}

static inline void fix_free_devs(struct fix_dev *d)
{
	int i;

	for (i = 0; d[i].add; i++)
		free((char *)d[i].add);
	free(d);
}

#endif
