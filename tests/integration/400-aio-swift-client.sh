#!/bin/bash
# 400-aio-swift-client: the main job. kumo-aio starts a whole cluster, and
# the real swift client uses it as it would use OpenStack Swift: stat,
# upload, list, download (bytes equal), delete. A restart keeps the data;
# SIGTERM stops every daemon.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
requires curl md5sum /usr/bin/swift

start_cluster
$SWIFT stat >"$TMPDIR_TEST/stat" || fail "swift stat failed"
grep -q "Account: AUTH_test" "$TMPDIR_TEST/stat" || fail "no account in stat"

head -c 5000000 /dev/urandom >"$TMPDIR_TEST/blob"
cd "$TMPDIR_TEST"
$SWIFT upload photos blob >/dev/null || fail "upload failed"
$SWIFT list photos | grep -qx blob || fail "blob is not listed"
$SWIFT download photos blob -o "$TMPDIR_TEST/back" >/dev/null ||
	fail "download failed"
cmp "$TMPDIR_TEST/blob" "$TMPDIR_TEST/back" || fail "downloaded bytes differ"

# a restart keeps the data
restart_cluster
rm -f "$TMPDIR_TEST/back"
$SWIFT download photos blob -o "$TMPDIR_TEST/back" >/dev/null ||
	fail "download after restart failed"
cmp "$TMPDIR_TEST/blob" "$TMPDIR_TEST/back" || fail "bytes differ after restart"

$SWIFT delete photos blob >/dev/null || fail "delete failed"
if $SWIFT list photos | grep -qx blob; then
	fail "blob still listed after delete"
fi
echo "400-aio-swift-client: ok"
