"""tests/lib/listing_ref.py: what a Swift container listing holds.

listing(names, limit, marker, end_marker, prefix, delimiter, path,
reverse) returns the names (objects) and ("subdir", name) tuples (common
prefixes) that Swift 2.30's container server lists for those query
parameters, computed over a plain sorted list (the rules of
swift/container/backend.py list_objects_iter, written out; checked
against Swift's ContainerBroker on random names). One known difference:
with reverse and path together, Swift also drops an object named exactly
like a skipped subdirectory ("p/d/" after "p/d/x"); callers avoid that
combination on such names. Used by tests/integration/411-*.sh.
"""


def listing(names, limit=10000, marker="", end_marker="", prefix=None,
            delimiter=None, path=None, reverse=False):
    names = sorted(names)
    if reverse:
        marker, end_marker = end_marker, marker
    if path is not None:
        prefix = path.rstrip("/") + "/" if path else ""
        path = prefix
        delimiter = "/"
    elif delimiter and not prefix:
        prefix = ""
    sel = [n for n in names
           if (not marker or n > marker) and
           (not end_marker or n < end_marker) and
           n.startswith(prefix or "")]
    if reverse:
        sel.reverse()
    if prefix is None or not delimiter:
        return sel[:limit]
    out, seen = [], set()
    for n in sel:
        if len(out) >= limit:
            break
        end = n.find(delimiter, len(prefix))
        if path is not None:
            if n == path:
                continue
            if end >= 0 and len(n) > end + len(delimiter):
                continue
            out.append(n)
        elif end >= 0:
            d = n[:end + len(delimiter)]
            if d in seen or d == marker:
                continue
            seen.add(d)
            out.append(("subdir", d))
        else:
            out.append(n)
    return out
