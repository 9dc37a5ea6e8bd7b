/*
 * registry.c - the list of connectors. Adding a connector adds one line here (and its
 * extern declaration); the engine and the front end know connectors only through it.
 */
#include <stddef.h>
#include <strings.h>

#include "engine/connector.h"

extern const struct sl_connector sl_connector_mqtt;
extern const struct sl_connector sl_connector_kafka;
extern const struct sl_connector sl_connector_datagen;
extern const struct sl_connector sl_connector_file;
extern const struct sl_connector sl_connector_redis;
extern const struct sl_connector sl_connector_lambda;
extern const struct sl_connector sl_connector_stdout;

const struct sl_connector *const sl_connectors[] = {
    &sl_connector_mqtt,  &sl_connector_kafka,  &sl_connector_datagen, &sl_connector_file,
    &sl_connector_redis, &sl_connector_lambda, &sl_connector_stdout,  NULL,
};

const struct sl_connector *sl_connector_find(const char *name)
{
    if (name == NULL) {
        return NULL;
    }
    for (int i = 0; sl_connectors[i] != NULL; i++) {
        if (strcasecmp(sl_connectors[i]->name, name) == 0) {
            return sl_connectors[i];
        }
    }
    return NULL;
}
