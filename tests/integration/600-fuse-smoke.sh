#!/bin/bash
# 600-fuse-smoke: kumo-mount --mkfs makes a filesystem (a second --mkfs of
# the same name fails); a mount takes writes, a rename over a file, an
# unlink and a sparse file; a second read-write mount is refused while
# the first holds the lease; after unmount and remount every file is there
# with its bytes, and the chunks of the removed file are gone.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
requires kumo-mount fusermount3 curl

start_cluster
opts="auth_url=$AUTH_URL,user=test:tester,key=testing,auto_unmount"
mnt=$TMPDIR_TEST/mnt
mkdir -p "$mnt" "$TMPDIR_TEST/mnt2"

timeout 30 kumo-mount --mkfs -o "$opts" smoke || fail "mkfs"
if timeout 30 kumo-mount --mkfs -o "$opts" smoke 2>/dev/null; then
	fail "a second mkfs of the same name succeeded"
fi

mount_fs() {
	kumo-mount -f -o "$opts" smoke "$mnt" 2>>"$TMPDIR_TEST/mount.err" &
	MOUNT_PID=$!
	local i
	for i in $(seq 1 100); do
		mountpoint -q "$mnt" && return 0
		sleep 0.1
	done
	cat "$TMPDIR_TEST/mount.err" >&2
	fail "mount did not come up"
}
umount_fs() {
	fusermount3 -u "$mnt" || fail "unmount"
	timeout 30 tail --pid="$MOUNT_PID" -f /dev/null || fail "daemon lingered"
	wait "$MOUNT_PID" || fail "kumo-mount exited with an error"
}
_unmount_left() {
	mountpoint -q "$mnt" && fusermount3 -u -z "$mnt"
	kill "$MOUNT_PID" 2>/dev/null
	return 0
}
cleanup_fn _unmount_left

mount_fs
head -c 10000000 /dev/urandom >"$TMPDIR_TEST/big"
cp "$TMPDIR_TEST/big" "$mnt/big" || fail "write big"
mkdir -p "$mnt/d/e" || fail "mkdir"
echo hello >"$mnt/d/e/a" || fail "write a"
echo world >"$mnt/b"
mv "$mnt/b" "$mnt/d/e/a" || fail "rename over"
echo gone >"$mnt/gone"
rm "$mnt/gone" || fail "unlink"
truncate -s 5G "$mnt/sparse"
printf 'tail' | dd of="$mnt/sparse" bs=1 seek=4000000000 conv=notrunc \
	status=none
ln -s d/e/a "$mnt/link"
cmp "$TMPDIR_TEST/big" "$mnt/big" || fail "big reads back wrong"
[ "$(cat "$mnt/link")" = world ] || fail "symlink"

# a second read-write mount is refused while the lease is held
if timeout 30 kumo-mount -f -o "$opts" smoke "$TMPDIR_TEST/mnt2" \
	2>"$TMPDIR_TEST/second.err"; then
	fail "a second read-write mount succeeded"
fi
grep -q "mounted read-write" "$TMPDIR_TEST/second.err" ||
	{ cat "$TMPDIR_TEST/second.err"; fail "no clear message"; }
umount_fs

mount_fs
cmp "$TMPDIR_TEST/big" "$mnt/big" || fail "big lost after remount"
[ "$(cat "$mnt/d/e/a")" = world ] || fail "rename lost after remount"
[ ! -e "$mnt/b" ] || fail "rename source came back"
[ ! -e "$mnt/gone" ] || fail "unlinked file came back"
[ "$(stat -c %s "$mnt/sparse")" = 5368709120 ] || fail "sparse size"
[ "$(dd if="$mnt/sparse" bs=1 skip=4000000000 count=4 status=none)" = tail ] ||
	fail "sparse data"
# one 4 MiB chunk written of 5 GiB
[ "$(stat -c %b "$mnt/sparse")" -le 8192 ] || fail "holes take space"
[ "$(readlink "$mnt/link")" = d/e/a ] || fail "symlink lost"
umount_fs

# 10 MB big file → 3 chunks of 4 MiB; sparse → 1; a (6 bytes) → none, its data is
# inline in the metadata: no chunk of "gone" or "b"
n=$($SWIFT list smoke --prefix d/ | wc -l)
[ "$n" = 4 ] || { $SWIFT list smoke; fail "expected 4 chunks, found $n"; }
echo ok
