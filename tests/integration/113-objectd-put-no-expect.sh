#!/bin/bash
# tests/integration/113-objectd-put-no-expect.sh: a PUT whose body comes
# without Expect: 100-continue (kumo's internal client, oc_put, sends the
# chunks of a volume so) and that kumo-objectd refuses at its headers (507
# for an unknown device, 409 for an older timestamp) is answered after its
# body was read, on a connection that stays open: the next request on it
# is answered too. (Answered at the headers, the connection was closed
# with the body unread.) The same PUT with the handshake still gets its
# refusal at once, and a good PUT without it stores the object.
. "$(dirname "$0")/../lib/functions.sh"
requires curl kumo-objectd md5sum

. "$(dirname "$0")/../lib/objectd.sh"

start_objectd
cd "$TMPDIR_TEST"
head -c 4194304 /dev/urandom >body
TS=$(now_ts)

# put URL STATUS...: curl one PUT of body without the handshake, then a
# HEAD of the healthcheck on the same connection; both statuses printed
put() {
	curl -sv -o /dev/null -w '%{http_code}\n' -X PUT -H 'Expect:' \
		-H "X-Timestamp: $2" -H 'Content-Type: application/x-test' \
		--data-binary @body "$OBJ_URL$1" --next -s -o /dev/null \
		-w '%{http_code}\n' "$OBJ_URL/healthcheck" 2>curl.err
}

out=$(put /nodev/1/a/c/o "$TS" | tr '\n' ' ')
[ "$out" = "507 200 " ] || fail "refused PUT without Expect: $out"
grep -qi "re-using existing connection\|reusing existing connection" \
	curl.err || { cat curl.err; fail "the connection was not kept"; }

out=$(put /d1/1/a/c/o "$TS" | tr '\n' ' ')
[ "$out" = "201 200 " ] || fail "PUT without Expect: $out"
grep -qi "re-using existing connection\|reusing existing connection" \
	curl.err || { cat curl.err; fail "the connection was not kept"; }
[ "$(curl -s "$OBJ_URL/d1/1/a/c/o" | md5sum)" = "$(md5sum <body)" ] ||
	fail "the object does not read back"

# an older timestamp: 409, after the body
out=$(put /d1/1/a/c/o "$(now_ts -10)" |
	tr '\n' ' ')
[ "$out" = "409 200 " ] || fail "older PUT without Expect: $out"
grep -qi "re-using existing connection\|reusing existing connection" \
	curl.err || { cat curl.err; fail "the connection was not kept"; }

# with the handshake: refused before any body is sent
st=$(curl -s -o /dev/null -w '%{http_code}' -X PUT \
	-H 'Expect: 100-continue' -H "X-Timestamp: $TS" \
	--data-binary @body "$OBJ_URL/nodev/1/a/c/o2")
[ "$st" = 507 ] || fail "refused PUT with Expect: $st"
echo ok
