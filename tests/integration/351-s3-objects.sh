#!/bin/bash
# 351-s3-objects: S3's object calls through kumo-aio's proxy with awscli
# (aws s3api), answered as Swift's s3api does:
#   - PutObject: ETag the quoted MD5, x-amz-meta-* and Content-Type kept
#     (seen as X-Object-Meta-* through Swift), a canned x-amz-acl taken;
#     a wrong Content-MD5 → BadDigest 400 and nothing stored, an
#     unknown canned ACL → InvalidArgument;
#   - GetObject/HeadObject: bytes, x-amz-meta-*, Last-Modified, Range →
#     206 with Content-Range, an unsatisfiable one → InvalidRange 416,
#     If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since
#     → 304 or PreconditionFailed 412, response-* overrides; a missing
#     key → NoSuchKey, a missing bucket → NoSuchBucket;
#   - DeleteObject: 204, also for a key that is not there;
#   - DeleteObjects: per-key Deleted, Quiet mode, MalformedXML and a
#     missing Content-MD5 refused with nothing deleted;
#   - CopyObject: URL-encoded source with ?versionId, metadata COPY and
#     REPLACE, x-amz-copy-source-if-match/-none-match → PreconditionFailed
#     with nothing written, copying onto itself without REPLACE refused.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/s3.sh"
requires curl md5sum /usr/bin/aws

start_cluster
s3_setup
cd "$TMPDIR_TEST"
md5() { md5sum | cut -c1-32; }

$SWIFT post bkt || fail "container bkt"
head -c 300000 /dev/urandom >f1
sum1=$(md5 <f1)

# PutObject
$AWS s3api put-object --bucket bkt --key 'dir/k 1' --body f1 \
	--metadata color=blue,Size=big --content-type text/x-kumo \
	--acl public-read >put.json || fail "put-object"
[ "$(jget put.json ETag)" = "\"$sum1\"" ] || fail "PutObject ETag"
$SWIFT stat bkt 'dir/k 1' >stat.out
grep -q "Meta Color: blue" stat.out || { cat stat.out; fail "x-amz-meta as Swift metadata"; }
grep -q "Content Type: text/x-kumo" stat.out || fail "Content-Type stored"

# a wrong Content-MD5: BadDigest, and nothing stored
bad_md5=$(printf 'other' | openssl md5 -binary | base64)
s3err BadDigest $AWS s3api put-object --bucket bkt --key bad --body f1 \
	--content-md5 "$bad_md5"
[ -z "$(swift_list bkt | grep -x bad)" ] || fail "BadDigest stored the object"
good_md5=$(openssl md5 -binary <f1 | base64)
$AWS s3api put-object --bucket bkt --key good --body f1 \
	--content-md5 "$good_md5" >/dev/null || fail "put with the right Content-MD5"
s3err InvalidArgument $AWS s3api put-object --bucket bkt --key x --body f1 \
	--acl no-such-acl
s3err NoSuchBucket $AWS s3api put-object --bucket nobkt --key x --body f1

# HeadObject, GetObject
$AWS s3api head-object --bucket bkt --key 'dir/k 1' >head.json || fail "head"
[ "$(jget head.json ContentLength)" = 300000 ] || fail "HEAD length"
[ "$(jget head.json Metadata.color)" = blue ] || fail "HEAD x-amz-meta-color"
[ "$(jget head.json Metadata.size)" = big ] || fail "HEAD x-amz-meta-size"
[ "$(jget head.json ContentType)" = text/x-kumo ] || fail "HEAD Content-Type"
lm=$(jget head.json LastModified)
$AWS s3api get-object --bucket bkt --key 'dir/k 1' out >get.json || fail "get"
cmp -s f1 out || fail "GET bytes differ"
$AWS s3api get-object --bucket bkt --key 'dir/k 1' --range bytes=100-199 \
	out >get.json || fail "ranged get"
