#!/bin/bash
# tests/integration/020-kumo-ring-cli.sh: kumo-ring as a swift-ring-builder
# operator uses it, and what it does with bad input.
#
# Workflow: create; add (several devices in one call; r/z, R<ip>:<port>
# and _meta forms); default view; search; rebalance --seed (exit 0 when it
# changed something, 1 and "No partitions could be reassigned" when not);
# write_ring; set_min_part_hours; set_weight; remove; set_replicas (2.5:
# three rows, the last half long). Rings are read back with python3-swift's
# RingData. Checks:
#   - the same builder and seed give byte-identical .ring.gz files;
#   - balance within 1% and partitions in proportion to weight;
#   - a rebalance within min_part_hours moves at most one replica of any
#     partition; after pretend_min_part_hours_passed the new devices fill to
#     their share;
#   - a removed device's id becomes null in the ring's devs and no partition
#     stays on it; the lowest free id is reused by the next add.
# Bad input (missing/damaged builder and ring files, unknown devices, bad
# weights, create arguments and add values, duplicate devices, too few
# devices for the replicas, an unknown command): each case exits 2 with a
# message naming the problem and leaves every file in the directory
# byte-identical (no new, changed or *.tmp* file). A rebalance whose builder
# cannot be saved must not leave a new ring beside the old builder. The
# bad-input cases all run; each failure is reported, then the script fails.
. "$(dirname "$0")/../lib/functions.sh" || exit 1
requires kumo-ring
$PYTHON -c 'import swift.common.ring' 2>/dev/null ||
	fail "python3-swift is missing (import swift.common.ring with $PYTHON)"

T=$TMPDIR_TEST
RINGPY=$T/ringpy.py

# --- helpers ------------------------------------------------------------

# A few checks on ring files with python3-swift's RingData.
cat >"$RINGPY" <<'PY'
import sys
from collections import Counter
from swift.common.ring import RingData


_cache = {}


def load(path):
    if path not in _cache:
        _cache[path] = RingData.load(path)
    return _cache[path]


def die(msg):
    sys.exit('FAIL: %s' % msg)


def cmd_maxmoves(old_path, new_path, limit):
    """Every partition has at most LIMIT replicas on a different device."""
    a, b = load(old_path), load(new_path)
    ra, rb = a._replica2part2dev_id, b._replica2part2dev_id
    nparts = len(ra[0])
    worst = total = 0
    bad = []
    for p in range(nparts):
        old = Counter(r[p] for r in ra if p < len(r))
        new = Counter(r[p] for r in rb if p < len(r))
        moved = sum((old - new).values())
        total += moved
        worst = max(worst, moved)
        if moved > int(limit) and len(bad) < 5:
            bad.append('partition %d: %s -> %s' % (
                p, sorted(old.elements()), sorted(new.elements())))
    if worst > int(limit):
        die('%s -> %s: up to %d replicas of a partition moved (limit %s): %s'
            % (old_path, new_path, worst, limit, '; '.join(bad)))
    print('%d %d' % (worst, total))


def cmd_proportional(path, tol_pct):
    """Each device holds its weight's share of replicas within TOL%
    (and at least within one partition-replica)."""
    r = load(path)
    rows = r._replica2part2dev_id
    counts = Counter()
    for row in rows:
        counts.update(row)
    devs = [d for d in r.devs if d is not None]
    total_w = sum(d['weight'] for d in devs)
    total = sum(len(row) for row in rows)
    errs = []
    for d in devs:
        ideal = total * d['weight'] / total_w
        have = counts.get(d['id'], 0)
        if abs(have - ideal) > max(1.0, ideal * float(tol_pct) / 100):
            errs.append('dev %d (weight %g) has %d, wants %.1f' % (
                d['id'], d['weight'], have, ideal))
    if errs:
        die('%s: partitions not in proportion to weight: %s' % (
            path, '; '.join(errs[:6])))


def cmd_shape(path, lens):
    """Row lengths are exactly LENS (comma separated); every partition's
    replicas are on distinct existing devices."""
    r = load(path)
    rows = r._replica2part2dev_id
    got = ','.join(str(len(row)) for row in rows)
    if got != lens:
        die('%s: row lengths %s, expected %s' % (path, got, lens))
    for p in range(len(rows[0])):
        ids = [row[p] for row in rows if p < len(row)]
        if len(set(ids)) != len(ids):
            die('%s: partition %d has a device twice: %s' % (path, p, ids))
        for i in ids:
            if i >= len(r.devs) or r.devs[i] is None:
                die('%s: partition %d is on missing device %d' % (
                    path, p, i))


