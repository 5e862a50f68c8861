#!/bin/bash
# 323-proxy-ec-large-objects-s3: large objects, copies and S3 in an
# erasure-coded container (issue 6), on six object servers with policy 1
# "ec42" (liberasurecode_rs_vand 4+2, 64 KiB segments, six replicas on
# d1..d6):
#   - swift upload --use-slo (segments of 100,000 bytes, into
#     ec_segments, which swiftclient makes in the same policy) and a DLO
#     (swift upload -S without --use-slo): downloads match by md5, HEAD
#     gives the whole size, a Range across two segments is right;
#   - server-side copies: X-Copy-From within the EC container and COPY
#     from a replicated container into it read back right;
#   - S3 (boto3, SigV4, path style) on bucket "bk", made by the Swift API
#     in ec42: PutObject/GetObject (md5, Range), HeadObject, a multipart
#     upload of three parts (5 MiB, 5 MiB, 1 MiB) whose object reads back
#     with the md5-of-md5s-3 ETag, its parts in "bk+segments", which is
#     in ec42 too; every object of these containers is fragment archives
#     under objects-1, none under objects/.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/ec_proxy.sh"
. "$(dirname "$0")/../lib/s3.sh"
requires curl kumo-ring

ec_proxy_cluster 6 65536
D=$TMPDIR_TEST
H=$D/h
ec_container ec ec42
ec_container bk ec42
ec_container rep gold
md5() { md5sum "$1" | cut -d' ' -f1; }
hdr() { tr -d '\r' <"$H" | awk -F': ' -v n="$1" 'tolower($1) == tolower(n) { print $2 }'; }
policy_of() {
	curl -s -I -H "$T" "$URL/$1" >"$H"
	hdr X-Storage-Policy
}

# SLO and DLO through swiftclient
head -c 450000 /dev/urandom >"$D/slo.bin"
head -c 333333 /dev/urandom >"$D/dlo.bin"
(cd "$D" && timeout 60 $SWIFT upload --use-slo -S 100000 ec slo.bin >/dev/null) ||
	fail "swift upload --use-slo"
(cd "$D" && timeout 60 $SWIFT upload -S 100000 ec dlo.bin >/dev/null) ||
	fail "swift upload (DLO)"
[ "$(policy_of ec_segments)" = ec42 ] || fail "ec_segments policy: $(cat "$H")"
for f in slo.bin dlo.bin; do
	rm -f "$D/got"
	timeout 60 $SWIFT download ec "$f" -o "$D/got" >/dev/null ||
		fail "swift download $f"
	cmp -s "$D/got" "$D/$f" || fail "$f: other bytes"
	curl -s -I -H "$T" "$URL/ec/$f" >"$H"
	[ "$(hdr Content-Length)" = "$(stat -c %s "$D/$f")" ] ||
		fail "HEAD $f: $(cat "$H")"
	curl -s -H "$T" -H 'Range: bytes=99990-100009' "$URL/ec/$f" >"$D/got"
	dd if="$D/$f" bs=1 skip=99990 count=20 2>/dev/null | cmp -s - "$D/got" ||
		fail "$f: Range across segments"
done
curl -s -I -H "$T" "$URL/ec/slo.bin" >"$H"
[ "$(hdr X-Static-Large-Object)" = True ] || fail "slo.bin is no SLO"

# copies into the EC container
[ "$(status PUT "$URL/ec/copy1" -H "$T" -H 'X-Copy-From: ec/slo.bin' \
	-H 'Content-Length: 0')" = 201 ] || fail "X-Copy-From in ec"
curl -s -H "$T" "$URL/ec/copy1" | cmp -s - "$D/slo.bin" || fail "copy1 bytes"
head -c 70000 /dev/urandom >"$D/r.bin"
curl -s -o /dev/null -T "$D/r.bin" -H "$T" "$URL/rep/r.bin"
[ "$(status COPY "$URL/rep/r.bin" -H "$T" -H 'Destination: ec/copy2')" = 201 ] ||
	fail "COPY rep -> ec"
curl -s -H "$T" "$URL/ec/copy2" | cmp -s - "$D/r.bin" || fail "copy2 bytes"

# S3 on an EC bucket
s3_setup
head -c 200000 /dev/urandom >"$D/s3small"
head -c $((11 * 1048576)) /dev/urandom >"$D/s3big"
export S3_URL D
timeout 120 $PYTHON - <<'PY' || fail "boto3 on the EC bucket"
import hashlib, os
import boto3
from botocore.config import Config

d = os.environ["D"]
s3 = boto3.client(
    "s3", endpoint_url=os.environ["S3_URL"], region_name="us-east-1",
    aws_access_key_id="test:tester", aws_secret_access_key="testing",
    config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                  retries={"max_attempts": 1}))
small = open(d + "/s3small", "rb").read()
r = s3.put_object(Bucket="bk", Key="small", Body=small, ContentType="x/y",
                  Metadata={"color": "red"})
assert r["ETag"] == '"%s"' % hashlib.md5(small).hexdigest(), r["ETag"]
g = s3.get_object(Bucket="bk", Key="small")
assert g["Body"].read() == small
assert g["ContentType"] == "x/y" and g["Metadata"] == {"color": "red"}, g
g = s3.get_object(Bucket="bk", Key="small", Range="bytes=65530-65545")
assert g["Body"].read() == small[65530:65546]
h = s3.head_object(Bucket="bk", Key="small")
assert h["ContentLength"] == len(small), h

big = open(d + "/s3big", "rb").read()
up = s3.create_multipart_upload(Bucket="bk", Key="big")["UploadId"]
cuts = [0, 5 << 20, 10 << 20, len(big)]
parts = []
for n in range(3):
    body = big[cuts[n]:cuts[n + 1]]
    e = s3.upload_part(Bucket="bk", Key="big", UploadId=up, PartNumber=n + 1,
                       Body=body)["ETag"]
    assert e == '"%s"' % hashlib.md5(body).hexdigest(), e
    parts.append({"PartNumber": n + 1, "ETag": e})
s3.complete_multipart_upload(Bucket="bk", Key="big", UploadId=up,
                             MultipartUpload={"Parts": parts})
want = hashlib.md5(b"".join(
    hashlib.md5(big[cuts[n]:cuts[n + 1]]).digest() for n in range(3))
).hexdigest() + "-3"
g = s3.get_object(Bucket="bk", Key="big")
assert g["ETag"] == '"%s"' % want, (g["ETag"], want)
assert hashlib.md5(g["Body"].read()).hexdigest() == hashlib.md5(big).hexdigest()
g = s3.get_object(Bucket="bk", Key="big", Range="bytes=5242870-5242889")
assert g["Body"].read() == big[5242870:5242890]
keys = [o["Key"] for o in s3.list_objects_v2(Bucket="bk")["Contents"]]
assert keys == ["big", "small"], keys
PY
[ "$(policy_of 'bk+segments')" = ec42 ] || fail "bk+segments policy: $(cat "$H")"

# everything above is fragment archives
n=$(find "$NODE_DIR" -path '*/objects/*' -name '*.data' | wc -l)
[ "$n" = 3 ] || fail "objects/ holds $n .data files (r.bin's three only)"
n=$(find "$NODE_DIR" -path '*/objects-1/*' -name '*#d.data' | wc -l)
[ "$n" -ge 100 ] || fail "only $n durable archives under objects-1"
echo "323-proxy-ec-large-objects-s3: ok"
