#!/usr/bin/env python3
"""The kafka source through `sluice run` against librdkafka's mock cluster (3 brokers, the real
Kafka protocol on loopback, run by tests/tools/kafka_mock with a control pipe for faults), with
data produced by kcat, an independent client, and results read from a real redis-server.

Cases:
  basic     4 partitions, messages keyed by device: exact TUMBLE rows in Redis against an
            oracle computed here; _key, _partition, _offset, _topic of per-event rows equal what
            kcat reports; lag gauge reaches 0; /readyz 200; SIGTERM exits 0 and leaves the
            group, so a second replica gets every partition long before its session timeout.
  props     properties.* reach librdkafka: an unknown one and one Sluice owns are load errors;
            security.protocol=ssl against the plaintext mock fails loudly (exit 1, a TLS
            error in the log), never downgrading; a missing topic is an error that names it.
  faults    every broker down: /readyz 503 with a reason and an error line, then up again:
            ready, and messages produced afterwards counted; Fetch answered with
            TOPIC_AUTHORIZATION_FAILED: an error line, then recovery; no crash.
  kill      a recorded stream produced in 10 chunks into 4 partitions while Sluice is killed
            with SIGKILL and restarted 10 times: the Redis hashes equal the oracle exactly.
  kill20    the same with 20 chunks and 20 kills (issue 9).
  replicas  the same with two replicas in one group, one of them killed after every chunk.
  late      one partition, out-of-order data: TUMBLE with ALLOWED LATENESS (late events
            dropped, corrections rewritten) and SESSION windows, 10 kills: exact.
  idle      windows fired by the wall clock (every partition idle) before a SIGKILL: after
            the restart nothing is lost or rebuilt partially.
  pause     a slow sink (Redis CLIENT PAUSE): partitions are paused and resumed
            (sluice_kafka_pauses_total), memory stays bounded, every event is delivered.

Oracles share no code with Sluice: they are written here from SQL.md. No sleeps to wait for
things: waits poll a condition with a deadline; the only other sleeps are the random moments
at which a kill lands.

usage: kafka_source.py SLUICE KAFKA_MOCK WORKDIR [case...]
"""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

sluice, mock_bin, work = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
if shutil.which("kcat") is None or shutil.which("redis-server") is None:
    print("kcat or redis-server not installed (deploy/install-deps.sh): skipped")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from itlib import (check, fails, free_port, http_get, kill_all, metric_sum,  # noqa: E402
                   procs, wait_for)

T0 = 1_700_000_000_000 - (1_700_000_000_000 % 3_600_000) + 60_000  # 1 min into an hour


class Mock:
    def __init__(self):
        self.p = subprocess.Popen([mock_bin], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=open(os.path.join(work, "mock.log"), "a"), text=True)
        procs.append(self.p)
        first = self.p.stdout.readline().split()
        assert first and first[0] == "bootstrap", first
        self.boot = first[1]

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        r = self.p.stdout.readline().strip()
        check(r == "ok", "mock command %r: %s" % (line, r))

    def topic(self, name, n):
        self.cmd("topic %s %d" % (name, n))


def kcat_produce(mock, topic, lines, partition=None):
    """lines: (key, json text) pairs, produced in order by kcat, keyed."""
    path = os.path.join(work, "produce.%d" % os.getpid())
    with open(path, "w") as f:
        for k, v in lines:
            assert "\t" not in k and "\n" not in v
            f.write("%s\t%s\n" % (k, v))
    cmd = ["kcat", "-P", "-b", mock.boot, "-t", topic, "-K", "\t", "-l", path]
    if partition is not None:
        cmd += ["-p", str(partition)]
    r = subprocess.run(cmd, capture_output=True, timeout=120)
    check(r.returncode == 0, "kcat -P failed: %s" % r.stderr.decode()[-500:])


def kcat_read(mock, topic):
    """(partition, offset, key, value) of every message, read to the end by kcat."""
    r = subprocess.run(["kcat", "-C", "-b", mock.boot, "-t", topic, "-e", "-q", "-f",
                        "%p\t%o\t%k\t%s\n"], capture_output=True, timeout=120)
    out = []
    for line in r.stdout.decode().splitlines():
        p, o, k, v = line.split("\t", 3)
        out.append((int(p), int(o), k, v))
    return out


