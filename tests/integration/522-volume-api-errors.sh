#!/bin/bash
# tests/integration/522-volume-api-errors.sh: the volume API refuses, with
# Cinder's error bodies, what it must: no token or a bad one (401),
# another account's project (403), a project's volume seen from another
# project (404: invisible), unknown ids and paths (404), a wrong method
# (405), malformed JSON and bad fields (400), a body too large (413), an
# unknown action (400); and it stays up.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/volume_api.sh"
requires curl
start_volume_cluster

id=$(vapi_create '{"volume": {"size": 1, "name": "mine"}}')

good=$TOKEN
TOKEN=""
vapi GET /volumes
expect_st 401 "no token"
[ "$(jr 'j["unauthorized"]["code"]')" = 401 ] || fail "401 body"
TOKEN=AUTH_tk0123456789abcdef0123456789abcdef
vapi GET /volumes
expect_st 401 "a made-up token"
TOKEN=$good

# test2's token for AUTH_test, test's token for AUTH_test2: forbidden
VAPI=http://127.0.0.1:$VOLUME_PORT/v3/AUTH_test2
vapi GET /volumes
expect_st 403 "test's token on AUTH_test2"
TOKEN=$(vapi_token test2:tester2 testing2)
vapi GET /volumes
expect_st 200 "test2's own project"
[ "$(jr 'len(j["volumes"])')" = 0 ] || fail "test2 sees test's volumes"
vapi GET "/volumes/$id"
expect_st 404 "test's volume from AUTH_test2"
vapi DELETE "/volumes/$id"
expect_st 404 "deleting test's volume from AUTH_test2"
vapi_action "$id" '{"os-reserve": {}}'
expect_st 404 "reserving test's volume from AUTH_test2"
VAPI=http://127.0.0.1:$VOLUME_PORT/v3/AUTH_test
vapi GET /volumes
expect_st 403 "test2's token on AUTH_test"
TOKEN=$good

vapi GET /volumes/00000000-0000-4000-8000-000000000000
expect_st 404 "unknown id"
vapi GET /volumes/not-a-uuid
expect_st 404 "malformed id"
vapi GET /volumes/../../etc/passwd
expect_st 404 "dot segments"
vapi GET /no-such-thing
expect_st 404 "unknown collection"
vapi DELETE /volumes
expect_st 405 "DELETE on the collection"
[ "$(jr 'j["badMethod"]["code"]')" = 405 ] || fail "405 body"

vapi POST /volumes '{"volume": {"size": 1'
expect_st 400 "truncated JSON"
[ "$(jr 'j["badRequest"]["code"]')" = 400 ] || fail "400 body"
vapi POST /volumes '[1, 2]'
expect_st 400 "not an object"
vapi POST /volumes '{"size": 1}'
expect_st 400 "no volume element"
vapi POST /volumes '{"volume": {"size": 0}}'
expect_st 400 "size 0"
vapi POST /volumes '{"volume": {"size": -3}}'
expect_st 400 "negative size"
vapi POST /volumes '{"volume": {"size": "x"}}'
expect_st 400 "size not a number"
vapi POST /volumes '{"volume": {}}'
expect_st 400 "no size"
vapi POST /volumes '{"volume": {"size": 1, "metadata": {"k": 5}}}'
expect_st 400 "metadata value not a string"
vapi POST /volumes '{"volume": {"size": 1, "name": 7}}'
expect_st 400 "name not a string"
vapi POST /volumes '{"volume": {"size": 1, "snapshot_id": "00000000-0000-4000-8000-000000000000"}}'
expect_st 404 "unknown snapshot"
vapi_action "$id" '{"os-frobnicate": {}}'
expect_st 400 "unknown action"
vapi_action "$id" '{"os-extend": {"new_size": "big"}}'
expect_st 400 "bad new_size"
vapi_action "$id" '{"os-initialize_connection": {}}'
expect_st 400 "initialize without a reservation or connector"

head -c 100000 /dev/zero | tr '\0' ' ' >"$TMPDIR_TEST/big"
st=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "X-Auth-Token: $TOKEN" \
	-H 'Content-Type: application/json' --data-binary @"$TMPDIR_TEST/big" "$VAPI/volumes")
[ "$st" = 413 ] || fail "a 100 kB body gave $st"

# still up, and nothing was made by the refused requests
vapi GET /volumes
expect_st 200 "list after the bad requests"
[ "$(jr 'len(j["volumes"])')" = 1 ] || fail "refused requests made volumes"
