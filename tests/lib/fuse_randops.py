#!/usr/bin/python3
# tests/lib/fuse_randops.py: the random-operation checker of test 601.
#   fuse_randops.py run    MOUNTDIR REFDIR [--seed N] [--ops N] [--files N]
#   fuse_randops.py verify MOUNTDIR REFDIR
# "run" opens --files files in MOUNTDIR and the same names in REFDIR (a
# local disk) and applies --ops random operations to both: pwrite, pread,
# ftruncate and truncate by path, fallocate (allocate, keep size), punch
# hole, mmap reads, O_DIRECT reads (when the mount lets a file be opened
# with O_DIRECT), fsync/fdatasync, fstat and close/reopen. Offsets fall in a
# few regions, some beyond 4 GiB, so the files are sparse. Every read from
# the mount is compared with the same read from the reference; the first
# mismatch (or an error the reference did not have) prints the seed, the
# operation and the last operations, and exits 1. The seed is printed first;
# --seed N replays the same sequence. "verify" compares the regions of every
# file again (after a remount) and the sizes.
import argparse
import collections
import ctypes
import ctypes.util
import mmap
import os
import random
import sys
import time

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
# where operations land: each region is REGION bytes from its base
REGION = 2 * MiB
BASES = [0, 64 * MiB, 4 * GiB - MiB, 5 * GiB + 12345]
# sizes truncate picks from: small, inside each region, past the last
FALLOC_FL_KEEP_SIZE = 1
FALLOC_FL_PUNCH_HOLE = 2

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64,
                           ctypes.c_int64]


def fallocate(fd, mode, off, length):
    if libc.fallocate(fd, mode, off, length) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


class Mismatch(Exception):
    pass


