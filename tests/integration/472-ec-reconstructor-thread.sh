#!/bin/bash
# 472-ec-reconstructor-thread: the reconstructor as a background thread
# of kumo-objectd (reconstructor_interval = 1, no --once): on a 4+2 EC
# policy over six object servers, device d5 is wiped while every server
# runs; within a few seconds d5 holds again, durable, the archive of its
# index of each object (the same bytes as before), and the objects read
# back with two other servers stopped.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/ec.sh"
requires curl timeout cmp

EC_RCON_INTERVAL=1
ec_cluster 6
T=$TMPDIR_TEST
NAMES="t1 t2 t3"
for n in $NAMES; do
	head -c $((RANDOM * 50 + 1)) /dev/urandom >"$T/$n"
	ec_put "$n" "$T/$n"
	read -r dev idx dur path < <(ec_archives "$n" | awk '$1 == "d5"') ||
		fail "$n: no archive on d5"
	echo "$idx" >"$T/$n.idx"
	$PYTHON "$EC_TOOL" body "$path" "$T/$n.body"
done

rm -rf "$NODE_DIR/obj5/d5"
mkdir "$NODE_DIR/obj5/d5"
for i in $(seq 1 150); do
	back=0
	for n in $NAMES; do
		ec_archives "$n" | awk -v i="$(cat "$T/$n.idx")" \
			'$1 == "d5" && $2 == i && $3 == 1' | grep -q . &&
			back=$((back + 1))
	done
	[ "$back" = 3 ] && break
	sleep 0.2
done
[ "$back" = 3 ] || fail "the thread rebuilt $back of 3 archives in 30 s"
for n in $NAMES; do
	read -r dev idx dur path < <(ec_archives "$n" | awk '$1 == "d5"')
	$PYTHON "$EC_TOOL" body "$path" "$T/$n.got"
	cmp -s "$T/$n.got" "$T/$n.body" || fail "$n: rebuilt archive differs"
done
grep -q "reconstruction pass: .* [1-9][0-9]* archives rebuilt" \
	"$T"/obj*.log || fail "no pass of the thread logged a rebuild"

kill_object_server 1
kill_object_server 2
expect_objects $NAMES
echo "ok: the reconstructor thread rebuilt d5"
