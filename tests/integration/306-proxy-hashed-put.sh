#!/bin/bash
# 306-proxy-hashed-put: the proxy hashes an object's body once and hands
# the hashes to the object servers as trailers of a chunked body (Trailer:
# X-Backend-Body-Md5, X-Backend-Body-Xxh128, seen through strace) when
# it is over 64 KiB or of unknown length, so they need no MD5 of their
# own; the ETag is still the body's MD5 with or
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

# what the object servers receive: a body over 64 KiB goes chunked with
# the trailers, a body of 64 KiB or less with its length (each object
# server MD5s it)
TRACE=$TMPDIR_TEST/trace
strace_attach "$PID_objectd" "$TRACE" -e trace=recvfrom,read -s 300000
head -c 70000 /dev/zero | tr '\0' x >"$TMPDIR_TEST/mid"
mid=$(md5sum <"$TMPDIR_TEST/mid" | cut -d' ' -f1)
printf 'small body' >"$TMPDIR_TEST/small"
for o in mid small; do
	got=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "$T" \
		--data-binary @"$TMPDIR_TEST/$o" "$URL/c/traced-$o")
	[ "$got" = 201 ] || fail "traced PUT of $o: $got"
done
kill "$STRACE_PID"
wait "$STRACE_PID" 2>/dev/null || true
for o in mid small; do
	n=$(grep -c "PUT /d[0-9]*/[0-9]*/AUTH_test/c/traced-$o" "$TRACE" || true)
	[ "$n" -ge 2 ] ||
		fail "the object servers' PUTs of $o not seen ($n): $(head -c 2000 "$TRACE")"
done
# count_in_put NAME TEXT: how many of the traced reads hold NAME's PUT and TEXT
count_in_put() {
	grep -- "PUT /d[0-9]*/[0-9]*/AUTH_test/c/traced-$1" "$TRACE" |
		grep -c -- "$2" || true
}
for want in 'Transfer-Encoding: chunked' \
	'Trailer: X-Backend-Body-Md5, X-Backend-Body-Xxh128' \
	'X-Backend-Obj-Content-Length: 70000\\r'; do
	[ "$(count_in_put mid "$want")" -ge 2 ] ||
		fail "the object servers got no '$want' for 70000 bytes"
done
[ "$(grep -c -- "X-Backend-Body-Md5: $mid" "$TRACE" || true)" -ge 2 ] ||
	fail "the object servers got no MD5 trailer"
grep -q 'X-Backend-Body-Xxh128: [0-9a-f]\{32\}' "$TRACE" ||
	fail "the object servers got no XXH3-128 trailer"
[ "$(count_in_put small 'Content-Length: 10\\r')" -ge 2 ] ||
	fail "a 10-byte body went without its length"
[ "$(count_in_put small 'Trailer:')" = 0 ] ||
	fail "a 10-byte body went with trailers"
echo "306-proxy-hashed-put: ok"
