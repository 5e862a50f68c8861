#!/bin/bash
# tests/integration/102-objectd-timestamps.sh: kumo-objectd orders writes by X-Timestamp as Swift: an older or equal PUT is 409 with X-Backend-Timestamp, DELETE leaves a tombstone (404 with X-Backend-Timestamp), a newer PUT wins; POST replaces the user metadata (202) and may change Content-Type; X-Delete-At in the past answers 404 at once.
. "$(dirname "$0")/../lib/functions.sh"
requires curl kumo-objectd

. "$(dirname "$0")/../lib/objectd.sh"

start_objectd
D=$TMPDIR_TEST/srv
O=/d1/5/a/c/o
h=$(printf '/a/c/okumotest' | md5sum | cut -d' ' -f1)
HD=$D/d1/objects/5/${h: -3}/$h
T1=$(now_ts -100)
T0=$(now_ts -200)
T2=$(now_ts -50)
T3=$(now_ts -40)
T4=$(now_ts -30)
T5=$(now_ts -20)
T6=$(now_ts -10)

put() { # TS BODY [curl args]
	local ts=$1 body=$2
	shift 2
	status PUT $O -H "X-Timestamp: $ts" -H "Content-Type: text/plain" \
		--data-binary "$body" "$@"
}
[ "$(put "$T1" one)" = 201 ] || fail "first PUT"
[ "$(put "$T1" same)" = 409 ] || fail "equal PUT not 409"
[ "$(put "$T0" older)" = 409 ] || fail "older PUT not 409"
bt=$(curl -s -D - -o /dev/null -X PUT -H "X-Timestamp: $T0" \
	-H "Content-Type: text/plain" --data-binary x "$OBJ_URL$O" |
	tr -d '\r' | sed -n 's/^X-Backend-Timestamp: //Ip')
[ "$bt" = "$T1" ] || fail "409 X-Backend-Timestamp '$bt' != $T1"
[ "$(curl -s "$OBJ_URL$O")" = one ] || fail "older PUT changed the body"

# POST replaces the user metadata; the body and ETag stay
[ "$(put "$T2" two -H 'X-Object-Meta-A: 1' -H 'X-Object-Meta-B: 2')" = 201 ] ||
	fail "PUT T2"
expect_status 202 POST $O -H "X-Timestamp: $T3" -H "X-Object-Meta-C: 3" \
	-H "Content-Type: application/new"
ls "$HD" | grep -q "^$T3.meta$" || fail "no .meta: $(ls "$HD")"
curl -s -I "$OBJ_URL$O" | tr -d '\r' >"$TMPDIR_TEST/h"
grep -q "^X-Object-Meta-C: 3" "$TMPDIR_TEST/h" || fail "POST meta missing"
grep -q "^X-Object-Meta-A" "$TMPDIR_TEST/h" && fail "old meta kept by POST"
grep -q "^Content-Type: application/new" "$TMPDIR_TEST/h" || fail "ctype"
grep -q "^X-Timestamp: $T3" "$TMPDIR_TEST/h" || fail "X-Timestamp after POST"
grep -q "^X-Backend-Data-Timestamp: $T2" "$TMPDIR_TEST/h" || fail "data ts"
[ "$(curl -s "$OBJ_URL$O")" = two ] || fail "POST changed the body"
# a POST without Content-Type keeps the one the last POST set
expect_status 202 POST $O -H "X-Timestamp: $T4" -H "X-Object-Meta-D: 4"
curl -s -I "$OBJ_URL$O" | tr -d '\r' >"$TMPDIR_TEST/h"
grep -q "^Content-Type: application/new" "$TMPDIR_TEST/h" || fail "ctype kept"
grep -q "^X-Object-Meta-C" "$TMPDIR_TEST/h" && fail "meta C kept"
grep -q "^X-Object-Meta-D: 4" "$TMPDIR_TEST/h" || fail "meta D"
[ "$(ls "$HD" | grep -c '\.meta$')" -eq 1 ] || fail "old .meta kept"
expect_status 409 POST $O -H "X-Timestamp: $T3" -H "X-Object-Meta-E: 5"
expect_status 404 POST /d1/5/a/c/nothing -H "X-Timestamp: $T3"
expect_status 400 POST $O -H "X-Object-Meta-E: 5"

# DELETE: 204, tombstone, 404 with X-Backend-Timestamp
expect_status 409 DELETE $O -H "X-Timestamp: $T1"
expect_status 204 DELETE $O -H "X-Timestamp: $T5"
[ "$(ls "$HD")" = "$T5.ts" ] || fail "after DELETE: $(ls "$HD")"
curl -s -D "$TMPDIR_TEST/h" -o /dev/null "$OBJ_URL$O"
grep -q "^HTTP/1.1 404" "$TMPDIR_TEST/h" || fail "GET after DELETE"
grep -qi "^X-Backend-Timestamp: $T5" "$TMPDIR_TEST/h" || fail "404 ts"
expect_status 404 HEAD $O
# an older PUT after the DELETE: 409
[ "$(put "$T4" old)" = 409 ] || fail "PUT older than tombstone"
# a second DELETE: 404, tombstone still written
expect_status 404 DELETE $O -H "X-Timestamp: $T6"
[ "$(ls "$HD")" = "$T6.ts" ] || fail "second tombstone: $(ls "$HD")"
expect_status 404 DELETE /d1/5/a/c/never -H "X-Timestamp: $T6"
h2=$(printf '/a/c/neverkumotest' | md5sum | cut -d' ' -f1)
[ -f "$D/d1/objects/5/${h2: -3}/$h2/$T6.ts" ] || fail "no tombstone for absent"
# a newer PUT wins
T7=$(now_ts)
[ "$(put "$T7" three)" = 201 ] || fail "newer PUT"
[ "$(curl -s "$OBJ_URL$O")" = three ] || fail "newer PUT body"
[ "$(ls "$HD")" = "$T7.data" ] || fail "cleanup: $(ls "$HD")"

# X-Delete-At: stored, and 404 once past
soon=$(($(date +%s) + 2))
expect_status 201 PUT /d1/5/a/c/exp -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: text/plain" -H "X-Delete-At: $soon" --data-binary x
curl -s -I "$OBJ_URL/d1/5/a/c/exp" | tr -d '\r' |
	grep -q "^X-Delete-At: $soon" || fail "X-Delete-At not returned"
sleep 3
expect_status 404 GET /d1/5/a/c/exp
expect_status 404 HEAD /d1/5/a/c/exp
expect_status 404 POST /d1/5/a/c/exp -H "X-Timestamp: $(now_ts)"
# X-Delete-After becomes X-Delete-At
expect_status 201 PUT /d1/5/a/c/after -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: text/plain" -H "X-Delete-After: 100" --data-binary x
curl -s -I "$OBJ_URL/d1/5/a/c/after" | tr -d '\r' |
	grep -q "^X-Delete-At: [0-9]\{10\}$" || fail "X-Delete-After"

stop_objectd
echo PASS
