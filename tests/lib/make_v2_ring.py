#!/usr/bin/python3
# tests/lib/make_v2_ring.py: convert a Swift v1 ring (.ring.gz, as written by
# swift-ring-builder) into Swift's ring format v2, the way upstream Swift's
# RingData.serialize_v2 / RingWriter (swift/common/ring/io.py) write it and
# doc/source/overview_ring_format.rst describes it. Standard library only.
#
#   make_v2_ring.py [options] IN.ring.gz OUT.ring.gz
#     --dev-id-bytes 2|4|8     width of each assignment (default 2)
#     --checksum METHOD        md5, sha1, sha256 (default) or sha512
#     --order A,B,C            section order (metadata, devices, assignments)
#     --level N                deflate level for the BLOBs (default 9, as
#                              upstream; lower is much faster on big rings)
#     --extra-section          add a third-party "acme/extra" section
#     --bad-checksum SECTION   record a wrong checksum for SECTION (tests)
#     --self-index             list the index itself as "swift/index" with
#                              null end and checksum, as the format doc
#                              allows (upstream's writer leaves it out)
#
# Layout written (uncompressed view; every BLOB starts after a Z_FULL_FLUSH):
#   "R1NG" !H 2                                 (stored, deflate level 0)
#   !Q len + JSON metadata {part_shift, dev_id_bytes, replica_count,
#                           version[, next_part_power]}
#   !Q len + JSON devices (list, null for holes)
#   !Q len + assignments: each replica row, each id network order
#   !Q len + JSON index {section: [cstart, ustart, cend, uend, method, hex]}
#   then, stored: !Q index ustart, FULL_FLUSH, !Q index cstart, FULL_FLUSH,
#   Z_FINISH, CRC32, ISIZE -- so the last 31 file bytes hold the cstart.
# Offsets point at a BLOB's 8-byte length; checksums cover the length too.
# After writing, the file is read back the way Swift's RingReader does
# (seek -31, inflate the index offset, read the index, verify checksums).
import argparse
import gzip
import hashlib
import json
import os
import struct
import sys
import zlib

SIZE = '!Q'
DEV_ID_FMT = {2: 'H', 4: 'I', 8: 'Q'}
SECTIONS = {'metadata': 'swift/ring/metadata',
            'devices': 'swift/ring/devices',
            'assignments': 'swift/ring/assignments'}
GZIP_MTIME = 1300507380


def read_v1(path):
    """Parse a v1 ring: (metadata dict, list of rows of dev ids)."""
    data = gzip.decompress(open(path, 'rb').read())
    if data[:6] != b'R1NG\x00\x01':
        raise SystemExit('%s: not a v1 ring (magic %r)' % (path, data[:6]))
    jlen, = struct.unpack_from('!I', data, 6)
    meta = json.loads(data[10:10 + jlen])
    parts = 1 << (32 - meta['part_shift'])
    order = '<' if meta.get('byteorder', sys.byteorder) == 'little' else '>'
    rows = []
    pos = 10 + jlen
    for _ in range(meta['replica_count']):
        chunk = data[pos:pos + 2 * parts]
        pos += len(chunk)
        rows.append(list(struct.unpack('%s%dH' % (order, len(chunk) // 2),
                                       chunk)))
    if pos != len(data):
        raise SystemExit('%s: %d trailing bytes' % (path, len(data) - pos))
    return meta, rows


class RingGzWriter:
    """gzip writer with Z_FULL_FLUSH flush points and switchable level,
    byte for byte what Swift's _RingGzWriter produces through GzipFile."""

    def __init__(self, fp, name, level=9):
        self.fp = fp
        self.level = level
        fname = os.path.basename(name).encode('latin-1')
        if fname.endswith(b'.gz'):
            fname = fname[:-3]
        # GzipFile header: FNAME flag, fixed mtime, XFL, OS 255
        xfl = {9: b'\x02', 1: b'\x04'}.get(level, b'\x00')
        fp.write(b'\x1f\x8b\x08' + (b'\x08' if fname else b'\x00') +
                 struct.pack('<L', GZIP_MTIME) + xfl + b'\xff' +
                 (fname + b'\x00' if fname else b''))
        self.comp = self._compressor(level)
        self.crc = 0
        self.usize = 0
        self.flushed = True
        self.checksum = None

    @staticmethod
    def _compressor(level):
        return zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS,
                                zlib.DEF_MEM_LEVEL, 0)

    def write(self, data):
        if not data:
            return
        if self.checksum is not None:
            self.checksum.update(data)
        self.flushed = False
        self.crc = zlib.crc32(data, self.crc)
        self.usize += len(data)
        self.fp.write(self.comp.compress(data))

    def flush(self):
        if not self.flushed:
            self.fp.write(self.comp.flush(zlib.Z_FULL_FLUSH))
            self.flushed = True

    def tell(self):
        self.flush()
        return self.usize

    def compressed_tell(self):
        self.flush()
        return self.fp.tell()

    def set_level(self, level):
        self.flush()
        self.comp = self._compressor(level)

    def write_size(self, n):
        self.write(struct.pack(SIZE, n))

    def write_blob(self, data):
        self.write_size(len(data))
        self.write(data)

    def write_json(self, obj):
        self.write_blob(json.dumps(obj, sort_keys=True,
                                   ensure_ascii=True).encode('ascii'))

    def close(self):
        self.fp.write(self.comp.flush(zlib.Z_FINISH))
        self.fp.write(struct.pack('<LL', self.crc, self.usize & 0xffffffff))


