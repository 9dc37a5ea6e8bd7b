#!/usr/bin/env bash
# Kafka throughput: librdkafka's mock cluster (tests/tools/kafka_mock, 3 brokers) holds a
# 4-partition topic that kcat filled beforehand; then, in the same run and on the same topic,
# bench/kafka_count.c (a bare librdkafka consumer loop that only counts) and Sluice (consume +
# decode + TUMBLE COUNT/AVG per device -> file sink) each drain it from the beginning in a fresh
# consumer group, one after the other (bare, Sluice, bare, Sluice): each side's rate is timed
# from its assignment to its last message (Sluice: the time of its "assigned" log line, and
# sluice_source_events_total polled every 10 ms), not from its first message, which would
# credit it with what librdkafka prefetched before that message was counted.
#
# Sluice runs once per value of THREADS (the source's consumer_threads) in every round, and
# prints the CPU seconds of its threads (by name, from /proc) per million messages: the
# source thread's share is what more consumer threads take off it (decoding).
#
# usage: bench/bench_kafka.sh [BUILD_DIR] (needs -DSL_BENCH=ON for kafka_count; N=messages,
#        ROUNDS, THREADS="1 2", PARTS=4 partitions, PROPS="name=value ..." librdkafka settings
#        given to both sides)
set -euo pipefail
BUILD=${1:-build}
N=${N:-300000}
ROUNDS=${ROUNDS:-2}
THREADS=${THREADS:-1 2}
PARTS=${PARTS:-4}
PROPS=${PROPS:-}
exec python3 - "$BUILD" "$N" "$ROUNDS" "$THREADS" "$PARTS" "$PROPS" <<'PY'
import datetime, os, re, subprocess, sys, tempfile, time, urllib.request
build, n, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
threads = [int(x) for x in sys.argv[4].split()]
parts = int(sys.argv[5])
props = [kv.split("=", 1) for kv in sys.argv[6].split()]  # librdkafka settings, both sides
hz = os.sysconf("SC_CLK_TCK")

def thread_cpu(pid):
    """{thread name: CPU seconds}, threads of one name summed (sl-kafka-N kept apart)."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                name = f.read().strip()
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                st = f.read()
        except OSError:
            continue
        fl = st[st.rindex(")") + 2:].split()
        name = re.sub(r"^rdk:.*", "librdkafka", name)
        out[name] = out.get(name, 0) + (int(fl[11]) + int(fl[12])) / hz
    return out
work = tempfile.mkdtemp(prefix="bench_kafka_")
procs = []
def spawn(*a, **k):
    p = subprocess.Popen(*a, **k); procs.append(p); return p
try:
    mock = spawn([os.path.join(build, "kafka_mock")], stdin=subprocess.PIPE,
                 stdout=subprocess.PIPE, text=True)
    boot = mock.stdout.readline().split()[1]
    mock.stdin.write("topic bench %d\n" % parts); mock.stdin.flush()
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
        out = subprocess.run([os.path.join(build, "kafka_count"), boot, "bench", str(n)] +
                             ["%s=%s" % (k, v) for k, v in props],
                             capture_output=True, text=True, check=True).stdout
        m = dict(kv.split("=") for kv in out.split())
        return float(m["rate"]), float(m["seconds"])

    def sl(r, nthr):
        q = os.path.join(work, "q%d-%d.sql" % (r, nthr))
        out = os.path.join(work, "out%d-%d.jsonl" % (r, nthr))
        with open(q, "w") as f:
            f.write("""CREATE SOURCE ev (device TEXT, temp DOUBLE, ts TIMESTAMP,
                    WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'kafka', brokers = '%s', topic = 'bench', group_id = 'bench-sluice-%d-%d',
      consumer_threads = '%d' %s);
CREATE SINK w WITH (connector = 'file', path = '%s') AS
SELECT device, window_start, COUNT(*) AS n, AVG(temp) AS t
FROM TUMBLE(ev, ts, INTERVAL '1' SECOND) GROUP BY device;
""" % (boot, r, nthr, nthr, "".join(", properties.%s = '%s'" % (k, v) for k, v in props),
       out))
        errpath = os.path.join(work, "err%d-%d.log" % (r, nthr))
        p = spawn([os.path.join(build, "sluice"), "run", "--http", "127.0.0.1:0", q],
                  stderr=open(errpath, "w"), stdout=subprocess.DEVNULL)
        hp = None
        while hp is None:
            if p.poll() is not None: sys.exit("sluice exited")
            with open(errpath) as f:
                m = re.search(r"http://127\.0\.0\.1:(\d+)", f.read())
            hp = int(m.group(1)) if m else time.sleep(0.01)
        def events():
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % hp, timeout=5) as rr:
                for l in rr.read().decode().splitlines():
                    if l.startswith("sluice_source_events_total{"):
                        return int(float(l.rsplit(" ", 1)[1]))
            return 0
        dl = time.monotonic() + 600
        while events() < n:
            if time.monotonic() > dl: sys.exit("sluice did not finish")
            time.sleep(0.01)
        t_end = time.time()
        with open(errpath) as f:
            m = re.search(r"^(\S+)Z info  kafka: source ev: assigned", f.read(), re.M)
        t_assign = datetime.datetime.fromisoformat(m.group(1)).replace(
            tzinfo=datetime.timezone.utc).timestamp()
        secs = t_end - t_assign
        cpu = thread_cpu(p.pid)
        p.terminate(); p.wait()
        return n / secs, secs, cpu

    for r in range(rounds):
        b = bare(r)
        for nthr in threads:
            s = sl(r, nthr)
            print("round %d: kafka_count %.1f k msg/s (%.2f s)  Sluice (consumer_threads %d) "
                  "%.1f k msg/s (%.2f s)  ratio %.3f" % (r, b[0] / 1e3, b[1], nthr, s[0] / 1e3,
                                                         s[1], s[0] / b[0]), flush=True)
            print("    CPU s per M messages: " + ", ".join(
                "%s %.2f" % (k, v * 1e6 / n) for k, v in sorted(s[2].items())), flush=True)
finally:
    for p in procs:
        if p.poll() is None:
            p.kill(); p.wait()
PY
