#!/bin/bash
# 442-replication-ring-change: fault test 4 of the durability issue. 200
# objects on four devices (zones 1-4); a device d5 in a new zone 5 is
# added (on object server 1), the ring rebalanced and copied into
# swift_dir; the object servers' replicators reload it (mtime), and while
# a pass runs on every node a reader GETs every object over and over
# through the proxy: no GET fails. Afterwards placement on disk matches
# the new ring exactly (every primary holds the object, byte-identical;
# no other device keeps a file of it). Then d3 is removed the same way
# (remove, rebalance, copy, replicate under reads): its partitions are
# pushed to their new primaries, d3 ends up empty, placement matches.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/replication.sh"
requires curl timeout

OBJ_EXTRA_CONF="replicator_interval = 3600"
repl_cluster 4
repl_load put 200 || fail "PUTs failed"

# the operator's copy of the builder, away from swift_dir
OPS=$TMPDIR_TEST/ops
mkdir -p "$OPS"
cp "$RINGS/object.builder" "$OPS/"

# new_ring ARGS...: change the builder, rebalance, copy the ring into
# swift_dir (atomically), restart the proxy on it (it does not reload
# rings by itself; the object servers do) and take a new token
new_ring() {
	kumo-ring "$OPS/object.builder" "$@" >/dev/null
	kumo-ring "$OPS/object.builder" rebalance --seed 2 >/dev/null || true
	cp "$OPS/object.ring.gz" "$RINGS/object.ring.gz.tmp"
	mv "$RINGS/object.ring.gz.tmp" "$RINGS/object.ring.gz"
	_stop_pid "$PID_proxy" proxy
	_start proxy kumo-proxy "$CONF"
	_wait_health proxy "$PROXY_PORT"
	read -r TOKEN URL < <(get_token test:tester testing) # tokens are in memory
}

# move: GET every object in a loop while one replication pass runs on
# every node; fail on any failed GET or pass
move() {
	local reader
	rm -f "$TMPDIR_TEST/stop" "$TMPDIR_TEST/getfail"
	(
		while [ ! -e "$TMPDIR_TEST/stop" ]; do
			repl_load get >>"$TMPDIR_TEST/getfail" || true
		done
	) &
	reader=$!
	sleep 1
	replicate_all
	sleep 1
	touch "$TMPDIR_TEST/stop"
	wait "$reader"
	[ ! -s "$TMPDIR_TEST/getfail" ] ||
		fail "GETs failed while data moved: $(head -5 "$TMPDIR_TEST/getfail")"
	repl_check --exclusive || fail "placement does not match the new ring"
}

mkdir "$NODE_DIR/obj1/d5"
new_ring add "r1z5-127.0.0.1:${OBJ_PORTS[1]}/d5" 100
move
[ "$(find "$NODE_DIR/obj1/d5/objects" -name '*.data' | wc -l)" -gt 0 ] ||
	fail "nothing moved to d5"
grep -q "handoffs removed" "$TMPDIR_TEST/repl.log" || fail "no pass logged"

new_ring remove /d3 # by name: "d3" alone would be device id 3
move
left=$(find "$NODE_DIR/obj3/d3" -type f -path '*/objects/*' | wc -l)
[ "$left" -eq 0 ] || fail "removed d3 still holds $left files"
echo "ok: d5 added and d3 removed with every object readable throughout"
