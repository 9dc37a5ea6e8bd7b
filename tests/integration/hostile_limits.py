#!/usr/bin/env python3
"""Limits (issue 12): max_groups per query, max_message_bytes, the nesting depth of 64, and a
long group key. Sluice keeps running, counts what it refused (over_limit per query, rejected
by reason per source), keeps folding events of the groups it has, says "degraded" on /readyz
while a query holds max_groups groups, and /metrics reconciles (tests/tools/conservation.py).

Expected counts come from a sequential simulation of SQL.md's rules written here (one worker,
so the order in which groups are created is the file's). No sleeps: waits poll a deadline.

usage: hostile_limits.py SLUICE_BINARY WORKDIR TOOLS_DIR
"""
import json
import os
import re
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
inp, out = os.path.join(work, "in.jsonl"), os.path.join(work, "out.jsonl")
for p in (inp, out):
    if os.path.exists(p):
        os.unlink(p)
now = int(time.time() * 1000)
ws = now - now % 60_000 - 120_000
MAX_GROUPS = 10
LONG = "L" * 60_000  # a 60 kB group key inside a 64 KiB message

lines = []  # (payload bytes, device or None when rejected, reason)
for i in range(20):
    lines.append((json.dumps({"device": "d%d" % i, "v": i, "ts": ws + i}), "d%d" % i, None))
for i in range(10):
    lines.append((json.dumps({"device": "d%d" % i, "v": 1, "ts": ws + 100 + i}), "d%d" % i, None))
lines.append((json.dumps({"device": LONG, "v": 2, "ts": ws + 200}), LONG, None))
lines.append(('{"device":"big","pad":"%s","v":1,"ts":%d}' % ("p" * 70_000, ws + 300), None,
              "too_large"))
lines.append(('{"device":"d0","x":%s%s,"v":3,"ts":%d}' % ("[" * 63, "]" * 63, ws + 400), "d0",
              None))  # depth 64: accepted
lines.append(('{"device":"d0","x":%s%s,"v":3,"ts":%d}' % ("[" * 64, "]" * 64, ws + 500), None,
              "too_deep"))
with open(inp, "w") as f:
    for pl, _, _ in lines:
        f.write(pl + "\n")

q = os.path.join(work, "q.sql")
with open(q, "w") as f:
    f.write(f"""
CREATE SOURCE ev (device TEXT, v BIGINT, ts TIMESTAMP,
                  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'file', path = '{inp}', follow = 'true', idle_timeout = '1h',
      max_message_bytes = '64KiB');
CREATE SINK w WITH (connector = 'file', path = '{out}', max_groups = '{MAX_GROUPS}') AS
SELECT device, window_start, COUNT(*) AS c, SUM(v) AS s
FROM TUMBLE(ev, ts, INTERVAL '1' MINUTE) GROUP BY device;
CREATE SINK k WITH (connector = 'file', path = '{out}.k') AS
SELECT device, window_start, COUNT(*) AS c
FROM TUMBLE(ev, ts, INTERVAL '1' MINUTE) GROUP BY device;
""")

# the oracle: groups in file order, max_groups refusing new ones
groups, acc, over = set(), 0, 0
for _, dev, why in lines:
    if dev is None:
        continue
    if dev in groups or len(groups) < MAX_GROUPS:
        groups.add(dev)
        acc += 1
    else:
        over += 1
valid = sum(1 for _, dev, _ in lines if dev is not None)

fails = []


def check(cond, what):
    if not cond:
        fails.append(what)
    return cond


p = subprocess.Popen([sluice, "run", "--workers", "1", "--http", "127.0.0.1:0", q],
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
port = None
deadline = time.monotonic() + 20
while time.monotonic() < deadline and port is None:
    m = re.search(r"http://127\.0\.0\.1:(\d+)", p.stderr.readline().decode(errors="replace"))
    port = int(m.group(1)) if m else None
if port is None:
    p.kill()
    sys.exit("no http port")


def get(path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def settled():
    v = conservation.parse(get("/metrics")[1])
    done = sum(conservation.total(v, "sluice_query_%s_total" % k, query="w")
               for k in conservation.QUERY_PARTS)
    return conservation.total(v, "sluice_source_events_total", source="ev") == len(lines) and \
        done == valid


deadline = time.monotonic() + 60
while time.monotonic() < deadline and not settled():
    time.sleep(0.05)  # polling interval, not a wait for a condition
text = get("/metrics")[1]
vals = conservation.parse(text)
check(conservation.check(text) == [], "counters do not reconcile: %s" % conservation.check(text))


def t(family, **labels):
    return conservation.total(vals, family, **labels)


check(t("sluice_query_accepted_total", query="w") == acc,
      "w accepted %g, expected %d" % (t("sluice_query_accepted_total", query="w"), acc))
check(t("sluice_query_over_limit_total", query="w") == over,
      "w over_limit %g, expected %d" % (t("sluice_query_over_limit_total", query="w"), over))
check(t("sluice_query_accepted_total", query="k") == valid,
      "k accepted %g, expected %d" % (t("sluice_query_accepted_total", query="k"), valid))
check(t("sluice_source_rejected_total", source="ev", reason="too_large") == 1, "too_large != 1")
check(t("sluice_source_rejected_total", source="ev", reason="too_deep") == 1, "too_deep != 1")
st, body = get("/readyz")
check(st == 503 and "max_groups" in body and "w" in body, "/readyz at max_groups: %s %r" %
      (st, body))
check(get("/healthz")[0] == 200, "/healthz while degraded")
p.send_signal(signal.SIGTERM)
try:
    rc = p.wait(timeout=30)
except subprocess.TimeoutExpired:
    p.kill()
    rc = "timeout"
check(rc == 0, "exit status after SIGTERM: %s" % rc)

if fails:
    print("\n".join(fails))
    sys.exit(1)
print("hostile_limits: max_groups %d: accepted %d, over_limit %d, /readyz degraded; too_large, "
      "too_deep (65) rejected, depth 64 and a 60 kB key accepted" % (MAX_GROUPS, acc, over))
