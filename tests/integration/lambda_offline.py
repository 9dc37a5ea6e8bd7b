#!/usr/bin/env python3
"""The lambda sink against a real Lambda Invoke API emulator: serverless-offline (npm,
serverless@3), installed here from tests/tools/lambda/package-lock.json when missing, running
the Node handlers of tests/tools/lambda/handler.js, which append what they receive to files.

One sluice run over a recorded stream (600 events, 6 devices, 100 ms apart) with five sinks:
  pe       per-event rows, RequestResponse, batch_size 100: every row arrives once, in
           batches of at most 100, never one invocation per row, with _id/_rev/is_final;
  win      10 s windows, Event (202): every window row arrives, counts, sums, _id and _rev
           computed here from the input (the oracle shares no code with the engine);
  boom     a handler that throws: 1 + retries invocations per batch, then the dead letter with
           reason function_error and the handler's message;
  gone     an unknown function: 404 ResourceNotFoundException, dead letter at once (no retry);
  slowpoke a handler slower than `timeout`: retried, then dead letter retries_exhausted.
Every row of every sink is either received by the function or in its dead letter.

usage: lambda_offline.py SLUICE_BINARY WORKDIR
"""
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools",
                                "lambda"))
import lt  # noqa: E402
from lt import check  # noqa: E402

sluice, work = sys.argv[1], os.path.abspath(sys.argv[2])
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
tools = lt.HERE


def ensure_offline():
    """npm ci from the lock file once (under a lock: several builds share the folder)."""
    mods = os.path.join(tools, "node_modules")
    ready = lambda: all(os.path.exists(os.path.join(mods, p, "package.json"))
                        for p in ("serverless", "serverless-offline"))
    if shutil.which("npm") is None or shutil.which("node") is None:
        print("SKIP: node/npm not installed (deploy/install-deps.sh installs them)")
        sys.exit(lt.SKIP)
    os.makedirs(mods, exist_ok=True)  # the lock lives there: ignored by git, like the rest
    with open(os.path.join(mods, ".sluice-install.lock"), "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        if not ready():
            print("installing serverless-offline from package-lock.json (npm ci) ...", flush=True)
            r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                               cwd=tools, capture_output=True, timeout=600,
                               env={**os.environ, "SLS_TELEMETRY_DISABLED": "1"})
            if r.returncode != 0 or not ready():
                print("SKIP: npm ci failed:", r.stderr.decode()[-1500:])
                sys.exit(lt.SKIP)


ensure_offline()

out = os.path.join(work, "out")
os.makedirs(out)
lport, hport, wport = lt.free_port(), lt.free_port(), lt.free_port()
env = {**os.environ, "SLUICE_OUT": out, "SLUICE_LAMBDA_PORT": str(lport),
       "SLUICE_HTTP_PORT": str(hport), "SLUICE_WS_PORT": str(wport),
       "SLS_TELEMETRY_DISABLED": "1", "SLS_NOTIFICATIONS_MODE": "off"}
sls_log = open(os.path.join(work, "sls.log"), "w")
sls = lt.spawn([os.path.join(tools, "node_modules", ".bin", "serverless"), "offline", "start",
                "--noPrependStageInUrl"], cwd=tools, env=env, stdout=sls_log,
               stderr=subprocess.STDOUT)


def listening():
    if sls.poll() is not None:
        return "exited"
    try:
        import socket
        socket.create_connection(("127.0.0.1", lport), timeout=0.5).close()
        return "up"
    except OSError:
        return None


state = lt.wait_for(listening, 45, "serverless-offline to listen")
if state != "up":
    print(open(os.path.join(work, "sls.log")).read()[-3000:])
    lt.finish()

# ---- the stream ----
T0 = 1_700_000_000_000  # a 10 s boundary
N, DEV = 600, 6
events = [{"device": f"d{i % DEV}", "temp": i * 0.5, "ts": T0 + i * 100} for i in range(N)]
inp = os.path.join(work, "in.jsonl")
with open(inp, "w") as f:
    f.write("".join(json.dumps(e) + "\n" for e in events))

