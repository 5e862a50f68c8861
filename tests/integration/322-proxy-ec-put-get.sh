#!/bin/bash
# 322-proxy-ec-put-get: erasure-coded objects through the proxy (issue 6)
# on six object servers (d1..d6, one device each), policy 1 "ec42"
# (liberasurecode_rs_vand 4+2, 64 KiB segments) and policy 2 "ec42big"
# (4+2, the default 1 MiB segments), each ring six replicas on d1..d6:
#   - PUT/GET of 0, 1, seg-1, seg, seg+1 and 3 seg + 100 bytes: 201 with
#     the body's MD5 as ETag, the bytes back (md5), HEAD's Content-Length
#     and ETag; each object is six durable archives, one per device, and
#     the container lists it with its size and ETag;
#   - a chunked PUT (no Content-Length) reads back whole;
#   - 100 MiB into ec42big, read back (md5);
#   - Range GETs across segment edges (one range: 206 and Content-Range;
#     a suffix range; two ranges: multipart/byteranges), 416 past the end;
#   - If-None-Match on the ETag: 304 (GET and HEAD), If-Match on another:
#     412, If-Modified-Since after it: 304, If-Unmodified-Since before: 412;
#   - a wrong ETag on PUT: 422, nothing readable;
#   - POST metadata shows on HEAD; DELETE: 204 then 404;
#   - two object servers stopped: every object still reads back right
#     (whole and ranged), HEAD too; a PUT then (only k = 4 servers up):
#     503, and once the servers are back nothing of it is readable or
#     listed;
#   - the policy of an EC container cannot change (409).
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/ec_proxy.sh"
requires curl kumo-ring

ec_proxy_cluster 6 65536 1048576
D=$TMPDIR_TEST
H=$D/h
SEG=65536
ec_container ec ec42
ec_container big ec42big

md5() { md5sum "$1" | cut -d' ' -f1; }
hdr() { tr -d '\r' <"$H" | awk -F': ' -v n="$1" 'tolower($1) == tolower(n) { print $2 }'; }

# put NAME FILE [CONTAINER]: 201 with the file's MD5 as ETag
put() {
	local code
	code=$(curl -s -D "$H" -o /dev/null -w '%{http_code}' -X PUT -H "$T" \
		--data-binary @"$2" "$URL/${3:-ec}/$1")
	[ "$code" = 201 ] || fail "PUT $1: $code"
	[ "$(hdr Etag)" = "$(md5 "$2")" ] || fail "PUT $1 ETag: $(hdr Etag)"
}
# check NAME FILE [CONTAINER]: GET gives the file's bytes
check() {
	local code
	code=$(curl -s -o "$D/got" -w '%{http_code}' -H "$T" "$URL/${3:-ec}/$1")
	[ "$code" = 200 ] || fail "GET $1: $code"
	cmp -s "$D/got" "$2" || fail "GET $1: other bytes"
}
# range NAME FILE SPEC FIRST COUNT: Range SPEC gives COUNT bytes at FIRST
range() {
	local code
	code=$(curl -s -D "$H" -o "$D/got" -w '%{http_code}' -H "$T" \
		-H "Range: bytes=$3" "$URL/ec/$1")
	[ "$code" = 206 ] || fail "GET $1 Range $3: $code"
	dd if="$2" of="$D/want" bs=1M iflag=skip_bytes,count_bytes \
		skip="$4" count="$5" 2>/dev/null
	cmp -s "$D/got" "$D/want" || fail "GET $1 Range $3: other bytes"
	[ "$(hdr Content-Range)" = "bytes $4-$(($4 + $5 - 1))/$(stat -c %s "$2")" ] ||
		fail "GET $1 Range $3: Content-Range $(hdr Content-Range)"
}

