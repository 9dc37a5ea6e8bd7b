#!/usr/bin/env python3
"""The redis sink against a real redis-server (Debian's), started here on a free loopback port.

Cases: every type (hash, string, stream, publish, zset), NULL -> field absent and HDEL of a
field a correction made NULL, ttl, latest_key ordering (a newer window already stored is
kept), a wrong-type key (refused, logged with its key, the rest delivered, exit 0), an ACL
user limited to the keys and commands the sink needs and a wrong password failing clearly,
a kill -9 of Redis (AOF on) mid-stream with no lost window, and CLIENT PAUSE with bounded
memory and every window delivered afterwards.

Expected values are written by hand from SQL.md for a small stream, or follow from
docs/engine.md's datagen definition (row n has event time 2024-01-01 + n*1000/rps ms, so a
1 s window holds exactly rps rows). Every wait polls with a deadline.

usage: redis_sink.py SLUICE_BINARY WORKDIR
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

sluice, work = sys.argv[1], os.path.abspath(sys.argv[2])
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
fails = []
procs = []


def check(cond, what):
    if not cond:
        fails.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cli(port, *args, user=None, raw=True):
    cmd = ["redis-cli", "-p", str(port)]
    if raw:
        cmd.append("--raw")
    if user:
        cmd += ["--user", user[0], "--pass", user[1], "--no-auth-warning"]
    r = subprocess.run(cmd + [str(a) for a in args], capture_output=True, timeout=20)
    return r.stdout.decode()


def wait_for(cond, secs, what):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    check(False, "timed out waiting for " + what)
    return None


def start_redis(port, d, aof=False, extra=()):
    # appendfsync always: with everysec Redis may acknowledge a write whose AOF write is
    # postponed behind a running fsync, and a kill -9 then loses it.
    os.makedirs(d, exist_ok=True)
    p = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save",
                          "", "--appendonly", "yes" if aof else "no", "--appendfsync",
                          "always" if aof else "everysec", "--dir", d, *extra],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(p)
    wait_for(lambda: cli(port, "PING").strip() == "PONG", 20, "redis-server PING")
    return p


def hgetall(port, key):
    out = cli(port, "HGETALL", key).split("\n")
    return dict(zip(out[0:-1:2], out[1::2]))


def run_sluice(q, extra=()):
    return subprocess.run([sluice, "run", "--http", "off", "--workers", "2", *extra, q],
                          capture_output=True, timeout=120)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


# ---- 1. every type, NULL, ttl, latest_key, wrong type, publish ----
port = free_port()
sock = os.path.join(work, "r1.sock")
rd = start_redis(port, os.path.join(work, "r1"), extra=("--unixsocket", sock))
T0 = 1_700_000_000_000  # a 10 s boundary
events = [
    {"device": "a", "temp": 20.5, "ts": T0 + 1000},
    {"device": "a", "temp": 21.25, "ts": T0 + 2000},
    {"device": "b", "temp": None, "ts": T0 + 3000},
    {"device": "a", "temp": 30, "ts": T0 + 12000},   # closes window T0
    {"device": "a", "temp": 25, "ts": T0 + 5000},    # late: corrects window T0
    {"device": "a", "temp": 40, "ts": T0 + 15000},
]
inp = os.path.join(work, "in.jsonl")
write(inp, "".join(json.dumps(e) + "\n" for e in events))
sel = """SELECT device, window_start, COUNT(*) AS n, SUM(temp) AS s, MAX(temp) AS mx,
       CASE WHEN COUNT(*) >= 3 THEN NULL ELSE MAX(temp) END AS early_max,
       COUNT(*) > 1 AS many
FROM TUMBLE(ev, ts, INTERVAL '10' SECOND) GROUP BY device ALLOWED LATENESS INTERVAL '1' MINUTE;
"""
q = os.path.join(work, "q1.sql")
write(q, f"""
CREATE SOURCE ev (device TEXT, temp DOUBLE, ts TIMESTAMP,
                  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'file', path = '{inp}');
CREATE SINK h WITH (connector = 'redis', url = 'redis://127.0.0.1:{port}/0', type = 'hash',
    key = 'h:{{device}}:{{window_start}}', latest_key = 'hl:{{device}}', ttl = '1h') AS {sel}
