#!/usr/bin/python3
# tests/lib/fuse_posix.py: the POSIX behaviour suite of test 602.
#   fuse_posix.py DIR
# Runs as root in DIR (an empty directory on the filesystem under test) and
# checks, one named case at a time: regular files, directories, hard links,
# symlinks, rename (over a file, of directories, RENAME_NOREPLACE and
# RENAME_EXCHANGE through renameat2), chmod/chown/utimens with nanosecond
# timestamps, truncate/ftruncate, fallocate, a 100 GiB sparse file, xattrs,
# statfs, O_APPEND, O_EXCL, O_TRUNC, a file kept open after unlink,
# fsync/fdatasync, permissions enforced for the user nobody (a forked child
# that drops to uid/gid 65534), st_size/st_blocks/mtime/ctime. Every case
# runs even after a failure; each failed assertion prints its case and
# message; the exit status is 1 if any failed. Run it on a local directory
# to see that the expectations are Linux's.
import ctypes
import ctypes.util
import errno
import os
import stat
import sys
import time
import traceback

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                           ctypes.c_char_p, ctypes.c_uint]
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64,
                           ctypes.c_int64]
AT_FDCWD = -100
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE = 1, 2
NOBODY = 65534
GiB = 1 << 30

failures = []
current = ["?"]


