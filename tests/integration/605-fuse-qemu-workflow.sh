#!/bin/bash
# 605-fuse-qemu-workflow: the nova compute-host workflow on a kumo-mount,
# done the same way on a local directory, with identical results:
#   - a raw image (256 MiB, random data in scattered MiB, zeros elsewhere)
#     is uploaded to the cluster as an object, and written to
#     _base/<image-id> from the object (swift download to a .part, rename,
#     as nova's image cache does);
#   - qemu-img create -f qcow2 -b ../_base/<id> -F raw
#     instance-00000001/disk 1G; qemu-io (cache=none when the mount takes
#     O_DIRECT, as nova picks) does 300 seeded random writes and zero
#     writes into the overlay; qemu-img check is clean; qemu-img compare of
#     the two overlays (through their backing files) finds them identical,
#     and _base/<id> equals the image;
#   - console.log, appended to by a writer while tail -f reads it: the
#     reader sees every line in order.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/fuse.sh"
requires qemu-img qemu-io swift

start_cluster
fuse_mkfs fs605
mnt=$TMPDIR_TEST/mnt
loc=$TMPDIR_TEST/local
mkdir -p "$loc"
fuse_mount fs605 "$mnt"
seed=${SEED:-$($PYTHON -c 'import random; print(random.randrange(2**32))')}
echo "seed $seed"

img=$TMPDIR_TEST/image.raw
id=7b1c9f0e-2d4a-4c55-9c1e-0a1b2c3d4e5f
truncate -s 256M "$img"
for mb in 0 1 2 17 64 65 128 200 255; do
	head -c 1048576 /dev/urandom |
		dd of="$img" bs=1M seek="$mb" conv=notrunc status=none
done
(cd "$TMPDIR_TEST" && $SWIFT upload images image.raw --object-name "$id" \
	>/dev/null) || fail "upload of the image object"

# the cache mode nova would choose: none when O_DIRECT opens work
cache=none
for d in "$mnt" "$loc"; do
	$PYTHON -c "import os,sys; os.close(os.open(sys.argv[1], os.O_RDWR|os.O_CREAT|os.O_DIRECT))" \
		"$d/.direct" 2>/dev/null || cache=writethrough
	rm -f "$d/.direct"
done
echo "qemu-io cache mode: $cache"

# qemu-io commands: seeded writes of patterns and zeros over the 1 GiB disk
$PYTHON - "$seed" >"$TMPDIR_TEST/qemu-io.cmds" <<'PY'
import random, sys
rng = random.Random(int(sys.argv[1]))
for i in range(300):
    ln = rng.choice([512, 4096, 65536, rng.randrange(1, 512) * 512])
    off = rng.randrange(0, (1 << 30) - ln) // 512 * 512
    if rng.random() < 0.1:
        print("write -z %d %d" % (off, ln))
    else:
        print("write -P %d %d %d" % (rng.randrange(256), off, ln))
PY

workflow() {
	local top=$1 args=()
	mkdir -p "$top/_base" "$top/instance-00000001"
	(cd "$top/_base" && $SWIFT download images "$id" -o "$id.part" \
		>/dev/null && mv "$id.part" "$id") ||
		fail "writing _base/$id from the image object in $top"
	(cd "$top/instance-00000001" &&
		qemu-img create -q -f qcow2 -b "../_base/$id" -F raw disk 1G) ||
		fail "qemu-img create of the overlay in $top"
	while read -r c; do args+=(-c "$c"); done <"$TMPDIR_TEST/qemu-io.cmds"
	timeout 60 qemu-io -f qcow2 -t "$cache" "${args[@]}" \
		"$top/instance-00000001/disk" >"$TMPDIR_TEST/qemu-io.out" 2>&1 ||
		{ tail "$TMPDIR_TEST/qemu-io.out"; fail "qemu-io writes in $top"; }
	grep -qi -e error -e fail "$TMPDIR_TEST/qemu-io.out" &&
		{ grep -i -e error -e fail "$TMPDIR_TEST/qemu-io.out" | head; fail "qemu-io reported errors in $top"; }
	timeout 60 qemu-img check -f qcow2 "$top/instance-00000001/disk" \
		>"$TMPDIR_TEST/check.out" 2>&1 ||
		{ cat "$TMPDIR_TEST/check.out"; fail "qemu-img check of the overlay in $top"; }
	grep -q "No errors were found" "$TMPDIR_TEST/check.out" ||
		{ cat "$TMPDIR_TEST/check.out"; fail "qemu-img check not clean in $top"; }
}
workflow "$loc"
workflow "$mnt"
cmp "$img" "$mnt/_base/$id" || fail "_base/$id differs from the image"
timeout 60 qemu-img compare -f qcow2 -F qcow2 \
	"$loc/instance-00000001/disk" "$mnt/instance-00000001/disk" ||
	fail "the overlay on the mount differs from the same steps on a local directory"
[ "$(qemu-img info -f qcow2 "$mnt/instance-00000001/disk" |
	sed -n 's/^backing file: \([^ ]*\).*/\1/p')" = "../_base/$id" ] ||
	fail "the overlay's backing file is not ../_base/$id"
# and compare sees a difference when there is one
qemu-io -f qcow2 -c "write -P 1 4096 512" "$loc/instance-00000001/disk" >/dev/null
if qemu-img compare -q -f qcow2 -F qcow2 "$loc/instance-00000001/disk" \
	"$mnt/instance-00000001/disk"; then
	fail "qemu-img compare missed a difference"
fi

# console.log: appended to while tail -f reads it
log=$mnt/instance-00000001/console.log
: >"$log"
$PYTHON - "$log" <<'PY' &
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
for i in range(3000):
    os.write(fd, b"[%9.6f] console line %d of the guest\n" % (i / 1000, i))
    if i % 50 == 0:
        time.sleep(0.05)
os.close(fd)
PY
wpid=$!
timeout 60 tail -n +1 -F -s 0.1 --pid="$wpid" "$log" >"$TMPDIR_TEST/tail.out" 2>/dev/null ||
	fail "tail -f on console.log"
wait "$wpid" || fail "the console writer failed"
$PYTHON - "$TMPDIR_TEST/tail.out" <<'PY' || fail "tail -f of console.log missed lines"
import sys
got = open(sys.argv[1], "rb").read().split(b"\n")[:-1]
want = [b"[%9.6f] console line %d of the guest" % (i / 1000, i) for i in range(3000)]
if got != want:
    n = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), min(len(got), len(want)))
    print("tail saw %d lines, wrote 3000; first difference at line %d: %r" % (
        len(got), n, got[n] if n < len(got) else None))
    sys.exit(1)
PY
cmp <(head -c 1000000000 "$log") "$TMPDIR_TEST/tail.out" || fail "console.log differs from what tail saw"
echo "605-fuse-qemu-workflow: ok"
