#!/bin/bash
# 312-proxy-copy: server-side copy in kumo-proxy, as Swift's copy
# middleware: COPY with Destination (and Destination-Account), PUT with
# X-Copy-From (and X-Copy-From-Account).
#   - swift copy (COPY) copies bytes and metadata and adds new metadata;
#     swift copy -M (X-Fresh-Metadata) keeps only the new;
#   - the answer is 201 with X-Copied-From, X-Copied-From-Account and
#     X-Copied-From-Last-Modified (the source's Last-Modified);
#   - PUT + X-Copy-From merges source and request metadata (the request's
#     win), keeps the source's Content-Type unless one is given;
#   - the copy is a new object: its own, newer X-Timestamp; the source is
#     unchanged; a 20 MiB object copies whole (streamed);
#   - a missing source: 404; no Destination: 412; a Destination without
#     an object: 412; a body with X-Copy-From: 400; a missing destination
#     container: 404;
#   - across containers and accounts, under ACLs: a user who may read the
#     source (read ACL) copies into its own account; without read: 403;
#     writing the destination takes write rights (403 else).
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl md5sum /usr/bin/swift

start_proxy_cluster
cd "$TMPDIR_TEST"
read -r TOKEN URL < <(get_token test:tester testing)
read -r T2 URL2 < <(get_token test2:tester2 testing2)
A="X-Auth-Token: $TOKEN"
hdr() {
	local u=$1 n=$2
	shift 2
	curl -s -I "$@" "$u" | tr -d '\r' |
		awk -F': ' -v n="$n" 'tolower($1) == tolower(n) { print $2 }'
}
printf 'copy me\n' >small
curl -s -o /dev/null -X PUT -H "$A" "$URL/src"
curl -s -o /dev/null -X PUT -H "$A" "$URL/dst"
[ "$(status PUT "$URL/src/o" -T small -H "$A" -H 'Content-Type: x/src' \
	-H 'X-Object-Meta-Color: blue' -H 'X-Object-Meta-Shape: round' \
	-H 'Content-Disposition: inline')" = 201 ] || fail "PUT source"
sleep 0.05

# swift copy: COPY, metadata kept and added
$SWIFT copy -d /dst/c1 -m Size:big src o >/dev/null || fail "swift copy"
[ "$(curl -s -H "$A" "$URL/dst/c1")" = "copy me" ] || fail "copy bytes"
curl -s -I -H "$A" "$URL/dst/c1" | tr -d '\r' >h
grep -qi '^x-object-meta-color: blue$' h || fail "source metadata lost: $(cat h)"
grep -qi '^x-object-meta-size: big$' h || fail "new metadata lost: $(cat h)"
grep -qi '^content-type: x/src$' h || fail "source type lost: $(cat h)"
grep -qi '^content-disposition: inline$' h || fail "disposition lost"
grep -qi "^etag: \"\?$(md5sum <small | cut -d' ' -f1)" h || fail "copy etag"
# swift copy -M: fresh metadata
$SWIFT copy -M -d /dst/c2 -m Size:small src o >/dev/null || fail "swift copy -M"
curl -s -I -H "$A" "$URL/dst/c2" | tr -d '\r' >h
grep -qi '^x-object-meta-color:' h && fail "fresh copy kept old metadata"
grep -qi '^x-object-meta-size: small$' h || fail "fresh copy lacks new metadata"

# curl COPY: response headers, own timestamp, source untouched
src_lm=$(hdr "$URL/src/o" Last-Modified -H "$A")
src_ts=$(hdr "$URL/src/o" X-Timestamp -H "$A")
curl -s -o /dev/null -D h -X COPY -H "$A" -H 'Destination: dst/c3' \
	-H 'X-Object-Meta-Color: red' "$URL/src/o"
tr -d '\r' <h >h1
head -1 h1 | grep -q ' 201' || fail "COPY not 201: $(cat h1)"
grep -qi '^x-copied-from: src/o$' h1 || fail "X-Copied-From: $(cat h1)"
grep -qi '^x-copied-from-account: AUTH_test$' h1 || fail "X-Copied-From-Account"
grep -qi "^x-copied-from-last-modified: $src_lm$" h1 ||
	fail "X-Copied-From-Last-Modified: $(cat h1) (source $src_lm)"
[ "$(hdr "$URL/dst/c3" X-Object-Meta-Color -H "$A")" = red ] ||
	fail "request metadata does not win"
[ "$(hdr "$URL/dst/c3" X-Object-Meta-Shape -H "$A")" = round ] ||
	fail "source metadata not merged"
cp_ts=$(hdr "$URL/dst/c3" X-Timestamp -H "$A")
$PYTHON -c 'import sys; assert float(sys.argv[2]) > float(sys.argv[1])' \
	"$src_ts" "$cp_ts" || fail "copy timestamp $cp_ts not after $src_ts"
