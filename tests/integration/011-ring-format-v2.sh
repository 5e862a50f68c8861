#!/bin/bash
# 011-ring-format-v2: kumo-ring reads Swift's ring format v2 (as upstream
# Swift's RingWriter writes it; see tests/lib/make_v2_ring.py) and places
# every path exactly as with the v1 file it was converted from; a corrupt
# section checksum, a truncated v1 or v2 file, or a file that is no ring at
# all make `kumo-ring get-nodes` exit 2 with a message naming the file.
#
# Rings (built with swift-ring-builder's own code, fixed seeds):
#   frac   2 regions, 2.5 replicas, 2^10 parts
#   holes  devices removed after a first rebalance (a hole in the middle and
#          one at the end), 3 replicas, 2^11 parts
#   big    2^17 parts, 3 replicas (a 768 KiB assignment table at 2 bytes)
# Each is converted with dev_id_bytes 2, 4 and 8, checksums md5, sha1,
# sha256 and sha512, sections in other orders, an extra third-party
# section, and an index listing itself with null ends (as the format doc
# allows); get-nodes output on each must be byte-identical to the v1 one.
. "$(dirname "$0")/../lib/functions.sh"
requires swift-ring-builder kumo-ring

LIB=$TESTS_DIR/lib
W=$TMPDIR_TEST
T0=$(date +%s%N)
PFX=kumo-v2-prefix
SFX=kumo-v2-suffix

# srb NAME 'COMMAND ARGS'...: swift-ring-builder's main() on
# $W/NAME.builder, one process for all commands (as in 010).
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

build_frac() {
	srb frac "create 10 2.5 0" "add r1z1-10.0.1.1:6200/a 100 \
		r1z1-10.0.1.2:6200/a 100 r1z2-10.0.2.1:6200/a 100 \
		r1z2-10.0.2.1:6200/b 50 r2z1-10.9.1.1:6200/a 100 \
		r2z2-10.9.2.1:6200/a 100" "rebalance --seed 21"
}

build_holes() {
	local i z devs=()
	for i in 0 1 2 3 4 5 6 7 8 9; do
		z=$((i % 4))
		devs+=("r1z$((z + 1))-10.3.$z.$((i % 2 + 1)):6200/s$i"
			$((100 + i * 15)))
	done
	srb holes "create 11 3 0" "add ${devs[*]}" "rebalance --seed 22" \
		"remove d3 d9 --yes" "rebalance --seed 23"
}

build_big() {
	srb big "create 17 3 0" "add r1z1-10.5.1.1:6200/d1 100 \
		r1z1-10.5.1.1:6200/d2 100 r1z2-10.5.2.1:6200/d1 100 \
		r1z3-10.5.3.1:6200/d1 100 r1z3-10.5.3.2:6200/d1 70" \
		"rebalance --seed 24"
}

build_big &
bigpid=$!
build_frac
build_holes
wait $bigpid || fail "building the 2^17 ring failed"
RINGS="frac holes big"
for r in $RINGS; do
	[ -s "$W/$r.ring.gz" ] || fail "ring $r was not written"
done

# get_nodes RING PATHS OUT: JSON answers for PATHS, all handoffs.
get_nodes() {
	kumo-ring get-nodes "$1" --prefix "$PFX" --suffix "$SFX" --json - \
		<"$2" >"$3" || fail "kumo-ring get-nodes $1 exited $?"
}

nfiles=0
nrecords=0
for r in $RINGS; do
	$PYTHON "$LIB/swift_ring_ref.py" gen-paths "$W/$r.ring.gz" \
		--prefix "$PFX" --suffix "$SFX" --count 800 --seed 11 \
		>"$W/$r.paths"
	get_nodes "$W/$r.ring.gz" "$W/$r.paths" "$W/$r.v1.out"
	n=$(wc -l <"$W/$r.paths")
	[ "$(wc -l <"$W/$r.v1.out")" -eq "$n" ] ||
		fail "ring $r: $n paths but $(wc -l <"$W/$r.v1.out") answers"
	# (b2 and extra use upstream's deflate level 9, which takes 1.5 s on
	# the 2^17 table; level 6 makes the same format in a tenth of that)
	variants=(
		"b2|--dev-id-bytes 2"
		"b4|--dev-id-bytes 4 --level 6"
		"b8|--dev-id-bytes 8 --level 6"
		"md5|--dev-id-bytes 4 --checksum md5 --level 6"
		"sha1|--checksum sha1 --level 6"
		"sha512|--dev-id-bytes 8 --checksum sha512 --level 6"
		"order|--order assignments,devices,metadata --level 6"
		"extra|--extra-section --order devices,metadata,assignments"
		"selfidx|--self-index --dev-id-bytes 4 --level 6"
	)
	for v in "${variants[@]}"; do
		name=${v%%|*}
		read -ra opts <<<"${v#*|}"
		$PYTHON "$LIB/make_v2_ring.py" "${opts[@]}" "$W/$r.ring.gz" \
			"$W/$r.$name.v2.ring.gz"
		get_nodes "$W/$r.$name.v2.ring.gz" "$W/$r.paths" \
			"$W/$r.$name.out"
		cmp -s "$W/$r.v1.out" "$W/$r.$name.out" || {
			diff "$W/$r.v1.out" "$W/$r.$name.out" | head -n 6 >&2 || :
			fail "ring $r: v2 ($name: ${v#*|}) differs from v1"
		}
		nfiles=$((nfiles + 1))
		nrecords=$((nrecords + n))
	done
