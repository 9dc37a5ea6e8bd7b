#!/usr/bin/env python3
"""Secrets stay secret (issue 12): a canary planted in every credential - the MQTT password
(${file:...}), the Redis password in its URL (${VAR}), Kafka's properties.sasl.password
(${file:...}) and properties.ssl.key.password (${VAR}; librdkafka refuses
Java's sasl.jaas.config at load), and the AWS keys of the environment -
never appears in logs, /metrics, /readyz, `sluice check` output, dead-letter files or error
messages, whether the run goes well or the peers refuse the credentials.

Cases:
  check      `sluice check` of a file using every credential: the plan prints, no canary;
  check-bad  load errors next to and inside a secret: an unknown option in the WITH that
             holds the password, a Redis URL from ${VAR} whose port is wrong (the message
             must not echo its password), a secret file that is missing;
  run        `sluice run` against a mosquitto that refuses the user and a redis-server that
             refuses the password, with a dead-letter file: logs, /metrics, /readyz and the
             dead letters are searched after the refusals were logged.
Every wait polls its condition with a deadline.

usage: hostile_secrets.py SLUICE_BINARY WORKDIR
"""
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

sluice, work = sys.argv[1], os.path.abspath(sys.argv[2])
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
MOSQ = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
have_peers = shutil.which("redis-server") is not None and os.path.exists(MOSQ)

CANARIES = {
    "mqtt": "c4n4ry-MQTT-pw-7d1e",
    "redis": "c4n4ry-REDIS-pw-90ab",
    "kafka": "c4n4ry-KAFKA-pw-5c3f",
    "jaas": "c4n4ry-JAAS-cfg-e812",
    "aws_secret": "c4n4ryAWSsecretKEYx0123456789abcdef",
    "aws_token": "c4n4ryAWSsessionTOKENzz99",
}
fails = []
procs = []


def check(cond, what):
    if not cond:
        fails.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def leaks(text, where):
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    for name, c in CANARIES.items():
        # also a prefix long enough to be the secret cut by a message's width
        check(c not in text and c[:12] not in text,
              "%s: the %s secret appears: ...%s..." % (
                  where, name, text[max(0, text.find(c[:12]) - 80):text.find(c[:12]) + 60]))


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


secrets = os.path.join(work, "secrets")
os.makedirs(secrets)
for name in ("mqtt", "kafka"):
    with open(os.path.join(secrets, name), "w") as f:
        f.write(CANARIES[name] + "\n")
env = dict(os.environ)
env.update({"REDIS_PW": CANARIES["redis"],
            "KAFKA_KEY_PW": CANARIES["jaas"],
            "AWS_ACCESS_KEY_ID": "AKIAC4N4RY0000000000",
            "AWS_SECRET_ACCESS_KEY": CANARIES["aws_secret"],
            "AWS_SESSION_TOKEN": CANARIES["aws_token"],
            "AWS_REGION": "eu-west-1",
            "BAD_REDIS_URL": "redis://:%s@127.0.0.1:99999/0" % CANARIES["redis"]})

mport, rport = free_port(), free_port()
inp = os.path.join(work, "in.jsonl")
dead = os.path.join(work, "dead.jsonl")
now = int(time.time() * 1000)
with open(inp, "w") as f:
    f.write('{"device":"a","temp":1,"ts":%d}\n{oops\n{"device":"b","temp":"hot","ts":%d}\n' %
            (now, now))


def query(extra_mqtt="", redis_url="redis://:${REDIS_PW}@127.0.0.1:%d/0" % rport,
          mqtt_pw="${file:%s/mqtt}" % secrets):
    return f"""
CREATE SOURCE m (device TEXT, temp DOUBLE)
WITH (connector = 'mqtt', url = 'mqtt://127.0.0.1:{mport}', topic = 't/#', username = 'sluice',
      password = '{mqtt_pw}'{extra_mqtt});
CREATE SOURCE ev (device TEXT, temp DOUBLE, ts TIMESTAMP)
WITH (connector = 'file', path = '{inp}', follow = 'true', dead_letter = '{dead}');
CREATE SINK r WITH (connector = 'redis', url = '{redis_url}', type = 'hash',
    key = 'k:{{device}}') AS SELECT device, temp FROM ev;
CREATE SINK r2 WITH (connector = 'redis', url = '{redis_url}') AS SELECT device, temp FROM m;
"""


