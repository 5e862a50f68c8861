#!/bin/bash
# 612-fuse-write-buffers-reused: a sequential writer's chunk buffers come
# from the pool of evicted chunks' buffers, not from fresh memory. With
# cache_size=128M and the cache full, a 256 MiB write costs kumo-mount
# fewer than 24,000 minor page faults (a fresh 4 MiB chunk buffer costs
# 1,024 faults, 65,536 in all without reuse; the writer cycles through
# dirty_max and the PUTs in flight: threads=8, as 32 PUTs of 4 MiB in
# flight would hold the whole cache); and a pooled buffer, which
# holds an old chunk's bytes, reads as zeros where the file was not
# written: new chunks written in their middle, chunks grown from a small
# buffer, and holes, compared with the same writes to a local file.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/fuse.sh"
requires md5sum head

start_cluster
fuse_mkfs fs612
mnt=$TMPDIR_TEST/mnt
fuse_mount fs612 "$mnt" "cache_size=128M,dirty_max=32M,threads=8"

faults() { awk '{ print $10 }' "/proc/$FUSE_PID/stat"; }
# the pool fills with random bytes once the cache is full
timeout 120 dd if=/dev/urandom of="$mnt/fill" bs=1M count=160 conv=fsync \
	status=none || fail "writing 160 MiB"
f0=$(faults)
timeout 300 dd if=/dev/zero of="$mnt/big" bs=1M count=256 conv=fsync \
	status=none || fail "writing 256 MiB"
f1=$(faults)
echo "kumo-mount minor faults for a 256 MiB write: $((f1 - f0))"
[ $((f1 - f0)) -lt 24000 ] ||
	fail "$((f1 - f0)) minor faults: the chunk buffers are not reused"

# writes into pooled buffers: every byte not written reads as zero
FUSE_CHUNK=$FUSE_CHUNK $PYTHON - "$mnt/sparse" "$TMPDIR_TEST/ref" <<'PY' || fail "the sparse writes"
import os, sys
K = 1024
M = int(os.environ["FUSE_CHUNK"])  # a chunk
writes = [
    (5 * M + 700 * K, b"a" * 10),       # a new chunk written in its middle
    (6 * M, b"b" * 100),                # a new chunk's first bytes (small buffer)...
    (6 * M + 900 * K, b"c" * 4096),     # ...grown to a whole chunk
    (8 * M + M - 5, b"d" * 5),          # a chunk's last bytes
    (9 * M + 3 * K, b"e" * (M - 3 * K)),  # to the end of a chunk
    (10 * M + 200 * K, b"f" * 300),     # the file's last chunk, short
]
for path in sys.argv[1:]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    for off, data in writes:
        os.pwrite(fd, data, off)
    os.fsync(fd)
    os.close(fd)
PY
sync
echo 3 >/proc/sys/vm/drop_caches
[ "$(md5sum <"$mnt/sparse" | cut -d' ' -f1)" = "$(md5sum <"$TMPDIR_TEST/ref" | cut -d' ' -f1)" ] ||
	fail "the sparse file read other bytes than the local one"
[ "$(md5sum <"$mnt/big" | cut -d' ' -f1)" = "$(head -c $((256 << 20)) /dev/zero | md5sum | cut -d' ' -f1)" ] ||
	fail "the 256 MiB file read other bytes"
fuse_umount "$mnt"
# the same from the cluster (no cached chunk)
fuse_mount fs612 "$mnt"
[ "$(md5sum <"$mnt/sparse" | cut -d' ' -f1)" = "$(md5sum <"$TMPDIR_TEST/ref" | cut -d' ' -f1)" ] ||
	fail "the sparse file read from the cluster differs"
fuse_umount "$mnt"
echo PASS
