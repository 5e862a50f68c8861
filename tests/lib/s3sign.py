# tests/lib/s3sign.py: AWS Signature Version 4 by hand (hashlib/hmac), for
# the S3 tests that must send what no client sends: a chosen X-Amz-Date,
# a wrong signature, a raw XML body, aws-chunked streaming uploads
# (STREAMING-AWS4-HMAC-SHA256-PAYLOAD with per-chunk signatures). The
# signer checks itself against the example of AWS's documentation
# ("sigv4-streaming": 66560 bytes of 'a' in 64 KiB chunks) at import, so
# a test never passes against a signer that signs wrongly.
#   sys.path.insert(0, TESTS_DIR + "/lib"); import s3sign
#   c = s3sign.Client("http://127.0.0.1:PORT", "test:tester", "testing")
#   status, headers, body = c.request("PUT", "/bucket/key", body=b"...")
import datetime
import hashlib
import hmac
import http.client
import urllib.parse

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signing_key(secret, date, region, service="s3"):
    k = _hmac(("AWS4" + secret).encode(), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def _quote(s):
    return urllib.parse.quote(s, safe="-_.~")


def canonical_query(query):
    """query: list of (name, value), not encoded."""
    return "&".join("%s=%s" % (_quote(k), _quote(v))
                    for k, v in sorted(query))


def sign(method, path, query, headers, payload_hash, access, secret,
         region, amz_date):
    """The Authorization value for a request. path is already URI-encoded;
    headers (a dict, all signed) must hold host and x-amz-date."""
    names = sorted(h.lower() for h in headers)
    lower = {h.lower(): str(v).strip() for h, v in headers.items()}
    canon = "\n".join([
        method, path, canonical_query(query),
        "".join("%s:%s\n" % (n, lower[n]) for n in names),
        ";".join(names), payload_hash])
    scope = "%s/%s/s3/aws4_request" % (amz_date[:8], region)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(canon.encode()).hexdigest()])
    sig = hmac.new(signing_key(secret, amz_date[:8], region), sts.encode(),
                   hashlib.sha256).hexdigest()
    return ("AWS4-HMAC-SHA256 Credential=%s/%s,SignedHeaders=%s,"
            "Signature=%s" % (access, scope, ";".join(names), sig)), sig


def chunk_signature(key, amz_date, scope, prev, data):
    sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev,
                     EMPTY_SHA256, hashlib.sha256(data).hexdigest()])
    return hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()


def chunked_body(data, chunk, key, amz_date, scope, seed, bad_chunk=None):
    """data as aws-chunked: chunks of `chunk` bytes, then the final empty
    one, each signed after the previous signature (the seed first). With
    bad_chunk=i, chunk i carries a wrong signature."""
    out, prev = [], seed
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
    for i, p in enumerate(pieces):
        sig = chunk_signature(key, amz_date, scope, prev, p)
        prev = sig
        if i == bad_chunk:
            sig = "0" * 64
        out.append(b"%x;chunk-signature=%s\r\n%s\r\n" % (len(p), sig.encode(),
                                                        p))
    return b"".join(out)


def _self_check():
    # https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    date = "20130524T000000Z"
    headers = {"Host": "s3.amazonaws.com", "x-amz-date": date,
               "x-amz-storage-class": "REDUCED_REDUNDANCY",
               "x-amz-content-sha256": STREAMING,
               "Content-Encoding": "aws-chunked",
               "x-amz-decoded-content-length": "66560",
               "Content-Length": "66824"}
    _, seed = sign("PUT", "/examplebucket/chunkObject.txt", [], headers,
                   STREAMING, "AKIAIOSFODNN7EXAMPLE", secret, "us-east-1",
                   date)
    assert seed == ("4f232c4386841ef735655705268965c4"
                    "4a0e4690baa4adea153f7db9fa80a0a9"), seed
    key = signing_key(secret, date[:8], "us-east-1")
    body = chunked_body(b"a" * 66560, 65536, key, date,
                        "20130524/us-east-1/s3/aws4_request", seed)
    assert len(body) == 66824
    assert b"400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b" \
        b"612b7d234b86a503ef5497\r\n" in body
    assert body.endswith(b"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4"
                         b"275b71ea724fed81ceb9323e279d449df9\r\n\r\n")


_self_check()


def amz_now(offset_seconds=0):
    t = datetime.datetime.utcnow() + datetime.timedelta(seconds=offset_seconds)
    return t.strftime("%Y%m%dT%H%M%SZ")


class Client:
    """Signed requests to an S3 endpoint (path-style)."""

    def __init__(self, url, access, secret, region="us-east-1"):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.access, self.secret, self.region = access, secret, region

    def request(self, method, path, query=(), headers=None, body=b"",
                date_offset=0, secret=None, tamper=None, chunked=None,
                bad_chunk=None):
        """Send one signed request; returns (status, headers dict with
        lower-case names, body bytes). query: list of (name, value);
        path: URI-encoded. secret: sign with another secret. tamper(sig)
        changes the signature sent. chunked=N: send body as aws-chunked
        in N-byte chunks (bad_chunk: that chunk's signature is wrong)."""
        query = list(query)
        amz_date = amz_now(date_offset)
        h = {"Host": "%s:%d" % (self.host, self.port), "x-amz-date": amz_date}
        h.update(headers or {})
        if chunked:
            h["x-amz-content-sha256"] = STREAMING
            h["Content-Encoding"] = "aws-chunked"
            h["x-amz-decoded-content-length"] = str(len(body))
            # the encoded length, which the seed signature covers
            n = len(body)
            full, rest = divmod(n, chunked)
            enc = 0
            for size in [chunked] * full + ([rest] if rest else []) + [0]:
                enc += len("%x" % size) + len(";chunk-signature=") + 64 + 4
                enc += size
            h["Content-Length"] = str(enc)
        else:
            h.setdefault("x-amz-content-sha256",
                         hashlib.sha256(body).hexdigest())
        auth, sig = sign(method, path, query, h, h["x-amz-content-sha256"],
                         self.access, secret or self.secret, self.region,
                         amz_date)
        if tamper:
            auth = auth.replace(sig, tamper(sig))
        h["Authorization"] = auth
        if chunked:
            scope = "%s/%s/s3/aws4_request" % (amz_date[:8], self.region)
            key = signing_key(secret or self.secret, amz_date[:8],
                              self.region)
            body = chunked_body(body, chunked, key, amz_date, scope, sig,
                                bad_chunk)
            assert len(body) == int(h["Content-Length"])
        url = path + ("?" + canonical_query(query) if query else "")
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.putrequest(method, url, skip_host=True,
                            skip_accept_encoding=True)
            for k, v in h.items():
                conn.putheader(k, v)
            if "Content-Length" not in h:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, \
                r.read()
        finally:
            conn.close()


def error_code(body):
    """The <Code> of an S3 error body ('' when there is none)."""
    import xml.etree.ElementTree as ET
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return ""
    if root.tag != "Error":
        return ""
    return root.findtext("Code") or ""
