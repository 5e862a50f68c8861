#!/bin/bash
# tests/integration/525-volume-quotas.sh: quotas per project (kumo-aio's
# defaults: 10 volumes, 10 snapshots, 1000 GiB): a volume, a snapshot or
# an extension past the gigabytes, and an 11th volume, are refused with
# 413 overLimit and make nothing; limits and os-quota-sets show the
# usage; another project's usage is its own; deleting gives room back.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/volume_api.sh"
requires curl
start_volume_cluster

vapi POST /volumes '{"volume": {"size": 1001}}'
expect_st 413 "a volume past the gigabytes"
[ "$(jr 'j["overLimit"]["code"]')" = 413 ] || fail "413 body"
[ "$(jr '"gigabytes" in j["overLimit"]["message"]')" = true ] || fail "413 message"

big=$(vapi_create '{"volume": {"size": 990}}')
vapi POST /snapshots '{"snapshot": {"volume_id": "'"$big"'"}}'
expect_st 413 "a snapshot past the gigabytes"
vapi_action "$big" '{"os-extend": {"new_size": 1001}}'
expect_st 413 "an extension past the gigabytes"
vapi_action "$big" '{"os-extend": {"new_size": 991}}'
expect_st 202 "an extension within the gigabytes"
for i in $(seq 2 10); do
	vapi_create '{"volume": {"size": 1}}' >/dev/null
done
vapi POST /volumes '{"volume": {"size": 1}}'
expect_st 413 "an 11th volume"
[ "$(jr '"volumes" in j["overLimit"]["message"]')" = true ] || fail "volume limit message"

vapi GET /limits
expect_st 200 limits
[ "$(jr 'j["limits"]["absolute"]["totalVolumesUsed"]')" = 10 ] || fail "volumes used"
[ "$(jr 'j["limits"]["absolute"]["totalGigabytesUsed"]')" = 1000 ] || fail "gigabytes used"
[ "$(jr 'j["limits"]["absolute"]["maxTotalVolumes"]')" = 10 ] || fail "max volumes"
vapi GET "/os-quota-sets/AUTH_test?usage=True"
expect_st 200 "quota set"
[ "$(jr 'j["quota_set"]["gigabytes"]["in_use"]')" = 1000 ] || fail "quota usage"
[ "$(jr 'j["quota_set"]["volumes"]["limit"]')" = 10 ] || fail "quota limit"
vapi GET /os-quota-sets/AUTH_test/defaults
expect_st 200 "quota defaults"
[ "$(jr 'j["quota_set"]["snapshots"]')" = 10 ] || fail "quota default"
vapi GET /os-quota-sets/AUTH_test2
expect_st 403 "another project's quotas"

# another project is not charged for these
other=$(vapi_token test2:tester2 testing2)
VAPI=http://127.0.0.1:$VOLUME_PORT/v3/AUTH_test2
TOKEN=$other
vapi_create '{"volume": {"size": 5}}' >/dev/null
vapi GET /limits
[ "$(jr 'j["limits"]["absolute"]["totalGigabytesUsed"]')" = 5 ] || fail "test2's usage"

VAPI=http://127.0.0.1:$VOLUME_PORT/v3/AUTH_test
TOKEN=$(vapi_token test:tester testing)
vapi DELETE "/volumes/$big"
expect_st 202 "delete the big one"
vapi_create '{"volume": {"size": 100}}' >/dev/null
vapi GET /limits
[ "$(jr 'j["limits"]["absolute"]["totalGigabytesUsed"]')" = 109 ] || fail "usage after delete"
