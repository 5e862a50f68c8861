#!/usr/bin/python3
# tests/lib/swift_ring_ref.py: reference placement from OpenStack Swift's own
# ring code (Debian's python3-swift), in the JSON-lines format of
# `kumo-ring get-nodes --json`, so the two can be compared line by line.
#
#   swift_ring_ref.py get-nodes RING --prefix P --suffix S [--json]
#                     [--handoffs N] PATH...      (PATH "-": read stdin)
#       One line per PATH:
#       {"path": ..., "partition": N, "primaries": [NODE...],
#        "handoffs": [NODE...]}
#       NODE is {"id", "region", "zone", "ip", "port", "device"}.
#       partition = Ring.get_part(a, c, o), primaries = get_part_nodes(part),
#       handoffs = get_more_nodes(part): all of them, or the first N.
#
#   swift_ring_ref.py batch JOBS.json
#       Run several get-nodes jobs in one process (importing swift costs
#       ~0.6 s). JOBS.json is a list of {"ring", "prefix", "suffix",
#       "handoffs" (null for all), "input" (paths file), "output"}.
#
#   swift_ring_ref.py gen-paths --part-power N --prefix P --suffix S
#                     --count N --seed N [--edge N]
#       Print about COUNT test paths, one per line, chosen with a fixed
#       seed: accounts, containers and objects with UTF-8, spaces, slashes,
#       JSON-special characters, long names, and EDGE paths whose partition
#       or handoff walk start sits at either end of the partition space (so
#       the wrap-around of get_more_nodes is exercised). Standard library
#       only (fast to start).
#
# A PATH is account[/container[/object]]; the object may hold more slashes;
# an empty container or object means "not given", as in Swift's hash_path.
# Paths are handled as bytes, so any UTF-8 goes through unchanged.
import argparse
import hashlib
import itertools
import json
import os
import random
import struct
import sys


def split_path(path):
    """bytes 'a[/c[/o]]' -> (a, c or None, o or None), as bytes."""
    parts = path.split(b'/', 2)
    acct = parts[0]
    cont = parts[1] if len(parts) > 1 and parts[1] else None
    obj = parts[2] if len(parts) > 2 and parts[2] else None
    if obj is not None and cont is None:
        raise ValueError('object without container in %r' % path)
    return acct, cont, obj


def node_view(dev):
    return {'id': dev['id'], 'region': dev['region'], 'zone': dev['zone'],
            'ip': dev['ip'], 'port': dev['port'], 'device': dev['device']}


def load_swift_ring(ring_path):
    """Swift's Ring, without reading /etc/swift/swift.conf."""
    import swift.common.utils as su
    import swift.common.ring.ring as sr
    sr.validate_configuration = lambda: None
    su.validate_configuration = lambda: None
    # reload_time: never re-stat the file while we work
    return sr.Ring(ring_path, reload_time=10 ** 9)


def set_hash_path_affixes(prefix, suffix):
    import swift.common.utils as su
    su.HASH_PATH_PREFIX = prefix
    su.HASH_PATH_SUFFIX = suffix


def reference_lines(ring, paths, handoffs):
    """Yield one JSON text per path (bytes), following swift's Ring."""
    cache = {}
    for path in paths:
        acct, cont, obj = split_path(path)
        part = ring.get_part(acct, cont, obj)
        if part not in cache:
            primaries = [node_view(d) for d in ring.get_part_nodes(part)]
            more = ring.get_more_nodes(part)
            if handoffs is not None:
                more = itertools.islice(more, handoffs)
            cache[part] = (primaries, [node_view(d) for d in more])
        primaries, hand = cache[part]
        rec = {'path': path.decode('utf-8', 'surrogateescape'),
               'partition': part, 'primaries': primaries, 'handoffs': hand}
        yield json.dumps(rec, ensure_ascii=True)


def read_path_lines(stream):
    for line in stream:
        if line.endswith(b'\n'):
            line = line[:-1]
        if line:
            yield line


def run_job(ring_path, prefix, suffix, handoffs, paths, out):
    set_hash_path_affixes(prefix, suffix)
    ring = load_swift_ring(ring_path)
    n = 0
    for text in reference_lines(ring, paths, handoffs):
        out.write(text.encode('ascii') + b'\n')
        n += 1
    return n


