#!/bin/bash
# 341-proxy-dlo: dynamic large objects through kumo-aio, as Swift 2.30's
# dlo middleware answers:
#   - an object with X-Object-Manifest: <container>/<prefix> is the
#     segments under the prefix in name order (others in the container
#     left out); HEAD gives their total length and the quoted MD5 of
#     their ETags concatenated;
#   - a Range across segments; several ranges are ignored (200, whole);
#   - a segment added later is part of the next GET;
#   - X-Copy-From the DLO copies its assembled bytes as a plain object;
#   - ?multipart-manifest=get gives the manifest object itself;
#   - a malformed X-Object-Manifest is a 400 with Swift's message;
#   - the segments' container is read as the requester (tester3 may read
#     the manifest's container only: 403).
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

for c in c segs; do
	[ "$(code -X PUT -H "$T" "$URL/$c")" = 201 ] || fail "container $c"
done
: >whole
: >etags
for i in 3 1 2; do
	head -c $((300000 + i * 1000)) /dev/urandom >p$i
	[ "$(put p$i segs/video/part$i)" = 201 ] || fail "segment $i"
done
for i in 1 2 3; do
	cat p$i >>whole
	md5 <p$i | tr -d '\n' >>etags
done
printf 'other' >other
[ "$(put other segs/videox)" = 201 ] || fail "other object"
[ "$(put other segs/audio/part1)" = 201 ] || fail "audio object"
[ "$(code -X PUT -H "$T" -H 'X-Object-Manifest: segs/video/part' \
	--data-binary '' "$URL/c/movie")" = 201 ] || fail "manifest PUT"

[ "$(curl -s -H "$T" "$URL/c/movie" | md5)" = "$(md5 <whole)" ] ||
	fail "GET of the DLO differs"
curl -s -I -H "$T" "$URL/c/movie" | tr -d '\r' >head
grep -qi "^content-length: $(stat -c %s whole)$" head || { cat head; fail "length"; }
grep -qi "^etag: \"$(md5 <etags)\"$" head || { cat head; fail "ETag"; }
grep -qi "^x-object-manifest: segs/video/part$" head || fail "manifest header"
a=300500 b=605000
[ "$(curl -s -H "$T" -r $a-$b "$URL/c/movie" | md5)" = \
	"$(tail -c +$((a + 1)) whole | head -c $((b - a + 1)) | md5)" ] ||
	fail "range across segments"
[ "$(code -H "$T" -r 0-1,5-6 "$URL/c/movie")" = 200 ] ||
	fail "several ranges are not ignored"

printf 'tail' >p4
[ "$(put p4 segs/video/part4)" = 201 ] || fail "segment 4"
[ "$(curl -s -H "$T" "$URL/c/movie" | md5)" = "$(cat whole p4 | md5)" ] ||
	fail "a later segment is not part of the object"

[ "$(code -X PUT -H "$T" -H 'X-Copy-From: c/movie' --data-binary '' "$URL/c/copy")" = 201 ] ||
	fail "X-Copy-From the DLO"
[ "$(curl -s -H "$T" "$URL/c/copy" | md5)" = "$(cat whole p4 | md5)" ] &&
	! curl -s -I -H "$T" "$URL/c/copy" | grep -qi "^x-object-manifest" ||
	fail "the copy is not the assembled bytes, plain"
[ "$(curl -s -H "$T" "$URL/c/movie?multipart-manifest=get" | wc -c)" = 0 ] ||
	fail "multipart-manifest=get did not give the manifest object"
OUT=bad.out code -X PUT -H "$T" -H 'X-Object-Manifest: nocontainer' \
	--data-binary '' "$URL/c/bad" >bc
[ "$(cat bc)" = 400 ] && grep -q "X-Object-Manifest must be in the format container/prefix" bad.out ||
	fail "malformed X-Object-Manifest: $(cat bc) $(cat bad.out)"

[ "$(code -X POST -H "$T" -H 'X-Container-Read: test:tester3' "$URL/c")" = 204 ] ||
	fail "ACL on c"
read -r T3 _ < <(get_token test:tester3 testing3)
[ "$(code -H "X-Auth-Token: $T3" "$URL/c/movie")" = 403 ] ||
	fail "tester3 listed a container it may not read"
echo "341-proxy-dlo: ok"
