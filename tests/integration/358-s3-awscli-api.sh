#!/bin/bash
# 358-s3-awscli-api: `aws s3api` (awscli 2) for each S3 call kumo has, and
# the S3 error code of each refusal (awscli prints "An error occurred
# (Code)"; a HEAD has no body: its status):
#   - buckets: create-bucket (again: BucketAlreadyOwnedByYou),
#     head-bucket (missing: 404), get-bucket-location, list-buckets,
#     put-bucket-acl public-read and private, get-bucket-acl,
#     delete-bucket (BucketNotEmpty, then NoSuchBucket once gone),
#     list-objects on a missing bucket
#     (NoSuchBucket); public-read lets anonymous Swift GETs in (.r:*),
#     private not; an unsigned S3 GET gets AccessDenied;
#   - objects: put-object with metadata and Content-MD5, get-object with
#     a range (past the end: InvalidRange), If-Match (PreconditionFailed),
#     If-None-Match (304), response-* overrides; head-object; missing key
#     (NoSuchKey); copy-object (x-amz-copy-source-if-match:
#     PreconditionFailed); delete-object, delete-objects;
#   - listings: list-objects with marker and delimiter, list-objects-v2
#     with start-after, fetch-owner and encoding-type url (a key with a
#     space and a non-ASCII letter), max-keys -1 (InvalidArgument);
#   - multipart: create-multipart-upload, upload-part, list-parts,
#     list-multipart-uploads, complete, abort (then NoSuchUpload).
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/s3.sh"
requires curl md5sum /usr/bin/aws

start_cluster
s3_setup
cd "$TMPDIR_TEST"
printf '[default]\ns3 =\n    addressing_style = path\n' >"$HOME/.aws/config"
API="$AWS s3api --output json"
B=api-bkt

# api OUT ARGS...: run aws s3api ARGS, output in OUT; fail when it fails.
api() {
	local out=$1
	shift
	$API "$@" >"$out" 2>err || { cat err; fail "aws s3api $*"; }
}
# refused CODE ARGS...: aws s3api ARGS fails with the S3 error CODE.
refused() {
	local code=$1 rc=0
	shift
	$API "$@" >out 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || { cat out; fail "aws s3api $* did not fail"; }
	grep -qF "($code)" out || { cat out; fail "aws s3api $*: not $code"; }
}
# jq-like: json FILE EXPR prints the Python expression on d (the JSON).
json() { $PYTHON -c "import json,sys; d=json.load(open('$1')); print(($2))"; }

api o create-bucket --bucket $B
refused BucketAlreadyOwnedByYou create-bucket --bucket $B
api o head-bucket --bucket $B
refused 404 head-bucket --bucket no-such-bkt
refused NoSuchBucket list-objects --bucket no-such-bkt
api o get-bucket-location --bucket $B
[ "$(json o 'd.get("LocationConstraint")')" = None ] ||
	[ "$(json o 'd.get("LocationConstraint")')" = us-east-1 ] ||
	{ cat o; fail "get-bucket-location"; }
api o list-buckets
[ "$(json o '[b["Name"] for b in d["Buckets"]]')" = "['$B']" ] ||
	{ cat o; fail "list-buckets"; }

# objects
head -c 10000 /dev/urandom >obj
md5=$($PYTHON -c 'import base64,hashlib; print(base64.b64encode(hashlib.md5(open("obj","rb").read()).digest()).decode())')
api o put-object --bucket $B --key a/obj --body obj --content-md5 "$md5" \
	--metadata colour=green,size=10k --content-type application/x-obj
etag=$(json o 'd["ETag"]')
[ "$etag" = "\"$(md5sum <obj | cut -c1-32)\"" ] || fail "put-object ETag $etag"
api o head-object --bucket $B --key a/obj
[ "$(json o 'd["ContentLength"], d["ContentType"], sorted((k.lower(), v) for k, v in d["Metadata"].items())')" = \
	"(10000, 'application/x-obj', [('colour', 'green'), ('size', '10k')])" ] ||
	{ cat o; fail "head-object"; }
api o get-object --bucket $B --key a/obj --range bytes=10-19 part
cmp part <(tail -c +11 obj | head -c 10) || fail "get-object range bytes"
[ "$(json o 'd["ContentRange"]')" = "bytes 10-19/10000" ] ||
	{ cat o; fail "Content-Range"; }
refused InvalidRange get-object --bucket $B --key a/obj --range bytes=20000- x
refused PreconditionFailed get-object --bucket $B --key a/obj \
	--if-match '"00000000000000000000000000000000"' x
refused 304 get-object --bucket $B --key a/obj --if-none-match "$etag" x
api o get-object --bucket $B --key a/obj --if-match "$etag" \
	--response-content-type text/x-over \
	--response-content-disposition 'attachment; filename="o.bin"' whole
cmp whole obj || fail "get-object bytes"
[ "$(json o 'd["ContentType"], d["ContentDisposition"]')" = \
	"('text/x-over', 'attachment; filename=\"o.bin\"')" ] ||
	{ cat o; fail "response-* overrides"; }
refused NoSuchKey get-object --bucket $B --key a/none x
refused 404 head-object --bucket $B --key a/none
api o copy-object --bucket $B --key b/copy --copy-source $B/a/obj \
	--copy-source-if-match "$etag"
refused PreconditionFailed copy-object --bucket $B --key b/nocopy \
	--copy-source $B/a/obj --copy-source-if-match '"0123"'
refused NoSuchKey copy-object --bucket $B --key b/nocopy \
	--copy-source $B/a/none
api o get-object --bucket $B --key b/copy copy
cmp copy obj || fail "copied bytes"

