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
#   - an overwrite made durable on only two primaries (its COMMIT lost on
#     the others; simulated on disk: the older version's archives put
#     back beside the newer non-durable ones): GET and HEAD give the older
#     version, the newest with k fragment indexes, not a 503;
#   - a source that fails mid-body: the fourth fragment of archive 0
#     rotten on disk (its header names no index 0): the proxy replaces
#     that source from that segment on (logged) and the client gets every
#     byte right, whole and ranged.
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
# an overwrite durable on two primaries only: the older version serves
restart_object_server "$P0"
H=$($PYTHON -c 'import hashlib, sys; print(hashlib.md5(sys.argv[1].encode()).hexdigest())' "/$ACCT/ec/v$(printf test-suffix)")
head -c 100000 /dev/urandom >"$D/v1"
head -c 90000 /dev/urandom >"$D/v2"
curl -s -o /dev/null -T "$D/v1" -H "$T" "$URL/ec/v"
mkdir "$D/old"
find "$NODE_DIR" -path "*/$H/*#d.data" -exec cp -p {} "$D/old/" \;
[ "$(ls "$D/old" | wc -l)" = 6 ] || fail "v1 archives: $(ls "$D/old")"
curl -s -o /dev/null -T "$D/v2" -H "$T" "$URL/ec/v"
n=0
for f in $(find "$NODE_DIR" -path "*/$H/*#d.data" | sort); do
	n=$((n + 1))
	[ "$n" -le 2 ] && continue
	i=$(basename "$f" | cut -d'#' -f2)
	mv "$f" "${f%#d.data}.data"
	cp -p "$D/old/"*"#$i#d.data" "$(dirname "$f")/"
done
curl -s -o "$D/got" -H "$T" "$URL/ec/v"
cmp -s "$D/got" "$D/v1" || fail "GET v: not the older version with k archives"
[ "$(curl -s -I -H "$T" "$URL/ec/v" | tr -d '\r' | awk -F': ' 'tolower($1) == "content-length" { print $2 }')" = 100000 ] ||
	fail "HEAD v: not the older version"

# a source that turns bad mid-body: fragment 3 of archive 0 rotten
head -c $((5 * 65536 + 1000)) /dev/urandom >"$D/f"
curl -s -o /dev/null -T "$D/f" -H "$T" "$URL/ec/m"
H=$($PYTHON -c 'import hashlib, sys; print(hashlib.md5(sys.argv[1].encode()).hexdigest())' "/$ACCT/ec/m$(printf test-suffix)")
A=$(find "$NODE_DIR" -path "*/$H/*#0#d.data")
[ -n "$A" ] || fail "no archive 0 of m"
# each fragment: an 80-byte header (payload size at byte 4), the payload
fsz=$($PYTHON -c '
import struct, sys
print(80 + struct.unpack("<I", open(sys.argv[1], "rb").read()[4:8])[0])' "$A")
flip_byte "$A" $((3 * fsz + 2))
curl -s -o "$D/got" -H "$T" "$URL/ec/m" || fail "GET m cut"
cmp -s "$D/got" "$D/f" || fail "GET m: other bytes with a rotten fragment"
grep -q "GET /$ACCT/ec/m: fragment 0 on .* is not one" "$TMPDIR_TEST/proxy.log" ||
	fail "the rotten fragment was not seen (nothing replaced)"
curl -s -o "$D/got" -H "$T" -H 'Range: bytes=200000-200099' "$URL/ec/m"
dd if="$D/f" bs=1 skip=200000 count=100 2>/dev/null | cmp -s - "$D/got" ||
	fail "Range over the rotten fragment"
echo "324-proxy-ec-handoffs: ok"
