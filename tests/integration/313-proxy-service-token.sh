#!/bin/bash
# 313-proxy-service-token: X-Service-Token and a second reseller prefix,
# as Swift's tempauth with reseller_prefix = AUTH, SERVICE and
# SERVICE_require_group = service (test5:tester5 is in group service).
#   - SERVICE_test needs both test:tester's token and a service token of a
#     user in group service: each alone is 403, as is a service token of a
#     user outside the group; with both, container and object writes and
#     reads work (curl and the swift client with -H X-Service-Token);
#   - AUTH_test still needs the user's token only; an account outside both
#     prefixes is 403;
#   - a bad service token adds nothing (403), a bad user token is 401.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl /usr/bin/swift

TEMPAUTH_EXTRA_CONF="reseller_prefix = AUTH, SERVICE
SERVICE_require_group = service"
start_proxy_cluster
cd "$TMPDIR_TEST"
read -r TOKEN URL < <(get_token test:tester testing)
read -r T5 _ < <(get_token test5:tester5 testing5)
read -r T3 _ < <(get_token test:tester3 testing3)
[ "$URL" = "$PROXY_URL/v1/AUTH_test" ] || fail "storage URL $URL"
S=$PROXY_URL/v1/SERVICE_test
A="X-Auth-Token: $TOKEN"
SV="X-Service-Token: $T5"
printf 'svc\n' >obj

[ "$(status PUT "$S/c" -H "$A")" = 403 ] || fail "user token alone not 403"
[ "$(status PUT "$S/c" -H "X-Auth-Token: $T5")" = 403 ] ||
	fail "service user's token alone not 403"
[ "$(status PUT "$S/c" -H "$A" -H "X-Service-Token: $T3")" = 403 ] ||
	fail "service token of a user outside group service not 403"
[ "$(status PUT "$S/c" -H "$A" -H 'X-Service-Token: AUTH_tkbogus')" = 403 ] ||
	fail "bogus service token not 403"
[ "$(status PUT "$S/c" -H "$A" -H "$SV")" = 201 ] ||
	fail "user + service token container PUT"
[ "$(status PUT "$S/c/o" -T obj -H "$A" -H "$SV")" = 201 ] ||
	fail "user + service token object PUT"
[ "$(curl -s -H "$A" -H "$SV" "$S/c/o")" = svc ] || fail "object GET"
[ "$(curl -s -H "$A" -H "$SV" "$S/c")" = o ] || fail "listing"
[ "$(status GET "$S/c/o" -H "$A")" = 403 ] || fail "GET without service token"
[ "$(status GET "$S/c/o" -H "X-Auth-Token: AUTH_tkbogus" -H "$SV")" = 401 ] ||
	fail "bad user token not 401"
[ "$(status GET "$S/c/o" -H "X-Auth-Token: $T3" -H "$SV")" = 403 ] ||
	fail "non-admin user + service token not 403"

# the swift client, with the service token as a header
SW="/usr/bin/swift -A $AUTH_URL -U test:tester -K testing --os-storage-url $S"
# (-H applies to the object PUT only: no HEAD first, its container
# PUT warns)
$SW upload --leave-segments -H "X-Service-Token: $T5" c obj \
	--object-name cli >/dev/null 2>&1 ||
	fail "swift upload with a service token"
$SW post -H "X-Service-Token: $T5" -m Color:green c cli ||
	fail "swift post with a service token"
[ "$(curl -s -I -H "$A" -H "$SV" "$S/c/cli" | tr -d '\r' |
	awk -F': ' 'tolower($1)=="x-object-meta-color"{print $2}')" = green ] ||
	fail "metadata via the swift client"
$SW upload --leave-segments c obj --object-name nosvc >/dev/null 2>&1 &&
	fail "swift upload without a service token worked"

# AUTH_ is unchanged; other prefixes are refused
[ "$(status PUT "$URL/c" -H "$A")" = 201 ] || fail "AUTH_test with user token"
[ "$(status HEAD "$PROXY_URL/v1/OTHER_test" -H "$A" -H "$SV")" = 403 ] ||
	fail "OTHER_ prefix not 403"
echo "313-proxy-service-token: ok"