# listings
for k in "c/one" "c/two" "c/sub/three" "d/with space ü"; do
	api o put-object --bucket $B --key "$k" --body obj
done
api o list-objects --bucket $B --delimiter / --marker b/copy
[ "$(json o '[p["Prefix"] for p in d["CommonPrefixes"]], "Contents" in d')" = \
	"(['c/', 'd/'], False)" ] || { cat o; fail "list-objects marker"; }
api o list-objects-v2 --bucket $B --prefix c/ --start-after c/one \
	--fetch-owner
[ "$(json o '[c["Key"] for c in d["Contents"]], all("Owner" in c for c in d["Contents"])')" = \
	"(['c/sub/three', 'c/two'], True)" ] || { cat o; fail "list-objects-v2"; }
# asked for by the user (not by botocore itself), the encoding stays
api o list-objects-v2 --bucket $B --prefix d/ --encoding-type url --no-paginate
[ "$(json o '[c["Key"] for c in d["Contents"]], d["EncodingType"]')" = \
	"(['d/with%20space%20%C3%BC'], 'url')" ] ||
	{ cat o; fail "encoding-type url"; }
refused InvalidArgument list-objects-v2 --bucket $B --max-keys -1

# multipart
api o create-multipart-upload --bucket $B --key m/obj
uid=$(json o 'd["UploadId"]')
head -c 5242880 /dev/urandom >p1
api o upload-part --bucket $B --key m/obj --upload-id "$uid" \
	--part-number 1 --body p1
e1=$(json o 'd["ETag"]')
api o upload-part --bucket $B --key m/obj --upload-id "$uid" \
	--part-number 2 --body obj
e2=$(json o 'd["ETag"]')
api o list-parts --bucket $B --key m/obj --upload-id "$uid"
[ "$(json o '[(p["PartNumber"], p["Size"], p["ETag"]) for p in d["Parts"]]')" = \
	"[(1, 5242880, '$e1'), (2, 10000, '$e2')]" ] || { cat o; fail "list-parts"; }
api o list-multipart-uploads --bucket $B
[ "$(json o '[(u["Key"], u["UploadId"]) for u in d["Uploads"]]')" = \
	"[('m/obj', '$uid')]" ] || { cat o; fail "list-multipart-uploads"; }
printf '{"Parts":[{"PartNumber":1,"ETag":%s},{"PartNumber":2,"ETag":%s}]}' \
	"$($PYTHON -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$e1")" \
	"$($PYTHON -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$e2")" >parts.json
api o complete-multipart-upload --bucket $B --key m/obj --upload-id "$uid" \
	--multipart-upload file://parts.json
[[ "$(json o 'd["ETag"]')" =~ ^\"[0-9a-f]{32}-2\"$ ]] ||
	{ cat o; fail "complete ETag"; }
api o get-object --bucket $B --key m/obj mp
cat p1 obj | cmp - mp || fail "the completed object's bytes"
api o create-multipart-upload --bucket $B --key m/gone
uid2=$(json o 'd["UploadId"]')
api o abort-multipart-upload --bucket $B --key m/gone --upload-id "$uid2"
refused NoSuchUpload upload-part --bucket $B --key m/gone --upload-id "$uid2" \
	--part-number 1 --body obj
refused NoSuchUpload complete-multipart-upload --bucket $B --key m/gone \
	--upload-id "$uid2" --multipart-upload file://parts.json

# canned ACLs map to container ACLs: anonymous reads go over Swift's URL
# (an unsigned S3 request names no account: AccessDenied)
pub=http://127.0.0.1:$PROXY_PORT/$B/a/obj
swpub=http://127.0.0.1:$PROXY_PORT/v1/AUTH_test/$B/a/obj
code=$(curl -s -o anon -w '%{http_code}' "$pub")
[ "$code" = 403 ] && grep -q '<Code>AccessDenied</Code>' anon ||
	{ cat anon; fail "unsigned S3 GET of an object: $code"; }
code=$(curl -s -o anon -w '%{http_code}' "$swpub")
[ "$code" = 401 ] || fail "anonymous Swift GET, private bucket: $code"
api o put-bucket-acl --bucket $B --acl public-read
api o get-bucket-acl --bucket $B
grep -q 'http://acs.amazonaws.com/groups/global/AllUsers' o ||
	{ cat o; fail "get-bucket-acl lacks the AllUsers grant"; }
$SWIFT stat $B >st 2>&1 || { cat st; fail "swift stat $B"; }
grep -q 'Read ACL: .*\.r:\*' st || { cat st; fail "public-read: no .r:*"; }
curl -sf -o anon "$swpub" && cmp anon obj ||
	fail "anonymous Swift GET, public-read bucket"
api o put-bucket-acl --bucket $B --acl private
code=$(curl -s -o anon -w '%{http_code}' "$swpub")
[ "$code" = 401 ] || fail "anonymous Swift GET after private: $code"

# deletes
refused BucketNotEmpty delete-bucket --bucket $B
api o delete-object --bucket $B --key a/obj
refused 404 head-object --bucket $B --key a/obj
api o list-objects-v2 --bucket $B
$PYTHON -c "import json; print(json.dumps({'Objects': [{'Key': c['Key']} for c in json.load(open('o'))['Contents']]}))" >del.json
api o delete-objects --bucket $B --delete file://del.json
[ "$(json o 'len(d["Deleted"])')" -eq 6 ] || { cat o; fail "delete-objects"; }
api o delete-bucket --bucket $B
refused NoSuchBucket delete-bucket --bucket $B
[ -z "$(swift_list $B+segments)" ] || fail "segments left"
echo "358-s3-awscli-api: ok"
