#!/usr/bin/env bash
# The redis sink against redis-server (Debian's), on a free loopback port started here:
#  1. the sink's write path (build/bench_redis): hash rows of 5 fields, 10 k groups per
#     window, pipeline 256; rows/s and window-close -> visible latency (p50/p99/max);
#  2. redis-benchmark on the same server in the same run: the same HSET (same 5 fields) on
#     mostly new keys, -P 256, one connection (as the sink uses) and 50 (its default);
#  3. end to end: sluice run, datagen (1 M rows, 10 k keys, as fast as possible) -> TUMBLE
#     100 s -> redis hash sink: result rows written per wall-clock second of the whole run.
#
#   bench/bench_redis.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
b=${1:-build}
command -v redis-server >/dev/null || { echo "bench_redis: redis-server not installed"; exit 0; }
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
    >/dev/null 2>&1 &
rpid=$!
trap 'kill $rpid 2>/dev/null; wait $rpid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 200); do
    [ "$(redis-cli -p "$port" PING 2>/dev/null)" = PONG ] && break
    sleep 0.05
done

echo "-- redis sink write path (10000 groups/window, 30 windows, pipeline 256)"
out=$("$b/bench_redis" "$port" --groups 10000 --windows 30 --pipeline 256)
echo "$out"
sl=$(echo "$out" | sed -n 's/.*rows_per_s=\([0-9]*\).*/\1/p')

cmd=(HSET "bench:__rand_int__" device device-1 window_start 1704067200000 n 17
     avg_temp 21.5 max_temp 30.25)
# 300 000 HSETs on (nearly) all new keys: what the sink does (30 windows x 10 000 groups).
for c in 1 50; do
    redis-cli -p "$port" FLUSHALL >/dev/null
    rb=$(redis-benchmark -p "$port" -c "$c" -P 256 -n 300000 -r 100000000 -q "${cmd[@]}" \
        | tr '\r' '\n' | grep 'requests per second' | tail -1 \
        | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p')
    printf 'redis-benchmark -c %-2s -P 256 HSET (5 fields): %s req/s; sluice/redis-benchmark = %s\n' \
        "$c" "$rb" "$(python3 -c "print('%.2f' % ($sl / $rb))")"
done

redis-cli -p "$port" FLUSHALL >/dev/null
cat > "$tmp/e2e.sql" <<SQL
CREATE SOURCE g (device TEXT, temp DOUBLE, ts TIMESTAMP, WATERMARK FOR ts AS ts)
WITH (connector = 'datagen', rows = '1000000', rows_per_second = '0', keys = '10000');
CREATE SINK r WITH (connector = 'redis', url = 'redis://127.0.0.1:$port/0', pipeline = '256') AS
SELECT device, window_start, COUNT(*) AS n, AVG(temp) AS avg_temp, MAX(temp) AS max_temp
FROM TUMBLE(g, ts, INTERVAL '100' SECOND) GROUP BY device;
SQL
t0=$(date +%s.%N)
"$b/sluice" run --http off "$tmp/e2e.sql" 2>/dev/null
t1=$(date +%s.%N)
keys=$(redis-cli -p "$port" DBSIZE)
printf 'end to end: %s hashes in %.2f s = %.0f result rows/s (1 M events included)\n' \
    "$keys" "$(python3 -c "print($t1 - $t0)")" "$(python3 -c "print($keys / ($t1 - $t0))")"
