#!/usr/bin/python3
# tests/lib/ldb_log_patch.py LOGFILE OLD NEW: replace the bytes OLD by NEW
# (same length) in the last LevelDB write-ahead log record holding them,
# and fix that record's CRC, so that LevelDB replays the change on its next
# open as if it had been written that way: a logical corruption that no
# checksum catches, for the database auditor tests. Exit 1 when OLD is not
# found inside a single physical record.
#
# Log format (leveldb doc/log_format.md): 32 KiB blocks of records, each
# header = masked crc32c (4, little-endian) | length (2) | type (1),
# the CRC covering the type byte and the payload.
import struct
import sys

BLOCK = 32768


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def mask(crc):
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def main():
    path, old, new = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()
    if len(old) != len(new):
        sys.exit("OLD and NEW must have the same length")
    data = bytearray(open(path, "rb").read())
    pos, found = 0, None
    while pos + 7 <= len(data):
        left = BLOCK - pos % BLOCK
        if left < 7:
            pos += left
            continue
        length, rtype = struct.unpack_from("<HB", data, pos + 4)
        if length == 0 and rtype == 0:
            break
        start, end = pos + 7, pos + 7 + length
        at = data.find(old, start, end)
        if at >= 0:
            found = (pos, at, end)
        pos = end
    if not found:
        sys.exit("not found in one record")
    hdr, at, end = found
    data[at:at + len(new)] = new
    rtype = data[hdr + 6]
    crc = mask(crc32c(bytes([rtype]) + bytes(data[hdr + 7:end])))
    struct.pack_into("<I", data, hdr, crc)
    open(path, "wb").write(data)


main()
