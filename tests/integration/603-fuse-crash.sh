#!/bin/bash
# 603-fuse-crash: kill -9 of kumo-mount in the middle of writes. A writer
# (tests/lib/fuse_crash.py) runs numbered steps on the mount (random
# pwrites then fsync into three files; write, fsync, rename over "cur" and
# fsync of the directory; mkdir and fsync of its parent) and journals each
# step on the local disk once it is durable. The mount process gets
# SIGKILL at a random moment (0-2 s after 8 steps are durable), the dead mount is cleared (fusermount3 -u -z),
# the filesystem is mounted again (once the short lease has expired), and
# every journaled step is there: every fsynced byte, a whole generation of
# "cur" (never a half-renamed or half-written one), every fsynced mkdir,
# and a tree whose every name can be looked up and read. Two rounds; the
# second also crashes on the tree the first left. Then every file is
# removed and no chunk object is left in the cluster (the remounts swept
# those the killed mount had PUT for commits that never came, and one the
# test adds after each kill).
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/fuse.sh"
requires swift

start_cluster
fuse_mkfs fs603
mnt=$TMPDIR_TEST/mnt
lease=5
seed=${SEED:-$($PYTHON -c 'import random; print(random.randrange(2**32))')}
echo "seed $seed"

round() {
	local r=$1 s=$(($2 + $1)) wpid delay i
	fuse_mount_retry fs603 "$mnt" "lease_seconds=$lease" $((lease + 20))
	mkdir -p "$mnt/r$r"
	$PYTHON "$TESTS_DIR/lib/fuse_crash.py" write "$mnt/r$r" \
		"$TMPDIR_TEST/journal.$r" --seed "$s" --seconds 40 \
		>"$TMPDIR_TEST/writer.$r" 2>&1 &
	wpid=$!
	# kill at a random moment once 8 steps are durable
	for i in $(seq 1 400); do
		[ -s "$TMPDIR_TEST/journal.$r" ] &&
			[ "$(wc -l <"$TMPDIR_TEST/journal.$r")" -ge 8 ] && break
		kill -0 "$wpid" 2>/dev/null || { cat "$TMPDIR_TEST/writer.$r"; fail "the writer ended before the kill"; }
		sleep 0.1
	done
	[ "$i" -lt 400 ] || fail "fewer than 8 fsynced steps in 40 s"
	delay=$($PYTHON -c "import random; random.seed($s); print(round(random.uniform(0, 2), 2))")
	sleep "$delay"
	kill -0 "$wpid" 2>/dev/null || { cat "$TMPDIR_TEST/writer.$r"; fail "the writer ended before the kill"; }
	fuse_kill9 "$mnt"
	# a chunk of an inode no commit names, as the killed mount leaves
	# one it PUT for a commit that never came: the next mount sweeps it
	echo orphan | $SWIFT upload fs603 --object-name \
		"d/00000000fffffff$r/00000000" - >/dev/null ||
		fail "upload of an orphan chunk"
	timeout 30 tail --pid="$wpid" -f /dev/null ||
		fail "the writer hangs on the killed mount"
	wait "$wpid" || true
	cat "$TMPDIR_TEST/writer.$r"
	fuse_mount_retry fs603 "$mnt" "lease_seconds=$lease" $((lease + 20))
	# every earlier round is still whole too
	for i in $(seq 1 "$r"); do
		timeout 60 $PYTHON "$TESTS_DIR/lib/fuse_crash.py" check "$mnt/r$i" \
			"$TMPDIR_TEST/journal.$i" --seed $(($2 + i)) ||
			fail "after kill -9 in round $r, round $i's fsynced state is not all there (seed $seed)"
	done
	fuse_umount "$mnt"
}
round 1 "$seed"
round 2 "$seed"
# no chunk left to nobody: the mounts after the kills swept the chunks no
# inode names (PUT before a commit that never came); with every file
# removed and a clean unmount, no chunk object is left at all
fuse_mount fs603 "$mnt" "lease_seconds=$lease"
rm -rf "$mnt"/r* || fail "rm -rf of the rounds' trees"
fuse_umount "$mnt"
left=$($SWIFT list fs603 --prefix d/) || fail "swift list fs603"
[ -z "$left" ] || fail "chunk objects left after every file was removed: $(echo "$left" | head -5 | tr '\n' ' ')($(echo "$left" | wc -l) in all, seed $seed)"
echo "603-fuse-crash: ok (seed $seed)"
