#!/bin/bash
# tests/integration/108-objectd-put-dir-fsync.sh: what a kumo-objectd PUT
# makes durable before its 201, seen through strace: the file's
# filesystem is synced (syncfs, then an fsync for the disk's cache:
# objectd/syncgroup.c) before the file gets its name; after the rename,
# which comes after every mkdir of the PUT, the filesystem is synced
# again (the new file's entry and the directories made for it, all in
# one sync), and only then is the 201 sent. A PUT waiting alone leads
# its own sync (a group shares one: tests/unit/objectd/test_syncgroup.c).
# No directory is fsynced one by one. A PUT that made its hash dir does
# not list it again to clean up; one into an existing hash dir does (and
# removes the older file). The body's fallocate claims room
# for the metadata and footer that follow it (the whole file), not for
# the body alone.
. "$(dirname "$0")/../lib/functions.sh"
requires curl strace kumo-objectd

. "$(dirname "$0")/../lib/objectd.sh"

start_objectd
D=$TMPDIR_TEST/srv
TRACE=$TMPDIR_TEST/trace
strace_attach "$OBJ_PID" "$TRACE" -y \
	-e trace=mkdir,rename,fsync,syncfs,fallocate,getdents64,sendto,sendmsg

# put TS NAME: a 4 KiB PUT of /d1/9/a/c/NAME that must answer 201
put() {
	head -c 4096 /dev/urandom >"$TMPDIR_TEST/body"
	expect_status 201 PUT "/d1/9/a/c/$2" -H "X-Timestamp: $1" \
		-H "Content-Type: application/x-test" \
		-H "X-Object-Meta-Color: blue" \
		--data-binary @"$TMPDIR_TEST/body"
}
TS1=$(now_ts)
put "$TS1" o
TS2=$(now_ts 1)
put "$TS2" o
kill "$STRACE_PID"
wait "$STRACE_PID" 2>/dev/null || true

h=$(printf '/a/c/okumotest' | md5sum | cut -d' ' -f1)
HD=$D/d1/objects/9/${h: -3}/$h
[ -f "$HD/$TS2.data" ] || fail "no $HD/$TS2.data: $(find "$D/d1")"

# check_put TS: the calls of the PUT that made TS.data, in order, by the
# thread that renamed it: from its fallocate (its first call) to its
# first send after the rename (the 201), into put.TS
check_put() {
	local ts=$1 tid
	tid=$(awk -v f="$HD/$ts.data" 'index($0, "rename(") &&
		index($0, f) { print $1; exit }' "$TRACE")
	[ -n "$tid" ] || fail "no rename to $ts.data in the trace:
$(cat "$TRACE")"
	awk -v t="$tid" '$1 == t' "$TRACE" |
		awk -v f="$HD/$ts.data" '
			/fallocate\(/ { n = 0 } { l[++n] = $0 }
			index($0, "rename(") && index($0, f) { done = 1 }
			done && /send(to|msg)\(/ { exit }
			END { for (i = 1; i <= n; i++) print l[i] }' \
			>"$TMPDIR_TEST/put.$ts"
	[ -s "$TMPDIR_TEST/put.$ts" ] || fail "no calls for $ts"
}
# synced AFTER TS: the PUT of TS synced its file's filesystem (syncfs,
# then fsync of the same fd) after the rename (AFTER=1) or before it (0)
synced() {
	awk -v a="$1" 'index($0, "rename(") { r = 1; next }
		r == a && /syncfs\(/ { s = 1; next }
		r == a && s && /fsync\(/ { ok = 1 }
		END { exit !ok }' "$TMPDIR_TEST/put.$2"
}
# check_order TS: the file synced before its rename, synced again after
# it, the 201 last, every mkdir before the rename, no directory synced
check_order() {
	local p=$TMPDIR_TEST/put.$1
	synced 0 "$1" || fail "file not synced before its rename: $(cat "$p")"
	synced 1 "$1" || fail "no sync after the rename: $(cat "$p")"
	tail -n 1 "$p" | grep -Eq 'send(to|msg)\(' ||
		fail "no reply after the sync: $(cat "$p")"
	awk 'index($0, "rename(") { r = 1 } r && /mkdir\(/ { bad = 1 }
		END { exit bad }' "$p" || fail "a mkdir after the rename: $(cat "$p")"
	awk '/sync(fs)?\(/ && !/\/tmp\/tmp/ && !/\.data>/ { bad = 1 }
		END { exit bad }' "$p" || fail "a directory synced: $(cat "$p")"
}

check_put "$TS1"
check_order "$TS1"
grep -q 'mkdir(.*= 0$' "$TMPDIR_TEST/put.$TS1" ||
	fail "the first PUT made no directory: $(cat "$TMPDIR_TEST/put.$TS1")"
# listed after the rename: N getdents64 calls of PUT TS
listed() {
	awk 'index($0, "rename(") { r = 1 } r && /getdents64\(/' \
		"$TMPDIR_TEST/put.$1" | wc -l
}
[ "$(listed "$TS1")" = 0 ] ||
	fail "the new hash dir listed again: $(cat "$TMPDIR_TEST/put.$TS1")"
# the second PUT finds its dirs and syncs the same way
check_put "$TS2"
check_order "$TS2"
grep -q 'mkdir(.*= 0$' "$TMPDIR_TEST/put.$TS2" &&
	fail "the second PUT made a directory: $(cat "$TMPDIR_TEST/put.$TS2")"
[ "$(listed "$TS2")" -gt 0 ] ||
	fail "no cleanup after the second PUT: $(cat "$TMPDIR_TEST/put.$TS2")"
[ -e "$HD/$TS1.data" ] && fail "$TS1.data left beside $TS2.data"

# the fallocate claimed the whole file: body, metadata and footer
claimed=$(sed -n 's/.*fallocate([^,]*, FALLOC_FL_KEEP_SIZE, 0, \([0-9]*\)).*/\1/p' \
	"$TMPDIR_TEST/put.$TS2" | head -1)
size=$(stat -c %s "$HD/$TS2.data")
[ -n "$claimed" ] || fail "no fallocate: $(cat "$TMPDIR_TEST/put.$TS2")"
[ "$claimed" -ge "$size" ] ||
	fail "fallocate claimed $claimed bytes for a $size-byte file"
echo "ok: synced before and after the rename, then 201; fallocate $claimed >= $size"
stop_objectd
