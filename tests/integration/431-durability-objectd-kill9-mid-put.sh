#!/bin/bash
# 431-durability-objectd-kill9-mid-put: kill -9 of the object server in the
# middle of uploads (issue 4, fault test 6). One kumo-objectd holds every
# replica (tests/lib/proxy.sh: d1..d4 on one server), so the kill cuts
# every upload in flight; eight 4 MiB bodies are being PUT through the
# proxy at 2 MiB/s each when it dies. After it is started again:
#   - every PUT that answered 201 (before the kill) reads back
#     byte-identical with its ETag;
#   - every cut upload is absent (404 on GET and HEAD) or complete
#     (byte-identical, right ETag and Content-Length): never partial;
#   - the listing names no object that is not whole: each listed name
#     GETs back with the listed bytes and hash;
#   - no partial file in any device's objects/ tree (objtree_check.py);
#   - the server takes new writes;
#   - the temp files the kills left in <dev>/tmp go at the next updater
#     pass once older than tmp_max_age (aged here with touch), while a
#     fresh one (an upload in flight) stays.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl md5sum timeout
LIB=$TESTS_DIR/lib

PROXY_EXTRA_CONF="error_suppression_interval = 1"
start_proxy_cluster
OBJ_PORT=$(awk '/^\[object-server\]/ { s = 1; next } /^\[/ { s = 0 }
	s && $1 == "bind_port" { print $3 }' "$CONF")
[ -n "$OBJ_PORT" ] || fail "no object server port in $CONF"
read -r TOKEN URL < <(get_token test:tester testing)
[ -n "$TOKEN" ] || fail "no token"
[ "$(status PUT "$URL/c" -H "X-Auth-Token: $TOKEN")" = 201 ] ||
	fail "container PUT"

B=$TMPDIR_TEST/bodies
mkdir -p "$B"
md5() { md5sum <"$1" | cut -d' ' -f1; }

# whole NAME: GET NAME gives the bytes of $B/NAME and its ETag
whole() {
	local etag
	etag=$(curl -s -o "$TMPDIR_TEST/got" -D - -H "X-Auth-Token: $TOKEN" \
		"$URL/c/$1" | tr -d '\r"' |
		awk '/^HTTP\// { s = $2 } tolower($1) == "etag:" { e = $2 }
			END { print s, e }')
	[ "$etag" = "200 $(md5 "$B/$1")" ] && cmp -s "$TMPDIR_TEST/got" "$B/$1"
}

# acknowledged before the kill
for i in 1 2 3 4; do
	head -c $((i * 300000)) /dev/urandom >"$B/before$i"
	[ "$(status PUT "$URL/c/before$i" -H "X-Auth-Token: $TOKEN" \
		-T "$B/before$i")" = 201 ] || fail "PUT before$i"
done

# round R DELAY STAGGER: eight slow uploads slowR_1..8 (4 MiB at 2 MiB/s),
# each started STAGGER seconds after the one before; kill -9 DELAY seconds
# after the first, start the server again
round() {
	local r=$1 i st pids=() acked=0
	for i in $(seq 1 8); do
		head -c 4194304 /dev/urandom >"$B/slow${r}_$i"
		timeout 30 curl -s -o /dev/null -w '%{http_code}\n' -X PUT \
			--limit-rate 2M -H "X-Auth-Token: $TOKEN" \
			-T "$B/slow${r}_$i" "$URL/c/slow${r}_$i" \
			>"$TMPDIR_TEST/st${r}_$i" 2>&1 &
		pids+=($!)
		sleep "$3"
	done
	sleep "$(awk -v d="$2" -v s="$3" 'BEGIN { print d - 8 * s }')"
	kill -KILL "$PID_objectd"
	wait "$PID_objectd" 2>/dev/null || true
	# each curl ends once the proxy answers or cuts it (timeout bounds it)
	wait "${pids[@]}" || true
	for i in $(seq 1 8); do
		st=$(cat "$TMPDIR_TEST/st${r}_$i")
		[ "$st" != 201 ] || acked=$((acked + 1))
	done
	echo "round $r: killed the object server after $2 s; $acked of 8 PUTs \
had answered 201"
	[ "$acked" -lt 8 ] || fail "round $r: nothing was cut"
	# start it again on the same port and devices
	for i in $(seq 1 50); do
		$PYTHON -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$OBJ_PORT" 2>/dev/null && break
		sleep 0.1
	done
	_start objectd kumo-objectd "$CONF"
	_wait_health objectd "$OBJ_PORT"
	sleep 1.2 # the proxy's error limits (interval 1 s) expire
}
# early in the bodies; then with uploads at every stage, some done, some
# ending (committing) and some early
round 1 0.8 0
round 2 2.2 0.15

for i in 1 2 3 4; do
	whole "before$i" || fail "acknowledged before$i is not whole"
done
absent=0 complete=0
for r in 1 2; do
	for i in $(seq 1 8); do
		n=slow${r}_$i
		if whole "$n"; then
			complete=$((complete + 1))
		elif [ "$(status GET "$URL/c/$n" -H "X-Auth-Token: $TOKEN")" = 404 ] &&
			[ "$(status HEAD "$URL/c/$n" -H "X-Auth-Token: $TOKEN")" = 404 ]
		then
			absent=$((absent + 1))
		else
			fail "$n is neither absent nor whole"
		fi
		[ "$(cat "$TMPDIR_TEST/st${r}_$i")" != 201 ] || whole "$n" ||
			fail "$n was acknowledged but is not whole"
	done
done
echo "cut uploads: $absent absent, $complete complete"

# the listing shows only whole objects, with their bytes and hash
curl -s -H "X-Auth-Token: $TOKEN" "$URL/c?format=json" >"$TMPDIR_TEST/list"
$PYTHON - "$TMPDIR_TEST/list" "$B" >"$TMPDIR_TEST/listed" <<'PY' ||
import hashlib, json, os, sys
bad = 0
for row in json.load(open(sys.argv[1])):
    body = open(os.path.join(sys.argv[2], row["name"]), "rb").read()
    if row["bytes"] != len(body) or row["hash"] != hashlib.md5(body).hexdigest():
        print("listed %s with %d bytes, hash %s" % (
            row["name"], row["bytes"], row["hash"]), file=sys.stderr)
        bad = 1
    print(row["name"])
sys.exit(bad)
PY
	fail "the listing shows a partial object"
while read -r name; do
	whole "$name" || fail "listed $name is not whole"
done <"$TMPDIR_TEST/listed"
for i in 1 2 3 4; do
	grep -qx "before$i" "$TMPDIR_TEST/listed" || fail "before$i not listed"
done

$PYTHON "$LIB/objtree_check.py" "$TMPDIR_TEST"/node/d* ||
	fail "a partial object file on a device"
tmpfiles() { find "$TMPDIR_TEST"/node/d*/tmp -type f 2>/dev/null | wc -l; }
left=$(tmpfiles)
echo "temp files of cut uploads left in tmp/: $left"
[ "$left" -gt 0 ] || fail "no upload was cut while writing its temp file"
find "$TMPDIR_TEST"/node/d*/tmp -type f -exec touch -d '2 days ago' {} +
FRESH=$(find "$TMPDIR_TEST"/node/d*/tmp -maxdepth 0 | head -1)/tmpfresh
echo partial >"$FRESH"
timeout 30 kumo-objectd "$CONF" --once update 2>"$TMPDIR_TEST/update.log" ||
	fail "updater pass failed: $(tail -3 "$TMPDIR_TEST/update.log")"
[ "$(tmpfiles)" -eq 1 ] && [ -e "$FRESH" ] ||
	fail "after a pass: $(tmpfiles) temp files (want only the fresh one)"

head -c 100000 /dev/urandom >"$B/after"
[ "$(status PUT "$URL/c/after" -H "X-Auth-Token: $TOKEN" -T "$B/after")" = 201 ] ||
	fail "PUT after the restart"
whole after || fail "after is not whole"
echo "431-durability-objectd-kill9-mid-put: ok"
