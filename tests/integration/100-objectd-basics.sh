#!/bin/bash
# tests/integration/100-objectd-basics.sh: kumo-objectd's sample config matches --sample; /healthcheck; 405 for unknown methods; 400 for bad paths and names over Swift's limits; 507 for an unknown device; SIGTERM exits 0 and removes the pidfile.
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

# the sample documents every key of the table
diff -u "$TOP_DIR/etc/object-server.conf-sample" <(kumo-objectd --sample) ||
	fail "etc/object-server.conf-sample differs from kumo-objectd --sample"

start_objectd
[ "$(curl -s "$OBJ_URL/healthcheck")" = OK ] || fail "healthcheck not OK"
[ -s "$TMPDIR_TEST/objectd.pid" ] || fail "no pidfile"
[ "$(cat "$TMPDIR_TEST/objectd.pid")" = "$OBJ_PID" ] || fail "pidfile pid"

TS=$(now_ts)
expect_status 405 PATCH /d1/1/a/c/o -H "X-Timestamp: $TS"
expect_status 405 REPLICATE /d1/1
# wrong shapes
expect_status 400 GET /d1/1/a/c
expect_status 400 GET /d1/1/a/c/
expect_status 400 GET /d1/1/a//o
expect_status 400 GET /d1/1//c/o
expect_status 400 GET /d1/../a/c/o
expect_status 400 GET /../1/a/c/o
expect_status 400 GET /d1/1/../c/o
expect_status 400 GET /d1/x1/a/c/o
expect_status 400 GET /d1/1/a/c/o%zz
expect_status 400 GET /d1/1/a/c/o%00
expect_status 412 GET /d1/1/a/c/o%ff
# the message names the problem
body=$(curl -s "$OBJ_URL/d1/1/a/c")
case "$body" in *"Invalid path"*) ;; *) fail "400 body: $body" ;; esac
# names over Swift's limits
long=$(printf 'x%.0s' $(seq 1025))
expect_status 400 PUT "/d1/1/a/c/$long" -H "X-Timestamp: $TS" \
	-H "Content-Type: text/plain" --data-binary x
body=$(curl -s -X PUT -H "X-Timestamp: $TS" -H "Content-Type: text/plain" \
	--data-binary x "$OBJ_URL/d1/1/a/c/$long")
case "$body" in *"longer than 1024"*) ;; *) fail "long name body: $body" ;; esac
expect_status 400 GET "/d1/1/a/$(printf 'c%.0s' $(seq 257))/o"
expect_status 201 PUT "/d1/1/a/c/$(printf 'y%.0s' $(seq 1024))" \
	-H "X-Timestamp: $TS" -H "Content-Type: text/plain" --data-binary x
# unknown device
expect_status 507 PUT /nodev/1/a/c/o -H "X-Timestamp: $TS" \
	-H "Content-Type: text/plain" --data-binary x
expect_status 507 GET /nodev/1/a/c/o
expect_status 507 DELETE /nodev/1/a/c/o -H "X-Timestamp: $TS"
# an object name may hold slashes
expect_status 201 PUT /d1/1/a/c/dir/sub/o -H "X-Timestamp: $TS" \
	-H "Content-Type: text/plain" --data-binary hello
[ "$(curl -s "$OBJ_URL/d1/1/a/c/dir/sub/o")" = hello ] || fail "slashed name"

stop_objectd
grep -q "PUT /d1/1/a/c/dir/sub/o 201" "$TMPDIR_TEST/objectd.log" ||
	fail "no access log line"
echo "PASS"
