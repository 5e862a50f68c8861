#!/bin/bash
# tests/integration/110-objectd-small-get-one-read.sh: a whole GET of a
# small object (its .data, with metadata and footer, 8 KiB or less) reads
# the file in one pread, seen through strace: the footer, metadata and
# body come in together. The body is still MD5-checked before it goes out
# (a flipped byte: 404 and the hash dir quarantined), a HEAD still gives
# the body's length and no body, and a bigger object still reads its body
# apart from its metadata.
. "$(dirname "$0")/../lib/functions.sh"
requires curl strace md5sum kumo-objectd

. "$(dirname "$0")/../lib/objectd.sh"

start_objectd
D=$TMPDIR_TEST/srv
TRACE=$TMPDIR_TEST/trace

# put NAME SIZE: a PUT of /d1/9/a/c/NAME of SIZE random bytes (kept in
# $TMPDIR_TEST/NAME) that must answer 201
put() {
	head -c "$2" /dev/urandom >"$TMPDIR_TEST/$1"
	expect_status 201 PUT "/d1/9/a/c/$1" -H "X-Timestamp: $(now_ts)" \
		-H "Content-Type: application/x-test" \
		-H "X-Object-Meta-Color: blue" \
		--data-binary @"$TMPDIR_TEST/$1"
}
# data_of NAME: the path of NAME's .data
data_of() {
	local h
	h=$(printf '/a/c/%skumotest' "$1" | md5sum | cut -d' ' -f1)
	ls "$D/d1/objects/9/${h: -3}/$h/"*.data
}
put small 4096
put big 20000
SMALL=$(data_of small)
BIG=$(data_of big)
[ "$(stat -c %s "$SMALL")" -le 8192 ] || fail "small's .data is over 8 KiB"

strace_attach "$OBJ_PID" "$TRACE" -y -e trace=pread64,read
curl -s -o "$TMPDIR_TEST/got.small" "$OBJ_URL/d1/9/a/c/small" ||
	fail "GET small"
curl -s -o "$TMPDIR_TEST/got.big" "$OBJ_URL/d1/9/a/c/big" || fail "GET big"
kill "$STRACE_PID"
wait "$STRACE_PID" 2>/dev/null || true
cmp -s "$TMPDIR_TEST/small" "$TMPDIR_TEST/got.small" || fail "small's body"
cmp -s "$TMPDIR_TEST/big" "$TMPDIR_TEST/got.big" || fail "big's body"

n=$(grep -c "pread64([0-9]*<$SMALL>" "$TRACE" || true)
[ "$n" = 1 ] || fail "$n preads of small's .data, expected 1:
$(cat "$TRACE")"
grep -q "pread64([0-9]*<$SMALL>, .*, $(stat -c %s "$SMALL"), 0) = " \
	"$TRACE" || fail "small's .data not read whole from 0:
$(cat "$TRACE")"
n=$(grep -c "pread64([0-9]*<$BIG>" "$TRACE" || true)
[ "$n" -ge 2 ] || fail "$n preads of big's .data, expected 2 or more:
$(cat "$TRACE")"

# a HEAD: the length, no body
hdrs=$(curl -s -I "$OBJ_URL/d1/9/a/c/small" | tr -d '\r')
echo "$hdrs" | grep -qi '^Content-Length: 4096$' ||
	fail "HEAD small: $hdrs"
echo "$hdrs" | grep -qi '^X-Object-Meta-Color: blue$' ||
	fail "HEAD small, metadata: $hdrs"

# bit rot in the body of a file read whole: 404, quarantined
flip_byte "$SMALL" 100
expect_status 404 GET /d1/9/a/c/small
[ -e "$SMALL" ] && fail "the rotten $SMALL was not quarantined"
ls "$D/d1/quarantined/objects/" >/dev/null 2>&1 ||
	fail "nothing in $D/d1/quarantined/objects"
stop_objectd
echo "110-objectd-small-get-one-read: ok"
