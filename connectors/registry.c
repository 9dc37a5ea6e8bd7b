/*
 * registry.c - the list of connectors. Adding a connector adds one line here.
 */
#include <stddef.h>
#include <strings.h>

#include "engine/connector.h"

const struct sl_connector *const sl_connectors[] = {
    NULL,
};

const struct sl_connector *sl_connector_find(const char *name)
{
    for (int i = 0; sl_connectors[i] != NULL; i++) {
        if (strcasecmp(sl_connectors[i]->name, name) == 0) {
            return sl_connectors[i];
        }
    }
    return NULL;
}
