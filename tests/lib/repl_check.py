#!/usr/bin/python3
# tests/lib/repl_check.py RING NODE_DIR STATE [--exclusive]: check on disk,
# through the ring (kumo-ring get-nodes --json, hash suffix "test-suffix",
# empty prefix, as tests/lib/multinode.sh sets), that every object of
# STATE is where the ring puts it, in the state it should have:
#   STATE lines: "<account>/<container>/<object> live <md5 of body>"
#                "<account>/<container>/<object> deleted"
#   live:    each primary device holds the object's hash dir whose newest
#            file is a .data with that body MD5, and the .data files of
#            the primaries are byte-identical (body, metadata, footer);
#   deleted: no primary holds a .data, and each holds the tombstone (or
#            nothing at all once it is reclaimed, with --reclaimed).
# Devices are found as NODE_DIR/*/<device>. With --exclusive, no other
# device may hold any file of the object (handoffs were pushed and
# removed: placement matches the ring). Prints one line per problem and a
# summary; exits 1 on any problem.
import glob
import hashlib
import json
import os
import subprocess
import sys

FOOTER = 24


def body_md5(path):
    with open(path, "rb") as f:
        data = f.read()
    body_len = int.from_bytes(data[-FOOTER + 8:-FOOTER + 16], "big")
    return hashlib.md5(data[:body_len]).hexdigest(), data


def newest(files):
    # newest timestamp first; at equal times .ts before .meta before .data
    rank = {".ts": 0, ".meta": 1, ".data": 2}
    keyed = []
    for f in files:
        ts, ext = os.path.splitext(f)
        if ext in rank:
            keyed.append((ts, -rank[ext], f))
    keyed.sort(reverse=True)
    for ts, r, f in keyed:
        if not f.endswith(".meta"):
            return f
    return None


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    exclusive = "--exclusive" in sys.argv
    reclaimed = "--reclaimed" in sys.argv
    ring, node_dir, state_file = args
    state = []
    for line in open(state_file):
        parts = line.rstrip("\n").split(" ")
        if len(parts) >= 2:
            state.append(parts)
    devdirs = {}
    for d in glob.glob(os.path.join(node_dir, "obj*", "*")):
        if os.path.isdir(os.path.join(d, "objects")) or \
                os.path.basename(d).startswith("d"):
            devdirs.setdefault(os.path.basename(d), d)
    out = subprocess.run(
        ["kumo-ring", "get-nodes", ring, "--prefix", "", "--suffix",
         "test-suffix", "--json", "-"],
        input="".join(s[0] + "\n" for s in state), capture_output=True,
        text=True, check=True).stdout.splitlines()
    problems = 0

    def bad(msg):
        nonlocal problems
        problems += 1
        if problems <= 20:
            print(msg)

    for s, line in zip(state, out):
        info = json.loads(line)
        path = "/" + s[0]
        h = hashlib.md5((path + "test-suffix").encode()).hexdigest()
        rel = os.path.join("objects", str(info["partition"]), h[-3:], h)
        prim = [p["device"] for p in info["primaries"]]
        datas = []
        for dev in prim:
            hd = os.path.join(devdirs.get(dev, "/nonexistent"), rel)
            files = os.listdir(hd) if os.path.isdir(hd) else []
            top = newest(files)
            if s[1] == "live":
                if not top or not top.endswith(".data"):
                    bad("%s: %s holds %s, not a .data" % (path, dev, top))
                    continue
                md5, data = body_md5(os.path.join(hd, top))
                if md5 != s[2]:
                    bad("%s: %s body MD5 %s, want %s" % (path, dev, md5,
                                                        s[2]))
                datas.append(data)
            else:
                if top and not top.endswith(".ts"):
                    bad("%s: deleted, but %s holds %s" % (path, dev, top))
                elif not top and not reclaimed:
                    bad("%s: deleted, but %s has no tombstone" % (path, dev))
                elif top and reclaimed:
                    bad("%s: tombstone not reclaimed on %s" % (path, dev))
        if datas and any(d != datas[0] for d in datas):
            bad("%s: the replicas' files differ" % path)
        if exclusive:
            for dev, dd in devdirs.items():
                if dev in prim:
                    continue
                hd = os.path.join(dd, rel)
                if os.path.isdir(hd) and os.listdir(hd):
                    bad("%s: %s (not a primary) still holds %s" %
                        (path, dev, os.listdir(hd)))
    print("%d objects checked, %d problems" % (len(state), problems))
    sys.exit(1 if problems else 0)


main()
