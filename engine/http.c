/*
 * http.c - the /metrics, /healthz and /readyz server on libmicrohttpd (see http.h).
 *
 * We create, bind and listen on the socket ourselves and hand it to MHD: errors then name the
 * address and the errno (EADDRINUSE, EACCES) and port 0 is read back with getsockname. MHD runs
 * one internal polling thread (epoll on Linux) that calls handle() for every request. A method
 * other than GET or HEAD is answered before any body is read; a GET body is dropped chunk by
 * chunk as MHD reads it; so no request body is ever buffered.
 * The thread reads the registry under its mutex and calls the engine's readiness callback; it
 * takes nothing else. MHD's own error messages go to the log, rate-limited.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "http.h"
#include "log.h"
#include "metrics.h"

struct sl_http {
    struct MHD_Daemon *daemon;
    struct sl_metrics *m;
    sl_http_ready_fn ready;
    void *ready_ud;
    int port;
    struct MHD_Response *r_ok;          /* /healthz */
    struct MHD_Response *r_not_found;   /* 404 */
    struct MHD_Response *r_not_allowed; /* 405 */
    struct sl_log_limit log_limit;
};

/* ---- addresses ---- */

static const char addr_expected[] = "expected HOST:PORT, [IPV6]:PORT, :PORT or off";

static int parse_port(const char *s, bool for_connect, const char *addr, struct sl_err *err)
{
    size_t n = strlen(s);
    long port = n > 0 && n <= 5 && strspn(s, "0123456789") == n ? strtol(s, NULL, 10) : -1;
    if (port < (for_connect ? 1 : 0) || port > 65535) {
        return sl_err_set(err, -EINVAL, "invalid HTTP address '%s': %s, with PORT %s-65535", addr,
                          addr_expected, for_connect ? "1" : "0");
    }
    return (int)port;
}

int sl__http_parse_addr(const char *addr, bool for_connect, struct sockaddr_storage *ret_sa,
                        socklen_t *ret_len, struct sl_err *err)
{
    char host[256];
    const char *port;
    bool bracketed = false;
    if (addr == NULL || addr[0] == '\0') {
        return sl_err_set(err, -EINVAL, "empty HTTP address: %s", addr_expected);
    }
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - addr - 1) >= sizeof(host)) {
            return sl_err_set(err, -EINVAL, "invalid HTTP address '%s': %s", addr, addr_expected);
        }
        memcpy(host, addr + 1, (size_t)(close - addr - 1));
        host[close - addr - 1] = '\0';
        port = close + 2;
        bracketed = true;
    } else {
        const char *colon = strrchr(addr, ':');
        if (colon == NULL) {
            host[0] = '\0';
            port = addr;
        } else {
            if (memchr(addr, ':', (size_t)(colon - addr)) != NULL) {
                return sl_err_set(err, -EINVAL,
                                  "invalid HTTP address '%s': write an IPv6 address in brackets, "
                                  "e.g. [::1]:9090",
                                  addr);
            }
            if ((size_t)(colon - addr) >= sizeof(host)) {
                return sl_err_set(err, -EINVAL, "invalid HTTP address '%s': host too long", addr);
            }
            memcpy(host, addr, (size_t)(colon - addr));
            host[colon - addr] = '\0';
            port = colon + 1;
        }
    }
    int p = parse_port(port, for_connect, addr, err);
    if (p < 0) {
        return p;
    }
    if (host[0] == '\0') {
        if (bracketed) {
            return sl_err_set(err, -EINVAL, "invalid HTTP address '%s': %s", addr, addr_expected);
        }
        snprintf(host, sizeof(host), "127.0.0.1"); /* ":PORT" is loopback (see http.h) */
    }

    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    hints.ai_family = bracketed ? AF_INET6 : AF_UNSPEC;
    hints.ai_flags = bracketed ? AI_NUMERICHOST : 0;
    struct addrinfo *res = NULL;
    int gr = getaddrinfo(host, NULL, &hints, &res);
    if (gr != 0 || res == NULL) {
        return sl_err_set(err, -EINVAL, "invalid HTTP address '%s': cannot resolve '%s': %s", addr,
                          host, gai_strerror(gr));
    }
    struct sockaddr_storage sa;
    memset(&sa, 0, sizeof(sa));
    memcpy(&sa, res->ai_addr, res->ai_addrlen);
    socklen_t len = res->ai_addrlen;
    freeaddrinfo(res);
    if (sa.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&sa;
        in->sin_port = htons((uint16_t)p);
        if (for_connect && in->sin_addr.s_addr == htonl(INADDR_ANY)) {
            in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        }
    } else if (sa.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;
        in6->sin6_port = htons((uint16_t)p);
        if (for_connect && IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr)) {
            in6->sin6_addr = in6addr_loopback;
        }
    } else {
        return sl_err_set(err, -EINVAL, "invalid HTTP address '%s': not an IP address", addr);
    }
    *ret_sa = sa;
    *ret_len = len;
    return 0;
}

