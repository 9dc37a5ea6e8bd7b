#!/usr/bin/env python3
"""Replays a seeded, recorded stream through `sluice run` and checks every window against
an oracle written from SQL.md that shares no code with the engine.

The stream has out-of-order events, late events, NULLs, RFC 3339 and epoch timestamps,
non-ASCII keys and malformed lines of every kind. The engine runs it at --workers 1 and 4:
the two outputs must be byte-identical (SQL.md, "Values in results"), and each row must
match the oracle (numbers to 1e-9 relative) in SQL.md's order.

usage: windows_oracle.py SLUICE_BINARY WORKDIR [SEED]
"""
import datetime
import json
import math
import os
import random
import subprocess
import sys

DELAY = 2000


def gen(seed, path):
    rnd = random.Random(seed)
    devices = ["d%02d" % i for i in range(18)] + ["dév-ü", "🌡-x"]
    lines, events = [], []
    t = 1_700_000_000_000
    for i in range(20000):
        t += rnd.randint(0, 20)
        if rnd.random() < 0.002:
            t += rnd.randint(4000, 9000)  # gaps close sessions
        if rnd.random() < 0.02:
            lines.append(malformed(rnd, t))
            events.append(None)
            continue
        d = rnd.choice(devices)
        k = devices.index(d)
        if (t // 15000 + k) % 3 == 0:
            d = devices[(k + 1) % len(devices)]
        ts = t - rnd.randint(0, 1500)
        if rnd.random() < 0.03:
            ts -= rnd.randint(3000, 20000)
        temp = None if rnd.random() < 0.05 else round(rnd.uniform(0, 100), 2)
        if d == "d03" and temp is not None:
            temp = 1e6 + temp / 1000.0  # large offset: naive variance fails here
        if rnd.random() < 0.2:
            tsv = datetime.datetime.fromtimestamp(ts / 1000, datetime.timezone.utc)
            tsv = tsv.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ts % 1000)
        else:
            tsv = ts
        obj = {"device": d, "temp": temp, "ts": tsv}
        if rnd.random() < 0.3:
            obj["extra"] = {"nested": [1, 2, {"x": "y"}], "s": "a\"b\\c"}
        lines.append(json.dumps(obj, ensure_ascii=rnd.random() < 0.5).encode())
        events.append((d, temp, ts))
    with open(path, "wb") as f:
        for ln in lines:
            f.write(ln + b"\n")
    return events


def malformed(rnd, t):
    kinds = [
        b"not json at all",
        b'{"device": "d01", "temp": "hot", "ts": %d}' % t,
        b'{"device": "d01", "temp": 1.5, "ts": %d' % t,
        b"[1, 2, 3]",
        b'{"device": "d01", "device": "d02", "temp": 1, "ts": %d}' % t,
        b'{"device": "d01", "temp": 1, "ts": null}',
        b'{"device": "d01", "temp": 1}',
        b'{"device": "d01", "temp": NaN, "ts": %d}' % t,
        b'{"device": "d\xff\xfe", "temp": 1, "ts": %d}' % t,
        b'{"a":' * 70 + b"1" + b"}" * 70,
        b'{"device": "d01", "temp": 1e400, "ts": %d}' % t,
        b'{"device": "d01", "temp": 2, "ts": %d} trailing' % t,
        b'{"device": "d01", "temp": 2, "ts": "yesterday"}',
    ]
    return rnd.choice(kinds)


def fsum(xs):
    return math.fsum(xs)


# ---- the oracle -------------------------------------------------------------------------


def stamps(events):
    """The watermark in force before each event (one partition)."""
    w = None
    out = []
    for e in events:
        if e is None:
            out.append(None)
            continue
        out.append(w)
        cand = e[2] - DELAY
        if w is None or cand > w:
            w = cand
    return out


