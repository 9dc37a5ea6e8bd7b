/*
 * test_health.c - `sluice health` against the server started in this process: ready -> 0,
 * not ready -> 1, nothing listening -> 1 at once, a peer that accepts but never answers -> 1
 * within the 2 s timeout, $SLUICE_HTTP as the default address, usage errors -> 2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "http.h"
#include "log.h"
#include "metrics.h"

struct fixture {
    struct sl_metrics *m;
    struct sl_http *http;
    char addr[64];
    _Atomic int ready;
};

static bool readiness(void *ud, char *reason, size_t cap)
{
    struct fixture *fx = ud;
    if (atomic_load(&fx->ready)) {
        return true;
    }
    snprintf(reason, cap, "degraded: memory limit");
    return false;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    struct sl_err err;
    sl_log_configure(SL_LOG_ERROR, SL_LOG_TEXT, 2);
    atomic_store(&fx->ready, 1);
    assert_int_equal(sl_metrics_new(&fx->m), 0);
    assert_int_equal(sl_http_start("127.0.0.1:0", fx->m, readiness, fx, &fx->http, &err), 0);
    snprintf(fx->addr, sizeof(fx->addr), "127.0.0.1:%d", sl_http_port(fx->http));
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    sl_http_stop(fx->http);
    sl_metrics_free(fx->m);
    free(fx);
    unsetenv("SLUICE_HTTP");
    return 0;
}

static int health(const char *addr)
{
    char *argv[] = {"health", (char *)addr, NULL};
    return sl_cmd_health(addr != NULL ? 2 : 1, argv);
}

static void test_ready_and_not(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(health(fx->addr), 0);
    atomic_store(&fx->ready, 0);
    assert_int_equal(health(fx->addr), 1);
    atomic_store(&fx->ready, 1);
    assert_int_equal(health(fx->addr), 0);
    /* The wildcard means "this host" to the client. */
    char wild[64];
    snprintf(wild, sizeof(wild), "0.0.0.0:%d", sl_http_port(fx->http));
    assert_int_equal(health(wild), 0);
}

static void test_env_default(void **state)
{
    struct fixture *fx = *state;
    setenv("SLUICE_HTTP", fx->addr, 1);
    assert_int_equal(health(NULL), 0);
    atomic_store(&fx->ready, 0);
    assert_int_equal(health(NULL), 1);
    setenv("SLUICE_HTTP", "off", 1);
    assert_int_equal(health(NULL), 1);
}

/* A loopback port with nothing listening: bind, read the port, close. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static void test_nothing_listening(void **state)
{
    (void)state;
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", free_port());
    int64_t t0 = sl_mono_ms();
    assert_int_equal(health(addr), 1);
    assert_true(sl_mono_ms() - t0 < SL_HEALTH_TIMEOUT_MS); /* refused at once */
}

static void test_silent_peer_times_out(void **state)
{
    (void)state;
    /* Listens (the kernel completes the handshake) but never accepts nor answers. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", ntohs(sa.sin_port));
    int64_t t0 = sl_mono_ms();
    assert_int_equal(health(addr), 1);
    int64_t took = sl_mono_ms() - t0;
    assert_true(took >= SL_HEALTH_TIMEOUT_MS - 50);
    assert_true(took < SL_HEALTH_TIMEOUT_MS + 1000);
    close(fd);
}

static void test_not_http_peer(void **state)
{
    (void)state;
    /* A peer that answers something other than HTTP and closes (a forked child): exit 1. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int c = accept(fd, NULL, NULL);
        char buf[512];
        ssize_t n = recv(c, buf, sizeof(buf), 0);
        (void)n;
        ssize_t w = send(c, "SSH-2.0-OpenSSH\r\n", 17, MSG_NOSIGNAL);
        (void)w;
        close(c);
        _exit(0);
    }
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", ntohs(sa.sin_port));
    assert_int_equal(health(addr), 1);
    close(fd);
    int status;
    waitpid(pid, &status, 0);
}

static void test_usage(void **state)
{
    (void)state;
    char *argv[] = {"health", "a", "b", NULL};
    assert_int_equal(sl_cmd_health(3, argv), 2);
    assert_int_equal(health("not an address"), 2);
    assert_int_equal(health("127.0.0.1:0"), 2);
    assert_int_equal(health("--help"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ready_and_not, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_default, setup, teardown),
        cmocka_unit_test(test_nothing_listening),
        cmocka_unit_test(test_silent_peer_times_out),
        cmocka_unit_test(test_not_http_peer),
        cmocka_unit_test(test_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