class CaseFailed(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise CaseFailed(msg)


def expect_errno(want, fn, *args, what=None):
    try:
        fn(*args)
    except OSError as e:
        check(e.errno == want, "%s: errno %s, expected %s" % (
            what or fn.__name__, errno.errorcode.get(e.errno, e.errno),
            errno.errorcode[want]))
        return
    raise CaseFailed("%s succeeded, expected %s" % (
        what or fn.__name__, errno.errorcode[want]))


def renameat2(a, b, flags):
    if libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), flags):
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def fallocate(fd, mode, off, ln):
    if libc.fallocate(fd, mode, off, ln):
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def put(path, data, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.write(fd, data)
    os.close(fd)


def get(path):
    with open(path, "rb") as f:
        return f.read()


cases = []


def case(fn):
    cases.append(fn)
    return fn


@case
def regular_file():
    data = os.urandom(300000)
    put("reg", data)
    check(get("reg") == data, "read back differs from what was written")
    st = os.stat("reg")
    check(stat.S_ISREG(st.st_mode), "not S_ISREG: %o" % st.st_mode)
    check(st.st_size == len(data), "st_size %d, wrote %d" % (st.st_size, len(data)))
    check(st.st_nlink == 1, "st_nlink %d, expected 1" % st.st_nlink)
    check(st.st_blocks * 512 >= len(data),
          "st_blocks %d * 512 < size %d" % (st.st_blocks, len(data)))
    os.unlink("reg")
    check(not os.path.exists("reg"), "still there after unlink")
    expect_errno(errno.ENOENT, os.stat, "reg")
    expect_errno(errno.ENOENT, os.unlink, "reg")


@case
def directories():
    os.mkdir("d", 0o755)
    check(stat.S_ISDIR(os.stat("d").st_mode), "mkdir made no directory")
    expect_errno(errno.EEXIST, os.mkdir, "d")
    os.makedirs("d/a/b/c")
    put("d/a/b/c/f", b"x")
    for i in range(50):
        put("d/n%02d" % i, b"%d" % i)
    names = sorted(os.listdir("d"))
    check(names == sorted(["a"] + ["n%02d" % i for i in range(50)]),
          "listing of d: %s" % names)
    check(os.stat("d").st_nlink >= 2, "directory st_nlink %d" % os.stat("d").st_nlink)
    expect_errno(errno.ENOTEMPTY, os.rmdir, "d/a/b")
    expect_errno(errno.ENOTDIR, os.rmdir, "d/n00")
    expect_errno(errno.EISDIR, os.unlink, "d/a")
    expect_errno(errno.ENOTDIR, os.listdir, "d/n00")
    os.unlink("d/a/b/c/f")
    os.rmdir("d/a/b/c")
    check(os.listdir("d/a/b") == [], "emptied directory lists %s" % os.listdir("d/a/b"))
    os.rmdir("d/a/b")
    expect_errno(errno.ENOENT, os.stat, "d/a/b")


@case
def hard_links():
    put("h1", b"linked")
    os.link("h1", "h2")
    s1, s2 = os.stat("h1"), os.stat("h2")
    check(s1.st_nlink == 2 and s2.st_nlink == 2,
          "st_nlink after link: %d %d, expected 2" % (s1.st_nlink, s2.st_nlink))
    check(s1.st_ino == s2.st_ino, "links have different st_ino")
    with open("h2", "r+b") as f:
        f.write(b"LINKED")
    check(get("h1") == b"LINKED", "write through one link not seen by the other")
    expect_errno(errno.EEXIST, os.link, "h1", "h2")
    os.unlink("h1")
    check(os.stat("h2").st_nlink == 1, "st_nlink after unlink: %d" % os.stat("h2").st_nlink)
    check(get("h2") == b"LINKED", "data lost with the first link")
    os.mkdir("hd")
    expect_errno(errno.EPERM, os.link, "hd", "hd2")


@case
def symlinks():
    put("target", b"t")
    os.symlink("target", "sl")
    check(os.readlink("sl") == "target", "readlink %r" % os.readlink("sl"))
    check(stat.S_ISLNK(os.lstat("sl").st_mode), "lstat not S_ISLNK")
    check(get("sl") == b"t", "reading through the link")
    os.symlink("no/such/place", "dangling")
    check(os.readlink("dangling") == "no/such/place", "dangling readlink")
    expect_errno(errno.ENOENT, os.stat, "dangling")
    long_target = "x" * 1000
    os.symlink(long_target, "longlink")
    check(os.readlink("longlink") == long_target, "1000-byte target")
    check(os.lstat("longlink").st_size == 1000,
          "symlink st_size %d, expected 1000" % os.lstat("longlink").st_size)
    expect_errno(errno.EINVAL, os.readlink, "target")


@case
def rename_files():
    put("ra", b"A")
    put("rb", b"B")
    ino = os.stat("ra").st_ino
    os.rename("ra", "rb")
    check(get("rb") == b"A", "rename over a file: content %r" % get("rb"))
    check(os.stat("rb").st_ino == ino, "rename changed st_ino")
    check(not os.path.exists("ra"), "source still there")
    os.mkdir("rdir")
    os.rename("rb", "rdir/moved")
    check(get("rdir/moved") == b"A", "rename across directories")
    expect_errno(errno.ENOENT, os.rename, "ra", "rc")
    os.mkdir("rd2")
    expect_errno(errno.EISDIR, os.rename, "rdir/moved", "rd2")
    put("rfile", b"f")
    expect_errno(errno.ENOTDIR, os.rename, "rd2", "rfile")


@case
def rename_directories():
    os.makedirs("src/sub")
    put("src/sub/f", b"deep")
    os.rename("src", "dst")
    check(get("dst/sub/f") == b"deep", "contents of a renamed directory")
    check(not os.path.exists("src"), "old directory name still there")
    os.mkdir("empty")
    os.rename("dst", "empty")      # over an empty directory: allowed
    check(get("empty/sub/f") == b"deep", "rename over an empty directory")
    os.makedirs("full/x")
    os.mkdir("other")
    expect_errno(errno.ENOTEMPTY, os.rename, "other", "full")
    expect_errno(errno.EINVAL, os.rename, "empty", "empty/sub/into")


@case
def rename_noreplace_exchange():
    put("na", b"a")
    put("nb", b"b")
    expect_errno(errno.EEXIST, renameat2, "na", "nb", RENAME_NOREPLACE,
                 what="renameat2 RENAME_NOREPLACE over a file")
    check(get("nb") == b"b", "NOREPLACE changed the target")
    renameat2("na", "nc", RENAME_NOREPLACE)
    check(get("nc") == b"a" and not os.path.exists("na"), "NOREPLACE to a new name")
    renameat2("nb", "nc", RENAME_EXCHANGE)
    check(get("nb") == b"a" and get("nc") == b"b", "RENAME_EXCHANGE of two files")
    os.mkdir("xd")
    put("xd/in", b"in")
    renameat2("xd", "nb", RENAME_EXCHANGE)
    check(stat.S_ISDIR(os.stat("nb").st_mode) and get("nb/in") == b"in"
          and get("xd") == b"a", "RENAME_EXCHANGE of a directory and a file")
    expect_errno(errno.ENOENT, renameat2, "nb", "nothere", RENAME_EXCHANGE,
                 what="RENAME_EXCHANGE with a missing target")


@case
def chmod_chown_utimens():
    put("m", b"m")
    os.chmod("m", 0o4751)
    check(stat.S_IMODE(os.stat("m").st_mode) == 0o4751,
          "chmod 4751 gave %o" % stat.S_IMODE(os.stat("m").st_mode))
    os.chmod("m", 0o640)
    os.chown("m", 1234, 5678)
    st = os.stat("m")
    check((st.st_uid, st.st_gid) == (1234, 5678), "chown gave %d:%d" % (st.st_uid, st.st_gid))
    os.chown("m", -1, 42)
    st = os.stat("m")
    check((st.st_uid, st.st_gid) == (1234, 42), "chown -1:42 gave %d:%d" % (st.st_uid, st.st_gid))
    atime, mtime = 1000000000123456789, 1500000000987654321
    os.utime("m", ns=(atime, mtime))
    st = os.stat("m")
    check(st.st_atime_ns == atime, "atime %d, set %d" % (st.st_atime_ns, atime))
    check(st.st_mtime_ns == mtime, "mtime %d, set %d" % (st.st_mtime_ns, mtime))
    before = time.time_ns()
    os.utime("m")
    st = os.stat("m")
    check(st.st_mtime_ns >= before - 2 * 10**9, "utime(NULL) did not set now")
    os.symlink("m", "mlink")
    os.utime("mlink", ns=(5 * 10**18, 6 * 10**18 + 7), follow_symlinks=False)
    check(os.lstat("mlink").st_mtime_ns == 6 * 10**18 + 7, "lutimes on a symlink")
    os.lchown("mlink", 77, 88)
    check(os.lstat("mlink").st_uid == 77 and os.stat("m").st_uid == 1234,
          "lchown changed the target or not the link")


@case
def ctime_mtime():
    put("t", b"0")
    s0 = os.stat("t")
    time.sleep(0.05)
    fd = os.open("t", os.O_WRONLY)
    os.write(fd, b"1")
    os.close(fd)
    s1 = os.stat("t")
    check(s1.st_mtime_ns > s0.st_mtime_ns, "write did not move mtime")
    check(s1.st_ctime_ns > s0.st_ctime_ns, "write did not move ctime")
    time.sleep(0.05)
    os.chmod("t", 0o600)
    s2 = os.stat("t")
    check(s2.st_ctime_ns > s1.st_ctime_ns, "chmod did not move ctime")
    check(s2.st_mtime_ns == s1.st_mtime_ns, "chmod moved mtime")
    d0 = os.stat(".")
    time.sleep(0.05)
    put("t2", b"")
    d1 = os.stat(".")
    check(d1.st_mtime_ns > d0.st_mtime_ns, "create did not move the directory's mtime")
    time.sleep(0.05)
    os.truncate("t", 0)
    s3 = os.stat("t")
    check(s3.st_mtime_ns > s2.st_mtime_ns and s3.st_ctime_ns > s2.st_ctime_ns,
          "truncate did not move mtime and ctime")


@case
def truncate_ftruncate():
    put("tr", b"0123456789")
    os.truncate("tr", 4)
    check(get("tr") == b"0123", "truncate to 4: %r" % get("tr"))
    os.truncate("tr", 8)
    check(get("tr") == b"0123\0\0\0\0", "extend by truncate: %r" % get("tr"))
    fd = os.open("tr", os.O_RDWR)
    os.ftruncate(fd, 2)
    check(os.fstat(fd).st_size == 2, "ftruncate to 2")
    os.ftruncate(fd, 3 * GiB + 5)
    check(os.fstat(fd).st_size == 3 * GiB + 5, "ftruncate to 3 GiB + 5")
    check(os.pread(fd, 10, 3 * GiB) == b"\0" * 5, "tail of extended file")
    check(os.pread(fd, 4, 0) == b"01\0\0", "head after shrink and extend")
    os.ftruncate(fd, 0)
    check(os.fstat(fd).st_size == 0 and os.pread(fd, 10, 0) == b"", "ftruncate to 0")
    os.close(fd)
    expect_errno(errno.EINVAL, os.truncate, "tr", -1)
    os.mkdir("trd")
    expect_errno(errno.EISDIR, os.truncate, "trd", 0)


@case
def fallocate_modes():
    fd = os.open("fa", os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd, b"a" * 10000)
    fallocate(fd, 0, 0, 1 << 20)
    st = os.fstat(fd)
    check(st.st_size == 1 << 20, "fallocate mode 0 did not extend: %d" % st.st_size)
    check(os.pread(fd, 10000, 0) == b"a" * 10000, "fallocate changed data")
    check(os.pread(fd, 10, 500000) == b"\0" * 10, "fallocated range not zero")
    fallocate(fd, FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20)
    check(os.fstat(fd).st_size == 1 << 20, "KEEP_SIZE changed st_size")
    fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 5000)
    check(os.pread(fd, 5200, 0) == b"a" * 100 + b"\0" * 5000 + b"a" * 100,
          "punch hole: data around the hole wrong")
    check(os.fstat(fd).st_size == 1 << 20, "punch hole changed st_size")
    os.posix_fallocate(fd, 0, 3 << 20)
    check(os.fstat(fd).st_size == 3 << 20, "posix_fallocate did not extend")
    os.close(fd)


