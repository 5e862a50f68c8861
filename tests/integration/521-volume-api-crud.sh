#!/bin/bash
# tests/integration/521-volume-api-crud.sh: the volume API of kumo-volumed
# (under kumo-aio) with curl: the version documents, create, list, list
# detail, show, update (name, description, display_name), metadata (show,
# merge, replace, one key: show, set, delete), extend, delete; records
# and usage follow each step.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/volume_api.sh"
requires curl
start_volume_cluster

# version discovery: GET / (300, the list) and GET /v3/ (200)
st=$(curl -s -o "$TMPDIR_TEST/resp" -w '%{http_code}' "http://127.0.0.1:$VOLUME_PORT/")
[ "$st" = 300 ] || fail "GET / gave $st"
[ "$(jr 'j["versions"][0]["id"]')" = v3.0 ] || fail "no v3.0 in GET /"
st=$(curl -s -o "$TMPDIR_TEST/resp" -w '%{http_code}' "http://127.0.0.1:$VOLUME_PORT/v3/")
[ "$st" = 200 ] && [ "$(jr 'j["versions"][0]["status"]')" = CURRENT ] ||
	fail "GET /v3/ gave $st"

vapi GET /volumes
expect_st 200 "empty list"
[ "$(jr 'len(j["volumes"])')" = 0 ] || fail "a new project lists volumes"

id=$(vapi_create '{"volume": {"size": 1, "name": "disk1", "description": "first", "metadata": {"a": "1"}}}')
[ "$(jr 'j["volume"]["status"]')" = available ] || fail "an empty volume is not available at once"
[ "$(jr 'j["volume"]["size"]')" = 1 ] || fail "wrong size"
[ "$(jr 'j["volume"]["links"][0]["href"].endswith("/v3/AUTH_test/volumes/" + j["volume"]["id"])')" = true ] ||
	fail "bad self link"
id2=$(vapi_create '{"volume": {"size": "2"}}')

vapi GET /volumes
expect_st 200 list
[ "$(jr 'sorted(v["id"] for v in j["volumes"]) == sorted(["'"$id"'", "'"$id2"'"])')" = true ] ||
	fail "list: $(cat "$TMPDIR_TEST/resp")"
[ "$(jr '"status" in j["volumes"][0]')" = false ] || fail "the short list shows details"
vapi GET /volumes/detail
expect_st 200 detail
[ "$(jr '{v["id"]: v["size"] for v in j["volumes"]}["'"$id2"'"]')" = 2 ] || fail "detail size"
vapi GET "/volumes/detail?name=disk1"
[ "$(jr '[v["id"] for v in j["volumes"]]')" = "[\"$id\"]" ] || fail "name filter"
vapi GET "/volumes?limit=1"
[ "$(jr 'len(j["volumes"])')" = 1 ] || fail "limit"

vapi GET "/volumes/$id"
expect_st 200 show
[ "$(jr 'j["volume"]["name"]')" = disk1 ] || fail "show name"
[ "$(jr 'j["volume"]["metadata"]')" = '{"a": "1"}' ] || fail "show metadata"
[ "$(jr 'j["volume"]["os-vol-tenant-attr:tenant_id"]')" = AUTH_test ] || fail "tenant"

vapi PUT "/volumes/$id" '{"volume": {"name": "renamed", "description": "d2"}}'
expect_st 200 update
[ "$(jr 'j["volume"]["name"] + "/" + j["volume"]["description"]')" = renamed/d2 ] || fail "update"
vapi PUT "/volumes/$id" '{"volume": {"display_name": "old-style"}}'
expect_st 200 "update with display_name"
[ "$(jr 'j["volume"]["name"]')" = old-style ] || fail "display_name"

# metadata
vapi POST "/volumes/$id/metadata" '{"metadata": {"b": "2"}}'
expect_st 200 "metadata merge"
[ "$(jr 'j["metadata"]')" = '{"a": "1", "b": "2"}' ] || fail "merge: $(cat "$TMPDIR_TEST/resp")"
vapi GET "/volumes/$id/metadata/b"
expect_st 200 "metadata key"
[ "$(jr 'j["meta"]')" = '{"b": "2"}' ] || fail "one key"
vapi PUT "/volumes/$id/metadata/c" '{"meta": {"c": "3"}}'
expect_st 200 "metadata key set"
vapi PUT "/volumes/$id/metadata/c" '{"meta": {"d": "3"}}'
expect_st 400 "metadata key mismatch"
vapi DELETE "/volumes/$id/metadata/a"
expect_st 200 "metadata key delete"
vapi GET "/volumes/$id/metadata/a"
expect_st 404 "deleted key"
vapi GET "/volumes/$id/metadata"
[ "$(jr 'j["metadata"]')" = '{"b": "2", "c": "3"}' ] || fail "after delete: $(cat "$TMPDIR_TEST/resp")"
vapi PUT "/volumes/$id/metadata" '{"metadata": {"z": "9"}}'
expect_st 200 "metadata replace"
vapi GET "/volumes/$id"
[ "$(jr 'j["volume"]["metadata"]')" = '{"z": "9"}' ] || fail "replace"

# extend: only growth
vapi_action "$id" '{"os-extend": {"new_size": 3}}'
expect_st 202 extend
vapi GET "/volumes/$id"
[ "$(jr 'j["volume"]["size"]')" = 3 ] || fail "extended size"
vapi_action "$id" '{"os-extend": {"new_size": 2}}'
expect_st 400 "shrink"

vapi GET /limits
expect_st 200 limits
[ "$(jr 'j["limits"]["absolute"]["totalVolumesUsed"]')" = 2 ] || fail "volumes used"
[ "$(jr 'j["limits"]["absolute"]["totalGigabytesUsed"]')" = 5 ] || fail "gigabytes used: $(cat "$TMPDIR_TEST/resp")"

vapi DELETE "/volumes/$id"
expect_st 202 delete
vapi GET "/volumes/$id"
expect_st 404 "deleted volume"
[ "$(jr 'j["itemNotFound"]["code"]')" = 404 ] || fail "404 body"
vapi DELETE "/volumes/$id2"
expect_st 202 delete2
vapi GET /volumes/detail
[ "$(jr 'len(j["volumes"])')" = 0 ] || fail "volumes left"
vapi GET /limits
[ "$(jr 'j["limits"]["absolute"]["totalGigabytesUsed"]')" = 0 ] || fail "usage not released"
