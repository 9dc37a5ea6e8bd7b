/* datagen.h - the datagen source's runtime ops (datagen_run.c). */
#ifndef SL_CONN_DATAGEN_H
#define SL_CONN_DATAGEN_H

#include "engine/runtime.h"

extern const struct sl_source_ops sl_datagen_source_ops;

#endif
