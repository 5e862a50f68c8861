#!/bin/bash
# 440-replication-device-wiped: fault test 1 of the durability issue. One
# device's whole directory is deleted (and made again, empty); a
# replication pass (kumo-objectd CONF --once replicate on every node)
# brings every object back to three devices: checked on disk through the
# ring (kumo-ring get-nodes --json), each replica byte-identical, and the
# objects read back through the proxy. A second pass then moves nothing.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/multinode.sh"
requires curl timeout
LIB=$TESTS_DIR/lib

# the background replicator stays out of the way: passes are run by hand
OBJ_EXTRA_CONF="replicator_interval = 3600"
start_multinode_cluster 4
read -r TOKEN URL < <(get_token test:tester testing)
[ -n "$TOKEN" ] || fail "no token"
[ "$(status PUT "$URL/c" -H "X-Auth-Token: $TOKEN")" = 201 ] ||
	fail "container PUT"
STATE=$TMPDIR_TEST/state
timeout 60 $PYTHON "$LIB/repl_load.py" "$URL" "$TOKEN" c put 300 "$STATE" ||
	fail "PUTs failed"
$PYTHON "$LIB/repl_check.py" "$RINGS/object.ring.gz" "$NODE_DIR" "$STATE" ||
	fail "replicas are not all in place before the wipe"

held=$(find "$NODE_DIR/obj2/d2/objects" -name '*.data' | wc -l)
[ "$held" -gt 0 ] || fail "d2 held no object before the wipe"
rm -rf "$NODE_DIR/obj2/d2"
mkdir "$NODE_DIR/obj2/d2"
$PYTHON "$LIB/repl_check.py" "$RINGS/object.ring.gz" "$NODE_DIR" "$STATE" \
	>/dev/null && fail "the check does not see the wiped device"

replicate_all() {
	local k
	for k in 1 2 3 4; do
		timeout 60 kumo-objectd "$TMPDIR_TEST/obj$k.conf" --once replicate \
			2>>"$TMPDIR_TEST/repl.log" || fail "replication on node $k failed"
	done
}
replicate_all
$PYTHON "$LIB/repl_check.py" "$RINGS/object.ring.gz" "$NODE_DIR" "$STATE" ||
	fail "replication did not restore three identical replicas"
back=$(find "$NODE_DIR/obj2/d2/objects" -name '*.data' | wc -l)
[ "$back" -eq "$held" ] || fail "d2 holds $back objects, held $held"
grep -q "replication pass: .* objects and [1-9][0-9]* bytes moved" \
	"$TMPDIR_TEST/repl.log" || fail "no pass logged bytes moved"

# a pass over replicas in sync moves nothing
: >"$TMPDIR_TEST/repl.log"
replicate_all
grep "replication pass" "$TMPDIR_TEST/repl.log" |
	grep -v " 0 objects and 0 bytes moved" && fail "a second pass moved data"
# the figures reach the recon cache
grep -q '"objects_moved"' "$NODE_DIR/recon1/object.recon" ||
	fail "no replication_stats in the recon cache"
timeout 60 $PYTHON "$LIB/repl_load.py" "$URL" "$TOKEN" c get "$STATE" ||
	fail "objects do not read back"
echo "ok: $held objects of d2 back in place"
