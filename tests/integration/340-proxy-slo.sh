#!/bin/bash
# 340-proxy-slo: static large objects through kumo-aio, checked with curl
# against what Swift 2.30's slo middleware answers:
#   - PUT ?multipart-manifest=put (paths with and without '/', etag null,
#     a range, inline data): 201 with the SLO ETag (MD5 of the segment
#     ETags, "<etag>:<range>;" for a ranged one, MD5 of inline data);
#   - GET streams the segments (bytes match), HEAD gives the whole length,
#     the quoted SLO ETag and X-Manifest-Etag; Range across segment
#     boundaries, a suffix range, several ranges (multipart/byteranges);
#     If-None-Match on the SLO ETag gives 304; the listing shows the
#     SLO's size;
#   - ?multipart-manifest=get gives the stored form, &format=raw the put
#     form (which puts back as the same object);
#   - a COPY is the assembled bytes, stored as a plain object;
#   - a nested manifest (a sub-SLO segment) streams both levels; 10
#     levels are read, 11 are not (Swift's max_slo_recursion_depth);
#   - refusals: missing segment, wrong etag, wrong size (400 with Swift's
#     per-segment reasons, in text and JSON), bad JSON and bad entries
#     (400 with Swift's lines), too many segments (413), a client ETag
#     that differs (422), X-Static-Large-Object on a plain PUT (400);
#   - segments are read as the requester: test:tester3, who may read the
#     manifest's container but not the segments', gets 409 and cannot
#     build a manifest of them (403 per segment);
#   - a segment changed after the manifest was stored: 409 when it is the
#     first, a cut connection when a later one;
#   - ?multipart-manifest=delete removes every segment (nested too) and
#     the manifest, with bulk delete's summary.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl md5sum

start_cluster
cd "$TMPDIR_TEST"
read -r TOKEN URL < <(get_token test:tester testing)
T="X-Auth-Token: $TOKEN"
md5() { md5sum | cut -c1-32; }
code() { curl -s -o "${OUT:-/dev/null}" -w '%{http_code}' "$@"; }
put() { code -X PUT -H "$T" --data-binary "@$1" "$URL/$2"; }

[ "$(code -X PUT -H "$T" "$URL/c")" = 201 ] || fail "container c"
[ "$(code -X PUT -H "$T" "$URL/segs")" = 201 ] || fail "container segs"
head -c 1500000 /dev/urandom >s1
head -c 1200000 /dev/urandom >s2
head -c 1000 /dev/urandom >s3
for s in s1 s2 s3; do
	[ "$(put $s segs/$s)" = 201 ] || fail "segment $s"
done
e1=$(md5 <s1) e2=$(md5 <s2) e3=$(md5 <s3)
printf 'XYZ' >data
cat >man.json <<J
[{"path": "/segs/s1", "etag": "$e1", "size_bytes": 1500000},
 {"path": "segs/s2", "etag": null},
 {"path": "/segs/s3", "range": "100-"},
 {"data": "WFla"}]
J
cat s1 s2 >whole
tail -c +101 s3 >>whole
cat data >>whole
size=$(stat -c %s whole)
slo_etag=$(printf '%s%s%s:100-999;%s' "$e1" "$e2" "$e3" "$(md5 <data)" | md5)

OUT=put.out code -D put.hdr -X PUT -H "$T" --data-binary @man.json \
	"$URL/c/big?multipart-manifest=put" >put.code
[ "$(cat put.code)" = 201 ] || { cat put.out; fail "manifest PUT: $(cat put.code)"; }
tr -d '\r' <put.hdr | grep -qi "^etag: \"$slo_etag\"$" ||
	{ cat put.hdr; fail "manifest PUT ETag is not Swift's ($slo_etag)"; }

# GET, HEAD
[ "$(curl -s -H "$T" "$URL/c/big" | md5)" = "$(md5 <whole)" ] ||
	fail "GET of the SLO: bytes differ"
curl -s -I -H "$T" "$URL/c/big" | tr -d '\r' >head
grep -qi "^content-length: $size$" head || { cat head; fail "HEAD length"; }
grep -qi "^etag: \"$slo_etag\"$" head || { cat head; fail "HEAD ETag"; }
grep -qi "^x-static-large-object: true$" head || fail "HEAD marker"
grep -qi "^x-manifest-etag: " head || fail "HEAD X-Manifest-Etag"
[ "$(code -H "$T" -H "If-None-Match: \"$slo_etag\"" "$URL/c/big")" = 304 ] ||
	fail "If-None-Match on the SLO ETag"
[ "$(code -H "$T" -H "If-Match: \"$slo_etag\"" "$URL/c/big")" = 200 ] ||
	fail "If-Match on the SLO ETag"
curl -s -H "$T" "$URL/c?format=json" | grep -q "\"bytes\": $size, [^}]*\"name\": \"big\"" ||
	fail "listing size: $(curl -s -H "$T" "$URL/c?format=json")"

