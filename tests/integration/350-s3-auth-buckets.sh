#!/bin/bash
# 350-s3-auth-buckets: S3 authentication and bucket operations on
# kumo-aio's proxy, with awscli and hand-signed requests (botocore's
# signers from /usr/bin/python3, sent raw):
#   - awscli (SigV4): create-bucket (Location), list-buckets,
#     head-bucket, get-bucket-location, list-objects (prefix, delimiter,
#     marker, max-keys paging, encoding-type=url) and list-objects-v2
#     (continuation tokens, start-after, fetch-owner, KeyCount) over
#     objects written through Swift, delete-bucket;
#   - errors, each with S3's code and a RequestId equal to the txn:
#     BucketAlreadyOwnedByYou, InvalidBucketName, InvalidLocationConstraint,
#     BucketNotEmpty, NoSuchBucket, SignatureDoesNotMatch (bad secret),
#     InvalidAccessKeyId, RequestTimeTooSkewed (an X-Amz-Date 20 minutes
#     old, correctly signed), an expired presigned URL;
#   - SigV2 (header and query) and a SigV4 presigned URL work;
#   - a CreateBucket body in aws-chunked encoding is accepted when its
#     chunk signatures chain, refused (SignatureDoesNotMatch) when one is
#     wrong, and a body whose x-amz-content-sha256 differs is refused
#     (XAmzContentSHA256Mismatch): no bucket is made then;
#   - canned ACLs: public-read sets the container's read ACL
#     (.r:*,.rlistings) and GET ?acl shows AllUsers READ; private removes
#     it; virtual-host addressing (Host: <bucket>.localhost).
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/s3.sh"
requires curl /usr/bin/aws /usr/bin/python3

start_cluster
s3_setup
cd "$TMPDIR_TEST"


# raw.py: sign a request with botocore (V4 header, V4 presigned, V2
# header or query), optionally at another time, and send it as is;
# prints the status, the X-Trans-Id and the body.
cat >raw.py <<'PY'
import sys, json, time, datetime, hashlib, hmac, http.client, urllib.parse
from unittest import mock
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, HmacV1Auth, HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
a = json.loads(sys.argv[1])
port = a["port"]
host = a.get("host", "127.0.0.1:%d" % port)
url = "http://%s%s" % (host, a["path"])
body = a.get("body", "").encode()
hdrs = dict(a.get("headers", {}))
creds = Credentials(a.get("key", "test:tester"), a.get("secret", "testing"))
skew = a.get("skew", 0)
when = datetime.datetime.utcnow() + datetime.timedelta(seconds=skew)
kind = a.get("kind", "v4")
r = AWSRequest(method=a["method"], url=url, data=body, headers=hdrs)
if "auth_path" in a:
    r.auth_path = a["auth_path"]  # as botocore's virtual-host S3 client
now = time.time() + skew
with mock.patch("botocore.auth.datetime") as dt, mock.patch("time.time", return_value=now):
    dt.datetime.utcnow.return_value = when
    dt.datetime.now.return_value = when
    if kind == "v4":
        class V4(S3SigV4Auth):
            def payload(self, request):
                return a.get("payload") or super().payload(request)
        V4(creds, "s3", "us-east-1").add_auth(r)
    elif kind == "v4q":
        S3SigV4QueryAuth(creds, "s3", "us-east-1", expires=a.get("expires", 60)).add_auth(r)
    elif kind == "v2":
        HmacV1Auth(creds).add_auth(r)
    elif kind == "v2q":
        HmacV1QueryAuth(creds, expires=a.get("expires", 60)).add_auth(r)
if "chunked" in a:
    # aws-chunked: chunk signatures chained from the request's
    auth = r.headers["Authorization"]
    seed = auth.split("Signature=")[1]
    d8 = r.headers["X-Amz-Date"][:8]
    def h(k, m): return hmac.new(k, m.encode(), hashlib.sha256).digest()
    k = h(h(h(h(("AWS4" + creds.secret_key).encode(), d8), "us-east-1"), "s3"), "aws4_request")
    scope = d8 + "/us-east-1/s3/aws4_request"
    prev, out = seed, b""
    chunks = [c.encode() for c in a["chunked"]] + [b""]
    for i, c in enumerate(chunks):
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", r.headers["X-Amz-Date"], scope, prev,
                         hashlib.sha256(b"").hexdigest(), hashlib.sha256(c).hexdigest()])
        prev = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        sig = ("0" * 64) if i == a.get("bad_chunk", -1) else prev
        out += b"%x;chunk-signature=%s\r\n%s\r\n" % (len(c), sig.encode(), c)
    body = out
