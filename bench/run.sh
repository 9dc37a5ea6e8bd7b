#!/usr/bin/env bash
# Runs every benchmark with its reference side by side and prints one table. Timings are
# noisy on shared machines: read the ratios, measured in the same run. Fails only on errors,
# never on timing.
#
# usage: bench/run.sh [--events N]     (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
events=1000000
[ "${1:-}" = "--events" ] && events=$2
b=build-bench
cmake -S . -B $b -DCMAKE_BUILD_TYPE=Release -DSL_BENCH=ON >/dev/null
cmake --build $b -j2 >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
echo "command: bench/run.sh --events $events"
printf '\n%-58s %12s %12s %8s\n' benchmark sluice reference ratio

# Core: file -> TUMBLE(10 s) GROUP BY device (10 k keys) COUNT/AVG/MIN/MAX -> file, against
# simdjson On-Demand parsing the same lines and folding the same fields into a hash table.
python3 bench/gen_events.py "$events" 10000 "$tmp/events.jsonl"
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
s=$(python3 bench/cputime.py $b/sluice run --workers 1 --http off "$tmp/core.sql")
r=$(python3 bench/cputime.py $b/ref_core "$tmp/events.jsonl")
sc=${s#cpu=}; sc=${sc%% *}; rc=${r#cpu=}; rc=${rc%% *}
per() { python3 -c "print('%.3f s/M' % ($1 * 1e6 / $events))"; }
printf '%-58s %12s %12s %8s\n' "core: CPU-seconds per million events (workers 1)" \
    "$(per "$sc")" "$(per "$rc")" "$(python3 -c "print('%.2fx' % ($sc / $rc))")"
rows=$(wc -l < "$tmp/out.jsonl")
echo "  ($rows window rows written; reference: $($b/ref_core "$tmp/events.jsonl" | cut -d' ' -f1) windows)"

# Rings, aggregates, decoder, loading: their own programs print their own comparisons.
for prog in bench_ring bench_agg bench_decode bench_load; do
    if [ -x "$b/$prog" ]; then
        printf '\n-- %s\n' "$prog"
        "$b/$prog" || echo "$prog failed"
    fi
done

# Redis sink: its write path beside redis-benchmark on the same server, and end to end
# (bench/bench_redis.sh starts its own redis-server on a free port; skipped without one).
printf '\n-- redis sink\n'
bash bench/bench_redis.sh "$b" || echo "bench_redis failed"
# MQTT: needs a mosquitto binary; skipped without one.
if command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ]; then
    printf '\n-- bench_mqtt.sh (N=100000)\n'
    N=100000 bench/bench_mqtt.sh $b || echo "bench_mqtt.sh failed"
    printf '\n-- bench_mqtt.sh (N=100000, --state-dir)\n'
    N=100000 STATE_DIR=1 bench/bench_mqtt.sh $b || echo "bench_mqtt.sh failed"
fi
