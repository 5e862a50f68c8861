#!/bin/bash
# 331-proxy-backend-no-env-proxy: kumo-proxy's requests to the storage
# servers go straight to them, as Swift's do, even with http_proxy,
# HTTP_PROXY, all_proxy and ALL_PROXY in its environment (here naming a
# closed port): an object PUT, GET, HEAD, POST and DELETE and a container
# listing answer as without them.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl env

start_proxy_cluster
# the same proxy again, started with the proxy variables libcurl reads
_stop_pid "$PID_proxy" proxy
dead=http://127.0.0.1:$(pick_unused_port)
_start proxy env http_proxy="$dead" HTTP_PROXY="$dead" all_proxy="$dead" \
	ALL_PROXY="$dead" kumo-proxy "$CONF"
_wait_health proxy "$PROXY_PORT"

read -r TOKEN URL < <(get_token test:tester testing)
[ -n "$TOKEN" ] || fail "no token"
T="X-Auth-Token: $TOKEN"
C=$URL/c331
[ "$(status PUT "$C" -H "$T")" = 201 ] || fail "container PUT"
[ "$(status PUT "$C/o" -H "$T" --data-binary hello)" = 201 ] ||
	fail "object PUT went through the environment's proxy"
[ "$(curl -s -H "$T" "$C/o")" = hello ] || fail "GET body"
[ "$(status HEAD "$C/o" -H "$T")" = 200 ] || fail "HEAD"
[ "$(status POST "$C/o" -H "$T" -H "X-Object-Meta-A: b")" = 202 ] ||
	fail "POST"
[ "$(curl -s -H "$T" "$C")" = o ] || fail "listing"
[ "$(status DELETE "$C/o" -H "$T")" = 204 ] || fail "DELETE"
[ "$(status GET "$C/o" -H "$T")" = 404 ] || fail "GET after DELETE"
echo "331-proxy-backend-no-env-proxy: ok"