sent = urllib.parse.urlsplit(r.url)
path = sent.path + ("?" + sent.query if sent.query else "")
c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
h = {k: v for k, v in r.headers.items()}
h["Host"] = host
if "chunked" in a:
    h["Content-Length"] = str(len(body))
c.request(a["method"], path, body=body if body else None, headers=h)
resp = c.getresponse()
print(resp.status, resp.getheader("X-Trans-Id"))
print(resp.read().decode())
PY
# raw JSON: run raw.py on this cluster
raw() { /usr/bin/python3 raw.py "$(jq -cn --argjson p "$PROXY_PORT" "$1 + {port: \$p}")"; }
requires jq

# --- buckets with awscli ------------------------------------------------
$AWS s3api create-bucket --bucket bkt1 >out || fail "create-bucket"
jq -e '.Location == "/bkt1"' out >/dev/null || fail "Location: $(cat out)"
s3err BucketAlreadyOwnedByYou $AWS s3api create-bucket --bucket bkt1
s3err InvalidBucketName $AWS s3api create-bucket --bucket b1
s3err InvalidLocationConstraint $AWS s3api create-bucket --bucket bkt2 \
	--create-bucket-configuration LocationConstraint=eu-west-1
$AWS s3api head-bucket --bucket bkt2 2>/dev/null && fail "bkt2 was made"
$AWS s3api list-buckets >out || fail "list-buckets"
jq -e '[.Buckets[].Name] == ["bkt1"] and .Owner.ID == "test:tester"' out \
	>/dev/null || fail "list-buckets: $(cat out)"
$AWS s3api head-bucket --bucket bkt1 || fail "head-bucket"
$AWS s3api get-bucket-location --bucket bkt1 >out || fail "location"
jq -e '.LocationConstraint == null' out >/dev/null || fail "$(cat out)"
s3err NoSuchBucket $AWS s3api get-bucket-location --bucket nobkt
s3err NoSuchBucket $AWS s3api list-objects --bucket nobkt
$AWS s3api head-bucket --bucket nobkt 2>err && fail "head of a missing bucket"
grep -q 404 err || fail "head-bucket nobkt: $(cat err)"

# --- listings over objects written through Swift -------------------------
mkdir -p tree/a tree/b
for k in a/1 a/2 a/3 b/1 c "sp ace" "ü"; do printf '%s' "$k" >"tree/$k"; done
(cd tree && $SWIFT upload bkt1 a b c "sp ace" "ü" >/dev/null) ||
	fail "swift upload"
$AWS s3api list-objects --bucket bkt1 >out || fail "list-objects"
jq -e '[.Contents[].Key] == ["a/1","a/2","a/3","b/1","c","sp ace","ü"]' \
	out >/dev/null || fail "list-objects: $(cat out)"
etag=$(printf a/1 | md5sum | cut -c1-32)
jq -e --arg e "\"$etag\"" '.Contents[0] | .Size == 3 and .ETag == $e and .StorageClass == "STANDARD" and .Owner.ID == "test:tester" and (.LastModified | test("^20"))' \
	out >/dev/null || fail "list-objects entry: $(cat out)"
$AWS s3api list-objects --bucket bkt1 --delimiter / >out || fail "delimiter"
jq -e '[.Contents[].Key] == ["c","sp ace","ü"] and [.CommonPrefixes[].Prefix] == ["a/","b/"]' \
	out >/dev/null || fail "delimiter: $(cat out)"
$AWS s3api list-objects --bucket bkt1 --prefix a/ --max-keys 2 \
	--no-paginate >out || fail "max-keys"
jq -e '.IsTruncated == true and [.Contents[].Key] == ["a/1","a/2"] and .NextMarker == "a/2"' \
	out >/dev/null || fail "max-keys page: $(cat out)"
$AWS s3api list-objects --bucket bkt1 --prefix a/ --marker a/2 >out ||
	fail "marker"
jq -e '[.Contents[].Key] == ["a/3"] and (.IsTruncated | not)' out \
	>/dev/null || fail "marker page: $(cat out)"