class Redis:
    def __init__(self, name):
        self.port = free_port()
        d = os.path.join(work, name)
        os.makedirs(d, exist_ok=True)
        self.p = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind",
                                   "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", d],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(self.p)
        wait_for(lambda: self.cli("PING").strip() == "PONG", "redis-server PING")

    def cli(self, *args):
        r = subprocess.run(["redis-cli", "-p", str(self.port), "--raw"] + [str(a) for a in args],
                           capture_output=True, timeout=60)
        return r.stdout.decode()

    def hashes(self, pattern):
        """{key: {field: value}} for every key matching pattern, in one round trip."""
        script = ("local out = {} for _, k in ipairs(redis.call('KEYS', ARGV[1])) do "
                  "out[#out+1] = k out[#out+1] = cjson.encode(redis.call('HGETALL', k)) end "
                  "return out")
        lines = self.cli("EVAL", script, 0, pattern).split("\n")
        res = {}
        for i in range(0, len(lines) - 1, 2):
            flat = json.loads(lines[i + 1]) if lines[i + 1] not in ("", "{}") else []
            res[lines[i]] = dict(zip(flat[0::2], flat[1::2]))
        return res

    def url(self):
        return "redis://127.0.0.1:%d/0" % self.port


class Sluice:
    def __init__(self, name, sql, env=None, args=()):
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.q = os.path.join(self.dir, "q.sql")
        with open(self.q, "w") as f:
            f.write(sql)
        self.errpath = os.path.join(self.dir, "stderr")
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.p = None
        self.runs = 0
        self.args = list(args)

    def start(self):
        self.errlog = open(self.errpath, "a")
        self.errlog.write("==== start %d\n" % self.runs)
        self.errlog.flush()
        self.mark = os.path.getsize(self.errpath)
        self.runs += 1
        self.p = subprocess.Popen([sluice, "run", "--workers", "2", "--http", "127.0.0.1:0"] +
                                  self.args + [self.q], stdout=subprocess.DEVNULL, stderr=self.errlog,
                                  env=self.env)
        procs.append(self.p)

        def port():
            m = re.search(r"http://127\.0\.0\.1:(\d+)", self.log(since_start=True))
            return int(m.group(1)) if m else None
        self.port = wait_for(port, "sluice's http port", timeout=60)
        return self

    def log(self, since_start=False):
        with open(self.errpath, errors="replace") as f:
            if since_start:
                f.seek(self.mark)
            return f.read()

    def get(self, path):
        return http_get(self.port, path)

    def metric(self, family, **labels):
        return metric_sum(self.get("/metrics")[1], family, **labels)

    def ready(self):
        return self.get("/readyz")[0] == 200

    def assigned(self):
        return re.findall(r"assigned (\d+) partition", self.log(since_start=True))

    def kill9(self):
        self.p.kill()
        self.p.wait()

    def stop(self, timeout=40):
        self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return "timeout"


# ---------------------------------------------------------------- oracles
def tumble_oracle(events, size, delay=None, lateness=0, keep=lambda dev: True):
    """(dev, window_start) -> [n, sum, min, max] over the events (dev, ts, v) in read order
    whose dev passes keep. With delay set (one partition: read order is produce order),
    events whose window expired (W >= end + lateness, W = largest ts read before it - delay,
    over every event) are late and dropped."""
    acc = {}
    maxts = None
    late = 0
    for dev, ts, v in events:
        start = ts - ts % size
        if not keep(dev):
            maxts = ts if maxts is None else max(maxts, ts)
            continue
        if delay is not None and maxts is not None and maxts - delay >= start + size + lateness:
            late += 1
            continue
        a = acc.setdefault((dev, start), [0, 0, None, None])
        a[0] += 1
        a[1] += v
        a[2] = v if a[2] is None else min(a[2], v)
        a[3] = v if a[3] is None else max(a[3], v)
        if maxts is None or ts > maxts:
            maxts = ts
    return acc, late


def expect_tumble(acc, prefix):
    return {"%s:%s:%d" % (prefix, dev, ws): {"dev": dev, "window_start": str(ws), "n": str(a[0]),
                                             "s": str(a[1]), "mn": str(a[2]), "mx": str(a[3])}
            for (dev, ws), a in acc.items()}


def session_step(state, dev, ts, v, w, gap):
    """Session oracle (SQL.md), one event: returns False, changing nothing, when the event
    would be ambiguous (its interval overlaps a session that ended by the watermark, or
    itself ends by it: whether that session fired first depends on marker timing), else
    merges it into the device's sessions and returns True."""
    ss = state.setdefault(dev, [])
    over = [x for x in ss if x[0] < ts + gap and ts < x[1]]
    if w is not None and (ts + gap <= w or any(x[1] <= w for x in over)):
        return False
    for x in over:
        ss.remove(x)
    ss.append([min([ts] + [x[0] for x in over]), max([ts + gap] + [x[1] for x in over]),
               1 + sum(x[2] for x in over), v + sum(x[3] for x in over)])
    return True


