#!/bin/bash
# bench/fuse.sh: kumo-mount against the FUSE filesystems a user would
# otherwise pick, on one kumo-aio cluster in one run (bench/run.sh, make
# bench):
#   kumo    kumo-mount (this tree), default options
#   s3fs    Debian's s3fs over kumo's S3 API (path style, test:tester);
#           "n/a" when the S3 API does not answer
#   rclone  Debian's rclone mount over kumo's Swift API, --vfs-cache-mode
#           full (random writes need it) and --vfs-write-back 0s: it writes
#           to a local cache file, its fsync syncs only that file, and it
#           uploads the whole file after close(); each step is timed until
#           its uploads are done (rclone's remote control shows no transfer
#           running and no upload queued)
#   local   a directory on the local disk the cluster runs on: the limit
# Every step is timed to the same durable point, where a crash of the host
# loses none of the step's data: the fio steps end with fsync, qemu-img
# convert ends with fdatasync, the create and untar steps end with a sync
# of the tree (kumo: fsync of the mount's root, which commits every file;
# s3fs: none, its close uploads; local: sync -f); rclone then waits for its
# uploads as above.
# Rows, each timed by the wall clock (units in the table, higher is better):
#   seq write   1 GiB, 1 MiB writes (fio psync), ending with fsync
#   seq read    the same file after dropping the kernel's caches (the
#               daemons keep their own)
#   rand write  4 KiB writes at random offsets into that file (RANDW_MB,
#               default 32 MiB of them), ending with fsync
#   create      10,000 files of 100 bytes in one directory
#   list        readdir + stat of those 10,000 after dropping caches
#   untar       tar -x of a tarball of /usr/include
#   convert     qemu-img convert -O qcow2 of a 1 GiB raw image (half data)
# Each step is bounded (STEP_TIMEOUT, default 600 s); a step that fails or
# times out shows as such. The ratio columns: kumo as % of local, and kumo
# over each peer (>1: kumo ahead). The issue's targets: ahead of both peers
# on every row, and sequential read >= 50% of local; misses are reported,
# not failures. SIZE_MB=N shrinks the 1 GiB file and image for a quick run;
# TARGETS="kumo local" runs only those (default: all four).
. "$(dirname "$0")/../tests/lib/functions.sh"
. "$TESTS_DIR/lib/cluster.sh"
. "$TESTS_DIR/lib/fuse.sh"
. "$TESTS_DIR/lib/s3.sh"
requires fio qemu-img rclone s3fs tar swift curl

size_mb=${SIZE_MB:-1024}
randw_mb=${RANDW_MB:-32}
step_timeout=${STEP_TIMEOUT:-600}
nfiles=10000

start_cluster
declare -A dir res

