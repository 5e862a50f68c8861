#!/bin/bash
# 412-cluster-objectd-killed: an object server SIGKILLed in the middle of a
# stream of PUTs loses no acknowledged write.
#   - four object servers (tests/lib/multinode.sh), 3 replicas: one is
#     killed while four writers stream PUTs of 1 KiB..1 MiB bodies; with
#     three servers left every PUT still answers 201 (handoffs), every
#     object reads back with its exact bytes while the server is down, and
#     again (also with X-Newest) once it is back;
#   - kumo-aio (one object server holds every replica): its object server
#     is killed through $AIO_DIR/run/object.pid mid-stream; after the
#     cluster is started again, every PUT that had answered 201 reads back
#     with its exact bytes, and no half-written object is visible.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/multinode.sh"
requires curl
LIB=$TESTS_DIR/lib

PROXY_EXTRA_CONF="error_suppression_interval = 2"
start_multinode_cluster 4
read -r TOKEN URL < <(get_token test:tester testing)
[ -n "$TOKEN" ] || fail "no token"
[ "$(status PUT "$URL/c" -H "X-Auth-Token: $TOKEN")" = 201 ] ||
	fail "container PUT"

$PYTHON "$LIB/putstream.py" "$URL" "$TOKEN" c 6 "$TMPDIR_TEST/mn.log" 4 mn &
writer=$!
sleep 2
kill_object_server 2
echo "killed object server 2"
wait "$writer" || fail "the writers failed"
$PYTHON "$LIB/putstream_check.py" "$URL" "$TOKEN" c "$TMPDIR_TEST/mn.log" ||
	fail "an acknowledged PUT does not read back with a server down"
bad=$(awk '$2 != 201' "$TMPDIR_TEST/mn.log" | head -5)
[ -z "$bad" ] || fail "PUTs with 3 of 4 object servers up did not answer 201:
$bad"
restart_object_server 2
$PYTHON "$LIB/putstream_check.py" "$URL" "$TOKEN" c "$TMPDIR_TEST/mn.log" ||
	fail "an acknowledged PUT does not read back after the restart"
$PYTHON "$LIB/putstream_check.py" "$URL" "$TOKEN" c "$TMPDIR_TEST/mn.log" \
	X-Newest || fail "an acknowledged PUT does not read back with X-Newest"
# the killed server itself never serves a partial body: each object it
# has is whole (those it missed are 404 until replication exists)
$PYTHON - "$LIB" "${OBJ_PORTS[2]}" "$TMPDIR_TEST/mn.log" <<'PY' ||
import hashlib, http.client, struct, sys, urllib.parse
sys.path.insert(0, sys.argv[1])
from putstream import body_for
port, log = int(sys.argv[2]), sys.argv[3]
seen = {"200": 0, "404": 0}
bad = 0
for line in open(log):
    name = line.split()[0]
    path = "/AUTH_test/c/" + name
    part = struct.unpack_from(">I", hashlib.md5(
        (path + "test-suffix").encode()).digest())[0] >> 24
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/d2/%d%s" % (part, urllib.parse.quote(path)))
    r = conn.getresponse()
    body = r.read()
    conn.close()
    seen[str(r.status)] = seen.get(str(r.status), 0) + 1
    if r.status == 200 and body != body_for(name):
        print("object server 2 serves %s with %d wrong bytes" % (
            name, len(body)))
        bad = 1
    elif r.status not in (200, 404):
        print("object server 2: %s answers %d" % (name, r.status))
        bad = 1
print("object server 2 after its restart:", seen)
sys.exit(bad)
PY
	fail "the restarted object server serves a partial object"

# the all-in-one cluster: its only object server dies
. "$LIB/cluster.sh"
start_cluster
read -r TOKEN URL < <(get_token test:tester testing)
[ "$(status PUT "$URL/c" -H "X-Auth-Token: $TOKEN")" = 201 ] ||
	fail "aio container PUT"
$PYTHON "$LIB/putstream.py" "$URL" "$TOKEN" c 4 "$TMPDIR_TEST/aio.log" 4 aio &
writer=$!
sleep 2
[ -s "$AIO_DIR/run/object.pid" ] || fail "no $AIO_DIR/run/object.pid"
kill -KILL "$(cat "$AIO_DIR/run/object.pid")"
echo "killed the aio object server"
wait "$writer" || fail "the aio writers failed"
# kumo-aio stops the cluster when a daemon dies; start it again
for i in $(seq 1 100); do
	kill -0 "$AIO_PID" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$AIO_PID" 2>/dev/null; then
	# it kept running: that is fine too, if the object server is back
	curl -sf "http://127.0.0.1:$((PROXY_PORT + 1))/healthcheck" \
		>/dev/null || fail "kumo-aio neither stopped nor restarted objectd"
else
	wait "$AIO_PID" 2>/dev/null || true
	_launch_aio
fi
read -r TOKEN URL < <(get_token test:tester testing)
$PYTHON "$LIB/putstream_check.py" "$URL" "$TOKEN" c "$TMPDIR_TEST/aio.log" ||
	fail "an acknowledged PUT was lost when the aio object server died"
grep -q ' 201 ' "$TMPDIR_TEST/aio.log" || fail "no PUT succeeded before the kill"
# no half-written object: whatever the listing shows reads back whole
curl -s -H "X-Auth-Token: $TOKEN" "$URL/c" >"$TMPDIR_TEST/listed"
awk 'NR == FNR { st[$1] = $2; next } st[$1] != 201 { print }' \
	"$TMPDIR_TEST/aio.log" "$TMPDIR_TEST/listed" >"$TMPDIR_TEST/extra"
while read -r name; do
	[ "$(status GET "$URL/c/$name" -H "X-Auth-Token: $TOKEN")" = 404 ] ||
		$PYTHON - "$LIB" "$URL/c/$name" "$TOKEN" "$name" <<'PY' ||
import sys, urllib.request
sys.path.insert(0, sys.argv[1])
from putstream import body_for
url, tok, name = sys.argv[2:5]
got = urllib.request.urlopen(urllib.request.Request(
    url, headers={"X-Auth-Token": tok})).read()
sys.exit(0 if got == body_for(name) else 1)
PY
		fail "$name (not acknowledged) is visible with partial bytes"
done <"$TMPDIR_TEST/extra"
echo "412-cluster-objectd-killed: ok"
