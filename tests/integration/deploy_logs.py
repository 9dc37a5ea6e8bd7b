#!/usr/bin/env python3
"""The engine's logs as a log collector sees them (docs/operations.md, "Logs").

`sluice run` with an MQTT source and a Redis sink whose peers are not there (closed loopback
ports), so that it logs connection failures and retries, with a password in the MQTT options and
in the Redis URL:

  * --log-format json: every line on stderr, the end-of-run summary included, is one JSON
    object with exactly ts (RFC 3339, UTC, ms), level, component and msg; the levels are
    error/warn/info/debug; the components are short words;
  * --log-format text: every line is "<ts> <level> <component>: <msg>" (the summary excepted);
  * --log-level error keeps only error lines; warn keeps error and warn lines;
  * the SLUICE_LOG_FORMAT / SLUICE_LOG_LEVEL variables work like the flags, a flag wins;
  * neither password appears anywhere in the output;
  * a bad value is refused with exit status 2.

Each run stops itself: it polls /readyz for the not-ready reason (a deadline, no sleeps), then
sends SIGTERM.

usage: deploy_logs.py SLUICE_BINARY WORKDIR
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
import urllib.error
import urllib.request

sluice, work = sys.argv[1], sys.argv[2]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
fails = []
SECRETS = ("mqtt-Pa55word-xyzzy", "redis-Pa55word-plugh")


def check(cond, what):
    print(("ok:   " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        fails.append(what)
    return cond


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


closed_mqtt, closed_redis = free_port(), free_port()
with open(os.path.join(work, "pw"), "w") as f:
    f.write(SECRETS[0] + "\n")
q = os.path.join(work, "q.sql")
with open(q, "w") as f:
    f.write("""
CREATE SOURCE ev (device TEXT, temp DOUBLE, ts TIMESTAMP,
                  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'mqtt', url = 'mqtt://127.0.0.1:%d', topic = 'a/+',
      username = 'sluice', password = '${file:%s}');
CREATE SINK out WITH (connector = 'redis', url = 'redis://sluice:%s@127.0.0.1:%d/0') AS
SELECT device, window_start, COUNT(*) AS n FROM TUMBLE(ev, ts, INTERVAL '10' SECOND)
GROUP BY device;
""" % (closed_mqtt, os.path.join(work, "pw"), SECRETS[1], closed_redis))


def readyz(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % port, timeout=1) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return None, ""


def run(flags, env_extra=None):
    """Runs until /readyz gives the not-connected reason, then SIGTERM; returns stderr lines."""
    port = free_port()
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("SLUICE_"):
            del env[k]
    env.update(env_extra or {})
    p = subprocess.Popen([sluice, "run", "--http", "127.0.0.1:%d" % port] + flags + [q],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 20
    reason = ""
    while time.monotonic() < deadline and p.poll() is None:
        code, body = readyz(port)
        if code == 503 and "not connected" in body:
            reason = body
            break
        time.sleep(0.05)  # polling interval
    check(reason != "", "%s: /readyz explains why it is not ready: %s" % (flags, reason.strip()))
    p.send_signal(signal.SIGTERM)
    try:
        _, err = p.communicate(timeout=40)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
    check(p.returncode is not None and p.returncode >= 0, "%s: exits by itself on SIGTERM (%s)"
          % (flags, p.returncode))
    text = err.decode("utf-8", "replace")
    for s in SECRETS:
        check(s not in text, "%s: the password %s... is not logged" % (flags, s[:6]))
    return [l for l in text.split("\n") if l != ""]


TS = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"
LEVELS = ("error", "warn", "info", "debug")

lines = run(["--log-format", "json", "--log-level", "debug"])
check(len(lines) >= 3, "json: %d lines" % len(lines))
objs = []
for l in lines:
    try:
        o = json.loads(l)
    except ValueError:
        check(False, "json: a line that is not JSON: %r" % l[:200])
        continue
    objs.append(o)
    if not (isinstance(o, dict) and sorted(o) == ["component", "level", "msg", "ts"] and
            re.fullmatch(TS, o["ts"]) and o["level"] in LEVELS and
            re.fullmatch(r"[a-z][a-z0-9_-]{0,15}", o["component"])):
        check(False, "json: a line without exactly ts, level, component, msg: %r" % l[:200])
comps = sorted({o["component"] for o in objs})
print("components seen: %s" % comps)
check(all(isinstance(o, dict) for o in objs) and len(objs) == len(lines),
      "json: every line is one JSON object")
check({"mqtt", "summary"} <= set(comps), "json: mqtt lines and the summary are there")
check(any(o["component"] == "mqtt" and o["level"] in ("warn", "error") for o in objs),
      "json: the refused MQTT connection is logged as a warning or error")

lines = run(["--log-format", "text"])
body = [l for l in lines if re.match(TS, l)]
check(len(body) >= 2, "text: %d log lines" % len(body))
for l in body:
    if not re.fullmatch(TS + r" (error|warn |info |debug) [a-z][a-z0-9_-]*: .*", l):
        check(False, "text: a line not in '<ts> <level> <component>: <msg>' form: %r" % l[:200])
check(any(" info  " in l for l in body), "text: info lines at the default level")
check(not any(" debug " in l for l in body), "text: no debug lines at the default level")

lines = run(["--log-format", "json", "--log-level", "error"])
levels = {json.loads(l)["level"] for l in lines if l.startswith("{")}
check(levels <= {"error"}, "--log-level error: only error lines (%s)" % sorted(levels))

lines = run([], {"SLUICE_LOG_FORMAT": "json", "SLUICE_LOG_LEVEL": "warn"})
check(all(l.startswith("{") for l in lines), "SLUICE_LOG_FORMAT=json: JSON lines")
levels = {json.loads(l)["level"] for l in lines}
check(levels <= {"error", "warn"} and "warn" in levels,
      "SLUICE_LOG_LEVEL=warn: warn and error lines only (%s)" % sorted(levels))

lines = run(["--log-format", "text"], {"SLUICE_LOG_FORMAT": "json"})
check(any(re.match(TS, l) for l in lines), "a flag wins over its variable")

for bad in (["--log-format", "xml"], ["--log-level", "loud"]):
    r = subprocess.run([sluice, "run", "--http", "off"] + bad + [q], capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 2 and bad[0] in r.stderr, "%s is refused: %s" % (bad, r.stderr.strip()))

print("%d check(s) failed" % len(fails) if fails else "deploy_logs: all checks passed")
sys.exit(1 if fails else 0)
