/*
 * proxy/info.c: GET /info, the cluster's capabilities and limits as
 * Swift's InfoController publishes them (swift/proxy/controllers/info.py):
 * "swift" with the constraints of swift/common/constraints.py and the
 * storage policies (common/policy.h), and one object per middleware
 * ("tempauth"; "slo" and "tempurl" from slo.c's lo_info).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/policy.h"
#include "proxy/internal.h"

/* An erasure-coded policy's parameters, as ECStoragePolicy.get_info. */
static void ec_info(json_t *pol, const struct storage_policy *sp)
{
	json_object_set_new(pol, "ec_type", json_string(sp->ec_type));
	json_object_set_new(pol, "ec_num_data_fragments",
			    json_integer(sp->ec_ndata));
	json_object_set_new(pol, "ec_num_parity_fragments",
			    json_integer(sp->ec_nparity));
	json_object_set_new(pol, "ec_object_segment_size",
			    json_integer(sp->ec_segment_size));
	json_object_set_new(pol, "ec_duplication_factor", json_integer(1));
}

void proxy_info(struct http_request *req, struct proxy_app *app)
{
	const char *m = http_method(req);
	json_t *root = NULL, *swift, *policies, *pol;
	char *body = NULL;
	int i;

	(void)app;
	if (strcmp(m, "GET") && strcmp(m, "HEAD")) {
		http_add_header(req, "Allow", "GET, HEAD, OPTIONS");
		proxy_reply_status(req, 405);
		return;
	}
	swift = json_pack(
		"{s:s, s:I, s:I, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i,"
		" s:i, s:[s,s], s:b, s:b}",
		"version", "2.30.0-kumo", "max_file_size",
		(json_int_t)MAX_FILE_SIZE, "max_header_size",
		(json_int_t)MAX_HEADER_SIZE, "max_object_name_length",
		MAX_OBJECT_NAME_LENGTH, "container_listing_limit",
		CONTAINER_LISTING_LIMIT, "account_listing_limit",
		ACCOUNT_LISTING_LIMIT, "max_meta_count", MAX_META_COUNT,
		"max_meta_name_length", MAX_META_NAME_LENGTH,
		"max_meta_value_length", MAX_META_VALUE_LENGTH,
		"max_meta_overall_size", MAX_META_OVERALL_SIZE,
		"max_container_name_length", MAX_CONTAINER_NAME_LENGTH,
		"max_account_name_length", MAX_ACCOUNT_NAME_LENGTH,
		"extra_header_count", 0, "valid_api_versions", "v1", "v1.0",
		"strict_cors_mode", 1, "allow_account_management", 0);
	if (!swift)
		goto fail;
	policies = json_array();
	for (i = 0; policies && i < policy_count(); i++) {
		const struct storage_policy *sp = policy_at(i);

		/* Swift's StoragePolicy.get_info(config=False), with
		 * policy_type kept (Swift drops it; clients may show it) */
		pol = json_pack("{s:s, s:s, s:s}", "name", sp->name, "aliases",
				sp->aliases, "policy_type",
				policy_type_name(sp));
		if (pol && sp->is_default)
			json_object_set_new(pol, "default", json_true());
		if (pol && sp->deprecated)
			json_object_set_new(pol, "deprecated", json_true());
		if (pol && sp->type == POLICY_ERASURE_CODING)
			ec_info(pol, sp);
		if (pol)
			json_array_append_new(policies, pol);
	}
	json_object_set_new(swift, "policies", policies);
	root = json_pack("{s:o, s:{s:b}}", "swift", swift, "tempauth",
			 "account_acls", 1);
	if (!root || lo_info(root))
		goto fail;
	body = json_dumps(root, JSON_COMPACT);
	if (!body)
		goto fail;
	http_add_header(req, "Content-Type", "application/json; charset=UTF-8");
	http_reply(req, 200, body, strlen(body));
	free(body);
	json_decref(root);
	return;
fail:
	json_decref(root);
	proxy_reply_status(req, 500);
}