ep = f"http://127.0.0.1:{lport}"
dl = {s: os.path.join(work, s + ".dl.jsonl") for s in ("boom", "gone", "slowpoke", "pe", "win")}
q = os.path.join(work, "q.sql")
with open(q, "w") as f:
    f.write(f"""
CREATE SOURCE ev (device TEXT, temp DOUBLE, ts TIMESTAMP,
                  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'file', path = '{inp}');
CREATE SINK pe WITH (connector = 'lambda', function = 'sluice-dev-collect', region = 'eu-west-1',
    endpoint = '{ep}', batch_size = '100', dead_letter = '{dl["pe"]}') AS
SELECT device, temp, ts FROM ev;
CREATE SINK win WITH (connector = 'lambda', function = 'sluice-dev-collect',
    region = 'eu-west-1', endpoint = '{ep}', invocation_type = 'Event',
    dead_letter = '{dl["win"]}') AS
SELECT device, window_start, COUNT(*) AS n, SUM(temp) AS s
FROM TUMBLE(ev, ts, INTERVAL '10' SECOND) GROUP BY device;
CREATE SINK boom WITH (connector = 'lambda', function = 'sluice-dev-fail', region = 'eu-west-1',
    endpoint = '{ep}', batch_size = '50', retries = '2', dead_letter = '{dl["boom"]}') AS
SELECT device, temp FROM ev WHERE device = 'd0';
CREATE SINK gone WITH (connector = 'lambda', function = 'nosuch', region = 'eu-west-1',
    endpoint = '{ep}', retries = '3', dead_letter = '{dl["gone"]}') AS
SELECT device, temp FROM ev WHERE device = 'd1';
CREATE SINK slowpoke WITH (connector = 'lambda', function = 'sluice-dev-slow',
    region = 'eu-west-1', endpoint = '{ep}', timeout = '1s', retries = '1',
    dead_letter = '{dl["slowpoke"]}') AS
SELECT device, temp FROM ev WHERE device = 'd2' AND temp < 5;
""")
run_env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIDOFFLINE", "AWS_SECRET_ACCESS_KEY": "s3cr3t",
           "AWS_EC2_METADATA_DISABLED": "true"}
for v in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA"):
    run_env.pop(v, None)
t = time.monotonic()
r = subprocess.run([sluice, "run", "--http", "off", "--workers", "2", q], capture_output=True,
                   timeout=120, env=run_env)
elapsed = time.monotonic() - t
err = r.stderr.decode()
check(r.returncode == 0, f"sluice exits 0 (got {r.returncode}): {err[-2000:]}")
check("s3cr3t" not in err and "s3cr3t" not in r.stdout.decode(), "the secret key is never logged")
print(f"sluice run took {elapsed:.1f} s")


def received(fn, sink):
    return [x for x in lt.read_jsonl(os.path.join(out, fn + ".jsonl"))
            if x["event"].get("sink") == sink]


# pe: every row once, batches <= 100, not one per row.
inv = received("collect", "pe")
recs = [rec for x in inv for rec in x["event"]["records"]]
check(sorted((r["device"], r["temp"], r["ts"]) for r in recs) ==
      sorted((e["device"], e["temp"], e["ts"]) for e in events),
      f"pe: every event's row arrives exactly once ({len(recs)} rows)")
check(all(1 <= len(x["event"]["records"]) <= 100 for x in inv), "pe: batches of at most 100")
check(len(inv) < N / 5, f"pe: rows share invocations ({len(inv)} invocations for {N} rows)")
check(all(set(x["event"]) == {"sink", "records"} for x in inv), "pe: payload {sink, records}")
want_ids = {lt.row_id("pe", inp, 0, i) for i in range(N)}
check({r["_id"] for r in recs} == want_ids, "pe: _id = sha256([sink, path, 0, line]) per SQL.md")
check(all(r["_rev"] == 1 and r["is_final"] is True for r in recs), "pe: _rev 1, is_final true")
check(list(recs[0]) == ["device", "temp", "ts", "_id", "_rev", "is_final"],
      f"pe: columns in SELECT order, then _id, _rev, is_final: {list(recs[0])}")
