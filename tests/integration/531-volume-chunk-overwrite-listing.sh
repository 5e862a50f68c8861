#!/bin/bash
# 531-volume-chunk-overwrite-listing: a chunk PUT that overwrites the
# object the disk's map already names sends no container update (the
# object servers would each wait for one before answering, to change only
# the listing row's ETag and date), while every PUT that makes a new
# object name does, so the names gc.c lists stay complete:
#   1. the first write of chunk 0: its row appears, with the data's ETag
#      (its XXH3-128: chunk_etag);
#   2. an overwrite of it: the data reads back new, the row keeps the
#      first ETag (it fails when the overwrite updates the container);
#   3. a discard of the chunk (the object deleted, its row gone), then a
#      write: the row is back, with the newest ETag.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/nbd.sh"
requires curl qemu-io kumo-ring

start_cluster
id=$(vol_create 1)
uri=$(vol_attach "$id")

# the container servers' rows of the chunks container, as "name hash"
nodes=$(kumo-ring get-nodes "$AIO_DIR/rings/container.ring.gz" --prefix '' \
	--suffix "$(cat "$AIO_DIR/hash_suffix")" --json .kumo_volumes/chunks)
rows() {
	local n
	for n in $($PYTHON -c 'import json, sys
j = json.loads(sys.argv[1])
for p in j["primaries"]:
    print("http://%s:%d/%s/%d" % (p["ip"], p["port"], p["device"], j["partition"]))' "$nodes"); do
		curl -sS "$n/.kumo_volumes/chunks?format=json" |
			$PYTHON -c 'import json, sys
for r in json.load(sys.stdin):
    if r["name"].endswith("/00000000"):
        print(r["name"], r["hash"])'
	done | sort -u
}
# the ETag of 4 MiB of byte $1 (hex, e.g. 11)
etag_of() {
	head -c 4194304 /dev/zero | tr '\0' "\\$(printf '%03o' "0x$1")" |
		chunk_etag
}
# write 4 MiB of byte $1 at chunk 0, flush, close (the close flushes too)
put4m() {
	timeout 120 qemu-io -f raw -t writeback -c "write -P 0x$1 0 4M" \
		-c flush "$uri" >"$TMPDIR_TEST/qio" 2>&1 ||
		{ cat "$TMPDIR_TEST/qio"; fail "qemu-io write 0x$1"; }
}
readback() {
	timeout 120 qemu-io -f raw -r -c "read -P 0x$1 0 4M" "$uri" \
		>"$TMPDIR_TEST/qio" 2>&1 && ! grep -q "Pattern verification" \
		"$TMPDIR_TEST/qio" || { cat "$TMPDIR_TEST/qio"; fail "read 0x$1"; }
}

m11=$(etag_of 11)
m22=$(etag_of 22)
m33=$(etag_of 33)

put4m 11
r=$(rows)
[ "$(echo "$r" | wc -l)" = 1 ] && [ "${r#* }" = "$m11" ] ||
	fail "after the first write the row is '$r', not one with $m11"

put4m 22
readback 22
r=$(rows)
[ "$(echo "$r" | wc -l)" = 1 ] || fail "after the overwrite the rows are '$r'"
[ "${r#* }" = "$m11" ] ||
	fail "the overwrite in place updated the container ('$r', $m22)"

timeout 120 qemu-io -f raw -c "discard 0 4M" -c flush "$uri" \
	>"$TMPDIR_TEST/qio" 2>&1 || { cat "$TMPDIR_TEST/qio"; fail "discard"; }
[ -z "$(rows)" ] || fail "the discarded chunk is still listed: $(rows)"
put4m 33
readback 33
r=$(rows)
[ "$(echo "$r" | wc -l)" = 1 ] && [ "${r#* }" = "$m33" ] ||
	fail "after discard and write the row is '$r', not one with $m33"
echo "ok: first PUT listed, overwrite in place unlisted, rewrite listed"
