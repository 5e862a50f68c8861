#!/bin/bash
# 513-volume-nbd-restart: what a client wrote and flushed over NBD is
# intact after kumo-aio (and so kumo-volumed) restarts: the attachment and
# its export come back and serve the same bytes.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/nbd.sh"
requires curl qemu-io nbdcopy cmp

start_cluster
id=$(vol_create 1)
uri=$(vol_attach "$id")

head -c 20971520 /dev/urandom >"$TMPDIR_TEST/in"
timeout 60 nbdcopy "$TMPDIR_TEST/in" "$uri" || fail "nbdcopy in failed"
timeout 60 qemu-io -f raw -c 'write -P 0x71 500M 5M' -c flush "$uri" \
	>"$TMPDIR_TEST/w" 2>&1 || { cat "$TMPDIR_TEST/w"; fail "qemu-io write"; }

restart_cluster
uri2=$(vol_reconnect "$id")
timeout 60 nbdcopy "$uri2" "$TMPDIR_TEST/out" || fail "nbdcopy out failed"
cmp -n 20971520 "$TMPDIR_TEST/in" "$TMPDIR_TEST/out" ||
	fail "data differs after restart"
timeout 60 qemu-io -f raw -c 'read -P 0x71 500M 5M' "$uri2" \
	>"$TMPDIR_TEST/r" 2>&1 || { cat "$TMPDIR_TEST/r"; fail "qemu-io read"; }
grep -q fail "$TMPDIR_TEST/r" && { cat "$TMPDIR_TEST/r"; fail "pattern lost"; }
echo ok
