#!/bin/bash
# 517-volume-nbd-flush-kill9: what an NBD client wrote and then FLUSHed (or
# wrote with FUA) is in the cluster when the FLUSH (or write) is answered:
# kumo-volumed killed with SIGKILL right after, with no chance to write
# back, and started again, serves those bytes.
#
# The writes cover what the write-back does at once: a sequential stream
# of whole chunks (each PUT as soon as it is full), a rewrite of a chunk
# whose PUT is likely still in flight (the write gets its own copy of the
# buffer being sent), partial chunks, and a FUA write without a FLUSH.
# Unflushed writes after the FLUSH may be lost; the flushed bytes around
# them may not. multinode.sh rather than kumo-aio: kumo-aio stops the
# whole cluster when one of its children dies.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/multinode.sh"
. "$(dirname "$0")/../lib/nbd.sh"
requires curl qemu-io stdbuf timeout kumo-volumed

start_multinode_cluster 3
start_volumed

id=$(vol_create 1)
uri=$(vol_attach "$id")

# qemu-io URI CMD...: run the commands in one connection, fail on error
qio() {
	local u=$1
	shift
	local args=() c
	for c in "$@"; do args+=(-c "$c"); done
	timeout 120 qemu-io -f raw "${args[@]}" "$u" >"$TMPDIR_TEST/qio" 2>&1 ||
		{ cat "$TMPDIR_TEST/qio"; fail "qemu-io $*"; }
	! grep -q -i -E "fail|error|mismatch" "$TMPDIR_TEST/qio" ||
		{ cat "$TMPDIR_TEST/qio"; fail "qemu-io $*"; }
}

# flushed: 24 MiB sequential (6 chunks), chunk 0 rewritten at once, a
# partial chunk; a FUA write; then unflushed writes, then the kill while
# the client is still connected (a disconnect would flush: the export's
# close writes everything back; stdbuf: its lines as they come;
# writeback: else qemu makes every write FUA)
timeout 120 stdbuf -oL qemu-io -f raw -t writeback \
	-c 'write -P 0x5a 0 24M' -c 'write -P 0x66 1M 64k' \
	-c 'write -P 0x33 300M 100k' -c flush -c 'write -f -P 0x44 500M 64k' \
	-c 'write -P 0x77 0 512k' -c 'write -P 0x77 700M 8M' -c 'sleep 60000' \
	"$uri" >"$TMPDIR_TEST/qio" 2>&1 &
qpid=$!
for i in $(seq 1 600); do
	[ "$(grep -c '^wrote' "$TMPDIR_TEST/qio")" -ge 6 ] && break
	kill -0 "$qpid" 2>/dev/null || { cat "$TMPDIR_TEST/qio"; fail "qemu-io"; }
	sleep 0.1
done
[ "$(grep -c '^wrote' "$TMPDIR_TEST/qio")" -ge 6 ] ||
	{ cat "$TMPDIR_TEST/qio"; fail "qemu-io writes did not finish"; }
kill -KILL "$PID_volumed"
wait "$PID_volumed" 2>/dev/null || true
kill "$qpid" 2>/dev/null || true
wait "$qpid" 2>/dev/null || true
start_volumed

uri=$(vol_reconnect "$id")
# chunk 0 was rewritten after the flush (0..512k, lost or not): skip it
qio "$uri" 'read -P 0x5a 512k 512k' 'read -P 0x66 1M 64k' \
	'read -P 0x5a 1088k 23488k' 'read -P 0x33 300M 100k' \
	'read -P 0 24M 276M' 'read -P 0x44 500M 64k'
echo "ok: flushed and FUA writes intact after kill -9 of kumo-volumed"