# ranges: across s1|s2, across s2|s3-range|data, a suffix, several
check_range() {
	local a=$1 b=$2
	[ "$(curl -s -H "$T" -r "$a-$b" "$URL/c/big" | md5)" = \
		"$(tail -c +$((a + 1)) whole | head -c $((b - a + 1)) | md5)" ] ||
		fail "range $a-$b differs"
}
check_range 1499990 1500010
check_range 2699000 $((size - 1))
check_range 0 0
[ "$(curl -s -H "$T" -r -5 "$URL/c/big" | md5)" = "$(tail -c 5 whole | md5)" ] ||
	fail "suffix range"
OUT=multi code -D multi.hdr -H "$T" -r 0-9,2699890-2699905 "$URL/c/big" >mc
[ "$(cat mc)" = 206 ] || fail "multi-range: $(cat mc)"
grep -qi "^content-type: multipart/byteranges;boundary=" multi.hdr ||
	{ cat multi.hdr; fail "multi-range content type"; }
grep -aq "Content-Range: bytes 2699890-2699905/$size" multi ||
	fail "multi-range part header"
[ "$(code -H "$T" -r "$size-" "$URL/c/big")" = 416 ] || fail "416"

# the manifest itself
curl -s -H "$T" "$URL/c/big?multipart-manifest=get" >stored
grep -q "^\[{\"name\": \"/segs/s1\", \"bytes\": 1500000, \"hash\": \"$e1\", \"content_type\": \"[^\"]*\", \"last_modified\": \"[0-9T:.-]*\"}" stored ||
	{ cat stored; fail "stored manifest form"; }
grep -q "\"range\": \"100-999\"}, {\"data\": \"WFla\"}]$" stored ||
	{ cat stored; fail "stored range and data"; }
curl -s -H "$T" "$URL/c/big?multipart-manifest=get&format=raw" >raw
grep -q "^\[{\"etag\": \"$e1\", \"path\": \"/segs/s1\", \"size_bytes\": 1500000}" raw ||
	{ cat raw; fail "raw manifest"; }
[ "$(put raw 'c/again?multipart-manifest=put')" = 201 ] ||
	fail "the raw form does not put back"
[ "$(curl -s -H "$T" "$URL/c/again" | md5)" = "$(md5 <whole)" ] ||
	fail "the raw form's copy differs"

# nested
echo "[{\"path\": \"/c/big\"}, {\"path\": \"/segs/s3\", \"range\": \"-10\"}]" >outer.json
[ "$(put outer.json 'c/outer?multipart-manifest=put')" = 201 ] ||
	fail "nested manifest PUT"
grep -q '"sub_slo": true' <(curl -s -H "$T" "$URL/c/outer?multipart-manifest=get") ||
	fail "sub_slo not stored"
[ "$(curl -s -H "$T" "$URL/c/outer" | md5)" = "$( (cat whole; tail -c 10 s3) | md5)" ] ||
	fail "nested GET differs"
[ "$(curl -s -H "$T" -r $((size - 3))-$((size + 2)) "$URL/c/outer" | md5)" = \
	"$( (tail -c 3 whole; tail -c 10 s3 | head -c 3) | md5)" ] ||
	fail "nested range"

# Swift's depth limit: 10 manifests deep are read, 11 are not (409)
echo '[{"path": "/segs/s3"}]' >lvl.json
[ "$(put lvl.json 'c/lvl1?multipart-manifest=put')" = 201 ] || fail "lvl1"
for i in $(seq 2 11); do
	echo "[{\"path\": \"/c/lvl$((i - 1))\"}]" >lvl.json
	[ "$(put lvl.json "c/lvl$i?multipart-manifest=put")" = 201 ] || fail "lvl$i"
done
[ "$(curl -s -H "$T" "$URL/c/lvl10" | md5)" = "$(md5 <s3)" ] ||
	fail "10 levels of manifests"
[ "$(code -H "$T" "$URL/c/lvl11")" = 409 ] || fail "11 levels of manifests"

# a COPY is the assembled object, stored plain (as Swift's copy)
[ "$(code -X COPY -H "$T" -H 'Destination: c/copied' "$URL/c/big")" = 201 ] ||
	fail "COPY of the SLO"
curl -s -I -H "$T" "$URL/c/copied" | tr -d '\r' >chead
grep -qi "^etag: \"$(md5 <whole)\"$" chead && grep -qi "^content-length: $size$" chead &&
	! grep -qi "^x-static-large-object" chead || { cat chead; fail "the copy is not plain"; }
[ "$(curl -s -H "$T" "$URL/c/copied" | md5)" = "$(md5 <whole)" ] ||
	fail "the copy's bytes differ"

# refusals
echo "[{\"path\": \"/segs/nope\"}, {\"path\": \"/segs/s1\", \"etag\": \"0123\"}, {\"path\": \"/segs/s2\", \"size_bytes\": 5}]" >bad.json
OUT=bad.out code -X PUT -H "$T" --data-binary @bad.json \
	"$URL/c/bad?multipart-manifest=put" >bc
