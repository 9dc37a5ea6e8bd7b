#!/usr/bin/env python3
"""The container image, built and run the way users run it (deploy/Dockerfile).

Builds the image with podman (--format docker, so the HEALTHCHECK is kept; the recipe of
../shared/CONTAINERS.md: runc, cgroupfs, host network, a local stand-in for
debian:bookworm-slim made by deploy/local-base-image.sh when it is missing), then checks:

  * the image: user 10001, ENTRYPOINT ["sluice"], CMD ["run", "/etc/sluice/queries"],
    SLUICE_HTTP=0.0.0.0:9090, a HEALTHCHECK running `sluice health`; the runtime stage adds at
    most 40 MB to the base image;
  * a run as user 10001 with --read-only (no tmpfs either), --cap-drop ALL and
    no-new-privileges, the queries mounted read-only at the default path (the image's CMD is
    used unchanged) and SLUICE_HTTP set in the environment (no --http flag): the engine
    becomes ready (/readyz 200 and the image's HEALTHCHECK passes), reads MQTT messages
    published to a mosquitto started here, and writes exactly the rows computed below by
    hand-written arithmetic (an oracle sharing no code with Sluice) into a redis-server started
    here; both peers listen on loopback ports chosen here;
  * `sluice health` reaches the engine through a 0.0.0.0 address; once mosquitto is stopped the
    HEALTHCHECK fails and /readyz says why;
  * SIGTERM (podman stop) ends the engine with exit status 0.

It prints the image size, the time from `podman run` to ready and the idle RSS of the engine
(bench/RESULTS.md records them). No sleeps to wait for things: each wait polls with a deadline.

usage: container_smoke.py SOURCE_DIR WORKDIR
Exit 77 (skipped) when podman, mosquitto or redis-server is not installed.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

src, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
for tool in ("podman", "mosquitto", "mosquitto_pub", "redis-server", "redis-cli"):
    if shutil.which(tool) is None and not os.path.exists("/usr/sbin/" + tool):
        print("%s not installed (deploy/install-deps.sh installs it): skipped" % tool)
        sys.exit(77)
MOSQ = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
PODMAN = ["podman", "--runtime", "/usr/sbin/runc", "--cgroup-manager=cgroupfs"]
HARD_NOFILE = min(20000, int(subprocess.run(["bash", "-c", "ulimit -Hn"], capture_output=True,
                                            text=True).stdout.strip() or 20000))
ULIMITS = ["--ulimit", "nofile=%d:%d" % (HARD_NOFILE, HARD_NOFILE),
           "--ulimit", "nproc=1024:1024"]
IMAGE = "localhost/sluice:ctest-%d" % os.getpid()
BASE = "docker.io/library/debian:bookworm-slim"

fails = []
procs = []
container = None


def check(cond, what):
    print(("ok:   " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        fails.append(what)
    return cond


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_for(cond, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)  # polling interval, not a wait for a condition
    check(False, "timed out waiting for " + what)
    return None


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def podman(*args, **kw):
    return run(PODMAN + list(args), **kw)


def cleanup():
    if container is not None:
        podman("rm", "-f", "-v", container)
    for p in procs:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    podman("rmi", "-f", IMAGE)


def finish():
    cleanup()
    if fails:
        print("%d check(s) failed" % len(fails))
        sys.exit(1)
    print("container smoke test: all checks passed")
    sys.exit(0)


# ---------------------------------------------------------------- the image
r = run(["bash", os.path.join(src, "deploy/local-base-image.sh")])
if not check(r.returncode == 0, "base image %s present or made locally" % BASE):
    print(r.stdout[-3000:], r.stderr[-3000:])
    finish()
t0 = time.monotonic()
# The build stage is tagged so that its layers (the -dev packages) stay cached for the next
# run; the build stage it replaces is removed (label org.sluice.stage=build, dangling).
BUILD = ["build", "--format", "docker", "--pull=never", "--network", "host", *ULIMITS,
         "--ignorefile", os.path.join(src, "deploy/Dockerfile.dockerignore"),
         "-f", os.path.join(src, "deploy/Dockerfile")]
r = podman(*BUILD, "--target", "build", "-t", "localhost/sluice-build:ctest", src)
if r.returncode == 0:
    r = podman(*BUILD, "-t", IMAGE, src)
podman("image", "prune", "-f", "--filter", "label=org.sluice.stage=build")
build_s = time.monotonic() - t0
if not check(r.returncode == 0, "podman build deploy/Dockerfile (%.0f s)" % build_s):
    print(r.stdout[-6000:], r.stderr[-6000:])
    finish()

cfg = json.loads(podman("image", "inspect", IMAGE).stdout)[0]
conf = cfg["Config"]
check(conf.get("User") == "10001:10001", "image runs as user 10001 (%r)" % conf.get("User"))
check(conf.get("Entrypoint") == ["sluice"], "ENTRYPOINT [\"sluice\"]")
check(conf.get("Cmd") == ["run", "/etc/sluice/queries"], "CMD [\"run\", \"/etc/sluice/queries\"]")
check("SLUICE_HTTP=0.0.0.0:9090" in conf.get("Env", []), "SLUICE_HTTP=0.0.0.0:9090 in the image")
hc = (cfg.get("Healthcheck") or conf.get("Healthcheck") or {}).get("Test")
check(hc == ["CMD", "sluice", "health"], "HEALTHCHECK runs `sluice health` (%r)" % hc)
size = cfg["Size"]
base_size = json.loads(podman("image", "inspect", BASE).stdout)[0]["Size"]
added_mb = (size - base_size) / 1e6
print("image: %.1f MB, base %.1f MB, runtime stage adds %.1f MB" %
      (size / 1e6, base_size / 1e6, added_mb))
check(added_mb <= 40, "runtime stage adds at most 40 MB to the base (%.1f MB)" % added_mb)

# ---------------------------------------------------------------- the peers
mq_port, redis_port, http_port = free_port(), free_port(), free_port()
# The broker runs deploy/mosquitto/mosquitto.conf (the compose file's), on a loopback port and
# with its database here; mosquitto started as root drops to its own user, hence the mode.
mq_data = os.path.join(work, "mosquitto-data")
os.makedirs(mq_data)
os.chmod(mq_data, 0o777)
with open(os.path.join(src, "deploy/mosquitto/mosquitto.conf")) as f:
    mq_conf = f.read()
mq_conf, n1 = re.subn(r"^listener 1883$", "listener %d 127.0.0.1" % mq_port, mq_conf, flags=re.M)
mq_conf, n2 = re.subn(r"^persistence_location .*$", "persistence_location %s/" % mq_data, mq_conf,
                      flags=re.M)
check(n1 == 1 and n2 == 1, "deploy/mosquitto/mosquitto.conf has one listener and one location")
with open(os.path.join(work, "mosquitto.conf"), "w") as f:
    f.write(mq_conf)
procs.append(subprocess.Popen([MOSQ, "-c", os.path.join(work, "mosquitto.conf")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
# Redis as the compose file runs it: AOF on.
procs.append(subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
                               "--dir", work],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))


def redis(*args):
    return run(["redis-cli", "-p", str(redis_port), "--raw"] + list(args)).stdout


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


wait_for(lambda: port_open(mq_port), "mosquitto to listen")
wait_for(lambda: redis("PING").strip() == "PONG", "redis-server to answer")

# ---------------------------------------------------------------- the query
# Events a minute in the past (max_future only refuses the future), in 10 s windows aligned to
# the epoch. A 'probe' device, filtered out by the query, proves the subscription is in place
# before the real events go out; its event time is the window's start, so it moves nothing.
now_ms = int(time.time() * 1000)
base = now_ms - now_ms % 10_000 - 60_000
events = [
    ("dev-a", 20.5, base + 1_000), ("dev-b", 30.0, base + 1_500),
    ("dev-a", 21.5, base + 3_000), ("dev-a", 23.0, base + 7_250),
    ("dev-b", 10.25, base + 9_999),
    ("dev-a", 99.0, base + 10_000),   # next window: stays open
    ("dev-c", 1.0, base + 12_000),    # watermark base+11000 >= base+10000: first window fires
]
qdir = os.path.join(work, "queries")
os.makedirs(qdir)
with open(os.path.join(qdir, "smoke.sql"), "w") as f:
    f.write("""
