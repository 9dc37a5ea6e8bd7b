#!/usr/bin/env python3
"""promparse.py - an independent checker of the Prometheus text exposition format 0.0.4.

Written from the format's description (prometheus.io/docs/instrumenting/exposition_formats)
with the Python standard library only; it shares no code with Sluice. It checks:

  * the document is UTF-8 and ends with a newline;
  * "# HELP name text" (escapes \\\\ and \\n only) and "# TYPE name type" (counter, gauge,
    histogram, summary, untyped), at most one of each per family, both before its samples;
  * samples: name{label="value",...} value [timestamp], names [a-zA-Z_:][a-zA-Z0-9_:]*, label
    names [a-zA-Z_][a-zA-Z0-9_]* not starting with "__", label values with escapes \\\\, \\"
    and \\n only, no duplicate label within a sample, values as Go's ParseFloat reads them;
  * each family's lines form one group, no series appears twice;
  * histograms: _bucket samples with an increasing `le` ending in +Inf, cumulative counts,
    +Inf bucket == _count, a _sum; counters are >= 0;
  * Sluice's conventions (--sluice): every family has HELP and TYPE, counters end in _total.

Usage:
  promparse.py FILE|-            check a document
  promparse.py --exec PROGRAM    check what PROGRAM prints
  promparse.py --serve PROGRAM   run PROGRAM --serve (prints "port N"), fetch /metrics over HTTP,
                                 check headers and document, and /healthz, /readyz answers
  promparse.py --self-test       check the checker against hand-written documents
Exit status 0 when the document is valid, 1 with the errors on stderr otherwise.
"""

import math
import re
import subprocess
import sys
import urllib.error
import urllib.request

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# Go strconv.ParseFloat: decimal or hex floats, Inf/Infinity/NaN in any case, optional sign.
FLOAT = re.compile(
    r"[+-]?(?:(?:[0-9](?:_?[0-9])*)?\.?[0-9]*(?:[eE][+-]?[0-9]+)?|"
    r"0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*[pP][+-]?[0-9]+|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|"
    r"[nN][aA][nN])"
)
TIMESTAMP = re.compile(r"-?[0-9]+")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class Error(Exception):
    pass


def parse_float(s):
    if not s or not FLOAT.fullmatch(s) or s in ("+", "-", ".", "+.", "-."):
        raise Error("invalid value %r" % s)
    low = s.lower().lstrip("+-")
    if low in ("inf", "infinity"):
        return -math.inf if s.startswith("-") else math.inf
    if low == "nan":
        return math.nan
    try:
        if "x" in low:
            return float.fromhex(s)
        return float(s.replace("_", ""))
    except ValueError:
        raise Error("invalid value %r" % s) from None


def unescape_help(text):
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            if i + 1 < len(text) and text[i + 1] in "\\n":
                out.append("\\" if text[i + 1] == "\\" else "\n")
                i += 2
                continue
            raise Error("invalid escape in HELP at %r" % text[i:i + 2])
        out.append(c)
        i += 1
    return "".join(out)


