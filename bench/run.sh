#!/usr/bin/env bash
# Runs every benchmark of issue 11 with its reference side by side and prints one table.
# Timings are noisy on shared machines: read the ratios, measured in the same run (each pair
# runs --reps times, alternating, and the table gives medians; a latency row shows the run
# whose p99 is the median of --reps). Fails only on errors (a command that fails, a server
# that does not start), never on timing.
#
# usage: bench/run.sh [--events N] [--reps R] [--table-only] [--latency-only]
#   --events N     events of the file-based jobs (default 1000000)
#   --reps R       repetitions of each timed pair (default 3)
#   --table-only   skip the per-component programs (rings, aggregates, decoder, loading,
#                  redis sink, MQTT), whose own comparisons are printed before the table
#   --latency-only idle and latency rows only (implies --table-only)
#
# Needs: python3, curl; redis-server and mosquitto for the latency and idle rows
# (skipped, and said so, without them); taskset for scaling.
set -euo pipefail
cd "$(dirname "$0")/.."
events=1000000
reps=3
details=1
jobs=1
while [ $# -gt 0 ]; do
    case $1 in
    --events) events=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --table-only) details=0; shift ;;
    --latency-only) details=0; jobs=0; shift ;;
    *) echo "usage: bench/run.sh [--events N] [--reps R] [--table-only] [--latency-only]" >&2
       exit 2 ;;
    esac