def make_keyed_stream(n, devs, t0, step, seed):
    """n events keyed by device, event time increasing: no event is ever late, whatever
    order partitions are read in (each partition is in order and W is a minimum)."""
    rnd = random.Random(seed)
    out = []
    t = t0
    for i in range(n):
        t += step
        dev = "d%02d" % rnd.randrange(devs)
        out.append((dev, t, rnd.randrange(-50, 1000)))
    return out


def as_lines(events):
    return [(dev, json.dumps({"dev": dev, "ts": ts, "v": v})) for dev, ts, v in events]


def sentinels(mock, topic, nparts, ts):
    """One event per partition far ahead: every window of the data fires."""
    for p in range(nparts):
        kcat_produce(mock, topic, [("zz", json.dumps({"dev": "zz", "ts": ts, "v": 0}))],
                     partition=p)


def tumble_sql(name, boot, topic, rurl, prefix, size="5", extra="", lateness="",
               group=None, delay="1", idle="1h", where="dev <> 'zz'"):
    return """
CREATE SOURCE ev (dev TEXT, ts TIMESTAMP, v BIGINT,
                  WATERMARK FOR ts AS ts - INTERVAL '%s' SECOND)
WITH (connector = 'kafka', brokers = '%s', topic = '%s', group_id = '%s',
      idle_timeout = '%s', properties.session.timeout.ms = '6000',
      properties.max.poll.interval.ms = '6000' %s);
CREATE SINK w WITH (connector = 'redis', url = '%s', type = 'hash',
                    key = '%s:{dev}:{window_start}') AS
SELECT dev, window_start, COUNT(*) AS n, SUM(v) AS s, MIN(v) AS mn, MAX(v) AS mx
FROM TUMBLE(ev, ts, INTERVAL '%s' SECOND) WHERE %s GROUP BY dev %s;
""" % (delay, boot, topic, group or ("g-" + name), idle, extra, rurl, prefix, size, where,
       lateness)


def compare(got, want, what):
    if got == want:
        return True
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    wrong = [k for k in want if k in got and got[k] != want[k]]
    check(False, "%s: %d missing %s, %d extra %s, %d wrong %s" % (
        what, len(missing), missing[:3], len(extra), extra[:3], len(wrong),
        [(k, got[k], want[k]) for k in wrong[:3]]))
    return False


def wait_equal(redis, pattern, want, what, timeout=120):
    last = {}

    def eq():
        nonlocal last
        last = redis.hashes(pattern)
        return last == want
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if eq():
            return True
        time.sleep(0.2)  # polling interval
    return compare(last, want, what)


# ---------------------------------------------------------------- basic
def case_basic(mock, redis):
    mock.topic("basic", 4)
    evs = make_keyed_stream(400, 8, T0, 250, seed=1)
    kcat_produce(mock, "basic", as_lines(evs))
    sentinels(mock, "basic", 4, T0 + 7_200_000)
    out = os.path.join(work, "basic-events.jsonl")
    sql = tumble_sql("basic", mock.boot, "basic", redis.url(), "b", size="10") + """
CREATE SINK pe WITH (connector = 'file', path = '%s') AS
SELECT _key AS k, _partition AS p, _offset AS o, _topic AS t, dev, v FROM ev WHERE dev = 'd03';
""" % out
    s = Sluice("basic", sql).start()
    acc, _ = tumble_oracle(evs, 10_000)
    wait_equal(redis, "b:*", expect_tumble(acc, "b"), "basic: TUMBLE rows in Redis")
    truth = [(p, o, k, json.loads(v)) for p, o, k, v in kcat_read(mock, "basic")
             if k == "d03"]

    def rows():
        if not os.path.exists(out):
            return []
        with open(out) as f:
            return [json.loads(x) for x in f if x.strip()]
    wait_for(lambda: len(rows()) >= len(truth), "basic: per-event rows")
    got = sorted((r["p"], r["o"], r["k"], r["t"], r["v"]) for r in rows())
    want = sorted((p, o, k, "basic", v["v"]) for p, o, k, v in truth)
    check(got == want, "basic: _partition/_offset/_key/_topic differ from kcat's view: %s vs %s"
          % (got[:3], want[:3]))
    check(wait_for(lambda: s.metric("sluice_kafka_lag_messages", source="ev") == 0 and
                   s.metric("sluice_kafka_messages_total", source="ev") == 404,
                   "basic: lag 0, 404 messages"), "basic: lag/messages metrics")
    check(s.ready(), "basic: /readyz 200")
    check(s.metric("sluice_kafka_commits_total", source="ev") >= 1, "basic: offsets committed")
    # A second replica joins; SIGTERM on the first: it leaves the group (LeaveGroup, seen in
    # librdkafka's cgrp debug lines) and the other one takes every partition.
    sql2 = sql.replace("'6000'", "'20000'").replace("g-basic", "g-basic2")
    a = Sluice("basic-a", sql2.replace("idle_timeout", "properties.debug = 'cgrp', idle_timeout"),
               args=["--log-level", "debug"]).start()
    wait_for(lambda: a.assigned() and a.assigned()[-1] == "4", "basic: replica a assigned 4")
    b = Sluice("basic-b", sql2).start()
    wait_for(lambda: b.assigned() and a.assigned()[-1] != "4", "basic: a and b share",
             timeout=90)
    check(a.stop() == 0, "basic: SIGTERM exits 0")
    check(re.search(r"LeaveGroup response received|Group .*: leave", a.log()) is not None,
          "basic: the stopped replica left the group")
    wait_for(lambda: b.assigned() and b.assigned()[-1] == "4", "basic: b gets all 4",
             timeout=90)
    check(b.stop() == 0 and s.stop() == 0, "basic: SIGTERM exits 0")
    check(" error " not in s.log(), "basic: no error lines")