CREATE SINK st WITH (connector = 'redis', url = 'redis://127.0.0.1:{port}', type = 'string',
    key = 's:{{device}}:{{window_start}}', latest_key = 'sl:{{device}}') AS
SELECT device, COUNT(*) AS n, SUM(temp) AS s FROM TUMBLE(ev, ts, INTERVAL '10' SECOND)
GROUP BY device ALLOWED LATENESS INTERVAL '1' MINUTE;
CREATE SINK xs WITH (connector = 'redis', url = 'redis://127.0.0.1:{port}', type = 'stream',
    key = 'x:{{device}}', maxlen = '1000') AS {sel}
CREATE SINK z WITH (connector = 'redis', url = 'redis://127.0.0.1:{port}', type = 'zset',
    key = 'z:{{window_start}}', score = 's', member = 'device') AS
SELECT device, SUM(temp) AS s FROM TUMBLE(ev, ts, INTERVAL '10' SECOND)
GROUP BY device ALLOWED LATENESS INTERVAL '1' MINUTE;
CREATE SINK pb WITH (connector = 'redis', url = 'redis://127.0.0.1:{port}', type = 'publish',
    key = 'chan') AS
SELECT device, COUNT(*) AS n FROM TUMBLE(ev, ts, INTERVAL '10' SECOND) GROUP BY device;
CREATE SINK w WITH (connector = 'redis', url = 'redis://127.0.0.1:{port}', key = 'w:{{device}}')
AS SELECT device, COUNT(*) AS n FROM TUMBLE(ev, ts, INTERVAL '10' SECOND) GROUP BY device;
CREATE SINK ux WITH (connector = 'redis', url = 'unix://{sock}', key = 'ux:{{device}}') AS
SELECT device, COUNT(*) AS n FROM TUMBLE(ev, ts, INTERVAL '10' SECOND) GROUP BY device;
CREATE SINK db2 WITH (connector = 'redis', url = 'redis://127.0.0.1:{port}/2',
    key = 'db2:{{device}}') AS
SELECT device, COUNT(*) AS n FROM TUMBLE(ev, ts, INTERVAL '10' SECOND) GROUP BY device;
CREATE SINK pe WITH (connector = 'redis', url = 'redis://127.0.0.1:{port}', type = 'hash') AS
SELECT device, temp FROM ev WHERE device = 'b';
CREATE SINK hc WITH (connector = 'redis', url = 'redis://127.0.0.1:{port}',
    key = 'hc:{{window_start}}', hll_key = 'hll:{{window_start}}') AS
