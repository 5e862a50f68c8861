#!/bin/bash
# tests/integration/202-accountd.sh: a real kumo-accountd against
# OpenStack Swift's account server run in-process: account create,
# metadata, container rows (live and deleted) with exact stats, listings
# with every parameter in the three formats byte for byte, account
# deletion; then a real kumo-containerd keeps the account's listing and
# stats up to date (inline on container PUT/DELETE, through its updater
# for object rows). SIGTERM exits 0.
. "$(dirname "$0")/../lib/functions.sh"
requires curl

aport=$(pick_unused_port)
cport=$(pick_unused_port)
mkdir -p "$TMPDIR_TEST/node/d1" "$TMPDIR_TEST/node/d2"
cat >"$TMPDIR_TEST/kumo.conf" <<CONF
[swift-hash]
swift_hash_path_suffix = t202
[account-server]
bind_port = $aport
devices = $TMPDIR_TEST/node
[container-server]
bind_port = $cport
devices = $TMPDIR_TEST/node
updater_interval = 1
CONF
start() { # prog port
	"$1" "$TMPDIR_TEST/kumo.conf" >>"$TMPDIR_TEST/$1.log" 2>&1 &
	last_pid=$!
	cleanup_fn "kill -9 $last_pid 2>/dev/null"
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$2/healthcheck" >/dev/null && return
		sleep 0.1
	done
	fail "$1 did not start: $(cat "$TMPDIR_TEST/$1.log")"
}
stop() { # pid
	local rc=0
	kill -TERM "$1"
	wait "$1" || rc=$?
	[ "$rc" -eq 0 ] || fail "daemon $1 exited $rc after SIGTERM"
}
start kumo-accountd "$aport"
apid=$last_pid
start kumo-containerd "$cport"
cpid=$last_pid

$PYTHON - "$aport" "$cport" "$TMPDIR_TEST" <<'PY' || fail "account server differs from Swift's"
import http.client, json, os, random, sys, time
from urllib.parse import quote, urlencode
from swift.common.swob import Request
from swift.account.server import AccountController

aport, cport, tmp = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
os.makedirs(tmp + "/ref/d1")
ref = AccountController({"devices": tmp + "/ref", "mount_check": "false",
                         "log_requests": "false"})
fails = 0

def kumo(method, path, headers=None, port=aport):
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

SHOWN = ("x-account-container-count", "x-account-object-count",
         "x-account-bytes-used", "x-put-timestamp", "x-account-status",
         "content-type")

