#!/usr/bin/env node
// deploy_metrics.js - /metrics of a real engine read by independent parsers from npm, and the
// Grafana dashboard's PromQL checked against what the engine really exports.
//
// Starts mosquitto and redis-server on free loopback ports, then `sluice run --http` with an
// MQTT source, a windowed Redis sink and a per-event stdout sink (so the source, query, sink,
// ring, MQTT, Redis and process families all appear), publishes a few messages and scrapes
// /metrics. Checks:
//   * the document parses with parse-prometheus-text-format (npm), and line by line here:
//     every family has exactly one "# HELP" and one "# TYPE" line, both before its samples,
//     and every sample belongs to a family that has them (histograms: _bucket, _sum, _count);
//   * deploy/grafana/sluice-dashboard.json: every target's expr parses with Prometheus's own
//     PromQL grammar (@prometheus-io/lezer-promql, no error node), every metric it selects is a
//     family (or histogram series) of the scrape, every label it matches, groups by or shows in
//     a legend is a label of one of those metrics (or a label Prometheus adds: instance, job).
//
// usage: node deploy_metrics.js SLUICE_BINARY WORKDIR DASHBOARD.json
// Exit 77 (skipped) when mosquitto, redis-server or the npm packages are not installed.
"use strict";
const fs = require("fs");
const path = require("path");
const net = require("net");
const { spawn, spawnSync } = require("child_process");
const { createRequire } = require("module");

const [sluice, work, dashboardPath] = process.argv.slice(2);
const req = createRequire(path.join(__dirname, "../tools/deploycheck/package.json"));
let parseProm, promql;
try {
    parseProm = req("parse-prometheus-text-format");
    promql = req("@prometheus-io/lezer-promql");
} catch (e) {
    console.log("npm packages missing (deploy/install-deps.sh runs npm ci): skipped");
    process.exit(77);
}
function which(cmd) {
    return spawnSync("bash", ["-c", `command -v ${cmd} || ls /usr/sbin/${cmd}`]).stdout
        .toString().trim().split("\n")[0];
}
const MOSQ = which("mosquitto");
const REDIS = which("redis-server");
if (!MOSQ || !REDIS || !which("mosquitto_pub")) {
    console.log("mosquitto or redis-server not installed: skipped");
    process.exit(77);
}

fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(work, { recursive: true });
const fails = [];
function check(cond, what) {
    console.log((cond ? "ok:   " : "FAIL: ") + what);
    if (!cond) fails.push(what);
    return cond;
}
const procs = [];
function finish() {
    for (const p of procs) if (p.exitCode === null) p.kill("SIGTERM");
    console.log(fails.length ? `${fails.length} check(s) failed` : "deploy_metrics: all checks passed");
    process.exit(fails.length ? 1 : 0);
}
function freePort() {
    return new Promise((resolve) => {
        const s = net.createServer();
        s.listen(0, "127.0.0.1", () => {
            const p = s.address().port;
            s.close(() => resolve(p));
        });
    });
}
async function waitFor(cond, what, ms = 20000) {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
        const v = await cond();
        if (v) return v;
        await new Promise((r) => setTimeout(r, 50)); // polling interval
    }
    check(false, "timed out waiting for " + what);
    return null;
}
async function get(url) {
    try {
        const r = await fetch(url);
        return { status: r.status, type: r.headers.get("content-type"), body: await r.text() };
    } catch (e) {
        return { status: 0, body: "" };
    }
}

