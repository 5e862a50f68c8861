#!/bin/bash
# 466-container-handoff: a container database on a handoff goes to its
# primaries and then leaves the handoff (common/dbreplicator.c).
#   - four container servers (tests/lib/dbnodes.sh, DB_NODES=4); the
#     container's first primary is stopped while it is created, so the
#     proxy puts it on the handoff, and objects are PUT into it;
#   - once the primary is back and every server runs --once replicate,
#     the handoff no longer holds it, every primary answers it with all
#     the objects and the metadata given at creation, and the handoff's
#     pass counts the removal.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/dbnodes.sh"
requires curl

DB_NODES=4
start_db_cluster
read -r TOKEN URL < <(get_token test:tester testing)
[ -n "$TOKEN" ] || fail "no token"
H=(-H "X-Auth-Token: $TOKEN")
read -r p1 p2 p3 ho < <(nodes_of container AUTH_test/c)
[ -n "$ho" ] || fail "no handoff for the container"
part=$(part_of /AUTH_test/c)
head_on() {
	status HEAD "http://127.0.0.1:${CONT_PORTS[$1]}/d$1/$part/AUTH_test/c"
}

stop_server cont "$p1"
[ "$(status PUT "$URL/c" "${H[@]}" -H "X-Container-Meta-Where: handoff")" = 201 ] ||
	fail "container PUT with a primary down"
[ "$(head_on "$ho")" = 204 ] || fail "the handoff d$ho did not take the container"
for i in 1 2 3 4 5; do
	[ "$(status PUT "$URL/c/o$i" "${H[@]}" --data-binary "b$i")" = 201 ] ||
		fail "PUT o$i"
done
start_server cont "$p1"
replicate cont
[ "$(head_on "$ho")" = 404 ] || fail "the handoff still holds the container"
for k in "$p1" "$p2" "$p3"; do
	hdrs=$(curl -s -I "http://127.0.0.1:${CONT_PORTS[$k]}/d$k/$part/AUTH_test/c" |
		tr -d '\r' | tr 'A-Z' 'a-z')
	grep -qx 'x-container-object-count: 5' <<<"$hdrs" ||
		fail "primary d$k does not hold the 5 objects: $hdrs"
	grep -qx 'x-container-meta-where: handoff' <<<"$hdrs" ||
		fail "primary d$k lacks the metadata"
done
$PYTHON -c 'import json, sys
s = json.load(open(sys.argv[1]))["replication_stats"]
assert s["remove"] >= 1, s' "$TMPDIR_TEST/recon/cont$ho/container.recon" ||
	fail "the handoff's pass did not count the removal"
echo ok
