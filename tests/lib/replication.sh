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
