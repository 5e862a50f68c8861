#!/bin/bash
# 515-volume-nbd-snapshot-clone: snapshots and clones seen by a real NBD
# client (qemu-io). A running VM's view: one qemu-io connection writes
# pattern A (its last write acknowledged but not flushed: the snapshot
# must flush it), a snapshot is forced while that connection stays open
# (the disk open in volumed), then the same connection overwrites
# parts of A with pattern B (inside a chunk, so copy-on-write of a partly
# rewritten 4 MiB chunk is tested). After detaching, a volume made from
# the snapshot (the clone) reads A and zeros elsewhere, the volume reads B
# over A; C written into the clone shows in the clone only, and a second
# volume from the same snapshot still reads A. nbdinfo --map of a fresh
# clone shows the shared chunks as data and everything else as holes.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/nbd.sh"
requires curl qemu-io nbdinfo timeout

start_cluster
vol=$(vol_create 1)
uri=$(vol_attach "$vol")

# check URI CMD...: run qemu-io commands on URI in one connection; fail on
# an error or a pattern mismatch, or unless every command's line shows.
check() {
	local u=$1 args=() c
	shift
	for c in "$@"; do args+=(-c "$c"); done
	timeout 60 qemu-io -f raw "${args[@]}" "$u" >"$TMPDIR_TEST/qio" 2>&1 ||
		{ cat "$TMPDIR_TEST/qio" >&2; fail "qemu-io exited non-zero: $*"; }
	if grep -qiE "fail|error" "$TMPDIR_TEST/qio" ||
		[ "$(grep -cE '^(read|wrote) ' "$TMPDIR_TEST/qio")" != "$(printf '%s\n' "$@" | grep -cE '^(read|write)')" ]; then
		cat "$TMPDIR_TEST/qio" >&2
		fail "qemu-io on $u: $*"
	fi
}

# The layout (4 MiB chunks): A over 3M..9M (chunks 0-2, partly) and
# 600M..601M (chunk 150); B over 5M..7M and 600M..600.5M.
A=("write -P 0xaa 3M 6M" "write -P 0xa2 600M 1M")
B=("write -P 0xbb 5M 2M" "write -P 0xb2 600M 512k")
readA=("read -P 0 0 3M" "read -P 0xaa 3M 6M" "read -P 0 9M 3M"
	"read -P 0xa2 600M 1M" "read -P 0 601M 3M" "read -P 0 100M 4M")
readB=("read -P 0 0 3M" "read -P 0xaa 3M 2M" "read -P 0xbb 5M 2M"
	"read -P 0xaa 7M 2M" "read -P 0 9M 3M" "read -P 0xb2 600M 512k"
	"read -P 0xa2 614912k 512k" "read -P 0 601M 3M")

# one connection for A, the snapshot, and B: qemu-io reads its commands
# from a fifo, so the NBD connection stays open in between. It takes one
# line at a time and prompts again once the command is done.
mkfifo "$TMPDIR_TEST/cmds"
timeout 60 qemu-io -f raw "$uri" <"$TMPDIR_TEST/cmds" >"$TMPDIR_TEST/held" 2>&1 &
held=$!
exec 7>"$TMPDIR_TEST/cmds"
sent=0
# send CMD: run CMD on the held connection and wait until it is done
send() {
	local i
	echo "$1" >&7
	sent=$((sent + 1))
	for i in $(seq 1 300); do
		[ "$(grep -o 'qemu-io>' "$TMPDIR_TEST/held" | wc -l)" -gt "$sent" ] &&
			return 0
		kill -0 "$held" 2>/dev/null || break
		sleep 0.1
	done
	cat "$TMPDIR_TEST/held" >&2
	fail "the held qemu-io connection did not finish '$1'"
}
send "${A[0]}"
send flush
# the second write is not flushed: a snapshot flushes the open disk first
send "${A[1]}"

st=$(vol_api POST /snapshots "{\"snapshot\": {\"volume_id\": \"$vol\", \"force\": true}}" |
	_json 'j["snapshot"]["status"] + " " + j["snapshot"]["id"]') ||
	fail "forced snapshot of the in-use volume"
[ "${st%% *}" = available ] || fail "snapshot status ${st%% *}"
snap=${st#* }

for c in "${B[@]}" flush "read -P 0xbb 6M 4k"; do send "$c"; done
echo quit >&7
exec 7>&-
wait "$held" || { cat "$TMPDIR_TEST/held" >&2; fail "held qemu-io failed"; }
if grep -qiE "fail|error" "$TMPDIR_TEST/held" ||
	[ "$(grep -cE '(read|wrote) [0-9]+/' "$TMPDIR_TEST/held")" != 5 ]; then
	cat "$TMPDIR_TEST/held" >&2
	fail "held qemu-io connection: an error"
fi
vol_detach "$vol"

# the clone: A (old data); the volume: B over A (new data)
clone=$(vol_api POST /volumes "{\"volume\": {\"snapshot_id\": \"$snap\"}}" |
	_json 'j["volume"]["id"]') || fail "volume from the snapshot"
curi=$(vol_attach "$clone")
uri=$(vol_attach "$vol")
check "$curi" "${readA[@]}"
check "$uri" "${readB[@]}"

# the clone diverges: C in it, not in the volume nor in the snapshot
check "$curi" "write -P 0xcc 4M 1M" "write -P 0xc2 614656k 4k" flush
check "$curi" "read -P 0 0 3M" "read -P 0xaa 3M 1M" "read -P 0xcc 4M 1M" \
	"read -P 0xaa 5M 4M" "read -P 0xa2 600M 256k" "read -P 0xc2 614656k 4k" \
	"read -P 0xa2 614660k 764k" "read -P 0 100M 4M"
check "$uri" "${readB[@]}"
clone2=$(vol_api POST /volumes "{\"volume\": {\"snapshot_id\": \"$snap\"}}" |
	_json 'j["volume"]["id"]') || fail "second volume from the snapshot"
c2uri=$(vol_attach "$clone2")
check "$c2uri" "${readA[@]}"

# the map of the fresh clone: data exactly on chunks 0-2 and 150 (shared
# with the snapshot), holes elsewhere
timeout 30 nbdinfo --map "$c2uri" >"$TMPDIR_TEST/map" || fail "nbdinfo --map"
$PYTHON - "$TMPDIR_TEST/map" <<'PY' || { cat "$TMPDIR_TEST/map" >&2; fail "clone map"; }
import sys
M = 1 << 20
data = []
end = 0
for line in open(sys.argv[1]):
    off, length, _typ, desc = line.split(None, 3)
    off, length = int(off), int(length)
    assert off == end, "map not contiguous at %d" % off
    end = off + length
    if "hole" not in desc:
        data.append((off, off + length))
assert end == 1024 * M, "map ends at %d" % end
want = [(0, 12 * M), (600 * M, 604 * M)]
cover = lambda lo, hi: any(a <= lo and hi <= b for a, b in data)
for lo, hi in [(3 * M, 9 * M), (600 * M, 601 * M)]:
    assert cover(lo, hi), "written range %d-%d not data" % (lo, hi)
for a, b in data:
    assert any(lo <= a and b <= hi for lo, hi in want), \
        "%d-%d shown as data" % (a, b)
PY
for v in "$clone" "$clone2" "$vol"; do vol_detach "$v"; done
echo ok
