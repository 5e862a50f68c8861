#!/bin/bash
# 608-fuse-delta-writes: a small write into a stored chunk uploads bytes in
# proportion to what it touched, not the whole (4 MiB) chunk, and stays
# durable. A file of 16 chunks is written and fsynced (16 chunk objects);
# then:
#   - 64 random 4 KiB writes and 16 of 100 bytes, fsync: the cluster gains
#     only delta objects (d/<ino>/<idx>.<gen>) holding about the bytes
#     written (at most 4 KiB per write plus headers); no chunk object is
#     stored again (their etags and timestamps are unchanged);
#   - kill -9, remount: the file reads back as written, whole and by
#     random 4 KiB reads (deltas laid over their chunks);
#   - 8 fsynced rounds of 160 pages into chunk 0: past half a chunk of
#     deltas it is stored whole and its deltas are deleted by the next
#     commit (the cluster never keeps more than half a chunk of them);
#   - a truncate that drops chunks with deltas deletes their deltas too;
#   - kill -9 and a remount: the file as written; after a clean unmount
#     and a remount, again.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/fuse.sh"

start_cluster
fuse_mkfs fs608
mnt=$TMPDIR_TEST/mnt
lease=5
opts="lease_seconds=$lease,commit_seconds=3600"
fuse_mount fs608 "$mnt" "$opts"
ref=$TMPDIR_TEST/F.ref

# objects INO: "name bytes etag last_modified" of d/<ino>/*, in order
objects() {
	$PYTHON - "$AUTH_URL" "$(printf 'd/%016x/' "$1")" <<'PY'
import json, sys, urllib.request
auth, prefix = sys.argv[1], sys.argv[2]
r = urllib.request.urlopen(urllib.request.Request(auth, headers={
    "X-Auth-User": "test:tester", "X-Auth-Key": "testing"}))
tok, url = r.headers["X-Auth-Token"], r.headers["X-Storage-Url"]
q = urllib.request.Request(url + "/fs608?format=json&prefix=" + prefix,
                           headers={"X-Auth-Token": tok})
for o in json.load(urllib.request.urlopen(q)):
    print(o["name"], o["bytes"], o["hash"], o["last_modified"])
PY
}

# fsync_of PATH: fsync(2) of a file or directory
fsync_of() {
	$PYTHON -c "import os,sys; os.fsync(os.open(sys.argv[1], os.O_RDONLY))" "$1"
}

export FUSE_CHUNK
head -c $((16 * FUSE_CHUNK)) /dev/urandom >"$ref"
cp "$ref" "$mnt/F"
fsync_of "$mnt/F" || fail "fsync(F)"
ino=$(stat -c %i "$mnt/F")
objects "$ino" >"$TMPDIR_TEST/before"
[ "$(awk '$1 !~ /\./' "$TMPDIR_TEST/before" | wc -l)" = 16 ] ||
	{ cat "$TMPDIR_TEST/before"; fail "16 chunk objects expected after fsync"; }

