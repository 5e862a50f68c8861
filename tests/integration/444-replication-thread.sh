#!/bin/bash
# 444-replication-thread: the replicator runs by itself in every
# kumo-objectd (a thread every replicator_interval seconds, here 1): a
# wiped device gets its objects back without any --once, the pass figures
# reach the recon cache (object_replication_last, replication_stats) and
# /recon/replication, and every server still stops at once on SIGTERM
# (multinode.sh fails the test if one lingers).
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/replication.sh"
requires curl timeout

OBJ_EXTRA_CONF="replicator_interval = 1"
repl_cluster 4
repl_load put 60 || fail "PUTs failed"
# the device goes at once (its replicator is busy in it meanwhile)
mv "$NODE_DIR/obj3/d3" "$TMPDIR_TEST/gone"
mkdir "$NODE_DIR/obj3/d3"
ok=
for i in $(seq 1 60); do
	if repl_check >/dev/null; then
		ok=1
		break
	fi
	sleep 0.5
done
[ -n "$ok" ] || fail "the replicator thread did not restore d3 in 30 s"
grep -q '"object_replication_last"' "$NODE_DIR/recon1/object.recon" ||
	fail "no object_replication_last in the recon cache"
curl -sf "http://127.0.0.1:${OBJ_PORTS[1]}/recon/replication/object" |
	grep -q '"replication_stats"' || fail "/recon/replication/object"
echo "ok: d3 restored by the background replicator"
