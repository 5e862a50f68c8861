#!/bin/bash
# 357-s3-bad-input: requests to the proxy's S3 API that must be refused,
# each with S3's error code and status in an XML error with a RequestId,
# and each leaving nothing stored or changed (the Swift listings, with
# hashes and sizes, of the bucket and of "<bucket>+segments", and of a
# second bucket, are the same before and after; the objects read back):
#   - a wrong signature, a wrong secret, an unknown access key, a user
#     of the account without rights (AccessDenied), on PUT and DELETE; a body that is
#     not the one x-amz-content-sha256 names (XAmzContentSHA256Mismatch);
#   - X-Amz-Date an hour off either way (RequestTimeTooSkewed);
#   - a Content-MD5 that does not match (BadDigest) or is no MD5
#     (InvalidDigest);
#   - malformed XML in CompleteMultipartUpload and DeleteObjects
#     (MalformedXML);
#   - CompleteMultipartUpload naming a part never uploaded, or with a
#     wrong ETag (InvalidPart), parts out of order (InvalidPartOrder), a
#     non-last part under 5 MiB (EntityTooSmall);
#   - an upload id of another bucket in UploadPart, Complete, Abort and
#     ListParts (NoSuchUpload), which stays usable in its own bucket;
#   - after all that, the upload completes with the right parts.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/s3.sh"

start_cluster
s3_setup
cd "$TMPDIR_TEST"
export S3_URL TESTS_DIR AUTH_URL
timeout 80 $PYTHON - <<'PY' || fail "bad input checks"
import base64, hashlib, os, re, sys
import swiftclient
sys.path.insert(0, os.environ["TESTS_DIR"] + "/lib")
import s3sign

URL = os.environ["S3_URL"]
c = s3sign.Client(URL, "test:tester", "testing")
sw = swiftclient.Connection(os.environ["AUTH_URL"], "test:tester", "testing",
                            retries=0)


def check(cond, what):
    if not cond:
        print("FAIL:", what, file=sys.stderr)
        sys.exit(1)


def state():
    """What Swift holds: listings of both buckets and their segments."""
    out = {}
    for cont in ("bad", "bad+segments", "other", "other+segments"):
        try:
            _, objs = sw.get_container(cont, full_listing=True)
        except swiftclient.ClientException as e:
            check(e.http_status == 404, "swift listing of %s: %s" % (cont, e))
            objs = None
        out[cont] = objs and sorted((o["name"], o["hash"], o["bytes"])
                                    for o in objs)
    return out


def refused(status, code, what, method, path, **kw):
    """Send a request that must fail with (status, code) and change
    nothing."""
    before = state()
    st, h, body = c.request(method, path, **kw)
    got = s3sign.error_code(body)
    check((st, got) == (status, code), "%s: %d %s, expected %d %s: %r" %
          (what, st, got, status, code, body[:300]))
    check(re.search(rb"<RequestId>[^<]+</RequestId>", body), what +
          ": no RequestId")
    check(state() == before, what + ": changed what Swift holds")
    return body


def ok(method, path, want=200, **kw):
    st, h, body = c.request(method, path, **kw)
    check(st == want, "%s %s: %d %r" % (method, path, st, body[:300]))
    return h, body


def xml(s):
    return s.encode()


ok("PUT", "/bad")
ok("PUT", "/other")
keep = os.urandom(3000)
ok("PUT", "/bad/keep", body=keep)

# signatures and identities
refused(403, "SignatureDoesNotMatch", "tampered signature", "PUT",
        "/bad/new", body=b"data", tamper=lambda s: s[:-4] + "0000")
refused(403, "SignatureDoesNotMatch", "wrong secret", "PUT", "/bad/new",
        body=b"data", secret="testinG")
refused(403, "SignatureDoesNotMatch", "wrong signature on DELETE",
        "DELETE", "/bad/keep", tamper=lambda s: s[::-1])
refused(400, "XAmzContentSHA256Mismatch", "payload hash differs", "PUT",
        "/bad/new", body=b"data", headers={
            "x-amz-content-sha256": hashlib.sha256(b"other").hexdigest()})
stranger = s3sign.Client(URL, "nobody:none", "testing")
before = state()
st, h, body = stranger.request("PUT", "/bad/new", body=b"data")
check((st, s3sign.error_code(body)) == (403, "InvalidAccessKeyId"),
      "unknown access key: %d %r" % (st, body))
check(state() == before, "unknown access key changed something")
# test:tester3 is no .admin of the account: tempauth lets it nothing
other_user = s3sign.Client(URL, "test:tester3", "testing3")
for method, path in (("PUT", "/bad/new"), ("DELETE", "/bad/keep"),
                     ("GET", "/bad/keep")):
    st, h, body = other_user.request(method, path, body=b"data"
                                     if method == "PUT" else b"")
    check((st, s3sign.error_code(body)) == (403, "AccessDenied"),
          "a user without rights, %s: %d %r" % (method, st, body))
check(state() == before, "a user without rights changed something")

