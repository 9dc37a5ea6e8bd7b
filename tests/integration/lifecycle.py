#!/usr/bin/env python3
"""A live (follow-mode) file source through `sluice run`: /metrics, /healthz and /readyz
while it runs, counters that reconcile by SQL.md's formulas, windows fired by the all-idle
wall-clock advance, lines appended while it runs (one in two parts), and SIGTERM: intake stops, emitted rows are delivered, exit 0.

Expected rows are written by hand from SQL.md for a small stream. No sleeps: every wait
polls for its condition with a deadline.

usage: lifecycle.py SLUICE_BINARY WORKDIR PROMPARSE
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

sluice, work, promparse = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(work, exist_ok=True)
inp, out, dl = (os.path.join(work, n) for n in ("in.jsonl", "out.jsonl", "dead.jsonl"))
for p in (inp, out, dl):
    if os.path.exists(p):
        os.unlink(p)

T0 = 1_800_000_000_000  # a 10 s boundary; the events are "in the future" for max_future?
# max_future is 5 minutes against the wall clock: use times near now instead.
now = int(time.time() * 1000)
base = now - now % 10_000 - 60_000  # a 10 s boundary a minute ago
events = [
    {"device": "a", "temp": 10, "ts": base + 1000},
    {"device": "b", "temp": 20, "ts": base + 2000},
    {"device": "a", "temp": 30, "ts": base + 9999},
    {"device": "a", "temp": 50, "ts": base + 10_000},
    {"device": "b", "temp": 70, "ts": base + 15_000},
]
bad = [b"{oops", b'{"device": "a", "temp": "hot", "ts": %d}' % (base + 3000),
       b'{"device": "a", "temp": 1, "ts": %d}' % (now + 3_600_000)]  # an hour ahead: future
with open(inp, "wb") as f:
    for e in events[:2]:
        f.write(json.dumps(e).encode() + b"\n")
    for b in bad:
        f.write(b + b"\n")
    for e in events[2:]:
        f.write(json.dumps(e).encode() + b"\n")

q = os.path.join(work, "q.sql")
with open(q, "w") as f:
    f.write("""
CREATE SOURCE ev (device TEXT, temp DOUBLE, ts TIMESTAMP,
                  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'file', path = '%s', follow = 'true', idle_timeout = '1s', max_future = '5m',
      dead_letter = '%s');
