#!/usr/bin/python3
# tests/lib/fuse_crash.py: writer and checker of the crash test (603).
#   fuse_crash.py write DIR JOURNAL --seed N [--seconds S]
#   fuse_crash.py check DIR JOURNAL --seed N
# "write" runs numbered steps in DIR, drawn from a generator seeded with N:
#   data I   10-30 pwrites at random offsets into dI (3 files, 8 MiB span),
#            then fsync(dI)
#   rename   write cur.tmp (header "gen G len L sha256 H" + L random bytes),
#            fsync it, rename it over cur, fsync the directory
#   mkdir    mkdir dirs/dG, fsync dirs
# After a step is durable its number goes into JOURNAL (local disk, fsynced)
# and only then does the next step start. The writer stops at the first
# error (the mount was killed) or after --seconds.
# "check" replays the same steps: with K the last journaled step, every
# step up to K must be present and step K+1 may be present in part: the
# bytes of dI that K+1 did not touch equal the model, st_size lies between
# the sizes before and after K+1, cur is a whole generation (the last
# journaled one or K+1's), dirs/ holds every journaled dG and nothing
# unknown, and every name in the tree can be looked up and read.
import argparse
import hashlib
import os
import random
import sys
import time

SPAN = 8 << 20
NDATA = 3


def steps(seed):
    """Yield (kind, arg) for step 0, 1, ... from the seed."""
    rng = random.Random(seed)
    gen = 0
    while True:
        x = rng.random()
        if x < 0.6:
            i = rng.randrange(NDATA)
            writes = []
            for _ in range(rng.randrange(10, 31)):
                off = rng.randrange(0, SPAN)
                writes.append((off, rng.randbytes(rng.randrange(1, 65536))))
            yield "data", (i, writes)
        elif x < 0.85:
            gen += 1
            payload = rng.randbytes(rng.randrange(1, 200000))
            yield "rename", (gen, payload)
        else:
            gen += 1
            yield "mkdir", gen


def cur_bytes(gen, payload):
    h = b"gen %d len %d sha256 %s\n" % (
        gen, len(payload), hashlib.sha256(payload).hexdigest().encode())
    return h + payload


