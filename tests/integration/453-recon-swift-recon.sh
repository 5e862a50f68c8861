#!/bin/bash
# tests/integration/453-recon-swift-recon.sh: the /recon endpoints of every storage server answer what OpenStack Swift's own client reads: Debian's swift-recon, pointed at the cluster's rings, reports async pendings, auditor, replication, quarantine, disk usage, time and version figures from every host (nothing "No hosts returned valid data" where kumo keeps the figure) with the values the workers wrote (an object quarantined by the auditor, a replication pass, updater and expirer sweeps); the JSON shapes follow Swift's middleware; unknown checks get 404 and other methods 405.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/multinode.sh"
requires curl timeout md5sum /usr/bin/swift-recon

OBJ_EXTRA_CONF="replicator_interval = 3600
auditor_interval = 3600"
start_multinode_cluster 3
read -r TOKEN URL < <(get_token test:tester testing)
[ "$(status PUT "$URL/c" -H "X-Auth-Token: $TOKEN")" = 201 ] || fail "container PUT"
for i in 1 2 3 4 5; do
	[ "$(status PUT "$URL/c/o$i" -H "X-Auth-Token: $TOKEN" --data-binary "object $i")" = 201 ] ||
		fail "PUT o$i"
done
# one replica of o1 rots; each node's auditor and replicator run once
h=$(printf '/AUTH_test/c/o1test-suffix' | md5sum | cut -d' ' -f1)
bad=$(find "$NODE_DIR"/obj*/d*/objects -path "*/$h/*.data" | head -1)
[ -n "$bad" ] || fail "no replica of o1"
printf 'X' | dd of="$bad" bs=1 seek=0 conv=notrunc 2>/dev/null
for k in 1 2 3; do
	timeout 60 kumo-objectd "$TMPDIR_TEST/obj$k.conf" --once audit 2>/dev/null ||
		fail "audit on node $k"
	timeout 60 kumo-objectd "$TMPDIR_TEST/obj$k.conf" --once replicate 2>/dev/null ||
		fail "replicate on node $k"
	timeout 60 kumo-objectd "$TMPDIR_TEST/obj$k.conf" --once update 2>/dev/null ||
		fail "update on node $k"
	timeout 60 kumo-objectd "$TMPDIR_TEST/obj$k.conf" --once expire 2>/dev/null ||
		fail "expire on node $k"
done

# swift-recon wants a swift.conf beside the rings
cat >"$RINGS/swift.conf" <<EOF
[swift-hash]
swift_hash_path_suffix = test-suffix
[storage-policy:0]
name = Policy-0
default = yes
EOF
SR="timeout 60 /usr/bin/python3 /usr/bin/swift-recon --swiftdir $RINGS -t 5"
$SR object -a -q -d -r -u -T --auditor --updater --expirer --swift-versions >"$TMPDIR_TEST/obj.txt" 2>&1 ||
	fail "swift-recon object: $(cat "$TMPDIR_TEST/obj.txt")"
$SR container -q -d -r -T --auditor >"$TMPDIR_TEST/cont.txt" 2>&1 ||
	fail "swift-recon container: $(cat "$TMPDIR_TEST/cont.txt")"
$SR account -q -d -r --auditor >"$TMPDIR_TEST/acct.txt" 2>&1 ||
	fail "swift-recon account: $(cat "$TMPDIR_TEST/acct.txt")"
