"""Helpers the Lambda sink's integration tests share: checks, deadlines, free ports, child
processes that are always stopped, the scripted stub servers, the independent oracle for
`_id`, and a Prometheus text reader. Standard library only."""
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77  # ctest SKIP_RETURN_CODE

fails = []
procs = []


def check(cond, what):
    if not cond:
        fails.append(what)
        print("FAIL:", what, file=sys.stderr, flush=True)
    return cond


def wait_for(cond, secs, what):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    check(False, "timed out waiting for " + what)
    return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def spawn(cmd, **kw):
    p = subprocess.Popen(cmd, start_new_session=True, **kw)
    procs.append(p)
    return p


def stop(p):
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def stop_all():
    for p in procs:
        stop(p)


def start_stub(role, work, name, cfg):
    """Starts stub_server.py ROLE; returns (port, log path)."""
    cfgp = os.path.join(work, name + ".json")
    with open(cfgp, "w") as f:
        json.dump(cfg, f)
    portf = os.path.join(work, name + ".port")
    logp = os.path.join(work, name + ".log")
    spawn([sys.executable, os.path.join(HERE, "stub_server.py"), role, portf, logp, cfgp])
    wait_for(lambda: os.path.exists(portf), 20, f"stub {name} to listen")
    with open(portf) as f:
        return int(f.read()), logp


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    out = []
    with open(path) as f:
        for line in f:
            if line.strip():
                out.append(json.loads(line))
    return out


def row_id(*parts):
    """SQL.md: hex of the first 16 bytes of SHA-256 over the JSON text, without spaces."""
    text = json.dumps(list(parts), separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def scrape(port):
    """Prometheus text -> {(name, frozenset(labels)): value}."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, _, value = line.rpartition(" ")
        if "{" in name_labels:
            name, rest = name_labels.split("{", 1)
            labels = []
            for part in rest.rstrip("}").split('",'):
                if "=" in part:
                    k, v = part.split("=", 1)
                    labels.append((k, v.strip('"')))
            key = (name, frozenset(labels))
        else:
            key = (name_labels, frozenset())
        out[key] = float(value)
    return out


def metric(m, name, **labels):
    """Sum of the series of name whose labels include labels."""
    want = set(labels.items())
    return sum(v for (n, ls), v in m.items() if n == name and want <= set(ls))


def finish():
    stop_all()
    if fails:
        print(f"{len(fails)} checks failed", file=sys.stderr)
        sys.exit(1)
    print("all checks passed")
    sys.exit(0)
