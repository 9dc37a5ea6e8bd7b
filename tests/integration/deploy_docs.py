#!/usr/bin/env python3
"""Every SQL example in the documentation loads with `sluice check`.

  * docs/queries.md: each ```sql block is a file. A block without CREATE SOURCE reads the
    sources of the page's first block, so it is checked together with that block. A block
    whose fence says ```sql mistake: TEXT must fail (exit 1) with TEXT in the message.
  * docs/operations.md and README.md: each ```sql block must load on its own.
  * deploy/kubernetes/configmap.yaml: the queries the StatefulSet runs, with the Secret's
    files and the environment the manifest gives.

${file:…} paths under /run/secrets are pointed at a file made here; ${NAME} variables without a
default get a placeholder. `sluice check` opens no socket, so the brokers named need not exist.

usage: deploy_docs.py SLUICE_BINARY SOURCE_DIR WORKDIR
"""
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

print("%d check(s) failed" % len(fails) if fails else "deploy_docs: all checks passed")
sys.exit(1 if fails else 0)