def same(method, path, headers=None, why=""):
    global fails
    a, b = kumo(method, path, headers), swift(method, path, headers)
    diffs = []
    if a[0] != b[0]:
        diffs.append("status %d != %d" % (a[0], b[0]))
    keys = SHOWN + tuple(k for k in b[1] if k.startswith("x-account-meta"))
    for k in keys:
        if k == "content-type" and method not in ("HEAD", "GET"):
            continue
        if (a[0] // 100 == 2 or k == "x-account-status") and \
                a[1].get(k) != b[1].get(k):
            diffs.append("%s %r != %r" % (k, a[1].get(k), b[1].get(k)))
    if method == "GET" and a[0] // 100 == 2 and a[2] != b[2]:
        diffs.append("body %r != %r" % (a[2][:300], b[2][:300]))
    if diffs:
        fails += 1
        print("MISMATCH %s %s %r %s: %s" % (method, path, headers, why,
                                           "; ".join(diffs)))
    return a

A = "/d1/0/AUTH_t"
def crow(put, dele="0", count=0, size=0):
    return {"X-Put-Timestamp": put, "X-Delete-Timestamp": dele,
            "X-Object-Count": str(count), "X-Bytes-Used": str(size),
            "X-Backend-Storage-Policy-Index": "0"}

same("HEAD", A, why="missing")
same("GET", A, why="missing")
same("PUT", A + "/c", crow("1.00000"), "row without account")
same("PUT", A, why="no timestamp")
same("PUT", A, {"X-Timestamp": "10.00000", "X-Account-Meta-A": "1"})
same("PUT", A, {"X-Timestamp": "11.00000", "X-Account-Meta-B": "2"})
same("POST", A, {"X-Timestamp": "12.00000", "X-Account-Meta-A": "",
                 "X-Account-Meta-C": "3"})
same("POST", A, {"X-Timestamp": "11.50000", "X-Account-Meta-C": "old"})
same("HEAD", A, why="metadata")
same("GET", A, why="empty, plain")
same("GET", A + "?format=json", why="empty")
same("GET", A + "?format=xml", why="empty")

random.seed(202)
names = set(["a", "a/", "a/b", "a-b", "\u00e9", "\u00e9/x", "z", "dir/sub/x",
             "x&<>\"'", "\U0001f600"])
while len(names) < 400:
    k = random.random()
    names.add(random.choice(["c%03d" % random.randrange(1000),
                             "d%d/s%d" % (random.randrange(5), random.randrange(30)),
                             "\u00fc%d/%d" % (random.randrange(3), random.randrange(50))]))
for i, n in enumerate(sorted(names)):
    same("PUT", A + "/" + n, crow("20.%05d" % i, count=i % 7, size=i * 100))
for i, n in enumerate(random.sample(sorted(names), 60)):
    if i % 2:   # deleted: gone from the listing
        same("PUT", A + "/" + n, crow("20.00000", "30.%05d" % i), "deleted")
    else:       # newer stats, older put: counts follow, put kept
        same("PUT", A + "/" + n, crow("19.00000", count=3, size=33), "stats")
same("HEAD", A, why="stats")
prefixes = [None, "", "d1", "d1/", "\u00fc", "\u00fc1/", "a", "zz"]
delims = [None, "", "/", "s", "\u00e9"]
markers = [None, "", "c5", "d2/", "d2/s1", "\u00fc", "a/"]
ends = [None, "", "d", "d3/s2", "\u00fc2"]
formats = [None, "json", "xml", "plain"]
n = 0
for _ in range(300):
    q = {"prefix": random.choice(prefixes), "delimiter": random.choice(delims),
         "marker": random.choice(markers), "end_marker": random.choice(ends),
         "reverse": random.choice([None, "on"]),
         "limit": random.choice([None, "0", "1", "5", "40"]),
         "format": random.choice(formats)}
    same("GET", A + "?" + urlencode([(k, v) for k, v in q.items() if v is not None]))
    n += 1
for acc in ("application/json", "text/xml", "*/*", "image/png"):
    same("GET", A + "?limit=3", {"Accept": acc})
same("GET", A + "?limit=10001")
same("HEAD", "/nodev/0/AUTH_t", why="no device")
same("PUT", "/d1/0/AUTH_t/c/o", crow("1.00000"), "too deep")
many = {"X-Timestamp": "40.00000"}
many.update(("X-Account-Meta-M%d" % i, "v") for i in range(91))
same("POST", A, many, "too many metadata")
same("DELETE", A, {"X-Timestamp": "50.00000"})
same("HEAD", A, why="deleted")
same("GET", A, why="deleted")
same("PUT", A, {"X-Timestamp": "60.00000"}, "recently deleted")
same("POST", A, {"X-Timestamp": "60.00000"}, "deleted")
same("PUT", A + "/late", crow("61.00000"), "row for a deleted account")
print("account: %d listings compared, %d mismatches" % (n, fails))

# a real container server keeps an account up to date
B = "/d2/7/AUTH_live"
assert kumo("PUT", B, {"X-Timestamp": "100.00000"})[0] == 201
tgt = {"X-Account-Host": "127.0.0.1:%d" % aport, "X-Account-Device": "d2",
       "X-Account-Partition": "7"}
def cput(path, h):
    return kumo("PUT", path, h, port=cport)[0]
for c in ("c1", "c2", "c3"):
    assert cput("/d1/3/AUTH_live/" + c, dict(tgt, **{"X-Timestamp": "101.00000"})) == 201
listing = json.loads(kumo("GET", B + "?format=json")[2])
if [c["name"] for c in listing] != ["c1", "c2", "c3"]:
    fails += 1
    print("containers not listed at once: %r" % listing)
sizes = {"c1": [5, 7], "c2": [11]}
for c, ss in sizes.items():
    for i, s in enumerate(ss):
        st = cput("/d1/3/AUTH_live/%s/o%d" % (c, i),
                  {"X-Timestamp": "102.00000", "X-Size": str(s),
                   "X-Content-Type": "text/plain", "X-Etag": "e"})
        assert st == 201, st
want = {"c1": (2, 12), "c2": (1, 11), "c3": (0, 0)}
for _ in range(100):
    listing = json.loads(kumo("GET", B + "?format=json")[2])
    got = {c["name"]: (c["count"], c["bytes"]) for c in listing}
    if got == want:
        break
    time.sleep(0.1)
else:
    fails += 1
    print("object rows not reported: %r" % got)
h = kumo("HEAD", B)[1]
if (h.get("x-account-object-count"), h.get("x-account-bytes-used"),
        h.get("x-account-container-count")) != ("3", "23", "3"):
    fails += 1
    print("account stats: %r" % h)
st = kumo("DELETE", "/d1/3/AUTH_live/c3",
          dict(tgt, **{"X-Timestamp": "103.00000"}), port=cport)[0]
assert st == 204, st
st = kumo("DELETE", "/d1/3/AUTH_live/c1",
          dict(tgt, **{"X-Timestamp": "103.00000"}), port=cport)[0]
assert st == 409, st
listing = json.loads(kumo("GET", B + "?format=json")[2])
if [c["name"] for c in listing] != ["c1", "c2"]:
    fails += 1
    print("deleted container still listed: %r" % listing)
# an account that does not exist: the container server answers 404 too
st = cput("/d1/3/AUTH_none/c", {"X-Timestamp": "104.00000",
                                "X-Account-Host": "127.0.0.1:%d" % aport,
                                "X-Account-Device": "d2",
                                "X-Account-Partition": "7"})
if st != 404:
    fails += 1
    print("container PUT for a missing account: %d" % st)
print("%d mismatches" % fails)
sys.exit(1 if fails else 0)
PY
stop "$cpid"
stop "$apid"
