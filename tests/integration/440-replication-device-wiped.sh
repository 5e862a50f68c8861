#!/bin/bash
# 440-replication-device-wiped: fault test 1 of the durability issue. One
# device's whole directory is deleted (and made again, empty); a
# replication pass (kumo-objectd CONF --once replicate on every node)
# brings every object back to three devices: checked on disk through the
# ring (kumo-ring get-nodes --json), each replica byte-identical, and the
# objects read back through the proxy. A second pass then moves nothing.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/replication.sh"
requires curl timeout

# the background replicator stays out of the way: passes are run by hand
OBJ_EXTRA_CONF="replicator_interval = 3600"
repl_cluster 4
repl_load put 300 || fail "PUTs failed"
repl_check || fail "replicas are not all in place before the wipe"

held=$(find "$NODE_DIR/obj2/d2/objects" -name '*.data' | wc -l)
[ "$held" -gt 0 ] || fail "d2 held no object before the wipe"
rm -rf "$NODE_DIR/obj2/d2"
mkdir "$NODE_DIR/obj2/d2"
repl_check >/dev/null && fail "the check does not see the wiped device"

replicate_all
repl_check || fail "replication did not restore three identical replicas"
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
repl_load get || fail "objects do not read back"
echo "ok: $held objects of d2 back in place"
