/*
 * hll_redis.c - APPROX_COUNT_DISTINCT's export (sl_hll_redis_dense) against a real
 * redis-server: for sets of several sizes and types, the bytes Sluice writes with SET must be a
 * HyperLogLog Redis accepts, whose PFCOUNT equals PFCOUNT of a key built by PFADD of the same
 * values' texts, whose PFMERGE with that key counts the same, and which PFMERGEs with other
 * sketches of Sluice's. In register mode our own count must equal Redis's too.
 *
 * The oracle is Redis: the texts PFADDed are written here with printf, not by engine/format.c.
 * The server runs on a free loopback port with no persistence in a temporary directory; the
 * test polls for it to accept connections with a deadline. Exit 77 (ctest SKIP_RETURN_CODE)
 * when redis-server is not installed.
 *
 * Usage: hll_redis [path-to-redis-server]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "engine/agg.h"
#include "engine/agg/hll.h"
#include "engine/format.h"

#define SKIP 77

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static long long reply_int(redisContext *c, redisReply *r, const char *what)
{
    long long v = -1;
    if (r == NULL) {
        CHECK(0, "%s: no reply (%s)", what, c->errstr);
        return -1;
    }
    if (r->type == REDIS_REPLY_INTEGER) {
        v = r->integer;
    } else {
        CHECK(0, "%s: unexpected reply type %d (%s)", what, r->type,
              r->type == REDIS_REPLY_ERROR ? r->str : "");
    }
    freeReplyObject(r);
    return v;
}

static void reply_ok(redisContext *c, redisReply *r, const char *what)
{
    if (r == NULL) {
        CHECK(0, "%s: no reply (%s)", what, c->errstr);
        return;
    }
    CHECK(r->type == REDIS_REPLY_STATUS, "%s: %s", what,
          r->type == REDIS_REPLY_ERROR ? r->str : "not OK");
    freeReplyObject(r);
}

/* Decodes the HyperLogLog at key into 16384 registers, dense or sparse (Redis's hyperloglog.c:
 * dense 6-bit registers, least significant bits first; sparse opcodes ZERO 00xxxxxx, XZERO
 * 01xxxxxx yyyyyyyy, VAL 1vvvvvxx). Returns 0, or -1 if it is not a HyperLogLog. */
static int get_regs(redisContext *c, const char *key, uint8_t regs[16384])
{
    redisReply *r = redisCommand(c, "GET %s", key);
    int rc = -1;
    if (r == NULL || r->type != REDIS_REPLY_STRING || r->len < 16 ||
        memcmp(r->str, "HYLL", 4) != 0) {
        goto out;
    }
    const uint8_t *p = (const uint8_t *)r->str + 16;
    size_t n = r->len - 16;
    if (r->str[4] == 0) {
        if (n != 12288) {
            goto out;
        }
        for (unsigned i = 0; i < 16384; i++) {
            unsigned bit = i * 6, byte = bit / 8, fb = bit % 8;
            unsigned v = p[byte] >> fb;
            if (byte + 1 < n) {
                v |= (unsigned)p[byte + 1] << (8 - fb);
            }
            regs[i] = (uint8_t)(v & 63);
        }
        rc = 0;
        goto out;
    }
    unsigned idx = 0;
    for (size_t k = 0; k < n; k++) {
        unsigned len, val = 0;
        if ((p[k] & 0xc0) == 0) {
            len = (p[k] & 0x3fu) + 1;
        } else if ((p[k] & 0xc0) == 0x40) {
            if (k + 1 >= n) {
                goto out;
            }
            len = (((p[k] & 0x3fu) << 8) | p[k + 1]) + 1;
            k++;
        } else {
            val = ((p[k] >> 2) & 0x1fu) + 1;
            len = (p[k] & 3u) + 1;
        }
        if (idx + len > 16384) {
            goto out;
        }
        memset(regs + idx, (int)val, len);
        idx += len;
    }
    rc = idx == 16384 ? 0 : -1;
out:
    if (r != NULL) {
        freeReplyObject(r);
    }
    return rc;
}

/* One set: n values of type t, the i-th made from i and salt. */
struct set {
    enum sl_type t;
    int n;
    int salt;
};

