#!/bin/bash
# tests/integration/130-objectd-ec-archives.sh: kumo-objectd's side of erasure coding (issue 6, the EC protocol): in a 4+2 policy's folder a PUT needs X-Object-Sysmeta-Ec-Frag-Index (400), writes <ts>#<i>.data, invisible to GET and without container update; COMMIT makes it <ts>#<i>#d.data, visible, and sends the container update with the whole object's etag and size (async_pending when the container is down); 404 for a COMMIT of nothing, idempotent when durable; two indexes side by side (X-Backend-Ec-Frag-Index, X-Backend-Fragments); a newer durable COMMIT removes older files; a tombstone wins; replicated policy 0 unchanged; the auditor quarantines archives with a bad fragment header, a wrong index or a wrong size, and a torn non-durable one a GET left alone, and passes good ones. Archives are built by Swift's own PyECLib.
. "$(dirname "$0")/../lib/functions.sh"
requires curl md5sum kumo-objectd

. "$(dirname "$0")/../lib/objectd.sh"

D=$TMPDIR_TEST/srv
A=$TMPDIR_TEST/arch
SEG=4096
OBJ_EXTRA_CONF="
[storage-policy:0]
name = gold
default = yes
$(ec42_policy_conf 1 ec42 $SEG)"

# make_archives NAME LEN: a random object of LEN bytes cut in $SEG-byte
# segments, each encoded by PyECLib (4+2), archive i = fragment i of every
# segment, in $A/NAME.<i>; $A/NAME.md5 and $A/NAME.len describe the object,
# $A/NAME.fsz is the size of a whole segment's fragment.
make_archives() {
	mkdir -p "$A"
	$PYTHON - "$A/$1" "$2" "$SEG" <<'PY'
import hashlib, os, sys
from pyeclib.ec_iface import ECDriver
out, n, seg = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
body = os.urandom(n)
d = ECDriver(k=4, m=2, ec_type="liberasurecode_rs_vand")
arch = [b""] * 6
for off in range(0, max(n, 1), seg):
    for i, f in enumerate(d.encode(body[off:off + seg])):
        arch[i] += f
for i in range(6):
    open("%s.%d" % (out, i), "wb").write(arch[i])
open(out + ".md5", "w").write(hashlib.md5(body).hexdigest())
open(out + ".len", "w").write(str(n))
open(out + ".fsz", "w").write(str(len(d.encode(b"x" * seg)[0])))
PY
}

hash_of() { printf '/a/c/%skumotest' "$1" | md5sum | cut -d' ' -f1; }
hdir() { local h; h=$(hash_of "$1"); echo "$D/d1/objects-1/5/${h: -3}/$h"; }
files() { ls "$(hdir "$1")" 2>/dev/null | tr '\n' ' ' | sed 's/ $//'; }
md5() { md5sum "$1" | cut -d' ' -f1; }

P1=(-H "X-Backend-Storage-Policy-Index: 1")
CPORT=$(pick_unused_port)
CT=(-H "X-Container-Host: 127.0.0.1:$CPORT" -H "X-Container-Device: sdc"
	-H "X-Container-Partition: 12")

# put_arch OBJ TS IDX FILE [curl args]: PUT an archive, non-durable
put_arch() {
	local o=$1 ts=$2 i=$3 f=$4
	shift 4
	curl -s -o /dev/null -w '%{http_code}' -X PUT "${P1[@]}" \
		-H "X-Timestamp: $ts" -H "Content-Type: text/x-ec" \
		-H "X-Object-Sysmeta-Ec-Frag-Index: $i" \
		-H "X-Object-Sysmeta-Ec-Scheme: liberasurecode_rs_vand 4+2" \
		-H "X-Object-Sysmeta-Ec-Segment-Size: $SEG" \
		-H "X-Object-Meta-Color: blue" "${CT[@]}" "$@" \
		--data-binary @"$f" "$OBJ_URL/d1/5/a/c/$o"
}

# commit OBJ TS IDX NAME [curl args]: COMMIT with object NAME's etag/size
commit() {
	local o=$1 ts=$2 i=$3 n=$4
	shift 4
	curl -s -o /dev/null -w '%{http_code}' -X COMMIT "${P1[@]}" \
		-H "X-Timestamp: $ts" -H "X-Object-Sysmeta-Ec-Frag-Index: $i" \
		-H "X-Object-Sysmeta-Ec-Etag: $(cat "$A/$n.md5")" \
		-H "X-Object-Sysmeta-Ec-Content-Length: $(cat "$A/$n.len")" \
		-H "X-Backend-Container-Update-Override-Etag: $(cat "$A/$n.md5")" \
		-H "X-Backend-Container-Update-Override-Size: $(cat "$A/$n.len")" \
		"${CT[@]}" "$@" "$OBJ_URL/d1/5/a/c/$o"
}

