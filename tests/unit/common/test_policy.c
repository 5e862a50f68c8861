/*
 * tests/unit/common/test_policy.c: the storage policy table: Swift's
 * default Policy-0 at index 0, found by index (number or text) and by
 * name without case; policies read from [storage-policy:N] sections and
 * checked as Swift's storage_policy.py does (each refusal with its
 * message, the table left as it was).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/policy.h"

static char conf_path[64];

static void cleanup(void)
{
	policy_reset();
	if (*conf_path)
		unlink(conf_path);
}

/* Write text as the config file; policy_load's rc, its message in err. */
static int load(const char *text, char *err, size_t errlen)
{
	FILE *f;
	int fd;

	snprintf(conf_path, sizeof(conf_path), "/tmp/test_policy.XXXXXX");
	fd = mkstemp(conf_path);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	return policy_load(conf_path, err, errlen);
}

/* The text must be refused with a message containing want, and the
 * table must stay the legacy one. */
static void refused(const char *text, const char *want)
{
	char err[512] = "";

	cr_assert_eq(load(text, err, sizeof(err)), -EINVAL, "accepted: %s",
		     text);
	cr_assert(strstr(err, want), "message '%s' lacks '%s'", err, want);
	cr_assert_eq(policy_count(), 1);
	cr_assert_str_eq(policy_default()->name, "Policy-0");
	unlink(conf_path);
}

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

