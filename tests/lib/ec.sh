# tests/lib/ec.sh: an erasure-coded cluster for the reconstructor's tests
# (tests/integration/47N-ec-*.sh). Source after functions.sh; it sources
# multinode.sh.
#
#   ec_cluster N     start_multinode_cluster N (one kumo-objectd per device
#                    d1..dN) with storage policy 1 "ec42"
#                    (liberasurecode_rs_vand 4+2, object-1.ring.gz: 6
#                    replicas on d1..dN; N > 6 leaves handoffs), background
#                    passes out of the way (run by hand; EC_RCON_INTERVAL
#                    sets reconstructor_interval), a token (TOKEN,
#                    URL) and container "ec" of that policy; EC_RING is
#                    the ring's path
#   ec_put NAME FILE  PUT the object ec/NAME with FILE's bytes (and
#                    X-Object-Meta-Color) through the proxy; fails the
#                    test unless 201
#   ec_get NAME OUT  GET the object through the proxy into OUT; 1 unless 200
#   expect_objects NAME...  each ec/NAME reads back (ec_get) equal to the
#                    file $TMPDIR_TEST/NAME, else fail
#   ec_archives NAME "<device> <index> <durable> <path>" per archive file
#   ec_tombstones NAME  "<device> <path>" per tombstone of the object
#   ec_primaries NAME  the object's primary devices, index 0 first
#   reconstruct_all [K...]  `kumo-objectd --once reconstruct` on each object
#                    server (default all), stderr into $TMPDIR_TEST/rcon.log
#   expect_logged WHAT N  the passes in rcon.log logged N in all of WHAT
#                    ("archives rebuilt", "reverted"), else fail
#   expect_idle_pass  one more pass on every server moves nothing
. "$(dirname "${BASH_SOURCE[0]}")/multinode.sh"

POLICY_CONF="
[storage-policy:0]
name = gold
default = yes

$(ec42_policy_conf 1 ec42)
"
EC_TOOL="$TESTS_DIR/lib/ec_tool.py"

ec_cluster() {
	MN_POLICY_RINGS="1:6"
	OBJ_EXTRA_CONF="replicator_interval = 3600
reconstructor_interval = ${EC_RCON_INTERVAL:-3600}
${OBJ_EXTRA_CONF:-}"
	start_multinode_cluster "$1"
	EC_RING=$RINGS/object-1.ring.gz
	read -r TOKEN URL < <(get_token test:tester testing)
	[ -n "$TOKEN" ] || fail "no token"
	ACCT=${URL##*/}
	[ "$(status PUT "$URL/ec" -H "X-Auth-Token: $TOKEN" \
		-H "X-Storage-Policy: ec42")" = 201 ] || fail "EC container PUT"
}

ec_put() {
	local code
	code=$(curl -s -o "$TMPDIR_TEST/put.out" -w '%{http_code}' -X PUT \
		-H "X-Auth-Token: $TOKEN" -H "X-Object-Meta-Color: blue" \
		--data-binary @"$2" "$URL/ec/$1")
	[ "$code" = 201 ] || fail "PUT ec/$1: $code $(cat "$TMPDIR_TEST/put.out")"
}

ec_get() {
	local code
	code=$(curl -s -o "$2" -w '%{http_code}' -H "X-Auth-Token: $TOKEN" \
		"$URL/ec/$1")
	[ "$code" = 200 ] || { echo "GET ec/$1: $code" >&2; return 1; }
}

expect_objects() {
	local n
	for n in "$@"; do
		ec_get "$n" "$TMPDIR_TEST/got" || fail "$n: GET"
		cmp -s "$TMPDIR_TEST/got" "$TMPDIR_TEST/$n" ||
			fail "$n: wrong bytes"
	done
}

ec_archives() {
	$PYTHON "$EC_TOOL" archives "$NODE_DIR" "$EC_RING" "$ACCT/ec/$1"
}

ec_primaries() {
	$PYTHON "$EC_TOOL" primaries "$EC_RING" "$ACCT/ec/$1"
}

ec_tombstones() {
	$PYTHON "$EC_TOOL" tombstones "$NODE_DIR" "$EC_RING" "$ACCT/ec/$1"
}

reconstruct_all() {
	local k
	[ $# -gt 0 ] || set -- $(seq 1 $((${#OBJ_PORTS[@]})))
	for k in "$@"; do
		timeout 90 kumo-objectd "$TMPDIR_TEST/obj$k.conf" --once reconstruct \
			2>>"$TMPDIR_TEST/rcon.log" ||
			{ tail -20 "$TMPDIR_TEST/rcon.log" >&2
			  fail "reconstruction on node $k failed"; }
	done
}

expect_logged() {
	local n
	n=$(sed -n "s/.*reconstruction pass: .* \([0-9]*\) $1.*/\1/p" \
		"$TMPDIR_TEST/rcon.log" | awk '{ n += $1 } END { print n + 0 }')
	[ "$n" = "$2" ] ||
		{ grep "reconstruction pass" "$TMPDIR_TEST/rcon.log" >&2
		  fail "the passes logged $n $1, not $2"; }
}

expect_idle_pass() {
	: >"$TMPDIR_TEST/rcon.log"
	reconstruct_all
	grep "reconstruction pass" "$TMPDIR_TEST/rcon.log" |
		grep -v " 0 archives rebuilt, 0 reverted" &&
		fail "a second pass moved data"
	return 0
}