CREATE SINK w WITH (connector = 'file', path = '%s') AS
SELECT device, window_start, COUNT(*) AS n, SUM(temp) AS s
FROM TUMBLE(ev, ts, INTERVAL '10' SECOND) GROUP BY device;
CREATE SINK hot WITH (connector = 'stdout') AS
SELECT device, temp FROM ev WHERE temp > 60;
""" % (inp, dl, out))

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
    line = p.stderr.readline().decode()
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


def metrics():
    _, text = get("/metrics")
    vals = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, v = line.rsplit(" ", 1)
        vals[name] = float(v)
    return text, vals


def metric(vals, family, **labels):
    total = 0.0
    for k, v in vals.items():
        if k.split("{")[0] != family:
            continue
        if all('%s="%s"' % (a, b) in k for a, b in labels.items()):
            total += v
    return total


# Wait until every line is counted, and the all-idle advance has fired both windows.
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    text, vals = metrics()
    rows = open(out).read().splitlines() if os.path.exists(out) else []
    if metric(vals, "sluice_source_events_total", source="ev") == 8 and len(rows) >= 3:
        break
    time.sleep(0.05)  # polling interval, not a wait for a condition

check(get("/healthz")[0] == 200, "/healthz is not 200")
check(get("/readyz")[0] == 200, "/readyz is not 200 while running")
check(get("/nope")[0] == 404, "unknown path is not 404")
text, vals = metrics()
with open(os.path.join(work, "metrics.txt"), "w") as f:
    f.write(text)
r = subprocess.run([sys.executable, promparse, os.path.join(work, "metrics.txt")],
                   capture_output=True)
check(r.returncode == 0, "promparse: " + r.stdout.decode() + r.stderr.decode())

ev_in = metric(vals, "sluice_source_events_total", source="ev")
dec = metric(vals, "sluice_source_decoded_total", source="ev")
rej = metric(vals, "sluice_source_rejected_total", source="ev")
check((ev_in, dec, rej) == (8, 5, 3), "in/decoded/rejected = %s, expected 8/5/3" % ((ev_in, dec, rej),))
check(metric(vals, "sluice_source_rejected_total", source="ev", reason="future") == 1,
      "the event an hour ahead is not rejected as future")
for qn, acc, filt in (("w", 5, 0), ("hot", 1, 4)):
    parts = [metric(vals, "sluice_query_%s_total" % k, source="ev", query=qn)
             for k in ("filtered", "late", "over_limit", "replay_skipped", "accepted")]
    check(sum(parts) == dec, "query %s: %s does not add up to decoded %d" % (qn, parts, dec))
    check(parts[4] == acc and parts[0] == filt, "query %s: accepted/filtered %s" % (qn, parts))

# By hand from SQL.md: windows [base, base+10s) and [base+10s, base+20s).
want = [
    {"device": "a", "window_start": base, "n": 2, "s": 40},
    {"device": "b", "window_start": base, "n": 1, "s": 20},
    {"device": "a", "window_start": base + 10000, "n": 1, "s": 50},
    {"device": "b", "window_start": base + 10000, "n": 1, "s": 70},
]
rows = [json.loads(l) for l in open(out)] if os.path.exists(out) else []
check(rows[:2] == want[:2], "first window rows %s, expected %s" % (rows[:2], want[:2]))
# The markers that fired those windows are acknowledged: the sink published them.
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    if metric(metrics()[1], "sluice_sink_delivered_marker", sink="w") >= 2:
        break
    time.sleep(0.05)  # polling interval
check(metric(metrics()[1], "sluice_sink_delivered_marker", sink="w") >= 2,
      "sink w has not published a delivered marker past the first windows")
# A live source marks at least once a second without traffic (DESIGN.md): the per-event
# sink's acknowledged marker keeps moving although no event arrives.
m0 = metric(metrics()[1], "sluice_sink_delivered_marker", sink="hot")
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    if metric(metrics()[1], "sluice_sink_delivered_marker", sink="hot") >= m0 + 2:
        break
    time.sleep(0.05)  # polling interval
check(metric(metrics()[1], "sluice_sink_delivered_marker", sink="hot") >= m0 + 2,
      "no periodic markers on an idle live source")


def wait_metric(family, want, **labels):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if metric(metrics()[1], family, **labels) >= want:
            return True
        time.sleep(0.05)  # polling interval
    return False


# Follow: a line appended while the source waits at the end of the file is read, and a line
# written in two parts is one event once its newline arrives (the first part alone is not
# a malformed event: the dead letters stay at 3). Between the parts the source goes round
# its loop at least once (a periodic marker is delivered), having been woken by the write.
# A minute ahead (max_future is 5 minutes): its window stays open until SIGTERM, which emits
# no open window, so the window rows stay as written by hand below.
c_ts = int(time.time() * 1000) + 60_000
with open(inp, "ab", buffering=0) as f:
    f.write(b'{"device": "c", "temp": 9')
    m1 = metric(metrics()[1], "sluice_sink_delivered_marker", sink="hot")
    check(wait_metric("sluice_sink_delivered_marker", m1 + 1, sink="hot"),
          "no marker while half a line was written")
    f.write(b'5, "ts": %d}\n' % c_ts)
check(wait_metric("sluice_source_events_total", 9, source="ev"),
      "a line appended to the followed file was not read")

p.send_signal(signal.SIGTERM)
try:
    rc = p.wait(timeout=15)
except subprocess.TimeoutExpired:
    p.kill()
    rc = "timeout"
stdout = p.stdout.read().decode()
check(rc == 0, "exit status after SIGTERM: %s" % rc)
check(stdout.strip() == '{"device":"b","temp":70}\n{"device":"c","temp":95}',
      "per-event rows on stdout: %r" % stdout)
rows = [json.loads(l) for l in open(out)]
check(rows == want, "window rows %s, expected %s" % (rows, want))
check(len(open(dl).read().splitlines()) == 3, "dead letters: expected 3")

if fails:
    print("\n".join(fails))
    print("0 passed, %d failed" % len(fails))
    sys.exit(1)
print("lifecycle: metrics reconcile, idle advance fired 4 windows, SIGTERM exit 0")
