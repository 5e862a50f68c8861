#!/bin/bash
# bench/replication.sh: how fast the object replicator brings the third
# replica back after a device is lost (run by bench/run.sh, make bench).
#   - four object servers, one device each, 3 replicas (tests/lib/
#     multinode.sh); 4 MiB objects PUT through the proxy until the devices
#     hold at least 2 GiB in all;
#   - reference: cp -r of the lost device's objects folder to another
#     folder of the same disk, then sync: the disk's own copy speed for
#     the same bytes, measured in this run;
#   - the device's folder is wiped (made again, empty) and one
#     `kumo-objectd CONF --once replicate` pass runs on each node in turn;
#     the restored replicas are checked on disk through the ring;
#   - prints bytes, seconds and MB/s of both and the ratio (replication
#     time / copy time).
# OBJECTS=N changes the object count (default 176: 704 MiB, 2.06 GiB
# stored).
. "$(dirname "$0")/../tests/lib/functions.sh"
. "$(dirname "$0")/../tests/lib/replication.sh"
n=${OBJECTS:-176}

OBJ_EXTRA_CONF="replicator_interval = 86400
replicator_concurrency = 4"
repl_cluster 4
$PYTHON - "$URL" "$TOKEN" "$n" "$STATE" <<'PY' || fail "upload failed"
import hashlib, http.client, os, sys, threading, urllib.parse
url, token, n, state = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
u = urllib.parse.urlparse(url)
acct = u.path.split("/")[-1]
lines, errors, lock = [], [], threading.Lock()
def run(names):
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    for name in names:
        body = os.urandom(4 << 20)
        conn.request("PUT", u.path + "/c/" + name, body=body,
                     headers={"X-Auth-Token": token})
        r = conn.getresponse()
        r.read()
        with lock:
            if r.status != 201:
                errors.append(r.status)
            lines.append("%s/c/%s live %s\n" % (acct, name,
                                                hashlib.md5(body).hexdigest()))
ts = [threading.Thread(target=run, args=(["b%05d" % i for i in range(k, n, 4)],))
      for k in range(4)]
[t.start() for t in ts]
[t.join() for t in ts]
open(state, "w").writelines(sorted(lines))
sys.exit(1 if errors else 0)
PY
total=$(du -sb "$NODE_DIR"/obj*/d*/objects | awk '{ s += $1 } END { print s }')
lost=$(du -sb "$NODE_DIR/obj2/d2/objects" | awk '{ print $1 }')
sync

# secs CMD...: wall seconds CMD took
secs() {
	local s e
	s=$(date +%s.%N)
	"$@" >/dev/null 2>>"$TMPDIR_TEST/bench.err" || fail "$* failed: $(tail -3 "$TMPDIR_TEST/bench.err")"
	e=$(date +%s.%N)
	awk -v s="$s" -v e="$e" 'BEGIN { printf "%.2f", e - s }'
}
copy() { cp -r "$NODE_DIR/obj2/d2/objects" "$TMPDIR_TEST/copy" && sync; }
cp_s=$(secs copy)
rm -rf "$TMPDIR_TEST/copy"

rm -rf "$NODE_DIR/obj2/d2"
mkdir "$NODE_DIR/obj2/d2"
sync
replicate() {
	local k
	for k in 1 3 4 2; do
		kumo-objectd "$TMPDIR_TEST/obj$k.conf" --once replicate || return 1
	done
	sync
}
repl_s=$(secs replicate)
restored=$(du -sb "$NODE_DIR/obj2/d2/objects" | awk '{ print $1 }')
repl_check >/dev/null || fail "replicas were not restored"

awk -v total="$total" -v lost="$lost" -v restored="$restored" \
	-v cp="$cp_s" -v rp="$repl_s" -v n="$n" 'BEGIN {
	printf "objects: %d of 4 MiB, 3 replicas, %.2f GiB on 4 devices\n", n, total / 2^30
	printf "%-34s %10s %8s %9s\n", "", "bytes", "seconds", "MB/s"
	printf "%-34s %10d %8.2f %9.1f\n", "cp -r + sync (same disk)", lost, cp, lost / cp / 1e6
	printf "%-34s %10d %8.2f %9.1f\n", "replication (--once, 4 nodes)", restored, rp, restored / rp / 1e6
	printf "ratio replication / copy time: %.2f\n", rp / cp
}'
