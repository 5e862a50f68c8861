#!/bin/bash
# 306-proxy-hashed-put: the proxy hashes an object's body once and hands
# the hashes to the object servers as trailers of a chunked body (Trailer:
# X-Backend-Body-Md5, X-Backend-Body-Xxh128, seen through strace), so they
# need no MD5 of their own; the ETag is still the body's MD5 with or
# without a client length, a client ETag that differs still gives 422
# with nothing stored, and a client's own Trailer, X-Backend-* headers and
# trailers change nothing.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl md5sum strace

start_proxy_cluster
read -r TOKEN URL < <(get_token test:tester testing)
T="X-Auth-Token: $TOKEN"
[ "$(status PUT "$URL/c" -H "$T")" = 201 ] || fail "container PUT"
head -c $((3 << 20)) /dev/urandom >"$TMPDIR_TEST/body"
sum=$(md5sum <"$TMPDIR_TEST/body" | cut -d' ' -f1)
bad=0123456789abcdef0123456789abcdef

# etag_of NAME [curl args...]: PUT the body, print the status and ETag
etag_of() {
	local name=$1
	shift
	curl -s -o /dev/null -D - -X PUT -H "$T" "$@" \
		--data-binary @"$TMPDIR_TEST/body" "$URL/c/$name" |
		tr -d '\r' | awk '
		/^HTTP\// { s = $2 }
		tolower($1) == "etag:" { e = $2; gsub(/"/, "", e) }
		END { print s, e }'
}
# stored_nowhere NAME: 404 through the proxy, no .data on any device
stored_nowhere() {
	[ "$(status GET "$URL/c/$1" -H "$T")" = 404 ] || fail "$1 readable"
	[ -z "$(find "$NODE_DIR" -name '*.data' -newer "$TMPDIR_TEST/mark" \
		-path '*objects*')" ] || fail "$1: a .data was stored"
}

got=$(etag_of sized)
[ "$got" = "201 $sum" ] || fail "PUT with a length: $got"
got=$(etag_of chunked -H "Transfer-Encoding: chunked")
[ "$got" = "201 $sum" ] || fail "chunked PUT: $got"
for o in sized chunked; do
	[ "$(curl -s -H "$T" "$URL/c/$o" | md5sum | cut -d' ' -f1)" = "$sum" ] ||
		fail "GET $o: another body"
done

# a client ETag other than the body's MD5: 422, nothing stored
touch "$TMPDIR_TEST/mark"
sleep 1 # -newer compares seconds on some filesystems
got=$(etag_of wrongetag -H "ETag: $bad")
[ "${got%% *}" = 422 ] || fail "wrong client ETag: $got"
stored_nowhere wrongetag

# a client forging the object servers' trailers and headers: dropped
got=$($PYTHON "$TESTS_DIR/lib/trailer_put.py" "$URL/c/forged" \
	"$TMPDIR_TEST/body" -H "$T" -H "X-Backend-Body-Xxh128: $bad" \
	-T "X-Backend-Body-Md5: $bad" -T "X-Backend-Body-Xxh128: $bad")
[ "$got" = "201 $sum" ] || fail "forged trailers: $got"
[ "$(curl -s -H "$T" "$URL/c/forged" | md5sum | cut -d' ' -f1)" = "$sum" ] ||
	fail "GET forged: another body"

# what the object servers receive: a chunked body and the trailers
TRACE=$TMPDIR_TEST/trace
strace_attach "$PID_objectd" "$TRACE" -e trace=recvfrom,read -s 600
printf 'small body' >"$TMPDIR_TEST/small"
small=$(md5sum <"$TMPDIR_TEST/small" | cut -d' ' -f1)
got=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "$T" \
	--data-binary @"$TMPDIR_TEST/small" "$URL/c/traced")
[ "$got" = 201 ] || fail "traced PUT: $got"
kill "$STRACE_PID"
wait "$STRACE_PID" 2>/dev/null || true
n=$(grep -c 'PUT /d[0-9]*/[0-9]*/AUTH_test/c/traced' "$TRACE" || true)
[ "$n" -ge 2 ] || fail "the object servers' PUTs not seen ($n): $(head -c 2000 "$TRACE")"
for want in 'Transfer-Encoding: chunked' \
	'Trailer: X-Backend-Body-Md5, X-Backend-Body-Xxh128' \
	'X-Backend-Obj-Content-Length: 10\\r' \
	"X-Backend-Body-Md5: $small"; do
	[ "$(grep -c -- "$want" "$TRACE" || true)" -ge 2 ] ||
		fail "the object servers got no '$want'"
done
grep -q 'X-Backend-Body-Xxh128: [0-9a-f]\{32\}' "$TRACE" ||
	fail "the object servers got no XXH3-128 trailer"
echo "306-proxy-hashed-put: ok"
