#!/bin/bash
# 460-container-down-updater: fault test 7 of the durability issue. A
# container server is down while objects are PUT and DELETEd: the object
# servers keep the container updates they could not send (async
# pendings); once the container server is back and the object updaters
# run (kumo-objectd --once update), its listing, object count and bytes
# used catch up with the other replicas, without any replication.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/dbnodes.sh"
requires curl

start_db_cluster
read -r TOKEN URL < <(get_token test:tester testing)
[ -n "$TOKEN" ] || fail "no token"
H=(-H "X-Auth-Token: $TOKEN")
[ "$(status PUT "$URL/c" "${H[@]}")" = 201 ] || fail "container PUT"
for i in $(seq 1 5); do
	[ "$(status PUT "$URL/c/old$i" "${H[@]}" --data-binary "x$i")" = 201 ] ||
		fail "PUT old$i"
done
stop_server cont 2
for i in $(seq 1 30); do
	[ "$(status PUT "$URL/c/o$i" "${H[@]}" --data-binary "body $i")" = 201 ] ||
		fail "PUT o$i with a container server down"
done
for i in 1 2 3; do
	[ "$(status DELETE "$URL/c/old$i" "${H[@]}")" = 204 ] ||
		fail "DELETE old$i"
done
start_server cont 2

part=$(part_of /AUTH_test/c)
listing() {
	curl -s "http://127.0.0.1:${CONT_PORTS[$1]}/d$1/$part/AUTH_test/c"
}
count() {
	curl -s -I "http://127.0.0.1:${CONT_PORTS[$1]}/d$1/$part/AUTH_test/c" |
		tr -d '\r' | awk -F': ' 'tolower($1) == "x-container-object-count" { print $2 }'
}
[ "$(count 2)" = 5 ] || fail "the returned server should still list 5, not $(count 2)"
pend=$(find "$NODE_DIR"/obj*/d*/async_pending* -type f 2>/dev/null | wc -l)
[ "$pend" -gt 0 ] || fail "no async pendings were kept"
for k in 1 2 3; do
	timeout 60 kumo-objectd "$TMPDIR_TEST/obj$k.conf" --once update ||
		fail "object updater $k failed"
done
[ "$(count 2)" = 32 ] || fail "after the updaters the returned server counts $(count 2), not 32"
listing 1 >"$TMPDIR_TEST/l1"
listing 2 >"$TMPDIR_TEST/l2"
[ "$(wc -l <"$TMPDIR_TEST/l1")" = 32 ] || fail "replica 1 lists $(wc -l <"$TMPDIR_TEST/l1")"
cmp -s "$TMPDIR_TEST/l1" "$TMPDIR_TEST/l2" || fail "listings differ:
$(diff "$TMPDIR_TEST/l1" "$TMPDIR_TEST/l2")"
grep -qx old1 "$TMPDIR_TEST/l2" && fail "a deleted object is listed"
pend=$(find "$NODE_DIR"/obj*/d*/async_pending* -type f 2>/dev/null | wc -l)
[ "$pend" = 0 ] || fail "$pend async pendings are left"
echo ok
