#!/usr/bin/env python3
"""Malicious peers (issue 12): a fake Redis and a fake MQTT broker (tests/tools/fake_peer.py)
answer Sluice's first connections with malformed protocol - huge bulk and array lengths,
100 000-deep nesting, truncated frames, a malformed remaining length, properties running
past the packet, an invalid UTF-8 topic, garbage - and then proxy to a real redis-server /
mosquitto (the MQTT source with --state-dir, so its write-ahead log carries the hostile
payloads too). Sluice must drop each bad connection, count it, reconnect, and then deliver
everything exactly once to the real peer; it never crashes (the ASan build runs this too),
its RSS stays bounded, /metrics reconciles (tests/tools/conservation.py) and SIGTERM exits 0.

No sleeps: every wait polls its condition with a deadline.

usage: hostile_peers.py SLUICE_BINARY WORKDIR TOOLS_DIR [sanitized]
  sanitized: the binary runs under ASan, whose shadow memory makes RSS meaningless (hiredis
  callocs 16 GiB of address space for "*2147483647"; ASan writes 2 GiB of shadow for it):
  the RSS bounds are not checked.
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

sluice, work, tools = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
sanitized = sys.argv[4:] == ["sanitized"]
sys.path.insert(0, tools)
import conservation  # noqa: E402

shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
fails = []
procs = []
MOSQ = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
if shutil.which("redis-server") is None or not os.path.exists(MOSQ) or \
        shutil.which("mosquitto_pub") is None:
    print("redis-server or mosquitto not installed (deploy/install-deps.sh): skipped")
    sys.exit(77)

REDIS_MODES = ["huge_bulk", "huge_bulk_data", "huge_array", "huge_array_max", "deep_nesting",
               "truncated", "garbage", "negative_bulk", "long_line"]
# Not "connack_props": libmosquitto 2.0.11 (Debian 12) aborts the process on a v5 property it
# does not know (property__read calls log__printf(NULL, ...), which asserts mosq != NULL).
# A malicious broker can crash Sluice that way until libmosquitto is patched or replaced;
# see docs/engine.md, "Hostile input".
MQTT_MODES = ["connack_huge", "bad_varint", "publish_truncated", "publish_bad_topic", "garbage"]


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


def wait_for(cond, secs, what):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)  # polling interval, not a wait for a condition
    check(False, "timed out waiting for " + what)
    return None


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def start_fake(proto, real_port, modes):
    log = open(os.path.join(work, "fake_%s.log" % proto), "w")
    p = subprocess.Popen([sys.executable, os.path.join(tools, "fake_peer.py"), proto,
                          str(real_port), ",".join(modes)], stdout=subprocess.PIPE, stderr=log)
    procs.append(p)
    line = p.stdout.readline().decode()
    m = re.match(r"port (\d+)", line)
    if m is None:
        sys.exit("fake_peer did not start: %r" % line)
    conns = []

    def reader():
        for ln in p.stdout:
            conns.append(ln.decode().split()[-1])
    import threading
    threading.Thread(target=reader, daemon=True).start()
    return int(m.group(1)), conns


class Sluice:
    def __init__(self, q, name, extra=()):
        self.err = open(os.path.join(work, name + ".stderr"), "w+b")
        self.p = subprocess.Popen([sluice, "run", "--workers", "2", "--http", "127.0.0.1:0",
                                   *extra, q], stdout=subprocess.DEVNULL, stderr=self.err)
        procs.append(self.p)
        self.port = wait_for(self._port, 20, "sluice's http port")

    def _port(self):
        self.err.flush()
        m = re.search(rb"http://127\.0\.0\.1:(\d+)", open(self.err.name, "rb").read())
        return int(m.group(1)) if m else None

    def get(self, path):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path),
                                        timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError as e:
            return 0, str(e)

    def metrics(self):
        return conservation.parse(self.get("/metrics")[1])

    def rss(self):
        with open("/proc/%d/status" % self.p.pid) as f:
            return int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1)) * 1024

    def stop(self, what):
        text = self.get("/metrics")[1]
        errors = conservation.check(text)
        check(errors == [], "%s: counters do not reconcile: %s" % (what, errors))
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = "timeout"
        log = open(self.err.name, "rb").read().decode(errors="replace")
        check(rc == 0, "%s: exit status after SIGTERM: %s\n%s" % (what, rc, log[-3000:]))
        check("Sanitizer" not in log and "runtime error" not in log,
              "%s: sanitizer report:\n%s" % (what, log[-3000:]))
        return log


def redis_part():
    rport = free_port()
    rdir = os.path.join(work, "redis")
    os.makedirs(rdir)
    procs.append(subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1",
                                   "--save", "", "--appendonly", "no", "--dir", rdir],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait_for(lambda: port_open(rport), 20, "redis-server")
    fport, fconns = start_fake("redis", rport, REDIS_MODES)

    N = 50
    now = int(time.time() * 1000)
    inp = os.path.join(work, "redis_in.jsonl")
    with open(inp, "w") as f:
        for i in range(N):
            f.write(json.dumps({"device": "d%d" % (i % 5), "seq": i, "temp": i / 4,
                                "ts": now - 60_000 + i}) + "\n")
    q = os.path.join(work, "redis.sql")
    with open(q, "w") as f:
        f.write(f"""
    CREATE SOURCE ev (device TEXT, seq BIGINT, temp DOUBLE, ts TIMESTAMP,
                      WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
    WITH (connector = 'file', path = '{inp}', follow = 'true');
    CREATE SINK r WITH (connector = 'redis', url = 'redis://127.0.0.1:{fport}/0', type = 'hash',
        key = 'e:{{seq}}') AS
    SELECT device, seq, temp FROM ev;
    """)
    s = Sluice(q, "redis")


    def redis_keys():
        r = subprocess.run(["redis-cli", "-p", str(rport), "--raw", "KEYS", "e:*"],
                           capture_output=True, timeout=20)
        return set(r.stdout.decode().split())


    wait_for(lambda: len(redis_keys()) == N, 120, "%d rows in the real Redis" % N)
    keys = redis_keys()
    check(keys == {"e:%d" % i for i in range(N)}, "redis keys: %d of %d" % (len(keys), N))
    for i in (0, 17, N - 1):
        r = subprocess.run(["redis-cli", "-p", str(rport), "--raw", "HGETALL", "e:%d" % i],
                           capture_output=True, timeout=20).stdout.decode().split("\n")
        h = dict(zip(r[0:-1:2], r[1::2]))
        want = {"device": "d%d" % (i % 5), "seq": str(i), "temp": repr(i / 4).rstrip("0").rstrip(".")
                if i % 4 else str(i // 4)}
        check(h == want, "e:%d = %s, expected %s" % (i, h, want))
    check(fconns[:len(REDIS_MODES)] == REDIS_MODES and "proxy" in fconns,
          "the fake Redis saw connections %s" % fconns)
    vals = s.metrics()
    errs = conservation.total(vals, "sluice_redis_errors_total", sink="r")
    recon = conservation.total(vals, "sluice_redis_reconnects_total", sink="r")
    check(errs >= len(REDIS_MODES), "redis errors counted %g, expected >= %d" %
          (errs, len(REDIS_MODES)))
    check(recon >= len(REDIS_MODES), "redis reconnects %g, expected >= %d" %
          (recon, len(REDIS_MODES)))
    check(conservation.total(vals, "sluice_sink_rows_total", sink="r") == N,
          "sink rows %g, expected %d" % (conservation.total(vals, "sluice_sink_rows_total", sink="r"),
                                         N))
    redis_rss = s.rss()
    check(sanitized or redis_rss < 512 << 20, "peak RSS %d after the fake Redis" % redis_rss)
    s.stop("redis")

    return redis_rss


def mqtt_part():
    mport = free_port()
    mdir = os.path.join(work, "mosq")
    os.makedirs(mdir)
    with open(os.path.join(mdir, "mosquitto.conf"), "w") as f:
        if os.geteuid() == 0:
            f.write("user root\n")
        f.write("listener %d 127.0.0.1\nallow_anonymous true\n" % mport)
    procs.append(subprocess.Popen([MOSQ, "-c", os.path.join(mdir, "mosquitto.conf")],
                                  stdout=subprocess.DEVNULL,
                                  stderr=open(os.path.join(mdir, "log"), "w")))
    wait_for(lambda: port_open(mport), 20, "mosquitto")
    fport, fconns = start_fake("mqtt", mport, MQTT_MODES)
    out = os.path.join(work, "mqtt_out.jsonl")
    q = os.path.join(work, "mqtt.sql")
    with open(q, "w") as f:
        f.write(f"""
    CREATE SOURCE m (device TEXT, seq BIGINT)
    WITH (connector = 'mqtt', url = 'mqtt://127.0.0.1:{fport}', topic = 'hostile/#', qos = '1',
          client_id = 'sluice-hostile');
    CREATE SINK o WITH (connector = 'file', path = '{out}') AS SELECT device, seq FROM m;
    """)
    # with the write-ahead log: every hostile payload also goes through it
    s = Sluice(q, "mqtt", ("--state-dir", os.path.join(work, "state")))
    wait_for(lambda: "proxy" in fconns and
             conservation.total(s.metrics(), "sluice_mqtt_connected", source="m") == 1,
             120, "the mqtt source connected through the proxy")
    if fails:
        print("fake broker connections: %s" % fconns, file=sys.stderr)
    M = 40
    payloads = [json.dumps({"device": "d%d" % (i % 3), "seq": i}).encode() for i in range(M)]
    payloads.insert(5, b'{"x":' + b"[" * 200_000 + b"]" * 200_000 + b"}")  # too deep
    payloads.insert(9, b'{"device":"\xed\xa0\x80","seq":1}')  # a UTF-8-encoded surrogate
    payloads.insert(13, b"")  # empty
    payloads.insert(17, b'{"device":"' + b"x" * (16 << 20) + b'","seq":1}')  # 16 MiB
    for pl in payloads:
        subprocess.run(["mosquitto_pub", "-p", str(mport), "-q", "1", "-t", "hostile/x",
                        "-s" if pl else "-n"], input=pl, check=True, timeout=60)


    def rows():
        if not os.path.exists(out):
            return []
        return [json.loads(ln) for ln in open(out, "rb").read().splitlines()]


    wait_for(lambda: len(rows()) >= M, 60, "%d rows from MQTT" % M)
    got = sorted(r["seq"] for r in rows())
    check(got == list(range(M)), "mqtt rows: %d, expected seq 0..%d once each" % (len(got), M - 1))
    check(fconns[:len(MQTT_MODES)] == MQTT_MODES, "the fake broker saw connections %s" % fconns)
    vals = s.metrics()
    for why in ("too_deep", "invalid_utf8", "not_json", "too_large"):
        check(conservation.total(vals, "sluice_source_rejected_total", source="m",
                                 reason=why) == 1,
              "mqtt rejected{reason=%s} %g, expected 1" %
              (why, conservation.total(vals, "sluice_source_rejected_total", source="m",
                                       reason=why)))
    check(conservation.total(vals, "sluice_mqtt_reconnects_total", source="m") >= 1,
          "mqtt reconnects not counted")
    mqtt_rss = s.rss()
    check(sanitized or mqtt_rss < 1024 << 20, "peak RSS %d after the fake broker" % mqtt_rss)
    log = s.stop("mqtt")
    check(log.count("disconnected from") + log.count("cannot connect") >= 1,
          "no log line for the dropped MQTT connections")

    return mqtt_rss


PARTS = os.environ.get("HOSTILE_PEERS", "redis,mqtt").split(",")
redis_rss = redis_part() if "redis" in PARTS else 0
mqtt_rss = mqtt_part() if "mqtt" in PARTS else 0
for p in procs:
    if p.poll() is None:
        p.kill()
if fails:
    print("\n".join(fails))
    print("hostile_peers: %d failed" % len(fails))
    sys.exit(1)
print("hostile_peers: %s; redis: %d bad replies, peak RSS %.0f MiB; mqtt: %d bad frames, peak "
      "RSS %.0f MiB; then every row exact" %
      (",".join(PARTS), len(REDIS_MODES), redis_rss / 1048576, len(MQTT_MODES),
       mqtt_rss / 1048576))
