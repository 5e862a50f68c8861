#!/bin/bash
# tests/integration/204-container-account-conf-samples.sh: the sample
# configurations in etc/ are what the daemons' config tables write
# (--sample), and each daemon starts from its own sample (ports changed)
# and exits 0 on SIGTERM; a bad key is refused at startup.
. "$(dirname "$0")/../lib/functions.sh"
requires curl

for pair in container-server:kumo-containerd account-server:kumo-accountd; do
	name=${pair%%:*}
	prog=${pair#*:}
	"$prog" --sample >"$TMPDIR_TEST/$name.sample"
	cmp -s "$TMPDIR_TEST/$name.sample" "$TOP_DIR/etc/$name.conf-sample" ||
		fail "etc/$name.conf-sample differs from $prog --sample"
	port=$(pick_unused_port)
	mkdir -p "$TMPDIR_TEST/node"
	sed -e "s/^# bind_port = .*/bind_port = $port/" \
		-e "s|^# devices = .*|devices = $TMPDIR_TEST/node|" \
		"$TMPDIR_TEST/$name.sample" >"$TMPDIR_TEST/$name.conf"
	"$prog" "$TMPDIR_TEST/$name.conf" 2>"$TMPDIR_TEST/$name.log" &
	pid=$!
	cleanup_fn "kill -9 $pid 2>/dev/null"
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$port/healthcheck" >/dev/null && break
		sleep 0.1
	done
	[ "$(curl -s "http://127.0.0.1:$port/healthcheck")" = OK ] ||
		fail "$prog did not start from its sample"
	# a device that does not exist is 507
	st=$(curl -s -o /dev/null -w '%{http_code}' -X PUT \
		-H "X-Timestamp: 1.00000" "http://127.0.0.1:$port/nodev/1/AUTH_a/c")
	[ "$st" = 507 ] || fail "$prog: PUT on a missing device gave $st"
	rc=0
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ] || fail "$prog exited $rc after SIGTERM"
	printf '[%s]\nno_such_key = 1\n' "$name" >>"$TMPDIR_TEST/$name.conf"
	expect_exit 1 "$prog" "$TMPDIR_TEST/$name.conf"
	expect_output_has "no_such_key"
done