@case
def sparse_100g():
    fd = os.open("sparse", os.O_RDWR | os.O_CREAT, 0o644)
    size = 100 * GiB
    os.ftruncate(fd, size)
    os.pwrite(fd, b"end", size - 3)
    os.pwrite(fd, b"mid", 50 * GiB)
    os.fsync(fd)
    st = os.fstat(fd)
    check(st.st_size == size, "st_size %d, expected 100 GiB" % st.st_size)
    check(st.st_blocks * 512 < 64 << 20,
          "st_blocks %d (%d MiB) for 6 bytes written" % (st.st_blocks, st.st_blocks >> 11))
    check(os.pread(fd, 3, size - 3) == b"end", "last bytes")
    check(os.pread(fd, 3, 50 * GiB) == b"mid", "middle bytes")
    for off in (0, 10 * GiB + 12345, 50 * GiB - 16384, 99 * GiB):
        check(os.pread(fd, 8192, off) == b"\0" * 8192, "hole at %d not zero" % off)
    check(os.pread(fd, 100, size) == b"", "read past EOF")
    os.close(fd)
    os.unlink("sparse")


@case
def xattrs():
    put("x", b"x")
    os.setxattr("x", "user.a", b"alpha")
    os.setxattr("x", "user.empty", b"")
    big = os.urandom(4000)
    os.setxattr("x", "user.big", big)
    check(os.getxattr("x", "user.a") == b"alpha", "getxattr user.a")
    check(os.getxattr("x", "user.empty") == b"", "empty value")
    check(os.getxattr("x", "user.big") == big, "4000-byte value")
    names = set(n for n in os.listxattr("x") if n.startswith("user."))
    check(names == {"user.a", "user.empty", "user.big"}, "listxattr %s" % names)
    expect_errno(errno.EEXIST, os.setxattr, "x", "user.a", b"z", os.XATTR_CREATE,
                 what="setxattr XATTR_CREATE on an existing name")
    expect_errno(errno.ENODATA, os.setxattr, "x", "user.nope", b"z", os.XATTR_REPLACE,
                 what="setxattr XATTR_REPLACE on a missing name")
    os.setxattr("x", "user.a", b"beta", os.XATTR_REPLACE)
    check(os.getxattr("x", "user.a") == b"beta", "XATTR_REPLACE value")
    os.removexattr("x", "user.a")
    expect_errno(errno.ENODATA, os.getxattr, "x", "user.a")
    expect_errno(errno.ENODATA, os.removexattr, "x", "user.a")
    os.mkdir("xd")
    os.setxattr("xd", "user.dir", b"d")
    check(os.getxattr("xd", "user.dir") == b"d", "xattr on a directory")
    os.rename("x", "x2")
    check(os.getxattr("x2", "user.big") == big, "xattr lost by rename")


