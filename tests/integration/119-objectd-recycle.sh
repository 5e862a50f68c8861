#!/bin/bash
# 119-objectd-recycle: an overwrite of a large object (1 MiB or more) keeps
# the old .data aside (objectd/recycle.c) and the next upload of about its
# size is written over its blocks instead of fresh ones, with nothing of
# the old object ever showing:
#   - the third version of an object lies in the inode of the first (kept
#     at the second's PUT), and every GET gives the newest body and ETag;
#   - a kept file two days old (its object's mtime) is not removed by the
#     updater's sweep of stale temp files (kumo-objectd --once update);
#   - a body 3000 bytes shorter written over a kept file comes back at its
#     own length (the file is cut), with its own ETag;
#   - a GET streaming an old version while the object is overwritten
#     twice gets that version's bytes whole (a file still open is not
#     kept: the overwrite after it cannot land in it);
#   - a DELETE keeps nothing: the space is given back;
#   - on a full device (d1, an 8 MiB tmpfs) the kept files give their room
#     back: a PUT that needs it answers 201, not 507;
#   - a clean stop leaves no kept file, and those of an objectd killed
#     with -9 are removed by the next one's first overwrite.
. "$(dirname "$0")/../lib/functions.sh"
requires curl md5sum mount umount mountpoint stat
. "$(dirname "$0")/../lib/objectd.sh"
[ "$(id -u)" = 0 ] || fail "needs root (mount -t tmpfs)"

D=$TMPDIR_TEST/srv
mkdir -p "$D/d1"
mount -t tmpfs -o size=8m tmpfs "$D/d1" || fail "mount tmpfs on d1"
_umount_d1() { umount "$D/d1" 2>/dev/null || umount -l "$D/d1"; }
cleanup_fn _umount_d1
start_objectd
MiB=1048576

# put DEV NAME SIZE [STATUS]: PUT SIZE random bytes (kept in $TMPDIR_TEST/
# NAME.body) as /DEV/9/a/c/NAME; STATUS (default 201) expected
put() {
	head -c "$3" /dev/urandom >"$TMPDIR_TEST/$2.body"
	expect_status "${4:-201}" PUT "/$1/9/a/c/$2" -H "X-Timestamp: $(now_ts)" \
		-H "Content-Type: application/x-test" \
		--data-binary @"$TMPDIR_TEST/$2.body"
}
# data_of DEV NAME: the path of NAME's .data
data_of() {
	local h
	h=$(printf '/a/c/%skumotest' "$2" | md5sum | cut -d' ' -f1)
	ls "$D/$1/objects/9/${h: -3}/$h/"*.data
}
# check DEV NAME [FILE]: GET gives FILE (default NAME.body) and its MD5 ETag
check() {
	local want=${3:-$TMPDIR_TEST/$2.body} etag
	etag=$(curl -s -D - -o "$TMPDIR_TEST/got" "$OBJ_URL/$1/9/a/c/$2" |
		tr -d '\r' | awk -F': ' 'tolower($1) == "etag" {gsub(/"/, "", $2); print $2}')
	cmp -s "$want" "$TMPDIR_TEST/got" ||
		fail "GET $2: not the body last written ($(stat -c %s "$TMPDIR_TEST/got") bytes)"
	[ "$etag" = "$(md5sum <"$want" | cut -d' ' -f1)" ] || fail "$2's ETag: $etag"
}
kept() { find "$D/$1/tmp" -name 'rcy-*' 2>/dev/null | wc -l; }

# --- the third version lies in the first's blocks ----------------------
put d2 obj $((4 * MiB))
ino1=$(stat -c %i "$(data_of d2 obj)")
put d2 obj $((4 * MiB))
check d2 obj
[ "$(kept d2)" = 1 ] || fail "the first version was not kept ($(kept d2) kept)"
put d2 obj $((4 * MiB))
check d2 obj
[ "$(stat -c %i "$(data_of d2 obj)")" = "$ino1" ] ||
	fail "the third version was not written over the first's file"

# --- the updater's sweep of stale temp files leaves a kept file ------------
# A kept file has its object's old mtime; the sweep (tmp_max_age, a day)
# would take it for an upload's leftover.
put d2 aged $((4 * MiB))
ino1=$(stat -c %i "$(data_of d2 aged)")
touch -d '2 days ago' "$(data_of d2 aged)"
put d2 aged $((4 * MiB))
expect_exit 0 kumo-objectd "$TMPDIR_TEST/object.conf" --once update
put d2 aged $((4 * MiB))
check d2 aged
[ "$(stat -c %i "$(data_of d2 aged)")" = "$ino1" ] ||
	fail "the updater's temp sweep removed a kept file"

# --- a shorter body over a kept file ---------------------------------------
put d2 obj $((4 * MiB - 3000))
put d2 obj $((4 * MiB - 6000))
check d2 obj
[ "$(stat -c %s "$(data_of d2 obj)")" -lt $((4 * MiB)) ] ||
	fail "the shorter body's file keeps the old length"

# --- a GET reading an old version keeps it -------------------------------
put d2 slow $((24 * MiB))
cp "$TMPDIR_TEST/slow.body" "$TMPDIR_TEST/slow.v1"
curl -s --limit-rate 4M -o "$TMPDIR_TEST/slow.got" "$OBJ_URL/d2/9/a/c/slow" &
getpid=$!
sleep 1
put d2 slow $((24 * MiB))
put d2 slow $((24 * MiB))
wait "$getpid" || fail "the slow GET failed"
cmp -s "$TMPDIR_TEST/slow.v1" "$TMPDIR_TEST/slow.got" ||
	fail "a GET of the first version got other bytes: its file was reused"
check d2 slow

# --- a DELETE keeps nothing ----------------------------------------------
n=$(kept d2)
expect_status 204 DELETE /d2/9/a/c/slow -H "X-Timestamp: $(now_ts)"
[ "$(kept d2)" = "$n" ] || fail "a DELETE kept the object's file"

# --- a full device takes the kept files' room back -------------------------
put d1 big $((3 * MiB))
put d1 big $((3 * MiB))
[ "$(kept d1)" = 1 ] || fail "d1 kept $(kept d1) files"
put d1 other $((2 * MiB + 512 * 1024))
check d1 other
[ "$(kept d1)" = 0 ] || fail "the full d1 still keeps a file"

# --- stops -------------------------------------------------------------
put d2 obj $((2 * MiB))
put d2 obj $((2 * MiB))
[ "$(kept d2)" -ge 1 ] || fail "nothing kept before the stop"
stop_objectd
[ "$(kept d2)" = 0 ] || fail "a clean stop left $(kept d2) kept files"
start_objectd
put d2 obj $((2 * MiB))
put d2 obj $((2 * MiB))
[ "$(kept d2)" -ge 1 ] || fail "nothing kept before the kill"
kill -9 "$OBJ_PID"
wait "$OBJ_PID" 2>/dev/null || true
left=$(kept d2)
start_objectd
put d2 obj2 $((2 * MiB))
put d2 obj2 $((2 * MiB)) # the device's first overwrite since the start
[ "$(kept d2)" = 1 ] || fail "the $left files a killed objectd kept stayed"
check d2 obj2
echo "119-objectd-recycle: ok"
