#!/bin/bash
# bench/ec_reconstruct.sh: how fast the EC reconstructor rebuilds a lost
# device (run by bench/run.sh, make bench).
#   - a 4+2 policy (liberasurecode_rs_vand, 1 MiB segments) on six object
#     servers, one device each (tests/lib/ec.sh); OBJECTS objects of 16
#     MiB PUT through the proxy (default 24: 384 MiB, 576 MiB of archives,
#     about 96 MiB of them on each device);
#   - reference: cp -r of device d2's objects-1 folder to another folder of
#     the same disk, then sync: the disk's own copy speed for those bytes;
#   - d2's folder is wiped (made again, empty) and `kumo-objectd CONF
#     --once reconstruct` runs on the six servers at once (each rebuilds
#     the archives it is the first holder after d2's index for: four
#     archives read, one made and written per archive); the rebuilt
#     archives are counted on disk;
#   - prints bytes, seconds and MB/s of both and the ratio (rebuild time /
#     copy time).
. "$(dirname "$0")/../tests/lib/functions.sh"
. "$(dirname "$0")/../tests/lib/ec.sh"
n=${OBJECTS:-24}

OBJ_EXTRA_CONF="reconstructor_concurrency = 2"
ec_cluster 6
T=$TMPDIR_TEST
for i in $(seq 1 "$n"); do
	head -c $((16 << 20)) /dev/urandom >"$T/obj"
	ec_put "b$i" "$T/obj"
done
dev=$NODE_DIR/obj2/d2
bytes=$(du -sb "$dev/objects-1" | cut -f1)
held=$(find "$dev/objects-1" -name '*#d.data' | wc -l)

sync
t0=$(date +%s.%N)
cp -r "$dev/objects-1" "$T/copy"
sync
t1=$(date +%s.%N)
rm -rf "$T/copy"

rm -rf "$dev"
mkdir "$dev"
sync
t2=$(date +%s.%N)
pids=()
for k in 1 2 3 4 5 6; do
	timeout 600 kumo-objectd "$T/obj$k.conf" --once reconstruct \
		2>>"$T/rcon.log" &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || fail "a reconstructor pass failed: $(tail -5 "$T/rcon.log")"
done
sync
t3=$(date +%s.%N)
back=$(find "$dev/objects-1" -name '*#d.data' | wc -l)
[ "$back" = "$held" ] || fail "d2 holds $back archives again, held $held"

$PYTHON - "$bytes" "$held" "$t0" "$t1" "$t2" "$t3" <<'PY'
import sys
b, held = int(sys.argv[1]), int(sys.argv[2])
t0, t1, t2, t3 = map(float, sys.argv[3:])
cp, rb = t1 - t0, t3 - t2
print("%-28s %10s %8s %8s" % ("", "MiB", "s", "MB/s"))
print("%-28s %10.1f %8.2f %8.1f" % ("cp -r + sync of d2", b / 2**20, cp,
                                     b / cp / 1e6))
print("%-28s %10.1f %8.2f %8.1f" % ("reconstruct d2 (%d archives)" % held,
                                     b / 2**20, rb, b / rb / 1e6))
print("ratio reconstruct / copy: %.2f" % (rb / cp))
PY