cloud = f"""
CREATE SOURCE k (device TEXT, temp DOUBLE)
WITH (connector = 'kafka', brokers = '127.0.0.1:1', topic = 'x',
      properties.security.protocol = 'SASL_PLAINTEXT', properties.sasl.mechanism = 'PLAIN',
      properties.sasl.username = 'u', properties.sasl.password = '${{file:{secrets}/kafka}}',
      properties.ssl.key.password = '${{KAFKA_KEY_PW}}');
CREATE SINK l WITH (connector = 'lambda', function = 'notify', region = 'eu-west-1',
    endpoint = 'http://127.0.0.1:1', dead_letter = '{work}/lambda_dead.jsonl') AS
SELECT device, MAX(temp) AS mx FROM TUMBLE(k, _arrival, INTERVAL '10' SECOND) GROUP BY device;
"""


def run_check(name, text, expect_ok):
    q = os.path.join(work, name + ".sql")
    with open(q, "w") as f:
        f.write(text)
    r = subprocess.run([sluice, "check", q], capture_output=True, env=env, timeout=60)
    out = r.stdout + r.stderr
    leaks(out, "sluice check (%s)" % name)
    check((r.returncode == 0) == expect_ok, "sluice check (%s): exit %d\n%s" %
          (name, r.returncode, out.decode(errors="replace")[-2000:]))
    return out.decode(errors="replace")


# ---- check ----
out = run_check("all", query() + cloud, True)
check("password" in out or "mqtt" in out, "sluice check printed no plan:\n" + out[-1000:])
# ---- check-bad ----
out = run_check("unknown_option", query(extra_mqtt=", pasword = 'x'"), False)
check("pasword" in out, "the unknown option is not named:\n" + out[-1000:])
out = run_check("bad_url", query(redis_url="${BAD_REDIS_URL}"), False)
check("port" in out.lower() or "url" in out.lower(), "the bad URL is not reported:\n" + out)
out = run_check("missing_file", query(mqtt_pw="${file:%s/nope}" % secrets), False)
check("nope" in out, "the missing secret file is not named:\n" + out)

# ---- run ----
if have_peers:
    mdir = os.path.join(work, "mosq")
    os.makedirs(mdir)
    with open(os.path.join(mdir, "passwd"), "w") as f:
        pass  # nobody may log in
    with open(os.path.join(mdir, "mosquitto.conf"), "w") as f:
        if os.geteuid() == 0:
            f.write("user root\n")
        f.write("listener %d 127.0.0.1\nallow_anonymous false\npassword_file %s/passwd\n" %
                (mport, mdir))
    mlog = open(os.path.join(mdir, "log"), "w")
    procs.append(subprocess.Popen([MOSQ, "-c", os.path.join(mdir, "mosquitto.conf")],
                                  stdout=subprocess.DEVNULL, stderr=mlog))
    procs.append(subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1",
                                   "--save", "", "--requirepass", "another-password"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    q = os.path.join(work, "run.sql")
    with open(q, "w") as f:
        f.write(query())
    errf = open(os.path.join(work, "run.stderr"), "w+b")
    p = subprocess.Popen([sluice, "run", "--http", "127.0.0.1:0", "--log-level", "debug",
                          "--shutdown-timeout", "2s", q], stdout=subprocess.DEVNULL,
                         stderr=errf, env=env)
    procs.append(p)

    def log():
        errf.flush()
        return open(errf.name, "rb").read().decode(errors="replace")

    port = wait_for(lambda: (re.search(r"http://127\.0\.0\.1:(\d+)", log()) or [None, None])[1],
                    20, "sluice's http port")

    def get(path):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%s%s" % (port, path), timeout=5) as r:
                return r.read().decode()
        except urllib.error.HTTPError as e:
            return e.read().decode()
        except OSError as e:
            return str(e)

    # both refusals logged, and the two bad lines dead-lettered
    wait_for(lambda: re.search(r"mqtt.*(not authori|refused|denied)", log(), re.I) and
             re.search(r"redis.*(WRONGPASS|invalid|AUTH|password)", log(), re.I) and
             os.path.exists(dead) and len(open(dead).read().splitlines()) == 2,
             30, "the refusals in the log and two dead letters")
    leaks(get("/metrics"), "/metrics")
    leaks(get("/readyz"), "/readyz")
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
    leaks(log(), "sluice run's log")
    leaks(open(dead, "rb").read() if os.path.exists(dead) else b"", "the dead-letter file")
    leaks(open(os.path.join(mdir, "log"), "rb").read(), "mosquitto's log (what Sluice sent)")
else:
    print("redis-server or mosquitto not installed: the run case is skipped")

for pr in procs:
    if pr.poll() is None:
        pr.kill()
if fails:
    print("\n".join(fails))
    print("hostile_secrets: %d failed" % len(fails))
    sys.exit(1)
print("hostile_secrets: %d canaries absent from check output, load errors%s" %
      (len(CANARIES), ", logs, /metrics, /readyz and dead letters" if have_peers else ""))