# ---------------------------------------------------------------- props
def case_props(mock, redis):
    mock.topic("props", 2)

    def run_check(extra):
        sql = tumble_sql("props", mock.boot, "props", redis.url(), "p", extra=extra)
        q = os.path.join(work, "props.sql")
        with open(q, "w") as f:
            f.write(sql)
        return subprocess.run([sluice, "check", q], capture_output=True, timeout=60)
    r = run_check(", properties.fetch.wait.max.ms = '50'")
    check(r.returncode == 0, "props: a valid property is accepted: %s" % r.stderr.decode())
    r = run_check(", properties.no.such.setting = '1'")
    check(r.returncode == 1 and b"no.such.setting" in r.stderr,
          "props: an unknown property is a load error: %s" % r.stderr.decode())
    r = run_check(", properties.enable.auto.commit = 'true'")
    check(r.returncode == 1 and b"set by Sluice" in r.stderr,
          "props: enable.auto.commit is refused: %s" % r.stderr.decode())
    # TLS against a plaintext broker: loud failure, no downgrade.
    s = Sluice("props-ssl", tumble_sql("props", mock.boot, "props", redis.url(), "p",
                                        extra=", properties.security.protocol = 'ssl'"))
    p = subprocess.run([sluice, "run", "--http", "off", s.q], capture_output=True, timeout=90)
    err = p.stderr.decode()
    check(p.returncode != 0, "props: ssl against plaintext must fail, exit %d" % p.returncode)
    check(re.search(r"SSL|TLS|handshake", err) is not None and "assigned" not in err,
          "props: the TLS failure is logged: %s" % err[-600:])
    # A topic that does not exist.
    q = os.path.join(work, "props-missing.sql")
    with open(q, "w") as f:
        f.write(tumble_sql("props", mock.boot, "nosuchtopic", redis.url(), "p"))
    p = subprocess.run([sluice, "run", "--http", "off", q], capture_output=True, timeout=90)
    check(p.returncode != 0 and b"nosuchtopic" in p.stderr,
          "props: a missing topic fails and is named: %s" % p.stderr.decode()[-400:])


