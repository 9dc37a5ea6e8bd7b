/*
 * mqtt.c - the MQTT source: its option table and load-time checks.
 *
 * Options follow SQL.md ("Sources"). The checks refuse what the runtime cannot honour: a URL
 * that is not mqtt:// or mqtts:// host[:port], QoS 2 (crash safety relies on QoS 1
 * redelivery, DESIGN.md "Delivery guarantees"), shared subscriptions on MQTT 3.1.1, TLS files
 * without mqtts://, and malformed topic filters. The runtime (libmosquitto) is built later in
 * mqtt_run.c and plugs into .source.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "connectors/conn_util.h"
#include "connectors/mqtt/mqtt_run.h"
#include "queries/plan.h"

static const struct sl_option_def mqtt_source_options[] = {
    {.name = "url",
     .type = SL_OPT_STRING,
     .flags = SL_OPT_REQUIRED,
     .help = "Broker address, mqtt://host[:port] (default port 1883) or mqtts://host[:port] "
             "(TLS, default port 8883)."},
    {.name = "topic",
     .type = SL_OPT_STRING,
     .flags = SL_OPT_REQUIRED,
     .help = "Comma-separated topic filters to subscribe to; '+' matches one level, '#' the "
             "rest."},
    {.name = "qos",
     .type = SL_OPT_INT,
     .def = "1",
     .min = 0,
     .max = 2,
     .help = "Subscription QoS: 1 (at least once, crash-safe with --state-dir) or 0; 2 is "
             "refused in v1."},
    {.name = "protocol",
     .type = SL_OPT_ENUM,
     .def = "5",
     .choices = "5|3.1.1",
     .help = "MQTT protocol version."},
    {.name = "client_id",
     .type = SL_OPT_STRING,
     .doc_default = "sluice-<source>-<hostname>",
     .help = "Client identifier; it names the broker's persistent session, so keep it stable "
             "across restarts."},
    {.name = "session_expiry",
     .type = SL_OPT_DURATION,
     .def = "1h",
     .min = 0,
     .max = (int64_t)UINT32_MAX * 1000,
     .help = "How long the broker keeps the session and queues QoS 1 messages while Sluice is "
             "away (MQTT 5 Session Expiry Interval)."},
    {.name = "receive_maximum",
     .type = SL_OPT_INT,
     .def = "100",
     .min = 1,
     .max = 65535,
     .help = "QoS 1 messages the broker may send before Sluice acknowledges them (MQTT 5 "
             "Receive Maximum)."},
    {.name = "retained",
     .type = SL_OPT_ENUM,
     .def = "ignore",
     .choices = "ignore|accept",
     .help = "Whether retained messages delivered on subscribe are processed as events."},
    {.name = "username", .type = SL_OPT_STRING, .help = "User name for broker authentication."},
    {.name = "password",
     .type = SL_OPT_STRING,
     .flags = SL_OPT_SECRET,
     .help = "Password for broker authentication; write '${file:/run/secrets/…}' to keep it "
             "out of the query file."},
    {.name = "tls_ca",
     .type = SL_OPT_STRING,
     .help = "Path of the CA certificate file (PEM) that signs the broker's certificate; the "
             "system store by default. mqtts:// only."},
    {.name = "tls_cert",
     .type = SL_OPT_STRING,
     .help = "Path of the client certificate (PEM) for mutual TLS; needs tls_key. mqtts:// "
             "only."},
    {.name = "tls_key",
     .type = SL_OPT_STRING,
     .help = "Path of the client private key (PEM) for mutual TLS; needs tls_cert. mqtts:// "
             "only."},
    {.name = "keepalive",
     .type = SL_OPT_DURATION,
     .def = "30s",
     .min = 5000,
     .max = 65535000,
     .help = "Keepalive interval of the connection."},
    {.name = "shared_group",
     .type = SL_OPT_STRING,
     .help = "Subscribe as $share/<group>/<filter> so that replicas with the same group split "
             "the messages (MQTT 5 only)."},
    {.name = "format",
     .type = SL_OPT_ENUM,
     .def = "json",
     .choices = "json",
     .help = "Payload format: one JSON object per message."},
    {.name = NULL},
};

/* Checks mqtt[s]://host[:port][/]; sets *ret_tls. */
static int check_url(const char *url, bool *ret_tls)
{
    const char *rest;
    bool tls;
    if (sl__conn_has_scheme(url, "mqtts://")) {
        rest = url + 8;
        tls = true;
    } else if (sl__conn_has_scheme(url, "mqtt://")) {
        rest = url + 7;
        tls = false;
    } else {
        return -EINVAL;
    }
    size_t len = strlen(rest);
    if (len > 0 && rest[len - 1] == '/') {
        len--;
    }
    if (sl__conn_hostport(rest, len, false) < 0) {
        return -EINVAL;
    }
    *ret_tls = tls;
    return 0;
}

