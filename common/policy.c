/*
 * common/policy.c: the storage policy table (see policy.h). One policy
 * for now; more (and erasure coding) will come from configuration.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/policy.h"

static const struct storage_policy policies[] = {
	{.index = 0, .name = "Policy-0", .is_default = 1},
};

#define NPOLICIES ((int)(sizeof(policies) / sizeof(policies[0])))

int policy_count(void)
{
	return NPOLICIES;
}

const struct storage_policy *policy_at(int i)
{
	return i >= 0 && i < NPOLICIES ? &policies[i] : NULL;
}

const struct storage_policy *policy_default(void)
{
	const struct storage_policy *p = &policies[0];
	int i;

	for (i = 0; i < NPOLICIES; i++)
		if (policies[i].is_default)
			p = &policies[i];
	return p;
}

const struct storage_policy *policy_by_index(int index)
{
	const struct storage_policy *p = NULL;
	int i;

	for (i = 0; i < NPOLICIES && !p; i++)
		if (policies[i].index == index)
			p = &policies[i];
	return p;
}

const struct storage_policy *policy_by_index_str(const char *text)
{
	long n = 0;
	const char *s;

	if (!text || !*text || strlen(text) > 9)
		return NULL;
	for (s = text; *s; s++) {
		if (*s < '0' || *s > '9')
			return NULL;
		n = n * 10 + (*s - '0');
	}
	return policy_by_index((int)n);
}

const struct storage_policy *policy_by_name(const char *name)
{
	const struct storage_policy *p = NULL;
	int i;

	for (i = 0; name && i < NPOLICIES && !p; i++)
		if (!strcasecmp(policies[i].name, name))
			p = &policies[i];
	return p;
}
