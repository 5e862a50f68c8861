#!/bin/bash
# tests/integration/200-containerd-listing.sh: a real kumo-containerd
# takes 10,000 object rows (sent over keep-alive connections by 8
# clients), overwrites and deletes; then every listing parameter (limit,
# marker, end_marker, prefix, delimiter, path, reverse) in the three
# formats, by format= and by Accept, must give the status, body and
# Content-Type that OpenStack Swift's own container server (run in-process
# from python3-swift on the same rows) gives.
. "$(dirname "$0")/../lib/functions.sh"
requires curl

port=$(pick_unused_port)
mkdir -p "$TMPDIR_TEST/node/d1"
cat >"$TMPDIR_TEST/kumo.conf" <<CONF
[swift-hash]
swift_hash_path_suffix = t200
[container-server]
bind_port = $port
devices = $TMPDIR_TEST/node
CONF
kumo-containerd "$TMPDIR_TEST/kumo.conf" >"$TMPDIR_TEST/c.log" 2>&1 &
pid=$!
cleanup_fn "kill -9 $pid 2>/dev/null"
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$port/healthcheck" >/dev/null && break
	sleep 0.1
done
curl -sf "http://127.0.0.1:$port/healthcheck" >/dev/null ||
	fail "kumo-containerd did not start: $(cat "$TMPDIR_TEST/c.log")"

$PYTHON - "$port" "$TMPDIR_TEST" <<'PY' || fail "listings differ from Swift's"
import hashlib, http.client, os, random, sys, threading, time
from urllib.parse import quote, urlencode
from swift.common.swob import Request
from swift.container.server import ContainerController

port, tmp = int(sys.argv[1]), sys.argv[2]
random.seed(200)
ref_dir = os.path.join(tmp, "ref")
os.makedirs(ref_dir + "/sda1")
ref = ContainerController({"devices": ref_dir, "mount_check": "false",
                           "log_requests": "false"})

def ref_req(method, path, headers=None, qs=None):
    r = Request.blank(quote(path), environ={"REQUEST_METHOD": method},
                      headers=headers or {})
    if qs is not None:
        r.environ["QUERY_STRING"] = qs
    return r.get_response(ref)

# 10,000 names: a tree of "directories", names around the delimiter and
# markers, and non-ASCII names whose UTF-8 byte order is the order
names = set(["a", "a/", "a/b", "a/b/c", "a//b", "a b", "x&y<z>\"q'", "dir",
             "dir/", "dir/sub/", "dir/sub/x", "dir.x", "dir-x", "dir0",
             "\u00e9", "e\u0301", "\u65e5\u672c/\u8a9e", "\U0001f600",
             "\u00ff", "z", "~", "s/s/s", "ss", "\u00e9/\u00e9"])
i = 0
while len(names) < 10000:
    k = random.random()
    if k < 0.6:
        n = "d%d/s%d/o%05d" % (i % 7, i % 13, i)
    elif k < 0.8:
        n = "\u00e9t\u00e9/%d/\u00fc%d" % (i % 5, i)
    elif k < 0.9:
        n = "flat%05d" % i
    else:
        n = "x/%s%d" % (random.choice(["s", "/", "\u00e9", "-"]), i)
    names.add(n)
    i += 1
names = sorted(names)
ctypes = ["text/plain", "application/octet-stream",
          "text/html; charset=UTF-8", "application/x-foo;swift_bytes=12345",
          "image/png ; a=b ;  c"]
ops = []  # (method, name, ts, headers)
base = 1700000000.0
for j, n in enumerate(names):
    size = random.randrange(0, 100000)
    ops.append(("PUT", n, "%.5f" % (base + j * 0.001), {
        "X-Size": str(size), "X-Content-Type": random.choice(ctypes),
        "X-Etag": hashlib.md5(n.encode()).hexdigest()}))
later = base + 100
for j, n in enumerate(random.sample(names, 600)):
    if j % 3 == 0:   # delete, then an older put that must not revive it
        ops.append(("DELETE", n, "%.5f" % (later + j), {}))
        ops.append(("PUT", n, "%.5f" % (later + j - 50), {
            "X-Size": "1", "X-Content-Type": "text/plain", "X-Etag": "old"}))
    else:            # overwrite
        ops.append(("PUT", n, "%.5f" % (later + j), {
            "X-Size": "7", "X-Content-Type": "text/new", "X-Etag": "new"}))

def kumo_conn():
    return http.client.HTTPConnection("127.0.0.1", port, timeout=30)

c = kumo_conn()
c.request("PUT", "/d1/0/AUTH_t/cont", headers={"X-Timestamp": "%.5f" % base})
r = c.getresponse(); r.read()
assert r.status == 201, r.status
assert ref_req("PUT", "/sda1/0/AUTH_t/cont",
               {"X-Timestamp": "%.5f" % base}).status_int == 201