def cmd_gone(path, dev_id):
    """Device DEV_ID is a null hole in devs and holds no partition."""
    r = load(path)
    i = int(dev_id)
    if i >= len(r.devs):
        die('%s: devs has only %d entries, expected a null at %d' % (
            path, len(r.devs), i))
    if r.devs[i] is not None:
        die('%s: devs[%d] is %r, expected null (removed)' % (
            path, i, r.devs[i]))
    n = sum(1 for row in r._replica2part2dev_id for d in row if d == i)
    if n:
        die('%s: %d partition-replicas still on removed device %d' % (
            path, n, i))


def cmd_dispersed(path):
    """With at least as many zones as replicas, no partition has two
    replicas in one zone."""
    r = load(path)
    zone = {d['id']: (d['region'], d['zone']) for d in r.devs if d}
    rows = r._replica2part2dev_id
    if len(set(zone.values())) < len(rows):
        die('%s: fewer zones than replicas; test setup is wrong' % path)
    for p in range(len(rows[0])):
        zs = [zone[row[p]] for row in rows if p < len(row)]
        if len(set(zs)) != len(zs):
            die('%s: partition %d has two replicas in one zone: %s' % (
                path, p, zs))


def count_parts(path, dev_id):
    r = load(path)
    return sum(1 for row in r._replica2part2dev_id for d in row
               if d == int(dev_id))


def cmd_parts(path, dev_id):
    print(count_parts(path, dev_id))


def cmd_near(path, dev_id, want, slack):
    """Device DEV_ID holds WANT partition-replicas, give or take SLACK."""
    have = count_parts(path, dev_id)
    if abs(have - int(want)) > int(slack):
        die('%s: device %s holds %d partition-replicas, expected %s +- %s'
            % (path, dev_id, have, want, slack))


CMDS = {'maxmoves': cmd_maxmoves, 'proportional': cmd_proportional,
        'shape': cmd_shape, 'gone': cmd_gone, 'parts': cmd_parts,
        'near': cmd_near, 'dispersed': cmd_dispersed}
# Several checks per run (python3-swift takes ~0.7 s to import):
#   ringpy.py CMD ARGS... [+ CMD ARGS...]...
cmd = []
for a in sys.argv[1:] + ['+']:
    if a != '+':
        cmd.append(a)
    elif cmd:
        CMDS[cmd[0]](*cmd[1:])
        cmd = []
PY
ringpy() { $PYTHON "$RINGPY" "$@"; }

# expect_output_re ERE: the last expect_exit output matches ERE.
expect_output_re() {
	grep -qiE -- "$1" "$TMPDIR_TEST/out" ||
		{ cat "$TMPDIR_TEST/out" >&2; fail "output does not match /$1/"; }
}

# The worst balance from a view's summary line ("..., N.NN balance").
view_balance() {
	kumo-ring "$1" | sed -n 's/.* \([0-9.]*\) balance.*/\1/p' | head -n 1
}

# balance_at_most FILE MAX: the builder's balance is <= MAX.
balance_at_most() {
	local b
	b=$(view_balance "$1")
	[ -n "$b" ] || fail "no balance in the view of $1"
	awk -v b="$b" -v m="$2" 'BEGIN { exit !(b <= m) }' ||
		fail "$1: balance $b, expected <= $2"
}

# The view's device table line for id ID (empty if absent).
dev_line() {
	kumo-ring "$1" | awk -v id="$2" \
		'f && $1 == id { print } /^Devices:/ { f = 1 }'
}

# Every file and directory under DIR with the sha256 of each file.
snapshot() {
	(cd "$1" && find . -print | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z |
		xargs -0 -r sha256sum)
}

# The bad-input cases report every failure, then fail at the end.
nbad=0
soft_fail() {
	echo "FAIL: $*" >&2
	sed 's/^/    | /' "$TMPDIR_TEST/out" | head -n 12 >&2
	nbad=$((nbad + 1))
}

