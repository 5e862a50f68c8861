#!/bin/bash
# 410-cluster-large-object: a 100 MiB object through kumo-aio.
#   - the swift CLI uploads a 100 MiB file and downloads it: same md5
#     (the client also checks the ETag); HEAD gives the size and ETag, the
#     listing and the container's X-Container-Bytes-Used the size;
#   - curl uploads 100 MiB from a pipe (-T -, so chunked transfer
#     encoding, no Content-Length): 201 with the md5 as ETag; curl reads it
#     back whole, and a Range from the middle gives the right bytes;
#   - every replica on disk holds the whole body.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl md5sum /usr/bin/swift

start_cluster
cd "$TMPDIR_TEST"
read -r TOKEN URL < <(get_token test:tester testing)
T="X-Auth-Token: $TOKEN"
MIB=$((1024 * 1024))
head -c $((100 * MIB)) /dev/urandom >big
sum=$(md5sum <big | cut -d' ' -f1)

$SWIFT upload large big >/dev/null || fail "swift upload of 100 MiB failed"
$SWIFT download large big -o back >/dev/null || fail "swift download failed"
[ "$(md5sum <back | cut -d' ' -f1)" = "$sum" ] || fail "swift: md5 differs"
rm -f back
$SWIFT stat large big >stat || fail "swift stat of the object failed"
grep -q "Content Length: $((100 * MIB))" stat || { cat stat; fail "size"; }
grep -Eq "ETag: \"?$sum\"?$" stat || { cat stat; fail "ETag is not the md5"; }
[ "$($SWIFT list large --long | awk '$NF == "big" {print $1}')" = \
	$((100 * MIB)) ] || fail "listing size: $($SWIFT list large --long)"
curl -s -I -H "$T" "$URL/large" | tr -d '\r' >chead
grep -qi "^X-Container-Bytes-Used: $((100 * MIB))$" chead ||
	{ cat chead; fail "X-Container-Bytes-Used"; }

# curl, chunked from a pipe
code=$(cat big | curl -s -o put.out -D put.hdr -w '%{http_code}' -T - \
	-H "$T" "$URL/large/piped")
[ "$code" = 201 ] || { cat put.hdr put.out; fail "chunked PUT: $code"; }
grep -qi "^Transfer-Encoding: chunked" <(curl -s -v -o /dev/null -T - \
	-H "$T" "$URL/large/probe" </dev/null 2>&1 | sed -n 's/^> //p') ||
	fail "curl -T - did not send chunked (test assumption)"
tr -d '\r' <put.hdr | grep -qi "^etag: \"\?$sum\"\?$" ||
	{ cat put.hdr; fail "chunked PUT ETag is not the md5"; }
[ "$(curl -s -H "$T" "$URL/large/piped" | md5sum | cut -d' ' -f1)" = \
	"$sum" ] || fail "curl: md5 of the chunked upload differs"
[ "$(curl -s -I -H "$T" "$URL/large/piped" | tr -d '\r' |
	awk -F': ' 'tolower($1) == "content-length" {print $2}')" = \
	$((100 * MIB)) ] || fail "HEAD size of the chunked upload"
off=$((50 * MIB + 12345))
[ "$(curl -s -H "$T" -r "$off-$((off + MIB - 1))" "$URL/large/piped" |
	md5sum)" = "$(tail -c +$((off + 1)) big | head -c $MIB | md5sum)" ] ||
	fail "a 1 MiB range from the middle differs"

# every replica holds the whole body (a .data file of 100 MiB and its metadata)
n=$(find "$AIO_DIR/node" -name '*.data' -size +102399k -size -102410k | wc -l)
[ "$n" -ge 6 ] || fail "$n full-size .data files on disk, expected 6"
echo "410-cluster-large-object: ok"
