#!/bin/bash
# 352-s3-multipart: S3's multipart uploads through kumo-aio's proxy with
# awscli (aws s3api), stored as Swift's s3api stores them (parts in
# "<bucket>+segments" as "<key>/<upload-id>/<N>", the marker
# "<key>/<upload-id>", the result an SLO):
#   - CreateMultipartUpload, UploadPart, UploadPartCopy with a range,
#     ListParts (max-parts, part-number-marker, IsTruncated),
#     ListMultipartUploads (prefix, delimiter, max-uploads, key-marker),
#     CompleteMultipartUpload: ETag "<md5 of the parts' md5s>-N", also on
#     HEAD and GET, bytes match, Range across parts, metadata and
#     Content-Type from the create, the marker gone; DeleteObject of the
#     result removes its parts; AbortMultipartUpload removes parts and
#     marker (204);
#   - refusals, each with nothing stored or changed: a non-last part under
#     5 MiB (EntityTooSmall), an unknown part or a wrong ETag
#     (InvalidPart), parts out of order (InvalidPartOrder), malformed XML
#     (MalformedXML), an upload id of another key or bucket and an unknown
#     one (NoSuchUpload), part number 0 or 10001 (InvalidArgument), a bad
#     Content-MD5 on a part (BadDigest).
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/s3.sh"
requires md5sum openssl /usr/bin/aws

start_cluster
s3_setup
cd "$TMPDIR_TEST"
MiB=1048576
md5() { md5sum | cut -c1-32; }
create() { # create BUCKET KEY [args]: prints the upload id
	local b=$1 k=$2
	shift 2
	$AWS s3api create-multipart-upload --bucket "$b" --key "$k" "$@" \
		--query UploadId --output text
}
part() { # part BUCKET KEY ID N FILE: prints the quoted ETag
	$AWS s3api upload-part --bucket "$1" --key "$2" --upload-id "$3" \
		--part-number "$4" --body "$5" --query ETag --output text
}
complete() { # complete BUCKET KEY ID JSON
	$AWS s3api complete-multipart-upload --bucket "$1" --key "$2" \
		--upload-id "$3" --multipart-upload "$4"
}
segs() { swift_list bkt+segments; }

$SWIFT post bkt || fail "container bkt"
$SWIFT post other || fail "container other"
head -c $((5 * MiB)) /dev/urandom >p1
head -c $((5 * MiB + 7)) /dev/urandom >p2
head -c 1000 /dev/urandom >p3
head -c 200000 /dev/urandom >src

# the full path: create (metadata, Content-Type), parts, a ranged copy
id=$(create bkt big --metadata color=red --content-type text/x-big)
[ -n "$id" ] || fail "no upload id"
segs | grep -qx "big/$id" || fail "no upload marker big/$id"
e1=$(part bkt big "$id" 1 p1)
e2=$(part bkt big "$id" 2 p2)
[ "$e1" = "\"$(md5 <p1)\"" ] || fail "part 1 ETag"
$AWS s3api put-object --bucket bkt --key src --body src >/dev/null
$AWS s3api upload-part-copy --bucket bkt --key big --upload-id "$id" \
	--part-number 3 --copy-source bkt/src \
	--copy-source-range bytes=1000-1999 >pc.json || fail "upload-part-copy"
e3=$(jget pc.json CopyPartResult.ETag)
[ "$e3" = "\"$(slice src 1000 1000 | md5)\"" ] ||
	fail "UploadPartCopy ETag"
s3err InvalidArgument $AWS s3api upload-part-copy --bucket bkt --key big \
	--upload-id "$id" --part-number 4 --copy-source bkt/src \
	--copy-source-range bytes=100-300000
segs | grep -qx "big/$id/4" && fail "a refused part copy stored part 4"
segs | grep -qx "big/$id/3" || fail "part 3 not in big+segments"

# ListParts and its paging
$AWS s3api list-parts --bucket bkt --key big --upload-id "$id" >lp.json
[ "$(jget lp.json Parts.2.PartNumber)" = 3 ] || fail "ListParts"
[ "$(jget lp.json Parts.1.Size)" = $((5 * MiB + 7)) ] || fail "ListParts size"
$AWS s3api list-parts --bucket bkt --key big --upload-id "$id" \
	--max-parts 1 --part-number-marker 1 --no-paginate >lp.json
[ "$(jget lp.json Parts.0.PartNumber)" = 2 ] || fail "part-number-marker"
[ "$(jget lp.json IsTruncated)" = True ] || fail "IsTruncated"
[ "$(jget lp.json NextPartNumberMarker)" = 2 ] || fail "NextPartNumberMarker"

# ListMultipartUploads
id2=$(create bkt dir/a)
id3=$(create bkt dir/b)
$AWS s3api list-multipart-uploads --bucket bkt >lu.json
for k in big dir/a dir/b; do
	grep -q "\"Key\": \"$k\"" lu.json || fail "upload $k not listed"
done
$AWS s3api list-multipart-uploads --bucket bkt --delimiter / >lu.json
grep -q '"Prefix": "dir/"' lu.json || fail "no CommonPrefixes dir/"
grep -q '"Key": "dir/a"' lu.json && fail "delimiter did not fold dir/a"
$AWS s3api list-multipart-uploads --bucket bkt --prefix dir/ \
	--max-uploads 1 --no-paginate >lu.json
[ "$(jget lu.json Uploads.0.Key)" = dir/a ] || fail "prefix + max-uploads"
[ "$(jget lu.json IsTruncated)" = True ] || fail "uploads IsTruncated"
$AWS s3api list-multipart-uploads --bucket bkt --prefix dir/ \
	--key-marker dir/a --no-paginate >lu.json