# wait_mount DIR PID: until DIR is a FUSE mount (0) or PID died (1)
wait_mount() {
	local i
	for i in $(seq 1 300); do
		fuse_is_mounted "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# --- the targets
fuse_mkfs benchfs
fuse_mount benchfs "$TMPDIR_TEST/kumo"
dir[kumo]=$TMPDIR_TEST/kumo/bench
mkdir -p "${dir[kumo]}"

dir[local]=$AIO_DIR/local-bench
mkdir -p "${dir[local]}"

export RCLONE_CONFIG=$TMPDIR_TEST/rclone.conf
: >"$RCLONE_CONFIG"
export RCLONE_CONFIG_K_TYPE=swift RCLONE_CONFIG_K_USER=test:tester \
	RCLONE_CONFIG_K_KEY=testing RCLONE_CONFIG_K_AUTH=$AUTH_URL
rclone mkdir k:rclonebench 2>"$TMPDIR_TEST/rclone.err" ||
	{ cat "$TMPDIR_TEST/rclone.err"; fail "rclone mkdir"; }
mkdir -p "$TMPDIR_TEST/rclone"
RCLONE_RC=http://127.0.0.1:$(pick_unused_port)
rclone mount k:rclonebench "$TMPDIR_TEST/rclone" --vfs-cache-mode full \
	--vfs-write-back 0s --cache-dir "$TMPDIR_TEST/rclone-cache" \
	--rc --rc-no-auth --rc-addr "${RCLONE_RC#http://}" \
	2>"$TMPDIR_TEST/rclone.err" &
rpid=$!
cleanup_fn "fusermount3 -u -z $TMPDIR_TEST/rclone 2>/dev/null; kill $rpid 2>/dev/null; sleep 1"
wait_mount "$TMPDIR_TEST/rclone" "$rpid" ||
	{ cat "$TMPDIR_TEST/rclone.err"; fail "rclone mount did not come up"; }
dir[rclone]=$TMPDIR_TEST/rclone

s3fs_note=
$SWIFT post s3fsbench || fail "creating the s3fs bucket's container"
mkdir -p "$TMPDIR_TEST/s3fs"
s3_setup
AWSACCESSKEYID=test:tester AWSSECRETACCESSKEY=testing \
	s3fs s3fsbench "$TMPDIR_TEST/s3fs" -f -o url="$S3_URL" \
	-o use_path_request_style -o endpoint=us-east-1 \
	-o dbglevel=info >"$TMPDIR_TEST/s3fs.err" 2>&1 &
spid=$!
cleanup_fn "fusermount3 -u -z $TMPDIR_TEST/s3fs 2>/dev/null; kill $spid 2>/dev/null; sleep 1"
if wait_mount "$TMPDIR_TEST/s3fs" "$spid" &&
	timeout 30 sh -c "echo probe >$TMPDIR_TEST/s3fs/probe && cat $TMPDIR_TEST/s3fs/probe" >/dev/null 2>&1; then
	dir[s3fs]=$TMPDIR_TEST/s3fs/bench
	mkdir -p "${dir[s3fs]}"
else
	s3fs_note="n/a (S3 API missing: s3fs could not write a file; $(grep -o 'HTTP response code [0-9]*' "$TMPDIR_TEST/s3fs.err" | sort | uniq -c | tr -s ' \n' ' ' || true))"
	echo "s3fs: $s3fs_note"
fi
targets=${TARGETS:-kumo s3fs rclone local}

# --- inputs, built once on the local disk
tar -C /usr -cf "$TMPDIR_TEST/include.tar" include
ntar=$(tar -tf "$TMPDIR_TEST/include.tar" | wc -l)
tar_mb=$(($(stat -c %s "$TMPDIR_TEST/include.tar") >> 20))
img=$TMPDIR_TEST/image.raw
truncate -s "${size_mb}M" "$img"
# half the image is data: every other 4 MiB
fio --name=img --filename="$img" --rw=write:4M --bs=4M --size="${size_mb}M" \
	--ioengine=psync >/dev/null 2>&1 || fail "making the image"

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# timed T NAME CMD...: run CMD bounded by the step timeout; print the
# seconds it took, or "fail"/"timeout".
timed() {
	local t0 t1 rc=0
	t0=$(date +%s.%N)
	timeout "$step_timeout" "$@" >"$TMPDIR_TEST/step.out" 2>&1 || rc=$?
	t1=$(date +%s.%N)
	if [ "$rc" = 124 ]; then
		echo timeout
	elif [ "$rc" != 0 ]; then
		sed 's/^/    | /' "$TMPDIR_TEST/step.out" | tail -5 >&2
		echo fail
	else
		awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
	fi
}

# rate AMOUNT SECONDS: AMOUNT per second, or the failure word
rate() {
	case "$2" in
	fail | timeout) echo "$2" ;;
	*) awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f\n", n / (s > 0 ? s : 0.001) }' ;;
	esac
}

# the create and list steps, as Python programs: DIR N
create_py='
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
for i in range(n):
    fd = os.open(os.path.join(d, "f%05d" % i), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, b"x" * 100)
    os.close(fd)
'
list_py='
import os, sys
n = 0
with os.scandir(sys.argv[1]) as it:
    for e in it:
        e.stat(follow_symlinks=False)
        n += 1
sys.exit(0 if n == int(sys.argv[2]) else 1)
'

