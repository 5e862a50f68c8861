#!/bin/bash
# 430-durability-device-full: a device that runs out of space (issue 4,
# fault test 5). Four object servers (tests/lib/multinode.sh), 3 replicas;
# d1 is a 16 MiB tmpfs (root) filled up but for 256 KiB.
#   - the object server answers 507 to a PUT on the full device;
#   - PUTs of 1 MiB and 16 KiB bodies through the proxy all answer 201:
#     the full device's share lands on a handoff, so every object has its
#     three copies on disk; each reads back byte-identical with its ETag;
#     chunked bodies (no size to claim ahead) fail on d1 mid-body and
#     still answer 201 by quorum;
#   - nothing partial is left on any device: every object file is whole
#     (footer, metadata, body MD5 = ETag; tests/lib/objtree_check.py) and
#     no temp file stays in d1/tmp;
#   - once space is freed, d1 takes its objects again.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/multinode.sh"
requires curl mount umount mountpoint md5sum
LIB=$TESTS_DIR/lib
[ "$(id -u)" = 0 ] || fail "needs root (mount -t tmpfs)"

D1=$TMPDIR_TEST/node/obj1/d1
_umount_d1() {
	if mountpoint -q "$D1"; then
		umount "$D1" 2>/dev/null || umount -l "$D1"
	fi
}
# registered first: runs after the daemons are stopped
cleanup_fn _umount_d1

PROXY_EXTRA_CONF="error_suppression_interval = 1"
start_multinode_cluster 4
mount -t tmpfs -o size=16m kumo-full "$D1" || fail "cannot mount a tmpfs"
# fill it but for 256 KiB
dd if=/dev/zero of="$D1/filler" bs=64k count=252 status=none 2>/dev/null ||
	true
avail=$(df -k --output=avail "$D1" | tail -1)
[ "$avail" -le 512 ] || fail "d1 still has $avail KiB free"

read -r TOKEN URL < <(get_token test:tester testing)
[ -n "$TOKEN" ] || fail "no token"
[ "$(status PUT "$URL/c" -H "X-Auth-Token: $TOKEN")" = 201 ] ||
	fail "container PUT"

# the object server itself: 507 for a body that does not fit
part=$($PYTHON -c 'import hashlib, struct, sys
print(struct.unpack_from(">I", hashlib.md5(
    (sys.argv[1] + "test-suffix").encode()).digest())[0] >> 24)' \
	/AUTH_test/c/direct)
head -c 1048576 /dev/urandom >"$TMPDIR_TEST/direct"
st=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -T "$TMPDIR_TEST/direct" \
	-H "X-Timestamp: $(date +%s.%N | cut -c1-16)" \
	-H "Content-Type: application/octet-stream" \
	"http://127.0.0.1:${OBJ_PORTS[1]}/d1/$part/AUTH_test/c/direct")
[ "$st" = 507 ] || fail "a PUT on the full device answered $st, not 507"

# make_bodies PREFIX N: N bodies, alternately 1 MiB and 16 KiB
mkdir -p "$TMPDIR_TEST/bodies"
make_bodies() {
	local i size
	for i in $(seq 1 "$2"); do
		size=$((i % 2 ? 1048576 : 16384))
		head -c "$size" /dev/urandom >"$TMPDIR_TEST/bodies/$1$i"
	done
}

