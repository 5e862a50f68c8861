# tests/lib/multinode.sh: a cluster with several object servers, for the
# integration tests that kill one of them (tests/integration/4NN-*.sh).
# Source after functions.sh.
#
# start_multinode_cluster N builds three rings with kumo-ring (3 replicas,
# part power 8): the object ring has N devices d1..dN, each on its own
# kumo-objectd (its own port, config $TMPDIR_TEST/objK.conf and devices
# folder $NODE_DIR/objK holding dK); the container and account rings have
# d1..d4 on one kumo-containerd and one kumo-accountd (devices under
# $NODE_DIR/shared). It starts every daemon and the proxy on free loopback
# ports, waits for their /healthcheck, and stops them at exit with SIGTERM
# (failing the test if one lingers).
#
# OBJ_EXTRA_CONF, when set, is appended to each object server's
# [object-server] section (e.g. replicator_interval, reclaim_age).
# POLICY_CONF, when set, follows [swift-hash] in every config (the
# [storage-policy:N] sections); MN_POLICY_RINGS lists N:REPLICAS for the
# object-N.ring.gz to build on the same devices d1..dN (e.g. "1:6").
#
# Sets PROXY_PORT, PROXY_URL, AUTH_URL, NODE_DIR, RINGS, SWIFT, OBJ_PORTS
# (array, index K for server K) and defines:
#   kill_object_server K     SIGKILL kumo-objectd number K
#   restart_object_server K  start it again on the same port and devices
#   get_token USER KEY       prints "TOKEN STORAGE_URL"
#   status METHOD URL ARGS   prints the HTTP status of a curl request
. "$(dirname "${BASH_SOURCE[0]}")/proxy.sh"

# _mn_ring NAME REPLICAS PORT...: a ring with device dK on the Kth port.
_mn_ring() {
	local b=$RINGS/$1.builder k=0 p
	kumo-ring "$b" create 8 "$2" 0 >/dev/null
	shift 2
	for p in "$@"; do
		k=$((k + 1))
		kumo-ring "$b" add "r1z$k-127.0.0.1:$p/d$k" 100 >/dev/null
	done
	kumo-ring "$b" rebalance --seed 1 >/dev/null || true
	[ -s "${b%.builder}.ring.gz" ] || fail "no ring ${b%.builder}"
}

_mn_start_obj() {
	local k=$1
	_start "obj$k" kumo-objectd "$TMPDIR_TEST/obj$k.conf"
	_wait_health "obj$k" "${OBJ_PORTS[$k]}"
}

kill_object_server() {
	local pid
	eval "pid=\$PID_obj$1"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
}

restart_object_server() {
	local i
	# the port may stay busy for a moment after SIGKILL
	for i in $(seq 1 50); do
		$PYTHON -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "${OBJ_PORTS[$1]}" 2>/dev/null && break
		sleep 0.1
	done
	_mn_start_obj "$1"
}

start_multinode_cluster() {
	requires kumo-ring kumo-proxy kumo-objectd kumo-containerd \
		kumo-accountd curl
	local n=$1 T=$TMPDIR_TEST k CONT_PORT ACC_PORT
	NODE_DIR=$T/node
	RINGS=$T/rings
	mkdir -p "$RINGS" "$NODE_DIR"/shared/d1 "$NODE_DIR"/shared/d2 \
		"$NODE_DIR"/shared/d3 "$NODE_DIR"/shared/d4
	PROXY_PORT=$(pick_unused_port)
	CONT_PORT=$(pick_unused_port)
	ACC_PORT=$(pick_unused_port)
	OBJ_PORTS=()
	for k in $(seq 1 "$n"); do
		OBJ_PORTS[$k]=$(pick_unused_port)
		mkdir -p "$NODE_DIR/obj$k/d$k"
	done
	_mn_ring object 3 "${OBJ_PORTS[@]}"
	for k in ${MN_POLICY_RINGS:-}; do
		_mn_ring "object-${k%%:*}" "${k#*:}" "${OBJ_PORTS[@]}"
	done
	_mn_ring container 3 "$CONT_PORT" "$CONT_PORT" "$CONT_PORT" "$CONT_PORT"
	_mn_ring account 3 "$ACC_PORT" "$ACC_PORT" "$ACC_PORT" "$ACC_PORT"
	local hash="[swift-hash]
swift_hash_path_prefix =
swift_hash_path_suffix = test-suffix
${POLICY_CONF:-}
"
	CONF=$T/kumo.conf
	cat >"$CONF" <<EOF
$hash
[proxy-server]
bind_ip = 127.0.0.1
bind_port = $PROXY_PORT
swift_dir = $RINGS
node_timeout = 5
${PROXY_EXTRA_CONF:-}

[filter:tempauth]
user_admin_admin = admin .admin .reseller_admin
user_test_tester = testing .admin
user_test_tester3 = testing3
user_test2_tester2 = testing2 .admin

[container-server]
bind_ip = 127.0.0.1
bind_port = $CONT_PORT
devices = $NODE_DIR/shared
recon_cache_path = $NODE_DIR/recon_shared

[account-server]
bind_ip = 127.0.0.1
bind_port = $ACC_PORT
devices = $NODE_DIR/shared
recon_cache_path = $NODE_DIR/recon_shared
EOF
	for k in $(seq 1 "$n"); do
		cat >"$T/obj$k.conf" <<EOF
$hash
[object-server]
bind_ip = 127.0.0.1
bind_port = ${OBJ_PORTS[$k]}
devices = $NODE_DIR/obj$k
updater_interval = 1
swift_dir = $RINGS
recon_cache_path = $NODE_DIR/recon$k
${OBJ_EXTRA_CONF:-}
EOF
	done
	_start accountd kumo-accountd "$CONF"
	_start containerd kumo-containerd "$CONF"
	_wait_health accountd "$ACC_PORT"
	_wait_health containerd "$CONT_PORT"
	for k in $(seq 1 "$n"); do
		_mn_start_obj "$k"
	done
	_start proxy kumo-proxy "$CONF"
	_wait_health proxy "$PROXY_PORT"
	PROXY_URL=http://127.0.0.1:$PROXY_PORT
	AUTH_URL=$PROXY_URL/auth/v1.0
	SWIFT="/usr/bin/swift -A $AUTH_URL -U test:tester -K testing"
}
