#!/bin/bash
# tests/integration/454-kumo-status.sh: bin/kumo-status on a four-node cluster: after --populate it reports every server up and no sampled partition lacking a container or object replica (exit 0, text and --json, progress lines on a non-tty stderr); with one object server stopped it reports that server down and exits 1; with one device wiped it reports partitions lacking replicas (> 0, exit 1), and after a replication pass the cluster is whole again (exit 0).
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/multinode.sh"
requires curl timeout kumo-status

OBJ_EXTRA_CONF="replicator_interval = 3600"
start_multinode_cluster 4
ST="kumo-status --conf $CONF --sample 64 --timeout 5 --conn-timeout 1"

# 1. populate, then a healthy report
timeout 60 $ST --populate --auth-url "$AUTH_URL" --user test:tester \
	--key testing >"$TMPDIR_TEST/s1" 2>"$TMPDIR_TEST/e1" ||
	fail "healthy cluster: exit $? $(cat "$TMPDIR_TEST/s1" "$TMPDIR_TEST/e1")"
grep -q "^kumo cluster .*: healthy" "$TMPDIR_TEST/s1" || fail "not healthy: $(cat "$TMPDIR_TEST/s1")"
grep -q "object servers: 4 of 4 up" "$TMPDIR_TEST/s1" || fail "servers: $(cat "$TMPDIR_TEST/s1")"
grep -q "object dispersion: 64 objects of AUTH_test/kumo_dispersion in 64 partitions: 0 lacking" "$TMPDIR_TEST/s1" &&
	grep -q "container dispersion: 64 containers of AUTH_test in 64 partitions: 0 lacking" "$TMPDIR_TEST/s1" ||
	fail "dispersion: $(cat "$TMPDIR_TEST/s1")"
grep -q "64 dispersion objects written" "$TMPDIR_TEST/e1" &&
	grep -q "64 dispersion containers written" "$TMPDIR_TEST/e1" || fail "populate: $(cat "$TMPDIR_TEST/e1")"
grep -q "checking the object sample: 192/192 done" "$TMPDIR_TEST/e1" ||
	fail "no progress lines: $(cat "$TMPDIR_TEST/e1")"
timeout 60 $ST --json --quiet >"$TMPDIR_TEST/j1" || fail "--json: exit $?"
$PYTHON - "$TMPDIR_TEST/j1" <<'PY' || fail "json: $(cat "$TMPDIR_TEST/j1")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["healthy"] is True, r
s = r["summary"]
assert s["object"]["servers"] == 4 and s["object"]["up"] == 4, s
assert s["container"]["up"] == 1 and s["account"]["up"] == 1, s
assert s["object"]["devices"] == 4 and s["object"]["size"] > 0, s
d = r["dispersion"]
assert d["sampled"] == 64 and d["replicas"] == 3 and d["partitions_lacking"] == 0, d
assert d["found"] == {"3": 64}, d
c = r["container_dispersion"]
assert c["kind"] == "container" and c["sampled"] == 64 and c["partitions_lacking"] == 0, c
for srv in r["servers"]:
    assert srv["up"] and srv["devices"], srv
PY

# 2. one object server down
kill_object_server 3
rc=0
timeout 60 $ST --json --quiet >"$TMPDIR_TEST/j2" || rc=$?
[ "$rc" -eq 1 ] || fail "a server down: exit $rc"
$PYTHON - "$TMPDIR_TEST/j2" "${OBJ_PORTS[3]}" <<'PY' || fail "json: $(cat "$TMPDIR_TEST/j2")"
import json, sys
r, port = json.load(open(sys.argv[1])), int(sys.argv[2])
assert r["healthy"] is False
assert r["summary"]["object"]["up"] == 3, r["summary"]
down = [s for s in r["servers"] if not s["up"]]
assert len(down) == 1 and down[0]["port"] == port and down[0]["error"], down
assert r["dispersion"]["partitions_lacking"] > 0, r["dispersion"]
PY
timeout 60 $ST >"$TMPDIR_TEST/s2" 2>/dev/null && fail "text report exit 0 with a server down"
grep -q "127.0.0.1:${OBJ_PORTS[3]} DOWN" "$TMPDIR_TEST/s2" || fail "no DOWN line: $(cat "$TMPDIR_TEST/s2")"
restart_object_server 3

# 3. a device wiped: partitions lack replicas until replication runs
rm -rf "$NODE_DIR/obj2/d2"
mkdir "$NODE_DIR/obj2/d2"
rc=0
timeout 60 $ST --json --quiet >"$TMPDIR_TEST/j3" || rc=$?
[ "$rc" -eq 1 ] || fail "a device wiped: exit $rc"
lacking=$($PYTHON -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["summary"]["object"]["up"] == 4; print(r["dispersion"]["partitions_lacking"])' "$TMPDIR_TEST/j3") ||
	fail "json: $(cat "$TMPDIR_TEST/j3")"
[ "$lacking" -gt 0 ] || fail "a wiped device shows no partition lacking"
objectd_once_all replicate "$TMPDIR_TEST/repl.log"
timeout 60 $ST >"$TMPDIR_TEST/s4" 2>/dev/null ||
	fail "after replication: exit $? $(cat "$TMPDIR_TEST/s4")"
grep -q "0 lacking" "$TMPDIR_TEST/s4" || fail "after replication: $(cat "$TMPDIR_TEST/s4")"
grep -q "last replication [0-9]*s ago" "$TMPDIR_TEST/s4" ||
	fail "no replication pass shown: $(cat "$TMPDIR_TEST/s4")"
echo "ok: $lacking of 64 sampled partitions lacked a replica after the wipe"