# skewed dates
for off in (3600, -3600):
    refused(403, "RequestTimeTooSkewed", "date off by %d s" % off, "PUT",
            "/bad/new", body=b"data", date_offset=off)
    refused(403, "RequestTimeTooSkewed", "DELETE dated %d s off" % off,
            "DELETE", "/bad/keep", date_offset=off)

# Content-MD5
refused(400, "BadDigest", "Content-MD5 of other bytes", "PUT", "/bad/new",
        body=b"data", headers={"Content-MD5": base64.b64encode(
            hashlib.md5(b"datA").digest()).decode()})
refused(400, "InvalidDigest", "Content-MD5 that is no MD5", "PUT",
        "/bad/new", body=b"data", headers={"Content-MD5": "bm90IGFuIG1kNQ=="})


def md5h(b):
    return {"Content-MD5": base64.b64encode(hashlib.md5(b).digest()).decode()}


# malformed XML
for body in (b"<Delete><Object><Key>keep</Key></Object>",  # cut short
             b"not xml at all",
             b"<Delete><Object><Key>keep</Key></Object></Delete><x/>"):
    refused(400, "MalformedXML", "DeleteObjects with %r" % body[:20], "POST",
            "/bad", query=[("delete", "")], body=body, headers=md5h(body))
h, got = ok("GET", "/bad/keep")
check(got == keep, "keep changed")

up = ok("POST", "/bad/mp", query=[("uploads", "")])[1]
uid = re.search(rb"<UploadId>([^<]+)</UploadId>", up).group(1).decode()
p1, p2, tiny = os.urandom(5 << 20), os.urandom(1000), os.urandom(1000)
e1 = ok("PUT", "/bad/mp", query=[("partNumber", "1"), ("uploadId", uid)],
        body=p1)[0]["etag"]
e2 = ok("PUT", "/bad/mp", query=[("partNumber", "2"), ("uploadId", uid)],
        body=tiny)[0]["etag"]
e3 = ok("PUT", "/bad/mp", query=[("partNumber", "3"), ("uploadId", uid)],
        body=p2)[0]["etag"]
check(e1.strip('"') == hashlib.md5(p1).hexdigest(), "part 1 ETag")


def complete(parts):
    return xml("<CompleteMultipartUpload>" + "".join(
        "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>" % p
        for p in parts) + "</CompleteMultipartUpload>")


cq = [("uploadId", uid)]
for body in (b"<CompleteMultipartUpload><Part><PartNumber>1",
             b"<<>>", complete([(1, e1)])[:-3]):
    refused(400, "MalformedXML", "Complete with %r" % body[:30], "POST",
            "/bad/mp", query=cq, body=body)
refused(400, "InvalidPart", "a part never uploaded", "POST", "/bad/mp",
        query=cq, body=complete([(1, e1), (4, e3)]))
refused(400, "InvalidPart", "a part with another ETag", "POST", "/bad/mp",
        query=cq, body=complete([(1, e1), (3, e1)]))
refused(400, "InvalidPartOrder", "parts out of order", "POST", "/bad/mp",
        query=cq, body=complete([(3, e3), (1, e1)]))
refused(400, "EntityTooSmall", "a small part that is not the last",
        "POST", "/bad/mp", query=cq, body=complete([(1, e1), (2, e2),
                                                    (3, e3)]))

# an upload id of another bucket
oup = ok("POST", "/other/mp", query=[("uploads", "")])[1]
oid = re.search(rb"<UploadId>([^<]+)</UploadId>", oup).group(1).decode()
oq = [("uploadId", oid)]
refused(404, "NoSuchUpload", "UploadPart with another bucket's upload",
        "PUT", "/bad/mp", query=[("partNumber", "1")] + oq, body=b"x" * 100)
refused(404, "NoSuchUpload", "Complete with another bucket's upload",
        "POST", "/bad/mp", query=oq, body=complete([(1, e1)]))
refused(404, "NoSuchUpload", "Abort with another bucket's upload",
        "DELETE", "/bad/mp", query=oq)
refused(404, "NoSuchUpload", "ListParts with another bucket's upload",
        "GET", "/bad/mp", query=oq)
refused(404, "NoSuchUpload", "an upload id that never was", "POST",
        "/bad/mp", query=[("uploadId", "bm90LWFuLXVwbG9hZA")],
        body=complete([(1, e1)]))
ok("GET", "/other/mp", query=oq)  # still there, in its own bucket
ok("DELETE", "/other/mp", query=oq, want=204)

# the upload survived every refusal: it completes with the right parts
h, body = ok("POST", "/bad/mp", query=cq, body=complete([(1, e1), (3, e3)]))
check(b"<CompleteMultipartUploadResult" in body, "complete: %r" % body)
h, got = ok("GET", "/bad/mp")
check(got == p1 + p2, "the completed object has other bytes")
names = [n for n, _, _ in state()["bad"]]
check(names == ["keep", "mp"], "bucket holds %r" % names)
h, got = ok("GET", "/bad/keep")
check(got == keep, "keep changed")
print("bad input checks: ok")
PY
echo "357-s3-bad-input: ok"
