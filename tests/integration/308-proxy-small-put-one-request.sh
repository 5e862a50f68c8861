#!/bin/bash
# 308-proxy-small-put-one-request: a replicated PUT of at most 64 KiB
# whose length is known goes to each object server as one request sent at
# once, headers and body in one write, once the proxy has the whole body:
# no Expect: 100-continue, so no 100 Continue to wait for, over the
# connections an earlier PUT left open, its answers waited for in their
# receives (no connect, no poll; seen through strace). What the handshake
# gave stays: a primary that refuses (507, its device gone) is replaced
# by a handoff that gets the whole body, an If-None-Match: * on an
# existing object is still 412, a client ETag other than the body's MD5
# still 422, and an empty body is stored too.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl md5sum strace

start_proxy_cluster
cd "$TMPDIR_TEST"
read -r TOKEN URL < <(get_token test:tester testing)
T="X-Auth-Token: $TOKEN"
[ "$(status PUT "$URL/c" -H "$T")" = 201 ] || fail "container PUT"
head -c 4096 /dev/urandom >f
sum=$(md5sum <f | cut -d' ' -f1)

# one small PUT (the client asks for no 100 Continue either), the
# proxy's sends and receives traced, after a first one that left
# connections to the object server open
[ "$(status PUT "$URL/c/o0" -T f -H "$T")" = 201 ] || fail "PUT o0"
strace_attach "$PID_proxy" trace -s 256 \
	-e trace=sendto,sendmsg,recvfrom,write,read,connect,poll,ppoll
[ "$(status PUT "$URL/c/o1" -T f -H "$T" -H 'Expect:')" = 201 ] ||
	fail "PUT o1"
kill "$STRACE_PID"
wait "$STRACE_PID" 2>/dev/null || true
grep -q '100 Continue' trace && fail "a backend sent 100 Continue:
$(cat trace)"
grep -qi 'Expect: 100-continue' trace && fail "the proxy asked for it:
$(cat trace)"
# each backend PUT in one send: its headers and the 4096 bytes of body
n=$(grep -E '^ *[0-9]+ +(sendto|sendmsg|write)\([0-9]+, .*"PUT /d' trace |
	awk '$NF > 4096' | wc -l)
[ "$n" = 3 ] || fail "$n backend PUTs sent whole, expected 3:
$(cat trace)"
# over the connections the first PUT left, each answer waited for in its
# receive: no connect, no poll
grep -E '^ *[0-9]+ +(connect|poll|ppoll)\(' trace &&
	fail "a connect or poll for a PUT on kept connections:
$(cat trace)"
[ "$(curl -s -H "$T" "$URL/c/o1" | md5sum | cut -d' ' -f1)" = "$sum" ] ||
	fail "o1 does not read back"

nodes() { # nodes OBJ: the devices of the object, primaries first
	kumo-ring get-nodes "$RINGS/object.ring.gz" --prefix '' \
		--suffix test-suffix --handoffs 1 "AUTH_test/c/$1" |
		awk '/Device/ {print $4}'
}
# a primary's device gone: it answers 507 after the body, a handoff
# stands in with the whole body
read -r p1 p2 p3 h1 <<<"$(nodes o2 | tr "\n" " ")"
mv "node/$p2" "node/$p2.gone"
[ "$(status PUT "$URL/c/o2" -T f -H "$T")" = 201 ] ||
	fail "PUT with one primary device gone not 201"
d=$(ls node/"$h1"/objects/*/*/*/*.data 2>/dev/null | head -1)
[ -n "$d" ] || fail "no replica on the handoff $h1"
[ "$(head -c 4096 "$d" | md5sum | cut -d' ' -f1)" = "$sum" ] ||
	fail "the handoff's replica is not the body"
mv "node/$p2.gone" "node/$p2"
[ "$(curl -s -H "$T" "$URL/c/o2" | md5sum | cut -d' ' -f1)" = "$sum" ] ||
	fail "o2 does not read back"

# refusals that came before the body still decide the answer
[ "$(status PUT "$URL/c/o1" -T f -H "$T" -H 'If-None-Match: *')" = 412 ] ||
	fail "If-None-Match: * on an existing object not 412"
[ "$(status PUT "$URL/c/o3" -T f -H "$T" \
	-H "ETag: 0123456789abcdef0123456789abcdef")" = 422 ] ||
	fail "a wrong client ETag not 422"
[ "$(status GET "$URL/c/o3" -H "$T")" = 404 ] || fail "o3 was stored"
: >empty
[ "$(status PUT "$URL/c/o4" -T empty -H "$T")" = 201 ] || fail "empty PUT"
[ "$(curl -s -o /dev/null -w '%{size_download}' -H "$T" "$URL/c/o4")" = 0 ] ||
	fail "o4 not empty"
echo "308-proxy-small-put-one-request: ok"
