#!/bin/bash
# tests/integration/526-volume-restart.sh: kumo-volumed keeps nothing of
# its own: after the whole cluster restarts, the volumes (names,
# metadata, sizes, statuses), snapshots, quota usage and the attachment
# with its export are all there, the export still serves the data written
# before, and the attach flow goes on (detach, delete).
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/volume_api.sh"
requires curl qemu-io nbdinfo
start_volume_cluster

v1=$(vapi_create '{"volume": {"size": 1, "name": "keep", "metadata": {"x": "1"}}}')
v2=$(vapi_create '{"volume": {"size": 2, "name": "attached"}}')
vapi POST /snapshots '{"snapshot": {"volume_id": "'"$v1"'", "name": "snap"}}'
expect_st 202 snapshot
snap=$(jr 'j["snapshot"]["id"]')
vapi_action "$v2" '{"os-reserve": {}}'
vapi_action "$v2" '{"os-initialize_connection": {"connector": {"host": "h"}}}'
expect_st 200 initialize_connection
uri=$(jr 'j["connection_info"]["data"]["export_uri"]')
vapi_action "$v2" '{"os-attach": {"instance_uuid": "vm-7", "mountpoint": "/dev/vdc"}}'
qemu-io -f raw -c 'write -P 0x3c 0 256k' -c flush "$uri" >/dev/null ||
	fail "write before the restart"

restart_cluster
TOKEN=$(vapi_token test:tester testing)

vapi GET "/volumes/$v1"
expect_st 200 "volume after restart"
[ "$(jr 'j["volume"]["name"] + j["volume"]["metadata"]["x"]')" = keep1 ] ||
	fail "volume record changed: $(cat "$TMPDIR_TEST/resp")"
vapi GET "/volumes/$v2"
[ "$(jr 'j["volume"]["status"]')" = in-use ] || fail "attached volume status"
[ "$(jr 'j["volume"]["attachments"][0]["server_id"]')" = vm-7 ] || fail "attachment lost"
vapi GET "/snapshots/$snap"
expect_st 200 "snapshot after restart"
vapi GET /limits
[ "$(jr 'j["limits"]["absolute"]["totalGigabytesUsed"]')" = 4 ] || fail "usage lost"
[ "$(jr 'j["limits"]["absolute"]["totalSnapshotsUsed"]')" = 1 ] || fail "snapshot usage lost"

# the attachment's export survived with its data
qemu-io -f raw -c 'read -P 0x3c 0 256k' "$uri" | grep -q 'read 262144/262144' ||
	fail "the export or its data did not survive the restart"

vapi_action "$v2" '{"os-detach": {}}'
expect_st 202 "detach after restart"
nbdinfo --size "$uri" >/dev/null 2>&1 && fail "served after detach"
vapi DELETE "/volumes/$v1"
expect_st 400 "delete with a snapshot after restart"
vapi DELETE "/snapshots/$snap"
expect_st 202 "snapshot delete"
for v in "$v1" "$v2"; do
	vapi DELETE "/volumes/$v"
	expect_st 202 "delete after restart"
done
