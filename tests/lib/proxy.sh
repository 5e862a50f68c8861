# tests/lib/proxy.sh: start_proxy_cluster for the proxy's integration tests
# (tests/integration/3NN-*.sh). Source after functions.sh.
#
# start_proxy_cluster builds three rings with kumo-ring (3 replicas, part
# power 8, devices d1..d4 on one object, one container and one account
# server), writes one config for every daemon, starts kumo-objectd,
# kumo-containerd, kumo-accountd and kumo-proxy on free loopback ports in
# $TMPDIR_TEST, waits for their /healthcheck, and stops them at exit with
# SIGTERM (failing the test if one lingers). Until kumo-accountd exists,
# Swift's own account server stands in for it (its hash path salts are
# then those of /etc/swift/swift.conf).
#
# Sets: PROXY_PORT, PROXY_URL, AUTH_URL, NODE_DIR (holds d1..d4), CONF,
# SWIFT (the swift client for test:tester), and get_token USER KEY, which
# prints "TOKEN URL". Users: admin:admin (reseller admin), test:tester
# (.admin), test:tester3, test2:tester2 (.admin), test5:tester5 (group
# service). PROXY_EXTRA_CONF, TEMPAUTH_EXTRA_CONF and OBJECT_EXTRA_CONF,
# when set, are added to [proxy-server], [filter:tempauth] and
# [object-server]. POLICY_CONF, when set, is added after [swift-hash]
# (the [storage-policy:N] sections every daemon reads); POLICY_RINGS lists
# the extra object rings as N:REPLICAS:DEVICES (e.g. "1:2:d3,d4" makes
# object-1.ring.gz with two replicas on d3 and d4).

_stop_pid() {
	local pid=$1 name=$2 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	echo "FAIL: $name lingered after SIGTERM" >&2
	exit 1
}

# _start NAME CMD...: run CMD in the background, logging to $T/NAME.log.
_start() {
	local name=$1 pid
	shift
	"$@" >"$TMPDIR_TEST/$name.log" 2>&1 &
	pid=$!
	cleanup_fn _stop_pid "$pid" "$name"
	eval "PID_$name=$pid"
}

# _wait_health NAME PORT
_wait_health() {
	local name=$1 port=$2 i pid
	eval "pid=\$PID_$name"
	for i in $(seq 1 100); do
		curl -sf "http://127.0.0.1:$port/healthcheck" >/dev/null && return 0
		kill -0 "$pid" 2>/dev/null ||
			{ cat "$TMPDIR_TEST/$name.log" >&2; fail "$name died"; }
		sleep 0.1
	done
	cat "$TMPDIR_TEST/$name.log" >&2
	fail "$name did not answer /healthcheck"
}

# _ring NAME PORT: $RINGS/NAME.ring.gz with d1..d4 on 127.0.0.1:PORT.
_ring() {
	local b=$RINGS/$1.builder d
	kumo-ring "$b" create 8 3 0 >/dev/null
	for d in 1 2 3 4; do
		kumo-ring "$b" add "r1z$d-127.0.0.1:$2/d$d" 100 >/dev/null
	done
	kumo-ring "$b" rebalance --seed 1 >/dev/null || true
	[ -s "$RINGS/$1.ring.gz" ] || fail "no $1 ring"
}

# _policy_rings PORT: the object-N rings POLICY_RINGS asks for.
_policy_rings() {
	local spec n r devs d b
	for spec in ${POLICY_RINGS:-}; do
		IFS=: read -r n r devs <<<"$spec"
		b=$RINGS/object-$n.builder
		kumo-ring "$b" create 8 "$r" 0 >/dev/null
		for d in ${devs//,/ }; do
			mkdir -p "$NODE_DIR/$d"
			kumo-ring "$b" add "r1z${d#d}-127.0.0.1:$1/$d" 100 >/dev/null
		done
		kumo-ring "$b" rebalance --seed 1 >/dev/null || true
		[ -s "$RINGS/object-$n.ring.gz" ] || fail "no object-$n ring"
	done
}

start_proxy_cluster() {
	requires kumo-ring kumo-proxy kumo-objectd kumo-containerd \
		kumo-accountd curl
	local T=$TMPDIR_TEST prefix= suffix=test-suffix
	local OBJ_PORT CONT_PORT ACC_PORT
	NODE_DIR=$T/node
	RINGS=$T/rings
	mkdir -p "$NODE_DIR"/d1 "$NODE_DIR"/d2 "$NODE_DIR"/d3 "$NODE_DIR"/d4 \
		"$RINGS"
	PROXY_PORT=$(pick_unused_port)
	OBJ_PORT=$(pick_unused_port)
	CONT_PORT=$(pick_unused_port)
	ACC_PORT=$(pick_unused_port)
	_ring object "$OBJ_PORT"
	_ring container "$CONT_PORT"
	_ring account "$ACC_PORT"
	_policy_rings "$OBJ_PORT"
	CONF=$T/kumo.conf
	cat >"$CONF" <<EOF
[swift-hash]
swift_hash_path_prefix = $prefix
swift_hash_path_suffix = $suffix
${POLICY_CONF:-}

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
user_test5_tester5 = testing5 service
${TEMPAUTH_EXTRA_CONF:-}

[object-server]
bind_ip = 127.0.0.1
bind_port = $OBJ_PORT
devices = $NODE_DIR
${OBJECT_EXTRA_CONF:-}

[container-server]
bind_ip = 127.0.0.1
bind_port = $CONT_PORT
devices = $NODE_DIR

[account-server]
bind_ip = 127.0.0.1
bind_port = $ACC_PORT
devices = $NODE_DIR
EOF
	_start objectd kumo-objectd "$CONF"
	_start containerd kumo-containerd "$CONF"
	_start accountd kumo-accountd "$CONF"
	_start proxy kumo-proxy "$CONF"
	_wait_health objectd "$OBJ_PORT"
	_wait_health containerd "$CONT_PORT"
	_wait_health accountd "$ACC_PORT"
	_wait_health proxy "$PROXY_PORT"
	PROXY_URL=http://127.0.0.1:$PROXY_PORT
	AUTH_URL=$PROXY_URL/auth/v1.0
	SWIFT="/usr/bin/swift -A $AUTH_URL -U test:tester -K testing"
}

# get_token USER KEY: print "TOKEN STORAGE_URL" (empty when refused).
get_token() {
	curl -s -o /dev/null -D - -H "X-Auth-User: $1" -H "X-Auth-Key: $2" \
		"$AUTH_URL" | tr -d '\r' | awk -F': ' '
		tolower($1) == "x-auth-token" { t = $2 }
		tolower($1) == "x-storage-url" { u = $2 }
		END { if (t != "") print t, u }'
}

# status METHOD URL [curl args...]: print the HTTP status.
status() {
	local m=$1 u=$2
	shift 2
	# -I, not -X HEAD: curl would wait for the body a HEAD never has
	if [ "$m" = HEAD ]; then
		curl -s -I -o /dev/null -w '%{http_code}' "$@" "$u"
	else
		curl -s -o /dev/null -w '%{http_code}' -X "$m" "$@" "$u"
	fi
}
