#!/bin/bash
# 010-ring-placement-matches-swift: `kumo-ring get-nodes --json` places
# every path exactly where OpenStack Swift's own Ring class does (Debian's
# python3-swift): same partition, same primaries in order, same handoffs in
# order (the whole get_more_nodes generator, or its first N).
#
# Rings are built by Debian's swift-ring-builder (ring a through the
# executable, the others through its main() in one process per ring, which
# is the same code without ~0.6 s of imports per command), fixed seeds:
#   a  SAIO-like: 1 region, 4 zones, 1 device each, 3 replicas, 2^10 parts
#   b  2 regions, 5 zones, several IPs per zone and devices per IP (one IP
#      serving two ports, one IPv6), uneven weights, 3 replicas, 2^11
#   c1 2.5 replicas (create), c2 3.25 replicas (create)
#   be c1 rewritten as a big-endian host would ("byteorder": "big")
#   d  devices removed after a first rebalance (holes, one trailing), a
#      weight change, set_replicas 2.75 and a hole refilled by a later add
#   e  2^17 partitions: get_more_nodes walks with inc = 2
#   f  many devices (3 regions, 68 devices), zero-weight devices, and a
#      region holding only zero-weight devices, 2^12
#   h  one server: 1 region, 1 zone, 1 IP, 5 devices, 3 replicas, 2^8
# plus one written by Swift's RingData.save() itself:
#   g  2^18 partitions (inc = 4), 2.3 replicas, random assignments (so a
#      device may hold two replicas of a part), holes and a weighted device
#      without partitions
# Paths: thousands per ring, fixed seed (UTF-8, spaces, slashes in object
# names, JSON-special characters, long names, and paths whose partition or
# handoff walk start sits at either end of the partition space), hashed
# with a non-empty prefix and suffix, with an empty prefix, and (ring a)
# with a UTF-8 prefix and an empty suffix; --handoffs 0, 2, 3 and 5 runs
# check the limit. PATHS_PER_RING (default 1500) sets the paths per run.
. "$(dirname "$0")/../lib/functions.sh"
requires swift-ring-builder kumo-ring

LIB=$TESTS_DIR/lib
W=$TMPDIR_TEST
T0=$(date +%s%N)
PATHS_PER_RING=${PATHS_PER_RING:-1500}

# srb NAME 'COMMAND ARGS'...: run each command on $W/NAME.builder with
# swift-ring-builder's own main() (swift.cli.ringbuilder, the code behind
# /usr/bin/swift-ring-builder), all in one process to save ~0.6 s of
# imports per command. Exit 1 is only a warning (e.g. "no partitions could
# be reassigned"), 2 an error.
SRB_PY='
import shlex, sys
from swift.cli.ringbuilder import main
for line in sys.argv[2:]:
    try:
        main(["swift-ring-builder", sys.argv[1]] + shlex.split(line))
        rc = 0
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else (e.code is not None) * 2
    if rc > 1:
        sys.exit("swift-ring-builder %s %s exited %d" % (sys.argv[1], line, rc))
'
srb() {
	local name=$1
	shift
	$PYTHON -c "$SRB_PY" "$W/$name.builder" "$@" >>"$W/$name.log" 2>&1 || {
		tail -n 20 "$W/$name.log" >&2
		fail "swift-ring-builder on $name.builder failed"
	}
}

# srb_cli NAME ARGS...: the same through the real executable.
srb_cli() {
	local name=$1 rc=0
	shift
	swift-ring-builder "$W/$name.builder" "$@" >>"$W/$name.log" 2>&1 ||
		rc=$?
	if [ "$rc" -gt 1 ]; then
		tail -n 20 "$W/$name.log" >&2
		fail "swift-ring-builder $name.builder $* exited $rc"
	fi
}

build_a() {
	srb_cli a create 10 3 1
	srb_cli a add r1z1-127.0.0.1:6210/sdb1 1 r1z2-127.0.0.2:6220/sdb2 1 \
		r1z3-127.0.0.3:6230/sdb3 1 r1z4-127.0.0.4:6240/sdb4 1
	srb_cli a rebalance --seed 1
}

