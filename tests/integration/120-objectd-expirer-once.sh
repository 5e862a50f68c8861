#!/bin/bash
# 120-objectd-expirer-once: objects with X-Delete-At through kumo-proxy,
# expired by `kumo-objectd CONF --once expire` (issue 3).
#   - a PUT with X-Delete-After writes one expiry entry per replica under
#     <dev>/expiring/<delete_at>-<hash>;
#   - once the time has passed the object answers 404 at once, but stays
#     listed until the expirer runs;
#   - after `--once expire`: no .data of it on any device, a tombstone
#     named <delete_at>.00000.ts on each replica, no entry left, the
#     container listing drops it and the object count goes down;
#   - a PUT without X-Delete-At after an earlier one expired is kept;
#   - a POST without X-Delete-At cancels the expiry (entries removed);
#   - a POST with X-Delete-After makes an existing object expire;
#   - objects without X-Delete-At are untouched.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl md5sum

start_proxy_cluster
cd "$TMPDIR_TEST"
read -r TOKEN URL < <(get_token test:tester testing)
T="X-Auth-Token: $TOKEN"
ACCT=${URL##*/}
C=$URL/c
[ "$(status PUT "$C" -H "$T")" = 201 ] || fail "container PUT"
printf 'data\n' >body

# hash DIR-NAME: the object hash of /ACCT/c/NAME (prefix "", suffix
# test-suffix, as start_proxy_cluster configures).
hash_of() { printf '/%s/c/%stest-suffix' "$ACCT" "$1" | md5sum | cut -d' ' -f1; }
count() { find "$NODE_DIR" -path "*/$1" 2>/dev/null | wc -l; }
obj_count() {
	curl -s -I -H "$T" "$C" | tr -d '\r' |
		awk -F': ' 'tolower($1) == "x-container-object-count" { print $2 }'
}

put() { # put NAME [curl args...]
	local n=$1
	shift
	[ "$(status PUT "$C/$n" -T body -H "$T" "$@")" = 201 ] || fail "PUT $n"
}

put keep
put gone -H "X-Delete-After: 2"
put reput -H "X-Delete-After: 2"
put posted -H "X-Delete-After: 2"
put later
[ "$(status POST "$C/later" -H "$T" -H "X-Delete-After: 2")" = 202 ] ||
	fail "POST X-Delete-After"
HG=$(hash_of gone)
[ "$(count "expiring/*-$HG")" = 3 ] ||
	fail "expected 3 expiry entries of gone: $(find "$NODE_DIR" -path '*expiring*')"
[ "$(count "expiring/*-$(hash_of later)")" = 3 ] ||
	fail "POST X-Delete-After made no entries"
da=$(find "$NODE_DIR" -path "*expiring/*-$HG" | head -1)
da=${da##*/}
da=${da%%-*}

# a POST without X-Delete-At cancels the expiry
[ "$(status POST "$C/posted" -H "$T" -H "X-Object-Meta-Color: red")" = 202 ] ||
	fail "POST"
[ "$(count "expiring/*-$(hash_of posted)")" = 0 ] ||
	fail "POST without X-Delete-At left expiry entries"
[ "$(obj_count)" = 5 ] || fail "object count $(obj_count), expected 5"

# wait until every delete time has passed
while [ "$(date +%s)" -le $((da + 1)) ]; do sleep 0.2; done
[ "$(status GET "$C/gone" -H "$T")" = 404 ] || fail "expired object not 404"
[ "$(status GET "$C/later" -H "$T")" = 404 ] || fail "expired (POST) not 404"
[ "$(status GET "$C/posted" -H "$T")" = 200 ] || fail "cancelled expiry"
curl -s -H "$T" "$C" | grep -qx gone ||
	fail "listing dropped gone before the expirer ran"
[ "$(count "$HG/*.data")" = 3 ] || fail "the .data went before the expirer"

# a PUT after the earlier X-Delete-At passed is a new object, kept
put reput
[ "$(count "expiring/*-$(hash_of reput)")" = 0 ] ||
	fail "PUT without X-Delete-At left the old entries"

expect_exit 0 kumo-objectd "$CONF" --once expire
[ "$(count "$HG/*.data")" = 0 ] ||
	fail ".data of an expired object left: $(find "$NODE_DIR" -path "*$HG*")"
[ "$(count "$HG/$da.00000.ts")" = 3 ] ||
	fail "no tombstone at X-Delete-At: $(find "$NODE_DIR" -path "*$HG*")"
[ "$(count "$(hash_of later)/*.data")" = 0 ] || fail "later not expired"
left=$(find "$NODE_DIR" -path '*expiring/*' -type f | wc -l)
[ "$left" = 0 ] || fail "expiry entries left: $(find "$NODE_DIR" -path '*expiring/*')"
curl -s -H "$T" "$C" >listing
grep -qx gone listing && fail "gone still listed: $(cat listing)"
grep -qx later listing && fail "later still listed: $(cat listing)"
for n in keep reput posted; do
	grep -qx $n listing || fail "$n not listed: $(cat listing)"
	[ "$(status GET "$C/$n" -H "$T")" = 200 ] || fail "$n not 200"
done
[ "$(obj_count)" = 3 ] || fail "object count $(obj_count), expected 3"
[ "$(curl -s -H "$T" "$C/posted" -I | tr -d '\r' |
	awk -F': ' 'tolower($1) == "x-object-meta-color" { print $2 }')" = red ] ||
	fail "POST metadata lost"

# a second pass has nothing to do and changes nothing
expect_exit 0 kumo-objectd "$CONF" --once expire
[ "$(count "$(hash_of keep)/*.data")" = 3 ] || fail "keep lost a replica"
echo "120-objectd-expirer-once: ok"
