#!/bin/bash
# 604-fuse-lease: one writable mount of a filesystem at a time.
#   - mount A read-write; a second read-write mount B of the same
#     filesystem fails (exits non-zero, says why, mounts nothing);
#   - B read-only mounts beside A, sees what A committed (fsync) and
#     refuses writes (EROFS);
#   - A unmounts; B read-write mounts and sees every file as A left it
#     (contents, sizes, modes, symlinks, hard links), and can write;
#   - A mounted read-write with a short lease (lease_seconds) is killed
#     with SIGKILL; B read-write is refused while the lease runs, then
#     mounts once it has expired and sees what A had fsynced.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/fuse.sh"

start_cluster
fuse_mkfs fs604
a=$TMPDIR_TEST/a
b=$TMPDIR_TEST/b
fuse_mount fs604 "$a"

mkdir -p "$a/dir/sub"
head -c 3000000 /dev/urandom >"$TMPDIR_TEST/big"
cp "$TMPDIR_TEST/big" "$a/dir/big"
printf 'small\n' >"$a/dir/sub/small"
chmod 0640 "$a/dir/sub/small"
ln -s sub/small "$a/dir/link"
ln "$a/dir/big" "$a/dir/big.hard"
truncate -s 10G "$a/sparse"
printf 'tail' | dd of="$a/sparse" bs=1 seek=$((10 * 1024 * 1024 * 1024 - 4)) conv=notrunc status=none
sync -f "$a/dir/big"
$PYTHON - "$a" <<'PY' || fail "fsync on A"
import os, sys
for p in ("dir/big", "dir/sub/small", "sparse"):
    fd = os.open(os.path.join(sys.argv[1], p), os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
for d in ("", "dir", "dir/sub"):
    fd = os.open(os.path.join(sys.argv[1], d), os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
PY

# snapshot of A's tree: what every later mount must see
state() {
	(cd "$1" && find . -printf '%p %y %m %n %s %l\n' | sort &&
		find . -type f ! -name sparse -exec md5sum {} + | sort -k2 &&
		dd if=sparse bs=1 skip=$((10 * 1024 * 1024 * 1024 - 8)) status=none | od -c)
}
state "$a" >"$TMPDIR_TEST/want"

# B read-write beside A: refused, nothing mounted
if fuse_try_mount fs604 "$b"; then
	fail "a second read-write mount succeeded while A holds the lease"
fi
fuse_is_mounted "$b" && fail "the refused mount left $b mounted"
err=$TMPDIR_TEST/mount.b.err
grep -v "Ignoring invalid max threads" "$err" | grep -qi . ||
	fail "the refused read-write mount said nothing on stderr"
echo "refused as expected: $(grep -v 'max threads' "$err" | head -3)"

# B read-only beside A
fuse_mount fs604 "$b" ro
state "$b" >"$TMPDIR_TEST/got.ro"
diff "$TMPDIR_TEST/want" "$TMPDIR_TEST/got.ro" >&2 ||
	fail "the read-only mount B does not see what A committed"
if (echo x >"$b/new") 2>"$TMPDIR_TEST/ro.err"; then
	fail "a write through the read-only mount succeeded"
fi
grep -qi "read-only" "$TMPDIR_TEST/ro.err" ||
	{ cat "$TMPDIR_TEST/ro.err"; fail "write on the ro mount: not EROFS"; }
fuse_umount "$b"

# A leaves; B read-write takes over and sees everything
fuse_umount "$a"
fuse_mount fs604 "$b"
state "$b" >"$TMPDIR_TEST/got.rw"
diff "$TMPDIR_TEST/want" "$TMPDIR_TEST/got.rw" >&2 ||
	fail "B (read-write after A unmounted) does not see A's files as A left them"
printf 'from b\n' >"$b/dir/from-b" || fail "B cannot write"
fuse_umount "$b"

# A with a short lease, killed: B waits for the lease to expire
lease=6
fuse_mount fs604 "$a" "lease_seconds=$lease"
[ "$(cat "$a/dir/from-b")" = "from b" ] || fail "A does not see B's file"
head -c 1000000 /dev/urandom >"$TMPDIR_TEST/late"
cp "$TMPDIR_TEST/late" "$a/late"
$PYTHON -c "import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)" "$a/late" ||
	fail "fsync on A"
$PYTHON -c "import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)" "$a" ||
	fail "fsync of A's root"
killed=$(date +%s)
fuse_kill9 "$a"
if fuse_try_mount fs604 "$b"; then
	[ $(($(date +%s) - killed)) -ge $((lease - 1)) ] ||
		fail "B mounted read-write $(($(date +%s) - killed)) s after A was killed, lease $lease s"
else
	fuse_mount_retry fs604 "$b" "" $((lease * 3 + 10))
fi
took=$(($(date +%s) - killed))
echo "B mounted ${took}s after A's kill -9 (lease ${lease}s)"
[ "$took" -le $((lease * 3 + 10)) ] || fail "lease expiry took $took s"
cmp "$TMPDIR_TEST/late" "$b/late" || fail "B does not see the file A fsynced before its kill"
state "$b" | grep -v -e late -e from-b >"$TMPDIR_TEST/got.kill"
grep -v -e late -e from-b "$TMPDIR_TEST/want" | diff - "$TMPDIR_TEST/got.kill" >&2 ||
	fail "after A's kill -9 B sees a different tree"
echo "604-fuse-lease: ok"
