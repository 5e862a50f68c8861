#!/bin/bash
# 511-volume-nbd-nbdcopy: nbdcopy (several connections, many requests in
# flight) copies 96 MiB of random data into a volume and back out, equal
# byte for byte; two qemu-io clients writing different regions at once
# both land.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/nbd.sh"
requires curl nbdcopy qemu-io cmp

start_cluster
id=$(vol_create 1)
uri=$(vol_attach "$id")

head -c 100663296 /dev/urandom >"$TMPDIR_TEST/in"
timeout 120 nbdcopy "$TMPDIR_TEST/in" "$uri" || fail "nbdcopy in failed"
timeout 120 nbdcopy "$uri" "$TMPDIR_TEST/out" || fail "nbdcopy out failed"
[ "$(stat -c %s "$TMPDIR_TEST/out")" = 1073741824 ] || fail "size not 1 GiB"
cmp -n 100663296 "$TMPDIR_TEST/in" "$TMPDIR_TEST/out" ||
	fail "copied data differs"
cmp -i 100663296 -n 16777216 "$TMPDIR_TEST/out" /dev/zero ||
	fail "the rest is not zeros"

# two connections at once, different regions
timeout 60 qemu-io -f raw -c 'write -P 0x61 200M 24M' "$uri" \
	>"$TMPDIR_TEST/a" 2>&1 &
a=$!
timeout 60 qemu-io -f raw -c 'write -P 0x62 224M 24M' "$uri" \
	>"$TMPDIR_TEST/b" 2>&1 &
b=$!
wait $a || { cat "$TMPDIR_TEST/a"; fail "first writer failed"; }
wait $b || { cat "$TMPDIR_TEST/b"; fail "second writer failed"; }
timeout 60 qemu-io -f raw -c 'read -P 0x61 200M 24M' \
	-c 'read -P 0x62 224M 24M' -c 'read -P 0 248M 1M' "$uri" \
	>"$TMPDIR_TEST/v" 2>&1 || { cat "$TMPDIR_TEST/v"; fail "qemu-io read"; }
if grep -q "fail" "$TMPDIR_TEST/v"; then
	cat "$TMPDIR_TEST/v"
	fail "the concurrent writes did not both land"
fi
echo ok