# bad DIR ERE CMD...: CMD exits 2, its output matches ERE (the problem is
# named), and nothing under DIR changed (no new, changed or temporary file).
bad() {
	local dir=$1 re=$2 before after rc=0
	shift 2
	before=$(snapshot "$dir")
	"$@" >"$TMPDIR_TEST/out" 2>&1 || rc=$?
	after=$(snapshot "$dir")
	if [ "$rc" -ne 2 ]; then
		soft_fail "'$*' exited $rc, expected 2"
	elif ! grep -qiE -- "$re" "$TMPDIR_TEST/out"; then
		soft_fail "'$*' exited 2 but its message does not match /$re/"
	elif [ "$before" != "$after" ]; then
		diff <(echo "$before") <(echo "$after") >&2 || true
		soft_fail "'$*' failed but changed files under $dir (diff above)"
	fi
}

# --- the operator workflow ----------------------------------------------
W=$T/work
mkdir -p "$W"
B=$W/object.builder
R=$W/object.ring.gz

expect_exit 0 kumo-ring "$B" create 10 3 1
[ -s "$B" ] || fail "create did not write $B"
[ ! -e "$R" ] || fail "create wrote a ring file"
expect_exit 0 kumo-ring "$B"
expect_output_has "1024 partitions, 3.000000 replicas"
expect_output_has "0 devices"

# 4 zones x 3 devices, weights 100/200/300, all in one add call, with and
# without the region, one with a replication address, some with meta.
args=()
for z in 1 2 3 4; do
	r=r1
	[ "$z" = 2 ] && r=
	args+=("${r}z$z-10.0.$z.1:6200/d1" 100)
	args+=("${r}z$z-10.0.$z.1:6200R10.1.$z.1:6300/d2" 200)
	args+=("${r}z$z-10.0.$z.1:6200/d3_ssd" 300)
done
expect_exit 0 kumo-ring "$B" add "${args[@]}"
[ "$(grep -c 'got id' "$T/out")" = 12 ] || {
	cat "$T/out" >&2
	fail "add of 12 devices did not report 12 ids"
}
expect_output_has "got id 0"
expect_output_has "got id 11"

expect_exit 0 kumo-ring "$B"
expect_output_has "1024 partitions, 3.000000 replicas, 1 regions, 4 zones, 12 devices"
expect_output_has "10.1.3.1:6300"
expect_output_has "hasn't been written yet"
line=$(dev_line "$B" 2)
case "$line" in
*10.0.1.1:6200*d3*300.00*ssd*) ;;
*) fail "device 2 shows as '$line', expected 10.0.1.1:6200 d3 300.00 ssd" ;;
esac
line=$(dev_line "$B" 4)
case "$line" in
*" 1 "*" 2 "*10.0.2.1:6200*10.1.2.1:6300*d2*200.00*) ;;
*) fail "device 4 shows as '$line', expected region 1 zone 2 ...R10.1.2.1:6300" ;;
esac

# search
expect_exit 0 kumo-ring "$B" search d4
expect_output_has "10.1.2.1:6300"
expect_exit 0 kumo-ring "$B" search _ssd
[ "$(grep -c 'ssd' "$T/out")" = 4 ] ||
	{ cat "$T/out" >&2; fail "search _ssd did not list the 4 ssd devices"; }
expect_exit 0 kumo-ring "$B" search z3-10.0.3.1:6200/d1
expect_output_has "10.0.3.1:6200"
expect_exit 2 kumo-ring "$B" search z9

# Determinism: two copies of the builder, same seed, identical rings.
for c in same1 same2 other; do
	mkdir -p "$T/$c"
	cp "$B" "$T/$c/object.builder"
done
expect_exit 0 kumo-ring "$B" rebalance --seed 7
expect_output_has "Reassigned 3072"
[ -s "$R" ] || fail "rebalance did not write $R"
expect_exit 0 kumo-ring "$T/same1/object.builder" rebalance --seed 7
expect_exit 0 kumo-ring "$T/same2/object.builder" rebalance --seed 7
cmp "$R" "$T/same1/object.ring.gz" ||
	fail "same builder + --seed 7 gave different rings (work, same1)"
cmp "$R" "$T/same2/object.ring.gz" ||
	fail "same builder + --seed 7 gave different rings (work, same2)"
expect_exit 0 kumo-ring "$T/other/object.builder" rebalance --seed 8
cmp -s "$R" "$T/other/object.ring.gz" &&
	echo "note: --seed 7 and --seed 8 gave the same ring (allowed)"