# encoding-type=url: names come back encoded (awscli decodes them)
curl -s -o out.xml "$(/usr/bin/python3 -c '
import sys
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
r = AWSRequest(method="GET", url=sys.argv[1])
S3SigV4QueryAuth(Credentials("test:tester", "testing"), "s3", "us-east-1", 60).add_auth(r)
print(r.url)' "$S3_URL/bkt1?encoding-type=url&prefix=s")"
grep -q "<Key>sp%20ace</Key>" out.xml || fail "encoding-type=url: $(cat out.xml)"
# v2: all pages of one key each
$AWS s3api list-objects-v2 --bucket bkt1 --page-size 1 >out ||
	fail "list-objects-v2 paging"
jq -e '[.Contents[].Key] | length == 7' out >/dev/null ||
	fail "v2 pages: $(cat out)"
$AWS s3api list-objects-v2 --bucket bkt1 --max-keys 2 --no-paginate \
	--start-after a/1 >out || fail "start-after"
jq -e '[.Contents[].Key] == ["a/2","a/3"] and .KeyCount == 2 and .IsTruncated and (.NextContinuationToken | length > 0) and (.Contents[0].Owner == null)' \
	out >/dev/null || fail "start-after: $(cat out)"
tok=$(jq -r .NextContinuationToken out)
$AWS s3api list-objects-v2 --bucket bkt1 --continuation-token "$tok" \
	--fetch-owner --no-paginate >out || fail "continuation"
jq -e '[.Contents[].Key] == ["b/1","c","sp ace","ü"] and .Contents[0].Owner.ID == "test:tester"' \
	out >/dev/null || fail "continuation: $(cat out)"
$AWS s3api list-objects-v2 --bucket bkt1 --delimiter / --prefix a \
	--no-paginate >out ||
	fail "v2 delimiter"
jq -e '.KeyCount == 1 and [.CommonPrefixes[].Prefix] == ["a/"]' out \
	>/dev/null || fail "v2 delimiter: $(cat out)"

# --- delete ---------------------------------------------------------------
s3err BucketNotEmpty $AWS s3api delete-bucket --bucket bkt1
$SWIFT delete bkt1 a/1 a/2 a/3 b/1 c "sp ace" "ü" >/dev/null ||
	fail "swift delete"
$AWS s3api delete-bucket --bucket bkt1 || fail "delete-bucket"
s3err NoSuchBucket $AWS s3api delete-bucket --bucket bkt1
$AWS s3api list-buckets >out && jq -e '.Buckets == []' out >/dev/null ||
	fail "a bucket is left: $(cat out)"

# --- authentication errors -----------------------------------------------
AWS_SECRET_ACCESS_KEY=wrong s3err SignatureDoesNotMatch \
	$AWS s3api list-buckets
AWS_ACCESS_KEY_ID=test:nobody s3err InvalidAccessKeyId \
	$AWS s3api list-buckets
AWS_ACCESS_KEY_ID=nocolon s3err InvalidAccessKeyId \
	$AWS s3api list-buckets
raw '{method: "GET", path: "/", skew: -1200}' >out
head -1 out | grep -q "^403 " || fail "skewed: $(cat out)"
grep -q "<Code>RequestTimeTooSkewed</Code>" out || fail "skewed: $(cat out)"
# the RequestId is the transaction id
txn=$(head -1 out | cut -d' ' -f2)
grep -q "<RequestId>$txn</RequestId>" out || fail "RequestId: $(cat out)"
raw '{method: "GET", path: "/", skew: -300}' >out
head -1 out | grep -q "^200 " || fail "a 5-minute skew is refused: $(cat out)"

# anonymous requests have no account to act on (yet)
curl -s -o out -w '%{http_code}\n' "$S3_URL/bkt3" >code
grep -q 403 code && grep -q "<Code>AccessDenied</Code>" out ||
	fail "anonymous: $(cat code out)"

