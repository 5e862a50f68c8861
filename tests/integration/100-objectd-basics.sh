#!/bin/bash
# tests/integration/100-objectd-basics.sh: kumo-objectd's sample config matches --sample; /healthcheck; 405 for unknown methods; the replication verbs' answers to bad input; 400 for bad paths and names over Swift's limits; 507 for an unknown device (or one that is a file); SIGTERM exits 0 and removes the pidfile.
. "$(dirname "$0")/../lib/functions.sh"
requires curl kumo-objectd

. "$(dirname "$0")/../lib/objectd.sh"

# the sample documents every key of the table
diff -u "$TOP_DIR/etc/object-server.conf-sample" <(kumo-objectd --sample) ||
	fail "etc/object-server.conf-sample differs from kumo-objectd --sample"

start_objectd
[ "$(curl -s "$OBJ_URL/healthcheck")" = OK ] || fail "healthcheck not OK"
[ -s "$TMPDIR_TEST/objectd.pid" ] || fail "no pidfile"
[ "$(cat "$TMPDIR_TEST/objectd.pid")" = "$OBJ_PID" ] || fail "pidfile pid"

TS=$(now_ts)
expect_status 405 PATCH /d1/1/a/c/o -H "X-Timestamp: $TS"
# the replication verbs (objectd/replserver.c) refuse bad input
expect_status 200 REPLICATE /d1/1
expect_status 200 REPLICATE /d1/1/abc-fff
expect_status 400 REPLICATE /d1/1/abc-zzz
expect_status 400 REPLICATE /d1/1/../x
expect_status 400 REPLICATE /d1/x1
expect_status 507 REPLICATE /nodev/1
expect_status 400 SSYNC /d1/1
expect_status 400 SSYNC /d1/1/ab
expect_status 200 SSYNC /d1/1/abc
expect_status 400 PUT /d1/1/a/c/o -H "X-Backend-Replication: True" \
	-H "Content-Length: 0"
expect_status 400 PUT /d1/1/a/c/o -H "X-Backend-Replication: True" \
	-H "X-Backend-Replication-File: ../$TS.data" -H "Content-Length: 0"
expect_status 422 PUT /d1/1/a/c/o -H "X-Backend-Replication: True" \
	-H "X-Backend-Replication-File: $TS.data" --data-binary "not a file"
expect_status 422 PUT /d1/1/a/c/o -H "X-Backend-Replication: True" \
	-H "X-Backend-Replication-File: $TS.exe" --data-binary "not a file"
[ -z "$(find "$TMPDIR_TEST" -path '*/objects/*' -name "$TS*")" ] ||
	fail "a refused replication PUT left a file"
# wrong shapes
expect_status 400 GET /d1/1/a/c
expect_status 400 GET /d1/1/a/c/
expect_status 400 GET /d1/1/a//o
expect_status 400 GET /d1/1//c/o
expect_status 400 GET /d1/../a/c/o
expect_status 400 GET /../1/a/c/o
expect_status 400 GET /d1/1/../c/o
expect_status 400 GET /d1/x1/a/c/o
expect_status 400 GET /d1/1/a/c/o%zz
expect_status 400 GET /d1/1/a/c/o%00
expect_status 412 GET /d1/1/a/c/o%ff
# the message names the problem
body=$(curl -s "$OBJ_URL/d1/1/a/c")
case "$body" in *"Invalid path"*) ;; *) fail "400 body: $body" ;; esac
# names over Swift's limits
long=$(printf 'x%.0s' $(seq 1025))
expect_status 400 PUT "/d1/1/a/c/$long" -H "X-Timestamp: $TS" \
	-H "Content-Type: text/plain" --data-binary x
body=$(curl -s -X PUT -H "X-Timestamp: $TS" -H "Content-Type: text/plain" \
	--data-binary x "$OBJ_URL/d1/1/a/c/$long")
case "$body" in *"longer than 1024"*) ;; *) fail "long name body: $body" ;; esac
expect_status 400 GET "/d1/1/a/$(printf 'c%.0s' $(seq 257))/o"
expect_status 201 PUT "/d1/1/a/c/$(printf 'y%.0s' $(seq 1024))" \
	-H "X-Timestamp: $TS" -H "Content-Type: text/plain" --data-binary x
# unknown device
expect_status 507 PUT /nodev/1/a/c/o -H "X-Timestamp: $TS" \
	-H "Content-Type: text/plain" --data-binary x
expect_status 507 GET /nodev/1/a/c/o
expect_status 507 HEAD /nodev/1/a/c/o
# a device that is a file, not a folder (GET and HEAD look at it only
# when the hash dir cannot be opened)
: >"$TMPDIR_TEST/srv/dfile"
expect_status 507 GET /dfile/1/a/c/o
expect_status 507 HEAD /dfile/1/a/c/o
expect_status 404 GET /d2/1/a/c/o
expect_status 507 DELETE /nodev/1/a/c/o -H "X-Timestamp: $TS"
# an object name may hold slashes
expect_status 201 PUT /d1/1/a/c/dir/sub/o -H "X-Timestamp: $TS" \
	-H "Content-Type: text/plain" --data-binary hello
[ "$(curl -s "$OBJ_URL/d1/1/a/c/dir/sub/o")" = hello ] || fail "slashed name"

stop_objectd
grep -q "PUT /d1/1/a/c/dir/sub/o 201" "$TMPDIR_TEST/objectd.log" ||
	fail "no access log line"
echo "PASS"
