#!/bin/bash
# 609-fuse-truncate-under-readers: bytes cut off by a truncate never come
# back, even while other processes read the chunks being cut. Two readers
# pread chunk 3 of a 4 MiB file in a loop while a writer, 150 times:
# fills the file with a round's pattern (4 MiB; every third round
# fsynced, so that the truncate that follows queues DELETEs of chunks
# 1-3), truncates it to 1 MiB, fills it again (the chunks' PUTs wait for
# those DELETEs, holding the chunks), truncates it to 1 MiB again,
# extends it to 4 MiB (a hole), writes 4 KiB at the start of chunk 3 and
# reads the last 3 MiB back: zeros but those 4 KiB. A chunk held at a
# truncate (by a reader, or a flush waiting for a DELETE) used to stay
# findable with its old bytes, and the next write into its place revived
# them (the 601 checker's mismatch). Then fsync, and a remount reads the
# same.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/fuse.sh"

start_cluster
fuse_mkfs fs609
mnt=$TMPDIR_TEST/mnt
fuse_mount fs609 "$mnt" "commit_seconds=3600"

timeout 240 $PYTHON - "$mnt/f" "$TMPDIR_TEST/want" <<'PY' || fail "stale bytes after a truncate (above)"
import os, sys, time
path = sys.argv[1]
MiB = 1 << 20
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(fd, b"\x01" * 4 * MiB, 0)
os.fsync(fd)
readers = []
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        r = os.open(path, os.O_RDONLY)
        end = time.time() + 200
        while time.time() < end:
            os.pread(r, MiB, 3 * MiB)
        os._exit(0)
    readers.append(pid)
bad = None
try:
    for rnd in range(150):
        pat = bytes([rnd % 250 + 2]) * (4 * MiB)
        os.pwrite(fd, pat, 0)
        if rnd % 3 == 0:
            os.fsync(fd)  # chunks stored: the truncate queues DELETEs
        os.ftruncate(fd, MiB)
        os.pwrite(fd, pat, 0)  # PUTs that wait for those DELETEs
        os.ftruncate(fd, MiB)
        os.ftruncate(fd, 4 * MiB)
        os.pwrite(fd, b"\xee" * 4096, 3 * MiB)
        got = os.pread(fd, 3 * MiB, MiB)
        want = bytes(2 * MiB) + b"\xee" * 4096 + bytes(MiB - 4096)
        if got != want:
            i = next(k for k in range(len(want)) if k >= len(got) or
                     got[k] != want[k])
            bad = "round %d: byte %d of the file is %r, want %r" % (
                rnd, MiB + i, got[i:i + 4], want[i:i + 4])
            break
finally:
    for pid in readers:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
if bad:
    print(bad)
    sys.exit(1)
os.fsync(fd)
os.close(fd)
import hashlib
want = pat[:MiB] + bytes(2 * MiB) + b"\xee" * 4096 + bytes(MiB - 4096)
open(sys.argv[2], "w").write(hashlib.md5(want).hexdigest() + "  -\n")
print("150 rounds without stale bytes")
PY
want=$(cat "$TMPDIR_TEST/want")
fuse_umount "$mnt"
fuse_mount fs609 "$mnt" "commit_seconds=3600"
[ "$(md5sum <"$mnt/f")" = "$want" ] || fail "after a remount the file differs"
echo "609-fuse-truncate-under-readers: ok"
