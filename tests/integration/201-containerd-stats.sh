#!/bin/bash
# tests/integration/201-containerd-stats.sh: a container's life on a real
# kumo-containerd, request by request against OpenStack Swift's container
# server run in-process (statuses, counts, bytes, metadata): create,
# re-create, metadata merge by timestamp, rows put, overwritten, deleted
# and resurrected by older updates (never), DELETE when not empty (409),
# deleted containers (404), bad paths (400), unknown devices (507); then
# 20 concurrent clients updating the same rows leave exact counts; rows
# and stats survive a restart; SIGTERM exits 0.
. "$(dirname "$0")/../lib/functions.sh"
requires curl

port=$(pick_unused_port)
mkdir -p "$TMPDIR_TEST/node/d1"
cat >"$TMPDIR_TEST/kumo.conf" <<CONF
[swift-hash]
swift_hash_path_suffix = t201
[container-server]
bind_port = $port
devices = $TMPDIR_TEST/node
CONF
start() {
	kumo-containerd "$TMPDIR_TEST/kumo.conf" >>"$TMPDIR_TEST/c.log" 2>&1 &
	pid=$!
	cleanup_fn "kill -9 $pid 2>/dev/null"
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$port/healthcheck" >/dev/null && return
		sleep 0.1
	done
	fail "kumo-containerd did not start: $(cat "$TMPDIR_TEST/c.log")"
}
stop() {
	local rc=0
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ] || fail "kumo-containerd exited $rc after SIGTERM"
}
start

$PYTHON - "$port" "$TMPDIR_TEST" <<'PY' || fail "container server differs from Swift's"
import http.client, json, os, random, sys, threading
from urllib.parse import quote
from swift.common.swob import Request
from swift.container.server import ContainerController

port, tmp = int(sys.argv[1]), sys.argv[2]
os.makedirs(tmp + "/ref/d1")
ref = ContainerController({"devices": tmp + "/ref", "mount_check": "false",
                           "log_requests": "false"})
fails = 0

