/*
 * keys.h - canonical byte form of group keys and of values carried through rings.
 *
 * A group key (the GROUP BY values of one event) is encoded once, in the source thread,
 * into a compact byte string: per value a type byte, then nothing for NULL, 8 bytes for
 * numbers/timestamps, 1 for booleans, or a 4-byte length and the bytes for TEXT. Equal keys
 * have equal bytes (NULLs equal each other: GROUP BY semantics), so shards hash and compare
 * bytes only and decode a key back into values only when a row is emitted.
 *
 * Pure functions, any thread; nothing allocates.
 */
#ifndef SL_KEYS_H
#define SL_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "value.h"

/* Bytes needed to encode vals[0..n). */
size_t sl_key_size(const struct sl_value *vals, int n);
/* Encodes vals into out (sl_key_size bytes); returns the length. */
size_t sl_key_encode(const struct sl_value *vals, int n, uint8_t *out);
/* Decodes n values from key; TEXT values point into key. Returns bytes consumed. */
size_t sl_key_decode(const uint8_t *key, int n, struct sl_value *ret_vals);
/* Total order for result rows: NULL first, numbers by value, TEXT by bytes, false < true. */
int sl_value_cmp(const struct sl_value *a, const struct sl_value *b);
int sl_key_cmp(const uint8_t *a, const uint8_t *b, int n);

/* Two words summarising an encoded key of n values (n >= 0) for sorting: where the words of
 * two keys differ, their unsigned order is sl_key_cmp's; equal words say nothing. They hold
 * the first value when it is TEXT (its first 16 bytes, zero-padded) or BIGINT/TIMESTAMP, and
 * are zero otherwise. */
void sl_key_prefix(const uint8_t *key, int n, uint64_t out[2]);

/* 64-bit hash of bytes (wyhash-style mixing); seed distinguishes uses. */
uint64_t sl_hash_bytes(const void *p, size_t len, uint64_t seed);

static inline uint64_t sl_hash_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

#endif
