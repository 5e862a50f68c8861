#!/bin/bash
# 356-s3-rclone: rclone with both its backends on one kumo cluster: an s3
# remote (provider Other, the proxy as endpoint, path-style) and a swift
# remote (the proxy's /auth/v1.0, test:tester), configured through
# environment variables:
#   - each copies a tree of 1,000 small files (in subfolders) into its
#     own bucket/container, and rclone check finds no difference;
#   - a bucket written over S3 read over Swift, and a container written
#     over Swift read over S3: rclone check finds no difference (bucket
#     = container, the same bytes), and rclone's modification times
#     (x-amz-meta-mtime / X-Object-Meta-Mtime: the same user metadata)
#     agree;
#   - a multipart upload by rclone's s3 backend (a 12 MiB file, 5 MiB
#     chunks) reads back over both;
#   - rclone purge over S3 removes the bucket and its objects.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/s3.sh"
requires rclone md5sum

start_cluster
s3_setup
cd "$TMPDIR_TEST"
export RCLONE_CONFIG=$TMPDIR_TEST/rclone.conf # empty: env only
: >"$RCLONE_CONFIG"
export RCLONE_CONFIG_S_TYPE=s3 RCLONE_CONFIG_S_PROVIDER=Other \
	RCLONE_CONFIG_S_ENDPOINT=$S3_URL RCLONE_CONFIG_S_FORCE_PATH_STYLE=true \
	RCLONE_CONFIG_S_ACCESS_KEY_ID=test:tester \
	RCLONE_CONFIG_S_SECRET_ACCESS_KEY=testing \
	RCLONE_CONFIG_S_REGION=us-east-1 RCLONE_CONFIG_S_ENV_AUTH=false
export RCLONE_CONFIG_W_TYPE=swift RCLONE_CONFIG_W_USER=test:tester \
	RCLONE_CONFIG_W_KEY=testing RCLONE_CONFIG_W_AUTH=$AUTH_URL
RC="timeout 60 rclone --retries 1 --low-level-retries 1 --transfers 16 --checkers 16"

$PYTHON - <<'PY'
import os
for i in range(1000):
    d = "src/d%02d/e%d" % (i % 20, i % 3)
    os.makedirs(d, exist_ok=True)
    with open("%s/f%04d" % (d, i), "wb") as f:
        f.write(os.urandom(i % 700 + 1))
PY
[ "$(find src -type f | wc -l)" -eq 1000 ] || fail "the tree is not 1,000"

check_same() { # check_same SRC DST WHAT: rclone check finds no difference
	$RC check "$1" "$2" >check.out 2>&1 || { tail -20 check.out; fail "$3"; }
	grep -q "0 differences found" check.out || { cat check.out; fail "$3"; }
	grep -q "1000 matching files" check.out || { cat check.out; fail "$3"; }
}

$RC copy src s:vias3 2>err || { tail -20 err; fail "rclone copy over S3"; }
check_same src s:vias3 "rclone check over S3"
$RC copy src w:viaswift 2>err ||
	{ tail -20 err; fail "rclone copy over Swift"; }
check_same src w:viaswift "rclone check over Swift"

# the same data over the other API
check_same src w:vias3 "a bucket written over S3, read over Swift"
check_same src s:viaswift "a container written over Swift, read over S3"
$RC lsl s:vias3 2>err | sort -k4 >s3.lsl || { cat err; fail "lsl over S3"; }
$RC lsl w:vias3 2>err | sort -k4 >sw.lsl || { cat err; fail "lsl over Swift"; }
[ "$(wc -l <s3.lsl)" -eq 1000 ] || fail "lsl over S3: not 1,000 lines"
diff s3.lsl sw.lsl >&2 ||
	fail "sizes or modification times differ between S3 and Swift"
(cd src && find . -type f -printf '%s %TY-%Tm-%Td %TH:%TM:%TS %P\n' |
	sort -k4) | awk '{ print $1, $2, substr($3, 1, 8), $4 }' >src.lsl
awk '{ print $1, $2, substr($3, 1, 8), $4 }' s3.lsl | sed 's/^ *//' |
	diff src.lsl - >&2 || fail "modification times not kept over S3"

head -c 12582912 /dev/urandom >twelve
$RC copyto --s3-upload-cutoff 5M --s3-chunk-size 5M twelve s:vias3/big/twelve \
	2>err || { cat err; fail "rclone multipart upload over S3"; }
$SWIFT stat vias3 big/twelve >out 2>&1 || { cat out; fail "swift stat"; }
grep -qi 'X-Static-Large-Object: True' out ||
	{ cat out; fail "rclone's 12 MiB upload is not a multipart upload"; }
[ "$($RC cat s:vias3/big/twelve | md5sum)" = "$(md5sum <twelve)" ] ||
	fail "the multipart upload reads back other bytes over S3"
[ "$($RC cat w:vias3/big/twelve | md5sum)" = "$(md5sum <twelve)" ] ||
	fail "the multipart upload reads back other bytes over Swift"

$RC purge s:vias3 2>err || { cat err; fail "rclone purge over S3"; }
$SWIFT list >out 2>&1 || { cat out; fail "swift list"; }
grep -qx vias3 out && fail "the bucket is still there after purge"
[ -z "$(swift_list vias3+segments)" ] || fail "segments left after purge"
echo "356-s3-rclone: ok"
