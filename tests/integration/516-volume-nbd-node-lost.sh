#!/bin/bash
# 516-volume-nbd-node-lost: what a client wrote and flushed over NBD is
# intact after one storage node is lost, read back by a kumo-volumed whose
# cache is cold.
#
# Why multinode.sh and not kumo-aio: kumo-aio runs one kumo-objectd for
# all four devices and stops the whole cluster when a child dies, so it
# cannot lose a node, only a device's files. multinode.sh gives each of
# the four object devices its own kumo-objectd (its own port and folder),
# as four storage nodes would; kumo-volumed runs beside them on the same
# rings (3 replicas), with the proxy only checking tokens. The container
# and account servers stay up (their loss is the durability tests' part).
#
# A 1 GiB image with 40 MiB of random data in pieces at unaligned offsets
# goes in with qemu-img convert; the volume is detached (flushed). Then
# node 2 is lost the hard way: SIGKILL, and its device's files removed
# (the disk died with it). kumo-volumed restarts (cold cache), the volume
# is attached again with the node still down (connections refused) and
# compared byte for byte (qemu-img compare, and nbdcopy + cmp). Then the
# node comes back empty (a replaced machine: 404 for every replica it
# should hold), kumo-volumed restarts again, and qemu-img compare finds
# the volume the same.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/multinode.sh"
. "$(dirname "$0")/../lib/nbd.sh"
requires curl qemu-img nbdcopy cmp timeout kumo-volumed

start_multinode_cluster 4
restart_volumed() {
	_stop_pid "$PID_volumed" volumed
	start_volumed
}
start_volumed

id=$(vol_create 1)
uri=$(vol_attach "$id")
img=$TMPDIR_TEST/disk.img
truncate -s 1G "$img"
# 40 MiB: ten 4 MiB pieces, each across a chunk boundary
for mb in 0 13 97 250 401 555 700 813 960 1019; do
	head -c 4194304 /dev/urandom |
		dd of="$img" bs=4096 seek=$((mb * 256 + 123)) conv=notrunc status=none
done
timeout 60 qemu-img convert -n -f raw -O raw "$img" "$uri" ||
	fail "qemu-img convert into the volume failed"
vol_detach "$id"

# lose node 2: killed, and its disk gone
# (an object's metadata, with its name, is inside its .data file)
n2=$(find "$NODE_DIR/obj2/d2" -name '*.data' \
	-exec grep -l -a -F /.kumo_volumes/chunks/ {} + | wc -l)
[ "$n2" -ge 5 ] || fail "node 2 holds $n2 chunks: too few would be lost"
kill_object_server 2
rm -rf "${NODE_DIR:?}/obj2/d2/"*

# compare_volume WHEN [copy]: attach after a cold restart of kumo-volumed
# and compare every byte with qemu-img compare; with "copy", also copy
# the volume out with nbdcopy and cmp it with the image
compare_volume() {
	restart_volumed
	TOKEN=
	uri=$(vol_attach "$id")
	timeout 60 qemu-img compare -f raw -F raw "$img" "$uri" ||
		fail "the volume differs from the image $1"
	if [ "${2:-}" = copy ]; then
		timeout 60 nbdcopy "$uri" "$TMPDIR_TEST/out" ||
			fail "nbdcopy out $1"
		cmp "$img" "$TMPDIR_TEST/out" || fail "bytes differ $1"
		rm -f "$TMPDIR_TEST/out"
	fi
	vol_detach "$id"
}
compare_volume "with node 2 down ($n2 chunks lost)" copy
restart_object_server 2
compare_volume "with node 2 back empty"
echo "ok: $n2 chunk replicas lost with node 2, the volume intact"
