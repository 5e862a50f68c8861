# tests/lib/ec_proxy.sh: an erasure-coded cluster for the proxy's EC tests
# (tests/integration/322-324) and bench/ec_cluster.sh. Source after
# functions.sh; it sources multinode.sh.
#
#   ec_proxy_cluster N SEG [SEG2]  start_multinode_cluster N (one
#       kumo-objectd per device d1..dN) with storage policies 0 "gold"
#       (3 replicas, the default), 1 "ec42" (liberasurecode_rs_vand 4+2,
#       SEG-byte segments, object-1.ring.gz: six replicas on d1..dN) and,
#       with SEG2, 2 "ec42big" (4+2, SEG2-byte segments, six replicas);
#       background passes out of the way; sets TOKEN, URL, ACCT and T (the
#       X-Auth-Token header line)
#   ec_container NAME POLICY  PUT the container NAME in POLICY (201)
. "$(dirname "${BASH_SOURCE[0]}")/multinode.sh"

ec_proxy_cluster() {
	POLICY_CONF="
[storage-policy:0]
name = gold
default = yes

$(ec42_policy_conf 1 ec42 "$2")
"
	MN_POLICY_RINGS="1:6"
	if [ -n "${3:-}" ]; then
		POLICY_CONF="$POLICY_CONF
$(ec42_policy_conf 2 ec42big "$3")
"
		MN_POLICY_RINGS="1:6 2:6"
	fi
	OBJ_EXTRA_CONF="replicator_interval = 86400
reconstructor_interval = 86400"
	start_multinode_cluster "$1"
	read -r TOKEN URL < <(get_token test:tester testing)
	[ -n "$TOKEN" ] || fail "no token"
	ACCT=${URL##*/}
	T="X-Auth-Token: $TOKEN"
}

ec_container() {
	[ "$(status PUT "$URL/$1" -H "$T" -H "X-Storage-Policy: $2")" = 201 ] ||
		fail "container $1 ($2) not created"
}
