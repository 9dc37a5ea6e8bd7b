#!/usr/bin/env python3
"""The mqtt source through `sluice run` against a real mosquitto started here, on a free
loopback port with a generated config.

Cases:
  plain    two topic filters (two partitions), SPLIT_PART(_topic, '/', 2) as the device id,
           malformed payloads (not JSON, not an object, invalid UTF-8, oversized) rejected and
           counted on /metrics, a retained message ignored, exact TUMBLE rows against an
           oracle computed here; then a broker restart: Sluice is paused (SIGSTOP) while QoS 1
           messages are published, so the broker queues them for its persistent session;
           the broker is stopped and restarted, Sluice resumed: the queued messages and those
           published after the restart are all counted. SIGTERM: exit 0.
  auth     password_file made with mosquitto_passwd; the password comes from ${ENV}; a wrong
           password keeps /readyz at 503.
  tls      CA and server certificate made with openssl (SAN IP:127.0.0.1, DNS:localhost):
           mqtts:// with tls_ca connects; a wrong CA and a certificate for another host name
           are refused with a log line and /readyz 503.
  v311     protocol 3.1.1: a retained message (Retain flag set) is dropped and counted.
  shared   two replicas with one shared_group split a stream: each message exactly once.

No sleeps to wait for things: every wait polls its condition with a deadline.

usage: mqtt_source.py SLUICE_BINARY WORKDIR
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import itlib  # noqa: E402
from itlib import (check, fails, free_port, have_mosquitto, http_get,  # noqa: E402,F401
                   metric_sum, procs, wait_for)

sluice, work = sys.argv[1], sys.argv[2]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
if not have_mosquitto():
    print("mosquitto or mosquitto_pub not installed (deploy/install-deps.sh): skipped")
    sys.exit(77)


def Broker(name, extra="", anonymous=True, tls=None):
    return itlib.Broker(work, name, extra, anonymous, tls, start=False)


def pub(broker, topic, payloads, qos=1, retain=False, extra=()):
    """Publishes each payload (bytes) as one message, in order, from one connection."""
    data = b"\n".join(payloads) + b"\n"
    assert all(b"\n" not in p for p in payloads)
    cmd = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", topic, "-q",
           str(qos), "-l"] + list(extra)
    if retain:
        cmd.append("-r")
    r = subprocess.run(cmd, input=data, capture_output=True, timeout=60)
    check(r.returncode == 0, "mosquitto_pub failed: %s" % r.stderr.decode())


class Sluice:
    def __init__(self, name, source_with, sink_sql=None, env=None):
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.out = os.path.join(self.dir, "out.jsonl")
        q = os.path.join(self.dir, "q.sql")
        with open(q, "w") as f:
            f.write("""
CREATE SOURCE ev (temp DOUBLE, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'mqtt', idle_timeout = '1s', %s);
CREATE SINK w WITH (connector = 'file', path = '%s') AS
SELECT SPLIT_PART(_topic, '/', 2) AS device, _partition AS part, window_start,
       COUNT(*) AS n, SUM(temp) AS s
