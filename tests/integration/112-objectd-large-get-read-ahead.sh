#!/bin/bash
# tests/integration/112-objectd-large-get-read-ahead.sh: a GET of a body
# of 1 MiB or more reads ahead (objectd/dioread.c): its O_DIRECT 1 MiB
# blocks go through io_uring, the next ones submitted while one is sent,
# so strace sees an io_uring_enter that submits two reads or more at
# once and no synchronous 1 MiB pread64; a whole GET's MD5 is taken on a
# thread of the reader's own (objd-gethash), which reads and hashes the
# blocks while the connection's thread sends, and a range has no such
# thread. What comes back is unchanged:
# the whole body with its ETag, a range in the last partial block, and
# ranges asked for backwards (the reader goes back to a block it left);
# a range stops the read-ahead at its end; a byte flipped on disk still
# cuts the whole GET short and quarantines the object.
. "$(dirname "$0")/../lib/functions.sh"
requires curl md5sum strace kumo-objectd

. "$(dirname "$0")/../lib/objectd.sh"

start_objectd
D=$TMPDIR_TEST/srv
MiB=1048576
SIZE=$((5 * MiB + 4321))
URL=$OBJ_URL/d1/9/a/c/big

head -c "$SIZE" /dev/urandom >"$TMPDIR_TEST/big"
expect_status 201 PUT /d1/9/a/c/big -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: application/x-test" --data-binary @"$TMPDIR_TEST/big"
h=$(printf '/a/c/bigkumotest' | md5sum | cut -d' ' -f1)
data=$(ls "$D/d1/objects/9/${h: -3}/$h/"*.data)

# trace START: strace every thread of kumo-objectd into $TMPDIR_TEST/st,
# back once it is attached to all of them
trace() {
	local t i
	strace -f -qq -e trace=pread64,io_uring_enter,prctl -o "$TMPDIR_TEST/st" \
		-p "$OBJ_PID" 2>/dev/null &
	STRACE_PID=$!
	cleanup_fn "kill $STRACE_PID 2>/dev/null"
	for i in $(seq 100); do
		t=$(awk '/^TracerPid/ {print $2}' /proc/"$OBJ_PID"/task/*/status |
			sort -u)
		[ "$t" = "$STRACE_PID" ] && return 0
		sleep 0.1
	done
	fail "strace did not attach"
}
untrace() {
	kill "$STRACE_PID"
	wait "$STRACE_PID" 2>/dev/null || true
}
# ranged RANGE FROM TO: the bytes FROM..TO of big are the reply to RANGE,
# or its part whose Content-Range says so (its bytes follow that header
# and the blank line)
ranged() {
	local n=$(($3 - $2 + 1)) hdr="Content-Range: bytes $2-$3/$SIZE" at
	cmp -s <(tail -c +$(($2 + 1)) "$TMPDIR_TEST/big" | head -c $n) \
		<(head -c $n "$TMPDIR_TEST/part") && return 0
	at=$(LC_ALL=C grep -a -b -o -F "$hdr" "$TMPDIR_TEST/part" | head -n 1 |
		cut -d: -f1)
	[ -n "$at" ] || fail "range $1: no part $2-$3"
	cmp -s <(tail -c +$(($2 + 1)) "$TMPDIR_TEST/big" | head -c $n) \
		<(tail -c +$((at + ${#hdr} + 5)) "$TMPDIR_TEST/part" | head -c $n) ||
		fail "range $1: part $2-$3"
}

trace
etag=$(curl -s -D - -o "$TMPDIR_TEST/got" "$URL" | tr -d '\r' |
	awk -F': ' 'tolower($1) == "etag" {gsub(/"/, "", $2); print $2}')
untrace
cmp -s "$TMPDIR_TEST/big" "$TMPDIR_TEST/got" || fail "the body differs"
[ "$etag" = "$(md5sum <"$TMPDIR_TEST/big" | cut -d' ' -f1)" ] ||
	fail "ETag $etag"
grep -q -E 'io_uring_enter\([0-9]+, ([2-9]|[1-9][0-9]+),' "$TMPDIR_TEST/st" ||
	fail "no reads submitted ahead: $(head -c 2000 "$TMPDIR_TEST/st")"
grep -q -E 'pread64\(.*, 1048576, ' "$TMPDIR_TEST/st" &&
	fail "1 MiB blocks read by pread64: $(grep -m 3 pread64 "$TMPDIR_TEST/st")"
grep -q 'PR_SET_NAME, "objd-gethash"' "$TMPDIR_TEST/st" ||
	fail "the whole GET was not hashed on a thread of its own"

# a range inside one block reads that block only: nothing ahead
trace
curl -s -H "Range: bytes=$((2 * MiB + 5))-$((2 * MiB + 99))" \
	-o "$TMPDIR_TEST/part" "$URL"
untrace
ranged one $((2 * MiB + 5)) $((2 * MiB + 99))
grep -q -E 'io_uring_enter\([0-9]+, ([2-9]|[1-9][0-9]+),' "$TMPDIR_TEST/st" &&
	fail "read ahead past a range's end: $(grep io_uring_enter "$TMPDIR_TEST/st")"
grep -q 'objd-gethash' "$TMPDIR_TEST/st" && fail "a range started a hashing thread"

# the last partial block; ranges backwards, across a block's end
r=$((5 * MiB + 100))-$((SIZE - 1))
curl -s -H "Range: bytes=$r" -o "$TMPDIR_TEST/part" "$URL"
ranged "$r" $((5 * MiB + 100)) $((SIZE - 1))
r=$((4 * MiB - 10))-$((4 * MiB + 10)),$((MiB - 3))-$((3 * MiB + 2)),0-9
curl -s -H "Range: bytes=$r" -o "$TMPDIR_TEST/part" "$URL"
ranged "$r" $((4 * MiB - 10)) $((4 * MiB + 10))
ranged "$r" $((MiB - 3)) $((3 * MiB + 2))
ranged "$r" 0 9

# a byte flipped in the fourth block: the GET is cut, the object quarantined
printf 'X' | dd of="$data" bs=1 seek=$((3 * MiB + 7)) conv=notrunc 2>/dev/null
curl -s -o "$TMPDIR_TEST/got" "$URL" && fail "a corrupt body was served whole"
[ "$(stat -c %s "$TMPDIR_TEST/got")" -lt "$SIZE" ] || fail "corrupt body whole"
[ -d "$D/d1/quarantined/objects/$h" ] || fail "not quarantined"
stop_objectd
echo "112-objectd-large-get-read-ahead: ok"
