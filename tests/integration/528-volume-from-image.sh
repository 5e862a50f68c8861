#!/bin/bash
# tests/integration/528-volume-from-image.sh: a volume made from an image
# object of the project's account ("imageRef": "container/object"): it is
# "creating" while the object is copied in the background, then
# available and bootable, sized from the image when no size is given; its
# NBD export reads the image back byte for byte (qemu-img compare) with
# zeros after it. A missing or malformed imageRef, or a size smaller than
# the image, is refused.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/volume_api.sh"
requires curl qemu-img
start_volume_cluster

PURL=http://127.0.0.1:$PROXY_PORT/v1/AUTH_test
head -c $((3 * 1024 * 1024 + 4096)) /dev/urandom >"$TMPDIR_TEST/disk.raw"
curl -sf -X PUT -H "X-Auth-Token: $TOKEN" "$PURL/images" >/dev/null ||
	fail "container PUT"
curl -sf -T "$TMPDIR_TEST/disk.raw" -H "X-Auth-Token: $TOKEN" \
	"$PURL/images/disk.raw" >/dev/null || fail "image upload"

vapi POST /volumes '{"volume": {"imageRef": "images/missing.raw"}}'
expect_st 404 "a missing image"
vapi POST /volumes '{"volume": {"imageRef": "no-slash"}}'
expect_st 400 "a malformed imageRef"
vapi POST /volumes '{"volume": {"imageRef": "images/disk.raw", "size": 0}}'
expect_st 400 "size 0 for an image"

id=$(vapi_create '{"volume": {"imageRef": "images/disk.raw", "name": "img"}}')
[ "$(jr 'j["volume"]["size"]')" = 1 ] || fail "size from the image"
st=""
for _ in $(seq 300); do
	st=$(vapi_status "$id")
	[ "$st" = creating ] || break
	sleep 0.1
done
[ "$st" = available ] || fail "the image volume ended $st"
vapi GET "/volumes/$id"
[ "$(jr 'j["volume"]["bootable"]')" = true ] || fail "not bootable"

vapi_action "$id" '{"os-reserve": {}}'
vapi_action "$id" '{"os-initialize_connection": {"connector": {"host": "h"}}}'
expect_st 200 initialize_connection
uri=$(jr 'j["connection_info"]["data"]["export_uri"]')
qemu-img compare -f raw -F raw "$TMPDIR_TEST/disk.raw" "$uri" ||
	fail "the volume differs from its image"
vapi_action "$id" '{"os-unreserve": {}}'
vapi DELETE "/volumes/$id"
expect_st 202 delete
