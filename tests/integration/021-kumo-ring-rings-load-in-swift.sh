#!/bin/bash
# tests/integration/021-kumo-ring-rings-load-in-swift.sh: rings written by
# kumo-ring work with OpenStack Swift (Debian's python3-swift).
#
# Layouts built with kumo-ring: 1 region x 4 zones; 2 regions with uneven
# weights (and a replication network, meta); 2.5 replicas; a ring after two
# devices were removed (null holes in devs); odd but valid values (IPv6, a
# host name, UTF-8 and JSON-special meta, weights like 0.1 and 1e16).
# For each ring:
#   (a) swift.common.ring.RingData.load reads it, and RingData.save of what
#       it read (another directory, same file name) is byte-identical;
#   (b) Swift's Ring class loads it with the expected replica count, and
#       for ~2000 paths Swift's placement (get_part, get_part_nodes,
#       get_more_nodes) equals `kumo-ring get-nodes --json`;
#   (c) swift-ring-builder accepts it: `write_builder` recreates a builder
#       from the ring (through Swift's Ring class), and swift-ring-builder's
#       view of that builder finds the ring file "up-to-date" (the ring
#       Swift would write is our ring), `validate` passes, and its summary
#       (partitions, replicas, regions, zones, devices, balance) equals
#       `kumo-ring RING.ring.gz`'s.
# (swift-ring-builder 2.30 has no read-only view of a ring file: given
# X.ring.gz it works on X.builder, hence write_builder.)
. "$(dirname "$0")/../lib/functions.sh" || exit 1
requires kumo-ring swift-ring-builder
$PYTHON -c 'import swift.common.ring' 2>/dev/null ||
	fail "python3-swift is missing (import swift.common.ring with $PYTHON)"
REF=$TESTS_DIR/lib/swift_ring_ref.py
CMP=$TESTS_DIR/lib/compare_placement.py
[ -f "$REF" ] || fail "missing $REF (Swift reference placement)"
[ -f "$CMP" ] || fail "missing $CMP (placement comparison)"

T=$TMPDIR_TEST
NPATHS=2000

# build NAME PART_POWER REPLICAS: a new builder $T/build/NAME/NAME.builder
build() {
	mkdir -p "$T/build/$1"
	expect_exit 0 kumo-ring "$T/build/$1/$1.builder" create "$2" "$3" 0
}
k() { # k NAME ARGS...: kumo-ring on NAME's builder, exit 0 or 1 (warning)
	local name=$1 rc=0
	shift
	kumo-ring "$T/build/$name/$name.builder" "$@" >"$T/out" 2>&1 || rc=$?
	[ "$rc" -le 1 ] || { cat "$T/out" >&2; fail "kumo-ring $name $* exited $rc"; }
}

# 1 region x 4 zones x 3 devices
build zones4 10 3
args=()
for z in 1 2 3 4; do
	for d in 1 2 3; do
		args+=("r1z$z-10.1.$z.$d:6200/sd$d" 100)
	done
done
k zones4 add "${args[@]}"
k zones4 rebalance --seed 1

# 2 regions, uneven weights, a replication network, meta
build regions2 10 3
k regions2 add r1z1-10.2.1.1:6200R192.168.1.1:6300/sda_rack1 100 \
	r1z1-10.2.1.2:6200R192.168.1.2:6300/sda 150 \
	r1z2-10.2.2.1:6200R192.168.2.1:6300/sda_rack2 100 \
	r1z2-10.2.2.2:6200R192.168.2.2:6300/sdb 50.5 \
	r2z1-10.3.1.1:6201/sda_far 40 r2z1-10.3.1.2:6201/sda 40 \
	r2z2-10.3.2.1:6201/sda 75.25
k regions2 rebalance --seed 2

# 2.5 replicas: the third row is half as long
build frac 9 2.5
args=()
for z in 1 2 3 4 5; do
	args+=("r1z$z-10.4.$z.1:6200/a" 100 "r1z$z-10.4.$z.2:6200/b" 100)
done
k frac add "${args[@]}"
k frac rebalance --seed 3

# two devices removed after a rebalance: null holes in devs
build removed 10 3
args=()
for z in 1 2 3 4; do
	for d in 1 2 3; do
		args+=("r1z$z-10.5.$z.$d:6200/sd$d" 100)
	done