build_b() {
	local z ip d w devs=()
	for z in 1 2 3; do
		for ip in 1 2 3; do
			for d in 1 2; do
				w=$((50 + (z * 37 + ip * 11 + d * 7) % 150))
				devs+=("r1z$z-10.1.$z.$ip:6200/d$d" "$w")
			done
		done
	done
	for z in 1 2; do
		for ip in 1 2; do
			for d in 1 2 3; do
				w=$((20 + (z * 13 + ip * 29 + d * 3) % 90))
				devs+=("r2z$z-10.2.$z.$ip:6200/d$d" "$w")
			done
		done
	done
	# one IP serving two ports (handoff tiers are region/zone/ip, not port)
	devs+=("r1z3-10.1.3.9:6200/p1" 80 "r1z3-10.1.3.9:6201/p2" 80)
	devs+=("r2z2-[2001:db8::10]:6200/v6" 60)
	srb b "create 11 3 0" "add ${devs[*]}" "set_overload 0.1" \
		"rebalance --seed 2"
}

build_c1() {
	srb c1 "create 10 2.5 0" "add r1z1-10.0.1.1:6200/a 100 \
		r1z1-10.0.1.2:6200/a 100 r1z2-10.0.2.1:6200/a 100 \
		r1z2-10.0.2.2:6200/a 50 r2z1-10.9.1.1:6200/a 100 \
		r2z1-10.9.1.1:6200/b 100" "rebalance --seed 3"
}

build_c2() {
	srb c2 "create 9 3.25 0" "add r1z1-10.0.1.1:6200/a 100 \
		r1z2-10.0.2.1:6200/a 100 r1z3-10.0.3.1:6200/a 100 \
		r1z4-10.0.4.1:6200/a 100 r1z4-10.0.4.1:6200/b 100 \
		r1z5-10.0.5.1:6200/a 70" "rebalance --seed 4"
}

build_d() {
	local i z devs=()
	for i in 0 1 2 3 4 5 6 7 8 9 10 11; do
		z=$((i % 5))
		devs+=("r1z$((z + 1))-10.4.$z.$((i % 3 + 1)):6200/s$i"
			$((100 + i * 10)))
	done
	# holes in the middle (d2, d7) and at the end (d11); the builder
	# reuses the lowest free id, so the last add brings d2 back
	srb d "create 10 3 1" "add ${devs[*]}" "rebalance --seed 5" \
		"remove d2 d7 d11 --yes" "set_weight d4 40" \
		pretend_min_part_hours_passed "rebalance --seed 6" \
		"set_replicas 2.75" pretend_min_part_hours_passed \
		"rebalance --seed 7" "add r1z3-10.4.2.9:6200/new 120" \
		pretend_min_part_hours_passed "rebalance --seed 8"
}

build_e() {
	# few tiers, many devices: handoff order comes from the walk itself
	srb e "create 17 3 0" "add r1z1-10.5.1.1:6200/d1 100 \
		r1z1-10.5.1.1:6200/d2 100 r1z1-10.5.1.1:6200/d3 90 \
		r1z1-10.5.1.2:6200/d1 100 r1z1-10.5.1.2:6200/d2 80 \
		r1z2-10.5.2.1:6200/d1 100 r1z2-10.5.2.1:6200/d2 100 \
		r1z2-10.5.2.1:6200/d3 60 r2z1-10.6.1.1:6200/d1 100 \
		r2z1-10.6.1.1:6200/d2 100 r2z1-10.6.1.1:6200/d3 100 \
		r2z1-10.6.1.1:6200/d4 50" "rebalance --seed 9"
}

build_f() {
	local z ip d w devs=()
	for z in 1 2 3 4; do
		for ip in 1 2 3; do
			for d in 1 2 3 4; do
				w=$(((z * 31 + ip * 17 + d * 5) % 7 * 25))
				devs+=("r1z$z-10.7.$z.$ip:6200/d$d" "$w")
			done
		done
	done
	for z in 1 2 3; do
		for ip in 1 2; do
			for d in 1 2 3; do
				devs+=("r2z$z-10.8.$z.$ip:6200/d$d" 100)
			done
		done
	done
	# a region whose devices all have weight 0: never assigned a part
	devs+=("r3z1-10.9.1.1:6200/d1" 0 "r3z1-10.9.1.1:6200/d2" 0)
	srb f "create 12 3 0" "add ${devs[*]}" "rebalance --seed 10"
}

