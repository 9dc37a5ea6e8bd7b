#!/usr/bin/env python3
"""Every SQL example in the documentation loads with `sluice check`.

  * docs/queries.md: each ```sql block is a file. A block without CREATE SOURCE reads the
    sources of the page's first block, so it is checked together with that block. A block
    whose fence says ```sql mistake: TEXT must fail (exit 1) with TEXT in the message.
  * docs/operations.md and README.md: each ```sql block must load on its own.
  * deploy/kubernetes/configmap.yaml: the queries the StatefulSet runs, with the Secret's
    files and the environment the manifest gives.
  * deploy/docker-compose.yml: the demo publisher's message is read, exactly, by the columns of
    queries/examples/iot_redis.sql, the file the compose file's Sluice runs.

${file:…} paths under /run/secrets are pointed at a file made here; ${NAME} variables without a
default get a placeholder. `sluice check` opens no socket, so the brokers named need not exist.

usage: deploy_docs.py SLUICE_BINARY SOURCE_DIR WORKDIR
"""
import json
import os
import re
import shutil
import subprocess
import sys

sluice, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
secrets = os.path.join(work, "secrets")
os.makedirs(secrets)
fails = []


def check(cond, what):
    print(("ok:   " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        fails.append(what)
    return cond


def localise(sql):
    """Points ${file:/run/secrets/...} at files made here (each holding 'secret')."""
    def repl(m):
        p = os.path.join(secrets, m.group(1).replace("/", "_"))
        with open(p, "w") as f:
            f.write("s3cret-value\n")
        return "${file:%s}" % p
    return re.sub(r"\$\{file:/run/secrets/([^}]+)\}", repl, sql)


ENV = dict(os.environ, MQTT_URL="mqtt://mosquitto:1883", REDIS_URL="redis://redis:6379/0",
           KAFKA_BROKERS="kafka:9092")


def sluice_check(name, files):
    d = os.path.join(work, name)
    os.makedirs(d)
    for i, text in enumerate(files):
        with open(os.path.join(d, "%02d.sql" % i), "w") as f:
            f.write(localise(text))
    r = subprocess.run([sluice, "check", d], capture_output=True, text=True, env=ENV, timeout=60)
    return r.returncode, r.stdout + r.stderr


def blocks(path):
    """(line, info, text) of each ```sql block of a Markdown file."""
    out = []
    lines = open(path).read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```sql(.*)$", lines[i])
        if m:
            j = i + 1
            while not lines[j].startswith("```"):
                j += 1
            out.append((i + 1, m.group(1).strip(), "\n".join(lines[i + 1:j]) + "\n"))
            i = j
        i += 1
    return out


# docs/queries.md
qb = blocks(os.path.join(src, "docs/queries.md"))
check(len(qb) >= 10, "docs/queries.md has %d sql blocks" % len(qb))
first = qb[0][2]
check(re.search(r"CREATE\s+SOURCE", first, re.I), "the first block defines the sources")
for line, info, text in qb:
    own_source = re.search(r"CREATE\s+SOURCE", text, re.I) is not None
    files = [text] if own_source else [first, text]
    code, out = sluice_check("queries_md_%d" % line, files)
    m = re.match(r"mistake:\s*(.+)$", info)
    if m:
        check(code == 1 and m.group(1) in out,
              "docs/queries.md:%d fails as shown (%r in the message): %s" %
              (line, m.group(1), out.strip().splitlines()[0] if out.strip() else "no output"))
    else:
        check(code == 0, "docs/queries.md:%d loads%s" % (line, "" if code == 0 else ": " + out))
    if not m and code == 0 and "password" in text:
        check("s3cret-value" not in out, "docs/queries.md:%d: check does not print the secret" % line)

# docs/operations.md and README.md
for doc in ("docs/operations.md", "README.md"):
    for line, info, text in blocks(os.path.join(src, doc)):
        code, out = sluice_check("%s_%d" % (doc.replace("/", "_"), line), [text])
        check(code == 0, "%s:%d loads%s" % (doc, line, "" if code == 0 else ": " + out))

# The Kubernetes ConfigMap's queries.
cm = open(os.path.join(src, "deploy/kubernetes/configmap.yaml")).read()
sqls = re.findall(r"^  (\S+\.sql): \|\n((?:    .*\n|\n)+)", cm, re.M)
check(len(sqls) >= 1, "configmap.yaml holds %d query file(s)" % len(sqls))
for name, body in sqls:
    text = "\n".join(l[4:] for l in body.split("\n"))
    code, out = sluice_check("configmap_" + name, [text])
    check(code == 0, "configmap.yaml %s loads%s" % (name, "" if code == 0 else ": " + out))
    check("s3cret-value" not in out, "configmap.yaml %s: check does not print the secret" % name)

# The compose file's demo publisher: its message is what iot_redis.sql's source reads. The
# shell template is instantiated as the publisher's sh would (compose turns $$ into $), then
# run through the source's own columns with a file source and a file sink.
compose = open(os.path.join(src, "deploy/docker-compose.yml")).read()
m = re.search(r'mosquitto_pub -h mosquitto .*-t "factory/\$\$site/telemetry" -m \\\n\s*(".*")\n',
              compose)
if check(m is not None, "compose: the publisher's mosquitto_pub message found"):
    now_s = 1_800_000_000
    msg = m.group(1)[1:-1].replace('\\"', '"').replace("$$(date +%s)", str(now_s))
    msg = msg.replace("$$site", "lyon").replace("$$d", "1").replace("$$t", "70")
    iot = open(os.path.join(src, "queries/examples/iot_redis.sql")).read()
    cols = re.search(r"CREATE SOURCE telemetry \((.*?)\) WITH \(", iot, re.S).group(1)
    d = os.path.join(work, "publisher")
    os.makedirs(d)
    with open(os.path.join(d, "in.jsonl"), "w") as f:
        f.write(msg + "\n")
    with open(os.path.join(d, "q.sql"), "w") as f:
        f.write("CREATE SOURCE telemetry (%s) WITH (connector = 'file', path = '%s/in.jsonl');\n"
                "CREATE SINK s WITH (connector = 'file', path = '%s/out.jsonl') AS\n"
                "SELECT device, site, temp, humidity, ts FROM telemetry;\n" % (cols, d, d))
    r = subprocess.run([sluice, "run", "--http", "off", os.path.join(d, "q.sql")],
                       capture_output=True, text=True, timeout=60)
    out = open(os.path.join(d, "out.jsonl")).read() if os.path.exists(
        os.path.join(d, "out.jsonl")) else ""
    want = {"device": "press-1", "site": "lyon", "temp": 70, "humidity": 45, "ts": now_s * 1000}
    got = [json.loads(l) for l in out.splitlines()]
    check(r.returncode == 0 and got == [want],
          "the publisher's message %s reads as %s through iot_redis.sql's columns (got %s)"
          % (msg, want, got))

print("%d check(s) failed" % len(fails) if fails else "deploy_docs: all checks passed")
sys.exit(1 if fails else 0)