/* ---- requests ---- */

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (resp == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result send_metrics(struct sl_http *h, struct MHD_Connection *conn)
{
    char *text;
    size_t len;
    if (sl_metrics_render(h->m, &text, &len) < 0) {
        return send_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result r = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result send_readiness(struct sl_http *h, struct MHD_Connection *conn)
{
    char reason[SL_HTTP_REASON_MAX] = "";
    if (h->ready == NULL || h->ready(h->ready_ud, reason, sizeof(reason) - 1)) {
        return send_text(conn, MHD_HTTP_OK, "ready\n");
    }
    reason[sizeof(reason) - 1] = '\0';
    char body[SL_HTTP_REASON_MAX + 16];
    snprintf(body, sizeof(body), "%s\n", reason[0] != '\0' ? reason : "not ready");
    return send_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, body);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **req_cls)
{
    static int seen; /* the address marks a request whose headers were seen */
    struct sl_http *h = cls;
    (void)version;
    (void)upload_data;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        /* At once, before any body is read; MHD then closes the connection. */
        *upload_data_size = 0;
        return MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, h->r_not_allowed);
    }
    if (*req_cls == NULL) {
        /* Headers only: answer when the request is complete, so the connection can be kept
         * alive. */
        *req_cls = &seen;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0; /* a GET body: dropped chunk by chunk, never buffered */
        return MHD_YES;
    }
    if (strcmp(url, "/metrics") == 0) {
        return send_metrics(h, conn);
    }
    if (strcmp(url, "/healthz") == 0) {
        return MHD_queue_response(conn, MHD_HTTP_OK, h->r_ok);
    }
    if (strcmp(url, "/readyz") == 0) {
        return send_readiness(h, conn);
    }
    return MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, h->r_not_found);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) SL_PRINTF(2, 0);

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct sl_http *h = cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) {
        msg[--n] = '\0';
    }
    sl_log_limited(&h->log_limit, 10, SL_LOG_WARN, "http", "%s", msg);
}

/* ---- lifecycle ---- */

static struct MHD_Response *static_text(const char *text, const char *allow)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (resp != NULL) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        if (allow != NULL) {
            MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
        }
    }
    return resp;
}

static void format_sockaddr(const struct sockaddr_storage *sa, int port, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (sa->ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof(ip));
        snprintf(buf, cap, "[%s]:%d", ip, port);
    } else {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof(ip));
        snprintf(buf, cap, "%s:%d", ip, port);
    }
}