build_h() {
	srb h "create 8 3 0" "add r1z1-10.10.0.1:6200/a 100 \
		r1z1-10.10.0.1:6200/b 100 r1z1-10.10.0.1:6200/c 100 \
		r1z1-10.10.0.1:6200/d 50 r1z1-10.10.0.1:6200/e 100" \
		"rebalance --seed 11"
}

# be: ring c1 as written on a big-endian host: same assignments, the table
# in big-endian order and "byteorder": "big" in the metadata
build_be() {
	$PYTHON - "$W/c1.ring.gz" "$W/be.ring.gz" <<'PY'
import array, gzip, json, struct, sys
data = gzip.decompress(open(sys.argv[1], 'rb').read())
assert data[:6] == b'R1NG\x00\x01'
n, = struct.unpack_from('!I', data, 6)
meta = json.loads(data[10:10 + n])
assert meta['byteorder'] == sys.byteorder == 'little'
meta['byteorder'] = 'big'
table = array.array('H', data[10 + n:])
table.byteswap()
text = json.dumps(meta, sort_keys=True).encode('ascii')
with gzip.GzipFile(sys.argv[2], 'wb', mtime=0) as f:
    f.write(b'R1NG\x00\x01' + struct.pack('!I', len(text)) + text +
            table.tobytes())
PY
}