FROM TUMBLE(ev, ts, INTERVAL '10' SECOND)
GROUP BY SPLIT_PART(_topic, '/', 2), _partition;
""" % (source_with, self.out))
        self.errlog = open(os.path.join(self.dir, "stderr"), "w+")
        e = dict(os.environ)
        e.update(env or {})
        self.p = subprocess.Popen([sluice, "run", "--http", "127.0.0.1:0", q],
                                  stdout=subprocess.DEVNULL, stderr=self.errlog, env=e)
        procs.append(self.p)

        def port():
            m = re.search(r"http://127\.0\.0\.1:(\d+)", self.log())
            return int(m.group(1)) if m else None
        self.port = wait_for(port, "sluice's http port")

    def log(self):
        self.errlog.flush()
        with open(self.errlog.name) as f:
            return f.read()

    def get(self, path):
        return http_get(self.port, path)

    def metric(self, family, **labels):
        return metric_sum(self.get("/metrics")[1], family, **labels)

    def rows(self):
        if not os.path.exists(self.out):
            return []
        with open(self.out) as f:
            return [json.loads(l) for l in f if l.strip()]

    def ready(self):
        return self.get("/readyz")[0] == 200

    def stop(self):
        self.p.send_signal(signal.SIGCONT)
        self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return "timeout"


def oracle(events):
    """(device, partition, window_start) -> [count, sum], from the events as published."""
    acc = {}
    for dev, part, ts, temp in events:
        k = (dev, part, ts - ts % 10_000)
        a = acc.setdefault(k, [0, 0.0])
        a[0] += 1
        a[1] += temp
    return acc


def rows_map(rows):
    got = {}
    for r in rows:
        k = (r["device"], r["part"], r["window_start"])
        check(k not in got, "window %s emitted twice" % (k,))
        got[k] = [r["n"], r["s"]]
    return got


class Timeline:
    """Batches of events (one topic each) on one clock that only moves forward, so that
    whatever order the partitions arrive in, no event is late (SQL.md: an idle partition
    does not hold the watermark back)."""

    def __init__(self, t0):
        self.t = t0

    def batch(self, dev, topic, part, n, seed):
        evs, msgs = [], []
        for i in range(n):
            self.t += 1500 if i > 0 else 700
            temp = float((i * 7 + len(dev) * 3 + seed) % 40) + 0.5
            evs.append((dev, part, self.t, temp))
            msgs.append(json.dumps({"temp": temp, "ts": self.t}).encode())
        return evs, topic, msgs


# ---------------------------------------------------------------- plain
def case_plain():
    b = Broker("plain")
    b.start()
    now = int(time.time() * 1000)
    base = now - now % 10_000 - 240_000  # phase 1; phase 2 at +80 s, phase 3 at +160 s
    # A retained message published before Sluice subscribes: ignored by default.
    pub(b, "sensors/r1/temp", [json.dumps({"temp": 99.0, "ts": base + 1}).encode()],
        retain=True)
    s = Sluice("plain", "url = 'mqtt://127.0.0.1:%d', topic = 'sensors/+/temp, alerts/#', "
                        "client_id = 'sluice-it-plain', max_message_bytes = '256'" % b.port)
    wait_for(s.ready, "/readyz 200 once connected")
    wait_for(lambda: s.metric("sluice_mqtt_connected", source="ev") == 1, "connected gauge")
    # Wait for the subscription: the retained message arriving (and being dropped) proves it.
    wait_for(lambda: s.metric("sluice_mqtt_retained_ignored_total", source="ev") >= 1 or
             "connected" in s.log(), "subscription")

    tl = Timeline(base)
    phase1 = [tl.batch("d1", "sensors/d1/temp", 0, 12, 1), tl.batch("x9", "alerts/x9/fire", 1, 9, 2),
              tl.batch("d2", "sensors/d2/temp", 0, 12, 3)]
    bad = [b"{oops", b"[1, 2]", b'{"temp": 1, "ts": 5, "s": "\xff\xfe"}',
           b'{"temp": 1.0, "ts": %d, "pad": "%s"}' % (base, b"x" * 400)]
    for _, topic, msgs in phase1:
        pub(b, topic, msgs)
    pub(b, "sensors/d1/temp", bad)
    events = [e for evs, _, _ in phase1 for e in evs]
    nmsg = len(events) + len(bad)
    wait_for(lambda: s.metric("sluice_source_events_total", source="ev") >= nmsg,
             "%d messages counted" % nmsg)

    # Broker restart with messages queued for the persistent session: Sluice is paused, so
    # the broker queues what is published; it is stopped (and saves them) before Sluice
    # resumes. The messages the broker had already written to Sluice's socket are processed,
    # but their PUBACKs never arrive, so the broker sends them again after the restart: at
    # least once, duplicates allowed (recognising them is the write-ahead log's job).
    tl.t += 60_000
    s.p.send_signal(signal.SIGSTOP)
    phase2 = [tl.batch("d1", "sensors/d1/temp", 0, 10, 4), tl.batch("d3", "sensors/d3/temp", 0, 10, 5)]
    for _, topic, msgs in phase2:
        pub(b, topic, msgs)
    b.stop()
    s.p.send_signal(signal.SIGCONT)
    wait_for(lambda: not s.ready(), "/readyz 503 while the broker is down")
    b.start()
    wait_for(s.ready, "/readyz 200 after the broker restarted")
    tl.t += 60_000
    phase3 = [tl.batch("x9", "alerts/x9/fire", 1, 5, 6), tl.batch("d2", "sensors/d2/temp", 0, 8, 7)]
    for _, topic, msgs in phase3:
        pub(b, topic, msgs)
    events2 = [e for evs, _, _ in phase2 for e in evs]
    events3 = [e for evs, _, _ in phase3 for e in evs]
    nmsg += len(events2) + len(events3)

    want1, want2, want3 = oracle(events), oracle(events2), oracle(events3)
    nwin = len(want1) + len(want2) + len(want3)
    wait_for(lambda: s.metric("sluice_source_events_total", source="ev") >= nmsg and
             len(s.rows()) >= nwin, "every message counted and every window fired", 40)
    got = rows_map(s.rows())
    exact = dict(want1)
    exact.update(want3)
    check({k: v for k, v in got.items() if k in exact} == exact,
          "plain: window rows differ from the oracle:\n got  %s\n want %s" %
          (sorted(got.items()), sorted(exact.items())))
    check(set(got) == set(exact) | set(want2), "plain: windows %s, expected %s" %
          (sorted(got), sorted(set(exact) | set(want2))))
    dups = 0
    for k, (n, _) in want2.items():
        gn = got.get(k, [0, 0])[0]
        check(gn >= n, "window %s across the restart: %d events, expected at least %d" %
              (k, gn, n))
        dups += gn - n
    total = s.metric("sluice_source_events_total", source="ev")
    check(total == nmsg + dups and dups <= 100,
          "events_total %s, expected %d + %d redelivered" % (total, nmsg, dups))
    for reason in ("not_json", "not_object", "invalid_utf8", "too_large"):
        check(s.metric("sluice_source_rejected_total", source="ev", reason=reason) == 1,
              "rejected{reason=%s} is not 1" % reason)
    # MQTT 5 retain handling 2: the broker does not even send it (the oracle has no 'r1').
    check(not any(r["device"] == "r1" for r in s.rows()), "the retained message was counted")
    check(s.metric("sluice_mqtt_reconnects_total", source="ev") >= 1, "no reconnect counted")
    check("without --state-dir a crash loses the MQTT messages in flight" in s.log(),
          "no warning about --state-dir")
    rc = s.stop()
    check(rc == 0, "plain: exit status after SIGTERM: %s" % rc)
    b.stop()


# ---------------------------------------------------------------- auth
def case_auth():
    d = os.path.join(work, "auth")
    os.makedirs(d, exist_ok=True)
    pw = os.path.join(d, "passwd")
    r = subprocess.run(["mosquitto_passwd", "-c", "-b", pw, "sensor", "s3cret-pw"],
                       capture_output=True)
    check(r.returncode == 0, "mosquitto_passwd: %s" % r.stderr.decode())
    os.chmod(pw, 0o600)
    b = Broker("auth", extra="password_file %s\n" % pw, anonymous=False)
    b.start()
    src = "url = 'mqtt://127.0.0.1:%d', topic = 'a/+', username = 'sensor', " \
          "password = '${MQTT_PW}', client_id = 'sluice-it-auth'" % b.port
    s = Sluice("auth", src, env={"MQTT_PW": "s3cret-pw"})
    check(wait_for(s.ready, "auth: /readyz 200 with the right password"), "auth: not ready")
    check(s.stop() == 0, "auth: exit status")
    bad = Sluice("auth-bad", src.replace("sluice-it-auth", "sluice-it-bad"),
                 env={"MQTT_PW": "wrong"})
    wait_for(lambda: "refused" in bad.log() or "not authorised" in bad.log().lower(),
             "auth: a log line for the wrong password")
    st, body = bad.get("/readyz")
    check(st == 503 and "not connected to 127.0.0.1:%d" % b.port in body,
          "auth: /readyz with a wrong password: %s %s" % (st, body))
    check("wrong" not in bad.log(), "the password appears in the log")
    check(bad.stop() == 0, "auth-bad: exit status")
    b.stop()


# ---------------------------------------------------------------- tls
def openssl(*args):
    r = subprocess.run(["openssl"] + list(args), capture_output=True)
    check(r.returncode == 0, "openssl %s: %s" % (args[0], r.stderr.decode()))


def make_ca(d, name):
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".crt")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
            "-days", "2", "-subj", "/CN=" + name)
    return key, crt


def make_cert(d, name, ca, san):
    key, csr, crt = (os.path.join(d, name + e) for e in (".key", ".csr", ".crt"))
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=%s\n" % san)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj",
            "/CN=" + name)
    openssl("x509", "-req", "-in", csr, "-CA", ca[1], "-CAkey", ca[0], "-CAcreateserial",
            "-out", crt, "-days", "2", "-extfile", ext)
    return key, crt


def case_tls():
    d = os.path.join(work, "pki")
    os.makedirs(d, exist_ok=True)
    ca = make_ca(d, "ca")
    other_ca = make_ca(d, "other-ca")
    good = make_cert(d, "server", ca, "IP:127.0.0.1,DNS:localhost")
    wrong_name = make_cert(d, "elsewhere", ca, "DNS:elsewhere.example")
    b = Broker("tls", tls=(ca[1], good[1], good[0]))
    b.start()
    b2 = Broker("tls-name", tls=(ca[1], wrong_name[1], wrong_name[0]))
    b2.start()
    mk = lambda br, cafile, cid: ("url = 'mqtts://localhost:%d', topic = 't/#', tls_ca = '%s', "
                                  "client_id = '%s'" % (br.port, cafile, cid))
    s = Sluice("tls-ok", mk(b, ca[1], "sluice-it-tls"))
    check(wait_for(s.ready, "tls: /readyz 200 with the right CA"), "tls: not ready")
    now = int(time.time() * 1000)
    pub(b, "t/z", [json.dumps({"temp": 1.0, "ts": now}).encode()],
        extra=("--cafile", ca[1], "-h", "localhost"))
    wait_for(lambda: s.metric("sluice_source_events_total", source="ev") == 1,
             "tls: the message arrived")
    check(s.stop() == 0, "tls: exit status")

    for name, br, cafile in (("tls-wrong-ca", b, other_ca[1]), ("tls-wrong-name", b2, ca[1])):
        x = Sluice(name, mk(br, cafile, "sluice-it-" + name))
        wait_for(lambda: "certificate verify failed" in x.log() or
                 "cannot connect" in x.log(), name + ": a log line")
        st, body = x.get("/readyz")
        check(st == 503 and "not connected" in body, "%s: /readyz %s %s" % (name, st, body))
        check(x.metric("sluice_mqtt_connected", source="ev") == 0, name + ": connected")
        check(x.stop() == 0, name + ": exit status")
    b.stop()
    b2.stop()


# ---------------------------------------------------------------- shared
def case_shared():
    b = Broker("shared")
    b.start()
    src = "url = 'mqtt://127.0.0.1:%d', topic = 's/+', shared_group = 'g', client_id = '%s'"
    r1 = Sluice("shared-1", src % (b.port, "sluice-it-sh1"))
    r2 = Sluice("shared-2", src % (b.port, "sluice-it-sh2"))
    wait_for(lambda: r1.ready() and r2.ready(), "shared: both replicas connected")
    now = int(time.time() * 1000)
    sent = 0

    def both_got():
        return (r1.metric("sluice_source_events_total", source="ev") > 0 and
                r2.metric("sluice_source_events_total", source="ev") > 0)
    deadline = time.monotonic() + 20
    while not both_got() and time.monotonic() < deadline:
        pub(b, "s/a", [json.dumps({"temp": 1.0, "ts": now}).encode()] * 20)
        sent += 20
        wait_for(lambda: r1.metric("sluice_source_events_total", source="ev") +
                 r2.metric("sluice_source_events_total", source="ev") >= sent, "shared: batch")
    check(both_got(), "shared: one replica received nothing")
    total = (r1.metric("sluice_source_events_total", source="ev") +
             r2.metric("sluice_source_events_total", source="ev"))
    check(total == sent, "shared: the replicas received %d messages in all, expected %d "
          "(each exactly once)" % (total, sent))
    check(r1.stop() == 0 and r2.stop() == 0, "shared: exit status")
    b.stop()


# ---------------------------------------------------------------- v311
def case_v311():
    b = Broker("v311")
    b.start()
    now = int(time.time() * 1000)
    pub(b, "r/x", [json.dumps({"temp": 9.0, "ts": now}).encode()], retain=True)
    s = Sluice("v311", "url = 'mqtt://127.0.0.1:%d', topic = 'r/+', protocol = '3.1.1', "
                       "client_id = 'sluice-it-v311'" % b.port)
    # MQTT 3.1.1 has no retain handling: the broker sends the retained message with the Retain
    # flag set, and the source drops it.
    wait_for(lambda: s.metric("sluice_mqtt_retained_ignored_total", source="ev") == 1,
             "v311: the retained message dropped")
    pub(b, "r/x", [json.dumps({"temp": 2.0, "ts": now}).encode()])
    wait_for(lambda: s.metric("sluice_source_events_total", source="ev") == 1,
             "v311: the live message counted")
    check(s.metric("sluice_mqtt_messages_total", source="ev") == 1, "v311: messages_total")
    check(s.stop() == 0, "v311: exit status")
    b.stop()


try:
    cases = sys.argv[3:] or ["plain", "auth", "tls", "shared", "v311"]
    for c in cases:
        globals()["case_" + c]()
        print("case %s done" % c, flush=True)
finally:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGCONT)
            p.kill()
            p.wait()

if fails:
    print("%d failed" % len(fails))
    sys.exit(1)
print("mqtt_source: plain (2 partitions, rejects, restart), auth, tls, shared, v311: all passed")
