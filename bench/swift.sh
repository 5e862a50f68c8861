#!/bin/bash
# bench/swift.sh: kumo against OpenStack Swift on this machine, in one run
# (make bench-swift; also part of make bench). Brings up kumo-aio and a
# Swift all-in-one (bench/swift_aio.sh: Debian's Swift, 3 replicas, 4
# devices on the same disk, tempauth, part_power 10) side by side on free
# loopback ports and drives each in turn with bench/loadgen:
#   - 4 KiB objects: PUT, then GET, then HEAD of what was PUT, 16 clients,
#     DURATION seconds each: ops/s, p50 and p99 latency;
#   - BIG_N objects of 256 MiB, PUT then GET, one client: MB/s;
#   - a container of LIST_OBJECTS rows (names L/<dir>/<n>, 100 dirs), filled
#     by the row each object server sends its container servers after a
#     PUT, sent by loadgen straight to the three container replicas (cput:
#     far faster than PUTting 100,000 objects through Swift's proxy; the
#     listing reads the same rows either way); then a JSON listing of
#     limit 10,000 and a prefix=L/ delimiter=/ listing: p50 of LIST_N;
#   - CPU seconds (utime+stime of every daemon process, from /proc) per
#     1,000 small PUTs; VmRSS of every daemon idle and its peak under the
#     loads above;
#   - both sides run their servers only: Swift's replicators, auditors,
#     reconstructor and expirer are not started, and kumo-aio's passes of
#     the same jobs are put off past the run (DIR/local.conf);
#   - the disk's limits: 4 KiB writes with O_DSYNC (dd oflag=dsync) and a
#     1 GiB sequential write with fsync (dd conv=fsync), in the same dir.
# Prints one table (kumo, Swift, kumo/Swift, the issue's targets) and
# appends it, dated, with the machine and load average, to
# docs/benchmarks.md. Any failed request fails the run.
#
# Environment: DURATION (20), BIG_N (2), BIG_SIZE (256M), LIST_OBJECTS
# (100000), LIST_N (5), KUMO_BIN and KUMO_BUILD (the build's bin/ and
# build/, set by make), LOADGEN (KUMO_BUILD/bench/loadgen), BENCH_DOC
# (docs/benchmarks.md; empty: do not append).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/swift_aio.sh"

KUMO_BIN=${KUMO_BIN:-$root/bin}
KUMO_BUILD=${KUMO_BUILD:-$root/build}
LOADGEN=${LOADGEN:-$KUMO_BUILD/bench/loadgen}
DURATION=${DURATION:-20}
BIG_N=${BIG_N:-2}
BIG_SIZE=${BIG_SIZE:-256M}
LIST_OBJECTS=${LIST_OBJECTS:-100000}
LIST_N=${LIST_N:-5}
BENCH_DOC=${BENCH_DOC-$root/docs/benchmarks.md}
CONC=16

for f in "$LOADGEN" "$KUMO_BIN/kumo-aio"; do
	[ -x "$f" ] || { echo "swift.sh: $f is missing (make all $LOADGEN)" >&2; exit 1; }
