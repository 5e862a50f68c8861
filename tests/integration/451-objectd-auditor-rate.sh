#!/bin/bash
# tests/integration/451-objectd-auditor-rate.sh: `kumo-objectd --once audit` reads every object file at the configured pace (auditor_files_per_second = 10 over 16 files takes at least 1.6 s; without a limit it is fast), quarantines only the files that fail (a flipped body byte, a wrong Content-Length, a broken footer), keeps the good ones, paces bytes too (auditor_bytes_per_second), runs by itself in a running server (auditor_interval), and records Swift's object_auditor_stats_ALL in the recon cache, which /recon/auditor/object and /recon/quarantined answer.
. "$(dirname "$0")/../lib/functions.sh"
requires curl md5sum kumo-objectd

. "$(dirname "$0")/../lib/objectd.sh"

start_objectd
D=$TMPDIR_TEST/srv
CACHE=$TMPDIR_TEST/recon # the recon_cache_path of tests/lib/objectd.sh

hash_of() { printf '/a/c/%skumotest' "$1" | md5sum | cut -d' ' -f1; }
data_of() {
	local h
	h=$(hash_of "$1")
	ls "$D"/d1/objects/7/"${h: -3}"/"$h"/*.data
}

for i in $(seq 1 16); do
	expect_status 201 PUT /d1/7/a/c/o$i -H "X-Timestamp: $(now_ts)" \
		-H "Content-Type: text/plain" --data-binary "body of object $i"
done
stop_objectd

audit_conf() {
	cat >"$TMPDIR_TEST/audit.conf" <<CONF
[swift-hash]
swift_hash_path_suffix = kumotest
[object-server]
devices = $D
recon_cache_path = $CACHE
auditor_files_per_second = $1
CONF
}

# 1. the pace: 16 files at 10/s take >= 1.6 s; all pass
audit_conf 10
t0=$(date +%s.%N)
timeout 30 kumo-objectd "$TMPDIR_TEST/audit.conf" --once audit \
	2>"$TMPDIR_TEST/audit1.log" || fail "audit pass failed: $(cat "$TMPDIR_TEST/audit1.log")"
t1=$(date +%s.%N)
$PYTHON -c "import sys; d=float(sys.argv[2])-float(sys.argv[1]); sys.exit(0 if d >= 1.6 else 1)" "$t0" "$t1" ||
	fail "16 files at 10/s took less than 1.6 s ($t0 .. $t1)"
grep -q "16 files.* 0 quarantined, 0 errors" "$TMPDIR_TEST/audit1.log" ||
	fail "pass log: $(grep 'audit pass' "$TMPDIR_TEST/audit1.log")"
[ ! -d "$D/d1/quarantined" ] || fail "a good object was quarantined"

# 2. the bytes pace: 16 bodies of ~17 bytes at 100 bytes/s take >= 2.6 s
cat >>"$TMPDIR_TEST/audit.conf" <<CONF
auditor_bytes_per_second = 100
CONF
t0=$(date +%s.%N)
timeout 30 kumo-objectd "$TMPDIR_TEST/audit.conf" --once audit \
	2>"$TMPDIR_TEST/audit3.log" || fail "audit pass (bytes) failed"
t1=$(date +%s.%N)
bytes=$(sed -n 's/.*audit pass done: [0-9]* files, \([0-9]*\) bytes.*/\1/p' "$TMPDIR_TEST/audit3.log")
[ "${bytes:-0}" -ge 200 ] || fail "the bytes pass read ${bytes:-no} bytes"
$PYTHON -c "import sys; d=float(sys.argv[2])-float(sys.argv[1]); sys.exit(0 if d >= int(sys.argv[3]) / 100.0 else 1)" "$t0" "$t1" "$bytes" ||
	fail "$bytes bytes at 100 bytes/s took less than $bytes/100 s"
audit_conf 0

# 3. three corrupt files; no limit: fast, and exactly those quarantined
flip_byte "$(data_of o3)" 2                               # body byte
f=$(data_of o5)
flip_byte "$f" $(($(stat -c %s "$f") - 3))                # footer CRC
f=$(data_of o9)
truncate -s 0 "$f"                                   # empty: no footer
audit_conf 0
t0=$(date +%s)
timeout 30 kumo-objectd "$TMPDIR_TEST/audit.conf" --once audit \
	2>"$TMPDIR_TEST/audit2.log" || fail "audit pass 2 failed"
t1=$(date +%s)
[ $((t1 - t0)) -le 5 ] || fail "an unlimited pass of 16 files took $((t1 - t0)) s"
for o in o3 o5 o9; do
	h=$(hash_of $o)
	[ -d "$D/d1/quarantined/objects/$h" ] || fail "$o not quarantined"
	[ ! -e "$D/d1/objects/7/${h: -3}/$h" ] || fail "$o still in place"
done
n=$(ls "$D/d1/quarantined/objects" | wc -l)
[ "$n" -eq 3 ] || fail "$n objects quarantined, expected 3"
grep -q "3 quarantined" "$TMPDIR_TEST/audit2.log" || fail "pass log lacks 3 quarantined"

# 4. the recon cache and endpoints
$PYTHON - "$CACHE/object.recon" <<'PY' || fail "object.recon: $(cat "$CACHE/object.recon")"
import json, sys
s = json.load(open(sys.argv[1]))["object_auditor_stats_ALL"]
assert s["quarantined"] == 3 and s["passes"] == 13 and s["errors"] == 0, s
assert s["bytes_processed"] > 0 and s["audit_time"] >= 0 and s["start_time"] > 0, s
PY
start_objectd_again() {
	kumo-objectd "$TMPDIR_TEST/object.conf" 2>>"$TMPDIR_TEST/objectd.log" &
	OBJ_PID=$!
	cleanup_fn "kill -9 $OBJ_PID 2>/dev/null"
	for i in $(seq 50); do
		curl -sf "$OBJ_URL/healthcheck" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "kumo-objectd did not come back"
}
start_objectd_again
curl -sf "$OBJ_URL/recon/auditor/object" >"$TMPDIR_TEST/aud.json" || fail "GET /recon/auditor/object"
curl -sf "$OBJ_URL/recon/quarantined" >"$TMPDIR_TEST/q.json" || fail "GET /recon/quarantined"
$PYTHON - "$TMPDIR_TEST/aud.json" "$TMPDIR_TEST/q.json" <<'PY' || fail "recon answers: $(cat "$TMPDIR_TEST/aud.json" "$TMPDIR_TEST/q.json")"
import json, sys
a = json.load(open(sys.argv[1]))
assert a["object_auditor_stats_ALL"]["quarantined"] == 3, a
assert "object_auditor_stats_ZBF" in a, a
q = json.load(open(sys.argv[2]))
assert q["objects"] == 3 and q["containers"] == 0 and q["accounts"] == 0, q
PY
# a good object still reads back; a quarantined one is gone
expect_status 200 GET /d1/7/a/c/o4
expect_status 404 GET /d1/7/a/c/o3
stop_objectd

# 5. the background auditor of a running server finds rot by itself
echo "auditor_interval = 1" >>"$TMPDIR_TEST/object.conf"
start_objectd_again
flip_byte "$(data_of o4)" 0
for i in $(seq 100); do
	[ -d "$D/d1/quarantined/objects/$(hash_of o4)" ] && break
	sleep 0.1
done
[ -d "$D/d1/quarantined/objects/$(hash_of o4)" ] ||
	fail "the auditor thread did not quarantine o4 within 10 s"
stop_objectd
