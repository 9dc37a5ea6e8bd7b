// ref_simdjson.cpp - the reference side of bench_decode: simdjson 3 parsing the same lines.
//
// Benchmark only (C++, Debian libsimdjson-dev). Two runs per call:
//  - On-Demand: iterate the line and read the same fields the Sluice decoder projects. Note
//    that On-Demand validates only what it visits (it skips unvisited values by bracket
//    counting), so it does less checking than sl_decode, which validates every byte.
//  - DOM: a full parse of each line into a tape, which validates the whole document.
#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <ctime>

extern "C" double sl_bench_simdjson_ondemand(const char *buf, const size_t *off, size_t n, int reps,
                                             uint64_t *ret_check);
extern "C" double sl_bench_simdjson_dom(const char *buf, const size_t *off, size_t n, int reps,
                                        uint64_t *ret_check);

// Thread CPU time, as in bench_decode.c: time spent descheduled on a shared machine is not
// counted.
static double now_ns()
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

// buf holds the lines back to back, followed by SIMDJSON_PADDING readable bytes, so every
// line is readable SIMDJSON_PADDING bytes past its end. Returns ns per line.
extern "C" double sl_bench_simdjson_ondemand(const char *buf, const size_t *off, size_t n, int reps,
                                             uint64_t *ret_check)
{
    simdjson::ondemand::parser parser;
    uint64_t check = 0;
    double t0 = now_ns();
    for (int r = 0; r < reps; r++) {
        for (size_t i = 0; i < n; i++) {
            size_t len = off[i + 1] - off[i] - 1; // without the newline
            simdjson::padded_string_view v(buf + off[i], len, len + simdjson::SIMDJSON_PADDING);
            auto doc = parser.iterate(v);
            std::string_view dev;
            int64_t ts;
            double temp, hum;
            bool ok;
            std::string_view site;
            if (doc["device"].get_string().get(dev) || doc["ts"].get_int64().get(ts) ||
                doc["temp"].get_double().get(temp) || doc["hum"].get_double().get(hum) ||
                doc["ok"].get_bool().get(ok) || doc["meta"]["site"].get_string().get(site)) {
                continue;
            }
            check += (uint64_t)ts + dev.size() + site.size() + (uint64_t)temp + (uint64_t)hum + ok;
        }
    }
    double t1 = now_ns();
    *ret_check = check;
    return (t1 - t0) / ((double)n * reps);
}

extern "C" double sl_bench_simdjson_dom(const char *buf, const size_t *off, size_t n, int reps,
                                        uint64_t *ret_check)
{
    simdjson::dom::parser parser;
    uint64_t check = 0;
    double t0 = now_ns();
    for (int r = 0; r < reps; r++) {
        for (size_t i = 0; i < n; i++) {
            size_t len = off[i + 1] - off[i] - 1;
            simdjson::dom::element doc;
            if (parser.parse(reinterpret_cast<const uint8_t *>(buf + off[i]), len, false)
                    .get(doc)) {
                continue;
            }
            int64_t ts;
            if (doc["ts"].get_int64().get(ts) == simdjson::SUCCESS) {
                check += (uint64_t)ts;
            }
        }
    }
    double t1 = now_ns();
    *ret_check = check;
    return (t1 - t0) / ((double)n * reps);
}
