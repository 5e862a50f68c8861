#!/bin/bash
# 321-proxy-storage-policies: storage policies from [storage-policy:N]
# (the file of [swift-hash]), as Swift's swift.conf, on a cluster with
# four: 0 gold (alias yellow, the default, object.ring.gz: 3 replicas on
# d1..d4), 1 silver (alias grey, object-1.ring.gz: 2 replicas on d3..d5),
# 2 bronze (deprecated, object-2.ring.gz), 3 ec42 (erasure_coding,
# liberasurecode_rs_vand 4+2, object-3.ring.gz: 6 replicas on d1..d6):
#   - GET /info lists them with aliases, default, deprecated, policy_type
#     and the EC parameters;
#   - container PUT with X-Storage-Policy (name or alias, any case)
#     chooses the policy, HEAD names it; none: the default; unknown: 400;
#     deprecated: 400 "Storage Policy 'bronze' is deprecated" (not
#     created); another policy on an existing container: 409, the same
#     one: 202;
#   - objects of a silver container are on disk under objects-1 on exactly
#     the primaries object-1.ring.gz names (kumo-ring get-nodes), none
#     under objects/; gold's under objects/; GET, HEAD and DELETE reach
#     them (the tombstone in objects-1);
#   - the account shows per-policy stats for silver;
#   - the auditor quarantines a bad objects-1 file under
#     quarantined/objects-1, and the other replica serves;
#   - the replicator (--once replicate) restores that replica from the
#     other and drains a copy on a device object-1.ring does not name;
#   - the expirer removes an objects-1 object past its X-Delete-At (its
#     tombstones there, gone from the listing);
#   - an object PUT into the EC container stores six fragment archives
#     under objects-3 (one per device) and reads back (test 322 does more);
#   - a daemon refuses a bad policy config at startup with Swift's message.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl kumo-ring kumo-proxy kumo-objectd

POLICY_CONF="
[storage-policy:0]
name = gold
aliases = yellow
default = yes

[storage-policy:1]
name = silver
aliases = grey

[storage-policy:2]
name = bronze
deprecated = yes