SELECT window_start, APPROX_COUNT_DISTINCT(device) AS d
FROM TUMBLE(ev, ts, INTERVAL '10' SECOND);
""")
# A newer window already at hl:b must survive the older rows; a list where w:b goes.
cli(port, "HSET", "hl:b", "window_start", T0 + 50_000, "n", 99)
cli(port, "RPUSH", "w:b", "not-a-hash")
sub = subprocess.Popen(["redis-cli", "-p", str(port), "--raw", "SUBSCRIBE", "chan"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
procs.append(sub)
wait_for(lambda: "chan" in cli(port, "PUBSUB", "CHANNELS"), 10, "SUBSCRIBE")
r = run_sluice(q)
err = r.stderr.decode()
check(r.returncode == 0, f"run 1 exits 0 (got {r.returncode}): {err[-2000:]}")

W1 = T0 + 10_000
check(hgetall(port, f"h:a:{T0}") == {"device": "a", "window_start": str(T0), "n": "3",
                                      "s": "66.75", "mx": "25", "many": "true"},
      f"hash h:a:T0 after correction (no stale early_max): {hgetall(port, f'h:a:{T0}')}")
check(hgetall(port, f"h:b:{T0}") == {"device": "b", "window_start": str(T0), "n": "1",
                                      "many": "false"},
      f"hash h:b:T0 NULL columns absent: {hgetall(port, f'h:b:{T0}')}")
check(hgetall(port, f"h:a:{W1}") == {"device": "a", "window_start": str(W1), "n": "2", "s": "70",
                                      "mx": "40", "early_max": "40", "many": "true"},
      f"hash h:a:W1: {hgetall(port, f'h:a:{W1}')}")
ttl = int(cli(port, "TTL", f"h:a:{T0}").strip() or -9)
check(3500 < ttl <= 3600, f"ttl 1h on h:a:T0, got {ttl}")
check(hgetall(port, "hl:a") == hgetall(port, f"h:a:{W1}"), f"latest hl:a is window W1")
check(hgetall(port, "hl:b") == {"window_start": str(T0 + 50_000), "n": "99"},
      f"latest hl:b keeps the newer window: {hgetall(port, 'hl:b')}")
ttl = int(cli(port, "TTL", "hl:a").strip() or -9)
check(3500 < ttl <= 3600, f"ttl on latest key, got {ttl}")

check(json.loads(cli(port, "GET", f"s:a:{T0}")) == {"device": "a", "n": 3, "s": 66.75},
      "string s:a:T0")
check(cli(port, "GET", f"s:b:{T0}").strip() == '{"device":"b","n":1,"s":null}',
      f"string s:b:T0 exact JSON: {cli(port, 'GET', f's:b:{T0}')}")
check(json.loads(cli(port, "GET", "sl:a")) == {"device": "a", "n": 2, "s": 70,
                                                "window_start": W1}, "string latest sl:a")
check(cli(port, "TTL", f"s:a:{T0}").strip() == "-1", "no ttl when not asked")

# hll_key: the window's sketch is a native HyperLogLog that PFCOUNT and PFMERGE read like one
# built by PFADD of the same values (window T0: devices a, b; the late event is dropped here).
cli(port, "PFADD", "ref:T0", "a", "b")
check(cli(port, "PFCOUNT", f"hll:{T0}").strip() == "2", f"PFCOUNT hll:T0 = 2: "
      f"{cli(port, 'PFCOUNT', f'hll:{T0}')!r}")
check(cli(port, "PFCOUNT", f"hll:{W1}").strip() == "1", "PFCOUNT hll:W1 = 1")
cli(port, "PFMERGE", "m:T0", f"hll:{T0}", "ref:T0")
check(cli(port, "PFCOUNT", "m:T0").strip() == "2", "PFMERGE of ours and PFADD's = 2")
cli(port, "PFMERGE", "m:all", f"hll:{T0}", f"hll:{W1}")
check(cli(port, "PFCOUNT", "m:all").strip() == "2", "PFMERGE across windows = 2 devices")
check(hgetall(port, f"hc:{T0}") == {"window_start": str(T0), "d": "2"}, "hc:T0 row")

xr = cli(port, "XRANGE", "x:a", "-", "+").split("\n")
entries = []
for line in xr:  # an entry id, then its field and value lines
    if re.fullmatch(r"\d+-\d+", line):
        entries.append([])
    elif entries and line:
        entries[-1].append(line)
entries = [dict(zip(e[0::2], e[1::2])) for e in entries]
check([e.get("n") for e in entries] == ["2", "3", "2"],
      f"stream x:a has the first row, the correction, window W1: {entries}")
check(len(entries) == 3 and entries[0].get("early_max") == "21.25" and
      "early_max" not in entries[1] and entries[2].get("early_max") == "40",
      f"stream NULL early_max left out of the correction: {entries}")
check(cli(port, "XLEN", "x:b").strip() == "1", "stream x:b one entry")

check(cli(port, "ZRANGE", f"z:{T0}", 0, -1, "WITHSCORES").split() == ["a", "66.75"],
      f"zset z:T0 (b's NULL score refused): {cli(port, 'ZRANGE', f'z:{T0}', 0, -1, 'WITHSCORES')}")
check(cli(port, "ZSCORE", f"z:{W1}", "a").strip() == "70", "zset z:W1")

check(cli(port, "TYPE", "w:b").strip() == "list", "wrong-type key left alone")
check("w:b" in err and "wrongtype" in err, f"wrong type logged with its key: {err[-1500:]}")
check(hgetall(port, "w:a") == {"device": "a", "n": "2"}, "other rows of the wrong-type sink")
check(hgetall(port, "ux:b") == {"device": "b", "n": "1"}, "unix:// socket sink")
check(cli(port, "-n", 2, "HGETALL", "db2:b").split() == ["device", "b", "n", "1"] and
      cli(port, "EXISTS", "db2:b").strip() == "0", "SELECT of the URL's db")
pe = cli(port, "KEYS", "pe:*").split()
check(len(pe) == 1 and hgetall(port, pe[0]) == {"device": "b"},
      f"per-event row under pe:{{_id}}, NULL temp absent: {pe}")

# Publish: two window rows for a and one for b, in window order.
want = [{"device": "a", "n": 2}, {"device": "b", "n": 1}, {"device": "a", "n": 2}]
got = []
deadline = time.monotonic() + 10
os.set_blocking(sub.stdout.fileno(), False)
buf = b""
while time.monotonic() < deadline and len(got) < 3:
    chunk = sub.stdout.read()
    if chunk:
        buf += chunk
    lines = buf.decode(errors="replace").split("\n")
    got = [json.loads(l) for l in lines if l.startswith("{")]
    time.sleep(0.05)
check(got == want, f"published messages {got}")
sub.kill()
check("password" not in err.lower() or "<secret>" in err, "no password in logs")

# The wrong-type key again on a live (follow) run: the refusal is in /metrics.
now = int(time.time() * 1000)
base = now - now % 10_000 - 60_000
inp2 = os.path.join(work, "live.jsonl")
write(inp2, "".join(json.dumps(e) + "\n" for e in [
    {"device": "b", "temp": 1, "ts": base + 1000}, {"device": "a", "temp": 2, "ts": base + 2000},
    {"device": "a", "temp": 3, "ts": base + 12_000}]))
cli(port, "DEL", "lw:a", "lw:b")
cli(port, "RPUSH", "lw:b", "not-a-hash")
cli(port, "CONFIG", "SET", "maxmemory-policy", "noeviction")
cli(port, "CONFIG", "SET", "maxmemory", 1)  # every write refused with OOM until reset
q = os.path.join(work, "q1b.sql")
write(q, f"""CREATE SOURCE ev (device TEXT, temp DOUBLE, ts TIMESTAMP,
                  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'file', path = '{inp2}', follow = 'true', max_future = '5m',
      idle_timeout = '1s');