CREATE SOURCE readings (device TEXT, temp DOUBLE, ts TIMESTAMP,
                        WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'mqtt', url = 'mqtt://127.0.0.1:%d', topic = 'plant/+/reading',
      client_id = 'sluice-container-smoke-%d', idle_timeout = '10m');

CREATE SINK per_device WITH (connector = 'redis', url = 'redis://127.0.0.1:%d/0', type = 'hash',
                             key = 'smoke:{device}:{window_start}') AS
SELECT device, window_start, window_end, COUNT(*) AS n, SUM(temp) AS total, MAX(temp) AS hottest,
       AVG(temp) AS mean
FROM TUMBLE(readings, ts, INTERVAL '10' SECOND)
WHERE device <> 'probe'
GROUP BY device;
""" % (mq_port, os.getpid(), redis_port))
os.chmod(qdir, 0o755)
os.chmod(os.path.join(qdir, "smoke.sql"), 0o644)


def js_number(x):
    """A double as JavaScript's Number#toString writes it, for the values used here."""
    if x == int(x) and abs(x) < 1e21:
        return str(int(x))
    return repr(x)


# The oracle: per device, the events of window [base, base+10 s).
expected = {}
for dev, temp, ts in events:
    if base <= ts < base + 10_000:
        e = expected.setdefault(dev, [])
        e.append(temp)
