#!/bin/bash
# bench/swift_aio.sh: an OpenStack Swift all-in-one from Debian's swift
# packages (swift-proxy, swift-object, swift-container, swift-account,
# python3-swift), the peer bench/swift.sh measures kumo against.
#   - everything in a temp dir: configs and rings in etc/, four devices
#     (plain folders, mount_check = false) in srv/, logs in log/;
#   - rings of part_power 10 (kumo-aio's AIO_PART_POWER), 3 replicas, the
#     four devices in four zones of 127.0.0.1;
#   - proxy, object, container and account servers started the way Debian
#     runs them (swift-<x>-server CONF), bound to 127.0.0.1 only, on a free
#     port block; workers left to Swift's default (auto: one per core) and
#     fsync left on (the object server fsyncs before its 201 by default);
#     tempauth with test:tester/testing, tokens in a memcached of our own
#     on 127.0.0.1 (so that the proxy's workers share them);
#   - waits for every server's /healthcheck; swift_aio_stop kills them all
#     (by process group) and removes the dir.
# The hash path prefix/suffix come from /etc/swift/swift.conf (Swift reads
# that file whatever swift_dir says); this script does not change it.
#
# Sourced: swift_aio_start sets SWIFT_DIR, SWIFT_PORT (the proxy; object,
# container, account and memcached on the next four), SWIFT_AUTH (the
# tempauth URL) and SWIFT_PIDS (every daemon process, workers included);
# swift_aio_stop tears down. Run alone: starts, prints the auth URL and
# waits for Ctrl-C.

SWIFT_PART_POWER=${SWIFT_PART_POWER:-10}

# pick_port_block N (tests/lib/cluster.sh): a free block of N ports
PYTHON=${PYTHON:-/usr/bin/python3}
. "$(dirname "${BASH_SOURCE[0]}")/../tests/lib/cluster.sh"

_swift_conf() {
	local d=$SWIFT_DIR p=$SWIFT_PORT
	cat >"$d/etc/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $p
swift_dir = $d/etc
user = $(id -un)
log_name = proxy-server

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk tempurl ratelimit tempauth copy container-quotas account-quotas slo dlo versioned_writes symlink proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:tempauth]
use = egg:swift#tempauth
user_admin_admin = admin .admin .reseller_admin
user_test_tester = testing .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$((p + 4))
EOF
	# the other filters of the pipeline, with their defaults
	local f
	for f in catch_errors gatekeeper healthcheck proxy-logging:proxy_logging \
		listing_formats bulk tempurl ratelimit copy \
		container-quotas:container_quotas account-quotas:account_quotas \
		slo dlo versioned_writes symlink; do
		printf '[filter:%s]\nuse = egg:swift#%s\n' "${f%%:*}" "${f#*:}"
	done >>"$d/etc/proxy-server.conf"
	local kind port
	for kind in object container account; do
		case $kind in
		object) port=$((p + 1)) ;;
		container) port=$((p + 2)) ;;
		account) port=$((p + 3)) ;;
		esac
		cat >"$d/etc/$kind-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $port
devices = $d/srv
mount_check = false
swift_dir = $d/etc
user = $(id -un)
log_name = $kind-server

[pipeline:main]
pipeline = healthcheck $kind-server

[app:$kind-server]
use = egg:swift#$kind

[filter:healthcheck]
use = egg:swift#healthcheck
EOF
	done
}

_swift_rings() {
	local d=$SWIFT_DIR kind port i
	for kind in object container account; do
		case $kind in
		object) port=$((SWIFT_PORT + 1)) ;;
		container) port=$((SWIFT_PORT + 2)) ;;
		account) port=$((SWIFT_PORT + 3)) ;;
		esac
		swift-ring-builder "$d/etc/$kind.builder" create \
			"$SWIFT_PART_POWER" 3 1 >/dev/null || return 1
		for i in 1 2 3 4; do
			swift-ring-builder "$d/etc/$kind.builder" add \
				"r1z$i-127.0.0.1:$port/d$i" 100 >/dev/null ||
				return 1
		done
		swift-ring-builder "$d/etc/$kind.builder" rebalance \
			>/dev/null || return 1
	done
}

# _swift_daemon NAME CMD...: start CMD in its own session (its process
# group is its pid), output to log/NAME.log
_swift_daemon() {
	local name=$1
	shift
	setsid "$@" >"$SWIFT_DIR/log/$name.log" 2>&1 </dev/null &
	_SWIFT_LEADERS+=("$!")
}

swift_aio_start() {
	local i kind ok
	SWIFT_DIR=$(mktemp -d /tmp/swift-aio.XXXXXX)
	mkdir -p "$SWIFT_DIR"/{etc,log,srv/d1,srv/d2,srv/d3,srv/d4}
	SWIFT_PORT=$(pick_port_block 5)
	SWIFT_AUTH=http://127.0.0.1:$SWIFT_PORT/auth/v1.0
	_SWIFT_LEADERS=()
	_swift_conf && _swift_rings || {
		echo "swift_aio: cannot write configs or rings" >&2
		return 1
	}
	_swift_daemon memcached memcached -l 127.0.0.1 -U 0 \
		-p $((SWIFT_PORT + 4)) -u "$(id -un)" -m 64
	for kind in account container object proxy; do
		_swift_daemon "$kind" "swift-$kind-server" \
			"$SWIFT_DIR/etc/$kind-server.conf" --verbose
	done
	for i in $(seq 1 300); do
		ok=1
		for kind in 0 1 2 3; do
			curl -sf -m 2 "http://127.0.0.1:$((SWIFT_PORT + kind))/healthcheck" \
				>/dev/null || { ok=0; break; }
		done
		[ $ok = 1 ] && break
		sleep 0.2
	done
	if [ $ok != 1 ]; then
		echo "swift_aio: servers did not answer /healthcheck" >&2
		tail -n 5 "$SWIFT_DIR"/log/*.log >&2
		return 1
	fi
	# the workers are forked by now: every process of each group
	SWIFT_PIDS=$(for i in "${_SWIFT_LEADERS[@]}"; do
		pgrep -g "$i"
	done | sort -n | tr '\n' ' ')
	return 0
}

swift_aio_stop() {
	local i pid
	[ -n "${SWIFT_DIR:-}" ] || return 0
	for pid in "${_SWIFT_LEADERS[@]}"; do
		kill -TERM -- "-$pid" 2>/dev/null
	done
	for i in $(seq 1 50); do
		local alive=0
		for pid in "${_SWIFT_LEADERS[@]}"; do
			pgrep -g "$pid" >/dev/null && alive=1
		done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for pid in "${_SWIFT_LEADERS[@]}"; do
		kill -KILL -- "-$pid" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$SWIFT_DIR"
	SWIFT_DIR=
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	trap swift_aio_stop EXIT
	trap 'exit 0' INT TERM
	swift_aio_start || exit 1
	echo "Swift all-in-one: $SWIFT_AUTH (test:tester/testing), data and logs in $SWIFT_DIR"
	echo "daemons: $SWIFT_PIDS"
	echo "Ctrl-C stops it."
	while :; do sleep 1; done
fi
