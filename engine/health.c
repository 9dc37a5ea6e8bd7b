/*
 * health.c - `sluice health [ADDR]`: asks a running engine whether it is ready.
 *
 * A container probe runs it every few seconds, so it is small and bounded: one HTTP/1.0
 * GET /readyz on a non-blocking socket, SL_HEALTH_TIMEOUT_MS for connecting, sending and
 * reading together, no library beyond libc. Exit status 0 iff the status line says 200.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"

/* Waits for events on fd until the deadline (sl_mono_ms). Returns 0, or -ETIMEDOUT. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - sl_mono_ms();
        if (left <= 0) {
            return -ETIMEDOUT;
        }
        struct pollfd pfd = {.fd = fd, .events = events};
        int n = poll(&pfd, 1, (int)left);
        if (n > 0) {
            return 0;
        }
        if (n < 0 && errno != EINTR) {
            return -errno;
        }
    }
}

/* GET /readyz from sa. Returns the HTTP status (>= 100) with the body's first line in body,
 * or a negative errno. */
static int get_readyz(const struct sockaddr_storage *sa, socklen_t salen, const char *hostport,
                      char *body, size_t cap, int64_t deadline)
{
    int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    int r;
    char resp[4096];
    size_t len = 0;
    if (connect(fd, (const struct sockaddr *)sa, salen) < 0) {
        if (errno != EINPROGRESS) {
            r = -errno;
            goto out;
        }
        if ((r = wait_fd(fd, POLLOUT, deadline)) < 0) {
            goto out;
        }
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr != 0) {
            r = -soerr;
            goto out;
        }
    }
    char req[512];
    int n =
        snprintf(req, sizeof(req),
                 "GET /readyz HTTP/1.0\r\nHost: %s\r\nUser-Agent: sluice-health\r\n\r\n", hostport);
    size_t off = 0;
    while (off < (size_t)n) {
        ssize_t w = send(fd, req + off, (size_t)n - off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                r = -errno;
                goto out;
            }
            if ((r = wait_fd(fd, POLLOUT, deadline)) < 0) {
                goto out;
            }
            continue;
        }
        off += (size_t)w;
    }
    /* Read until the server closes (HTTP/1.0) or the buffer is full: status and reason fit. */
    for (;;) {
        if (len == sizeof(resp) - 1) {
            break;
        }
        ssize_t got = recv(fd, resp + len, sizeof(resp) - 1 - len, 0);
        if (got > 0) {
            len += (size_t)got;
            continue;
        }
        if (got == 0) {
            break;
        }
        if (errno != EAGAIN && errno != EINTR) {
            r = -errno;
            goto out;
        }
        if ((r = wait_fd(fd, POLLIN, deadline)) < 0) {
            goto out;
        }
    }
    resp[len] = '\0';
    /* "HTTP/1.x SSS reason\r\n" */
    unsigned status = 0;
    if (strncmp(resp, "HTTP/1.", 7) != 0 || len < 12 || resp[8] != ' ' ||
        sscanf(resp + 9, "%3u", &status) != 1 || status < 100 || status > 999) {
        r = -EPROTO;
        goto out;
    }
    body[0] = '\0';
    const char *b = strstr(resp, "\r\n\r\n");
    if (b != NULL) {
        b += 4;
        size_t bl = strcspn(b, "\r\n");
        if (bl >= cap) {
            bl = cap - 1;
        }
        memcpy(body, b, bl);
        body[bl] = '\0';
    }
    r = (int)status;
out:
    close(fd);
    return r;
}

int sl_cmd_health(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))) {
        fprintf(argc > 2 ? stderr : stdout,
                "usage: sluice health [ADDR]\n"
                "  exit 0 if the engine serving HTTP at ADDR (default: $SLUICE_HTTP, else %s)\n"
                "  answers 200 on /readyz within %d ms, 1 otherwise\n",
                SL_HTTP_DEFAULT_ADDR, SL_HEALTH_TIMEOUT_MS);
        return argc > 2 ? 2 : 0;
    }
    const char *addr = argc == 2 ? argv[1] : getenv("SLUICE_HTTP");
    if (addr == NULL || addr[0] == '\0') {
        addr = SL_HTTP_DEFAULT_ADDR;
    }
    if (strcmp(addr, "off") == 0) {
        fprintf(stderr, "sluice health: the HTTP endpoint is off; nothing to ask\n");
        return 1;
    }
    struct sl_err err = {{0}};
    struct sockaddr_storage sa;
    socklen_t salen;
    int64_t deadline = sl_mono_ms() + SL_HEALTH_TIMEOUT_MS;
    if (sl__http_parse_addr(addr, true, &sa, &salen, &err) < 0) {
        fprintf(stderr, "sluice health: %s\n", err.msg);
        return 2;
    }
    char body[SL_HTTP_REASON_MAX];
    int r = get_readyz(&sa, salen, addr, body, sizeof(body), deadline);
    if (r == 200) {
        printf("%s\n", body[0] != '\0' ? body : "ready");
        return 0;
    }
    if (r >= 100) {
        fprintf(stderr, "sluice health: not ready (%d): %s\n", r, body);
    } else if (r == -ETIMEDOUT) {
        fprintf(stderr, "sluice health: no answer from %s within %d ms\n", addr,
                SL_HEALTH_TIMEOUT_MS);
    } else if (r == -EPROTO) {
        fprintf(stderr, "sluice health: %s did not answer HTTP\n", addr);
    } else {
        fprintf(stderr, "sluice health: cannot reach %s: %s\n", addr, strerror(-r));
    }
    return 1;
}
