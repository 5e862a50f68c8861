#!/bin/bash
# tests/integration/117-objectd-large-put-reuse.sh: an overwritten large
# object's old .data is kept in its device's pool (d1/recycle) instead of
# being unlinked, and a later large PUT writes its body over that file
# (its blocks are already allocated: on a disk mounted with discard a
# fresh block costs a fresh host allocation; recycle.c):
#   - the third version of an object lies in the first one's inode (once a
#     sync after the second PUT covered the first file's leaving), and a
#     GET gives exactly the third body, shorter than the first: no old
#     tail; the .data is exactly body + metadata + footer long;
#   - a large PUT refused (wrong ETag) into a pooled file leaves nothing:
#     no temp file, nothing in the hash dir;
#   - a pooled file still open elsewhere (a reader of the old object) is
#     not written over: the reader keeps the old bytes;
#   - what a killed server left in d1/recycle is removed by the next
#     server's updater pass, and the pool is emptied once idle for
#     updater_interval seconds.
. "$(dirname "$0")/../lib/functions.sh"
requires curl md5sum stat kumo-objectd

. "$(dirname "$0")/../lib/objectd.sh"

OBJ_UPDATER_INTERVAL=3600 start_objectd
D=$TMPDIR_TEST/srv
MiB=1048576
h=$(printf '/a/c/okumotest' | md5sum | cut -d' ' -f1)
HDIR=$D/d1/objects/9/${h: -3}/$h

# put NAME SIZE [curl args]: PUT /d1/9/a/c/NAME of SIZE random bytes
# (kept in $TMPDIR_TEST/NAME.SIZE), answering 201 unless STATUS is set
put() {
	local name=$1 size=$2
	shift 2
	head -c "$size" /dev/urandom >"$TMPDIR_TEST/$name.$size"
	expect_status "${STATUS:-201}" PUT "/d1/9/a/c/$name" \
		-H "X-Timestamp: $(now_ts)" -H "Content-Type: application/x-test" \
		"$@" --data-binary @"$TMPDIR_TEST/$name.$size"
}
inode() { stat -c %i "$(ls "$HDIR"/*.data)"; }
pooled() { ls "$D/d1/recycle" 2>/dev/null | wc -l; }
# check_o SIZE: GET o gives the body of that size, with its MD5 as ETag
check_o() {
	local etag
	etag=$(curl -s -D - -o "$TMPDIR_TEST/got" "$OBJ_URL/d1/9/a/c/o" |
		tr -d '\r' | awk -F': ' 'tolower($1) == "etag" {gsub(/"/, "", $2); print $2}')
	cmp -s "$TMPDIR_TEST/o.$1" "$TMPDIR_TEST/got" ||
		fail "GET o: not the body of $1 bytes ($(stat -c %s "$TMPDIR_TEST/got") bytes)"
	[ "$etag" = "$(md5sum <"$TMPDIR_TEST/o.$1" | cut -d' ' -f1)" ] ||
		fail "GET o: ETag $etag"
}

put o $((5 * MiB + 123))
I1=$(inode)
put o $((2 * MiB))
[ "$(pooled)" = 1 ] || fail "the first .data was not pooled: $(ls -l "$D/d1/recycle")"
[ "$(stat -c %i "$D"/d1/recycle/*)" = "$I1" ] || fail "the pool holds another file"
put small 1000 # a sync after the first file left its hash dir
put o $((MiB + 777))
[ "$(inode)" = "$I1" ] || fail "the third version did not reuse the first's file"
check_o $((MiB + 777))
size=$(stat -c %s "$(ls "$HDIR"/*.data)")
[ "$size" -lt $((MiB + 777 + 4096)) ] || fail "the .data is $size bytes: an old tail"
[ "$(ls "$HDIR")" = "$(ls "$HDIR"/*.data | xargs -n1 basename)" ] ||
	fail "hash dir: $(ls "$HDIR")"

# a refused upload into a pooled file (the second version's) leaves nothing
put small 1000
STATUS=422 put bad $((3 * MiB)) -H "ETag: 00000000000000000000000000000000"
hb=$(printf '/a/c/badkumotest' | md5sum | cut -d' ' -f1)
[ -z "$(ls "$D/d1/objects/9/${hb: -3}/$hb/" 2>/dev/null)" ] ||
	fail "a refused body left a file"
[ -z "$(ls "$D/d1/tmp/")" ] || fail "temp files left: $(ls "$D/d1/tmp/")"
[ "$(pooled)" = 0 ] || fail "the refused upload's file is back in the pool"

# a reader of the old version keeps its bytes
I3=$(inode)
exec 3<"$(ls "$HDIR"/*.data)"
put o $((4 * MiB))
put small 1000
put o $((3 * MiB + 5))
[ "$(inode)" != "$I3" ] || fail "a file still open was written over"
cmp -s -n $((MiB + 777)) "$TMPDIR_TEST/o.$((MiB + 777))" /dev/fd/3 ||
	fail "the reader of the old version saw other bytes"
exec 3<&-
check_o $((3 * MiB + 5))
[ "$(pooled)" = 1 ] || fail "the fourth version was not pooled"

# killed with a file pooled: the next server's updater removes it, then
# its own pool goes once idle
kill -9 "$OBJ_PID"
wait "$OBJ_PID" 2>/dev/null || true
OBJ_UPDATER_INTERVAL=1 start_objectd
for i in $(seq 100); do
	[ "$(pooled)" = 0 ] && break
	sleep 0.2
done
[ "$(pooled)" = 0 ] || fail "a dead server's pooled file stayed"
put o $((2 * MiB))
put o $((MiB))
for i in $(seq 100); do
	grep -q "released [12] pooled files of $D/d1: idle" \
		"$TMPDIR_TEST/objectd.log" && break
	sleep 0.2
done
grep -q "released [12] pooled files of $D/d1: idle" "$TMPDIR_TEST/objectd.log" ||
	fail "the pool was not released once idle"
[ "$(pooled)" = 0 ] || fail "files left in the pool: $(ls "$D/d1/recycle")"
check_o $MiB
stop_objectd
echo "117-objectd-large-put-reuse: ok"