done
k removed add "${args[@]}"
k removed rebalance --seed 4
k removed remove d4 d7
k removed rebalance --seed 5

# odd but valid values
build odd 8 3
k odd add 'r1z1-[::1]:6200/sda_café ünï' 0.1 \
	'r1z2-[fe80::2]:6200R[fe80::3]:6300/sdb_"quoted" \back' 33.3 \
	'r2z1-storage3.example.com:6200/sdc_tab	x' 1234.5678 \
	'r2z2-10.6.0.4:6200/sdd_中文 </' 0.30000000000000004 \
	'r3z1-10.6.0.5:65535/sde' 1e16 \
	'r3z2-10.6.0.6:1/sdf_{"json": [1]}' 100
k odd rebalance --seed 6

LAYOUTS=(zones4 regions2 frac removed odd)
declare -A PREFIX=([zones4]='' [regions2]=changeme [frac]='p%2F' [removed]=pre [odd]='€ x')
declare -A SUFFIX=([zones4]=suffix [regions2]=changeme [frac]='' [removed]=suf [odd]="\"/\\")

for n in "${LAYOUTS[@]}"; do
	[ -s "$T/build/$n/$n.ring.gz" ] || fail "kumo-ring wrote no ring for $n"
	expect_exit 0 kumo-ring "$T/build/$n/$n.ring.gz"
	cp "$T/out" "$T/build/$n/kumo-summary"
done

# --- (a) RingData.load, and RingData.save gives the same bytes -----------
mkdir -p "$T/resave"
$PYTHON - "$T" "${LAYOUTS[@]}" <<'PY' || fail "RingData.load/save failed (see above)"
import os
import sys
from swift.common.ring import RingData
t = sys.argv[1]
for name in sys.argv[2:]:
    src = os.path.join(t, 'build', name, name + '.ring.gz')
    try:
        rd = RingData.load(src)
    except Exception as e:
        sys.exit('FAIL: RingData.load(%s): %r' % (src, e))
    os.chdir(os.path.join(t, 'resave'))
    rd.save(name + '.ring.gz')
PY
for n in "${LAYOUTS[@]}"; do
	cmp "$T/build/$n/$n.ring.gz" "$T/resave/$n.ring.gz" ||
		fail "$n: RingData.save of the loaded ring differs from kumo-ring's file"
done

# --- (b) Swift's Ring class and placement --------------------------------
$PYTHON - "$T" "${LAYOUTS[@]}" <<'PY' || fail "Swift's Ring class rejected a ring"
import os
import sys
import swift.common.utils as su
import swift.common.ring.ring as sr
sr.validate_configuration = lambda: None
su.validate_configuration = lambda: None
su.HASH_PATH_PREFIX = b''
su.HASH_PATH_SUFFIX = b'x'
want = {'zones4': 3, 'regions2': 3, 'frac': 2.5, 'removed': 3, 'odd': 3}
holes = {'removed': [4, 7]}
t = sys.argv[1]
for name in sys.argv[2:]:
    path = os.path.join(t, 'build', name, name + '.ring.gz')
    ring = sr.Ring(path)
    if ring.replica_count != want[name]:
        sys.exit('FAIL: %s: Swift sees %r replicas, expected %r' % (
            name, ring.replica_count, want[name]))
    nulls = [i for i, d in enumerate(ring.devs) if d is None]
    if nulls != holes.get(name, []):
        sys.exit('FAIL: %s: null devs at %s, expected %s' % (
            name, nulls, holes.get(name, [])))
    # every partition's primaries are distinct existing devices
    for part in range(ring.partition_count):
        ids = [d['id'] for d in ring.get_part_nodes(part)]
        if len(set(ids)) != len(ids):
            sys.exit('FAIL: %s: partition %d on %s' % (name, part, ids))
    print('%s: Swift Ring ok: %d partitions, %s replicas, %d devices' % (
        name, ring.partition_count, ring.replica_count,
        len([d for d in ring.devs if d])))
PY