def write_v2(out_path, meta, rows, dev_id_bytes, method, order, extra,
             bad_checksum, self_index, level=9):
    fmt = DEV_ID_FMT[dev_id_bytes]
    replica_count = 0
    if rows:
        replica_count = len(rows) - 1 + len(rows[-1]) / len(rows[0])
    metadata = {'part_shift': meta['part_shift'],
                'dev_id_bytes': dev_id_bytes,
                'replica_count': replica_count,
                'version': meta.get('version')}
    if meta.get('next_part_power') is not None:
        metadata['next_part_power'] = meta['next_part_power']
    index = {}

    with open(out_path, 'wb') as fp:
        w = RingGzWriter(fp, out_path, level)
        # magic, stored so that libmagic can see it
        w.set_level(0)
        w.write(struct.pack('!4sH', b'R1NG', 2))
        w.set_level(level)

        def section(name, emit):
            w.flush()
            cstart, ustart = w.compressed_tell(), w.tell()
            w.checksum = getattr(hashlib, method)()
            emit()
            w.flush()
            index[name] = [cstart, ustart, w.compressed_tell(), w.tell(),
                           method, w.checksum.hexdigest()]
            w.checksum = None

        def emit_assignments():
            w.write_size(sum(len(r) for r in rows) * dev_id_bytes)
            for r in rows:
                w.write(struct.pack('!%d%s' % (len(r), fmt), *r))

        emitters = {
            'metadata': lambda: w.write_json(metadata),
            'devices': lambda: w.write_json(meta['devs']),
            'assignments': emit_assignments,
        }
        for key in order:
            section(SECTIONS[key], emitters[key])
        if extra:
            section('acme/extra', lambda: w.write_json(
                {'note': 'third-party section; readers must skip it'}))
        if bad_checksum:
            entry = index[bad_checksum]
            digest = entry[5]
            entry[5] = ('0' if digest[0] != '0' else '1') + digest[1:]

        # the index, then the tail at level 0 (exactly 18 + 18 + 13 bytes)
        ustart, cstart = w.tell(), w.compressed_tell()
        if self_index:
            index['swift/index'] = [cstart, ustart, None, None, None, None]
        w.write_json(index)
        w.set_level(0)
        w.write_size(ustart)
        w.flush()
        w.write_size(cstart)
        w.flush()
        w.close()
    return index


def verify_v2(path, rows, dev_id_bytes, devs, expect_bad):
    """Read back like Swift's RingReader; raise on any inconsistency."""
    raw = open(path, 'rb').read()
    whole = gzip.decompress(raw)            # CRC32 and ISIZE check out
    assert whole[:6] == b'R1NG\x00\x02', whole[:6]
    # last 31 compressed bytes: stored block holding the index cstart
    d = zlib.decompressobj(-zlib.MAX_WBITS)
    tail = d.decompress(raw[-31:])
    assert len(tail) == 8 and d.eof and len(d.unused_data) == 8, tail
    cstart, = struct.unpack(SIZE, tail)
    ustart, = struct.unpack(SIZE, whole[-16:-8])
    assert struct.unpack(SIZE, whole[-8:])[0] == cstart
    d = zlib.decompressobj(-zlib.MAX_WBITS)
    blob = d.decompress(raw[cstart:])
    n, = struct.unpack_from(SIZE, blob)
    index = json.loads(blob[8:8 + n])
    n2, = struct.unpack_from(SIZE, whole, ustart)
    assert json.loads(whole[ustart + 8:ustart + 8 + n2]) == index
    for name, (cs, us, ce, ue, method, digest) in index.items():
        if name == 'swift/index':
            assert (cs, us) == (cstart, ustart)
            continue
        # each section inflates independently from its compressed start
        d = zlib.decompressobj(-zlib.MAX_WBITS)
        part = d.decompress(raw[cs:ce])
        assert part == whole[us:ue], name
        blen, = struct.unpack_from(SIZE, part)
        assert blen + 8 == ue - us, name
        ok = getattr(hashlib, method)(part).hexdigest() == digest
        assert ok == (name != expect_bad), name
    a = index[SECTIONS['assignments']]
    table = whole[a[1] + 8:a[3]]
    fmt = DEV_ID_FMT[dev_id_bytes]
    flat = [x for r in rows for x in r]
    assert list(struct.unpack('!%d%s' % (len(flat), fmt), table)) == flat
    dv = index[SECTIONS['devices']]
    assert json.loads(whole[dv[1] + 8:dv[3]]) == devs


def main():
    ap = argparse.ArgumentParser(prog='make_v2_ring.py')
    ap.add_argument('--dev-id-bytes', type=int, default=2,
                    choices=sorted(DEV_ID_FMT))
    ap.add_argument('--checksum', default='sha256',
                    choices=['md5', 'sha1', 'sha256', 'sha512'])
    ap.add_argument('--order', default='metadata,devices,assignments')
    ap.add_argument('--level', type=int, default=9, choices=range(1, 10))
    ap.add_argument('--extra-section', action='store_true')
    ap.add_argument('--bad-checksum', choices=sorted(SECTIONS))
    ap.add_argument('--self-index', action='store_true')
    ap.add_argument('input')
    ap.add_argument('output')
    args = ap.parse_args()
    order = args.order.split(',')
    if sorted(order) != sorted(SECTIONS):
        ap.error('--order must name each of %s once' % ', '.join(SECTIONS))
    meta, rows = read_v1(args.input)
    bad = SECTIONS[args.bad_checksum] if args.bad_checksum else None
    write_v2(args.output, meta, rows, args.dev_id_bytes, args.checksum,
             order, args.extra_section, bad, args.self_index, args.level)
    verify_v2(args.output, rows, args.dev_id_bytes, meta['devs'], bad)
    return 0


if __name__ == '__main__':
    sys.exit(main())
