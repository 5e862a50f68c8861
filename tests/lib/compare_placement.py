#!/usr/bin/python3
# tests/lib/compare_placement.py: compare two `get-nodes --json` outputs
# (JSON lines: path, partition, primaries, handoffs) semantically.
#
#   compare_placement.py [--label TEXT] [--max-report N] EXPECTED ACTUAL
#
# Records are paired by line. For each pair it checks the path, the
# partition, and the primaries and handoffs lists node by node (order
# matters; each node must have exactly the keys id, region, zone, ip, port,
# device with equal values). It prints the first N mismatches (path and what
# differs) and a count to stderr and exits 1 on any mismatch, 2 on unusable
# input; on success it prints "ok: N records match" (with the label).
import argparse
import json
import sys

NODE_KEYS = ('id', 'region', 'zone', 'ip', 'port', 'device')
RECORD_KEYS = ('path', 'partition', 'primaries', 'handoffs')


def read_records(name):
    """List of (line number, record or None, error text or None)."""
    out = []
    with open(name, 'rb') as f:
        for lineno, raw in enumerate(f.read().split(b'\n'), 1):
            if not raw:
                continue
            try:
                rec = json.loads(raw.decode('utf-8'))
                if not isinstance(rec, dict):
                    raise ValueError('not a JSON object')
                out.append((lineno, rec, None))
            except ValueError as e:
                out.append((lineno, None, '%s: %.200r' % (e, raw)))
    return out


def show_path(path):
    text = repr(path)
    if len(text) > 100:
        return '%s...%s (%d chars)' % (text[:60], text[-30:], len(path))
    return text


def short(node):
    if not isinstance(node, dict):
        return repr(node)
    return 'd%s r%s z%s %s:%s/%s' % tuple(node.get(k, '?') for k in NODE_KEYS)


def node_diff(exp, act):
    """Text describing how two node dicts differ, or None."""
    if not isinstance(act, dict):
        return 'not an object: %r' % (act,)
    keys = set(act)
    if keys != set(NODE_KEYS):
        extra = sorted(keys - set(NODE_KEYS))
        missing = sorted(set(NODE_KEYS) - keys)
        return 'keys differ (missing %s, extra %s)' % (missing, extra)
    diffs = ['%s %r != %r' % (k, exp[k], act[k]) for k in NODE_KEYS
             if exp[k] != act[k] or type(exp[k]) is not type(act[k])]
    return ', '.join(diffs) or None


def list_diff(what, exp, act):
    """Describe the first difference of two node lists, or None."""
    if not isinstance(act, list):
        return '%s: not a list: %.100r' % (what, act)
    for i, (e, a) in enumerate(zip(exp, act)):
        d = node_diff(e, a)
        if d:
            return ('%s[%d]: expected %s, got %s (%s); expected %d nodes, '
                    'got %d' % (what, i, short(e), short(a), d, len(exp),
                                len(act)))
    if len(exp) != len(act):
        n = min(len(exp), len(act))
        more = exp[n:] if len(exp) > n else act[n:]
        return ('%s: expected %d nodes, got %d (first %d agree; %s extra: '
                '%s)' % (what, len(exp), len(act), n,
                         'expected has' if len(exp) > n else 'actual has',
                         ', '.join(short(x) for x in more[:4])))
    return None


def record_diff(exp, act):
    problems = []
    for k in RECORD_KEYS:
        if k not in act:
            problems.append('missing key %r' % k)
    if problems:
        return problems
    if act['path'] != exp['path']:
        problems.append('path %s != %s' % (show_path(exp['path']),
                                           show_path(act['path'])))
    if act['partition'] != exp['partition'] or \
            type(act['partition']) is not int:
        problems.append('partition expected %r, got %r'
                        % (exp['partition'], act['partition']))
    for k in ('primaries', 'handoffs'):
        d = list_diff(k, exp[k], act[k])
        if d:
            problems.append(d)
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--label', default='')
    ap.add_argument('--max-report', type=int, default=10)
    ap.add_argument('expected')
    ap.add_argument('actual')
    args = ap.parse_args()
    label = (args.label + ': ') if args.label else ''

    exp = read_records(args.expected)
    act = read_records(args.actual)
    bad_exp = [r for r in exp if r[2]]
    if bad_exp:
        sys.stderr.write('%sbad reference line %d: %s\n'
                         % (label, bad_exp[0][0], bad_exp[0][2]))
        return 2

    mismatches = 0
    reported = 0

    def report(text):
        nonlocal mismatches, reported
        mismatches += 1
        if reported < args.max_report:
            sys.stderr.write('%sMISMATCH %s\n' % (label, text))
            reported += 1

    for (eline, e, _), (aline, a, aerr) in zip(exp, act):
        if aerr:
            report('line %d (path %s): unparsable output: %s'
                   % (aline, show_path(e['path']), aerr))
            continue
        problems = record_diff(e, a)
        if problems:
            report('line %d path %s (partition %s):\n    %s'
                   % (aline, show_path(e['path']), e['partition'],
                      '\n    '.join(problems)))
    if len(exp) != len(act):
        report('expected %d records, got %d' % (len(exp), len(act)))
        if len(act) < len(exp):
            sys.stderr.write('%s  first missing path: %s\n'
                             % (label, show_path(exp[len(act)][1]['path'])))
    if mismatches:
        sys.stderr.write('%s%d mismatching records of %d\n'
                         % (label, mismatches, len(exp)))
        return 1
    print('%sok: %d records match' % (label, len(exp)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
