#!/bin/bash
# tests/integration/530-volume-tls-connection-info.sh: with tls_cert and
# tls_key (and tls_required) in [volume-server], the connection info of an
# attachment names TLS (export_uri nbds://, tls true, the certificate) and
# the host of nbd_host; a TLS client that trusts the CA is served, a plain
# one is refused. A second kumo-volumed runs beside kumo-aio's on the same
# cluster with its own records and data accounts.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/volume_api.sh"
requires curl openssl nbdinfo
start_volume_cluster

d=$TMPDIR_TEST/tls
mkdir -p "$d"
(
	cd "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=kumo-test-ca \
		-keyout ca-key.pem -out ca-cert.pem
	openssl req -newkey rsa:2048 -nodes -subj /CN=localhost \
		-keyout server-key.pem -out server.csr
	printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
	openssl x509 -req -in server.csr -CA ca-cert.pem -CAkey ca-key.pem \
		-CAcreateserial -days 2 -extfile server.ext -out server-cert.pem
) >"$TMPDIR_TEST/openssl.log" 2>&1 || { cat "$TMPDIR_TEST/openssl.log" >&2; fail "openssl"; }

api=$(pick_unused_port)
nbd=$(pick_unused_port)
conf=$TMPDIR_TEST/tls-volume.conf
{
	sed -n '/^\[swift-hash\]/,/^$/p' "$AIO_DIR/kumo.conf"
	cat <<CONF
[volume-server]
bind_port = $api
swift_dir = $AIO_DIR/rings
proxy_url = http://127.0.0.1:$PROXY_PORT
records_account = .kumo_volumed_tls_test
data_account = .kumo_volumes_tls_test
nbd_port = $nbd
nbd_host = localhost
tls_cert = $d/server-cert.pem
tls_key = $d/server-key.pem
tls_required = true
CONF
} >"$conf"
"$VOLUMED" "$conf" >"$TMPDIR_TEST/tls-volumed.log" 2>&1 &
pid=$!
cleanup_fn "kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null"
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$api/healthcheck" >/dev/null && break
	kill -0 "$pid" 2>/dev/null || { cat "$TMPDIR_TEST/tls-volumed.log" >&2; fail "volumed died"; }
	sleep 0.1
done
VAPI=http://127.0.0.1:$api/v3/AUTH_test

id=$(vapi_create '{"volume": {"size": 1}}')
vapi_action "$id" '{"os-reserve": {}}'
vapi_action "$id" '{"os-initialize_connection": {"connector": {"host": "h"}}}'
expect_st 200 initialize_connection
[ "$(jr 'j["connection_info"]["data"]["tls"]')" = true ] || fail "tls not named"
[ "$(jr 'j["connection_info"]["data"]["tls_cert"]')" = "$d/server-cert.pem" ] ||
	fail "tls_cert not named"
[ "$(jr 'j["connection_info"]["data"]["host"]')" = localhost ] || fail "nbd_host"
uri=$(jr 'j["connection_info"]["data"]["export_uri"]')
name=$(jr 'j["connection_info"]["data"]["export_name"]')
[ "$uri" = "nbds://localhost:$nbd/$name" ] || fail "export_uri $uri"

mkdir "$TMPDIR_TEST/trust"
cp "$d/ca-cert.pem" "$TMPDIR_TEST/trust/"
size=$(timeout 20 nbdinfo --size "$uri?tls-certificates=$TMPDIR_TEST/trust") ||
	fail "a TLS client was not served"
[ "$size" = 1073741824 ] || fail "size over TLS: $size"
timeout 20 nbdinfo --size "nbd://127.0.0.1:$nbd/$name" >/dev/null 2>&1 &&
	fail "a plain client was served with tls_required"
vapi_action "$id" '{"os-unreserve": {}}'
vapi DELETE "/volumes/$id"
expect_st 202 delete
kill -TERM "$pid"
wait "$pid" || fail "volumed exited $? after SIGTERM"
