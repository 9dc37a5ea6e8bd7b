#!/usr/bin/env python3
"""The MQTT source's crash durability (DESIGN.md, "Delivery guarantees": MQTT) through
`sluice run --state-dir` against a real mosquitto started here (persistence on, QoS 1,
a persistent session).

Cases:
  kills     two publishers (two topic filters, two partitions) stream sequenced events
            while Sluice is SIGKILLed and restarted 20 times (with the crash hook build,
            some kills happen inside the message callback, before or after the log append);
            every row Sluice ever wrote equals the oracle's row for its window (no partial
            window, nothing counted twice), every window appears, each device's sequence
            numbers are complete (COUNT = MAX - MIN + 1), and after the last restart the
            metrics reconcile.
  pinned    (crash hook builds) the callback dies before appending message 5: the broker
            redelivers it to the restarted Sluice; the callback dies after appending
            message 5: the redelivery is recognised and dropped. Both: every message counted
            once.
  late      one topic (deterministic order), out-of-order and late events, TUMBLE with
            ALLOWED LATENESS (re-emissions with _rev) and SESSION windows, Sluice SIGKILLed 8
            times: for every window the row with the highest _rev equals the oracle's final
            row, every row has n = _rev, and the sessions written are exactly the oracle's.
            The oracle is windows_oracle.py's (SQL.md's rules written out independently).
  bound     the log's size bound (SLUICE_MQTT_LOG_MAX_BYTES = 2 MiB) with redis-server
            stopped (SIGSTOP): nothing commits, the log fills, the callback waits (the broker
            is held back), /readyz says why; redis-server continued: every window arrives in
            Redis exactly.
  sigterm   SIGTERM 20 times mid-stream with --shutdown-timeout 5s: every exit 0, rows
            exact.
  rediskill redis-server (AOF, appendfsync always) SIGKILLed 10 times mid-stream: every
            hash exact.
  diskfull  the state dir on a nearly full 2 MiB tmpfs: the log stops taking messages,
            /readyz says why, nothing crashes; space freed: every window exact.
  reload    SIGHUP with a broken file: refused, the same process goes on; with a good one:
            qa kept (exact across the reload), qb added (only windows after the reload, each
            exact), qc removed (no row after it); the log says which.
  repeats   70 000 identical QoS 1 messages (packet ids wrap within the session): every
            one counted, none taken for a redelivery.
  torn      the log's newest segment cut, or a byte of it flipped, at 100 offsets: every
            start succeeds, reports the damage, and the window then holds exactly the
            records before the damaged one (read from the log by this script).

The oracle is computed here from the events as published; it shares no code with Sluice.
No sleeps to wait for things: waits poll their condition with a deadline (the random pauses
between kills choose when to kill, they wait for nothing).

usage: mqtt_durable.py SLUICE_BINARY WORKDIR HOOKS(0|1)
"""
import glob
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from itlib import (Broker as _Broker, Feeder, Publisher, check, fails, free_port,  # noqa: E402
                   have_mosquitto, http_get, kill_all, metric_sum, procs, redis_cli,
                   wait_for)

sluice, work, hooks = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
if not have_mosquitto():
    print("mosquitto or mosquitto_pub not installed (deploy/install-deps.sh): skipped")
    sys.exit(77)
rng = random.Random(int(os.environ.get("SEED", "7")))


def Broker(name):
    return _Broker(work, name)


QUERY = """
CREATE SOURCE ev (dev TEXT, seq BIGINT, v DOUBLE, ts TIMESTAMP,
                  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'mqtt', url = 'mqtt://127.0.0.1:%d', topic = 'a/+,b/+', qos = '1',
      client_id = 'durable-%s', idle_timeout = '1h');
CREATE SINK w WITH (connector = 'file', path = '%s') AS
SELECT dev, window_start, COUNT(*) AS n, SUM(v) AS s, MIN(seq) AS lo, MAX(seq) AS hi
FROM TUMBLE(ev, ts, INTERVAL '2' SECOND)
GROUP BY dev;
"""