static struct sl_value value_of(const struct set *s, int i, char *txt, size_t cap)
{
    long long k = (long long)i * 7 + s->salt;
    switch (s->t) {
    case SL_TYPE_BIGINT:
        snprintf(txt, cap, "%lld", k - 500);
        return sl_value_bigint(k - 500);
    case SL_TYPE_DOUBLE:
        /* k + 0.5 and, every third, an integral double written without ".0". */
        if (i % 3 == 0) {
            snprintf(txt, cap, "%lld", k);
            return sl_value_double((double)k);
        }
        snprintf(txt, cap, "%lld.5", k);
        return sl_value_double((double)k + 0.5);
    default:
        snprintf(txt, cap, "user-%lld", k);
        return sl_value_text(txt, (uint32_t)strlen(txt));
    }
}

/* Builds Sluice's sketch of s into a fresh state, SETs it as key ours, PFADDs the texts to key
 * theirs. Returns Sluice's own count. */
static long long build(redisContext *c, const struct set *s, const char *ours, const char *theirs)
{
    const struct sl_agg_ops *ops = sl_agg_find("APPROX_COUNT_DISTINCT");
    struct sl_agg_sig sig = {.arg_type = s->t};
    struct sl_err err = {{0}};
    if (ops == NULL || ops->check(&sig, &err) < 0) {
        CHECK(0, "check: %s", err.msg);
        return -1;
    }
    void *st = calloc(1, sig.state_size);
    ops->init(st, &sig);
    struct sl_agg_ctx cx = {0};
    char txt[64];
    const char *argv[1 + 2 + 512];
    size_t lens[1 + 2 + 512];
    char texts[512][64];
    int batch = 0;
    redisReply *r = redisCommand(c, "DEL %s", theirs);
    freeReplyObject(r);
    for (int i = 0; i <= s->n; i++) {
        if (i < s->n) {
            struct sl_value v = value_of(s, i, txt, sizeof(txt));
            ops->update(st, &sig, &v, &cx);
            snprintf(texts[batch], sizeof(texts[batch]), "%s", txt);
            batch++;
        }
        if (batch == 512 || (i == s->n && (batch > 0 || s->n == 0))) {
            argv[0] = "PFADD";
            lens[0] = 5;
            argv[1] = theirs;
            lens[1] = strlen(theirs);
            for (int j = 0; j < batch; j++) {
                argv[2 + j] = texts[j];
                lens[2 + j] = strlen(texts[j]);
            }
            r = redisCommandArgv(c, 2 + batch, argv, lens);
            reply_int(c, r, "PFADD");
            batch = 0;
        }
    }
    struct sl_buf b;
    sl_buf_init(&b);
    CHECK(sl_hll_redis_dense(st, &sig, &b) == 0, "export");
    r = redisCommand(c, "SET %s %b", ours, b.p, b.len);
    reply_ok(c, r, "SET");
    sl_buf_fini(&b);
    struct sl_value out;
    char buf[64];
    ops->final(st, &sig, &out, buf, sizeof(buf));
    ops->fini(st, &sig);
    free(st);
    return out.u.i;
}

