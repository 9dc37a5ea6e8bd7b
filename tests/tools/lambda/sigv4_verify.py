#!/usr/bin/python3
"""Verifies the SigV4 Authorization header of every request in a stub_server.py log with
botocore (Debian's python3-botocore), the AWS SDK's reference implementation.

For each logged request it rebuilds the request as it arrived (method, the request target
as sent, the headers named in SignedHeaders with the values received, the body), lets
botocore's SigV4Auth compute the canonical request, string to sign and signature for the
same credentials, timestamp, region and service "lambda", and compares. It also checks that
a request made with a session token carries it in X-Amz-Security-Token.

usage: sigv4_verify.py LOG SECRETS_JSON [REGION]
  SECRETS_JSON maps access key id -> {"secret": ..., "token": ... or null}.
Prints one line per request and "N verified" at the end; exits 1 on any mismatch.
"""
import json
import re
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

log, secrets = sys.argv[1], json.loads(open(sys.argv[2]).read())
region_want = sys.argv[3] if len(sys.argv) > 3 else None
bad = 0
n = 0
AUTH = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                  r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")
for line in open(log):
    r = json.loads(line)
    hdrs = {}
    for k, v in r["headers"]:
        hdrs.setdefault(k.lower(), v)
    m = AUTH.match(hdrs.get("authorization", ""))
    if not m:
        print(f"request {r['n']}: no or malformed Authorization header")
        bad += 1
        continue
    ak, date, region, service, signed, sig = m.groups()
    if ak not in secrets:
        print(f"request {r['n']}: unknown access key {ak}")
        bad += 1
        continue
    s = secrets[ak]
    tok = s.get("token")
    if region_want and region != region_want:
        print(f"request {r['n']}: region {region} != {region_want}")
        bad += 1
    if service != "lambda":
        print(f"request {r['n']}: service {service} != lambda")
        bad += 1
    if tok is not None and hdrs.get("x-amz-security-token") != tok:
        print(f"request {r['n']}: session token missing or wrong")
        bad += 1
    if tok is None and "x-amz-security-token" in hdrs:
        print(f"request {r['n']}: unexpected session token")
        bad += 1
    names = signed.split(";")
    missing = [h for h in names if h not in hdrs]
    if missing:
        print(f"request {r['n']}: signed headers not in the request: {missing}")
        bad += 1
        continue
    req = AWSRequest(method=r["method"], url="http://" + hdrs["host"] + r["target"],
                     data=r["body"].encode("utf-8"),
                     headers={h: hdrs[h] for h in names})
    req.context["timestamp"] = hdrs["x-amz-date"]
    auth = SigV4Auth(Credentials(ak, s["secret"], tok), service, region)
    canonical = auth.canonical_request(req)
    want = auth.signature(auth.string_to_sign(req, canonical), req)
    n += 1
    if want != sig:
        bad += 1
        print(f"request {r['n']}: signature mismatch for {r['target']}\n"
              f"  botocore canonical request:\n{canonical}")
    else:
        print(f"request {r['n']}: ok {r['target']} signed={signed}")
print(f"{n} verified, {bad} bad")
sys.exit(1 if bad or n == 0 else 0)
