#!/bin/bash
# 480-bench-loadgen: bench/loadgen's GET and HEAD, which go out on plain
# keep-alive sockets driven by one epoll loop (not libcurl), count what a
# server answers as libcurl's path does: against kumo-aio, GETs and HEADs
# of stored objects pass and match the --curl path; a missing object (404)
# and a body of the wrong size are errors (exit 1). Against a stub server
# that answers in chunks, or closes the connection after each answer, or
# with an HTTP/1.0 body that ends at the close, every answer is read whole.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
requires curl
LOADGEN=${LOADGEN:-${KUMO_BUILD:-$TOP_DIR/build}/bench/loadgen}
[ -x "$LOADGEN" ] || fail "$LOADGEN is missing (make $LOADGEN)"

start_cluster
lg() { "$LOADGEN" -A "$AUTH_URL" -U test:tester -K testing "$@"; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$TMPDIR_TEST/out"; }

expect_exit 0 lg -o put -c 4 -N 40 -s 3000 -p s/
expect_output_has "ops=40 errors=0"
for op in get head; do
	for path in "" --curl; do
		expect_exit 0 lg -o "$op" -c 8 -N 200 -s 3000 -p s/ -n 40 $path
		expect_output_has "ops=200 errors=0"
	done
done
expect_exit 0 lg -o get -c 8 -N 200 -s 3000 -p s/ -n 40
[ "$(field mb_s)" != 0.0 ] || fail "GET counted no body bytes"

# a missing object, and a body shorter than -s, fail the run
expect_exit 1 lg -o get -c 2 -N 10 -s 3000 -p nothere/ -n 5
expect_output_has "404 non-2xx"
expect_output_has "ops=10 errors=10"
expect_exit 1 lg -o head -c 2 -N 10 -s 3000 -p nothere/ -n 5
expect_output_has "404 non-2xx"
expect_exit 1 lg -o get -c 2 -N 10 -s 4000 -p s/ -n 40
expect_output_has "200 short body"

# a stub server: chunked bodies, Connection: close, HTTP/1.0 to the close
cat >"$TMPDIR_TEST/stub.py" <<'PY'
import socketserver, sys

MODE = sys.argv[1]
BODY = b"x" * 3000

class H(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            line = self.rfile.readline()
            if not line:
                return
            method, path = line.split()[:2]
            while self.rfile.readline() not in (b"\r\n", b""):
                pass
            if path.startswith(b"/auth"):
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                                 b"X-Storage-Url: http://127.0.0.1:%d/v1/AUTH_t\r\n"
                                 b"X-Auth-Token: tok\r\n\r\n" % PORT)
                continue
            head = method == b"HEAD"
            if MODE == "chunked":
                out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                if not head:
                    out += b"1f4;ext=1\r\n" + BODY[:500] + b"\r\n"
                    out += b"9C4\r\n" + BODY[500:] + b"\r\n0\r\nX-T: 1\r\n\r\n"
                self.wfile.write(out)
            elif MODE == "close":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
                                 b"Content-Length: 3000\r\n\r\n" +
                                 (b"" if head else BODY))
                return
            else:
                self.wfile.write(b"HTTP/1.0 200 OK\r\n\r\n" +
                                 (b"" if head else BODY))
                return

class S(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

srv = S(("127.0.0.1", 0), H)
PORT = srv.server_address[1]
print(PORT, flush=True)
srv.serve_forever()
PY
for mode in chunked close eof; do
	$PYTHON "$TMPDIR_TEST/stub.py" "$mode" >"$TMPDIR_TEST/port.$mode" &
	cleanup_fn kill $!
	for _ in $(seq 1 50); do
		[ -s "$TMPDIR_TEST/port.$mode" ] && break
		sleep 0.1
	done
	port=$(cat "$TMPDIR_TEST/port.$mode")
	for op in get head; do
		expect_exit 0 "$LOADGEN" -A "http://127.0.0.1:$port/auth/v1.0" \
			-U a:b -K c -o "$op" -c 4 -N 50 -s 3000 -n 10
		expect_output_has "ops=50 errors=0"
	done
done
echo "480-bench-loadgen: ok"
