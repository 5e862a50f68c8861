#!/bin/bash
# bench/ring.sh: the ring benchmarks (run by bench/run.sh, make bench).
#  1. lookups per second on one core (bench/ring_lookup)
#  2. rebalance of part_power 20, 3 replicas, 100 devices in 10 zones:
#     kumo-ring against swift-ring-builder on the same layout, in this run;
#     time, balance and dispersion of both rings measured by the same code
#     (kumo-ring RING.ring.gz), and the time ratio.
# PART_POWER=N changes the part power (e.g. 16 for a quick look).
set -euo pipefail
export PATH="$KUMO_BIN:$PATH"
pp=${PART_POWER:-20}
dir=$(mktemp -d /tmp/kumo-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cd "$dir"

devs=()
for z in $(seq 1 10); do
	for d in $(seq 1 10); do
		devs+=("r1z$z-10.0.$z.1:6200/d$d" 100)
	done
done

# secs CMD...: wall seconds CMD took (its exit status is ignored: rebalance
# exits 1 for a mere warning).
secs() {
	local s e
	s=$(date +%s.%N)
	"$@" >/dev/null || true
	e=$(date +%s.%N)
	awk -v s="$s" -v e="$e" 'BEGIN { printf "%.2f", e - s }'
}

mkdir kumo swift
(cd kumo && kumo-ring object.builder create "$pp" 3 1 >/dev/null &&
	kumo-ring object.builder add "${devs[@]}" >/dev/null)
(cd swift && swift-ring-builder object.builder create "$pp" 3 1 >/dev/null &&
	swift-ring-builder object.builder add "${devs[@]}" >/dev/null)

cp kumo/object.builder kumo/fresh.builder
echo "== ring lookups"
(cd kumo && kumo-ring object.builder rebalance --seed 1 >/dev/null)
"$KUMO_BUILD/bench/ring_lookup" kumo/object.ring.gz 2000000

echo "== rebalance: part_power $pp, 3 replicas, 100 devices in 10 zones"
cd kumo && cp fresh.builder object.builder
# `rebalance` exits 1 for a warning; only 2 is an error
k=$(secs kumo-ring object.builder rebalance --seed 1)
cd ../swift
s=$(secs swift-ring-builder object.builder rebalance 1)
cd ..
echo "kumo-ring:          ${k}s   $(kumo-ring kumo/object.ring.gz | tail -1)"
echo "swift-ring-builder: ${s}s   $(kumo-ring swift/object.ring.gz | tail -1)"
echo "ratio (swift / kumo time): $(awk -v s="$s" -v k="$k" 'BEGIN { printf "%.1f", s / k }')x"

echo "== adding one device (min_part_hours passed)"
for t in kumo swift; do
	tool=kumo-ring
	[ $t = swift ] && tool=swift-ring-builder
	(cd $t && $tool object.builder add r1z1-10.0.1.1:6200/d11 100 >/dev/null &&
		$tool object.builder pretend_min_part_hours_passed >/dev/null)
done
cd kumo
k=$(secs kumo-ring object.builder rebalance --seed 2)
cd ../swift
s=$(secs swift-ring-builder object.builder rebalance 2)
cd ..
min=$(( (3 << pp) / 101 ))
moved() { /usr/bin/python3 - "$1" "$2" <<'PY'
import sys
from swift.common.ring.ring import RingData
a = RingData.load(sys.argv[1])._replica2part2dev_id
b = RingData.load(sys.argv[2])._replica2part2dev_id
print(sum(x != y for ra, rb in zip(a, b) for x, y in zip(ra, rb)))
PY
}
kb=$(ls -t kumo/backups/*object.ring.gz | sed -n 2p)
sb=$(ls -t swift/backups/*object.ring.gz | sed -n 2p)
echo "theoretical minimum partition-replicas to move: $min"
echo "kumo-ring:          ${k}s  moved $(moved "$kb" kumo/object.ring.gz)  $(kumo-ring kumo/object.ring.gz | tail -1)"
echo "swift-ring-builder: ${s}s  moved $(moved "$sb" swift/object.ring.gz)  $(kumo-ring swift/object.ring.gz | tail -1)"
