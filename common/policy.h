/*
 * common/policy.h: the cluster's storage policies, as Swift's
 * swift/common/storage_policy.py POLICIES. For now there is one, Swift's
 * default when swift.conf defines none: index 0, named "Policy-0", the
 * default, replicated. The proxy maps client names (X-Storage-Policy) to
 * indexes and back; the container server checks the indexes it is given;
 * the account server names its per-policy stats headers.
 */
#ifndef KUMO_COMMON_POLICY_H
#define KUMO_COMMON_POLICY_H

/* One storage policy. */
struct storage_policy {
	int index;
	const char *name;
	int is_default;
};

/* The number of policies; policy_at(0 .. policy_count() - 1) lists them
 * in index order. */
int policy_count(void);

/* The i-th policy (0 <= i < policy_count()), else NULL. */
const struct storage_policy *policy_at(int i);

/* The default policy (never NULL). */
const struct storage_policy *policy_default(void);

/* The policy of an index, else NULL. */
const struct storage_policy *policy_by_index(int index);

/* The policy of an index given as text (X-Backend-Storage-Policy-Index:
 * decimal digits only), else NULL (NULL text included). */
const struct storage_policy *policy_by_index_str(const char *text);

/* The policy of a name, compared without case as Swift's get_by_name,
 * else NULL (NULL name included). */
const struct storage_policy *policy_by_name(const char *name);

#endif
