#!/bin/bash
# tests/integration/103-objectd-range-conditional.sh: kumo-objectd GET with Range (one range: 206 and Content-Range; several: 206 multipart/byteranges; none satisfiable: 416 bytes */len; invalid: ignored) and the conditional headers If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since, as swob answers them.
. "$(dirname "$0")/../lib/functions.sh"
requires curl kumo-objectd

. "$(dirname "$0")/../lib/objectd.sh"

start_objectd
O=/d1/2/a/c/o
printf '0123456789abcdefghijklmnopqrstuvwxyz' >"$TMPDIR_TEST/body" # 36 bytes
TS=$(now_ts -3600)
expect_status 201 PUT $O -H "X-Timestamp: $TS" -H "Content-Type: text/x-kumo" \
	--data-binary @"$TMPDIR_TEST/body"
etag=$(md5sum <"$TMPDIR_TEST/body" | cut -d' ' -f1)

get() { # RANGE: body into $TMPDIR_TEST/b, headers into $TMPDIR_TEST/h
	curl -s -D "$TMPDIR_TEST/h" -o "$TMPDIR_TEST/b" -H "Range: $1" "$OBJ_URL$O"
	tr -d '\r' <"$TMPDIR_TEST/h" >"$TMPDIR_TEST/h2"
	mv "$TMPDIR_TEST/h2" "$TMPDIR_TEST/h"
}
has() { grep -qi "^$1" "$TMPDIR_TEST/h" || fail "headers lack '$1': $(cat "$TMPDIR_TEST/h")"; }

get "bytes=2-5"
has "HTTP/1.1 206"; has "Content-Range: bytes 2-5/36"; has "Content-Length: 4"
[ "$(cat "$TMPDIR_TEST/b")" = 2345 ] || fail "range body"
get "bytes=-3"
has "Content-Range: bytes 33-35/36"
[ "$(cat "$TMPDIR_TEST/b")" = xyz ] || fail "suffix body"
get "bytes=30-"
[ "$(cat "$TMPDIR_TEST/b")" = uvwxyz ] || fail "open range body"
get "bytes=30-1000"
has "Content-Range: bytes 30-35/36"
get "bytes=-100"
has "Content-Range: bytes 0-35/36"

# several ranges: multipart/byteranges
get "bytes=0-1,10-12"
has "HTTP/1.1 206"
has "Content-Type: multipart/byteranges;boundary="
b=$(sed -n 's/^Content-Type: multipart\/byteranges;boundary=//Ip' "$TMPDIR_TEST/h")
printf -- '--%s\r\nContent-Type: text/x-kumo\r\nContent-Range: bytes 0-1/36\r\n\r\n01\r\n--%s\r\nContent-Type: text/x-kumo\r\nContent-Range: bytes 10-12/36\r\n\r\nabc\r\n--%s--' \
	"$b" "$b" "$b" >"$TMPDIR_TEST/want"
cmp "$TMPDIR_TEST/want" "$TMPDIR_TEST/b" || fail "multipart body differs"
has "Content-Length: $(stat -c %s "$TMPDIR_TEST/want")"

# unsatisfiable: 416 with Content-Range: bytes */36
get "bytes=36-40"
has "HTTP/1.1 416"; has "Content-Range: bytes \*/36"
get "bytes=100-,200-300"
has "HTTP/1.1 416"
# too many overlapping ranges
get "bytes=0-10,1-11,2-12,3-13"
has "HTTP/1.1 416"
# syntactically invalid: ignored
for r in "bytes=5-3" "bytes=-" "bytes=45" "bytes=a-b" "pages=1-2" "bytes=1-2,"; do
	get "$r"
	has "HTTP/1.1 200"
	cmp -s "$TMPDIR_TEST/b" "$TMPDIR_TEST/body" || fail "'$r' not ignored"
done
# HEAD ignores Range
curl -s -I -H "Range: bytes=0-1" "$OBJ_URL$O" | tr -d '\r' >"$TMPDIR_TEST/h"
has "HTTP/1.1 200"; has "Content-Length: 36"

# conditionals
lm=$(curl -s -I "$OBJ_URL$O" | tr -d '\r' | sed -n 's/^Last-Modified: //Ip')
past="Thu, 01 Jan 2015 00:00:00 GMT"
future="Fri, 01 Jan 2100 00:00:00 GMT"
expect_status 200 GET $O -H "If-Match: \"$etag\""
expect_status 200 GET $O -H "If-Match: *"
expect_status 412 GET $O -H "If-Match: \"nope\""
expect_status 412 HEAD $O -H "If-Match: nope, other"
expect_status 200 GET $O -H "If-Match: nope, $etag"
expect_status 304 GET $O -H "If-None-Match: \"$etag\""
expect_status 304 GET $O -H "If-None-Match: *"
expect_status 200 GET $O -H "If-None-Match: nope"
expect_status 304 GET $O -H "If-Modified-Since: $lm"
expect_status 304 GET $O -H "If-Modified-Since: $future"
expect_status 200 GET $O -H "If-Modified-Since: $past"
expect_status 200 GET $O -H "If-Modified-Since: garbage"
expect_status 412 GET $O -H "If-Unmodified-Since: $past"
expect_status 200 GET $O -H "If-Unmodified-Since: $lm"
expect_status 200 GET $O -H "If-Unmodified-Since: $future"
# If-None-Match wins over If-Modified-Since, as swob checks it first
expect_status 304 GET $O -H "If-None-Match: $etag" -H "If-Modified-Since: $past"
# a 304 carries the ETag and no body
rm -f "$TMPDIR_TEST/b"
curl -s -D "$TMPDIR_TEST/h" -o "$TMPDIR_TEST/b" -H "If-None-Match: $etag" "$OBJ_URL$O"
tr -d '\r' <"$TMPDIR_TEST/h" >"$TMPDIR_TEST/h2" && mv "$TMPDIR_TEST/h2" "$TMPDIR_TEST/h"
has "ETag: \"$etag\""
[ ! -s "$TMPDIR_TEST/b" ] || fail "304 with a body"
# If-Match: * on a missing object: 412
expect_status 412 GET /d1/2/a/c/missing -H "If-Match: *"
expect_status 404 GET /d1/2/a/c/missing -H "If-None-Match: *"

stop_objectd
echo PASS