[ "$(hdr "$URL/src/o" X-Object-Meta-Color -H "$A")" = blue ] ||
	fail "the source changed"
$SWIFT list dst | grep -qx c3 || fail "copy not listed"

# PUT with X-Copy-From
curl -s -o /dev/null -D h -X PUT -H "$A" -H 'X-Copy-From: /src/o' \
	-H 'Content-Type: x/new' -H 'X-Object-Meta-Extra: 1' "$URL/dst/p1"
tr -d '\r' <h >h1
head -1 h1 | grep -q ' 201' || fail "PUT X-Copy-From not 201: $(cat h1)"
grep -qi '^x-copied-from: src/o$' h1 || fail "PUT X-Copied-From"
curl -s -I -H "$A" "$URL/dst/p1" | tr -d '\r' >h
grep -qi '^content-type: x/new$' h || fail "given type not used: $(cat h)"
grep -qi '^x-object-meta-color: blue$' h || fail "PUT copy metadata"
grep -qi '^x-object-meta-extra: 1$' h || fail "PUT copy new metadata"
[ "$(status PUT "$URL/dst/p2" -H "$A" -H 'X-Copy-From: src/o' \
	-H 'X-Fresh-Metadata: true')" = 201 ] || fail "fresh PUT copy"
[ -z "$(hdr "$URL/dst/p2" X-Object-Meta-Color -H "$A")" ] ||
	fail "fresh PUT copy kept metadata"

# errors
[ "$(status COPY "$URL/src/nothere" -H "$A" -H 'Destination: dst/x')" = 404 ] ||
	fail "COPY of a missing source not 404"
[ "$(status PUT "$URL/dst/x" -H "$A" -H 'X-Copy-From: src/nothere')" = 404 ] ||
	fail "X-Copy-From a missing source not 404"
[ "$(status GET "$URL/dst/x" -H "$A")" = 404 ] || fail "failed copy made x"
[ "$(status COPY "$URL/src/o" -H "$A")" = 412 ] || fail "no Destination not 412"
[ "$(status COPY "$URL/src/o" -H "$A" -H 'Destination: onlycontainer')" = 412 ] ||
	fail "Destination without object not 412"
[ "$(status PUT "$URL/dst/x" -H "$A" -H 'X-Copy-From: src/o' -d body)" = 400 ] ||
	fail "X-Copy-From with a body not 400"
[ "$(status COPY "$URL/src/o" -H "$A" -H 'Destination: nocontainer/x')" = 404 ] ||
	fail "COPY into a missing container not 404"
[ "$(status COPY "$URL/src/o")" = 401 ] || fail "anonymous COPY not 401"

# a big object, streamed
head -c 20971520 /dev/urandom >big
$SWIFT upload src big >/dev/null || fail "upload big"
[ "$(status COPY "$URL/src/big" -H "$A" -H 'Destination: /dst/big2')" = 201 ] ||
	fail "COPY of 20 MiB"
[ "$(curl -s -H "$A" "$URL/dst/big2" | md5sum)" = "$(md5sum <big)" ] ||
	fail "20 MiB copy differs"

# across accounts, under ACLs
curl -s -o /dev/null -X PUT -H "X-Auth-Token: $T2" "$URL2/mine"
[ "$(status PUT "$URL2/mine/got" -H "X-Auth-Token: $T2" \
	-H 'X-Copy-From: src/o' -H 'X-Copy-From-Account: AUTH_test')" = 403 ] ||
	fail "copy without read rights on the source not 403"
curl -s -o /dev/null -X POST -H "$A" -H 'X-Container-Read: test2:tester2' "$URL/src"
[ "$(status PUT "$URL2/mine/got" -H "X-Auth-Token: $T2" \
	-H 'X-Copy-From: src/o' -H 'X-Copy-From-Account: AUTH_test')" = 201 ] ||
	fail "cross-account X-Copy-From with a read ACL"
[ "$(curl -s -H "X-Auth-Token: $T2" "$URL2/mine/got")" = "copy me" ] ||
	fail "cross-account copy bytes"
[ "$(status COPY "$URL/src/o" -H "X-Auth-Token: $T2" \
	-H 'Destination: mine/got2' -H 'Destination-Account: AUTH_test2')" = 201 ] ||
	fail "COPY with Destination-Account"
[ "$(status COPY "$URL/src/o" -H "X-Auth-Token: $T2" \
	-H 'Destination: dst/nope')" = 403 ] ||
	fail "COPY into a container without write rights not 403"
[ "$(status COPY "$URL/src/o" -H "$A" \
	-H 'Destination: mine/x' -H 'Destination-Account: AUTH_test2')" = 403 ] ||
	fail "COPY into another account without rights not 403"
echo "312-proxy-copy: ok"
