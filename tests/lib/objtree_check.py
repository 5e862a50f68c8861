#!/usr/bin/python3
# tests/lib/objtree_check.py DEVICE_DIR...: check that the object files on
# the devices are whole (the layout of objectd/diskfile.c): every file in
# a hash dir of <dev>/objects/<part>/<suffix>/<hash>/ is a <ts>.data,
# <ts>.ts or <ts>.meta whose footer ("KUMOOBJ1", body_len, meta_len,
# crc32 of the metadata) matches its size and metadata, and every .data
# body's MD5 (its XXH3-128 when X-Backend-Etag-Hash says xxh3-128: volume
# chunks, objectd/etag.c) is the ETag and its length the Content-Length
# its metadata says, and its X-Backend-Body-Xxh128, when it has one (the
# hash its body was checked by on arrival and is checked by since),
# is its body's XXH3-128. With --no-tmp, <dev>/tmp must hold no file either (an upload that
# was not committed leaves nothing behind). Prints one line a problem and
# a summary; exits 1 on any problem.
# objtree_check.py --info FILE...: print "name etag etag-hash
# stored-body-xxh128 body-xxh128 body-md5" of each object file.
import ctypes
import hashlib
import os
import struct
import sys
import zlib

FOOTER = 24


class _U128(ctypes.Structure):
    _fields_ = [("lo", ctypes.c_uint64), ("hi", ctypes.c_uint64)]


def xxh128(body):
    """The XXH3-128 of body in hex, as common/xxh.c makes it (libxxhash)."""
    f = ctypes.CDLL("libxxhash.so.0").XXH3_128bits
    f.restype = _U128
    f.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    r = f(body, len(body))
    return "%016x%016x" % (r.hi, r.lo)


def body_hash(meta, body):
    """The hash of body the ETag must be: MD5, or XXH3-128."""
    if meta.get("x-backend-etag-hash") != "xxh3-128":
        return hashlib.md5(body).hexdigest()
    return xxh128(body)


def read_file(path):
    """(body, metadata) of an object file (metadata names lowercased), or
    a string saying what is wrong with it."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < FOOTER:
        return "%d bytes: shorter than a footer" % len(data)
    magic, body_len, meta_len, crc = struct.unpack(">8sQII", data[-FOOTER:])
    if magic != b"KUMOOBJ1":
        return "no footer"
    if body_len + meta_len + FOOTER != len(data):
        return "lengths %d + %d + 24 are not its size %d" % (
            body_len, meta_len, len(data))
    block = data[body_len:body_len + meta_len]
    if zlib.crc32(block) & 0xFFFFFFFF != crc:
        return "metadata CRC mismatch"
    try:
        meta = parse_meta(block)
    except (ValueError, struct.error, UnicodeDecodeError) as e:
        return "bad metadata: %s" % e
    return data[:body_len], meta


def parse_meta(block):
    (count,) = struct.unpack_from(">I", block, 0)
    off, meta = 4, {}
    for _ in range(count):
        (nl,) = struct.unpack_from(">H", block, off)
        name = block[off + 2:off + 2 + nl].decode()
        off += 2 + nl
        (vl,) = struct.unpack_from(">I", block, off)
        meta[name.lower()] = block[off + 4:off + 4 + vl].decode()
        off += 4 + vl
    if off != len(block):
        raise ValueError("metadata block has %d extra bytes" % (len(block) - off))
    return meta


def check_file(path):
    """None when the file is whole, else what is wrong."""
    got = read_file(path)
    if isinstance(got, str):
        return got
    body, meta = got
    if path.endswith(".data"):
        if meta.get("etag") != body_hash(meta, body):
            return "body hash %s is not its ETag %s" % (
                body_hash(meta, body), meta.get("etag"))
        if meta.get("x-backend-body-xxh128", xxh128(body)) != xxh128(body):
            return "body XXH3-128 %s is not its X-Backend-Body-Xxh128 %s" % (
                xxh128(body), meta.get("x-backend-body-xxh128"))
        if meta.get("content-length") != str(len(body)):
            return "body of %d bytes, Content-Length %s" % (
                len(body), meta.get("content-length"))
    elif body:
        return "a %s with a body" % os.path.splitext(path)[1]
    return None


def info(path):
    """Print "name etag etag-hash stored-body-xxh128 body-xxh128 body-md5"
    of an object file ("-" for metadata it does not have)."""
    got = read_file(path)
    if isinstance(got, str):
        sys.exit("%s: %s" % (path, got))
    body, meta = got
    print(meta.get("name", "-"), meta.get("etag", "-"),
          meta.get("x-backend-etag-hash", "-"),
          meta.get("x-backend-body-xxh128", "-"), xxh128(body),
          hashlib.md5(body).hexdigest())


def main():
    args = sys.argv[1:]
    if args[:1] == ["--info"]:
        for path in args[1:]:
            info(path)
        return
    no_tmp = "--no-tmp" in args
    devs = [a for a in args if a != "--no-tmp"]
    bad = files = 0
    for dev in devs:
        objects = os.path.join(dev, "objects")
        for part in sorted(os.listdir(objects)) if os.path.isdir(objects) else []:
            pdir = os.path.join(objects, part)
            if not os.path.isdir(pdir):
                continue
            for suffix in os.listdir(pdir):
                sdir = os.path.join(pdir, suffix)
                if not os.path.isdir(sdir):
                    continue  # hashes.pkl and the like
                for h in os.listdir(sdir):
                    hdir = os.path.join(sdir, h)
                    for name in os.listdir(hdir):
                        path = os.path.join(hdir, name)
                        files += 1
                        if os.path.splitext(name)[1] not in (".data", ".ts", ".meta"):
                            why = "not an object file"
                        else:
                            why = check_file(path)
                        if why:
                            print("%s: %s" % (path, why))
                            bad += 1
        tmp = os.path.join(dev, "tmp")
        if no_tmp and os.path.isdir(tmp):
            for name in os.listdir(tmp):
                print("%s: left in tmp" % os.path.join(tmp, name))
                bad += 1
    print("objtree_check: %d files, %d bad" % (files, bad))
    sys.exit(1 if bad else 0)


main()