class Checker:
    def __init__(self, mnt, ref, seed, nfiles, prefix="f"):
        self.mnt, self.ref = mnt, ref
        self.rng = random.Random(seed)
        self.seed = seed
        self.names = ["%s%d" % (prefix, i) for i in range(nfiles)]
        self.log = collections.deque(maxlen=60)
        self.fd = {}    # name -> (mount fd, reference fd)
        self.dfd = {}   # name -> mount fd opened O_DIRECT
        self.direct = True
        self.counts = collections.Counter()
        # an aligned buffer for O_DIRECT reads
        self.dbuf = mmap.mmap(-1, 1 * MiB)
        for n in self.names:
            self.open(n, os.O_CREAT | os.O_TRUNC)

    def open(self, n, extra=0):
        m = os.open(os.path.join(self.mnt, n), os.O_RDWR | extra, 0o644)
        r = os.open(os.path.join(self.ref, n), os.O_RDWR | extra, 0o644)
        self.fd[n] = (m, r)
        if self.direct and n not in self.dfd:
            try:
                self.dfd[n] = os.open(os.path.join(self.mnt, n),
                                      os.O_RDONLY | os.O_DIRECT)
            except OSError as e:
                print("O_DIRECT open refused (%s): no direct reads" % e)
                self.direct = False

    def close(self, n):
        m, r = self.fd.pop(n)
        os.close(m)
        os.close(r)

    def offset(self, span=REGION):
        base = self.rng.choice(BASES)
        return base + self.rng.randrange(0, span)

    def length(self):
        # mostly small, a few up to 256 KiB
        if self.rng.random() < 0.9:
            return self.rng.randrange(1, 16 * KiB)
        return self.rng.randrange(1, 256 * KiB)

    def fail(self, msg):
        raise Mismatch(msg)

    def same_errors(self, what, fm, fr):
        """Run fm (mount) and fr (reference); both must succeed or fail with
        the same errno. Returns (result mount, result reference)."""
        em = er = None
        rm = rr = None
        try:
            rr = fr()
        except OSError as e:
            er = e.errno
        try:
            rm = fm()
        except OSError as e:
            em = e.errno
        if em != er:
            self.fail("%s: mount errno %s, reference errno %s" % (
                what, em and os.strerror(em), er and os.strerror(er)))
        return rm, rr

    def compare(self, what, off, got, want):
        if got == want:
            return
        i = 0
        while i < min(len(got), len(want)) and got[i] == want[i]:
            i += 1
        self.fail("%s: %d bytes read, %d expected; first difference at "
                  "file offset %d (mount %r, reference %r)" % (
                      what, len(got), len(want), off + i,
                      got[i:i + 8], want[i:i + 8]))

    def step(self, k):
        rng = self.rng
        n = rng.choice(self.names)
        m, r = self.fd[n]
        x = rng.random()
        if x < 0.30:
            off, ln = self.offset(), self.length()
            data = rng.randbytes(ln)
            self.log.append("%d pwrite %s off=%d len=%d" % (k, n, off, ln))
            wm, wr = self.same_errors("pwrite", lambda: os.pwrite(m, data, off),
                                      lambda: os.pwrite(r, data, off))
            if wm != wr:
                self.fail("pwrite wrote %s bytes, reference %s" % (wm, wr))
            op = "pwrite"
        elif x < 0.60:
            off, ln = self.offset(REGION + 64 * KiB), self.length()
            self.log.append("%d pread %s off=%d len=%d" % (k, n, off, ln))
            gm, gr = self.same_errors("pread", lambda: os.pread(m, ln, off),
                                      lambda: os.pread(r, ln, off))
            self.compare("pread %s" % n, off, gm, gr)
            op = "pread"
        elif x < 0.68:
            off, ln = self.offset(), self.length()
            size = os.fstat(r).st_size
            self.log.append("%d mmap-read %s off=%d len=%d (size %d)" % (
                k, n, off, ln, size))
            if off < size:
                ln = min(ln, size - off)
                start = off - off % mmap.ALLOCATIONGRANULARITY
                span = off - start + ln
                try:
                    mm = mmap.mmap(m, span, mmap.MAP_SHARED, mmap.PROT_READ,
                                   offset=start)
                except OSError as e:
                    self.fail("mmap of %s at %d: %s" % (n, start, e))
                got = mm[off - start:off - start + ln]
                mm.close()
                self.compare("mmap read %s" % n, off, got, os.pread(r, ln, off))
            op = "mmap"
        elif x < 0.74 and self.direct:
            off = self.offset() & ~4095
            ln = (rng.randrange(1, 64) * 4 * KiB)
            self.log.append("%d odirect-read %s off=%d len=%d" % (k, n, off, ln))
            view = memoryview(self.dbuf)[:ln]
            gm, gr = self.same_errors("O_DIRECT pread",
                                      lambda: os.preadv(self.dfd[n], [view], off),
                                      lambda: os.pread(r, ln, off))
            self.compare("O_DIRECT read %s" % n, off, bytes(view[:gm]), gr)
            view.release()
            op = "odirect"
        elif x < 0.79:
            b = rng.choice(BASES + [0, 0])
            size = b + rng.randrange(0, REGION + 4096)
            byname = rng.random() < 0.3
            self.log.append("%d %s %s size=%d" % (
                k, "truncate" if byname else "ftruncate", n, size))
            if byname:
                self.same_errors(
                    "truncate", lambda: os.truncate(os.path.join(self.mnt, n), size),
                    lambda: os.truncate(os.path.join(self.ref, n), size))
            else:
                self.same_errors("ftruncate", lambda: os.ftruncate(m, size),
                                 lambda: os.ftruncate(r, size))
            op = "truncate"
        elif x < 0.84:
            off, ln = self.offset(), self.length() * 8
            keep = rng.random() < 0.5
            mode = FALLOC_FL_KEEP_SIZE if keep else 0
            self.log.append("%d fallocate %s mode=%d off=%d len=%d" % (
                k, n, mode, off, ln))
            self.same_errors("fallocate", lambda: fallocate(m, mode, off, ln),
                             lambda: fallocate(r, mode, off, ln))
            op = "fallocate"
        elif x < 0.90:
            off, ln = self.offset(), self.length() * 8
            self.log.append("%d punch-hole %s off=%d len=%d" % (k, n, off, ln))
            mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
            self.same_errors("punch hole", lambda: fallocate(m, mode, off, ln),
                             lambda: fallocate(r, mode, off, ln))
            op = "punch"
        elif x < 0.93:
            self.log.append("%d fstat %s" % (k, n))
            sm, sr = os.fstat(m), os.fstat(r)
            if sm.st_size != sr.st_size:
                self.fail("fstat %s: st_size %d, reference %d" % (
                    n, sm.st_size, sr.st_size))
            op = "fstat"
        elif x < 0.9301:
            # rare: an fsync commits every dirty chunk of the mount
            data = rng.random() < 0.5
            self.log.append("%d %s %s" % (k, "fdatasync" if data else "fsync", n))
            (os.fdatasync if data else os.fsync)(m)
            op = "fsync"
        else:
            self.log.append("%d reopen %s" % (k, n))
            self.close(n)
            self.open(n)
            op = "reopen"
        self.counts[op] += 1

    def verify(self, what):
        for n in self.names:
            self.verify_file(what, n)

    def verify_file(self, what, n):
        pm, pr = os.path.join(self.mnt, n), os.path.join(self.ref, n)
        sm, sr = os.stat(pm).st_size, os.stat(pr).st_size
        if sm != sr:
            self.fail("%s: %s st_size %d, reference %d" % (what, n, sm, sr))
        with open(pm, "rb", buffering=0) as fm, open(pr, "rb", buffering=0) as fr:
            for b in BASES:
                for off in range(b, b + REGION + 256 * KiB, 256 * KiB):
                    gm = os.pread(fm.fileno(), 256 * KiB, off)
                    gr = os.pread(fr.fileno(), 256 * KiB, off)
                    self.compare("%s: read of %s" % (what, n), off, gm, gr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["run", "verify"])
    ap.add_argument("mnt")
    ap.add_argument("ref")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--ops", type=int, default=100000)
    ap.add_argument("--files", type=int, default=3,
                    help="files per process")
    ap.add_argument("--procs", type=int, default=2,
                    help="processes, each with its own files and seed+i")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(2**32)
    if a.mode == "verify":
        c = Checker.__new__(Checker)
        c.mnt, c.ref, c.seed = a.mnt, a.ref, seed
        c.names = sorted(os.listdir(a.ref))
        c.log = collections.deque()
        try:
            c.verify("after remount")
        except Mismatch as e:
            print("MISMATCH:", e)
            return 1
        print("verify: %d files equal to the reference" % len(c.names))
        return 0
    print("seed %d (replay: fuse_randops.py run MNT REF --seed %d --ops %d "
          "--files %d --procs %d)" % (seed, seed, a.ops, a.files, a.procs),
          flush=True)
    t0 = time.monotonic()
    pids = []
    for p in range(a.procs):
        pid = os.fork()
        if pid == 0:
            os._exit(worker(a, seed + p, "p%d-f" % p, a.ops // a.procs))
        pids.append(pid)
    bad = 0
    for pid in pids:
        if os.waitpid(pid, 0)[1] != 0:
            bad = 1
    if not bad:
        print("%d operations in %d processes in %.1f s, no mismatch" % (
            a.ops // a.procs * a.procs, a.procs, time.monotonic() - t0))
    return bad


def worker(a, seed, prefix, ops):
    """One process: ops operations on its own files; 0 or 1."""
    c = Checker(a.mnt, a.ref, seed, a.files, prefix)
    t0 = time.monotonic()
    k = 0
    try:
        for k in range(ops):
            c.step(k)
        c.verify("final check")
        for n in list(c.fd):
            os.fsync(c.fd[n][0])
            c.close(n)
    except (Mismatch, OSError) as e:
        print("MISMATCH at operation %d of process seed %d: %s" % (k, seed, e))
        print("last operations:")
        for line in c.log:
            print("   ", line)
        sys.stdout.flush()
        return 1
    print("process seed %d: %d operations in %.1f s: %s" % (
        seed, ops, time.monotonic() - t0,
        ", ".join("%s %d" % kv for kv in sorted(c.counts.items()))))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
