#!/bin/bash
# 305-proxy-client-disconnect: a client that goes away halfway through an
# upload leaves no object (the proxy aborts every backend request, so no
# object server commits a truncated body), and an older complete version
# stays readable; the proxy keeps serving.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl

start_proxy_cluster
read -r TOKEN URL < <(get_token test:tester testing)
T="X-Auth-Token: $TOKEN"
[ "$(status PUT "$URL/c" -H "$T")" = 201 ] || fail "container PUT"
printf old | curl -s -o /dev/null -T - -H "$T" "$URL/c/kept"
$PYTHON - "$PROXY_PORT" "$TOKEN" <<'PY' || fail "could not send half a body"
import socket, sys, time
port, tok = int(sys.argv[1]), sys.argv[2]
for name in ("gone", "kept"):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(("PUT /v1/AUTH_test/c/%s HTTP/1.1\r\nHost: x\r\n"
               "X-Auth-Token: %s\r\nContent-Length: 4000000\r\n\r\n"
               % (name, tok)).encode())
    s.sendall(b"y" * 2000000)
    time.sleep(0.3)
    s.close()
PY
sleep 0.5
[ "$(status GET "$URL/c/gone" -H "$T")" = 404 ] ||
	fail "a half-uploaded object is readable"
[ "$(curl -s -H "$T" "$URL/c/kept")" = old ] ||
	fail "the complete older version was replaced by a half upload"
[ "$(curl -s -H "$T" "$URL/c")" = kept ] || fail "listing: $(curl -s -H "$T" "$URL/c")"
grep -q "client went away" "$TMPDIR_TEST/proxy.log" ||
	fail "the proxy did not notice the client leaving"
echo "305-proxy-client-disconnect: ok"
