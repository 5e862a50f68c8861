#!/bin/bash
# tests/integration/450-auditor-bitrot-repaired.sh: fault test 2 of the durability issue. A byte flipped in one replica's data file: a GET through the proxy still returns the right bytes; after `kumo-objectd --once audit` the bad file is in that device's quarantine folder (the auditor itself catches the replica no GET touched); after a replication pass (`--once replicate` on every node) the file on disk is back, byte-identical to what it was before the flip.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/multinode.sh"
requires curl timeout md5sum

# the background workers stay out of the way: passes are run by hand
OBJ_EXTRA_CONF="replicator_interval = 3600
auditor_interval = 3600"
start_multinode_cluster 4
read -r TOKEN URL < <(get_token test:tester testing)
[ -n "$TOKEN" ] || fail "no token"
[ "$(status PUT "$URL/c" -H "X-Auth-Token: $TOKEN")" = 201 ] || fail "container PUT"

# the .data files of object $1 (one per replica), sorted
replicas() {
	local h
	h=$(printf '/AUTH_test/c/%stest-suffix' "$1" | md5sum | cut -d' ' -f1)
	find "$NODE_DIR"/obj*/d*/objects -path "*/$h/*.data" | sort
}

for o in read-me audit-me; do
	head -c 200000 /dev/urandom >"$TMPDIR_TEST/$o"
	[ "$(status PUT "$URL/c/$o" -H "X-Auth-Token: $TOKEN" \
		-T "$TMPDIR_TEST/$o")" = 201 ] || fail "PUT $o"
	mapfile -t R < <(replicas $o)
	[ "${#R[@]}" -eq 3 ] || fail "$o has ${#R[@]} replicas on disk: ${R[*]}"
	md5sum "${R[0]}" | cut -d' ' -f1 >"$TMPDIR_TEST/$o.file-md5"
	echo "${R[0]}" >"$TMPDIR_TEST/$o.bad"
	flip_byte "${R[0]}" 1234
	md5sum "${R[0]}" | cut -d' ' -f1 | cmp -s - "$TMPDIR_TEST/$o.file-md5" &&
		fail "the flip did not change ${R[0]}"
done

# 1. the GET returns the right bytes whichever replica it reads
for i in 1 2 3; do
	curl -sf -H "X-Auth-Token: $TOKEN" "$URL/c/read-me" -o "$TMPDIR_TEST/got" ||
		fail "GET read-me failed"
	cmp -s "$TMPDIR_TEST/got" "$TMPDIR_TEST/read-me" || fail "GET read-me: wrong bytes"
done

# 2. an audit pass on every node: both bad files end in quarantine
objectd_once_all audit "$TMPDIR_TEST/audit.log"
for o in read-me audit-me; do
	bad=$(cat "$TMPDIR_TEST/$o.bad")
	hdir=$(dirname "$bad")
	dev=${hdir%/objects/*}
	[ ! -e "$bad" ] || fail "$o: the bad file is still in place"
	ls "$dev"/quarantined/objects/"$(basename "$hdir")"*/*.data >/dev/null 2>&1 ||
		fail "$o: not in $dev/quarantined/objects"
done
grep -Eq "audit pass done: .* [1-9][0-9]* quarantined" "$TMPDIR_TEST/audit.log" ||
	fail "no auditor pass quarantined audit-me: $(grep 'audit pass' "$TMPDIR_TEST/audit.log")"

# 3. a replication pass restores the file, byte-identical
objectd_once_all replicate "$TMPDIR_TEST/repl.log"
for o in read-me audit-me; do
	bad=$(cat "$TMPDIR_TEST/$o.bad")
	[ -f "$bad" ] || fail "$o: not restored at $bad"
	md5sum "$bad" | cut -d' ' -f1 | cmp -s - "$TMPDIR_TEST/$o.file-md5" ||
		fail "$o: the restored file differs from the original"
	mapfile -t R < <(replicas $o)
	[ "${#R[@]}" -eq 3 ] || fail "$o has ${#R[@]} replicas after replication"
	curl -sf -H "X-Auth-Token: $TOKEN" "$URL/c/$o" -o "$TMPDIR_TEST/got" &&
		cmp -s "$TMPDIR_TEST/got" "$TMPDIR_TEST/$o" || fail "GET $o after repair"
done
