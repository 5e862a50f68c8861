#!/bin/bash
# 353-s3-awscli: awscli 2 (Debian's /usr/bin/aws) against the proxy's S3
# API, configured as a user would (a config file in HOME: path-style
# addressing, default 8 MiB multipart threshold and part size):
#   - aws s3 mb; aws s3 cp of a 100 MiB file up (13 parts of multipart
#     upload: the ETag is md5-of-md5s-13, stored as a static large object
#     with its segments in "<bucket>+segments") and down, same md5;
#   - aws s3 ls of the buckets, of a prefix (PRE lines) and --recursive;
#   - aws s3 sync of a tree of 200 files in subfolders up, a second sync
#     that transfers nothing, one changed file synced alone, sync down to
#     an empty folder (same tree) and again (nothing);
#   - aws s3 rb of a bucket that is not empty fails (BucketNotEmpty);
#     aws s3 rm --recursive empties it (no segment left), aws s3 rb
#     removes it.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/s3.sh"
requires md5sum /usr/bin/aws

start_cluster
s3_setup
AWS=$AWS_EXE # the executable itself, started for each command as users do
cd "$TMPDIR_TEST"
cat >"$HOME/.aws/config" <<CONF
[default]
region = us-east-1
s3 =
    addressing_style = path
    multipart_threshold = 8MB
    multipart_chunksize = 8MB
CONF
cat >"$HOME/.aws/credentials" <<CONF
[default]
aws_access_key_id = test:tester
aws_secret_access_key = testing
CONF
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY # from the files only
awsq() { $AWS "$@" --only-show-errors; }

$AWS s3 mb s3://awsbkt >out 2>err || { cat err; fail "aws s3 mb"; }
$AWS s3 ls >out 2>err || { cat err; fail "aws s3 ls"; }
grep -q ' awsbkt$' out || { cat out; fail "aws s3 ls lacks the bucket"; }

