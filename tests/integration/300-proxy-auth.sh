#!/bin/bash
# 300-proxy-auth: tempauth v1.0 in kumo-proxy, as Swift's tempauth.
#   - GET /auth/v1.0 (and /auth/v1.0/) with X-Auth-User/X-Auth-Key or
#     X-Storage-User/X-Storage-Pass: 200, X-Auth-Token = X-Storage-Token =
#     AUTH_tk<hex>, X-Auth-Token-Expires, X-Storage-Url built from the Host
#     header; the same token again while it lives; bad key or user: 401.
#   - /v1 without a token or with an unknown one: 401; a non-admin user, or
#     an admin of another account: 403; a reseller admin: allowed; account
#     PUT/DELETE: refused.
#   - /healthcheck and /info answer without a token; /info holds Swift's
#     limits.
#   - the swift client authenticates and stats the (autocreated) account.
#   - etc/proxy-server.conf-sample is what kumo-proxy --sample prints.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl /usr/bin/swift

cmp <(kumo-proxy --sample) "$TOP_DIR/etc/proxy-server.conf-sample" ||
	fail "etc/proxy-server.conf-sample differs from kumo-proxy --sample"

start_proxy_cluster
H=$TMPDIR_TEST/h

curl -s -D "$H" -o /dev/null -H "X-Auth-User: test:tester" \
	-H "X-Auth-Key: testing" -H "Host: swift.example:1234" "$AUTH_URL"
tr -d '\r' <"$H" >"$H.1"
head -1 "$H.1" | grep -q " 200" || fail "auth did not answer 200"
tok=$(awk -F': ' 'tolower($1)=="x-auth-token"{print $2}' "$H.1")
stok=$(awk -F': ' 'tolower($1)=="x-storage-token"{print $2}' "$H.1")
[[ $tok =~ ^AUTH_tk[0-9a-f]{32}$ ]] || fail "bad token '$tok'"
[ "$tok" = "$stok" ] || fail "X-Storage-Token differs from X-Auth-Token"
grep -qi "^x-storage-url: http://swift.example:1234/v1/AUTH_test$" "$H.1" ||
	fail "storage url not from the Host header: $(cat "$H.1")"
exp=$(awk -F': ' 'tolower($1)=="x-auth-token-expires"{print $2}' "$H.1")
[ "$exp" -gt 86000 ] && [ "$exp" -le 86400 ] || fail "expires '$exp'"

# the other header pair, a trailing slash, and the token is reused
read -r tok2 url < <(curl -s -D - -o /dev/null -H "X-Storage-User: test:tester" \
	-H "X-Storage-Pass: testing" "$AUTH_URL/" | tr -d '\r' |
	awk -F': ' 'tolower($1)=="x-auth-token"{t=$2}
		tolower($1)=="x-storage-url"{u=$2} END{print t, u}')
[ "$tok2" = "$tok" ] || fail "a live token was not reused ($tok2)"
[ "$url" = "$PROXY_URL/v1/AUTH_test" ] || fail "storage url $url"

[ "$(status GET "$AUTH_URL" -H 'X-Auth-User: test:tester' \
	-H 'X-Auth-Key: wrong')" = 401 ] || fail "bad key not 401"
[ "$(status GET "$AUTH_URL" -H 'X-Auth-User: test:nobody' \
	-H 'X-Auth-Key: testing')" = 401 ] || fail "bad user not 401"
[ "$(status GET "$AUTH_URL")" = 401 ] || fail "no credentials not 401"

A=$PROXY_URL/v1/AUTH_test
[ "$(status HEAD "$A")" = 401 ] || fail "no token not 401"
[ "$(status HEAD "$A" -H 'X-Auth-Token: AUTH_tkbogus')" = 401 ] ||
	fail "unknown token not 401"
[ "$(status HEAD "$A" -H "X-Auth-Token: $tok")" = 204 ] ||
	fail "admin HEAD of its account not 204"
[ "$(status HEAD "$A" -H "X-Storage-Token: $tok")" = 204 ] ||
	fail "X-Storage-Token not accepted"
read -r t3 _ < <(get_token test:tester3 testing3)
[ "$(status HEAD "$A" -H "X-Auth-Token: $t3")" = 403 ] ||
	fail "non-admin user not 403"
read -r t2 _ < <(get_token test2:tester2 testing2)
[ "$(status HEAD "$A" -H "X-Auth-Token: $t2")" = 403 ] ||
	fail "admin of another account not 403"
[ "$(status HEAD "$PROXY_URL/v1/OTHER_test" -H "X-Auth-Token: $tok")" = 403 ] ||
	fail "account outside the reseller prefix not 403"
read -r ta _ < <(get_token admin:admin admin)
[ "$(status PUT "$A/fromadmin" -H "X-Auth-Token: $ta")" = 201 ] ||
	fail "reseller admin could not create a container in AUTH_test"
[ "$(status PUT "$A" -H "X-Auth-Token: $tok")" = 403 ] ||
	fail "account PUT by its admin not 403"

[ "$(curl -s "$PROXY_URL/healthcheck")" = OK ] || fail "healthcheck"
curl -s "$PROXY_URL/info" >"$TMPDIR_TEST/info"
$PYTHON - "$TMPDIR_TEST/info" <<'PY' || fail "/info lacks Swift's limits"
import json, sys
i = json.load(open(sys.argv[1]))
s = i["swift"]
want = {"max_file_size": 5368709122, "max_object_name_length": 1024,
        "container_listing_limit": 10000, "max_meta_count": 90,
        "max_meta_name_length": 128, "max_meta_value_length": 256,
        "max_meta_overall_size": 4096, "max_container_name_length": 256,
        "max_account_name_length": 256}
for k, v in want.items():
    assert s[k] == v, (k, s.get(k))
assert "tempauth" in i
PY

$SWIFT stat >"$TMPDIR_TEST/stat" || fail "swift stat failed"
grep -q "Account: AUTH_test" "$TMPDIR_TEST/stat" || fail "swift stat output"
/usr/bin/swift -A "$AUTH_URL" -U test:tester -K nope stat \
	>/dev/null 2>&1 && fail "swift stat with a bad key worked"
echo "300-proxy-auth: ok"