def tumble_hop(events, st, size, slide, lateness, aggs, group=True, markers=None):
    """Rows of a TUMBLE/HOP query. markers: None when lateness is 0 (rows come out sorted by
    window); else the marker granularity, to place re-emissions exactly."""
    win = {}  # (key, S) -> list of (ts, pos, temp, device)
    fired_w = None
    pending = set()
    out = []
    last_marked = None

    def emit(key, S, final=True):
        evs = win[(key, S)]
        return (S + size, S, key, aggs(key, S, S + size, evs), len(evs))

    def marker(W):
        nonlocal fired_w
        rows = [emit(k, S) for (k, S) in pending]
        pending.clear()
        for (k, S), evs in win.items():
            E = S + size
            if (fired_w is None or E > fired_w) and E <= W and evs:
                rows.append(emit(k, S))
        rows.sort(key=lambda r: (r[0], r[1], keysort(r[2])))
        out.extend(rows)
        fired_w = W

    for pos, e in enumerate(events):
        if e is None:
            continue
        stamp = st[pos]
        if markers is not None and stamp is not None and (
                last_marked is None or stamp // markers != last_marked // markers) and stamp != last_marked:
            marker(stamp)
            last_marked = stamp
        d, temp, ts = e
        key = d if group else None
        p = (ts // slide) * slide
        starts = [p - j * slide for j in range(size // slide)]
        live = [S for S in starts if stamp is None or S + size + lateness > stamp]
        if not live:
            continue
        for S in live:
            win.setdefault((key, S), []).append((ts, pos, temp, d))
            if fired_w is not None and S + size <= fired_w:
                pending.add((key, S))
    marker(float("inf"))
    if markers is None:
        out.sort(key=lambda r: (r[0], r[1], keysort(r[2])))
    return out


def sessions(events, st, gap, maxdur=3600000):
    groups = {}  # (key, cut) -> list of dict(start, end, evs)
    for pos, e in enumerate(events):
        if e is None:
            continue
        stamp = st[pos]
        d, temp, ts = e
        g = groups.setdefault((d, ts // maxdur), [])
        lo, hi = ts, ts + gap
        ov = [s for s in g if s["start"] < hi and lo < s["end"]]
        if any(stamp is not None and s["end"] <= stamp for s in ov):
            continue
        mend = max([hi] + [s["end"] for s in ov])
        mstart = min([lo] + [s["start"] for s in ov])
        if stamp is not None and mend <= stamp:
            continue
        evs = [(ts, pos, temp, d)]
        for s in ov:
            evs += s["evs"]
            g.remove(s)
        g.append({"start": mstart, "end": mend, "evs": evs})
    rows = []
    for (d, _), g in groups.items():
        for s in g:
            rows.append((s["end"], s["start"], d, s["evs"]))
    rows.sort(key=lambda r: (r[0], r[1], keysort(r[2])))
    return rows


def keysort(k):
    return (0, b"") if k is None else (1, k.encode())


def stats(evs):
    xs = [e[2] for e in evs if e[2] is not None]
    n = len(xs)
    r = {"n": len(evs), "nt": n}
    if n == 0:
        r.update(s=None, a=None, lo=None, hi=None, sd=None, vs=None, fv=None, lv=None)
        return r
    s = fsum(xs)
    m = s / n
    ss = fsum((x - m) ** 2 for x in xs)
    byt = sorted([e for e in evs if e[2] is not None], key=lambda e: (e[0], e[1]))
    r.update(s=s, a=m, lo=min(xs), hi=max(xs), sd=math.sqrt(ss / n),
             vs=(ss / (n - 1)) if n > 1 else None, fv=byt[0][2], lv=byt[-1][2])
    return r


# ---- running and comparing ---------------------------------------------------------------

QUERIES = """
CREATE SOURCE ev (device TEXT, temp DOUBLE, ts TIMESTAMP,
                  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
WITH (connector = 'file', path = '${IN}', dead_letter = '${OUT}/dead.jsonl');
CREATE SOURCE ev2 (device TEXT, temp DOUBLE, ts TIMESTAMP,
                   WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
WITH (connector = 'file', path = '${IN}');
CREATE SOURCE ev3 (device TEXT, temp DOUBLE, ts TIMESTAMP,
                   WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
WITH (connector = 'file', path = '${IN}');

CREATE SINK t10 WITH (connector = 'file', path = '${OUT}/t10.jsonl') AS
SELECT device, window_start, window_end, COUNT(*) AS n, COUNT(temp) AS nt, SUM(temp) AS s,
       AVG(temp) AS a, MIN(temp) AS lo, MAX(temp) AS hi, STDDEV_POP(temp) AS sd,
       FIRST_VALUE(temp) AS fv, LAST_VALUE(temp) AS lv
FROM TUMBLE(ev, ts, INTERVAL '10' SECOND)
GROUP BY device;

CREATE SINK h6 WITH (connector = 'file', path = '${OUT}/h6.jsonl') AS
SELECT device, window_start, window_end, COUNT(*) AS n, MAX(temp) AS hi,
       VAR_SAMP(temp) AS vs
FROM HOP(ev, ts, INTERVAL '2' SECOND, INTERVAL '6' SECOND)
GROUP BY device;

CREATE SINK all10 WITH (connector = 'file', path = '${OUT}/all10.jsonl') AS
SELECT window_start, COUNT(*) AS n, COUNT(DISTINCT device) AS d,
       COUNT(*) FILTER (WHERE temp > 50) AS warm
FROM TUMBLE(ev, ts, INTERVAL '10' SECOND);

CREATE SINK hot WITH (connector = 'file', path = '${OUT}/hot.jsonl') AS
SELECT device, temp, ts FROM ev WHERE temp > 95 AND temp < 1000;

CREATE SINK late5 WITH (connector = 'file', path = '${OUT}/late5.jsonl') AS
SELECT device, window_start, COUNT(*) AS n, SUM(temp) AS s, _rev, is_final
FROM TUMBLE(ev2, ts, INTERVAL '5' SECOND)
GROUP BY device
ALLOWED LATENESS INTERVAL '3' SECOND;

CREATE SINK sess WITH (connector = 'file', path = '${OUT}/sess.jsonl') AS
SELECT device, window_start, window_end, COUNT(*) AS n, SUM(temp) AS s
FROM SESSION(ev3, ts, INTERVAL '3' SECOND)
GROUP BY device;
"""


def expected(events):
    st = stamps(events)
    exp = {}

    def t10(key, S, E, evs):
        r = stats(evs)
        return {"device": key, "window_start": S, "window_end": E, "n": r["n"], "nt": r["nt"],
                "s": r["s"], "a": r["a"], "lo": r["lo"], "hi": r["hi"], "sd": r["sd"],
                "fv": r["fv"], "lv": r["lv"]}

    exp["t10"] = [r[3] for r in tumble_hop(events, st, 10000, 10000, 0, t10)]

    def h6(key, S, E, evs):
        r = stats(evs)
        return {"device": key, "window_start": S, "window_end": E, "n": r["n"], "hi": r["hi"],
                "vs": r["vs"]}

    exp["h6"] = [r[3] for r in tumble_hop(events, st, 6000, 2000, 0, h6)]

    def all10(key, S, E, evs):
        return {"window_start": S, "n": len(evs), "d": len({e[3] for e in evs}),
                "warm": sum(1 for e in evs if e[2] is not None and e[2] > 50)}

    exp["all10"] = [r[3] for r in tumble_hop(events, st, 10000, 10000, 0, all10, group=False)]
    exp["hot"] = [{"device": e[0], "temp": e[1], "ts": e[2]} for e in events
                  if e is not None and e[1] is not None and 95 < e[1] < 1000]

    def late5(key, S, E, evs):
        r = stats(evs)
        return {"device": key, "window_start": S, "n": r["n"], "s": r["s"], "_rev": len(evs),
                "is_final": True}

    exp["late5"] = [r[3] for r in tumble_hop(events, st, 5000, 5000, 3000, late5, markers=5000)]
    exp["sess"] = []
    for end, start, d, evs in sessions(events, st, 3000):
        r = stats(evs)
        exp["sess"].append({"device": d, "window_start": start, "window_end": end, "n": r["n"],
                            "s": r["s"]})
    return exp


def late_counts(events):
    """Late events per query on source ev (SQL.md: every window expired at the stamp)."""
    st = stamps(events)
    n = {"t10": 0, "h6": 0, "all10": 0, "hot": 0}
    for pos, e in enumerate(events):
        if e is None or st[pos] is None:
            continue
        ts = e[2]
        if st[pos] >= (ts // 10000) * 10000 + 10000:
            n["t10"] += 1
            n["all10"] += 1
        if st[pos] >= (ts // 2000) * 2000 + 6000:
            n["h6"] += 1
    return n


def close(a, b):
    if a is None or b is None or isinstance(a, (str, bool)) or isinstance(b, (str, bool)):
        return a == b
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b)) + 1e-12


def compare(name, got, want):
    if len(got) != len(want):
        return "%s: %d rows, expected %d" % (name, len(got), len(want))
    for i, (g, w) in enumerate(zip(got, want)):
        if list(g.keys()) != list(w.keys()):
            return "%s row %d: columns %s, expected %s" % (name, i, list(g), list(w))
        for k in w:
            if not close(g[k], w[k]):
                return "%s row %d column %s: got %r, expected %r\n  got  %s\n  want %s" % (
                    name, i, k, g[k], w[k], g, w)
    return None


def run(sluice, workdir, inp, workers, queries=QUERIES, tag="w"):
    """Runs queries (${IN}, ${OUT} substituted) on inp; returns the output directory
    (workdir/<tag><workers>, emptied first) and sluice's stderr."""
    out = os.path.join(workdir, "%s%d" % (tag, workers))
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        os.unlink(os.path.join(out, f))
    q = os.path.join(workdir, tag + ".sql")
    with open(q, "w") as f:
        f.write(queries)
    env = dict(os.environ, IN=inp, OUT=out)
    p = subprocess.run([sluice, "run", "--workers", str(workers), "--http", "off", q],
                       env=env, capture_output=True, timeout=300)
    if p.returncode != 0:
        sys.exit("sluice run --workers %d failed (%d):\n%s" % (workers, p.returncode,
                                                                p.stderr.decode()))
    return out, p.stderr.decode()


# ---- large batches: the sink's sort ---------------------------------------------------------

BIG_QUERIES = """
CREATE SOURCE big (device TEXT, n BIGINT, v BIGINT, ts TIMESTAMP,
                   WATERMARK FOR ts AS ts)
WITH (connector = 'file', path = '${IN}');
CREATE SINK bt WITH (connector = 'file', path = '${OUT}/bt.jsonl') AS
SELECT device, window_start, COUNT(*) AS c, SUM(v) AS s
FROM TUMBLE(big, ts, INTERVAL '10' SECOND) GROUP BY device;
CREATE SINK bn WITH (connector = 'file', path = '${OUT}/bn.jsonl') AS
SELECT n, window_start, COUNT(*) AS c
FROM TUMBLE(big, ts, INTERVAL '10' SECOND) GROUP BY n;
CREATE SINK bh WITH (connector = 'file', path = '${OUT}/bh.jsonl') AS
SELECT device, window_start, window_end, COUNT(*) AS c
FROM HOP(big, ts, INTERVAL '1' SECOND, INTERVAL '3' SECOND) GROUP BY device;
"""


def big_keys(rnd):
    """Keys that make sorting hard: long shared prefixes (past the 16 bytes the sink compares
    first), prefixes of each other, bytes >= 0x80, one NULL."""
    keys = [None, "", "a", "ab", "abc", "abd", "b", "é", "éa", "zz\u00ff", "\u4e2d\u6587"]
    for i in range(3000):
        keys.append("building-07/floor-3/room-%d" % rnd.randint(0, 10 ** 6))
        keys.append("".join(rnd.choice("ab\u00e9z") for _ in range(rnd.randint(1, 20))))
    return keys


def big_batches(sluice, workdir):
    """Thousands of groups per window (in one batch, sorted by the sink) against Python's
    sort: window end, window start, then the key (NULL first, TEXT by UTF-8 bytes, BIGINT by
    value)."""
    rnd = random.Random(11)
    keys = big_keys(rnd)
    nums = [None, 0, 1, -1, 2 ** 40, -(2 ** 40), 2 ** 62, -(2 ** 62)] + [
        rnd.randint(-10 ** 12, 10 ** 12) for _ in range(3000)]
    t0 = 1_700_000_000_000
    events = []
    for i in range(40000):
        ts = t0 + i // 2
        events.append((rnd.choice(keys), rnd.choice(nums), rnd.randint(-50, 50), ts))
    inp = os.path.join(workdir, "big.jsonl")
    with open(inp, "w") as f:
        for d, n, v, ts in events:
            o = {"v": v, "ts": ts}
            if d is not None:
                o["device"] = d
            if n is not None:
                o["n"] = n
            f.write(json.dumps(o, ensure_ascii=rnd.random() < 0.5) + "\n")

    def ks(k):
        if k is None:
            return (0, b"", 0)
        return (1, k.encode(), 0) if isinstance(k, str) else (1, b"", k)

    def groups(size, slide, col):
        g = {}
        for e in events:
            first = (e[3] // slide) * slide - size + slide
            for S in range(first, e[3] + 1, slide):
                if S <= e[3] < S + size:
                    g.setdefault((S + size, S, e[col]), []).append(e)
        return sorted(g.items(), key=lambda kv: (kv[0][0], kv[0][1], ks(kv[0][2])))

    want = {
        "bt": [{"device": k[2], "window_start": k[1], "c": len(v), "s": sum(e[2] for e in v)}
               for k, v in groups(10000, 10000, 0)],
        "bn": [{"n": k[2], "window_start": k[1], "c": len(v)}
               for k, v in groups(10000, 10000, 1)],
        "bh": [{"device": k[2], "window_start": k[1], "window_end": k[0], "c": len(v)}
               for k, v in groups(3000, 1000, 0)],
    }
    failures = []
    for workers in (1, 3):
        out, _ = run(sluice, workdir, inp, workers, BIG_QUERIES, "big")
        for name, rows in want.items():
            with open(os.path.join(out, name + ".jsonl")) as f:
                got = [json.loads(l) for l in f]
            err = compare(name, got, rows)
            if err:
                failures.append("large batches, workers %d: %s" % (workers, err))
    per_window = max(len(v) for v in want.values())
    return failures, sum(len(v) for v in want.values()), per_window


def main():
    sluice, workdir = sys.argv[1], sys.argv[2]
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    os.makedirs(workdir, exist_ok=True)
    inp = os.path.join(workdir, "in.jsonl")
    events = gen(seed, inp)
    exp = expected(events)
    failures = []
    outs = {}
    for workers in (1, 4):
        out, log = run(sluice, workdir, inp, workers)
        outs[workers] = out
        nbad = sum(1 for e in events if e is None)
        # counters reconcile: in = decoded + rejected (SQL.md)
        src = [l for l in log.splitlines() if l.startswith("source ev:")]
        if not src or ("in=%d " % len(events)) not in src[0] or (
                "rejected=%d" % nbad) not in src[0]:
            failures.append("workers %d: counters %r, expected in=%d rejected=%d" % (
                workers, src, len(events), nbad))
        for name, want in exp.items():
            with open(os.path.join(out, name + ".jsonl")) as f:
                got = [json.loads(l) for l in f]
            err = compare(name, got, want)
            if err:
                failures.append("workers %d: %s" % (workers, err))
        late = late_counts(events)
        dl = open(os.path.join(out, "dead.jsonl"), "rb").read().splitlines()
        for line in dl:
            try:
                d = json.loads(line)
                assert isinstance(d, dict) and isinstance(d["reason"], str)
            except Exception:
                failures.append("workers %d: dead letter is not a JSON object with a reason: %r"
                                % (workers, line[:200]))
                break
        if len(dl) != nbad + sum(late.values()):
            failures.append("workers %d: %d dead letters, expected %d rejected + %d late" % (
                workers, len(dl), nbad, sum(late.values())))
        decoded = len(events) - nbad
        for qn, want_late in late.items():
            line = [l for l in log.splitlines() if l.strip().startswith("query %s:" % qn)]
            c = dict(kv.split("=") for kv in line[0].split(":", 1)[1].split()) if line else {}
            c = {k: int(v) for k, v in c.items()}
            if c.get("late") != want_late or sum(c.values()) != decoded:
                failures.append("workers %d: query %s counters %s: expected late=%d and a sum "
                                "of %d" % (workers, qn, c, want_late, decoded))
    for name in exp:
        a = open(os.path.join(outs[1], name + ".jsonl"), "rb").read()
        b = open(os.path.join(outs[4], name + ".jsonl"), "rb").read()
        if a != b:
            failures.append("%s: output differs between --workers 1 and 4" % name)
    total = sum(len(v) for v in exp.values())
    big_fail, big_rows, _ = big_batches(sluice, workdir)
    failures += big_fail
    if failures:
        print("\n".join(failures))
        print("0 passed, %d failed" % len(failures))
        sys.exit(1)
    print("windows oracle: %d rows in 6 queries match at --workers 1 and 4; %d rows of large "
          "batches in 3 queries at --workers 1 and 3" % (total, big_rows))


if __name__ == "__main__":
    main()
