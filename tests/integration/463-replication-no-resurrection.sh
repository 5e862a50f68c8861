#!/bin/bash
# 463-replication-no-resurrection: a deleted object row does not come
# back through replication. Container server 2 is stopped while o1 is
# DELETEd and o2 overwritten, so it still holds o1 live and o2's old row;
# it then replicates FIRST (pushing its stale rows to the others), and
# the tombstone and the newer row win on every replica: o1 is listed by
# none, nor through the proxy, and o2 has its new size everywhere.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/dbnodes.sh"
requires curl

start_db_cluster
read -r TOKEN URL < <(get_token test:tester testing)
[ -n "$TOKEN" ] || fail "no token"
H=(-H "X-Auth-Token: $TOKEN")
[ "$(status PUT "$URL/c" "${H[@]}")" = 201 ] || fail "container PUT"
for i in 1 2 3; do
	st=$(status PUT "$URL/c/o$i" "${H[@]}" --data-binary "body $i")
	[ "$st" = 201 ] || { tail -5 "$TMPDIR_TEST"/*.log; fail "PUT o$i: $st"; }
done
stop_server cont 2
[ "$(status DELETE "$URL/c/o1" "${H[@]}")" = 204 ] || fail "DELETE o1"
[ "$(status PUT "$URL/c/o2" "${H[@]}" --data-binary "a longer body")" = 201 ] ||
	fail "overwrite o2"
start_server cont 2

part=$(part_of /AUTH_test/c)
rows() {
	curl -s -D "$TMPDIR_TEST/rh" \
		"http://127.0.0.1:${CONT_PORTS[$1]}/d$1/$part/AUTH_test/c?format=json" >"$TMPDIR_TEST/rb"
	[ -s "$TMPDIR_TEST/rb" ] || { cat "$TMPDIR_TEST/rh"; tail -5 "$TMPDIR_TEST/cont$1.log"; }
	$PYTHON -c 'import json, sys
for o in json.load(sys.stdin):
    print(o["name"], o["bytes"])' <"$TMPDIR_TEST/rb"
}
rows 2 >"$TMPDIR_TEST/r2"
grep -q '^o1 ' "$TMPDIR_TEST/r2" || fail "replica 2 should still hold the stale o1"
# the stale replica pushes first, then the others
timeout 60 kumo-containerd "$TMPDIR_TEST/cont2.conf" --once replicate ||
	fail "replicate on 2"
for k in 1 3; do
	rows $k >"$TMPDIR_TEST/r$k"
	grep -q '^o1 ' "$TMPDIR_TEST/r$k" && fail "o1 came back on replica $k"
	grep -qx 'o2 13' "$TMPDIR_TEST/r$k" ||
		fail "o2 lost its new row on replica $k"
done
replicate cont
for k in 1 2 3; do
	rows $k >"$TMPDIR_TEST/r$k"
	grep -q '^o1 ' "$TMPDIR_TEST/r$k" && fail "o1 is listed by replica $k"
	grep -qx 'o2 13' "$TMPDIR_TEST/r$k" ||
		fail "replica $k: o2 is not 13 bytes"
	[ "$(wc -l <"$TMPDIR_TEST/r$k")" = 2 ] ||
		fail "replica $k lists $(cat "$TMPDIR_TEST/r$k")"
done
$SWIFT list c >"$TMPDIR_TEST/plist" || fail "swift list"
grep -qx o1 "$TMPDIR_TEST/plist" && fail "o1 is listed through the proxy"
[ "$(status GET "$URL/c/o1" "${H[@]}")" = 404 ] || fail "o1 readable"
echo ok