def cmd_get_nodes(args):
    paths = []
    for p in args.paths:
        if p == '-':
            paths.extend(read_path_lines(sys.stdin.buffer))
        else:
            paths.append(os.fsencode(p))
    run_job(args.ring, os.fsencode(args.prefix), os.fsencode(args.suffix),
            args.handoffs, paths, sys.stdout.buffer)
    sys.stdout.buffer.flush()
    return 0


def cmd_batch(args):
    with open(args.jobs) as f:
        jobs = json.load(f)
    for job in jobs:
        with open(job['input'], 'rb') as f:
            paths = list(read_path_lines(f))
        with open(job['output'], 'wb') as out:
            run_job(job['ring'], job['prefix'].encode('utf-8'),
                    job['suffix'].encode('utf-8'), job.get('handoffs'),
                    paths, out)
    return 0


# --- test path generation (standard library only) -------------------------

ASCII_CHARS = ('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'
               '0123456789-_.~')
ODD_CHARS = "!$&'()*+,;=:@%#?[]{}<>|^`"
UNICODE_BITS = ['\u00e9', '\u00fc', '\u00df', '\u03a9', '\u0434', '\u4e2d',
                '\u6587', '\u65e5\u672c', '\U0001f642', '\U0001d11e',
                '\u00a0', '\u200b', '\u2028', '\ufeff', '\u0301',
                '\uffff', '\U0010fffd']
JSON_BITS = ['"', '\\', '\t', '\x01', '\x1f', '\x7f', '\\u0041', '</']


# (pool, cumulative weight) for "mixed" names: mostly ASCII, with UTF-8,
# spaces, URL/shell-special and JSON-special characters mixed in
_MIXED = ([(c, 0.6 / len(ASCII_CHARS)) for c in ASCII_CHARS] +
          [(c, 0.15 / len(UNICODE_BITS)) for c in UNICODE_BITS] +
          [(' ', 0.1)] +
          [(c, 0.08 / len(ODD_CHARS)) for c in ODD_CHARS] +
          [(c, 0.07 / len(JSON_BITS)) for c in JSON_BITS])
MIXED_POOL = [c for c, _ in _MIXED]
MIXED_CUM = list(itertools.accumulate(w for _, w in _MIXED))


def rand_name(rng, lo=1, hi=24):
    n = rng.randint(lo, hi)
    if rng.random() < 0.4:
        return ''.join(rng.choices(ASCII_CHARS, k=n))
    return ''.join(rng.choices(MIXED_POOL, cum_weights=MIXED_CUM, k=n))


def rand_account(rng):
    r = rng.random()
    if r < 0.5:
        return 'AUTH_%032x' % rng.getrandbits(128)
    if r < 0.6:
        return 'AUTH_test'
    return rand_name(rng, 1, 20).replace('/', '_')


def rand_container(rng):
    if rng.random() < 0.2:
        return rng.choice(['c', 'photos', 'backups', 'segments',
                           'caf\u00e9', '\u4e2d\u6587 box', 'my container'])
    return rand_name(rng, 1, 30).replace('/', '_')


def rand_object(rng):
    r = rng.random()
    if r < 0.35:
        return rand_name(rng, 1, 40)
    if r < 0.65:
        # nested pseudo-directories
        return '/'.join(rand_name(rng, 1, 12)
                        for _ in range(rng.randint(2, 6)))
    if r < 0.72:
        return '/' + rand_name(rng, 1, 20)           # leading slash
    if r < 0.79:
        return rand_name(rng, 1, 20) + '/'           # trailing slash
    if r < 0.84:
        return rand_name(rng, 1, 10) + '//' + rand_name(rng, 1, 10)
    if r < 0.89:
        return ' ' + rand_name(rng, 1, 10) + ' '     # edge spaces
    if r < 0.93:
        return rand_name(rng, 200, 1024)             # long
    return 'obj-%d' % rng.randint(0, 10 ** 9)


def clean(s):
    # one path per line: never a newline or CR inside a name
    return s.replace('\n', '_').replace('\r', '_')


def rand_path(rng):
    r = rng.random()
    a = clean(rand_account(rng))
    if r < 0.15:
        return a
    c = clean(rand_container(rng))
    if r < 0.35:
        return a + '/' + c
    return a + '/' + c + '/' + clean(rand_object(rng))


