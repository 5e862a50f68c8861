#!/bin/bash
# 342-proxy-tempurl: temporary URLs made by python3-swiftclient's
# `swift tempurl` (and Python's hmac for SHA1), used with curl, as Swift
# 2.30's tempurl middleware answers them:
#   - account keys (Key and Key-2) and container keys; SHA256 hex (the
#     client's default), SHA512 base64 (sha512:...), SHA1 hex; expiry as
#     unix seconds or ISO 8601;
#   - GET, HEAD with a GET signature, PUT, prefix-based URLs (any object
#     under the prefix, none outside it);
#   - refused with 401 and Swift's body: no key set, wrong key, expired,
#     another method (DELETE with a GET signature), another object, an
#     incomplete query; X-Object-Manifest on a temp URL PUT is a 400;
#   - GET/HEAD answers carry Content-Disposition (attachment named after
#     the object, inline, filename=) and Expires, and hide X-Object-Meta-*
#     but X-Object-Meta-Public-*;
#   - a temp URL GET of a static large object reads its segments in the
#     same account;
#   - a request without temp URL parameters still needs a token (401).
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl /usr/bin/swift /usr/bin/python3

start_cluster
cd "$TMPDIR_TEST"
read -r TOKEN URL < <(get_token test:tester testing)
T="X-Auth-Token: $TOKEN"
P=http://127.0.0.1:$PROXY_PORT
A=${URL##*/}
code() { curl -s -o "${OUT:-/dev/null}" -w '%{http_code}' "$@"; }
tu() { /usr/bin/swift tempurl "$@"; }

[ "$(code -X PUT -H "$T" "$URL/c")" = 201 ] || fail "container"
printf 'hello temp url' >obj
[ "$(code -X PUT -H "$T" -H 'X-Object-Meta-Secret: s' \
	-H 'X-Object-Meta-Public-Shown: y' --data-binary @obj "$URL/c/t.txt")" = 201 ] ||
	fail "object PUT"

u=$(tu GET 3600 "/v1/$A/c/t.txt" akey)
OUT=nokey.out code "$P$u" >nc
[ "$(cat nc)" = 401 ] && [ "$(cat nokey.out)" = "401 Unauthorized: Temp URL invalid" ] ||
	fail "no key set: $(cat nc) $(cat nokey.out)"
[ "$(code -X POST -H "$T" -H 'X-Account-Meta-Temp-URL-Key: akey' \
	-H 'X-Account-Meta-Temp-URL-Key-2: akey2' "$URL")" = 204 ] || fail "account keys"
[ "$(code -X POST -H "$T" -H 'X-Container-Meta-Temp-URL-Key: ckey' "$URL/c")" = 204 ] ||
	fail "container key"

# GET with each key and digest
OUT=get.out code -D get.hdr "$P$u" >gc
[ "$(cat gc)" = 200 ] && cmp -s get.out obj || fail "GET (account key, sha256): $(cat gc)"
tr -d '\r' <get.hdr >h
grep -qi "^content-disposition: attachment; filename=\"t.txt\"; filename\*=UTF-8''t.txt$" h ||
	{ cat h; fail "Content-Disposition"; }
grep -qi "^expires: " h || fail "Expires"
grep -qi "^x-object-meta-secret" h && fail "X-Object-Meta-Secret shown"
grep -qi "^x-object-meta-public-shown: y" h || fail "X-Object-Meta-Public-* hidden"
u2=$(tu --digest sha512 GET 3600 "/v1/$A/c/t.txt" ckey)
case "$u2" in *temp_url_sig=sha512:*) ;; *) fail "not a sha512 URL: $u2" ;; esac
[ "$(code "$P$u2")" = 200 ] || fail "GET (container key, sha512)"
[ "$(code "$P$(tu GET 3600 "/v1/$A/c/t.txt" akey2)")" = 200 ] || fail "Key-2"
exp=$(($(date +%s) + 600))
sig=$(/usr/bin/python3 -c "import hmac, hashlib, sys
print(hmac.new(b'ckey', ('GET\n%s\n/v1/$A/c/t.txt' % sys.argv[1]).encode(), hashlib.sha1).hexdigest())" $exp)
[ "$(code "$P/v1/$A/c/t.txt?temp_url_sig=$sig&temp_url_expires=$exp")" = 200 ] ||
	fail "GET (sha1 hex)"
[ "$(code "$P$(tu --iso8601 GET 3600 "/v1/$A/c/t.txt" akey)")" = 200 ] ||
	fail "ISO 8601 expiry"
[ "$(code -I "$P$u")" = 200 ] || fail "HEAD with a GET signature"
curl -s -I "$P$u&inline" | tr -d '\r' | grep -qi "^content-disposition: inline$" ||
	fail "inline"
curl -s -I "$P$u&inline&filename=my%20file.txt" | tr -d '\r' |
	grep -qi "^content-disposition: inline; filename=\"my file.txt\"; filename\*=UTF-8''my%20file.txt$" ||
	fail "inline with filename"
curl -s -I "$P$u&filename=r.bin" | tr -d '\r' |
	grep -qi "^content-disposition: attachment; filename=\"r.bin\"" || fail "filename"

# refusals
[ "$(code -X DELETE "$P$u")" = 401 ] || fail "DELETE with a GET signature"
[ "$(code "$P$(tu GET 3600 "/v1/$A/c/t.txt" wrongkey)")" = 401 ] || fail "wrong key"
[ "$(code "$P$(tu --absolute GET 1000000 "/v1/$A/c/t.txt" akey)")" = 401 ] || fail "expired"
[ "$(code "$P/v1/$A/c/other?${u#*\?}")" = 401 ] || fail "a signature for another object"
[ "$(code "$P/v1/$A/c/t.txt?temp_url_expires=$exp")" = 401 ] || fail "no signature"
[ "$(code "$P/v1/$A/c/t.txt")" = 401 ] || fail "no token, no temp URL"

# PUT
up=$(tu PUT 3600 "/v1/$A/c/up.txt" akey)
[ "$(code -X PUT --data-binary 'uploaded' "$P$up")" = 201 ] || fail "PUT"
[ "$(curl -s -H "$T" "$URL/c/up.txt")" = uploaded ] || fail "PUT body"
[ "$(code "$P$up")" = 401 ] || fail "GET with a PUT signature"
[ "$(code -I "$P$up")" = 200 ] || fail "HEAD with a PUT signature"
[ "$(code -X PUT -H 'X-Object-Manifest: c/x' --data-binary '' "$P$up")" = 400 ] ||
	fail "X-Object-Manifest on a temp URL PUT"

# prefix
pu=$(tu --prefix-based GET 3600 "/v1/$A/c/t" akey)
case "$pu" in *temp_url_prefix=t*) ;; *) fail "not a prefix URL: $pu" ;; esac
[ "$(code "$P/v1/$A/c/t.txt?${pu#*\?}")" = 200 ] || fail "prefix: object under it"
[ "$(code "$P/v1/$A/c/up.txt?${pu#*\?}")" = 401 ] || fail "prefix: object outside it"

# an SLO through a temp URL
printf 'aaaa' >s1
printf 'bbbb' >s2
for s in s1 s2; do
	[ "$(code -X PUT -H "$T" --data-binary @$s "$URL/c/$s")" = 201 ] || fail "$s"
done
[ "$(code -X PUT -H "$T" --data-binary '[{"path": "c/s1"}, {"path": "c/s2"}]' \
	"$URL/c/slo?multipart-manifest=put")" = 201 ] || fail "SLO"
[ "$(curl -s "$P$(tu GET 3600 "/v1/$A/c/slo" ckey)")" = aaaabbbb ] ||
	fail "SLO through a temp URL"
echo "342-proxy-tempurl: ok"