[storage-policy:3]
name = ec42
policy_type = erasure_coding
ec_type = liberasurecode_rs_vand
ec_num_data_fragments = 4
ec_num_parity_fragments = 2
"
POLICY_RINGS="1:2:d3,d4,d5 2:2:d1,d2 3:6:d1,d2,d3,d4,d5,d6"
# the replicator's rings; its passes are run by hand
OBJECT_EXTRA_CONF="swift_dir = $TMPDIR_TEST/rings
replicator_interval = 3600"
start_proxy_cluster
read -r TOKEN URL < <(get_token test:tester testing)
T="X-Auth-Token: $TOKEN"
H=$TMPDIR_TEST/h
ACCT=${URL##*/}

curl -s "$PROXY_URL/info" | $PYTHON -c '
import json, sys
p = json.load(sys.stdin)["swift"]["policies"]
want = [
    {"name": "gold", "aliases": "gold, yellow", "default": True,
     "policy_type": "replication"},
    {"name": "silver", "aliases": "silver, grey",
     "policy_type": "replication"},
    {"name": "bronze", "aliases": "bronze", "deprecated": True,
     "policy_type": "replication"},
    {"name": "ec42", "aliases": "ec42", "policy_type": "erasure_coding",
     "ec_type": "liberasurecode_rs_vand", "ec_num_data_fragments": 4,
     "ec_num_parity_fragments": 2, "ec_object_segment_size": 1048576,
     "ec_duplication_factor": 1},
]
assert p == want, p
' || fail "/info policies"

[ "$(status PUT "$URL/c1" -H "$T" -H 'X-Storage-Policy: GREY')" = 201 ] ||
	fail "PUT by alias not 201"
[ "$(status PUT "$URL/c0" -H "$T")" = 201 ] || fail "PUT default not 201"
[ "$(status PUT "$URL/c3" -H "$T" -H 'X-Storage-Policy: ec42')" = 201 ] ||
	fail "PUT ec42 not 201"
for pair in c1:silver c0:gold c3:ec42; do
	curl -s -I -H "$T" "$URL/${pair%%:*}" | tr -d '\r' >"$H"
	grep -q "^X-Storage-Policy: ${pair#*:}$" "$H" ||
		fail "HEAD ${pair%%:*}: $(cat "$H")"
done
code=$(curl -s -o "$H" -w '%{http_code}' -X PUT -H "$T" \
	-H 'X-Storage-Policy: bronze' "$URL/c2")
[ "$code" = 400 ] || fail "deprecated policy: $code"
[ "$(cat "$H")" = "Storage Policy 'bronze' is deprecated" ] ||
	fail "deprecated body: $(cat "$H")"
[ "$(status HEAD "$URL/c2" -H "$T")" = 404 ] || fail "c2 was created"
[ "$(status PUT "$URL/c4" -H "$T" -H 'X-Storage-Policy: tin')" = 400 ] ||
	fail "unknown policy not 400"
# the policy of a container cannot change (Swift: 409); the same is fine
[ "$(status PUT "$URL/c1" -H "$T" -H 'X-Storage-Policy: gold')" = 409 ] ||
	fail "policy change not 409"
[ "$(status PUT "$URL/c0" -H "$T" -H 'X-Storage-Policy: silver')" = 409 ] ||
	fail "policy change of a default container not 409"
[ "$(status PUT "$URL/c1" -H "$T" -H 'X-Storage-Policy: silver')" = 202 ] ||
	fail "same policy again not 202"
curl -s -I -H "$T" "$URL/c1" | tr -d '\r' | grep -q '^X-Storage-Policy: silver$' ||
	fail "c1 changed policy"

printf 'silver bytes' | curl -s -o /dev/null -T - -H "$T" "$URL/c1/o1"
printf 'gold' | curl -s -o /dev/null -T - -H "$T" "$URL/c0/o0"

# o1: under objects-1 on object-1.ring's two primaries, nowhere else
kumo-ring get-nodes "$RINGS/object-1.ring.gz" --prefix '' \
	--suffix test-suffix --json "$ACCT/c1/o1" >"$H"
read -r PART DEVS < <($PYTHON -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["partition"], " ".join(n["device"] for n in r["primaries"]))
' "$H")
[ -n "$DEVS" ] || fail "get-nodes: $(cat "$H")"
found=$(cd "$NODE_DIR" && find . -path '*/objects-1/*' -name '*.data' | sort)
want=$(for d in $DEVS; do
	(cd "$NODE_DIR" && find "./$d/objects-1/$PART" -name '*.data')
done | sort)
[ "$(echo "$found" | wc -l)" = 2 ] || fail "objects-1 .data files: $found"
[ "$found" = "$want" ] || fail "o1 not on its primaries ($DEVS, part $PART): $found"
# o0: three replicas under objects/ (policy 0), none more under objects-1
n0=$(find "$NODE_DIR" -path '*/objects/*' -name '*.data' | wc -l)
[ "$n0" = 3 ] || fail "objects/ .data files: $n0"

[ "$(curl -s -H "$T" "$URL/c1/o1")" = "silver bytes" ] || fail "GET o1"
[ "$(curl -s -H "$T" "$URL/c0/o0")" = "gold" ] || fail "GET o0"
[ "$(status HEAD "$URL/c1/o1" -H "$T")" = 200 ] || fail "HEAD o1"
curl -s -H "$T" "$URL/c1" | grep -qx o1 || fail "listing of c1"

# per-policy account stats for silver
pstat() { tr -d '\r' <"$H" | awk -F': ' -v n="$1" 'tolower($1) == tolower(n) { print $2 }'; }
for i in $(seq 1 50); do
	curl -s -I -H "$T" "$URL" | tr -d '\r' >"$H"
	[ "$(pstat X-Account-Storage-Policy-Silver-Object-Count)" = 1 ] &&
		[ "$(pstat X-Account-Storage-Policy-Silver-Bytes-Used)" = 12 ] &&
		break
	sleep 0.2
done
[ "$i" -lt 50 ] || fail "silver stats: $(cat "$H")"
[ "$(pstat X-Account-Storage-Policy-Gold-Bytes-Used)" = 4 ] ||
	fail "gold stats: $(cat "$H")"

[ "$(status DELETE "$URL/c1/o1" -H "$T")" = 204 ] || fail "DELETE o1"
[ "$(status GET "$URL/c1/o1" -H "$T")" = 404 ] || fail "o1 still there"
nts=$(find "$NODE_DIR" -path '*/objects-1/*' -name '*.ts' | wc -l)
[ "$nts" = 2 ] || fail "objects-1 tombstones: $nts"

# the auditor reads objects-1 too: a flipped byte is quarantined under
# quarantined/objects-1 (Swift's layout); the other replica still serves
head -c 5000 /dev/urandom >"$TMPDIR_TEST/o2"
[ "$(status PUT "$URL/c1/o2" -H "$T" -T "$TMPDIR_TEST/o2")" = 201 ] ||
	fail "PUT o2"
mapfile -t R < <(find "$NODE_DIR" -path '*/objects-1/*' -name '*.data' | sort)
[ "${#R[@]}" = 2 ] || fail "o2 replicas: ${R[*]}"
flip_byte "${R[0]}" 100
h=$(basename "$(dirname "${R[0]}")")
d=${R[0]#"$NODE_DIR"/}
d=${d%%/*}
kumo-objectd "$CONF" --once audit >"$H" 2>&1 || fail "audit pass: $(cat "$H")"
[ -d "$NODE_DIR/$d/quarantined/objects-1/$h" ] ||
	fail "not quarantined under objects-1: $(find "$NODE_DIR"/*/quarantined)"
[ ! -e "${R[0]}" ] || fail "the bad replica is still in place"
for i in 1 2 3; do
	curl -s -H "$T" "$URL/c1/o2" -o "$TMPDIR_TEST/got"
	cmp -s "$TMPDIR_TEST/got" "$TMPDIR_TEST/o2" || fail "GET o2 after audit"
done

# the replicator works on object-1.ring and objects-1: the quarantined
# replica comes back from the other one, byte-identical; a copy on d1
# (no device of object-1.ring) is pushed to the primaries and removed
kumo-objectd "$CONF" --once replicate >"$H" 2>&1 ||
	fail "replicate pass: $(cat "$H")"
[ -f "${R[0]}" ] || fail "replica not restored: $(cat "$H")"
cmp -s "${R[0]}" "${R[1]}" || fail "restored replica differs"
part=${R[1]#*/objects-1/}
part=${part%%/*}
mkdir -p "$NODE_DIR/d1/objects-1/$part"
cp -r "$(dirname "$(dirname "${R[1]}")")" "$NODE_DIR/d1/objects-1/$part/"
kumo-objectd "$CONF" --once replicate >"$H" 2>&1 ||
	fail "replicate pass 2: $(cat "$H")"
[ -z "$(find "$NODE_DIR/d1/objects-1" -type f -name '*.data')" ] ||
	fail "the copy on d1 was not removed: $(cat "$H")"
[ -f "${R[0]}" ] && [ -f "${R[1]}" ] || fail "a primary lost o2"
[ -z "$(find "$NODE_DIR" -path '*/objects/*' -name "$(basename "${R[1]}")")" ] ||
	fail "o2 copied into policy 0's folder"

# the expirer finds objects-1's objects: a silver object past its
# X-Delete-At gets its tombstone under objects-1 and leaves the listing
[ "$(printf 'soon' | status PUT "$URL/c1/o3" -H "$T" -T - \
	-H 'X-Delete-After: 1')" = 201 ] || fail "PUT o3"
sleep 2
kumo-objectd "$CONF" --once expire >"$H" 2>&1 || fail "expire pass: $(cat "$H")"
for i in $(seq 1 50); do
	curl -s -H "$T" "$URL/c1" | grep -qx o3 || break
	sleep 0.2
done
[ "$i" -lt 50 ] || fail "o3 still listed after the expirer pass: $(cat "$H")"
nts=$(find "$NODE_DIR" -path '*/objects-1/*' -name '*.ts' | wc -l)
[ "$nts" = 4 ] || fail "objects-1 tombstones after expiry: $nts"

# an EC container's object: six fragment archives, one per device
code=$(printf 'x' | curl -s -o "$H" -w '%{http_code}' -T - -H "$T" "$URL/c3/o")
[ "$code" = 201 ] || fail "PUT into ec42: $code $(cat "$H")"
n3=$(find "$NODE_DIR" -path '*/objects-3/*' -name '*#d.data' | wc -l)
[ "$n3" = 6 ] || fail "objects-3 durable archives: $n3"
[ "$(curl -s -H "$T" "$URL/c3/o")" = x ] || fail "GET from ec42"

# a bad policy config stops a daemon at startup, with Swift's message
sed 's/^default = yes$/default = no/' "$CONF" >"$TMPDIR_TEST/bad.conf"
if kumo-proxy "$TMPDIR_TEST/bad.conf" >"$H" 2>&1; then
	fail "kumo-proxy started without a default policy"
fi
grep -q 'Unable to find default policy' "$H" || fail "bad config: $(cat "$H")"
echo "321-proxy-storage-policies: ok"