want = {}
for dev, temps in expected.items():
    want["smoke:%s:%d" % (dev, base)] = {
        "device": dev, "window_start": str(base), "window_end": str(base + 10_000),
        "n": str(len(temps)), "total": js_number(sum(temps)), "hottest": js_number(max(temps)),
        "mean": js_number(sum(temps) / len(temps)),
    }

# ---------------------------------------------------------------- the container
t_start = time.monotonic()
r = podman("run", "-d", "--name", "sluice-smoke-%d" % os.getpid(), "--network", "host", *ULIMITS,
           "--read-only", "--read-only-tmpfs=false", "--cap-drop", "ALL",
           "--security-opt", "no-new-privileges", "--user", "10001",
           "-e", "SLUICE_HTTP=127.0.0.1:%d" % http_port, "-e", "SLUICE_WORKERS=2",
           "-v", "%s:/etc/sluice/queries:ro" % qdir, IMAGE)
if not check(r.returncode == 0, "podman run --read-only --cap-drop ALL --user 10001"):
    print(r.stdout, r.stderr)
    finish()
container = r.stdout.strip()


def http_get(path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (http_port, path), timeout=1) as h:
            return h.status, h.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (OSError, ValueError):
        return None, ""


def running():
    st = json.loads(podman("inspect", container).stdout)[0]["State"]
    return st["Running"], st


ready = wait_for(lambda: http_get("/readyz")[0] == 200 or not running()[0], "/readyz 200", 60)
ready_s = time.monotonic() - t_start
if not check(ready and running()[0], "engine in the container is ready (%.2f s)" % ready_s):
    print(podman("logs", container).stderr[-4000:])
    finish()
print("time to ready: %.2f s from podman run" % ready_s)
hcr = podman("healthcheck", "run", container)
check(hcr.returncode == 0, "the image's HEALTHCHECK (`sluice health`) passes: %s"
      % (hcr.stdout + hcr.stderr).strip())
pid = json.loads(podman("inspect", container).stdout)[0]["State"]["Pid"]
with open("/proc/%d/status" % pid) as f:
    st = f.read()
uid = re.search(r"^Uid:\s+(\d+)", st, re.M).group(1)
capeff = re.search(r"^CapEff:\s+(\w+)", st, re.M).group(1)
nnp = re.search(r"^NoNewPrivs:\s+(\d+)", st, re.M).group(1)
check(uid == "10001", "engine process runs as uid 10001 (%s)" % uid)
check(int(capeff, 16) == 0, "engine process has no capabilities (CapEff %s)" % capeff)
check(nnp == "1", "no_new_privs is set")
ro = podman("exec", container, "sh", "-c", "touch /etc/x /tmp/x 2>&1; echo $?")
check(ro.stdout.strip().endswith("1"), "root filesystem is read-only: %s" % ro.stdout.strip())


