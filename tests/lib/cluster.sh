# tests/lib/cluster.sh: start_cluster for integration tests. Source after
# functions.sh. start_cluster runs bin/kumo-aio in $TMPDIR_TEST/aio on a
# free port block, waits for the proxy, and stops it at exit (failing the
# test if it lingers). Sets PROXY_PORT, AIO_DIR, AUTH_URL, and SWIFT (the
# swift client command line for test:tester); VOLUME_PORT and NBD_PORT
# (kumo-volumed's API and NBD ports) follow the storage servers' ports.

# pick_port_block N: a port P with P..P+N-1 all free on 127.0.0.1, below
# the kernel's ephemeral range (32768 and up), where any outgoing
# connection could take one between this check and the daemon's bind.
pick_port_block() {
	$PYTHON - "$1" <<'PY'
import socket, sys, random
n = int(sys.argv[1])
for _ in range(200):
    base = random.randint(10000, 32000 - n)
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket()
            s.bind(("127.0.0.1", p))
            socks.append(s)
        print(base)
        break
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
PY
}

_stop_aio() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	echo "FAIL: kumo-aio lingered after SIGTERM" >&2
	exit 1
}

# _launch_aio: run kumo-aio on $AIO_DIR/$PROXY_PORT and wait until it is up.
# With AIO_PORT_RETRY set, returns 1 when kumo-aio died because a port
# was taken meanwhile (another program on this machine), for
# start_cluster to try another block.
_launch_aio() {
	kumo-aio --dir "$AIO_DIR" --proxy-port "$PROXY_PORT" \
		--volume-port "$VOLUME_PORT" --nbd-port "$NBD_PORT" \
		>"$TMPDIR_TEST/aio.out" 2>"$TMPDIR_TEST/aio.err" &
	AIO_PID=$!
	cleanup_fn _stop_aio "$AIO_PID"
	local i
	# ready once the proxy answers and kumo-aio has said how to use it
	for i in $(seq 1 300); do
		if curl -sf "http://127.0.0.1:$PROXY_PORT/healthcheck" \
			>/dev/null && grep -q "swift -A" "$TMPDIR_TEST/aio.out"
		then
			return 0
		fi
		if ! kill -0 "$AIO_PID" 2>/dev/null; then
			[ -n "${AIO_PORT_RETRY:-}" ] &&
				grep -q "Address already in use\|cannot listen" \
					"$TMPDIR_TEST/aio.err" && return 1
			cat "$TMPDIR_TEST/aio.err" >&2
			fail "kumo-aio died"
		fi
		sleep 0.1
	done
	cat "$TMPDIR_TEST/aio.err" >&2
	fail "kumo-aio did not start"
}

start_cluster() {
	requires kumo-aio kumo-proxy kumo-objectd kumo-containerd kumo-accountd
	local try
	AIO_DIR=$TMPDIR_TEST/aio
	for try in 1 2 3; do
		PROXY_PORT=$(pick_port_block 6)
		VOLUME_PORT=$((PROXY_PORT + 4))
		NBD_PORT=$((PROXY_PORT + 5))
		rm -rf "$AIO_DIR"
		mkdir -p "$AIO_DIR"
		[ "$try" = 3 ] || AIO_PORT_RETRY=1
		_launch_aio && break
		echo "kumo-aio: a port of $PROXY_PORT.. was taken, another block" >&2
	done
	unset AIO_PORT_RETRY
	AUTH_URL=http://127.0.0.1:$PROXY_PORT/auth/v1.0
	SWIFT="/usr/bin/swift -A $AUTH_URL -U test:tester -K testing"
}

# restart_cluster: stop kumo-aio with SIGTERM and start it again on the
# same folder and ports.
restart_cluster() {
	_stop_aio "$AIO_PID"
	_launch_aio
}
