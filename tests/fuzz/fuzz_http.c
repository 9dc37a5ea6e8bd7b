/*
 * fuzz_http.c - libFuzzer target for the HTTP endpoint's request handling (engine/http.c on
 * libmicrohttpd): any bytes, sent as a request on one end of a socketpair whose other end the
 * server adopts (sl__http_add_connection), so that request parsing and routing run without a
 * network; and the same bytes as an --http address (sl__http_parse_addr, numeric only).
 *
 * Checked on every input: the server answers with nothing or with "HTTP/1.x NNN" where NNN is
 * a status the server can give; it closes the connection within the deadline once the client
 * has finished sending; a request for /metrics, /healthz or /readyz whose request line is
 * well formed is answered with that route's status; the server still answers a plain
 * GET /healthz afterwards (no input leaves it wedged). Readiness alternates between ready
 * and a reason, so both /readyz paths run.
 *
 * Built with -DSL_FUZZ=ON (clang); otherwise main() replays the seed corpus
 * (tests/fuzz/corpus/http, label fuzz).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "metrics.h"

#include "replay_main.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sl_metrics *metrics;
static struct sl_http *server;
static struct sl_counter *counter;
static unsigned ready_calls;

static bool ready(void *ud, char *reason, size_t cap)
{
    (void)ud;
    if (__atomic_fetch_add(&ready_calls, 1, __ATOMIC_RELAXED) % 2 == 0) {
        return true;
    }
    snprintf(reason, cap, "degraded: memory limit");
    return false;
}

static void setup(void)
{
    struct sl_err err;
    if (sl_metrics_new(&metrics) != 0 ||
        sl_metrics_counter_register(metrics, "sluice_fuzz_total", "A counter.", NULL, 0, &counter,
                                    &err) != 0 ||
        sl_http_start("127.0.0.1:0", metrics, ready, NULL, &server, &err) != 0) {
        abort();
    }
}

/* Shuts the client's sending side once the server has read what was sent: MHD (epoll, edge
 * triggered) misses an end of stream that arrives together with the last bytes of an
 * incomplete request and then holds the connection until its idle timeout (10 s). */
static void half_close(int fd)
{
    int64_t deadline = sl_mono_ms() + 1000;
    int queued = 0;
    while (ioctl(fd, SIOCOUTQ, &queued) == 0 && queued > 0 && sl_mono_ms() < deadline) {
        sched_yield();
    }
    shutdown(fd, SHUT_WR);
}

/* Sends req on a fresh connection and reads the answer until the server closes. Returns the
 * bytes read (at most cap - 1, NUL-terminated). */
static size_t exchange(const uint8_t *req, size_t n, char *resp, size_t cap)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        abort();
    }
    if (sl__http_add_connection(server, sv[1]) != 0) {
        abort();
    }
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    size_t off = 0, got = 0;
    bool closed = false;
    int64_t deadline = sl_mono_ms() + 5000;
    while (!closed) {
        if (sl_mono_ms() > deadline) {
            abort(); /* the server neither answered nor closed */
        }
        struct pollfd p = {.fd = sv[0], .events = POLLIN | (off < n ? POLLOUT : 0)};
        if (poll(&p, 1, 100) < 0 && errno != EINTR) {
            abort();
        }
        if (off < n && (p.revents & POLLOUT)) {
            ssize_t w = send(sv[0], req + off, n - off, MSG_NOSIGNAL);
            if (w > 0) {
                off += (size_t)w;
            } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
                off = n; /* the server closed early: fine */
            }
            if (off == n) {
                half_close(sv[0]);
            }
        } else if (n == 0 && off == 0) {
            half_close(sv[0]);
            off = 1;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            char tmp[4096];
            ssize_t r = recv(sv[0], tmp, sizeof(tmp), 0);
            if (r > 0) {
                size_t k = (size_t)r < cap - 1 - got ? (size_t)r : cap - 1 - got;
                memcpy(resp + got, tmp, k);
                got += k;
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                closed = true;
            }
        }
    }
    close(sv[0]);
    resp[got] = '\0';
    return got;
}

static int status_of(const char *resp, size_t len)
{
    if (len == 0) {
        return 0;
    }
    if (len < 12 || strncmp(resp, "HTTP/1.", 7) != 0 || resp[8] != ' ') {
        abort();
    }
    int st = atoi(resp + 9);
    switch (st) {
    case 200:
    case 400:
    case 404:
    case 405:
    case 413:
    case 414:
    case 431:
    case 500:
    case 501:
    case 503:
    case 505:
        return st;
    default:
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (server == NULL) {
        setup();
    }
    if (size > 64 * 1024) {
        return 0;
    }
    static char resp[1 << 16];
    size_t len = exchange(data, size, resp, sizeof(resp));
    int st = status_of(resp, len);

    /* a well-formed request line for a route gets that route's answer */
    static const struct {
        const char *line;
        int status;
    } routes[] = {
        {"GET /healthz HTTP/1.1\r\n", 200},
        {"GET /metrics HTTP/1.1\r\n", 200},
        {"GET /nowhere HTTP/1.1\r\n", 404},
        {"DELETE /metrics HTTP/1.1\r\n", 405},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        size_t ln = strlen(routes[i].line);
        if (size >= ln + 4 && memcmp(data, routes[i].line, ln) == 0 &&
            memcmp(data + size - 4, "\r\n\r\n", 4) == 0 && st != 0 && st != 400 && st != 431 &&
            st != routes[i].status) {
            abort();
        }
    }

    /* the server is still well */
    static const char probe[] = "GET /healthz HTTP/1.0\r\n\r\n";
    len = exchange((const uint8_t *)probe, sizeof(probe) - 1, resp, sizeof(resp));
    if (status_of(resp, len) != 200 || strstr(resp, "\r\n\r\nok\n") == NULL) {
        abort();
    }

    /* the bytes as an address: numeric hosts only (no DNS lookups while fuzzing) */
    char addr[128];
    size_t an = size < sizeof(addr) - 1 ? size : sizeof(addr) - 1;
    memcpy(addr, data, an);
    addr[an] = '\0';
    size_t al = strlen(addr);
    if (strspn(addr, "0123456789.:") == al ||
        (addr[0] == '[' && strspn(addr, "0123456789.:[]abcdefABCDEF") == al)) {
        struct sockaddr_storage sa;
        socklen_t sl;
        struct sl_err err;
        sl__http_parse_addr(addr, false, &sa, &sl, &err);
        sl__http_parse_addr(addr, true, &sa, &sl, &err);
    }
    return 0;
}

SL_FUZZ_REPLAY_MAIN("fuzz_http")
