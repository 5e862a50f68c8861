#!/bin/bash
# tests/integration/114-objectd-head-syscalls.sh: what a GET or HEAD of an
# object that exists asks of the kernel, seen through strace: no stat of
# the device folder (df_locate_read: looked at only when the hash dir is
# missing), the .data opened relative to the hash dir (openat of its name,
# not a walk of the whole path), a HEAD reads the metadata at the end of a
# small .data but not its body (from the start of the page the metadata
# is on: a large body's last page, written with O_DIRECT, is not in the
# page cache), and on ext4 the listing takes one
# getdents64 (no empty one to find the end). Neither sets the access
# time of the .data or its hash dir (O_NOATIME: under relatime the first
# read after the PUT would dirty the inode). The answers stay the same:
# the HEAD's length and metadata, the GET's body.
. "$(dirname "$0")/../lib/functions.sh"
requires curl strace md5sum kumo-objectd

. "$(dirname "$0")/../lib/objectd.sh"

start_objectd
D=$TMPDIR_TEST/srv
TRACE=$TMPDIR_TEST/trace

head -c 4096 /dev/urandom >"$TMPDIR_TEST/small"
expect_status 201 PUT /d1/9/a/c/small -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: application/x-test" \
	-H "X-Object-Meta-Color: blue" --data-binary @"$TMPDIR_TEST/small"
h=$(printf '/a/c/smallkumotest' | md5sum | cut -d' ' -f1)
HDIR=$D/d1/objects/9/${h: -3}/$h
DATA=$(ls "$HDIR/"*.data)
SIZE=$(stat -c %s "$DATA")
[ "$SIZE" -gt 4096 ] || fail "the .data is $SIZE bytes, expected more than 4096"
ATIMES=$(stat -c '%n %x' "$DATA" "$HDIR")

strace_attach "$OBJ_PID" "$TRACE" -y \
	-e trace=stat,newfstatat,statx,open,openat,getdents64,pread64
hdrs=$(curl -s -I "$OBJ_URL/d1/9/a/c/small" | tr -d '\r')
curl -s -o "$TMPDIR_TEST/got" "$OBJ_URL/d1/9/a/c/small" || fail "GET small"
kill "$STRACE_PID"
wait "$STRACE_PID" 2>/dev/null || true

echo "$hdrs" | grep -qi '^Content-Length: 4096$' || fail "HEAD: $hdrs"
echo "$hdrs" | grep -qi '^X-Object-Meta-Color: blue$' ||
	fail "HEAD, metadata: $hdrs"
cmp -s "$TMPDIR_TEST/small" "$TMPDIR_TEST/got" || fail "GET: the body differs"

grep -E "(stat|statx|fstatat)\(AT_FDCWD[^,]*, \"$D/d1\"" "$TRACE" &&
	fail "the device folder was looked at:
$(cat "$TRACE")"
n=$(grep -c "openat([0-9]*<$HDIR>, \"${DATA##*/}\"" "$TRACE" || true)
[ "$n" = 2 ] || fail "$n opens of the .data relative to its hash dir, expected 2:
$(cat "$TRACE")"
grep -q "openat(AT_FDCWD[^,]*, \"$DATA\"" "$TRACE" &&
	fail "the .data was opened by its whole path:
$(cat "$TRACE")"
# the HEAD's read: from the start of the last page (the 4096-byte body
# ends there) to the end, the metadata and footer alone; the GET's: the
# whole file from 0
T=$((SIZE % 4096))
grep -q "pread64([0-9]*<$DATA>, .*, $T, $((SIZE - T))) = $T" \
	"$TRACE" || fail "HEAD: no read of the .data's tail alone:
$(cat "$TRACE")"
n=$(grep -c "pread64([0-9]*<$DATA>, .*, $SIZE, 0) = $SIZE" "$TRACE" || true)
[ "$n" = 1 ] || fail "$n whole reads of the .data, expected 1 (the GET):
$(cat "$TRACE")"
if [ "$(stat -f -c %T "$HDIR")" = ext2/ext3 ]; then
	n=$(grep -c "getdents64([0-9]*<$HDIR>" "$TRACE" || true)
	[ "$n" = 2 ] || fail "$n getdents64 of the hash dir, expected 2 (ext4):
$(cat "$TRACE")"
fi

[ "$(stat -c '%n %x' "$DATA" "$HDIR")" = "$ATIMES" ] ||
	fail "access times changed: $ATIMES
now: $(stat -c '%n %x' "$DATA" "$HDIR")"

# a missing device is still 507 for both, a missing object 404
expect_status 507 HEAD /nodev/9/a/c/small
expect_status 507 GET /nodev/9/a/c/small
expect_status 404 HEAD /d1/9/a/c/other
stop_objectd
echo "114-objectd-head-syscalls: ok"
