#!/usr/bin/env python3
"""The lambda sink against scripted loopback endpoints (tests/tools/lambda/stub_server.py):
failures that a real emulator cannot produce on demand, SigV4 checked with botocore, and
every credential source of the AWS chain.

Part 1, one run that follows a file (so /metrics can be read while it runs):
  thr   an ARN (colons %3A-encoded in the path), max_in_flight 4, 429 with Retry-After: 1 for
        the first three calls: each throttled batch comes back no earlier than 1 s later;
        never more than 4 calls at once, and more than one at once when batches queue;
  five  two 500s and two 503s, then success: retried with growing backoff, all acknowledged;
  down  always 503, retries 2: dead letter retries_exhausted after 3 attempts;
  big   413 for bodies over 3000 bytes: batches split until they fit, the row that alone is
        too large is dead-lettered as oversize;
  tiny  batch_bytes 1KiB: the 5000-byte row is dead-lettered without being sent.
  Counters reconcile per sink: acked + dead-lettered = rows, and match the stub's log.
Part 2, SigV4: every request of both parts is verified with botocore (sigv4_verify.py), and a
  request whose path lost its %3A encoding is rejected by the same check (it can fail).
Part 3, credentials, one short run each, against loopback servers serving the documented
  JSON/XML: environment (no session token), shared credentials file with AWS_PROFILE, web
  identity through STS (AWS_ENDPOINT_URL_STS), the container endpoint
  (AWS_CONTAINER_CREDENTIALS_FULL_URI + authorization token) with a refresh before expiry,
  EC2 IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT), and none at all (dead letter, exit 0).

usage: lambda_stub.py SLUICE_BINARY WORKDIR
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools",
                                "lambda"))
import lt  # noqa: E402
from lt import check  # noqa: E402

sluice, work = sys.argv[1], os.path.abspath(sys.argv[2])
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
BOTO_PY = "/usr/bin/python3"
has_boto = subprocess.run([BOTO_PY, "-c", "import botocore"], capture_output=True).returncode == 0
if not has_boto:
    print("SKIP: python3-botocore is not installed (deploy/install-deps.sh installs it)")
    sys.exit(lt.SKIP)

ARN = "arn:aws:lambda:eu-west-1:123456789012:function:thr"
THR_BODY = '{"Type":"User","message":"Rate exceeded","Reason":"ReservedFunctionConcurrentInvocationLimitExceeded"}'
script = {"rules": [
    {"function": ARN, "times": 3, "status": 429, "headers": {"Retry-After": "1",
     "x-amzn-ErrorType": "TooManyRequestsException"}, "body": THR_BODY},
    {"function": ARN, "status": 200, "body": "null", "delay_ms": 150},
    {"function": "five", "times": 2, "status": 500, "body": '{"message":"internal"}'},
    {"function": "five", "times": 2, "status": 503, "body": '{"message":"unavailable"}'},
    {"function": "down", "status": 503, "headers": {"x-amzn-ErrorType": "ServiceException"},
     "body": '{"message":"still down"}'},
    {"function": "big", "max_body": 3000, "status": 413,
     "headers": {"x-amzn-ErrorType": "RequestEntityTooLargeException"},
     "body": '{"message":"Request must be smaller than 3000 bytes"}'},
]}
iport, ilog = lt.start_stub("invoke", work, "invoke", script)
ep = f"http://127.0.0.1:{iport}"

N = 300
T0 = 1_700_000_000_000
events = [{"device": f"d{i % 5}", "temp": float(i), "ts": T0 + i * 10, "note": ""}
          for i in range(N)]
events[123]["note"] = "x" * 5000
inp = os.path.join(work, "in.jsonl")
with open(inp, "w") as f:
    f.write("".join(json.dumps(e) + "\n" for e in events))
dl = {s: os.path.join(work, s + ".dl.jsonl") for s in ("thr", "five", "down", "big", "tiny")}
cols = "SELECT device, temp, note FROM ev"
q = os.path.join(work, "q1.sql")
with open(q, "w") as f:
    f.write(f"""
CREATE SOURCE ev (device TEXT, temp DOUBLE, ts TIMESTAMP, note TEXT,
                  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'file', path = '{inp}', follow = 'true');