# g: a ring written by Swift's RingData.save(), not by the builder
build_g() {
	$PYTHON - "$W/g.ring.gz" <<'PY'
import array, random, sys
from swift.common.ring.ring import RingData
rng = random.Random(12)
pp = 18
parts = 1 << pp
devs = []
for region in (1, 2, 3):
    for zone in (1, 2, 3):
        for ip in (1, 2):
            for d in (0, 1):
                addr = '10.%d.%d.%d' % (20 + region, zone, ip)
                devs.append({'id': len(devs), 'region': region,
                             'zone': zone, 'ip': addr, 'port': 6200 + d,
                             'replication_ip': addr,
                             'replication_port': 6200 + d,
                             'device': 'g%d' % d, 'weight': 100.0,
                             'meta': ''})
for hole in (5, 17, len(devs) - 1):
    devs[hole] = None
live = [d['id'] for d in devs if d]
live.remove(8)          # weighted, but no partitions
rows = [array.array('H', rng.choices(live, k=parts)) for _ in range(2)]
rows.append(array.array('H', rng.choices(live, k=parts * 3 // 10)))
RingData(rows, devs, 32 - pp).save(sys.argv[1])
PY
}

RINGS="a b c1 be c2 d e f g h"
NRINGS=10
# two build queues for two cores; e (2^17 parts) is the slow one
(build_e && build_h && build_f) &
q1=$!
(build_a && build_b && build_c1 && build_be && build_c2 && build_d &&
	build_g) &
q2=$!
wait $q1 || fail "ring builds (e, h, f) failed"
wait $q2 || fail "ring builds (a, b, c1, be, c2, d, g) failed"
for r in $RINGS; do
	[ -s "$W/$r.ring.gz" ] || fail "ring $r was not written"
done
T_BUILD=$(date +%s%N)

# Jobs, one a line: ring|variant|prefix|suffix|handoffs (- for all).
PFX=kumo-test-prefix
SFX=kumo-test-suffix
{
	for r in $RINGS; do
		printf '%s|ps|%s|%s|-\n' "$r" "$PFX" "$SFX"
		printf '%s|s||%s|-\n' "$r" changeme
	done
	printf 'a|u|pr\xc3\xa9fixe||-\n'
	printf 'a|h0|%s|%s|0\n' "$PFX" "$SFX"
	printf 'b|h3|%s|%s|3\n' "$PFX" "$SFX"
	printf 'e|h2|%s|%s|2\n' "$PFX" "$SFX"
	printf 'g|h5|%s|%s|5\n' "$PFX" "$SFX"
} >"$W/jobs.txt"

# Paths and kumo's answers; reference jobs go to two batch files.
njobs=0
npaths=0
nrecords=0
printf '[' >"$W/ref0.json"
printf '[' >"$W/ref1.json"
seed=100
while IFS='|' read -r r v pfx sfx h; do
	job=$r.$v
	seed=$((seed + 1))
	$PYTHON "$LIB/swift_ring_ref.py" gen-paths "$W/$r.ring.gz" \
		--prefix "$pfx" --suffix "$sfx" --count "$PATHS_PER_RING" \
		--seed "$seed" >"$W/$job.paths"
	hopt=()
	hjson=null
	if [ "$h" != - ]; then
		hopt=(--handoffs "$h")
		hjson=$h
	fi
	kumo-ring get-nodes "$W/$r.ring.gz" --prefix "$pfx" --suffix "$sfx" \
		--json "${hopt[@]}" - <"$W/$job.paths" >"$W/$job.kumo" ||
		fail "kumo-ring get-nodes on ring $r ($v) exited $?"
	batch=$W/ref$((njobs % 2)).json
	[ "$njobs" -lt 2 ] || printf ',' >>"$batch"
	# (no JSON-special characters in these names)
	printf '{"ring": "%s", "prefix": "%s", "suffix": "%s", "handoffs": %s,
	 "input": "%s", "output": "%s"}\n' "$W/$r.ring.gz" "$pfx" "$sfx" \
		"$hjson" "$W/$job.paths" "$W/$job.ref" >>"$batch"
	njobs=$((njobs + 1))
	n=$(wc -l <"$W/$job.paths")
	nrecords=$((nrecords + n))
	case $v in ps | s | u) npaths=$((npaths + n)) ;; esac
done <"$W/jobs.txt"
printf ']' >>"$W/ref0.json"
printf ']' >>"$W/ref1.json"
T_KUMO=$(date +%s%N)

$PYTHON "$LIB/swift_ring_ref.py" batch "$W/ref0.json" &
p0=$!
$PYTHON "$LIB/swift_ring_ref.py" batch "$W/ref1.json" &
p1=$!
wait $p0 || fail "swift reference (batch 0) failed"
wait $p1 || fail "swift reference (batch 1) failed"
T_REF=$(date +%s%N)

bad=0
while IFS='|' read -r r v pfx sfx h; do
	job=$r.$v
	$PYTHON "$LIB/compare_placement.py" --max-report 5 \
		--label "ring $r, variant $v" \
		"$W/$job.ref" "$W/$job.kumo" >/dev/null || bad=$((bad + 1))
done <"$W/jobs.txt"
[ "$bad" -eq 0 ] || fail "$bad of $njobs ring/variant runs differ from Swift"

# Paths given on the command line answer exactly as paths read from stdin.
grep -v '^-' "$W/b.ps.paths" | sed -n '1,60p' >"$W/argv.paths"
mapfile -t argv_paths <"$W/argv.paths"
kumo-ring get-nodes "$W/b.ring.gz" --prefix "$PFX" --suffix "$SFX" --json \
	"${argv_paths[@]}" >"$W/argv.kumo"
kumo-ring get-nodes "$W/b.ring.gz" --prefix "$PFX" --suffix "$SFX" --json \
	- <"$W/argv.paths" >"$W/stdin.kumo"
cmp -s "$W/argv.kumo" "$W/stdin.kumo" ||
	fail "get-nodes answers differently for argv and stdin paths"

ms() { echo $((($2 - $1) / 1000000)); }
echo "010: $npaths paths ($nrecords records, $njobs runs) over" \
	"$NRINGS rings match Swift's Ring exactly" \
	"(build $(ms "$T0" "$T_BUILD") ms, kumo+paths" \
	"$(ms "$T_BUILD" "$T_KUMO") ms, swift $(ms "$T_KUMO" "$T_REF") ms," \
	"total $(ms "$T0" "$(date +%s%N)") ms)"
