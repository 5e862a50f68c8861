#!/bin/bash
# tests/integration/105-objectd-client-disconnect.sh: kumo-objectd: a client that goes away in the middle of an upload (Content-Length or chunked) leaves no object and no temp file, and an older object of that name stays readable.
. "$(dirname "$0")/../lib/functions.sh"
requires curl kumo-objectd

# start_objectd: run kumo-objectd on a free port over devices d1 and d2 in
# $TMPDIR_TEST/srv; sets OBJ_PORT, OBJ_URL (http://127.0.0.1:PORT), OBJ_PID.
start_objectd() {
	OBJ_PORT=$(pick_unused_port)
	OBJ_URL=http://127.0.0.1:$OBJ_PORT
	mkdir -p "$TMPDIR_TEST/srv/d1" "$TMPDIR_TEST/srv/d2"
	cat >"$TMPDIR_TEST/object.conf" <<CONF
[swift-hash]
swift_hash_path_suffix = kumotest
[object-server]
bind_port = $OBJ_PORT
devices = $TMPDIR_TEST/srv
updater_interval = ${OBJ_UPDATER_INTERVAL:-3600}
conn_timeout = 0.5
node_timeout = 2
CONF
	kumo-objectd "$TMPDIR_TEST/object.conf" \
		--pidfile "$TMPDIR_TEST/objectd.pid" \
		2>>"$TMPDIR_TEST/objectd.log" &
	OBJ_PID=$!
	cleanup_fn "kill -9 $OBJ_PID 2>/dev/null"
	local i
	for i in $(seq 50); do
		curl -sf "$OBJ_URL/healthcheck" >/dev/null 2>&1 && return 0
		kill -0 "$OBJ_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$TMPDIR_TEST/objectd.log" >&2
	fail "kumo-objectd did not come up"
}

# stop_objectd: SIGTERM; fail unless it exits 0 within 5 s and removes
# its pidfile.
stop_objectd() {
	local i rc=0
	kill -TERM "$OBJ_PID"
	for i in $(seq 50); do
		kill -0 "$OBJ_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$OBJ_PID" 2>/dev/null && fail "kumo-objectd lingers after SIGTERM"
	wait "$OBJ_PID" || rc=$?
	[ "$rc" -eq 0 ] || fail "kumo-objectd exited $rc after SIGTERM"
	[ ! -e "$TMPDIR_TEST/objectd.pid" ] || fail "pidfile left behind"
}

# now_ts: a Swift timestamp for now, plus $1 seconds (default 0).
now_ts() {
	$PYTHON -c "import time,sys; print('%016.5f' % (time.time() + float(sys.argv[1])))" "${1:-0}"
}

# status METHOD PATH [curl args...]: print the HTTP status.
status() {
	local m=$1 p=$2
	shift 2
	if [ "$m" = HEAD ]; then
		curl -s -I -o /dev/null -w '%{http_code}' "$@" "$OBJ_URL$p"
	else
		curl -s -o /dev/null -w '%{http_code}' -X "$m" "$@" "$OBJ_URL$p"
	fi
}

# expect_status WANT METHOD PATH [curl args...]
expect_status() {
	local want=$1 got
	shift
	got=$(status "$@") || true
	[ "$got" = "$want" ] || fail "$1 $2: status $got, expected $want"
}

start_objectd
D=$TMPDIR_TEST/srv

# send_half PATH MODE: PUT with half the body, then close the socket
send_half() {
	$PYTHON - "$OBJ_PORT" "$1" "$2" "$(now_ts)" <<'PY'
import socket, sys, time
port, path, mode, ts = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
s = socket.create_connection(("127.0.0.1", port))
total = 4 * 1024 * 1024
hdr = "PUT %s HTTP/1.1\r\nHost: x\r\nX-Timestamp: %s\r\nContent-Type: text/plain\r\n" % (path, ts)
if mode == "length":
    hdr += "Content-Length: %d\r\n\r\n" % total
    s.sendall(hdr.encode())
    s.sendall(b"a" * (total // 2))
else:
    hdr += "Transfer-Encoding: chunked\r\n\r\n"
    s.sendall(hdr.encode())
    for _ in range(32):
        s.sendall(b"10000\r\n" + b"b" * 0x10000 + b"\r\n")
time.sleep(0.3)  # let the server write part of it
s.close()
PY
}

# wait_tmp_empty: the server noticed and removed its temp file
wait_tmp_empty() {
	local i
	for i in $(seq 50); do
		[ -z "$(ls -A "$D/d1/tmp" 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	fail "temp file left: $(ls -l "$D/d1/tmp")"
}

for mode in length chunked; do
	send_half /d1/4/a/c/half-$mode $mode
	wait_tmp_empty
	expect_status 404 GET /d1/4/a/c/half-$mode
	[ -z "$(find "$D/d1/objects" -name '*.data' 2>/dev/null)" ] ||
		fail "$mode: a .data was left: $(find "$D/d1/objects")"
done

# an existing object survives a failed overwrite
expect_status 201 PUT /d1/4/a/c/keep -H "X-Timestamp: $(now_ts -10)" \
	-H "Content-Type: text/plain" --data-binary "old body"
send_half /d1/4/a/c/keep length
wait_tmp_empty
[ "$(curl -s "$OBJ_URL/d1/4/a/c/keep")" = "old body" ] || fail "old object lost"
[ "$(find "$D/d1/objects" -name '*.data' | wc -l)" -eq 1 ] || fail "extra .data"

# the server is still healthy
[ "$(curl -s "$OBJ_URL/healthcheck")" = OK ] || fail "server unhealthy"
stop_objectd
echo PASS