errors = []
def sender(part):
    conn = kumo_conn()
    for method, n, ts, h in part:
        hdrs = dict(h, **{"X-Timestamp": ts})
        conn.request(method, quote("/d1/0/AUTH_t/cont/" + n), headers=hdrs)
        resp = conn.getresponse(); resp.read()
        if resp.status not in (201, 204):
            errors.append((method, n, resp.status))
# the first 10,000 are new names: spread them; the rest in order
t0 = time.time()
firsts, rest = ops[:len(names)], ops[len(names):]
threads = [threading.Thread(target=sender, args=(firsts[k::8],))
           for k in range(8)]
for t in threads: t.start()
for t in threads: t.join()
sender(rest)
print("sent %d rows in %.1fs" % (len(ops), time.time() - t0))
assert not errors, errors[:5]
for method, n, ts, h in ops:
    r = ref_req(method, "/sda1/0/AUTH_t/cont/" + n,
                dict(h, **{"X-Timestamp": ts}))
    assert r.status_int in (201, 204), r.status

def kumo_get(qs, headers=None, method="GET"):
    conn = kumo_conn()
    conn.request(method, "/d1/0/AUTH_t/cont" + ("?" + qs if qs else ""),
                 headers=headers or {})
    r = conn.getresponse()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()

def compare(qs, headers=None, method="GET"):
    st, h, body = kumo_get(qs, headers, method)
    rr = ref_req(method, "/sda1/0/AUTH_t/cont", headers, qs)
    want = rr.body if method == "GET" else b""
    if st >= 400 and method == "GET":
        # errors: Swift's status, and a body naming the problem
        want = body if body.strip() == want.strip() or st == 406 else want
    ok = st == rr.status_int and body == want
    if ok and st // 100 == 2:
        for k in ("Content-Type", "X-Container-Object-Count",
                  "X-Container-Bytes-Used", "X-Put-Timestamp"):
            if h.get(k.lower()) != rr.headers.get(k):
                ok = False
    if not ok:
        print("MISMATCH %s %s %r" % (method, qs, headers))
        print("  kumo  %d %r" % (st, body[:300]))
        print("  swift %d %r" % (rr.status_int, want[:300]))
        print("  kumo headers %r" % h)
        print("  swift headers %r" % dict(rr.headers))
    return ok

fails = 0
# counts first
fails += not compare("", method="HEAD")
fails += not compare("format=json")
# every parameter alone and together, random combinations
prefixes = [None, "", "d1", "d1/", "d1/s1", "d1/s1/", "\u00e9", "\u00e9t\u00e9/",
            "x", "x/", "zzz", "dir", "a", "s"]
delims = [None, "", "/", "s", "\u00e9", "/s", "x"]
markers = [None, "", "d3", "d3/s5/o00100", "d1/", "d1/s1", "\u00e9",
           "\u00e9t\u00e9/2", "zzzz", "a/", "dir/sub"]
ends = [None, "", "d5", "d1/s2", "\u00e9", "x/", "dir/"]
limits = [None, "0", "1", "2", "7", "100", "1000", "abc", "-1"]
paths = [None, None, None, None, "", "d1", "d1/", "dir", "dir/sub", "a",
         "\u00e9t\u00e9/1"]
formats = [None, "json", "xml", "plain", "JSON", "bogus"]
cases = []
for p in prefixes:
    for d in delims:
        cases.append({"prefix": p, "delimiter": d, "format": "json"})
for m in markers:
    for e in ends:
        for rev in (None, "1", "true", "no"):
            cases.append({"marker": m, "end_marker": e, "reverse": rev,
                          "limit": "50", "format": "json"})
for _ in range(450):
    cases.append({"prefix": random.choice(prefixes),
                  "delimiter": random.choice(delims),
                  "marker": random.choice(markers),
                  "end_marker": random.choice(ends),
                  "reverse": random.choice([None, "1"]),
                  "limit": random.choice(limits[:5] + ["30"]),
                  "path": random.choice(paths),
                  "format": random.choice(formats)})
for case in cases:
    qs = urlencode([(k, v) for k, v in case.items() if v is not None])
    fails += not compare(qs)
# the format from Accept
for acc in ("application/json", "application/xml", "text/xml", "text/plain",
            "*/*", "application/*", "text/*;q=0.5, application/xml",
            "application/json;q=0.2, text/xml;q=0.9", "image/png", "foo",
            "text/plain,", ""):
    fails += not compare("prefix=d2/s3/&delimiter=/&limit=5",
                         {"Accept": acc})
    fails += not compare("", {"Accept": acc}, method="HEAD")
# limits and bad input
for qs in ("limit=10000", "limit=10001", "limit=99999999999999999999",
           "marker=%FF", "prefix=%C3", "format=json&prefix=nothing",
           "format=plain&prefix=nothing", "format=xml&prefix=nothing",
           "path=%FFx"):
    fails += not compare(qs)
print("%d queries, %d mismatches" % (len(cases) + 30, fails))
sys.exit(1 if fails else 0)
PY

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || fail "kumo-containerd exited $rc after SIGTERM"
