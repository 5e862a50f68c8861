#!/bin/bash
# tests/integration/523-volume-snapshots.sh: snapshots through the volume
# API: create (of an available volume; of an in-use one only with force),
# list, detail, show, update, metadata; a volume with snapshots cannot be
# deleted (400); volumes from a snapshot and from another volume (sizes
# inherited, or larger); deleting the snapshot, then the volume.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/volume_api.sh"
requires curl
start_volume_cluster

vol=$(vapi_create '{"volume": {"size": 1, "name": "base"}}')
vapi POST /snapshots '{"snapshot": {"volume_id": "'"$vol"'", "name": "s1", "description": "first", "metadata": {"k": "v"}}}'
expect_st 202 "snapshot create"
snap=$(jr 'j["snapshot"]["id"]')
[ "$(jr 'j["snapshot"]["status"]')" = available ] || fail "snapshot status"
[ "$(jr 'j["snapshot"]["volume_id"]')" = "$vol" ] || fail "snapshot volume_id"
[ "$(jr 'j["snapshot"]["size"]')" = 1 ] || fail "snapshot size"

vapi GET /snapshots
expect_st 200 "snapshot list"
[ "$(jr '[s["id"] for s in j["snapshots"]]')" = "[\"$snap\"]" ] || fail "list"
vapi GET /snapshots/detail
[ "$(jr 'j["snapshots"][0]["name"]')" = s1 ] || fail "detail"
vapi PUT "/snapshots/$snap" '{"snapshot": {"name": "s1b"}}'
expect_st 200 "snapshot update"
vapi GET "/snapshots/$snap"
[ "$(jr 'j["snapshot"]["name"] + j["snapshot"]["description"]')" = s1bfirst ] || fail "show"
vapi POST "/snapshots/$snap/metadata" '{"metadata": {"k2": "v2"}}'
expect_st 200 "snapshot metadata"
[ "$(jr 'j["metadata"]')" = '{"k": "v", "k2": "v2"}' ] || fail "snapshot metadata"

vapi DELETE "/volumes/$vol"
expect_st 400 "delete a volume with a snapshot"

# volumes from the snapshot and from the volume
v2=$(vapi_create '{"volume": {"snapshot_id": "'"$snap"'", "name": "from-snap"}}')
[ "$(jr 'j["volume"]["size"]')" = 1 ] || fail "size from the snapshot"
[ "$(jr 'j["volume"]["snapshot_id"]')" = "$snap" ] || fail "snapshot_id shown"
[ "$(vapi_status "$v2")" = available ] || fail "volume from snapshot not available"
v3=$(vapi_create '{"volume": {"source_volid": "'"$vol"'", "size": 2}}')
[ "$(jr 'j["volume"]["source_volid"]')" = "$vol" ] || fail "source_volid shown"
[ "$(vapi_status "$v3")" = available ] || fail "clone not available"
vapi POST /volumes '{"volume": {"snapshot_id": "'"$snap"'", "size": 0}}'
expect_st 400 "a volume smaller than its snapshot"

# an in-use volume needs force
vapi_action "$vol" '{"os-reserve": {}}'
vapi_action "$vol" '{"os-attach": {"instance_uuid": "vm-1", "mountpoint": "/dev/vdb"}}'
expect_st 202 attach
vapi POST /snapshots '{"snapshot": {"volume_id": "'"$vol"'"}}'
expect_st 400 "snapshot of an in-use volume without force"
vapi POST /snapshots '{"snapshot": {"volume_id": "'"$vol"'", "force": true}}'
expect_st 202 "forced snapshot"
snap2=$(jr 'j["snapshot"]["id"]')
vapi_action "$vol" '{"os-detach": {}}'
expect_st 202 detach

vapi GET /limits
[ "$(jr 'j["limits"]["absolute"]["totalSnapshotsUsed"]')" = 2 ] || fail "snapshots used"

for s in "$snap" "$snap2"; do
	vapi DELETE "/snapshots/$s"
	expect_st 202 "snapshot delete"
done
vapi GET "/snapshots/$snap"
expect_st 404 "deleted snapshot"
# the volume made from the snapshot outlives it
[ "$(vapi_status "$v2")" = available ] || fail "from-snap volume after snapshot delete"
for v in "$vol" "$v2" "$v3"; do
	vapi DELETE "/volumes/$v"
	expect_st 202 "volume delete"
done
vapi GET /limits
[ "$(jr 'j["limits"]["absolute"]["totalSnapshotsUsed"]')" = 0 ] || fail "snapshot usage"
[ "$(jr 'j["limits"]["absolute"]["totalGigabytesUsed"]')" = 0 ] || fail "gigabyte usage"
