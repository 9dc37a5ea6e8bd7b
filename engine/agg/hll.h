/*
 * hll.h - the HyperLogLog of APPROX_COUNT_DISTINCT in Redis's own layout, for the redis sink's
 * hll_key option: what Sluice writes with SET is a key Redis readers PFCOUNT and PFMERGE with
 * keys built by PFADD of the same values' texts.
 *
 * Like every aggregate state, the state passed here belongs to one shard thread.
 */
#ifndef SL_AGG_HLL_H
#define SL_AGG_HLL_H

#include <stdint.h>

#include "engine/agg.h"
#include "engine/format.h"

/* Bytes of a Redis dense HyperLogLog: the 16-byte header and 16384 packed 6-bit registers. */
#define SL_HLL_REDIS_DENSE_SIZE (16 + 12288)

/* Appends to out Redis's dense representation of an APPROX_COUNT_DISTINCT state (sig as given
 * to the aggregate): "HYLL", encoding 0 (dense), 3 zero bytes, an 8-byte cached cardinality
 * marked invalid (the top bit of its last byte set: Redis recomputes it), then the 16384
 * registers, 6 bits each, in Redis's bit order. A state still in its exact mode (64 values or
 * fewer) is turned into registers from its hashes. Returns 0, or -ENOMEM (out unchanged),
 * -EINVAL if the state lost values to a failed allocation (its count is unknown). */
int sl_hll_redis_dense(const void *state, const struct sl_agg_sig *sig, struct sl_buf *out);

/* Redis's MurmurHash64A (its seed for HyperLogLog is 0xadc83b19). */
uint64_t sl_hll_murmur64a(const void *key, size_t len, uint64_t seed);

#endif
