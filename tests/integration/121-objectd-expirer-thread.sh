#!/bin/bash
# 121-objectd-expirer-thread: the expirer thread of a serving kumo-objectd
# (expirer_interval = 1) removes expired objects with nobody asking,
# driven with the swift client (issue 3).
#   - `swift upload -H "X-Delete-After: 1"` and `swift post -H
#     "X-Delete-At: ..."`: both objects 404 once their time passed, then
#     within a few seconds their .data files are gone from every device,
#     `swift list` drops them and `swift stat` counts one object;
#   - an object uploaded without expiry stays.
. "$(dirname "$0")/../lib/functions.sh"
OBJECT_EXTRA_CONF="expirer_interval = 1"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl md5sum /usr/bin/swift

start_proxy_cluster
cd "$TMPDIR_TEST"
printf 'hello\n' >short
printf 'stays\n' >keep
printf 'posted\n' >late
$SWIFT upload box keep >/dev/null || fail "upload keep"
$SWIFT upload box late >/dev/null || fail "upload late"
$SWIFT stat box | grep -q "Objects: 2" || fail "stat: $($SWIFT stat box)"
$SWIFT upload box short -H "X-Delete-After: 1" >/dev/null ||
	fail "upload with X-Delete-After"
# a few seconds ahead: the swift client alone can take two on a busy machine
at=$(($(date +%s) + 5))
$SWIFT post box late -H "X-Delete-At: $at" || fail "post X-Delete-At"

while [ "$(date +%s)" -le "$at" ]; do sleep 0.2; done
$SWIFT download box short -o - >/dev/null 2>&1 && fail "expired object readable"
$SWIFT download box late -o - >/dev/null 2>&1 && fail "expired object readable"

ok=0
for i in $(seq 1 50); do
	if [ "$($SWIFT list box)" = keep ] &&
		[ -z "$(find "$NODE_DIR" -name '*.data' |
			xargs -r grep -l -e hello -e posted)" ] &&
		[ -z "$(find "$NODE_DIR" -path '*expiring/*' -type f)" ]; then
		ok=1
		break
	fi
	sleep 0.2
done
[ $ok = 1 ] || {
	find "$NODE_DIR" -path '*objects*' -o -path '*expiring*' >&2
	cat "$TMPDIR_TEST/objectd.log" >&2
	fail "the expirer thread did not remove the expired objects: $($SWIFT list box)"
}
[ "$(find "$NODE_DIR" -name '*.data' | xargs grep -l stays | wc -l)" = 3 ] ||
	fail "keep lost replicas"
$SWIFT stat box | grep -q "Objects: 1" || fail "stat after: $($SWIFT stat box)"
grep -q "expired /" "$TMPDIR_TEST/objectd.log" || fail "no expiry logged"
[ "$($SWIFT download box keep -o -)" = stays ] || fail "keep not readable"
echo "121-objectd-expirer-thread: ok"
