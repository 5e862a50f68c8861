#!/bin/bash
# 414-cluster-bad-input: bad requests to kumo-aio get the status Swift 2.30
# gives (its proxy/server.py, common/constraints.py, common/swob.py, and
# eventlet's wsgi server in front of them), a short body naming the
# problem, no crash, and no partial object:
#   - a body shorter than Content-Length, then the client half-closes; a
#     chunked body that stops before its last chunk: 499 (or, as the
#     server sees the client gone, no answer), and no object;
#   - Content-Length not a number / negative: 400; over 5 GiB: 413
#     "Your request is too large."; none on a PUT: 411; an unknown
#     Transfer-Encoding: 501;
#   - Range: the status, Content-Range and bytes swob gives for the same
#     header (invalid ones ignored: 200; unsatisfiable: 416 naming it);
#   - a header line over 8 KiB: 400 (eventlet's "Header Line Too Long");
#     an X-Object-Meta- value over 8 KiB: 400 "Header value too long";
#     91 X-Object-Meta- headers: 400 "Too many metadata items; max 90";
#     two different Content-Length headers: 400 (no request smuggling);
#     250 headers: 431 "Too many headers" (http.server, as Swift raises
#     http.client's limit to 201);
#   - names with invalid UTF-8 (bad bytes, overlong, surrogates, past
#     U+10FFFF, raw bytes) or NUL: 412 "Invalid UTF8 or contains NULL";
#   - `//`: an empty container (/v1/AUTH_test//o) is 412 "Bad URL"; in an
#     object name (c//o, o//, x//y) the slashes are part of the name,
#     stored, listed and counted as such (`..`: 416-cluster-dot-names);
#   - an unknown or lower-case method: 405 with Allow;
# and afterwards every daemon still runs and an older object is intact.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl

start_cluster
read -r TOKEN URL < <(get_token test:tester testing)
[ -n "$TOKEN" ] || fail "no token"
T="X-Auth-Token: $TOKEN"
[ "$(status PUT "$URL/c" -H "$T")" = 201 ] || fail "container PUT"
printf 'kept bytes' >"$TMPDIR_TEST/keep"
[ "$(status PUT "$URL/c/keep" -H "$T" -T "$TMPDIR_TEST/keep")" = 201 ] ||
	fail "PUT keep"
printf 0123456789 >"$TMPDIR_TEST/ten"
[ "$(status PUT "$URL/c/ten" -H "$T" -T "$TMPDIR_TEST/ten")" = 201 ] ||
	fail "PUT ten"

rc=0
$PYTHON - "$PROXY_PORT" "$TOKEN" <<'PY' || rc=$?
import http.client, json, re, socket, sys, time, urllib.parse
from swift.common import swob

port, token = int(sys.argv[1]), sys.argv[2]
A = "/v1/AUTH_test"
failures = []


