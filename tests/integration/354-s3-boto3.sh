#!/bin/bash
# 354-s3-boto3: boto3 (Debian's python3-boto3, botocore 1.29) against the
# proxy's S3 API, path-style, SigV4 unless said:
#   - presigned GET and PUT URLs used with curl; an expired one and a
#     tampered one answer 403 with AccessDenied / SignatureDoesNotMatch,
#     and the tampered PUT stores nothing;
#   - multipart upload with UploadPartCopy (two ranges of an existing
#     object) and an uploaded last part: the bytes, the CopyPartResult
#     ETags and the md5-of-md5s-3 ETag are right; ListParts lists the
#     parts; AbortMultipartUpload of another upload frees its parts;
#   - put_object with metadata and content type, get_object with Range;
#   - list_objects_v2 over 1,200 keys in pages of 500 with continuation
#     tokens (every key once, in order), with a delimiter and StartAfter;
#   - delete_objects verbose (1,000 keys) and quiet (the rest);
#   - copy_object with MetadataDirective COPY and REPLACE;
#   - head_object with If-Match, If-None-Match, If-Modified-Since,
#     If-Unmodified-Since (200, 304, 412);
#   - the same calls signed with SigV2 (Config(signature_version='s3'))
#     and SigV4 ('s3v4'); a wrong secret → SignatureDoesNotMatch;
#   - aws-chunked streaming uploads (STREAMING-AWS4-HMAC-SHA256-PAYLOAD,
#     which botocore does not send over http: signed by tests/lib/
#     s3sign.py) store the decoded bytes; a wrong chunk signature →
#     SignatureDoesNotMatch and nothing stored.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/s3.sh"
requires curl

start_cluster
s3_setup
cd "$TMPDIR_TEST"
export S3_URL TESTS_DIR
timeout 150 $PYTHON - <<'PY' || fail "boto3 checks"
import concurrent.futures, datetime, hashlib, os, subprocess, sys, time
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
sys.path.insert(0, os.environ["TESTS_DIR"] + "/lib")
import s3sign

URL = os.environ["S3_URL"]


def client(sig="s3v4", secret="testing"):
    return boto3.client(
        "s3", endpoint_url=URL, region_name="us-east-1",
        aws_access_key_id="test:tester", aws_secret_access_key=secret,
        config=Config(signature_version=sig, s3={"addressing_style": "path"},
                      retries={"max_attempts": 1}))


def check(cond, what):
    if not cond:
        print("FAIL:", what, file=sys.stderr)
        sys.exit(1)


def err(fn, *a, **kw):
    """The (HTTP status, S3 code) of a call that must fail."""
    try:
        fn(*a, **kw)
    except ClientError as e:
        return (e.response["ResponseMetadata"]["HTTPStatusCode"],
                e.response["Error"]["Code"])
    check(False, "%s did not fail" % fn.__name__)


def meta(r):
    """user metadata, names lower-cased (HTTP header names have no case)"""
    return {k.lower(): v for k, v in r["Metadata"].items()}


def curl(*args):
    r = subprocess.run(["curl", "-s", "-o", "curl.body", "-w", "%{http_code}",
                        "--max-time", "30"] + list(args),
                       capture_output=True, check=True)
    return int(r.stdout), open("curl.body", "rb").read()


s3 = client()
s3.create_bucket(Bucket="boto")
names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
check("boto" in names, "list_buckets: %r" % names)

# presigned URLs
s3.put_object(Bucket="boto", Key="pre/get", Body=b"presigned body")
url = s3.generate_presigned_url("get_object", ExpiresIn=300,
                                Params={"Bucket": "boto", "Key": "pre/get"})
check("X-Amz-Signature=" in url, "presigned URL is SigV4: " + url)
st, body = curl(url)
check((st, body) == (200, b"presigned body"), "presigned GET %d %r" %
      (st, body))
st, body = curl(url.replace("pre/get", "pre/geT"))
check((st, s3sign.error_code(body)) == (403, "SignatureDoesNotMatch"),
      "tampered presigned GET: %d %r" % (st, body))
exp = s3.generate_presigned_url("get_object", ExpiresIn=1,
                                Params={"Bucket": "boto", "Key": "pre/get"})
time.sleep(2)
st, body = curl(exp)
check((st, s3sign.error_code(body)) == (403, "AccessDenied"),
      "expired presigned GET: %d %r" % (st, body))
put = s3.generate_presigned_url("put_object", ExpiresIn=300,
                                Params={"Bucket": "boto", "Key": "pre/put"})