static int run(redisContext *c)
{
    static const struct set sets[] = {
        {SL_TYPE_BIGINT, 0, 1},       {SL_TYPE_BIGINT, 1, 2},    {SL_TYPE_TEXT, 63, 3},
        {SL_TYPE_DOUBLE, 64, 4},      {SL_TYPE_TEXT, 65, 5},     {SL_TYPE_BIGINT, 1000, 6},
        {SL_TYPE_DOUBLE, 1000, 7},    {SL_TYPE_TEXT, 100000, 8}, {SL_TYPE_BIGINT, 100000, 9},
        {SL_TYPE_DOUBLE, 100000, 10},
    };
    int nsets = (int)(sizeof(sets) / sizeof(sets[0]));
    char ours[32], theirs[32];
    for (int i = 0; i < nsets; i++) {
        snprintf(ours, sizeof(ours), "ours:%d", i);
        snprintf(theirs, sizeof(theirs), "theirs:%d", i);
        long long own = build(c, &sets[i], ours, theirs);
        long long po = reply_int(c, redisCommand(c, "PFCOUNT %s", ours), "PFCOUNT ours");
        long long pt = reply_int(c, redisCommand(c, "PFCOUNT %s", theirs), "PFCOUNT theirs");
        CHECK(po == pt, "set %d (n=%d): PFCOUNT ours %lld, theirs %lld", i, sets[i].n, po, pt);
        if (sets[i].n > 64) {
            CHECK(own == pt, "set %d (n=%d): final() %lld, Redis %lld", i, sets[i].n, own, pt);
        } else {
            CHECK(own == sets[i].n, "set %d: exact %lld, want %d", i, own, sets[i].n);
        }
        reply_ok(c, redisCommand(c, "PFMERGE m:%d %s %s", i, ours, theirs), "PFMERGE");
        long long pm = reply_int(c, redisCommand(c, "PFCOUNT m:%d", i), "PFCOUNT merged");
        CHECK(pm == pt, "set %d: PFCOUNT(PFMERGE ours theirs) %lld, theirs %lld", i, pm, pt);
        /* Strongest: the registers themselves, decoded from what GET returns (Redis keeps
         * small PFADDed keys sparse; ours is dense). */
        uint8_t ro[16384], rt[16384];
        CHECK(get_regs(c, ours, ro) == 0 && get_regs(c, theirs, rt) == 0 &&
                  memcmp(ro, rt, sizeof(ro)) == 0,
              "set %d: registers differ from Redis's", i);
        printf("n=%-6d %-6s final %-6lld PFCOUNT ours %-6lld theirs %-6lld merged %lld\n",
               sets[i].n, sl_type_name(sets[i].t), own, po, pt, pm);
    }
    /* Across sets: PFMERGE of two of ours equals PFMERGE of the two PFADDed keys. */
    for (int i = 0; i + 1 < nsets; i++) {
        reply_ok(c, redisCommand(c, "PFMERGE xo:%d ours:%d ours:%d", i, i, i + 1), "PFMERGE");
        reply_ok(c, redisCommand(c, "PFMERGE xt:%d theirs:%d theirs:%d", i, i, i + 1), "PFMERGE");
        long long a = reply_int(c, redisCommand(c, "PFCOUNT xo:%d", i), "PFCOUNT");
        long long b = reply_int(c, redisCommand(c, "PFCOUNT xt:%d", i), "PFCOUNT");
        long long u =
            reply_int(c, redisCommand(c, "PFCOUNT ours:%d theirs:%d", i, i + 1), "PFCOUNT union");
        CHECK(a == b && a == u, "sets %d+%d: merged ours %lld, theirs %lld, PFCOUNT union %lld", i,
              i + 1, a, b, u);
    }
    return failures == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *server = argc > 1 ? argv[1] : "redis-server";
    if (strchr(server, '/') != NULL ? access(server, X_OK) != 0
                                    : system("command -v redis-server >/dev/null 2>&1") != 0) {
        printf("redis-server not found: skipped\n");
        return SKIP;
    }
    char dir[] = "/tmp/sl-hll-redis-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    int port = free_port();
    if (port < 0) {
        perror("free port");
        return 1;
    }
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, STDOUT_FILENO);
        }
        execlp(server, server, "--port", portstr, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", dir, "--loglevel", "warning", (char *)NULL);
        _exit(127);
    }
    redisContext *c = NULL;
    double deadline = now_s() + 20;
    while (now_s() < deadline) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr, "redis-server exited before accepting connections\n");
            return 1;
        }
        struct timeval tv = {.tv_sec = 1};
        c = redisConnectWithTimeout("127.0.0.1", port, tv);
        if (c != NULL && c->err == 0) {
            redisReply *r = redisCommand(c, "PING");
            if (r != NULL) {
                int ok = r->type == REDIS_REPLY_STATUS;
                freeReplyObject(r);
                if (ok) {
                    break;
                }
            }
        }
        if (c != NULL) {
            redisFree(c);
            c = NULL;
        }
        struct timespec ts = {.tv_nsec = 10 * 1000 * 1000}; /* a poll interval, not a wait */
        nanosleep(&ts, NULL);
    }
    int rc = 1;
    if (c == NULL) {
        fprintf(stderr, "redis-server did not accept connections within 20 s\n");
    } else {
        rc = run(c);
        redisFree(c);
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", dir);
    }
    printf("%s\n", rc == 0 ? "PASS" : "FAIL");
    return rc;
}
