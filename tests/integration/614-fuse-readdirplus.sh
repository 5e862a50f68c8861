#!/bin/bash
# 614-fuse-readdirplus: listing a directory with its attributes (ls -l,
# os.scandir + stat) after the kernel dropped its caches is answered by
# READDIRPLUS: the kernel gets each name with its attributes, so the
# stats that follow come from its cache, not from one LOOKUP per name
# (libfuse's debug log counts the requests). The attributes it gets are
# the files' own: sizes, modes, types, symlink targets and mtimes of
# 1,500 entries (files, directories, symlinks), right after they were
# made, after a remount, and after half of the files were removed and
# others rewritten while the listing's entries were still cached.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/fuse.sh"

start_cluster
fuse_mkfs fs614
mnt=$TMPDIR_TEST/mnt
fuse_mount fs614 "$mnt" debug
log=$TMPDIR_TEST/mount.mnt.err
n=1500

# make DIR N: files f%05d (size i % 700, mode 0644 or 0600, mtime
# 1000000 + i), every 10th a directory d%05d, every 15th a symlink
$PYTHON - "$mnt/d" "$n" <<'PY' || fail "making $n entries"
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.mkdir(d)
for i in range(n):
    if i % 10 == 0:
        os.mkdir(os.path.join(d, "d%05d" % i), 0o750)
    elif i % 15 == 0:
        os.symlink("target-%d" % i, os.path.join(d, "l%05d" % i))
    else:
        p = os.path.join(d, "f%05d" % i)
        with open(p, "wb") as f:
            f.write(b"y" * (i % 700))
        os.chmod(p, 0o644 if i % 2 else 0o600)
        os.utime(p, (1000000 + i, 1000000 + i))
PY

# check DIR N GONE: scandir + lstat of every entry agrees with make's,
# files in GONE (every 4th file removed, "-": none) are absent
check() {
	$PYTHON - "$@" <<'PY'
import os, stat, sys
d, n, gone = sys.argv[1], int(sys.argv[2]), sys.argv[3] != "-"
seen = {}
with os.scandir(d) as it:
    for e in it:
        seen[e.name] = e.stat(follow_symlinks=False)
bad = []
want = 0
for i in range(n):
    if i % 10 == 0:
        name, kind = "d%05d" % i, "d"
    elif i % 15 == 0:
        name, kind = "l%05d" % i, "l"
    else:
        name, kind = "f%05d" % i, "f"
    if gone and kind == "f" and i % 4 == 1:
        if name in seen:
            bad.append("%s still listed" % name)
        continue
    want += 1
    st = seen.get(name)
    if st is None:
        bad.append("%s missing" % name)
        continue
    if kind == "d":
        ok = stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o750
    elif kind == "l":
        ok = stat.S_ISLNK(st.st_mode) and st.st_size == len("target-%d" % i) \
            and os.readlink(os.path.join(d, name)) == "target-%d" % i
    else:
        size = (i % 700) * (3 if gone and i % 4 == 3 else 1)
        mode = 0o644 if i % 2 else 0o600
        ok = stat.S_ISREG(st.st_mode) and st.st_size == size and \
            stat.S_IMODE(st.st_mode) == mode and \
            (gone and i % 4 == 3 or int(st.st_mtime) == 1000000 + i)
    if not ok:
        bad.append("%s: mode %o size %d mtime %d" %
                   (name, st.st_mode, st.st_size, st.st_mtime))
if len(seen) != want:
    bad.append("%d entries listed, %d expected" % (len(seen), want))
if bad:
    print("\n".join(bad[:10]))
    sys.exit(1)
PY
}

# lookups N...: LOOKUP requests in the mount's debug log so far
lookups() { grep -c 'opcode: LOOKUP' "$log" || true; }

# listed LABEL GONE: drop the caches, list with stats, count lookups
listed() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	local before=$(lookups) after
	check "$mnt/d" "$n" "$2" || fail "$1: the listing's attributes differ"
	after=$(lookups)
	grep -q 'opcode: READDIRPLUS' "$log" ||
		fail "$1: the kernel never sent READDIRPLUS"
	# the directory itself, ".." and the symlinks readlink reads are
	# looked up at most; far fewer than one per name
	[ $((after - before)) -lt $((n / 10)) ] ||
		fail "$1: $((after - before)) LOOKUPs for $n names"
}

listed "fresh" -
fuse_umount "$mnt"
fuse_mount fs614 "$mnt" debug
log=$TMPDIR_TEST/mount.mnt.err
listed "after a remount" -

# with the entries cached by a listing: remove every 4th file, triple
# the size of others; the next listing sees both
check "$mnt/d" "$n" - || fail "listing before the changes"
$PYTHON - "$mnt/d" "$n" <<'PY' || fail "removing and rewriting files"
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    if i % 10 == 0 or i % 15 == 0:
        continue
    p = os.path.join(d, "f%05d" % i)
    if i % 4 == 1:
        os.unlink(p)
    elif i % 4 == 3:
        with open(p, "ab") as f:
            f.write(b"z" * (2 * (i % 700)))
PY
listed "after removals and rewrites" gone
fuse_umount "$mnt"
fuse_mount fs614 "$mnt" debug
log=$TMPDIR_TEST/mount.mnt.err
listed "after removals, remounted" gone
echo "614-fuse-readdirplus: ok"
