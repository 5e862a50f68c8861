#!/bin/bash
# 122-objectd-expirer-container-down: the expirer's container update goes
# through async_pending when the container server is down (issue 3).
#   - with kumo-containerd stopped, `--once expire` still removes the
#     expired object's .data and its expiry entries, and saves the listing
#     update under <dev>/async_pending;
#   - with kumo-containerd back, `--once update` sends it: the listing
#     drops the object and async_pending empties.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl

start_proxy_cluster
cd "$TMPDIR_TEST"
read -r TOKEN URL < <(get_token test:tester testing)
T="X-Auth-Token: $TOKEN"
C=$URL/c
printf 'x\n' >body
[ "$(status PUT "$C" -H "$T")" = 201 ] || fail "container PUT"
[ "$(status PUT "$C/o" -T body -H "$T" -H "X-Delete-After: 1")" = 201 ] ||
	fail "object PUT"
at=$(($(date +%s) + 1))
CONT_PORT=$(awk '/^\[container-server\]/ { s = 1 } s && $1 == "bind_port" { print $3; exit }' "$CONF")

# stop the container server (its cleanup then finds it gone)
kill -TERM "$PID_containerd"
wait "$PID_containerd" 2>/dev/null || true
while [ "$(date +%s)" -le "$at" ]; do sleep 0.2; done

expect_exit 0 kumo-objectd "$CONF" --once expire
[ -z "$(find "$NODE_DIR" -path '*objects*' -name '*.data')" ] ||
	fail ".data left: $(find "$NODE_DIR" -name '*.data')"
[ -z "$(find "$NODE_DIR" -path '*expiring/*' -type f)" ] ||
	fail "expiry entries left"
n=$(find "$NODE_DIR" -path '*async_pending/*' -type f | wc -l)
[ "$n" -ge 1 ] || fail "no async_pending record of the expiry"

_start containerd kumo-containerd "$CONF"
_wait_health containerd "$CONT_PORT"
curl -s -H "$T" "$C" | grep -qx o || fail "o not listed before the updater"
expect_exit 0 kumo-objectd "$CONF" --once update
[ -z "$(find "$NODE_DIR" -path '*async_pending/*' -type f)" ] ||
	fail "async_pending not emptied"
[ -z "$(curl -s -H "$T" "$C")" ] || fail "o still listed: $(curl -s -H "$T" "$C")"
echo "122-objectd-expirer-container-down: ok"
