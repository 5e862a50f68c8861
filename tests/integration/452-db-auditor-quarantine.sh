#!/bin/bash
# tests/integration/452-db-auditor-quarantine.sh: the container and account auditors (`--once audit`) quarantine a database record whose content no checksum catches as wrong (its LevelDB log rewritten with a valid CRC: bytes_used no longer the sum of the rows; a record that is not JSON; an account's container_count off by one) into <dev>/quarantined/containers|accounts, keep the good ones serving, and report the figures through /recon/auditor/<type> and /recon/quarantined; with the servers running, `--once audit` asks them to run the pass.
. "$(dirname "$0")/../lib/functions.sh"
requires curl kumo-containerd kumo-accountd
PATCH=$(dirname "$0")/../lib/ldb_log_patch.py

N=$TMPDIR_TEST/node
mkdir -p "$N/d1"
cport=$(pick_unused_port)
aport=$(pick_unused_port)
cat >"$TMPDIR_TEST/kumo.conf" <<CONF
[swift-hash]
swift_hash_path_suffix = t452
[container-server]
bind_port = $cport
devices = $N
recon_cache_path = $TMPDIR_TEST/cache
[account-server]
bind_port = $aport
devices = $N
recon_cache_path = $TMPDIR_TEST/cache
CONF
start() { # PROG PORT
	"$1" "$TMPDIR_TEST/kumo.conf" >>"$TMPDIR_TEST/$1.log" 2>&1 &
	last_pid=$!
	cleanup_fn "kill -9 $last_pid 2>/dev/null"
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$2/healthcheck" >/dev/null && return
		sleep 0.1
	done
	fail "$1 did not start: $(cat "$TMPDIR_TEST/$1.log")"
}
stop() {
	local rc=0
	kill -TERM "$1"
	wait "$1" || rc=$?
	[ "$rc" -eq 0 ] || fail "server exited $rc after SIGTERM"
}
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
C=http://127.0.0.1:$cport/d1/1/AUTH_a
A=http://127.0.0.1:$aport/d1/1/AUTH_a

# 1. containers: good (2 rows), bad1 and bad2 (1 row each); an account
start kumo-containerd "$cport"
cpid=$last_pid
start kumo-accountd "$aport"
apid=$last_pid
t=1000
for c in good bad1 bad2; do
	t=$((t + 1))
	[ "$(code -X PUT -H "X-Timestamp: $t.00000" "$C/$c")" = 201 ] || fail "PUT $c"
done
row() { # CONTAINER OBJ SIZE
	t=$((t + 1))
	[ "$(code -X PUT -H "X-Timestamp: $t.00000" -H "X-Size: $3" \
		-H "X-Content-Type: text/plain" -H "X-Etag: e" "$C/$1/$2")" = 201 ] ||
		fail "row $1/$2"
}
row good o1 10
row good o2 20
row bad1 o1 777777
row bad2 o1 555555
[ "$(code -X PUT -H "X-Timestamp: 2000.00000" "$A")" = 201 ] || fail "PUT account"
for c in c1 c2; do
	[ "$(code -X PUT -H "X-Put-Timestamp: 2001.00000" -H "X-Delete-Timestamp: 0" \
		-H "X-Object-Count: 3" -H "X-Bytes-Used: 4444" \
		"$A/$c")" = 201 ] || fail "account row $c"
done
stop "$cpid"
stop "$apid"

