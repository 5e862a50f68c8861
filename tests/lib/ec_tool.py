#!/usr/bin/python3
# tests/lib/ec_tool.py: erasure-coded objects seen from the backends, for
# the EC integration tests (tests/lib/ec.sh). Policy 1 is 4+2
# liberasurecode_rs_vand with 1 MiB segments; the ring is
# object-1.ring.gz (kumo-ring get-nodes, hash suffix "test-suffix", empty
# prefix, as tests/lib/multinode.sh sets). Archives are built with
# Debian's pyeclib (the same liberasurecode), in Swift's layout: archive i
# is fragment i of every segment, in order.
#
#   ec_tool.py put RING a/c/o FILE [--down DEV,...]
#       PUT archive i of FILE to primary i (to the next handoff instead
#       when the primary's device is listed in --down), as the proxy does,
#       then COMMIT each: the archives are durable. Prints the timestamp.
#   ec_tool.py get RING a/c/o OUT [--down DEV,...]
#       GET k archives from the devices not listed (X-Backend-Ec-Frag-
#       Index), decode them segment by segment, write the object to OUT.
#   ec_tool.py archives NODE_DIR RING a/c/o
#       every archive file of the object on disk, one line each:
#       "<device> <index> <durable 0/1> <path>", sorted.
#   ec_tool.py body FILE OUT
#       the body of an object file (what precedes its metadata and footer,
#       objectd/diskfile.c) into OUT: the fragment archive's bytes.
#   ec_tool.py meta RING a/c/o DEVICE INDEX
#       what a backend HEAD of archive INDEX on DEVICE answers that the
#       archive keeps (ETag, lengths, type, timestamp, user metadata and
#       sysmeta), one sorted "Name: value" line each.
import glob
import hashlib
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.parse

from pyeclib.ec_iface import ECDriver

K, M, SEG = 4, 2, 1048576
SCHEME = "liberasurecode_rs_vand 4+2"
POLICY = "1"


def driver():
    return ECDriver(k=K, m=M, ec_type="liberasurecode_rs_vand")


