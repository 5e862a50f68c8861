#!/bin/bash
# 330-proxy-get-failover: a proxy GET whose source fails mid-body resumes
# on the next replica (If-Match on the ETag, as Swift's proxy does; a whole
# body is read again from that replica, which checks its MD5, and its first
# bytes must have the CRC-32 of those already handed out), and never hands
# out a corrupt or short body whole.
# kumo-objectd checks a whole body's MD5 before it hands out its last chunk
# and cuts the connection (quarantining the file) on a mismatch.
#   - the last body byte flipped on the replica read first: 200, the whole
#     correct body (the tail comes from the next replica); the corrupt
#     replica is quarantined;
#   - the last byte flipped on the first two replicas: still 200 and the
#     correct body (the second replica's objectd cuts its body too, so
#     the third one finishes it);
#   - a byte flipped in the middle of the replica read first: the corrupt
#     byte reached the client before objectd could tell; objectd cuts the
#     body, the other replicas' first bytes do not have the CRC-32 of what
#     was handed out, so the proxy cuts the transfer: curl fails, no 200
#     with wrong bytes; that replica is quarantined and the next GET
#     returns the correct body;
#   - all three replicas corrupt: the transfer fails.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl md5sum /usr/bin/python3

start_proxy_cluster
cd "$TMPDIR_TEST"
read -r TOKEN URL < <(get_token test:tester testing)
T="X-Auth-Token: $TOKEN"
C=$URL/fo
[ "$(status PUT "$C" -H "$T")" = 201 ] || fail "container PUT"
head -c $((5 * 1024 * 1024 + 123)) /dev/urandom >body
SIZE=$(stat -c %s body)
SUM=$(md5sum <body | cut -d' ' -f1)

# data_files NAME: the .data files of object NAME, in the order the proxy
# reads them (the ring's primaries of their partition).
data_files() {
	local files part
	files=$(find "$NODE_DIR" -path '*/objects/*' -name '*.data' \
		-not -path '*/quarantined/*' -newer "$TMPDIR_TEST/mark.$1")
	[ "$(echo "$files" | wc -l)" = 3 ] || fail "$1: want 3 .data: $files"
	part=$(echo "$files" | head -1 | sed 's,.*/objects/\([0-9]*\)/.*,\1,')
	/usr/bin/python3 - "$RINGS" "$part" $files <<'PY'
import sys
from swift.common.ring import Ring
ring = Ring(sys.argv[1], ring_name='object')
by_dev = {}
for f in sys.argv[3:]:
    by_dev[f.split('/objects/')[0].rsplit('/', 1)[1]] = f
for n in ring.get_part_nodes(int(sys.argv[2])):
    if n['device'] in by_dev:
        print(by_dev[n['device']])
PY
}

# put NAME: upload body as NAME.
put() {
	touch "$TMPDIR_TEST/mark.$1"
	sleep 0.01
	[ "$(status PUT "$C/$1" -H "$T" --data-binary @body)" = 201 ] ||
		fail "PUT $1"
}

# flip FILE OFFSET: invert the byte at OFFSET of FILE in place.
flip() {
	/usr/bin/python3 - "$1" "$2" <<'PY'
import sys
with open(sys.argv[1], 'r+b') as f:
    f.seek(int(sys.argv[2]))
    b = f.read(1)
    f.seek(int(sys.argv[2]))
    f.write(bytes([b[0] ^ 0xff]))
PY
}

