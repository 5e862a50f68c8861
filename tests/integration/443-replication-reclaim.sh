#!/bin/bash
# 443-replication-reclaim: tombstones win on every replica and are
# reclaimed after reclaim_age (set to 20 s here): 40 objects are PUT, one
# object server is stopped, they are DELETEd (tombstones on the other
# primaries and on handoffs), the server comes back still holding the
# old data, and a replication pass spreads the tombstones to every
# primary. Once reclaim_age has passed, the next pass removes them all
# (no file of those objects is left on any device), and the objects do
# not come back: GETs answer 404 and further passes move nothing.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/replication.sh"
requires curl timeout

OBJ_EXTRA_CONF="replicator_interval = 3600
reclaim_age = 20"
PROXY_EXTRA_CONF="error_suppression_interval = 60"
repl_cluster 4
count_files() { find "$NODE_DIR"/obj*/d*/objects -name "*.$1" | wc -l; }

repl_load put 40 0 || fail "PUTs failed"
kill_object_server 2
repl_load delete 40 0 || fail "DELETEs failed"
deleted_at=$SECONDS
restart_object_server 2
[ "$(count_files data)" -gt 0 ] || fail "d2 should still hold old data"
replicate_all
repl_check --exclusive || fail "tombstones did not reach every primary"
[ "$(count_files data)" -eq 0 ] || fail "old data survived the tombstones"
[ "$(count_files ts)" -eq 120 ] || fail "want 120 tombstones, $(count_files ts)"

# the tombstones must not have aged past reclaim_age before this point
[ $((SECONDS - deleted_at)) -lt 18 ] || fail "too slow to test reclaim_age"
sleep $((deleted_at + 21 - SECONDS)) # past reclaim_age
replicate_all
[ "$(count_files ts)" -eq 0 ] || fail "$(count_files ts) tombstones not reclaimed"
repl_check --reclaimed || fail "reclaimed objects are not gone"
: >"$TMPDIR_TEST/repl.log"
replicate_all
grep "replication pass" "$TMPDIR_TEST/repl.log" |
	grep -v " 0 objects and 0 bytes moved" && fail "a pass moved something"
[ "$(count_files data)" -eq 0 ] || fail "a deleted object came back"
repl_load get || fail "a deleted object reads back"
echo "ok: 40 tombstones spread, then reclaimed; nothing came back"
