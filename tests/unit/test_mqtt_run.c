/*
 * test_mqtt_run.c - the MQTT source's ops without a broker: one partition per topic filter,
 * readiness false with the reason while nothing listens (and the reason names host:port and
 * the refused connection), its metrics registered (connected 0), a TLS file that cannot be
 * read refused at open, and close() returning promptly while the network thread backs off.
 * The broker-facing behaviour is covered by tests/integration/mqtt_source.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "connector.h"
#include "log.h"
#include "metrics.h"
#include "queries/front.h"
#include "queries/plan.h"
#include "runtime.h"

/* A loopback port with nothing listening: bound, never listened on, kept bound. */
static int closed_port(int *ret_fd)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *ret_fd = fd;
    return ntohs(a.sin_port);
}

static struct sl_catalog *load(const char *with)
{
    char q[1024];
    snprintf(q, sizeof(q),
             "CREATE SOURCE ev (temp DOUBLE) WITH (connector = 'mqtt', %s);\n"
             "CREATE SINK s WITH (connector = 'stdout') AS SELECT temp FROM ev;\n",
             with);
    struct sl_diags d = {0};
    struct sl_catalog *cat = NULL;
    int r = sl_front_load_text("case.sql", q, strlen(q), &cat, &d);
    if (r < 0) {
        sl_diags_print(&d, stderr);
    }
    sl_diags_fini(&d);
    assert_int_equal(r, 0);
    return cat;
}

static void test_not_connected(void **state)
{
    (void)state;
    int sfd;
    int port = closed_port(&sfd);
    char with[256];
    snprintf(with, sizeof(with),
             "url = 'mqtt://127.0.0.1:%d', topic = 'a/+, b/#, c', client_id = 'unit'", port);
    struct sl_catalog *cat = load(with);
    const struct sl_source *src = cat->sources[0];
    const struct sl_source_ops *ops = src->conn->source;
    assert_non_null(ops);
    assert_non_null(ops->ready);
    assert_non_null(ops->metrics);
    assert_false(ops->replay);

    void *st = NULL;
    int nparts = 0;
    struct sl_err err = {{0}};
    assert_int_equal(ops->open(src, &st, &nparts, &err), 0);
    assert_int_equal(nparts, 3);
    assert_false(ops->bounded(st));

    struct sl_metrics *m = NULL;
    assert_int_equal(sl_metrics_new(&m), 0);
    assert_int_equal(ops->metrics(st, m, "ev", &err), 0);
    double v = -1;
    assert_int_equal(sl_metrics_read(m, "sluice_mqtt_connected", SL_LABELS({"source", "ev"}), &v),
                     0);
    assert_true(v == 0.0);

    /* Poll readiness until the first refused attempt is recorded. */
    char reason[600], want[64];
    snprintf(want, sizeof(want), "source ev: not connected to 127.0.0.1:%d: ", port);
    bool refused = false;
    for (int i = 0; i < 500 && !refused; i++) {
        assert_false(ops->ready(st, reason, sizeof(reason)));
        assert_non_null(strstr(reason, want));
        refused = strstr(reason, "refused") != NULL;
        struct timespec ts = {.tv_nsec = 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_true(refused);
    int64_t t0 = sl_mono_ms();
    ops->close(st);
    assert_true(sl_mono_ms() - t0 < 2000); /* the backoff sleep is interrupted */
    sl_metrics_free(m);
    sl_catalog_free(cat);
    close(sfd);
}

static void test_tls_file_missing(void **state)
{
    (void)state;
    struct sl_catalog *cat =
        load("url = 'mqtts://localhost:8883', topic = 't', tls_ca = '/nonexistent/ca.pem'");
    const struct sl_source *src = cat->sources[0];
    void *st = NULL;
    int nparts = 0;
    struct sl_err err = {{0}};
    assert_true(src->conn->source->open(src, &st, &nparts, &err) < 0);
    assert_non_null(strstr(err.msg, "TLS"));
    assert_null(st);
    sl_catalog_free(cat);
}

int main(void)
{
    sl_log_configure(SL_LOG_ERROR, SL_LOG_TEXT, 2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_connected),
        cmocka_unit_test(test_tls_file_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
