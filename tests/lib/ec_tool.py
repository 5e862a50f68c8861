#!/usr/bin/python3
# tests/lib/ec_tool.py: erasure-coded objects seen from the backends, for
# the EC integration tests (tests/lib/ec.sh). Policy 1 is 4+2
# liberasurecode_rs_vand with 1 MiB segments; the ring is
# object-1.ring.gz (kumo-ring get-nodes, hash suffix "test-suffix", empty
# prefix, as tests/lib/multinode.sh sets).
#
#   ec_tool.py archives NODE_DIR RING a/c/o
#       every archive file of the object on disk, one line each:
#       "<device> <index> <durable 0/1> <path>", sorted.
#   ec_tool.py primaries RING a/c/o
#       the object's primary devices in ring order (index i: the i-th).
#   ec_tool.py tombstones NODE_DIR RING a/c/o
#       every tombstone (.ts) of the object on disk: "<device> <path>".
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
import urllib.parse

POLICY = "1"


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


def object_files(node_dir, ring, path):
    """(device, file name, path) of every file of the object on disk."""
    info = nodes(ring, path)
    h = hashlib.md5(("/" + path + "test-suffix").encode()).hexdigest()
    rel = os.path.join("objects-1", str(info["partition"]), h[-3:], h)
    for hd in glob.glob(os.path.join(node_dir, "obj*", "*", rel)):
        dev = hd[len(node_dir):].split("/")[2]
        for f in os.listdir(hd):
            yield dev, f, os.path.join(hd, f)


def cmd_archives(node_dir, ring, path):
    rows = []
    for dev, f, full in object_files(node_dir, ring, path):
        if not f.endswith(".data") or "#" not in f:
            continue
        parts = f[:-len(".data")].split("#")
        rows.append("%s %s %d %s" % (dev, parts[1],
                                     1 if parts[-1] == "d" else 0, full))
    for r in sorted(rows):
        print(r)


def cmd_tombstones(node_dir, ring, path):
    for dev, f, full in sorted(object_files(node_dir, ring, path)):
        if f.endswith(".ts"):
            print("%s %s" % (dev, full))


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
    args = sys.argv[1:]
    cmd = args.pop(0)
    if cmd == "archives":
        cmd_archives(*args)
    elif cmd == "primaries":
        print(" ".join(p["device"] for p in nodes(*args)["primaries"]))
    elif cmd == "tombstones":
        cmd_tombstones(*args)
    elif cmd == "body":
        cmd_body(*args)
    elif cmd == "meta":
        cmd_meta(*args)
    else:
        sys.exit("unknown command " + cmd)


main()