# put_all PREFIX N: PUT each body; every one must answer 201 with its ETag
put_all() {
	local i name got
	for i in $(seq 1 "$2"); do
		name=$1$i
		got=$(curl -s -o /dev/null -D - -X PUT -H "X-Auth-Token: $TOKEN" \
			-T "$TMPDIR_TEST/bodies/$name" "$URL/c/$name" |
			tr -d '\r' | awk '/^HTTP\// { s = $2 }
				tolower($1) == "etag:" { e = $2 }
				END { print s, e }')
		[ "$got" = "201 $(md5sum <"$TMPDIR_TEST/bodies/$name" |
			cut -d' ' -f1)" ] || fail "PUT $name: $got"
	done
}

# check_all PREFIX N: every object GETs back byte-identical, right ETag
check_all() {
	local i name etag
	for i in $(seq 1 "$2"); do
		name=$1$i
		etag=$(curl -s -o "$TMPDIR_TEST/got" -D - -H "X-Auth-Token: $TOKEN" \
			"$URL/c/$name" | tr -d '\r' |
			awk 'tolower($1) == "etag:" { print $2 }' | tr -d '"')
		cmp -s "$TMPDIR_TEST/got" "$TMPDIR_TEST/bodies/$name" ||
			fail "GET $name: other bytes"
		[ "$etag" = "$(md5sum <"$TMPDIR_TEST/bodies/$name" |
			cut -d' ' -f1)" ] || fail "GET $name: ETag $etag"
	done
}

# copies PREFIX N: per object "name copies on_d1 d1_primary", counted by
# HEAD on each of its primaries and handoff
copies() {
	local i
	for i in $(seq 1 "$2"); do echo "AUTH_test/c/$1$i"; done |
		kumo-ring get-nodes "$RINGS/object.ring.gz" --prefix '' \
			--suffix test-suffix --json --handoffs 1 - |
		$PYTHON -c '
import http.client, json, sys, urllib.parse
for line in sys.stdin:
    n = json.loads(line)
    path = urllib.parse.quote("/" + n["path"])
    have, d1_primary = [], any(d["device"] == "d1" for d in n["primaries"])
    for d in n["primaries"] + n["handoffs"]:
        c = http.client.HTTPConnection(d["ip"], d["port"], timeout=10)
        c.request("HEAD", "/%s/%d%s" % (d["device"], n["partition"], path))
        if c.getresponse().status == 200:
            have.append(d["device"])
        c.close()
    print(n["path"].split("/")[-1], len(have), int("d1" in have),
          int(d1_primary))'
}

make_bodies full 24
put_all full 24
check_all full 24
copies full 24 >"$TMPDIR_TEST/copies"
awk '$2 != 3 { print "  " $0 }' "$TMPDIR_TEST/copies" >"$TMPDIR_TEST/short"
[ ! -s "$TMPDIR_TEST/short" ] || fail "objects without three copies while \
d1 is full (name copies on_d1 d1_primary):
$(cat "$TMPDIR_TEST/short")"
n=$(awk '$4 == 1' "$TMPDIR_TEST/copies" | wc -l)
[ "$n" -ge 6 ] || fail "only $n objects had d1 as a primary"
large_on_d1=$(awk '$3 == 1 && $1 ~ /[13579]$/' "$TMPDIR_TEST/copies" | wc -l)
[ "$large_on_d1" = 0 ] || fail "$large_on_d1 1 MiB objects on the full d1"
echo "d1 full: $n of 24 objects had d1 as a primary; all have 3 copies"
# chunked bodies cannot be claimed ahead: d1 fails them mid-body (507),
# the others still make a quorum, and d1 keeps no piece of them
for i in 1 2 3 4; do
	head -c 1048576 /dev/urandom >"$TMPDIR_TEST/bodies/chunked$i"
	st=$(curl -s -o /dev/null -w '%{http_code}' -X PUT \
		-H "X-Auth-Token: $TOKEN" -H "Transfer-Encoding: chunked" \
		-T "$TMPDIR_TEST/bodies/chunked$i" "$URL/c/chunked$i")
	[ "$st" = 201 ] || fail "chunked PUT $i answered $st"
done
check_all chunked 4
$PYTHON "$LIB/objtree_check.py" --no-tmp "$TMPDIR_TEST"/node/obj*/d* ||
	fail "partial files on a device"

# space again: d1 takes its objects (once its error limit expired)
rm -f "$D1/filler"
sleep 1.5
make_bodies free 16
put_all free 16
check_all free 16
copies free 16 >"$TMPDIR_TEST/copies"
awk '$2 != 3 || $3 != $4 { print "  " $0 }' "$TMPDIR_TEST/copies" \
	>"$TMPDIR_TEST/short"
[ ! -s "$TMPDIR_TEST/short" ] || fail "with space again, objects not on \
their primaries (name copies on_d1 d1_primary):
$(cat "$TMPDIR_TEST/short")"
check_all full 24
$PYTHON "$LIB/objtree_check.py" --no-tmp "$TMPDIR_TEST"/node/obj*/d* ||
	fail "partial files on a device"
echo "430-durability-device-full: ok"
