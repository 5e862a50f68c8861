# tests/lib/replication.sh: what the replication tests (4NN-replication-*)
# and bench/replication.sh share. Source after functions.sh; it sources
# multinode.sh.
#
#   repl_cluster N      start_multinode_cluster N (OBJ_EXTRA_CONF applies),
#                       take a token (TOKEN, URL) and PUT container c;
#                       STATE is the file repl_load and repl_check share
#   repl_load ARGS...   tests/lib/repl_load.py on container c and STATE
#                       (put / overwrite / delete N [FROM], get)
#   repl_check ARGS...  tests/lib/repl_check.py [--exclusive|--reclaimed]
#                       on the current ring, NODE_DIR and STATE
#   replicate_all [K...] one `kumo-objectd --once replicate` pass on each
#                       object server (default all, in order), stderr
#                       appended to $TMPDIR_TEST/repl.log; fails the test
#                       when one fails
#   ring_change ARGS... kumo-ring ARGS on the operator's copy of the object
#                       builder ($TMPDIR_TEST/ops, made at first use),
#                       rebalance, copy the ring into swift_dir atomically
#                       and wait 1.5 s: the proxy (PROXY_EXTRA_CONF
#                       ring_check_interval = 1) loads it by itself
#   replicate_under_reads  replicate_all while a reader GETs every object
#                       over and over; fails the test on any failed GET
. "$(dirname "${BASH_SOURCE[0]}")/multinode.sh"
LIB=$TESTS_DIR/lib

repl_cluster() {
	start_multinode_cluster "$1"
	read -r TOKEN URL < <(get_token test:tester testing)
	[ -n "$TOKEN" ] || fail "no token"
	[ "$(status PUT "$URL/c" -H "X-Auth-Token: $TOKEN")" = 201 ] ||
		fail "container PUT"
	STATE=$TMPDIR_TEST/state
}

repl_load() {
	timeout 90 $PYTHON "$LIB/repl_load.py" "$URL" "$TOKEN" c "$@" "$STATE"
}

repl_check() {
	$PYTHON "$LIB/repl_check.py" "$@" "$RINGS/object.ring.gz" "$NODE_DIR" \
		"$STATE"
}

replicate_all() {
	local k
	[ $# -gt 0 ] || set -- $(seq 1 $((${#OBJ_PORTS[@]})))
	for k in "$@"; do
		timeout 90 kumo-objectd "$TMPDIR_TEST/obj$k.conf" --once replicate \
			2>>"$TMPDIR_TEST/repl.log" || fail "replication on node $k failed"
	done
}

ring_change() {
	local ops=$TMPDIR_TEST/ops
	[ -e "$ops/object.builder" ] ||
		{ mkdir -p "$ops" && cp "$RINGS/object.builder" "$ops/"; }
	kumo-ring "$ops/object.builder" "$@" >/dev/null || fail "kumo-ring $*"
	kumo-ring "$ops/object.builder" rebalance --seed 2 >/dev/null || true
	cp "$ops/object.ring.gz" "$RINGS/object.ring.gz.tmp"
	mv "$RINGS/object.ring.gz.tmp" "$RINGS/object.ring.gz"
	sleep 1.5
}

replicate_under_reads() {
	local reader
	rm -f "$TMPDIR_TEST/stop" "$TMPDIR_TEST/getfail"
	(
		while [ ! -e "$TMPDIR_TEST/stop" ]; do
			repl_load get >>"$TMPDIR_TEST/getfail" || true
		done
	) &
	reader=$!
	sleep 1
	replicate_all
	sleep 1
	touch "$TMPDIR_TEST/stop"
	wait "$reader"
	[ ! -s "$TMPDIR_TEST/getfail" ] ||
		fail "GETs failed while data moved: $(head -5 "$TMPDIR_TEST/getfail")"
}
