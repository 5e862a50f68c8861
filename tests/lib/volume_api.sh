# tests/lib/volume_api.sh: helpers for the volume API tests (520-539).
# Source after functions.sh and cluster.sh, then call start_cluster.
#
#   vapi_token USER KEY    print a proxy token (tempauth)
#   vapi METHOD PATH [JSON]
#                         call $VAPI$PATH (VAPI defaults to the volume API of
#                         AUTH_test) with $TOKEN; sets ST to the status, the
#                         body is in $TMPDIR_TEST/resp
#   expect_st CODE [WHAT] fail unless the last status was CODE
#   jr EXPR               print a Python expression of the last body (as j)
#   vapi_create JSON       POST volumes, expect 202, print the new id
#   vapi_status ID         print the volume's status
#   vapi_action ID JSON    POST volumes/ID/action (ST set)

# VOLUMED: the volume daemon, bin/kumo-volumed.
VOLUMED=$(command -v kumo-volumed || echo kumo-volumed)

vapi_token() {
	curl -s -m 10 -i -H "X-Auth-User: $1" -H "X-Auth-Key: $2" \
		"http://127.0.0.1:$PROXY_PORT/auth/v1.0" |
		awk 'tolower($1) == "x-auth-token:" { print $2 }' | tr -d '\r'
}

vapi() {
	local m=$1 p=$2
	local args=()
	if [ $# -ge 3 ]; then
		args=(-H 'Content-Type: application/json' --data-binary "$3")
	fi
	ST=$(curl -s -m 60 --path-as-is -o "$TMPDIR_TEST/resp" -w '%{http_code}' -X "$m" \
		-H "X-Auth-Token: ${TOKEN:-}" "${args[@]}" "${VAPI}$p")
}

expect_st() {
	[ "$ST" = "$1" ] ||
		{ cat "$TMPDIR_TEST/resp" >&2; echo >&2; fail "${2:-request} gave $ST, expected $1"; }
}

jr() {
	$PYTHON -c '
import json, sys
j = json.load(open(sys.argv[1]))
r = eval(sys.argv[2])
print(json.dumps(r) if isinstance(r, (dict, list, bool)) or r is None else r)
' "$TMPDIR_TEST/resp" "$1"
}

vapi_create() {
	vapi POST /volumes "$1"
	expect_st 202 "volume create $1"
	jr 'j["volume"]["id"]'
}

vapi_status() {
	vapi GET "/volumes/$1"
	expect_st 200 "show volume $1"
	jr 'j["volume"]["status"]'
}

vapi_action() {
	vapi POST "/volumes/$1/action" "$2"
}

# start_volume_cluster: start_cluster, then TOKEN (test:tester) and VAPI.
start_volume_cluster() {
	start_cluster
	TOKEN=$(vapi_token test:tester testing)
	[ -n "$TOKEN" ] || fail "no token from the proxy"
	VAPI=http://127.0.0.1:$VOLUME_PORT/v3/AUTH_test
}
