/*
 * kafka.c - the Kafka source: its option table and load-time checks.
 *
 * Options follow SQL.md ("Sources"); any librdkafka consumer setting passes through as
 * properties.<name>, except the few that Sluice owns because its delivery guarantees depend
 * on them (offsets are committed by Sluice after the sinks deliver, DESIGN.md "Kafka"). Each
 * property is also handed to a throw-away librdkafka configuration at load, so an unknown name
 * or a bad value is a load-time error (no socket is opened). The runtime is kafka_run.c.
 */
#include <ctype.h>
#include <librdkafka/rdkafka.h>
#include <string.h>
#include <strings.h>

#include "connectors/conn_util.h"
#include "connectors/kafka/kafka_run.h"
#include "queries/plan.h"

static const struct sl_option_def kafka_source_options[] = {
    {.name = "brokers",
     .type = SL_OPT_STRING,
     .flags = SL_OPT_REQUIRED,
     .help = "Bootstrap brokers, a comma-separated list of host:port."},
    {.name = "topic",
     .type = SL_OPT_STRING,
     .flags = SL_OPT_REQUIRED,
     .help = "Comma-separated topics to consume (a name starting with '^' is a regular "
             "expression)."},
    {.name = "group_id",
     .type = SL_OPT_STRING,
     .doc_default = "sluice-<source>",
     .help = "Consumer group; replicas with the same group split the partitions."},
    {.name = "start",
     .type = SL_OPT_ENUM,
     .def = "committed",
     .choices = "earliest|latest|committed",
     .help = "Where to begin reading: the group's committed offsets (falling back to earliest "
             "where there are none), the earliest or the latest offset."},
    {.name = "format",
     .type = SL_OPT_ENUM,
     .def = "json",
     .choices = "json",
     .help = "Payload format: one JSON object per message."},
    {.name = "consumer_threads",
     .type = SL_OPT_INT,
     .def = "2",
     .min = 1,
     .max = 64,
     .help = "Threads that fetch and decode messages, each owning a share of the partitions "
             "(its own partition queues); no more than the partitions are started. One "
             "thread reads every partition through librdkafka's single consumer queue, "
             "whose prefetch limits apply to all partitions together."},
    {.name = "properties.",
     .type = SL_OPT_STRING,
     .flags = SL_OPT_PREFIX,
     .help = "Any librdkafka consumer setting, e.g. properties.security.protocol = "
             "'SASL_SSL', properties.sasl.password = '${file:/run/secrets/kafka}'; "
             "session.timeout.ms defaults to 10000 here."},
    {.name = NULL},
};

/* librdkafka settings that Sluice sets itself, and what to use instead. */
static const struct {
    const char *name;
    const char *why;
} owned[] = {
    {"bootstrap.servers", "use option brokers"},
    {"metadata.broker.list", "use option brokers"},
    {"group.id", "use option group_id"},
    {"enable.auto.commit", "Sluice commits offsets itself once the sinks have delivered"},
    {"enable.auto.offset.store", "Sluice stores offsets itself once the sinks have delivered"},
    {"auto.offset.reset", "use option start"},
};

static int check_brokers(const char *s)
{
    const char *cur = s, *item;
    size_t n;
    while (sl__conn_list_next(&cur, &item, &n)) {
        if (sl__conn_hostport(item, n, true) < 0) {
            return -EINVAL;
        }
    }
    return 0;
}

static int kafka_check_source(const struct sl_source *src, sl_opt_report_fn report, void *ud)
{
    const struct sl_options *o = &src->opts;
    int errors = 0;
    struct sl_msgbuf tmp;
    sl_msgbuf_init(&tmp);

    const char *brokers = sl_options_str(o, "brokers");
    if (brokers != NULL && check_brokers(brokers) < 0) {
        sl__conn_report(report, ud, o, "brokers",
                        "option 'brokers' must be a comma-separated list of host:port, got "
                        "'%s'",
                        sl__conn_shown(&tmp, brokers));
        errors++;
    }

    const char *topic = sl_options_str(o, "topic");
    const char *cur = topic, *p;
    size_t n;
    while (cur != NULL && sl__conn_list_next(&cur, &p, &n)) {
        bool ok = n > 0 && (p[0] == '^' || n <= 249);
        for (size_t i = 0; ok && p[0] != '^' && i < n; i++) {
            unsigned char c = (unsigned char)p[i];
            ok = isalnum(c) || c == '.' || c == '_' || c == '-';
        }
        if (!ok) {
            struct sl_msgbuf tb;
            sl_msgbuf_init(&tb);
            sl_msgbuf_putn(&tb, p, n);
            sl__conn_report(report, ud, o, "topic",
                            "option 'topic' has an invalid topic name '%s': Kafka topic "
                            "names are 1 to 249 letters, digits, '.', '_' and '-'",
                            sl__conn_shown(&tmp, sl_msgbuf_str(&tb)));
            sl_msgbuf_fini(&tb);
            errors++;
            break;
        }
    }

    const char *group = sl_options_str(o, "group_id");
    if (group != NULL && *group == '\0') {
        sl__conn_report(report, ud, o, "group_id", "option 'group_id' must not be empty");
        errors++;
    }

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    for (int i = 0; i < o->n; i++) {
        const struct sl_opt_value *v = &o->v[i];
        if (v->def == NULL || !(v->def->flags & SL_OPT_PREFIX)) {
            continue;
        }
        const char *prop = v->name + strlen(v->def->name);
        bool is_owned = false;
        for (size_t k = 0; k < SL_ARRAY_LEN(owned); k++) {
            if (strcasecmp(prop, owned[k].name) == 0) {
                if (report != NULL) {
                    struct sl_msgbuf b;
                    sl_msgbuf_init(&b);
                    sl_msgbuf_printf(&b, "option '%s%s' is set by Sluice: %s", v->def->name,
                                     owned[k].name, owned[k].why);
                    report(ud, v->index, sl_msgbuf_str(&b));
                    sl_msgbuf_fini(&b);
                }
                errors++;
                is_owned = true;
            }
        }
        /* plugin.library.paths would load a library now: checked when the source opens. */
        char e[512];
        if (!is_owned && conf != NULL && strcasecmp(prop, "plugin.library.paths") != 0 &&
            v->str != NULL &&
            rd_kafka_conf_set(conf, prop, v->str, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
            if (report != NULL) {
                struct sl_msgbuf b;
                sl_msgbuf_init(&b);
                sl_msgbuf_printf(&b, "option '%s': %s", v->name, e);
                report(ud, v->index, sl_msgbuf_str(&b));
                sl_msgbuf_fini(&b);
            }
            errors++;
        }
    }
    if (conf != NULL) {
        rd_kafka_conf_destroy(conf);
    }

    sl_msgbuf_fini(&tmp);
    return errors;
}

const struct sl_connector sl_connector_kafka = {
    .name = "kafka",
    .summary = "Consumes Kafka topics in a consumer group; offsets are committed only after "
               "the sinks have delivered.",
    .source_options = kafka_source_options,
    .sink_options = NULL,
    .check_source = kafka_check_source,
    .source = &sl_kafka_source_ops,
};
