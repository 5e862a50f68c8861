#!/bin/bash
# tests/integration/118-objectd-reuse-pool-space.sh: the pool of obsolete
# large .data files kept for reuse (recycle.c) never makes a device look
# full: d1 is a 24 MiB tmpfs (root) holding one pooled 4 MiB file; a PUT
# whose claim of room (fallocate) fits only with that file's space still
# answers 201 and the pool is released; with less than a tenth of the
# device free, an overwritten large .data is unlinked, not pooled.
. "$(dirname "$0")/../lib/functions.sh"
requires curl md5sum mount umount mountpoint kumo-objectd
[ "$(id -u)" = 0 ] || fail "needs root (mount -t tmpfs)"

. "$(dirname "$0")/../lib/objectd.sh"

D=$TMPDIR_TEST/srv
mkdir -p "$D/d1"
mount -t tmpfs -o size=24m kumo-pool "$D/d1" || fail "cannot mount a tmpfs"
_umount_d1() {
	if mountpoint -q "$D/d1"; then
		umount "$D/d1" 2>/dev/null || umount -l "$D/d1"
	fi
}
cleanup_fn _umount_d1
OBJ_UPDATER_INTERVAL=3600 start_objectd
MiB=1048576

put() {
	local name=$1 size=$2
	head -c "$size" /dev/urandom >"$TMPDIR_TEST/$name"
	expect_status 201 PUT "/d1/9/a/c/$1" -H "X-Timestamp: $(now_ts)" \
		-H "Content-Type: application/x-test" \
		--data-binary @"$TMPDIR_TEST/$name"
}
pooled() { ls "$D/d1/recycle" 2>/dev/null | wc -l; }
free_kib() { df -k --output=avail "$D/d1" | tail -1; }

put o $((4 * MiB))
put o $((4 * MiB))
[ "$(pooled)" = 1 ] || fail "the first .data was not pooled"
# leave 3 MiB free: a 6 MiB body fits only once the pool gives its 4 MiB
avail=$(free_kib)
dd if=/dev/zero of="$D/d1/filler" bs=1k count=$((avail - 3072)) \
	status=none 2>/dev/null || true
put p $((6 * MiB))
[ "$(pooled)" = 0 ] || fail "the pool kept its file on a full device"
curl -s -o "$TMPDIR_TEST/got" "$OBJ_URL/d1/9/a/c/p"
cmp -s "$TMPDIR_TEST/p" "$TMPDIR_TEST/got" || fail "GET p"
# under a tenth free: an overwritten large .data goes, not into the pool
[ "$(free_kib)" -lt 2458 ] || fail "d1 has $(free_kib) KiB free"
put o 1000
[ "$(pooled)" = 0 ] || fail "a file was pooled on a device almost full"
stop_objectd
echo "118-objectd-reuse-pool-space: ok"
