#!/bin/bash
# 512-volume-nbd-qemu-io: qemu-io writes patterns of random sizes at
# random offsets of a volume (with and without FUA, some unaligned), reads
# each back; discard and write -z read back as zeros, and discarded chunks
# show as holes in nbdinfo --map.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/nbd.sh"
requires curl qemu-io nbdinfo

start_cluster
id=$(vol_create 1)
uri=$(vol_attach "$id")

# qio CMD...: run qemu-io commands on the volume; fail on any error or
# pattern mismatch.
qio() {
	local args=() c
	for c in "$@"; do args+=(-c "$c"); done
	timeout 120 qemu-io -f raw "${args[@]}" "$uri" >"$TMPDIR_TEST/qio" 2>&1 ||
		{ cat "$TMPDIR_TEST/qio"; fail "qemu-io exited non-zero"; }
	if grep -qiE "fail|error" "$TMPDIR_TEST/qio"; then
		cat "$TMPDIR_TEST/qio"
		fail "qemu-io: $*"
	fi
}

seed=${SEED:-$RANDOM}
echo "seed $seed"
RANDOM=$seed
writes=() reads=()
# 40 disjoint 8 MiB slots in the first 960 MiB (writes cross 4 MiB chunk
# boundaries), random length and place inside each
for i in $(seq 0 39); do
	slot=$((i * 3 + RANDOM % 2))
	off=$((slot * 8388608 + (RANDOM % 4096) * 512 + (i % 3 == 0 ? 7 : 0)))
	len=$(((RANDOM % 2048 + 1) * 512 + (i % 5 == 0 ? 3 : 0)))
	fua=$([ $((i % 4)) = 0 ] && echo "-f " || true)
	writes+=("write $fua-P $((i + 1)) $off $len")
	reads+=("read -P $((i + 1)) $off $len")
done
qio "${writes[@]}" flush
qio "${reads[@]}"

# discard whole chunks and zero others: zeros, and holes in the map
qio "write -P 0x5a 1000M 16M" "discard 1000M 8M" "write -z 1008M 4M" \
	"write -z -u 1012M 4M"
qio "read -P 0 1000M 16M"
timeout 30 nbdinfo --map "$uri" >"$TMPDIR_TEST/map" || fail "nbdinfo --map"
awk '$1 <= 1048576000 && $1 + $2 >= 1056964608 && /hole/ {ok = 1}
	END {exit !ok}' "$TMPDIR_TEST/map" ||
	{ cat "$TMPDIR_TEST/map"; fail "discarded range is not a hole"; }
echo ok