with open("up", "wb") as f:
    f.write(os.urandom(70000))
st, body = curl("-X", "PUT", "-T", "up", put)
check(st == 200, "presigned PUT: %d %r" % (st, body))
got = s3.get_object(Bucket="boto", Key="pre/put")["Body"].read()
check(got == open("up", "rb").read(), "presigned PUT stored other bytes")
bad = put.replace("pre/put", "pre/bad")
st, body = curl("-X", "PUT", "-T", "up", bad)
check((st, s3sign.error_code(body)) == (403, "SignatureDoesNotMatch"),
      "tampered presigned PUT: %d %r" % (st, body))
check(err(s3.head_object, Bucket="boto", Key="pre/bad") == (404, "404"),
      "the tampered presigned PUT stored an object")

# multipart with UploadPartCopy
src = os.urandom(13 << 20)
s3.put_object(Bucket="boto", Key="mp/src", Body=src)
mpu = s3.create_multipart_upload(Bucket="boto", Key="mp/dst",
                                 ContentType="application/x-kumo")
uid = mpu["UploadId"]
ranges = [(1 << 20, (7 << 20) - 1), (0, (6 << 20) - 1)]
parts, want = [], b""
for n, (a, b) in enumerate(ranges, 1):
    r = s3.upload_part_copy(Bucket="boto", Key="mp/dst", UploadId=uid,
                            PartNumber=n, CopySource="boto/mp/src",
                            CopySourceRange="bytes=%d-%d" % (a, b))
    etag = r["CopyPartResult"]["ETag"]
    piece = src[a:b + 1]
    check(etag.strip('"') == hashlib.md5(piece).hexdigest(),
          "UploadPartCopy ETag %s" % etag)
    parts.append({"PartNumber": n, "ETag": etag})
    want += piece
last = os.urandom(1000)
r = s3.upload_part(Bucket="boto", Key="mp/dst", UploadId=uid, PartNumber=3,
                   Body=last)
parts.append({"PartNumber": 3, "ETag": r["ETag"]})
want += last
lp = s3.list_parts(Bucket="boto", Key="mp/dst", UploadId=uid)
check([(p["PartNumber"], p["Size"]) for p in lp["Parts"]] ==
      [(1, 6 << 20), (2, 6 << 20), (3, 1000)], "list_parts %r" % lp["Parts"])
ups = s3.list_multipart_uploads(Bucket="boto")
check([(u["Key"], u["UploadId"]) for u in ups.get("Uploads", [])] ==
      [("mp/dst", uid)], "list_multipart_uploads %r" % ups.get("Uploads"))
done = s3.complete_multipart_upload(Bucket="boto", Key="mp/dst",
                                    UploadId=uid,
                                    MultipartUpload={"Parts": parts})
md5s = b"".join(hashlib.md5(p).digest() for p in
                (src[ranges[0][0]:ranges[0][1] + 1],
                 src[ranges[1][0]:ranges[1][1] + 1], last))
want_etag = '"%s-3"' % hashlib.md5(md5s).hexdigest()
check(done["ETag"] == want_etag, "complete ETag %s, expected %s" %
      (done["ETag"], want_etag))
g = s3.get_object(Bucket="boto", Key="mp/dst")
check(g["Body"].read() == want, "multipart object bytes differ")
check(g["ETag"] == want_etag and g["ContentLength"] == len(want),
      "GET of the multipart object: %s %d" % (g["ETag"], g["ContentLength"]))
check(g["ContentType"] == "application/x-kumo", "content type %s" %
      g["ContentType"])
g = s3.get_object(Bucket="boto", Key="mp/dst", Range="bytes=6291400-6291500")
check(g["Body"].read() == want[6291400:6291501], "range across parts")
check(err(s3.list_parts, Bucket="boto", Key="mp/dst", UploadId=uid)[1] ==
      "NoSuchUpload", "list_parts after complete")
ab = s3.create_multipart_upload(Bucket="boto", Key="mp/aborted")["UploadId"]
s3.upload_part(Bucket="boto", Key="mp/aborted", UploadId=ab, PartNumber=1,
               Body=b"x" * 1000)
s3.abort_multipart_upload(Bucket="boto", Key="mp/aborted", UploadId=ab)
check(err(s3.upload_part, Bucket="boto", Key="mp/aborted", UploadId=ab,
          PartNumber=2, Body=b"y")[1] == "NoSuchUpload",
      "upload_part after abort")
