#!/bin/bash
# tests/integration/109-objectd-trailer-hashed-put.sh: a chunked PUT whose Trailer names X-Backend-Body-Xxh128 (the proxy's uploads: it hashes the body once and sends X-Backend-Body-Md5 and X-Backend-Body-Xxh128 after it) is checked by the XXH3-128 trailer and stored with the MD5 trailer as its ETag; a wrong or missing trailer, a client ETag other than that MD5, or a body shorter than X-Backend-Obj-Content-Length: refused, nothing stored.
. "$(dirname "$0")/../lib/functions.sh"
requires curl md5sum kumo-objectd

. "$(dirname "$0")/../lib/objectd.sh"

start_objectd
D=$TMPDIR_TEST/srv
kumo_body "$TMPDIR_TEST/body"
sum=$BODY_MD5 xxh=$BODY_XXH bad=$BAD_HASH

# put_trailed NAME [args...]: the status and ETag of a trailer PUT of the body
put_trailed() {
	local name=$1
	shift
	$PYTHON "$TESTS_DIR/lib/trailer_put.py" "$OBJ_URL/d1/7/a/c/$name" \
		"$TMPDIR_TEST/body" -H "X-Timestamp: $(now_ts)" \
		-H "Content-Type: application/x-test" "$@"
}
# nothing_stored NAME: no .data of /a/c/NAME, no temp file
nothing_stored() {
	local h
	expect_status 404 GET "/d1/7/a/c/$1"
	h=$(printf '/a/c/%skumotest' "$1" | md5sum | cut -d' ' -f1)
	[ -z "$(find "$D/d1" -path "*$h*" -name '*.data')" ] || fail "$1: stored data"
	[ -z "$(ls -A "$D/d1/tmp" 2>/dev/null)" ] || fail "$1: left a temp file"
}

# right: 201, the MD5 trailer stored as the ETag, the body whole
got=$(put_trailed right -H "X-Backend-Obj-Content-Length: 1048576" \
	-T "X-Backend-Body-Md5: $sum" -T "X-Backend-Body-Xxh128: $xxh")
[ "$got" = "201 $sum" ] || fail "right: $got"
curl -s -I "$OBJ_URL/d1/7/a/c/right" | tr -d '\r' >"$TMPDIR_TEST/h"
grep -qiF "ETag: \"$sum\"" "$TMPDIR_TEST/h" || fail "HEAD: $(cat "$TMPDIR_TEST/h")"
grep -qiF "Content-Length: 1048576" "$TMPDIR_TEST/h" || fail "HEAD length"
got=$(curl -s "$OBJ_URL/d1/7/a/c/right" | md5sum | cut -d' ' -f1)
[ "$got" = "$sum" ] || fail "GET body differs"

# the same without a length: fine too
got=$(put_trailed nolen -T "X-Backend-Body-Md5: $sum" -T "X-Backend-Body-Xxh128: $xxh")
[ "$got" = "201 $sum" ] || fail "nolen: $got"

# the body is not the one hashed: 422, nothing stored (objectd checks the
# XXH3-128, not an MD5 of its own, which would match)
got=$(put_trailed wrongxxh -T "X-Backend-Body-Md5: $sum" -T "X-Backend-Body-Xxh128: $bad")
[ "${got%% *}" = 422 ] || fail "wrong xxh: $got"
nothing_stored wrongxxh

# trailers announced, none sent (or one): 422, nothing stored
got=$(put_trailed notrailer -H "Trailer: X-Backend-Body-Md5, X-Backend-Body-Xxh128")
[ "${got%% *}" = 422 ] || fail "no trailers: $got"
nothing_stored notrailer
got=$(put_trailed nomd5 -T "X-Backend-Body-Xxh128: $xxh")
[ "${got%% *}" = 422 ] || fail "no md5 trailer: $got"
nothing_stored nomd5

# the client's ETag is checked against the MD5 trailer: 422, nothing
# stored; the same ETag as the trailer's: 201
got=$(put_trailed clientetag -H "ETag: $bad" -T "X-Backend-Body-Md5: $sum" \
	-T "X-Backend-Body-Xxh128: $xxh")
[ "${got%% *}" = 422 ] || fail "client etag: $got"
nothing_stored clientetag
got=$(put_trailed clientok -H "ETag: \"$sum\"" -T "X-Backend-Body-Md5: $sum" \
	-T "X-Backend-Body-Xxh128: $xxh")
[ "$got" = "201 $sum" ] || fail "client etag ok: $got"

# a body shorter than its announced length: 499, nothing stored
got=$(put_trailed short -H "X-Backend-Obj-Content-Length: 1048577" \
	-T "X-Backend-Body-Md5: $sum" -T "X-Backend-Body-Xxh128: $xxh")
[ "${got%% *}" = 499 ] || fail "short: $got"
nothing_stored short
got=$(put_trailed badlen -H "X-Backend-Obj-Content-Length: 12x" \
	-T "X-Backend-Body-Md5: $sum" -T "X-Backend-Body-Xxh128: $xxh")
[ "${got%% *}" = 400 ] || fail "bad length: $got"
stop_objectd