def nodes(ring, path, handoffs=4):
    out = subprocess.run(
        ["kumo-ring", "get-nodes", ring, "--prefix", "", "--suffix",
         "test-suffix", "--json", "--handoffs", str(handoffs), path],
        capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def request(node, method, part, path, headers, body=b""):
    conn = http.client.HTTPConnection(node["ip"], node["port"], timeout=30)
    url = "/%s/%s/%s" % (node["device"], part, urllib.parse.quote(path))
    headers = dict(headers)
    headers["X-Backend-Storage-Policy-Index"] = POLICY
    conn.request(method, url, body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), data


def archives_of(data):
    ec = driver()
    segs = [data[i:i + SEG] for i in range(0, len(data), SEG)] or [b""]
    arch = [bytearray() for _ in range(K + M)]
    for s in segs:
        for i, f in enumerate(ec.encode(s)):
            arch[i] += f
    return [bytes(a) for a in arch]


def cmd_put(ring, path, src, down):
    data = open(src, "rb").read()
    info = nodes(ring, path)
    hand = [h for h in info["handoffs"] if h["device"] not in down]
    ts = "%.5f" % time.time()
    etag = hashlib.md5(data).hexdigest()
    targets = []
    for i, arch in enumerate(archives_of(data)):
        node = info["primaries"][i]
        if node["device"] in down:
            node = hand.pop(0)
        h = {"X-Timestamp": ts, "Content-Type": "application/octet-stream",
             "Content-Length": str(len(arch)),
             "X-Object-Sysmeta-Ec-Frag-Index": str(i),
             "X-Object-Sysmeta-Ec-Scheme": SCHEME,
             "X-Object-Sysmeta-Ec-Segment-Size": str(SEG),
             "X-Object-Meta-Color": "blue"}
        st, _, body = request(node, "PUT", info["partition"], path, h, arch)
        if st != 201:
            sys.exit("PUT of archive %d to %s: %d %s" %
                     (i, node["device"], st, body))
        targets.append((i, node))
    for i, node in targets:
        h = {"X-Timestamp": ts, "X-Object-Sysmeta-Ec-Frag-Index": str(i),
             "X-Object-Sysmeta-Ec-Etag": etag,
             "X-Object-Sysmeta-Ec-Content-Length": str(len(data)),
             "X-Backend-Container-Update-Override-Etag": etag,
             "X-Backend-Container-Update-Override-Size": str(len(data))}
        st, _, body = request(node, "COMMIT", info["partition"], path, h)
        if st != 201:
            sys.exit("COMMIT of archive %d on %s: %d %s" %
                     (i, node["device"], st, body))
    print(ts)


def cmd_get(ring, path, out, down):
    info = nodes(ring, path)
    frags = {}
    for i, node in enumerate(info["primaries"]):
        if node["device"] in down or len(frags) == K:
            continue
        try:
            st, h, body = request(node, "GET", info["partition"], path,
                                  {"X-Backend-Ec-Frag-Index": str(i)})
        except OSError:
            continue
        if st == 200:
            frags[i] = (body, h)
    if len(frags) < K:
        sys.exit("only %d archives readable" % len(frags))
    h = next(iter(frags.values()))[1]
    length = int(h["X-Object-Sysmeta-Ec-Content-Length"])
    ec = driver()
    full = len(ec.encode(b"\0" * SEG)[0])
    nseg = max(1, (length + SEG - 1) // SEG)
    result = bytearray()
    off = 0
    for s in range(nseg):
        seglen = SEG if s < nseg - 1 else length - SEG * (nseg - 1)
        flen = full if s < nseg - 1 else len(ec.encode(b"\0" * seglen)[0])
        result += ec.decode([b[off:off + flen] for b, _ in frags.values()])
        off += flen
    open(out, "wb").write(result)


def cmd_archives(node_dir, ring, path):
    info = nodes(ring, path)
    h = hashlib.md5(("/" + path + "test-suffix").encode()).hexdigest()
    rel = os.path.join("objects-1", str(info["partition"]), h[-3:], h)
    rows = []
    for hd in glob.glob(os.path.join(node_dir, "obj*", "*", rel)):
        dev = hd[len(node_dir):].split("/")[2]
        for f in os.listdir(hd):
            if not f.endswith(".data") or "#" not in f:
                continue
            parts = f[:-len(".data")].split("#")
            rows.append("%s %s %d %s" % (dev, parts[1],
                                         1 if parts[-1] == "d" else 0,
                                         os.path.join(hd, f)))
    for r in sorted(rows):
        print(r)


def cmd_body(path, out):
    data = open(path, "rb").read()
    body_len = int.from_bytes(data[-24 + 8:-24 + 16], "big")
    open(out, "wb").write(data[:body_len])


KEEP = ("etag", "content-length", "content-type", "x-timestamp")


def cmd_meta(ring, path, dev, index):
    info = nodes(ring, path)
    node = [n for n in info["primaries"] + info["handoffs"]
            if n["device"] == dev][0]
    st, h, _ = request(node, "HEAD", info["partition"], path,
                       {"X-Backend-Ec-Frag-Index": index})
    if st != 200:
        sys.exit("HEAD of index %s on %s: %d" % (index, dev, st))
    for k in sorted(h, key=str.lower):
        lk = k.lower()
        if lk in KEEP or lk.startswith("x-object-meta-") or \
                lk.startswith("x-object-sysmeta-"):
            print("%s: %s" % (lk, h[k]))


def main():
    args = [a for a in sys.argv[1:]]
    down = []
    if "--down" in args:
        i = args.index("--down")
        down = args[i + 1].split(",")
        del args[i:i + 2]
    cmd = args.pop(0)
    if cmd == "put":
        cmd_put(*args, down)
    elif cmd == "get":
        cmd_get(*args, down)
    elif cmd == "archives":
        cmd_archives(*args)
    elif cmd == "body":
        cmd_body(*args)
    elif cmd == "meta":
        cmd_meta(*args)
    else:
        sys.exit("unknown command " + cmd)


main()