int sl_http_start(const char *addr, struct sl_metrics *m, sl_http_ready_fn ready, void *ready_ud,
                  struct sl_http **ret_http, struct sl_err *err)
{
    if (addr == NULL) {
        addr = SL_HTTP_DEFAULT_ADDR;
    }
    if (strcmp(addr, "off") == 0) {
        *ret_http = NULL;
        return 0;
    }
    struct sockaddr_storage sa;
    socklen_t salen;
    int r = sl__http_parse_addr(addr, false, &sa, &salen, err);
    if (r < 0) {
        return r;
    }
    int fd = -1;
    struct sl_http *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        return sl_err_set(err, -ENOMEM, "out of memory starting the HTTP server");
    }
    h->m = m;
    h->ready = ready;
    h->ready_ud = ready_ud;
    atomic_init(&h->log_limit.next_ms, INT64_MIN);
    atomic_init(&h->log_limit.suppressed, 0);
    h->r_ok = static_text("ok\n", NULL);
    h->r_not_found = static_text("not found\n", NULL);
    h->r_not_allowed = static_text("method not allowed\n", "GET, HEAD");
    if (h->r_ok == NULL || h->r_not_found == NULL || h->r_not_allowed == NULL) {
        r = sl_err_set(err, -ENOMEM, "out of memory starting the HTTP server");
        goto fail;
    }

    fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        r = -errno;
        sl_err_set(err, r, "cannot create the HTTP socket for '%s': %s", addr, strerror(-r));
        goto fail;
    }
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (sa.ss_family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)); /* [::] serves IPv4 too */
    }
    if (bind(fd, (struct sockaddr *)&sa, salen) < 0) {
        r = -errno;
        if (r == -EADDRINUSE) {
            sl_err_set(err, r,
                       "cannot listen on '%s': the address is in use; choose another with "
                       "--http HOST:PORT, or --http off",
                       addr);
        } else if (r == -EACCES) {
            sl_err_set(err, r,
                       "cannot listen on '%s': permission denied (ports below 1024 need "
                       "privileges)",
                       addr);
        } else {
            sl_err_set(err, r, "cannot listen on '%s': %s", addr, strerror(-r));
        }
        goto fail;
    }
    if (listen(fd, SL_HTTP_MAX_CONNECTIONS) < 0) {
        r = -errno;
        sl_err_set(err, r, "cannot listen on '%s': %s", addr, strerror(-r));
        goto fail;
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    if (getsockname(fd, (struct sockaddr *)&bound, &blen) < 0) {
        r = -errno;
        sl_err_set(err, r, "cannot read the HTTP socket's address: %s", strerror(-r));
        goto fail;
    }
    h->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);

    h->daemon = MHD_start_daemon(
        MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC, 0, NULL, NULL, handle, h,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)SL_HTTP_MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SL_HTTP_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SL_HTTP_CONN_MEMORY, MHD_OPTION_END);
    if (h->daemon == NULL) {
        r = sl_err_set(err, -EIO, "cannot start the HTTP server on '%s'", addr);
        goto fail;
    }
    /* From here MHD owns fd and closes it in MHD_stop_daemon. */
    char where[INET6_ADDRSTRLEN + 16];
    format_sockaddr(&bound, h->port, where, sizeof(where));
    sl_log(SL_LOG_INFO, "http", "listening on http://%s (/metrics, /healthz, /readyz)", where);
    *ret_http = h;
    return 0;
fail:
    if (fd >= 0) {
        close(fd);
    }
    sl_http_stop(h);
    return r;
}

int sl__http_add_connection(struct sl_http *http, int fd)
{
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    return MHD_add_connection(http->daemon, fd, (const struct sockaddr *)&peer, sizeof(peer)) ==
                   MHD_YES
               ? 0
               : -EIO;
}

int sl_http_port(const struct sl_http *http)
{
    return http != NULL ? http->port : 0;
}

void sl_http_stop(struct sl_http *http)
{
    if (http == NULL) {
        return;
    }
    if (http->daemon != NULL) {
        MHD_stop_daemon(http->daemon);
    }
    if (http->r_ok != NULL) {
        MHD_destroy_response(http->r_ok);
    }
    if (http->r_not_found != NULL) {
        MHD_destroy_response(http->r_not_found);
    }
    if (http->r_not_allowed != NULL) {
        MHD_destroy_response(http->r_not_allowed);
    }
    free(http);
}
