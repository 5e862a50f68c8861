#!/bin/bash
# 304-proxy-constraints: what kumo-proxy refuses, with Swift's statuses
# and a body naming the limit.
#   - names: object over 1024 bytes, container over 256, account over 256:
#     400; invalid UTF-8 or an encoded NUL in the path: 412; an empty
#     account or container segment (//): 412; an unknown API version: 400;
#   - metadata: name over 128, value over 256, more than 90 items, over
#     4096 bytes in all: 400 naming the limit;
#   - unknown methods: 405 with Allow; a PUT/DELETE of an account: 405.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl

start_proxy_cluster
read -r TOKEN URL < <(get_token test:tester testing)
T="X-Auth-Token: $TOKEN"
[ "$(status PUT "$URL/c" -H "$T")" = 201 ] || fail "container PUT"
long() { head -c "$1" /dev/zero | tr '\0' x; }

body() { curl -s --path-as-is "$@"; }
[ "$(status PUT "$URL/c/$(long 1025)" -H "$T" --data-binary x)" = 400 ] ||
	fail "1025-byte object name not 400"
body -X PUT -H "$T" --data-binary x "$URL/c/$(long 1025)" |
	grep -q "longer than 1024" || fail "object name message"
[ "$(status PUT "$URL/c/$(long 1024)" -H "$T" --data-binary x)" = 201 ] ||
	fail "1024-byte object name refused"
[ "$(status PUT "$URL/$(long 257)" -H "$T")" = 400 ] ||
	fail "257-byte container name not 400"
[ "$(status PUT "$URL/$(long 256)" -H "$T")" = 201 ] ||
	fail "256-byte container name refused"
read -r TA _ < <(get_token admin:admin admin)
[ "$(status HEAD "$PROXY_URL/v1/AUTH_$(long 300)" -H "X-Auth-Token: $TA")" = 400 ] ||
	fail "305-byte account name not 400"
[ "$(status GET "$URL/c/%FF%FE" -H "$T")" = 412 ] || fail "bad UTF-8 not 412"
[ "$(status GET "$URL/c/a%00b" -H "$T")" = 412 ] || fail "NUL not 412"
[ "$(status GET "$PROXY_URL/v1//c" -H "$T" --path-as-is)" = 412 ] ||
	fail "empty account not 412"
[ "$(status GET "$URL//o" -H "$T" --path-as-is)" = 412 ] ||
	fail "empty container not 412"
[ "$(status GET "$PROXY_URL/v2/AUTH_test" -H "$T")" = 400 ] ||
	fail "unknown version not 400"

meta() { status POST "$URL/c" -H "$T" "$@"; }
[ "$(meta -H "X-Container-Meta-$(long 129): v")" = 400 ] ||
	fail "129-byte metadata name not 400"
body -X POST -H "$T" -H "X-Container-Meta-$(long 129): v" "$URL/c" |
	grep -q "Metadata name too long" || fail "metadata name message"
[ "$(meta -H "X-Container-Meta-K: $(long 257)")" = 400 ] ||
	fail "257-byte metadata value not 400"
body -X POST -H "$T" -H "X-Container-Meta-K: $(long 257)" "$URL/c" |
	grep -q "Metadata value longer than 256" || fail "value message"
args=()
for i in $(seq 1 91); do args+=(-H "X-Container-Meta-K$i: v"); done
[ "$(meta "${args[@]}")" = 400 ] || fail "91 metadata items not 400"
body -X POST -H "$T" "${args[@]}" "$URL/c" |
	grep -q "Too many metadata items; max 90" || fail "count message"
args=()
for i in $(seq 1 20); do args+=(-H "X-Container-Meta-K$i: $(long 250)"); done
[ "$(meta "${args[@]}")" = 400 ] || fail "5000 bytes of metadata not 400"
body -X POST -H "$T" "${args[@]}" "$URL/c" |
	grep -q "Total metadata too large; max 4096" || fail "size message"
[ "$(status POST "$URL/c/$(long 1024)" -H "$T" -H "X-Object-Meta-$(long 129): v")" = 400 ] ||
	fail "object metadata name not checked"
[ "$(meta -H "X-Container-Meta-Ok: fine")" = 204 ] || fail "good POST"

[ "$(status FROB "$URL/c" -H "$T")" = 405 ] || fail "unknown method not 405"
curl -s -D - -o /dev/null -X FROB -H "$T" "$URL/c/o" | grep -qi '^allow:' ||
	fail "405 without Allow"
[ "$(status DELETE "$URL" -H "$T")" = 405 ] ||
	[ "$(status DELETE "$URL" -H "$T")" = 403 ] || fail "account DELETE"
echo "304-proxy-constraints: ok"
