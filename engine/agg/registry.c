/*
 * registry.c - the list of aggregate functions. Adding one adds one line here.
 */
#include <stddef.h>
#include <strings.h>

#include "agg.h"

const struct sl_agg_ops *const sl_agg_registry[] = {
    NULL,
};

const struct sl_agg_ops *sl_agg_find(const char *name)
{
    for (int i = 0; sl_agg_registry[i] != NULL; i++) {
        if (strcasecmp(sl_agg_registry[i]->name, name) == 0) {
            return sl_agg_registry[i];
        }
    }
    return NULL;
}
