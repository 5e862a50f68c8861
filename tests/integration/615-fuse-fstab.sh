#!/bin/bash
# 615-fuse-fstab: kumo-mount from /etc/fstab with the fuse.kumo type, the
# way a compute host mounts /var/lib/nova/instances at boot. mount(8) runs
# mount.fuse3, which runs a program named "kumo" from the system PATH
# (installed as a link to kumo-mount, as fuse/README.md says) with the
# source, the mount point and the options; kumo-mount takes its cluster and
# credentials from conf=FILE and goes to the background once mounted.
# The fstab line lives in a file of the test's (mount -T): `mount MNT`
# mounts it (the default auth URL names no cluster here, so only conf=
# gets it up), a file written there is read back after `umount MNT` and a
# second `mount MNT`, and umount leaves no kumo-mount running. A read-only
# line (ro) beside it mounts the same filesystem and refuses writes.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/fuse.sh"
requires mount umount mount.fuse3 pgrep
[ "$(id -u)" = 0 ] || fail "needs root (mount, a link in /usr/sbin)"

link=/usr/sbin/kumo
if [ -e "$link" ] || [ -L "$link" ]; then
	[ -L "$link" ] || fail "$link exists and is not a link: not ours to use"
	old=$(readlink "$link")
	cleanup_fn ln -sfn "$old" "$link"
else
	cleanup_fn rm -f "$link"
fi
ln -sfn "$(command -v kumo-mount)" "$link" || fail "cannot link $link"

start_cluster
fuse_mkfs vmfs
mnt=$TMPDIR_TEST/instances
ro=$TMPDIR_TEST/ro
mkdir -p "$mnt" "$ro"
conf=$TMPDIR_TEST/mount.conf
cat >"$conf" <<EOF
auth_url = $AUTH_URL
user = test:tester
key = testing
EOF
fstab=$TMPDIR_TEST/fstab
cat >"$fstab" <<EOF
vmfs $mnt fuse.kumo _netdev,conf=$conf 0 0
vmfs $ro fuse.kumo _netdev,ro,conf=$conf 0 0
EOF

# the mount's kumo-mount processes (mount.fuse3 runs it as "kumo")
daemons() { pgrep -f "^kumo vmfs $1 " || true; }
_left() {
	local m
	for m in "$mnt" "$ro"; do
		fuse_is_mounted "$m" && umount -l "$m"
		pkill -f "^kumo vmfs $m " || true
	done
	return 0
}
cleanup_fn _left

fstab_mount() {
	timeout 60 mount -T "$fstab" "$1" 2>"$TMPDIR_TEST/mount.err" || {
		cat "$TMPDIR_TEST/mount.err" >&2
		fail "mount $1 from the fstab line"
	}
	fuse_is_mounted "$1" || fail "$1 is not a FUSE mount after mount"
	awk -v m="$1" '$2 == m { print $3 }' /proc/self/mounts |
		grep -qx fuse.kumo || fail "$1 is not of type fuse.kumo"
	[ -n "$(daemons "$1")" ] || fail "no kumo-mount runs for $1"
}
fstab_umount() {
	local i
	umount "$1" || fail "umount $1"
	for i in $(seq 1 300); do
		[ -z "$(daemons "$1")" ] && return 0
		sleep 0.1
	done
	fail "kumo-mount of $1 still runs 30 s after umount"
}

fstab_mount "$mnt"
head -c 3000000 /dev/urandom >"$TMPDIR_TEST/disk"
cp "$TMPDIR_TEST/disk" "$mnt/disk" || fail "write through the fstab mount"
sync "$mnt/disk" || fail "fsync"
fstab_umount "$mnt"

fstab_mount "$mnt"
cmp "$TMPDIR_TEST/disk" "$mnt/disk" || fail "the file reads back wrong"

# the read-only line beside the writer
fstab_mount "$ro"
cmp "$TMPDIR_TEST/disk" "$ro/disk" || fail "the read-only mount reads wrong"
if echo x 2>/dev/null >"$ro/new"; then
	fail "the read-only mount took a write"
fi
fstab_umount "$ro"
fstab_umount "$mnt"
echo "ok: fstab fuse.kumo mounts, remounts and unmounts"
