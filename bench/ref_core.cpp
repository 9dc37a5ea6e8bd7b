// ref_core.cpp - the reference for the core benchmark (bench/run.sh): parse the same JSON
// Lines with simdjson On-Demand and fold the same fields into a hash table, as a lower bound
// for what file -> TUMBLE(10 s) GROUP BY device COUNT/AVG/MIN/MAX -> file can cost per event.
// Benchmark only; not part of Sluice.
//
// usage: ref_core FILE  -> prints "<windows> <events>" and writes nothing else.
#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <unordered_map>

struct agg {
    int64_t count = 0;
    double sum = 0, min = 0, max = 0;
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: ref_core FILE\n");
        return 2;
    }
    simdjson::padded_string data;
    if (simdjson::padded_string::load(argv[1]).get(data)) {
        std::fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    simdjson::ondemand::parser parser;
    simdjson::ondemand::document_stream docs;
    if (parser.iterate_many(data).get(docs)) {
        return 1;
    }
    std::unordered_map<std::string, agg> table;
    table.reserve(1 << 16);
    std::string key;
    int64_t events = 0;
    for (auto doc : docs) {
        std::string_view device;
        double temp;
        int64_t ts;
        if (doc["device"].get_string().get(device) || doc["temp"].get_double().get(temp) ||
            doc["ts"].get_int64().get(ts)) {
            continue;
        }
        int64_t w = ts >= 0 ? ts / 10000 : (ts - 9999) / 10000;
        key.assign(device);
        key.append(reinterpret_cast<const char *>(&w), sizeof(w));
        agg &a = table[key];
        if (a.count == 0 || temp < a.min) {
            a.min = temp;
        }
        if (a.count == 0 || temp > a.max) {
            a.max = temp;
        }
        a.count++;
        a.sum += temp;
        events++;
    }
    double check = 0;
    for (auto &kv : table) {
        check += kv.second.sum / kv.second.count + kv.second.min + kv.second.max;
    }
    std::printf("%zu %lld %.3f\n", table.size(), static_cast<long long>(events), check);
    return 0;
}