@case
def statfs():
    s = os.statvfs(".")
    check(s.f_bsize > 0 and s.f_frsize > 0, "f_bsize %d f_frsize %d" % (s.f_bsize, s.f_frsize))
    check(s.f_blocks > 0, "f_blocks 0")
    check(s.f_bfree <= s.f_blocks and s.f_bavail <= s.f_blocks,
          "free %d avail %d > blocks %d" % (s.f_bfree, s.f_bavail, s.f_blocks))
    check(s.f_namemax >= 255, "f_namemax %d" % s.f_namemax)


@case
def o_append():
    put("ap", b"abc")
    fd = os.open("ap", os.O_WRONLY | os.O_APPEND)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, b"def")
    os.write(fd, b"ghi")
    os.close(fd)
    check(get("ap") == b"abcdefghi", "O_APPEND: %r" % get("ap"))
    # two appenders interleave without overwriting each other
    a = os.open("ap", os.O_WRONLY | os.O_APPEND)
    b = os.open("ap", os.O_WRONLY | os.O_APPEND)
    for i in range(100):
        os.write(a if i % 2 else b, b"%03d\n" % i)
    os.close(a)
    os.close(b)
    lines = get("ap")[9:].split(b"\n")[:-1]
    check(lines == [b"%03d" % i for i in range(100)], "two O_APPEND writers")


