#!/bin/bash
# bench/volume_nbd.sh: block volumes over NBD (run by bench/run.sh, make
# bench). fio's nbd engine, queue depth 16, one job each:
#   sequential 1 MiB write and read (MiB/s), random 4 KiB write and read
#   (IOPS) over a 1 GiB target
# against a kumo volume (kumo-aio: three replicas through kumo-volumed) and
# against the limit, nbdkit's file plugin serving a 1 GiB file on the same
# disk, in the same run. Each target is filled by the sequential write
# first, so the reads meet data. Prints a table with the ratios and the
# issue's targets (sequential read >= 50%, write >= 30%, random 4 KiB read
# >= 30% of the limit); missing a target is reported, not a failure.
# Then the CPU seconds each kumo daemon spent per GiB of the sequential
# write job (the daemons' utime + stime over the job, /proc): on a busy
# machine MiB/s follow the scheduler's share, this does not.
# SECS=N seconds per job (default 15); FLUSH_MB (below).
. "$(dirname "$0")/../tests/lib/functions.sh"
. "$TESTS_DIR/lib/cluster.sh"
. "$TESTS_DIR/lib/nbd.sh"
requires fio nbdkit curl

secs=${SECS:-15}
start_cluster
id=$(vol_create 1)
kumo_uri=$(vol_attach "$id")

file=$AIO_DIR/nbdkit-limit.img
truncate -s 1G "$file"
port=$(pick_unused_port)
nbdkit -f -i 127.0.0.1 -p "$port" -P "$TMPDIR_TEST/nbdkit.pid" \
	file "$file" 2>"$TMPDIR_TEST/nbdkit.err" &
cleanup_fn "kill \$(cat $TMPDIR_TEST/nbdkit.pid) 2>/dev/null"
for i in $(seq 1 50); do
	[ -s "$TMPDIR_TEST/nbdkit.pid" ] && break
	sleep 0.1
done
limit_uri=nbd://127.0.0.1:$port/

# job URI RW BS: print MiB/s and IOPS of one fio job.
# Write jobs send FLUSHes after every FLUSH_MB MiB (default 64; 0: none),
# as a guest flushes its disk, so both sides count making the data durable
# (nbdkit's file plugin otherwise measures the page cache). fio 3.33's nbd
# engine at iodepth 16 sends not one FLUSH there but one in each free slot
# (up to 16; a 10 s kumo job: 1408 writes, 352 FLUSHes) and its next write
# waits for them: every FLUSH_MB MiB the queue drains, and a target's
# figure is FLUSH_MB MiB over the time to take them plus the time to make
# the last of them durable.
flush_mb=${FLUSH_MB:-64}
job() {
	local out=$TMPDIR_TEST/fio.json flush=() kib=1024
	[ "$3" = 4k ] && kib=4
	case "$2" in *write*)
		[ "$flush_mb" -gt 0 ] &&
			flush=(--fsync=$((flush_mb * 1024 / kib))) ;;
	esac
	timeout $((secs + 120)) fio --name=bench --ioengine=nbd --uri="$1" \
		--rw="$2" --bs="$3" --iodepth=16 --size=1G --runtime="$secs" \
		--time_based "${flush[@]}" --output-format=json --output="$out" \
		>/dev/null 2>&1 || fail "fio $2 $3 on $1 failed"
	$PYTHON - "$out" "$2" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
d = j["read" if "read" in sys.argv[2] else "write"]
print("%.1f %.0f" % (d["bw"] / 1024.0, d["iops"]))
PY
}

# fill: the first pass writes the whole of each target
fio_fill() {
	timeout 600 fio --name=fill --ioengine=nbd --uri="$1" --rw=write \
		--bs=1M --iodepth=16 --size=1G >/dev/null 2>&1 ||
		fail "filling $1 failed"
}
fio_fill "$kumo_uri"
fio_fill "$limit_uri"

# cpu_of: "name ticks" of each kumo daemon (kumo-aio's children)
cpu_of() {
	local p
	for p in $(pgrep -P "$AIO_PID"); do
		awk '{print $2, $14 + $15}' "/proc/$p/stat" 2>/dev/null || true
	done
}

rows=()
for t in "write 1M" "read 1M" "randwrite 4k" "randread 4k"; do
	set -- $t
	# Each job starts with nothing dirty in the page cache: nbdkit's
	# fill or job leaves up to 1 GiB there, which the kernel would
	# otherwise write back during (and objectd's syncfs would wait
	# for in) the kumo job that follows.
	sync
	[ "$1" = write ] && cpu_of >"$TMPDIR_TEST/cpu0"
	k=$(job "$kumo_uri" "$1" "$2")
	# (the close after the job writes back what the last FLUSH left)
	[ "$1" = write ] && { sleep 3; cpu_of >"$TMPDIR_TEST/cpu1"; wk=$k; }
	sync
	l=$(job "$limit_uri" "$1" "$2")
	rows+=("$1 $2 $k $l")
done

printf '\n== NBD volume vs nbdkit file (fio nbd engine, iodepth 16, %ss each, writes flushed every %s MiB)\n' "$secs" "$flush_mb"
printf '%-22s %12s %12s %7s %8s\n' test kumo nbdkit-file ratio target
for r in "${rows[@]}"; do
	set -- $r
	case "$1" in
	write) name="seq write 1M MiB/s" kv=$3 lv=$5 target=30 ;;
	read) name="seq read 1M MiB/s" kv=$3 lv=$5 target=50 ;;
	randwrite) name="rand write 4k IOPS" kv=$4 lv=$6 target= ;;
	randread) name="rand read 4k IOPS" kv=$4 lv=$6 target=30 ;;
	esac
	awk -v n="$name" -v k="$kv" -v l="$lv" -v t="$target" 'BEGIN {
		ratio = l > 0 ? 100 * k / l : 0
		tt = t == "" ? "-" : (ratio >= t ? ">=" t "% ok" : "<" t "% MISS")
		printf "%-22s %12s %12s %6.0f%% %8s\n", n, k, l, ratio, tt
	}'
done

# CPU per GiB of the kumo seq write job: MiB/s * secs written
set -- $wk
awk -v mib="$1" -v secs="$secs" -v hz="$(getconf CLK_TCK)" '
	NR == FNR { t0[$1] = $2; next }
	{ n = $1; gsub(/[()]/, "", n); cpu[n] += ($2 - t0[$1]) / hz }
	END {
		gib = mib * secs / 1024
		if (gib <= 0) exit
		printf "kumo CPU s per GiB of seq write:"
		for (n in cpu) { printf " %s %.2f", n, cpu[n] / gib; all += cpu[n] }
		printf ", all %.2f\n", all / gib
	}' "$TMPDIR_TEST/cpu0" "$TMPDIR_TEST/cpu1"
