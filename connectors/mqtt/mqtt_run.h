/* mqtt_run.h - the MQTT source's runtime ops (mqtt_run.c). */
#ifndef SL_CONN_MQTT_H
#define SL_CONN_MQTT_H

#include "engine/runtime.h"

extern const struct sl_source_ops sl_mqtt_source_ops;

#endif
