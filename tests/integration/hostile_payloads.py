#!/usr/bin/env python3
"""Hostile payloads through `sluice run` (issue 12): every bad payload is rejected with its
reason counted, the valid events around it are aggregated exactly, nothing non-finite or
invalid UTF-8 is written out, and one event ten years in the future does not make later
events late.

A live (follow) file source feeds valid events interleaved with: truncated JSON, trailing
garbage, wrong types, binary, invalid UTF-8 (overlong, UTF-8-encoded surrogate, lone
surrogate escape, cut in the middle, \\u0000), NaN, Infinity, 1e400, 2^70 for a BIGINT,
a SUM that overflows to infinity (written as null),
200 000-deep nesting, a 16 MiB message, a duplicate member, an array, a missing event time,
and timestamps ten years ahead and behind. Expected rows and counts are written by hand from
SQL.md and decode.h's reasons; /metrics must reconcile by SQL.md's formulas
(tests/tools/conservation.py). No sleeps: every wait polls with a deadline.

usage: hostile_payloads.py SLUICE_BINARY WORKDIR TOOLS_DIR
"""
import json
import math
import os
import re
import shutil
import socket
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

sluice, work, tools = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, tools)
import conservation  # noqa: E402

os.makedirs(work, exist_ok=True)
inp, out, dl = (os.path.join(work, n) for n in ("in.jsonl", "out.jsonl", "dead.jsonl"))
for p in (inp, out, dl):
    if os.path.exists(p):
        os.unlink(p)

now = int(time.time() * 1000)
base = now - now % 10_000 - 120_000  # a 10 s boundary two minutes ago
YEAR = 365 * 86_400_000


def ev(device, temp, ts, n=1):
    return json.dumps({"device": device, "temp": temp, "n": n, "ts": ts}).encode()


T = base + 5000
# (payload, reason) - reason None for a valid event; "late" for an event the query drops late
lines = [
    (ev("a", 10.5, base + 1000), None),
    (b'{"device":"a","temp":1,"ts":', "truncated"),
    (ev("b", 20, base + 2000), None),
    (b'{"device":"a","temp":1,"ts":%d} xyz' % T, "trailing_data"),
    (b'{"device":"a","temp":"hot","ts":%d}' % T, "bad_value"),
    (b'{"device":"a","temp":1,"n":3.5,"ts":%d}' % T, "bad_value"),
    (b'{"device":"a","temp":true,"ts":%d}' % T, "bad_value"),
    (b'\x00\x01\xfe\xff binary \x80', "not_json"),
    (b'{"device":"\xc0\xaf","temp":1,"ts":%d}' % T, "invalid_utf8"),
    (b'{"device":"\xed\xa0\x80","temp":1,"ts":%d}' % T, "invalid_utf8"),
    (b'{"device":"\\ud800","temp":1,"ts":%d}' % T, "invalid_utf8"),
    (b'{"device":"\xe2\x82","temp":1,"ts":%d}' % T, "invalid_utf8"),
    (b'{"device":"a\\u0000","temp":1,"ts":%d}' % T, "invalid_utf8"),
    (ev("a", 30, base + 3000), None),
    (b'{"device":"a","temp":NaN,"ts":%d}' % T, "not_json"),
    (b'{"device":"a","temp":Infinity,"ts":%d}' % T, "not_json"),
    (b'{"device":"a","temp":-Infinity,"ts":%d}' % T, "not_json"),
    (b'{"device":"a","temp":1e400,"ts":%d}' % T, "bad_number"),
    (b'{"device":"a","temp":1,"n":1180591620717411303424,"ts":%d}' % T, "out_of_range"),
    (b'{"device":"a","x":' + b'[' * 200_000 + b']' * 200_000 + b',"temp":1,"ts":%d}' % T,
     "too_deep"),
    (b'{"device":"a","pad":"' + b'x' * (16 << 20) + b'","temp":1,"ts":%d}' % T, "too_large"),
    (b'{"device":"a","device":"b","temp":1,"ts":%d}' % T, "duplicate_key"),
    (b'[{"device":"a","temp":1,"ts":%d}]' % T, "not_object"),
    (b'{"device":"a","temp":1}', "bad_event_time"),
    (b'{"device":"a","temp":1,"ts":"yesterday"}', "bad_event_time"),
    (ev("b", 1.5, base + 4000), None),
    (ev("a", 1, now + 10 * YEAR), "future"),  # ten years ahead: must not move the watermark
    (ev("a", 40, base + 6000), None),       # so this is not late
    (ev("b", -7.25, base + 12_000), None),  # next window
    (ev("a", 5, now - 10 * YEAR), "late"),  # ten years behind: its window expired long ago
    (ev("a", 1e300, base + 13_000, 1180591620717411303), None),  # big but in range
    (ev("c", 0.1, base + 19_999), None),
    (ev("o", 1.5e308, base + 14_000), None),  # SUM overflows to infinity: NULL (SQL.md)
    (ev("o", 1.5e308, base + 14_001), None),
    (ev("z", 0, base + 60_000), None),      # moves the watermark past the windows checked
]

