#!/usr/bin/env bash
# Guard for issue 11: instructions per event of the core-throughput job, counted by
# valgrind's callgrind (deterministic: the same count on an idle or a busy machine, unlike
# any timing). The job is bench/run.sh's core line at 200 k events: a file source of
# ~90-byte JSON lines (bench/gen_events.py, 10 000 devices, seed 1) -> TUMBLE(10 s) GROUP BY
# device COUNT/AVG/MIN/MAX -> file sink, --workers 1. Every instruction of the process is
# counted (all threads, startup included).
#
# Fails when the count per event grows by more than 10 % over tests/perf/core_ir.record.
# A change that makes the engine slower on purpose updates that record in the same commit
# (run this script with --update); one that makes it faster should lower it, so that the
# guard keeps protecting the gain (the script says so when the count is 10 % below).
#
#   callgrind_core.sh SLUICE_BINARY [--update]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
sluice=$1
update=${2:-}
record="$here/core_ir.record"
events=200000
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 "$src/bench/gen_events.py" "$events" 10000 "$tmp/events.jsonl" 1
cat > "$tmp/core.sql" <<SQL
CREATE SOURCE ev (device TEXT, temp DOUBLE, ts TIMESTAMP,
                  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'file', path = '$tmp/events.jsonl');
CREATE SINK out WITH (connector = 'file', path = '$tmp/out.jsonl') AS
SELECT device, window_start, COUNT(*) AS n, AVG(temp) AS avg_temp, MIN(temp) AS min_temp,
       MAX(temp) AS max_temp
FROM TUMBLE(ev, ts, INTERVAL '10' SECOND)
GROUP BY device;
SQL
# A run stopped by a signal from outside (another job on a shared machine stopping sluice
# processes by name) is not a measurement: run again, up to three times.
for attempt in 1 2 3; do
    rm -f "$tmp/out.jsonl"
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" \
        "$sluice" run --workers 1 --http off "$tmp/core.sql" >/dev/null 2>"$tmp/log" || true
    grep -q 'SIGTERM\|SIGINT' "$tmp/log" || break
    echo "callgrind_core: run $attempt was stopped by a signal from outside; again" >&2
done
total=$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$tmp/log" | tail -1)
if [ -z "$total" ]; then
    cat "$tmp/log" >&2
    echo "callgrind_core: no instruction count in valgrind's output" >&2
    exit 1
fi
# The job must have done its work: every window row written (an engine that fails early
# would otherwise look very fast). 200 k events over 10 000 devices, 20 windows: the file
# holds one row per (device, window) that had an event; at least 100 000 of them.
rows=$(wc -l < "$tmp/out.jsonl")
if [ "$rows" -lt 100000 ]; then
    echo "callgrind_core: only $rows rows written; the job did not run to its end" >&2
    exit 1
fi
per=$(( total / events ))
if [ "$update" = "--update" ]; then
    {
        echo "# tests/perf/callgrind_core.sh: instructions per event, core job, 200 k events."
        echo "# Made with $(${CC:-gcc} --version | head -1), RelWithDebInfo (-O2 -g), jemalloc,"
        echo "# $(valgrind --version)."
        printf 'instructions_per_event %s\n' "$per"
    } > "$record"
    echo "callgrind_core: record set to $per instructions per event"
    exit 0
fi
want=$(sed -n 's/^instructions_per_event \([0-9]*\)$/\1/p' "$record")
limit=$(( want + want / 10 ))
echo "callgrind_core: $per instructions per event (record $want, limit $limit; $rows rows)"
if [ "$per" -gt "$limit" ]; then
    echo "callgrind_core: FAIL: more than 10 % above tests/perf/core_ir.record." >&2
    echo "  Find the cause: valgrind --tool=callgrind the same job, then callgrind_annotate --inclusive=yes." >&2
    echo "  If the growth is intended, run tests/perf/callgrind_core.sh SLUICE --update." >&2
    exit 1
fi
if [ "$per" -lt $(( want - want / 10 )) ]; then
    echo "callgrind_core: more than 10 % below the record: lower it (--update) to keep the gain."
fi
