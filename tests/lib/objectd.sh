# tests/lib/objectd.sh: helpers for the kumo-objectd integration tests
# (10N): start and stop one object server over devices d1 and d2, make
# timestamps, check statuses. Source after functions.sh.

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
recon_cache_path = $TMPDIR_TEST/recon
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
