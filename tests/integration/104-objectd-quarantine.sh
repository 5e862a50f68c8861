#!/bin/bash
# tests/integration/104-objectd-quarantine.sh: kumo-objectd never serves a corrupt body whole: a byte flipped on disk makes the GET cut the connection (curl fails, short body) and moves the object to quarantined/objects/<hash>; a small body (64 KiB or less) is checked before it is sent: 404, nothing of it served, quarantined; a broken footer is quarantined at open (404).
. "$(dirname "$0")/../lib/functions.sh"
requires curl md5sum kumo-objectd

. "$(dirname "$0")/../lib/objectd.sh"

start_objectd
D=$TMPDIR_TEST/srv
head -c $((3 * 1024 * 1024 + 17)) /dev/urandom >"$TMPDIR_TEST/body"
size=$(stat -c %s "$TMPDIR_TEST/body")

# flip one byte of the body at offset $2 of object $1
flip() {
	$PYTHON - "$1" "$2" <<'PY'
import sys
path, off = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(off)
    b = f.read(1)
    f.seek(off)
    f.write(bytes([b[0] ^ 0xff]))
PY
}

for off in 12345 $((size - 1)); do
	O=/d1/9/a/c/obj$off
	h=$(printf '/a/c/obj%skumotest' "$off" | md5sum | cut -d' ' -f1)
	expect_status 201 PUT $O -H "X-Timestamp: $(now_ts)" \
		-H "Content-Type: text/plain" --data-binary @"$TMPDIR_TEST/body"
	data=$(ls "$D"/d1/objects/9/"${h: -3}"/"$h"/*.data)
	flip "$data" "$off"
	# a range read does not cover the whole body: served as is
	expect_status 206 GET $O -H "Range: bytes=0-9"
	rc=0
	curl -s -o "$TMPDIR_TEST/got" "$OBJ_URL$O" || rc=$?
	[ "$rc" -ne 0 ] || fail "corrupt GET at $off: curl exited 0"
	got=$(stat -c %s "$TMPDIR_TEST/got")
	[ "$got" -lt "$size" ] || fail "corrupt body at $off served whole"
	[ -d "$D/d1/quarantined/objects/$h" ] || fail "not quarantined"
	ls "$D/d1/quarantined/objects/$h/"*.data >/dev/null || fail "no .data in quarantine"
	[ ! -e "$D/d1/objects/9/${h: -3}/$h" ] || fail "hash dir still there"
	expect_status 404 GET $O
done

# a small body (read whole and checked before it is sent): a flipped
# byte gives 404 and none of the body, and the object is quarantined
O=/d1/9/a/c/small
h=$(printf '/a/c/smallkumotest' | md5sum | cut -d' ' -f1)
head -c 4096 /dev/urandom >"$TMPDIR_TEST/small"
expect_status 201 PUT $O -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: text/plain" --data-binary @"$TMPDIR_TEST/small"
curl -s -o "$TMPDIR_TEST/got" "$OBJ_URL$O"
cmp -s "$TMPDIR_TEST/got" "$TMPDIR_TEST/small" || fail "small GET differs"
data=$(ls "$D"/d1/objects/9/"${h: -3}"/"$h"/*.data)
flip "$data" 100
code=$(curl -s -o "$TMPDIR_TEST/got" -w '%{http_code}' "$OBJ_URL$O") || true
[ "$code" = 404 ] || fail "corrupt small GET: status $code"
cmp -s "$TMPDIR_TEST/got" "$TMPDIR_TEST/small" && fail "corrupt small body served"
[ -d "$D/d1/quarantined/objects/$h" ] || fail "small: not quarantined"
expect_status 404 GET $O

# a damaged footer: quarantined when opened
O=/d1/9/a/c/footer
h=$(printf '/a/c/footerkumotest' | md5sum | cut -d' ' -f1)
expect_status 201 PUT $O -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: text/plain" --data-binary "small body"
data=$(ls "$D"/d1/objects/9/"${h: -3}"/"$h"/*.data)
flip "$data" $(($(stat -c %s "$data") - 5))
expect_status 404 HEAD $O
[ -d "$D/d1/quarantined/objects/$h" ] || fail "footer: not quarantined"
# a second quarantine of the same hash does not clash
expect_status 201 PUT $O -H "X-Timestamp: $(now_ts)" \
	-H "Content-Type: text/plain" --data-binary "small body"
data=$(ls "$D"/d1/objects/9/"${h: -3}"/"$h"/*.data)
truncate -s 5 "$data"
expect_status 404 GET $O
[ "$(ls -d "$D/d1/quarantined/objects/$h"* | wc -l)" -eq 2 ] ||
	fail "second quarantine: $(ls "$D/d1/quarantined/objects")"

stop_objectd
echo PASS
