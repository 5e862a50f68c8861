#!/bin/bash
# 465-account-reaper: the reaper empties a deleted account
# (accountd/reaper.c).
# The proxy has no account DELETE (Swift's allow_account_management is
# off), so the test marks the account deleted as swift-account-reaper's
# own tests do: a backend DELETE on each account server. Then:
#   - before reaper_delay (8 s: room for slow sanitizer builds) a reaper
#     pass leaves everything;
#   - after it, one pass (every server runs it; only the account's first
#     primary acts) deletes every object from every object server, every
#     container from every container server, and the account's container
#     rows; its figures are in the recon cache.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/dbnodes.sh"
requires curl

ACC_EXTRA_CONF="reaper_delay = 8"
start_db_cluster
read -r TOKEN URL < <(get_token test:tester testing)
[ -n "$TOKEN" ] || fail "no token"
H=(-H "X-Auth-Token: $TOKEN")
for c in c1 c2; do
	[ "$(status PUT "$URL/$c" "${H[@]}")" = 201 ] || fail "PUT $c"
	for i in 1 2 3 4 5; do
		[ "$(status PUT "$URL/$c/o$i" "${H[@]}" --data-binary "$c $i")" = 201 ] ||
			fail "PUT $c/o$i"
	done
done
# a keeper in another account must survive
read -r TOKEN2 URL2 < <(get_token admin:admin admin)
[ "$(status PUT "$URL2/keep" -H "X-Auth-Token: $TOKEN2")" = 201 ] ||
	fail "PUT keep"
[ "$(status PUT "$URL2/keep/o" -H "X-Auth-Token: $TOKEN2" --data-binary k)" = 201 ] ||
	fail "PUT keep/o"

apart=$(part_of /AUTH_test)
ts=$($PYTHON -c 'import time; print("%.5f" % time.time())')
for k in 1 2 3; do
	[ "$(status DELETE "http://127.0.0.1:${ACC_PORTS[$k]}/d$k/$apart/AUTH_test" \
		-H "X-Timestamp: $ts")" = 204 ] || fail "account DELETE on $k"
done
curl -s -I "http://127.0.0.1:${ACC_PORTS[1]}/d1/$apart/AUTH_test" | tr -d '\r' |
	grep -qi '^x-account-status: deleted' || fail "the account is not marked deleted"

# objects on disk, through each object server's backend
objects_left() {
	local n=0 c i k p code
	for c in c1 c2; do
		for i in 1 2 3 4 5; do
			p=$(part_of "/AUTH_test/$c/o$i")
			for k in 1 2 3; do
				code=$(status HEAD "http://127.0.0.1:${OBJ_PORTS[$k]}/d$k/$p/AUTH_test/$c/o$i")
				[ "$code" = 200 ] && n=$((n + 1))
			done
		done
	done
	echo $n
}
containers_left() {
	local n=0 c k p
	for c in c1 c2; do
		p=$(part_of "/AUTH_test/$c")
		for k in 1 2 3; do
			[ "$(status HEAD "http://127.0.0.1:${CONT_PORTS[$k]}/d$k/$p/AUTH_test/$c")" = 204 ] &&
				n=$((n + 1))
		done
	done
	echo $n
}
reap() {
	local k
	for k in 1 2 3; do
		timeout 60 kumo-accountd "$TMPDIR_TEST/acc$k.conf" --once reap ||
			fail "reaper $k failed"
	done
}
[ "$(objects_left)" = 30 ] || fail "expected 30 object replicas, found $(objects_left)"
reap
[ "$(objects_left)" = 30 ] || fail "the reaper did not wait reaper_delay"
# until reaper_delay has passed since the DELETE's timestamp
sleep "$($PYTHON -c "import time; print('%.2f' % max(0, $ts + 8.3 - time.time()))")"
reap
[ "$(objects_left)" = 0 ] || fail "$(objects_left) object replicas survive the reaper"
[ "$(containers_left)" = 0 ] || fail "$(containers_left) container replicas survive"
[ "$(status GET "$URL2/keep/o" -H "X-Auth-Token: $TOKEN2")" = 200 ] ||
	fail "another account's object was reaped"
$PYTHON -c 'import json, sys
s = [json.load(open(f)).get("reaper_stats", {}) for f in sys.argv[1:]]
assert sum(x.get("objects_deleted", 0) for x in s) == 10, s
assert sum(x.get("containers_deleted", 0) for x in s) == 2, s
assert sum(x.get("accounts", 0) for x in s) == 1, s' \
	"$TMPDIR_TEST"/recon/acc*/account.recon || fail "reaper figures"
grep -q 'reaper pass: ' "$TMPDIR_TEST/acc1.log" ||
	fail "the background reaper logged no pass"
echo ok
