#!/usr/bin/env python3
"""Runs a command and prints the CPU seconds each of its threads used, sampled from
/proc/<pid>/task/*/stat every 20 ms (the last 20 ms of a thread may be missed), then
"bound=X": total CPU / the busiest thread's CPU, the most a pipeline of these threads could
gain from more cores (scaling needs free cores to be seen; this needs none).
usage: threadcpu.py CMD ARGS..."""
import os
import subprocess
import sys
import time

hz = os.sysconf("SC_CLK_TCK")
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
seen = {}
while p.poll() is None:
    try:
        for tid in os.listdir("/proc/%d/task" % p.pid):
            try:
                with open("/proc/%d/task/%s/stat" % (p.pid, tid)) as f:
                    st = f.read()
            except OSError:
                continue
            fields = st[st.rindex(")") + 2:].split()
            seen[tid] = max(seen.get(tid, 0), int(fields[11]) + int(fields[12]))
    except OSError:
        pass
    time.sleep(0.02)
if p.returncode != 0:
    sys.exit("command failed: %s" % " ".join(sys.argv[1:]))
cpu = sorted((v / hz for v in seen.values()), reverse=True)
total = sum(cpu)
print("threads=" + ",".join("%.2f" % c for c in cpu if c > 0),
      "bound=%.2f" % (total / cpu[0] if cpu and cpu[0] > 0 else 0))