# 2. corrupt the records in the write-ahead logs, checksums made valid
clog=$(ls "$N"/d1/containers.ldb/*.log | tail -1)
$PYTHON "$PATCH" "$clog" '"bytes_used":777777' '"bytes_used":777778' ||
	fail "cannot patch bad1"
$PYTHON "$PATCH" "$clog" '{"account":"AUTH_a","container":"bad2"' \
	'["account":"AUTH_a","container":"bad2"' || fail "cannot patch bad2"
alog=$(ls "$N"/d1/accounts.ldb/*.log | tail -1)
$PYTHON "$PATCH" "$alog" '"container_count":2' '"container_count":3' ||
	fail "cannot patch the account"

# 3. one audit pass of each
timeout 30 kumo-containerd "$TMPDIR_TEST/kumo.conf" --once audit \
	2>"$TMPDIR_TEST/caudit.log" || fail "container audit: $(cat "$TMPDIR_TEST/caudit.log")"
grep -q "1 passed, 2 failed" "$TMPDIR_TEST/caudit.log" ||
	fail "container pass: $(grep 'audit pass' "$TMPDIR_TEST/caudit.log")"
timeout 30 kumo-accountd "$TMPDIR_TEST/kumo.conf" --once audit \
	2>"$TMPDIR_TEST/aaudit.log" || fail "account audit: $(cat "$TMPDIR_TEST/aaudit.log")"
grep -q "0 passed, 1 failed" "$TMPDIR_TEST/aaudit.log" ||
	fail "account pass: $(grep 'audit pass' "$TMPDIR_TEST/aaudit.log")"
n=$(ls "$N/d1/quarantined/containers" | wc -l)
[ "$n" -eq 2 ] || fail "$n containers quarantined, expected 2"
n=$(ls "$N/d1/quarantined/accounts" | wc -l)
[ "$n" -eq 1 ] || fail "$n accounts quarantined, expected 1"
for f in "$N"/d1/quarantined/containers/*; do
	[ -s "$f" ] || fail "empty quarantine file $f"
done

# 4. the good container serves, the bad ones are gone; recon tells
start kumo-containerd "$cport"
start kumo-accountd "$aport"
curl -sI "$C/good" >"$TMPDIR_TEST/h"
grep -qi "^X-Container-Object-Count: 2" "$TMPDIR_TEST/h" &&
	grep -qi "^X-Container-Bytes-Used: 30" "$TMPDIR_TEST/h" ||
	fail "good container after the audit: $(cat "$TMPDIR_TEST/h")"
[ "$(code -I "$C/bad1")" = 404 ] || fail "bad1 still served"
[ "$(code -I "$C/bad2")" = 404 ] || fail "bad2 still served"
[ "$(code -I "$A")" = 404 ] || fail "the bad account is still served"
curl -sf "http://127.0.0.1:$cport/recon/auditor/container" >"$TMPDIR_TEST/ac.json" &&
	curl -sf "http://127.0.0.1:$aport/recon/auditor/account" >"$TMPDIR_TEST/aa.json" &&
	curl -sf "http://127.0.0.1:$cport/recon/quarantined" >"$TMPDIR_TEST/q.json" ||
	fail "recon GETs"
$PYTHON - "$TMPDIR_TEST" <<'PY' || fail "recon: $(cat "$TMPDIR_TEST"/*.json)"
import json, sys
t = sys.argv[1]
c = json.load(open(t + "/ac.json"))
assert c["container_audits_passed"] == 1 and c["container_audits_failed"] == 2, c
assert c["container_auditor_pass_completed"] >= 0 and c["container_audits_since"] > 0, c
a = json.load(open(t + "/aa.json"))
assert a["account_audits_failed"] == 1 and a["account_audits_passed"] == 0, a
q = json.load(open(t + "/q.json"))
assert q["containers"] == 2 and q["accounts"] == 1 and q["objects"] == 0, q
PY

# 5. with the servers running, --once audit is run by them
for prog in kumo-containerd kumo-accountd; do
	timeout 30 "$prog" "$TMPDIR_TEST/kumo.conf" --once audit \
		>"$TMPDIR_TEST/once.log" 2>&1 || fail "$prog --once audit while serving: $(cat "$TMPDIR_TEST/once.log")"
done
grep -q "container audit pass done: 1 passed, 0 failed" "$TMPDIR_TEST/kumo-containerd.log" ||
	fail "the running container server did not run the pass"
grep -q "account audit pass done: 0 passed, 0 failed" "$TMPDIR_TEST/kumo-accountd.log" ||
	fail "the running account server did not run the pass"