jobs="["
for n in "${LAYOUTS[@]}"; do
	d=$T/build/$n
	pp=$($PYTHON -c 'import sys,math; print(int(math.log2(int(sys.argv[1]))))' \
		"$(sed -n 's/^\([0-9]*\) partitions.*/\1/p' "$d/kumo-summary")")
	$PYTHON "$REF" gen-paths --part-power "$pp" --prefix "${PREFIX[$n]}" \
		--suffix "${SUFFIX[$n]}" --count $NPATHS --seed 21 --edge 16 \
		>"$d/paths" || fail "gen-paths failed for $n"
	jobs+=$($PYTHON -c 'import json,sys; print(json.dumps({"ring": sys.argv[1],
		"prefix": sys.argv[2], "suffix": sys.argv[3], "handoffs": None,
		"input": sys.argv[4], "output": sys.argv[5]}) + ",")' \
		"$d/$n.ring.gz" "${PREFIX[$n]}" "${SUFFIX[$n]}" "$d/paths" "$d/ref.json")
done
jobs="${jobs%,}]"
echo "$jobs" >"$T/jobs.json"
$PYTHON "$REF" batch "$T/jobs.json" || fail "Swift reference placement failed"
for n in "${LAYOUTS[@]}"; do
	d=$T/build/$n
	kumo-ring get-nodes "$d/$n.ring.gz" --prefix "${PREFIX[$n]}" \
		--suffix "${SUFFIX[$n]}" --json - <"$d/paths" >"$d/kumo.json" ||
		fail "kumo-ring get-nodes failed on $n"
	[ "$(wc -l <"$d/ref.json")" -ge $NPATHS ] ||
		fail "$n: reference has only $(wc -l <"$d/ref.json") records"
	$PYTHON "$CMP" --label "$n" "$d/ref.json" "$d/kumo.json" ||
		fail "$n: kumo-ring get-nodes differs from Swift's Ring placement"
done

# --- (c) swift-ring-builder ----------------------------------------------
# write_builder in one python process (Swift's Ring class needs
# validate_configuration, which wants /etc/swift/swift.conf, patched out).
for n in "${LAYOUTS[@]}"; do
	mkdir -p "$T/srb/$n"
	cp "$T/build/$n/$n.ring.gz" "$T/srb/$n/"
done
$PYTHON - "$T" "${LAYOUTS[@]}" <<'PY' || fail "swift-ring-builder write_builder failed"
import os
import sys
import swift.common.utils as su
import swift.common.ring.ring as sr
sr.validate_configuration = lambda: None
su.validate_configuration = lambda: None
from swift.cli import ringbuilder
t = sys.argv[1]
for name in sys.argv[2:]:
    os.chdir(os.path.join(t, 'srb', name))
    try:
        ringbuilder.main(['swift-ring-builder', name + '.ring.gz',
                          'write_builder', '1'])
    except SystemExit as e:
        if e.code:
            sys.exit('FAIL: swift-ring-builder %s.ring.gz write_builder '
                     'exited %s' % (name, e.code))
    if not os.path.exists(name + '.builder'):
        sys.exit('FAIL: write_builder wrote no %s.builder' % name)
PY
for n in "${LAYOUTS[@]}"; do
	d=$T/srb/$n
	expect_exit 0 swift-ring-builder "$d/$n.builder"
	expect_output_has "Ring file $d/$n.ring.gz is up-to-date"
	swift_sum=$(sed -n 's/^\([0-9]* partitions, .* balance\).*/\1/p' "$T/out")
	kumo_sum=$(sed -n 's/^\([0-9]* partitions, .* balance\).*/\1/p' \
		"$T/build/$n/kumo-summary")
	if [ -z "$swift_sum" ] || [ "$swift_sum" != "$kumo_sum" ]; then
		fail "$n: swift-ring-builder says '$swift_sum'," \
			"kumo-ring says '$kumo_sum'"
	fi
	expect_exit 0 swift-ring-builder "$d/$n.builder" validate
	cmp "$d/$n.ring.gz" "$T/build/$n/$n.ring.gz" ||
		fail "$n: swift-ring-builder changed the ring file"
	echo "$n: swift-ring-builder: $swift_sum, ring up-to-date"
done

echo "021-kumo-ring-rings-load-in-swift: ok"