check(lt.read_jsonl(dl["pe"]) == [], "pe: nothing dead-lettered")

# win: Event invocations; every window row (async: poll).
wins = {}
for e in events:
    ws = e["ts"] - e["ts"] % 10_000
    n, s = wins.get((e["device"], ws), (0, 0.0))
    wins[(e["device"], ws)] = (n + 1, s + e["temp"])


def win_rows():
    rows = [rec for x in received("collect", "win") for rec in x["event"]["records"]]
    return rows if len(rows) >= len(wins) else None


rows = lt.wait_for(win_rows, 20, "Event invocations to run") or []
got = {(r["device"], r["window_start"]): (r["n"], r["s"], r["_id"], r["_rev"], r["is_final"])
       for r in rows}
want = {k: (n, s, lt.row_id("win", k[0], k[1]), n, True) for k, (n, s) in wins.items()}
# A window's rows are emitted together (one marker): they share one invocation.
inv_of = {}
for x in received("collect", "win"):
    for rec in x["event"]["records"]:
        inv_of.setdefault(rec["window_start"], set()).add(x["request"])
check(all(len(v) == 1 for v in inv_of.values()),
      f"win: the {DEV} rows of each window arrive in one invocation: "
      f"{ {k: len(v) for k, v in inv_of.items()} }")
check(got == want and len(rows) == len(wins),
      f"win: {len(wins)} window rows with counts, sums, _id and _rev from the oracle "
      f"(got {len(rows)})")

# boom: function error -> 1 + 2 retries per batch -> dead letter.
d = lt.read_jsonl(dl["boom"])
calls = received("fail", "boom")
drecs = [rec for x in d for rec in x["records"]]
d0 = [e for e in events if e["device"] == "d0"]
check(sorted(r["temp"] for r in drecs) == sorted(e["temp"] for e in d0),
      f"boom: every row dead-lettered once ({len(drecs)} of {len(d0)})")
check(all(x["reason"] == "function_error" and x["attempts"] == 3 and x["status"] == 200 and
          "handler failed on purpose" in x["detail"] and x["sink"] == "boom" and
          x["function"] == "sluice-dev-fail" for x in d),
      f"boom: reason function_error after 3 attempts with the handler's message: {d[:1]}")
check(len(calls) == 3 * len(d), f"boom: {len(calls)} invocations = 3 x {len(d)} batches")
check(all(len(x["records"]) <= 50 for x in d), "boom: batches of at most 50")

# gone: 404, no retries.
d = lt.read_jsonl(dl["gone"])
drecs = [rec for x in d for rec in x["records"]]
check(len(drecs) == N // DEV, f"gone: all {N // DEV} rows dead-lettered (got {len(drecs)})")
check(all(x["reason"] == "not_found" and x["status"] == 404 and x["attempts"] == 0 and
          "ResourceNotFoundException" in x["detail"] for x in d),
      f"gone: not_found, 404, no retry: {d[:1]}")

# slowpoke: timeout -> retry -> dead letter.
d = lt.read_jsonl(dl["slowpoke"])
drecs = [rec for x in d for rec in x["records"]]
check(sorted(r["temp"] for r in drecs) == [1.0, 4.0], f"slowpoke: rows dead-lettered: {drecs}")
check(all(x["reason"] == "retries_exhausted" and x["attempts"] == 2 and x["status"] == 0 and
          "timed out" in x["detail"].lower() for x in d),
      f"slowpoke: retries_exhausted after a timeout and one retry: {d[:1]}")
calls = received("slow", "slowpoke")
check(len(calls) == 2 * len(d), f"slowpoke: {len(calls)} invocations = 2 x {len(d)} batches")

lt.finish()
