#!/bin/bash
# 610-fuse-open-at-unmount: a file unlinked while open, still open when
# kumo-mount stops (SIGTERM: the kernel never sends its release), is
# freed by the final commit: its chunk objects leave the cluster and a
# remount does not see it. Before, the handle (and the inode, nlink 0
# under a clean unmount mark, which no later mount sweeps) stayed
# forever: 3 chunk objects left to nobody, and the handle leaked
# (LeakSanitizer: 24 bytes from op_open). kumo-mount exits 0 after
# SIGTERM once its final commit is in (libfuse's loop returned the
# signal's number, which made it 1).
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/fuse.sh"
requires swift

start_cluster
fuse_mkfs fs610
mnt=$TMPDIR_TEST/mnt
fuse_mount fs610 "$mnt"
pid=$FUSE_PID

head -c $((3 * FUSE_CHUNK)) /dev/urandom >"$TMPDIR_TEST/ref"
timeout 60 dd if="$TMPDIR_TEST/ref" of="$mnt/held" bs=1M conv=fsync \
	status=none || fail "writing 3 chunks"
echo kept >"$mnt/kept"
ino=$(printf '%016x' "$(stat -c %i "$mnt/held")")
chunks() { $SWIFT list fs610 --prefix "d/$ino/" | wc -l; }
[ "$(chunks)" = 3 ] || fail "$(chunks) chunk objects of the file, want 3"

exec 3<"$mnt/held"
rm "$mnt/held"
cmp -n $((3 * FUSE_CHUNK)) <(cat <&3) "$TMPDIR_TEST/ref" ||
	fail "the unlinked file read other bytes while open"
[ "$(chunks)" = 3 ] || fail "chunks gone while the file is open"

kill -TERM "$pid"
timeout 60 tail --pid="$pid" -f /dev/null || fail "kumo-mount lingered"
status=0
wait "$pid" || status=$?
exec 3<&-
fusermount3 -u -z "$mnt" 2>/dev/null || true

[ "$(chunks)" = 0 ] ||
	fail "$(chunks) chunk objects of the file open at unmount remain"
# a stop asked by SIGTERM is clean, and the final commit went through
[ "$status" = 0 ] || fail "kumo-mount exited with status $status after SIGTERM"

fuse_mount fs610 "$mnt"
[ "$(cat "$mnt/kept")" = kept ] || fail "kept lost its bytes"
[ "$(ls "$mnt")" = kept ] || fail "the tree after remount: $(ls "$mnt")"
fuse_umount "$mnt"
echo PASS
