# tests/lib/objectd.sh: helpers for the kumo-objectd integration tests
# (10N): start and stop one object server over devices d1 and d2, make
# timestamps, check statuses. Source after functions.sh.

# pending: the async_pending records (failed container updates) saved
# under start_objectd's devices, one path a line
pending() {
	find "$TMPDIR_TEST/srv" -path '*async_pending*' -type f | grep -v '\.tmp' || true
}

# start_objectd: run kumo-objectd on a free port over devices d1 and d2 in
# $TMPDIR_TEST/srv; sets OBJ_PORT, OBJ_URL (http://127.0.0.1:PORT), OBJ_PID.
# OBJ_EXTRA_CONF, when set, is appended to the config (e.g. storage
# policies' [storage-policy:N] sections).
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
${OBJ_EXTRA_CONF:-}
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

# fake_container PORT LOG [PROTO]: a container server that records each
# request as one JSON line (with "conn", the client's port: its
# connection); answers 503 for container "broken", else 201/204. PROTO
# HTTP/1.1 keeps connections (default HTTP/1.0: closed after each answer),
# but for a path holding "/close-after/", after whose answer it closes its
# end (as an idle timeout would).
fake_container() {
	$PYTHON - "$1" "$2" "${3:-HTTP/1.0}" <<'PY' &
import http.server, json, sys
port, log, proto = int(sys.argv[1]), sys.argv[2], sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = proto
    def handle_one(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        with open(log, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path,
                                "headers": dict(self.headers),
                                "conn": self.client_address[1]}) + "\n")
        code = 503 if "/broken/" in self.path else (
            201 if self.command == "PUT" else 204)
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()
        if "/close-after/" in self.path:
            self.close_connection = True
    do_PUT = do_DELETE = handle_one
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
	FAKE_PID=$!
	cleanup_fn "kill $FAKE_PID 2>/dev/null"
	local i
	for i in $(seq 50); do
		curl -s -o /dev/null -X DELETE "http://127.0.0.1:$1/x/0/ping/ping/ping" && return 0
		sleep 0.1
	done
	fail "fake container server did not start"
}

# kumo_body FILE: 1 MiB of "kumo\n" repeated into FILE; sets BODY_MD5 and
# BODY_XXH, its XXH3-128 (canonical hex, computed once with libxxhash's
# XXH3_128bits, as objclient.c and the proxy send it), and BAD_HASH, 32 hex
# digits that are neither.
kumo_body() {
	$PYTHON -c "import sys; sys.stdout.write(('kumo\\n' * 209716)[:1 << 20])" \
		>"$1"
	BODY_MD5=$(md5sum <"$1" | cut -d' ' -f1)
	BODY_XXH=ae054b69340d27addb7e02f3f3124a9a
	BAD_HASH=0123456789abcdef0123456789abcdef
}
