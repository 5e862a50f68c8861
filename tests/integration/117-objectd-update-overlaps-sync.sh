#!/bin/bash
# tests/integration/117-objectd-update-overlaps-sync.sh: a PUT's container
# update leaves once the object's file has its final name and before the
# sync that makes that name durable (df_writer_commit_then), so that the
# container's sync and the object server's last one overlap; the 201
# still waits for both. Seen through strace of kumo-objectd: rename, then
# the update's send, then a syncfs. A container that answers 503 still
# gets its async_pending record, saved once the object is durable.
. "$(dirname "$0")/../lib/functions.sh"
requires curl strace kumo-objectd

. "$(dirname "$0")/../lib/objectd.sh"

LOG=$TMPDIR_TEST/cont.log

start_objectd
CPORT=$(pick_unused_port)
fake_container "$CPORT" "$LOG" HTTP/1.1
: >"$LOG"
# put CONTAINER NAME: a PUT of /d1/3/acc/CONTAINER/NAME that must answer 201
put() {
	expect_status 201 PUT "/d1/3/acc/$1/$2" -H "X-Timestamp: $(now_ts)" \
		-H "Content-Type: text/plain" --data-binary "hello" \
		-H "X-Container-Host: 127.0.0.1:$CPORT" \
		-H "X-Container-Device: sdc" -H "X-Container-Partition: 12"
}
put con warm # the first update's connect stays out of the trace

TRACE=$TMPDIR_TEST/trace
strace_attach "$OBJ_PID" "$TRACE" -e trace=rename,renameat,renameat2,syncfs,fsync,sendto,sendmsg
put con o1
kill "$STRACE_PID"
wait "$STRACE_PID" 2>/dev/null || true

grep -q '"/sdc/12/acc/con/o1"' "$LOG" || fail "no update: $(cat "$LOG")"
ren=$(grep -n 'rename.*\.data"' "$TRACE" | head -n 1 | cut -d: -f1)
upd=$(grep -n 'send[a-z]*([0-9]*, .*"PUT /sdc/12/acc/con/o1 ' "$TRACE" | head -n 1 | cut -d: -f1)
[ -n "$ren" ] && [ -n "$upd" ] || fail "no rename or no update send: $(cat "$TRACE")"
[ "$ren" -lt "$upd" ] || fail "the update left before the rename: $(cat "$TRACE")"
tail -n +"$upd" "$TRACE" | grep -q 'syncfs(' ||
	fail "the update waited for the last sync: $(cat "$TRACE")"

# a container that fails: the 201 still comes, and so does the record
put broken o2
[ "$(pending | wc -l)" = 1 ] || fail "records: $(pending)"
grep -q '"obj":"o2"' "$(pending)" || fail "record: $(cat "$(pending)")"
echo "ok"