# settle T DIR: bring target T to the durable point (see the header)
settle() {
	case $1 in
	kumo) $PYTHON -c 'import os, sys; os.fsync(os.open(sys.argv[1], os.O_RDONLY))' "$KUMO_ROOT" ;;
	local) sync -f "$2" ;;
	rclone) rclone_settle ;;
	esac
}
# rclone_settle: until rclone has no transfer running (core/stats; its
# vfs/stats upload counters stay 0 during an upload in this version) and
# no upload queued, twice 0.2 s apart (the kernel releases a closed file,
# which queues its upload, a moment after close returns)
rclone_settle() {
	local n quiet=0
	sleep 0.3
	while [ $quiet -lt 2 ]; do
		n=$({ curl -s -X POST "$RCLONE_RC/core/stats" &&
			curl -s -X POST "$RCLONE_RC/vfs/stats"; } | $PYTHON -c '
import json, sys
t, v = json.JSONDecoder(), sys.stdin.read()
a, i = t.raw_decode(v)
b, _ = t.raw_decode(v[i:].lstrip())
c = b["diskCache"]
print(len(a.get("transferring") or []) + c["uploadsInProgress"] + c["uploadsQueued"])') || n=x
		if [ "$n" = 0 ]; then quiet=$((quiet + 1)); else quiet=0; fi
		sleep 0.2
	done
}
# step ROW T DIR: one timed step of target T in DIR, ending durable
step() {
	local r=$1 t=$2 d=$3
	case $r in
	seqw) fio --name=seqw --filename="$d/big" --rw=write --bs=1M \
		--size="${size_mb}M" --ioengine=psync --end_fsync=1 ;;
	seqr) fio --name=seqr --filename="$d/big" --rw=read --bs=1M \
		--size="${size_mb}M" --ioengine=psync ;;
	randw) fio --name=randw --filename="$d/big" --rw=randwrite --bs=4k \
		--size="${size_mb}M" --io_size="${randw_mb}M" --ioengine=psync \
		--end_fsync=1 --randrepeat=1 ;;
	create) $PYTHON -c "$create_py" "$d/small" "$nfiles" ;;
	list) $PYTHON -c "$list_py" "$d/small" "$nfiles" ;;
	untar) mkdir -p "$d/untar" && tar -xf "$TMPDIR_TEST/include.tar" -C "$d/untar" ;;
	convert) qemu-img convert -f raw -O qcow2 "$img" "$d/conv.qcow2" ;;
	esac || return
	case $r in
	seqr | list) ;;
	seqw | randw | convert) if [ "$t" = rclone ]; then settle "$t" "$d"; fi ;;
	*) settle "$t" "$d" ;;
	esac
}
export -f step settle rclone_settle
export size_mb randw_mb nfiles create_py list_py img PYTHON RCLONE_RC TMPDIR_TEST
export KUMO_ROOT=$TMPDIR_TEST/kumo

for t in $targets; do
	d=${dir[$t]:-}
	if [ -z "$d" ]; then
		for r in seqw seqr randw create list untar convert; do res[$t,$r]=n/a; done
		continue
	fi
	echo "--- $t ($d)"
	for r in seqw seqr randw create list untar convert; do
		case $r in seqr | list) drop_caches ;; esac
		s=$(timed bash -c 'step "$@"' step "$r" "$t" "$d")
		case $r in
		seqw | seqr | convert) n=$size_mb ;;
		randw) n=$((randw_mb * 256)) ;;
		create | list) n=$nfiles ;;
		untar) n=$ntar ;;
		esac
		res[$t,$r]=$(rate "$n" "$s")
		printf '  %-8s %s\n' "$r" "${res[$t,$r]}"
	done
done

printf '\n== FUSE filesystems on one kumo-aio cluster (%s MiB file and image; untar %d entries, %d MiB)\n' \
	"$size_mb" "$ntar" "$tar_mb"
[ -n "$s3fs_note" ] && echo "s3fs: $s3fs_note"
printf '%-22s %9s %9s %9s %9s %8s %8s %8s  %s\n' test kumo s3fs rclone local \
	kumo/loc kumo/s3fs kumo/rcl target
for r in seqw seqr randw create list untar convert; do
	case $r in
	seqw) name="seq write MiB/s" ;;
	seqr) name="seq read MiB/s" ;;
	randw) name="rand write 4k IOPS" ;;
	create) name="create files/s" ;;
	list) name="list+stat files/s" ;;
	untar) name="untar entries/s" ;;
	convert) name="qemu-img convert MiB/s" ;;
	esac
	awk -v n="$name" -v r="$r" -v k="${res[kumo,$r]:-skipped}" -v s="${res[s3fs,$r]:-skipped}" \
		-v c="${res[rclone,$r]:-skipped}" -v l="${res[local,$r]:-skipped}" '
	function num(x) { return x ~ /^[0-9.]+$/ }
	function ratio(a, b, pct) {
		if (!num(a) || !num(b) || b == 0) return "-"
		return pct ? sprintf("%.0f%%", 100 * a / b) : sprintf("%.2fx", a / b)
	}
	BEGIN {
		t = ""
		if (num(k)) {
			if ((num(s) && k <= s) || (num(c) && k <= c)) t = "behind a peer"
			else t = "ahead of peers"
			if (r == "seqr") t = t ((num(l) && k >= 0.5 * l) ? ", >=50% local ok" : ", <50% local MISS")
		} else t = "kumo " k
		printf "%-22s %9s %9s %9s %9s %8s %8s %8s  %s\n", n, k, s, c, l,
			ratio(k, l, 1), ratio(k, s, 0), ratio(k, c, 0), t
	}'
done
