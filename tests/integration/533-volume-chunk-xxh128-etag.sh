#!/bin/bash
# 533-volume-chunk-xxh128-etag: a volume's chunks are stored with the
# XXH3-128 of their body as their ETag (X-Backend-Etag-Hash: xxh3-128 in
# their metadata; no MD5 pass in kumo-volumed or the object servers), and
# everything that checks a body against its ETag checks them by it:
#   1. two chunks written over NBD and flushed: each of the 6 replicas'
#      .data names xxh3-128, its ETag is its body's XXH3-128 (not the MD5;
#      tests/lib/objtree_check.py knows them too);
#   2. a whole GET of a clean replica from its object server: 200, the
#      body whole (an MD5 check would take it for corrupt, quarantine it
#      and cut the body);
#   3. one byte flipped in one replica of each chunk: a whole GET of the
#      first one's bad replica is cut short and quarantines it; an
#      auditor pass on every node (--once audit) quarantines the second
#      one's bad replica and leaves the 4 clean replicas in place (an
#      MD5 auditor would quarantine them all);
#   4. a replication pass on every node (--once replicate) brings both
#      replicas back, each checked by its XXH3-128 before it is placed
#      (df_writer_place); the volume reads back right.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/multinode.sh"
. "$(dirname "$0")/../lib/nbd.sh"
requires curl qemu-io timeout md5sum kumo-volumed

# the background workers stay out of the way: passes are run by hand
OBJ_EXTRA_CONF="replicator_interval = 3600
auditor_interval = 3600"
start_multinode_cluster 4
start_volumed

id=$(vol_create 1)
uri=$(vol_attach "$id")
timeout 120 qemu-io -f raw -t writeback -c "write -P 0x11 0 4M" \
	-c "write -P 0x22 4M 4M" -c flush "$uri" >"$TMPDIR_TEST/qio" 2>&1 ||
	{ cat "$TMPDIR_TEST/qio"; fail "qemu-io write"; }
vol_detach "$id"

# 1. the replicas on disk (an object's metadata, with its name, is inside
# its .data file), grouped by hash dir: two chunks, three replicas each
mapfile -t F < <(find "$NODE_DIR"/obj*/d*/objects -name '*.data' \
	-exec grep -l -a -F /.kumo_volumes/chunks/ {} + | sort)
[ "${#F[@]}" -eq 6 ] || fail "${#F[@]} chunk replicas on disk: ${F[*]}"
for f in "${F[@]}"; do
	read -r name etag kind _ xxh md5 < <(obj_file_info "$f")
	[ "$kind" = xxh3-128 ] || fail "$f: X-Backend-Etag-Hash '$kind'"
	[ "$etag" = "$xxh" ] || fail "$f: ETag $etag, body XXH3-128 $xxh"
	[ "$etag" != "$md5" ] || fail "$f: the ETag is the MD5"
done
$PYTHON "$TESTS_DIR/lib/objtree_check.py" "$NODE_DIR"/obj*/d* \
	>"$TMPDIR_TEST/tree" || fail "objtree_check: $(cat "$TMPDIR_TEST/tree")"
mapfile -t H < <(for f in "${F[@]}"; do basename "$(dirname "$f")"; done | sort -u)
[ "${#H[@]}" -eq 2 ] || fail "not two chunks: ${H[*]}"
# replica I of chunk C's file
replica() { printf '%s\n' "${F[@]}" | grep "/${H[$1]}/" | sed -n "$2p"; }

# 2. a clean replica's whole GET: 200 and its body whole
f=$(replica 0 1)
read -r name etag _ < <(obj_file_info "$f")
byte='\021' # chunk 0 holds 0x11, chunk 1 0x22
[ "${name##*/}" = 00000000 ] || byte='\042'
st=$(curl -s -o "$TMPDIR_TEST/got" -w '%{http_code}' "$(obj_file_url "$f")")
[ "$st" = 200 ] || fail "GET of a clean replica: $st"
[ "$(stat -c %s "$TMPDIR_TEST/got")" = 4194304 ] || fail "clean GET cut short"
head -c 4194304 /dev/zero | tr '\0' "$byte" | cmp -s - "$TMPDIR_TEST/got" ||
	fail "clean GET of $name: other bytes"
[ -f "$f" ] || fail "the clean replica was quarantined by its GET"
curl -sI "$(obj_file_url "$f")" | tr -d '\r' | grep -qix "etag: \"$etag\"" ||
	fail "HEAD: not the ETag $etag"
curl -sI "$(obj_file_url "$f")" | tr -d '\r' |
	grep -qix "X-Backend-Etag-Hash: xxh3-128" || fail "HEAD: no X-Backend-Etag-Hash"

# 3. bit rot in one replica of each chunk
bad0=$(replica 0 2)
bad1=$(replica 1 3)
rotten_get_is_cut "$bad0" 1234
flip_byte "$bad1" 3000000
ls "${bad0%/objects/*}"/quarantined/objects/"${H[0]}"*/*.data >/dev/null 2>&1 ||
	fail "the GET did not quarantine $bad0"

objectd_once_all audit "$TMPDIR_TEST/audit.log"
[ ! -e "$bad1" ] || fail "the auditor left the rotten replica $bad1 in place"
ls "${bad1%/objects/*}"/quarantined/objects/"${H[1]}"*/*.data >/dev/null 2>&1 ||
	fail "$bad1 not in quarantine"
for f in "${F[@]}"; do
	[ "$f" = "$bad0" ] || [ "$f" = "$bad1" ] || [ -f "$f" ] ||
		fail "the auditor quarantined the clean replica $f: $(grep -a quarant "$TMPDIR_TEST/audit.log")"
done
n=$(sed -n 's/.*audit pass done: .* \([0-9][0-9]*\) quarantined.*/\1/p' \
	"$TMPDIR_TEST/audit.log" | awk '{ s += $1 } END { print s + 0 }')
[ "$n" = 1 ] || fail "the audit passes quarantined $n files, not 1: $(cat "$TMPDIR_TEST/audit.log")"

# 4. replication restores them (checked whole by their XXH3-128)
objectd_once_all replicate "$TMPDIR_TEST/repl.log"
for f in "$bad0" "$bad1"; do
	[ -f "$f" ] || fail "$f not restored: $(grep -a refused "$TMPDIR_TEST/repl.log")"
done
$PYTHON "$TESTS_DIR/lib/objtree_check.py" "$NODE_DIR"/obj*/d* \
	>"$TMPDIR_TEST/tree" || fail "after replication: $(cat "$TMPDIR_TEST/tree")"
uri=$(vol_attach "$id")
timeout 120 qemu-io -f raw -r -c "read -P 0x11 0 4M" -c "read -P 0x22 4M 4M" \
	"$uri" >"$TMPDIR_TEST/qio" 2>&1 && ! grep -q "Pattern verification" \
	"$TMPDIR_TEST/qio" || { cat "$TMPDIR_TEST/qio"; fail "read back"; }
echo "ok: chunks stored with XXH3-128 ETags, checked by them on GET and audit"