done
b=build-bench
cmake -S . -B $b -DCMAKE_BUILD_TYPE=Release -DSL_BENCH=ON >/dev/null
cmake --build $b -j2 >/dev/null
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
errors=0
table=()
row() { table+=("$(printf '%-46s | %-24s | %-24s | %-7s | %s' "$@")"); }
py() { python3 -c "$1"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
freeport() {
    py 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# field NAME "cpu=1 wall=2 rss_kb=3" -> value
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# job SQLFILE OUT [PREFIX...]: runs sluice on SQLFILE (its file sink writes OUT, which is
# removed first), under PREFIX (e.g. taskset -c 0) if given, and prints cputime.py's line.
job() {
    local sql=$1 out=$2
    shift 2
    rm -f "$out"
    python3 bench/cputime.py "$@" $b/sluice run --http off "$sql"
}
# core-like query: window clause, input file, output file.
query() {
    cat <<SQL
CREATE SOURCE ev (device TEXT, temp DOUBLE, ts TIMESTAMP,
                  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'file', path = '$2'${4:-});
CREATE SINK out WITH (connector = 'file', path = '$3') AS
SELECT device, window_start, COUNT(*) AS n, AVG(temp) AS avg_temp, MIN(temp) AS min_temp,
       MAX(temp) AS max_temp
FROM $1
GROUP BY device;
SQL
}
tumble10="TUMBLE(ev, ts, INTERVAL '10' SECOND)"
hop="HOP(ev, ts, INTERVAL '1' SECOND, INTERVAL '10' SECOND)"

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: bench/run.sh --events $events --reps $reps"
echo "compiler: $(${CC:-cc} --version | head -1); build: $b (Release, -O3)"

if [ "$jobs" = 1 ]; then
# ---- core: file -> TUMBLE(10 s) GROUP BY device (10 k keys) -> file, against simdjson
# On-Demand parsing the same lines and folding the same fields into a hash table.
python3 bench/gen_events.py "$events" 10000 "$tmp/core.jsonl"
query "$tumble10" "$tmp/core.jsonl" "$tmp/core.out" > "$tmp/core.sql"
sc=() rc=() core_wall=()
for _ in $(seq "$reps"); do
    s=$(job "$tmp/core.sql" "$tmp/core.out")
    r=$(python3 bench/cputime.py $b/ref_core "$tmp/core.jsonl")
    sc+=("$(field cpu "$s")") rc+=("$(field cpu "$r")") core_wall+=("$(field wall "$s")")
done
core_cpu=$(median "${sc[@]}")
ref_cpu=$(median "${rc[@]}")
core_rows=$(wc -l < "$tmp/core.out")
row "core: CPU s per M events (workers 1)" "$(py "print('%.3f' % ($core_cpu * 1e6 / $events))")" \
    "$(py "print('%.3f simdjson ref' % ($ref_cpu * 1e6 / $events))")" \
    "$(py "print('%.2fx' % ($core_cpu / $ref_cpu))")" "<= 1.5x ($core_rows rows out)"

# ---- HOP(1 s, 10 s) against TUMBLE(10 s), 100 keys, the same events, CPU per event.
python3 bench/gen_events.py "$events" 100 "$tmp/k100.jsonl"
query "$hop" "$tmp/k100.jsonl" "$tmp/hop.out" > "$tmp/hop.sql"
query "$tumble10" "$tmp/k100.jsonl" "$tmp/tum.out" > "$tmp/tum.sql"
# The ratio is the median of each back-to-back pair's ratio: this machine's CPU time per job
# moves between two levels ~30 % apart from one minute to the next, and a pair mostly shares
# its level where two separate medians need not.
hc=() tc=() hr=()
for _ in $(seq "$reps"); do
    hc+=("$(field cpu "$(job "$tmp/hop.sql" "$tmp/hop.out")")")
    tc+=("$(field cpu "$(job "$tmp/tum.sql" "$tmp/tum.out")")")
    hr+=("$(py "print(${hc[-1]} / ${tc[-1]})")")
done
hop_cpu=$(median "${hc[@]}")
tum_cpu=$(median "${tc[@]}")
row "HOP(1s,10s) vs TUMBLE(10s), 100 keys: us/event" "$(py "print('%.3f HOP' % ($hop_cpu * 1e6 / $events))")" \
    "$(py "print('%.3f TUMBLE' % ($tum_cpu * 1e6 / $events))")" \
    "$(py "print('%.2fx' % $(median "${hr[@]}"))")" \
    "<= 1.3x, median of pairs $(py "print(' '.join('%.2f' % x for x in sorted([$(IFS=,; echo "${hr[*]}")])))") (rows $(wc -l < "$tmp/hop.out") vs $(wc -l < "$tmp/tum.out"))"

# ---- many keys: every event a new key, all in one 10 s window (200 events per ms), against
# the core run (10 k keys): events per CPU second.
python3 bench/gen_events.py "$events" "$events" "$tmp/many.jsonl" 1 --seq --per-ms 200
query "$tumble10" "$tmp/many.jsonl" "$tmp/many.out" > "$tmp/many.sql"
mc=() mr=()
for _ in $(seq "$reps"); do
    m=$(job "$tmp/many.sql" "$tmp/many.out")
    mc+=("$(field cpu "$m")") mr+=("$(field rss_kb "$m")")
done
many_cpu=$(median "${mc[@]}")
perwin=$(py "import json,collections; c=collections.Counter(json.loads(l)['window_start'] for l in open('$tmp/many.out')); print(max(c.values()))")
row "$(printf '%d distinct keys/window vs 10 k: ev/CPU-s' "$perwin")" \
    "$(py "print('%.2f M/s' % ($events / $many_cpu / 1e6))")" \
    "$(py "print('%.2f M/s (core)' % ($events / $core_cpu / 1e6))")" \
    "$(py "print('%.2fx' % ($core_cpu / $many_cpu))")" \
    ">= 0.5x (peak RSS $(( $(median "${mr[@]}") / 1024 )) MB)"

# ---- RSS at 100 k active groups: a following file source (its windows never close: no
# idle watermark for an hour), read to the end; VmRSS once every event is folded, against
# the same events over 100 keys. Also the peak of a bounded run, which emits the 100 k rows.
rss_at() { # FILE GROUPS -> VmRSS kB with GROUPS open groups
    local port sql=$tmp/rss.sql pid n
    port=$(freeport)
    query "$tumble10" "$1" "$tmp/rss.out" ", follow = 'true', idle_timeout = '1h'" > "$sql"
    $b/sluice run --workers 1 --http "127.0.0.1:$port" "$sql" 2>/dev/null &
    pid=$!
    for _ in $(seq 600); do
        n=$(curl -s "http://127.0.0.1:$port/metrics" | sed -n 's/^sluice_query_open_groups{.*} //p')
        [ "${n:-0}" = "$2" ] && [ "$(curl -s "http://127.0.0.1:$port/metrics" |
            sed -n 's/^sluice_query_accepted_total{.*} //p')" = "$events" ] && break
        sleep 0.1
    done
    sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status"
    kill "$pid"
    wait "$pid" || true
    [ "${n:-0}" = "$2" ] || { echo "rss: $n groups open, not $2" >&2; return 1; }
}
python3 bench/gen_events.py "$events" 100000 "$tmp/g100k.jsonl" 1 --seq --per-ms 100
python3 bench/gen_events.py "$events" 100 "$tmp/g100.jsonl" 1 --seq --per-ms 100
r100k=$(rss_at "$tmp/g100k.jsonl" 100000)
r100=$(rss_at "$tmp/g100.jsonl" 100)
query "$tumble10" "$tmp/g100k.jsonl" "$tmp/g.out" > "$tmp/g.sql"
peak=$(field rss_kb "$(job "$tmp/g.sql" "$tmp/g.out")")
row "RSS, 100 k open groups COUNT/AVG/MIN/MAX" "$(( r100k / 1024 )) MB" "$(( r100 / 1024 )) MB (100 groups)" \
    "" "<= 64 MB; $(( (r100k - r100) * 1024 / 99900 )) B/group; peak with emission $(( peak / 1024 )) MB"

# ---- scaling: datagen (as fast as possible) -> TUMBLE(10 s), 1000 keys, --workers 2, on
# one core and on two: wall time (best of reps, the machine being shared).
cat > "$tmp/scale.sql" <<SQL
CREATE SOURCE g (device TEXT, temp DOUBLE, ts TIMESTAMP, WATERMARK FOR ts AS ts)
WITH (connector = 'datagen', rows = '$((events * 4))', rows_per_second = '0', keys = '1000');
CREATE SINK out WITH (connector = 'file', path = '$tmp/scale.out') AS
SELECT device, window_start, COUNT(*) AS n, AVG(temp) AS avg_temp, MIN(temp) AS min_temp,
       MAX(temp) AS max_temp
FROM TUMBLE(g, ts, INTERVAL '10' SECOND) GROUP BY device;
SQL
w1=() w2=()
for _ in $(seq "$reps"); do
    w1+=("$(field wall "$(job "$tmp/scale.sql" "$tmp/scale.out" taskset -c 0)")")
    w2+=("$(field wall "$(job "$tmp/scale.sql" "$tmp/scale.out" taskset -c 0,1)")")
done
# What the thread split allows, measured without needing free cores: CPU per thread, and
# total / busiest thread (capped at 2 cores).
tc=$(python3 bench/threadcpu.py $b/sluice run --http off --workers 2 "$tmp/scale.sql")
tbound=$(py "print('%.2f' % min(2.0, float('$(field bound "$tc")')))")
best1=$(printf '%s\n' "${w1[@]}" | sort -g | head -1)
best2=$(printf '%s\n' "${w2[@]}" | sort -g | head -1)
row "scaling: datagen $(py "print('%g' % ($events * 4 / 1e6))") M rows, workers 2, wall s" "$best2 (taskset 0,1)" "$best1 (taskset 0)" \
    "$(py "print('%.2fx' % ($best1 / $best2))")" \
    ">= 1.6x (best of $reps; medians $(median "${w2[@]}") / $(median "${w1[@]}")); thread CPU s $(field threads "$tc"): bound ${tbound}x"

fi

# ---- servers for idle and latency: redis-server and mosquitto on free loopback ports.
if command -v redis-server >/dev/null && { command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ]; }; then
    rp=$(freeport) mp=$(freeport) hp=$(freeport)
    redis-server --port "$rp" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" >/dev/null 2>&1 &
    pids+=($!)
    printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$mp" > "$tmp/mosq.conf"
    "$(command -v mosquitto || echo /usr/sbin/mosquitto)" -c "$tmp/mosq.conf" >/dev/null 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do
        [ "$(redis-cli -p "$rp" PING 2>/dev/null)" = PONG ] && break
        sleep 0.05
    done
    # The latency job: per-event rows and TUMBLE(1 s) rows, both PUBLISHed to Redis.
    cat > "$tmp/lat.sql" <<SQL
CREATE SOURCE ev (device TEXT, sent BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts)
WITH (connector = 'mqtt', url = 'mqtt://127.0.0.1:$mp', topic = 'lat/#', client_id = 'sluice-bench');
CREATE SINK e WITH (connector = 'redis', url = 'redis://127.0.0.1:$rp/0', type = 'publish',
                    key = 'lat:e') AS
SELECT device, sent FROM ev;
CREATE SINK w WITH (connector = 'redis', url = 'redis://127.0.0.1:$rp/0', type = 'publish',
                    key = 'lat:w') AS
SELECT device, window_end, COUNT(*) AS n FROM TUMBLE(ev, ts, INTERVAL '1' SECOND) GROUP BY device;
SQL
    # start_job NAME: runs sluice on $tmp/NAME.sql (pid in spid) until /readyz says ready.
    start_job() {
        $b/sluice run --workers 2 --http "127.0.0.1:$hp" "$tmp/$1.sql" 2>"$tmp/$1.err" &
        spid=$!
        pids+=("$spid")
        for _ in $(seq 100); do
            [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$hp/readyz")" = 200 ] && break
            sleep 0.1
        done
        if ! kill -0 "$spid" 2>/dev/null; then
            cat "$tmp/$1.err" >&2
            echo "latency job $1: sluice exited" >&2
            exit 1
        fi
    }
    start_job lat
    # Idle: connected to the broker and to Redis, HTTP on, no traffic, 10 s.
    t0=$(awk '{print $14 + $15}' "/proc/$spid/stat")
    sleep 10
    t1=$(awk '{print $14 + $15}' "/proc/$spid/stat")
    hz=$(getconf CLK_TCK)
    row "idle: CPU with open connections, 10 s" "$(py "print('%.2f %% of a core' % (($t1 - $t0) * 100.0 / $hz / 10))")" \
        "" "" "< 1 % (MQTT + 2 Redis sinks + HTTP, workers 2)"

    lat() { # runs in $(...): an error is flagged in a file, the table says "error"
        local o
        o=$($b/bench_latency "$1" --rate "$2" --seconds "${3:-6}" --redis "$rp" --mqtt "$mp" \
            --file "$tmp/lat_in.jsonl") || true
        if ! echo "$o" | grep -q '^stream='; then
            echo "bench_latency $1 --rate $2 failed" >&2
            touch "$tmp/lat_error"
            o="stream=error p50_us=0 p99_us=0 p999_us=0 recv_per_s=error measured=0"
        fi
        echo "$o"
    }
    # latm MODE RATE: `reps` runs; prints the one whose first stream's p99 is the median.
    latm() {
        local runs=() p99s=() i m
        for i in $(seq "$reps"); do
            runs+=("$(lat "$1" "$2")")
            p99s+=("$(field p99_us "$(echo "${runs[-1]}" | head -1)") $((i - 1))")
        done
        m=$(printf '%s\n' "${p99s[@]}" | sort -n | sed -n "$(( (reps + 1) / 2 ))p" | cut -d' ' -f2)
        echo "${runs[$m]}"
    }
    # Maximum sustainable rate: first events sent as fast as possible for 3 s, and the rate
    # at which per-event rows come out of Redis; then, from that rate down by steps of 0.8,
    # the first open-loop rate the engine keeps up with for 6 s (per-event p99 < 100 ms:
    # no queue builds up).
    # max_rate MODE: prints "BLAST MAX".
    max_rate() {
        local blast m p99
        blast=$(field recv_per_s "$(lat "$1" 0 3 | grep '^stream=event')")
        m=$blast
        for _ in 1 2 3 4 5 6 7 8; do
            p99=$(field p99_us "$(lat "$1" "$m" | grep '^stream=event')")
            [ "$p99" -lt 100000 ] && break
            m=$(( m * 8 / 10 ))
        done
        echo "$blast $m"
    }
    read -r blast max <<< "$(max_rate engine)"
    rmx=$(field recv_per_s "$(lat redis 0 3)")
    row "max sustainable rate, events/s (MQTT in)" "$max" "$rmx (Redis alone, blast)" "" \
        "p99 < 100 ms open loop; blast out-rate $blast"
    # The engine's floor: a low rate, far from saturation.
    out=$(latm engine 1000)
    ref=$(latm redis 1000)
    mq=$(latm mqtt 1000)
    pct0() { echo "$(( $(field p50_us "$1") ))/$(( $(field p99_us "$1") ))/$(( $(field p999_us "$1") ))"; }
    row "event -> Redis @1000/s p50/p99/p99.9 us" "$(pct0 "$(echo "$out" | grep '^stream=event')")" \
        "$(pct0 "$ref") Redis" "" "mosquitto alone $(pct0 "$mq")"
    row "window close -> Redis @1000/s p50/p99/p99.9 us" \
        "$(pct0 "$(echo "$out" | grep '^stream=window')")" "$(pct0 "$ref") Redis" "" \
        "$(field measured "$(echo "$out" | grep '^stream=window')") rows (100 per window)"
    pct() { echo "$(( $(field p50_us "$1") ))/$(( $(field p99_us "$1") ))/$(( $(field p999_us "$1") ))"; }
    for f in 50 80; do
        rate=$(( max * f / 100 ))
        out=$(latm engine "$rate")
        ev=$(echo "$out" | grep '^stream=event')
        wi=$(echo "$out" | grep '^stream=window')
        ref=$(latm redis "$rate")
        mq=$(latm mqtt "$rate")
        row "event -> Redis @$f % ($rate/s) p50/p99/p99.9 us" "$(pct "$ev")" "$(pct "$ref") Redis" "" \
            "p99 <= 5 ms; mosquitto alone $(pct "$mq")"
        row "window close -> Redis @$f % p50/p99/p99.9 us" "$(pct "$wi")" "$(pct "$ref") Redis" "" \
            "p99 <= 5 ms; $(field measured "$wi") rows (100 per window)"
    done
    # The same job without a broker in front: events appended to a file that the file source
    # follows (inotify), each line written at its due time. Its own maximum rate, found the
    # same way, and the same percentiles at 50 % and 80 % of it. The MQTT job is stopped
    # first so that it takes no CPU.
    kill "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
    : > "$tmp/lat_in.jsonl"
    sed -e "s|WITH (connector = 'mqtt'.*|WITH (connector = 'file', path = '$tmp/lat_in.jsonl', follow = 'true', idle_timeout = '1h');|" \
        "$tmp/lat.sql" > "$tmp/lat_file.sql"
    start_job lat_file
    read -r fblast fmax <<< "$(max_rate file)"
    row "max sustainable rate, events/s (file in)" "$fmax" "" "" \
        "p99 < 100 ms open loop; blast out-rate $fblast"
    for f in 50 80; do
        rate=$(( fmax * f / 100 ))
        out=$(latm file "$rate")
        row "file: event -> Redis @$f % ($rate/s) p50/p99/p99.9 us" \
            "$(pct "$(echo "$out" | grep '^stream=event')")" "" "" "p99 <= 5 ms; no broker"
        row "file: window close -> Redis @$f % p50/p99/p99.9 us" \
            "$(pct "$(echo "$out" | grep '^stream=window')")" "" "" "p99 <= 5 ms; no broker"
    done
else
    row "idle, latency" "skipped" "" "" "redis-server and mosquitto needed"
fi

if [ "$details" = 1 ]; then
    # Rings, aggregates, decoder, loading: their own programs print their own comparisons.
    for prog in bench_ring bench_agg bench_decode bench_load; do
        if [ -x "$b/$prog" ]; then
            printf '\n-- %s\n' "$prog"
            "$b/$prog" || { echo "$prog failed"; errors=$((errors + 1)); }
        fi
    done
    printf '\n-- redis sink\n'
    bash bench/bench_redis.sh "$b" || { echo "bench_redis failed"; errors=$((errors + 1)); }
    if command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ]; then
        printf '\n-- bench_mqtt.sh (N=100000)\n'
        N=100000 bench/bench_mqtt.sh $b || { echo "bench_mqtt.sh failed"; errors=$((errors + 1)); }
        printf '\n-- bench_mqtt.sh (N=100000, --state-dir)\n'
        N=100000 STATE_DIR=1 bench/bench_mqtt.sh $b ||
            { echo "bench_mqtt.sh failed"; errors=$((errors + 1)); }
    fi
fi

[ -e "$tmp/lat_error" ] && errors=$((errors + 1))
printf '\n%-46s | %-24s | %-24s | %-7s | %s\n' benchmark sluice reference ratio "target / notes"
printf '%s\n' "${table[@]}"
[ "$errors" = 0 ] || { echo "$errors benchmark programs failed" >&2; exit 1; }
