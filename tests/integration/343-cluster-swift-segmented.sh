#!/bin/bash
# 343-cluster-swift-segmented: python3-swiftclient's segmented uploads
# through kumo-aio (64 MiB in 8 MiB segments; the 1 GiB runs are 348 and
# 349, tagged heavy):
#   - `swift upload --use-slo --segment-size` makes a static large object,
#     `swift download` gets the same bytes (md5) and the client's own
#     ETag check passes; `swift stat` shows the whole length;
#   - without --use-slo: a dynamic large object (X-Object-Manifest), the
#     same checks;
#   - `swift delete` of the SLO removes its segments too (the client's
#     ?multipart-manifest=delete), and of the DLO as well.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
requires md5sum /usr/bin/swift

start_cluster
cd "$TMPDIR_TEST"
MIB=$((1024 * 1024))
head -c $((64 * MIB)) /dev/urandom >big
sum=$(md5sum <big | cut -c1-32)

segmented() { # segmented CONTAINER [--use-slo]
	local c=$1
	shift
	$SWIFT upload "$@" --segment-size $((8 * MIB)) "$c" big >/dev/null ||
		fail "swift upload $* failed"
	$SWIFT download "$c" big -o back >/dev/null || fail "swift download ($c)"
	[ "$(md5sum <back | cut -c1-32)" = "$sum" ] || fail "$c: md5 differs"
	rm -f back
	$SWIFT stat "$c" big >stat || fail "swift stat ($c)"
	grep -q "Content Length: $((64 * MIB))" stat || { cat stat; fail "$c: length"; }
	[ "$($SWIFT list "${c}_segments" | wc -l)" = 8 ] ||
		fail "$c: $($SWIFT list "${c}_segments" | wc -l) segments, expected 8"
}

segmented slo --use-slo
grep -q "X-Static-Large-Object: True" stat || { cat stat; fail "not an SLO"; }
segmented dlo
grep -q "Manifest: dlo_segments/big/" stat || { cat stat; fail "not a DLO"; }

for c in slo dlo; do
	$SWIFT delete "$c" big >/dev/null || fail "swift delete ($c)"
	[ -z "$($SWIFT list "${c}_segments")" ] || fail "$c: segments left after delete"
done
echo "343-cluster-swift-segmented: ok"
