#!/usr/bin/env bash
# The README's first command runs queries/examples/demo.sql: check that it does what the
# README says. 60000 datagen rows at 1 ms of event time each (10000 rows/s) are 6 seconds:
# 6 one-second windows x 10 devices = 60 rows; HOP(1 s, 5 s) windows ending at seconds
# 1..10 x 4 sites = 40 rows. Exit 0 at the end of the bounded input.
set -euo pipefail
sluice=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
"$sluice" run --http off "$root/queries/examples/demo.sql" >"$out" 2>"$err"
dev=$(grep -c '"device":' "$out" || true)
site=$(grep -c '"site":' "$out" || true)
fail=0
[ "$dev" = 60 ] || { echo "device rows: $dev, expected 60"; fail=1; }
[ "$site" = 40 ] || { echo "site rows: $site, expected 40"; fail=1; }
grep -q 'source sensors: in=60000 decoded=60000 rejected=0' "$err" ||
    { echo "counters:"; cat "$err"; fail=1; }
# Every device row counts a whole second of readings: they add up to all 60000.
total=$(grep '"device":' "$out" | sed 's/.*"readings":\([0-9]*\).*/\1/' | awk '{s += $1} END {print s}')
[ "$total" = 60000 ] || { echo "readings add up to $total, expected 60000"; fail=1; }
if [ $fail = 0 ]; then
    echo "demo: 60 device rows, 40 site rows, 60000 readings; 1 passed, 0 failed"
else
    echo "0 passed, 1 failed"
fi
exit $fail
