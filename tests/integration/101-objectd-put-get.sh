#!/bin/bash
# tests/integration/101-objectd-put-get.sh: kumo-objectd PUT and GET: a 20 MiB body (Content-Length and chunked) comes back equal, metadata is stored with the data, an ETag mismatch is 422 and stores nothing, and the PUT preconditions answer as Swift's (400, 411, 412).
. "$(dirname "$0")/../lib/functions.sh"
requires curl md5sum kumo-objectd

. "$(dirname "$0")/../lib/objectd.sh"

start_objectd
D=$TMPDIR_TEST/srv
head -c $((20 * 1024 * 1024)) /dev/urandom >"$TMPDIR_TEST/big"
sum=$(md5sum <"$TMPDIR_TEST/big" | cut -d' ' -f1)
meta4k=$(printf 'v%.0s' $(seq 250))

TS=$(now_ts)
curl -s -D "$TMPDIR_TEST/h" -o /dev/null -X PUT -H "X-Timestamp: $TS" \
	-H "Content-Type: application/x-test" -H "X-Object-Meta-Color: blue" \
	-H "X-Object-Meta-Big: $meta4k" -H "Content-Disposition: inline" \
	-H "Content-Encoding: gzip" -H "X-Object-Sysmeta-Kumo: s" \
	-H "ETag: $sum" --data-binary @"$TMPDIR_TEST/big" "$OBJ_URL/d1/7/a/c/big"
grep -q "^HTTP/1.1 201" "$TMPDIR_TEST/h" || fail "PUT: $(cat "$TMPDIR_TEST/h")"
grep -qi "^etag: \"$sum\"" "$TMPDIR_TEST/h" || fail "PUT etag"
# one .data in the hash dir, no temp file left
n=$(find "$D/d1/objects/7" -name '*.data' | wc -l)
[ "$n" -eq 1 ] || fail "$n .data files"
[ -z "$(ls -A "$D/d1/tmp")" ] || fail "tmp not empty"
# the file is named after the hash of /a/c/big and the timestamp
h=$(printf '/a/c/bigkumotest' | md5sum | cut -d' ' -f1)
[ -f "$D/d1/objects/7/${h: -3}/$h/$TS.data" ] || fail "layout: $(find "$D/d1")"

got=$(curl -s "$OBJ_URL/d1/7/a/c/big" | md5sum | cut -d' ' -f1)
[ "$got" = "$sum" ] || fail "GET body differs"
curl -s -I "$OBJ_URL/d1/7/a/c/big" | tr -d '\r' >"$TMPDIR_TEST/h"
for want in "Content-Length: 20971520" "Content-Type: application/x-test" \
	"ETag: \"$sum\"" "X-Timestamp: $TS" "X-Backend-Timestamp: $TS" \
	"X-Object-Meta-Color: blue" "X-Object-Meta-Big: $meta4k" \
	"Content-Disposition: inline" "Content-Encoding: gzip" \
	"X-Object-Sysmeta-Kumo: s" "Last-Modified: "; do
	grep -qiF "$want" "$TMPDIR_TEST/h" || fail "HEAD lacks '$want'"
done

# chunked upload
TS=$(now_ts)
expect_status 201 PUT /d2/7/a/c/chunked -H "X-Timestamp: $TS" \
	-H "Content-Type: text/plain" -H "Transfer-Encoding: chunked" \
	--data-binary @"$TMPDIR_TEST/big"
got=$(curl -s "$OBJ_URL/d2/7/a/c/chunked" | md5sum | cut -d' ' -f1)
[ "$got" = "$sum" ] || fail "chunked GET body differs"

# ETag mismatch: 422, nothing stored, no temp file
TS=$(now_ts)
expect_status 422 PUT /d1/7/a/c/bad -H "X-Timestamp: $TS" \
	-H "Content-Type: text/plain" -H "ETag: 0123456789abcdef0123456789abcdef" \
	--data-binary @"$TMPDIR_TEST/big"
expect_status 404 GET /d1/7/a/c/bad
h=$(printf '/a/c/badkumotest' | md5sum | cut -d' ' -f1)
[ -z "$(find "$D/d1" -path "*$h*" -name '*.data')" ] || fail "422 stored data"
[ -z "$(ls -A "$D/d1/tmp")" ] || fail "422 left a temp file"

# preconditions
expect_status 400 PUT /d1/7/a/c/x -H "Content-Type: text/plain" --data-binary x
expect_status 400 PUT /d1/7/a/c/x -H "X-Timestamp: yesterday" \
	-H "Content-Type: text/plain" --data-binary x
expect_status 400 PUT /d1/7/a/c/x -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type:" --data-binary x
expect_status 411 PUT /d1/7/a/c/x -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: text/plain"
expect_status 400 PUT /d1/7/a/c/x -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: text/plain" -H "X-Delete-At: 1000" --data-binary x
expect_status 400 PUT /d1/7/a/c/x -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: text/plain" -H "X-Object-Meta-Long: $(printf 'v%.0s' $(seq 257))" --data-binary x
# If-None-Match: * against a live object
expect_status 412 PUT /d1/7/a/c/big -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: text/plain" -H "If-None-Match: *" --data-binary x
expect_status 201 PUT /d1/7/a/c/new -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: text/plain" -H "If-None-Match: *" --data-binary x
# an empty object
expect_status 201 PUT /d1/7/a/c/empty -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: text/plain" -H "Content-Length: 0"
curl -s -D "$TMPDIR_TEST/h" -o "$TMPDIR_TEST/b" "$OBJ_URL/d1/7/a/c/empty"
grep -q "^HTTP/1.1 200" "$TMPDIR_TEST/h" || fail "empty GET"
[ ! -s "$TMPDIR_TEST/b" ] || fail "empty body not empty"
grep -qi 'etag: "d41d8cd98f00b204e9800998ecf8427e"' "$TMPDIR_TEST/h" ||
	fail "empty etag"

stop_objectd
echo PASS