SIZES="0 1 $((SEG - 1)) $SEG $((SEG + 1)) $((3 * SEG + 100))"
for n in $SIZES; do
	head -c "$n" /dev/urandom >"$D/f$n"
	put "o$n" "$D/f$n"
	check "o$n" "$D/f$n"
	curl -s -I -H "$T" "$URL/ec/o$n" >"$H"
	[ "$(hdr Content-Length)" = "$n" ] || fail "HEAD o$n length: $(hdr Content-Length)"
	[ "$(hdr Etag)" = "\"$(md5 "$D/f$n")\"" ] || fail "HEAD o$n ETag: $(hdr Etag)"
done
# six durable archives per object, one on each device
for k in 1 2 3 4 5 6; do
	n=$(find "$NODE_DIR/obj$k/d$k/objects-1" -name '*#d.data' | wc -l)
	[ "$n" = 6 ] || fail "d$k holds $n durable archives, not 6"
done
[ -z "$(find "$NODE_DIR" -path '*/objects/*' -name '*.data')" ] ||
	fail "EC objects under objects/"
# listed with the whole object's size and ETag
curl -s -H "$T" "$URL/ec?format=json" >"$D/list"
$PYTHON - "$D" "$SEG" "$D/list" <<'PY' || fail "listing: $(cat "$D/list")"
import hashlib, json, sys
d, seg, rows = sys.argv[1], int(sys.argv[2]), json.load(open(sys.argv[3]))
got = {r["name"]: (r["bytes"], r["hash"]) for r in rows}
for n in (0, 1, seg - 1, seg, seg + 1, 3 * seg + 100):
    b = open("%s/f%d" % (d, n), "rb").read()
    assert got.get("o%d" % n) == (n, hashlib.md5(b).hexdigest()), (n, got)
PY

# chunked: no Content-Length, archives sent chunked too
head -c 200000 /dev/urandom >"$D/fchunked"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "$T" \
	-H 'Transfer-Encoding: chunked' --data-binary @"$D/fchunked" "$URL/ec/chunked")
[ "$code" = 201 ] || fail "chunked PUT: $code"
check chunked "$D/fchunked"

# 100 MiB with 1 MiB segments
head -c $((100 * 1048576)) /dev/urandom >"$D/fbig"
code=$(curl -s -o /dev/null -w '%{http_code}' -T "$D/fbig" -H "$T" "$URL/big/o100m")
[ "$code" = 201 ] || fail "100 MiB PUT: $code"
check o100m "$D/fbig" big
rm -f "$D/fbig" "$D/got"

# Range GETs across segment edges (64 KiB segments)
F=$D/f$((3 * SEG + 100))
O=o$((3 * SEG + 100))
range "$O" "$F" "$((SEG - 6))-$((SEG + 9))" $((SEG - 6)) 16
range "$O" "$F" "0-0" 0 1
range "$O" "$F" "$SEG-$((2 * SEG - 1))" $SEG $SEG
range "$O" "$F" "$((SEG - 1))-$((3 * SEG + 1))" $((SEG - 1)) $((2 * SEG + 3))
range "$O" "$F" "-150" $((3 * SEG - 50)) 150
range "$O" "$F" "$((3 * SEG + 99))-" $((3 * SEG + 99)) 1
code=$(curl -s -D "$H" -o "$D/got" -w '%{http_code}' -H "$T" \
	-H "Range: bytes=10-19,$((2 * SEG - 5))-$((2 * SEG + 4))" "$URL/ec/$O")
[ "$code" = 206 ] || fail "two ranges: $code"
$PYTHON - "$F" "$D/got" "$(hdr Content-Type)" "$SEG" <<'PY' || fail "two ranges: body"
import sys
data, body, ct, seg = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read(), sys.argv[3], int(sys.argv[4])
assert ct.startswith("multipart/byteranges;boundary="), ct
b = ct.split("=", 1)[1].encode()
parts = body.split(b"--" + b)
assert parts[0] == b"" and parts[-1] == b"--", parts[-1]
want = [(10, 19), (2 * seg - 5, 2 * seg + 4)]
for p, (a, z) in zip(parts[1:-1], want):
    head, payload = p.split(b"\r\n\r\n", 1)
    assert b"Content-Range: bytes %d-%d/%d" % (a, z, len(data)) in head, head
    assert payload == data[a:z + 1] + b"\r\n", (a, payload[:20])
