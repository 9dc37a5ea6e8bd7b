/*
 * timefmt.h - event-time parsing and formatting (UTC, milliseconds since the epoch).
 *
 * Shared by the JSON decoder (TIMESTAMP columns, timestamp_format) and the scalar functions
 * TO_TIMESTAMP / FORMAT_TIMESTAMP. Pure functions, any thread.
 */
#ifndef SL_TIMEFMT_H
#define SL_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* Parses RFC 3339 ("2024-05-01T12:00:00Z", "…T12:00:00.123456+02:00", 't'/'z' and a space
 * for 'T' accepted). Sub-millisecond digits are floored (toward -infinity). Years 0001-9999.
 * Returns 0 and *ret_ms, or -EINVAL. */
int sl_parse_rfc3339(const char *s, size_t len, int64_t *ret_ms);

/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 bytes + NUL) for ms within years 0001-9999; returns
 * the length, or -ERANGE outside them. cap must be at least 25. */
int sl_format_rfc3339(int64_t ms, char *buf, size_t cap);

/* Days since 1970-01-01 of a civil date, and back (proleptic Gregorian). */
int64_t sl_days_from_civil(int64_t y, unsigned m, unsigned d);
void sl_civil_from_days(int64_t z, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d);

#endif