[ "$(jget lu.json Uploads.0.Key)" = dir/b ] || fail "key-marker"

# refusals on the open upload: nothing changes
before=$(segs | md5)
s3err NoSuchUpload part bkt big nosuchid 1 p3
s3err NoSuchUpload part bkt dir/a "$id" 1 p3  # the id of another key
s3err NoSuchUpload part other big "$id" 1 p3  # of another bucket
s3err InvalidArgument part bkt big "$id" 0 p3
s3err InvalidArgument part bkt big "$id" 10001 p3
s3err BadDigest $AWS s3api upload-part --bucket bkt --key big \
	--upload-id "$id" --part-number 5 --body p3 \
	--content-md5 "$(printf x | openssl md5 -binary | base64)"
[ "$(segs | md5)" = "$before" ] || { segs; fail "a refused part changed the segments"; }
P="{\"PartNumber\":1,\"ETag\":$e1}"
s3err InvalidPartOrder complete bkt big "$id" \
	"{\"Parts\":[{\"PartNumber\":2,\"ETag\":$e2},$P]}"
s3err InvalidPart complete bkt big "$id" \
	"{\"Parts\":[$P,{\"PartNumber\":7,\"ETag\":$e2}]}"
s3err InvalidPart complete bkt big "$id" \
	"{\"Parts\":[$P,{\"PartNumber\":2,\"ETag\":$e1}]}"
s3err NoSuchUpload complete other big "$id" "{\"Parts\":[$P]}"
s3err InvalidPartOrder complete bkt big "$id" \
	"{\"Parts\":[$P,{\"PartNumber\":3,\"ETag\":$e3},{\"PartNumber\":2,\"ETag\":$e2}]}"
id4=$(create bkt small)
s1=$(part bkt small "$id4" 1 p3)
s2=$(part bkt small "$id4" 2 p3)
before=$(segs | md5)
s3err EntityTooSmall complete bkt small "$id4" \
	"{\"Parts\":[{\"PartNumber\":1,\"ETag\":$s1},{\"PartNumber\":2,\"ETag\":$s2}]}"
# malformed XML, sent signed by hand
$PYTHON - "$S3_URL" "$id" >raw.out <<'PY'
import sys, botocore.session
s = botocore.session.get_session().create_client(
    's3', endpoint_url=sys.argv[1], region_name='us-east-1')
def bad(request, **kw):
    request.data = b'<CompleteMultipartUpload><Part><PartNumber>1'
    if 'Content-MD5' in request.headers:
        del request.headers['Content-MD5']
s.meta.events.register('before-sign.s3.CompleteMultipartUpload', bad)
try:
    s.complete_multipart_upload(Bucket='bkt', Key='big', UploadId=sys.argv[2],
        MultipartUpload={'Parts': [{'PartNumber': 1, 'ETag': 'x'}]})
    print('no error')
except Exception as e:
    print(e.response['Error']['Code'])
PY
grep -qx MalformedXML raw.out || { cat raw.out; fail "malformed XML: not MalformedXML"; }
[ "$(segs | md5)" = "$before" ] || fail "a refused complete changed the segments"
s3err 404 $AWS s3api head-object --bucket bkt --key big

# complete: the S3 ETag, on HEAD and GET too
etag=$( (for f in p1 p2; do md5 <$f; done; slice src 1000 1000 | md5) |
	xxd -r -p | md5)-3
complete bkt big "$id" "{\"Parts\":[$P,{\"PartNumber\":2,\"ETag\":$e2},{\"PartNumber\":3,\"ETag\":$e3}]}" \
	>cm.json || fail "complete"
[ "$(jget cm.json ETag)" = "\"$etag\"" ] || { cat cm.json; fail "complete ETag is not $etag"; }
segs | grep -qx "big/$id" && fail "the upload marker is still there"
$AWS s3api head-object --bucket bkt --key big >h.json
[ "$(jget h.json ETag)" = "\"$etag\"" ] || fail "HEAD ETag of the upload"
[ "$(jget h.json ContentLength)" = $((10 * MiB + 7 + 1000)) ] || fail "HEAD length"
[ "$(jget h.json Metadata.color)" = red ] || fail "metadata of the create"
[ "$(jget h.json ContentType)" = text/x-big ] || fail "Content-Type of the create"
cat p1 p2 >whole
slice src 1000 1000 >>whole
$AWS s3api get-object --bucket bkt --key big out >g.json || fail "GET"
cmp -s whole out || fail "GET bytes of the upload differ"
[ "$(jget g.json ETag)" = "\"$etag\"" ] || fail "GET ETag of the upload"
$AWS s3api get-object --bucket bkt --key big \
	--range bytes=$((5 * MiB - 10))-$((5 * MiB + 9)) out >/dev/null
cmp -s <(slice whole $((5 * MiB - 10)) 20) out || fail "Range across parts"
$AWS s3api get-object --bucket bkt --key big --if-match "\"$etag\"" out \
	>/dev/null || fail "If-Match on the S3 ETag"

# abort: parts and marker go
$AWS s3api abort-multipart-upload --bucket bkt --key small --upload-id "$id4" ||
	fail "abort"
segs | grep -q "^small/" && fail "abort left parts of small"
s3err NoSuchUpload part bkt small "$id4" 3 p3
$AWS s3api abort-multipart-upload --bucket bkt --key dir/a --upload-id "$id2"
$AWS s3api abort-multipart-upload --bucket bkt --key dir/b --upload-id "$id3"

# deleting the result takes its parts along
$AWS s3api delete-object --bucket bkt --key big || fail "delete big"
[ -z "$(segs)" ] || { segs; fail "parts left after deleting big"; }
echo "ok"
