#!/bin/bash
# 461-container-replication: container replicas that missed writes agree
# again after one replication pass (common/dbreplicator.c).
#   - three container servers (tests/lib/dbnodes.sh); container server 2
#     is stopped while objects are PUT and DELETEd and the container's
#     metadata is POSTed (its async updates wait: the object updaters
#     never run here); once it is back and every container server runs
#     --once replicate, each replica, asked on its own backend port,
#     answers the same listing (names, sizes, etags), object count, bytes
#     used and metadata, and the expected ones;
#   - container server 3's device is wiped while it is stopped: after a
#     pass it holds the whole container again (a whole-db copy);
#   - the pass leaves its figures in the recon cache, and the background
#     thread ran its first pass at startup (one log line per pass).
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/dbnodes.sh"
requires curl

start_db_cluster
read -r TOKEN URL < <(get_token test:tester testing)
[ -n "$TOKEN" ] || fail "no token"
H=(-H "X-Auth-Token: $TOKEN")
[ "$(status PUT "$URL/c" "${H[@]}")" = 201 ] || fail "container PUT"
for i in $(seq 1 20); do
	[ "$(status PUT "$URL/c/o$i" "${H[@]}" --data-binary "body $i")" = 201 ] ||
		fail "PUT o$i"
done

stop_server cont 2
for i in $(seq 21 40); do
	[ "$(status PUT "$URL/c/o$i" "${H[@]}" --data-binary "new body $i")" = 201 ] ||
		fail "PUT o$i with a container server down"
done
for i in $(seq 1 10); do
	[ "$(status DELETE "$URL/c/o$i" "${H[@]}")" = 204 ] || fail "DELETE o$i"
done
[ "$(status POST "$URL/c" "${H[@]}" -H "X-Container-Meta-Color: blue")" = 204 ] ||
	fail "container POST"
start_server cont 2

part=$(part_of /AUTH_test/c)
# state K: the listing, count, bytes and metadata of replica K
state() {
	local port=${CONT_PORTS[$1]}
	curl -s -D "$TMPDIR_TEST/h$1" \
		"http://127.0.0.1:$port/d$1/$part/AUTH_test/c?format=json" |
		$PYTHON -c 'import json, sys
for o in json.load(sys.stdin):
    print(o["name"], o["bytes"], o["hash"])'
	tr -d '\r' <"$TMPDIR_TEST/h$1" | grep -iE \
		'^x-container-(object-count|bytes-used|meta-color):' | sort
}
[ "$(state 2 | grep -c '^o')" = 20 ] ||
	fail "the stopped replica should lack the new rows before replication"
replicate cont
state 1 >"$TMPDIR_TEST/s1"
grep -qi '^x-container-object-count: 30$' "$TMPDIR_TEST/s1" ||
	fail "replica 1 does not hold 30 objects: $(cat "$TMPDIR_TEST/s1")"
grep -qi '^x-container-meta-color: blue$' "$TMPDIR_TEST/s1" ||
	fail "replica 1 lacks the metadata"
grep -q '^o5 ' "$TMPDIR_TEST/s1" && fail "a deleted object is listed"
for k in 2 3; do
	state $k >"$TMPDIR_TEST/s$k"
	cmp -s "$TMPDIR_TEST/s1" "$TMPDIR_TEST/s$k" ||
		fail "replica $k differs from replica 1:
$(diff "$TMPDIR_TEST/s1" "$TMPDIR_TEST/s$k")"
done
[ -s "$TMPDIR_TEST/recon/cont1/container.recon" ] ||
	fail "no recon figures"
grep -q '"replication_stats"' "$TMPDIR_TEST/recon/cont1/container.recon" ||
	fail "no replication_stats in the recon cache"

grep -q 'container replication pass: .* dbs attempted' "$TMPDIR_TEST/cont1.log" ||
	fail "no background pass logged"

# a wiped device gets its databases back whole
stop_server cont 3
rm -rf "$NODE_DIR/cont3/d3"
mkdir "$NODE_DIR/cont3/d3"
start_server cont 3
[ "$(curl -s -o /dev/null -w '%{http_code}' -I \
	"http://127.0.0.1:${CONT_PORTS[3]}/d3/$part/AUTH_test/c")" = 404 ] ||
	fail "the wiped replica still answers"
replicate cont
state 3 >"$TMPDIR_TEST/s3"
cmp -s "$TMPDIR_TEST/s1" "$TMPDIR_TEST/s3" ||
	fail "the wiped replica differs after replication:
$(diff "$TMPDIR_TEST/s1" "$TMPDIR_TEST/s3")"
grep -q '"rsync": *[1-9]' "$TMPDIR_TEST/recon/cont1/container.recon" ||
	grep -q '"rsync": *[1-9]' "$TMPDIR_TEST/recon/cont2/container.recon" ||
	fail "no whole copy counted: $(cat "$TMPDIR_TEST"/recon/cont*/container.recon)"
echo "ok"
