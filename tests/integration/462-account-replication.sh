#!/bin/bash
# 462-account-replication: account replicas that missed writes agree
# again after one replication pass (common/dbreplicator.c).
#   - three account servers (tests/lib/dbnodes.sh), container servers
#     that never retry their account updates here (updater_interval
#     3600); account server 2 is stopped while containers are created,
#     filled and one deleted, and the account's metadata is POSTed; once
#     it is back and every account server runs --once replicate, each
#     replica, asked on its own backend port, answers the same container
#     listing (names, counts, bytes), container, object and byte counts
#     and metadata;
#   - account server 1's device is wiped while it is stopped: after a pass
#     it holds the whole account again.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/dbnodes.sh"
requires curl

CONT_UPDATER_INTERVAL=3600
start_db_cluster
read -r TOKEN URL < <(get_token test:tester testing)
[ -n "$TOKEN" ] || fail "no token"
H=(-H "X-Auth-Token: $TOKEN")
[ "$(status PUT "$URL/keep" "${H[@]}")" = 201 ] || fail "container PUT"
[ "$(status PUT "$URL/gone" "${H[@]}")" = 201 ] || fail "container PUT"

stop_server acc 2
for c in a b c; do
	[ "$(status PUT "$URL/$c" "${H[@]}")" = 201 ] || fail "PUT $c"
	[ "$(status PUT "$URL/$c/obj" "${H[@]}" --data-binary "in $c")" = 201 ] ||
		fail "PUT $c/obj"
done
[ "$(status DELETE "$URL/gone" "${H[@]}")" = 204 ] || fail "DELETE gone"
[ "$(status POST "$URL" "${H[@]}" -H "X-Account-Meta-Team: blue")" = 204 ] ||
	fail "account POST"
# the objects' reports reach the account through the container servers'
# updates, sent with each container change while account server 2 is down
start_server acc 2

part=$(part_of /AUTH_test)
state() {
	local port=${ACC_PORTS[$1]}
	curl -s -D "$TMPDIR_TEST/h$1" \
		"http://127.0.0.1:$port/d$1/$part/AUTH_test?format=json" |
		$PYTHON -c 'import json, sys
for c in json.load(sys.stdin):
    print(c["name"], c["count"], c["bytes"])'
	tr -d '\r' <"$TMPDIR_TEST/h$1" | grep -iE \
		'^x-account-(container-count|object-count|bytes-used|meta-team):' |
		tr 'A-Z' 'a-z' | sort
}
state 2 | grep -q '^a ' && fail "account server 2 should lack container a"
replicate acc
state 1 >"$TMPDIR_TEST/s1"
grep -q '^x-account-container-count: 4$' "$TMPDIR_TEST/s1" ||
	fail "replica 1 should count 4 containers: $(cat "$TMPDIR_TEST/s1")"
grep -q '^x-account-meta-team: blue$' "$TMPDIR_TEST/s1" ||
	fail "replica 1 lacks the metadata"
grep -q '^gone ' "$TMPDIR_TEST/s1" && fail "a deleted container is listed"
for k in 2 3; do
	state $k >"$TMPDIR_TEST/s$k"
	cmp -s "$TMPDIR_TEST/s1" "$TMPDIR_TEST/s$k" ||
		fail "replica $k differs from replica 1:
$(diff "$TMPDIR_TEST/s1" "$TMPDIR_TEST/s$k")"
done

stop_server acc 1
rm -rf "$NODE_DIR/acc1/d1"
mkdir "$NODE_DIR/acc1/d1"
start_server acc 1
replicate acc
state 1 >"$TMPDIR_TEST/w1"
cmp -s "$TMPDIR_TEST/s2" "$TMPDIR_TEST/w1" ||
	fail "the wiped replica differs after replication:
$(diff "$TMPDIR_TEST/s2" "$TMPDIR_TEST/w1")"
echo ok
