#!/bin/bash
# 441-replication-node-down: fault test 3 of the durability issue. With
# 100 objects on every replica, one object server is stopped; 1,000
# objects are PUT, 100 of them overwritten, and the 100 older ones
# (which the stopped server still holds) DELETEd, all through the proxy,
# which writes to handoffs. The server is started again and one
# replication pass runs on every node: every primary holds exactly the
# newest state (data byte-identical, tombstones where deleted), no
# handoff keeps a copy, nothing deleted comes back in GETs or in the
# container listing.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/replication.sh"
requires curl timeout

OBJ_EXTRA_CONF="replicator_interval = 3600"
PROXY_EXTRA_CONF="error_suppression_interval = 60"
repl_cluster 4
repl_load put 100 0 || fail "first PUTs failed"
old_on_d2=$(find "$NODE_DIR/obj2/d2/objects" -name '*.data' | wc -l)
[ "$old_on_d2" -gt 0 ] || fail "d2 holds none of the first objects"

kill_object_server 2
repl_load put 1000 100 || fail "PUTs with a server down failed"
repl_load overwrite 100 100 || fail "overwrites with a server down failed"
repl_load delete 100 0 || fail "DELETEs with a server down failed"
restart_object_server 2

replicate_all
grep -q "handoffs removed" "$TMPDIR_TEST/repl.log" || fail "no pass logged"
grep "replication pass" "$TMPDIR_TEST/repl.log" | grep -qv " 0 handoffs removed" ||
	fail "no handoff partition was removed"
repl_check --exclusive || fail "replicas do not agree with the newest state"
repl_load get || fail "GETs do not give the newest state"
listing=$(curl -sf "$URL/c?limit=10000" -H "X-Auth-Token: $TOKEN") ||
	fail "listing"
want=$(awk '$2 == "live" { sub(".*/", "", $1); print $1 }' "$STATE" | sort)
[ "$(echo "$listing" | sort)" = "$want" ] ||
	fail "the listing differs from the live objects"
[ "$(echo "$want" | wc -l)" -eq 1000 ] || fail "expected 1000 live objects"
echo "ok: 1100 objects, 100 deleted, replicas agree"
