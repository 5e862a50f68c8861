#!/bin/bash
# 447-replication-drain-device: the operator's gentle way out for a device
# (swift-ring-builder set_weight 0, then remove). 150 objects on four
# devices d1..d4 (one per object server, zones 1-4). d4 is set to weight
# 0, the ring rebalanced and copied into swift_dir; the proxy loads it by
# itself (ring_check_interval 1 s) and the object servers' replication
# passes run while a reader GETs every object over and over: no GET fails,
# d4 ends up with no object file and placement matches the new ring.
# Then d4 is removed from the ring: nothing has to move (placement
# already matches without a pass) and every object still reads back.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/replication.sh"
requires curl timeout

OBJ_EXTRA_CONF="replicator_interval = 3600"
PROXY_EXTRA_CONF="ring_check_interval = 1"
repl_cluster 4
repl_load put 150 || fail "PUTs failed"
D4=$NODE_DIR/obj4/d4
[ "$(find "$D4/objects" -name '*.data' | wc -l)" -gt 0 ] ||
	fail "d4 holds nothing to drain"

ring_change set_weight /d4 0
[ "$($PYTHON - "$RINGS/object.ring.gz" <<'PY'
import sys
from swift.common.ring import RingData
r = RingData.load(sys.argv[1])
d4 = [d['id'] for d in r.devs if d and d['device'] == 'd4']
print(sum(row.tolist().count(d4[0]) for row in r._replica2part2dev_id))
PY
)" = 0 ] || fail "the rebalanced ring still gives d4 partitions"

# GETs never fail while the replicators move d4's objects away
replicate_under_reads
left=$(find "$D4/objects" -type f 2>/dev/null | wc -l)
[ "$left" -eq 0 ] || fail "drained d4 still holds $left files"
repl_check --exclusive || fail "placement does not match the drained ring"

# remove it: nothing left to move
ring_change remove /d4
repl_check --exclusive || fail "placement changed with the removal"
repl_load get >"$TMPDIR_TEST/getfail" ||
	fail "GETs failed after the removal: $(head -5 "$TMPDIR_TEST/getfail")"
repl_load put 20 150 || fail "PUTs after the removal failed"
[ "$(find "$D4/objects" -type f 2>/dev/null | wc -l)" -eq 0 ] ||
	fail "new objects went to the removed d4"
echo "ok: d4 drained (weight 0) and removed, every object readable throughout"
