#!/bin/bash
# 417-cluster-group-commit-keepalive: through kumo-aio, 16 clients at once
# PUT 480 objects into one container (issue 9's small-object load).
#   - group commit (common/dbstore.c dbstore_commit_unlock): every PUT
#     answers 201 and the container lists exactly those objects, with
#     X-Container-Object-Count and X-Container-Bytes-Used their count and
#     the sum of their sizes;
#   - then the container server is SIGKILLed right after the last
#     acknowledged row; once the cluster is up again the container still
#     lists every object and counts them all (no acknowledged row lost);
#   - keep-alive (common/curlpool.c): the 1,440 replica PUTs from the
#     proxy to the object server and the 1,440 row updates from the
#     object server to the container server ride on reused connections:
#     fewer than 300 TCP connections to either port (open or in
#     TIME-WAIT) remain, where one connection per request leaves 1,440.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl ss

N=480
start_cluster
read -r TOKEN URL < <(get_token test:tester testing)
[ -n "$TOKEN" ] || fail "no token"
[ "$(status PUT "$URL/gc" -H "X-Auth-Token: $TOKEN")" = 201 ] ||
	fail "container PUT"

# conns PORT: TCP sockets of connections to PORT, either end, any state
# but LISTEN (a closed connection stays in TIME-WAIT on one end for 60 s)
conns() {
	ss -tanH "( sport = :$1 or dport = :$1 )" | awk '$1 != "LISTEN"' |
		wc -l
}

$PYTHON - "$URL" "$TOKEN" "$N" >"$TMPDIR_TEST/sent" <<'PY' ||
import http.client, sys, threading, urllib.parse
url, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
u = urllib.parse.urlsplit(url)
bad, lock, names = [], threading.Lock(), list(range(n))

def client():
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    while True:
        with lock:
            if not names:
                return
            i = names.pop()
        body = b"x" * (i % 37 * 100 + 1)
        conn.request("PUT", "%s/gc/o%04d" % (u.path, i), body,
                     {"X-Auth-Token": token})
        r = conn.getresponse()
        r.read()
        if r.status != 201:
            bad.append((i, r.status))

ts = [threading.Thread(target=client) for _ in range(16)]
for t in ts:
    t.start()
for t in ts:
    t.join()
if bad:
    sys.exit("PUTs not 201: %r" % bad[:5])
print(sum(i % 37 * 100 + 1 for i in range(n)))
PY
	fail "the concurrent PUTs"
BYTES=$(cat "$TMPDIR_TEST/sent")

# check_container WHEN: listing and counters show all N objects
check_container() {
	local listed count bytes
	listed=$(curl -s -H "X-Auth-Token: $TOKEN" "$URL/gc?limit=10000" |
		grep -c '^o[0-9]\{4\}$')
	[ "$listed" = "$N" ] || fail "$1: $listed of $N objects listed"
	curl -s -I -H "X-Auth-Token: $TOKEN" "$URL/gc" | tr -d '\r' >"$TMPDIR_TEST/h"
	count=$(awk -F': ' 'tolower($1) == "x-container-object-count" { print $2 }' "$TMPDIR_TEST/h")
	bytes=$(awk -F': ' 'tolower($1) == "x-container-bytes-used" { print $2 }' "$TMPDIR_TEST/h")
	[ "$count" = "$N" ] || fail "$1: object count $count, not $N"
	[ "$bytes" = "$BYTES" ] || fail "$1: bytes used $bytes, not $BYTES"
}
check_container "after the PUTs"

obj=$(conns $((PROXY_PORT + 1)))
cont=$(conns $((PROXY_PORT + 2)))
echo "connections to the object server: $obj, to the container server: $cont"
[ "$obj" -lt 300 ] || fail "proxy to object server: $obj connections for $((3 * N)) requests"
[ "$cont" -lt 300 ] || fail "object to container server: $cont connections for $((3 * N)) requests"

# SIGKILL the container server right after the last acknowledged row
[ -s "$AIO_DIR/run/container.pid" ] || fail "no $AIO_DIR/run/container.pid"
kill -KILL "$(cat "$AIO_DIR/run/container.pid")"
for i in $(seq 1 100); do
	kill -0 "$AIO_PID" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$AIO_PID" 2>/dev/null; then
	_stop_aio "$AIO_PID"
else
	wait "$AIO_PID" 2>/dev/null || true
fi
_launch_aio
read -r TOKEN URL < <(get_token test:tester testing)
check_container "after kill -9 of the container server"
echo "417-cluster-group-commit-keepalive: ok"