/* Checks one topic filter (MQTT 5 section 4.7); returns NULL or what is wrong. */
static const char *check_filter(const char *f, size_t len)
{
    if (len == 0) {
        return "a filter is empty";
    }
    if (len > 65535) {
        return "a filter is longer than 65535 bytes";
    }
    size_t level = 0; /* start of the current level */
    for (size_t i = 0; i <= len; i++) {
        if (i == len || f[i] == '/') {
            size_t n = i - level;
            bool has_plus = memchr(f + level, '+', n) != NULL;
            bool has_hash = memchr(f + level, '#', n) != NULL;
            if (has_plus && n != 1) {
                return "'+' must be a whole level";
            }
            if (has_hash && (n != 1 || i != len)) {
                return "'#' must be a whole level and the last one";
            }
            level = i + 1;
        }
    }
    return NULL;
}

static int mqtt_check_source(const struct sl_source *src, sl_opt_report_fn report, void *ud)
{
    const struct sl_options *o = &src->opts;
    int errors = 0;
    struct sl_msgbuf tmp;
    sl_msgbuf_init(&tmp);

    bool tls = false;
    const char *url = sl_options_str(o, "url");
    if (url != NULL) {
        if (strchr(url, '@') != NULL &&
            (sl__conn_has_scheme(url, "mqtt://") || sl__conn_has_scheme(url, "mqtts://"))) {
            sl__conn_report(report, ud, o, "url",
                            "option 'url' must not carry credentials: give them as username "
                            "and password");
            errors++;
        } else if (check_url(url, &tls) < 0) {
            sl__conn_report(report, ud, o, "url",
                            "option 'url' must be mqtt://host[:port] or mqtts://host[:port], "
                            "got '%s'",
                            sl__conn_shown(&tmp, url));
            errors++;
        }
    }

    const char *topic = sl_options_str(o, "topic");
    const char *cur = topic, *f;
    size_t n;
    while (cur != NULL && sl__conn_list_next(&cur, &f, &n)) {
        const char *why = check_filter(f, n);
        if (why != NULL) {
            struct sl_msgbuf fb;
            sl_msgbuf_init(&fb);
            sl_msgbuf_putn(&fb, f, n);
            sl__conn_report(report, ud, o, "topic", "option 'topic' has an invalid filter '%s': %s",
                            sl__conn_shown(&tmp, sl_msgbuf_str(&fb)), why);
            sl_msgbuf_fini(&fb);
            errors++;
            break;
        }
    }

    if (sl_options_int(o, "qos", 1) == 2) {
        sl__conn_report(report, ud, o, "qos",
                        "QoS 2 is refused in v1: Sluice's crash safety relies on QoS 1 "
                        "redelivery; use qos = '1'");
        errors++;
    }

    bool v5 = sl_options_int(o, "protocol", 0) == 0; /* index 0 of "5|3.1.1" */
    const char *group = sl_options_str(o, "shared_group");
    if (group != NULL) {
        if (!v5) {
            sl__conn_report(report, ud, o, "shared_group",
                            "option 'shared_group' needs protocol = '5': shared subscriptions "
                            "are an MQTT 5 feature");
            errors++;
        } else if (*group == '\0' || strpbrk(group, "/+#") != NULL) {
            sl__conn_report(report, ud, o, "shared_group",
                            "option 'shared_group' must be a group name without '/', '+' or "
                            "'#', got '%s'",
                            sl__conn_shown(&tmp, group));
            errors++;
        }
    }

    if (url != NULL && !tls) {
        static const char *const tls_opts[] = {"tls_ca", "tls_cert", "tls_key"};
        for (size_t i = 0; i < SL_ARRAY_LEN(tls_opts); i++) {
            if (sl_options_get(o, tls_opts[i]) != NULL) {
                sl__conn_report(report, ud, o, tls_opts[i],
                                "option '%s' needs an mqtts:// url: TLS is off for mqtt://",
                                tls_opts[i]);
                errors++;
            }
        }
    }
    bool cert = sl_options_get(o, "tls_cert") != NULL;
    bool key = sl_options_get(o, "tls_key") != NULL;
    if (cert != key) {
        sl__conn_report(report, ud, o, cert ? "tls_cert" : "tls_key",
                        "option '%s' needs option '%s': a client certificate and its key go "
                        "together",
                        cert ? "tls_cert" : "tls_key", cert ? "tls_key" : "tls_cert");
        errors++;
    }
    if (!v5 && sl_options_get(o, "password") != NULL && sl_options_get(o, "username") == NULL) {
        sl__conn_report(report, ud, o, "password",
                        "option 'password' needs option 'username' with protocol 3.1.1");
        errors++;
    }
    const char *client_id = sl_options_str(o, "client_id");
    if (client_id != NULL && *client_id == '\0') {
        sl__conn_report(report, ud, o, "client_id", "option 'client_id' must not be empty");
        errors++;
    }

    sl_msgbuf_fini(&tmp);
    return errors;
}

const struct sl_connector sl_connector_mqtt = {
    .name = "mqtt",
    .summary = "Subscribes to MQTT topic filters (MQTT 5 or 3.1.1, QoS 1, persistent session).",
    .source_options = mqtt_source_options,
    .sink_options = NULL,
    .check_source = mqtt_check_source,
    .source = &sl_mqtt_source_ops,
};