// Checks the exposition document line by line; returns {family name -> {type, labels:Set}}.
function familiesOf(text) {
    const fam = new Map();
    const seenSamples = new Set();
    const lines = text.split("\n");
    check(text.endsWith("\n"), "/metrics ends with a newline");
    for (const line of lines) {
        if (line === "") continue;
        let m;
        if ((m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(line))) {
            const f = fam.get(m[2]) || { help: 0, type: 0, kind: null, labels: new Set(), samples: 0 };
            if (f.samples > 0) check(false, `# ${m[1]} ${m[2]} after its samples`);
            if (m[1] === "HELP") f.help++;
            else { f.type++; f.kind = m[3]; }
            fam.set(m[2], f);
            continue;
        }
        if (line.startsWith("#")) continue;
        m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? \S+( \S+)?$/.exec(line);
        if (!check(m !== null, "sample line parses: " + line)) continue;
        const name = m[1];
        let f = fam.get(name);
        if (!f) {
            const base = name.replace(/_(bucket|sum|count)$/, "");
            const hf = fam.get(base);
            if (hf && (hf.kind === "histogram" || hf.kind === "summary")) f = hf;
        }
        if (!check(f !== undefined, `sample ${name} belongs to a family with HELP and TYPE`)) continue;
        f.samples++;
        const key = name + (m[2] || "");
        if (seenSamples.has(key)) check(false, "series appears twice: " + key);
        seenSamples.add(key);
        for (const lm of (m[2] || "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) f.labels.add(lm[1]);
    }
    for (const [name, f] of fam) {
        check(f.help === 1 && f.type === 1, `${name}: one HELP (${f.help}) and one TYPE (${f.type})`);
    }
    return fam;
}

// Metric and label names a PromQL expression uses (Prometheus's grammar, lezer-promql).
function promqlNames(expr) {
    const tree = promql.parser.parse(expr);
    const out = { metrics: new Set(), labels: new Set(), errors: 0 };
    let inSelector = 0;
    tree.iterate({
        enter(n) {
            if (n.type.isError) out.errors++;
            const text = expr.slice(n.from, n.to);
            if (n.name === "VectorSelector") inSelector++;
            if (n.name === "Identifier" && inSelector) out.metrics.add(text);
            if (n.name === "LabelName") out.labels.add(text);
        },
        leave(n) {
            if (n.name === "VectorSelector") inSelector--;
        },
    });
    return out;
}

(async () => {
    const [mq, rp, hp] = [await freePort(), await freePort(), await freePort()];
    fs.writeFileSync(path.join(work, "mosquitto.conf"),
        `listener ${mq} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    procs.push(spawn(MOSQ, ["-c", path.join(work, "mosquitto.conf")], { stdio: "ignore" }));
    procs.push(spawn(REDIS, ["--port", String(rp), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", work], { stdio: "ignore" }));
    const q = path.join(work, "q.sql");
    fs.writeFileSync(q, `
CREATE SOURCE readings (device TEXT, temp DOUBLE, ts TIMESTAMP,
                        WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'mqtt', url = 'mqtt://127.0.0.1:${mq}', topic = 'plant/+/reading',
      client_id = 'sluice-deploy-metrics-${process.pid}');
CREATE SINK stats WITH (connector = 'redis', url = 'redis://127.0.0.1:${rp}/0') AS
SELECT device, window_start, COUNT(*) AS n, PERCENTILE(temp, 0.99) AS p99
FROM TUMBLE(readings, ts, INTERVAL '1' SECOND) GROUP BY device;
CREATE SINK hot WITH (connector = 'file', path = '${path.join(work, "hot.jsonl")}') AS
SELECT device, temp FROM readings WHERE temp > 50;
`);
    const portOpen = (p) => new Promise((resolve) => {
        const s = net.connect(p, "127.0.0.1", () => { s.destroy(); resolve(true); });
        s.on("error", () => resolve(false));
    });
    await waitFor(() => portOpen(mq), "mosquitto");
    await waitFor(() => portOpen(rp), "redis-server");
    const eng = spawn(sluice, ["run", "--workers", "2", "--http", `127.0.0.1:${hp}`, q],
        { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    eng.stderr.on("data", (d) => { stderr += d; });
    procs.push(eng);
    const ready = await waitFor(async () => (await get(`http://127.0.0.1:${hp}/readyz`)).status === 200,
        "/readyz 200");
    if (!ready) { console.log(stderr); finish(); }
    const now = Date.now();
    for (let i = 0; i < 5; i++) {
        spawnSync("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(mq), "-q", "1", "-t",
            `plant/d${i}/reading`, "-m", JSON.stringify({ device: `d${i}`, temp: 40 + 5 * i, ts: now - 5000 + i })]);
    }
    spawnSync("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(mq), "-q", "1", "-t",
        "plant/x/reading", "-m", "{not json"]);
    const doc = await waitFor(async () => {
        const r = await get(`http://127.0.0.1:${hp}/metrics`);
        return /^sluice_source_events_total\{[^}]*\} 6$/m.test(r.body) ? r : null;
    }, "the 6 messages counted on /metrics");
    if (!doc) { console.log(stderr); finish(); }
    check(/^text\/plain; version=0\.0\.4/.test(doc.type || ""), "Content-Type " + doc.type);

    // The npm parser.
    let parsed = null;
    try { parsed = parseProm(doc.body); } catch (e) { check(false, "parse-prometheus-text-format: " + e.message); }
    const fams = familiesOf(doc.body);
    if (parsed) {
        check(parsed.length === fams.size, `parser sees ${parsed.length} families, the lines ${fams.size}`);
        for (const f of parsed) {
            const mine = fams.get(f.name);
            check(mine !== undefined && f.help !== "" && f.type !== "UNTYPED" &&
                  f.type.toLowerCase() === mine.kind,
                  `${f.name}: parser reads HELP "${f.help.slice(0, 40)}" and TYPE ${f.type}`);
        }
        const ev = parsed.find((f) => f.name === "sluice_source_events_total");
        check(ev && ev.metrics.length === 1 && ev.metrics[0].value === "6" &&
              ev.metrics[0].labels.source === "readings", "parser reads events_total{source=readings} 6");
        const rej = parsed.find((f) => f.name === "sluice_source_rejected_total");
        const rejSum = rej ? rej.metrics.reduce((a, m) => a + Number(m.value), 0) : -1;
        check(rejSum === 1, "one rejected event (the message that is not JSON): " + rejSum);
        const hist = parsed.find((f) => f.name === "sluice_redis_write_seconds");
        check(hist && hist.type === "HISTOGRAM" && hist.metrics.length >= 1 && hist.metrics[0].buckets,
              "sluice_redis_write_seconds parses as a histogram with buckets");
    }
    const expected = ["sluice_source_events_total", "sluice_source_decoded_total",
        "sluice_source_rejected_total", "sluice_query_accepted_total", "sluice_query_filtered_total",
        "sluice_query_late_total", "sluice_query_over_limit_total", "sluice_query_replay_skipped_total",
        "sluice_sink_rows_total", "sluice_source_watermark_lag_seconds", "sluice_ring_used_bytes",
        "sluice_mqtt_connected", "sluice_redis_write_seconds", "process_resident_memory_bytes"];
    for (const n of expected) check(fams.has(n), "exported: " + n);

    // The dashboard.
    const dash = JSON.parse(fs.readFileSync(dashboardPath, "utf8"));
    const targets = [];
    const walk = (ps) => { for (const p of ps || []) { walk(p.panels); for (const t of p.targets || []) targets.push([p.title, t]); } };
    walk(dash.panels);
    check(targets.length >= 10, `dashboard has ${targets.length} queries`);
    const promLabels = new Set(["instance", "job"]);
    let used = new Set();
    for (const [title, t] of targets) {
        const n = promqlNames(t.expr);
        check(n.errors === 0 && n.metrics.size > 0, `"${title}" ${t.refId}: PromQL parses: ${t.expr}`);
        const labels = new Set(promLabels);
        for (const m of n.metrics) {
            const base = m.replace(/_(bucket|sum|count)$/, "");
            const f = fams.get(m) || (fams.get(base) && fams.get(base).kind === "histogram" ? fams.get(base) : null);
            check(f !== null && f !== undefined, `"${title}": metric ${m} is exported`);
            if (f) { for (const l of f.labels) labels.add(l); used.add(m); }
            if (m.endsWith("_bucket")) labels.add("le");
        }
        for (const l of n.labels) check(labels.has(l), `"${title}": label ${l} exists on ${[...n.metrics]}`);
        for (const lm of (t.legendFormat || "").matchAll(/\{\{\s*(\w+)\s*\}\}/g)) {
            check(labels.has(lm[1]), `"${title}": legend label ${lm[1]} exists`);
        }
    }
    for (const v of dash.templating.list) {
        if (v.type !== "query") continue;
        const n = promqlNames(v.definition.replace(/^label_values\(([^,]+),.*\)$/, "$1"));
        for (const m of n.metrics) check(fams.has(m), `variable ${v.name}: metric ${m} is exported`);
    }
    console.log(`dashboard: ${targets.length} queries over ${used.size} metrics`);
    eng.kill("SIGTERM");
    await waitFor(() => eng.exitCode !== null, "sluice to exit");
    check(eng.exitCode === 0, "SIGTERM: exit 0");
    finish();
})();