with open(inp, "wb") as f:
    for payload, _ in lines:
        assert b"\n" not in payload
        f.write(payload + b"\n")

q = os.path.join(work, "q.sql")
with open(q, "w") as f:
    f.write("""
CREATE SOURCE ev (device TEXT, temp DOUBLE, n BIGINT, ts TIMESTAMP,
                  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'file', path = '%s', follow = 'true', idle_timeout = '60s', max_future = '5m',
      dead_letter = '%s');
CREATE SINK w WITH (connector = 'file', path = '%s') AS
SELECT device, window_start, COUNT(*) AS c, SUM(temp) AS s, SUM(n) AS sn, MAX(temp) AS mx
FROM TUMBLE(ev, ts, INTERVAL '10' SECOND) GROUP BY device;
""" % (inp, dl, out))

# With a redis-server, the same rows also go to Redis (a hash per row; NULL: field absent).
rport = None
redis_proc = None
if shutil.which("redis-server") and shutil.which("redis-cli"):
    s0 = socket.socket()
    s0.bind(("127.0.0.1", 0))
    rport = s0.getsockname()[1]
    s0.close()
    redis_proc = subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1",
                                   "--save", "", "--appendonly", "no", "--dir", work],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and redis_proc.poll() is None and subprocess.run(
            ["redis-cli", "-p", str(rport), "PING"], capture_output=True,
            timeout=20).stdout.strip() != b"PONG":
        time.sleep(0.05)  # polling interval, not a wait for a condition
    if redis_proc.poll() is not None:
        sys.exit("redis-server did not start on port %d" % rport)
    with open(q, "a") as f:
        f.write("""
CREATE SINK r WITH (connector = 'redis', url = 'redis://127.0.0.1:%d/0', type = 'hash',
    key = 'p:{device}:{window_start}') AS
SELECT device, window_start, COUNT(*) AS c, SUM(temp) AS s, SUM(n) AS sn, MAX(temp) AS mx
FROM TUMBLE(ev, ts, INTERVAL '10' SECOND) GROUP BY device;
""" % rport)


def redis_cli(*args):
    return subprocess.run(["redis-cli", "-p", str(rport), *map(str, args)], capture_output=True,
                          timeout=20).stdout


fails = []


def check(cond, what):
    if not cond:
        fails.append(what)
    return cond


