#!/usr/bin/python3
# tests/lib/repl_load.py STORAGE_URL TOKEN CONTAINER OP [N [FROM]] STATE:
# writes through the proxy for the replication tests, recording what each
# object should be in STATE (the format tests/lib/repl_check.py reads):
#   put N [FROM]        PUT o<FROM>..o<FROM+N-1> (FROM defaults to 0),
#                       bodies of 0..48 KiB (deterministic)
#   overwrite N [FROM]  PUT new bodies over those
#   delete N [FROM]     DELETE those
#   get          GET every object of STATE once; exits 1 on any answer
#                that is not what STATE says (200 with the MD5, or 404)
# Four connections work at once; any failed write exits 1.
import hashlib
import http.client
import os
import sys
import threading
import urllib.parse


def body(name, gen):
    seed = hashlib.sha256(("%s/%d" % (name, gen)).encode()).digest()
    size = int.from_bytes(seed[:2], "big") % (48 * 1024)
    return (seed * (size // len(seed) + 1))[:size]


def main():
    url, token, cont, op = sys.argv[1:5]
    n = int(sys.argv[5]) if op != "get" else 0
    first = int(sys.argv[6]) if len(sys.argv) == 8 else 0
    state_file = sys.argv[-1]
    u = urllib.parse.urlparse(url)
    state = {}
    if os.path.exists(state_file):
        for line in open(state_file):
            p = line.split()
            state[p[0]] = p[1:]
    base = u.path + "/" + cont + "/"
    acct = u.path.split("/")[-1]
    if op == "put":
        work = [("PUT", "o%05d" % i, 1) for i in range(first, first + n)]
    elif op == "overwrite":
        work = [("PUT", "o%05d" % i, 2) for i in range(first, first + n)]
    elif op == "delete":
        work = [("DELETE", "o%05d" % i, 0) for i in range(first, first + n)]
    else:
        work = [("GET", k.split("/")[-1], 0) for k in sorted(state)]
    errors = []
    lock = threading.Lock()

    def run(items):
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        for method, name, gen in items:
            key = "%s/%s/%s" % (acct, cont, name)
            b = body(name, gen) if method == "PUT" else None
            try:
                conn.request(method, base + name, body=b,
                             headers={"X-Auth-Token": token})
                r = conn.getresponse()
                got = r.read()
            except Exception as e:  # counted; a fresh connection goes on
                conn.close()
                conn = http.client.HTTPConnection(u.hostname, u.port,
                                                  timeout=60)
                with lock:
                    errors.append("%s %s: %s" % (method, name, e))
                continue
            with lock:
                if method == "PUT":
                    if r.status != 201:
                        errors.append("PUT %s: %d" % (name, r.status))
                    state[key] = ["live", hashlib.md5(b).hexdigest()]
                elif method == "DELETE":
                    if r.status != 204:
                        errors.append("DELETE %s: %d" % (name, r.status))
                    state[key] = ["deleted"]
                else:
                    want = state[key]
                    if want[0] == "live" and (
                            r.status != 200 or
                            hashlib.md5(got).hexdigest() != want[1]):
                        errors.append("GET %s: %d" % (name, r.status))
                    if want[0] == "deleted" and r.status != 404:
                        errors.append("GET %s (deleted): %d" %
                                      (name, r.status))
        conn.close()

    threads = [threading.Thread(target=run, args=(work[i::4],))
               for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if op != "get":
        with open(state_file + ".tmp", "w") as f:
            for k in sorted(state):
                f.write(" ".join([k] + state[k]) + "\n")
        os.rename(state_file + ".tmp", state_file)
    for e in errors[:10]:
        print(e)
    sys.exit(1 if errors else 0)


main()
