#!/bin/bash
# 601-fuse-random-ops: the random-operation checker (tests/lib/
# fuse_randops.py) runs 100,000 operations (pwrite, pread, truncate,
# fallocate, punch hole, mmap reads, O_DIRECT reads, fsync, reopen) on four
# files of a kumo-mount, at offsets up to past 5 GiB (sparse), comparing
# every read with the same operations on a local reference directory. Then
# the filesystem is unmounted and mounted again, and every region of every
# file and its size still equal the reference. The seed is printed; SEED=N
# replays a run.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/fuse.sh"

start_cluster
fuse_mkfs fs601
mnt=$TMPDIR_TEST/mnt
ref=$TMPDIR_TEST/ref
mkdir -p "$ref"
fuse_mount fs601 "$mnt"
mkdir "$mnt/rand" || fail "mkdir on the mount"

seed=${SEED:-$($PYTHON -c 'import random; print(random.randrange(2**32))')}
# the timeout only guards against a hang: the run takes 40-80 s quiet,
# and went past 85 s once in a full CI run of this 2-core machine
rc=0
timeout 300 $PYTHON "$TESTS_DIR/lib/fuse_randops.py" run "$mnt/rand" "$ref" \
	--seed "$seed" --ops "${OPS:-100000}" || rc=$?
[ "$rc" = 124 ] && fail "random operations did not end within 300 s (seed $seed)"
[ "$rc" = 0 ] ||
	fail "random operations on the mount differ from the reference (seed $seed; exit $rc)"

fuse_umount "$mnt"
fuse_mount fs601 "$mnt"
timeout 30 $PYTHON "$TESTS_DIR/lib/fuse_randops.py" verify "$mnt/rand" "$ref" ||
	fail "after a remount the files differ from the reference (seed $seed)"
echo "601-fuse-random-ops: ok (seed $seed)"
