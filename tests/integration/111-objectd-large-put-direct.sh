#!/bin/bash
# tests/integration/111-objectd-large-put-direct.sh: a body announced at
# 1 MiB or more (Content-Length, or X-Backend-Obj-Content-Length of a
# chunked upload) is written with O_DIRECT a whole 1 MiB buffer at a time,
# so it does not fill the page cache: after the PUT, fincore finds only
# the last partial buffer and the metadata of its .data in memory. A
# smaller body and a chunked one of unknown length still go through the
# page cache. Every body comes back whole, with its ETag, including one
# of exactly 1 MiB (nothing left for the cache but the metadata), and a
# wrong ETag on a large body is still refused with nothing stored. A GET
# of a large body reads it with O_DIRECT as well (still not cached), and
# ranges of it come back right.
. "$(dirname "$0")/../lib/functions.sh"
requires curl md5sum fincore kumo-objectd

. "$(dirname "$0")/../lib/objectd.sh"

start_objectd
D=$TMPDIR_TEST/srv

# put NAME SIZE [curl args]: a PUT of /d1/9/a/c/NAME of SIZE random bytes
# (kept in $TMPDIR_TEST/NAME) that must answer 201
put() {
	local name=$1 size=$2
	shift 2
	head -c "$size" /dev/urandom >"$TMPDIR_TEST/$name"
	expect_status 201 PUT "/d1/9/a/c/$name" -H "X-Timestamp: $(now_ts)" \
		-H "Content-Type: application/x-test" "$@" \
		--data-binary @"$TMPDIR_TEST/$name"
}
# data_of NAME: the path of NAME's .data
data_of() {
	local h
	h=$(printf '/a/c/%skumotest' "$1" | md5sum | cut -d' ' -f1)
	ls "$D/d1/objects/9/${h: -3}/$h/"*.data
}
# cached NAME: bytes of NAME's .data in the page cache
cached() {
	fincore -n -b -o RES "$(data_of "$1")" | tr -d ' '
}
# check_body NAME: GET NAME gives its bytes and its MD5 as ETag
check_body() {
	local etag
	etag=$(curl -s -D - -o "$TMPDIR_TEST/got.$1" "$OBJ_URL/d1/9/a/c/$1" |
		tr -d '\r' | awk -F': ' 'tolower($1) == "etag" {gsub(/"/, "", $2); print $2}')
	cmp -s "$TMPDIR_TEST/$1" "$TMPDIR_TEST/got.$1" || fail "$1's body"
	[ "$etag" = "$(md5sum <"$TMPDIR_TEST/$1" | cut -d' ' -f1)" ] ||
		fail "$1's ETag: $etag"
}

MiB=1048576
put big $((3 * MiB + 12345))
put exact $MiB
put under $((MiB - 1))
# the proxy's hashed uploads: chunked, the length in a backend header
put chunked_known $((2 * MiB + 7)) -H "Transfer-Encoding: chunked" \
	-H "X-Backend-Obj-Content-Length: $((2 * MiB + 7))"
put chunked_unknown $((2 * MiB + 7)) -H "Transfer-Encoding: chunked"

# the direct ones: at most the partial buffer (12345 bytes, 4 pages) and
# the metadata's page(s)
for n in big exact chunked_known; do
	c=$(cached "$n")
	[ "$c" -le $((6 * 4096)) ] ||
		fail "$n: $c bytes of its .data in the page cache"
done
# through the cache: the whole body stays there after its fsync
for n in under chunked_unknown; do
	c=$(cached "$n")
	[ "$c" -ge $((MiB - 4096)) ] ||
		fail "$n: only $c bytes of its .data in the page cache"
done
for n in big exact under chunked_known chunked_unknown; do
	check_body "$n"
done
# a GET of a large body reads it with O_DIRECT too: still out of the cache
c=$(cached big)
[ "$c" -le $((6 * 4096)) ] || fail "big: $c bytes in the page cache after its GET"
# ranges: across the first 1 MiB block's end, the body's last bytes, two
for r in $((MiB - 10))-$((MiB + 10)) $((3 * MiB + 12000))-$((3 * MiB + 12344)) \
	0-0,$((2 * MiB))-$((2 * MiB + 4095)); do
	curl -s -H "Range: bytes=$r" -o "$TMPDIR_TEST/range" "$OBJ_URL/d1/9/a/c/big"
	if [ "${r#*,}" = "$r" ]; then
		from=${r%-*} to=${r#*-}
		cmp -s "$TMPDIR_TEST/range" <(tail -c +$((from + 1)) "$TMPDIR_TEST/big" |
			head -c $((to - from + 1))) || fail "big, bytes $r"
	else
		grep -q -a "Content-Range: bytes $((2 * MiB))-$((2 * MiB + 4095))/" \
			"$TMPDIR_TEST/range" || fail "big, ranges $r"
	fi
done

# a large body whose ETag is wrong: 422, and no .data
head -c $((2 * MiB)) /dev/urandom >"$TMPDIR_TEST/bad"
expect_status 422 PUT /d1/9/a/c/bad -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: application/x-test" \
	-H "ETag: 00000000000000000000000000000000" \
	--data-binary @"$TMPDIR_TEST/bad"
h=$(printf '/a/c/badkumotest' | md5sum | cut -d' ' -f1)
[ -z "$(ls "$D/d1/objects/9/${h: -3}/$h/" 2>/dev/null)" ] ||
	fail "a refused body left a file"
[ -z "$(ls "$D/d1/tmp/")" ] || fail "temp files left: $(ls "$D/d1/tmp/")"
stop_objectd
echo "111-objectd-large-put-direct: ok"
