#!/bin/bash
# 445-replication-device-unmounted: a device that is gone (its folder
# missing: the object server answers 507) has its replicas handed to a
# handoff by the other primaries' replicators, as Swift does, so every
# object keeps three copies; once the device is back, a pass gives its
# partitions back and the handoffs drop their copies (placement matches
# the ring again).
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/replication.sh"
requires curl timeout

OBJ_EXTRA_CONF="replicator_interval = 3600"
repl_cluster 4
repl_load put 100 || fail "PUTs failed"
count() { find "$@" -name '*.data' | wc -l; }
live="$NODE_DIR/obj1/d1 $NODE_DIR/obj3/d3 $NODE_DIR/obj4/d4"
[ "$(count $live)" -lt 300 ] || fail "d2 holds nothing to begin with"

mv "$NODE_DIR/obj2/d2" "$TMPDIR_TEST/d2.away"
[ "$(status REPLICATE "http://127.0.0.1:${OBJ_PORTS[2]}/d2/0")" = 507 ] ||
	fail "a missing device does not answer 507"
# the handoffs' own passes fail while d2 is away: that is expected
for k in 1 2 3 4; do
	timeout 90 kumo-objectd "$TMPDIR_TEST/obj$k.conf" --once replicate \
		2>>"$TMPDIR_TEST/repl.log" || true
done
[ "$(count $live)" -eq 300 ] ||
	fail "with d2 gone, d1 d3 d4 hold $(count $live) of 300 replicas"
grep -q "stands in" "$TMPDIR_TEST/repl.log" || fail "no stand-in logged"

mv "$TMPDIR_TEST/d2.away" "$NODE_DIR/obj2/d2"
replicate_all
repl_check --exclusive || fail "placement after d2 came back"
repl_load get || fail "GETs"
echo "ok: d2's replicas stood in on a handoff and came back"
