#!/bin/bash
# 448-replication-keepalive: a replication pass reuses its connections to
# the other object servers from one partition to the next (each worker
# thread keeps its curl handle, objectd/replicator.c t_easy) instead of
# connecting anew for every partition (and making every peer start a
# server thread for it). A pass over replicas in sync REPLICATEs each
# partition to its other primaries; the connect(2) calls of that pass,
# seen through strace, stay far below the partitions it walked.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/replication.sh"
requires curl timeout strace

OBJ_EXTRA_CONF="replicator_interval = 3600"
repl_cluster 4
repl_load put 300 || fail "PUTs failed"
repl_check || fail "replicas are not all in place"

parts=$(find "$NODE_DIR/obj1" -mindepth 3 -maxdepth 3 -path '*/objects/*' \
	-type d | wc -l)
[ "$parts" -ge 50 ] || fail "node 1 holds only $parts partitions"
trace=$TMPDIR_TEST/connect.trace
# LeakSanitizer cannot run under ptrace: an ASan build (make asan) would
# fail this pass at its exit for that alone
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 timeout 120 strace -f -e trace=connect -o "$trace" \
	kumo-objectd "$TMPDIR_TEST/obj1.conf" --once replicate \
	2>>"$TMPDIR_TEST/repl.log" || fail "the replication pass failed"
grep -q "replication pass: " "$TMPDIR_TEST/repl.log" || fail "no pass logged"
conns=$(grep -c 'connect(.*sin_port' "$trace")
# two workers (replicator_concurrency) times three peers, with room to
# spare; one connection per partition and peer was over $((parts * 2))
[ "$conns" -le 24 ] ||
	fail "$conns connections for a pass over $parts partitions"
repl_check || fail "replicas changed"
echo "ok: $conns connections for a pass over $parts partitions"