# rw FILE REF SEED N SIZE [CHUNK]: N writes of SIZE random bytes at random
# offsets (4 KiB aligned for SIZE 4096; within CHUNK when given) into FILE
# and REF alike, then fsync FILE
rw() {
	$PYTHON - "$@" <<'PY'
import os, random, sys
f, r, seed, n, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
chunk = int(sys.argv[6]) if len(sys.argv) > 6 else None
cs = int(os.environ["FUSE_CHUNK"])
rnd = random.Random(seed)
fd, rd = os.open(f, os.O_RDWR), os.open(r, os.O_RDWR)
end = os.fstat(fd).st_size
offs = set()
for i in range(n):
    while True:
        if chunk is not None:
            off = chunk * cs + rnd.randrange(cs // 4096) * 4096
        elif size == 4096:
            off = rnd.randrange(end // 4096) * 4096
        else:
            off = rnd.randrange(end - size)
        if size != 4096 or off not in offs:
            break
    offs.add(off)
    data = os.urandom(size)
    os.pwrite(fd, data, off)
    os.pwrite(rd, data, off)
os.fsync(fd)
PY
}

rw "$mnt/F" "$ref" 1 64 4096 || fail "random 4 KiB writes"
rw "$mnt/F" "$ref" 2 16 100 || fail "random 100-byte writes"
objects "$ino" >"$TMPDIR_TEST/after"
awk '$1 !~ /\./' "$TMPDIR_TEST/after" | cmp -s - "$TMPDIR_TEST/before" ||
	{ diff "$TMPDIR_TEST/before" "$TMPDIR_TEST/after"; fail "a chunk object was stored again for small writes"; }
nd=$(awk '$1 ~ /\./' "$TMPDIR_TEST/after" | wc -l)
bytes=$(awk '$1 ~ /\./ { s += $2 } END { print s + 0 }' "$TMPDIR_TEST/after")
# 80 writes touch at most 64 + 2 * 16 units of 4 KiB; 16 bytes of header
# and 4 per unit per delta
max=$(((64 + 32) * (4096 + 4) + 16 * 16))
[ "$nd" -ge 1 ] && [ "$bytes" -le "$max" ] ||
	fail "80 small writes uploaded $bytes bytes in $nd deltas (at most $max expected)"
echo "80 small writes: $nd deltas, $bytes bytes uploaded (chunks untouched)"

fuse_kill9 "$mnt"
fuse_mount_retry fs608 "$mnt" "$opts" $((lease + 20))
cmp "$ref" "$mnt/F" || fail "F differs after kill -9 (deltas fsynced)"
fuse_umount "$mnt"
fuse_mount fs608 "$mnt" "$opts"
$PYTHON - "$mnt/F" "$ref" <<'PY' || fail "random reads of F differ"
import os, random, sys
fd, rd = os.open(sys.argv[1], os.O_RDONLY), os.open(sys.argv[2], os.O_RDONLY)
rnd = random.Random(3)
for i in range(300):
    off = rnd.randrange(16 * int(os.environ["FUSE_CHUNK"]))
    n = rnd.choice([1, 100, 4096, 5000])
    assert os.pread(fd, n, off) == os.pread(rd, n, off), off
PY

# compaction: rounds of 160 pages into chunk 0 (each under a quarter of
# its units: a delta; together past half of them)
for s in 1 2 3 4 5 6 7 8; do
	rw "$mnt/F" "$ref" $((10 + s)) 160 4096 0 || fail "round $s into chunk 0"
done
fsync_of "$mnt" || fail "fsync of the root"
objects "$ino" >"$TMPDIR_TEST/c0"
n0=$(awk -v p="$(printf 'd/%016x/00000000.' "$ino")" 'index($1, p) == 1' "$TMPDIR_TEST/c0" | wc -l)
b0=$(awk -v p="$(printf 'd/%016x/00000000.' "$ino")" 'index($1, p) == 1 { s += $2 } END { print s + 0 }' "$TMPDIR_TEST/c0")
[ "$b0" -le $((FUSE_CHUNK / 2 + 64 * 1024)) ] ||
	fail "chunk 0 keeps $b0 bytes in $n0 deltas after 1280 page writes (not stored whole)"
echo "chunk 0 after 1280 page writes: $n0 deltas, $b0 bytes"

# truncate drops chunks 5..15 with their deltas
truncate -s $((5 * FUSE_CHUNK)) "$mnt/F" "$ref"
fsync_of "$mnt/F" || fail "fsync after truncate"
fsync_of "$mnt" || fail "fsync of the root after truncate"
objects "$ino" >"$TMPDIR_TEST/trunc"
while read -r name _; do
	[ $((16#${name:19:8})) -lt 5 ] || fail "an object of a dropped chunk is left: $name"
done <"$TMPDIR_TEST/trunc"

fuse_kill9 "$mnt"
fuse_mount_retry fs608 "$mnt" "$opts" $((lease + 20))
cmp "$ref" "$mnt/F" || fail "F differs after compaction, truncate and kill -9"
fuse_umount "$mnt"
fuse_mount fs608 "$mnt" "$opts"
cmp "$ref" "$mnt/F" || fail "F differs after a clean remount"
fuse_umount "$mnt"
echo "608-fuse-delta-writes: ok"
