#!/bin/bash
# 310-proxy-container-acls: container ACLs in kumo-proxy, as Swift's
# tempauth with acl.py (X-Container-Read / X-Container-Write).
#   - the swift client sets a read ACL (swift post -r) and shows it (stat);
#     owners see the ACL headers, other users do not;
#   - .r:* lets an anonymous GET of an object in without a token, but not
#     a listing; .rlistings adds the listing; without an ACL: 401;
#   - .r:example.com / .r:.example.com / .r:-host match the Referer's
#     host (deny wins over *);
#   - account:user and account grants let other tempauth users read; a
#     user named in X-Container-Write may write (PUT, DELETE), others 403;
#     the swift client lists and downloads as such a user;
#   - only account admins set ACLs: a non-admin user's POST is 403;
#     malformed ACLs (referrers in a write ACL, unknown designators, no
#     host) are 400; ACLs are stored cleaned (.ref:* -> .r:*); an empty
#     one removes the ACL.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl /usr/bin/swift

start_proxy_cluster
cd "$TMPDIR_TEST"
read -r TOKEN URL < <(get_token test:tester testing)
read -r T2 _ < <(get_token test2:tester2 testing2)
read -r T3 _ < <(get_token test:tester3 testing3)
A="X-Auth-Token: $TOKEN"
printf 'public data\n' >obj
# hdr URL NAME [curl args]: a response header's value from a HEAD
hdr() {
	local u=$1 n=$2
	shift 2
	curl -s -I "$@" "$u" | tr -d '\r' |
		awk -F': ' -v n="$n" 'tolower($1) == tolower(n) { print $2 }'
}

# an owner creates a container and an object; anonymous access is 401
$SWIFT upload pub obj >/dev/null || fail "swift upload"
[ "$(status GET "$URL/pub/obj")" = 401 ] || fail "anonymous GET without ACL"
[ "$(status GET "$URL/pub")" = 401 ] || fail "anonymous listing without ACL"

# .r:* with the swift client: anonymous object GET, no listing
$SWIFT post -r '.r:*' pub || fail "swift post -r"
$SWIFT stat pub >st || fail "swift stat pub"
grep -q "Read ACL: .r:\*" st || fail "stat lacks the read ACL: $(cat st)"
[ "$(curl -s "$URL/pub/obj")" = "public data" ] ||
	fail "anonymous GET with .r:* did not work"
[ "$(status HEAD "$URL/pub/obj")" = 200 ] || fail "anonymous HEAD with .r:*"
[ "$(status GET "$URL/pub")" = 401 ] || fail "listing without .rlistings"
[ "$(status PUT "$URL/pub/new" -T obj)" = 401 ] ||
	fail "anonymous PUT into a .r:* container"
[ "$(status DELETE "$URL/pub/obj")" = 401 ] || fail "anonymous DELETE"
$SWIFT post -r '.r:*,.rlistings' pub || fail "swift post -r .rlistings"
[ "$(curl -s "$URL/pub")" = obj ] || fail "anonymous listing with .rlistings"
[ "$(status HEAD "$URL/pub")" = 204 ] || fail "anonymous container HEAD"
# owners see the ACL, others (here anonymous) do not
[ "$(hdr "$URL/pub" X-Container-Read -H "$A")" = ".r:*,.rlistings" ] ||
	fail "owner does not see X-Container-Read"
[ -z "$(hdr "$URL/pub" X-Container-Read)" ] ||
	fail "anonymous sees X-Container-Read"
[ "$(status GET "$URL/pub/obj" -H "X-Auth-Token: AUTH_tkbogus")" = 401 ] ||
	fail "a bad token is still 401 on a public container"

# referrer rules
curl -s -o /dev/null -X PUT -H "$A" -H 'X-Container-Read: .r:example.com' "$URL/ref"
curl -s -o /dev/null -T obj -H "$A" "$URL/ref/obj"
[ "$(status GET "$URL/ref/obj")" = 401 ] || fail ".r:host without Referer"
[ "$(status GET "$URL/ref/obj" -H 'Referer: http://example.com/page')" = 200 ] ||
	fail ".r:example.com with its Referer"
[ "$(status GET "$URL/ref/obj" -H 'Referer: http://www.example.com/')" = 401 ] ||
	fail ".r:example.com let a subdomain in"
[ "$(status GET "$URL/ref" -H 'Referer: http://example.com/')" = 401 ] ||
	fail "referrer listing without .rlistings"
curl -s -o /dev/null -X POST -H "$A" -H 'X-Container-Read: .r:.example.com' "$URL/ref"
[ "$(status GET "$URL/ref/obj" -H 'Referer: https://user@www.example.com:8443/x')" = 200 ] ||
	fail ".r:.example.com with a subdomain Referer"
curl -s -o /dev/null -X POST -H "$A" -H 'X-Container-Read: .r:*,.r:-bad.com' "$URL/ref"
[ "$(status GET "$URL/ref/obj" -H 'Referer: http://bad.com/')" = 401 ] ||
	fail ".r:-bad.com did not deny"
[ "$(status GET "$URL/ref/obj" -H 'Referer: http://good.com/')" = 200 ] ||
	fail ".r:* with .r:-bad.com denied another host"
[ "$(status GET "$URL/ref/obj")" = 200 ] || fail ".r:* without Referer"

# user and account grants
curl -s -o /dev/null -X PUT -H "$A" "$URL/shared"
curl -s -o /dev/null -T obj -H "$A" "$URL/shared/obj"
[ "$(status GET "$URL/shared/obj" -H "X-Auth-Token: $T2")" = 403 ] ||
	fail "other account's user read without a grant"