[ "$(jget get.json ContentRange)" = "bytes 100-199/300000" ] ||
	fail "Content-Range"
cmp -s <(slice f1 100 100) out || fail "Range bytes"
s3err InvalidRange $AWS s3api get-object --bucket bkt --key 'dir/k 1' \
	--range bytes=400000-500000 out
s3err NoSuchKey $AWS s3api get-object --bucket bkt --key nokey out
s3err NoSuchBucket $AWS s3api get-object --bucket nobkt --key nokey out
# conditionals
$AWS s3api get-object --bucket bkt --key 'dir/k 1' --if-match "\"$sum1\"" \
	out >/dev/null || fail "If-Match on the ETag"
s3err PreconditionFailed $AWS s3api get-object --bucket bkt \
	--key 'dir/k 1' --if-match '"0123456789abcdef0123456789abcdef"' out
s3err 304 $AWS s3api get-object --bucket bkt --key 'dir/k 1' \
	--if-none-match "\"$sum1\"" out
s3err 304 $AWS s3api get-object --bucket bkt --key 'dir/k 1' \
	--if-modified-since "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)" out
s3err PreconditionFailed $AWS s3api get-object --bucket bkt \
	--key 'dir/k 1' --if-unmodified-since 2001-01-01T00:00:00Z out
# response-* overrides
$AWS s3api get-object --bucket bkt --key 'dir/k 1' \
	--response-content-type text/x-other \
	--response-content-disposition 'attachment; filename=a.bin' \
	--response-cache-control no-cache out >get.json || fail "overrides"
[ "$(jget get.json ContentType)" = text/x-other ] || fail "response-content-type"
[ "$(jget get.json ContentDisposition)" = "attachment; filename=a.bin" ] ||
	fail "response-content-disposition"
[ "$(jget get.json CacheControl)" = no-cache ] || fail "response-cache-control"

# CopyObject: a source botocore URL-encodes, ?versionId ignored, metadata
# COPY / REPLACE
$AWS s3api copy-object --bucket bkt --key copy1 \
	--copy-source 'bkt/dir/k 1?versionId=null' >copy.json ||
	fail "copy-object"
[ "$(jget copy.json CopyObjectResult.ETag)" = "\"$sum1\"" ] || fail "copy ETag"
$AWS s3api head-object --bucket bkt --key copy1 >h.json
[ "$(jget h.json Metadata.color)" = blue ] || fail "COPY kept no metadata"
[ "$(jget h.json ContentType)" = text/x-kumo ] || fail "COPY Content-Type"
$AWS s3api copy-object --bucket bkt --key copy2 --copy-source 'bkt/dir/k 1' \
	--metadata-directive REPLACE --metadata shape=round \
	--content-type text/x-new >/dev/null || fail "copy REPLACE"
$AWS s3api head-object --bucket bkt --key copy2 >h.json
[ "$(jget h.json Metadata.shape)" = round ] || fail "REPLACE metadata"
grep -q '"color"' h.json && fail "REPLACE kept the old metadata"
[ "$(jget h.json ContentType)" = text/x-new ] || fail "REPLACE Content-Type"
$AWS s3api get-object --bucket bkt --key copy2 out >/dev/null
cmp -s f1 out || fail "copy bytes differ"
s3err PreconditionFailed $AWS s3api copy-object --bucket bkt --key copy3 \
	--copy-source 'bkt/dir/k 1' --copy-source-if-match '"00000000000000000000000000000000"'
s3err PreconditionFailed $AWS s3api copy-object --bucket bkt --key copy3 \
	--copy-source 'bkt/dir/k 1' --copy-source-if-none-match "\"$sum1\""
[ -z "$(swift_list bkt | grep -x copy3)" ] || fail "a refused copy stored"
s3err InvalidRequest $AWS s3api copy-object --bucket bkt --key copy1 \
	--copy-source bkt/copy1
