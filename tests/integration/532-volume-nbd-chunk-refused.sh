#!/bin/bash
# 532-volume-nbd-chunk-refused: kumo-volumed sends a chunk's body without
# waiting for 100 Continue (objclient.c oc_put), so an object server that
# refuses the PUT (507: its device is gone) answers after the body. Such
# refusals still count right:
#   - one device gone: a write and FLUSH over NBD succeed (two replicas
#     of three are a quorum) and the data reads back after a cold restart
#     of kumo-volumed;
#   - every device gone: the FLUSH fails at the NBD client (no quorum),
#     it is not acknowledged.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/multinode.sh"
. "$(dirname "$0")/../lib/nbd.sh"
requires curl qemu-io timeout kumo-volumed

start_multinode_cluster 4
start_volumed
id=$(vol_create 1)
uri=$(vol_attach "$id")

gone() { mv "$NODE_DIR/obj$1/d$1" "$NODE_DIR/obj$1/d$1.gone"; }

gone 2
timeout 120 qemu-io -f raw -t writeback -c 'write -P 0x5a 0 16M' \
	-c flush "$uri" >"$TMPDIR_TEST/qio" 2>&1 ||
	{ cat "$TMPDIR_TEST/qio"; fail "write and FLUSH with d2 gone"; }
grep -qi "fail\|error" "$TMPDIR_TEST/qio" &&
	{ cat "$TMPDIR_TEST/qio"; fail "write and FLUSH with d2 gone"; }
vol_detach "$id"
_stop_pid "$PID_volumed" volumed
start_volumed
TOKEN=
uri=$(vol_attach "$id")
timeout 120 qemu-io -f raw -c 'read -P 0x5a 0 16M' "$uri" \
	>"$TMPDIR_TEST/qio" 2>&1 ||
	{ cat "$TMPDIR_TEST/qio"; fail "read back"; }
grep -qi "fail\|error\|mismatch" "$TMPDIR_TEST/qio" &&
	{ cat "$TMPDIR_TEST/qio"; fail "the data does not read back"; }

# the connection is opened (the volume's map read) before the devices go
mkfifo "$TMPDIR_TEST/cmds"
timeout 120 qemu-io -f raw -t writeback "$uri" <"$TMPDIR_TEST/cmds" \
	>"$TMPDIR_TEST/qio" 2>&1 &
qpid=$!
cleanup_fn "kill $qpid 2>/dev/null"
exec 3>"$TMPDIR_TEST/cmds"
echo 'read -P 0x5a 0 4k' >&3
for i in $(seq 1 300); do
	grep -q 'read 4096/4096' "$TMPDIR_TEST/qio" && break
	sleep 0.1
done
grep -q 'read 4096/4096' "$TMPDIR_TEST/qio" || { cat "$TMPDIR_TEST/qio"; fail "open"; }
gone 1
gone 3
gone 4
printf 'write -P 0x66 32M 8M\nflush\nquit\n' >&3
exec 3>&-
rc=0
wait "$qpid" || rc=$?
# qemu-io prints no error of a flush: its exit status tells (124: timeout)
[ "$rc" = 1 ] && grep -q 'wrote 8388608/8388608' "$TMPDIR_TEST/qio" ||
	{ cat "$TMPDIR_TEST/qio"; fail "a FLUSH no replica took: exit $rc"; }
echo ok
