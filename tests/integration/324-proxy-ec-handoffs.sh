#!/bin/bash
# 324-proxy-ec-handoffs: an erasure-coded object's archives on handoffs
# (issue 6), seven object servers d1..d7, policy 1 "ec42" (4+2, 64 KiB
# segments, six replicas: one handoff per partition):
#   - two primaries down at PUT: slot i is primary i or the handoff
#     standing in for it, so the first missing index goes to the handoff
#     (its file is <ts>#<i>#d.data there) and the second is left out; five
#     archives are enough (k + 1): 201;
#   - the two back and primary 0 down (so only three primaries hold an
#     archive): the GET finds the fourth index on the handoff and reads
#     the right bytes, a Range too;
#   - a DELETE then: 204 with five of six primaries up (k + 1), and the
#     object is gone;
#   - a source lost mid-body: an 80 MiB object read at 8 MB/s, the server
#     of its fragment 0 killed 2 s in: the proxy replaces that source from
#     the segment it was reading (logged) and the client gets every byte
#     right.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/ec_proxy.sh"
requires curl kumo-ring

ec_proxy_cluster 7 65536
D=$TMPDIR_TEST
ec_container ec ec42

# the servers (K of device dK) of the object's primaries and handoff
kumo-ring get-nodes "$RINGS/object-1.ring.gz" --prefix '' --suffix test-suffix \
	--json "$ACCT/ec/h" >"$D/nodes"
read -r P0 P1 P2 P3 P4 P5 HO < <($PYTHON -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(" ".join(n["device"][1:] for n in r["primaries"] + r["handoffs"][:1]))
' "$D/nodes")
[ -n "$HO" ] || fail "get-nodes: $(cat "$D/nodes")"

head -c 300000 /dev/urandom >"$D/f"
kill_object_server "$P1"
kill_object_server "$P3"
code=$(curl -s -o /dev/null -w '%{http_code}' -T "$D/f" -H "$T" "$URL/ec/h")
[ "$code" = 201 ] || fail "PUT with two primaries down: $code"
n=$(find "$NODE_DIR/obj$HO/d$HO/objects-1" -name '*#1#d.data' | wc -l)
[ "$n" = 1 ] || fail "handoff d$HO holds $n archives of index 1: $(find "$NODE_DIR/obj$HO" -name '*.data')"
n=$(find "$NODE_DIR" -path '*/objects-1/*' -name '*#d.data' | wc -l)
[ "$n" = 5 ] || fail "$n durable archives, not 5"

restart_object_server "$P1"
restart_object_server "$P3"
kill_object_server "$P0"
curl -s -o "$D/got" -H "$T" "$URL/ec/h"
cmp -s "$D/got" "$D/f" || fail "GET through the handoff: other bytes"
curl -s -o "$D/got" -H "$T" -H 'Range: bytes=65530-131080' "$URL/ec/h"
dd if="$D/f" bs=1 skip=65530 count=65551 2>/dev/null | cmp -s - "$D/got" ||
	fail "Range through the handoff"
[ "$(status DELETE "$URL/ec/h" -H "$T")" = 204 ] || fail "DELETE with five up"
[ "$(status GET "$URL/ec/h" -H "$T")" = 404 ] || fail "deleted object readable"
# a source lost mid-body
restart_object_server "$P0"
kumo-ring get-nodes "$RINGS/object-1.ring.gz" --prefix '' --suffix test-suffix \
	--json "$ACCT/ec/m" >"$D/nodes"
M0=$($PYTHON -c '
import json, sys
print(json.load(open(sys.argv[1]))["primaries"][0]["device"][1:])
' "$D/nodes")
head -c $((80 * 1048576)) /dev/urandom >"$D/f"
code=$(curl -s -o /dev/null -w '%{http_code}' -T "$D/f" -H "$T" "$URL/ec/m")
[ "$code" = 201 ] || fail "PUT m: $code"
curl -s --limit-rate 8M -o "$D/got" -H "$T" "$URL/ec/m" &
cpid=$!
sleep 2
kill_object_server "$M0"
wait "$cpid" || fail "GET m cut when a source was lost"
cmp -s "$D/got" "$D/f" || fail "GET m: other bytes after a source was lost"
grep -q "127.0.0.1:${OBJ_PORTS[$M0]}/d$M0/.*failed mid-body" "$TMPDIR_TEST/proxy.log" ||
	fail "the lost source was not read mid-body (nothing to replace)"
echo "324-proxy-ec-handoffs: ok"