# ---------------------------------------------------------------- faults
def case_faults(mock, redis):
    mock.topic("faults", 4)
    evs = make_keyed_stream(300, 6, T0, 300, seed=2)
    kcat_produce(mock, "faults", as_lines(evs[:150]))
    s = Sluice("faults", tumble_sql("faults", mock.boot, "faults", redis.url(), "f")).start()
    wait_for(lambda: s.metric("sluice_source_events_total", source="ev") == 150,
             "faults: first half read")
    wait_for(s.ready, "faults: ready")
    for b in (1, 2, 3):
        mock.cmd("down %d" % b)
    st = wait_for(lambda: not s.ready(), "faults: /readyz 503 with every broker down",
                  timeout=60)
    check(st is not None, "faults: not ready while brokers are down")
    code, body = s.get("/readyz")
    check(code == 503 and "ev" in body, "faults: /readyz says why: %d %s" % (code, body))
    check(re.search(r"error\s+kafka: .*(brokers|down|Connection refused|transport)",
                    s.log(), re.I) is not None, "faults: an error line names the problem")
    for b in (1, 2, 3):
        mock.cmd("up %d" % b)
    wait_for(s.ready, "faults: ready again after the brokers are back", timeout=60)
    kcat_produce(mock, "faults", as_lines(evs[150:]))
    wait_for(lambda: s.metric("sluice_source_events_total", source="ev") == 300,
             "faults: second half read after recovery", timeout=60)
    # Fetch refused for a while: error line, recovery, nothing lost.
    n0 = s.metric("sluice_kafka_errors_total", source="ev")
    mock.cmd("err 1 6 29")  # Fetch: TOPIC_AUTHORIZATION_FAILED x6
    more = make_keyed_stream(50, 6, T0 + 300 * 300, 300, seed=3)
    kcat_produce(mock, "faults", as_lines(more))
    wait_for(lambda: s.metric("sluice_source_events_total", source="ev") == 350,
             "faults: read after the authorization errors", timeout=60)
    check(s.metric("sluice_kafka_errors_total", source="ev") > n0 or
          "AUTHORIZATION" in s.log(), "faults: the authorization failure was seen")
    sentinels(mock, "faults", 4, T0 + 7_200_000)
    acc, _ = tumble_oracle(evs + more, 5000)
    wait_equal(redis, "f:*", expect_tumble(acc, "f"), "faults: exact after the faults")
    check(s.stop() == 0, "faults: SIGTERM exits 0")