s3err NoSuchKey $AWS s3api copy-object --bucket bkt --key copy4 \
	--copy-source bkt/none

# DeleteObject: 204 whether there or not
$AWS s3api delete-object --bucket bkt --key copy2 || fail "delete"
[ -z "$(swift_list bkt | grep -x copy2)" ] || fail "copy2 still there"
$AWS s3api delete-object --bucket bkt --key copy2 || fail "delete of a missing key"
s3err NoSuchBucket $AWS s3api delete-object --bucket nobkt --key x

# DeleteObjects
for k in m1 m2 m3; do
	$AWS s3api put-object --bucket bkt --key $k --body f1 >/dev/null
done
$AWS s3api delete-objects --bucket bkt \
	--delete '{"Objects":[{"Key":"m1"},{"Key":"m2"},{"Key":"nothere"}]}' \
	>del.json || fail "delete-objects"
for k in m1 m2 nothere; do
	grep -q "\"Key\": \"$k\"" del.json || { cat del.json; fail "no Deleted $k"; }
done
[ -z "$(swift_list bkt | grep -x 'm[12]')" ] || fail "m1/m2 still there"
$AWS s3api delete-objects --bucket bkt \
	--delete '{"Objects":[{"Key":"m3"}],"Quiet":true}' >del.json ||
	fail "quiet delete-objects"
grep -q Deleted del.json && fail "Quiet mode listed Deleted keys"
[ -z "$(swift_list bkt | grep -x m3)" ] || fail "m3 still there"
# raw requests: malformed XML, no Content-MD5, too many keys
$AWS s3api put-object --bucket bkt --key keep --body f1 >/dev/null
sign() { # sign METHOD URL BODYFILE [Content-MD5]: curl with SigV4
	$PYTHON - "$@" <<'PY'
import sys, subprocess, botocore.session
from botocore.awsrequest import AWSRequest
from botocore.auth import S3SigV4Auth
method, url, body = sys.argv[1], sys.argv[2], open(sys.argv[3], 'rb').read()
headers = {'Content-Type': 'application/xml'}
if len(sys.argv) > 4:
    headers['Content-MD5'] = sys.argv[4]
creds = botocore.session.get_session().get_credentials()
req = AWSRequest(method=method, url=url, data=body, headers=headers)
S3SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
args = ['curl', '-s', '-o', 'raw.out', '-w', '%{http_code}', '-X', method,
        '--data-binary', '@' + sys.argv[3], url]
for k, v in req.headers.items():
    args += ['-H', '%s: %s' % (k, v)]
print(subprocess.run(args, capture_output=True, text=True).stdout)
PY
}
printf '<Delete><Object><Key>keep</Key></Object>' >bad.xml
[ "$(sign POST "$S3_URL/bkt?delete" bad.xml "$(openssl md5 -binary <bad.xml | base64)")" = 400 ] ||
	{ cat raw.out; fail "malformed XML not 400"; }
grep -q "<Code>MalformedXML</Code>" raw.out || fail "not MalformedXML"
printf '<Delete><Object><Key>keep</Key></Object></Delete>' >ok.xml
[ "$(sign POST "$S3_URL/bkt?delete" ok.xml)" = 400 ] ||
	fail "DeleteObjects without Content-MD5 not refused"
grep -q "Content-MD5" raw.out || fail "no Content-MD5 message"
{
	printf '<Delete>'
	for i in $(seq 1 1001); do printf '<Object><Key>k%d</Key></Object>' "$i"; done
	printf '</Delete>'
} >many.xml
[ "$(sign POST "$S3_URL/bkt?delete" many.xml "$(openssl md5 -binary <many.xml | base64)")" = 400 ] ||
	fail "1001 keys not refused"
grep -q "<Code>MalformedXML</Code>" raw.out || fail "1001 keys: not MalformedXML"
swift_list bkt | grep -qx keep || fail "a refused DeleteObjects deleted"
echo "ok"