Test(policy, none_configured_is_legacy, .fini = cleanup)
{
	char err[256];

	cr_assert_eq(load("[swift-hash]\nswift_hash_path_suffix = x\n", err,
			  sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(policy_count(), 1);
	cr_assert_str_eq(policy_default()->name, "Policy-0");
	cr_assert_str_eq(policy_default()->aliases, "Policy-0");
	cr_assert_eq(policy_default()->type, POLICY_REPLICATION);
}

/* four policies out of order: 0 with aliases, 1 the default, 2 EC 4+2,
 * 3 deprecated (its section last, open for more options) */
#define FOUR                                         \
	"[swift-hash]\nswift_hash_path_suffix = x\n" \
	"[storage-policy:2]\nname = ec42\n"          \
	"policy_type = erasure_coding\n"             \
	"ec_type = liberasurecode_rs_vand\n"         \
	"ec_num_data_fragments = 4\n"                \
	"ec_num_parity_fragments = 2\n"              \
	"[storage-policy:0]\nname = gold\n"          \
	"aliases = yellow, orange ,gold\n"           \
	"[storage-policy:1]\nname = silver\n"        \
	"default = yes\n"                            \
	"[storage-policy:3]\nname = old\n"           \
	"deprecated = true\n"

Test(policy, swift_conf_sections, .fini = cleanup)
{
	const struct storage_policy *p;
	char err[256], dir[32];

	cr_assert_eq(
		load(FOUR "ec_type_ignored_elsewhere = 1\n", err, sizeof(err)),
		-EINVAL);
	cr_assert(strstr(err, "Invalid option 'ec_type_ignored_elsewhere'"),
		  "%s", err);
	cr_assert_eq(load(FOUR "[other]\nx = 1\n", err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(policy_count(), 4);
	p = policy_at(0);
	cr_assert_eq(p->index, 0);
	cr_assert_str_eq(p->name, "gold");
	cr_assert_str_eq(p->aliases, "gold, yellow, orange");
	cr_assert_eq(p->nnames, 3);
	cr_assert_not(p->is_default);
	cr_assert_eq(policy_by_name("ORANGE"), p);
	cr_assert_null(policy_by_name("Policy-0"));
	p = policy_default();
	cr_assert_eq(p->index, 1);
	cr_assert_str_eq(p->name, "silver");
	p = policy_by_index_str("2");
	cr_assert_not_null(p);
	cr_assert_eq(p->type, POLICY_ERASURE_CODING);
	cr_assert_str_eq(policy_type_name(p), "erasure_coding");
	cr_assert_str_eq(p->ec_type, "liberasurecode_rs_vand");
	cr_assert_eq(p->ec_ndata, 4);
	cr_assert_eq(p->ec_nparity, 2);
	cr_assert_eq(p->ec_segment_size, 1048576);
	p = policy_by_name("old");
	cr_assert(p->deprecated);
	cr_assert_str_eq(policy_type_name(p), "replication");
	policy_data_dir(0, dir, sizeof(dir));
	cr_assert_str_eq(dir, "objects");
	policy_data_dir(3, dir, sizeof(dir));
	cr_assert_str_eq(dir, "objects-3");
}

Test(policy, lone_policy_is_default, .fini = cleanup)
{
	char err[256];

	cr_assert_eq(
		load("[storage-policy:0]\nname = only\n", err, sizeof(err)), 0,
		"%s", err);
	cr_assert_str_eq(policy_default()->name, "only");
	cr_assert(policy_default()->is_default);
}

Test(policy, swift_refusals, .fini = cleanup)
{
	refused("[storage-policy:0]\nname = a\n[storage-policy:1]\nname = b\n",
		"Unable to find default policy");
	refused("[storage-policy:0]\nname = a\ndefault = y\n"
		"[storage-policy:1]\nname = b\ndefault = y\n",
		"Duplicate default b conflicts with a");
	refused("[storage-policy:1]\nname = a\ndefault = y\n",
		"You must specify a storage policy section for policy index 0");
	refused("[storage-policy:0]\nname = a\ndefault = y\n"
		"[storage-policy:1]\nname = A\n",
		"Duplicate name A conflicts with a");
	refused("[storage-policy:0]\nname = a\ndefault = y\n"
		"[storage-policy:1]\nname = b\naliases = c, A\n",
		"Duplicate name A conflicts with a");
	refused("[storage-policy:0]\nname = a\naliases = b, B\n",
		"The name B is already assigned to this policy");
	refused("[storage-policy:0]\nname = a\ndefault = y\n"
		"[storage-policy:1]\nname = policy-0\n",
		"reserved for policy index 0");
	refused("[storage-policy:0]\nname = a b\n", "Invalid name 'a b'");
	refused("[storage-policy:0]\naliases = x\n", "Invalid name ''");
	refused("[storage-policy:x]\nname = a\n", "Invalid index 'x'");
	refused("[storage-policy:-1]\nname = a\n", "Invalid index '-1'");
	refused("[storage-policy:0]\nname = a\ndefault = y\ndeprecated = y\n",
		"Deprecated policy can not be default");
	refused("[storage-policy:0]\nname = a\ndeprecated = y\n",
		"Unable to find policy that's not deprecated!");
	refused("[storage-policy:0]\nname = a\npolicy_type = mirror\n",
		"Invalid type 'mirror'");
	refused("[storage-policy:0]\nname = a\nec_type = isa_l_rs_vand\n",
		"Invalid option 'ec_type' in storage-policy section");
	refused("[storage-policy:0]\nname = a\ncolor = red\n",
		"Invalid option 'color'");
}

#define EC0                                           \
	"[storage-policy:0]\nname = r\ndefault = y\n" \
	"[storage-policy:1]\nname = e\npolicy_type = erasure_coding\n"

Test(policy, ec_refusals, .fini = cleanup)
{
	refused(EC0 "ec_num_data_fragments = 4\nec_num_parity_fragments = 2\n",
		"Wrong ec_type None for policy e, should be one of");
	refused(EC0 "ec_type = turbo_rs\nec_num_data_fragments = 4\n"
		    "ec_num_parity_fragments = 2\n",
		"Wrong ec_type turbo_rs for policy e, should be one of "
		"\"liberasurecode_rs_vand,");
	refused(EC0 "ec_type = liberasurecode_rs_vand\n"
		    "ec_num_parity_fragments = 2\n",
		"Invalid ec_num_data_fragments 'None'");
	refused(EC0 "ec_type = liberasurecode_rs_vand\n"
		    "ec_num_data_fragments = 0\nec_num_parity_fragments = 2\n",
		"Invalid ec_num_data_fragments '0'");
	refused(EC0 "ec_type = liberasurecode_rs_vand\n"
		    "ec_num_data_fragments = 4\nec_num_parity_fragments = x\n",
		"Invalid ec_num_parity_fragments 'x'");
	refused(EC0 "ec_type = liberasurecode_rs_vand\n"
		    "ec_num_data_fragments = 4\nec_num_parity_fragments = 2\n"
		    "ec_object_segment_size = -5\n",
		"Invalid ec_object_segment_size '-5'");
	refused(EC0 "ec_type = liberasurecode_rs_vand\n"
		    "ec_num_data_fragments = 30\nec_num_parity_fragments = 4\n",
		"Error creating EC policy");
}

Test(policy, ec_segment_size_given, .fini = cleanup)
{
	char err[256];

	cr_assert_eq(load(EC0 "ec_type = liberasurecode_rs_vand\n"
			      "ec_num_data_fragments = 6\n"
			      "ec_num_parity_fragments = 3\n"
			      "ec_object_segment_size = 65536\n",
			  err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(policy_by_index(1)->ec_segment_size, 65536);
	cr_assert_eq(policy_by_index(1)->ec_ndata, 6);
}

Test(policy, unreadable_file, .fini = cleanup)
{
	char err[256];

	cr_assert_eq(policy_load("/nonexistent/kumo.conf", err, sizeof(err)),
		     -ENOENT);
	cr_assert_eq(policy_count(), 1);
}
