#!/usr/bin/env bash
# Kafka throughput: librdkafka's mock cluster (tests/tools/kafka_mock, 3 brokers) holds a
# 4-partition topic that kcat filled beforehand; then, in the same run and on the same topic,
# bench/kafka_count.c (a bare librdkafka consumer loop that only counts) and Sluice (consume +
# decode + TUMBLE COUNT/AVG per device -> file sink) each drain it from the beginning in a fresh
# consumer group, one after the other (bare, Sluice, bare, Sluice): each side's rate is timed
# from its first message to its last (Sluice: sluice_source_events_total polled every 10 ms).
#
# usage: bench/bench_kafka.sh [BUILD_DIR] (needs -DSL_BENCH=ON for kafka_count; N=messages)
set -euo pipefail
BUILD=${1:-build}
N=${N:-300000}
ROUNDS=${ROUNDS:-2}
exec python3 - "$BUILD" "$N" "$ROUNDS" <<'PY'
import os, re, subprocess, sys, tempfile, threading, time, urllib.request
build, n, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
work = tempfile.mkdtemp(prefix="bench_kafka_")
procs = []
def spawn(*a, **k):
    p = subprocess.Popen(*a, **k); procs.append(p); return p
try:
    mock = spawn([os.path.join(build, "kafka_mock")], stdin=subprocess.PIPE,
                 stdout=subprocess.PIPE, text=True)
    boot = mock.stdout.readline().split()[1]
    mock.stdin.write("topic bench 4\n"); mock.stdin.flush()
    assert mock.stdout.readline().strip() == "ok"
    data = os.path.join(work, "in.txt")
    with open(data, "w") as f:
        for i in range(n):
            d = i % 100
            f.write('d%d\t{"device":"d%d","temp":%d.5,"ts":%d}\n' % (d, d, i % 40,
                                                                   1700000000000 + i))
    t = time.monotonic()
    subprocess.run(["kcat", "-P", "-b", boot, "-t", "bench", "-K", "\t", "-l", data,
                    "-X", "linger.ms=50", "-X", "batch.num.messages=10000"], check=True)
    print("produced %d messages with kcat in %.1f s" % (n, time.monotonic() - t), flush=True)

    def bare(r):
        out = subprocess.run([os.path.join(build, "kafka_count"), boot, "bench", str(n)],
                             capture_output=True, text=True, check=True).stdout
        m = dict(kv.split("=") for kv in out.split())
        return float(m["rate"]), float(m["seconds"])

    def sl(r):
        q = os.path.join(work, "q%d.sql" % r)
        out = os.path.join(work, "out%d.jsonl" % r)
        with open(q, "w") as f:
            f.write("""CREATE SOURCE ev (device TEXT, temp DOUBLE, ts TIMESTAMP,
                    WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'kafka', brokers = '%s', topic = 'bench', group_id = 'bench-sluice-%d');
CREATE SINK w WITH (connector = 'file', path = '%s') AS
SELECT device, window_start, COUNT(*) AS n, AVG(temp) AS t
FROM TUMBLE(ev, ts, INTERVAL '1' SECOND) GROUP BY device;
""" % (boot, r, out))
        p = spawn([os.path.join(build, "sluice"), "run", "--http", "127.0.0.1:0", q],
                  stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        hp = None
        while hp is None:
            line = p.stderr.readline().decode()
            if not line: sys.exit("sluice exited")
            m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
            hp = int(m.group(1)) if m else None
        threading.Thread(target=lambda: p.stderr.read(), daemon=True).start()
        def events():
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % hp, timeout=5) as rr:
                for l in rr.read().decode().splitlines():
                    if l.startswith("sluice_source_events_total{"):
                        return int(float(l.rsplit(" ", 1)[1]))
            return 0
        dl = time.monotonic() + 600
        while events() == 0:
            if time.monotonic() > dl: sys.exit("sluice read nothing")
            time.sleep(0.01)
        t0 = time.monotonic()
        while events() < n:
            if time.monotonic() > dl: sys.exit("sluice did not finish")
            time.sleep(0.01)
        secs = time.monotonic() - t0
        p.terminate(); p.wait()
        return n / secs, secs

    res = []
    for r in range(rounds):
        b = bare(r)
        s = sl(r)
        res.append((b, s))
        print("round %d: kafka_count %.1f k msg/s (%.2f s)  Sluice %.1f k msg/s (%.2f s)  "
              "ratio %.3f" % (r, b[0] / 1e3, b[1], s[0] / 1e3, s[1], s[0] / b[0]), flush=True)
finally:
    for p in procs:
        if p.poll() is None:
            p.kill(); p.wait()
PY
