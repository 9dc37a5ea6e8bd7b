#!/usr/bin/env python3
"""Scripted loopback servers for the Lambda sink's tests (Python standard library only).

Two roles, chosen by the first argument; each binds 127.0.0.1 on a free port and writes the
port to PORTFILE once it listens, then serves until killed.

  stub_server.py invoke PORTFILE LOG SCRIPT
      A Lambda Invoke API endpoint. Every request is appended to LOG as one JSON line:
      {"n", "t", "method", "target" (the request line's path, as sent), "headers" (list of
      [name, value] in order), "body", "in_flight" (requests for the same function being
      served when it arrived), "status", "function" (decoded from the path), "peer_port" (the
      client's TCP port: one per connection)}. SCRIPT (JSON) says how to answer:
        {"rules": [ {"function": "f" (optional, compared with the decoded name in the path),
                     "times": N (optional: only the first N matching requests),
                     "status": 429, "headers": {...}, "body": "...",
                     "delay_ms": 0, "max_body": 5000 (only requests with a larger body)} ...],
         "default": {"status": 200, "body": "null"}}
      The first rule that matches and has uses left answers. A 200/202 default for functions
      named in no rule.

  stub_server.py creds PORTFILE LOG CONFIG
      AWS credential sources: an ECS/EKS container endpoint (GET /container, checks the
      Authorization header against CONFIG["container_token"] when set), EC2 IMDSv2 (PUT
      /latest/api/token, then GET /latest/meta-data/iam/security-credentials/[role] with the
      token), and STS (POST / Action=AssumeRoleWithWebIdentity, checks WebIdentityToken
      and RoleArn). Each fetch hands out new keys "<PREFIX><n>" with secret
      "secret-<PREFIX><n>" and session token "token-<PREFIX><n>", expiring
      CONFIG["ttl_s"] seconds from now. Every request is logged to LOG (without bodies).
"""
import json
import socketserver
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

role, portfile, logpath, cfgpath = sys.argv[1:5]
with open(cfgpath) as f:
    cfg = json.load(f)

lock = threading.Lock()
state = {"n": 0, "in_flight": {}, "uses": {}, "issued": 0}
logf = open(logpath, "a", buffering=1)


def log(rec):
    with lock:
        logf.write(json.dumps(rec) + "\n")


def function_of(target):
    # /2015-03-31/functions/<enc>/invocations
    parts = target.split("?")[0].split("/")
    if len(parts) >= 5 and parts[2] == "functions":
        return urllib.parse.unquote(parts[3])
    return None


class Invoke(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace")
        fn = function_of(self.path)
        with lock:
            state["n"] += 1
            state["in_flight"][fn] = state["in_flight"].get(fn, 0) + 1
            seq, flying = state["n"], state["in_flight"][fn]
            ans = None
            for i, r in enumerate(cfg.get("rules", [])):
                if "function" in r and r["function"] != fn:
                    continue
                if "max_body" in r and len(body.encode()) <= r["max_body"]:
                    continue
                used = state["uses"].get(i, 0)
                if "times" in r and used >= r["times"]:
                    continue
                state["uses"][i] = used + 1
                ans = r
                break
        if ans is None:
            ans = cfg.get("default", {"status": 200, "body": "null"})
            if self.headers.get("X-Amz-Invocation-Type") == "Event" and "status" not in cfg.get(
                    "default", {}):
                ans = {"status": 202, "body": ""}
        if ans.get("delay_ms"):
            time.sleep(ans["delay_ms"] / 1000.0)
        status = ans.get("status", 200)
        if status in (200, 202) and ans.get("body") is None:
            out = b"" if status == 202 else b"null"
        else:
            out = (ans.get("body") or "").encode()
        log({"n": seq, "t": time.time(), "method": "POST", "target": self.path,
             "headers": [[k, v] for k, v in self.headers.items()], "body": body,
             "in_flight": flying, "status": status, "function": fn,
             "peer_port": self.client_address[1]})
        # Served until here: counted out before the reply leaves, so the count never
        # includes a call the client already sees as finished (its next one may overlap).
        with lock:
            state["in_flight"][fn] -= 1
        self.send_response(status)
        for k, v in (ans.get("headers") or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def issue():
    with lock:
        state["issued"] += 1
        i = state["issued"]
    p = cfg.get("prefix", "AKIDTEST")
    exp = datetime.now(timezone.utc) + timedelta(seconds=cfg.get("ttl_s", 3600))
    return {"ak": f"{p}{i}", "sk": f"secret-{p}{i}", "tok": f"token-{p}{i}",
            "exp": exp.strftime("%Y-%m-%dT%H:%M:%SZ")}


class Creds(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body, ctype="application/json"):
        out = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def rec(self, extra=None):
        r = {"t": time.time(), "method": self.command, "path": self.path,
             "headers": {k.lower(): v for k, v in self.headers.items()}}
        r.update(extra or {})
        log(r)

    def creds_json(self):
        c = issue()
        return json.dumps({"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": c["ak"],
                           "SecretAccessKey": c["sk"], "Token": c["tok"],
                           "Expiration": c["exp"]})

    def do_PUT(self):
        self.rec()
        if self.path == "/latest/api/token":
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
            if not ttl:
                return self.reply(400, "missing ttl", "text/plain")
            return self.reply(200, "imds-session-token", "text/plain")
        self.reply(404, "not found", "text/plain")

    def do_GET(self):
        self.rec()
        if self.path == "/container":
            want = cfg.get("container_token")
            if want and self.headers.get("Authorization") != want:
                return self.reply(401, '{"message":"bad token"}')
            return self.reply(200, self.creds_json())
        if self.path.startswith("/latest/meta-data/iam/security-credentials/"):
            if self.headers.get("X-aws-ec2-metadata-token") != "imds-session-token":
                return self.reply(401, "", "text/plain")
            rest = self.path[len("/latest/meta-data/iam/security-credentials/"):]
            if rest == "":
                return self.reply(200, "sluice-role\n", "text/plain")
            if rest == "sluice-role":
                return self.reply(200, self.creds_json())
        self.reply(404, "not found", "text/plain")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(n).decode())
        get = lambda k: (form.get(k) or [""])[0]
        self.rec({"action": get("Action"), "role": get("RoleArn"),
                  "token_ok": get("WebIdentityToken") == cfg.get("web_token"),
                  "session": get("RoleSessionName")})
        if get("Action") != "AssumeRoleWithWebIdentity" or get("Version") != "2011-06-15":
            return self.reply(400, "<ErrorResponse><Error><Code>InvalidAction</Code></Error>"
                              "</ErrorResponse>", "text/xml")
        if get("WebIdentityToken") != cfg.get("web_token") or get("RoleArn") != cfg.get("role"):
            return self.reply(403, "<ErrorResponse><Error><Code>AccessDenied</Code></Error>"
                              "</ErrorResponse>", "text/xml")
        c = issue()
        xml = ("<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/"
               "2011-06-15/\"><AssumeRoleWithWebIdentityResult><Credentials>"
               f"<AccessKeyId>{c['ak']}</AccessKeyId><SecretAccessKey>{c['sk']}"
               f"</SecretAccessKey><SessionToken>{c['tok']}</SessionToken>"
               f"<Expiration>{c['exp']}</Expiration></Credentials>"
               "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>")
        self.reply(200, xml, "text/xml")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


srv = Server(("127.0.0.1", 0), Invoke if role == "invoke" else Creds)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os  # noqa: E402

os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
