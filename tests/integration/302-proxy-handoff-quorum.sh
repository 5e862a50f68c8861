#!/bin/bash
# 302-proxy-handoff-quorum: writes with failing devices. One object server
# serves d1..d4 (3 replicas); removing a device's directory makes it answer
# 507.
#   - one primary's device gone: the PUT still answers 201, a handoff (the
#     fourth device) holds a replica, the object reads back whole, also
#     with X-Newest;
#   - three of the four devices gone: the PUT answers 503 (one backend
#     ready, quorum is two) and nothing is readable.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl md5sum

PROXY_EXTRA_CONF="error_suppression_interval = 1"
start_proxy_cluster
cd "$TMPDIR_TEST"
read -r TOKEN URL < <(get_token test:tester testing)
T="X-Auth-Token: $TOKEN"
[ "$(status PUT "$URL/c" -H "$T")" = 201 ] || fail "container PUT"

nodes() { # nodes OBJ: the devices of the object, primaries first
	kumo-ring get-nodes "$RINGS/object.ring.gz" --prefix '' \
		--suffix test-suffix --handoffs 1 "AUTH_test/c/$1" |
		awk '/Device/ {print $4}'
}
head -c 3000000 /dev/urandom >f
read -r p1 p2 p3 h1 <<<"$(nodes obj1 | tr "\n" " ")"
mv "node/$p2" "node/$p2.gone"
[ "$(status PUT "$URL/c/obj1" -T f -H "$T")" = 201 ] ||
	fail "PUT with one primary device gone not 201"
ls node/"$h1"/objects/*/*/*/*.data >/dev/null 2>&1 ||
	fail "no replica on the handoff $h1"
[ "$(curl -s -H "$T" "$URL/c/obj1" | md5sum)" = "$(md5sum <f)" ] ||
	fail "object does not read back"
[ "$(curl -s -H "$T" -H 'X-Newest: true' "$URL/c/obj1" | md5sum)" = \
	"$(md5sum <f)" ] || fail "object does not read back with X-Newest"
mv "node/$p2.gone" "node/$p2"

read -r p1 p2 p3 h1 <<<"$(nodes obj2 | tr "\n" " ")"
for d in "$p1" "$p2" "$h1"; do mv "node/$d" "node/$d.gone"; done
[ "$(status PUT "$URL/c/obj2" -T f -H "$T")" = 503 ] ||
	fail "PUT with one device left not 503"
for d in "$p1" "$p2" "$h1"; do mv "node/$d.gone" "node/$d"; done
sleep 1.2 # error limiting of the removed devices ends
[ "$(status GET "$URL/c/obj2" -H "$T")" = 404 ] ||
	fail "a PUT answered 503 left a readable object"
echo "302-proxy-handoff-quorum: ok"
