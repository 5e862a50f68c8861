#!/bin/bash
# 401-aio-local-conf: kumo-aio rewrites kumo.conf at each start, and the
# operator's own settings go in DIR/local.conf, merged into it so that
# they win: a tempauth user added there can log in after a restart, one
# whose key it changes logs in with the new key only, the object
# replicator runs at the interval set there (1 s, not 30), and kumo.conf
# names no section or key twice (Python's configparser, as Swift's tools
# read it, accepts it).
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl

start_cluster
[ -z "$(get_token bench:bencher secret)" ] || fail "an unknown user logged in"
cat >"$AIO_DIR/local.conf" <<'CONF'
[filter:tempauth]
user_bench_bencher = secret .admin
user_test_tester3 = changed

[object-server]
replicator_interval = 1
CONF
restart_cluster
grep -q "^user_bench_bencher = secret .admin" "$AIO_DIR/kumo.conf" ||
	fail "local.conf not in kumo.conf"
[ -n "$(get_token test:tester3 changed)" ] || fail "the changed key is refused"
[ -z "$(get_token test:tester3 testing3)" ] || fail "the old key still works"
$PYTHON - "$AIO_DIR/kumo.conf" <<'PY' || fail "configparser refuses kumo.conf"
import configparser, sys
c = configparser.ConfigParser(interpolation=None, strict=True)
c.read(sys.argv[1])
assert c.get("filter:tempauth", "user_test_tester3") == "changed"
assert c.get("object-server", "replicator_interval") == "1"
assert c.get("object-server", "bind_ip") == "127.0.0.1"
PY
read -r TOKEN URL < <(get_token bench:bencher secret)
[ -n "$TOKEN" ] || fail "the user of local.conf cannot log in"
[ "$(status PUT "$URL/c" -H "X-Auth-Token: $TOKEN")" = 201 ] ||
	fail "the user of local.conf cannot create a container"

# passes a second apart: at least 4 in 6 s (the default is one per 30 s)
n0=$(grep -c "replication pass:" "$TMPDIR_TEST/aio.err" || true)
sleep 6
n1=$(grep -c "replication pass:" "$TMPDIR_TEST/aio.err" || true)
[ $((n1 - n0)) -ge 4 ] || fail "replication passes in 6 s: $((n1 - n0))"

# without local.conf, kumo.conf is kumo-aio's own again
rm "$AIO_DIR/local.conf"
restart_cluster
! grep -q "bencher" "$AIO_DIR/kumo.conf" || fail "local.conf's user kept"
[ -z "$(get_token bench:bencher secret)" ] || fail "the removed user logged in"
echo "401-aio-local-conf: ok"