@case
def o_excl_o_trunc():
    fd = os.open("ex", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"12345")
    os.close(fd)
    expect_errno(errno.EEXIST, os.open, "ex", os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                 what="O_CREAT|O_EXCL on an existing file")
    os.symlink("nowhere", "exl")
    expect_errno(errno.EEXIST, os.open, "exl", os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                 what="O_CREAT|O_EXCL on a dangling symlink")
    fd = os.open("ex", os.O_WRONLY | os.O_TRUNC)
    check(os.fstat(fd).st_size == 0, "O_TRUNC left %d bytes" % os.fstat(fd).st_size)
    os.close(fd)
    check(get("ex") == b"", "O_TRUNC content")
    check(stat.S_IMODE(os.stat("ex").st_mode) == 0o600, "O_CREAT mode 0600")
    expect_errno(errno.ENOENT, os.open, "nonexist", os.O_RDONLY)


@case
def unlinked_open_file():
    put("ul", b"before")
    fd = os.open("ul", os.O_RDWR)
    os.unlink("ul")
    check(not os.path.exists("ul"), "name still there")
    check(os.pread(fd, 100, 0) == b"before", "read after unlink")
    os.pwrite(fd, b"after!" * 10000, 6)
    os.fsync(fd)
    check(os.pread(fd, 12, 0) == b"beforeafter!", "write after unlink")
    check(os.fstat(fd).st_nlink == 0, "st_nlink %d after unlink" % os.fstat(fd).st_nlink)
    put("ul", b"new file")
    check(os.pread(fd, 6, 0) == b"before", "new file under the name changed the old")
    os.close(fd)
    check(get("ul") == b"new file", "new file under the old name")
    # rename over an open file: the old one stays readable too
    put("ov", b"old")
    fd = os.open("ov", os.O_RDONLY)
    put("ov2", b"new")
    os.rename("ov2", "ov")
    check(os.pread(fd, 3, 0) == b"old", "open file replaced by rename")
    os.close(fd)


@case
def fsync_fdatasync():
    fd = os.open("fs", os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd, b"sync me")
    os.fsync(fd)
    os.write(fd, b" again")
    os.fdatasync(fd)
    os.close(fd)
    check(get("fs") == b"sync me again", "content after fsync")
    dfd = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(dfd)
    os.close(dfd)


