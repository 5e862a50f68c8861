#!/usr/bin/python3
"""tests/lib/putstream_check.py: read back what putstream.py wrote.

    putstream_check.py URL TOKEN CONTAINER LOG [X-Newest]

Every PUT the log says answered 201 must GET back 200 with its exact
bytes (md5 and length) and an ETag equal to their md5. Prints a summary
("N puts: {status: count}") and one line per object that does not read
back; exits 1 if there is one.
"""
import collections
import hashlib
import http.client
import sys
import urllib.parse
from concurrent.futures import ThreadPoolExecutor


def get(url, token, path, newest):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        hdrs = {"X-Auth-Token": token}
        if newest:
            hdrs["X-Newest"] = "true"
        conn.request("GET", path, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, resp.getheader("ETag", ""), resp.read()
    except (OSError, http.client.HTTPException) as e:
        return 0, str(e), b""
    finally:
        conn.close()


def main():
    url, token, container, log = sys.argv[1:5]
    newest = len(sys.argv) > 5 and sys.argv[5] == "X-Newest"
    base = urllib.parse.urlsplit(url).path
    rows = [line.split() for line in open(log)]
    statuses = collections.Counter(r[1] for r in rows)
    print("%d puts: %s" % (len(rows), dict(statuses)))

    def check(row):
        name, st, md5, length = row
        if st != "201":
            return None
        got, etag, body = get(url, token, "%s/%s/%s" % (base, container,
                                                          name), newest)
        if got != 200:
            return "%s: answered 201 but GET gives %d %s" % (name, got,
                                                               etag)
        dig = hashlib.md5(body).hexdigest()
        if dig != md5 or len(body) != int(length):
            return "%s: bytes differ (%d bytes md5 %s, want %s bytes %s)" % (
                name, len(body), dig, length, md5)
        if etag.strip('"') != md5:
            return "%s: ETag %s, body md5 %s" % (name, etag, md5)
        return None

    with ThreadPoolExecutor(8) as ex:
        bad = [b for b in ex.map(check, rows) if b]
    for b in bad:
        print(b)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
