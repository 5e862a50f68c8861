#!/bin/bash
# 320-proxy-storage-policy: the single default storage policy, as Swift
# 2.30 with no policies in swift.conf:
#   - GET /info lists "policies": [{"name": "Policy-0", "aliases":
#     "Policy-0", "default": true, "policy_type": "replication"}] (Swift
#     leaves policy_type out; kumo shows it);
#   - container PUT with X-Storage-Policy: Policy-0 (any case) 201, with
#     an unknown name 400 "Invalid X-Storage-Policy 'x'" (not created);
#     HEAD and GET name the policy in X-Storage-Policy (also for a
#     container made without one);
#   - account HEAD/GET: X-Account-Storage-Policy-Policy-0-Container-Count,
#     -Object-Count and -Bytes-Used follow the containers and objects
#     (none before any container); `swift stat` shows them.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl /usr/bin/swift

start_proxy_cluster
read -r TOKEN URL < <(get_token test:tester testing)
T="X-Auth-Token: $TOKEN"
H=$TMPDIR_TEST/h

curl -s "$PROXY_URL/info" | $PYTHON -c '
import json, sys
p = json.load(sys.stdin)["swift"]["policies"]
assert p == [{"name": "Policy-0", "aliases": "Policy-0", "default": True,
              "policy_type": "replication"}], p
' || fail "/info policies"

# an account with no container yet: no per-policy stats (Swift's
# FakeAccountBroker has none)
curl -s -I -H "$T" "$URL" | tr -d '\r' >"$H"
grep -qi '^x-account-storage-policy-' "$H" && fail "policy stats too early"

[ "$(status PUT "$URL/c1" -H "$T" -H 'X-Storage-Policy: Policy-0')" = 201 ] ||
	fail "PUT Policy-0 not 201"
[ "$(status PUT "$URL/c2" -H "$T" -H 'X-Storage-Policy: pOlIcY-0')" = 201 ] ||
	fail "PUT pOlIcY-0 not 201"
[ "$(status PUT "$URL/c3" -H "$T")" = 201 ] || fail "PUT default not 201"
# the same policy again on an existing container: accepted
[ "$(status PUT "$URL/c1" -H "$T" -H 'X-Storage-Policy: policy-0')" = 202 ] ||
	fail "PUT again not 202"
code=$(curl -s -o "$H" -w '%{http_code}' -X PUT -H "$T" \
	-H 'X-Storage-Policy: gold' "$URL/c4")
[ "$code" = 400 ] || fail "unknown policy: $code"
[ "$(cat "$H")" = "Invalid X-Storage-Policy 'gold'" ] ||
	fail "unknown policy body: $(cat "$H")"
[ "$(status HEAD "$URL/c4" -H "$T")" = 404 ] || fail "c4 was created"

for c in c1 c2 c3; do
	curl -s -I -H "$T" "$URL/$c" | tr -d '\r' >"$H"
	grep -q '^X-Storage-Policy: Policy-0$' "$H" ||
		fail "HEAD $c: $(cat "$H")"
	grep -qi '^x-backend-' "$H" && fail "backend header leaked: $(cat "$H")"
	curl -s -D "$H" -o /dev/null -H "$T" "$URL/$c?format=json"
	tr -d '\r' <"$H" | grep -q '^X-Storage-Policy: Policy-0$' ||
		fail "GET $c: $(cat "$H")"
done

printf 'hello' | curl -s -o /dev/null -T - -H "$T" "$URL/c1/o1"
printf 'abc' | curl -s -o /dev/null -T - -H "$T" "$URL/c2/o2"
pstat() { tr -d '\r' <"$H" | awk -F': ' -v n="$1" 'tolower($1) == tolower(n) { print $2 }'; }
P=X-Account-Storage-Policy-Policy-0
for i in $(seq 1 50); do
	curl -s -I -H "$T" "$URL" | tr -d '\r' >"$H"
	[ "$(pstat $P-Bytes-Used)" = 8 ] && [ "$(pstat $P-Object-Count)" = 2 ] &&
		break
	sleep 0.2
done
[ "$i" -lt 50 ] || fail "policy stats did not converge: $(cat "$H")"
[ "$(pstat $P-Container-Count)" = 3 ] || fail "container count: $(cat "$H")"
[ "$(pstat X-Account-Bytes-Used)" = 8 ] || fail "account bytes: $(cat "$H")"
curl -s -D "$H" -o /dev/null -H "$T" "$URL?format=json"
[ "$(pstat $P-Container-Count)" = 3 ] || fail "GET account: $(cat "$H")"

# a deleted container leaves the policy's count
curl -s -o /dev/null -X DELETE -H "$T" "$URL/c2/o2"
[ "$(status DELETE "$URL/c2" -H "$T")" = 204 ] || fail "DELETE c2 not 204"
for i in $(seq 1 50); do
	curl -s -I -H "$T" "$URL" | tr -d '\r' >"$H"
	[ "$(pstat $P-Container-Count)" = 2 ] &&
		[ "$(pstat $P-Bytes-Used)" = 5 ] && break
	sleep 0.2
done
[ "$i" -lt 50 ] || fail "stats after delete: $(cat "$H")"

$SWIFT stat >"$H" 2>&1 || fail "swift stat: $(cat "$H")"
grep -qi 'Containers in policy "policy-0": 2' "$H" ||
	fail "swift stat containers: $(cat "$H")"
grep -qi 'Objects in policy "policy-0": 1' "$H" ||
	fail "swift stat objects: $(cat "$H")"
grep -qi 'Bytes in policy "policy-0": 5' "$H" ||
	fail "swift stat bytes: $(cat "$H")"
$SWIFT stat c1 >"$H" 2>&1 || fail "swift stat c1: $(cat "$H")"
echo "320-proxy-storage-policy: ok"