check(s3.list_multipart_uploads(Bucket="boto").get("Uploads", []) == [],
      "uploads left")

# metadata and ranges
body = os.urandom(5000)
s3.put_object(Bucket="boto", Key="meta/obj", Body=body,
              ContentType="image/png", Metadata={"color": "blue",
                                                 "Shape": "round"})
g = s3.get_object(Bucket="boto", Key="meta/obj", Range="bytes=100-199")
check(g["ResponseMetadata"]["HTTPStatusCode"] == 206, "range status")
check(g["ContentRange"] == "bytes 100-199/5000", g["ContentRange"])
check(g["Body"].read() == body[100:200], "range bytes")
check(meta(g) == {"color": "blue", "shape": "round"},
      "metadata %r" % g["Metadata"])
check(g["ContentType"] == "image/png", "content type")
g = s3.get_object(Bucket="boto", Key="meta/obj", Range="bytes=-10")
check(g["Body"].read() == body[-10:], "suffix range")
check(err(s3.get_object, Bucket="boto", Key="meta/obj",
          Range="bytes=6000-7000") == (416, "InvalidRange"), "range past end")
check(err(s3.get_object, Bucket="boto", Key="meta/none") ==
      (404, "NoSuchKey"), "missing key")

# copies
s3.copy_object(Bucket="boto", Key="meta/copy",
               CopySource={"Bucket": "boto", "Key": "meta/obj"})
h = s3.head_object(Bucket="boto", Key="meta/copy")
check(meta(h) == {"color": "blue", "shape": "round"} and
      h["ContentType"] == "image/png", "COPY directive %r" % h["Metadata"])
s3.copy_object(Bucket="boto", Key="meta/replaced",
               CopySource={"Bucket": "boto", "Key": "meta/obj"},
               MetadataDirective="REPLACE", Metadata={"size": "big"},
               ContentType="text/x-new")
g = s3.get_object(Bucket="boto", Key="meta/replaced")
check(meta(g) == {"size": "big"}, "REPLACE %r" % g["Metadata"])
check(g["ContentType"] == "text/x-new", "REPLACE type %s" % g["ContentType"])
check(g["Body"].read() == body, "copied bytes")

# conditional HEADs
h = s3.head_object(Bucket="boto", Key="meta/obj")
etag, mtime = h["ETag"], h["LastModified"]
day = datetime.timedelta(days=1)
check(s3.head_object(Bucket="boto", Key="meta/obj", IfMatch=etag)
      ["ETag"] == etag, "If-Match")
check(err(s3.head_object, Bucket="boto", Key="meta/obj",
          IfMatch='"0123456789abcdef0123456789abcdef"')[0] == 412,
      "If-Match other")
check(err(s3.head_object, Bucket="boto", Key="meta/obj",
          IfNoneMatch=etag)[0] == 304, "If-None-Match")
check(err(s3.head_object, Bucket="boto", Key="meta/obj",
          IfModifiedSince=mtime + day)[0] == 304, "If-Modified-Since")
s3.head_object(Bucket="boto", Key="meta/obj", IfModifiedSince=mtime - day)
check(err(s3.head_object, Bucket="boto", Key="meta/obj",
          IfUnmodifiedSince=mtime - day)[0] == 412, "If-Unmodified-Since")
s3.head_object(Bucket="boto", Key="meta/obj", IfUnmodifiedSince=mtime + day)

# listing 1,200 keys in pages
keys = sorted("many/%s/k%04d" % ("ab"[i % 2], i) for i in range(1200))


def put(k):
    s3.put_object(Bucket="boto", Key=k, Body=k.encode())


with concurrent.futures.ThreadPoolExecutor(16) as ex:
    list(ex.map(put, keys))
seen, token, pages = [], None, 0
while True:
    kw = {"ContinuationToken": token} if token else {}
    r = s3.list_objects_v2(Bucket="boto", Prefix="many/", MaxKeys=500, **kw)
    pages += 1
    check(r["KeyCount"] == len(r.get("Contents", [])), "KeyCount")
    seen += [c["Key"] for c in r.get("Contents", [])]
    if not r["IsTruncated"]:
        break
    token = r["NextContinuationToken"]
check(pages == 3 and seen == keys, "paging: %d pages, %d keys" %
      (pages, len(seen)))
r = s3.list_objects_v2(Bucket="boto", Prefix="many/", Delimiter="/")
check([p["Prefix"] for p in r["CommonPrefixes"]] == ["many/a/", "many/b/"]
      and "Contents" not in r, "delimiter %r" % r.get("CommonPrefixes"))