[ "$(status GET "$URL/shared/obj" -H "X-Auth-Token: $T3")" = 403 ] ||
	fail "non-admin user read without a grant"
curl -s -o /dev/null -X POST -H "$A" -H 'X-Container-Read: test2:tester2' "$URL/shared"
[ "$(curl -s -H "X-Auth-Token: $T2" "$URL/shared/obj")" = "public data" ] ||
	fail "test2:tester2 in the read ACL cannot read"
[ "$(curl -s -H "X-Auth-Token: $T2" "$URL/shared")" = obj ] ||
	fail "test2:tester2 in the read ACL cannot list"
[ -z "$(hdr "$URL/shared" X-Container-Read -H "X-Auth-Token: $T2")" ] ||
	fail "a reader sees the ACL"
[ "$(status GET "$URL/shared/obj" -H "X-Auth-Token: $T3")" = 403 ] ||
	fail "tester3 reads with a grant for tester2"
[ "$(status PUT "$URL/shared/w" -T obj -H "X-Auth-Token: $T2")" = 403 ] ||
	fail "a reader could write"
[ "$(status GET "$URL/shared/obj")" = 401 ] || fail "anonymous read of shared"
/usr/bin/swift -A "$AUTH_URL" -U test2:tester2 -K testing2 \
	--os-storage-url "$URL" download shared obj -o got >/dev/null ||
	fail "swift download as a reader"
cmp -s got obj || fail "swift download as a reader: other bytes"
# an account grant
curl -s -o /dev/null -X POST -H "$A" -H 'X-Container-Read: test2' "$URL/shared"
[ "$(status GET "$URL/shared/obj" -H "X-Auth-Token: $T2")" = 200 ] ||
	fail "account grant test2"
# write ACL
curl -s -o /dev/null -X POST -H "$A" -H 'X-Container-Write: test:tester3,test2:tester2' "$URL/shared"
[ "$(status PUT "$URL/shared/by3" -T obj -H "X-Auth-Token: $T3")" = 201 ] ||
	fail "tester3 in the write ACL cannot PUT"
[ "$(status PUT "$URL/shared/by2" -T obj -H "X-Auth-Token: $T2")" = 201 ] ||
	fail "tester2 in the write ACL cannot PUT"
[ "$(status DELETE "$URL/shared/by3" -H "X-Auth-Token: $T2")" = 204 ] ||
	fail "a writer cannot DELETE"
[ "$(status GET "$URL/shared/by2" -H "X-Auth-Token: $T3")" = 403 ] ||
	fail "a writer without read can read"
/usr/bin/swift -A "$AUTH_URL" -U test:tester3 -K testing3 \
	--os-storage-url "$URL" upload --leave-segments shared obj \
	--object-name cli >/dev/null 2>&1 ||
	fail "swift upload as a writer"
curl -s -o /dev/null -X POST -H "$A" -H 'X-Container-Write: test2:tester2' "$URL/shared"
[ "$(status PUT "$URL/shared/by3" -T obj -H "X-Auth-Token: $T3")" = 403 ] ||
	fail "tester3 writes after being removed from the ACL"
# a writer may not touch the container itself, nor its ACLs
[ "$(status POST "$URL/shared" -H "X-Auth-Token: $T2" -H 'X-Container-Read: .r:*')" = 403 ] ||
	fail "a writer set a container ACL"
[ "$(status DELETE "$URL/shared" -H "X-Auth-Token: $T2")" = 403 ] ||
	fail "a writer deleted the container"

# only account admins set ACLs
[ "$(status POST "$URL/shared" -H "X-Auth-Token: $T3" -H 'X-Container-Read: .r:*')" = 403 ] ||
	fail "non-admin user set a read ACL"
[ "$(status PUT "$URL/mine" -H "X-Auth-Token: $T3" -H 'X-Container-Read: .r:*')" = 403 ] ||
	fail "non-admin user created a container"
[ "$(status GET "$URL/shared/obj")" = 401 ] || fail "refused ACL took effect"

# malformed ACLs; stored cleaned
[ "$(status POST "$URL/shared" -H "$A" -H 'X-Container-Write: .r:*')" = 400 ] ||
	fail "referrer in a write ACL not 400"
[ "$(status POST "$URL/shared" -H "$A" -H 'X-Container-Read: .x:y')" = 400 ] ||
	fail "unknown designator not 400"
[ "$(status POST "$URL/shared" -H "$A" -H 'X-Container-Read: .r:')" = 400 ] ||
	fail "referrer without host not 400"
[ "$(status PUT "$URL/bad" -H "$A" -H 'X-Container-Read: .r:-')" = 400 ] ||
	fail "PUT with a bad ACL not 400"
[ "$(status POST "$URL/shared" -H "$A" -H 'X-Container-Read:  .ref:* , test2:tester2 ,')" = 204 ] ||
	fail "a valid ACL with blanks refused"
[ "$(hdr "$URL/shared" X-Container-Read -H "$A")" = ".r:*,test2:tester2" ] ||
	fail "ACL not cleaned: $(hdr "$URL/shared" X-Container-Read -H "$A")"
[ "$(status GET "$URL/shared/obj")" = 200 ] || fail "cleaned .r:* not applied"
# an empty ACL removes it (swift post -r '')
$SWIFT post -r '' shared || fail "swift post -r ''"
[ -z "$(hdr "$URL/shared" X-Container-Read -H "$A")" ] || fail "ACL not removed"
[ "$(status GET "$URL/shared/obj")" = 401 ] || fail "removed ACL still applies"
echo "310-proxy-container-acls: ok"