CREATE SINK lw WITH (connector = 'redis', url = 'redis://127.0.0.1:{port}', key = 'lw:{{device}}')
AS SELECT device, COUNT(*) AS n FROM TUMBLE(ev, ts, INTERVAL '10' SECOND) GROUP BY device;
""")
p = subprocess.Popen([sluice, "run", "--http", "127.0.0.1:0", q], stderr=subprocess.PIPE,
                     stdout=subprocess.DEVNULL)
procs.append(p)
hport = None
deadline = time.monotonic() + 20
while time.monotonic() < deadline and hport is None:
    m = re.search(r"http://127\.0\.0\.1:(\d+)", p.stderr.readline().decode())
    hport = int(m.group(1)) if m else None
check(hport is not None, "live run prints its http address")


def metric(name, **labels):
    """The value of series name{labels} (labels in any order), or None."""
    if hport is None:
        return None
    with urllib.request.urlopen(f"http://127.0.0.1:{hport}/metrics", timeout=5) as r:
        text = r.read().decode()
    for line in text.splitlines():
        m = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if m and m.group(1) == name and dict(
                re.findall(r'(\w+)="([^"]*)"', m.group(2) or "")) == labels:
            return float(m.group(3))
    return None


wait_for(lambda: (metric("sluice_redis_errors_total", sink="lw", kind="oom") or 0) >= 2, 20,
         "OOM counted and retried")
check(cli(port, "EXISTS", "lw:a").strip() == "0", "nothing written while Redis is OOM")
cli(port, "CONFIG", "SET", "maxmemory", 0)
wait_for(lambda: metric("sluice_redis_errors_total", sink="lw", kind="wrongtype") == 1, 20,
         "wrongtype counted in /metrics")
check(metric("sluice_redis_rows_refused_total", sink="lw") == 1, "one row refused")
check(metric("sluice_redis_errors_total", sink="lw", kind="connection") == 0, "no conn errors")
check((metric("sluice_redis_commands_total", sink="lw") or 0) >= 2, "commands counted")
check((metric("sluice_redis_write_seconds_count", sink="lw") or 0) >= 1, "write histogram")
check(hgetall(port, "lw:a") == {"device": "a", "n": "1"}, "live: the other row delivered")
p.send_signal(signal.SIGTERM)
try:
    p.wait(timeout=30)
except subprocess.TimeoutExpired:
    p.kill()
check(p.returncode == 0, f"live run exits 0 on SIGTERM (got {p.returncode})")
rd.kill()
rd.wait()

# ---- 2. ACL user with the minimal command set; wrong password ----
port = free_port()
rd = start_redis(port, os.path.join(work, "r2"))
cli(port, "ACL", "SETUSER", "sluice", "on", ">pw-ok", "~acl:*", "+hset", "+hdel", "+hget",
    "+multi", "+exec", "+pexpire", "+evalsha", "+script|load", "+select")
q = os.path.join(work, "q2.sql")
sink = """CREATE SINK acl WITH (connector = 'redis', url = 'redis://sluice:{pw}@127.0.0.1:{port}/0',
    key = 'acl:{{device}}:{{window_start}}', latest_key = 'acl:{{device}}', ttl = '10m') AS {sel}"""
write(q, f"""CREATE SOURCE ev (device TEXT, temp DOUBLE, ts TIMESTAMP,
                  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'file', path = '{inp}');