r = s3.list_objects_v2(Bucket="boto", Prefix="many/b/", StartAfter=keys[-3],
                       MaxKeys=1000)
check([c["Key"] for c in r["Contents"]] == keys[-2:], "StartAfter")
sizes = {c["Key"]: c["Size"] for c in s3.list_objects_v2(
    Bucket="boto", Prefix="many/a/k000")["Contents"]}
check(sizes == {k: len(k) for k in keys if k.startswith("many/a/k000")},
      "sizes %r" % sizes)

# multi-delete: verbose, then quiet
r = s3.delete_objects(Bucket="boto", Delete={
    "Objects": [{"Key": k} for k in keys[:1000]]})
check(sorted(d["Key"] for d in r["Deleted"]) == keys[:1000] and
      not r.get("Errors"), "verbose delete_objects")
r = s3.delete_objects(Bucket="boto", Delete={
    "Quiet": True, "Objects": [{"Key": k} for k in keys[1000:]] +
    [{"Key": "many/never-was"}]})
check(not r.get("Deleted") and not r.get("Errors"), "quiet delete %r" % r)
check(s3.list_objects_v2(Bucket="boto", Prefix="many/")["KeyCount"] == 0,
      "keys left after delete_objects")

# SigV2 and SigV4, and a wrong secret with each
for sig in ("s3", "s3v4"):
    c = client(sig)
    c.put_object(Bucket="boto", Key="sig/" + sig, Body=sig.encode() * 100,
                 Metadata={"sig": sig})
    g = c.get_object(Bucket="boto", Key="sig/" + sig)
    check(g["Body"].read() == sig.encode() * 100 and
          meta(g) == {"sig": sig}, sig + " put/get")
    check([o["Key"] for o in c.list_objects(Bucket="boto", Prefix="sig/" +
           sig)["Contents"]] == ["sig/" + sig], sig + " list")
    c.delete_object(Bucket="boto", Key="sig/" + sig)
    check(err(c.head_object, Bucket="boto", Key="sig/" + sig)[0] == 404,
          sig + " delete")
    w = client(sig, secret="wrong")
    check(err(w.put_object, Bucket="boto", Key="sig/w", Body=b"x") ==
          (403, "SignatureDoesNotMatch"), sig + " wrong secret")
    check(err(s3.head_object, Bucket="boto", Key="sig/w")[0] == 404,
          sig + ": a refused PUT stored an object")

# aws-chunked streaming uploads
raw = s3sign.Client(URL, "test:tester", "testing")
data = os.urandom(200000)
st, h, b = raw.request("PUT", "/boto/chunked/a", body=data, chunked=65536)
check(st == 200, "aws-chunked PUT: %d %r" % (st, b))
check(h["etag"].strip('"') == hashlib.md5(data).hexdigest(),
      "aws-chunked ETag %s" % h["etag"])
g = s3.get_object(Bucket="boto", Key="chunked/a")
check(g["Body"].read() == data and g["ContentLength"] == len(data),
      "aws-chunked upload stored other bytes")
st, h, b = raw.request("PUT", "/boto/chunked/bad", body=data, chunked=65536,
                       bad_chunk=1)
check((st, s3sign.error_code(b)) == (403, "SignatureDoesNotMatch"),
      "bad chunk signature: %d %r" % (st, b))
check(err(s3.head_object, Bucket="boto", Key="chunked/bad")[0] == 404,
      "a refused aws-chunked upload stored an object")
mp = s3.create_multipart_upload(Bucket="boto", Key="chunked/mp")["UploadId"]
p1 = os.urandom(5 << 20)
st, h, b = raw.request("PUT", "/boto/chunked/mp", query=[
    ("partNumber", "1"), ("uploadId", mp)], body=p1, chunked=1 << 20)
check(st == 200, "aws-chunked UploadPart: %d %r" % (st, b))
check(h["etag"].strip('"') == hashlib.md5(p1).hexdigest(), "part ETag")
s3.complete_multipart_upload(Bucket="boto", Key="chunked/mp", UploadId=mp,
                             MultipartUpload={"Parts": [
                                 {"PartNumber": 1, "ETag": h["etag"]}]})
check(s3.get_object(Bucket="boto", Key="chunked/mp")["Body"].read() == p1,
      "aws-chunked part bytes")
print("boto3 checks: ok")
PY
echo "354-s3-boto3: ok"