done

# ... and v1 (hence every v2 file) agrees with Swift's own Ring.
$PYTHON "$LIB/swift_ring_ref.py" get-nodes "$W/holes.ring.gz" \
	--prefix "$PFX" --suffix "$SFX" --json - <"$W/holes.paths" \
	>"$W/holes.ref"
$PYTHON "$LIB/compare_placement.py" --label "ring holes (v1)" \
	"$W/holes.ref" "$W/holes.v1.out" >/dev/null ||
	fail "ring holes: v1 answers differ from Swift's Ring"

# --- broken files: exit 2, a message naming the file, no crash ----------

# expect_load_error FILE WHAT: get-nodes on FILE exits 2 and names FILE.
nbroken=0
expect_load_error() {
	local rc=0
	kumo-ring get-nodes "$1" --prefix "$PFX" --suffix "$SFX" --json \
		AUTH_test/c/o >"$W/out" 2>&1 || rc=$?
	if [ "$rc" -ne 2 ]; then
		cat "$W/out" >&2
		fail "get-nodes on $2 exited $rc, expected 2"
	fi
	grep -qF -- "$1" "$W/out" ||
		{ cat "$W/out" >&2; fail "error for $2 does not name $1"; }
	if grep -q '"partition"' "$W/out"; then
		fail "get-nodes on $2 printed a placement"
	fi
	nbroken=$((nbroken + 1))
}

for s in metadata devices assignments; do
	$PYTHON "$LIB/make_v2_ring.py" --bad-checksum "$s" \
		"$W/frac.ring.gz" "$W/badsum-$s.ring.gz"
	expect_load_error "$W/badsum-$s.ring.gz" \
		"a v2 ring with a bad $s checksum"
done
$PYTHON "$LIB/make_v2_ring.py" --dev-id-bytes 4 --bad-checksum assignments \
	--level 6 "$W/big.ring.gz" "$W/badsum-big.ring.gz"
expect_load_error "$W/badsum-big.ring.gz" "a 2^17 v2 ring with a bad checksum"

# truncate_to SRC DST BYTES: DST is the first BYTES bytes of SRC.
truncate_to() { head -c "$3" "$1" >"$2"; }
for src in frac.ring.gz frac.b4.v2.ring.gz big.ring.gz big.b2.v2.ring.gz; do
	size=$(stat -c %s "$W/$src")
	for keep in 10 $((size / 2)) $((size - 31)) $((size - 8)) \
		$((size - 1)); do
		truncate_to "$W/$src" "$W/trunc-$keep-$src" "$keep"
		expect_load_error "$W/trunc-$keep-$src" \
			"$src truncated to $keep of $size bytes"
	done
done

# no ring at all: empty, not gzip, gzip of something else, version 3
: >"$W/empty.ring.gz"
expect_load_error "$W/empty.ring.gz" "an empty file"
printf 'this is not a ring\n' >"$W/text.ring.gz"
expect_load_error "$W/text.ring.gz" "a text file"
printf 'this is not a ring\n' | gzip -n >"$W/gztext.ring.gz"
expect_load_error "$W/gztext.ring.gz" "gzipped text"
$PYTHON - "$W/frac.b2.v2.ring.gz" "$W/v3.ring.gz" <<'PY'
import gzip, sys
data = bytearray(gzip.decompress(open(sys.argv[1], 'rb').read()))
assert data[:6] == b'R1NG\x00\x02'
data[5] = 3
open(sys.argv[2], 'wb').write(gzip.compress(bytes(data)))
PY
expect_load_error "$W/v3.ring.gz" "a ring of format version 3"

ms=$((($(date +%s%N) - T0) / 1000000))
echo "011: $nfiles v2 files ($nrecords records) answer exactly as their v1" \
	"rings; $nbroken broken files rejected with exit 2 ($ms ms)"