has() { # FILE PATTERN
	grep -Eq "$2" "$1" || fail "swift-recon output lacks /$2/: $(cat "$1")"
}
O=$TMPDIR_TEST/obj.txt
has "$O" "Starting reconnaissance on 3 hosts \(object\)"
has "$O" "\[async_pending\] low: 0, high: 0, .* reported: 3"
has "$O" "\[ALL_quarantined_last_path\] low: 0, high: 1, avg: [0-9.]+, total: 1, .* reported: 3"
has "$O" "\[ALL_passes_last_path\] .* total: 1[0-9], .* reported: 3"
has "$O" "\[replication_attempted\] .* reported: 3"
has "$O" "\[replication_time\] .* reported: 3"
has "$O" "Oldest completion was .* ago"
has "$O" "\[updater_last_sweep\] low: [0-9]+, .* reported: 3"
has "$O" "\[object_expiration_pass\] low: [0-9]+, .* reported: 3"
has "$O" "\[expired_last_pass\] low: 0, high: 0, .* reported: 3"
has "$O" "\[quarantined_objects\] low: 0, high: 1, avg: [0-9.]+, total: 1, .* reported: 3"
has "$O" "Disk usage: space used: [1-9][0-9]* of [1-9][0-9]*"
has "$O" "3/3 hosts matched, 0 error\[s\] while checking hosts"
has "$O" "Versions matched \(2\.30\.0\), 0 error\[s\]"
grep -q "Not mounted" "$O" && fail "a device reported unmounted: $(cat "$O")"
C=$TMPDIR_TEST/cont.txt
has "$C" "Starting reconnaissance on 1 hosts \(container\)"
has "$C" "\[quarantined_containers\] low: 0, high: 0, .* reported: 1"
has "$C" "Disk usage: space used: [1-9][0-9]* of [1-9][0-9]*"
has "$TMPDIR_TEST/acct.txt" "\[quarantined_accounts\] low: 0, high: 0, .* reported: 1"

# the JSON shapes, checked against Swift's middleware keys
P1=${OBJ_PORTS[1]}
for path in diskusage async quarantined replication/object auditor/object \
	unmounted version time load mem sockstat devices mounted \
	updater/object expirer/object ringmd5 driveaudit; do
	curl -sf "http://127.0.0.1:$P1/recon/$path" >"$TMPDIR_TEST/r.json" ||
		fail "GET /recon/$path"
	cp "$TMPDIR_TEST/r.json" "$TMPDIR_TEST/$(echo "$path" | tr / _).json"
done
ring_md5=$(md5sum "$RINGS/object.ring.gz" | cut -d' ' -f1)
$PYTHON - "$TMPDIR_TEST" "$RINGS" "$ring_md5" <<'PY' || fail "recon JSON shapes"
import json, sys
t = sys.argv[1]
j = lambda n: json.load(open("%s/%s.json" % (t, n)))
for d in j("diskusage"):
    assert set(d) == {"device", "mounted", "size", "used", "avail"}, d
    assert d["mounted"] is True and d["size"] >= d["used"] > 0, d
assert set(j("async")) == {"async_pending", "async_pending_last"}
assert set(j("quarantined")) == {"objects", "containers", "accounts", "policies"}
assert set(j("replication_object")) == {"replication_time", "replication_stats",
    "replication_last", "object_replication_time", "object_replication_last"}
assert set(j("auditor_object")) == {"object_auditor_stats_ALL", "object_auditor_stats_ZBF"}
assert set(j("auditor_object")["object_auditor_stats_ALL"]) >= {
    "errors", "passes", "quarantined", "bytes_processed", "start_time", "audit_time"}
assert j("unmounted") == [] and j("version") == {"version": "2.30.0"}
assert isinstance(j("time"), float)
assert set(j("load")) == {"1m", "5m", "15m", "tasks", "processes"}
rm = j("ringmd5")
assert rm[sys.argv[2] + "/object.ring.gz"] == sys.argv[3] and len(rm) == 3, rm
assert j("updater_object")["object_updater_sweep"] >= 0
e = j("expirer_object")
assert e["object_expiration_pass"] >= 0 and e["expired_last_pass"] == 0, e
PY
[ "$(status GET "http://127.0.0.1:$P1/recon/nonsense")" = 404 ] || fail "unknown check"
[ "$(status GET "http://127.0.0.1:$P1/recon/auditor/volume")" = 404 ] || fail "unknown type"
[ "$(status POST "http://127.0.0.1:$P1/recon/async")" = 405 ] || fail "POST"