CREATE SINK thr WITH (connector = 'lambda', function = '{ARN}', endpoint = '{ep}',
    batch_size = '10', max_in_flight = '4', dead_letter = '{dl["thr"]}') AS
SELECT device, temp FROM ev;
CREATE SINK five WITH (connector = 'lambda', function = 'five', region = 'eu-west-1',
    endpoint = '{ep}', batch_size = '1000', dead_letter = '{dl["five"]}') AS
SELECT device, temp FROM ev WHERE device = 'd1';
CREATE SINK down WITH (connector = 'lambda', function = 'down', region = 'eu-west-1',
    endpoint = '{ep}', retries = '2', dead_letter = '{dl["down"]}') AS
SELECT device, temp FROM ev WHERE device = 'd2';
CREATE SINK big WITH (connector = 'lambda', function = 'big', region = 'eu-west-1',
    endpoint = '{ep}', batch_size = '100', dead_letter = '{dl["big"]}') AS {cols};
CREATE SINK tiny WITH (connector = 'lambda', function = 'tiny', region = 'eu-west-1',
    endpoint = '{ep}', batch_bytes = '1KiB', dead_letter = '{dl["tiny"]}') AS {cols};
""")
base_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
base_env["AWS_EC2_METADATA_DISABLED"] = "true"
base_env["HOME"] = work  # no ~/.aws of the machine's user
SECRETS = {"AKIDSTUB": {"secret": "stub/secret+key", "token": "FQoGZXIvYXdzE+token/with=chars"}}
env1 = {**base_env, "AWS_ACCESS_KEY_ID": "AKIDSTUB",
        "AWS_SECRET_ACCESS_KEY": SECRETS["AKIDSTUB"]["secret"],
        "AWS_SESSION_TOKEN": SECRETS["AKIDSTUB"]["token"]}
hport = lt.free_port()
errf = open(os.path.join(work, "run1.err"), "w")
p = lt.spawn([sluice, "run", "--http", f"127.0.0.1:{hport}", "--workers", "2", q], env=env1,
             stdout=subprocess.DEVNULL, stderr=errf)
want_rows = {"thr": N, "five": N // 5, "down": N // 5, "big": N, "tiny": N}


def settled():
    try:
        m = lt.scrape(hport)
    except OSError:
        return None
    for s, n in want_rows.items():
        done = (lt.metric(m, "sluice_lambda_rows_acked_total", sink=s) +
                lt.metric(m, "sluice_lambda_rows_dead_lettered_total", sink=s))
        if done < n:
            return None
    return m


m = lt.wait_for(settled, 40, "every row acknowledged or dead-lettered") or {}
os.kill(p.pid, signal.SIGTERM)
try:
    rc = p.wait(timeout=30)
except subprocess.TimeoutExpired:
    rc = None
check(rc == 0, f"run 1 exits 0 on SIGTERM (got {rc})")
err1 = open(os.path.join(work, "run1.err")).read()
check(SECRETS["AKIDSTUB"]["secret"] not in err1 and SECRETS["AKIDSTUB"]["token"] not in err1,
      "secrets never logged")
reqs = lt.read_jsonl(ilog)


def by_fn(fn):
    return [r for r in reqs if r["function"] == fn]


def records(r):
    return json.loads(r["body"])["records"]


for s, n in want_rows.items():
    a = lt.metric(m, "sluice_lambda_rows_acked_total", sink=s)
    d = lt.metric(m, "sluice_lambda_rows_dead_lettered_total", sink=s)
    check(a + d == n, f"{s}: acked {a} + dead-lettered {d} = {n} rows")
    dlrows = sum(len(x["records"]) for x in lt.read_jsonl(dl[s]))
    check(dlrows == d, f"{s}: the dead letter holds the {d} counted rows (has {dlrows})")

# thr: Retry-After honoured, in-flight bounded, parallel calls, ARN path.
t = by_fn(ARN)
check(all(r["target"] == "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012"
          "%3Afunction%3Athr/invocations" for r in t), "thr: the ARN's colons are %3A in the path")
throttled = [r for r in t if r["status"] == 429]
check(len(throttled) == 3, f"thr: three 429s ({len(throttled)})")
for r in throttled:
    again = [x for x in t if x["n"] > r["n"] and x["body"] == r["body"]]
    check(again and again[0]["t"] >= r["t"] + 0.95,
          f"thr: batch throttled at {r['t']:.3f} retried no earlier than Retry-After "
          f"({again[0]['t'] - r['t']:.3f} s later)" if again else "thr: throttled batch retried")
ok = [r for r in t if r["status"] == 200]
got = sorted(x["temp"] for r in ok for x in records(r))
check(got == [float(i) for i in range(N)], "thr: every row acknowledged exactly once")
check(max(r["in_flight"] for r in t) <= 4, "thr: at most max_in_flight = 4 calls at once")
check(max(r["in_flight"] for r in t) >= 2, "thr: several calls at once")
conns = {r["peer_port"] for r in t}
check(len(conns) <= 4, f"thr: {len(t)} calls over {len(conns)} reused connections (<= 4)")
check(lt.metric(m, "sluice_lambda_invocations_total", sink="thr", result="throttled") == 3,
      "thr: 3 throttled invocations counted")
check(lt.metric(m, "sluice_lambda_in_flight_limit", sink="thr") <= 4, "thr: AIMD limit <= max")

# five: 4 transient errors, then success; backoff grows.
f5 = by_fn("five")
check([r["status"] for r in f5[:5]] == [500, 500, 503, 503, 200], f"five: statuses "
      f"{[r['status'] for r in f5]}")
same = [r for r in f5 if r["body"] == f5[0]["body"]]
gaps = [b["t"] - a["t"] for a, b in zip(same, same[1:])]
check(len(gaps) >= 4 and all(g >= 0.25 * 2 ** i * 0.95 for i, g in enumerate(gaps[:4])),
      f"five: retry k waits at least half of 500 ms * 2^(k-1): gaps {[round(g, 3) for g in gaps]}")
# Upper bound with room for a loaded machine (sanitizer builds, parallel tests).
check(all(g <= 0.5 * 2 ** i + 2.5 for i, g in enumerate(gaps[:4])),
      f"five: and not much more than 500 ms * 2^(k-1): gaps {[round(g, 3) for g in gaps]}")
check(lt.metric(m, "sluice_lambda_retries_total", sink="five") == 4, "five: 4 retries counted")
check(lt.metric(m, "sluice_lambda_invocations_total", sink="five", result="server_error") == 4,
      "five: 4 server errors counted")
check(lt.read_jsonl(dl["five"]) == [], "five: nothing dead-lettered")

# down: 3 attempts then the dead letter.
d = lt.read_jsonl(dl["down"])
check(d and all(x["reason"] == "retries_exhausted" and x["attempts"] == 3 and x["status"] == 503
                and "ServiceException" in x["detail"] for x in d),
      f"down: retries_exhausted after 3 attempts: {d[:1]}")
check(len(by_fn("down")) == 3 * len(d), f"down: 3 calls per batch ({len(by_fn('down'))})")

# big: 413 splits; the 5000-byte row alone is oversize.
b = by_fn("big")
check(all(len(r["body"]) <= 3000 for r in b if r["status"] == 200), "big: acknowledged <= 3000")
got = sorted(x["temp"] for r in b if r["status"] == 200 for x in records(r))
check(got == [float(i) for i in range(N) if i != 123], "big: every other row acknowledged once")
d = lt.read_jsonl(dl["big"])
check(len(d) == 1 and d[0]["reason"] == "oversize" and d[0]["status"] == 413 and
      d[0]["records"][0]["temp"] == 123.0, f"big: the large row dead-lettered as oversize: "
      f"{[(x['reason'], x['status'], len(x['records'])) for x in d]}")
check(lt.metric(m, "sluice_lambda_batch_splits_total", sink="big") >= 3, "big: splits counted")

# tiny: never sent.
d = lt.read_jsonl(dl["tiny"])
check(len(d) == 1 and d[0]["reason"] == "oversize" and d[0]["status"] == 0 and
      d[0]["attempts"] == 0, f"tiny: oversize row dead-lettered locally: {d[:1]}")
check(all(len(r["body"]) <= 1024 for r in by_fn("tiny")), "tiny: every payload <= 1 KiB")
check(not any("xxxxx" in r["body"] for r in by_fn("tiny")), "tiny: the large row never sent")

# ---- part 3: credential sources ----
cport, clog = lt.start_stub("creds", work, "creds", {
    "prefix": "AKIDC", "ttl_s": 303, "container_token": "Bearer ct-123",
    "web_token": "eyJ.jwt.token", "role": "arn:aws:iam::123456789012:role/sluice"})
small = os.path.join(work, "small.jsonl")
with open(small, "w") as f:
    f.write("".join(json.dumps(e) + "\n" for e in events[:20]))


def cred_run(name, env, rate=0, expect_rc=0, endpoint=True):
    qq = os.path.join(work, f"q_{name}.sql")
    dlp = os.path.join(work, f"{name}.dl.jsonl")
    with open(qq, "w") as f:
        f.write(f"""
