#!/bin/bash
# 611-fuse-seq-read-cache: a sequential read of a file twice the size of
# the chunk cache fetches from the cluster only what the cache lost, and
# the mount sets the kernel's read-ahead for itself. A mount with
# cache_size=16M writes a 32 MiB file (its last 16 chunks stay cached),
# then the kernel's caches are dropped and the file is read once: the
# chunks the reader went past are evicted first, so the cached second
# half is read from memory and the proxy sees at most 26 chunk GETs (16
# for the first half, a few the read-ahead evicted at the start). Before,
# the LRU evicted the cached chunks just ahead of the reader and read-ahead
# stopped once the cache was full: every chunk was fetched (32 or more).
# The bytes match. read_ahead_kb of the mount's bdi stays FUSE's 128 KiB
# by default and is kernel_readahead (1M here) after the first open.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/fuse.sh"
requires md5sum head mountpoint

start_cluster
fuse_mkfs fs611
mnt=$TMPDIR_TEST/mnt
fuse_mount fs611 "$mnt" "cache_size=16M,dirty_max=4M,readahead=2"

head -c $((32 << 20)) /dev/urandom >"$TMPDIR_TEST/ref"
timeout 120 dd if="$TMPDIR_TEST/ref" of="$mnt/big" bs=1M conv=fsync \
	status=none || fail "writing 32 MiB"
ra=$(cat "/sys/class/bdi/$(mountpoint -d "$mnt")/read_ahead_kb")
[ "$ra" = 128 ] || fail "read_ahead_kb of the mount is $ra, want 128"

gets() { grep -c "GET /v1/AUTH_test/fs611/d/" "$TMPDIR_TEST/aio.err" || true; }
sync
echo 3 >/proc/sys/vm/drop_caches
g0=$(gets)
got=$(timeout 120 md5sum <"$mnt/big" | cut -d' ' -f1) || fail "reading back"
g1=$(gets)
[ "$got" = "$(md5sum <"$TMPDIR_TEST/ref" | cut -d' ' -f1)" ] ||
	fail "the file read other bytes"
echo "chunk GETs for a 32 MiB read with a 16 MiB cache: $((g1 - g0))"
[ $((g1 - g0)) -le 26 ] ||
	fail "$((g1 - g0)) chunk GETs: the cached half was evicted before it was read"
fuse_umount "$mnt"

fuse_mount fs611 "$mnt" "kernel_readahead=1M"
cat "$mnt/big" >/dev/null
ra=$(cat "/sys/class/bdi/$(mountpoint -d "$mnt")/read_ahead_kb")
[ "$ra" = 1024 ] || fail "read_ahead_kb with kernel_readahead=1M is $ra"
fuse_umount "$mnt"
echo PASS