def mqtt_pub(topic, payload):
    return run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(mq_port), "-q", "1",
                "-t", topic, "-m", payload]).returncode == 0


def metric(name, labels=""):
    code, body = http_get("/metrics")
    m = re.search(r"^%s\{[^}]*%s[^}]*\} (\S+)$" % (re.escape(name), re.escape(labels)), body, re.M)
    return float(m.group(1)) if code == 200 and m else 0.0


def probe_seen():
    mqtt_pub("plant/probe/reading", json.dumps({"device": "probe", "temp": 0, "ts": base}))
    return metric("sluice_mqtt_messages_total", 'source="readings"') >= 1


wait_for(probe_seen, "the MQTT subscription to take a probe message", 30)
for dev, temp, ts in events:
    check(mqtt_pub("plant/%s/reading" % dev, json.dumps({"device": dev, "temp": temp, "ts": ts})),
          "mosquitto_pub %s %s" % (dev, temp))


def redis_hash(key):
    out = redis("HGETALL", key).splitlines()
    return dict(zip(out[0::2], out[1::2]))


def all_rows_there():
    return all(redis_hash(k) == v for k, v in want.items())


wait_for(all_rows_there, "the window's rows in Redis", 30)
for k, v in want.items():
    check(redis_hash(k) == v, "Redis %s = %s (got %s)" % (k, v, redis_hash(k)))
keys = sorted(redis("KEYS", "smoke:*").split())
check(keys == sorted(want), "only the fired window's keys are written: %s" % keys)
code, body = http_get("/metrics")
check(code == 200 and "sluice_query_accepted_total" in body, "/metrics served from the container")
# The image's SLUICE_STATE_DIR: the MQTT write-ahead log lives in the volume, the one place a
# read-only container writes.
wal = podman("exec", container, "sh", "-c", "ls -A /var/lib/sluice/mqtt/readings")
check(wal.returncode == 0 and wal.stdout.strip() != "",
      "the MQTT write-ahead log is in the state volume: %s" % wal.stdout.split())

# Idle RSS: once the rows are out nothing arrives; read the engine's VmRSS from /proc.
with open("/proc/%d/status" % pid) as f:
    rss_kb = int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))
# The rings are allocated and faulted in at start (the MQTT source's 8 MiB, 4 MiB per source
# and shard, 1 MiB per shard for the sink): the 20 MB target is for what is left.
# The whole is bounded too, so that a leak or a bigger default shows here.
rings = 8 + 2 * (4 + 1)
print("idle RSS: %.1f MB (%d MiB of it prefaulted rings)" % (rss_kb / 1024, rings))
check(rss_kb / 1024 - rings <= 20, "idle RSS less the prefaulted rings at most 20 MB (%.1f MB)"
      % (rss_kb / 1024 - rings))

# The image's SLUICE_HTTP is 0.0.0.0:9090, a listening address: `sluice health` must reach the
# engine through it (Linux connects 0.0.0.0 to the local host).
r = podman("exec", "-e", "SLUICE_HTTP=0.0.0.0:%d" % http_port, container, "sluice", "health")
check(r.returncode == 0, "`sluice health` with SLUICE_HTTP=0.0.0.0:PORT reaches the engine")

# The health check can fail: without its broker the engine is not ready, and says why.
procs[0].terminate()
procs[0].wait(timeout=10)
unhealthy = wait_for(lambda: podman("healthcheck", "run", container).returncode != 0,
                     "the HEALTHCHECK to fail once mosquitto is gone", 30)
code, body = http_get("/readyz")
check(unhealthy and code == 503 and "not connected" in body,
      "mosquitto gone: HEALTHCHECK fails, /readyz 503: %s" % body.strip())

# SIGTERM: podman stop sends it; the engine delivers, commits and exits 0.
podman("stop", "-t", "30", container)
code = json.loads(podman("inspect", container).stdout)[0]["State"]["ExitCode"]
logs = podman("logs", container)
check(code == 0, "SIGTERM: exit status 0 (%s)" % code)
if code != 0:
    print(logs.stdout[-2000:], logs.stderr[-4000:])
finish()
