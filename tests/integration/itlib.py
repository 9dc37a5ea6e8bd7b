"""What the integration tests share: failures collected with check(), free loopback ports,
polling with a deadline, the processes a test started (killed at exit), and real peers
started here: mosquitto with a generated config, mosquitto_pub streams, redis-cli.

No sleeps to wait for things: wait_for polls its condition until a deadline.
"""
import os
import shutil
import socket
import subprocess
import threading
import time

fails = []
procs = []
MOSQ = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def check(cond, what):
    if not cond:
        fails.append(what)
        print("FAIL:", what, flush=True)
    return cond


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_for(cond, what, timeout=30):
    """Polls cond until it returns something true (returned) or timeout seconds pass (a
    failure, None)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)  # polling interval, not a wait for a condition
    check(False, "timed out waiting for " + what)
    return None


def spawn(*args, **kw):
    p = subprocess.Popen(*args, **kw)
    procs.append(p)
    return p


def kill_all():
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def have_mosquitto():
    return os.path.exists(MOSQ) and shutil.which("mosquitto_pub") is not None


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


class Broker:
    """mosquitto on a free loopback port, with the persistence settings that keep QoS 1
    data (docs/operations.md), in work/name. extra: more config lines; tls: (cafile,
    certfile, keyfile)."""

    def __init__(self, work, name, extra="", anonymous=True, tls=None, start=True):
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write("per_listener_settings false\n")
            if os.geteuid() == 0:
                f.write("user root\n")  # else it drops to 'mosquitto' and cannot save
            f.write("listener %d 127.0.0.1\n" % self.port)
            if tls:
                f.write("cafile %s\ncertfile %s\nkeyfile %s\n" % tls)
            f.write("allow_anonymous %s\n" % ("true" if anonymous else "false"))
            f.write("persistence true\npersistence_location %s/\n" % self.dir)
            f.write("autosave_on_changes true\nautosave_interval 1\n")
            f.write("max_queued_messages 1000000\nmax_inflight_messages 100\n")
            f.write(extra)
        self.p = None
        self.tls = tls
        if start:
            self.start()

    def start(self):
        self.p = spawn([MOSQ, "-c", self.conf], stdout=subprocess.DEVNULL,
                       stderr=open(os.path.join(self.dir, "log"), "a"))
        wait_for(lambda: port_open(self.port), "mosquitto on port %d" % self.port)

    def stop(self):
        self.p.terminate()
        self.p.wait(timeout=20)


class Publisher:
    """One mosquitto_pub -l (QoS 1) on one topic: each send() publishes its payloads in
    order."""

    def __init__(self, broker, topic):
        self.p = spawn(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", topic,
                        "-q", "1", "-l", "-i", "pub-" + topic.replace("/", "-")],
                       stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def send(self, payloads):
        self.p.stdin.write(b"".join(p + b"\n" for p in payloads))
        self.p.stdin.flush()

    def close(self):
        self.p.stdin.close()
        return self.p.wait(timeout=60)


class Feeder:
    """Streams lists of payloads through publishers on a thread, `step` of each list every
    `pace` seconds, until done or stopped; `sent` is how far it got."""

    def __init__(self, streams, step, pace=0.02):
        self.streams = streams  # [(publisher, [payload bytes])]
        self.n = max(len(m) for _, m in streams)
        self.step = step
        self.pace = pace
        self.sent = 0
        self.stopping = threading.Event()
        self.th = threading.Thread(target=self._run)

    def _run(self):
        while self.sent < self.n and not self.stopping.is_set():
            k = min(self.n, self.sent + self.step)
            for pub, msgs in self.streams:
                if self.sent < len(msgs):
                    pub.send(msgs[self.sent:k])
            self.sent = k
            self.stopping.wait(self.pace)  # pacing of the stream, not a wait for a condition

    def start(self, from_=0):
        self.sent = from_
        self.th.start()
        return self

    def pause(self, secs):
        """A random moment mid-stream to act at (it waits for nothing)."""
        self.stopping.wait(secs)

    def left(self):
        return self.n - self.sent

    def join(self):
        self.th.join()


def redis_cli(port, *args):
    r = subprocess.run(["redis-cli", "-p", str(port), "--raw", *[str(a) for a in args]],
                       capture_output=True, timeout=20)
    return r.stdout.decode()


def http_get(port, path):
    """(status, body) of GET path on Sluice's --http port; status 0 when unreachable."""
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return 0, str(e)


def metric_sum(text, family, **labels):
    """The sum of a Prometheus family's samples in text that carry every given label."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, v = line.rsplit(" ", 1)
        if name.split("{")[0] == family and all('%s="%s"' % kv in name
                                                 for kv in labels.items()):
            total += float(v)
    return total
