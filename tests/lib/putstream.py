#!/usr/bin/python3
"""tests/lib/putstream.py: a stream of object PUTs for the crash tests.

    putstream.py URL TOKEN CONTAINER SECONDS LOG [THREADS] [PREFIX]

THREADS writers (4) each PUT objects named PREFIX-T-N (Content-Length,
bodies of 1 KiB to 1 MiB of seeded random bytes sent in 64 KiB pieces)
one after another for SECONDS, and LOG gets one line per PUT:
"name status md5 length" (status 0 when the connection failed). Used by
tests/integration/412-*.sh; check the log with putstream_check.py.
"""
import hashlib
import http.client
import random
import sys
import threading
import time
import urllib.parse


def body_for(name):
    """The bytes a name is uploaded with (the checker rebuilds them)."""
    rnd = random.Random(name)
    n = rnd.choice([1024, 70000, 300000, 1048576])
    return rnd.randbytes(n)


def put(url, token, path, body):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.putrequest("PUT", path, skip_accept_encoding=True)
        conn.putheader("X-Auth-Token", token)
        conn.putheader("Content-Length", str(len(body)))
        conn.putheader("Content-Type", "application/octet-stream")
        conn.endheaders()
        for i in range(0, len(body), 65536):
            conn.send(body[i:i + 65536])
        resp = conn.getresponse()
        resp.read()
        return resp.status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        conn.close()


def main():
    url, token, container = sys.argv[1], sys.argv[2], sys.argv[3]
    seconds, log = float(sys.argv[4]), sys.argv[5]
    threads = int(sys.argv[6]) if len(sys.argv) > 6 else 4
    prefix = sys.argv[7] if len(sys.argv) > 7 else "o"
    base = urllib.parse.urlsplit(url).path
    lock = threading.Lock()
    lines = []
    stop = time.monotonic() + seconds

    def writer(t):
        n = 0
        while time.monotonic() < stop:
            name = "%s-%d-%d" % (prefix, t, n)
            n += 1
            body = body_for(name)
            st = put(url, token, "%s/%s/%s" % (base, container, name), body)
            with lock:
                lines.append("%s %d %s %d\n" % (
                    name, st, hashlib.md5(body).hexdigest(), len(body)))
            if st == 0:
                time.sleep(0.05)

    ts = [threading.Thread(target=writer, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    with open(log, "w") as f:
        f.writelines(lines)


if __name__ == "__main__":
    main()
