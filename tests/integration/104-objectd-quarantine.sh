#!/bin/bash
# tests/integration/104-objectd-quarantine.sh: kumo-objectd never serves a corrupt body whole: a byte flipped on disk makes the GET cut the connection (curl fails, short body) and moves the object to quarantined/objects/<hash>; a broken footer is quarantined at open (404).
. "$(dirname "$0")/../lib/functions.sh"
requires curl md5sum kumo-objectd

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
head -c $((3 * 1024 * 1024 + 17)) /dev/urandom >"$TMPDIR_TEST/body"
size=$(stat -c %s "$TMPDIR_TEST/body")

# flip one byte of the body at offset $2 of object $1
flip() {
	$PYTHON - "$1" "$2" <<'PY'
import sys
path, off = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(off)
    b = f.read(1)
    f.seek(off)
    f.write(bytes([b[0] ^ 0xff]))
PY
}

for off in 12345 $((size - 1)); do
	O=/d1/9/a/c/obj$off
	h=$(printf '/a/c/obj%skumotest' "$off" | md5sum | cut -d' ' -f1)
	expect_status 201 PUT $O -H "X-Timestamp: $(now_ts)" \
		-H "Content-Type: text/plain" --data-binary @"$TMPDIR_TEST/body"
	data=$(ls "$D"/d1/objects/9/"${h: -3}"/"$h"/*.data)
	flip "$data" "$off"
	# a range read does not cover the whole body: served as is
	expect_status 206 GET $O -H "Range: bytes=0-9"
	rc=0
	curl -s -o "$TMPDIR_TEST/got" "$OBJ_URL$O" || rc=$?
	[ "$rc" -ne 0 ] || fail "corrupt GET at $off: curl exited 0"
	got=$(stat -c %s "$TMPDIR_TEST/got")
	[ "$got" -lt "$size" ] || fail "corrupt body at $off served whole"
	[ -d "$D/d1/quarantined/objects/$h" ] || fail "not quarantined"
	ls "$D/d1/quarantined/objects/$h/"*.data >/dev/null || fail "no .data in quarantine"
	[ ! -e "$D/d1/objects/9/${h: -3}/$h" ] || fail "hash dir still there"
	expect_status 404 GET $O
done

# a damaged footer: quarantined when opened
O=/d1/9/a/c/footer
h=$(printf '/a/c/footerkumotest' | md5sum | cut -d' ' -f1)
expect_status 201 PUT $O -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: text/plain" --data-binary "small body"
data=$(ls "$D"/d1/objects/9/"${h: -3}"/"$h"/*.data)
flip "$data" $(($(stat -c %s "$data") - 5))
expect_status 404 HEAD $O
[ -d "$D/d1/quarantined/objects/$h" ] || fail "footer: not quarantined"
# a second quarantine of the same hash does not clash
expect_status 201 PUT $O -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: text/plain" --data-binary "small body"
data=$(ls "$D"/d1/objects/9/"${h: -3}"/"$h"/*.data)
truncate -s 5 "$data"
expect_status 404 GET $O
[ "$(ls -d "$D/d1/quarantined/objects/$h"* | wc -l)" -eq 2 ] ||
	fail "second quarantine: $(ls "$D/d1/quarantined/objects")"

stop_objectd
echo PASS
