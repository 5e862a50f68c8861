# tests/lib/nbd.sh: block volumes reached over NBD, for the integration
# scripts and bench/volume_nbd.sh. Source after functions.sh and
# cluster.sh, and call start_cluster first (it sets PROXY_PORT and
# VOLUME_PORT). The volume API is driven with curl as Nova would:
#   vol_token              sets TOKEN for test:tester
#   vol_api METHOD PATH [JSON]
#                          the response body of the volume API (PATH after
#                          /v3/AUTH_test); fails on an HTTP error
#   vol_create GIB         prints the id of a new volume once available
#   vol_attach ID          os-reserve, os-initialize_connection, os-attach;
#                          prints the NBD URI of the connection info
#   vol_detach ID          os-detach and os-terminate_connection
#   vol_reconnect ID       after kumo-volumed restarted: the volume is still
#                          in-use; os-initialize_connection again, prints
#                          the NBD URI
#   start_volumed          (multinode.sh clusters) kumo-volumed alone on
#                          $RINGS and $PROXY_URL, on new VOLUME_PORT and
#                          NBD_PORT (the same ports when started again);
#                          PID_volumed its pid; node_timeout
#                          $VOL_NODE_TIMEOUT (default 5)
#   chunk_etag             the ETag a chunk of the bytes on stdin gets: their
#                          XXH3-128 (objectd/etag.c), through libxxhash

vol_token() {
	TOKEN=$(curl -sf -D - -o /dev/null -H 'X-Auth-User: test:tester' \
		-H 'X-Auth-Key: testing' \
		"http://127.0.0.1:$PROXY_PORT/auth/v1.0" |
		tr -d '\r' | awk -F': ' 'tolower($1) == "x-auth-token" {print $2}')
	[ -n "$TOKEN" ] || fail "no token from tempauth"
}

vol_api() {
	local method=$1 path=$2 body=${3:-}
	[ -n "${TOKEN:-}" ] || vol_token
	if [ -n "$body" ]; then
		curl -sS --fail-with-body -m 60 -X "$method" \
			-H "X-Auth-Token: $TOKEN" \
			-H 'Content-Type: application/json' -d "$body" \
			"http://127.0.0.1:$VOLUME_PORT/v3/AUTH_test$path"
	else
		curl -sS --fail-with-body -m 60 -X "$method" \
			-H "X-Auth-Token: $TOKEN" \
			"http://127.0.0.1:$VOLUME_PORT/v3/AUTH_test$path"
	fi
}

# _json EXPR: evaluate EXPR on the JSON document j read from stdin.
_json() {
	$PYTHON -c "import json, sys; j = json.load(sys.stdin); print($1)"
}

vol_create() {
	local id st i
	id=$(vol_api POST /volumes "{\"volume\": {\"size\": $1}}" |
		_json 'j["volume"]["id"]') || fail "volume create failed"
	for i in $(seq 1 300); do
		st=$(vol_api GET "/volumes/$id" | _json 'j["volume"]["status"]')
		[ "$st" = available ] && { echo "$id"; return 0; }
		[ "$st" = error ] && fail "volume $id in error"
		sleep 0.1
	done
	fail "volume $id not available (status $st)"
}

vol_attach() {
	local id=$1 uri
	vol_api POST "/volumes/$id/action" '{"os-reserve": {}}' >/dev/null ||
		fail "os-reserve $id"
	uri=$(vol_api POST "/volumes/$id/action" \
		'{"os-initialize_connection": {"connector": {"host": "test", "initiator": "nbd"}}}' |
		_json 'j["connection_info"]["data"]["export_uri"]') ||
		fail "os-initialize_connection $id"
	vol_api POST "/volumes/$id/action" \
		'{"os-attach": {"host_name": "test", "mountpoint": "/dev/nbd0"}}' \
		>/dev/null || fail "os-attach $id"
	echo "$uri"
}

vol_detach() {
	local id=$1
	vol_api POST "/volumes/$id/action" '{"os-detach": {}}' >/dev/null ||
		fail "os-detach $id"
	vol_api POST "/volumes/$id/action" \
		'{"os-terminate_connection": {"connector": {"host": "test"}}}' \
		>/dev/null || fail "os-terminate_connection $id"
}

vol_reconnect() {
	local id=$1 st
	TOKEN=
	st=$(vol_api GET "/volumes/$id" | _json 'j["volume"]["status"]')
	[ "$st" = in-use ] || fail "volume is $st after the restart, not in-use"
	vol_api POST "/volumes/$id/action" \
		'{"os-initialize_connection": {"connector": {"host": "test"}}}' |
		_json 'j["connection_info"]["data"]["export_uri"]' ||
		fail "os-initialize_connection after the restart"
}

start_volumed() {
	if [ ! -f "$TMPDIR_TEST/volume.conf" ]; then
		VOLUME_PORT=$(pick_unused_port)
		NBD_PORT=$(pick_unused_port)
		cat >"$TMPDIR_TEST/volume.conf" <<EOF
[swift-hash]
swift_hash_path_prefix =
swift_hash_path_suffix = test-suffix

[volume-server]
bind_ip = 127.0.0.1
bind_port = $VOLUME_PORT
swift_dir = $RINGS
proxy_url = $PROXY_URL
conn_timeout = 0.5
node_timeout = ${VOL_NODE_TIMEOUT:-5}
nbd_ip = 127.0.0.1
nbd_port = $NBD_PORT
EOF
	fi
	_start volumed kumo-volumed "$TMPDIR_TEST/volume.conf"
	_wait_health volumed "$VOLUME_PORT"
}

chunk_etag() {
	$PYTHON -c 'import ctypes, sys
class U128(ctypes.Structure):
    _fields_ = [("lo", ctypes.c_uint64), ("hi", ctypes.c_uint64)]
f = ctypes.CDLL("libxxhash.so.0").XXH3_128bits
f.restype = U128
f.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
d = sys.stdin.buffer.read()
r = f(d, len(d))
print("%016x%016x" % (r.hi, r.lo))'
}
