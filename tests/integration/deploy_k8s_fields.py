#!/usr/bin/python3
"""Every field name in deploy/kubernetes/*.yaml is one the Kubernetes API defines.

The OpenAPI schemas that deploy_schemas.js validates against allow unknown members, so a
misspelt field (`readOnlyRootFileSystem`) would pass there and be dropped silently by the API
server. This walks each object with the model classes of Debian's python3-kubernetes (client
22.6, generated from the Kubernetes 1.22 OpenAPI definitions: each class lists its fields and
their types) and reports every member that is not a field of its type. It also shows that a
misspelt field is caught.

usage: /usr/bin/python3 deploy_k8s_fields.py SOURCE_DIR
Exit 77 (skipped) when python3-kubernetes or python3-yaml is not installed.
"""
import glob
import os
import re
import sys

try:
    import yaml
    from kubernetes import client
except ImportError:
    print("python3-kubernetes / python3-yaml not installed (deploy/install-deps.sh): skipped")
    sys.exit(77)

src = sys.argv[1]
fails = []


def check(cond, what):
    print(("ok:   " if cond else "FAIL: ") + what)
    if not cond:
        fails.append(what)
    return cond


def unknown_fields(obj, typ, where, out):
    """Appends to out the paths of members of obj that type typ does not define."""
    m = re.fullmatch(r"list\[(.+)\]", typ)
    if m:
        for i, v in enumerate(obj if isinstance(obj, list) else []):
            unknown_fields(v, m.group(1), "%s[%d]" % (where, i), out)
        return
    m = re.fullmatch(r"dict\(str, (.+)\)", typ)
    if m:
        for k, v in (obj.items() if isinstance(obj, dict) else []):
            unknown_fields(v, m.group(1), "%s.%s" % (where, k), out)
        return
    cls = getattr(client, typ, None)
    if cls is None or not isinstance(obj, dict):
        return  # a primitive (str, int, bool, object, datetime) or a type error for the schema
    by_json = {j: p for p, j in cls.attribute_map.items()}
    for k, v in obj.items():
        if k not in by_json:
            out.append("%s.%s (no such field in %s)" % (where, k, typ))
            continue
        unknown_fields(v, cls.openapi_types[by_json[k]], "%s.%s" % (where, k), out)


def model_of(o):
    version = o["apiVersion"].rpartition("/")[2]  # the client's names leave out the group
    return "%s%s" % (version.capitalize(), o["kind"])


files = sorted(glob.glob(os.path.join(src, "deploy/kubernetes/*.yaml")))
check(len(files) >= 4, "manifests found: %d files" % len(files))
sts = None
for f in files:
    for o in yaml.safe_load_all(open(f)):
        if not o:
            continue
        typ = model_of(o)
        check(hasattr(client, typ), "%s: %s %s has a model (%s)" %
              (os.path.basename(f), o["apiVersion"], o["kind"], typ))
        out = []
        unknown_fields(o, typ, o["kind"], out)
        check(not out, "%s: %s %s: every field is defined%s" %
              (os.path.basename(f), o["kind"], o["metadata"]["name"],
               "" if not out else ": " + "; ".join(out)))
        if o["kind"] == "StatefulSet":
            sts = o

if check(sts is not None, "a StatefulSet to try a misspelt field on"):
    sts["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFileSystem"] = True
    out = []
    unknown_fields(sts, "V1StatefulSet", "StatefulSet", out)
    check(len(out) == 1 and "readOnlyRootFileSystem" in out[0],
          "a misspelt field is reported: %s" % out)
print("%d check(s) failed" % len(fails) if fails else "deploy_k8s_fields: all checks passed")
sys.exit(1 if fails else 0)
