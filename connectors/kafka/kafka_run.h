/* kafka_run.h - the Kafka source's runtime ops (kafka_run.c) and its commit record format. */
#ifndef SL_CONN_KAFKA_H
#define SL_CONN_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include "engine/runtime.h"

extern const struct sl_source_ops sl_kafka_source_ops;

/* The commit metadata of one partition: "sluice:1;done=<ms>;wm=<ms>;hi=<offset>", an empty
 * value for SL_POS_NONE. Writes at most cap bytes, NUL included; returns the length. */
size_t sl__kafka_meta_format(char *buf, size_t cap, int64_t done, int64_t wm, int64_t hi);

/* Parses commit metadata written by sl__kafka_meta_format (fields in any order, unknown
 * fields ignored, hi required). Returns 0 and the values, -ENOENT when it is not a Sluice
 * record (another tool committed), -EINVAL when it is one but malformed. */
int sl__kafka_meta_parse(const char *s, size_t len, int64_t *ret_done, int64_t *ret_wm,
                         int64_t *ret_hi);

#endif
