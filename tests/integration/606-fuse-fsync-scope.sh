#!/bin/bash
# 606-fuse-fsync-scope: fsync of one file makes that file durable without
# uploading other files' unflushed data. With a dirty bound and a commit
# interval too large to flush anything on their own, the mount holds
# B (8 chunks written, closed, never fsynced) and then fsyncs a small A:
#   - the cluster holds A's chunk and none of B's (B's data stays in the
#     mount's write-back cache: A's fsync did not wait for it);
#   - fsync of B then uploads all 8 of B's chunks;
#   - a file renamed over another, then an fsync of the directory: its
#     chunks are uploaded with that commit;
#   - fsync of the mount's root directory uploads every file's data (as
#     syncfs, which FUSE does not pass on);
#   - after kill -9 and a remount, A, B, R and E read back as written.
# And a file written after the last fsync, when the mount is killed,
# reads back with its committed size as its data or zeros, never as
# anything else.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/fuse.sh"

start_cluster
fuse_mkfs fs606
mnt=$TMPDIR_TEST/mnt
lease=5
opts="lease_seconds=$lease,commit_seconds=3600,dirty_max=512M"
fuse_mount fs606 "$mnt" "$opts"

# chunk_count INO: objects d/<ino>/* in the cluster
chunk_count() {
	$SWIFT list fs606 --prefix "$(printf 'd/%016x/' "$1")" | wc -l
}

# B: 8 blocks of a chunk - 4 KiB, one per chunk (none filled to its end,
# so none is flushed early as a finished sequential chunk)
$PYTHON - "$mnt" "$TMPDIR_TEST" "$FUSE_CHUNK" <<'PY' || fail "writing B and A"
import os, sys
mnt, tmp = sys.argv[1], sys.argv[2]
blk = int(sys.argv[3])
ref = bytearray(8 * blk - 4096)
fd = os.open(os.path.join(mnt, "B"), os.O_WRONLY | os.O_CREAT, 0o644)
for k in range(8):
    data = os.urandom(blk - 4096)
    os.pwrite(fd, data, k * blk)
    ref[k * blk:k * blk + len(data)] = data
os.close(fd)
open(os.path.join(tmp, "B.ref"), "wb").write(ref)
a = os.urandom(5000)
open(os.path.join(tmp, "A.ref"), "wb").write(a)
fd = os.open(os.path.join(mnt, "A"), os.O_WRONLY | os.O_CREAT, 0o644)
os.write(fd, a)
os.fsync(fd)
os.close(fd)
PY
ino_a=$(stat -c %i "$mnt/A")
ino_b=$(stat -c %i "$mnt/B")
n=$(chunk_count "$ino_a")
[ "$n" = 1 ] || fail "after fsync(A) the cluster holds $n chunks of A, expected 1"
n=$(chunk_count "$ino_b")
[ "$n" = 0 ] || fail "fsync(A) uploaded $n of B's unflushed chunks (expected none)"
echo "fsync(A): A's chunk uploaded, none of B's 8"

$PYTHON -c "import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)" "$mnt/B" ||
	fail "fsync(B)"
n=$(chunk_count "$ino_b")
[ "$n" = 8 ] || fail "after fsync(B) the cluster holds $n of B's 8 chunks"

# R.tmp renamed over R without an fsync of its own, then the directory
# fsynced: the rename brings R.tmp's data (as ext4's auto_da_alloc), so
# the new name never comes with missing chunks
mkdir "$mnt/dir"
echo old >"$mnt/dir/R"
# R and E: 3 chunks each, the last one partial
head -c $((2 * FUSE_CHUNK + 500000)) /dev/urandom >"$TMPDIR_TEST/R.ref"
cp "$TMPDIR_TEST/R.ref" "$mnt/dir/R.tmp"
head -c $((2 * FUSE_CHUNK + 500000)) /dev/urandom >"$TMPDIR_TEST/E.ref"
cp "$TMPDIR_TEST/E.ref" "$mnt/dir/E"
mv "$mnt/dir/R.tmp" "$mnt/dir/R" || fail "rename over R"
$PYTHON -c "import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)" "$mnt/dir" ||
	fail "fsync of the directory"
n=$(chunk_count "$(stat -c %i "$mnt/dir/R")")
[ "$n" = 3 ] || fail "after rename over R and fsync(dir) the cluster holds $n of R's 3 chunks"
ino_e=$(stat -c %i "$mnt/dir/E")
n=$(chunk_count "$ino_e")
# (its two full chunks may be on their way: a finished chunk is PUT early)
[ "$n" -lt 3 ] || fail "fsync(dir) uploaded E's last chunk (not renamed, not fsynced)"

# the root directory's fsync: everything
$PYTHON -c "import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)" "$mnt" ||
	fail "fsync of the root"
n=$(chunk_count "$ino_e")
[ "$n" = 3 ] || fail "after fsync of the root the cluster holds $n of E's 3 chunks"

# C: written after the last fsync; the mount is killed with it unflushed
head -c 3000000 /dev/urandom >"$TMPDIR_TEST/C.ref"
cp "$TMPDIR_TEST/C.ref" "$mnt/C"
fuse_kill9 "$mnt"
fuse_mount_retry fs606 "$mnt" "$opts" $((lease + 20))
cmp "$TMPDIR_TEST/A.ref" "$mnt/A" || fail "A (fsynced) differs after kill -9"
cmp "$TMPDIR_TEST/B.ref" "$mnt/B" || fail "B (fsynced) differs after kill -9"
cmp "$TMPDIR_TEST/R.ref" "$mnt/dir/R" || fail "R (renamed over, directory fsynced) differs after kill -9"
cmp "$TMPDIR_TEST/E.ref" "$mnt/dir/E" || fail "E (root fsynced) differs after kill -9"
if [ -e "$mnt/C" ]; then
	$PYTHON - "$mnt/C" "$TMPDIR_TEST/C.ref" "$FUSE_CHUNK" <<'PY' || fail "C after kill -9 holds bytes never written"
import os, sys
got, ref = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
assert len(got) == os.stat(sys.argv[1]).st_size
assert len(got) <= len(ref), "C longer than written"
cs = int(sys.argv[3])
for off in range(0, len(got), cs):
    g = got[off:off + cs]
    assert g == ref[off:off + len(g)] or g == bytes(len(g)), \
        "chunk at %d is neither the data nor zeros" % off
print("C: %d bytes, each chunk its data or zeros" % len(got))
PY
fi
fuse_umount "$mnt"
echo "606-fuse-fsync-scope: ok"
