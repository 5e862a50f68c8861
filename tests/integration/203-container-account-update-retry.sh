#!/bin/bash
# tests/integration/203-container-account-update-retry.sh: a container
# created while its account server is down still answers 201, keeps the
# account update it owes on disk, and delivers it later: through
# `kumo-containerd CONF --once update` after a restart, and through the
# running server's updater once the account server is back.
. "$(dirname "$0")/../lib/functions.sh"
requires curl

aport=$(pick_unused_port)
cport=$(pick_unused_port)
mkdir -p "$TMPDIR_TEST/node/d1"
conf=$TMPDIR_TEST/kumo.conf
cat >"$conf" <<CONF
[swift-hash]
swift_hash_path_suffix = t203
[account-server]
bind_port = $aport
devices = $TMPDIR_TEST/node
[container-server]
bind_port = $cport
devices = $TMPDIR_TEST/node
updater_interval = 1
conn_timeout = 0.2
node_timeout = 1
CONF
start() { # prog port
	"$1" "$conf" >>"$TMPDIR_TEST/$1.log" 2>&1 &
	last_pid=$!
	cleanup_fn "kill -9 $last_pid 2>/dev/null"
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$2/healthcheck" >/dev/null && return
		sleep 0.1
	done
	fail "$1 did not start: $(cat "$TMPDIR_TEST/$1.log")"
}
stop() { # pid
	local rc=0
	kill -TERM "$1"
	wait "$1" || rc=$?
	[ "$rc" -eq 0 ] || fail "daemon $1 exited $rc after SIGTERM"
}
acct="-H X-Account-Host:127.0.0.1:$aport -H X-Account-Device:d1 -H X-Account-Partition:9"
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
listing() { curl -s "http://127.0.0.1:$aport/d1/9/AUTH_r"; }

# 1. account server down: the container is made all the same
start kumo-containerd "$cport"
cpid=$last_pid
st=$(code -X PUT $acct -H "X-Timestamp: 1000.00000" \
	"http://127.0.0.1:$cport/d1/2/AUTH_r/first")
[ "$st" = 201 ] || fail "container PUT with the account server down: $st"
st=$(code -X PUT -H "X-Timestamp: 1001.00000" -H "X-Size: 42" \
	-H "X-Content-Type: text/plain" -H "X-Etag: e" \
	"http://127.0.0.1:$cport/d1/2/AUTH_r/first/obj")
[ "$st" = 201 ] || fail "object row: $st"
stop "$cpid"

# 2. account server back; one pass of the updater delivers the update
start kumo-accountd "$aport"
apid=$last_pid
st=$(code -X PUT -H "X-Timestamp: 999.00000" "http://127.0.0.1:$aport/d1/9/AUTH_r")
[ "$st" = 201 ] || fail "account PUT: $st"
[ -z "$(listing)" ] || fail "listed before the update: $(listing)"
expect_exit 0 kumo-containerd "$conf" --once update
[ "$(listing)" = first ] || fail "after --once update: '$(listing)'"
curl -sI "http://127.0.0.1:$aport/d1/9/AUTH_r" >"$TMPDIR_TEST/head"
grep -qi "^X-Account-Object-Count: 1" "$TMPDIR_TEST/head" &&
	grep -qi "^X-Account-Bytes-Used: 42" "$TMPDIR_TEST/head" ||
	fail "account stats after --once update: $(cat "$TMPDIR_TEST/head")"
# nothing is owed any more: a second pass sends nothing and succeeds
expect_exit 0 kumo-containerd "$conf" --once update

# 3. the running server's updater retries by itself
stop "$apid"
start kumo-containerd "$cport"
cpid=$last_pid
st=$(code -X PUT $acct -H "X-Timestamp: 1002.00000" \
	"http://127.0.0.1:$cport/d1/2/AUTH_r/second")
[ "$st" = 201 ] || fail "second container PUT: $st"
# --once cannot open the databases a running server holds
expect_exit 1 kumo-containerd "$conf" --once update
start kumo-accountd "$aport"
apid=$last_pid
for _ in $(seq 50); do
	[ "$(listing | tr '\n' ' ')" = "first second " ] && break
	sleep 0.1
done
[ "$(listing | tr '\n' ' ')" = "first second " ] ||
	fail "the updater did not deliver: '$(listing)'"
stop "$cpid"
stop "$apid"