expect_exit 0 kumo-ring "$R"
expect_output_has "1024 partitions, 3.000000 replicas, 1 regions, 4 zones, 12 devices"
expect_exit 0 kumo-ring "$B"
expect_output_has "is up-to-date"
balance_at_most "$B" 1
# weight 100/200/300 in every zone: 128/256/384 partition-replicas
ringpy shape "$R" 1024,1024,1024 + proportional "$R" 1 + dispersed "$R" \
	+ near "$R" 0 128 2 + near "$R" 1 256 2 + near "$R" 2 384 2 \
	+ near "$R" 9 128 2 + near "$R" 10 256 2 + near "$R" 11 384 2

# Nothing to do: exit 1, the builder and ring unchanged.
cp "$B" "$T/b.before"
cp "$R" "$T/r.before"
expect_exit 1 kumo-ring "$B" rebalance --seed 7
expect_output_has "No partitions could be reassigned"
cmp "$B" "$T/b.before" || fail "a rebalance that did nothing changed $B"
cmp "$R" "$T/r.before" || fail "a rebalance that did nothing changed $R"

# write_ring rewrites the same ring.
expect_exit 0 kumo-ring "$B" write_ring
cmp "$R" "$T/r.before" || fail "write_ring wrote a different ring"
ls "$W"/backups/*.object.ring.gz >/dev/null 2>&1 ||
	fail "no ring backup in $W/backups"
ls "$W"/backups/*.object.builder >/dev/null 2>&1 ||
	fail "no builder backup in $W/backups"

# min_part_hours (1): double the cluster (zones 5-8) in one add. Every
# partition was placed less than min_part_hours ago, so, as with
# swift-ring-builder, nothing may move yet.
cp "$R" "$T/r0.ring.gz"
args=()
for z in 5 6 7 8; do
	args+=("r1z$z-10.0.$z.1:6200/d1" 100 "r1z$z-10.0.$z.1:6200/d2" 200)
	args+=("r1z$z-10.0.$z.1:6200/d3" 300)
done
expect_exit 0 kumo-ring "$B" add "${args[@]}"
expect_output_has "got id 23"
expect_exit 1 kumo-ring "$B" rebalance --seed 8
expect_output_has "No partitions could be reassigned"
expect_output_re "min_part_hours: 1 hours \([0-9]+:[0-9]{2}:[0-9]{2} remaining\)"
cmp "$R" "$T/r0.ring.gz" || fail "the ring changed within min_part_hours"

# min_part_hours (2): once it has passed, the new devices want half of all
# replicas, more than one per partition, but one rebalance moves at most
# one replica of each partition; right after it, nothing more may move.
expect_exit 0 kumo-ring "$B" pretend_min_part_hours_passed
mkdir -p "$T/same3" "$T/same4"
cp "$B" "$T/same3/object.builder"
cp "$B" "$T/same4/object.builder"
rc=0
kumo-ring "$B" rebalance --seed 8 >"$T/out" 2>&1 || rc=$?
case $rc in
0) ;;
1) grep -q "NOTE" "$T/out" ||
	{ cat "$T/out" >&2; fail "rebalance exited 1 without saying why"; } ;;
*) cat "$T/out" >&2; fail "rebalance after add exited $rc" ;;
esac
moves=$(ringpy maxmoves "$T/r0.ring.gz" "$R" 1)
echo "one rebalance: ${moves#* } partition-replicas moved (<= 1 each)"
# Same builder and seed after a change: still identical rings.
kumo-ring "$T/same3/object.builder" rebalance --seed 8 >/dev/null 2>&1 || true
kumo-ring "$T/same4/object.builder" rebalance --seed 8 >/dev/null 2>&1 || true
cmp "$R" "$T/same3/object.ring.gz" ||
	fail "same builder + --seed 8 after add gave different rings"
cmp "$R" "$T/same4/object.ring.gz" ||
	fail "same builder + --seed 8 after add gave different rings"
# Again right away: nothing moved since.
cp "$R" "$T/r1.ring.gz"
expect_exit 1 kumo-ring "$B" rebalance --seed 9
cmp "$R" "$T/r1.ring.gz" || fail "a partition moved twice within min_part_hours"
expect_exit 0 kumo-ring "$B"
expect_output_re "reassigned is 1 \([0-9]+:[0-9]{2}:[0-9]{2} remaining\)"

# pretend_min_part_hours_passed: now everything may move; the new devices
# fill to their share.
expect_exit 0 kumo-ring "$B" pretend_min_part_hours_passed
expect_exit 0 kumo-ring "$B"
expect_output_has "(0:00:00 remaining)"
rc=0
kumo-ring "$B" rebalance --seed 10 >"$T/out" 2>&1 || rc=$?
[ $rc -le 1 ] || { cat "$T/out" >&2; fail "rebalance exited $rc"; }
expect_exit 0 kumo-ring "$B" pretend_min_part_hours_passed
rc=0
kumo-ring "$B" rebalance --seed 11 >"$T/out" 2>&1 || rc=$?
[ $rc -le 1 ] || { cat "$T/out" >&2; fail "rebalance exited $rc"; }
balance_at_most "$B" 1
# now 64/128/192 each, the new devices (12-23) too
ringpy shape "$R" 1024,1024,1024 + proportional "$R" 1 + dispersed "$R" \
	+ near "$R" 0 64 2 + near "$R" 1 128 2 + near "$R" 2 192 2 \
	+ near "$R" 12 64 2 + near "$R" 13 128 2 + near "$R" 14 192 2 \
	+ near "$R" 21 64 2 + near "$R" 22 128 2 + near "$R" 23 192 2
cp "$R" "$T/r3.ring.gz"

# set_min_part_hours
expect_exit 0 kumo-ring "$B" set_min_part_hours 0
expect_exit 0 kumo-ring "$B"
expect_output_has "reassigned is 0"

# set_weight: d12 100 -> 400, it gains partitions.
expect_exit 0 kumo-ring "$B" set_weight d12 400
expect_exit 0 kumo-ring "$B"
case "$(dev_line "$B" 12)" in
*" 400.00 "*) ;;
*) fail "set_weight d12 400 not shown: $(dev_line "$B" 12)" ;;
esac
rc=0
kumo-ring "$B" rebalance --seed 11 >"$T/out" 2>&1 || rc=$?
[ "$rc" -le 1 ] || { cat "$T/out" >&2; fail "rebalance after set_weight exited $rc"; }
counts=$(ringpy parts "$T/r3.ring.gz" 12 + parts "$R" 12)
before=${counts%%$'\n'*}
after=${counts##*$'\n'}
[ "$after" -gt "$before" ] ||
	fail "d12's weight went 100 -> 400 but its partitions $before -> $after"

# set_weight 0 drains (swift-ring-builder allows it, before a remove): one
# rebalance leaves d13 in the ring with no partition, the others in
# proportion to their weights
expect_exit 0 kumo-ring "$B" set_weight d13 0
case "$(dev_line "$B" 13)" in
*" 0.00 "*) ;;
*) fail "set_weight d13 0 not shown: $(dev_line "$B" 13)" ;;
esac
rc=0
kumo-ring "$B" rebalance --seed 13 >"$T/out" 2>&1 || rc=$?
[ "$rc" -le 1 ] || { cat "$T/out" >&2; fail "rebalance after set_weight 0 exited $rc"; }
[ "$(ringpy parts "$R" 13)" = 0 ] ||
	fail "d13 weighs 0 but holds $(ringpy parts "$R" 13) partitions"
ringpy shape "$R" 1024,1024,1024 + dispersed "$R" + proportional "$R" 2
[ -n "$(dev_line "$B" 13)" ] || fail "drained d13 left the builder"

# remove two devices (two search values in one call), rebalance: both gone.
expect_exit 0 kumo-ring "$B" remove d5 z4-10.0.4.1:6200/d1
expect_output_has "marked for removal"
case "$(dev_line "$B" 5)" in
*DEL*) ;;
*) fail "device 5 not flagged DEL after remove: $(dev_line "$B" 5)" ;;
esac
rc=0
kumo-ring "$B" rebalance --seed 12 >"$T/out" 2>&1 || rc=$?
[ "$rc" -le 1 ] || { cat "$T/out" >&2; fail "rebalance after remove exited $rc"; }
ringpy gone "$R" 5 + gone "$R" 9 + shape "$R" 1024,1024,1024 + dispersed "$R"
[ -z "$(dev_line "$B" 5)" ] || fail "removed device 5 still in the view"
expect_exit 0 kumo-ring "$R"
expect_output_has "22 devices"
# The lowest free ids (5, then 9) are reused, then 24.
expect_exit 0 kumo-ring "$B" add r1z2-10.0.2.9:6200/n1 100 \
	r1z4-10.0.4.9:6200/n2 100 r1z1-10.0.1.9:6200/n3 100
expect_output_re "n1 .*got id 5"
expect_output_re "n2 .*got id 9"
expect_output_re "n3 .*got id 24"

# set_replicas 2.5: three rows, the last half long.
expect_exit 0 kumo-ring "$B" set_replicas 2.5
expect_exit 0 kumo-ring "$B"
expect_output_has "2.500000 replicas"
rc=0
kumo-ring "$B" rebalance --seed 13 >"$T/out" 2>&1 || rc=$?
[ "$rc" -le 1 ] || { cat "$T/out" >&2; fail "rebalance after set_replicas exited $rc"; }
expect_exit 0 kumo-ring "$R"
expect_output_has "1024 partitions, 2.500000 replicas"
ringpy shape "$R" 1024,1024,512 + dispersed "$R"
# and back to 3
expect_exit 0 kumo-ring "$B" set_replicas 3
rc=0
kumo-ring "$B" rebalance --seed 14 >"$T/out" 2>&1 || rc=$?
[ "$rc" -le 1 ] || { cat "$T/out" >&2; fail "rebalance after set_replicas 3 exited $rc"; }
ringpy shape "$R" 1024,1024,1024

# --- bad input ------------------------------------------------------------
X=$T/bad
mkdir -p "$X"
G=$X/good.builder
GR=$X/good.ring.gz
kumo-ring "$G" create 8 3 1 >/dev/null
kumo-ring "$G" add r1z1-10.0.0.1:6200/sda 100 r1z2-10.0.0.2:6200/sda 100 \
	r1z3-10.0.0.3:6200/sda 100 r1z4-10.0.0.4:6200/sda 100 >/dev/null
kumo-ring "$G" rebalance --seed 1 >/dev/null
[ -s "$GR" ] || fail "setup: no $GR"
# A builder that cannot hold its replicas: 3 replicas, 2 devices.
F=$X/few.builder
kumo-ring "$F" create 6 3 0 >/dev/null
kumo-ring "$F" add r1z1-10.0.0.1:6200/sda 1 r1z2-10.0.0.2:6200/sda 1 >/dev/null
# One that could, until a device was removed.
F2=$X/few2.builder
kumo-ring "$F2" create 6 3 0 >/dev/null
kumo-ring "$F2" add r1z1-10.0.0.1:6200/sda 1 r1z2-10.0.0.2:6200/sda 1 \
	r1z3-10.0.0.3:6200/sda 1 >/dev/null
kumo-ring "$F2" rebalance --seed 1 >/dev/null
kumo-ring "$F2" remove d2 >/dev/null
# Damaged builders.
half=$(($(stat -c %s "$G") / 2))
head -c "$half" "$G" >"$X/trunc.builder"
head -c 2000 /dev/urandom >"$X/random.builder"
head -c 2000 /dev/urandom | gzip -c >"$X/gzjunk.builder"
: >"$X/empty.builder"
# Damaged rings.
half=$(($(stat -c %s "$GR") / 2))
head -c "$half" "$GR" >"$X/trunc.ring.gz"
head -c 2000 /dev/urandom >"$X/random.ring.gz"
head -c 2000 /dev/urandom | gzip -c >"$X/gzjunk.ring.gz"
# Valid gzip, damaged inside: builder rows cut short, a builder row naming a
# device that does not exist, ring metadata that is not JSON, a ring row
# naming a device that does not exist, a ring with no partition table.
$PYTHON - "$X" <<'PY'
import gzip, struct, sys
d = sys.argv[1]
raw = gzip.open(d + '/good.builder').read()
assert raw[:8] == b'KUMOBLDR', raw[:8]
jl, = struct.unpack('>I', raw[10:14])
gzip.open(d + '/short.builder', 'wb').write(raw[:len(raw) - 100])
rows = bytearray(raw[14 + jl:])
rows[0:2] = struct.pack('<H', 77)
gzip.open(d + '/baddev.builder', 'wb').write(raw[:14 + jl] + bytes(rows))
ring = gzip.open(d + '/good.ring.gz').read()
assert ring[:6] == b'R1NG\x00\x01', ring[:6]
jl, = struct.unpack('!I', ring[6:10])
gzip.open(d + '/badjson.ring.gz', 'wb').write(
    ring[:10] + b'{' + b'x' * (jl - 1) + ring[10 + jl:])
rows = bytearray(ring[10 + jl:])
rows[0:2] = struct.pack('=H', 77)
gzip.open(d + '/baddev.ring.gz', 'wb').write(ring[:10 + jl] + bytes(rows))
gzip.open(d + '/norows.ring.gz', 'wb').write(ring[:10 + jl])
PY

BADLOAD='corrupt|truncated|not a|invalid|cannot|unknown device'

# missing builder
bad "$X" 'missing\.builder' kumo-ring "$X/missing.builder"
bad "$X" 'missing\.builder' kumo-ring "$X/missing.builder" \
	add r1z1-10.0.0.9:6200/sda 100
bad "$X" 'missing\.builder' kumo-ring "$X/missing.builder" rebalance
bad "$X" 'missing\.builder' kumo-ring "$X/missing.builder" write_ring
# damaged builders: no command may use them, nor write a ring from them
for f in trunc random gzjunk empty short baddev; do
	bad "$X" "$BADLOAD" kumo-ring "$X/$f.builder"
	bad "$X" "$BADLOAD" kumo-ring "$X/$f.builder" \
		add r1z1-10.0.0.9:6200/sda 100
	bad "$X" "$BADLOAD" kumo-ring "$X/$f.builder" rebalance --seed 1
	bad "$X" "$BADLOAD" kumo-ring "$X/$f.builder" write_ring
	bad "$X" "$BADLOAD" kumo-ring "$X/$f.builder" set_replicas 4
done
# damaged and missing rings
for f in trunc random gzjunk badjson baddev norows missing; do
	bad "$X" "$BADLOAD|No such file" kumo-ring "$X/$f.ring.gz"
	bad "$X" "$BADLOAD|No such file" kumo-ring get-nodes "$X/$f.ring.gz" \
		--prefix p --suffix s a/c/o
	bad "$X" "$BADLOAD|No such file" kumo-ring get-nodes "$X/$f.ring.gz" \
		--json a
done

# unknown devices
bad "$X" 'matched 0 devices' kumo-ring "$G" remove d99
bad "$X" 'matched 0 devices' kumo-ring "$G" remove z9
bad "$X" 'matched 0 devices' kumo-ring "$G" set_weight d99 50
bad "$X" 'matched 0 devices' kumo-ring "$G" set_weight 10.9.9.9 50
bad "$X" 'matched 0 devices' kumo-ring "$G" remove d0 d99
bad "$X" 'invalid search value' kumo-ring "$G" remove 'bogus~'

# bad weights
# (0 is good for both, as in swift-ring-builder: see the drain above)
for w in -1 -0.5 abc 1x nan inf ''; do
	bad "$X" 'weight' kumo-ring "$G" add r1z5-10.0.0.5:6200/sda "$w"
done
for w in -1 -0.5 abc 1x nan inf ''; do
	bad "$X" 'weight' kumo-ring "$G" set_weight d0 "$w"
done

# bad create arguments, on a new file and over the existing builder
for a in "0 3 1" "33 3 1" "8.5 3 1" "x 3 1" "-1 3 1"; do
	# shellcheck disable=SC2086
	bad "$X" 'part_power' kumo-ring "$X/new.builder" create $a
	# shellcheck disable=SC2086
	bad "$X" 'part_power' kumo-ring "$G" create $a
done
for a in "8 0.5 1" "8 0 1" "8 -3 1" "8 x 1"; do
	# shellcheck disable=SC2086
	bad "$X" 'replica' kumo-ring "$X/new.builder" create $a
done
for a in "8 3 -1" "8 3 256" "8 3 x"; do
	# shellcheck disable=SC2086
	bad "$X" 'min_part_hours' kumo-ring "$X/new.builder" create $a
done
bad "$X" 'usage' kumo-ring "$X/new.builder" create 8 3
bad "$X" 'replica' kumo-ring "$G" set_replicas 0.5
bad "$X" 'replica' kumo-ring "$G" set_replicas 0
bad "$X" 'min_part_hours' kumo-ring "$G" set_min_part_hours 256
bad "$X" 'min_part_hours' kumo-ring "$G" set_min_part_hours x

# malformed add values
for v in 10.0.0.5:6200/sda z-10.0.0.5:6200/sda zx-10.0.0.5:6200/sda \
	rz5-10.0.0.5:6200/sda z5-10.0.0.5/sda z5-10.0.0.5:/sda \
	z5-10.0.0.5:70000/sda z5-10.0.0.5:0/sda z5-10.0.0.5:62x0/sda \
	z5-10.0.0.5:6200 z5-10.0.0.5:6200/ z1-127.0.0.1:6200/ \
	z5-:6200/sda z5-10.0.0.5:6200R10.0.0.6/sda z5-10.0.0.5:6200R:7/sda \
	z5-10.0.0.5:6200/sd/a ''; do
	bad "$X" 'invalid' kumo-ring "$G" add "$v" 100
	[ -z "$v" ] || grep -qF -- "$v" "$T/out" ||
		soft_fail "add '$v': the message does not quote the value"
done
# value without a weight; a good device then a bad one: nothing is added
bad "$X" 'usage' kumo-ring "$G" add r1z5-10.0.0.5:6200/sda
bad "$X" 'usage' kumo-ring "$G" add r1z5-10.0.0.5:6200/sda 100 \
	r1z6-10.0.0.6:6200/sda
bad "$X" 'invalid' kumo-ring "$G" add r1z5-10.0.0.5:6200/sda 100 \
	r1z6-10.0.0.6:70000/sda 100
bad "$X" 'weight' kumo-ring "$G" add r1z5-10.0.0.5:6200/sda 100 \
	r1z6-10.0.0.6:6200/sda -1
# duplicate ip:port/device, with the builder's and within one call
bad "$X" 'already' kumo-ring "$G" add r1z9-10.0.0.2:6200/sda 100
bad "$X" 'already' kumo-ring "$G" add r1z5-10.0.0.5:6200/sdb 100 \
	r1z6-10.0.0.5:6200/sdb 100

# too few devices for the replicas
bad "$X" 'requires more than' kumo-ring "$F" rebalance --seed 1
bad "$X" 'requires more than' kumo-ring "$F2" rebalance --seed 1
bad "$X" 'requires more than' kumo-ring "$F2" rebalance --seed 1 --force

# unknown command
bad "$X" 'frobnicate' kumo-ring "$G" frobnicate
bad "$X" 'usage|unknown' kumo-ring "$G" set_replicas

# no stray temporary files anywhere
stray=$(find "$T" -name '*.tmp*')
[ -z "$stray" ] || fail "temporary files left behind: $stray"

# --- a save that fails half way -------------------------------------------
# The builder's backup copy cannot be written (a directory is in the way):
# the rebalance must fail (2) and leave the ring and the builder as they
# were, not a new ring beside the old builder.
S=$T/savefail
mkdir -p "$S/backups"
kumo-ring "$S/s.builder" create 6 3 0 >/dev/null
kumo-ring "$S/s.builder" add r1z1-10.0.0.1:6200/sda 1 r1z2-10.0.0.2:6200/sda 1 \
	r1z3-10.0.0.3:6200/sda 1 r1z4-10.0.0.4:6200/sda 1 >/dev/null
kumo-ring "$S/s.builder" rebalance --seed 1 >/dev/null
kumo-ring "$S/s.builder" add r1z5-10.0.0.5:6200/sda 1 >/dev/null
rm -rf "$S/backups"
mkdir "$S/backups"
now=$(date +%s)
for i in $(seq -2 30); do
	mkdir -p "$S/backups/$((now + i)).s.builder"
done
before=$(cd "$S" && sha256sum s.builder s.ring.gz)
rc=0
kumo-ring "$S/s.builder" rebalance --seed 2 >"$T/out" 2>&1 || rc=$?
after=$(cd "$S" && sha256sum s.builder s.ring.gz)
# (a leftover copy under backups/ would be harmless)
if [ "$rc" -ne 2 ]; then
	soft_fail "rebalance that cannot save the builder exited $rc, expected 2"
elif [ "$before" != "$after" ]; then
	diff <(echo "$before") <(echo "$after") >&2 || true
	soft_fail "rebalance could not save the builder (exit 2) but replaced" \
		"the ring: ring and builder now disagree"
fi
stray=$(find "$S" -name '*.tmp*')
[ -z "$stray" ] || fail "temporary files left behind: $stray"

[ "$nbad" -eq 0 ] || fail "$nbad bad-input case(s) failed (see above)"

echo "020-kumo-ring-cli: ok"
