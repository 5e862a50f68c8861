#!/bin/bash
# bench/ec_cluster.sh: erasure coding through the proxy (issue 6), run by
# bench/run.sh (make bench).
#   - six object servers, one device each (tests/lib/multinode.sh), with
#     policy 0 "gold" (3 replicas) and policy 1 "ec42"
#     (liberasurecode_rs_vand 4+2, 1 MiB segments, six replicas), the
#     cluster's folders on tmpfs (/dev/shm; BENCH_DIR to change), so the
#     disks do not hide what the proxy costs;
#   - a SIZE_MB (default 256) MiB object PUT then GET (curl, one stream,
#     checked by md5) into a gold and an ec42 container: MB/s of each and
#     the ratios EC / replica;
#   - the proxy's CPU seconds (/proc utime + stime) during the EC PUT, as
#     MB/s of body per proxy CPU second, against bench/ec_encode's raw
#     liberasurecode_rs_vand 4+2 encode rate measured in the same run:
#     the ratio says how much of the encoder's speed the proxy's EC data
#     path keeps (1.0: encoding alone; the proxy also MD5s the body,
#     copies it and talks HTTP to six servers).
set -eu
export TMPDIR=${BENCH_DIR:-/dev/shm}
. "$(dirname "$0")/../tests/lib/functions.sh"
. "$(dirname "$0")/../tests/lib/ec_proxy.sh"
SIZE_MB=${SIZE_MB:-256}
ENC=${KUMO_BUILD:-$TOP_DIR/build}/bench/ec_encode
[ -x "$ENC" ] || fail "$ENC not built (make bench builds it)"

ec_proxy_cluster 6 1048576
D=$TMPDIR_TEST
ec_container rep gold
ec_container ec ec42
head -c $((SIZE_MB * 1048576)) /dev/urandom >"$D/obj"
want=$(md5sum <"$D/obj" | cut -d' ' -f1)

# proxy CPU seconds so far (utime + stime)
proxy_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' \
		"/proc/$PID_proxy/stat"
}
# secs CMD...: wall seconds of CMD
secs() {
	local s e
	s=$(date +%s.%N)
	"$@"
	e=$(date +%s.%N)
	awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", e - s }'
}
mbs() { awk -v m="$SIZE_MB" -v s="$1" 'BEGIN { printf "%.1f", m * 1.048576 / s }'; }

for c in rep ec; do
	cpu0=$(proxy_cpu)
	t=$(secs curl -sf -o /dev/null -T "$D/obj" -H "$T" "$URL/$c/o") ||
		fail "PUT $c"
	cpu1=$(proxy_cpu)
	g=$(secs sh -c "curl -sf -H '$T' '$URL/$c/o' | md5sum >'$D/got'") ||
		fail "GET $c"
	cpu2=$(proxy_cpu)
	[ "$(cut -d' ' -f1 <"$D/got")" = "$want" ] || fail "GET $c: other bytes"
	eval "put_$c=$t get_$c=$g" \
		"cpu_$c=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }')" \
		"gcpu_$c=$(awk -v a="$cpu1" -v b="$cpu2" 'BEGIN { printf "%.2f", b - a }')"
done
raw=$("$ENC" liberasurecode_rs_vand 4 2 1048576 2 |
	sed -n 's/.*raw encode \([0-9.]*\) MB\/s.*/\1/p')
[ -n "$raw" ] || fail "ec_encode printed no rate"

printf '%-28s %9s %9s %14s\n' "${SIZE_MB} MiB object" "PUT MB/s" "GET MB/s" "proxy CPU s"
printf '%-28s %9s %9s %14s\n' "" "" "" "(PUT / GET)"
printf '%-28s %9s %9s %14s\n' "3 replicas (gold)" "$(mbs "$put_rep")" "$(mbs "$get_rep")" "$cpu_rep / $gcpu_rep"
printf '%-28s %9s %9s %14s\n' "EC 4+2 (ec42, 1 MiB segs)" "$(mbs "$put_ec")" "$(mbs "$get_ec")" "$cpu_ec / $gcpu_ec"
awk -v pr="$put_rep" -v pe="$put_ec" -v gr="$get_rep" -v ge="$get_ec" 'BEGIN {
	printf "EC / replica: PUT %.2f, GET %.2f (MB/s ratios)\n", pr / pe, gr / ge }'
awk -v m="$SIZE_MB" -v c="$cpu_ec" -v t="$put_ec" -v raw="$raw" 'BEGIN {
	cpu = m * 1.048576 / c; wall = m * 1.048576 / t
	printf "proxy EC PUT: %.1f MB/s per proxy CPU second, %.1f MB/s wall; raw liberasurecode_rs_vand 4+2 encode %.1f MB/s\n", cpu, wall, raw
	printf "proxy encode / raw encode: %.2f (CPU), %.2f (wall)\n", cpu / raw, wall / raw }'
