#!/bin/bash
# 510-volume-nbd-qemu-img: a 1 GiB disk image (random data in scattered
# regions, zeros elsewhere) goes into a kumo volume with qemu-img convert
# over NBD, and qemu-img compare finds the volume equal to the image. The
# zero regions stay holes (nbdinfo --map): only what was written is stored.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/nbd.sh"
requires curl qemu-img nbdinfo

start_cluster
id=$(vol_create 1)
uri=$(vol_attach "$id")

img=$TMPDIR_TEST/disk.img
truncate -s 1G "$img"
# 24 MiB of data: 1 MiB pieces at scattered MiB offsets, and a tail
for mb in 0 1 7 100 101 333 512 513 514 700 899 1000 1023; do
	head -c 1048576 /dev/urandom |
		dd of="$img" bs=1M seek="$mb" conv=notrunc status=none
done
head -c 3000000 /dev/urandom |
	dd of="$img" bs=1 seek=200000000 conv=notrunc status=none

timeout 120 qemu-img convert -n -f raw -O raw "$img" "$uri" ||
	fail "qemu-img convert into the volume failed"
timeout 120 qemu-img compare -f raw -F raw "$img" "$uri" ||
	fail "the volume differs from the image"

# a region never written is a hole
timeout 30 nbdinfo --map "$uri" >"$TMPDIR_TEST/map" || fail "nbdinfo --map"
grep -q "hole" "$TMPDIR_TEST/map" || { cat "$TMPDIR_TEST/map"; fail "no hole"; }
# and one change is seen by compare (every bit of one byte inverted:
# writing a fixed byte missed when the random byte there was that one)
flip_byte "$img" 5000
if timeout 120 qemu-img compare -q -f raw -F raw "$img" "$uri"; then
	fail "compare missed a difference"
fi
echo ok
