#!/bin/bash
# 311-proxy-account-acls: account ACLs in kumo-proxy, as Swift's tempauth
# (X-Account-Access-Control, kept as the account's sysmeta
# X-Account-Sysmeta-Core-Access-Control).
#   - an account admin sets it with POST (also with swift post -H); the
#     owner sees it back (sorted, compact JSON), other users never do;
#   - read-only: GET/HEAD of the account, containers and objects, no
#     writes; read-write: object and container writes, no account POST;
#     admin: everything an owner does, setting ACLs included;
#   - malformed values (bad JSON, not an object, unknown key, a value not
#     a list, a non-string member) are 400 before anything else; a user
#     without rights who sends one valid is 403;
#   - an empty value removes the ACL.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl /usr/bin/swift

start_proxy_cluster
cd "$TMPDIR_TEST"
read -r TOKEN URL < <(get_token test:tester testing)
read -r T2 _ < <(get_token test2:tester2 testing2)
read -r T3 _ < <(get_token test:tester3 testing3)
A="X-Auth-Token: $TOKEN"
B="X-Auth-Token: $T2"
C="X-Auth-Token: $T3"
AC=X-Account-Access-Control
printf 'data\n' >obj
hdr() {
	local u=$1 n=$2
	shift 2
	curl -s -I "$@" "$u" | tr -d '\r' |
		awk -F': ' -v n="$n" 'tolower($1) == tolower(n) { print $2 }'
}

$SWIFT upload c obj >/dev/null || fail "swift upload"
[ "$(status HEAD "$URL" -H "$B")" = 403 ] || fail "tester2 in AUTH_test without ACL"

# read-only, set with the swift client
$SWIFT post -H "$AC: {\"read-only\": [\"test2:tester2\"]}" ||
	fail "swift post of an account ACL"
[ "$(hdr "$URL" $AC -H "$A")" = '{"read-only":["test2:tester2"]}' ] ||
	fail "owner does not see the ACL: $(hdr "$URL" $AC -H "$A")"
[ "$(status HEAD "$URL" -H "$B")" = 204 ] || fail "read-only HEAD account"
[ -z "$(hdr "$URL" $AC -H "$B")" ] || fail "read-only user sees the ACL"
[ "$(curl -s -H "$B" "$URL")" = c ] || fail "read-only account listing"
[ "$(curl -s -H "$B" "$URL/c")" = obj ] || fail "read-only container listing"
[ "$(curl -s -H "$B" "$URL/c/obj")" = data ] || fail "read-only object GET"
[ "$(status PUT "$URL/c/new" -T obj -H "$B")" = 403 ] || fail "read-only PUT"
[ "$(status POST "$URL/c/obj" -H "$B")" = 403 ] || fail "read-only POST"
[ "$(status DELETE "$URL/c/obj" -H "$B")" = 403 ] || fail "read-only DELETE"
[ "$(status PUT "$URL/c2" -H "$B")" = 403 ] || fail "read-only container PUT"
[ "$(status GET "$URL/c/obj" -H "$C")" = 403 ] || fail "tester3 not in the ACL"
/usr/bin/swift -A "$AUTH_URL" -U test2:tester2 -K testing2 \
	--os-storage-url "$URL" list c >l || fail "swift list as read-only"
grep -qx obj l || fail "swift list as read-only: $(cat l)"

# read-write
[ "$(status POST "$URL" -H "$A" -H "$AC: {\"read-write\":[\"test2\"],\"read-only\":[]}")" = 204 ] ||
	fail "POST read-write ACL"
[ "$(hdr "$URL" $AC -H "$A")" = '{"read-only":[],"read-write":["test2"]}' ] ||
	fail "ACL not sorted/compact: $(hdr "$URL" $AC -H "$A")"
[ "$(status PUT "$URL/c/new" -T obj -H "$B")" = 201 ] || fail "read-write PUT"
[ "$(status PUT "$URL/c2" -H "$B")" = 201 ] || fail "read-write container PUT"
[ "$(status POST "$URL/c2" -H "$B" -H 'X-Container-Meta-A: b')" = 204 ] ||
	fail "read-write container POST"
[ "$(status DELETE "$URL/c/new" -H "$B")" = 204 ] || fail "read-write DELETE"
[ "$(status POST "$URL" -H "$B" -H 'X-Account-Meta-X: y')" = 403 ] ||
	fail "read-write account POST"
# a read-write user's container ACL is dropped (Swift: owners only)
[ "$(status POST "$URL/c2" -H "$B" -H 'X-Container-Read: .r:*')" = 204 ] ||
	fail "read-write container POST with an ACL"
[ -z "$(hdr "$URL/c2" X-Container-Read -H "$A")" ] ||
	fail "a read-write user set a container ACL"
[ "$(status POST "$URL" -H "$B" -H "$AC: {\"admin\":[\"test2\"]}")" = 403 ] ||
	fail "read-write user set the account ACL"
[ "$(status POST "$URL" -H "$C" -H "$AC: {\"admin\":[\"test:tester3\"]}")" = 403 ] ||
	fail "user without rights set the account ACL"

# admin
[ "$(status POST "$URL" -H "$A" -H "$AC: {\"admin\":[\"test:tester3\"]}")" = 204 ] ||
	fail "POST admin ACL"
[ "$(status POST "$URL" -H "$C" -H 'X-Account-Meta-By: three')" = 204 ] ||
	fail "ACL admin account POST"
[ "$(hdr "$URL" X-Account-Meta-By -H "$A")" = three ] || fail "ACL admin metadata"
[ "$(hdr "$URL" $AC -H "$C")" = '{"admin":["test:tester3"]}' ] ||
	fail "ACL admin does not see the ACL"
[ "$(status POST "$URL/c" -H "$C" -H 'X-Container-Read: .r:*')" = 204 ] ||
	fail "ACL admin container ACL"
[ "$(hdr "$URL/c" X-Container-Read -H "$A")" = '.r:*' ] ||
	fail "ACL admin's container ACL not stored"
[ "$(status PUT "$URL" -H "$C")" = 405 ] || fail "ACL admin account PUT not 405"
[ "$(status HEAD "$URL" -H "$B")" = 403 ] || fail "tester2 kept its rights"

# malformed: 400 (even from users without rights)
for bad in '{"admin": ' '["test2"]' '{"owner": ["x"]}' '{"admin": "test2"}' \
	'{"read-only": [1]}'; do
	[ "$(status POST "$URL" -H "$A" -H "$AC: $bad")" = 400 ] ||
		fail "malformed ACL '$bad' not 400"
done
curl -s -X POST -H "$B" -H "$AC: {\"owner\":[]}" "$URL" >body
grep -q 'X-Account-Access-Control invalid: Key "owner" not recognized' body ||
	fail "400 body: $(cat body)"
[ "$(hdr "$URL" $AC -H "$A")" = '{"admin":["test:tester3"]}' ] ||
	fail "a malformed ACL changed the stored one"

# removal
[ "$(status POST "$URL" -H "$A" -H "$AC;")" = 204 ] || fail "POST empty ACL"
[ -z "$(hdr "$URL" $AC -H "$A")" ] || fail "ACL not removed"
[ "$(status POST "$URL" -H "$C" -H 'X-Account-Meta-By: x')" = 403 ] ||
	fail "ACL admin kept its rights after removal"
echo "311-proxy-account-acls: ok"
