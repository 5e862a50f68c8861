#!/bin/bash
# 473-ec-reconstructor-rotten-source: a rebuild never spreads a rotten
# archive. On a 4+2 EC policy over six object servers, the archive of
# the node that rebuilds for d2 (the holder of the next index) gets a
# flipped byte, then d2 is wiped: that node's pass finds its archive's
# MD5 is not its ETag before the last fragment is sent, and d2 gets
# nothing; once the auditor has quarantined the rotten archive, the
# passes rebuild d2's archive (the right bytes) from the good ones.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/ec.sh"
requires curl timeout cmp

ec_cluster 6
T=$TMPDIR_TEST
head -c 3145733 /dev/urandom >"$T/r1"
ec_put r1 "$T/r1"
read -r dev j dur path < <(ec_archives r1 | awk '$1 == "d2"') ||
	fail "no archive on d2"
$PYTHON "$EC_TOOL" body "$path" "$T/d2.body"
# the first holder after index j rebuilds it: primary j+1
set -- $(ec_primaries r1)
[ $# = 6 ] || fail "r1 has $# primaries: $*"
shift $(((j + 1) % 6))
rot=$1
k=${rot#d}
# (a CI run once ended here without a word: say what was where)
read -r dev i dur rpath < <(ec_archives r1 | awk -v d="$rot" '$1 == d') ||
	fail "no archive of r1 on $rot, primary $(((j + 1) % 6)); archives:
$(ec_archives r1)"
flip_byte "$rpath" 5000
rm -rf "$NODE_DIR/obj2/d2"
mkdir "$NODE_DIR/obj2/d2"

for n in 1 2 3 4 5 6; do
	timeout 90 kumo-objectd "$T/obj$n.conf" --once reconstruct \
		2>>"$T/rcon.log" || true
done
grep -q "the local archive's MD5 .* is not its ETag" "$T/rcon.log" ||
	{ cat "$T/rcon.log" >&2; fail "the rotten source was not noticed"; }
[ -z "$(ec_archives r1 | awk '$1 == "d2"')" ] ||
	fail "an archive was rebuilt on d2 from a rotten source"

timeout 60 kumo-objectd "$T/obj$k.conf" --once audit 2>>"$T/audit.log" ||
	fail "audit pass on node $k"
: >"$T/rcon.log"
reconstruct_all
read -r dev j2 dur path < <(ec_archives r1 | awk '$1 == "d2"') ||
	fail "d2's archive not rebuilt once the rotten one was quarantined"
$PYTHON "$EC_TOOL" body "$path" "$T/d2.got"
cmp -s "$T/d2.got" "$T/d2.body" || fail "d2's rebuilt archive differs"
[ "$(ec_archives r1 | awk '$3 == 1' | wc -l)" = 6 ] ||
	{ ec_archives r1 >&2; fail "not six durable archives in the end"; }
expect_objects r1
echo "ok: the rotten archive on $rot was not spread; d2 rebuilt from good ones"
