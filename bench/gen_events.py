#!/usr/bin/env python3
"""Writes N JSON Lines events of about 100 bytes for the core benchmark:
{"device":"device-01234","site":"site-7","temp":21.37,"humidity":48.2,"ts":1704067200123}
usage: gen_events.py N KEYS OUT [SEED]"""
import random
import sys

n, keys, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rnd = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
t = 1704067200000
with open(out, "w") as f:
    for i in range(n):
        t += rnd.randint(0, 2)
        d = rnd.randrange(keys)
        f.write('{"device":"device-%05d","site":"site-%d","temp":%.2f,"humidity":%.1f,"ts":%d}\n'
                % (d, d % 10, rnd.uniform(-10, 40), rnd.uniform(10, 90), t - rnd.randint(0, 500)))
