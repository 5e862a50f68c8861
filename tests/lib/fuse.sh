# tests/lib/fuse.sh: kumo-mount helpers for the FUSE tests (6xx) and
# bench/fuse.sh. Source after functions.sh and cluster.sh, and call
# start_cluster first (AUTH_URL names the cluster).
#   fuse_mkfs FS                   kumo-mount --mkfs FS
#   fuse_mount FS MNT [OPTS]       mount in the foreground (background job),
#                                  wait until MNT is a FUSE mount; sets
#                                  FUSE_PID (kumo-mount's pid) and logs to
#                                  $TMPDIR_TEST/mount.<basename MNT>.err
#   fuse_try_mount FS MNT [OPTS]   the same but returns 1 when the mount
#                                  does not come up (the process exited)
#   fuse_umount MNT                fusermount3 -u, wait for the process
#   fuse_kill9 MNT                 SIGKILL the daemon of MNT, clear the dead
#                                  mount (fusermount3 -u -z)
#   fuse_is_mounted MNT            MNT is in /proc/self/mounts as fuse
# Every mount uses -o auto_unmount and is unmounted at exit. The mount
# process's stderr may hold libfuse's "Ignoring invalid max threads" line.
# FUSE_CHUNK: the chunk size kumo-mount --mkfs gives a filesystem (bytes).

requires kumo-mount fusermount3 mountpoint

FUSE_CHUNK=$((4 << 20))

declare -A _fuse_pid

fuse_opts_base() {
	echo "auth_url=$AUTH_URL,user=test:tester,key=testing,auto_unmount"
}

fuse_is_mounted() {
	awk -v m="$(realpath -m "$1")" '$2 == m && $3 ~ /^fuse/ { f = 1 }
		END { exit !f }' /proc/self/mounts
}

fuse_mkfs() {
	timeout 60 kumo-mount --mkfs -o "$(fuse_opts_base)" "$1" \
		>"$TMPDIR_TEST/mkfs.out" 2>&1 ||
		{ cat "$TMPDIR_TEST/mkfs.out" >&2; fail "kumo-mount --mkfs $1"; }
}

_fuse_stop() {
	local mnt=$1 pid=${_fuse_pid[$1]:-} i
	fuse_is_mounted "$mnt" && fusermount3 -u -z "$mnt" 2>/dev/null
	[ -n "$pid" ] || return 0
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

fuse_try_mount() {
	local fs=$1 mnt=$2 opts=$(fuse_opts_base) i err
	[ -n "${3:-}" ] && opts="$opts,$3"
	err=$TMPDIR_TEST/mount.$(basename "$mnt").err
	mkdir -p "$mnt"
	kumo-mount -f -o "$opts" "$fs" "$mnt" 2>"$err" &
	FUSE_PID=$!
	_fuse_pid[$mnt]=$FUSE_PID
	cleanup_fn _fuse_stop "$mnt"
	for i in $(seq 1 300); do
		fuse_is_mounted "$mnt" && return 0
		if ! kill -0 "$FUSE_PID" 2>/dev/null; then
			wait "$FUSE_PID" 2>/dev/null || true
			return 1
		fi
		sleep 0.1
	done
	cat "$err" >&2
	fail "kumo-mount of $fs on $mnt did not come up in 30 s"
}

fuse_mount() {
	fuse_try_mount "$@" && return 0
	cat "$TMPDIR_TEST/mount.$(basename "$2").err" >&2
	fail "kumo-mount $1 $2 ${3:-} exited without mounting"
}

fuse_umount() {
	local mnt=$1 pid=${_fuse_pid[$1]:-} i
	fusermount3 -u "$mnt" || fail "fusermount3 -u $mnt"
	[ -n "$pid" ] || return 0
	for i in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	fail "kumo-mount of $mnt still runs 30 s after fusermount3 -u"
}

fuse_kill9() {
	local mnt=$1 pid=${_fuse_pid[$1]}
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	# auto_unmount's helper usually clears it; a lazy unmount makes sure
	fusermount3 -u -z "$mnt" 2>/dev/null || true
	for i in $(seq 1 50); do
		fuse_is_mounted "$mnt" || return 0
		sleep 0.1
	done
	fail "$mnt is still mounted after kill -9 and fusermount3 -u -z"
}

# fuse_mount_retry FS MNT OPTS SECS: mount, retrying while the attempt
# fails (a lease not yet expired), for up to SECS seconds.
fuse_mount_retry() {
	local end=$(($(date +%s) + $4))
	while ! fuse_try_mount "$1" "$2" "$3"; do
		[ "$(date +%s)" -lt "$end" ] || {
			cat "$TMPDIR_TEST/mount.$(basename "$2").err" >&2
			fail "kumo-mount $1 $2 still refused after $4 s"
		}
		sleep 1
	done
}
