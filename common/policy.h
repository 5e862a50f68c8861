/*
 * common/policy.h: the cluster's storage policies, as Swift's
 * swift/common/storage_policy.py POLICIES, read from the
 * [storage-policy:N] sections of the file that holds [swift-hash] (each
 * daemon's config file; swift.conf in Swift):
 *
 *   [storage-policy:0]
 *   name = gold
 *   aliases = yellow, orange
 *   default = yes
 *   [storage-policy:1]
 *   name = ec42
 *   policy_type = erasure_coding
 *   ec_type = liberasurecode_rs_vand
 *   ec_num_data_fragments = 4
 *   ec_num_parity_fragments = 2
 *   ec_object_segment_size = 1048576
 *
 * Validated as Swift's parse_storage_policies and StoragePolicyCollection:
 * names of [A-Za-z0-9-] unique without case across every name and alias,
 * "Policy-0" kept for index 0, policy 0 present whenever any policy is
 * given (and implied, as Swift's legacy Policy-0, when none is), exactly
 * one default (a lone policy is the default), a deprecated policy neither
 * the default nor the only one, unknown options refused, EC policies with
 * a known and loadable ec_type and positive fragment counts and segment
 * size. Each policy has its own object ring (object.ring.gz for 0,
 * object-N.ring.gz for N, see cluster.h) and its own object folder on
 * every device (objects, objects-N).
 *
 * The table is process-wide: policy_load installs it once at startup,
 * before threads start (daemon_main does); afterwards it is read-only.
 * The proxy maps client names (X-Storage-Policy) to indexes and back;
 * the container server checks the indexes it is given; the account
 * server names its per-policy stats headers.
 */
#ifndef KUMO_COMMON_POLICY_H
#define KUMO_COMMON_POLICY_H

#include <stddef.h>

/* Most policies one cluster configures. */
#define POLICY_MAX 32
/* Most names (the name and its aliases) of one policy. */
#define POLICY_MAX_NAMES 16

enum policy_type {
	POLICY_REPLICATION = 0,
	POLICY_ERASURE_CODING,
};

/* One storage policy. */
struct storage_policy {
	int index;
	const char *name;    /* the first of names[] */
	const char *aliases; /* every name, ", "-joined (Swift's info) */
	const char *names[POLICY_MAX_NAMES];
	int nnames;
	int is_default;
	int deprecated;
	enum policy_type type;
	/* erasure_coding only */
	const char *ec_type;
	int ec_ndata;		   /* ec_num_data_fragments (k) */
	int ec_nparity;		   /* ec_num_parity_fragments (m) */
	long long ec_segment_size; /* ec_object_segment_size */
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

/* The policy of a name or alias, compared without case as Swift's
 * get_by_name, else NULL (NULL name included). */
const struct storage_policy *policy_by_name(const char *name);

/* "policy_type" as Swift writes it: "replication" or "erasure_coding". */
const char *policy_type_name(const struct storage_policy *sp);

/*
 * Read the [storage-policy:N] sections of the INI file at path, check
 * them (see the top comment) and make them the process's table. No such
 * section: the table is Swift's legacy one (Policy-0, replicated). Call
 * before threads start. 0, or -EINVAL (a bad policy: err names it and
 * the rule, as Swift's PolicyError) / -errno (unreadable file), the table
 * unchanged.
 */
int policy_load(const char *path, char *err, size_t errlen);

/* Back to the legacy table (Policy-0 only). For tests; no thread may be
 * using the table. */
void policy_reset(void);

/* The object folder of a policy on a device: "objects" for 0, else
 * "objects-<index>" (Swift's get_data_dir), into out. */
void policy_data_dir(int index, char *out, size_t outlen);

#endif