@case
def readdir_many_and_offsets():
    os.mkdir("many")
    want = set()
    for i in range(600):
        n = "entry-%04d-%s" % (i, "é" if i % 7 == 0 else "x")
        put("many/" + n, b"")
        want.add(n)
    got = set(os.listdir("many"))
    check(got == want, "listing of 600: %d missing, %d extra" % (
        len(want - got), len(got - want)))
    # delete while iterating: every entry seen at most once
    seen = []
    with os.scandir("many") as it:
        for e in it:
            seen.append(e.name)
            os.unlink("many/" + e.name)
    check(len(seen) == len(set(seen)), "scandir returned duplicates")
    check(os.listdir("many") == [], "entries left: %d" % len(os.listdir("many")))
    expect_errno(errno.ENAMETOOLONG, put, "n" * 256, b"")


def as_nobody(fn):
    """Run fn in a child with uid/gid nobody; returns its error text or
    None."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        msg = b""
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            fn()
        except CaseFailed as e:
            msg = str(e).encode()
        except BaseException:
            msg = traceback.format_exc().encode()
        os.write(w, msg)
        os._exit(0)
    os.close(w)
    out = b""
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        out += b
    os.close(r)
    os.waitpid(pid, 0)
    return out.decode() or None


@case
def permissions_nobody():
    os.chmod(".", 0o755)
    os.mkdir("open", 0o777)
    os.chmod("open", 0o777)
    os.mkdir("closed", 0o700)
    put("closed/inside", b"s")
    put("secret", b"secret", 0o600)
    os.chmod("secret", 0o600)
    put("public", b"public", 0o644)
    os.chmod("public", 0o644)
    put("exec", b"#!/bin/sh\n", 0o700)

    def child():
        check(os.getuid() == NOBODY, "not nobody")
        expect_errno(errno.EACCES, os.open, "secret", os.O_RDONLY,
                     what="nobody reading a 0600 root file")
        check(get("public") == b"public", "nobody reading a 0644 file")
        expect_errno(errno.EACCES, os.open, "public", os.O_WRONLY,
                     what="nobody writing a 0644 root file")
        expect_errno(errno.EACCES, put, "mine", b"",
                     what="nobody creating in a 0755 root directory")
        expect_errno(errno.EACCES, os.listdir, "closed",
                     what="nobody listing a 0700 root directory")
        expect_errno(errno.EACCES, os.stat, "closed/inside",
                     what="nobody looking up in a 0700 root directory")
        expect_errno(errno.EPERM, os.chmod, "public", 0o666,
                     what="nobody chmod of a root file")
        expect_errno(errno.EPERM, os.chown, "public", NOBODY, NOBODY,
                     what="nobody chown of a root file")
        expect_errno(errno.EACCES, os.unlink, "public",
                     what="nobody unlinking in a 0755 root directory")
        expect_errno(errno.EACCES, os.truncate, "public", 0,
                     what="nobody truncating a 0644 root file")
        expect_errno(errno.EPERM, lambda: os.utime("public", ns=(1, 1)),
                     what="nobody setting times on a root file")
        put("open/mine", b"mine", 0o640)
        st = os.stat("open/mine")
        check((st.st_uid, st.st_gid) == (NOBODY, NOBODY),
              "file created by nobody owned by %d:%d" % (st.st_uid, st.st_gid))
        os.chmod("open/mine", 0o600)
        os.utime("open/mine", ns=(10**18, 10**18))
        check(get("open/mine") == b"mine", "nobody reading its own file")

    err = as_nobody(child)
    check(err is None, err or "")
    check(get("public") == b"public", "the 0644 file changed")
    st = os.stat("open/mine")
    check(stat.S_IMODE(st.st_mode) == 0o600, "nobody's chmod not kept")
    # root reads a file it does not own, whatever its mode (as on a local fs)
    check(get("open/mine") == b"mine", "root reading nobody's 0600 file")


def main():
    os.chdir(sys.argv[1])
    os.umask(0o022)
    for fn in cases:
        name = fn.__name__
        os.mkdir(name)
        os.chdir(name)
        try:
            fn()
            print("ok   %s" % name)
        except CaseFailed as e:
            failures.append(name)
            print("FAIL %s: %s" % (name, e))
        except OSError as e:
            failures.append(name)
            print("FAIL %s: unexpected error %s" % (name, e))
            traceback.print_exc(file=sys.stdout)
        finally:
            os.chdir("..")
    print("%d cases, %d failed%s" % (len(cases), len(failures),
          (": " + " ".join(failures)) if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
