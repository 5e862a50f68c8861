#!/bin/bash
# 411-cluster-listing-10k: a container of 10,000 objects (nested "dirs",
# UTF-8, spaces, &<>"', %, +, ?, #, //, a name ending in /) made through
# the proxy of kumo-aio with curl --parallel, then listed through the
# proxy with every query parameter and compared with what Swift 2.30 lists
# (tests/lib/listing_ref.py, computed in python from the names alone):
#   - limit (0, 1, 10000; 10001 is 412 "Maximum limit is 10000"; not a
#     number: ignored), marker, end_marker, prefix, delimiter (one and two
#     characters), reverse (true/1/yes/on), path, and mixes of them;
#   - each object's hash, bytes and content_type; subdir entries;
#   - format=json|xml|plain and the Accept header (format wins), their
#     Content-Type; an empty plain listing is 204, an empty json one [];
#   - paging by marker gives the whole listing, forwards and reversed;
#   - X-Container-Object-Count / -Bytes-Used, and the swift CLI's listing
#     (it pages by itself) and --prefix/--delimiter.
# Data lives on tmpfs when it can (fsync there is free), to stay fast.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
	export TMPDIR=/dev/shm
fi
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl /usr/bin/swift

start_cluster
cd "$TMPDIR_TEST"
read -r TOKEN URL < <(get_token test:tester testing)
[ -n "$TOKEN" ] || fail "no token"
[ "$(status PUT "$URL/c" -H "X-Auth-Token: $TOKEN")" = 201 ] ||
	fail "container PUT"

