#!/bin/bash
# tests/integration/107-objectd-client-hashed-put.sh: a PUT that carries the body's MD5 as its ETag and its XXH3-128 as X-Backend-Body-Xxh128 (kumo's internal client, objclient.c) is checked by the XXH3-128: right, 201 and the ETag stored; wrong, 422 and nothing stored (even with the right ETag); a malformed X-Backend-Body-Xxh128 leaves the usual MD5 check.
. "$(dirname "$0")/../lib/functions.sh"
requires curl md5sum kumo-objectd

. "$(dirname "$0")/../lib/objectd.sh"

start_objectd
D=$TMPDIR_TEST/srv
kumo_body "$TMPDIR_TEST/body"
sum=$BODY_MD5 xxh=$BODY_XXH bad=$BAD_HASH

# right: stored with the ETag given
TS=$(now_ts)
curl -s -D "$TMPDIR_TEST/h" -o /dev/null -X PUT -H "X-Timestamp: $TS" \
	-H "Content-Type: application/x-test" -H "ETag: \"$sum\"" \
	-H "X-Backend-Body-Xxh128: $xxh" --data-binary @"$TMPDIR_TEST/body" \
	"$OBJ_URL/d1/7/a/c/right"
grep -q "^HTTP/1.1 201" "$TMPDIR_TEST/h" || fail "PUT: $(cat "$TMPDIR_TEST/h")"
grep -qi "^etag: \"$sum\"" "$TMPDIR_TEST/h" || fail "PUT etag"
curl -s -I "$OBJ_URL/d1/7/a/c/right" | tr -d '\r' >"$TMPDIR_TEST/h"
grep -qiF "ETag: \"$sum\"" "$TMPDIR_TEST/h" || fail "HEAD: $(cat "$TMPDIR_TEST/h")"
got=$(curl -s "$OBJ_URL/d1/7/a/c/right" | md5sum | cut -d' ' -f1)
[ "$got" = "$sum" ] || fail "GET body differs"

# a body that is not the one hashed (its XXH3-128 differs): 422, even
# though the ETag is the body's MD5; nothing stored, no temp file
expect_status 422 PUT /d1/7/a/c/wrong -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: text/plain" -H "ETag: $sum" \
	-H "X-Backend-Body-Xxh128: $bad" --data-binary @"$TMPDIR_TEST/body"
expect_status 404 GET /d1/7/a/c/wrong
h=$(printf '/a/c/wrongkumotest' | md5sum | cut -d' ' -f1)
[ -z "$(find "$D/d1" -path "*$h*" -name '*.data')" ] || fail "422 stored data"
[ -z "$(ls -A "$D/d1/tmp")" ] || fail "422 left a temp file"

# not 32 hex digits: ignored, the MD5 is checked as always
expect_status 422 PUT /d1/7/a/c/md5 -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: text/plain" -H "ETag: $bad" \
	-H "X-Backend-Body-Xxh128: ${xxh}0" --data-binary @"$TMPDIR_TEST/body"
expect_status 201 PUT /d1/7/a/c/md5 -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: text/plain" -H "ETag: $sum" \
	-H "X-Backend-Body-Xxh128: xyz" --data-binary @"$TMPDIR_TEST/body"
stop_objectd