def write(a):
    os.makedirs(os.path.join(a.dir, "dirs"), exist_ok=True)
    fds = [os.open(os.path.join(a.dir, "d%d" % i), os.O_RDWR | os.O_CREAT, 0o644)
           for i in range(NDATA)]
    j = os.open(a.journal, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
    end = time.monotonic() + a.seconds
    k = -1
    try:
        for k, (kind, arg) in enumerate(steps(a.seed)):
            if time.monotonic() > end:
                break
            if kind == "data":
                i, writes = arg
                for off, data in writes:
                    os.pwrite(fds[i], data, off)
                os.fsync(fds[i])
            elif kind == "rename":
                gen, payload = arg
                tmp = os.path.join(a.dir, "cur.tmp")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.write(fd, cur_bytes(gen, payload))
                os.fsync(fd)
                os.close(fd)
                os.rename(tmp, os.path.join(a.dir, "cur"))
                dfd = os.open(a.dir, os.O_RDONLY | os.O_DIRECTORY)
                os.fsync(dfd)
                os.close(dfd)
            else:
                d = os.path.join(a.dir, "dirs")
                os.mkdir(os.path.join(d, "d%d" % arg))
                dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
                os.fsync(dfd)
                os.close(dfd)
            os.write(j, b"%d\n" % k)
            os.fsync(j)
    except OSError as e:
        print("writer stopped at step %d: %s" % (k, e))
        return 0
    print("writer ran out of time after %d steps" % k)
    return 0


def check(a):
    lines = open(a.journal).read().split()
    K = int(lines[-1]) if lines else -1
    model = [bytearray() for _ in range(NDATA)]
    cur_ok = set()          # generations cur may hold
    last_gen = None
    dirs_must, dirs_may = set(), set()
    touched = None          # (file, list of (off, len)) of step K+1
    before = None
    bad = []
    for k, (kind, arg) in enumerate(steps(a.seed)):
        if k > K + 1:
            break
        inflight = k == K + 1
        if kind == "data":
            i, writes = arg
            if inflight:
                touched = (i, [(o, len(d)) for o, d in writes])
                before = len(model[i])
                after = max([before] + [o + len(d) for o, d in writes])
                continue
            m = model[i]
            for off, data in writes:
                if len(m) < off + len(data):
                    m.extend(b"\0" * (off + len(data) - len(m)))
                m[off:off + len(data)] = data
        elif kind == "rename":
            gen, payload = arg
            if inflight:
                cur_ok.add(gen)
            else:
                last_gen = gen
        else:
            (dirs_may if inflight else dirs_must).add("d%d" % arg)
    if last_gen is not None:
        cur_ok.add(last_gen)
    print("journal: %d steps durable" % (K + 1))
    for i in range(NDATA):
        with open(os.path.join(a.dir, "d%d" % i), "rb") as f:
            got = f.read()
        want = bytes(model[i])
        mask = bytearray(b"\1" * max(len(got), len(want)))
        if touched and touched[0] == i:
            for off, ln in touched[1]:
                mask[off:off + ln] = b"\0" * ln
            if not before <= len(got) <= after:
                bad.append("d%d: size %d outside [%d, %d]" % (i, len(got), before, after))
        elif len(got) != len(want):
            bad.append("d%d: size %d, fsynced size %d" % (i, len(got), len(want)))
        n = min(len(got), len(want))
        for off in range(n):
            if mask[off] and got[off] != want[off]:
                bad.append("d%d: fsynced byte at %d is %d, expected %d" % (
                    i, off, got[off], want[off]))
                break
        else:
            for off in range(n, len(want)):
                if mask[off]:
                    bad.append("d%d: fsynced byte at %d missing (size %d)" % (
                        i, off, len(got)))
                    break
    p = os.path.join(a.dir, "cur")
    if cur_ok:
        if not os.path.exists(p):
            bad.append("cur missing; expected generation %s" % sorted(cur_ok))
        else:
            data = open(p, "rb").read()
            head, _, payload = data.partition(b"\n")
            f = head.split()
            ok = (len(f) == 6 and int(f[1]) in cur_ok and int(f[3]) == len(payload)
                  and hashlib.sha256(payload).hexdigest().encode() == f[5])
            if not ok:
                bad.append("cur is not a whole generation of %s: header %r, %d bytes" % (
                    sorted(cur_ok), head[:80], len(payload)))
    names = set(os.listdir(os.path.join(a.dir, "dirs")))
    if not dirs_must <= names:
        bad.append("dirs/: fsynced directories missing: %s" % sorted(dirs_must - names))
    if not names <= dirs_must | dirs_may:
        bad.append("dirs/: unknown entries %s" % sorted(names - dirs_must - dirs_may))
    top = set(os.listdir(a.dir))
    extra = top - {"dirs", "cur", "cur.tmp"} - {"d%d" % i for i in range(NDATA)}
    if extra:
        bad.append("unknown names at the top: %s" % sorted(extra))
    for root, ds, fs in os.walk(a.dir):
        for n in ds + fs:
            try:
                st = os.lstat(os.path.join(root, n))
                if not os.path.isdir(os.path.join(root, n)):
                    with open(os.path.join(root, n), "rb") as f:
                        if len(f.read()) != st.st_size:
                            bad.append("%s: read length != st_size" % n)
            except OSError as e:
                bad.append("%s listed but %s" % (os.path.join(root, n), e))
    for b in bad:
        print("FAIL:", b)
    if not bad:
        print("every fsynced byte, rename and mkdir present; tree consistent")
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["write", "check"])
    ap.add_argument("dir")
    ap.add_argument("journal")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--seconds", type=float, default=60)
    a = ap.parse_args()
    return write(a) if a.mode == "write" else check(a)


if __name__ == "__main__":
    sys.exit(main())
