#!/bin/bash
# tests/integration/106-objectd-async-pending.sh: kumo-objectd container updates: sent to X-Container-Host at once; when the container server is down the update is saved under async_pending and 'kumo-objectd CONF --once update' (or the updater thread) sends it later, removing the record only after a 2xx.
. "$(dirname "$0")/../lib/functions.sh"
requires curl kumo-objectd

. "$(dirname "$0")/../lib/objectd.sh"

D=$TMPDIR_TEST/srv

start_objectd
CPORT=$(pick_unused_port)  # nothing listens there yet
TS=$(now_ts)
curl -s -D "$TMPDIR_TEST/h" -o /dev/null -X PUT -H "X-Timestamp: $TS" \
	-H "Content-Type: text/x-kumo" -H "X-Trans-Id: tx-kumo-test" \
	-H "X-Container-Host: 127.0.0.1:$CPORT" -H "X-Container-Device: sdc" \
	-H "X-Container-Partition: 12" --data-binary "hello" \
	"$OBJ_URL/d1/3/acc/con/ob%20j"
grep -q "^HTTP/1.1 201" "$TMPDIR_TEST/h" || fail "PUT with a dead container"
[ "$(pending | wc -l)" -eq 1 ] || fail "expected one record: $(pending)"
rec=$(pending)
h=$(printf '/acc/con/ob jkumotest' | md5sum | cut -d' ' -f1)
case "$rec" in "$D/d1/async_pending/${h: -3}/$h-$TS-"*) ;; *) fail "record path $rec" ;; esac
$PYTHON - "$rec" "$CPORT" "$TS" <<'PY' || fail "record content"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["op"] == "PUT", r
assert (r["account"], r["container"], r["obj"]) == ("acc", "con", "ob j"), r
h = r["headers"]
assert h["X-Size"] == "5" and h["X-Content-Type"] == "text/x-kumo", h
assert h["X-Etag"] == "5d41402abc4b2a76b9719d911017c592", h
assert h["X-Timestamp"] == sys.argv[3], h
assert r["target"] == {"host": "127.0.0.1:" + sys.argv[2], "device": "sdc",
                       "partition": "12"}, r
PY

# still down: a pass keeps the record
expect_exit 0 kumo-objectd "$TMPDIR_TEST/object.conf" --once update
[ "$(pending | wc -l)" -eq 1 ] || fail "record lost while the container is down"

# the container server comes back: one pass sends the update
fake_container "$CPORT" "$TMPDIR_TEST/fake.log"
: >"$TMPDIR_TEST/fake.log"
expect_exit 0 kumo-objectd "$TMPDIR_TEST/object.conf" --once update
[ -z "$(pending)" ] || fail "record still there: $(pending)"
$PYTHON - "$TMPDIR_TEST/fake.log" "$TS" <<'PY' || fail "fake got: $(cat "$TMPDIR_TEST/fake.log")"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
assert len(reqs) == 1, reqs
r = reqs[0]
assert r["method"] == "PUT" and r["path"] == "/sdc/12/acc/con/ob%20j", r
h = {k.lower(): v for k, v in r["headers"].items()}
assert h["x-size"] == "5" and h["x-content-type"] == "text/x-kumo", h
assert h["x-etag"] == "5d41402abc4b2a76b9719d911017c592", h
assert h["x-timestamp"] == sys.argv[2], h
PY

# with the container up, updates go at once (PUT, POST and DELETE)
: >"$TMPDIR_TEST/fake.log"
C=(-H "X-Container-Host: 127.0.0.1:$CPORT" -H "X-Container-Device: sdc"
	-H "X-Container-Partition: 12")
expect_status 202 POST "/d1/3/acc/con/ob%20j" -H "X-Timestamp: $(now_ts)" "${C[@]}"
TD=$(now_ts)
expect_status 204 DELETE "/d1/3/acc/con/ob%20j" -H "X-Timestamp: $TD" "${C[@]}"
[ -z "$(pending)" ] || fail "pending with the container up"
grep -q '"method": "DELETE", "path": "/sdc/12/acc/con/ob%20j"' "$TMPDIR_TEST/fake.log" ||
	fail "no DELETE update: $(cat "$TMPDIR_TEST/fake.log")"
grep -q "\"X-Timestamp\": \"$TD\"" "$TMPDIR_TEST/fake.log" || fail "DELETE ts"
[ "$(grep -c '"method": "PUT"' "$TMPDIR_TEST/fake.log")" -eq 1 ] ||
	fail "no POST update"

# a container answering 503: the record stays through a pass
expect_status 201 PUT /d2/3/acc/broken/o -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: text/plain" --data-binary x "${C[@]}"
[ "$(pending | wc -l)" -eq 1 ] || fail "503 did not save a record"
expect_exit 0 kumo-objectd "$TMPDIR_TEST/object.conf" --once update
[ "$(pending | wc -l)" -eq 1 ] || fail "a 503 removed the record"
find "$D" -path '*async_pending*' -type f -delete
stop_objectd

# the updater thread does the same on its own, every updater_interval
OBJ_UPDATER_INTERVAL=1 start_objectd
CPORT2=$(pick_unused_port)
expect_status 201 PUT /d1/3/acc/con/later -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: text/plain" --data-binary x \
	-H "X-Container-Host: 127.0.0.1:$CPORT2" -H "X-Container-Device: sdd" \
	-H "X-Container-Partition: 1"
[ "$(pending | wc -l)" -eq 1 ] || fail "no record for the thread"
fake_container "$CPORT2" "$TMPDIR_TEST/fake2.log"
for i in $(seq 50); do
	[ -z "$(pending)" ] && break
	sleep 0.1
done
[ -z "$(pending)" ] || fail "the updater thread did not send the update"
grep -q '/sdd/1/acc/con/later' "$TMPDIR_TEST/fake2.log" || fail "fake2 log"
stop_objectd
echo PASS
