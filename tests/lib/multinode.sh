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
#   obj_file_info FILE       "name etag etag-hash stored-body-xxh128
#                            body-xxh128 body-md5" of an object file
#   obj_file_url FILE        the object server URL of that replica
#   objectd_once_all PASS LOG  kumo-objectd --once PASS on every node
#   rotten_get_is_cut FILE OFFSET  bit rot in a replica: its GET is cut
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

# obj_file_info FILE: what objtree_check.py --info prints of an object
# file (its metadata is inside it: body, metadata block, 24-byte footer)
obj_file_info() {
	$PYTHON "$TESTS_DIR/lib/objtree_check.py" --info "$1"
}

# obj_file_url FILE: the URL of the object of that replica file on its
# own object server ($NODE_DIR/objK/dK/objects/PART/...)
obj_file_url() {
	local f=$1 name rest k part
	read -r name _ < <(obj_file_info "$f")
	rest=${f#"$NODE_DIR"/obj}
	k=${rest%%/*}
	part=${f#*/objects/}
	part=${part%%/*}
	echo "http://127.0.0.1:${OBJ_PORTS[$k]}/d$k/$part$name"
}

# objectd_once_all PASS LOG: one pass (audit, replicate...) of every
# object server's devices (kumo-objectd CONF --once PASS, node after
# node), stderr appended to LOG; fails the test if one fails
objectd_once_all() {
	local k
	for k in "${!OBJ_PORTS[@]}"; do
		timeout 60 kumo-objectd "$TMPDIR_TEST/obj$k.conf" --once "$1" \
			2>>"$2" || fail "$1 pass on node $k failed"
	done
}

# rotten_get_is_cut FILE OFFSET: flip one byte of the replica FILE; a
# whole GET of it from its object server must then end short of its
# Content-Length and take FILE out of its hash dir (quarantined)
rotten_get_is_cut() {
	local url len
	url=$(obj_file_url "$1")
	len=$(curl -sI "$url" | tr -d '\r' |
		awk -F': ' 'tolower($1) == "content-length" { print $2 }')
	[ -n "$len" ] || fail "HEAD of $url: no Content-Length"
	flip_byte "$1" "$2"
	curl -s -o "$TMPDIR_TEST/rotten" "$url" || true # 18: cut short
	[ "$(stat -c %s "$TMPDIR_TEST/rotten")" -lt "$len" ] ||
		fail "the GET of the rotten replica $1 was not cut"
	[ ! -e "$1" ] || fail "the GET left the rotten replica $1 in place"
}
