#!/bin/bash
# 442-replication-ring-change: fault test 4 of the durability issue. 200
# objects on four devices (zones 1-4); a device d5 in a new zone 5 is
# added (on object server 1), the ring rebalanced and copied into
# swift_dir; the object servers' replicators reload it (mtime), and while
# a pass runs on every node a reader GETs every object over and over
# through the proxy: no GET fails. The proxy is not restarted: it loads the
# new ring by itself (ring_check_interval, 1 s here), so new objects PUT
# after the copy land on d5 at once and, after d3's removal, never on d3. Afterwards placement on disk matches
# the new ring exactly (every primary holds the object, byte-identical;
# no other device keeps a file of it). Then d3 is removed the same way
# (remove, rebalance, copy, replicate under reads): its partitions are
# pushed to their new primaries, d3 ends up empty, placement matches.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/replication.sh"
requires curl timeout

OBJ_EXTRA_CONF="replicator_interval = 3600"
PROXY_EXTRA_CONF="ring_check_interval = 1"
repl_cluster 4
repl_load put 200 || fail "PUTs failed"

# move: GET every object in a loop while one replication pass runs on
# every node; then placement matches the new ring
move() {
	replicate_under_reads
	repl_check --exclusive || fail "placement does not match the new ring"
}

mkdir "$NODE_DIR/obj1/d5"
ring_change add "r1z5-127.0.0.1:${OBJ_PORTS[1]}/d5" 100
# before any replication: the proxy places new objects by the new ring
repl_load put 30 200 || fail "PUTs after the ring change failed"
[ "$(find "$NODE_DIR/obj1/d5/objects" -name '*.data' | wc -l)" -gt 0 ] ||
	fail "the proxy did not load the new ring (nothing PUT to d5)"
move
[ "$(find "$NODE_DIR/obj1/d5/objects" -name '*.data' | wc -l)" -gt 0 ] ||
	fail "nothing moved to d5"
grep -q "handoffs removed" "$TMPDIR_TEST/repl.log" || fail "no pass logged"

ring_change remove /d3 # by name: "d3" alone would be device id 3
move
repl_load put 30 230 || fail "PUTs after d3's removal failed"
left=$(find "$NODE_DIR/obj3/d3" -type f -path '*/objects/*' | wc -l)
[ "$left" -eq 0 ] || fail "removed d3 still holds $left files"
repl_check --exclusive || fail "new objects not placed by the new ring"
echo "ok: d5 added and d3 removed with every object readable throughout"
