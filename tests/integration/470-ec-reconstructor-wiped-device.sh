#!/bin/bash
# 470-ec-reconstructor-wiped-device: a 4+2 EC policy on six devices, each
# on its own kumo-objectd. Objects of 0, 1, segment-1, segment, segment+1
# bytes and of three segments and a bit are PUT into an EC container;
# device d2 is wiped (its folder deleted and made again, empty); one
# reconstructor pass (`kumo-objectd CONF --once reconstruct` on every
# server) rebuilds on d2 the archive of the index d2 holds for each
# object: checked on disk (a durable <ts>#<i>#d.data of the same index,
# its archive bytes identical to the copy kept before the wipe, the same
# metadata in a backend HEAD), the pass logged with the archives rebuilt
# and in /recon/reconstruction; a second pass rebuilds nothing; an
# archive the auditor quarantines (a flipped byte) is rebuilt; and with
# two other object servers stopped each object reads back whole (d2's
# rebuilt archive among the four left).
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/ec.sh"
requires curl timeout cmp

ec_cluster 6
T=$TMPDIR_TEST
mkdir -p "$T/keep"
SIZES="0 1 1048575 1048576 1048577 3145733"
for s in $SIZES; do
	head -c "$s" /dev/urandom >"$T/o$s"
	ec_put "o$s" "$T/o$s"
done

held=0
for s in $SIZES; do
	[ "$(ec_archives "o$s" | awk '$3 == 1' | wc -l)" = 6 ] ||
		{ ec_archives "o$s" >&2; fail "o$s: not six durable archives"; }
	read -r dev idx dur path < <(ec_archives "o$s" | awk '$1 == "d2"') ||
		fail "o$s: no archive on d2"
	echo "$idx" >"$T/keep/o$s.idx"
	$PYTHON "$EC_TOOL" body "$path" "$T/keep/o$s.body"
	$PYTHON "$EC_TOOL" meta "$EC_RING" "$ACCT/ec/o$s" d2 "$idx" \
		>"$T/keep/o$s.meta" || fail "o$s: backend HEAD before the wipe"
	held=$((held + 1))
done

rm -rf "$NODE_DIR/obj2/d2"
mkdir "$NODE_DIR/obj2/d2"
[ -z "$(ec_archives o0 | awk '$1 == "d2"')" ] || fail "d2 not wiped"

reconstruct_all
for s in $SIZES; do
	read -r dev idx dur path < <(ec_archives "o$s" | awk '$1 == "d2"') ||
		fail "o$s: d2 holds no archive after the pass"
	[ "$idx" = "$(cat "$T/keep/o$s.idx")" ] ||
		fail "o$s: d2 holds index $idx, held $(cat "$T/keep/o$s.idx")"
	[ "$dur" = 1 ] || fail "o$s: the rebuilt archive is not durable"
	$PYTHON "$EC_TOOL" body "$path" "$T/o$s.body"
	cmp -s "$T/o$s.body" "$T/keep/o$s.body" ||
		fail "o$s: the rebuilt archive differs from the original"
	$PYTHON "$EC_TOOL" meta "$EC_RING" "$ACCT/ec/o$s" d2 "$idx" \
		>"$T/o$s.meta" || fail "o$s: backend HEAD after the pass"
	diff "$T/keep/o$s.meta" "$T/o$s.meta" >&2 ||
		fail "o$s: the rebuilt archive's metadata differs"
	[ "$(ec_archives "o$s" | wc -l)" = 6 ] ||
		{ ec_archives "o$s" >&2; fail "o$s: not six archives"; }
done
# each archive rebuilt once, by one node (one pass per server)
expect_logged "archives rebuilt" "$held"
[ "$(grep -c "rebuilt index" "$T/rcon.log")" = "$held" ] ||
	fail "an archive was rebuilt more than once"
curl -s "http://127.0.0.1:${OBJ_PORTS[1]}/recon/reconstruction/object" |
	grep -q '"object_reconstruction_last"' ||
	fail "no reconstruction figures in /recon"

expect_idle_pass

# bit rot: the auditor quarantines a damaged archive on d4, and the next
# passes rebuild it there
read -r dev idx dur path < <(ec_archives o1048577 | awk '$1 == "d4"')
$PYTHON "$EC_TOOL" body "$path" "$T/keep/rot.body"
flip_byte "$path" 1000
timeout 60 kumo-objectd "$T/obj4.conf" --once audit 2>>"$T/audit.log" ||
	fail "audit pass on node 4"
[ -z "$(ec_archives o1048577 | awk '$1 == "d4"')" ] ||
	fail "the auditor left the damaged archive in place"
reconstruct_all
read -r dev idx2 dur path < <(ec_archives o1048577 | awk '$1 == "d4"') ||
	fail "the quarantined archive was not rebuilt"
[ "$idx2" = "$idx" ] || fail "d4 got index $idx2 back, held $idx"
$PYTHON "$EC_TOOL" body "$path" "$T/rot.body"
cmp -s "$T/rot.body" "$T/keep/rot.body" ||
	fail "the archive rebuilt after quarantine differs"

# two other servers down: d2's rebuilt archive is one of the four read
kill_object_server 3
kill_object_server 5
expect_objects $(printf "o%s " $SIZES)
echo "ok: $held archives of d2 rebuilt byte for byte"
