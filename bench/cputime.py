#!/usr/bin/env python3
"""Runs a command and prints the CPU seconds (user + system) it and its children used, its
wall seconds and its peak resident set: `cputime.py CMD ARGS...` ->
"cpu=1.234 wall=0.987 rss_kb=12345". Fails if the command fails."""
import resource
import subprocess
import sys
import time

t0 = time.monotonic()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.monotonic() - t0
r = resource.getrusage(resource.RUSAGE_CHILDREN)
if p.returncode != 0:
    sys.stderr.write(p.stderr.decode())
    sys.exit("command failed: %s" % " ".join(sys.argv[1:]))
print("cpu=%.3f wall=%.3f rss_kb=%d" % (r.ru_utime + r.ru_stime, wall, r.ru_maxrss))
