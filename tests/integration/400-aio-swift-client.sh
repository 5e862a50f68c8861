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
_stop_aio "$AIO_PID"
kumo-aio --dir "$AIO_DIR" --proxy-port "$PROXY_PORT" \
	>"$TMPDIR_TEST/aio.out" 2>"$TMPDIR_TEST/aio.err" &
AIO_PID=$!
cleanup_fn _stop_aio "$AIO_PID"
for i in $(seq 1 100); do
	curl -sf "http://127.0.0.1:$PROXY_PORT/healthcheck" >/dev/null && break
	sleep 0.1
done
rm -f "$TMPDIR_TEST/back"
$SWIFT download photos blob -o "$TMPDIR_TEST/back" >/dev/null ||
	fail "download after restart failed"
cmp "$TMPDIR_TEST/blob" "$TMPDIR_TEST/back" || fail "bytes differ after restart"

$SWIFT delete photos blob >/dev/null || fail "delete failed"
if $SWIFT list photos | grep -qx blob; then
	fail "blob still listed after delete"
fi
echo "400-aio-swift-client: ok"
