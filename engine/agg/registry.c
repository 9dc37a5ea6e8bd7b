/*
 * registry.c - the list of aggregate functions. Adding one adds one line here (and its
 * declaration below); each is defined in its own file in engine/agg/.
 */
#include <stddef.h>
#include <strings.h>

#include "agg.h"

extern const struct sl_agg_ops sl_agg_count, sl_agg_sum, sl_agg_avg, sl_agg_min, sl_agg_max,
    sl_agg_stddev_pop, sl_agg_stddev_samp, sl_agg_var_pop, sl_agg_var_samp, sl_agg_first_value,
    sl_agg_last_value, sl_agg_count_distinct, sl_agg_percentile, sl_agg_approx_percentile,
    sl_agg_approx_count_distinct, sl_agg_topk, sl_agg_rate;

const struct sl_agg_ops *const sl_agg_registry[] = {
    &sl_agg_count,
    &sl_agg_sum,
    &sl_agg_avg,
    &sl_agg_min,
    &sl_agg_max,
    &sl_agg_stddev_pop,
    &sl_agg_stddev_samp,
    &sl_agg_var_pop,
    &sl_agg_var_samp,
    &sl_agg_first_value,
    &sl_agg_last_value,
    &sl_agg_count_distinct,
    &sl_agg_percentile,
    &sl_agg_approx_percentile,
    &sl_agg_approx_count_distinct,
    &sl_agg_topk,
    &sl_agg_rate,
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
