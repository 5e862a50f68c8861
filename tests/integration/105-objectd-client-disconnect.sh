#!/bin/bash
# tests/integration/105-objectd-client-disconnect.sh: kumo-objectd: a client that goes away in the middle of an upload (Content-Length or chunked) leaves no object and no temp file, and an older object of that name stays readable.
. "$(dirname "$0")/../lib/functions.sh"
requires curl kumo-objectd

. "$(dirname "$0")/../lib/objectd.sh"

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
