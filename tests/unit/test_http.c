/*
 * test_http.c - the HTTP endpoint, driven over plain sockets written here (no shared client
 * code): each path and method, HEAD, keep-alive, 404/405, readiness turning 503, oversized
 * requests refused, many concurrent connections, the connection limit holding and recovering,
 * address parsing, "off", and a port already in use. Expected bodies are written by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "http.h"
#include "log.h"
#include "metrics.h"

static const char *const reasons[] = {"degraded: memory limit", "source telemetry: not connected"};

struct fixture {
    struct sl_metrics *m;
    struct sl_http *http;
    int port;
    _Atomic int not_ready; /* 0 ready, else 1 + index into reasons */
    _Atomic int asked;
};

static bool readiness(void *ud, char *reason, size_t cap)
{
    struct fixture *fx = ud;
    atomic_fetch_add(&fx->asked, 1);
    int nr = atomic_load(&fx->not_ready);
    if (nr == 0) {
        return true;
    }
    snprintf(reason, cap, "%s", reasons[nr - 1]);
    return false;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    struct sl_counter *c;
    struct sl_err err;
    sl_log_configure(SL_LOG_ERROR, SL_LOG_TEXT, 2);
    assert_int_equal(sl_metrics_new(&fx->m), 0);
    assert_int_equal(sl_metrics_counter_register(fx->m, "sluice_test_total", "A test counter.",
                                                 SL_LABELS({"k", "v"}), &c, &err),
                     0);
    sl_counter_sw_add(c, 5);
    int r = sl_http_start("127.0.0.1:0", fx->m, readiness, fx, &fx->http, &err);
    if (r < 0) {
        fail_msg("start: %s", err.msg);
    }
    fx->port = sl_http_port(fx->http);
    assert_true(fx->port > 0 && fx->port < 65536);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    sl_http_stop(fx->http);
    sl_metrics_free(fx->m);
    free(fx);
    return 0;
}

/* ---- a minimal HTTP client ---- */

static const char metrics_body[] = "# HELP sluice_test_total A test counter.\n"
                                   "# TYPE sluice_test_total counter\n"
                                   "sluice_test_total{k=\"v\"} 5\n";

struct resp {
    int status; /* 0: the connection closed (or timed out) without an answer */
    char head[4096];
    char body[8192];
    size_t body_len;
};

static int connect_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void send_str(int fd, const char *s)
{
    size_t n = strlen(s), off = 0;
    while (off < n) {
        ssize_t w = send(fd, s + off, n - off, MSG_NOSIGNAL);
        assert_true(w > 0);
        off += (size_t)w;
    }
}

/* Value of header name in r->head (case-insensitive name), or NULL. */
static const char *header(struct resp *r, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *p = strstr(r->head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
            const char *v = p + 3 + n;
            while (*v == ' ') {
                v++;
            }
            size_t len = strcspn(v, "\r\n");
            snprintf(out, cap, "%.*s", (int)len, v);
            return out;
        }
    }
    return NULL;
}

/* Reads one response: the head, then Content-Length bytes of body (none for HEAD). */
static void read_response(int fd, bool head_only, struct resp *r)
{
    memset(r, 0, sizeof(*r));
    char buf[16384];
    size_t len = 0;
    char *end = NULL;
    while (end == NULL) {
        ssize_t got = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (got <= 0) {
            return; /* closed, reset or timed out: status 0 */
        }
        len += (size_t)got;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    size_t head_len = (size_t)(end - buf) + 2;
    assert_true(head_len < sizeof(r->head));
    memcpy(r->head, buf, head_len);
    r->head[head_len] = '\0';
    assert_int_equal(sscanf(r->head, "HTTP/1.%*d %d", &r->status), 1);
    char cl[32];
    size_t want = 0;
    if (!head_only && header(r, "Content-Length", cl, sizeof(cl)) != NULL) {
        want = strtoul(cl, NULL, 10);
    }
    assert_true(want < sizeof(r->body));
    size_t have = len - head_len - 2;
    memcpy(r->body, end + 4, have);
    while (have < want) {
        ssize_t got = recv(fd, r->body + have, want - have, 0);
        assert_true(got > 0);
        have += (size_t)got;
    }
    assert_int_equal(have, want);
    r->body_len = have;
    r->body[have] = '\0';
}

static void request(int port, const char *raw, struct resp *r)
{
    int fd = connect_port(port);
    assert_true(fd >= 0);
    send_str(fd, raw);
    read_response(fd, strncmp(raw, "HEAD ", 5) == 0, r);
    close(fd);
}

static void get(int port, const char *path, struct resp *r)
{
    char raw[512];
    snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);
    request(port, raw, r);
}

