#!/bin/bash
# tests/integration/116-objectd-xxh128-etag-put.sh: a PUT with X-Backend-Etag-Hash: xxh3-128 (objclient's xxh_etag: volume chunks; objectd/etag.c) stores the body's XXH3-128 as its ETag: right ETag given or none, 201 and that ETag (HEAD and GET say so with X-Backend-Etag-Hash, a whole GET passes the check by it, also after a POST); an ETag that is not the body's XXH3-128 (its MD5, say), 422 and nothing stored; an unknown hash name, or an erasure-coded policy, 400. A PUT without the header keeps the MD5 ETag.
. "$(dirname "$0")/../lib/functions.sh"
requires curl md5sum kumo-objectd

. "$(dirname "$0")/../lib/objectd.sh"

OBJ_EXTRA_CONF="
[storage-policy:0]
name = gold
default = yes
$(ec42_policy_conf 1 ec42)"
start_objectd
D=$TMPDIR_TEST/srv
kumo_body "$TMPDIR_TEST/body"
sum=$BODY_MD5 xxh=$BODY_XXH bad=$BAD_HASH
K="X-Backend-Etag-Hash: xxh3-128"

# check_xxh PATH: HEAD shows the XXH3-128 ETag and names it, a whole GET
# gives the body and quarantines nothing
check_xxh() {
	curl -s -I "$OBJ_URL$1" | tr -d '\r' | tr A-Z a-z >"$TMPDIR_TEST/h"
	grep -qx "etag: \"$xxh\"" "$TMPDIR_TEST/h" || fail "HEAD $1: $(cat "$TMPDIR_TEST/h")"
	grep -qx "x-backend-etag-hash: xxh3-128" "$TMPDIR_TEST/h" ||
		fail "HEAD $1: no X-Backend-Etag-Hash"
	got=$(curl -sf "$OBJ_URL$1" | md5sum | cut -d' ' -f1) || fail "GET $1 failed"
	[ "$got" = "$sum" ] || fail "GET $1: other bytes"
	[ -z "$(ls -A "$D/d1/quarantined/objects" 2>/dev/null)" ] ||
		fail "GET $1 quarantined it"
}

# right ETag: 201 with it
curl -s -D "$TMPDIR_TEST/h" -o /dev/null -X PUT -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: application/octet-stream" -H "$K" -H "ETag: $xxh" \
	--data-binary @"$TMPDIR_TEST/body" "$OBJ_URL/d1/7/a/c/right"
grep -q "^HTTP/1.1 201" "$TMPDIR_TEST/h" || fail "PUT: $(cat "$TMPDIR_TEST/h")"
grep -qi "^etag: \"$xxh\"" "$TMPDIR_TEST/h" || fail "PUT etag: $(cat "$TMPDIR_TEST/h")"
check_xxh /d1/7/a/c/right
# a POST writes a .meta: the ETag's hash stays the .data's
expect_status 202 POST /d1/7/a/c/right -H "X-Timestamp: $(now_ts)" \
	-H "X-Object-Meta-Color: blue"
check_xxh /d1/7/a/c/right

# no ETag given: the XXH3-128 is made and stored
expect_status 201 PUT /d1/7/a/c/none -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: text/plain" -H "$K" --data-binary @"$TMPDIR_TEST/body"
check_xxh /d1/7/a/c/none

# the MD5 as the ETag, a wrong one: 422, nothing stored
for e in "$sum" "$bad"; do
	expect_status 422 PUT /d1/7/a/c/wrong -H "X-Timestamp: $(now_ts)" \
		-H "Content-Type: text/plain" -H "$K" -H "ETag: $e" \
		--data-binary @"$TMPDIR_TEST/body"
done
expect_status 404 GET /d1/7/a/c/wrong
[ -z "$(ls -A "$D/d1/tmp")" ] || fail "422 left a temp file"

# an unknown hash, an erasure-coded archive: 400
expect_status 400 PUT /d1/7/a/c/sha -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: text/plain" -H "X-Backend-Etag-Hash: sha256" \
	--data-binary @"$TMPDIR_TEST/body"
expect_status 400 PUT /d1/7/a/c/ec -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: text/plain" -H "$K" \
	-H "X-Backend-Storage-Policy-Index: 1" \
	-H "X-Object-Sysmeta-Ec-Frag-Index: 0" --data-binary @"$TMPDIR_TEST/body"

# without the header: the MD5, as always
expect_status 201 PUT /d1/7/a/c/md5 -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: text/plain" --data-binary @"$TMPDIR_TEST/body"
curl -s -I "$OBJ_URL/d1/7/a/c/md5" | tr -d '\r' >"$TMPDIR_TEST/h"
grep -qiF "ETag: \"$sum\"" "$TMPDIR_TEST/h" || fail "HEAD md5: $(cat "$TMPDIR_TEST/h")"
grep -qi "X-Backend-Etag-Hash" "$TMPDIR_TEST/h" && fail "an MD5 ETag says X-Backend-Etag-Hash"
stop_objectd
