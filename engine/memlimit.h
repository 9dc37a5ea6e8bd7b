/*
 * memlimit.h - the process memory budget (`sluice run --memory-limit`, SQL.md "The command
 * line"; DESIGN.md "State": beyond the budget new keys are refused and counted, existing keys
 * keep working).
 *
 * What is measured is the process's resident set (RSS, /proc/self/statm): what a container's
 * memory limit counts. Reading it is a syscall, so it is done off the hot path, by
 * sl_memlimit_refresh (the engine's main loop, every 100 ms). Between two refreshes the
 * shards account for what they add: each new group reserves an estimate of its bytes with
 * sl_memlimit_take (relaxed atomic adds and a compare, no syscall), and is refused when the
 * last measurement plus the reservations since would pass the threshold: the budget less a
 * headroom of 1/16 (at most 64 MiB) for growth no per-group estimate sees at once (a hash
 * table doubling, buffers). A refresh replaces the reservations by a new measurement and
 * calibrates the estimate: later reservations are scaled by how much the RSS really grew per
 * estimated byte (1x to 16x: keys stored apart, allocator rounding). So a burst of new keys
 * between two measurements cannot overshoot by more than the headroom.
 *
 * While over the budget the engine is degraded: sl_memlimit_ready says so (for /readyz) and
 * sluice_memory_refused_groups_total counts the groups refused. It recovers by itself when
 * closed windows have freed enough memory for the RSS to fall a sixteenth of the budget below
 * both the threshold and the RSS measured when refusing began (an estimate may say full
 * before the RSS gets to the threshold; recovering at the next measurement would then flap).
 *
 * The budget is process-wide: one per process, set at start-up. Without a budget (0) nothing
 * is refused and take() costs one load.
 */
#ifndef SL_MEMLIMIT_H
#define SL_MEMLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct sl_metrics;

/* Fixed per-group overhead added to the state block by the shards' estimate: the hash-table
 * slots (at most 75 % full, doubled when grown, both tables alive while rehashing), the
 * window bucket's pointer and the allocator's rounding. */
#define SL_MEMLIMIT_GROUP_OVERHEAD 96

/* The default budget: 80 % of the container's memory limit (cgroup v2 memory.max, else v1
 * memory.limit_in_bytes) when one is set, else 0 (none). Start-up. */
int64_t sl_memlimit_default(void);

/* Sets the budget in bytes (0: none) and takes a first measurement. Start-up, or tests. */
void sl_memlimit_set(int64_t bytes);
int64_t sl_memlimit_get(void);

/* Measures the RSS, replaces the reservations made since the last measurement, and updates
 * the over-budget state. One syscall (pread). Any one thread at a time (the main loop). */
void sl_memlimit_refresh(void);

/* Reserves bytes for a new group. Returns true when it fits the budget (or there is none),
 * false when the group must be refused (counted here). Hot path of the shards for new keys
 * only: no syscall, lock or allocation; any thread. */
bool sl_memlimit_take(size_t bytes);

/* The last measured RSS plus reservations since, in bytes. Any thread. */
uint64_t sl_memlimit_used(void);

/* Groups refused by the budget since start. Any thread. */
uint64_t sl_memlimit_refused(void);

/* Readiness: false with a reason ("degraded: memory limit: ...") while over the budget.
 * Thread-safe, does not block. */
bool sl_memlimit_ready(char *reason, size_t cap);

/* Registers sluice_memory_limit_bytes, sluice_memory_used_bytes (gauges) and
 * sluice_memory_refused_groups_total in m. Start-up. Returns 0 or a negative errno with err. */
int sl_memlimit_register_metrics(struct sl_metrics *m, struct sl_err *err);

#endif