def raw(data, half_close=False, wait=5):
    """Send bytes, read the answer until close or timeout."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(wait)
    s.sendall(data)
    if half_close:
        s.shutdown(socket.SHUT_WR)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
            if half_close is False and complete(out):
                break
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return out


def complete(out):
    head, sep, body = out.partition(b"\r\n\r\n")
    if not sep:
        return False
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return m is not None and len(body) >= int(m.group(1))


def status_of(out):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", out)
    return int(m.group(1)) if m else None


def req(method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    h = {"X-Auth-Token": token}
    h.update(headers or {})
    try:
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        return r.status, r, r.read()
    finally:
        conn.close()


def expect(what, got, want, body=b"", text=None):
    ok = got in want if isinstance(want, (list, set)) else got == want
    if ok and text is not None and not re.search(text.encode(), body, re.I):
        ok = False
    if not ok:
        failures.append("%s: got %s %r, want %s%s" % (
            what, got, body[:200], want,
            " with a body matching %r" % text if text else ""))


def absent(name, container="c"):
    st, _, _ = req("GET", "%s/%s/%s" % (A, container, urllib.parse.quote(name)))
    st2, _, _ = req("GET", "%s/%s/%s" % (A, container, urllib.parse.quote(
        name)), headers={"X-Newest": "true"})
    if st != 404 or st2 != 404:
        failures.append("object %r is visible (%d, X-Newest %d)" % (
            name, st, st2))


def listing(container="c"):
    st, _, body = req("GET", "%s/%s?format=json" % (A, container))
    return [o.get("name", o.get("subdir")) for o in json.loads(body or b"[]")]


H = "Host: x\r\nX-Auth-Token: %s\r\n" % token

# -- a body shorter than its Content-Length, then the client half-closes
out = raw(("PUT %s/c/short HTTP/1.1\r\n%sContent-Length: 100000\r\n\r\n"
           % (A, H)).encode() + b"y" * 50000, half_close=True)
expect("short body then half-close", status_of(out), [499, None])
absent("short")
# -- a chunked body that ends before its last chunk
out = raw(("PUT %s/c/trunc HTTP/1.1\r\n%sTransfer-Encoding: chunked\r\n\r\n"
           % (A, H)).encode() + b"8000\r\n" + b"z" * 0x8000 +
          b"\r\n8000\r\n" + b"z" * 100, half_close=True)
expect("truncated chunked body", status_of(out), [499, None])
absent("trunc")
# -- a short overwrite of an object: the old one stays
raw(("PUT %s/c/keep HTTP/1.1\r\n%sContent-Length: 100\r\n\r\nshort"
     % (A, H)).encode(), half_close=True)
st, _, body = req("GET", A + "/c/keep")
expect("keep after a short overwrite", (st, body), (200, b"kept bytes"))

# -- Content-Length values
for cl, want, text in (("abc", 400, "content-length"),
                       ("-5", 400, "content-length"),
                       ("6000000000", 413, "Your request is too large")):
    st, _, body = req("PUT", A + "/c/cl", b"hello",
                      {"Content-Length": cl})
    expect("Content-Length: %s" % cl, st, want, body, text)
absent("cl")
out = raw(("PUT %s/c/nolen HTTP/1.1\r\n%s\r\n" % (A, H)).encode())
expect("PUT without Content-Length", status_of(out), 411, out,
       "Missing Content-Length")
out = raw(("PUT %s/c/gz HTTP/1.1\r\n%sTransfer-Encoding: gzip\r\n\r\nhello"
           % (A, H)).encode())
expect("Transfer-Encoding: gzip", status_of(out), 501, out, "Transfer")
absent("nolen")
absent("gz")


# -- Range, against swob with the same object
def swob_app(env, start_response):
    return swob.Response(body=b"0123456789", conditional_response=True,
                         content_type="text/plain")(env, start_response)


for r in ("bytes=abc", "bytes=5-3", "bytes=-", "items=1-2", "bytes=1-2,a",
          "bytes=100-200", "bytes=-0", "bytes=10-", "bytes=100-200,300-400",
          "bytes=0-0", "bytes=9-", "bytes=-20", "bytes=1-2,100-200",
          "bytes= 2-3", "bytes=3-5"):
    ref = swob.Request.blank("/", headers={"Range": r}).get_response(
        swob_app)
    st, resp, body = req("GET", A + "/c/ten", headers={"Range": r})
    expect("Range %s status" % r, st, ref.status_int, body)
    if ref.status_int == 416:
        expect("Range %s body" % r, st, 416, body, "Range")
    elif st == ref.status_int and body != ref.body:
        failures.append("Range %s: body %r, want %r" % (r, body, ref.body))
    if st == ref.status_int and (resp.getheader("Content-Range") !=
                                 ref.headers.get("Content-Range")):
        failures.append("Range %s: Content-Range %s, want %s" % (
            r, resp.getheader("Content-Range"),
            ref.headers.get("Content-Range")))

# -- oversized headers and too many
st, _, body = req("GET", A + "/c/ten", headers={"X-Foo": "a" * 8000})
expect("an 8000-byte header", st, 200, body)
out = raw(("GET %s/c/ten HTTP/1.1\r\n%sX-Foo: %s\r\n\r\n"
           % (A, H, "a" * 9000)).encode())
expect("a 9000-byte header line", status_of(out), 400,
       out.split(b"\r\n", 1)[0] + out.partition(b"\r\n\r\n")[2], "too long")
out = raw(("PUT %s/c/bigmeta HTTP/1.1\r\n%sContent-Length: 1\r\n"
           "X-Object-Meta-Foo: %s\r\n\r\nx" % (A, H, "a" * 9000)).encode())
expect("a 9000-byte X-Object-Meta-Foo", status_of(out), 400, out,
       "too long")
out = raw(("GET %s/c/ten HTTP/1.1\r\n%sX-Foo: %s\r\n\r\n"
           % (A, H, "a" * 70000)).encode())
# Swift says 400 (Header Line Too Long); 431 is as clear
expect("a 70000-byte header line", status_of(out), [400, 431])
meta = "".join("X-Object-Meta-K%d: v\r\n" % i for i in range(91))
out = raw(("PUT %s/c/meta91 HTTP/1.1\r\n%sContent-Length: 1\r\n%s\r\nx"
           % (A, H, meta)).encode())
expect("91 X-Object-Meta- headers", status_of(out), 400, out,
       "Too many metadata items; max 90")
many = "".join("X-Other-%d: v\r\n" % i for i in range(250))
out = raw(("PUT %s/c/hdr250 HTTP/1.1\r\n%sContent-Length: 1\r\n%s\r\nx"
           % (A, H, many)).encode())
expect("250 headers", status_of(out), 431,
       out.split(b"\r\n", 1)[0] + out.partition(b"\r\n\r\n")[2],
       "too many headers")
out = raw(("PUT %s/c/twolen HTTP/1.1\r\n%sContent-Length: 5\r\n"
           "Content-Length: 6\r\n\r\nhello!" % (A, H)).encode())
expect("two different Content-Length headers", status_of(out), 400,
       out.partition(b"\r\n\r\n")[2], "Content-Length")
for n in ("bigmeta", "meta91", "twolen"):
    absent(n)
req("DELETE", A + "/c/hdr250")  # accepted if the limit is missing

# -- bad UTF-8 and NUL
for path in ("/c/%FF", "/c/a%C0%AFb", "/c/%ED%A0%80", "/c/%F4%90%80%80",
             "/c/a%00b", "/%FF", "/%FF/o", "/c/%E2%82"):
    st, _, body = req("PUT", A + path, b"x")
    expect("PUT %s" % path, st, 412, body, "Invalid UTF8 or contains NULL")
out = raw(b"PUT " + A.encode() + b"/c/raw\xff\xfe HTTP/1.1\r\n" +
          H.encode() + b"Content-Length: 1\r\n\r\nx")
expect("raw bytes 0xff 0xfe in the name", status_of(out), 412, out,
       "Invalid UTF8")
st, _, body = req("PUT", A + "/c/ok%E2%82%AC", b"euro")
expect("PUT a valid UTF-8 name", st, 201, body)

# -- // in paths (. and .. segments: 416-cluster-dot-names)
st, _, body = req("PUT", A + "//o", b"x")
expect("PUT /v1/AUTH_test//o", st, 412, body, "Bad URL")
named = {"/o": "//o", "o//": "/o//", "x//y": "/x//y"}
for name, suffix in named.items():
    st, _, body = req("PUT", A + "/c" + suffix, name.encode())
    expect("PUT %s/c%s" % (A, suffix), st, 201, body)
for name, suffix in named.items():
    st, _, body = req("GET", A + "/c" + suffix)
    expect("GET %s/c%s" % (A, suffix), (st, body), (200, name.encode()))
for plain in ("o", "x/y"):
    st, _, _ = req("GET", A + "/c/" + plain)
    expect("GET c/%s (never written)" % plain, st, 404)
want = sorted(["keep", "ten", "ok\u20ac"] + list(named))
for _ in range(20):
    got = listing()
    if got == want:
        break
    time.sleep(0.1)
else:
    failures.append("listing of c is %s, want %s" % (got, want))
st, resp, _ = req("HEAD", A + "/c")
if resp.getheader("X-Container-Object-Count") != str(len(want)):
    failures.append("X-Container-Object-Count %s, want %d" % (
        resp.getheader("X-Container-Object-Count"), len(want)))

# -- unknown methods
for m in ("FROB", "get", "PATCH"):
    st, resp, body = req(m, A + "/c/ten")
    expect("%s c/ten" % m, st, 405, body, "not allowed")
    allow = {x.strip() for x in (resp.getheader("Allow") or "").split(",")}
    if not {"GET", "HEAD", "PUT", "POST", "DELETE"} <= allow:
        failures.append("%s: Allow is %r" % (m, resp.getheader("Allow")))

for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
PY

# nothing crashed: every daemon runs, the proxy answers, old data is intact
for d in proxy object container account; do
	kill -0 "$(cat "$AIO_DIR/run/$d.pid")" 2>/dev/null ||
		fail "the $d server is gone"
done
[ "$(curl -s -H "$T" "$URL/c/keep")" = "kept bytes" ] ||
	fail "keep does not read back"
[ "$rc" = 0 ] || fail "bad input handling (above)"
echo "414-cluster-bad-input: ok"
