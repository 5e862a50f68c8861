#!/bin/bash
# 301-proxy-objects: objects through kumo-proxy with the swift client and
# curl.
#   - a 20 MiB upload and download with the swift client: md5 equal; the
#     object is listed, stat shows its size and ETag;
#   - PUT answers 201 with the body's ETag; a wrong ETag: 422; chunked
#     upload works; no Content-Length and not chunked: 411; over 5 GiB:
#     413; a missing container: 404;
#   - Content-Type guessed from the name when absent (.txt, .json, none);
#   - GET with Range: 206 and the bytes; If-None-Match: 304; HEAD;
#     X-Newest; POST replaces metadata (202); DELETE 204 then 404.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl md5sum /usr/bin/swift

start_proxy_cluster
cd "$TMPDIR_TEST"
head -c 20971520 /dev/urandom >big
$SWIFT upload photos big >/dev/null || fail "swift upload failed"
$SWIFT download photos big -o back >/dev/null || fail "swift download failed"
[ "$(md5sum <big)" = "$(md5sum <back)" ] || fail "downloaded bytes differ"
$SWIFT list photos | grep -qx big || fail "big is not listed"
$SWIFT stat photos big >st || fail "swift stat of the object"
grep -q "Content Length: 20971520" st || fail "stat size: $(cat st)"
grep -q "ETag: \"\?$(md5sum <big | cut -d" " -f1)" st || fail "stat etag: $(cat st)"

read -r TOKEN URL < <(get_token test:tester testing)
T="X-Auth-Token: $TOKEN"
C=$URL/photos
printf 'hello world\n' >small
sum=$(md5sum <small | cut -d' ' -f1)
curl -s -D h -o /dev/null -T small -H "$T" "$C/hello.txt"
grep -q "^HTTP/1.1 201" h || fail "PUT not 201: $(cat h)"
grep -qi "^etag: $sum" h || fail "PUT etag: $(cat h)"
[ "$(curl -s -H "$T" "$C/hello.txt")" = "hello world" ] || fail "GET body"
[ "$(status PUT "$C/bad" -T small -H "$T" -H 'ETag: 0123456789abcdef0123456789abcdef')" = 422 ] ||
	fail "wrong ETag not 422"
[ "$(status GET "$C/bad" -H "$T")" = 404 ] || fail "422 upload is readable"

# chunked, 411, 413, missing container
head -c 300000 /dev/urandom >mid
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "$T" \
	-H 'Transfer-Encoding: chunked' -T - "$C/chunked" <mid)" = 201 ] ||
	fail "chunked PUT not 201"
[ "$(curl -s -H "$T" "$C/chunked" | md5sum)" = "$(md5sum <mid)" ] ||
	fail "chunked upload reads back different"
$PYTHON - "$PROXY_PORT" "$TOKEN" <<'PY' || fail "411/413 checks"
import http.client, sys
port, tok = int(sys.argv[1]), sys.argv[2]
def put(headers):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.putrequest("PUT", "/v1/AUTH_test/photos/x", skip_accept_encoding=True)
    c.putheader("X-Auth-Token", tok)
    for k, v in headers.items():
        c.putheader(k, v)
    c.endheaders()
    r = c.getresponse()
    return r.status
assert put({}) == 411, "no length"
assert put({"Content-Length": str(5 * 2**30 + 3)}) == 413, "too large"
PY
[ "$(status PUT "$URL/nocontainer/x" -T small -H "$T")" = 404 ] ||
	fail "PUT into a missing container not 404"

# Content-Type guessed
curl -s -o /dev/null -T small -H "$T" "$C/data.json"
curl -s -o /dev/null -T small -H "$T" "$C/noext"
curl -s -o /dev/null -T small -H "$T" -H 'Content-Type: x/given' "$C/g.txt"
ct() { curl -s -I -H "$T" "$C/$1" | tr -d '\r' | awk -F': ' 'tolower($1)=="content-type"{print $2}'; }
[ "$(ct hello.txt)" = text/plain ] || fail "txt type $(ct hello.txt)"
[ "$(ct data.json)" = application/json ] || fail "json type $(ct data.json)"
[ "$(ct noext)" = application/octet-stream ] || fail "default type"
[ "$(ct g.txt)" = x/given ] || fail "given type replaced"

# Range, conditional, HEAD, X-Newest
[ "$(curl -s -H "$T" -H 'Range: bytes=6-10' "$C/hello.txt")" = world ] ||
	fail "Range body"
[ "$(status GET "$C/hello.txt" -H "$T" -H 'Range: bytes=6-10')" = 206 ] ||
	fail "Range not 206"
[ "$(status GET "$C/hello.txt" -H "$T" -H "If-None-Match: \"$sum\"")" = 304 ] ||
	fail "If-None-Match not 304"
curl -s -I -H "$T" "$C/hello.txt" | tr -d '\r' >h
grep -qi "^content-length: 12$" h || fail "HEAD length: $(cat h)"
[ "$(curl -s -H "$T" -H 'X-Newest: true' "$C/hello.txt")" = "hello world" ] ||
	fail "X-Newest GET"

# POST metadata, DELETE
[ "$(status POST "$C/hello.txt" -H "$T" -H 'X-Object-Meta-Color: blue')" = 202 ] ||
	fail "POST not 202"
curl -s -I -H "$T" "$C/hello.txt" | tr -d '\r' >h
grep -qi "^x-object-meta-color: blue$" h || fail "metadata not set"
[ "$(status POST "$C/nothere" -H "$T")" = 404 ] || fail "POST missing not 404"
[ "$(status DELETE "$C/hello.txt" -H "$T")" = 204 ] || fail "DELETE not 204"
[ "$(status GET "$C/hello.txt" -H "$T")" = 404 ] || fail "deleted still there"
[ "$(status DELETE "$C/hello.txt" -H "$T")" = 404 ] || fail "2nd DELETE not 404"
$SWIFT delete photos big >/dev/null || fail "swift delete failed"
$SWIFT list photos | grep -qx big && fail "big still listed after delete"
echo "301-proxy-objects: ok"
