#!/bin/bash
# tests/integration/108-objectd-put-dir-fsync.sh: what a kumo-objectd PUT
# makes durable before its 201, seen through strace: the file is fsynced
# before it gets its name; the hash dir it is renamed into, and the
# parent of every directory the PUT made, are fsynced after the rename
# (Swift's renamer order: the new entries synced together once the file
# is in place); a PUT into an existing hash dir fsyncs that dir only. The
# body's fallocate claims room for the metadata and footer that follow
# it (the whole file), not for the body alone.
. "$(dirname "$0")/../lib/functions.sh"
requires curl strace kumo-objectd

. "$(dirname "$0")/../lib/objectd.sh"

start_objectd
D=$TMPDIR_TEST/srv
TRACE=$TMPDIR_TEST/trace
strace_attach "$OBJ_PID" "$TRACE" -y -e trace=mkdir,rename,fsync,fallocate

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
# thread that renamed it
check_put() {
	local ts=$1 tid
	tid=$(awk -v f="$HD/$ts.data" 'index($0, "rename(") &&
		index($0, f) { print $1; exit }' "$TRACE")
	[ -n "$tid" ] || fail "no rename to $ts.data in the trace:
$(cat "$TRACE")"
	# from this PUT's fallocate (its first call) to its last fsync
	awk -v t="$tid" -v f="$ts.data" '$1 == t' "$TRACE" |
		awk -v f="$HD/$ts.data" '
			/fallocate\(/ { n = 0 } { l[++n] = $0 }
			index($0, "rename(") && index($0, f) { done = 1 }
			done && !/fsync\(/ && !index($0, "rename(") { exit }
			END { for (i = 1; i <= n; i++) print l[i] }' \
			>"$TMPDIR_TEST/put.$ts"
	[ -s "$TMPDIR_TEST/put.$ts" ] || fail "no calls for $ts"
}
# fsynced_after_rename DIR TS: DIR is fsynced after TS.data's rename
fsynced_after_rename() {
	awk -v d="<$1>" 'index($0, "rename(") { r = 1 }
		r && /fsync\(/ && index($0, d ")") { ok = 1 }
		END { exit !ok }' "$TMPDIR_TEST/put.$2"
}

check_put "$TS1"
# the file is fsynced (under its temp name) before the rename
awk '/fsync\(/ && /\/tmp\/tmp/ { f = 1 } index($0, "rename(") { exit !f }' \
	"$TMPDIR_TEST/put.$TS1" || fail "file not fsynced before its rename:
$(cat "$TMPDIR_TEST/put.$TS1")"
# every directory this PUT made: its parent fsynced after the rename
grep -q 'mkdir(.*= 0$' "$TMPDIR_TEST/put.$TS1" ||
	fail "the first PUT made no directory: $(cat "$TMPDIR_TEST/put.$TS1")"
fsynced_after_rename "$HD" "$TS1" || fail "hash dir not fsynced after \
the rename: $(cat "$TMPDIR_TEST/put.$TS1")"
sed -n 's/^[0-9]* *mkdir("\([^"]*\)".*= 0$/\1/p' "$TMPDIR_TEST/put.$TS1" |
	while read -r made; do
		fsynced_after_rename "$(dirname "$made")" "$TS1" ||
			fail "parent of $made not fsynced after the rename:
$(cat "$TMPDIR_TEST/put.$TS1")"
	done
# no directory is fsynced between the file's fsync and the rename (the
# mkdirs wait for the rename, then sync together)
awk '/fsync\(/ && /\/tmp\/tmp/ { f = 1; next }
	index($0, "rename(") { exit }
	f && /fsync\(/ { bad = 1 } END { exit bad }' "$TMPDIR_TEST/put.$TS1" ||
	fail "a directory fsynced before the rename:
$(cat "$TMPDIR_TEST/put.$TS1")"

# the second PUT finds its dirs: it fsyncs the hash dir only
check_put "$TS2"
grep -q 'mkdir(.*= 0$' "$TMPDIR_TEST/put.$TS2" &&
	fail "the second PUT made a directory: $(cat "$TMPDIR_TEST/put.$TS2")"
fsynced_after_rename "$HD" "$TS2" || fail "hash dir not fsynced after \
the second rename: $(cat "$TMPDIR_TEST/put.$TS2")"
n=$(awk 'index($0, "rename(") { r = 1 } r && /fsync\(/' \
	"$TMPDIR_TEST/put.$TS2" | wc -l)
[ "$n" = 1 ] || fail "$n fsyncs after the second rename, expected 1"

# the fallocate claimed the whole file: body, metadata and footer
claimed=$(sed -n 's/.*fallocate([^,]*, FALLOC_FL_KEEP_SIZE, 0, \([0-9]*\)).*/\1/p' \
	"$TMPDIR_TEST/put.$TS2" | head -1)
size=$(stat -c %s "$HD/$TS2.data")
[ -n "$claimed" ] || fail "no fallocate: $(cat "$TMPDIR_TEST/put.$TS2")"
[ "$claimed" -ge "$size" ] ||
	fail "fallocate claimed $claimed bytes for a $size-byte file"
echo "ok: dirs fsynced after the rename, fallocate $claimed >= $size"
stop_objectd