class Sluice:
    def __init__(self, d, broker, name, env=None):
        self.dir = d
        self.out = os.path.join(d, "out.jsonl")
        self.q = os.path.join(d, "q.sql")
        with open(self.q, "w") as f:
            f.write(QUERY % (broker.port, name, self.out))
        self.state = os.path.join(d, "state")
        self.extra = []
        self.errlog = open(os.path.join(d, "stderr"), "a+")
        self.p = None
        self.port = None
        self.start(env)

    def start(self, env=None):
        e = dict(os.environ)
        e.pop("SLUICE_CRASH_AT", None)
        e.update(env or {})
        self.errlog.write("==== start\n")
        self.errlog.flush()
        self.mark = os.path.getsize(self.errlog.name)
        self.p = subprocess.Popen([sluice, "run", "--http", "127.0.0.1:0", "--state-dir",
                                   self.state, "--workers", "2"] + self.extra + [self.q],
                                  stdout=subprocess.DEVNULL, stderr=self.errlog, env=e)
        procs.append(self.p)

        def port():
            m = re.search(r"http://127\.0\.0\.1:(\d+)", self.log()[self.mark:])
            if m:
                return int(m.group(1))
            # A crash hook may kill it before it serves HTTP (the broker's backlog arrives
            # at once): that is not a failure to start.
            return -1 if env and self.p.poll() is not None else None
        self.port = wait_for(port, "sluice's http port")

    def log(self):
        self.errlog.flush()
        with open(self.errlog.name) as f:
            return f.read()

    def get(self, path):
        return http_get(self.port, path)

    def metric(self, family, **labels):
        code, text = self.get("/metrics")
        return metric_sum(text, family, **labels) if code == 200 else 0.0

    def ready(self):
        return self.get("/readyz")[0] == 200

    def kill(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait(timeout=20)

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return "timeout"

    def rows_of(self, name):
        return jsonl(os.path.join(self.dir, name))

    def rows(self):
        """Parsed rows, and the number of lines cut by a kill mid-write."""
        rows, torn = [], 0
        if os.path.exists(self.out):
            with open(self.out, "rb") as f:
                for line in f.read().split(b"\n"):
                    if not line.strip():
                        continue
                    try:
                        rows.append(json.loads(line))
                    except ValueError:
                        torn += 1
        return rows, torn


def make_events(dev, n, t0, seed):
    evs = []
    for i in range(n):
        evs.append({"dev": dev, "seq": i, "v": float((i * 7 + seed) % 50) + 0.25,
                    "ts": t0 + i * 100})
    return evs


def msgs(events):
    return [json.dumps(e).encode() for e in events]


def oracle(events):
    acc = {}
    for e in events:
        k = (e["dev"], e["ts"] - e["ts"] % 2000)
        a = acc.setdefault(k, [0, 0.0, None, None])
        a[0] += 1
        a[1] += e["v"]
        a[2] = e["seq"] if a[2] is None else min(a[2], e["seq"])
        a[3] = e["seq"] if a[3] is None else max(a[3], e["seq"])
    return acc


def check_rows(rows, expect, label, kills):
    rows, torn = rows
    check(torn <= kills, "%s: %d torn lines for %d kills" % (label, torn, kills))
    seen = {}
    for r in rows:
        k = (r["dev"], r["window_start"])
        got = [r["n"], r["s"], r["lo"], r["hi"]]
        if k not in expect:
            check(False, "%s: row for a window with no events %s" % (label, k))
            continue
        want = expect[k]
        ok = got[0] == want[0] and abs(got[1] - want[1]) < 1e-6 and got[2:] == want[2:]
        check(ok, "%s: window %s is %s, the oracle says %s" % (label, k, got, want))
        check(got[0] == got[3] - got[2] + 1, "%s: window %s has a sequence gap" % (label, k))
        seen[k] = True
    missing = [k for k in expect if k not in seen]
    check(not missing, "%s: %d windows never written, e.g. %s" % (label, len(missing),
                                                                    missing[:3]))


def reconcile(s, label, queries=("w",)):
    """SQL.md's formulas on /metrics: per source in = decoded + rejected; per (source, query)
    decoded = filtered + late + over_limit + replay_skipped + accepted."""
    m = s.metric
    ins = m("sluice_source_events_total", source="ev")
    dec = m("sluice_source_decoded_total", source="ev")
    rej = m("sluice_source_rejected_total", source="ev")
    check(ins == dec + rej, "%s: in %d != decoded %d + rejected %d" % (label, ins, dec, rej))
    for q in queries:
        parts = sum(m(f, source="ev", query=q) for f in (
            "sluice_query_filtered_total", "sluice_query_late_total",
            "sluice_query_over_limit_total", "sluice_query_replay_skipped_total",
            "sluice_query_accepted_total"))
        check(dec == parts, "%s: decoded %d != filtered+late+over_limit+replay_skipped+"
              "accepted %d for query %s" % (label, dec, parts, q))


def flush_and_wait(s, pubs, tmax, expect, label):
    """An event far past the last window in each partition fires every window."""
    for i, (pb, dev) in enumerate(pubs):
        pb.send([json.dumps({"dev": dev, "seq": -1, "v": 0.0,
                             "ts": tmax + 60_000 + i}).encode()])

    def complete():
        rows, _ = s.rows()
        have = {(r["dev"], r["window_start"]) for r in rows}
        return all(k in have for k in expect)
    wait_for(complete, "%s: every window written" % label, timeout=90)


# ---------------------------------------------------------------- kills
def case_kills():
    b = Broker("kills-broker")
    d = os.path.join(work, "kills")
    os.makedirs(d)
    s = Sluice(d, b, "kills")
    wait_for(lambda: s.metric("sluice_mqtt_connected") == 1, "connected")
    pa, pb_ = Publisher(b, "a/d0"), Publisher(b, "b/d1")
    t0 = 1_700_000_000_000
    n = 3000
    ea, eb = make_events("d0", n, t0, 1), make_events("d1", n, t0, 2)
    # The first event of each shows the subscription is in place.
    pa.send([json.dumps(ea[0]).encode()])
    pb_.send([json.dumps(eb[0]).encode()])
    wait_for(lambda: s.metric("sluice_source_events_total") >= 2, "first events")
    fd = Feeder([(pa, msgs(ea)), (pb_, msgs(eb))], 25).start(1)
    kills = 0
    points = ["mqtt_before_append", "mqtt_after_append"]
    restart_s = []
    for i in range(20):
        fd.pause(rng.uniform(0.2, 0.7))  # when to kill: a random moment mid-stream
        s.kill()
        kills += 1
        if i % 3 == 2 and fd.left() > 300:
            # Time from a restart to the first result the new process writes.
            size = os.path.getsize(s.out) if os.path.exists(s.out) else 0
            t = time.monotonic()
            s.start()
            if wait_for(lambda: os.path.exists(s.out) and os.path.getsize(s.out) > size,
                        "a result after a restart", timeout=30):
                restart_s.append(time.monotonic() - t)
            continue
        env = None
        if hooks and i % 3 == 1 and fd.left() > 300:
            env = {"SLUICE_CRASH_AT": "%s:%d" % (points[i % 2], rng.randint(5, 60))}
        s.start(env)
        if env is not None:
            # Dies by itself inside the callback once enough messages arrived.
            died = wait_for(lambda: s.p.poll() is not None,
                            "crash hook %s" % env["SLUICE_CRASH_AT"], timeout=60)
            if not died:
                s.kill()  # never two processes on one state dir
            kills += 1
            s.start()
    fd.join()
    flush_and_wait(s, [(pa, "d0"), (pb_, "d1")], t0 + n * 100, oracle(ea + eb), "kills")
    check_rows(s.rows(), oracle(ea + eb), "kills", kills)
    reconcile(s, "kills")
    check(s.metric("sluice_query_replay_skipped_total") + s.metric(
        "sluice_query_accepted_total") > 0, "kills: the last run read events")
    check("write-ahead log" in s.log(), "kills: the log is announced at start")
    check(s.stop() == 0, "kills: SIGTERM exits 0")
    pa.close()
    pb_.close()
    print("kills: %d kills, %d rows, %d windows" % (kills, len(s.rows()[0]),
                                                     len(oracle(ea + eb))), flush=True)
    if restart_s:
        print("kills: restart to first new result: %s s (max %.2f s)" % (
            ", ".join("%.2f" % x for x in restart_s), max(restart_s)), flush=True)


# ---------------------------------------------------------------- pinned
def case_pinned(point):
    b = Broker("pinned-broker-" + point)
    d = os.path.join(work, "pinned-" + point)
    os.makedirs(d)
    s = Sluice(d, b, "pinned-" + point, env={"SLUICE_CRASH_AT": point + ":5"})
    wait_for(lambda: s.metric("sluice_mqtt_connected") == 1, "connected")
    pa = Publisher(b, "a/d0")
    t0 = 1_700_000_000_000
    ev = make_events("d0", 10, t0, 3)
    pa.send([json.dumps(e).encode() for e in ev])
    wait_for(lambda: s.p.poll() is not None, "the crash hook at message 5")
    s.start()
    pb_ = Publisher(b, "b/d1")  # the other partition's flush moves the watermark too
    flush_and_wait(s, [(pa, "d0"), (pb_, "d1")], t0 + 10 * 100, oracle(ev), point)
    check_rows(s.rows(), oracle(ev), point, 1)
    if point == "mqtt_after_append":
        check(s.metric("sluice_mqtt_redelivered_total") >= 1,
              "%s: the broker's redelivery is recognised" % point)
    check(s.stop() == 0, "%s: SIGTERM exits 0" % point)
    pa.close()
    pb_.close()


# ---------------------------------------------------------------- repeats
def case_repeats():
    """70 000 identical readings (QoS 1): the broker's packet ids wrap past 65 535 within the
    session, so ids repeat with the same topic and payload. None is a redelivery; all are
    counted (a redelivery check that looked at ids and payloads without sessions dropped
    hundreds)."""
    # No persistence (this case restarts no broker; a save per change would be the whole
    # run) and no queue bound, as bench/bench_mqtt.sh runs it.
    b = _Broker(work, "repeats-broker", extra="persistence false\nmax_queued_messages 0\n")
    d = os.path.join(work, "repeats")
    os.makedirs(d)
    s = Sluice(d, b, "repeats")
    wait_for(lambda: s.metric("sluice_mqtt_connected") == 1, "connected")
    n, npub = 70000, 4
    one = json.dumps({"dev": "d0", "seq": 1, "v": 1.5, "ts": 1_700_000_000_000}).encode()
    pubs = [Publisher(b, "a/d%d" % k) for k in range(npub)]
    for p in pubs:
        p.send([one] * (n // npub))
    for p in pubs:
        check(p.close() == 0, "repeats: mosquitto_pub exits 0")
    wait_for(lambda: s.metric("sluice_source_events_total") >= n, "every repeat counted",
             timeout=120)
    got = s.metric("sluice_source_events_total")
    check(got == n and s.metric("sluice_mqtt_redelivered_total") == 0,
          "repeats: %d of %d identical messages counted, %d taken for redeliveries" % (
              got, n, s.metric("sluice_mqtt_redelivered_total")))
    check(s.stop() == 0, "repeats: SIGTERM exits 0")


# ---------------------------------------------------------------- late
LATE_QUERY = """
CREATE SOURCE ev (device TEXT, temp DOUBLE, ts TIMESTAMP,
                  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
WITH (connector = 'mqtt', url = 'mqtt://127.0.0.1:%d', topic = 'late/+', qos = '1',
      client_id = 'durable-late', idle_timeout = '1h');
CREATE SINK late5 WITH (connector = 'file', path = '%s/late5.jsonl') AS
SELECT device, window_start, COUNT(*) AS n, SUM(temp) AS s, _rev
FROM TUMBLE(ev, ts, INTERVAL '5' SECOND)
GROUP BY device
ALLOWED LATENESS INTERVAL '3' SECOND;
CREATE SINK sess WITH (connector = 'file', path = '%s/sess.jsonl') AS
SELECT device, window_start, window_end, COUNT(*) AS n, SUM(temp) AS s
FROM SESSION(ev, ts, INTERVAL '3' SECOND)
GROUP BY device;
"""


def late_events(n):
    r = random.Random(11)
    t = 1_700_000_000_000
    evs = []
    for i in range(n):
        t += r.randint(0, 40)
        if r.random() < 0.004:
            t += r.randint(4000, 9000)  # gaps close sessions
        ts = t - r.randint(0, 1500)
        if r.random() < 0.03:
            ts -= r.randint(3000, 20000)  # late, or within the allowed lateness
        evs.append(("d%d" % r.randint(0, 9), float(r.randint(0, 1000)) / 4, ts))
    return evs


def jsonl(path):
    out, torn = [], 0
    if os.path.exists(path):
        with open(path, "rb") as f:
            for line in f.read().split(b"\n"):
                if line.strip():
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        torn += 1
    return out, torn


def case_late():
    import windows_oracle as wo
    b = Broker("late-broker")
    d = os.path.join(work, "late")
    os.makedirs(d)
    s = Sluice(d, b, "late")
    with open(s.q, "w") as f:
        f.write(LATE_QUERY % (b.port, d, d))
    s.kill()
    s.start()
    wait_for(lambda: s.metric("sluice_mqtt_connected") == 1, "connected")
    evs = late_events(4000)
    pub_ = Publisher(b, "late/x")
    lines = [json.dumps({"device": e[0], "temp": e[1], "ts": e[2]}).encode() for e in evs]
    pub_.send(lines[:1])
    wait_for(lambda: s.metric("sluice_source_events_total") >= 1, "first event")
    fd = Feeder([(pub_, lines)], 40).start(1)
    for i in range(int(os.environ.get("LATE_KILLS", "8"))):
        fd.pause(rng.uniform(0.2, 0.6))  # when to kill: a random moment mid-stream
        s.kill()
        s.start()
    fd.join()
    tmax = max(e[2] for e in evs)
    pub_.send([json.dumps({"device": "zz", "temp": 0.0, "ts": tmax + 600_000}).encode()])

    st = wo.stamps(evs)

    def fin(key, S, E, e):
        return (key, S, len(e), math.fsum(x[2] for x in e))
    want5 = {}
    for r in wo.tumble_hop(evs, st, 5000, 5000, 3000, fin, markers=5000):
        key, S, n, sm = r[3]
        want5[(key, S)] = (n, sm)  # the last emission of a window is its final content
    wants = {(dv, st_, en): (len(e), math.fsum(x[2] for x in e))
             for en, st_, dv, e in wo.sessions(evs, st, 3000)}

    def complete():
        rows, _ = jsonl(os.path.join(d, "late5.jsonl"))
        srows, _ = jsonl(os.path.join(d, "sess.jsonl"))
        have = {(r["device"], r["window_start"]) for r in rows}
        shave = {(r["device"], r["window_start"], r["window_end"]) for r in srows}
        return all(k in have for k in want5) and all(k in shave for k in wants)
    wait_for(complete, "late: every window and session written", timeout=120)
    rows, torn = jsonl(os.path.join(d, "late5.jsonl"))
    best = {}
    for r in rows:
        k = (r["device"], r["window_start"])
        check(r["n"] == r["_rev"], "late: row %s has n != _rev" % r)
        if k not in best or r["_rev"] > best[k]["_rev"]:
            best[k] = r
    for k, (n, sm) in want5.items():
        g = best.get(k)
        check(g is not None and g["n"] == n and abs(g["s"] - sm) < 1e-6,
              "late: window %s final %s, the oracle says %s" % (k, g, (n, sm)))
    extra = [k for k in best if k not in want5 and k[0] != "zz"]
    check(not extra, "late: windows the oracle does not have: %s" % extra[:3])
    srows, storn = jsonl(os.path.join(d, "sess.jsonl"))
    for r in srows:
        k = (r["device"], r["window_start"], r["window_end"])
        w = wants.get(k)
        check(w is not None and r["n"] == w[0] and abs(r["s"] - w[1]) < 1e-6,
              "late: session %s is %s, the oracle says %s" % (k, (r["n"], r["s"]), w))
    check(torn + storn <= 16, "late: %d torn lines" % (torn + storn))
    reconcile(s, "late", ["late5", "sess"])
    check(s.stop() == 0, "late: SIGTERM exits 0")
    pub_.close()
    print("late: %d windows, %d sessions, %d rows" % (len(want5), len(wants), len(rows) +
                                                     len(srows)), flush=True)


# ---------------------------------------------------------------- bound
REDIS_QUERY = """
CREATE SOURCE ev (dev TEXT, seq BIGINT, v DOUBLE, ts TIMESTAMP,
                  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'mqtt', url = 'mqtt://127.0.0.1:%d', topic = 'a/+', qos = '1',
      client_id = '%s', idle_timeout = '1h');
CREATE SINK w WITH (connector = 'redis', url = 'redis://127.0.0.1:%d', type = 'hash',
                    key = '%s:{dev}:{window_start}') AS
SELECT dev, window_start, COUNT(*) AS n, SUM(v) AS s, MIN(seq) AS lo, MAX(seq) AS hi
FROM TUMBLE(ev, ts, INTERVAL '2' SECOND)
GROUP BY dev;
"""


def redis_exact(rport, prefix, want):
    """Whether every window of the oracle is exactly its hash in Redis."""
    for (dev, ws), (cnt, sm, lo, hi) in want.items():
        h = redis_cli(rport, "HGETALL", "%s:%s:%d" % (prefix, dev, ws)).split("\n")
        m = dict(zip(h[0:-1:2], h[1::2]))
        if (m.get("n") != str(cnt) or m.get("lo") != str(lo) or m.get("hi") != str(hi)
                or abs(float(m.get("s", "nan")) - sm) > 1e-6):
            return False
    return True


def case_bound():
    if shutil.which("redis-server") is None:
        print("bound: redis-server not installed: skipped")
        return
    b = Broker("bound-broker")
    d = os.path.join(work, "bound")
    os.makedirs(d)
    rport = free_port()
    rp = subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1",
                           "--save", "", "--appendonly", "no"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(rp)
    wait_for(lambda: redis_cli(rport, "PING").strip() == "PONG", "redis-server")
    s = Sluice(d, b, "bound")
    s.kill()
    with open(s.q, "w") as f:
        f.write(REDIS_QUERY % (b.port, "durable-bound", rport, "b"))
    s.start({"SLUICE_MQTT_LOG_MAX_BYTES": str(2 << 20)})
    wait_for(lambda: s.metric("sluice_mqtt_connected") == 1, "connected")
    pa = Publisher(b, "a/d0")
    t0 = 1_700_000_000_000
    n = 30000
    ev = make_events("d0", n, t0, 5)
    pa.send([json.dumps(e).encode() for e in ev[:10]])
    wait_for(lambda: s.metric("sluice_source_events_total") >= 10, "first events")
    rp.send_signal(signal.SIGSTOP)
    pa.send([json.dumps(e).encode() for e in ev[10:]])
    wait_for(lambda: s.metric("sluice_mqtt_log_full_waits_total") >= 1,
             "bound: the callback waits for room in the log", timeout=120)
    code, body = s.get("/readyz")
    check(code == 503 and "write-ahead log" in body,
          "bound: /readyz says the log is full (%s %s)" % (code, body))
    rp.send_signal(signal.SIGCONT)
    pa.send([json.dumps({"dev": "d0", "seq": -1, "v": 0.0, "ts": t0 + n * 100 + 60_000})
             .encode()])
    want = oracle(ev)

    wait_for(lambda: redis_exact(rport, "b", want), "bound: every window exact in Redis",
             timeout=180)
    check(s.ready(), "bound: ready again")
    reconcile(s, "bound")
    check(s.stop() == 0, "bound: SIGTERM exits 0")
    pa.close()


# ---------------------------------------------------------------- torn
TORN_QUERY = """
CREATE SOURCE ev (dev TEXT, seq BIGINT, v DOUBLE, ts TIMESTAMP,
                  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'mqtt', url = 'mqtt://127.0.0.1:%d', topic = 'a/+', qos = '1',
      client_id = '%s', idle_timeout = '1h');
CREATE SINK w WITH (connector = 'file', path = '%s') AS
SELECT window_start, COUNT(*) AS n, SUM(v) AS s, MAX(seq) AS hi
FROM TUMBLE(ev, ts, INTERVAL '1' HOUR);
"""


def wal_records(path):
    """(start, end, event) of the records of one segment, read here independently from
    engine/wal.h's framing: u32 length | u32 crc | body, body = i64 receive time | u16
    packet id | u16 0 | u32 topic length | topic | payload."""
    out = []
    with open(path, "rb") as f:
        b = f.read()
    i = 0
    while i + 8 <= len(b):
        n = int.from_bytes(b[i:i + 4], "little")
        if i + 8 + n > len(b):
            break
        body = b[i + 8:i + 8 + n]
        tl = int.from_bytes(body[12:16], "little")
        out.append((i, i + 8 + n, json.loads(body[16 + tl:])))
        i += 8 + n
    return out


def case_torn():
    """A log damaged at 100 different offsets of its newest segment (cut there, or a byte
    flipped there): every start succeeds, reports the damage, keeps exactly the records
    before the damaged one, and the one-hour window then holds exactly those events."""
    b = Broker("torn-broker")
    d = os.path.join(work, "torn")
    os.makedirs(d)
    out0 = os.path.join(d, "out0.jsonl")
    q = os.path.join(d, "q.sql")
    with open(q, "w") as f:
        f.write(TORN_QUERY % (b.port, "torn-0", out0))
    st0 = os.path.join(d, "state0")
    env = dict(os.environ)
    env["SLUICE_MQTT_LOG_MAX_BYTES"] = str(256 << 10)  # 32 KiB segments: several of them
    p = subprocess.Popen([sluice, "run", "--http", "off", "--state-dir", st0, q],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    procs.append(p)
    t0 = 1_700_000_000_000
    n = 600
    ev = make_events("d0", n, t0, 6)  # 60 s of events: one open one-hour window
    seg_dir = os.path.join(st0, "mqtt", "ev")

    def records():
        return [r for x in sorted(glob.glob(os.path.join(seg_dir, "*.wal")))
                for r in wal_records(x)]
    pa = Publisher(b, "a/d0")
    wait_for(lambda: os.path.isdir(seg_dir), "torn: the log directory")

    def subscribed():
        # ev[0] again until the broker has the subscription (the log then has a record).
        pa.send([json.dumps(ev[0]).encode()])
        return len(records()) > 0
    wait_for(subscribed, "torn: the first record in the log")
    pa.send([json.dumps(e).encode() for e in ev[1:]])
    wait_for(lambda: any(r[2]["seq"] == n - 1 for r in records()),
             "torn: every record in the log")
    p.send_signal(signal.SIGKILL)
    p.wait()
    segs = sorted(glob.glob(os.path.join(seg_dir, "*.wal")))
    logged_events = [r[2] for r in records()]  # the events in log order, as the log holds them
    before = sum(len(wal_records(x)) for x in segs[:-1])
    newest = segs[-1]
    recs = wal_records(newest)
    size = os.path.getsize(newest)
    offsets = sorted(set(int(i * size / 100) for i in range(100)))
    starts_ok = 0
    for it, off in enumerate(offsets):
        dd = os.path.join(d, "it%d" % it)
        shutil.copytree(st0, os.path.join(dd, "state"))
        seg = os.path.join(dd, "state", "mqtt", "ev", os.path.basename(newest))
        flip = it % 2 == 1
        with open(seg, "r+b") as f:
            if flip:
                f.seek(off)
                c = f.read(1)
                f.seek(off)
                f.write(bytes([c[0] ^ 0x5A]))
            else:
                f.truncate(off)
        # The records that survive: every one that ends at or before the damaged byte.
        keep = before + sum(1 for (a, z, _) in recs if z <= off)
        want = logged_events[:keep]
        out = os.path.join(dd, "out.jsonl")
        qq = os.path.join(dd, "q.sql")
        with open(qq, "w") as f:
            # A session of its own: the killed first run's unacknowledged messages are not
            # redelivered here.
            f.write(TORN_QUERY % (b.port, "torn-%d" % (it + 1), out))
        err = open(os.path.join(dd, "stderr"), "w")
        sp = subprocess.Popen([sluice, "run", "--http", "off", "--state-dir",
                               os.path.join(dd, "state"), qq], stdout=subprocess.DEVNULL,
                              stderr=err, env=env)
        procs.append(sp)
        # A later event fires the hour (its own window never does).
        flush = json.dumps({"dev": "d0", "seq": -1, "v": 0.0, "ts": t0 + 7_200_000}).encode()

        def fired():
            if sp.poll() is not None:
                return True
            pa.send([flush])
            return os.path.exists(out) and os.path.getsize(out) > 0
        wait_for(fired, "torn %d: the hour fires" % it, timeout=30)
        rows, _ = jsonl(out)
        ok = sp.poll() is None and len(rows) == 1
        if ok:
            r = rows[0]
            sm = math.fsum(e["v"] for e in want)
            ok = r["n"] == len(want) and abs(r["s"] - sm) < 1e-6
            check(ok, "torn %d (%s at %d): %s, expected n=%d s=%s" % (
                it, "flip" if flip else "cut", off, r, len(want), sm))
        else:
            check(False, "torn %d: not one row (%s)" % (it, rows))
        sp.send_signal(signal.SIGTERM)
        check(sp.wait(timeout=30) == 0, "torn %d: exit 0" % it)
        err.close()
        with open(os.path.join(dd, "stderr")) as f:
            log = f.read()
        if flip or off not in {a for (a, z, _) in recs}:
            check("cut" in log, "torn %d: the damage is reported" % it)
        starts_ok += ok
        shutil.rmtree(dd, ignore_errors=True)
    pa.close()
    print("torn: %d of %d damaged starts recovered exactly" % (starts_ok, len(offsets)),
          flush=True)


# ---------------------------------------------------------------- sigterm
def case_sigterm():
    """SIGTERM 20 times mid-stream: every exit is 0, and the rows are the oracle's."""
    b = Broker("sigterm-broker")
    d = os.path.join(work, "sigterm")
    os.makedirs(d)
    s = Sluice(d, b, "sigterm")
    s.extra = ["--shutdown-timeout", "5s"]
    s.kill()
    s.start()
    wait_for(lambda: s.metric("sluice_mqtt_connected") == 1, "connected")
    pa, pb_ = Publisher(b, "a/d0"), Publisher(b, "b/d1")
    t0 = 1_700_000_000_000
    n = 2000
    ea, eb = make_events("d0", n, t0, 7), make_events("d1", n, t0, 8)
    pa.send([json.dumps(ea[0]).encode()])
    pb_.send([json.dumps(eb[0]).encode()])
    wait_for(lambda: s.metric("sluice_source_events_total") >= 2, "first events")
    fd = Feeder([(pa, msgs(ea)), (pb_, msgs(eb))], 10).start(1)
    codes = []
    for i in range(20):
        fd.pause(rng.uniform(0.1, 0.4))  # when to stop: a random moment mid-stream
        s.p.send_signal(signal.SIGTERM)
        try:
            codes.append(s.p.wait(timeout=30))
        except subprocess.TimeoutExpired:
            codes.append("hung")
            s.kill()
        s.start()
    fd.join()
    check(all(c == 0 for c in codes), "sigterm: exit codes %s" % codes)
    flush_and_wait(s, [(pa, "d0"), (pb_, "d1")], t0 + n * 100, oracle(ea + eb), "sigterm")
    check_rows(s.rows(), oracle(ea + eb), "sigterm", 0)
    reconcile(s, "sigterm")
    check(s.stop() == 0, "sigterm: last SIGTERM exits 0")
    pa.close()
    pb_.close()


# ---------------------------------------------------------------- rediskill
def case_rediskill():
    """redis-server (AOF, appendfsync always) SIGKILLed and restarted 10 times while rows
    flow into it: the hashes end up exactly the oracle's."""
    if shutil.which("redis-server") is None:
        print("rediskill: redis-server not installed: skipped")
        return
    b = Broker("rk-broker")
    d = os.path.join(work, "rediskill")
    os.makedirs(d)
    rport = free_port()
    rdir = os.path.join(d, "redis")
    os.makedirs(rdir)

    def redis_start():
        rp = subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                               "--dir", rdir], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        procs.append(rp)
        wait_for(lambda: redis_cli(rport, "PING").strip() == "PONG", "redis-server")
        return rp
    rp = redis_start()
    s = Sluice(d, b, "rediskill")
    s.kill()
    with open(s.q, "w") as f:
        f.write(REDIS_QUERY % (b.port, "durable-rk", rport, "r"))
    s.start()
    wait_for(lambda: s.metric("sluice_mqtt_connected") == 1, "connected")
    pa = Publisher(b, "a/d0")
    t0 = 1_700_000_000_000
    n = 3000
    ev = make_events("d0", n, t0, 9)
    fd = Feeder([(pa, msgs(ev))], 20).start()
    for i in range(10):
        fd.pause(rng.uniform(0.1, 0.4))  # when to kill: a random moment mid-stream
        rp.send_signal(signal.SIGKILL)
        rp.wait()
        rp = redis_start()
    fd.join()
    pa.send([json.dumps({"dev": "d0", "seq": -1, "v": 0.0, "ts": t0 + n * 100 + 60_000})
             .encode()])
    want = oracle(ev)

    wait_for(lambda: redis_exact(rport, "r", want), "rediskill: every window exact in Redis",
             timeout=120)
    reconcile(s, "rediskill")
    check(s.stop() == 0, "rediskill: SIGTERM exits 0")
    pa.close()


# ---------------------------------------------------------------- diskfull
def case_diskfull():
    """The state dir on a 2 MiB tmpfs nearly filled by another file: the log cannot take
    more, the broker is held back, /readyz says why and nothing crashes; once the file is
    removed, every window arrives exactly."""
    d = os.path.join(work, "diskfull")
    os.makedirs(d)
    mnt = os.path.join(d, "mnt")
    os.makedirs(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt],
                       capture_output=True)
    if r.returncode != 0:
        print("diskfull: cannot mount a tmpfs here (%s): skipped" % r.stderr.decode().strip())
        return
    try:
        with open(os.path.join(mnt, "filler"), "wb") as f:
            f.write(b"x" * (1900 << 10))
        b = Broker("df-broker")
        s = Sluice(d, b, "diskfull")
        s.kill()
        s.state = os.path.join(mnt, "state")
        s.start()
        wait_for(lambda: s.metric("sluice_mqtt_connected") == 1, "connected")
        pa = Publisher(b, "a/d0")
        pb_ = Publisher(b, "b/d1")
        t0 = 1_700_000_000_000
        n = 3000
        ea, eb = make_events("d0", n, t0, 10), make_events("d1", n, t0, 11)
        pa.send([json.dumps(e).encode() for e in ea])
        pb_.send([json.dumps(e).encode() for e in eb])
        wait_for(lambda: s.metric("sluice_mqtt_log_full_waits_total") >= 1,
                 "diskfull: the callback waits for room", timeout=60)
        code, body = s.get("/readyz")
        check(code == 503 and "write-ahead log" in body, "diskfull: /readyz %s %s" % (code, body))
        check("No space left" in s.log(), "diskfull: a clear log line")
        check(s.p.poll() is None, "diskfull: still running")
        os.unlink(os.path.join(mnt, "filler"))
        flush_and_wait(s, [(pa, "d0"), (pb_, "d1")], t0 + n * 100, oracle(ea + eb), "diskfull")
        check_rows(s.rows(), oracle(ea + eb), "diskfull", 0)
        check(s.ready(), "diskfull: ready again")
        reconcile(s, "diskfull")
        check(s.stop() == 0, "diskfull: SIGTERM exits 0")
        pa.close()
        pb_.close()
    finally:
        subprocess.run(["umount", "-l", mnt], capture_output=True)


# ---------------------------------------------------------------- reload
RELOAD_SRC = """
CREATE SOURCE ev (dev TEXT, seq BIGINT, v DOUBLE, ts TIMESTAMP,
                  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'mqtt', url = 'mqtt://127.0.0.1:%d', topic = 'a/+', qos = '1',
      client_id = 'durable-reload', idle_timeout = '1h');
"""
RELOAD_Q = {
    "qa": """CREATE SINK qa WITH (connector = 'file', path = '%s/qa.jsonl') AS
SELECT dev, window_start, COUNT(*) AS n, SUM(v) AS s, MIN(seq) AS lo, MAX(seq) AS hi
FROM TUMBLE(ev, ts, INTERVAL '2' SECOND) GROUP BY dev;
""",
    "qb": """CREATE SINK qb WITH (connector = 'file', path = '%s/qb.jsonl') AS
SELECT dev, window_start, COUNT(*) AS n, SUM(v) AS s, MIN(seq) AS lo, MAX(seq) AS hi
FROM TUMBLE(ev, ts, INTERVAL '2' SECOND) GROUP BY dev;
""",
    "qc": """CREATE SINK qc WITH (connector = 'file', path = '%s/qc.jsonl') AS
SELECT dev, window_start, COUNT(*) AS n FROM TUMBLE(ev, ts, INTERVAL '2' SECOND) GROUP BY dev;
""",
}


def case_reload():
    """SIGHUP: a file with errors is refused and the queries go on in the same process; a
    good file keeps qa (its windows exact across the reload), adds qb (it emits only windows
    that start after the reload, each exact) and removes qc (no row after the reload); the
    log says which."""
    b = Broker("reload-broker")
    d = os.path.join(work, "reload")
    os.makedirs(d)
    s = Sluice(d, b, "reload")
    s.kill()

    def write(names, extra=""):
        with open(s.q, "w") as f:
            f.write(RELOAD_SRC % b.port + "".join(RELOAD_Q[n] % d for n in names) + extra)
    write(["qa", "qc"])
    s.start()
    wait_for(lambda: s.metric("sluice_mqtt_connected") == 1, "connected")
    pa = Publisher(b, "a/d0")
    t0 = 1_700_000_000_000
    n = 1200
    ev = make_events("d0", n, t0, 12)
    pa.send([json.dumps(e).encode() for e in ev[:600]])
    wait_for(lambda: s.metric("sluice_source_events_total") >= 600, "reload: first half read")
    pid = s.p.pid
    write(["qa", "qc"], "CREATE SINK broken AS SELEC 1;\n")
    mark = len(s.log())
    s.p.send_signal(signal.SIGHUP)
    wait_for(lambda: "have errors" in s.log()[mark:], "reload: the bad file is refused")
    check(s.p.poll() is None and s.metric("sluice_mqtt_connected") == 1,
          "reload: still running after a refused reload")
    write(["qa", "qb"])
    mark = len(s.log())
    qc_before = len(jsonl(os.path.join(d, "qc.jsonl"))[0])
    s.p.send_signal(signal.SIGHUP)
    wait_for(lambda: "kept [qa], added [qb], changed [], removed [qc]" in s.log()[mark:],
             "reload: the log says what is kept, added and removed")

    def port():
        m = re.findall(r"http://127\.0\.0\.1:(\d+)", s.log()[mark:])
        return int(m[-1]) if m else None
    s.port = wait_for(port, "reload: started again")
    check(s.p.poll() is None and s.p.pid == pid, "reload: the same process goes on")
    wait_for(lambda: s.metric("sluice_mqtt_connected") == 1, "reload: connected again")
    pa.send([json.dumps(e).encode() for e in ev[600:]])
    want = oracle(ev)
    pa.send([json.dumps({"dev": "d0", "seq": -1, "v": 0.0, "ts": t0 + n * 100 + 60_000})
             .encode()])

    def done():
        rows, _ = jsonl(os.path.join(d, "qa.jsonl"))
        return {(r["dev"], r["window_start"]) for r in rows} >= set(want)
    wait_for(done, "reload: every qa window")
    check_rows(s.rows_of("qa.jsonl"), want, "reload qa", 0)
    qb, _ = jsonl(os.path.join(d, "qb.jsonl"))
    starts = sorted(r["window_start"] for r in qb)
    check(starts and starts[0] > t0 and starts[0] < t0 + n * 100,
          "reload: qb starts after the reload (%s)" % starts[:1])
    for r in qb:
        k = (r["dev"], r["window_start"])
        w = want.get(k)
        check(w is not None and [r["n"], r["lo"], r["hi"]] == [w[0], w[2], w[3]],
              "reload: qb window %s is %s, the oracle says %s" % (k, r, w))
    if starts:
        missing = [k for k in want if k[1] >= starts[0] and k not in
                   {(r["dev"], r["window_start"]) for r in qb}]
        check(not missing, "reload: qb misses windows after its first: %s" % missing[:3])
    check(len(jsonl(os.path.join(d, "qc.jsonl"))[0]) == qc_before,
          "reload: the removed qc wrote nothing after the reload")
    reconcile(s, "reload", ["qa", "qb"])
    check(s.stop() == 0, "reload: SIGTERM exits 0")
    pa.close()


CASES = {"kills": lambda: case_kills(), "late": lambda: case_late(),
         "bound": lambda: case_bound(), "sigterm": case_sigterm, "rediskill": case_rediskill,
         "diskfull": case_diskfull, "torn": case_torn, "reload": case_reload,
         "repeats": case_repeats,
         "pinned": lambda: hooks and (case_pinned("mqtt_before_append"),
                                      case_pinned("mqtt_after_append"))}
try:
    only = os.environ.get("ONLY")
    for name, fn in CASES.items():
        if only is None or only == name:
            fn()
finally:
    kill_all()

if fails:
    print("%d failure(s)" % len(fails))
    sys.exit(1)
print("mqtt_durable: all cases passed")