p = subprocess.Popen([sluice, "run", "--workers", "2", "--http", "127.0.0.1:0", q],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
port = None
deadline = time.monotonic() + 20
errlines = []
while time.monotonic() < deadline and port is None:
    line = p.stderr.readline().decode(errors="replace")
    errlines.append(line)
    m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
    if m:
        port = int(m.group(1))
if port is None:
    p.kill()
    sys.exit("no http port in sluice's log:\n" + "".join(errlines))


def get(path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


# The oracle, by hand from SQL.md: valid events by (device, 10 s window).
valid = [json.loads(pl) for pl, why in lines if why is None]
groups = {}
for e in valid:
    ws = e["ts"] - e["ts"] % 10_000
    g = groups.setdefault((e["device"], ws), {"c": 0, "s": 0.0, "sn": 0, "mx": None})
    g["c"] += 1
    g["s"] += e["temp"]
    g["sn"] += e["n"]
    g["mx"] = e["temp"] if g["mx"] is None else max(g["mx"], e["temp"])
for v in groups.values():  # SQL.md: a NaN or infinite result is NULL
    v["s"] = v["s"] if math.isfinite(v["s"]) else None
want = sorted(({"device": d, "window_start": ws, **v} for (d, ws), v in groups.items()
               if ws + 10_000 <= base + 20_000), key=lambda r: (r["window_start"], r["device"]))

deadline = time.monotonic() + 60
vals = {}
while time.monotonic() < deadline:
    vals = conservation.parse(get("/metrics")[1])
    rows = open(out, "rb").read().splitlines() if os.path.exists(out) else []
    if conservation.total(vals, "sluice_source_events_total", source="ev") == len(lines) and \
            len(rows) >= len(want):
        break
    time.sleep(0.05)  # polling interval, not a wait for a condition

text = get("/metrics")[1]
vals = conservation.parse(text)
errors = conservation.check(text)
check(errors == [], "counters do not reconcile: %s" % errors)
expect_rej = {}
for _, why in lines:
    if why not in (None, "late"):
        expect_rej[why] = expect_rej.get(why, 0) + 1
for why, n in sorted(expect_rej.items()):
    got = conservation.total(vals, "sluice_source_rejected_total", source="ev", reason=why)
    check(got == n, "rejected{reason=%s} = %g, expected %d" % (why, got, n))
nrej = sum(expect_rej.values())
check(conservation.total(vals, "sluice_source_rejected_total", source="ev") == nrej,
      "rejected total %g, expected %d" % (
          conservation.total(vals, "sluice_source_rejected_total", source="ev"), nrej))
check(conservation.total(vals, "sluice_query_late_total", source="ev", query="w") == 1,
      "late = %g, expected 1 (only the event ten years behind)" %
      conservation.total(vals, "sluice_query_late_total", source="ev", query="w"))
check(conservation.total(vals, "sluice_query_accepted_total", source="ev", query="w") ==
      len(valid), "accepted %g, expected %d" % (
          conservation.total(vals, "sluice_query_accepted_total", source="ev", query="w"),
          len(valid)))
check(get("/readyz")[0] == 200, "/readyz not ready after bad payloads")

p.send_signal(signal.SIGTERM)
try:
    rc = p.wait(timeout=30)
except subprocess.TimeoutExpired:
    p.kill()
    rc = "timeout"
stderr = b"".join(x.encode() for x in errlines) + p.stderr.read()
check(rc == 0, "exit status after SIGTERM: %s" % rc)


def no_constants(c):
    raise ValueError("non-finite number %s in output" % c)


raw = open(out, "rb").read() if os.path.exists(out) else b""
try:
    raw.decode("utf-8", errors="strict")
except UnicodeDecodeError as e:
    fails.append("sink output is not valid UTF-8: %s" % e)
rows = []
for line in raw.splitlines():
    try:
        rows.append(json.loads(line, parse_constant=no_constants))
    except ValueError as e:
        fails.append("sink output line %r: %s" % (line[:80], e))
got = sorted((r for r in rows if r["window_start"] + 10_000 <= base + 20_000),
             key=lambda r: (r["window_start"], r["device"]))
check(len(got) == len(want), "rows %d, expected %d: %s" % (len(got), len(want), got))
for g, w in zip(got, want):
    same = g["device"] == w["device"] and g["window_start"] == w["window_start"] and \
        g["c"] == w["c"] and g["sn"] == w["sn"] and g["mx"] == w["mx"] and \
        (g["s"] == w["s"] if w["s"] is None or g["s"] is None
         else abs(g["s"] - w["s"]) <= 1e-9 * max(1.0, abs(w["s"])))
    check(same, "row %s, expected %s" % (g, w))

if rport is not None:
    # every row in Redis: valid UTF-8, finite numbers, NULL as an absent field
    for w in want:
        key = "p:%s:%d" % (w["device"], w["window_start"])
        raw = redis_cli("--raw", "HGETALL", key).split(b"\n")
        try:
            h = {k.decode("utf-8"): v.decode("utf-8") for k, v in zip(raw[0:-1:2], raw[1::2])}
        except UnicodeDecodeError as e:
            fails.append("redis %s: invalid UTF-8: %s" % (key, e))
            continue
        for k, v in h.items():
            if k in ("s", "mx", "c", "sn") and not math.isfinite(float(v)):
                fails.append("redis %s: %s = %s is not finite" % (key, k, v))
        check(("s" in h) == (w["s"] is not None), "redis %s: field s %s, expected %s" %
              (key, h.get("s"), w["s"]))
        check(h.get("c") == str(w["c"]) and h.get("device") == w["device"],
              "redis %s = %s, expected %s" % (key, h, w))
    redis_proc.kill()

dead = open(dl, "rb").read().split(b"\n") if os.path.exists(dl) else []
dead = [d for d in dead if d]
# SQL.md: the dead-letter file holds rejected and late events, each with its reason.
# A late event is dead-lettered once per query that dropped it (w, and r with Redis).
nq = 2 if rport is not None else 1
want_dead = [(i, why) for i, (_, why) in enumerate(lines) if why is not None
             for _ in range(nq if why == "late" else 1)]
check(len(dead) == len(want_dead), "dead letters %d, expected %d" % (len(dead), len(want_dead)))
for d, (i, why) in zip(dead, want_dead):
    try:
        d.decode("utf-8", errors="strict")
        j = json.loads(d, parse_constant=no_constants)
        check(j.get("reason") == why and j.get("offset") == i,
              "dead letter %r, expected reason %s at offset %d" % (d[:100], why, i))
    except ValueError as e:
        fails.append("dead letter is not valid JSON/UTF-8: %r: %s" % (d[:80], e))
        break

if fails:
    print("\n".join(fails))
    print("sluice's log (end):\n" + stderr.decode(errors="replace")[-3000:])
    print("hostile_payloads: %d failed" % len(fails))
    sys.exit(1)
print("hostile_payloads: %d payloads, %d rejected by reason, 1 late, %d rows exact, "
      "counters reconcile" % (len(lines), nrej, len(want)))
