/*
 * http.h - the observability endpoint of `sluice run` (--http ADDR) and the `sluice health`
 * client that container probes run.
 *
 * Server (libmicrohttpd, one internal polling thread):
 *   GET|HEAD /metrics  200, Prometheus text format 0.0.4 (sl_metrics_render)
 *   GET|HEAD /healthz  200 "ok" while the process serves requests
 *   GET|HEAD /readyz   200 "ready", or 503 with the reason from the engine's callback
 *   other paths        404; other methods 405 with "Allow: GET, HEAD"
 * At most SL_HTTP_MAX_CONNECTIONS connections, idle ones closed after SL_HTTP_TIMEOUT_S
 * seconds, and SL_HTTP_CONN_MEMORY bytes per connection for the request line and headers
 * (a larger request is answered 431/414 and closed); request bodies are never buffered.
 *
 * Addresses (--http, $SLUICE_HTTP, `sluice health ADDR`):
 *   HOST:PORT, [IPV6]:PORT   HOST is an IP literal or a name resolved at start-up
 *   :PORT or PORT            127.0.0.1:PORT - loopback, the safe reading: serving every
 *                            interface must be asked for with 0.0.0.0:PORT or [::]:PORT
 *   off                      no server
 * PORT 0 binds a free port (sl_http_port tells which). The health client connects to
 * 127.0.0.1 / ::1 when given the wildcard 0.0.0.0 / [::].
 */
#ifndef SL_HTTP_H
#define SL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "common.h"

struct sl_metrics;
struct sl_http;

#define SL_HTTP_DEFAULT_ADDR    "127.0.0.1:9090"
#define SL_HTTP_MAX_CONNECTIONS 64
#define SL_HTTP_TIMEOUT_S       10
#define SL_HTTP_CONN_MEMORY     (16 * 1024)
#define SL_HTTP_REASON_MAX      256
#define SL_HEALTH_TIMEOUT_MS    2000

/* Readiness, asked on the HTTP thread for each GET /readyz: returns true when ready; otherwise
 * writes a short NUL-terminated reason into reason (cap bytes), e.g. "degraded: memory limit"
 * or "source telemetry: not connected". Must be thread-safe and must not block. */
typedef bool (*sl_http_ready_fn)(void *ud, char *reason, size_t cap);

/* Starts the server on addr (see above; NULL means SL_HTTP_DEFAULT_ADDR) serving m (which must
 * outlive the server) and ready (NULL: always ready). Returns 0 and *ret_http - NULL when addr
 * is "off" -, or -EINVAL (bad address), -EADDRINUSE, -EACCES, other -errno, with err saying
 * what failed. Start-up thread; blocks only to resolve a host name. */
int sl_http_start(const char *addr, struct sl_metrics *m, sl_http_ready_fn ready, void *ready_ud,
                  struct sl_http **ret_http, struct sl_err *err);

/* The bound TCP port (useful after port 0); 0 for NULL. Any thread. */
int sl_http_port(const struct sl_http *http);

/* Stops the server: closes the listening socket and every connection, joins its thread and
 * frees it. NULL is a no-op. Not from inside a readiness or metrics callback. */
void sl_http_stop(struct sl_http *http);

/* `sluice health [ADDR]` (argv[0] is "health"): GET /readyz from ADDR (default:
 * $SLUICE_HTTP, else SL_HTTP_DEFAULT_ADDR) over HTTP/1.0 on a plain socket, giving up after
 * SL_HEALTH_TIMEOUT_MS in all. Prints the answer ("ready" on stdout, the reason or the error
 * on stderr). Returns the exit status: 0 iff the answer is 200, 1 otherwise, 2 on a usage
 * error. */
int sl_cmd_health(int argc, char **argv);

/* Internal, shared by http.c and health.c: parses addr into a socket address. for_connect
 * maps the wildcard addresses to loopback and refuses port 0. Returns 0, or -EINVAL with err
 * filled. */
int sl__http_parse_addr(const char *addr, bool for_connect, struct sockaddr_storage *ret_sa,
                        socklen_t *ret_len, struct sl_err *err);

/* Internal, for tests/fuzz/fuzz_http.c: hands a connected stream socket (one end of a
 * socketpair) to the server as if it had been accepted from 127.0.0.1, so that request
 * parsing and routing run on any bytes without a network. The server owns and closes fd.
 * Returns 0 or -EIO. */
int sl__http_add_connection(struct sl_http *http, int fd);

#endif