CREATE SOURCE ev (device TEXT, temp DOUBLE, ts TIMESTAMP, note TEXT)
WITH (connector = 'file', path = '{small}', rate = '{rate}');
CREATE SINK s WITH (connector = 'lambda', function = 'fn-{name}', region = 'us-east-2',
    {f"endpoint = '{ep}'," if endpoint else ""} batch_size = '5', retries = '1',
    dead_letter = '{dlp}') AS
SELECT device, temp FROM ev;
""")
    r = subprocess.run([sluice, "run", "--http", "off", qq], env={**base_env, **env},
                       capture_output=True, timeout=60)
    out = r.stderr.decode()
    check(r.returncode == expect_rc, f"{name}: exit {r.returncode}: {out[-1500:]}")
    return out, lt.read_jsonl(dlp)


def keys_used(name):
    used = []
    for r in lt.read_jsonl(ilog):
        if r["function"] == f"fn-{name}":
            auth = dict((k.lower(), v) for k, v in r["headers"])["authorization"]
            used.append(auth.split("Credential=")[1].split("/")[0])
    return used


def delivered(name):
    return sorted(x["temp"] for r in lt.read_jsonl(ilog) if r["function"] == f"fn-{name}"
                  and r["status"] == 200 for x in records(r))


first20 = [float(i) for i in range(20)]
# environment, no token
SECRETS["AKIDENV"] = {"secret": "env-secret", "token": None}
# (and the endpoint from AWS_ENDPOINT_URL_LAMBDA, as the SDKs read it, when the sink has none)
cred_run("env", {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret",
                 "AWS_ENDPOINT_URL_LAMBDA": ep}, endpoint=False)
check(set(keys_used("env")) == {"AKIDENV"} and delivered("env") == first20,
      "env credentials, endpoint from AWS_ENDPOINT_URL_LAMBDA")

# shared file, AWS_PROFILE
credfile = os.path.join(work, "credentials")
with open(credfile, "w") as f:
    f.write("[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = nope\n\n"
            "# the one we want\n[other]\naws_access_key_id=AKIDFILE\n"
            "aws_secret_access_key = file/secret\naws_session_token = file-token\n")
SECRETS["AKIDFILE"] = {"secret": "file/secret", "token": "file-token"}
cred_run("file", {"AWS_SHARED_CREDENTIALS_FILE": credfile, "AWS_PROFILE": "other"})
check(set(keys_used("file")) == {"AKIDFILE"} and delivered("file") == first20,
      f"shared file, profile other: {set(keys_used('file'))}")

for i in range(1, 10):
    SECRETS[f"AKIDC{i}"] = {"secret": f"secret-AKIDC{i}", "token": f"token-AKIDC{i}"}

# web identity via STS
jwt = os.path.join(work, "token.jwt")
with open(jwt, "w") as f:
    f.write("eyJ.jwt.token\n")
cred_run("web", {"AWS_WEB_IDENTITY_TOKEN_FILE": jwt,
                 "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/sluice",
                 "AWS_ENDPOINT_URL_STS": f"http://127.0.0.1:{cport}/"})
sts = [r for r in lt.read_jsonl(clog) if r["method"] == "POST"]
check(len(sts) == 1 and sts[0]["action"] == "AssumeRoleWithWebIdentity" and sts[0]["token_ok"]
      and sts[0]["role"] == "arn:aws:iam::123456789012:role/sluice" and sts[0]["session"],
      f"web identity: one AssumeRoleWithWebIdentity with the token file's JWT: {sts}")
check(len(set(keys_used("web"))) == 1 and keys_used("web")[0].startswith("AKIDC") and
      delivered("web") == first20, f"web identity keys used: {set(keys_used('web'))}")

# container endpoint, refreshed before expiry (ttl 303 s: refresh 5 min before = after 3 s)
n0 = len(lt.read_jsonl(clog))
cred_run("cont", {"AWS_CONTAINER_CREDENTIALS_FULL_URI": f"http://127.0.0.1:{cport}/container",
                  "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer ct-123"}, rate=4)
cl = [r for r in lt.read_jsonl(clog)[n0:] if r["path"] == "/container"]
check(len(cl) >= 2 and all(r["headers"].get("authorization") == "Bearer ct-123" for r in cl),
      f"container: fetched with the token, refreshed ({len(cl)} fetches)")
used = keys_used("cont")
check(len(set(used)) >= 2 and used == sorted(used, key=lambda k: int(k[5:])),
      f"container: new keys after the refresh, never the old ones again: {used}")
check(delivered("cont") == first20, "container: every row delivered")

# IMDSv2
n0 = len(lt.read_jsonl(clog))
cred_run("imds", {"AWS_EC2_METADATA_DISABLED": "false",
                  "AWS_EC2_METADATA_SERVICE_ENDPOINT": f"http://127.0.0.1:{cport}"})
il = lt.read_jsonl(clog)[n0:]
check([(r["method"], r["path"]) for r in il[:3]] ==
      [("PUT", "/latest/api/token"), ("GET", "/latest/meta-data/iam/security-credentials/"),
       ("GET", "/latest/meta-data/iam/security-credentials/sluice-role")] and
      il[0]["headers"].get("x-aws-ec2-metadata-token-ttl-seconds") and
      all(r["headers"].get("x-aws-ec2-metadata-token") == "imds-session-token" for r in il[1:3]),
      f"imds: token PUT, then role and credentials with the token: {[r['path'] for r in il]}")
check(len(set(keys_used("imds"))) == 1 and delivered("imds") == first20, "imds: delivered")

# no credentials anywhere: rows dead-lettered with the reason, exit 0
out, d = cred_run("none", {})
check(sum(len(x["records"]) for x in d) == 20 and
      all("no credentials" in x["detail"] for x in d) and keys_used("none") == [],
      f"none: every row dead-lettered with 'no credentials', nothing sent: {d[:1]}")

# ---- part 2: SigV4 over everything sent, and the check can fail ----
secf = os.path.join(work, "secrets.json")
with open(secf, "w") as f:
    json.dump(SECRETS, f)
v = subprocess.run([BOTO_PY, os.path.join(lt.HERE, "sigv4_verify.py"), ilog, secf],
                   capture_output=True, timeout=120)
print(v.stdout.decode().splitlines()[-1] if v.stdout else v.stderr.decode()[-500:])
check(v.returncode == 0, "botocore verifies every signature: " + v.stdout.decode()[-1500:] +
      v.stderr.decode()[-800:])
nreq = len(lt.read_jsonl(ilog))
check(f"{nreq} verified, 0 bad" in v.stdout.decode(), f"all {nreq} requests verified")
tampered = os.path.join(work, "tampered.log")
with open(tampered, "w") as f:
    r0 = dict(t[0])
    r0["target"] = r0["target"].replace("%3A", ":")
    f.write(json.dumps(r0) + "\n")
v = subprocess.run([BOTO_PY, os.path.join(lt.HERE, "sigv4_verify.py"), tampered, secf],
                   capture_output=True, timeout=60)
check(v.returncode == 1 and "mismatch" in v.stdout.decode(),
      "the verifier rejects a request whose path was signed differently")

lt.finish()
