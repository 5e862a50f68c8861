#!/bin/bash
# 474-ec-reconstructor-nondurable-reclaim: a non-durable fragment archive
# (PUT, never COMMITted: the proxy's PUT failed before its commit phase)
# stays while it is younger than reclaim_age and is removed by a
# reconstructor pass once it is older; neither is served, rebuilt nor
# pushed anywhere.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/ec.sh"
requires curl timeout

OBJ_EXTRA_CONF="reclaim_age = 600"
ec_cluster 6
T=$TMPDIR_TEST
head -c 5000 /dev/urandom >"$T/arch"

# put_nondurable NAME TIMESTAMP: archive 0 of ec/NAME on its primary 0
put_nondurable() {
	local dev part k code
	dev=$(ec_primaries "$1" | cut -d' ' -f1)
	k=${dev#d}
	part=$(kumo-ring get-nodes "$EC_RING" --prefix '' --suffix test-suffix \
		--json "$ACCT/ec/$1" | $PYTHON -c \
		'import json, sys; print(json.load(sys.stdin)["partition"])')
	code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT \
		-H "X-Backend-Storage-Policy-Index: 1" -H "X-Timestamp: $2" \
		-H "Content-Type: application/octet-stream" \
		-H "X-Object-Sysmeta-Ec-Frag-Index: 0" \
		-H "X-Object-Sysmeta-Ec-Scheme: liberasurecode_rs_vand 4+2" \
		-H "X-Object-Sysmeta-Ec-Segment-Size: 1048576" \
		--data-binary @"$T/arch" \
		"http://127.0.0.1:${OBJ_PORTS[$k]}/$dev/$part/$ACCT/ec/$1")
	[ "$code" = 201 ] || fail "backend PUT of $1: $code"
}

now=$(date +%s)
put_nondurable old "$((now - 3600)).00000"
put_nondurable new "$now.00000"
[ "$(ec_archives old | awk '$3 == 0' | wc -l)" = 1 ] ||
	fail "the old non-durable archive is not on disk"
[ "$(ec_archives new | awk '$3 == 0' | wc -l)" = 1 ] ||
	fail "the new non-durable archive is not on disk"
[ "$(status GET "$URL/ec/old" -H "X-Auth-Token: $TOKEN")" = 404 ] ||
	fail "a non-durable archive is served"

reconstruct_all
[ -z "$(ec_archives old)" ] ||
	{ ec_archives old >&2; fail "the non-durable archive past reclaim_age stays"; }
[ "$(ec_archives new | wc -l)" = 1 ] ||
	{ ec_archives new >&2; fail "the young non-durable archive moved or went"; }
expect_logged "archives rebuilt" 0
echo "ok: a non-durable archive past reclaim_age reclaimed, a young one kept"
