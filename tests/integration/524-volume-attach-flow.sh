#!/bin/bash
# tests/integration/524-volume-attach-flow.sh: the attach state machine of
# the volume API (os-reserve, os-initialize_connection, os-attach,
# os-begin_detaching, os-roll_detaching, os-detach,
# os-terminate_connection, os-unreserve) through Cinder's statuses, with
# the transitions it must refuse; and the NBD export it hands out: served
# to its attachment only (a guessed name is unknown), refused once the
# attachment ends, even on a connection opened before; a new attachment
# gets a new name and sees the data written through the old one.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/volume_api.sh"
requires curl nbdinfo qemu-io
start_volume_cluster

id=$(vapi_create '{"volume": {"size": 1, "name": "boot"}}')
conn='{"connector": {"host": "compute-1", "initiator": "test"}}'

vapi_action "$id" '{"os-attach": {"instance_uuid": "vm-1", "mountpoint": "/dev/vdb"}}'
expect_st 400 "attach before reserve"
vapi_action "$id" "{\"os-initialize_connection\": $conn}"
expect_st 400 "initialize_connection before reserve"

vapi_action "$id" '{"os-reserve": {}}'
expect_st 202 reserve
[ "$(vapi_status "$id")" = reserved ] || fail "not reserved"
vapi_action "$id" '{"os-reserve": {}}'
expect_st 400 "a second reserve"
vapi_action "$id" '{"os-unreserve": {}}'
expect_st 202 unreserve
[ "$(vapi_status "$id")" = available ] || fail "unreserve"

vapi_action "$id" '{"os-reserve": {}}'
vapi_action "$id" "{\"os-initialize_connection\": $conn}"
expect_st 200 initialize_connection
[ "$(jr 'j["connection_info"]["driver_volume_type"]')" = nbd ] || fail "driver type"
uri=$(jr 'j["connection_info"]["data"]["export_uri"]')
name=$(jr 'j["connection_info"]["data"]["export_name"]')
[ "$(jr 'j["connection_info"]["data"]["port"]')" = "$NBD_PORT" ] || fail "NBD port"
[ "$(jr 'j["connection_info"]["data"]["host"]')" = 127.0.0.1 ] || fail "NBD host"
[ "$uri" = "nbd://127.0.0.1:$NBD_PORT/$name" ] || fail "uri $uri"
[ "$(vapi_status "$id")" = attaching ] || fail "not attaching"
# asking again gives the same export
vapi_action "$id" "{\"os-initialize_connection\": $conn}"
[ "$(jr 'j["connection_info"]["data"]["export_name"]')" = "$name" ] ||
	fail "a second initialize_connection changed the export"

size=$(nbdinfo --size "$uri") || fail "nbdinfo on the attached export"
[ "$size" = 1073741824 ] || fail "export size $size"
# the volume id with another secret is not an export
guess="${name%.*}.0123456789abcdef0123456789abcdef"
nbdinfo --size "nbd://127.0.0.1:$NBD_PORT/$guess" >/dev/null 2>&1 &&
	fail "a guessed export name was served"
nbdinfo --size "nbd://127.0.0.1:$NBD_PORT/$id" >/dev/null 2>&1 &&
	fail "the bare volume id was served"

vapi_action "$id" '{"os-attach": {"instance_uuid": "vm-1", "mountpoint": "/dev/vdb"}}'
expect_st 202 attach
vapi GET "/volumes/$id"
[ "$(jr 'j["volume"]["status"]')" = in-use ] || fail "not in-use"
[ "$(jr 'j["volume"]["attachments"][0]["server_id"]')" = vm-1 ] || fail "attachment server"
[ "$(jr 'j["volume"]["attachments"][0]["device"]')" = /dev/vdb ] || fail "attachment device"
vapi DELETE "/volumes/$id"
expect_st 400 "delete while in-use"
vapi_action "$id" '{"os-reserve": {}}'
expect_st 400 "reserve while in-use"

qemu-io -f raw -c 'write -P 0xa5 1M 128k' -c 'flush' "$uri" >/dev/null ||
	fail "write through the export"
qemu-io -f raw -c 'read -P 0xa5 1M 128k' "$uri" | grep -q '^read 131072' ||
	fail "read back through the export"

vapi_action "$id" '{"os-begin_detaching": {}}'
expect_st 202 begin_detaching
[ "$(vapi_status "$id")" = detaching ] || fail "not detaching"
vapi_action "$id" '{"os-roll_detaching": {}}'
[ "$(vapi_status "$id")" = in-use ] || fail "roll_detaching"

# a connection opened while attached: served, then refused after detach
# (qemu-io reads its commands from a fifo, keeping one NBD connection)
mkfifo "$TMPDIR_TEST/cmds"
qemu-io -f raw "$uri" <"$TMPDIR_TEST/cmds" >"$TMPDIR_TEST/held" 2>&1 &
held=$!
exec 7>"$TMPDIR_TEST/cmds"
echo 'read -P 0xa5 1M 4k' >&7
for _ in $(seq 100); do grep -q 'read 4096/4096' "$TMPDIR_TEST/held" && break; sleep 0.1; done
grep -q 'read 4096/4096' "$TMPDIR_TEST/held" ||
	{ cat "$TMPDIR_TEST/held" >&2; fail "qemu-io did not read through the export"; }

vapi_action "$id" '{"os-begin_detaching": {}}'
vapi_action "$id" '{"os-terminate_connection": {"connector": {"host": "compute-1"}}}'
expect_st 202 terminate_connection
vapi_action "$id" '{"os-detach": {}}'
expect_st 202 detach
echo 'read 1M 4k' >&7
echo 'write -P 0x11 1M 4k' >&7
echo 'quit' >&7
exec 7>&-
timeout 30 tail --pid="$held" -f /dev/null || fail "qemu-io hung"
[ "$(grep -o 'read 4096/4096' "$TMPDIR_TEST/held" | wc -l)" = 1 ] &&
	grep -q 'read failed' "$TMPDIR_TEST/held" &&
	grep -q 'write failed' "$TMPDIR_TEST/held" ||
	{ cat "$TMPDIR_TEST/held" >&2; fail "a connection kept I/O after detach"; }
vapi GET "/volumes/$id"
[ "$(jr 'j["volume"]["status"]')" = available ] || fail "not available after detach"
[ "$(jr 'len(j["volume"]["attachments"])')" = 0 ] || fail "attachments left"
nbdinfo --size "$uri" >/dev/null 2>&1 && fail "the export was served after detach"

# a new attachment: a new name, the same data
vapi_action "$id" '{"os-reserve": {}}'
vapi_action "$id" "{\"os-initialize_connection\": $conn}"
expect_st 200 "second initialize_connection"
uri2=$(jr 'j["connection_info"]["data"]["export_uri"]')
[ "$uri2" != "$uri" ] || fail "a new attachment reused the export name"
qemu-io -f raw -c 'read -P 0xa5 1M 128k' "$uri2" | grep -q '^read 131072' ||
	fail "data lost across attachments"
nbdinfo --size "$uri" >/dev/null 2>&1 && fail "the old export came back"
vapi_action "$id" '{"os-unreserve": {}}'
[ "$(vapi_status "$id")" = available ] || fail "unreserve from attaching"
nbdinfo --size "$uri2" >/dev/null 2>&1 && fail "served after unreserve"

vapi DELETE "/volumes/$id"
expect_st 202 "delete once detached"