# 100 MiB: 13 parts of 8 MiB (the last 4 MiB)
head -c 104857600 /dev/urandom >big
awsq s3 cp big s3://awsbkt/dir/big 2>err || { cat err; fail "aws s3 cp up"; }
want_etag=$($PYTHON - <<'PY'
import hashlib
md5s = b""
with open("big", "rb") as f:
    while True:
        b = f.read(8 << 20)
        if not b:
            break
        md5s += hashlib.md5(b).digest()
print('"%s-%d"' % (hashlib.md5(md5s).hexdigest(), len(md5s) // 16))
PY
)
$AWS s3api head-object --bucket awsbkt --key dir/big >head 2>err ||
	{ cat err; fail "head-object"; }
got_etag=$($PYTHON -c 'import json,sys; print(json.load(sys.stdin)["ETag"])' <head)
[ "$got_etag" = "$want_etag" ] ||
	fail "multipart ETag $got_etag, expected $want_etag"
grep -q '"ContentLength": 104857600' head || { cat head; fail "size"; }
$SWIFT stat awsbkt dir/big >stat 2>&1 || { cat stat; fail "swift stat"; }
grep -qi 'X-Static-Large-Object: True' stat ||
	{ cat stat; fail "the multipart object is not a static large object"; }
[ "$(swift_list awsbkt+segments | wc -l)" -eq 13 ] ||
	{ swift_list awsbkt+segments; fail "not 13 segments"; }
awsq s3 cp s3://awsbkt/dir/big big.back 2>err ||
	{ cat err; fail "aws s3 cp down"; }
[ "$(md5sum <big)" = "$(md5sum <big.back)" ] || fail "100 MiB differs"

# a tree of 200 files in subfolders
for d in $(seq 1 10); do
	for s in a b; do
		mkdir -p "tree/d$d/$s"
		for f in $(seq 1 10); do
			head -c $((d * 97 + f * 13)) /dev/urandom >"tree/d$d/$s/f$f"
		done
	done
done
$AWS s3 sync --no-progress tree s3://awsbkt/tree >sync.out 2>err ||
	{ cat err; fail "aws s3 sync up"; }
[ "$(grep -c '^upload: ' sync.out)" -eq 200 ] ||
	{ cat sync.out; fail "sync up did not upload 200 files"; }
$AWS s3 sync --no-progress tree s3://awsbkt/tree >sync.out 2>err ||
	{ cat err; fail "second aws s3 sync up"; }
[ ! -s sync.out ] || { cat sync.out; fail "second sync transferred"; }
head -c 5000 /dev/urandom >tree/d3/b/f4
$AWS s3 sync --no-progress tree s3://awsbkt/tree >sync.out 2>err ||
	{ cat err; fail "aws s3 sync of a change"; }
[ "$(cat sync.out)" = "upload: tree/d3/b/f4 to s3://awsbkt/tree/d3/b/f4" ] ||
	{ cat sync.out; fail "sync of one changed file"; }

$AWS s3 ls s3://awsbkt/ >out 2>err || { cat err; fail "aws s3 ls bucket"; }
grep -q 'PRE dir/$' out && grep -q 'PRE tree/$' out ||
	{ cat out; fail "aws s3 ls of the bucket lacks the prefixes"; }
[ "$(wc -l <out)" -eq 2 ] || { cat out; fail "aws s3 ls: extra lines"; }
$AWS s3 ls s3://awsbkt/tree/d3/ >out 2>err || { cat err; fail "ls prefix"; }
[ "$(grep -c ' PRE ' out)" -eq 2 ] || { cat out; fail "ls of tree/d3/"; }
$AWS s3 ls --recursive s3://awsbkt >out 2>err ||
	{ cat err; fail "aws s3 ls --recursive"; }
[ "$(wc -l <out)" -eq 201 ] || { wc -l out; fail "not 201 keys listed"; }
grep -q ' 104857600 dir/big$' out || fail "ls --recursive lacks dir/big"
grep -q ' 5000 tree/d3/b/f4$' out || fail "ls --recursive: f4 size"
(cd tree && find . -type f -printf '%s tree/%P\n' | sort -k2) >want.ls
awk '$4 ~ /^tree\// { print $3, $4 }' out | sort -k2 >got.ls
diff want.ls got.ls >&2 || fail "ls --recursive differs from the tree"

$AWS s3 sync --no-progress s3://awsbkt/tree down >sync.out 2>err ||
	{ cat err; fail "aws s3 sync down"; }
[ "$(grep -c '^download: ' sync.out)" -eq 200 ] ||
	{ cat sync.out; fail "sync down did not download 200 files"; }
diff -r tree down >&2 || fail "the tree synced down differs"
$AWS s3 sync --no-progress s3://awsbkt/tree down >sync.out 2>err ||
	{ cat err; fail "second aws s3 sync down"; }
[ ! -s sync.out ] || { cat sync.out; fail "second sync down transferred"; }

expect_exit 1 $AWS s3 rb s3://awsbkt
expect_output_has BucketNotEmpty
awsq s3 rm --recursive s3://awsbkt 2>err ||
	{ cat err; fail "aws s3 rm --recursive"; }
$AWS s3 ls --recursive s3://awsbkt >out 2>err && [ ! -s out ] ||
	{ cat out err; fail "keys left after rm --recursive"; }
[ -z "$(swift_list awsbkt)" ] || fail "objects left in the container"
[ -z "$(swift_list awsbkt+segments)" ] ||
	{ swift_list awsbkt+segments; fail "segments left after rm"; }
$AWS s3 rb s3://awsbkt >out 2>err || { cat err; fail "aws s3 rb"; }
$AWS s3 ls >out 2>err || { cat err; fail "aws s3 ls"; }
grep -q ' awsbkt$' out && fail "the bucket is still listed after rb"
$SWIFT list >out 2>&1 || { cat out; fail "swift list"; }
grep -qx awsbkt out && fail "the container is still there after rb"
echo "353-s3-awscli: ok"
