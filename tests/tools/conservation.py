#!/usr/bin/env python3
"""conservation.py - reconciles the counters of a /metrics document by SQL.md's formulas.

Written from SQL.md ("Errors a user sees") and DESIGN.md ("Observability") with the Python
standard library only; it shares no code with Sluice:

  * per source:            in = decoded + sum over reasons of rejected{reason}
      sluice_source_events_total{source} = sluice_source_decoded_total{source}
                                          + sum sluice_source_rejected_total{source,reason}
  * per (source, query):   decoded = filtered + late + over_limit + replay_skipped + accepted
      sluice_source_decoded_total{source} = sum of sluice_query_<k>_total{source,query}

A family that is absent counts 0 (replay_skipped before replay exists). A source with no
series of a family is still checked: every source named by any sluice_source_* or
sluice_query_* series takes part.

As a module:
    import conservation
    errors = conservation.check(text)          # [] when everything reconciles
    vals = conservation.parse(text)            # {(family, frozenset(labels)): value}
    conservation.total(vals, family, source="ev", reason="future")
As a program:
    conservation.py FILE|-|http://host:port/metrics
Exit status 0 when the counters reconcile, 1 with the differences on stderr.
"""

import re
import sys
import urllib.request

QUERY_PARTS = ("filtered", "late", "over_limit", "replay_skipped", "accepted")

_sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$')
_label = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def _unescape(v):
    return v.replace('\\n', '\n').replace('\\"', '"').replace('\\\\', '\\')


def parse(text):
    """{(family, frozenset((label, value), ...)): float} for every sample line."""
    vals = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = _sample.match(line)
        if m is None:
            raise ValueError("not a sample line: %r" % line)
        labels = []
        body = m.group(3) or ""
        pos = 0
        while pos < len(body):
            lm = _label.match(body, pos)
            if lm is None:
                raise ValueError("bad labels in %r" % line)
            labels.append((lm.group(1), _unescape(lm.group(2))))
            pos = lm.end()
        vals[(m.group(1), frozenset(labels))] = float(m.group(4))
    return vals


def total(vals, family, **labels):
    """The sum of family's samples whose labels include every given label."""
    want = set(labels.items())
    return sum(v for (f, ls), v in vals.items() if f == family and want <= ls)


def _label_values(vals, prefix, name):
    out = set()
    for (f, ls), _ in vals.items():
        if f.startswith(prefix):
            for k, v in ls:
                if k == name:
                    out.add(v)
    return out


def check(text):
    """The list of differences (strings); empty when every formula holds."""
    vals = parse(text)
    errors = []
    sources = _label_values(vals, "sluice_source_", "source") | \
        _label_values(vals, "sluice_query_", "source")
    for s in sorted(sources):
        inn = total(vals, "sluice_source_events_total", source=s)
        dec = total(vals, "sluice_source_decoded_total", source=s)
        rej = total(vals, "sluice_source_rejected_total", source=s)
        if inn != dec + rej:
            errors.append("source %s: in %g != decoded %g + rejected %g" % (s, inn, dec, rej))
        queries = set()
        for (f, ls), _ in vals.items():
            d = dict(ls)
            if f.startswith("sluice_query_") and d.get("source") == s and "query" in d:
                queries.add(d["query"])
        for q in sorted(queries):
            parts = {k: total(vals, "sluice_query_%s_total" % k, source=s, query=q)
                     for k in QUERY_PARTS}
            if sum(parts.values()) != dec:
                errors.append("source %s query %s: decoded %g != %s (sum %g)" %
                              (s, q, dec, " + ".join("%s %g" % kv for kv in parts.items()),
                               sum(parts.values())))
    return errors


def fetch(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    src = argv[1]
    if src == "-":
        text = sys.stdin.read()
    elif src.startswith("http://"):
        text = fetch(src)
    else:
        with open(src, encoding="utf-8") as f:
            text = f.read()
    errors = check(text)
    for e in errors:
        sys.stderr.write(e + "\n")
    return 1 if errors else 0


def _self_test():
    good = """# TYPE sluice_source_events_total counter
sluice_source_events_total{source="ev"} 8
sluice_source_decoded_total{source="ev"} 5
sluice_source_rejected_total{reason="not_json",source="ev"} 2
sluice_source_rejected_total{reason="future",source="ev"} 1
sluice_query_accepted_total{query="w",source="ev"} 4
sluice_query_late_total{query="w",source="ev"} 1
sluice_query_filtered_total{query="w",source="ev"} 0
"""
    assert check(good) == [], check(good)
    bad = good.replace('{reason="future",source="ev"} 1', '{reason="future",source="ev"} 0')
    assert len(check(bad)) == 1
    bad = good.replace('late_total{query="w",source="ev"} 1', 'late_total{query="w",source="ev"} 2')
    assert len(check(bad)) == 1 and "query w" in check(bad)[0]
    assert total(parse(good), "sluice_source_rejected_total", source="ev") == 3


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        _self_test()
        print("conservation: self-test passed")
        sys.exit(0)
    sys.exit(main(sys.argv))
