#!/bin/bash
# 464-replication-reclaim: tombstones go after reclaim_age (here 2 s).
#   - three objects are DELETEd; once they are older than reclaim_age, a
#     replication pass removes their tombstone rows on every replica (the
#     recon figure "reclaimed" counts them) and the listing and counts are
#     unchanged;
#   - a DELETEd container is removed whole by the next pass after
#     reclaim_age: its backend HEAD no longer knows its delete timestamp;
#   - before reclaim_age nothing of either is removed.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/dbnodes.sh"
requires curl

DB_EXTRA_CONF="reclaim_age = 2"
start_db_cluster
read -r TOKEN URL < <(get_token test:tester testing)
[ -n "$TOKEN" ] || fail "no token"
H=(-H "X-Auth-Token: $TOKEN")
for c in c gone; do
	[ "$(status PUT "$URL/$c" "${H[@]}")" = 201 ] || fail "PUT $c"
done
for i in 1 2 3 4 5; do
	[ "$(status PUT "$URL/c/o$i" "${H[@]}" --data-binary "b$i")" = 201 ] ||
		fail "PUT o$i"
done
for i in 1 2 3; do
	[ "$(status DELETE "$URL/c/o$i" "${H[@]}")" = 204 ] || fail "DELETE o$i"
done
[ "$(status DELETE "$URL/gone" "${H[@]}")" = 204 ] || fail "DELETE gone"
replicate cont
reclaimed() {
	$PYTHON -c 'import json, sys
print(sum(json.load(open(f))["replication_stats"]["reclaimed"]
          for f in sys.argv[1:]))' "$TMPDIR_TEST"/recon/cont*/container.recon
}
[ "$(reclaimed)" = 0 ] || fail "tombstones reclaimed before reclaim_age"
gpart=$(part_of /AUTH_test/gone)
delts() {
	curl -s -I "http://127.0.0.1:${CONT_PORTS[$1]}/d$1/$gpart/AUTH_test/gone" |
		tr -d '\r' | awk -F': ' 'tolower($1) == "x-backend-delete-timestamp" { print $2 }'
}
[ "$(delts 1)" != 0000000000.00000 ] || fail "the deleted container is gone too early"
sleep 3
replicate cont
# each replica reclaims its own three tombstones
[ "$(reclaimed)" = 9 ] || fail "reclaimed $(reclaimed) tombstone rows, not 9"
part=$(part_of /AUTH_test/c)
for k in 1 2 3; do
	[ "$(delts $k)" = 0000000000.00000 ] ||
		fail "replica $k still keeps the deleted container ($(delts $k))"
	curl -s -I "http://127.0.0.1:${CONT_PORTS[$k]}/d$k/$part/AUTH_test/c" |
		tr -d '\r' | grep -qi '^x-container-object-count: 2$' ||
		fail "replica $k lost its counts"
	[ "$(curl -s "http://127.0.0.1:${CONT_PORTS[$k]}/d$k/$part/AUTH_test/c")" = "o4
o5" ] || fail "replica $k lists something else"
done
echo ok
