#!/bin/bash
# 607-fuse-cache-bound: kumo-mount keeps its chunk cache within cache_size.
# A mount with cache_size=16M and dirty_max=4M writes a 96 MiB file and
# reads it back twice (the second read must fetch evicted chunks from the
# cluster again): the bytes match a local copy and the daemon's resident
# size stays far below the file's size (every chunk cached forever would
# put it above 96 MiB).
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/fuse.sh"
requires md5sum head

start_cluster
fuse_mkfs small
mnt=$TMPDIR_TEST/mnt
fuse_mount small "$mnt" "cache_size=16M,dirty_max=4M"
pid=$FUSE_PID

head -c $((96 << 20)) /dev/urandom >"$TMPDIR_TEST/ref"
want=$(md5sum <"$TMPDIR_TEST/ref" | cut -d' ' -f1)
timeout 120 dd if="$TMPDIR_TEST/ref" of="$mnt/big" bs=1M conv=fsync \
	status=none || fail "writing 96 MiB through the mount"
max_rss=0
rss() {
	local kib
	kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
	[ "$kib" -gt "$max_rss" ] && max_rss=$kib
	return 0
}
rss
for pass in 1 2; do
	got=$(timeout 120 md5sum <"$mnt/big" | cut -d' ' -f1) ||
		fail "reading the file back (pass $pass)"
	[ "$got" = "$want" ] || fail "pass $pass read other bytes"
	rss
done
echo "kumo-mount peak resident size seen: $((max_rss / 1024)) MiB"
[ "$max_rss" -lt $((64 << 10)) ] ||
	fail "kumo-mount holds $((max_rss / 1024)) MiB with cache_size=16M"
fuse_umount "$mnt"
echo PASS
