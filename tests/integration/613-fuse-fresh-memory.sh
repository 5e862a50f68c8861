#!/bin/bash
# 613-fuse-fresh-memory: kumo-mount touches little fresh memory for
# writes (a fresh page costs a fault, ~4 us on a VM whose free pages go
# back to the host). (1) A sequential writer's flushed chunks give their
# buffers to its next chunks (buf_take takes the spent LRU tail), so a
# 256 MiB write into a new mount with the default 512 MiB cache and
# dirty_max=32M costs fewer than 24,000 minor faults (every chunk fresh
# is 65,536). (2) A 4 KiB
# write into a stored chunk not in the cache (a sparse chunk) touches the
# pages it writes, not the whole fresh 1 MiB buffer: 64 of them cost
# fewer than 6,000 faults (~650 here; 17,160 before, 256 a chunk). The bytes read back are checked (the sparse
# chunk's buffer is not zeroed: only written units are read).
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/fuse.sh"
requires md5sum

start_cluster
fuse_mkfs fs613
mnt=$TMPDIR_TEST/mnt
faults() { awk '{ print $10 }' "/proc/$FUSE_PID/stat"; }

fuse_mount fs613 "$mnt" "dirty_max=32M,threads=4"
f0=$(faults)
timeout 300 dd if=/dev/urandom of="$TMPDIR_TEST/ref" bs=1M count=256 \
	status=none || fail "making 256 MiB"
timeout 300 dd if="$TMPDIR_TEST/ref" of="$mnt/big" bs=1M conv=fsync \
	status=none || fail "writing 256 MiB"
f1=$(faults)
echo "kumo-mount minor faults for a 256 MiB write: $((f1 - f0))"
[ $((f1 - f0)) -lt 24000 ] ||
	fail "$((f1 - f0)) minor faults: flushed chunks' buffers are not reused"
fuse_umount "$mnt"

# a new mount: nothing cached, nothing pooled
fuse_mount fs613 "$mnt"
f0=$(faults)
$PYTHON - "$mnt/big" "$TMPDIR_TEST/ref" <<'PY' || fail "the 4 KiB writes"
import os, sys
M = 1 << 20
size = 256 * M
for path in sys.argv[1:]:
    fd = os.open(path, os.O_WRONLY)
    for i in range(64):
        off = 2 * i * M + (i % 16) * 4096 * 3
        os.pwrite(fd, bytes([i + 1]) * 4096, off)
    # the last unit, ending at the end of file, then past it
    os.pwrite(fd, b"z" * 100, size - 100)
    os.pwrite(fd, b"y" * 50, size + 4096)
    os.fsync(fd)
    os.close(fd)
PY
f1=$(faults)
echo "kumo-mount minor faults for 64 4 KiB writes into stored chunks: $((f1 - f0))"
[ $((f1 - f0)) -lt 6000 ] ||
	fail "$((f1 - f0)) minor faults: sparse chunks touch whole buffers"
sync
echo 3 >/proc/sys/vm/drop_caches
[ "$(md5sum <"$mnt/big" | cut -d' ' -f1)" = "$(md5sum <"$TMPDIR_TEST/ref" | cut -d' ' -f1)" ] ||
	fail "the file read other bytes than the local one"
fuse_umount "$mnt"
# from the cluster alone
fuse_mount fs613 "$mnt"
[ "$(md5sum <"$mnt/big" | cut -d' ' -f1)" = "$(md5sum <"$TMPDIR_TEST/ref" | cut -d' ' -f1)" ] ||
	fail "the file read from the cluster differs"
fuse_umount "$mnt"
echo PASS
