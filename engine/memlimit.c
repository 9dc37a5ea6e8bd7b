/*
 * memlimit.c - the process memory budget (see memlimit.h).
 *
 * State is a handful of process-wide atomics: the budget, the last RSS measurement, the bytes
 * reserved since, whether the last check found the process over budget, and the refusal
 * count. take() adds its reservation with a relaxed fetch_add and compares; refresh() reads
 * /proc/self/statm through a descriptor kept open (one pread), then subtracts the reservations
 * it saw before measuring, so that those made while it measured are counted twice rather
 * than not at all.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "memlimit.h"
#include "metrics.h"

static _Atomic int64_t limit_bytes;
static _Atomic uint64_t measured;
static _Atomic uint64_t reserved;     /* estimates since the last measurement, scaled */
static _Atomic uint64_t reserved_raw; /* the same, unscaled */
static _Atomic uint32_t scale = 16;   /* RSS growth per estimated byte, in 16ths */
static uint64_t last_rss;             /* refresh() only */
static uint64_t over_rss;             /* refresh() only: the RSS when refusing began, or 0 */
static atomic_bool over;
static _Atomic uint64_t refused;
static atomic_int statm_fd = -1;

/* The RSS in bytes, or 0 when it cannot be read. */
static uint64_t rss_now(void)
{
    int fd = atomic_load(&statm_fd);
    if (fd < 0) {
        fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            return 0;
        }
        int expect = -1;
        if (!atomic_compare_exchange_strong(&statm_fd, &expect, fd)) {
            close(fd);
            fd = expect;
        }
    }
    char buf[128];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0) {
        return 0;
    }
    buf[n] = '\0';
    unsigned long long vm = 0, rss = 0;
    if (sscanf(buf, "%llu %llu", &vm, &rss) != 2) {
        return 0;
    }
    return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* A cgroup limit file: bytes, or 0 for "max", unreadable or absurdly large (no limit). */
static int64_t read_limit(const char *path)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        return 0;
    }
    char buf[64] = "";
    char *ok = fgets(buf, sizeof(buf), f);
    fclose(f);
    if (ok == NULL || strncmp(buf, "max", 3) == 0) {
        return 0;
    }
    char *end;
    unsigned long long v = strtoull(buf, &end, 10);
    if (end == buf || v == 0 || v >= (1ULL << 60)) {
        return 0;
    }
    return (int64_t)v;
}

int64_t sl_memlimit_default(void)
{
    int64_t v = read_limit("/sys/fs/cgroup/memory.max");
    if (v == 0) {
        v = read_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    }
    return v / 5 * 4;
}

void sl_memlimit_set(int64_t bytes)
{
    atomic_store(&limit_bytes, bytes > 0 ? bytes : 0);
    atomic_store(&reserved, 0);
    atomic_store(&reserved_raw, 0);
    atomic_store(&scale, 16);
    atomic_store(&over, false);
    last_rss = 0;
    over_rss = 0;
    sl_memlimit_refresh();
}

int64_t sl_memlimit_get(void)
{
    return atomic_load_explicit(&limit_bytes, memory_order_relaxed);
}

/* What is refused beyond: the budget less a headroom for what no estimate sees at once (a
 * hash table doubling, buffers growing). */
static uint64_t threshold(int64_t lim)
{
    uint64_t head = (uint64_t)lim / 16;
    if (head > (64u << 20)) {
        head = 64u << 20;
    }
    return (uint64_t)lim - head;
}

