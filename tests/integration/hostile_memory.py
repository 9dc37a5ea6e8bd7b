#!/usr/bin/env python3
"""The process memory budget (issue 12, SQL.md --memory-limit): 1 M distinct keys into one
window under a 256 MB budget. Sluice keeps running, refuses the groups past the budget and
counts them as over_limit, keeps folding events of keys it already has, says "degraded" on
/readyz, and its resident set never passes the budget (VmHWM, the kernel's high-water mark,
read from /proc at the end, so that no peak between two samples is missed). The counters
reconcile by SQL.md's formulas (tests/tools/conservation.py).

A second run without a budget shows the test means something: the same input then needs
more than the budget (it is skipped when that is not so on this machine, and says so).

usage: hostile_memory.py SLUICE_BINARY WORKDIR TOOLS_DIR [KEYS]
"""
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

sluice, work, tools = sys.argv[1], sys.argv[2], sys.argv[3]
nkeys = int(sys.argv[4]) if len(sys.argv) > 4 else 1_000_000
sys.path.insert(0, tools)
import conservation  # noqa: E402

BUDGET = 256 << 20
REPEAT = 1000  # events for the first keys again, after the budget is reached
PAD = "device-" + "x" * 120  # long keys: 1 M groups then need more than the budget

os.makedirs(work, exist_ok=True)
inp = os.path.join(work, "in.jsonl")
now = int(time.time() * 1000)
ws = now - now % 60_000 - 120_000  # one 1-minute window, two minutes ago
with open(inp, "w") as f:
    for i in range(nkeys):
        f.write('{"device":"%s-%07d","temp":%d.5,"ts":%d}\n' % (PAD, i, i % 100, ws + i % 50_000))
    for i in range(REPEAT):
        f.write('{"device":"%s-%07d","temp":1,"ts":%d}\n' % (PAD, i, ws + 59_000))
total_lines = nkeys + REPEAT


def run(budget):
    """Runs sluice over the input; returns (metrics text, readyz, VmHWM bytes, exit code)."""
    q = os.path.join(work, "q.sql")
    with open(q, "w") as f:
        f.write("""
CREATE SOURCE ev (device TEXT, temp DOUBLE, ts TIMESTAMP,
                  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'file', path = '%s', follow = 'true', idle_timeout = '1h');
CREATE SINK w WITH (connector = 'file', path = '%s', max_groups = '100000000') AS
SELECT device, window_start, COUNT(*) AS c, SUM(temp) AS s
FROM TUMBLE(ev, ts, INTERVAL '1' MINUTE) GROUP BY device;
""" % (inp, os.path.join(work, "out.jsonl")))
    args = [sluice, "run", "--workers", "2", "--http", "127.0.0.1:0", q]
    if budget:
        args[2:2] = ["--memory-limit", str(budget)]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    port = None
    deadline = time.monotonic() + 20
    log = []
    while time.monotonic() < deadline and port is None:
        line = p.stderr.readline().decode(errors="replace")
        log.append(line)
        m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if m:
            port = int(m.group(1))
    if port is None:
        p.kill()
        sys.exit("no http port in sluice's log:\n" + "".join(log))

    def get(path):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    deadline = time.monotonic() + 300
    text = ""
    while time.monotonic() < deadline:
        text = get("/metrics")[1]
        vals = conservation.parse(text)
        done = conservation.total(vals, "sluice_query_accepted_total", query="w") + \
            conservation.total(vals, "sluice_query_over_limit_total", query="w")
        if conservation.total(vals, "sluice_source_events_total", source="ev") == total_lines \
                and done == total_lines:
            break
        time.sleep(0.1)  # polling interval, not a wait for a condition
    ready = get("/readyz")
    with open("/proc/%d/status" % p.pid) as f:
        hwm = int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1)) * 1024
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = "timeout"
    p.stderr.read()
    return text, ready, hwm, rc


fails = []


def check(cond, what):
    if not cond:
        fails.append(what)
    return cond


text, ready, hwm, rc = run(BUDGET)
vals = conservation.parse(text)
errors = conservation.check(text)
check(errors == [], "counters do not reconcile: %s" % errors)
inn = conservation.total(vals, "sluice_source_events_total", source="ev")
acc = conservation.total(vals, "sluice_query_accepted_total", query="w")
over = conservation.total(vals, "sluice_query_over_limit_total", query="w")
refused = conservation.total(vals, "sluice_memory_refused_groups_total")
limit = conservation.total(vals, "sluice_memory_limit_bytes")
check(inn == total_lines, "events in %g, expected %d" % (inn, total_lines))
check(hwm < BUDGET, "peak RSS %d bytes is over the %d-byte budget" % (hwm, BUDGET))
check(limit == BUDGET, "sluice_memory_limit_bytes %g, expected %d" % (limit, BUDGET))
check(over == refused, "over_limit %g != memory refused %g" % (over, refused))
check(acc >= REPEAT, "accepted %g: the first keys' later events must be folded" % acc)
check(rc == 0, "exit status after SIGTERM: %s" % rc)
if over > 0:
    check(ready[0] == 503 and "memory limit" in ready[1],
          "/readyz while over the budget: %s %r" % ready)
budget_line = "budget 256 MiB: peak RSS %.1f MiB, accepted %d, over_limit %d" % (
    hwm / 1048576, acc, over)

text0, ready0, hwm0, rc0 = run(0)
vals0 = conservation.parse(text0)
check(conservation.check(text0) == [], "without budget: counters do not reconcile")
acc0 = conservation.total(vals0, "sluice_query_accepted_total", query="w")
check(acc0 == total_lines, "without budget: accepted %g, expected %d" % (acc0, total_lines))
check(ready0[0] == 200, "without budget: /readyz %s" % (ready0,))
meaningful = hwm0 >= BUDGET
if meaningful:
    check(over > 0, "the budget refused nothing although the input needs %d bytes" % hwm0)
base_line = "no budget: peak RSS %.1f MiB%s" % (
    hwm0 / 1048576, "" if meaningful else " (under the budget: the budget was not tested)")

if fails:
    print("\n".join(fails))
    print(budget_line + "; " + base_line)
    sys.exit(1)
print("hostile_memory: %d keys; %s; %s" % (nkeys, budget_line, base_line))