# ---------------------------------------------------------------- kill
def kill_run(mock, redis, name, replicas, chunks=10, per_chunk=300, threads=None):
    topic = name
    mock.topic(topic, 4)
    evs = make_keyed_stream(chunks * per_chunk, 16, T0, 97, seed=len(name))
    rnd = random.Random(7 + replicas)
    sql = tumble_sql(name, mock.boot, topic, redis.url(), name[0],
                     extra="" if threads is None else ", consumer_threads = '%d'" % threads)
    reps = [Sluice("%s-%d" % (name, i), sql).start() for i in range(replicas)]
    kills = 0
    for c in range(chunks):
        for r in reps:
            wait_for(r.assigned, "%s: %s joined its group" % (name, r.dir), timeout=90)
        victim = reps[c % replicas]
        seen = victim.metric("sluice_source_events_total", source="ev")
        kcat_produce(mock, topic, as_lines(evs[c * per_chunk:(c + 1) * per_chunk]))
        # The kill lands at a random point: after part of the chunk, then a random moment
        # (before or after the next commits).
        want = seen + rnd.randrange(per_chunk // (2 * replicas))
        wait_for(lambda: victim.metric("sluice_source_events_total", source="ev") >= want,
                 "%s: chunk %d reached" % (name, c), timeout=90)
        time.sleep(rnd.uniform(0, 1.5))
        victim.kill9()
        kills += 1
        victim.start()
    sentinels(mock, topic, 4, T0 + 7_200_000)
    acc, _ = tumble_oracle(evs, 5000)
    ok = wait_equal(redis, name[0] + ":*", expect_tumble(acc, name[0]),
                    "%s: Redis equals the oracle after %d kills" % (name, kills), timeout=180)
    resumed = sum(int(n) for r in reps
                  for n in re.findall(r"\((\d+) resumed from a commit record\)", r.log()))
    check(resumed > 0, "%s: restarts resumed from commit records" % name)
    for r in reps:
        check(r.stop() == 0, "%s: SIGTERM exits 0" % name)
        check("wrong consumer thread" not in r.log(), "%s: no misrouted message" % name)
        if threads is not None:
            check("%d consumer thread(s)" % threads in r.log(),
                  "%s: %d consumer threads started" % (name, threads))
    print("%s: %d events, %d windows, %d kills, %d partition resumes: %s" % (
        name, len(evs), len(acc), kills, resumed, "exact" if ok else "DIFFERENT"), flush=True)


def case_kill(mock, redis):
    kill_run(mock, redis, "kill", 1)


def case_kill20(mock, redis):
    kill_run(mock, redis, "kill20", 1, chunks=20, per_chunk=150)


def case_replicas(mock, redis):
    kill_run(mock, redis, "replicas", 2)


def case_kill1(mock, redis):
    """The kill test with one consumer thread (the others run the default, two), reading
    every partition through librdkafka's consumer queue."""
    kill_run(mock, redis, "onethread", 1, threads=1)  # keys o:*


def case_treplicas(mock, redis):
    """Two replicas of three consumer threads each (thread 0 owns partitions 0 and 3, the
    others one each), one killed after every chunk: partitions move between replicas and so
    between threads, with their replay."""
    kill_run(mock, redis, "ureplicas", 2, threads=3)


# ---------------------------------------------------------------- threads
def case_threads(mock, redis):
    """consumer_threads = 3 on 4 partitions: every message once, in partition order (the
    per-event rows carry each message's offset, compared with kcat's view), windows exact;
    a second replica joins and leaves, so partitions are revoked from and assigned to the
    threads while they run; a stuck sink pauses every thread's partitions and nothing is
    lost."""
    mock.topic("threads", 4)
    evs = make_keyed_stream(2000, 16, T0, 50, seed=3)
    kcat_produce(mock, "threads", as_lines(evs))
    out = os.path.join(work, "threads-events.jsonl")
    sql = tumble_sql("threads", mock.boot, "threads", redis.url(), "t", size="10",
                     extra=", consumer_threads = '3'") + """
CREATE SINK pe WITH (connector = 'file', path = '%s') AS
SELECT _partition AS p, _offset AS o, _key AS k, dev, ts, v FROM ev;
""" % out
    s = Sluice("threads", sql).start()

    def rows():
        if not os.path.exists(out):
            return []
        with open(out) as f:
            return [json.loads(x) for x in f if x.strip()]
    truth = kcat_read(mock, "threads")
    wait_for(lambda: len(rows()) >= len(truth), "threads: every message as a per-event row")
    got = rows()
    check(len(got) == len(truth), "threads: %d rows for %d messages" % (len(got), len(truth)))
    check(sorted((r["p"], r["o"], r["k"], r["v"]) for r in got) ==
          sorted((p, o, k, json.loads(v)["v"]) for p, o, k, v in truth),
          "threads: rows equal kcat's view of the topic")
    last = {}
    ordered = True
    for r in got:  # one file, written in the order the source thread handed rows on
        ordered = ordered and r["o"] > last.get(r["p"], -1)
        last[r["p"]] = r["o"]
    check(ordered, "threads: each partition's messages in offset order")
    check("3 consumer thread(s)" in s.log(), "threads: three consumer threads started")
    # A replica with two threads joins and leaves while more events arrive.
    b = Sluice("threads-b", sql.replace(out, out + ".b").replace("threads = '3'", "threads = '2'"))
    b.start()
    wait_for(lambda: b.assigned() and s.assigned()[-1] != "4", "threads: the replicas share",
             timeout=90)
    more = make_keyed_stream(2000, 16, T0 + 2000 * 50, 50, seed=4)
    kcat_produce(mock, "threads", as_lines(more))
    check(b.stop() == 0, "threads: the second replica exits 0")
    wait_for(lambda: s.assigned()[-1] == "4", "threads: the first replica gets all 4 back",
             timeout=90)
    sentinels(mock, "threads", 4, T0 + 7_200_000)
    acc, _ = tumble_oracle(evs + more, 10_000)
    wait_equal(redis, "t:*", expect_tumble(acc, "t"), "threads: TUMBLE rows in Redis")
    for x in (s, b):
        check("wrong consumer thread" not in x.log() and " error " not in x.log(),
              "threads: no error lines (%s)" % x.dir)
    check(s.stop() == 0, "threads: SIGTERM exits 0")

    # Backpressure with two threads (a ring each, 16 MiB): a stuck sink pauses the
    # partitions of every thread, and nothing is lost or read twice. Eight partitions: the
    # mock keeps about 5 MB of each.
    pause_run(mock, redis, "tpause", 8, 100000, 2, lambda i: 100 + i % 300)


# ---------------------------------------------------------------- stop during replay
def case_replay_stop(mock, redis):
    """SIGTERM while a resumed partition has not replayed anything yet (its fetches fail):
    the final commit must keep that partition's record, not record its hi as the replay
    start, or the next run would never replay the open window's events (a bug the threads
    case found: a replica stopped 70 ms after its assignment)."""
    mock.topic("rstop", 1)
    evs = make_keyed_stream(600, 4, T0, 20, seed=5)  # 12 s of events: windows of 1 h
    kcat_produce(mock, "rstop", as_lines(evs))
    sql = tumble_sql("rstop", mock.boot, "rstop", redis.url(), "r", size="3600")
    a = Sluice("rstop", sql, args=["--log-level", "debug"]).start()
    wait_for(lambda: a.metric("sluice_source_events_total", source="ev") == len(evs),
             "replay_stop: first run read everything")
    wait_for(lambda: re.search(r"\[0\] at 0 with sluice:1;done=-?\d*;wm=\d+;hi=600",
                               a.log()), "replay_stop: the open window's record committed")
    check(a.stop() == 0, "replay_stop: first run exits 0")
    # Fetch requests (API key 1) fail with REQUEST_TIMED_OUT for a while: the second run
    # resumes the partition but reads nothing of its replay before it is stopped.
    mock.cmd("err 1 40 7")
    a.start()
    wait_for(lambda: "resumes at 0" in a.log(since_start=True), "replay_stop: resumed")
    check(a.metric("sluice_source_events_total", source="ev") == 0,
          "replay_stop: nothing replayed yet when stopped")
    check(a.stop() == 0, "replay_stop: second run exits 0")
    check(not re.search(r"\[0\] at [1-9]", a.log(since_start=True)),
          "replay_stop: the partition's record was not moved past its replay")
    sentinels(mock, "rstop", 1, T0 + 7_200_000)
    a.start()
    acc, _ = tumble_oracle(evs, 3_600_000)
    wait_equal(redis, "r:*", expect_tumble(acc, "r"), "replay_stop: the window is exact")
    check(a.stop() == 0, "replay_stop: third run exits 0")


# ---------------------------------------------------------------- late
def case_late(mock, redis):
    mock.topic("late", 1)
    rnd = random.Random(11)
    delay, lateness, size, gap = 1000, 3000, 5000, 2000
    evs, sess = [], {}
    t, maxts = T0, None
    while len(evs) < 2000:
        t += rnd.choice([120, 250, 400, 900, 2600])
        w = None if maxts is None else maxts - delay
        v = rnd.randrange(100)
        if rnd.random() < 0.6:
            # TUMBLE devices: out of order by up to 9 s, some late, some corrections.
            dev = "d%d" % rnd.randrange(4)
            ts = t - rnd.choice([0, 0, 0, 0, 1500, 3500, 6000, 9000])
        else:
            # SESSION devices: out of order within the delay; ambiguous events skipped.
            dev = "s%d" % rnd.randrange(3)
            ts = t - rnd.choice([0, 0, 300, 800])
            if not session_step(sess, dev, ts, v, w, gap):
                continue
        evs.append((dev, ts, v))
        maxts = ts if maxts is None else max(maxts, ts)
    want_s = {"s:%s:%d" % (dev, lo): {"dev": dev, "window_start": str(lo), "we": str(hi),
                                      "n": str(n), "s": str(tot)}
              for dev, ss in sess.items() for lo, hi, n, tot in ss}
    acc, late = tumble_oracle(evs, size, delay=delay, lateness=lateness,
                              keep=lambda d: d.startswith("d"))
    check(late > 20, "late: the data has late events (%d)" % late)
    sql = tumble_sql("late", mock.boot, "late", redis.url(), "l", where="dev LIKE 'd%'",
                     lateness="ALLOWED LATENESS INTERVAL '3' SECOND") + """
CREATE SINK ss WITH (connector = 'redis', url = '%s', type = 'hash',
                     key = 's:{dev}:{window_start}') AS
SELECT dev, window_start, window_end AS we, COUNT(*) AS n, SUM(v) AS s
FROM SESSION(ev, ts, INTERVAL '2' SECOND) WHERE dev LIKE 's%%' GROUP BY dev;
""" % redis.url()
    s = Sluice("late", sql).start()
    rk = random.Random(5)
    chunks = 10
    per = len(evs) // chunks
    for c in range(chunks):
        wait_for(s.assigned, "late: joined its group", timeout=90)
        seen = s.metric("sluice_source_events_total", source="ev")
        part = evs[c * per:(c + 1) * per] if c < chunks - 1 else evs[c * per:]
        kcat_produce(mock, "late", as_lines(part))
        want = seen + rk.randrange(per // 2)
        wait_for(lambda: s.metric("sluice_source_events_total", source="ev") >= want,
                 "late: chunk %d reached" % c, timeout=90)
        time.sleep(rk.uniform(0, 1.5))  # a random moment for the kill to land
        s.kill9()
        s.start()
    sentinels(mock, "late", 1, T0 + 7_200_000)
    ok1 = wait_equal(redis, "l:*", expect_tumble(acc, "l"), "late: TUMBLE with lateness exact")
    ok2 = wait_equal(redis, "s:*", want_s, "late: SESSION exact")
    check(s.stop() == 0, "late: SIGTERM exits 0")
    print("late: %d events (%d late), %d windows, %d sessions, 10 kills: %s" % (
        len(evs), late, len(acc), len(want_s), "exact" if ok1 and ok2 else "DIFFERENT"),
        flush=True)


# ---------------------------------------------------------------- idle
def case_idle(mock, redis):
    mock.topic("idle", 4)
    first = make_keyed_stream(200, 6, T0, 200, seed=4)
    kcat_produce(mock, "idle", as_lines(first))
    sql = tumble_sql("idle", mock.boot, "idle", redis.url(), "i", idle="2s")
    s = Sluice("idle", sql).start()
    acc1, _ = tumble_oracle(first, 5000)
    # Every partition idle: the watermark follows the wall clock and fires every window,
    # the last one included, without a later event.
    ok = wait_equal(redis, "i:*", expect_tumble(acc1, "i"),
                    "idle: every window fired by the wall clock", timeout=90)
    s.kill9()
    s.start()
    wait_for(s.assigned, "idle: joined again", timeout=90)
    second = make_keyed_stream(200, 6, T0 + 200 * 200 + 600_000, 200, seed=5)
    kcat_produce(mock, "idle", as_lines(second))
    wait_for(lambda: s.metric("sluice_source_events_total", source="ev") >= 50,
             "idle: part of the second chunk read", timeout=60)
    time.sleep(random.Random(3).uniform(0, 1.5))  # a random moment for the kill to land
    s.kill9()
    s.start()
    sentinels(mock, "idle", 4, T0 + 7_200_000)
    acc, _ = tumble_oracle(first + second, 5000)
    ok = wait_equal(redis, "i:*", expect_tumble(acc, "i"), "idle: exact after the kills") and ok
    check(s.stop() == 0, "idle: SIGTERM exits 0")
    print("idle: %d windows: %s" % (len(acc), "exact" if ok else "DIFFERENT"), flush=True)


# ---------------------------------------------------------------- pause
def pause_run(mock, redis, name, parts, n, threads, pad):
    """n padded events into a topic of parts partitions while Redis refuses writes for 8 s:
    the source must pause its partitions (the rings fill), keep memory bounded, and deliver
    every event exactly once when Redis comes back. Returns (pauses, rss while paused)."""
    mock.topic(name, parts)
    lines = [("k%d" % (i % 64), json.dumps({"dev": "k%d" % (i % 64), "ts": T0 + i, "v": i,
                                            "pad": "x" * pad(i)}))
             for i in range(n)]
    kcat_produce(mock, name, lines)
    sql = """
CREATE SOURCE ev (dev TEXT, ts TIMESTAMP, v BIGINT, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'kafka', brokers = '%s', topic = '%s', group_id = 'g-%s',
      idle_timeout = '1h', consumer_threads = '%d');
CREATE SINK pe WITH (connector = 'redis', url = '%s', type = 'hash', key = '%s:{v}') AS
SELECT v, dev FROM ev;
""" % (mock.boot, name, name, threads, redis.url(), name)
    redis.cli("CLIENT", "PAUSE", "8000", "WRITE")
    s = Sluice(name, sql).start()
    wait_for(lambda: s.metric("sluice_kafka_pauses_total", source="ev") >= 1,
             "%s: partitions paused while the sink is stuck" % name, timeout=60)
    rss = s.metric("process_resident_memory_bytes")
    check(rss == 0 or rss < 600 * 2**20, "%s: memory bounded (%.0f MiB)" % (name, rss / 2**20))
    wait_for(lambda: len(redis.cli("KEYS", name + ":*").split()) >= n,
             "%s: every event delivered after the sink recovers" % name, timeout=180)
    check(s.metric("sluice_source_events_total", source="ev") == n, "%s: each event once" % name)
    pauses = s.metric("sluice_kafka_pauses_total", source="ev")
    check(s.stop() == 0, "%s: SIGTERM exits 0" % name)
    return pauses, rss


def case_pause(mock, redis):
    rnd = random.Random(9)
    n = 60000
    pauses, rss = pause_run(mock, redis, "pause", 4, n, 1, lambda i: rnd.randrange(100, 400))
    print("pause: %d events delivered, %d pauses, rss %.0f MiB while paused" % (
        n, pauses, rss / 2**20), flush=True)


signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # so finally runs
# replicas: run on its own (ctest -L pending) until the engine lets the watermark go back on
# a rebalance.
ALL = ["basic", "props", "faults", "kill", "late", "idle", "pause", "threads", "kill1",
       "replay_stop"]
try:
    mock = Mock()
    redis = Redis("redis")
    for c in sys.argv[4:] or ALL:
        t = time.monotonic()
        globals()["case_" + c](mock, redis)
        print("case %s done (%.0f s)" % (c, time.monotonic() - t), flush=True)
finally:
    kill_all()

if fails:
    print("%d failed" % len(fails))
    sys.exit(1)
print("kafka_source: all passed")
