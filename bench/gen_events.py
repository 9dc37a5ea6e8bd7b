#!/usr/bin/env python3
"""Writes N JSON Lines events of about 100 bytes for the benchmarks:
{"device":"device-01234","site":"site-7","temp":21.37,"humidity":48.2,"ts":1704067200123}
usage: gen_events.py N KEYS OUT [SEED] [--seq] [--per-ms K]

Default: the device is drawn at random among KEYS, event time advances 0-2 ms per event (1 ms
on average) and each event is up to 500 ms out of order; seed 1. This default is the core
job's input and tests/perf/callgrind_core.sh's: keep it byte-identical.
  --seq       devices in turn (event i has device i % KEYS): every key appears, in order;
  --per-ms K  K events per millisecond of event time (dense time: 1 M events with K = 200
              fit in 5 s, so one 10 s window holds all of their keys)."""
import random
import sys

args = [a for a in sys.argv[1:]]
seq = "--seq" in args
if seq:
    args.remove("--seq")
per_ms = 0
if "--per-ms" in args:
    i = args.index("--per-ms")
    per_ms = int(args[i + 1])
    del args[i:i + 2]
n, keys, out = int(args[0]), int(args[1]), args[2]
rnd = random.Random(int(args[3]) if len(args) > 3 else 1)
t = 1704067200000
with open(out, "w") as f:
    for i in range(n):
        if per_ms:
            t = 1704067200000 + i // per_ms
            skew = 0
        else:
            t += rnd.randint(0, 2)
        d = i % keys if seq else rnd.randrange(keys)
        line = '{"device":"device-%05d","site":"site-%d","temp":%.2f,"humidity":%.1f,"ts":%d}\n'
        if per_ms:
            f.write(line % (d, d % 10, rnd.uniform(-10, 40), rnd.uniform(10, 90), t))
        else:
            f.write(line % (d, d % 10, rnd.uniform(-10, 40), rnd.uniform(10, 90),
                            t - rnd.randint(0, 500)))