def read_part_power(ring_path):
    import gzip
    with gzip.open(ring_path, 'rb') as f:
        magic = f.read(6)
        if magic != b'R1NG\x00\x01':
            raise SystemExit('%s: not a v1 ring' % ring_path)
        n, = struct.unpack('!I', f.read(4))
        return 32 - json.loads(f.read(n))['part_shift']


def cmd_gen_paths(args):
    rng = random.Random(args.seed)
    pp = args.part_power if args.part_power is not None \
        else read_part_power(args.ring)
    shift = 32 - pp
    parts = 1 << pp
    prefix = args.prefix.encode('utf-8')
    suffix = args.suffix.encode('utf-8')

    def part_of(path):
        a, c, o = split_path(path.encode('utf-8'))
        key = b'/'.join(x for x in (a, c, o) if x is not None)
        digest = hashlib.md5(prefix + b'/' + key + suffix).digest()
        return struct.unpack_from('>I', digest)[0] >> shift

    def start_of(part):
        digest = hashlib.md5(str(part).encode('ascii')).digest()
        return struct.unpack_from('>I', digest)[0] >> shift

    out = []
    # fixed shapes every run has
    out += ['AUTH_test', 'AUTH_test/', 'AUTH_test/c', 'AUTH_test/c/',
            'AUTH_test/c/o', 'AUTH_test/c/o/', 'AUTH_test/c//o',
            'AUTH_test/c/a/b/c/d', 'AUTH_test/c/ spaced name ',
            'AUTH_\u00e9\u4e2d/caf\u00e9/\U0001f642/\u2028/x',
            'AUTH_test/c/"quoted" \\back\\slash\t tab']
    # edge paths: partition 0 / last, or a handoff walk that wraps soon
    if args.edge:
        # a handoff walk visits every inc-th partition and usually finds
        # all it needs within a few dozen steps
        near = 8 * (parts // 65536 or 1)
        wanted_parts = {0, parts - 1}
        starts_near_end = set()
        for p in range(parts) if parts <= (1 << 18) else ():
            s = start_of(p)
            if s >= parts - near or s < 2:
                starts_near_end.add(p)
        targets = wanted_parts | starts_near_end
        # md5 of prefix + "/" + "a/c/o" + suffix, the prefix hashed once
        head = hashlib.md5(prefix + b'/')
        stem = 'AUTH_edge%d/c%d/o-' % (rng.randint(0, 999), rng.randint(0, 9))
        found = 0
        tries = 0
        while found < args.edge and targets and tries < 150000:
            tries += 1
            path = stem + str(tries)
            h = head.copy()
            h.update(path.encode('ascii') + suffix)
            p = int.from_bytes(h.digest()[:4], 'big') >> shift
            if p in targets:
                assert p == part_of(path)
                out.append(path)
                targets.discard(p)
                found += 1
    while len(out) < args.count:
        out.append(rand_path(rng))
    sys.stdout.buffer.write(
        b''.join(p.encode('utf-8', 'surrogatepass') + b'\n' for p in out))
    return 0


def main():
    ap = argparse.ArgumentParser(prog='swift_ring_ref.py')
    sub = ap.add_subparsers(dest='cmd', required=True)
    g = sub.add_parser('get-nodes')
    g.add_argument('ring')
    g.add_argument('--prefix', default='')
    g.add_argument('--suffix', default='')
    g.add_argument('--json', action='store_true')
    g.add_argument('--handoffs', type=int, default=None)
    g.add_argument('paths', nargs='+')
    b = sub.add_parser('batch')
    b.add_argument('jobs')
    p = sub.add_parser('gen-paths')
    p.add_argument('ring', nargs='?')
    p.add_argument('--part-power', type=int)
    p.add_argument('--prefix', default='')
    p.add_argument('--suffix', default='')
    p.add_argument('--count', type=int, default=1000)
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--edge', type=int, default=24)
    args = ap.parse_args()
    if args.cmd == 'gen-paths' and args.ring is None \
            and args.part_power is None:
        ap.error('gen-paths needs RING or --part-power')
    return {'get-nodes': cmd_get_nodes, 'batch': cmd_batch,
            'gen-paths': cmd_gen_paths}[args.cmd](args)


if __name__ == '__main__':
    sys.exit(main())
