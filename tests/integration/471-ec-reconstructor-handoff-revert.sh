#!/bin/bash
# 471-ec-reconstructor-handoff-revert: a 4+2 EC policy on seven devices
# (one kumo-objectd each), so every partition has a handoff. With object
# server 3 (device d3) down, objects are PUT into an EC container: the
# archive of the index d3 is primary for lands on the partition's
# handoff. Server 3 comes back; one reconstructor pass on every server
# moves each such archive to d3 (a durable <ts>#<i>#d.data of that index,
# its bytes those the handoff held) and removes it from the handoff (its
# hash dir and emptied partition gone); the passes log the archives
# reverted; a second pass moves nothing; the objects read back. Then two
# objects are DELETEd with server 4 down: after a pass every primary, d4
# included, holds the tombstone (the archives gone) and the handoff none.
# Last, device d5's folder is removed (507): its archives are rebuilt on
# the handoff and given back to d5 once its folder is there again.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/ec.sh"
requires curl timeout cmp

ec_cluster 7
T=$TMPDIR_TEST
mkdir -p "$T/keep"
kill_object_server 3
NAMES="h1 h2 h3 h4 h5 h6"
for n in $NAMES; do
	head -c $((RANDOM * 40)) /dev/urandom >"$T/$n"
	ec_put "$n" "$T/$n"
done
restart_object_server 3

moved=0
for n in $NAMES; do
	ec_archives "$n" >"$T/$n.before"
	grep -q "^d3 " "$T/$n.before" && fail "$n: d3 got an archive while down"
	idx=$(ec_primaries "$n" | tr ' ' '\n' | grep -nx d3 | cut -d: -f1 || true)
	idx=$((${idx:-0} - 1))
	echo "$idx" >"$T/keep/$n.idx"
	[ "$idx" -ge 0 ] || continue
	read -r hdev hidx dur path < <(awk -v i="$idx" '$2 == i' "$T/$n.before") ||
		fail "$n: no archive of index $idx anywhere"
	[ "$dur" = 1 ] || fail "$n: the handoff's archive is not durable"
	echo "$hdev" >"$T/keep/$n.hdev"
	echo "$(dirname "$path")" >"$T/keep/$n.hdir"
	$PYTHON "$EC_TOOL" body "$path" "$T/keep/$n.body"
	moved=$((moved + 1))
done
[ "$moved" -gt 0 ] || fail "no object had d3 among its primaries"

reconstruct_all
for n in $NAMES; do
	idx=$(cat "$T/keep/$n.idx")
	[ "$idx" -ge 0 ] || continue
	read -r dev i dur path < <(ec_archives "$n" | awk '$1 == "d3"') ||
		fail "$n: d3 holds no archive after the pass"
	[ "$i" = "$idx" ] || fail "$n: d3 holds index $i, wants $idx"
	[ "$dur" = 1 ] || fail "$n: the reverted archive is not durable"
	$PYTHON "$EC_TOOL" body "$path" "$T/$n.body"
	cmp -s "$T/$n.body" "$T/keep/$n.body" ||
		fail "$n: d3's archive differs from the handoff's"
	hdev=$(cat "$T/keep/$n.hdev")
	ec_archives "$n" | grep -q "^$hdev " &&
		fail "$n: the handoff $hdev still holds an archive"
	[ ! -e "$(cat "$T/keep/$n.hdir")" ] ||
		fail "$n: the handoff's hash dir is still there"
	[ "$(ec_archives "$n" | wc -l)" = 6 ] ||
		{ ec_archives "$n" >&2; fail "$n: not six archives"; }
done
expect_logged reverted "$moved"
grep -q "removed handoff partition" "$T/rcon.log" ||
	fail "no handoff partition was removed"

expect_idle_pass

expect_objects $NAMES

# tombstones: h1 and h2 DELETEd with server 4 down (d4's tombstone goes
# to the handoff); once it is back, the passes give every primary the
# tombstone (the archives go) and take it off the handoff
kill_object_server 4
for n in h1 h2; do
	[ "$(status DELETE "$URL/ec/$n" -H "X-Auth-Token: $TOKEN")" = 204 ] ||
		fail "DELETE $n with server 4 down"
done
restart_object_server 4
reconstruct_all
for n in h1 h2; do
	[ -z "$(ec_archives "$n")" ] ||
		{ ec_archives "$n" >&2; fail "$n: archives left after DELETE"; }
	prim=$(ec_primaries "$n" | tr ' ' '\n' | sort | xargs)
	[ "$(ec_tombstones "$n" | awk '{ print $1 }' | sort | xargs)" = "$prim" ] ||
		{ ec_tombstones "$n" >&2
		  fail "$n: tombstones not on exactly the primaries $prim"; }
	[ "$(status GET "$URL/ec/$n" -H "X-Auth-Token: $TOKEN")" = 404 ] ||
		fail "$n: GET after DELETE"
done
# a device gone (its folder removed: server 5 answers 507): the passes
# rebuild its archives on the partition's handoff, and once it is back
# (empty), move them to it
gone=0
for n in h3 h4 h5 h6; do
	read -r dev idx dur path < <(ec_archives "$n" | awk '$1 == "d5"') ||
		continue
	echo "$idx" >"$T/keep/$n.idx5"
	$PYTHON "$EC_TOOL" body "$path" "$T/keep/$n.body5"
	gone=$((gone + 1))
done
[ "$gone" -gt 0 ] || fail "no live object had an archive on d5"
rm -rf "$NODE_DIR/obj5/d5"
: >"$T/rcon.log"
reconstruct_all 1 2 3 4 6 7 # server 5's own pass fails: its device is gone
expect_logged "archives rebuilt" "$gone"
for n in h3 h4 h5 h6; do
	[ -e "$T/keep/$n.idx5" ] || continue
	idx=$(cat "$T/keep/$n.idx5")
	read -r dev i dur path < <(ec_archives "$n" | awk -v i="$idx" '$2 == i') ||
		fail "$n: index $idx of the gone d5 not rebuilt anywhere"
	ec_primaries "$n" | grep -qw "$dev" &&
		fail "$n: index $idx rebuilt on the primary $dev, not a handoff"
	$PYTHON "$EC_TOOL" body "$path" "$T/$n.body5"
	cmp -s "$T/$n.body5" "$T/keep/$n.body5" ||
		fail "$n: the stand-in archive differs"
done
mkdir "$NODE_DIR/obj5/d5"
: >"$T/rcon.log"
reconstruct_all
expect_logged reverted "$gone"
for n in h3 h4 h5 h6; do
	[ -e "$T/keep/$n.idx5" ] || continue
	idx=$(cat "$T/keep/$n.idx5")
	[ "$(ec_archives "$n" | awk -v i="$idx" '$2 == i { print $1 }')" = d5 ] ||
		{ ec_archives "$n" >&2; fail "$n: index $idx not back on d5 alone"; }
done
expect_objects h3 h4 h5 h6
echo "ok: $moved archives moved from handoffs to d3, $gone of the gone d5 stood in for and given back"
