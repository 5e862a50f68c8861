/*
 * tests/unit/common/test_policy.c: the storage policy table: Swift's
 * default Policy-0 at index 0, found by index (number or text) and by
 * name without case.
 */
#include <criterion/criterion.h>

#include "common/policy.h"

Test(policy, default_is_policy_0)
{
	const struct storage_policy *p = policy_default();

	cr_assert_eq(policy_count(), 1);
	cr_assert_eq(policy_at(0), p);
	cr_assert_null(policy_at(1));
	cr_assert_null(policy_at(-1));
	cr_assert_eq(p->index, 0);
	cr_assert_str_eq(p->name, "Policy-0");
	cr_assert(p->is_default);
}

Test(policy, by_index)
{
	cr_assert_eq(policy_by_index(0), policy_default());
	cr_assert_null(policy_by_index(1));
	cr_assert_null(policy_by_index(-1));
	cr_assert_eq(policy_by_index_str("0"), policy_default());
	cr_assert_eq(policy_by_index_str("00"), policy_default());
	cr_assert_null(policy_by_index_str("1"));
	cr_assert_null(policy_by_index_str("-0"));
	cr_assert_null(policy_by_index_str("0x"));
	cr_assert_null(policy_by_index_str(" 0"));
	cr_assert_null(policy_by_index_str(""));
	cr_assert_null(policy_by_index_str(NULL));
	cr_assert_null(policy_by_index_str("4294967296"));
}

Test(policy, by_name_ignores_case)
{
	cr_assert_eq(policy_by_name("Policy-0"), policy_default());
	cr_assert_eq(policy_by_name("policy-0"), policy_default());
	cr_assert_eq(policy_by_name("POLICY-0"), policy_default());
	cr_assert_null(policy_by_name("gold"));
	cr_assert_null(policy_by_name("0"));
	cr_assert_null(policy_by_name(""));
	cr_assert_null(policy_by_name(NULL));
}