done
for f in swift-proxy-server swift-object-server swift-ring-builder memcached; do
	command -v "$f" >/dev/null ||
		{ echo "swift.sh: $f is missing (scripts/install-deps.sh)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/kumo-bench.XXXXXX)
LOG=$WORK/bench.log
AIO_PID=
SAMPLER=
cleanup() {
	[ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null
	if [ -n "$AIO_PID" ]; then
		kill -TERM "$AIO_PID" 2>/dev/null
		for _ in $(seq 1 100); do
			kill -0 "$AIO_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$AIO_PID" 2>/dev/null
	fi
	swift_aio_stop
	wait 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() {
	echo "swift.sh: $*" >&2
	[ -f "$LOG" ] && tail -n 20 "$LOG" >&2
	exit 1
}

# --- bring both up ---
kumo_start() {
	local p i
	p=$(pick_port_block 6)
	KUMO_PORT=$p
	# servers only, as the Swift side (bench/swift_aio.sh starts no
	# replicator, auditor, reconstructor or expirer): kumo's background
	# passes are put off past the run; the updaters (retries of owed
	# container and account updates) keep their intervals
	mkdir -p "$WORK/kumo"
	cat >"$WORK/kumo/local.conf" <<'EOF'
[object-server]
replicator_interval = 86400
reconstructor_interval = 86400
auditor_interval = 604800
expirer_interval = 86400

[container-server]
replicator_interval = 86400
auditor_interval = 604800

[account-server]
replicator_interval = 86400
auditor_interval = 604800
EOF
	"$KUMO_BIN/kumo-aio" --dir "$WORK/kumo" --proxy-port "$p" \
		--volume-port $((p + 4)) --nbd-port $((p + 5)) \
		>"$WORK/kumo-aio.out" 2>"$WORK/kumo-aio.err" &
	AIO_PID=$!
	for i in $(seq 1 300); do
		curl -sf -m 2 "http://127.0.0.1:$p/healthcheck" >/dev/null &&
			grep -q "swift -A" "$WORK/kumo-aio.out" && break
		kill -0 "$AIO_PID" 2>/dev/null ||
			{ tail -n 5 "$WORK/kumo-aio.err" >&2; return 1; }
		sleep 0.1
	done
	KUMO_AUTH=http://127.0.0.1:$p/auth/v1.0
	KUMO_PIDS="$AIO_PID $(pgrep -P "$AIO_PID" | tr '\n' ' ')"
}
kumo_start || fail "kumo-aio did not start"
swift_aio_start || fail "the Swift all-in-one did not start"
echo "kumo-aio on $KUMO_AUTH (daemons $KUMO_PIDS), Swift on $SWIFT_AUTH (daemons $SWIFT_PIDS)"

# --- measures ---
declare -A R

# cpu_ticks PIDS...: utime+stime of those processes, in clock ticks
cpu_ticks() {
	local p t=0 s
	for p in "$@"; do
		s=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null) || continue
		t=$((t + ${s% *} + ${s#* }))
	done
	echo "$t"
}
# rss_max PIDS...: the largest VmRSS among them, in KiB
rss_max() {
	local p m=0 v
	for p in "$@"; do
		v=$(awk '/^VmRSS/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		[ -n "$v" ] && [ "$v" -gt "$m" ] && m=$v
	done
	echo "$m"
}
# rss_each PIDS...: "name:KiB" of each
rss_each() {
	local p
	for p in "$@"; do
		awk -v p="$p" '/^Name/ { n = $2 } /^VmRSS/ { printf "%s[%s]:%d ", n, p, $2 / 1024 }' \
			"/proc/$p/status" 2>/dev/null
	done
}
# sampler OUT PIDS...: the peak VmRSS of each pid, rewritten every 0.5 s
sampler() {
	local out=$1 p v
	shift
	declare -A peak
	while :; do
		for p in "$@"; do
			v=$(awk '/^VmRSS/ { print $2 }' "/proc/$p/status" 2>/dev/null)
			[ -n "$v" ] && [ "$v" -gt "${peak[$p]:-0}" ] && peak[$p]=$v
		done
		for p in "${!peak[@]}"; do echo "$p ${peak[$p]}"; done >"$out.tmp"
		mv "$out.tmp" "$out"
		sleep 0.5
	done
}

# lg SYS KEY ARGS...: run loadgen on SYS, keep its fields as R[SYS.KEY.f]
lg() {
	local sys=$1 key=$2 auth out f
	shift 2
	[ "$sys" = kumo ] && auth=$KUMO_AUTH || auth=$SWIFT_AUTH
	out=$("$LOADGEN" -A "$auth" -U test:tester -K testing "$@" 2>>"$LOG")
	local rc=$?
	echo "$sys $key: $out" >>"$LOG"
	echo "  $sys $key: ${out#loadgen }"
	[ $rc = 0 ] || fail "$sys $key: loadgen failed (errors: see above)"
	for f in $out; do
		case $f in *=*) R[$sys.$key.${f%%=*}]=${f#*=} ;; esac
	done
}

# the container replicas' URLs of AUTH_test/CONT on SYS, as -D options
direct_urls() {
	local conf ringdir
	if [ "$1" = kumo ]; then
		conf=$WORK/kumo/kumo.conf ringdir=$WORK/kumo/rings
	else
		conf=/etc/swift/swift.conf ringdir=$SWIFT_DIR/etc
	fi
	/usr/bin/python3 - "$conf" "$ringdir" AUTH_test "$2" <<'PY'
import sys
from swift.common import utils
from swift.common.ring import Ring
conf, ringdir, acct, cont = sys.argv[1:5]
utils.SWIFT_CONF_FILE = conf
utils.HASH_PATH_SUFFIX = utils.HASH_PATH_PREFIX = b''
utils.validate_hash_conf()
part, nodes = Ring(ringdir, ring_name='container').get_nodes(acct, cont)
for n in nodes:
    print("-D http://%s:%d/%s/%d/%s/%s" % (n['ip'], n['port'], n['device'],
                                           part, acct, cont))
PY
}

measure() {
	local sys=$1 pids t0 t1 hz
	[ "$sys" = kumo ] && pids=$KUMO_PIDS || pids=$SWIFT_PIDS
	hz=$(getconf CLK_TCK)
	echo "== $sys"
	sleep 2
	R[$sys.rss_idle]=$(rss_max $pids)
	echo "$sys idle RSS (MiB): $(rss_each $pids)" >>"$LOG"
	sampler "$WORK/$sys.peak" $pids &
	SAMPLER=$!

	t0=$(cpu_ticks $pids)
	lg "$sys" put -o put -c $CONC -d "$DURATION" -s 4096 -p s/
	t1=$(cpu_ticks $pids)
	R[$sys.cpu]=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v n="${R[$sys.put.ops]}" \
		'BEGIN { printf "%.2f", d / hz / n * 1000 }')
	lg "$sys" get -o get -c $CONC -d "$DURATION" -s 4096 -p s/ -n "${R[$sys.put.ops]}"
	lg "$sys" head -o head -c $CONC -d "$DURATION" -s 4096 -p s/ -n "${R[$sys.put.ops]}"
	lg "$sys" bigput -o put -c 1 -N "$BIG_N" -s "$BIG_SIZE" -p big/
	lg "$sys" bigget -o get -c 1 -N "$BIG_N" -s "$BIG_SIZE" -p big/ -n "$BIG_N"

	# the listing container: made by one PUT, filled by rows
	lg "$sys" mkcont -o put -c 1 -N 1 -s 0 -C listing -p zz-
	# shellcheck disable=SC2046
	"$LOADGEN" -o cput $(direct_urls "$sys" listing) -c 64 \
		-N "$LIST_OBJECTS" -p L/ --dirs 100 >>"$LOG" 2>&1 ||
		fail "$sys: filling the listing container failed"
	echo "  $sys fill: $(tail -n 1 "$LOG" | sed 's/^loadgen //')"
	R[$sys.fill]=$(tail -n 1 "$LOG" | sed -n 's/.* ops_s=\([0-9.]*\).*/\1/p')
	lg "$sys" list -o list -c 1 -N "$LIST_N" -C listing \
		-q "format=json&limit=10000"
	lg "$sys" dlist -o list -c 1 -N "$LIST_N" -C listing \
		-q "format=json&limit=10000&prefix=L/&delimiter=/"

	kill "$SAMPLER" 2>/dev/null
	wait "$SAMPLER" 2>/dev/null
	SAMPLER=
	R[$sys.rss_load]=$(awk '$2 > m { m = $2 } END { print m + 0 }' "$WORK/$sys.peak")
	echo "$sys peak RSS under load (KiB, pid peak): $(tr '\n' ' ' <"$WORK/$sys.peak")" >>"$LOG"
	echo "$sys RSS after (MiB): $(rss_each $pids)" >>"$LOG"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
measure kumo
measure swift
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the disk's limits, in the same folder ---
echo "== disk"
dd_secs() { # dd ARGS...: the seconds dd reports
	dd "$@" 2>&1 | awk '/copied/ { for (i = 1; i <= NF; i++) if ($i ~ /^s,?$/) print $(i - 1) }'
}
s=$(dd_secs if=/dev/zero of="$WORK/dd" bs=4k count=2000 oflag=dsync)
R[disk.lat]=$(awk -v s="$s" 'BEGIN { printf "%.3f", s / 2000 * 1000 }')
rm -f "$WORK/dd"
s=$(dd_secs if=/dev/zero of="$WORK/dd" bs=4M count=256 conv=fsync)
R[disk.seq]=$(awk -v s="$s" 'BEGIN { printf "%.1f", 1073741824 / s / 1e6 }')
rm -f "$WORK/dd"
echo "  4 KiB O_DSYNC write: ${R[disk.lat]} ms; sequential fsynced write: ${R[disk.seq]} MB/s"

# --- the table ---
table() {
	local k v
	for k in "${!R[@]}"; do
		v=${R[$k]}
		echo "$k $v"
	done | awk -v big="$BIG_SIZE" -v dur="$DURATION" -v nl="$LIST_OBJECTS" '
	{ r[$1] = $2 }
	function row(name, k, s, tgt, ok,   a, b) {
		a = r["kumo." k]; b = r["swift." k]
		printf "%-32s %10s %10s %8s  %-30s %s\n", name, a, b,
			(b + 0 > 0 ? sprintf("%.2f", a / b) : "-"), tgt, ok
	}
	function yes(c) { return c ? "yes" : "NO" }
	END {
		lim = r["disk.seq"] / 3
		printf "%-32s %10s %10s %8s  %-30s %s\n", "", "kumo", "Swift", "k/S", "target", "met"
		row("4 KiB PUT ops/s", "put.ops_s", 0, ">= 10x Swift", yes(r["kumo.put.ops_s"] >= 10 * r["swift.put.ops_s"]))
		row("4 KiB PUT p50 ms", "put.p50_ms")
		row("4 KiB PUT p99 ms", "put.p99_ms", 0, "<= Swift p50 (" r["swift.put.p50_ms"] ")", yes(r["kumo.put.p99_ms"] <= r["swift.put.p50_ms"]))
		row("4 KiB GET ops/s", "get.ops_s", 0, ">= 20x Swift", yes(r["kumo.get.ops_s"] >= 20 * r["swift.get.ops_s"]))
		row("4 KiB GET p50 ms", "get.p50_ms")
		row("4 KiB GET p99 ms", "get.p99_ms", 0, "<= Swift p50 (" r["swift.get.p50_ms"] ")", yes(r["kumo.get.p99_ms"] <= r["swift.get.p50_ms"]))
		row("4 KiB HEAD ops/s", "head.ops_s", 0, ">= 20x Swift", yes(r["kumo.head.ops_s"] >= 20 * r["swift.head.ops_s"]))
		row("4 KiB HEAD p50 ms", "head.p50_ms")
		row("4 KiB HEAD p99 ms", "head.p99_ms", 0, "<= Swift p50 (" r["swift.head.p50_ms"] ")", yes(r["kumo.head.p99_ms"] <= r["swift.head.p50_ms"]))
		row(big " PUT MB/s", "bigput.mb_s", 0, sprintf(">= 85%% of %.0f (%.0f%%)", lim, lim > 0 ? 100 * r["kumo.bigput.mb_s"] / lim : 0), yes(r["kumo.bigput.mb_s"] >= 0.85 * lim))
		row(big " GET MB/s", "bigget.mb_s", 0, ">= 2x Swift", yes(r["kumo.bigget.mb_s"] >= 2 * r["swift.bigget.mb_s"]))
		row("list 10k of " nl " p50 ms", "list.p50_ms", 0, "<= 0.1x Swift", yes(r["kumo.list.p50_ms"] * 10 <= r["swift.list.p50_ms"]))
		row("prefix+delimiter list p50 ms", "dlist.p50_ms", 0, "<= 0.1x Swift", yes(r["kumo.dlist.p50_ms"] * 10 <= r["swift.dlist.p50_ms"]))
		row("CPU s per 1000 4 KiB PUTs", "cpu")
		row("container row PUTs/s (3 repl.)", "fill")
		r["kumo.rssi"] = sprintf("%.1f", r["kumo.rss_idle"] / 1024); r["swift.rssi"] = sprintf("%.1f", r["swift.rss_idle"] / 1024)
		r["kumo.rssl"] = sprintf("%.1f", r["kumo.rss_load"] / 1024); r["swift.rssl"] = sprintf("%.1f", r["swift.rss_load"] / 1024)
		row("max daemon RSS idle MiB", "rssi", 0, "< 64 each", yes(r["kumo.rss_idle"] < 65536))
		row("max daemon RSS load MiB", "rssl", 0, "< 256 each", yes(r["kumo.rss_load"] < 262144))
		printf "disk: 4 KiB O_DSYNC write %s ms, sequential fsynced write %s MB/s (/3 replicas = %.0f MB/s); %s s per small-object phase\n",
			r["disk.lat"], r["disk.seq"], lim, dur
	}'
}
TABLE=$(table)
echo
echo "$TABLE"
echo "load average before/after: $load_before / $load_after"
echo "per-daemon RSS:"
grep RSS "$LOG"

if [ -n "$BENCH_DOC" ]; then
	if [ ! -f "$BENCH_DOC" ]; then
		mkdir -p "$(dirname "$BENCH_DOC")"
		cat >"$BENCH_DOC" <<'EOF'
# Benchmarks

Tables appended by `make bench-swift` (bench/swift.sh): kumo-aio and an
OpenStack Swift all-in-one (Debian's packages, bench/swift_aio.sh) on the
same machine in the same run, driven by bench/loadgen (C, libcurl,
keep-alive). Rerun with `make bench-swift` (or `bash bench/swift.sh` after
`make all build/bench/loadgen`); `DURATION=5 LIST_OBJECTS=10000` makes a
quick run. What each row measures is in the header of bench/swift.sh; the
targets are those of issue 9. Figures taken while the machine was busy
say so in their load average.
EOF
	fi
	{
		echo
		echo "## $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), Linux $(uname -r)"
		echo
		echo "DURATION=$DURATION BIG_N=$BIG_N LIST_OBJECTS=$LIST_OBJECTS; load average before/after: $load_before / $load_after"
		echo
		echo '```'
		echo "$TABLE"
		grep RSS "$LOG"
		echo '```'
	} >>"$BENCH_DOC"
	echo "appended to $BENCH_DOC"
fi
