#!/bin/bash
# tests/integration/529-volume-concurrent-actions.sh: state changes of one
# volume, and quota charges of one project, are serialized: of 12
# simultaneous os-reserve of one volume exactly one wins (the others get
# 400); of 15 simultaneous creates against a quota of 10 volumes exactly
# 10 are made (the others get 413) and the usage says 10; 10 simultaneous
# metadata merges all land.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/volume_api.sh"
requires curl
start_volume_cluster

# post PATH JSON OUT: one request in the background, its status in OUT;
# wait_posts waits for them (a bare wait would wait for kumo-aio too)
pids=()
post() {
	curl -s -m 60 -o /dev/null -w '%{http_code}\n' -X POST \
		-H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' \
		--data-binary "$2" "$VAPI$1" >"$3" &
	pids+=($!)
}
wait_posts() {
	wait "${pids[@]}"
	pids=()
}

id=$(vapi_create '{"volume": {"size": 1}}')
for i in $(seq 12); do
	post "/volumes/$id/action" '{"os-reserve": {}}' "$TMPDIR_TEST/r$i"
done
wait_posts
ok=$(cat "$TMPDIR_TEST"/r* | grep -c '^202$' || true)
refused=$(cat "$TMPDIR_TEST"/r* | grep -c '^400$' || true)
[ "$ok" = 1 ] && [ "$refused" = 11 ] ||
	fail "12 reserves: $ok accepted, $refused refused: $(cat "$TMPDIR_TEST"/r* | tr '\n' ' ')"
[ "$(vapi_status "$id")" = reserved ] || fail "not reserved"
vapi_action "$id" '{"os-unreserve": {}}'

for i in $(seq 10); do
	post "/volumes/$id/metadata" "{\"metadata\": {\"k$i\": \"v$i\"}}" \
		"$TMPDIR_TEST/m$i"
done
wait_posts
vapi GET "/volumes/$id/metadata"
[ "$(jr 'len(j["metadata"])')" = 10 ] ||
	fail "concurrent metadata merges lost some: $(cat "$TMPDIR_TEST/resp")"

# one volume exists: 9 more fit in the quota of 10
for i in $(seq 15); do
	post /volumes '{"volume": {"size": 1}}' "$TMPDIR_TEST/c$i"
done
wait_posts
made=$(cat "$TMPDIR_TEST"/c* | grep -c '^202$' || true)
over=$(cat "$TMPDIR_TEST"/c* | grep -c '^413$' || true)
[ "$made" = 9 ] && [ "$over" = 6 ] ||
	fail "15 creates: $made made, $over over quota: $(cat "$TMPDIR_TEST"/c* | tr '\n' ' ')"
vapi GET /volumes
[ "$(jr 'len(j["volumes"])')" = 10 ] || fail "volumes listed"
vapi GET /limits
[ "$(jr 'j["limits"]["absolute"]["totalVolumesUsed"]')" = 10 ] || fail "usage"
[ "$(jr 'j["limits"]["absolute"]["totalGigabytesUsed"]')" = 10 ] || fail "gigabytes"