assert len(parts) == 4
PY
[ "$(status GET "$URL/ec/$O" -H "$T" -H "Range: bytes=$((3 * SEG + 100))-")" = 416 ] ||
	fail "Range past the end not 416"

# conditionals on the whole object's ETag
E=$(md5 "$F")
[ "$(status GET "$URL/ec/$O" -H "$T" -H "If-None-Match: \"$E\"")" = 304 ] ||
	fail "If-None-Match not 304"
[ "$(status GET "$URL/ec/$O" -H "$T" -H "If-Match: \"0123\"")" = 412 ] ||
	fail "If-Match not 412"
[ "$(status GET "$URL/ec/$O" -H "$T" -H "If-Match: \"$E\"")" = 200 ] ||
	fail "If-Match on the ETag not 200"
[ "$(status GET "$URL/ec/$O" -H "$T" -H 'If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT')" = 304 ] ||
	fail "If-Modified-Since in the future not 304"
[ "$(status GET "$URL/ec/$O" -H "$T" -H 'If-Unmodified-Since: Thu, 01 Jan 1998 00:00:00 GMT')" = 412 ] ||
	fail "If-Unmodified-Since in the past not 412"
[ "$(status HEAD "$URL/ec/$O" -H "$T" -H "If-None-Match: \"$E\"")" = 304 ] ||
	fail "HEAD If-None-Match not 304"

# a wrong ETag: 422 and nothing readable
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "$T" \
	-H 'Etag: 0123456789abcdef0123456789abcdef' --data-binary @"$D/f1" "$URL/ec/bad")
[ "$code" = 422 ] || fail "wrong ETag: $code"
[ "$(status GET "$URL/ec/bad" -H "$T")" = 404 ] || fail "422'd object readable"

# POST, DELETE
[ "$(status POST "$URL/ec/o1" -H "$T" -H 'X-Object-Meta-Color: blue')" = 202 ] ||
	fail "POST"
curl -s -I -H "$T" "$URL/ec/o1" >"$H"
[ "$(hdr X-Object-Meta-Color)" = blue ] || fail "POST metadata: $(cat "$H")"
[ "$(hdr Content-Length)" = 1 ] || fail "HEAD after POST"
check o1 "$D/f1"
[ "$(status DELETE "$URL/ec/o0" -H "$T")" = 204 ] || fail "DELETE"
[ "$(status GET "$URL/ec/o0" -H "$T")" = 404 ] || fail "deleted object readable"

# two object servers stopped: k = 4 archives are enough to read
kill_object_server 2
kill_object_server 5
for n in 1 $((SEG - 1)) $SEG $((SEG + 1)) $((3 * SEG + 100)); do
	check "o$n" "$D/f$n"
done
check chunked "$D/fchunked"
range "$O" "$F" "$((SEG - 6))-$((2 * SEG + 9))" $((SEG - 6)) $((SEG + 16))
[ "$(status HEAD "$URL/ec/$O" -H "$T")" = 200 ] || fail "HEAD with two down"
# only k servers up: a PUT cannot be made durable
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "$T" \
	--data-binary @"$F" "$URL/ec/lost")
[ "$code" = 503 ] || fail "PUT with only k servers up: $code"
restart_object_server 2
restart_object_server 5
[ "$(status GET "$URL/ec/lost" -H "$T")" = 404 ] || fail "a 503'd PUT is readable"
[ "$(status HEAD "$URL/ec/lost" -H "$T")" = 404 ] || fail "a 503'd PUT HEADs"
curl -s -H "$T" "$URL/ec" | grep -qx lost && fail "a 503'd PUT is listed"

# the policy of an existing container stays
[ "$(status PUT "$URL/ec" -H "$T" -H 'X-Storage-Policy: gold')" = 409 ] ||
	fail "policy change not 409"
[ "$(status PUT "$URL/ec" -H "$T" -H 'X-Storage-Policy: ec42big')" = 409 ] ||
	fail "change to another EC policy not 409"
echo "322-proxy-ec-put-get: ok"
