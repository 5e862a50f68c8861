#!/bin/bash
# tests/integration/527-volume-openstack-cli.sh: the openstack CLI's
# volume commands (python3-openstackclient 6.0, cinderclient under it)
# against kumo-volumed, authenticated by a proxy token through the
# admin_token plugin with the volume endpoint given: volume create (with
# properties, from a snapshot), list, show, set (name,
# property, size), unset, snapshot create/set/delete, limits,
# volume delete. Not covered: quota show (it looks the project up in
# Keystone) and create --image (it asks Glance).
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/volume_api.sh"
requires /usr/bin/openstack curl
start_volume_cluster

os() {
	timeout 60 /usr/bin/openstack --os-auth-type admin_token \
		--os-endpoint "$VAPI" --os-token "$TOKEN" \
		--os-volume-api-version 3 "$@"
}

os volume create --size 1 --description "made by the CLI" \
	--property role=db cli-vol -f json >"$TMPDIR_TEST/resp" ||
	fail "volume create"
vid=$(jr 'j["id"]')
[ "$(jr 'j["status"]')" = available ] || fail "created volume status"

os volume list -f value -c Name | grep -qx cli-vol || fail "volume list"
os volume show cli-vol -f json >"$TMPDIR_TEST/resp" || fail "volume show by name"
[ "$(jr 'j["id"]')" = "$vid" ] || fail "show by name found another"
[ "$(jr 'j["properties"]["role"]')" = db ] || fail "property"

os volume set --name cli-vol2 --property tier=gold --size 2 "$vid" ||
	fail "volume set"
os volume unset --property role "$vid" || fail "volume unset"
vapi GET "/volumes/$vid"
[ "$(jr 'j["volume"]["name"]')" = cli-vol2 ] || fail "renamed"
[ "$(jr 'j["volume"]["size"]')" = 2 ] || fail "extended"
[ "$(jr 'j["volume"]["metadata"]')" = '{"tier": "gold"}' ] || fail "properties after set/unset"

os volume snapshot create --volume "$vid" cli-snap -f json >"$TMPDIR_TEST/resp" ||
	fail "snapshot create"
sid=$(jr 'j["id"]')
os volume snapshot set --name cli-snap2 "$sid" || fail "snapshot set"
vapi GET "/snapshots/$sid"
[ "$(jr 'j["snapshot"]["name"]')" = cli-snap2 ] || fail "snapshot renamed"

os volume create --snapshot "$sid" from-snap -f json >"$TMPDIR_TEST/resp" ||
	fail "volume create --snapshot"
[ "$(jr 'j["size"]')" = 2 ] || fail "size from the snapshot"

os limits show --absolute -f json >"$TMPDIR_TEST/resp" || fail "limits show"
[ "$(jr '{r["Name"]: r["Value"] for r in j}["totalVolumesUsed"]')" = 2 ] ||
	fail "limits: $(cat "$TMPDIR_TEST/resp")"

# refused while a snapshot exists: the CLI reports the 400
os volume delete "$vid" >"$TMPDIR_TEST/out" 2>&1 && fail "delete with a snapshot"
os volume snapshot delete "$sid" || fail "snapshot delete"
os volume delete "$vid" from-snap || fail "volume delete"
vapi GET /volumes
[ "$(jr 'len(j["volumes"])')" = 0 ] || fail "volumes left"