[ "$(cat bc)" = 400 ] || fail "bad manifest: $(cat bc)"
printf 'Errors:\n/segs/nope, 404 Not Found\n/segs/s1, Etag Mismatch\n/segs/s2, Size Mismatch\n' >want
cmp -s bad.out want || { cat bad.out; fail "400 reasons differ from Swift's"; }
[ "$(curl -s -X PUT -H "$T" -H 'Accept: application/json' --data-binary @bad.json "$URL/c/bad?multipart-manifest=put")" = \
	'{"Errors": [["/segs/nope", "404 Not Found"], ["/segs/s1", "Etag Mismatch"], ["/segs/s2", "Size Mismatch"]]}' ] ||
	fail "JSON reasons"
[ "$(code -H "$T" "$URL/c/bad")" = 404 ] || fail "a refused manifest was stored"
OUT=p.out code -X PUT -H "$T" --data-binary '[{"path": "x"}, {"data": "!"}, 7]' \
	"$URL/c/bad?multipart-manifest=put" >pc
[ "$(cat pc)" = 400 ] && grep -q "^Index 0: path does not refer to an object" p.out &&
	grep -q "^Index 1: data must be valid base64$" p.out &&
	grep -q "^Index 2: not a JSON object$" p.out || { cat p.out; fail "parse errors"; }
[ "$(code -X PUT -H "$T" --data-binary 'nope' "$URL/c/bad?multipart-manifest=put")" = 400 ] ||
	fail "bad JSON"
/usr/bin/python3 -c 'import json; print(json.dumps([{"path": "/segs/s3"}] * 1001))' >many.json
[ "$(put many.json 'c/bad?multipart-manifest=put')" = 413 ] || fail "1001 segments"
[ "$(code -X PUT -H "$T" -H 'Etag: 0123' --data-binary @man.json "$URL/c/bad?multipart-manifest=put")" = 422 ] ||
	fail "client ETag that differs"
[ "$(code -X PUT -H "$T" -H 'X-Static-Large-Object: True' --data-binary x "$URL/c/bad")" = 400 ] ||
	fail "X-Static-Large-Object on a plain PUT"

# as another user: may read c2, not segs
[ "$(code -X PUT -H "$T" -H 'X-Container-Read: test:tester3' -H 'X-Container-Write: test:tester3' "$URL/c2")" = 201 ] ||
	fail "container c2"
[ "$(put man.json 'c2/m?multipart-manifest=put')" = 201 ] || fail "c2/m"
read -r T3 _ < <(get_token test:tester3 testing3)
[ "$(code -H "X-Auth-Token: $T3" "$URL/c2/m")" = 409 ] ||
	fail "tester3 read segments it may not read"
OUT=t3.out code -X PUT -H "X-Auth-Token: $T3" --data-binary @man.json \
	"$URL/c2/m3?multipart-manifest=put" >t3c
[ "$(cat t3c)" = 400 ] && grep -q "^/segs/s1, 403 Forbidden$" t3.out ||
	{ cat t3.out; fail "tester3 built a manifest of segments it may not read"; }

# a segment changed after the manifest was stored
head -c 1200000 /dev/urandom >s2b
[ "$(put s2b segs/s2)" = 201 ] || fail "overwrite s2"
if curl -s -H "$T" "$URL/c/big" -o cut.out; then
	fail "a changed middle segment did not cut the connection"
fi
[ "$(stat -c %s cut.out)" -lt "$size" ] || fail "the cut body is whole"
[ "$(put s2 segs/s2)" = 201 ] || fail "restore s2"
head -c 1500000 /dev/urandom >s1b
[ "$(put s1b segs/s1)" = 201 ] || fail "overwrite s1"
[ "$(code -H "$T" "$URL/c/big")" = 409 ] || fail "changed first segment: not 409"
[ "$(put s1 segs/s1)" = 201 ] || fail "restore s1"

# delete the nested manifest with everything under it
OUT=del.out code -X DELETE -H "$T" "$URL/c/outer?multipart-manifest=delete" >dc
[ "$(cat dc)" = 200 ] || fail "manifest delete: $(cat dc)"
printf 'Number Deleted: 5\nNumber Not Found: 1\nResponse Body: \nResponse Status: 200 OK\nErrors:\n' >want
cmp -s del.out want || { cat del.out; fail "delete summary differs from Swift's"; }
for o in c/outer c/big segs/s1 segs/s2 segs/s3; do
	[ "$(code -H "$T" "$URL/$o")" = 404 ] || fail "$o survived the delete"
done
[ "$(curl -s -X DELETE -H "$T" -H 'Accept: application/json' "$URL/c/outer?multipart-manifest=delete")" = \
	'{"Response Status": "200 OK", "Response Body": "", "Number Deleted": 0, "Number Not Found": 1, "Errors": []}' ] ||
	fail "JSON summary of a missing manifest"
echo "340-proxy-slo: ok"
