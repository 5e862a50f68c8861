#!/bin/bash
# 518-volume-nbd-flush-quorum: an NBD FLUSH is answered once a quorum of
# replicas (2 of 3) has each chunk, as Swift's proxy answers a PUT at
# quorum, and the third replica is still written: object server 3 sits
# behind a relay (tests/lib/slow_relay.py) that holds its answers to chunk
# PUTs for DELAY seconds. The FLUSH must come back before the relay let
# any held answer go (it fails when the FLUSH waits for every replica),
# and afterwards all three servers hold the same object files (it fails
# when the last replica is dropped at quorum). The replicator is kept
# idle, so only the writes themselves can have put the third copy there.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/multinode.sh"
. "$(dirname "$0")/../lib/nbd.sh"
requires curl qemu-io stdbuf timeout kumo-volumed md5sum

DELAY=6
OBJ_EXTRA_CONF="replicator_interval = 3600" start_multinode_cluster 3

# object server 3 moves to another port; the ring's port is the relay's
kill -TERM "$PID_obj3"
wait "$PID_obj3" 2>/dev/null || true
real=$(pick_unused_port)
sed -i "s/^bind_port = ${OBJ_PORTS[3]}\$/bind_port = $real/" \
	"$TMPDIR_TEST/obj3.conf"
_start obj3b kumo-objectd "$TMPDIR_TEST/obj3.conf"
_wait_health obj3b "$real"
_start relay "$PYTHON" "$TESTS_DIR/lib/slow_relay.py" "${OBJ_PORTS[3]}" \
	"$real" "$DELAY" '/chunks/' "$TMPDIR_TEST/relay.log"
_wait_health relay "${OBJ_PORTS[3]}"
touch "$TMPDIR_TEST/relay.log"

# kumo-volumed waits up to 30 s for a silent replica (not the DELAY)
VOL_NODE_TIMEOUT=30 start_volumed
id=$(vol_create 1)
uri=$(vol_attach "$id")

# two whole chunks and a partial one, FLUSH, then one more write: its
# "wrote" line says the FLUSH was answered (the connection stays open: a
# disconnect waits for the export's close, which waits for every PUT)
start=$(date +%s)
timeout 120 stdbuf -oL qemu-io -f raw -t writeback -c 'write -P 0x5a 0 8M' \
	-c 'write -P 0x66 9M 64k' -c flush -c 'write -P 0x11 20M 4k' \
	-c 'sleep 60000' "$uri" >"$TMPDIR_TEST/qio" 2>&1 &
qpid=$!
cleanup_fn "kill $qpid 2>/dev/null"
for i in $(seq 1 600); do
	[ "$(grep -c '^wrote' "$TMPDIR_TEST/qio")" -ge 3 ] && break
	kill -0 "$qpid" 2>/dev/null || { cat "$TMPDIR_TEST/qio"; fail "qemu-io"; }
	sleep 0.1
done
took=$(($(date +%s) - start))
[ "$(grep -c '^wrote' "$TMPDIR_TEST/qio")" -ge 3 ] ||
	{ cat "$TMPDIR_TEST/qio"; fail "the writes and FLUSH did not end"; }
if [ -s "$TMPDIR_TEST/relay.log" ]; then
	cat "$TMPDIR_TEST/relay.log"
	fail "the FLUSH waited for the held replica (${took}s)"
fi
kill "$qpid" 2>/dev/null || true
wait "$qpid" 2>/dev/null || true

# the data reads back
timeout 120 qemu-io -f raw -c 'read -P 0x5a 0 8M' -c 'read -P 0 8M 1M' \
	-c 'read -P 0x66 9M 64k' -c 'read -P 0x11 20M 4k' "$uri" \
	>"$TMPDIR_TEST/qio" 2>&1 ||
	{ cat "$TMPDIR_TEST/qio"; fail "qemu-io read"; }
! grep -q -i -E "fail|error|mismatch" "$TMPDIR_TEST/qio" ||
	{ cat "$TMPDIR_TEST/qio"; fail "read back"; }

# the third replica of each of the 4 chunks arrives once let go
for i in $(seq 1 $((DELAY * 10 + 300))); do
	[ "$(grep -c '^held PUT' "$TMPDIR_TEST/relay.log")" -ge 4 ] && break
	sleep 0.1
done
[ "$(grep -c '^held PUT' "$TMPDIR_TEST/relay.log")" -ge 4 ] ||
	{ cat "$TMPDIR_TEST/relay.log"; fail "no third replica was written"; }
sleep 1
files() {
	(cd "$NODE_DIR/obj$1/d$1" && find objects -name '*.data' \
		-exec md5sum {} + | sort -k2)
}
files 1 >"$TMPDIR_TEST/f1"
files 2 >"$TMPDIR_TEST/f2"
files 3 >"$TMPDIR_TEST/f3"
[ "$(wc -l <"$TMPDIR_TEST/f1")" -ge 4 ] || fail "too few objects on node 1"
for k in 2 3; do
	diff "$TMPDIR_TEST/f1" "$TMPDIR_TEST/f$k" >&2 ||
		fail "object server $k does not hold what server 1 holds"
done
! grep -q "after the quorum" "$TMPDIR_TEST/volumed.log" ||
	fail "a replica failed after the quorum"
echo "ok: FLUSH answered at quorum (${took}s), all three replicas written"
