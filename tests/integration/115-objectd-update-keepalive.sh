#!/bin/bash
# tests/integration/115-objectd-update-keepalive.sh: a PUT's container
# update (common/keepconn.c) is one send and one receive on a keep-alive
# connection kept between updates, seen through strace: no poll, no new
# connection for the next PUT. A container server that closed its end of
# the idle connection meanwhile (its keep-alive timeout) still gets the
# next update, over a new connection, and no async_pending record is
# saved; an HTTP/1.0 server (closes after each answer) gets every update
# too. The container sees the update's path and headers as before.
. "$(dirname "$0")/../lib/functions.sh"
requires curl strace kumo-objectd

. "$(dirname "$0")/../lib/objectd.sh"

LOG=$TMPDIR_TEST/cont.log

# cont PORT PROTO: fake_container on PORT speaking PROTO, its log emptied
cont() {
	fake_container "$1" "$LOG" "$2"
	: >"$LOG"
}

start_objectd
CPORT=$(pick_unused_port)
cont "$CPORT" HTTP/1.1
C=(-H "X-Container-Host: 127.0.0.1:$CPORT" -H "X-Container-Device: sdc"
	-H "X-Container-Partition: 12")
# put NAME: a PUT of /d1/3/acc/con/NAME that must answer 201
put() {
	expect_status 201 PUT "/d1/3/acc/con/$1" -H "X-Timestamp: $(now_ts)" \
		-H "Content-Type: text/x-kumo" -H "X-Trans-Id: tx-$1" \
		--data-binary "hello" "${C[@]}"
}

TRACE=$TMPDIR_TEST/trace
strace_attach "$OBJ_PID" "$TRACE" -e trace=poll,ppoll,connect,sendto,recvfrom
put "o%201"
put o2
put o3
kill "$STRACE_PID"
wait "$STRACE_PID" 2>/dev/null || true

[ "$(wc -l <"$LOG")" = 3 ] || fail "the container got: $(cat "$LOG")"
$PYTHON - "$LOG" "$CPORT" <<'PY' || fail "updates: $(cat "$LOG")"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
assert [r["path"] for r in reqs] == ["/sdc/12/acc/con/o%201",
    "/sdc/12/acc/con/o2", "/sdc/12/acc/con/o3"], reqs
assert len({r["conn"] for r in reqs}) == 1, "not one connection: %r" % reqs
h = {k.lower(): v for k, v in reqs[0]["headers"].items()}
assert h["x-size"] == "5" and h["x-content-type"] == "text/x-kumo", h
assert h["x-etag"] == "5d41402abc4b2a76b9719d911017c592", h
assert h["x-trans-id"] == "tx-o%201", h
assert h["host"] == "127.0.0.1:" + sys.argv[2], h
assert h["x-backend-storage-policy-index"] == "0", h
assert h["user-agent"].startswith("object-server "), h
PY
# one connect in all (the first update, its wait the one poll); each
# update one send, one receive
n=$(grep -c "connect(" "$TRACE" || true)
[ "$n" = 1 ] || fail "$n connects for three updates: $(cat "$TRACE")"
n=$(grep -Ec "(poll|ppoll)\(" "$TRACE" || true)
[ "$n" -le 1 ] || fail "$n polls, expected the first connect's alone: $(cat "$TRACE")"
n=$(grep -c "sendto([0-9]*, \"PUT /sdc/12/" "$TRACE" || true)
[ "$n" = 3 ] || fail "$n update sends, expected 3: $(cat "$TRACE")"
[ -z "$(pending)" ] || fail "records saved: $(pending)"

# the server closes its end after an answer: the next update on that
# pooled connection fails before any answer and goes again on a new one
: >"$LOG"
put close-after
sleep 0.5
put after-close
[ "$(wc -l <"$LOG")" = 2 ] || fail "after a close, the container got: $(cat "$LOG")"
grep -q '"/sdc/12/acc/con/after-close"' "$LOG" || fail "lost: $(cat "$LOG")"
[ -z "$(pending)" ] || fail "a closed idle connection saved a record: $(pending)"

# an HTTP/1.0 server: no connection kept, every update still answered
kill "$FAKE_PID"
wait "$FAKE_PID" 2>/dev/null || true
CPORT=$(pick_unused_port)
C=(-H "X-Container-Host: 127.0.0.1:$CPORT" -H "X-Container-Device: sdc"
	-H "X-Container-Partition: 12")
cont "$CPORT" HTTP/1.0
put h1
put h2
[ "$(wc -l <"$LOG")" = 2 ] || fail "HTTP/1.0 container got: $(cat "$LOG")"
[ -z "$(pending)" ] || fail "HTTP/1.0 answers saved records: $(pending)"
stop_objectd
echo "115-objectd-update-keepalive: ok"