# SigV2, header and query; SigV4 presigned; expired presigned URLs
raw '{method: "PUT", path: "/bkt3", kind: "v2"}' >out
head -1 out | grep -q "^200 " || fail "SigV2 create: $(cat out)"
raw '{method: "GET", path: "/bkt3?prefix=x", kind: "v2q"}' >out
head -1 out | grep -q "^200 " || fail "SigV2 query: $(cat out)"
grep -q "<Name>bkt3</Name>" out || fail "SigV2 query listing: $(cat out)"
raw '{method: "GET", path: "/bkt3?acl", kind: "v2", secret: "bad"}' >out
grep -q "<Code>SignatureDoesNotMatch</Code>" out || fail "V2 bad: $(cat out)"
raw '{method: "GET", path: "/bkt3?location", kind: "v4q"}' >out
head -1 out | grep -q "^200 " || fail "presigned: $(cat out)"
raw '{method: "GET", path: "/bkt3", kind: "v4q", expires: 60, skew: -120}' >out
grep -q "<Code>AccessDenied</Code>" out || fail "expired presigned: $(cat out)"
raw '{method: "GET", path: "/bkt3", kind: "v2q", expires: 60, skew: -120}' >out
head -1 out | grep -q "^403 " || fail "expired V2 query: $(cat out)"

# --- body checks -------------------------------------------------------------
cfg='<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>'
raw "{method: \"PUT\", path: \"/chunk1\", chunked: [\"${cfg:0:40}\", \"${cfg:40}\"],
	payload: \"STREAMING-AWS4-HMAC-SHA256-PAYLOAD\",
	headers: {\"Content-Encoding\": \"aws-chunked\",
	\"x-amz-decoded-content-length\": \"${#cfg}\"}}" >out
head -1 out | grep -q "^200 " || fail "aws-chunked create: $(cat out)"
$AWS s3api head-bucket --bucket chunk1 || fail "chunk1 missing"
raw "{method: \"PUT\", path: \"/chunk2\", chunked: [\"${cfg:0:40}\", \"${cfg:40}\"],
	bad_chunk: 1,
	payload: \"STREAMING-AWS4-HMAC-SHA256-PAYLOAD\",
	headers: {\"Content-Encoding\": \"aws-chunked\",
	\"x-amz-decoded-content-length\": \"${#cfg}\"}}" >out
grep -q "<Code>SignatureDoesNotMatch</Code>" out || fail "bad chunk: $(cat out)"
$AWS s3api head-bucket --bucket chunk2 2>/dev/null && fail "chunk2 was made"
raw "{method: \"PUT\", path: \"/sha2\", body: \"$cfg\",
	payload: \"$(printf x | sha256sum | cut -c1-64)\"}" >out
grep -q "<Code>XAmzContentSHA256Mismatch</Code>" out || fail "sha: $(cat out)"
$AWS s3api head-bucket --bucket sha2 2>/dev/null && fail "sha2 was made"
raw "{method: \"PUT\", path: \"/sha3\", body: \"<bad\"}" >out
grep -q "<Code>MalformedXML</Code>" out || fail "malformed: $(cat out)"

# --- canned ACLs and virtual hosts ------------------------------------------
$AWS s3api create-bucket --bucket pub1 --acl public-read >/dev/null ||
	fail "create public-read"
$SWIFT stat pub1 | grep -q "Read ACL: .r:\*,.rlistings" ||
	fail "read ACL: $($SWIFT stat pub1)"
$AWS s3api get-bucket-acl --bucket pub1 >out || fail "get-bucket-acl"
jq -e '[.Grants[] | select(.Grantee.URI == "http://acs.amazonaws.com/groups/global/AllUsers") | .Permission] == ["READ"]' \
	out >/dev/null || fail "acl: $(cat out)"
$AWS s3api put-bucket-acl --bucket pub1 --acl private || fail "put-bucket-acl"
$SWIFT stat pub1 | grep -q "Read ACL: *$" || fail "private: $($SWIFT stat pub1)"
$AWS s3api get-bucket-acl --bucket pub1 >out || fail "get-bucket-acl 2"
jq -e '[.Grants[].Permission] == ["FULL_CONTROL"]' out >/dev/null ||
	fail "private acl: $(cat out)"
raw "{method: \"GET\", path: \"/?location\", host: \"pub1.localhost:$PROXY_PORT\"}" >out
head -1 out | grep -q "^200 " || fail "virtual host: $(cat out)"
raw "{method: \"GET\", path: \"/\", host: \"pub1.localhost:$PROXY_PORT\", kind: \"v2\",
	auth_path: \"/pub1/\"}" >out
grep -q "<Name>pub1</Name>" out || fail "virtual host V2 list: $(cat out)"
echo "PASS"
