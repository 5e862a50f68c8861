#!/bin/bash
# 307-proxy-put-keeps-body-xxh128: a replicated object the proxy hashed on
# its way in (bodies over 64 KiB or of unknown length: the MD5 and the
# XXH3-128 as trailers, objectd/server.c trailer_hashed) keeps, beside its
# MD5 ETag, the XXH3-128 its body was checked by (X-Backend-Body-Xxh128 in
# the metadata of each replica), and every later check of the body takes
# that hash instead of an MD5 pass (objectd/etag.c etag_check_of):
#   1. a 3 MiB PUT of known length and a 200 KiB chunked PUT: every
#      replica's .data holds the body's XXH3-128 and its MD5 as ETag (what
#      clients see); a 4 KiB PUT (hashed by the object servers) holds none;
#   2. a POST, then GETs through the proxy: the bodies whole (a wrong
#      stored hash would quarantine them and fail the GET);
#   3. one byte flipped in one replica of each: a whole GET of the first
#      from its object server is cut short and quarantines it; an auditor
#      pass on every node quarantines the second and no clean replica;
#   4. a replication pass on every node brings both back (each checked
#      before it is placed), the stored hash with them.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/multinode.sh"
requires curl timeout

OBJ_EXTRA_CONF="replicator_interval = 3600
auditor_interval = 3600"
start_multinode_cluster 4
read -r TOKEN URL < <(get_token test:tester testing)
H=(-H "X-Auth-Token: $TOKEN")
[ "$(status PUT "$URL/c" "${H[@]}")" = 201 ] || fail "container PUT"

head -c 3145728 /dev/urandom >"$TMPDIR_TEST/big"
head -c 204800 /dev/urandom >"$TMPDIR_TEST/streamed"
head -c 4096 /dev/urandom >"$TMPDIR_TEST/small"
[ "$(status PUT "$URL/c/big" "${H[@]}" -T "$TMPDIR_TEST/big")" = 201 ] ||
	fail "PUT big"
[ "$(status PUT "$URL/c/streamed" "${H[@]}" -H "Transfer-Encoding: chunked" \
	-T - <"$TMPDIR_TEST/streamed")" = 201 ] || fail "chunked PUT"
[ "$(status PUT "$URL/c/small" "${H[@]}" -T "$TMPDIR_TEST/small")" = 201 ] ||
	fail "PUT small"

# replicas NAME: the .data files of /AUTH_test/c/NAME, sorted
replicas() {
	find "$NODE_DIR"/obj*/d*/objects -name '*.data' \
		-exec grep -l -a -F "/AUTH_test/c/$1" {} + | sort
}

# 1. on disk
for o in big streamed small; do
	mapfile -t F < <(replicas $o)
	[ "${#F[@]}" -eq 3 ] || fail "$o: ${#F[@]} replicas: ${F[*]}"
	md5=$(md5sum <"$TMPDIR_TEST/$o" | cut -d' ' -f1)
	for f in "${F[@]}"; do
		read -r name etag kind stored xxh fmd5 < <(obj_file_info "$f")
		[ "$name" = "/AUTH_test/c/$o" ] || fail "$f holds $name"
		[ "$fmd5" = "$md5" ] || fail "$f: not the body sent"
		[ "$etag" = "$md5" ] || fail "$f: ETag $etag, not the MD5"
		[ "$kind" = - ] || fail "$f: X-Backend-Etag-Hash $kind"
		if [ $o = small ]; then
			[ "$stored" = - ] || fail "$f: a stored hash $stored"
		else
			[ "$stored" = "$xxh" ] ||
				fail "$f: stored XXH3-128 '$stored', body's $xxh"
		fi
	done
done
$PYTHON "$TESTS_DIR/lib/objtree_check.py" "$NODE_DIR"/obj*/d* \
	>"$TMPDIR_TEST/tree" || fail "objtree_check: $(cat "$TMPDIR_TEST/tree")"

# 2. a POST, then the bodies through the proxy
[ "$(status POST "$URL/c/big" "${H[@]}" -H "X-Object-Meta-Color: blue")" = 202 ] ||
	fail "POST"
for o in big streamed small; do
	st=$(curl -s -o "$TMPDIR_TEST/got" -w '%{http_code}' "${H[@]}" "$URL/c/$o")
	[ "$st" = 200 ] || fail "GET $o: $st"
	cmp -s "$TMPDIR_TEST/got" "$TMPDIR_TEST/$o" || fail "GET $o: other bytes"
done
curl -sI "${H[@]}" "$URL/c/big" | tr -d '\r' |
	grep -qix "X-Object-Meta-Color: blue" || fail "the POST's metadata is lost"
mapfile -t B < <(replicas big)
mapfile -t S < <(replicas streamed)
for f in "${B[@]}" "${S[@]}"; do
	[ -f "$f" ] || fail "a clean replica $f was quarantined"
done
# the merged view of .data and .meta (a whole GET of each replica) too
for f in "${B[@]}"; do
	st=$(curl -s -o "$TMPDIR_TEST/got" -w '%{http_code}' "$(obj_file_url "$f")")
	[ "$st" = 200 ] && cmp -s "$TMPDIR_TEST/got" "$TMPDIR_TEST/big" ||
		fail "GET of the replica $f after the POST: $st"
done

# 3. bit rot in one replica of each
bad0=${B[1]}
bad1=${S[2]}
rotten_get_is_cut "$bad0" 2000000
flip_byte "$bad1" 100000
objectd_once_all audit "$TMPDIR_TEST/audit.log"
[ ! -e "$bad1" ] || fail "the auditor left the rotten replica $bad1 in place"
for f in "${B[@]}" "${S[@]}"; do
	[ "$f" = "$bad0" ] || [ "$f" = "$bad1" ] || [ -f "$f" ] ||
		fail "the auditor quarantined the clean replica $f"
done
n=$(sed -n 's/.*audit pass done: .* \([0-9][0-9]*\) quarantined.*/\1/p' \
	"$TMPDIR_TEST/audit.log" | awk '{ s += $1 } END { print s + 0 }')
[ "$n" = 1 ] || fail "the audit passes quarantined $n files, not 1"

# 4. replication restores both, with their stored hash
objectd_once_all replicate "$TMPDIR_TEST/repl.log"
for f in "$bad0" "$bad1"; do
	[ -f "$f" ] || fail "$f not restored"
	read -r _ _ _ stored xxh _ < <(obj_file_info "$f")
	[ "$stored" = "$xxh" ] || fail "$f restored without its hash"
done
$PYTHON "$TESTS_DIR/lib/objtree_check.py" "$NODE_DIR"/obj*/d* \
	>"$TMPDIR_TEST/tree" || fail "after replication: $(cat "$TMPDIR_TEST/tree")"
echo "ok: hashed PUTs keep their XXH3-128, checked by it on GET, audit, replication"
