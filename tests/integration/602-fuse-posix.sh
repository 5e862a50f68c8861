#!/bin/bash
# 602-fuse-posix: the POSIX behaviour suite (tests/lib/fuse_posix.py) on a
# kumo-mount: files, directories, hard links, symlinks, rename (over a
# file, of directories, RENAME_NOREPLACE, RENAME_EXCHANGE), chmod, chown,
# utimens in ns, truncate, fallocate, a 100 GiB sparse file, xattrs,
# statfs, O_APPEND, O_EXCL, O_TRUNC, unlinked open files, fsync, timestamps
# and permissions enforced for the user nobody. Then, after a remount, what
# the suite left (names, modes, owners, links, xattrs, ns times) is still
# there as it was before the unmount. Mounted with allow_other, as a
# compute host must (qemu runs as its own user), so that nobody reaches
# the files and default_permissions decides.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/fuse.sh"

start_cluster
fuse_mkfs fs602
mnt=$TMPDIR_TEST/mnt
fuse_mount fs602 "$mnt" allow_other
mkdir "$mnt/posix" || fail "mkdir on the mount"
timeout 60 $PYTHON "$TESTS_DIR/lib/fuse_posix.py" "$mnt/posix" ||
	fail "POSIX suite on the mount (cases listed above)"

# the tree (names, types, modes, owners, links, sizes, targets, ns times,
# xattrs), before and after a remount
tree() {
	$PYTHON - "$mnt/posix" <<'PY'
import hashlib, os, sys
top = sys.argv[1]
for root, ds, fs in sorted(os.walk(top)):
    for n in sorted(ds + fs):
        p = os.path.join(root, n)
        st = os.lstat(p)
        x = sorted((k, hashlib.sha256(os.getxattr(
            p, k, follow_symlinks=False)).hexdigest()[:16])
            for k in os.listxattr(p, follow_symlinks=False))
        print(os.path.relpath(p, top), oct(st.st_mode), st.st_uid, st.st_gid,
              st.st_nlink, st.st_size if not os.path.isdir(p) else "-",
              os.readlink(p) if os.path.islink(p) else "",
              st.st_mtime_ns, x)
PY
}
tree >"$TMPDIR_TEST/before"
fuse_umount "$mnt"
fuse_mount fs602 "$mnt" allow_other
tree >"$TMPDIR_TEST/after"
diff "$TMPDIR_TEST/before" "$TMPDIR_TEST/after" >&2 ||
	fail "the tree differs after a remount"
[ "$(wc -l <"$TMPDIR_TEST/before")" -gt 50 ] || fail "tree listing too short"
echo "602-fuse-posix: ok"