want() { [ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"; }

make_archives o1 10000
make_archives o2 5000
start_objectd
fake_container "$CPORT" "$TMPDIR_TEST/cont.log"
: >"$TMPDIR_TEST/cont.log"

# --- PUT: frag index required; the archive is non-durable -----------------
T1=$(now_ts)
want "$(curl -s -o /dev/null -w '%{http_code}' -X PUT "${P1[@]}" \
	-H "X-Timestamp: $T1" -H "Content-Type: text/x-ec" \
	--data-binary @"$A/o1.1" "$OBJ_URL/d1/5/a/c/o")" 400 "PUT without index"
want "$(put_arch o "$T1" 6 "$A/o1.1")" 400 "PUT of index 6 in 4+2"
curl -s -D "$TMPDIR_TEST/h" -o /dev/null -X PUT "${P1[@]}" \
	-H "X-Timestamp: $T1" -H "Content-Type: text/x-ec" \
	-H "X-Object-Sysmeta-Ec-Frag-Index: 1" -H "X-Object-Meta-Color: blue" \
	"${CT[@]}" --data-binary @"$A/o1.1" "$OBJ_URL/d1/5/a/c/o"
grep -q "^HTTP/1.1 201" "$TMPDIR_TEST/h" || fail "PUT archive: $(cat "$TMPDIR_TEST/h")"
grep -qi "^etag: \"$(md5 "$A/o1.1")\"" "$TMPDIR_TEST/h" || fail "PUT ETag is not the archive's MD5"
want "$(files o)" "$T1#1.data" "after PUT"
expect_status 404 GET /d1/5/a/c/o "${P1[@]}"
expect_status 404 HEAD /d1/5/a/c/o "${P1[@]}"
curl -sf -o "$TMPDIR_TEST/got" "${P1[@]}" -H "X-Backend-Ec-Nondurable: yes" \
	"$OBJ_URL/d1/5/a/c/o" || fail "non-durable GET for the reconstructor"
cmp -s "$TMPDIR_TEST/got" "$A/o1.1" || fail "non-durable archive bytes"
[ ! -s "$TMPDIR_TEST/cont.log" ] || fail "container update at PUT: $(cat "$TMPDIR_TEST/cont.log")"

# --- COMMIT -----------------------------------------------------------------
want "$(commit nothing "$T1" 1 o1)" 404 "COMMIT of an unknown object"
want "$(commit o "$(now_ts)" 1 o1)" 404 "COMMIT of another timestamp"
want "$(commit o "$T1" 2 o1)" 404 "COMMIT of an index not PUT"
want "$(curl -s -o /dev/null -w '%{http_code}' -X COMMIT "${P1[@]}" \
	-H "X-Timestamp: $T1" "$OBJ_URL/d1/5/a/c/o")" 400 "COMMIT without index"
want "$(curl -s -o /dev/null -w '%{http_code}' -X COMMIT \
	-H "X-Timestamp: $T1" -H "X-Object-Sysmeta-Ec-Frag-Index: 1" \
	"$OBJ_URL/d1/5/a/c/o")" 400 "COMMIT in a replicated policy"
want "$(commit o "$T1" 1 o1)" 201 "COMMIT"
want "$(files o)" "$T1#1#d.data" "after COMMIT"
$PYTHON - "$TMPDIR_TEST/cont.log" "$T1" "$(cat "$A/o1.md5")" <<'PY' || fail "container update: $(cat "$TMPDIR_TEST/cont.log")"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
assert len(reqs) == 1, reqs
r = reqs[0]
assert r["method"] == "PUT" and r["path"] == "/sdc/12/a/c/o", r
h = {k.lower(): v for k, v in r["headers"].items()}
assert h["x-size"] == "10000" and h["x-etag"] == sys.argv[3], h
assert h["x-content-type"] == "text/x-ec" and h["x-timestamp"] == sys.argv[2], h
PY
want "$(commit o "$T1" 1 o1)" 201 "second COMMIT"
[ "$(wc -l <"$TMPDIR_TEST/cont.log")" -eq 1 ] || fail "a second COMMIT sent another update"

curl -s -D "$TMPDIR_TEST/h" -o "$TMPDIR_TEST/got" "${P1[@]}" "$OBJ_URL/d1/5/a/c/o"
grep -q "^HTTP/1.1 200" "$TMPDIR_TEST/h" || fail "GET after COMMIT: $(cat "$TMPDIR_TEST/h")"
cmp -s "$TMPDIR_TEST/got" "$A/o1.1" || fail "GET bytes differ from archive 1"
hdr() { grep -i "^$1:" "$TMPDIR_TEST/h" | cut -d' ' -f2- | tr -d '\r'; }
want "$(hdr Content-Length)" "$(stat -c %s "$A/o1.1")" "Content-Length"
want "$(hdr X-Backend-Fragments)" 1 "X-Backend-Fragments"
want "$(hdr X-Object-Sysmeta-Ec-Etag)" "$(cat "$A/o1.md5")" "Ec-Etag"
want "$(hdr X-Object-Sysmeta-Ec-Content-Length)" 10000 "Ec-Content-Length"
want "$(hdr X-Object-Sysmeta-Ec-Frag-Index)" 1 "Ec-Frag-Index"
want "$(hdr X-Object-Meta-Color)" blue "user metadata"
want "$(hdr X-Backend-Durable-Timestamp)" "$T1" "durable timestamp"
curl -s -o "$TMPDIR_TEST/got" -H "Range: bytes=1100-1199" "${P1[@]}" "$OBJ_URL/d1/5/a/c/o"
tail -c +1101 "$A/o1.1" | head -c 100 >"$TMPDIR_TEST/want"
cmp -s "$TMPDIR_TEST/got" "$TMPDIR_TEST/want" || fail "Range of archive bytes: $(stat -c %s "$TMPDIR_TEST/got") bytes"

# --- a second index of the same time --------------------------------------
want "$(put_arch o "$T1" 1 "$A/o1.1")" 409 "PUT of a durable index again"
want "$(put_arch o "$T1" 4 "$A/o1.4")" 201 "PUT of index 4"
want "$(commit o "$T1" 4 o1)" 201 "COMMIT of index 4"
want "$(files o)" "$T1#1#d.data $T1#4#d.data" "two indexes"
curl -s -D "$TMPDIR_TEST/h" -o "$TMPDIR_TEST/got" "${P1[@]}" \
	-H "X-Backend-Ec-Frag-Index: 4" "$OBJ_URL/d1/5/a/c/o"
cmp -s "$TMPDIR_TEST/got" "$A/o1.4" || fail "X-Backend-Ec-Frag-Index: 4"
want "$(hdr X-Backend-Fragments)" "1,4" "X-Backend-Fragments of two"
curl -s -o "$TMPDIR_TEST/got" "${P1[@]}" "$OBJ_URL/d1/5/a/c/o"
cmp -s "$TMPDIR_TEST/got" "$A/o1.1" || fail "the lowest index by default"
expect_status 404 GET /d1/5/a/c/o "${P1[@]}" -H "X-Backend-Ec-Frag-Index: 2"

# --- a newer version: invisible until durable, then the older go -----------
T2=$(now_ts)
want "$(put_arch o "$T2" 1 "$A/o2.1")" 201 "PUT of a newer version"
curl -s -D "$TMPDIR_TEST/h" -o "$TMPDIR_TEST/got" "${P1[@]}" "$OBJ_URL/d1/5/a/c/o"
cmp -s "$TMPDIR_TEST/got" "$A/o1.1" || fail "a non-durable newer archive was served"
want "$(hdr X-Backend-Timestamp)" "$T1" "timestamp before the newer COMMIT"
want "$(commit o "$T2" 1 o2)" 201 "COMMIT of the newer version"
want "$(files o)" "$T2#1#d.data" "older archives after a newer durable COMMIT"
curl -s -o "$TMPDIR_TEST/got" "${P1[@]}" "$OBJ_URL/d1/5/a/c/o"
cmp -s "$TMPDIR_TEST/got" "$A/o2.1" || fail "the newer version is not served"

# --- a tombstone wins; a newer durable archive wins over it ----------------
T3=$(now_ts)
expect_status 204 DELETE /d1/5/a/c/o "${P1[@]}" -H "X-Timestamp: $T3"
want "$(files o)" "$T3.ts" "after DELETE"
curl -s -D "$TMPDIR_TEST/h" -o /dev/null "${P1[@]}" "$OBJ_URL/d1/5/a/c/o"
grep -q "^HTTP/1.1 404" "$TMPDIR_TEST/h" || fail "GET after DELETE"
want "$(hdr X-Backend-Timestamp)" "$T3" "tombstone timestamp"
want "$(put_arch o "$T2" 3 "$A/o2.3")" 409 "PUT older than the tombstone"
T4=$(now_ts)
want "$(put_arch o "$T4" 0 "$A/o1.0")" 201 "PUT after the tombstone"
expect_status 404 GET /d1/5/a/c/o "${P1[@]}"
want "$(commit o "$T4" 0 o1)" 201 "COMMIT after the tombstone"
want "$(files o)" "$T4#0#d.data" "the tombstone after a newer COMMIT"
expect_status 200 GET /d1/5/a/c/o "${P1[@]}"

# --- container down at COMMIT: async pending with the override ------------
kill "$FAKE_PID"
wait "$FAKE_PID" 2>/dev/null || true
T5=$(now_ts)
want "$(put_arch p "$T5" 2 "$A/o2.2")" 201 "PUT p"
[ -z "$(pending)" ] || fail "async pending after an EC PUT"
want "$(commit p "$T5" 2 o2)" 201 "COMMIT with the container down"
[ "$(pending | wc -l)" -eq 1 ] || fail "no async pending: $(pending)"
$PYTHON - "$(pending)" "$(cat "$A/o2.md5")" <<'PY' || fail "async pending record"
import json, sys
h = json.load(open(sys.argv[1]))["headers"]
assert h["X-Size"] == "5000" and h["X-Etag"] == sys.argv[2], h
PY

# --- policy 0 is unchanged: no #idx names ----------------------------------
expect_status 201 PUT /d1/5/a/c/r -H "X-Timestamp: $T5" -H "Content-Type: x/y" \
	-H "X-Object-Sysmeta-Ec-Frag-Index: 1" --data-binary hello
h=$(hash_of r)
want "$(ls "$D/d1/objects/5/${h: -3}/$h")" "$T5.data" "replicated name"

# --- the auditor -------------------------------------------------------------
# good: committed archives of o (index 0) and p (index 2) pass
# badhdr: a byte of the second fragment's header flipped before the PUT
# (its MD5 matches its ETag: only the header check can catch it)
cp "$A/o1.3" "$A/bad.3"
flip_byte "$A/bad.3" $(($(cat "$A/o1.fsz") + 2))
want "$(put_arch badhdr "$T5" 3 "$A/bad.3")" 201 "PUT badhdr"
want "$(commit badhdr "$T5" 3 o1)" 201 "COMMIT badhdr"
# wrongidx: archive 5 stored as index 3
want "$(put_arch wrongidx "$T5" 3 "$A/o1.5")" 201 "PUT wrongidx"
want "$(commit wrongidx "$T5" 3 o1)" 201 "COMMIT wrongidx"
# wrongsize: committed with another object's length
want "$(put_arch wrongsize "$T5" 3 "$A/o1.3")" 201 "PUT wrongsize"
want "$(commit wrongsize "$T5" 3 o2)" 201 "COMMIT wrongsize"
# torn: a non-durable archive with a broken footer (as a COMMIT's
# metadata rewrite might leave it): a GET leaves it to the auditor
want "$(put_arch torn "$T5" 3 "$A/o1.3")" 201 "PUT torn"
f=$(hdir torn)/$T5#3.data
truncate -s $(($(stat -c %s "$f") - 5)) "$f"
expect_status 404 GET /d1/5/a/c/torn "${P1[@]}" -H "X-Backend-Ec-Nondurable: yes"
[ -e "$f" ] || fail "a GET quarantined a non-durable archive"
expect_exit 0 kumo-objectd "$TMPDIR_TEST/object.conf" --once audit
Q=$D/d1/quarantined/objects-1
for o in badhdr wrongidx wrongsize torn; do
	[ -d "$Q/$(hash_of $o)" ] || fail "$o not quarantined: $(ls "$Q" 2>&1)"
	[ ! -e "$(hdir $o)" ] || fail "$o still in place"
done
grep -q "bad fragment header" "$TMPDIR_TEST/out" || fail "no header verdict: $(cat "$TMPDIR_TEST/out")"
grep -q "ec_archive_size" "$TMPDIR_TEST/out" || fail "no size verdict"
want "$(files o)" "$T4#0#d.data" "a good archive after the audit"
want "$(files p)" "$T5#2#d.data" "a good archive after the audit"
[ "$(ls "$Q" | wc -l)" -eq 4 ] || fail "quarantined more than the bad: $(ls "$Q")"
stop_objectd
echo PASS
