#!/bin/bash
# 416-cluster-dot-names: `.` and `..` path segments are plain characters of
# a name in Swift (its split_path keeps them; only a device or partition
# of "." or ".." is refused, by validate_device_partition), so through
# kumo-aio:
#   - objects ./o, ../o, a/../../b and x/./y (sent with curl --path-as-is)
#     are stored, read back, listed and counted under exactly those names,
#     and no other name (o, b, x/y, a container o) appears;
#   - a container named .. can be created, holds an object, and is listed
#     in the account;
#   - the servers' updates (object -> container, container -> account)
#     carry those names unchanged, so nothing is left to retry.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl

start_cluster
read -r TOKEN URL < <(get_token test:tester testing)
[ -n "$TOKEN" ] || fail "no token"
T="X-Auth-Token: $TOKEN"
c() { curl -s --path-as-is -H "$T" "$@"; }
[ "$(status PUT "$URL/c" -H "$T")" = 201 ] || fail "container PUT"

names=("./o" "../o" "a/../../b" "x/./y")
for n in "${names[@]}"; do
	code=$(printf '%s' "$n" | c -o /dev/null -w '%{http_code}' -T - \
		"$URL/c/$n")
	[ "$code" = 201 ] || fail "PUT c/$n: $code"
done
for n in "${names[@]}"; do
	[ "$(c "$URL/c/$n")" = "$n" ] || fail "GET c/$n: $(c "$URL/c/$n")"
done
for n in o b x/y; do
	[ "$(c -o /dev/null -w '%{http_code}' "$URL/c/$n")" = 404 ] ||
		fail "c/$n exists, though never written"
done
want=$(printf '%s\n' "${names[@]}" | LC_ALL=C sort)
for i in $(seq 1 20); do
	[ "$(c "$URL/c")" = "$want" ] && break
	sleep 0.1
done
[ "$(c "$URL/c")" = "$want" ] ||
	fail "listing of c: $(c "$URL/c" | tr '\n' ' '), want $(echo $want)"
count=$(c -I "$URL/c" | tr -d '\r' |
	awk -F': ' 'tolower($1) == "x-container-object-count" {print $2}')
[ "$count" = 4 ] || fail "X-Container-Object-Count $count, want 4"

code=$(c -o /dev/null -w '%{http_code}' -X PUT "$URL/..")
[ "$code" = 201 ] || fail "PUT container ..: $code"
code=$(printf dotdot | c -o /dev/null -w '%{http_code}' -T - "$URL/../o")
[ "$code" = 201 ] || fail "PUT object o in container ..: $code $(
	printf dotdot | c -T - "$URL/../o")"
[ "$(c "$URL/../o")" = dotdot ] || fail "GET ../o (container ..)"
for i in $(seq 1 20); do
	[ "$(c "$URL")" = "$(printf '..\nc')" ] && break
	sleep 0.1
done
[ "$(c "$URL")" = "$(printf '..\nc')" ] ||
	fail "account listing: $(c "$URL" | tr '\n' ' '), want .. c"
[ "$(c "$URL/..")" = o ] || fail "listing of container ..: $(c "$URL/..")"

# nothing went astray: no update was refused and left to retry
sleep 1
if grep -E '(account|container)-server PUT [^ ]* 4[0-9][0-9] ' \
	"$TMPDIR_TEST/aio.err" >"$TMPDIR_TEST/refused"; then
	cat "$TMPDIR_TEST/refused" >&2
	fail "a server refused an update"
fi
echo "416-cluster-dot-names: ok"