def parse_labels(line, i):
    """Parses {a="x",...} starting at line[i] == '{'; returns (dict, index after '}')."""
    labels = {}
    i += 1
    while True:
        if i < len(line) and line[i] == "}":
            return labels, i + 1
        m = LABEL.match(line, i)
        if not m:
            raise Error("expected a label name at column %d" % (i + 1))
        name = m.group(0)
        if name.startswith("__"):
            raise Error("reserved label name %r" % name)
        if name in labels:
            raise Error("label %r given twice" % name)
        i = m.end()
        if line[i:i + 2] != '="':
            raise Error("expected =\" after label %r" % name)
        i += 2
        val = []
        while True:
            if i >= len(line):
                raise Error("unterminated label value for %r" % name)
            c = line[i]
            if c == '"':
                i += 1
                break
            if c == "\\":
                nxt = line[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise Error("invalid escape \\%s in label %r" % (nxt, name))
                val.append({"\\": "\\", '"': '"', "n": "\n"}[nxt])
                i += 2
                continue
            val.append(c)
            i += 1
        labels[name] = "".join(val)
        if i < len(line) and line[i] == ",":
            i += 1
            continue
        if i < len(line) and line[i] == "}":
            return labels, i + 1
        raise Error("expected , or } after label %r" % name)


def family_of(name, types):
    """The family a sample name belongs to, given the TYPE lines seen so far."""
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            if types.get(base) in ("histogram", "summary"):
                return base
    return name


def check(text, sluice=False):
    """Returns (families, errors): families maps name -> {type, help, samples[(name, labels, v)]}."""
    errors = []
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            return {}, ["not UTF-8: %s" % e]
    if text and not text.endswith("\n"):
        errors.append("the document does not end with a newline")
    families = {}
    types, helps = {}, {}
    closed = set()
    current = None
    seen = set()

    def enter(fam, lineno):
        nonlocal current
        if fam != current:
            if fam in closed:
                errors.append("line %d: family %s appears in two groups" % (lineno, fam))
            if current is not None:
                closed.add(current)
            current = fam
        return families.setdefault(fam, {"type": None, "help": None, "samples": []})

    for lineno, line in enumerate(text.split("\n")[:-1] if text.endswith("\n") else
                                  text.split("\n"), 1):
        try:
            if line.strip() == "":
                continue
            if line.startswith("#"):
                parts = line.split(" ", 3)
                if len(parts) >= 3 and parts[0] == "#" and parts[1] in ("HELP", "TYPE"):
                    name = parts[2]
                    if not NAME.fullmatch(name):
                        raise Error("invalid metric name %r in %s" % (name, parts[1]))
                    fam = enter(name, lineno)
                    if fam["samples"]:
                        raise Error("%s for %s after its samples" % (parts[1], name))
                    if parts[1] == "HELP":
                        if name in helps:
                            raise Error("second HELP for %s" % name)
                        helps[name] = fam["help"] = unescape_help(parts[3] if len(parts) > 3 else "")
                    else:
                        if name in types:
                            raise Error("second TYPE for %s" % name)
                        t = parts[3] if len(parts) > 3 else ""
                        if t not in TYPES:
                            raise Error("unknown type %r for %s" % (t, name))
                        types[name] = fam["type"] = t
                continue  # any other comment
            m = NAME.match(line)
            if not m:
                raise Error("expected a metric name")
            name = m.group(0)
            i = m.end()
            labels = {}
            if i < len(line) and line[i] == "{":
                labels, i = parse_labels(line, i)
            rest = line[i:].split(" ")
            rest = [r for r in rest if r != ""] if line[i:i + 1] in (" ", "\t") else None
            if not rest or len(rest) > 2:
                raise Error("expected ' value [timestamp]' after the series")
            value = parse_float(rest[0])
            if len(rest) == 2 and not TIMESTAMP.fullmatch(rest[1]):
                raise Error("invalid timestamp %r" % rest[1])
            fname = family_of(name, types)
            fam = enter(fname, lineno)
            key = (name, tuple(sorted(labels.items())))
            if key in seen:
                raise Error("series %s%s appears twice" % (name, labels))
            seen.add(key)
            fam["samples"].append((name, labels, value))
        except Error as e:
            errors.append("line %d: %s: %r" % (lineno, e, line[:120]))

    for fname, fam in families.items():
        t = fam["type"]
        if sluice:
            if fam["help"] is None:
                errors.append("family %s has no HELP" % fname)
            if t is None:
                errors.append("family %s has no TYPE" % fname)
            if t == "counter" and not fname.endswith("_total"):
                errors.append("counter %s does not end in _total" % fname)
        if t == "counter":
            for name, labels, v in fam["samples"]:
                if name != fname:
                    errors.append("counter %s has a sample named %s" % (fname, name))
                elif not (v >= 0):
                    errors.append("counter %s%s is %r" % (name, labels, v))
        if t == "histogram":
            errors.extend(check_histogram(fname, fam["samples"]))
    return families, errors


def check_histogram(fname, samples):
    errors = []
    groups = {}
    for name, labels, v in samples:
        base = {k: x for k, x in labels.items() if not (name == fname + "_bucket" and k == "le")}
        g = groups.setdefault(tuple(sorted(base.items())), {"buckets": [], "sum": None,
                                                            "count": None})
        if name == fname + "_bucket":
            if "le" not in labels:
                errors.append("%s: a bucket without le" % fname)
                continue
            try:
                g["buckets"].append((parse_float(labels["le"]), v))
            except Error as e:
                errors.append("%s: %s" % (fname, e))
        elif name == fname + "_sum":
            g["sum"] = v
        elif name == fname + "_count":
            g["count"] = v
        else:
            errors.append("histogram %s has a sample named %s" % (fname, name))
    for key, g in groups.items():
        where = "%s%s" % (fname, dict(key))
        b = g["buckets"]
        if not b or b[-1][0] != math.inf:
            errors.append("%s: no +Inf bucket last" % where)
        for (le0, c0), (le1, c1) in zip(b, b[1:]):
            if not le1 > le0:
                errors.append("%s: le not increasing (%r, %r)" % (where, le0, le1))
            if not c1 >= c0:
                errors.append("%s: buckets not cumulative (%r then %r)" % (where, c0, c1))
        if g["count"] is None or g["sum"] is None:
            errors.append("%s: _count or _sum missing" % where)
        elif b and b[-1][1] != g["count"]:
            errors.append("%s: +Inf bucket %r != _count %r" % (where, b[-1][1], g["count"]))
    return errors


def report(text, label, sluice=True):
    families, errors = check(text, sluice=sluice)
    for e in errors:
        print("%s: %s" % (label, e), file=sys.stderr)
    if not errors:
        n = sum(len(f["samples"]) for f in families.values())
        print("%s: ok, %d families, %d samples" % (label, len(families), n))
    return families, errors


def sample_checks(families):
    """What tests/tools/metrics_sample.c put in, read back through this parser."""
    errors = []

    def value(fam, name, **labels):
        for n, l, v in families.get(fam, {}).get("samples", []):
            if n == name and l == labels:
                return v
        errors.append("missing %s%s" % (name, labels))
        return None

    if value("sluice_source_in_total", "sluice_source_in_total",
             source='we"ird\\name\nx') != 3000:
        errors.append("escaped label value not read back")
    if value("sluice_source_in_total", "sluice_source_in_total", source="ünïcödé") != 4000:
        errors.append("UTF-8 label value not read back")
    # reason i has two parts: i + (i + 1)
    if value("sluice_source_rejected_total", "sluice_source_rejected_total",
             source="orders", reason="too_large") != 5:
        errors.append("per-thread parts not summed")
    h = families.get("sluice_source_rejected_total", {}).get("help")
    if h != 'Messages a source rejected, by reason.\nSee SQL.md \\ "Errors".':
        errors.append("HELP text not read back: %r" % h)
    v = value("sluice_test_value", "sluice_test_value", case="nan")
    if v is None or not math.isnan(v):
        errors.append("NaN gauge not read back")
    for case, want in (("inf", math.inf), ("neg_inf", -math.inf), ("tiny", 1.5e-300),
                       ("third", 1 / 3), ("neg", -12.75), ("big", 1e300), ("int", 123456789)):
        if value("sluice_test_value", "sluice_test_value", case=case) != want:
            errors.append("gauge %s not read back exactly" % case)
    if value("sluice_record_size_bytes", "sluice_record_size_bytes_bucket", le="64") != 1:
        errors.append("bucket le=64 should hold the observation equal to its bound")
    if value("sluice_record_size_bytes", "sluice_record_size_bytes_count") != 2:
        errors.append("histogram count")
    if value("sluice_ring_occupancy_ratio", "sluice_ring_occupancy_ratio", source="telemetry",
             shard="0") != 0.375:
        errors.append("callback gauge")
    return errors


def run_exec(program):
    text = subprocess.run([program], check=True, stdout=subprocess.PIPE, timeout=30).stdout
    families, errors = report(text, program)
    errors += sample_checks(families)
    for e in errors:
        print("sample: %s" % e, file=sys.stderr)
    return 1 if errors else 0


def run_serve(program):
    proc = subprocess.Popen([program, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    errors = []
    try:
        first = proc.stdout.readline().decode()
        m = re.fullmatch(r"port (\d+)\n", first)
        if not m:
            print("unexpected first line %r" % first, file=sys.stderr)
            return 1
        base = "http://127.0.0.1:%s" % m.group(1)
        with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
            ctype = r.headers.get("Content-Type")
            if ctype != "text/plain; version=0.0.4; charset=utf-8":
                errors.append("Content-Type %r" % ctype)
            families, errs = report(r.read(), base + "/metrics")
            errors += errs + sample_checks(families)
        with urllib.request.urlopen(base + "/healthz", timeout=10) as r:
            if r.status != 200 or r.read() != b"ok\n":
                errors.append("/healthz")
        try:
            urllib.request.urlopen(base + "/readyz", timeout=10)
            errors.append("/readyz answered 2xx for a not-ready engine")
        except urllib.error.HTTPError as e:
            body = e.read()
            if e.code != 503 or body != b"source telemetry: not connected\n":
                errors.append("/readyz: %d %r" % (e.code, body))
        try:
            urllib.request.urlopen(urllib.request.Request(base + "/metrics", data=b"x",
                                                          method="POST"), timeout=10)
            errors.append("POST /metrics accepted")
        except urllib.error.HTTPError as e:
            if e.code != 405 or e.headers.get("Allow") != "GET, HEAD":
                errors.append("POST: %d Allow=%r" % (e.code, e.headers.get("Allow")))
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    if proc.returncode != 0:
        errors.append("server exited with %d" % proc.returncode)
    for e in errors:
        print("serve: %s" % e, file=sys.stderr)
    return 1 if errors else 0


GOOD = [
    "",
    "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n",
    '# TYPE g gauge\ng{a="x",b="y\\"\\\\\\n"} -1.5e-3\ng{a="z"} +Inf\ng NaN\n',
    "x 1 1700000000000\n# a comment\n\ny{a=\"1\",} 2\n",
    "# HELP h_seconds H.\n# TYPE h_seconds histogram\n"
    'h_seconds_bucket{le="0.1"} 1\nh_seconds_bucket{le="1"} 3\n'
    'h_seconds_bucket{le="+Inf"} 3\nh_seconds_sum 1.2\nh_seconds_count 3\n',
]

BAD = [
    ("a 1", "newline"),
    ("# TYPE a counter\n# TYPE a counter\na 1\n", "second TYPE"),
    ("a 1\n# TYPE a counter\n", "after its samples"),
    ("# TYPE a bogus\n", "unknown type"),
    ("# HELP a bad \\t escape\n", "invalid escape in HELP"),
    ('a{b="\\t"} 1\n', "invalid escape"),
    ('a{b="1",b="2"} 1\n', "twice"),
    ('a{__b="1"} 1\n', "reserved"),
    ('a{1b="1"} 1\n', "label name"),
    ('a{b="1} 1\n', "unterminated"),
    ("a 1.2.3\n", "invalid value"),
    ("a one\n", "invalid value"),
    ("a\n", "value"),
    ("a 1\nb 1\na 2\n", "two groups"),
    ("a 1\na 2\n", "appears twice"),
    ("9a 1\n", "metric name"),
    ("# TYPE c_total counter\nc_total -1\n", "is -1"),
    ("# HELP c C.\n# TYPE c counter\nc 1\n", "_total"),
    ("# TYPE g gauge\ng 1\n", "no HELP"),
    ("# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
     "h_sum 1\nh_count 1\n", "not cumulative"),
    ("# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", "+Inf"),
    ("# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
     "!= _count"),
    ("# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\n"
     "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", "not increasing"),
    (b"a{b=\"\xff\"} 1\n", "UTF-8"),
]


def self_test():
    failures = 0
    for doc in GOOD:
        _, errors = check(doc, sluice=False)
        if errors:
            print("good document rejected: %r: %s" % (doc, errors), file=sys.stderr)
            failures += 1
    for doc, want in BAD:
        _, errors = check(doc, sluice=True)
        if not any(want in e for e in errors):
            print("bad document %r: expected an error with %r, got %s" % (doc, want, errors),
                  file=sys.stderr)
            failures += 1
    fams, errors = check(GOOD[2])
    if errors or fams["g"]["samples"][0][1] != {"a": "x", "b": 'y"\\\n'}:
        print("label unescaping wrong: %s" % (fams["g"]["samples"],), file=sys.stderr)
        failures += 1
    print("self-test: %d good, %d bad documents, %d failures" % (len(GOOD), len(BAD), failures))
    return 1 if failures else 0


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    if len(argv) == 3 and argv[1] == "--exec":
        return run_exec(argv[2])
    if len(argv) == 3 and argv[1] == "--serve":
        return run_serve(argv[2])
    if len(argv) == 2:
        data = sys.stdin.buffer.read() if argv[1] == "-" else open(argv[1], "rb").read()
        _, errors = report(data, argv[1])
        return 1 if errors else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