# the names, the bodies (7 sizes), and curl's config to upload them
$PYTHON - "$URL" "$TOKEN" <<'PY'
import json, sys, urllib.parse
url, token = sys.argv[1:3]
names = ["d%02d/s%d/o%05d" % (i % 16, (i // 16) % 5, i) for i in range(8000)]
names += ["t%05d" % i for i in range(8000, 9500)]
names += ["u/\u00fc%05d" % i for i in range(9500, 9980)]
names += ["d00", "d00/", "d00/s0/", "a b", "a&b<c>\"'", "%25", "a+b", "q?x",
          "h#1", "\u00e9", "\u65e5\u672c\u8a9e/\u30d5\u30a1\u30a4\u30eb",
          "\u65e5\u672c\u8a9e/", "zz/", "/lead", "x//y", "dot.", "~tilde",
          "emoji\U0001F600", "sp ace/in dir", "t"]
assert len(names) == len(set(names)) == 10000
for k in range(7):
    open("body%d" % k, "wb").write(b"x" * k)
objs = {}
with open("curl.cfg", "w") as cfg:
    for i, n in enumerate(sorted(names)):
        k = i % 7
        objs[n] = k
        q = urllib.parse.quote(n, safe="/")
        if q.endswith("/"):  # or curl -T appends the file's name
            q = q[:-1] + "%2F"
        # headers add up across URLs unless "next" starts a new set
        cfg.write('%surl = "%s/c/%s"\nupload-file = "body%d"\n'
                  'header = "Content-Type: text/x-k%d"\n'
                  'header = "X-Auth-Token: %s"\noutput = "/dev/null"\n'
                  'path-as-is\nsilent\nwrite-out = "%%{http_code}\\n"\n'
                  % ("next\n" if i else "", url,
                     q, k, k, token))
json.dump(objs, open("objs.json", "w"))
PY
start=$(date +%s)
curl --parallel --parallel-max 32 -K curl.cfg 2>/dev/null | sort | uniq -c >puts
echo "10,000 PUTs in $(($(date +%s) - start)) s: $(tr -s ' \n' ' ' <puts)"
[ "$(awk '$2 == 201 {print $1}' puts)" = 10000 ] ||
	{ cat puts; fail "not every PUT answered 201"; }

$PYTHON - "$PROXY_PORT" "$TOKEN" "$TESTS_DIR/lib" <<'PY' ||
import hashlib, http.client, json, re, sys, urllib.parse
import xml.etree.ElementTree as ET
port, token = int(sys.argv[1]), sys.argv[2]
sys.path.insert(0, sys.argv[3])
from listing_ref import listing

objs = json.load(open("objs.json"))
names = list(objs)
failures = []
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")


def get(query, headers=None, method="GET"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    h = {"X-Auth-Token": token}
    h.update(headers or {})
    conn.request(method, "/v1/AUTH_test/c" + query, headers=h)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, r, body


def qs(params):
    return "?" + urllib.parse.urlencode(params) if params else ""


def ref(params):
    rev = params.get("reverse", "").lower() in ("true", "1", "yes", "on",
                                                 "t", "y")
    lim = params.get("limit", "")
    return listing(names, int(lim) if lim.isdigit() else 10000,
                   params.get("marker", ""), params.get("end_marker", ""),
                   params.get("prefix"), params.get("delimiter"),
                   params.get("path"), rev)


def entry(e):
    if isinstance(e, tuple):
        return {"subdir": e[1]}
    k = objs[e]
    return {"name": e, "hash": hashlib.md5(b"x" * k).hexdigest(),
            "bytes": k, "content_type": "text/x-k%d" % k}


def show(x):
    return [e.get("name", e.get("subdir")) if isinstance(e, dict) else e
            for e in x][:6]


def check_json(params, extra=None):
    want = [entry(e) for e in ref(params)]
    st, r, body = get(qs(dict(params, format="json")), extra)
    what = "json %s" % qs(params)
    if st != 200:
        failures.append("%s: status %d %r" % (what, st, body[:100]))
        return None
    if not r.getheader("Content-Type", "").lower().startswith(
            "application/json"):
        failures.append("%s: Content-Type %s" % (what,
                                                r.getheader("Content-Type")))
    got = json.loads(body)
    for g in got:
        lm = g.pop("last_modified", None)
        if "name" in g and not (lm and TS.match(lm)):
            failures.append("%s: last_modified %r" % (what, lm))
            break
    if got != want:
        i = next((i for i in range(min(len(got), len(want)))
                  if got[i] != want[i]), min(len(got), len(want)))
        failures.append("%s: %d entries, want %d; first difference at %d:"
                        " %s, want %s" % (what, len(got), len(want), i,
                                          got[i:i + 2], want[i:i + 2]))
    return got


def expect_plain(params, headers=None):
    want = ref(params)
    st, r, body = get(qs(params), headers)
    what = "plain %s %s" % (qs(params), headers or "")
    if not want:
        if st != 204 or body:
            failures.append("%s: empty listing is %d %r" % (what, st, body))
        return
    lines = [e[1] if isinstance(e, tuple) else e for e in want]
    if st != 200 or body.decode("utf-8") != "".join(
            n + "\n" for n in lines):
        failures.append("%s: %d %s, want %s" % (
            what, st, body.decode("utf-8", "replace").split("\n")[:4],
            lines[:4]))
    if not r.getheader("Content-Type", "").lower().startswith(
            "text/plain"):
        failures.append("%s: Content-Type %s" % (what,
                                                r.getheader("Content-Type")))


def expect_xml(params, headers=None, ctype="application/xml"):
    want = [entry(e) for e in ref(params)]
    st, r, body = get(qs(params), headers)
    what = "xml %s %s" % (qs(params), headers or "")
    if st != 200 or not body.startswith(
            b'<?xml version="1.0" encoding="UTF-8"?>'):
        failures.append("%s: %d %r" % (what, st, body[:80]))
        return
    if not r.getheader("Content-Type", "").lower().startswith(ctype):
        failures.append("%s: Content-Type %s, want %s" % (
            what, r.getheader("Content-Type"), ctype))
    root = ET.fromstring(body)
    got = []
    for el in root:
        if el.tag == "subdir":
            got.append({"subdir": el.get("name")})
            if el.findtext("name") != el.get("name"):
                failures.append("%s: subdir %s without its name" % (
                    what, el.get("name")))
        else:
            d = {c.tag: c.text or "" for c in el}
            if not TS.match(d.pop("last_modified", "")):
                failures.append("%s: no last_modified in %s" % (what, d))
            d["bytes"] = int(d.get("bytes", -1))
            got.append(d)
    if root.tag != "container" or root.get("name") != "c" or got != want:
        failures.append("%s: <%s name=%s> %s, want %s" % (
            what, root.tag, root.get("name"), show(got), show(want)))


CASES = [
    {}, {"limit": "0"}, {"limit": "1"}, {"limit": "10000"},
    {"limit": "abc"}, {"limit": "-3"},
    {"marker": "d05/s2/o00085"}, {"marker": "t"}, {"marker": "\uffff"},
    {"end_marker": "d01"}, {"marker": "d03", "end_marker": "d04"},
    {"marker": "d03", "end_marker": "d03"}, {"limit": "5", "marker": "t09"},
    {"prefix": "d07/"}, {"prefix": "d07/s3/"}, {"prefix": "u/\u00fc"},
    {"prefix": "\u65e5\u672c"}, {"prefix": "nothing"}, {"prefix": "a"},
    {"prefix": "d07/", "marker": "d07/s3", "end_marker": "d07/s4/o00500"},
    {"delimiter": "/"}, {"prefix": "d00/", "delimiter": "/"},
    {"prefix": "d00/s0/", "delimiter": "/"}, {"prefix": "d0",
                                               "delimiter": "/"},
    {"delimiter": "/", "marker": "d05/"}, {"delimiter": "/", "limit": "7"},
    {"delimiter": "/", "end_marker": "d10"}, {"delimiter": "/",
                                              "prefix": "x/"},
    {"delimiter": "/s", "prefix": "d01"}, {"delimiter": "0"},
    {"reverse": "true"}, {"reverse": "1", "limit": "5"},
    {"reverse": "on", "marker": "d05", "end_marker": "d03"},
    {"reverse": "yes", "delimiter": "/"},
    {"reverse": "true", "prefix": "d02/", "delimiter": "/",
     "marker": "d02/s3"},
    {"reverse": "false", "limit": "3"},
    {"path": "d00"}, {"path": "d00/s0"}, {"path": ""},
    {"path": "\u65e5\u672c\u8a9e"}, {"path": "u"}, {"path": "u/"},
    {"path": "d03"}, {"path": "u", "reverse": "true", "limit": "4"},
    {"path": "d00/s1", "marker": "d00/s1/o04000", "limit": "10"},
    {"path": "u", "delimiter": "x", "prefix": "zz"},
]
for params in CASES:
    check_json(params)
for params in ({}, {"prefix": "d07/s3/"}, {"delimiter": "/"},
               {"path": "d00"}, {"prefix": "nothing"}, {"limit": "0"},
               {"reverse": "true", "limit": "20", "delimiter": "/"}):
    expect_plain(params)
    expect_plain(dict(params, format="plain"))
    expect_plain(dict(params, format="plain"), {"Accept":
                                                "application/json"})
    expect_plain(params, {"Accept": "text/plain"})
    expect_xml(dict(params, format="xml"))
    expect_xml(params, {"Accept": "application/xml"})
    expect_xml(params, {"Accept": "text/xml"}, "text/xml")
    expect_xml(dict(params, format="xml"), {"Accept": "application/json"})
    check_json(params, {"Accept": "application/xml"})
    st, r, body = get(qs(params), {"Accept": "application/json"})
    if st != 200 or [entry(e) for e in ref(params)] != [
            {k: v for k, v in g.items() if k != "last_modified"}
            for g in json.loads(body)]:
        failures.append("Accept: application/json %s: %d" % (qs(params),
                                                              st))

st, r, body = get("?limit=10001")
if st != 412 or b"Maximum limit is 10000" not in body:
    failures.append("limit=10001: %d %r" % (st, body[:100]))

# paging by marker gives the whole listing, forwards and reversed
for extra in ({}, {"reverse": "true"}, {"delimiter": "/"}):
    got, marker = [], ""
    for _ in range(50):
        st, r, body = get(qs(dict(extra, limit="997", marker=marker,
                                  format="json")))
        page = json.loads(body) if st == 200 else []
        if not page:
            break
        got += [e.get("name", e.get("subdir")) for e in page]
        marker = got[-1]
    want = [e[1] if isinstance(e, tuple) else e for e in ref(extra)]
    if got != want:
        failures.append("paging %s: %d entries, want %d" % (extra, len(got),
                                                             len(want)))

st, r, _ = get("", method="HEAD")
want_bytes = sum(objs.values())
if (r.getheader("X-Container-Object-Count"),
        r.getheader("X-Container-Bytes-Used")) != ("10000", str(want_bytes)):
    failures.append("HEAD: count %s bytes %s, want 10000 %d" % (
        r.getheader("X-Container-Object-Count"),
        r.getheader("X-Container-Bytes-Used"), want_bytes))
for f in failures[:40]:
    print("FAIL:", f)
print("%d listing checks failed" % len(failures))
sys.exit(1 if failures else 0)
PY
	fail "listings differ from Swift's"

$SWIFT list c >swift.list || fail "swift list failed"
$PYTHON -c 'import json; print("\n".join(sorted(json.load(open("objs.json")))))' \
	>want.list
cmp -s swift.list want.list || fail "swift list: $(diff swift.list want.list | head -5)"
$SWIFT list c --prefix d03/ --delimiter / >swift.sub || fail "swift list -p -d"
[ "$(cat swift.sub)" = "$(printf 'd03/s%d/\n' 0 1 2 3 4)" ] ||
	fail "swift list --prefix d03/ --delimiter /: $(head -3 swift.sub)"
echo "411-cluster-listing-10k: ok"