void sl_memlimit_refresh(void)
{
    int64_t lim = atomic_load_explicit(&limit_bytes, memory_order_relaxed);
    uint64_t before = atomic_load_explicit(&reserved, memory_order_relaxed);
    uint64_t raw = atomic_load_explicit(&reserved_raw, memory_order_relaxed);
    uint64_t rss = rss_now();
    atomic_store_explicit(&measured, rss, memory_order_relaxed);
    atomic_fetch_sub_explicit(&reserved, before, memory_order_relaxed);
    atomic_fetch_sub_explicit(&reserved_raw, raw, memory_order_relaxed);
    /* Calibrate: when the groups reserved enough to measure, scale later estimates by how
     * much the RSS really grew per estimated byte (1x to 16x). */
    if (raw >= (1u << 20) && rss > last_rss) {
        uint64_t f = (rss - last_rss) * 16 / raw;
        atomic_store_explicit(&scale,
                              (uint32_t)(f < 16    ? 16
                                         : f > 256 ? 256
                                                   : f),
                              memory_order_relaxed);
    }
    last_rss = rss;
    if (rss == 0) {
        return; /* unreadable: the state stays as it was */
    }
    bool was = atomic_load_explicit(&over, memory_order_relaxed);
    bool now = lim > 0 && rss >= threshold(lim);
    if (was && over_rss == 0) {
        over_rss = rss; /* the first measurement since take()'s estimate said full */
    }
    /* Hysteresis: once over, new groups stay refused (and /readyz degraded) until the RSS
     * falls a sixteenth of the budget under the threshold and under the RSS at which refusing
     * began. The second bound matters when an estimate said full before the RSS got there:
     * without it the next measurement would accept groups again at once, and readiness would
     * flap every 100 ms while the process sits just under the threshold. */
    uint64_t floor = threshold(lim);
    if (over_rss != 0 && over_rss < floor) {
        floor = over_rss;
    }
    if (lim > 0 && was && rss + (uint64_t)lim / 16 < floor) {
        /* recovered: state was freed */
        atomic_store_explicit(&over, false, memory_order_relaxed);
        over_rss = 0;
        sl_log(SL_LOG_INFO, "memory",
               "back under the memory limit (%" PRIu64 " of %" PRId64 " bytes resident); "
               "new groups are accepted again",
               rss, lim);
    } else if (now && !was) {
        atomic_store_explicit(&over, true, memory_order_relaxed);
        over_rss = rss;
        sl_log(SL_LOG_WARN, "memory",
               "memory limit reached (%" PRIu64 " of %" PRId64
               " bytes resident): new groups are refused and counted as over_limit, existing "
               "ones keep working",
               rss, lim);
    }
}

bool sl_memlimit_take(size_t bytes)
{
    int64_t lim = atomic_load_explicit(&limit_bytes, memory_order_relaxed);
    if (lim <= 0) {
        return true;
    }
    if (!atomic_load_explicit(&over, memory_order_relaxed)) {
        uint64_t scaled = bytes * atomic_load_explicit(&scale, memory_order_relaxed) / 16;
        uint64_t res = atomic_fetch_add_explicit(&reserved, scaled, memory_order_relaxed) + scaled;
        if (atomic_load_explicit(&measured, memory_order_relaxed) + res < threshold(lim)) {
            atomic_fetch_add_explicit(&reserved_raw, bytes, memory_order_relaxed);
            return true;
        }
        atomic_fetch_sub_explicit(&reserved, scaled, memory_order_relaxed);
        /* the estimate says full before the next measurement does: degraded from now */
        atomic_store_explicit(&over, true, memory_order_relaxed);
    }
    atomic_fetch_add_explicit(&refused, 1, memory_order_relaxed);
    return false;
}

uint64_t sl_memlimit_used(void)
{
    return atomic_load_explicit(&measured, memory_order_relaxed) +
           atomic_load_explicit(&reserved, memory_order_relaxed);
}

uint64_t sl_memlimit_refused(void)
{
    return atomic_load_explicit(&refused, memory_order_relaxed);
}

bool sl_memlimit_ready(char *reason, size_t cap)
{
    if (!atomic_load_explicit(&over, memory_order_relaxed)) {
        return true;
    }
    snprintf(reason, cap,
             "degraded: memory limit: %" PRIu64 " of %" PRId64
             " bytes used; new groups are refused (%" PRIu64 " so far)",
             sl_memlimit_used(), sl_memlimit_get(), sl_memlimit_refused());
    return false;
}

static double g_limit(void *ud)
{
    (void)ud;
    return (double)sl_memlimit_get();
}

static double g_used(void *ud)
{
    (void)ud;
    return (double)sl_memlimit_used();
}

static double c_refused(void *ud)
{
    (void)ud;
    return (double)sl_memlimit_refused();
}

int sl_memlimit_register_metrics(struct sl_metrics *m, struct sl_err *err)
{
    int r;
    if ((r = sl_metrics_gauge_fn_register(m, "sluice_memory_limit_bytes",
                                          "The memory budget (--memory-limit); 0: none.",
                                          SL_NO_LABELS, g_limit, NULL, err)) < 0 ||
        (r = sl_metrics_gauge_fn_register(
             m, "sluice_memory_used_bytes",
             "Resident memory at the last measurement plus what new groups reserved since.",
             SL_NO_LABELS, g_used, NULL, err)) < 0 ||
        (r = sl_metrics_counter_fn_register(
             m, "sluice_memory_refused_groups_total",
             "New groups refused because the memory budget was reached (also counted per "
             "query in sluice_query_over_limit_total).",
             SL_NO_LABELS, c_refused, NULL, err)) < 0) {
        return r;
    }
    return 0;
}
