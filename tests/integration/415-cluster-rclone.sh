#!/bin/bash
# 415-cluster-rclone: rclone's swift backend against kumo-aio, configured
# only through environment variables (RCLONE_CONFIG_K_*), as a user would:
#   - rclone copy of a tree (empty, small, 1 MiB and 12 MiB files, nested
#     folders, UTF-8 and spaces in names) into a new container;
#   - rclone ls lists every file with its size; rclone lsjson --hash
#     gives the md5s; rclone check finds no difference;
#   - rclone rcat streams from a pipe (one chunked PUT) and cat reads back;
#   - rclone copy back gives the same bytes; rclone sync after a local
#     delete and change makes the container match again; rclone purge
#     removes the container and everything in it.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
requires rclone curl md5sum

start_cluster
cd "$TMPDIR_TEST"
export RCLONE_CONFIG=$TMPDIR_TEST/rclone.conf # empty: env only
: >"$RCLONE_CONFIG"
export RCLONE_CONFIG_K_TYPE=swift RCLONE_CONFIG_K_USER=test:tester \
	RCLONE_CONFIG_K_KEY=testing RCLONE_CONFIG_K_AUTH=$AUTH_URL
RC="rclone --retries 1 --low-level-retries 1"

mkdir -p src/deep/er "src/with space" "src/ünï"
: >src/empty
printf 'hello\n' >src/small.txt
head -c 1048576 /dev/urandom >src/deep/one.bin
head -c 12582912 /dev/urandom >src/deep/er/twelve.bin
printf 'spaces\n' >"src/with space/a b.txt"
printf 'utf8\n' >"src/ünï/日本.txt"
for i in $(seq 1 30); do printf '%d\n' "$i" >"src/deep/f$i"; done

$RC copy src k:rc 2>rclone.err || { cat rclone.err; fail "rclone copy"; }
(cd src && find . -type f -printf '%s %P\n' | sort -k2) >want.ls
$RC ls k:rc 2>rclone.err | awk '{ s = $1; sub(/^ *[0-9]+ /, ""); print s, $0 }' |
	sort -k2 >got.ls || { cat rclone.err; fail "rclone ls"; }
diff want.ls got.ls >&2 || fail "rclone ls differs from the tree"
$RC check src k:rc 2>check.out || { cat check.out; fail "rclone check"; }
grep -q "0 differences found" check.out || { cat check.out; fail "check"; }
$RC lsjson -R --hash k:rc 2>rclone.err >lsjson ||
	{ cat rclone.err; fail "rclone lsjson"; }
$PYTHON - <<'PY' || fail "rclone lsjson hashes"
import hashlib, json, os, sys
bad = 0
for e in json.load(open("lsjson")):
    if e["IsDir"]:
        continue
    want = hashlib.md5(open(os.path.join("src", e["Path"]), "rb").read())
    if e.get("Hashes", {}).get("md5") != want.hexdigest():
        print("md5 of", e["Path"], e.get("Hashes"), want.hexdigest())
        bad = 1
sys.exit(bad)
PY

head -c 3000000 /dev/urandom >streamed
# --swift-no-chunk: one chunked PUT (rclone would otherwise make a dynamic
# large object, which kumo does not have yet)
$RC rcat --swift-no-chunk k:rc/streamed <streamed 2>rclone.err ||
	{ cat rclone.err; fail "rclone rcat"; }
[ "$($RC cat k:rc/streamed | md5sum)" = "$(md5sum <streamed)" ] ||
	fail "rclone cat of the streamed upload differs"
$RC deletefile k:rc/streamed 2>rclone.err ||
	{ cat rclone.err; fail "rclone deletefile"; }

$RC copy k:rc back 2>rclone.err || { cat rclone.err; fail "copy back"; }
diff -r src back >&2 || fail "the tree copied back differs"

rm src/deep/f7 "src/with space/a b.txt"
printf 'changed\n' >src/small.txt
$RC sync src k:rc 2>rclone.err || { cat rclone.err; fail "rclone sync"; }
$RC check src k:rc 2>check.out || { cat check.out; fail "check after sync"; }
$RC ls k:rc | grep -q 'f7$' && fail "rclone sync left a deleted file"
[ "$($RC cat k:rc/small.txt)" = changed ] || fail "sync did not update"

$RC purge k:rc 2>rclone.err || { cat rclone.err; fail "rclone purge"; }
/usr/bin/swift -A "$AUTH_URL" -U test:tester -K testing list |
	grep -qx rc && fail "the container is still there after purge"
echo "415-cluster-rclone: ok"
