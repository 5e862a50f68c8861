#!/bin/bash
# 355-s3-s3cmd: s3cmd 2.3 against the proxy's S3 API, from a config file
# the test writes (host_base and host_bucket at the proxy: path-style,
# use_https False), once with SigV4 (signature_v2 False) and once with
# SigV2 (True), each on its own bucket:
#   - mb; put of a 20 MiB file (s3cmd goes multipart over 15 MiB: two
#     parts, a static large object in Swift) and of a small one; get of
#     both, same md5;
#   - ls of the buckets, of the bucket (DIR lines and objects), la;
#   - sync of a tree up (every file), again (nothing: s3cmd compares the
#     md5 with the ETag), sync down (same tree);
#   - del of one object; rb of a bucket that is not empty fails; del
#     --recursive --force, then rb; the containers are gone.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/s3.sh"
requires md5sum s3cmd

start_cluster
s3_setup
cd "$TMPDIR_TEST"
head -c 20971520 /dev/urandom >big
printf 'small file\n' >small
for d in a b c; do
	mkdir -p "tree/$d/sub"
	for f in $(seq 1 8); do
		head -c $((f * 301)) /dev/urandom >"tree/$d/f$f"
		head -c $((f * 7)) /dev/urandom >"tree/$d/sub/g$f"
	done
done

run() { # run V2 BUCKET: the whole sequence with signature_v2=V2
	local v2=$1 b=$2 S
	cat >"s3cfg-$v2" <<CONF
[default]
access_key = test:tester
secret_key = testing
host_base = ${S3_URL#http://}
host_bucket = ${S3_URL#http://}
use_https = False
signature_v2 = $v2
bucket_location = us-east-1
multipart_chunk_size_mb = 15
progress_meter = False
CONF
	S="timeout 60 s3cmd -c s3cfg-$v2 --no-progress"
	$S mb "s3://$b" >out 2>&1 || { cat out; fail "s3cmd mb ($v2)"; }
	$S put big "s3://$b/dir/big" >out 2>&1 ||
		{ cat out; fail "s3cmd put big ($v2)"; }
	$S put small "s3://$b/small" >out 2>&1 ||
		{ cat out; fail "s3cmd put small ($v2)"; }
	$S info "s3://$b/dir/big" >out 2>&1 || { cat out; fail "s3cmd info"; }
	grep -q 'File size: *20971520' out ||
		{ cat out; fail "s3cmd info of the multipart object ($v2)"; }
	$SWIFT stat "$b" dir/big >out 2>&1 || { cat out; fail "swift stat"; }
	grep -qi 'X-Static-Large-Object: True' out ||
		{ cat out; fail "put big: not a multipart upload ($v2)"; }
	[ "$(swift_list "$b+segments" | wc -l)" -eq 2 ] ||
		{ swift_list "$b+segments"; fail "put big: not 2 parts ($v2)"; }
	rm -f big.back small.back
	$S get "s3://$b/dir/big" big.back >out 2>&1 ||
		{ cat out; fail "s3cmd get big ($v2)"; }
	$S get "s3://$b/small" small.back >out 2>&1 ||
		{ cat out; fail "s3cmd get small ($v2)"; }
	[ "$(md5sum <big)" = "$(md5sum <big.back)" ] || fail "big differs ($v2)"
	cmp small small.back || fail "small differs ($v2)"

	$S ls >out 2>&1 || { cat out; fail "s3cmd ls ($v2)"; }
	grep -q " s3://$b\$" out || { cat out; fail "s3cmd ls: no bucket"; }
	$S ls "s3://$b" >out 2>&1 || { cat out; fail "s3cmd ls bucket ($v2)"; }
	grep -qE "^ *DIR +s3://$b/dir/\$" out &&
		grep -qE " 11 +s3://$b/small\$" out && [ "$(wc -l <out)" -eq 2 ] ||
		{ cat out; fail "s3cmd ls of the bucket ($v2)"; }
	$S la >out 2>&1 || { cat out; fail "s3cmd la ($v2)"; }
	grep -qE " 11 +s3://$b/small\$" out ||
		{ cat out; fail "s3cmd la lacks s3://$b/small"; }

	$S sync tree/ "s3://$b/tree/" >out 2>&1 ||
		{ cat out; fail "s3cmd sync up ($v2)"; }
	[ "$(grep -c '^upload: ' out)" -eq 48 ] ||
		{ cat out; fail "s3cmd sync up: not 48 uploads ($v2)"; }
	$S sync tree/ "s3://$b/tree/" >out 2>&1 ||
		{ cat out; fail "second s3cmd sync ($v2)"; }
	grep -q '^upload: ' out && { cat out; fail "second sync uploaded"; }
	rm -rf down
	mkdir down
	$S sync "s3://$b/tree/" down/ >out 2>&1 ||
		{ cat out; fail "s3cmd sync down ($v2)"; }
	diff -r tree down >&2 || fail "the tree synced down differs ($v2)"
	$S ls -r "s3://$b/tree/" >out 2>&1 || { cat out; fail "ls -r"; }
	[ "$(wc -l <out)" -eq 48 ] || { cat out; fail "ls -r: not 48 ($v2)"; }

	$S del "s3://$b/small" >out 2>&1 || { cat out; fail "s3cmd del ($v2)"; }
	$S ls "s3://$b" >out 2>&1 || { cat out; fail "ls after del"; }
	if grep -q small out; then cat out; fail "del left s3://$b/small"; fi
}

# rb_not_empty V2 BUCKET: rb of the non-empty bucket fails (s3cmd exits
# with its own codes: the message tells), del --recursive empties it, rb
# removes it, and Swift sees neither objects nor segments left.
rb_not_empty() {
	local S="timeout 60 s3cmd -c s3cfg-$1 --no-progress" rc=0
	$S rb "s3://$2" >out 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || { cat out; fail "rb of a non-empty bucket ($1)"; }
	grep -q BucketNotEmpty out || { cat out; fail "rb: not BucketNotEmpty"; }
	$S del --recursive --force "s3://$2" >out 2>&1 ||
		{ cat out; fail "s3cmd del --recursive ($1)"; }
	$S rb "s3://$2" >out 2>&1 || { cat out; fail "s3cmd rb ($1)"; }
	[ -z "$(swift_list "$2")" ] || fail "objects left in $2"
	[ -z "$(swift_list "$2+segments")" ] || fail "segments left of $2"
	$SWIFT list >out 2>&1 || { cat out; fail "swift list"; }
	grep -qx "$2" out && fail "the container $2 is still there after rb"
	return 0
}

run False s3cmd-v4
rb_not_empty False s3cmd-v4
run True s3cmd-v2
rb_not_empty True s3cmd-v2
echo "355-s3-s3cmd: ok"
