#!/bin/bash
# tests/integration/118-objectd-large-body-reads.sh: kumo-objectd reads a
# large body in pieces of 128 KiB (objectd/main.c conn_memory: half of
# libmicrohttpd's 256 KiB per connection), not the 32 KiB of the default
# 64 KiB: each piece costs a select and a recv, ~200 000 of them per GiB
# a volume writes through three replicas. Seen through strace (which
# slows objectd, so the body waits in the socket): a 4 MiB PUT is read
# in at most 64 recvs, some above 64 KiB. The body is stored whole, and
# the next request on the same connection (libmicrohttpd resets the
# connection's memory between them) is answered too.
. "$(dirname "$0")/../lib/functions.sh"
requires curl strace md5sum kumo-objectd

. "$(dirname "$0")/../lib/objectd.sh"

start_objectd
TRACE=$TMPDIR_TEST/trace
MiB=1048576
head -c $((4 * MiB)) /dev/urandom >"$TMPDIR_TEST/chunk"

strace_attach "$OBJ_PID" "$TRACE" -e trace=recvfrom
# the PUT, then a HEAD on the same connection
curl -s -o /dev/null -w '%{http_code}\n' -X PUT \
	-H "X-Timestamp: $(now_ts)" -H "Content-Type: application/x-test" \
	--data-binary @"$TMPDIR_TEST/chunk" "$OBJ_URL/d1/9/a/c/chunk" \
	--next -s -o /dev/null -w '%{http_code}\n' -I \
	"$OBJ_URL/d1/9/a/c/chunk" >"$TMPDIR_TEST/codes"
kill "$STRACE_PID"
wait "$STRACE_PID" 2>/dev/null || true
[ "$(tr '\n' ' ' <"$TMPDIR_TEST/codes")" = "201 200 " ] ||
	fail "PUT and HEAD answered $(cat "$TMPDIR_TEST/codes")"

# the body's reads: those of more than a header's few hundred bytes
awk '/recvfrom\(/ && $NF ~ /^[0-9]+$/ && $NF > 4096 {
	n++; sum += $NF; if ($NF > max) max = $NF }
	END { print n + 0, sum + 0, max + 0 }' "$TRACE" >"$TMPDIR_TEST/reads"
read -r n sum max <"$TMPDIR_TEST/reads"
[ "$sum" -ge $((4 * MiB - 65536)) ] ||
	fail "only $sum bytes of the body seen in recvs: $(cat "$TRACE")"
[ "$n" -le 64 ] || fail "the 4 MiB body took $n recvs (largest $max), expected at most 64"
[ "$max" -gt 65536 ] || fail "no recv above 64 KiB (largest $max)"

curl -s -o "$TMPDIR_TEST/got" "$OBJ_URL/d1/9/a/c/chunk" || fail "GET chunk"
cmp -s "$TMPDIR_TEST/chunk" "$TMPDIR_TEST/got" || fail "the body differs"
stop_objectd
echo "118-objectd-large-body-reads: ok"
