#!/bin/bash
# 413-cluster-concurrent-writers: 50 clients at once write and read the
# same 5 object names with different bodies (0..1 MiB), through kumo-aio.
#   - every PUT answers 201 (or 202, Swift's answer when a newer timestamp
#     is already stored), every GET 200 (or 404 before the name's first
#     PUT finished), nothing else;
#   - every GET returns one complete upload: its md5 is one of the bodies
#     sent to that name and equals its ETag and Content-Length;
#   - at the end each object is one complete upload that answered 201,
#     the same through a plain GET, X-Newest and on each of its three
#     replicas (read straight from the object server), and the container
#     listing shows it with that hash and size.
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/cluster.sh"
. "$(dirname "$0")/../lib/proxy.sh"
requires curl kumo-ring

start_cluster
read -r TOKEN URL < <(get_token test:tester testing)
[ -n "$TOKEN" ] || fail "no token"
[ "$(status PUT "$URL/c" -H "X-Auth-Token: $TOKEN")" = 201 ] ||
	fail "container PUT"

# the replicas' devices and partition of each name, for the final check
for n in 0 1 2 3 4; do
	kumo-ring get-nodes "$AIO_DIR/rings/object.ring.gz" --prefix '' \
		--suffix "$(cat "$AIO_DIR/hash_suffix")" "AUTH_test/c/n$n" |
		awk -v n="n$n" '/^Partition/ { p = $2 }
			/Device/ && !/Handoff/ { print n, p, $4 }'
done >"$TMPDIR_TEST/replicas"
[ "$(wc -l <"$TMPDIR_TEST/replicas")" = 15 ] || fail "no replica list"

$PYTHON - "$URL" "$TOKEN" "$((PROXY_PORT + 1))" "$TMPDIR_TEST/replicas" \
	<<'PY' || fail "concurrent writers"
import collections, hashlib, http.client, json, random, sys, threading
import time, urllib.parse

url, token, obj_port, replicas = sys.argv[1:5]
u = urllib.parse.urlsplit(url)
base = u.path + "/c/"
NAMES = ["n%d" % i for i in range(5)]
CLIENTS, ROUNDS = 50, 10

# every body is made before the clients start: body[(client, round)]
rnd = random.Random(413)
plan = {}
for c in range(CLIENTS):
    for r in range(ROUNDS):
        size = rnd.choice([0, 1, 4096, 65536, 200000, 1048576])
        plan[(c, r)] = (rnd.choice(NAMES), rnd.randbytes(size))
possible = collections.defaultdict(set)
for name, body in plan.values():
    possible[name].add(hashlib.md5(body).hexdigest())

lock = threading.Lock()
acked = collections.defaultdict(set)   # name -> md5s answered 201
errors, statuses = [], collections.Counter()


def request(method, path, body=None, headers=None, port=None):
    conn = http.client.HTTPConnection(u.hostname, port or u.port,
                                      timeout=60)
    try:
        h = {"X-Auth-Token": token}
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, resp, data
    finally:
        conn.close()


def check_body(what, name, resp, data, allowed):
    dig = hashlib.md5(data).hexdigest()
    etag = (resp.getheader("ETag") or "").strip('"')
    clen = resp.getheader("Content-Length")
    if dig not in allowed:
        return "%s %s: body md5 %s (%d bytes) is no upload of it" % (
            what, name, dig, len(data))
    if etag != dig:
        return "%s %s: ETag %s but body md5 %s" % (what, name, etag, dig)
    if clen is not None and int(clen) != len(data):
        return "%s %s: Content-Length %s, %d bytes" % (what, name, clen,
                                                      len(data))
    return None


def client(c):
    r2 = random.Random(c)
    for r in range(ROUNDS):
        name, body = plan[(c, r)]
        try:
            st, resp, _ = request("PUT", base + name, body,
                                  {"Content-Type": "application/x-test"})
        except (OSError, http.client.HTTPException) as e:
            st, resp = "exception %s" % e, None
        with lock:
            statuses["PUT %s" % st] += 1
            if st == 201:
                acked[name].add(hashlib.md5(body).hexdigest())
            elif st != 202:
                errors.append("PUT %s by client %d: %s" % (name, c, st))
        name = r2.choice(NAMES)
        with lock:
            had = bool(acked[name])
        try:
            st, resp, data = request("GET", base + name)
        except (OSError, http.client.HTTPException) as e:
            st, resp, data = "exception %s" % e, None, b""
        with lock:
            statuses["GET %s" % st] += 1
        if st == 200:
            bad = check_body("GET", name, resp, data, possible[name])
            if bad:
                with lock:
                    errors.append(bad)
        elif not (st == 404 and not had):
            with lock:
                errors.append("GET %s by client %d: %s" % (name, c, st))


start = time.monotonic()
ts = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("%d clients x %d rounds in %.1f s: %s" % (
    CLIENTS, ROUNDS, time.monotonic() - start, dict(statuses)))

final = {}
for name in NAMES:
    st, resp, data = request("GET", base + name)
    if st != 200:
        errors.append("final GET %s: %d" % (name, st))
        continue
    bad = check_body("final GET", name, resp, data, acked[name])
    if bad:
        errors.append(bad)
    final[name] = hashlib.md5(data).hexdigest(), len(data)
    st, resp, data2 = request("GET", base + name, headers={"X-Newest": "1"})
    if st != 200 or hashlib.md5(data2).hexdigest() != final[name][0]:
        errors.append("X-Newest GET %s: %d, not the same body" % (name, st))
    st, resp, _ = request("HEAD", base + name)
    if (resp.getheader("ETag") or "").strip('"') != final[name][0] or \
            int(resp.getheader("Content-Length") or -1) != final[name][1]:
        errors.append("HEAD %s: ETag %s Content-Length %s, GET gave %s" % (
            name, resp.getheader("ETag"), resp.getheader("Content-Length"),
            final[name]))

for line in open(replicas):
    name, part, dev = line.split()
    path = urllib.parse.quote("/%s/%s/AUTH_test/c/%s" % (dev, part, name))
    st, resp, data = request("GET", path, port=int(obj_port),
                             headers={"X-Backend-Storage-Policy-Index": "0"})
    dig = hashlib.md5(data).hexdigest()
    if st != 200 or name in final and dig != final[name][0]:
        errors.append("replica %s on %s: %d md5 %s, the proxy gives %s" % (
            name, dev, st, dig, final.get(name)))

# the listing converges to the objects
for attempt in range(50):
    st, resp, data = request("GET", base[:-1] + "?format=json")
    listed = {o["name"]: (o["hash"], o["bytes"]) for o in json.loads(data)}
    if listed == final:
        break
    time.sleep(0.1)
else:
    errors.append("listing %s, objects %s" % (listed, final))

for e in errors[:20]:
    print("ERROR:", e)
sys.exit(1 if errors else 0)
PY
curl -sf "http://127.0.0.1:$PROXY_PORT/healthcheck" >/dev/null ||
	fail "the proxy stopped answering"
echo "413-cluster-concurrent-writers: ok"