# quarantined FILE: the hash dir of FILE went to quarantined/objects.
quarantined() {
	local dev hash
	dev=${1%%/objects/*}
	hash=$(basename "$(dirname "$1")")
	[ ! -e "$1" ] || return 1
	ls "$dev/quarantined/objects/" 2>/dev/null | grep -q "^$hash" || return 1
}

# get NAME OUT: GET through the proxy; prints "curl-exit http-code".
get() {
	local rc=0 code
	code=$(curl -s -o "$2" -w '%{http_code}' -H "$T" "$C/$1") || rc=$?
	echo "$rc $code"
}

# 1. The last body byte flipped on the first replica: resumed, whole.
put tail
mapfile -t F < <(data_files tail)
[ ${#F[@]} = 3 ] || fail "tail: replicas not found"
flip "${F[0]}" $((SIZE - 1))
read -r rc code < <(get tail out)
[ "$rc" = 0 ] && [ "$code" = 200 ] || fail "tail: curl $rc, status $code"
[ "$(stat -c %s out)" = "$SIZE" ] || fail "tail: $(stat -c %s out) bytes"
[ "$(md5sum <out | cut -d' ' -f1)" = "$SUM" ] || fail "tail: wrong bytes"
quarantined "${F[0]}" || fail "tail: ${F[0]} not quarantined"
[ -e "${F[1]}" ] && [ -e "${F[2]}" ] || fail "tail: good replicas moved"
grep -q "resumed at byte" "$TMPDIR_TEST/proxy.log" ||
	fail "tail: the proxy did not log a resume"

# 1b. The last byte flipped on two of three replicas: still whole.
put two
mapfile -t F < <(data_files two)
[ ${#F[@]} = 3 ] || fail "two: replicas not found"
flip "${F[0]}" $((SIZE - 1))
flip "${F[1]}" $((SIZE - 1))
read -r rc code < <(get two out)
[ "$rc" = 0 ] && [ "$code" = 200 ] || fail "two: curl $rc, status $code"
[ "$(md5sum <out | cut -d' ' -f1)" = "$SUM" ] || fail "two: wrong bytes"
quarantined "${F[0]}" || fail "two: ${F[0]} not quarantined"
[ -e "${F[2]}" ] || fail "two: the good replica moved"

# 2. A byte flipped in the middle: the transfer fails, never 200 whole
# with wrong bytes; the replica is quarantined; the next GET is correct.
put mid
mapfile -t F < <(data_files mid)
[ ${#F[@]} = 3 ] || fail "mid: replicas not found"
flip "${F[0]}" $((SIZE / 2))
read -r rc code < <(get mid out)
[ "$rc" != 0 ] || [ "$code" != 200 ] ||
	[ "$(md5sum <out | cut -d' ' -f1)" = "$SUM" ] ||
	fail "mid: 200 with wrong bytes"
[ "$rc" != 0 ] || fail "mid: the transfer did not fail (status $code)"
if [ "$rc" = 0 ] && [ "$(md5sum <out | cut -d' ' -f1)" != "$SUM" ]; then
	fail "mid: curl succeeded (status $code) with wrong bytes"
fi
[ "$rc" != 0 ] || [ "$(md5sum <out | cut -d' ' -f1)" = "$SUM" ] ||
	fail "mid: unexpected result"
quarantined "${F[0]}" || fail "mid: ${F[0]} not quarantined"
read -r rc code < <(get mid out)
[ "$rc" = 0 ] && [ "$code" = 200 ] || fail "mid again: curl $rc, $code"
[ "$(md5sum <out | cut -d' ' -f1)" = "$SUM" ] || fail "mid again: bytes"

# 3. All three replicas corrupt (last byte): the transfer fails.
put all
mapfile -t F < <(data_files all)
[ ${#F[@]} = 3 ] || fail "all: replicas not found"
for f in "${F[@]}"; do
	flip "$f" $((SIZE - 1))
done
read -r rc code < <(get all out)
if [ "$rc" = 0 ]; then
	[ "$(stat -c %s out)" != "$SIZE" ] ||
		[ "$(md5sum <out | cut -d' ' -f1)" = "$SUM" ] ||
		fail "all: a whole body with wrong bytes (status $code)"
	fail "all: curl succeeded (status $code, $(stat -c %s out) bytes)"
fi
quarantined "${F[0]}" || fail "all: ${F[0]} not quarantined"
echo PASS
