#!/usr/bin/env bash
# MQTT throughput: publishers -> mosquitto -> Sluice (TUMBLE per device -> file), beside
# mosquitto -> a minimal libmosquitto subscriber that only counts (bench/mqtt_count.c), in the
# same run: both subscribe to the same broker and receive every message (QoS 1, MQTT 5,
# Receive Maximum 100). Each side's time is from the start of publishing to its last message.
#
# usage: bench/bench_mqtt.sh [BUILD_DIR] (needs -DSL_BENCH=ON for mqtt_count; N=messages;
#        STATE_DIR=1 runs Sluice with --state-dir: every message through the write-ahead log)
set -euo pipefail
BUILD=${1:-build}
N=${N:-200000}
PUBS=${PUBS:-4}
PUB_QOS=${PUB_QOS:-1} # 0: the broker forwards at QoS 0 (no PUBACKs), a harder push
exec python3 - "$BUILD" "$N" "$PUBS" "$PUB_QOS" "${STATE_DIR:-0}" <<'PY'
import json, os, re, shutil, signal, socket, subprocess, sys, tempfile, threading, time, urllib.request
build, n, pubs, pq = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
state = sys.argv[5] == "1"
work = tempfile.mkdtemp(prefix="bench_mqtt_")
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
conf = os.path.join(work, "m.conf")
with open(conf, "w") as f:
    f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 0\nmax_inflight_messages 100\n" % port)
    if os.geteuid() == 0:
        f.write("user root\n")
procs = []
def spawn(*a, **k):
    p = subprocess.Popen(*a, **k); procs.append(p); return p
try:
    spawn([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", conf],
          stderr=subprocess.DEVNULL)
    dl = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close(); break
        except OSError:
            if time.monotonic() > dl: sys.exit("mosquitto did not start")
            time.sleep(0.05)
    q = os.path.join(work, "q.sql")
    out = os.path.join(work, "out.jsonl")
    with open(q, "w") as f:
        f.write("""CREATE SOURCE ev (device TEXT, temp DOUBLE)
WITH (connector = 'mqtt', url = 'mqtt://127.0.0.1:%d', topic = 'bench/#', client_id = 'bench-sluice',
      session_expiry = '0s');
CREATE SINK w WITH (connector = 'file', path = '%s') AS
SELECT device, window_start, COUNT(*) AS n, AVG(temp) AS t
FROM TUMBLE(ev, _arrival, INTERVAL '1' SECOND) GROUP BY device;
""" % (port, out))
    extra = ["--state-dir", os.path.join(work, "state")] if state else []
    sl = spawn([os.path.join(build, "sluice"), "run", "--http", "127.0.0.1:0"] + extra + [q],
               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    hp = None
    while hp is None:
        line = sl.stderr.readline().decode()
        if not line: sys.exit("sluice exited")
        m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        hp = int(m.group(1)) if m else None
    threading.Thread(target=lambda: sl.stderr.read(), daemon=True).start()
    def events():
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % hp, timeout=5) as r:
            for l in r.read().decode().splitlines():
                if l.startswith("sluice_source_events_total{"):
                    return int(float(l.rsplit(" ", 1)[1]))
        return 0
    cnt = spawn([os.path.join(build, "mqtt_count"), "127.0.0.1", str(port), "bench/#", str(n)],
                stdout=subprocess.PIPE)
    assert cnt.stdout.readline().strip() == b"ready"
    # Warm-up: publish on bench/warm until Sluice has subscribed and counted one.
    dl = time.monotonic() + 20
    while events() < 1:
        if time.monotonic() > dl: sys.exit("sluice did not receive the warm-up message")
        subprocess.run(["mosquitto_pub", "-p", str(port), "-t", "bench/warm", "-q", "1", "-m",
                        '{"device":"w","temp":1}'], check=True)
        time.sleep(0.2)
    base = events()
    files = []
    for k in range(pubs):
        p = os.path.join(work, "p%d.jsonl" % k)
        with open(p, "w") as f:
            for i in range(k, n, pubs):
                f.write('{"device":"d%d","temp":%d.5}\n' % (i % 100, i % 40))
        files.append(p)
    t0 = time.monotonic()
    ps = [spawn(["mosquitto_pub", "-p", str(port), "-t", "bench/p%d" % k, "-q", pq, "-l"],
                stdin=open(files[k])) for k in range(pubs)]
    done = {}
    def wait_count():
        cnt.stdout.readline(); done["count"] = time.monotonic() - t0
    th = threading.Thread(target=wait_count); th.start()
    while events() < base + n:
        if time.monotonic() - t0 > 600: sys.exit("sluice did not receive every message")
        time.sleep(0.01)
    done["sluice"] = time.monotonic() - t0
    th.join(600)
    for p in ps: p.wait()
    rs, rc = n / done["sluice"], n / done["count"]
    print("messages: %d from %d publishers (QoS %s)%s" % (n, pubs, pq,
                                                       ", sluice --state-dir" if state else ""))
    print("mqtt_count: %.2f s  %.0f msg/s" % (done["count"], rc))
    print("sluice:     %.2f s  %.0f msg/s" % (done["sluice"], rs))
    print("ratio sluice/mqtt_count: %.3f" % (rs / rc))
finally:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try: p.wait(10)
            except subprocess.TimeoutExpired: p.kill()
    shutil.rmtree(work, ignore_errors=True)
PY
