#!/bin/bash
# 303-proxy-containers: containers and accounts through kumo-proxy.
#   - container PUT 201, again 202; HEAD; POST metadata 204 and HEAD
#     shows it; listing query parameters passed through (prefix,
#     delimiter, marker, end_marker, limit, reverse, format=json, Accept);
#     limit over 10000: 412;
#   - DELETE of a non-empty container: 409; emptied: 204; then 404, and
#     an object PUT into it 404 (the proxy's container cache emptied);
#   - account: listing (plain, json), POST metadata shows in HEAD, object
#     and container counts converge.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl

start_proxy_cluster
read -r TOKEN URL < <(get_token test:tester testing)
T="X-Auth-Token: $TOKEN"
C=$URL/box
[ "$(status PUT "$C" -H "$T")" = 201 ] || fail "container PUT not 201"
[ "$(status PUT "$C" -H "$T")" = 202 ] || fail "second PUT not 202"
[ "$(status HEAD "$C" -H "$T")" = 204 ] || fail "HEAD not 204"
[ "$(status POST "$C" -H "$T" -H 'X-Container-Meta-Shade: red')" = 204 ] ||
	fail "container POST not 204"
curl -s -I -H "$T" "$C" | tr -d '\r' | grep -qi '^x-container-meta-shade: red$' ||
	fail "container metadata missing"
[ "$(status HEAD "$URL/nobox" -H "$T")" = 404 ] || fail "missing not 404"

for o in a/1 a/2 b/1 c d; do
	printf x | curl -s -o /dev/null -T - -H "$T" "$C/$o"
done
list() { curl -s -H "$T" "$C?$1"; }
[ "$(list '' | tr '\n' ' ')" = "a/1 a/2 b/1 c d " ] || fail "listing: $(list '')"
[ "$(list 'prefix=a/' | tr '\n' ' ')" = "a/1 a/2 " ] || fail "prefix"
[ "$(list 'delimiter=/' | tr '\n' ' ')" = "a/ b/ c d " ] || fail "delimiter"
[ "$(list 'marker=b/1' | tr '\n' ' ')" = "c d " ] || fail "marker"
[ "$(list 'end_marker=b' | tr '\n' ' ')" = "a/1 a/2 " ] || fail "end_marker"
[ "$(list 'limit=2' | tr '\n' ' ')" = "a/1 a/2 " ] || fail "limit"
[ "$(list 'reverse=true&limit=1')" = "d" ] || fail "reverse"
list 'format=json' | $PYTHON -c 'import json,sys; l=json.load(sys.stdin); assert [o["name"] for o in l]==["a/1","a/2","b/1","c","d"] and l[0]["bytes"]==1' ||
	fail "json listing"
curl -s -H "$T" -H 'Accept: application/json' "$C" | $PYTHON -c 'import json,sys; json.load(sys.stdin)' ||
	fail "Accept: application/json listing"
[ "$(status GET "$C?limit=10001" -H "$T")" = 412 ] || fail "limit 10001 not 412"

[ "$(status DELETE "$C" -H "$T")" = 409 ] || fail "non-empty DELETE not 409"
for o in a/1 a/2 b/1 c d; do
	curl -s -o /dev/null -X DELETE -H "$T" "$C/$o"
done
[ "$(status DELETE "$C" -H "$T")" = 204 ] || fail "empty DELETE not 204"
[ "$(status HEAD "$C" -H "$T")" = 404 ] || fail "deleted container not 404"
[ "$(status DELETE "$C" -H "$T")" = 404 ] || fail "second DELETE not 404"
# the proxy remembered the container for its object requests; deleting it
# through the proxy forgets that: an object PUT now finds no container
[ "$(status PUT "$C/late" -H "$T" --data-binary x)" = 404 ] ||
	fail "object PUT into the deleted container not 404"

# accounts
[ "$(status PUT "$URL/one" -H "$T")" = 201 ] || fail "PUT one"
[ "$(status PUT "$URL/two" -H "$T")" = 201 ] || fail "PUT two"
printf abc | curl -s -o /dev/null -T - -H "$T" "$URL/one/o"
[ "$(curl -s -H "$T" "$URL" | tr '\n' ' ')" = "one two " ] ||
	fail "account listing: $(curl -s -H "$T" "$URL")"
curl -s -H "$T" "$URL?format=json" | $PYTHON -c 'import json,sys; l=json.load(sys.stdin); assert [c["name"] for c in l]==["one","two"]' ||
	fail "account json listing"
[ "$(status POST "$URL" -H "$T" -H 'X-Account-Meta-Owner: me')" = 204 ] ||
	fail "account POST not 204"
curl -s -I -H "$T" "$URL" | tr -d '\r' >"$TMPDIR_TEST/h"
grep -qi '^x-account-meta-owner: me$' "$TMPDIR_TEST/h" ||
	fail "account metadata missing"
grep -qi '^x-account-container-count: 2$' "$TMPDIR_TEST/h" ||
	fail "container count: $(cat "$TMPDIR_TEST/h")"
for i in $(seq 1 50); do
	curl -s -I -H "$T" "$URL" | tr -d '\r' | grep -qi '^x-account-bytes-used: 3$' && break
	sleep 0.2
done
[ "$i" -lt 50 ] || fail "account bytes used did not converge"
echo "303-proxy-containers: ok"