def kumo(method, path, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    path, _, qs = path.partition("?")
    c.request(method, quote(path) + ("?" + qs if qs else ""),
              headers=headers or {})
    r = c.getresponse()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()

def swift(method, path, headers=None):
    path, _, qs = path.partition("?")
    r = Request.blank(quote(path), environ={"REQUEST_METHOD": method,
                                            "QUERY_STRING": qs},
                      headers=headers or {})
    r = r.get_response(ref)
    return r.status_int, dict((k.lower(), v) for k, v in r.headers.items()), r.body

SHOWN = ("x-container-object-count", "x-container-bytes-used",
         "x-put-timestamp", "x-backend-put-timestamp",
         "x-backend-delete-timestamp", "x-backend-status-changed-at",
         "x-backend-storage-policy-index", "last-modified")

def same(method, path, headers=None, why=""):
    global fails
    a, b = kumo(method, path, headers), swift(method, path, headers)
    diffs = []
    if a[0] != b[0]:
        diffs.append("status %d != %d" % (a[0], b[0]))
    for k in SHOWN + tuple(k for k in b[1] if k.startswith("x-container-")):
        if a[0] // 100 == 2 and a[1].get(k) != b[1].get(k):
            diffs.append("%s %r != %r" % (k, a[1].get(k), b[1].get(k)))
    for k in a[1]:
        if k.startswith("x-container-meta-") and k not in b[1]:
            diffs.append("%s only in kumo" % k)
    if method == "GET" and a[0] == 200 and a[2] != b[2]:
        diffs.append("body %r != %r" % (a[2][:200], b[2][:200]))
    if diffs:
        fails += 1
        print("MISMATCH %s %s %r %s: %s" % (method, path, headers, why,
                                           "; ".join(diffs)))
    return a

C = "/d1/0/AUTH_t/c"
def row(ts, size=3, ct="text/plain", etag="e"):
    return {"X-Timestamp": ts, "X-Size": str(size), "X-Content-Type": ct,
            "X-Etag": etag}

same("HEAD", C, why="missing")
same("GET", C, why="missing")
same("PUT", C, why="no timestamp")
same("PUT", C, {"X-Timestamp": "bogus"}, "bad timestamp")
same("PUT", C + "/o", row("1.00000"), "row without container")
same("DELETE", C + "/o", {"X-Timestamp": "1.00000"}, "row without container")
same("DELETE", C, {"X-Timestamp": "1.00000"}, "missing container")
same("POST", C, {"X-Timestamp": "1.00000"}, "missing container")
same("PUT", C, {"X-Timestamp": "10.00000", "X-Container-Meta-A": "1",
                "X-Container-Read": ".r:*", "X-Versions-Location": "v"})
same("HEAD", C)
same("PUT", C, {"X-Timestamp": "10.00000"}, "again")
same("PUT", C, {"X-Timestamp": "5.00000", "X-Container-Meta-A": "old"},
     "older")
same("PUT", C, {"X-Timestamp": "11.00000", "X-Container-Meta-B": "2"})
same("POST", C, {"X-Timestamp": "12.00000", "X-Container-Meta-A": "",
                 "X-Container-Meta-C": "3", "X-Container-Write": "a:b"})
same("POST", C, {"X-Timestamp": "11.50000", "X-Container-Meta-C": "older"})
same("HEAD", C, why="metadata merged")
many = {"X-Timestamp": "13.00000"}
many.update(("X-Container-Meta-M%d" % i, "v") for i in range(91))
same("POST", C, many, "too many metadata")
same("POST", C, {"X-Timestamp": "13.00000",
                 "X-Container-Meta-Big": "x" * 4100}, "too large")
same("HEAD", C)
for i, n in enumerate(["a", "b", "c/d", "\u00e9"]):
    same("PUT", C + "/" + n, row("20.%05d" % i, size=10 + i))
same("HEAD", C, why="4 rows")
same("PUT", C + "/a", row("21.00000", size=100), "overwrite")
same("PUT", C + "/a", row("20.50000", size=5), "older overwrite")
same("PUT", C + "/b", row("20.00001", size=5), "same timestamp")
same("DELETE", C + "/c/d", {"X-Timestamp": "22.00000"})
same("PUT", C + "/c/d", row("21.50000", size=9), "older put after delete")
same("DELETE", C + "/zz", {"X-Timestamp": "22.00000"}, "never existed")
same("HEAD", C, why="after overwrite and delete")
# a POST's update (fast-POST): content type and last_modified change
same("PUT", C + "/fp", row("23.00000", size=4, ct="a/b"))
fp = row("23.00000", size=4, ct="c/d;swift_bytes=9")
fp.update({"X-Content-Type-Timestamp": "24.00000",
           "X-Meta-Timestamp": "25.00000"})
same("PUT", C + "/fp", fp, "fast-post")
same("PUT", C + "/fp", row("23.50000", size=6, ct="e/f"), "newer data")
same("GET", C + "?format=json&prefix=fp")
same("DELETE", C + "/fp", {"X-Timestamp": "26.00000"})
same("GET", C + "?format=json")
same("DELETE", C, {"X-Timestamp": "30.00000"}, "not empty")
for n in ["a", "b", "\u00e9"]:
    same("DELETE", C + "/" + n, {"X-Timestamp": "31.00000"})
same("DELETE", C, {"X-Timestamp": "9.00000"}, "older than put")
same("HEAD", C, why="delete older than put")
same("DELETE", C, {"X-Timestamp": "32.00000"}, "empty")
same("HEAD", C, why="deleted")
same("GET", C, why="deleted")
same("POST", C, {"X-Timestamp": "33.00000"}, "deleted")
same("DELETE", C, {"X-Timestamp": "34.00000"}, "deleted again")
same("PUT", C, {"X-Timestamp": "33.00000"}, "older than delete")
same("PUT", C, {"X-Timestamp": "40.00000"}, "re-create")
same("HEAD", C, why="re-created: metadata gone")
same("PUT", "/nodev/0/AUTH_t/c", {"X-Timestamp": "1.00000"}, "no device")
same("HEAD", "/nodev/0/AUTH_t/c", why="no device")
for bad in ("/d1/0/AUTH_t", "/d1", "/d1/0//c", "/./0/AUTH_t/c"):
    st = kumo("PUT", bad, {"X-Timestamp": "1.00000"})[0]
    want = swift("PUT", bad, {"X-Timestamp": "1.00000"})[0]
    if st != want:
        fails += 1
        print("MISMATCH PUT %s: %d != %d" % (bad, st, want))
st = kumo("POST", C + "/o", {"X-Timestamp": "50.00000"})[0]
if st != 400:
    fails += 1
    print("POST on a row: %d" % st)
st = kumo("COPY", C)[0]
if st != 405:
    fails += 1
    print("COPY: %d" % st)

# 20 clients race on 200 names with distinct timestamps: the newest op of
# each name wins, whatever the order they arrive in
C2 = "/d1/0/AUTH_t/race"
same("PUT", C2, {"X-Timestamp": "100.00000"})
random.seed(201)
ops = []
for k in range(2000):
    n = "n%03d" % random.randrange(200)
    ts = "%.5f" % (200 + random.randrange(10 ** 6) / 1e4 + k * 1e-5 % 1e-5)
    if random.random() < 0.3:
        ops.append(("DELETE", n, {"X-Timestamp": ts}))
    else:
        ops.append(("PUT", n, row(ts, size=random.randrange(1000),
                                   etag="e%d" % k)))
seen = {}
for i, (m, n, h) in enumerate(ops):   # distinct timestamps only
    if h["X-Timestamp"] in seen:
        h["X-Timestamp"] = "%.5f" % (float(h["X-Timestamp"]) + 0.00001 * i)
    seen[h["X-Timestamp"]] = 1
bad = []
def client(part):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for m, n, h in part:
        c.request(m, C2 + "/" + n, headers=h)
        r = c.getresponse(); r.read()
        if r.status not in (201, 204):
            bad.append(r.status)
threads = [threading.Thread(target=client, args=(ops[k::20],))
           for k in range(20)]
for t in threads: t.start()
for t in threads: t.join()
assert not bad, bad[:5]
for m, n, h in ops:
    swift(m, C2 + "/" + n, h)
final = {}
for m, n, h in ops:
    if n not in final or float(h["X-Timestamp"]) > float(final[n][2]["X-Timestamp"]):
        final[n] = (m, n, h)
live = {n: int(h["X-Size"]) for m, n, h in final.values() if m == "PUT"}
st, hd, _ = kumo("HEAD", C2)
got = (int(hd["x-container-object-count"]), int(hd["x-container-bytes-used"]))
if got != (len(live), sum(live.values())):
    fails += 1
    print("race: counts %r, expected %r" % (got, (len(live), sum(live.values()))))
listing = json.loads(kumo("GET", C2 + "?format=json")[2])
if sorted(o["name"] for o in listing) != sorted(live):
    fails += 1
    print("race: listing differs")
same("HEAD", C2, why="race")
same("GET", C2 + "?format=json", why="race")
with open(tmp + "/expect", "w") as f:
    f.write("%d %d\n" % (len(live), sum(live.values())))
print("%d mismatches" % fails)
sys.exit(1 if fails else 0)
PY

# what was acknowledged survives a restart
stop
start
read -r count bytes <"$TMPDIR_TEST/expect"
curl -sI "http://127.0.0.1:$port/d1/0/AUTH_t/race" >"$TMPDIR_TEST/head"
grep -qi "^X-Container-Object-Count: $count" "$TMPDIR_TEST/head" ||
	fail "object count after restart: $(cat "$TMPDIR_TEST/head")"
grep -qi "^X-Container-Bytes-Used: $bytes" "$TMPDIR_TEST/head" ||
	fail "bytes used after restart: $(cat "$TMPDIR_TEST/head")"
stop
