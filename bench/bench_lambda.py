#!/usr/bin/env python3
"""Lambda sink throughput: rows/s delivered to the Invoke API emulator (serverless-offline,
installed from tests/tools/lambda/package-lock.json) with batching (batch_size 100, the
default) against batch_size = 1, both with max_in_flight 16 and RequestResponse, and the same
two against the scripted Python stub (tests/tools/lambda/stub_server.py), a second peer.
Also the CPU seconds sluice used per 10 k rows: the sink's own cost, apart from the peer's.

Each run is `sluice run` over a file of N per-event rows (bounded: sluice exits once every row
is acknowledged); rows/s = N / wall time of the run. The emulator's handler appends every
batch to a file, and the bench checks that all N rows arrived.

usage: bench/bench_lambda.py SLUICE_BINARY [N_BATCHED] [N_SINGLE]
Exits 1 when a run fails or rows go missing, never because of timing.
"""
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "tools", "lambda"))
import lt  # noqa: E402

sluice = os.path.abspath(sys.argv[1])
n_batched = int(sys.argv[2]) if len(sys.argv) > 2 else 50000
n_single = int(sys.argv[3]) if len(sys.argv) > 3 else 3000
work = tempfile.mkdtemp(prefix="bench_lambda.")
tools = lt.HERE
mods = os.path.join(tools, "node_modules")
if not os.path.exists(os.path.join(mods, "serverless-offline", "package.json")):
    r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=tools)
    if r.returncode != 0:
        print("bench_lambda: npm ci failed; serverless-offline unavailable")
        sys.exit(0)

out = os.path.join(work, "out")
os.makedirs(out)
lport, hport, wport = lt.free_port(), lt.free_port(), lt.free_port()
env = {**os.environ, "SLUICE_OUT": out, "SLUICE_LAMBDA_PORT": str(lport),
       "SLUICE_HTTP_PORT": str(hport), "SLUICE_WS_PORT": str(wport),
       "SLS_TELEMETRY_DISABLED": "1"}
sls = lt.spawn([os.path.join(mods, ".bin", "serverless"), "offline", "start",
                "--noPrependStageInUrl"], cwd=tools, env=env, stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL)


def up():
    import socket
    try:
        socket.create_connection(("127.0.0.1", lport), timeout=0.5).close()
        return True
    except OSError:
        return False


lt.wait_for(up, 60, "serverless-offline")
sport, _ = lt.start_stub("invoke", work, "stub", {"rules": []})

run_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
run_env.update({"AWS_ACCESS_KEY_ID": "AKIDBENCH", "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_EC2_METADATA_DISABLED": "true"})


def run(name, port, fn, n, batch):
    inp = os.path.join(work, f"{name}.jsonl")
    with open(inp, "w") as f:
        for i in range(n):
            f.write(json.dumps({"device": f"dev-{i % 1000}", "temp": 20 + (i % 97) * 0.25,
                                "ts": 1_700_000_000_000 + i}) + "\n")
    q = os.path.join(work, f"{name}.sql")
    with open(q, "w") as f:
        f.write(f"""
CREATE SOURCE ev (device TEXT, temp DOUBLE, ts TIMESTAMP) WITH (connector = 'file',
    path = '{inp}');
CREATE SINK {name} WITH (connector = 'lambda', function = '{fn}', region = 'eu-west-1',
    endpoint = 'http://127.0.0.1:{port}', batch_size = '{batch}', max_in_flight = '16') AS
SELECT device, temp, ts FROM ev;
""")
    t = time.monotonic()
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run([sluice, "run", "--http", "off", "--workers", "1", q], env=run_env,
                       capture_output=True, timeout=900)
    dt = time.monotonic() - t
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
    if r.returncode != 0:
        print(f"{name}: sluice failed: {r.stderr.decode()[-500:]}")
        return None
    return n / dt, dt, cpu * 10000 / n


def arrived(name):
    rows = 0
    path = os.path.join(out, "collect.jsonl")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                e = json.loads(line)["event"]
                if e.get("sink") == name:
                    rows += len(e["records"])
    return rows


print(f"{'run':<46} {'rows':>7} {'seconds':>8} {'rows/s':>9} {'cpu s/10k rows':>15}")
res = {}
missing = False
for name, port, fn, n, batch in (
        ("emu_batched", lport, "sluice-dev-collect", n_batched, 100),
        ("emu_single", lport, "sluice-dev-collect", n_single, 1),
        ("stub_batched", sport, "collect", n_batched, 100),
        ("stub_single", sport, "collect", n_single, 1)):
    r = run(name, port, fn, n, batch)
    if r is None:
        continue
    res[name] = r[0]
    label = ("serverless-offline" if name.startswith("emu") else "python stub") + \
        f", batch_size {batch}"
    print(f"{label:<46} {n:>7} {r[1]:>8.2f} {r[0]:>9.0f} {r[2]:>15.3f}")
    if name.startswith("emu"):
        got = arrived(name)
        if got != n:
            print(f"  !! {got} of {n} rows reached the handler")
            missing = True
if "emu_batched" in res and "emu_single" in res:
    print(f"batching speed-up against the emulator: {res['emu_batched'] / res['emu_single']:.0f}x")
if "stub_batched" in res and "stub_single" in res:
    print(f"batching speed-up against the stub: {res['stub_batched'] / res['stub_single']:.0f}x")
lt.stop_all()
sys.exit(1 if missing or len(res) < 4 else 0)