""" + sink.format(pw="pw-ok", port=port, sel=sel))
r = run_sluice(q)
check(r.returncode == 0, f"ACL run exits 0: {r.stderr.decode()[-1500:]}")
check(hgetall(port, f"acl:b:{T0}") == {"device": "b", "window_start": str(T0), "n": "1",
                                        "many": "false"}, "ACL user wrote the hash")
check(hgetall(port, "acl:a").get("window_start") == str(W1), "ACL user ran the latest script")
check("NOPERM" not in r.stderr.decode(), "the minimal ACL suffices")
write(q, f"""CREATE SOURCE ev (device TEXT, temp DOUBLE, ts TIMESTAMP,
                  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'file', path = '{inp}');
""" + sink.format(pw="Wr0ng-Secret", port=port, sel=sel))
p = subprocess.Popen([sluice, "run", "--http", "off", "--shutdown-timeout", "1s", q],
                     stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
procs.append(p)
os.set_blocking(p.stderr.fileno(), False)
buf = b""


def saw_auth():
    global buf
    c = p.stderr.read()
    if c:
        buf += c
    return b"AUTH refused" in buf and b"WRONGPASS" in buf


wait_for(saw_auth, 20, "AUTH refused log line")
check(b"Wr0ng-Secret" not in buf, "the password is never logged")
p.send_signal(signal.SIGTERM)
try:
    p.wait(timeout=20)
    # Rows the peer never acknowledged: exit 1 after --shutdown-timeout, naming the sink.
    check(p.returncode == 1, "undelivered rows at --shutdown-timeout: exit %s, expected 1"
          % p.returncode)
    os.set_blocking(p.stderr.fileno(), True)
    buf += p.stderr.read()
    check(b"undelivered" in buf and b"sink acl:" in buf,
          "the log names the sink whose rows are undelivered")
except subprocess.TimeoutExpired:
    check(False, "sluice with a wrong password stops on SIGTERM")
    p.kill()
rd.kill()
rd.wait()

# ---- 3. kill -9 of Redis (AOF) mid-stream: no lost window ----
port = free_port()
d3 = os.path.join(work, "r3")
rd = start_redis(port, d3, aof=True)
RPS, ROWS = 2000, 16000  # 8 windows of 1 s, 2000 rows each, paced over 8 s
q = os.path.join(work, "q3.sql")
write(q, f"""CREATE SOURCE g (device TEXT, temp DOUBLE, ts TIMESTAMP,
                 WATERMARK FOR ts AS ts - INTERVAL '100' MILLISECOND)
