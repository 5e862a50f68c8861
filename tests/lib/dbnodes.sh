# tests/lib/dbnodes.sh: a cluster whose container and account replicas
# live on separate servers, for the replicator and reaper tests
# (tests/integration/46N-*.sh). Source after functions.sh.
#
# start_db_cluster builds three rings with kumo-ring (3 replicas, part
# power 8, one zone per device): the object ring has d1..dN on N
# kumo-objectd, the container ring d1..dN on N kumo-containerd, the
# account ring d1..dN on N kumo-accountd (N is DB_NODES, default 3) (server K holds dK under $NODE_DIR/<kind>K,
# config $TMPDIR_TEST/<kind>K.conf). Every daemon and the proxy start on
# free loopback ports and are stopped at exit (SIGTERM, failing the test
# if one lingers). Background replication is slowed down
# (replicator_interval 3600) so that a test runs its passes with --once.
#
# Sets PROXY_URL, AUTH_URL, NODE_DIR, RINGS, SWIFT, CONT_PORTS, ACC_PORTS,
# OBJ_PORTS (index K) and defines:
#   stop_server KIND K      SIGTERM kumo-<KIND>d number K (cont, acc, obj)
#   start_server KIND K     start it again on the same port and devices
#   replicate KIND          --once replicate on every server of KIND
#   nodes_of RING PATH      the primaries' and first handoff's device
#                           numbers of PATH (prints "P1 P2 P3 H")
#   part_of PATH            the partition of /a[/c] (prints it)
#   get_token, status       as tests/lib/proxy.sh
# DB_EXTRA_CONF, when set, is added to [container-server] and
# [account-server], ACC_EXTRA_CONF to [account-server] only;
# CONT_UPDATER_INTERVAL (default 1) is the container
# servers' updater_interval (their retries of account updates).
. "$(dirname "${BASH_SOURCE[0]}")/multinode.sh" # _mn_ring, proxy.sh

_db_prog() {
	case $1 in
	cont) echo kumo-containerd ;;
	acc) echo kumo-accountd ;;
	obj) echo kumo-objectd ;;
	esac
}

_db_port() {
	case $1 in
	cont) echo "${CONT_PORTS[$2]}" ;;
	acc) echo "${ACC_PORTS[$2]}" ;;
	obj) echo "${OBJ_PORTS[$2]}" ;;
	esac
}

start_server() {
	local kind=$1 k=$2 port i
	port=$(_db_port "$kind" "$k")
	# the port may stay busy for a moment after a stop
	for i in $(seq 1 50); do
		$PYTHON -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$port" 2>/dev/null && break
		sleep 0.1
	done
	_start "$kind$k" "$(_db_prog "$kind")" "$TMPDIR_TEST/$kind$k.conf"
	_wait_health "$kind$k" "$port"
}

stop_server() {
	local pid
	eval "pid=\$PID_$1$2"
	_stop_pid "$pid" "$1$2"
}

replicate() {
	local k
	for k in $(seq 1 "${DB_NODES:-3}"); do
		timeout 60 "$(_db_prog "$1")" "$TMPDIR_TEST/$1$k.conf" \
			--once replicate || fail "$1$k --once replicate failed"
	done
}

nodes_of() {
	kumo-ring get-nodes "$RINGS/$1.ring.gz" --prefix "" --suffix test-suffix \
		--json --handoffs 1 "$2" | $PYTHON -c 'import json, sys
j = json.load(sys.stdin)
print(" ".join(d["device"][1:] for d in j["primaries"] + j["handoffs"]))'
}

part_of() {
	$PYTHON -c 'import hashlib, struct, sys
h = hashlib.md5((sys.argv[1] + "test-suffix").encode()).digest()
print(struct.unpack_from(">I", h)[0] >> 24)' "$1"
}

start_db_cluster() {
	requires kumo-ring kumo-proxy kumo-objectd kumo-containerd \
		kumo-accountd curl
	local T=$TMPDIR_TEST k kind PROXY_PORT
	NODE_DIR=$T/node
	RINGS=$T/rings
	mkdir -p "$RINGS"
	PROXY_PORT=$(pick_unused_port)
	CONT_PORTS=() ACC_PORTS=() OBJ_PORTS=()
	for k in $(seq 1 "${DB_NODES:-3}"); do
		CONT_PORTS[$k]=$(pick_unused_port)
		ACC_PORTS[$k]=$(pick_unused_port)
		OBJ_PORTS[$k]=$(pick_unused_port)
		for kind in cont acc obj; do
			mkdir -p "$NODE_DIR/$kind$k/d$k"
		done
	done
	_mn_ring object 3 "${OBJ_PORTS[@]}"
	_mn_ring container 3 "${CONT_PORTS[@]}"
	_mn_ring account 3 "${ACC_PORTS[@]}"
	local hash="[swift-hash]
swift_hash_path_prefix =
swift_hash_path_suffix = test-suffix
"
	cat >"$T/proxy.conf" <<EOF
$hash
[proxy-server]
bind_ip = 127.0.0.1
bind_port = $PROXY_PORT
swift_dir = $RINGS
node_timeout = 5
error_suppression_interval = 1

[filter:tempauth]
user_admin_admin = admin .admin .reseller_admin
user_test_tester = testing .admin
EOF
	for k in $(seq 1 "${DB_NODES:-3}"); do
		cat >"$T/cont$k.conf" <<EOF
$hash
[container-server]
bind_ip = 127.0.0.1
bind_port = ${CONT_PORTS[$k]}
devices = $NODE_DIR/cont$k
swift_dir = $RINGS
recon_cache_path = $T/recon/cont$k
updater_interval = ${CONT_UPDATER_INTERVAL:-1}
replicator_interval = 3600
${DB_EXTRA_CONF:-}
EOF
		cat >"$T/acc$k.conf" <<EOF
$hash
[account-server]
bind_ip = 127.0.0.1
bind_port = ${ACC_PORTS[$k]}
devices = $NODE_DIR/acc$k
swift_dir = $RINGS
recon_cache_path = $T/recon/acc$k
replicator_interval = 3600
reaper_interval = 3600
${DB_EXTRA_CONF:-}
${ACC_EXTRA_CONF:-}
EOF
		cat >"$T/obj$k.conf" <<EOF
$hash
[object-server]
bind_ip = 127.0.0.1
bind_port = ${OBJ_PORTS[$k]}
devices = $NODE_DIR/obj$k
updater_interval = 3600
EOF
	done
	for k in $(seq 1 "${DB_NODES:-3}"); do
		start_server acc "$k"
		start_server cont "$k"
		start_server obj "$k"
	done
	_start proxy kumo-proxy "$T/proxy.conf"
	_wait_health proxy "$PROXY_PORT"
	PROXY_URL=http://127.0.0.1:$PROXY_PORT
	AUTH_URL=$PROXY_URL/auth/v1.0
	SWIFT="/usr/bin/swift -A $AUTH_URL -U test:tester -K testing"
}
