/*
 * value.c - names of SQL types.
 */
#include "value.h"

const char *sl_type_name(enum sl_type t)
{
    switch (t) {
    case SL_TYPE_NULL:
        return "NULL";
    case SL_TYPE_BOOLEAN:
        return "BOOLEAN";
    case SL_TYPE_BIGINT:
        return "BIGINT";
    case SL_TYPE_DOUBLE:
        return "DOUBLE";
    case SL_TYPE_TEXT:
        return "TEXT";
    case SL_TYPE_TIMESTAMP:
        return "TIMESTAMP";
    case SL_TYPE_INTERVAL:
        return "INTERVAL";
    }
    return "?";
}