WITH (connector = 'datagen', rows = '{ROWS}', rows_per_second = '{RPS}', keys = '20');
CREATE SINK rs WITH (connector = 'redis', url = 'redis://127.0.0.1:{port}', pipeline = '16') AS
SELECT device, window_start, COUNT(*) AS n FROM TUMBLE(g, ts, INTERVAL '1' SECOND)
GROUP BY device;
""")
p = subprocess.Popen([sluice, "run", "--http", "off", q], stderr=subprocess.PIPE,
                     stdout=subprocess.DEVNULL)
procs.append(p)
wait_for(lambda: len(cli(port, "KEYS", "rs:*").split()) > 0, 20, "first windows in Redis")
rd.kill()  # SIGKILL
rd.wait()
time.sleep(0.3)  # Redis is away for a moment (not a wait for a condition)
rd = start_redis(port, d3, aof=True)
try:
    _, perr = p.communicate(timeout=120)
except subprocess.TimeoutExpired:
    p.kill()
    _, perr = p.communicate()
check(p.returncode == 0, f"restart run exits 0: {perr.decode()[-1500:]}")
T2024 = 1704067200000
per_window = {}
for k in cli(port, "KEYS", "rs:*").split():
    h = hgetall(port, k)
    per_window[int(h["window_start"])] = per_window.get(int(h["window_start"]), 0) + int(h["n"])
want = {T2024 + 1000 * i: RPS for i in range(ROWS // RPS)}
check(per_window == want, f"every window complete after the restart: {per_window}")
check(b"reconnected" in perr, "the sink reconnected")
rd.kill()
rd.wait()

# ---- 4. CLIENT PAUSE: bounded memory, every window afterwards ----
port = free_port()
rd = start_redis(port, os.path.join(work, "r4"))
ROWS4 = 4_000_000  # 1 ms per row: 400 windows of 10 s, 100 keys
q = os.path.join(work, "q4.sql")
write(q, f"""CREATE SOURCE g (device TEXT, temp DOUBLE, ts TIMESTAMP,
                 WATERMARK FOR ts AS ts - INTERVAL '100' MILLISECOND)
WITH (connector = 'datagen', rows = '{ROWS4}', rows_per_second = '0', keys = '100');
CREATE SINK ps WITH (connector = 'redis', url = 'redis://127.0.0.1:{port}') AS
SELECT device, window_start, COUNT(*) AS n FROM TUMBLE(g, ts, INTERVAL '10' SECOND)
GROUP BY device;
""")
p = subprocess.Popen([sluice, "run", "--http", "off", q], stderr=subprocess.PIPE,
                     stdout=subprocess.DEVNULL)
procs.append(p)
cli(port, "CLIENT", "PAUSE", 3000, "WRITE")
t_pause = time.monotonic()
rss_max = 0
while time.monotonic() - t_pause < 3.0 and p.poll() is None:
    try:
        with open(f"/proc/{p.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss_max = max(rss_max, int(line.split()[1]))
    except OSError:
        pass
    time.sleep(0.05)
check(p.poll() is None, "sluice waits for the paused Redis")
try:
    _, perr = p.communicate(timeout=120)
except subprocess.TimeoutExpired:
    p.kill()
    _, perr = p.communicate()
check(p.returncode == 0, f"pause run exits 0: {perr.decode()[-1500:]}")
check(0 < rss_max < 400 * 1024, f"RSS during the pause bounded: {rss_max} KiB")
per_window = {}
keys = cli(port, "--scan", "--pattern", "ps:*").split()
pipe = "\n".join(f"HGET {k} n" for k in keys) + "\n"
ns = subprocess.run(["redis-cli", "-p", str(port)], input=pipe.encode(),
                    capture_output=True).stdout.decode().split()
for k, n in zip(keys, ns):
    ws = int(k.rsplit(":", 1)[1])
    per_window[ws] = per_window.get(ws, 0) + int(n)
want = {T2024 + 10_000 * i: 10_000 for i in range(ROWS4 // 10_000)}
check(per_window == want, f"every window after the pause ({len(per_window)} of {len(want)})")
print(f"pause: max RSS {rss_max} KiB, {len(keys)} hashes")
rd.kill()
rd.wait()

for pr in procs:
    if pr.poll() is None:
        pr.kill()
if fails:
    print("\n".join(fails), file=sys.stderr)
    sys.exit(1)
print("redis_sink: all checks passed")