/* ---- tests ---- */

static void test_metrics_path(void **state)
{
    struct fixture *fx = *state;
    struct resp r;
    char v[128];
    get(fx->port, "/metrics", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Type", v, sizeof(v)),
                        "text/plain; version=0.0.4; charset=utf-8");
    assert_string_equal(r.body, metrics_body);
    /* The query string is not part of the path. */
    get(fx->port, "/metrics?name[]=x", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, metrics_body);
    /* HEAD: same head, no body. */
    request(fx->port, "HEAD /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Length", v, sizeof(v)), "101");
    assert_int_equal(strlen(metrics_body), 101);
    assert_int_equal(r.body_len, 0);
    /* HTTP/1.0 without Host works too (Prometheus and probes differ). */
    request(fx->port, "GET /metrics HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, metrics_body);
}

static void test_health_and_ready(void **state)
{
    struct fixture *fx = *state;
    struct resp r;
    get(fx->port, "/healthz", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok\n");
    get(fx->port, "/readyz", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ready\n");
    atomic_store(&fx->not_ready, 1);
    get(fx->port, "/readyz", &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body, "degraded: memory limit\n");
    atomic_store(&fx->not_ready, 2);
    get(fx->port, "/readyz", &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body, "source telemetry: not connected\n");
    /* /healthz does not depend on readiness. */
    get(fx->port, "/healthz", &r);
    assert_int_equal(r.status, 200);
    atomic_store(&fx->not_ready, 0);
    get(fx->port, "/readyz", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(atomic_load(&fx->asked), 4);
}

static void test_not_found_and_methods(void **state)
{
    struct fixture *fx = *state;
    struct resp r;
    char v[64];
    static const char *const paths[] = {"/", "/metric", "/metrics/", "/healthz/x", "/READYZ"};
    for (size_t i = 0; i < SL_ARRAY_LEN(paths); i++) {
        get(fx->port, paths[i], &r);
        assert_int_equal(r.status, 404);
    }
    static const char *const methods[] = {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    for (size_t i = 0; i < SL_ARRAY_LEN(methods); i++) {
        char raw[256];
        snprintf(raw, sizeof(raw),
                 "%s /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close"
                 "\r\n\r\nhello",
                 methods[i]);
        request(fx->port, raw, &r);
        assert_int_equal(r.status, 405);
        assert_string_equal(header(&r, "Allow", v, sizeof(v)), "GET, HEAD");
    }
    /* A GET with a body: the body is dropped and the answer is the usual one. */
    request(fx->port,
            "GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
            &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok\n");
}

static void test_keep_alive(void **state)
{
    struct fixture *fx = *state;
    struct resp r;
    int fd = connect_port(fx->port);
    assert_true(fd >= 0);
    for (int i = 0; i < 3; i++) {
        send_str(fd, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
        read_response(fd, false, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, metrics_body);
    }
    close(fd);
}

/* Sends an oversized request 1 KiB at a time, stopping when the server answers. */
static void send_until_answer(int fd, const char *prefix, size_t total)
{
    send_str(fd, prefix);
    char chunk[1024];
    memset(chunk, 'a', sizeof(chunk));
    for (size_t sent = 0; sent < total; sent += sizeof(chunk)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 0) > 0) {
            return;
        }
        if (send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL) < 0) {
            return;
        }
    }
}

static void test_oversized_requests(void **state)
{
    struct fixture *fx = *state;
    struct resp r;
    /* A 1 MiB header: refused once it passes the connection's memory. */
    int fd = connect_port(fx->port);
    send_until_answer(fd, "GET /metrics HTTP/1.1\r\nHost: t\r\nX-Big: ", 1 << 20);
    read_response(fd, false, &r);
    assert_int_equal(r.status, 431);
    close(fd);
    /* A 1 MiB URL. */
    fd = connect_port(fx->port);
    send_until_answer(fd, "GET /metrics", 1 << 20);
    read_response(fd, false, &r);
    assert_int_equal(r.status, 414);
    close(fd);
    /* Many small headers adding up. */
    fd = connect_port(fx->port);
    send_str(fd, "GET /metrics HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; i < 2000; i++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 0) > 0 || send(fd, "X-A: b\r\n", 8, MSG_NOSIGNAL) < 0) {
            break;
        }
    }
    read_response(fd, false, &r);
    assert_int_equal(r.status, 431);
    close(fd);
    /* The server is still fine. */
    get(fx->port, "/healthz", &r);
    assert_int_equal(r.status, 200);
}

#define CONCURRENT 48

static void test_concurrent_connections(void **state)
{
    struct fixture *fx = *state;
    int fds[CONCURRENT];
    struct resp r;
    for (int i = 0; i < CONCURRENT; i++) {
        fds[i] = connect_port(fx->port);
        assert_true(fds[i] >= 0);
    }
    for (int i = 0; i < CONCURRENT; i++) {
        send_str(fds[i], i % 2 ? "GET /metrics HTTP/1.0\r\n\r\n" : "GET /readyz HTTP/1.0\r\n\r\n");
    }
    for (int i = CONCURRENT - 1; i >= 0; i--) {
        read_response(fds[i], false, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, i % 2 ? metrics_body : "ready\n");
        close(fds[i]);
    }
}

static void test_connection_limit(void **state)
{
    struct fixture *fx = *state;
    int idle[SL_HTTP_MAX_CONNECTIONS];
    struct resp r;
    /* Fill every slot with a connection that sends nothing (a slow client). The kernel's accept
     * queue is FIFO, so the server takes these before the probe below. */
    for (int i = 0; i < SL_HTTP_MAX_CONNECTIONS; i++) {
        idle[i] = connect_port(fx->port);
        assert_true(idle[i] >= 0);
    }
    int probe = connect_port(fx->port);
    assert_true(probe >= 0);
    send_str(probe, "GET /healthz HTTP/1.0\r\n\r\n");
    /* Absence can only be checked over a window: no answer in 300 ms while the slots are full. */
    struct pollfd p = {.fd = probe, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 300), 0);
    /* One slot frees: the probe is served (the read has a 5 s deadline). */
    close(idle[0]);
    read_response(probe, false, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok\n");
    close(probe);
    for (int i = 1; i < SL_HTTP_MAX_CONNECTIONS; i++) {
        close(idle[i]);
    }
    get(fx->port, "/healthz", &r);
    assert_int_equal(r.status, 200);
}

static void test_addresses(void **state)
{
    (void)state;
    struct sockaddr_storage sa;
    socklen_t len;
    struct sl_err err;
    char ip[INET6_ADDRSTRLEN];
    static const struct {
        const char *addr;
        bool for_connect;
        int family;
        const char *ip;
        int port;
    } ok[] = {
        {"127.0.0.1:9090", false, AF_INET, "127.0.0.1", 9090},
        {":9090", false, AF_INET, "127.0.0.1", 9090}, /* loopback, the safe reading */
        {"9091", false, AF_INET, "127.0.0.1", 9091},
        {"0.0.0.0:9090", false, AF_INET, "0.0.0.0", 9090},
        {"0.0.0.0:9090", true, AF_INET, "127.0.0.1", 9090},
        {"[::1]:9090", false, AF_INET6, "::1", 9090},
        {"[::]:0", false, AF_INET6, "::", 0},
        {"[::]:80", true, AF_INET6, "::1", 80},
        {"10.1.2.3:65535", false, AF_INET, "10.1.2.3", 65535},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(ok); i++) {
        int r = sl__http_parse_addr(ok[i].addr, ok[i].for_connect, &sa, &len, &err);
        if (r != 0) {
            fail_msg("%s: %s", ok[i].addr, err.msg);
        }
        assert_int_equal(sa.ss_family, ok[i].family);
        if (sa.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&sa;
            inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
            assert_int_equal(ntohs(in->sin_port), ok[i].port);
        } else {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;
            inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
            assert_int_equal(ntohs(in6->sin6_port), ok[i].port);
        }
        assert_string_equal(ip, ok[i].ip);
    }
    static const char *const bad[] = {
        "",        "nonsense", "1.2.3.4:99999", "::1:9090",     "[::1]",        "[::1]9090",
        "[]:9090", "1.2.3.4:", "1.2.3.4:-1",    "1.2.3.4:0x10", "[1.2.3.4]:80", "host:port"};
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++) {
        err.msg[0] = '\0';
        assert_int_equal(sl__http_parse_addr(bad[i], false, &sa, &len, &err), -EINVAL);
        assert_true(err.msg[0] != '\0');
    }
    assert_int_equal(sl__http_parse_addr("127.0.0.1:0", true, &sa, &len, &err), -EINVAL);
    assert_int_equal(sl__http_parse_addr("::1:9090", false, &sa, &len, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "[::1]:9090"));
}

static void test_off_in_use_and_v6(void **state)
{
    struct fixture *fx = *state;
    struct sl_http *h = (struct sl_http *)&h; /* must be overwritten */
    struct sl_err err;
    assert_int_equal(sl_http_start("off", fx->m, NULL, NULL, &h, &err), 0);
    assert_null(h);
    assert_int_equal(sl_http_port(NULL), 0);
    sl_http_stop(NULL);

    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", fx->port);
    assert_int_equal(sl_http_start(addr, fx->m, NULL, NULL, &h, &err), -EADDRINUSE);
    assert_non_null(strstr(err.msg, "in use"));
    assert_non_null(strstr(err.msg, addr));
    assert_int_equal(sl_http_start("bogus:address:1", fx->m, NULL, NULL, &h, &err), -EINVAL);

    /* IPv6 loopback, where the machine has it. */
    int s6 = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bool have_v6 = s6 >= 0 && bind(s6, (struct sockaddr *)&a6, sizeof(a6)) == 0;
    if (s6 >= 0) {
        close(s6);
    }
    if (!have_v6) {
        return;
    }
    assert_int_equal(sl_http_start("[::1]:0", fx->m, NULL, NULL, &h, &err), 0);
    int port = sl_http_port(h);
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    a6.sin6_port = htons((uint16_t)port);
    assert_int_equal(connect(fd, (struct sockaddr *)&a6, sizeof(a6)), 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    send_str(fd, "GET /healthz HTTP/1.0\r\n\r\n");
    struct resp r;
    read_response(fd, false, &r);
    assert_int_equal(r.status, 200);
    close(fd);
    sl_http_stop(h);
}

static void test_stop_closes(void **state)
{
    (void)state;
    struct sl_metrics *m;
    struct sl_http *h;
    struct sl_err err;
    assert_int_equal(sl_metrics_new(&m), 0);
    assert_int_equal(sl_http_start("127.0.0.1:0", m, NULL, NULL, &h, &err), 0);
    int port = sl_http_port(h);
    int idle = connect_port(port); /* an open connection does not hold up stop */
    assert_true(idle >= 0);
    sl_http_stop(h);
    assert_int_equal(connect_port(port), -1); /* nothing listens any more */
    close(idle);
    /* The port can be bound again at once (SO_REUSEADDR). */
    char addr[32];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    assert_int_equal(sl_http_start(addr, m, NULL, NULL, &h, &err), 0);
    assert_int_equal(sl_http_port(h), port);
    sl_http_stop(h);
    sl_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_metrics_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health_and_ready, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found_and_methods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_alive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test_setup_teardown(test_off_in_use_and_v6, setup, teardown),
        cmocka_unit_test(test_stop_closes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
