/*
 * main.c - the `sluice` command: run, check, health, version (SQL.md, "The command line").
 *
 * Every flag of `run` also comes from the environment as SLUICE_<FLAG> (upper case, '-' as
 * '_'), for containers; a flag on the command line wins.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/http.h"
#include "engine/log.h"
#include "engine/options.h"
#include "queries/front.h"

static int usage(FILE *f)
{
    fprintf(f, "usage: sluice run [FLAGS] [FILE|DIR]…   run the queries (default: "
               "$SLUICE_QUERIES, else ./queries)\n"
               "       sluice check [FILE|DIR]…         check the queries and print their plans\n"
               "       sluice health [ADDR]             exit 0 if the engine at ADDR is ready\n"
               "       sluice version\n"
               "\n"
               "flags of run (each also as environment variable SLUICE_<FLAG>):\n"
               "  --workers N            shards (default: number of cores)\n"
               "  --http ADDR|off        metrics and health endpoint (default 127.0.0.1:9090)\n"
               "  --state-dir DIR        where the MQTT write-ahead log lives\n"
               "  --shutdown-timeout D   how long SIGTERM waits for delivery (default 30s)\n"
               "  --memory-limit SIZE    refuse new groups past this much memory\n"
               "  --fsync                fsync the MQTT log per batch\n"
               "  --log-level LEVEL      error|warn|info|debug (default info)\n"
               "  --log-format FMT       text|json (default text)\n");
    return f == stdout ? 0 : 2;
}

struct run_flags {
    int workers;
    const char *http;
    const char *state_dir;
    int64_t shutdown_timeout_ms;
    int64_t memory_limit;
    bool fsync;
    const char *log_level;
    const char *log_format;
    enum sl_log_level level;   /* parsed from log_level */
    enum sl_log_format format; /* parsed from log_format */
};

static const char *env_flag(const char *flag)
{
    char name[64] = "SLUICE_";
    size_t n = strlen(name);
    for (const char *p = flag; *p != '\0' && n + 1 < sizeof(name); p++) {
        name[n++] = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    }
    name[n] = '\0';
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static int set_flag(struct run_flags *f, const char *name, const char *val)
{
    if (strcmp(name, "workers") == 0) {
        char *end;
        long n = strtol(val, &end, 10);
        if (*end != '\0' || n < 1 || n > 1024) {
            fprintf(stderr, "sluice: --workers must be a number from 1 to 1024, got '%s'\n", val);
            return -1;
        }
        f->workers = (int)n;
    } else if (strcmp(name, "http") == 0) {
        f->http = val;
    } else if (strcmp(name, "state-dir") == 0) {
        f->state_dir = val;
    } else if (strcmp(name, "shutdown-timeout") == 0) {
        if (sl_parse_duration(val, &f->shutdown_timeout_ms) < 0) {
            fprintf(stderr,
                    "sluice: --shutdown-timeout must be a duration like '30s', got "
                    "'%s'\n",
                    val);
            return -1;
        }
    } else if (strcmp(name, "memory-limit") == 0) {
        if (sl_parse_size(val, &f->memory_limit) < 0) {
            fprintf(stderr, "sluice: --memory-limit must be a size like '512MiB', got '%s'\n", val);
            return -1;
        }
    } else if (strcmp(name, "fsync") == 0) {
        f->fsync = val == NULL || strcmp(val, "0") != 0;
    } else if (strcmp(name, "log-level") == 0) {
        f->log_level = val;
    } else if (strcmp(name, "log-format") == 0) {
        f->log_format = val;
    } else {
        return -2;
    }
    return 0;
}

/* The end-of-run counters: as text on stderr, or with --log-format json one log line per
 * summary line (component "summary"), so that a log collector reading JSON sees only JSON. */
static void print_summary(struct sl_engine *eng, enum sl_log_format format)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = format == SL_LOG_JSON ? open_memstream(&buf, &len) : NULL;
    if (mem == NULL) {
        sl_engine_summary(eng, stderr);
        return;
    }
    sl_engine_summary(eng, mem);
    fclose(mem);
    for (char *line = buf, *nl; line != NULL && *line != '\0'; line = nl != NULL ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl != NULL) {
            *nl = '\0';
        }
        sl_log(SL_LOG_INFO, "summary", "%s", line);
    }
    free(buf);
}

static const char *const flag_names[] = {"workers",          "http",         "state-dir",
                                         "shutdown-timeout", "memory-limit", "fsync",
                                         "log-level",        "log-format",   NULL};

/* Reads the flags of `run` from the environment, then argv (a flag wins over its variable);
 * the other arguments go to paths. Returns -1 to go on, or the exit status (0 after --help). */
static int parse_run(int argc, char **argv, struct run_flags *f, const char **paths,
                     int *ret_npaths)
{
    int npaths = 0;
    for (int i = 0; flag_names[i] != NULL; i++) {
        const char *v = env_flag(flag_names[i]);
        if (v != NULL && set_flag(f, flag_names[i], v) < 0) {
            return 2;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            paths[npaths++] = a;
            continue;
        }
        char name[64];
        const char *val = NULL;
        const char *eq = strchr(a + 2, '=');
        size_t n = eq != NULL ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (n >= sizeof(name)) {
            n = sizeof(name) - 1;
        }
        memcpy(name, a + 2, n);
        name[n] = '\0';
        if (strcmp(name, "help") == 0) {
            return usage(stdout);
        }
        if (eq != NULL) {
            val = eq + 1;
        } else if (strcmp(name, "fsync") != 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "sluice: --%s needs a value\n", name);
                return 2;
            }
            val = argv[++i];
        }
        int r = set_flag(f, name, val);
        if (r == -2) {
            fprintf(stderr, "sluice: unknown flag --%s (see sluice --help)\n", name);
            return 2;
        }
        if (r < 0) {
            return 2;
        }
    }
    if (f->log_level != NULL && sl_log_level_parse(f->log_level, &f->level) < 0) {
        fprintf(stderr, "sluice: --log-level must be error, warn, info or debug, got '%s'\n",
                f->log_level);
        return 2;
    }
    if (f->log_format != NULL && sl_log_format_parse(f->log_format, &f->format) < 0) {
        fprintf(stderr, "sluice: --log-format must be text or json, got '%s'\n", f->log_format);
        return 2;
    }
    *ret_npaths = npaths;
    return -1;
}

/* ---- SIGHUP: reload ---- */

static char **main_argv; /* for the new start after a reload */

struct reload_ctx {
    const char *const *paths;
    int npaths;
    const struct sl_catalog *cat;
};

static char *catalog_text(const struct sl_catalog *cat)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL) {
        return NULL;
    }
    sl_catalog_print(cat, f);
    fclose(f);
    return buf;
}

/* The block of `sluice check`'s listing for "<kind> <name> (", without where it was written
 * (moving a query within a file does not change it). NULL when absent. */
static char *plan_block(const char *text, const char *kind, const char *name)
{
    size_t kl = strlen(kind), nl = strlen(name);
    for (const char *l = text; l != NULL && *l != '\0';) {
        if (strncmp(l, kind, kl) == 0 && l[kl] == ' ' && strncmp(l + kl + 1, name, nl) == 0 &&
            l[kl + 1 + nl] == ' ') {
            const char *end = strstr(l, "\n\n");
            size_t n = end != NULL ? (size_t)(end - l) : strlen(l);
            char *b = strndup(l, n);
            if (b == NULL) {
                return NULL;
            }
            char *eol = strchr(b, '\n');
            char *at = strstr(b, " at ");
            if (at != NULL && eol == NULL) {
                *at = '\0';
            } else if (at != NULL && at < eol) {
                memmove(at, eol, strlen(eol) + 1);
            }
            return b;
        }
        const char *nx = strchr(l, '\n');
        l = nx != NULL ? nx + 1 : NULL;
    }
    return NULL;
}

/* Whether query name reads the same in both listings, its source included. */
static bool plan_same(const char *a, const char *b, const struct sl_plan *p)
{
    char *pa = plan_block(a, "sink", p->name), *pb = plan_block(b, "sink", p->name);
    char *sa = plan_block(a, "source", p->src->name), *sb = plan_block(b, "source", p->src->name);
    bool same = pa != NULL && pb != NULL && sa != NULL && sb != NULL && strcmp(pa, pb) == 0 &&
                strcmp(sa, sb) == 0;
    free(pa);
    free(pb);
    free(sa);
    free(sb);
    return same;
}

static const struct sl_plan *plan_named(const struct sl_catalog *cat, const char *name)
{
    for (int i = 0; i < cat->nplans; i++) {
        if (strcmp(cat->plans[i]->name, name) == 0) {
            return cat->plans[i];
        }
    }
    return NULL;
}

static void append_name(char **list, size_t *len, const char *name)
{
    size_t n = strlen(name);
    char *l = realloc(*list, *len + n + 3);
    if (l == NULL) {
        return;
    }
    if (*len > 0) {
        l[(*len)++] = ',';
    }
    memcpy(l + *len, name, n + 1);
    *len += n;
    *list = l;
}

/* SIGHUP (DESIGN.md, Reload): reads the files again. A file with errors is refused and the
 * running queries go on. Otherwise the log says what is kept, added, changed and removed,
 * and the engine stops as on SIGTERM (rows delivered, positions committed) and the process
 * starts again with the new files: kept queries rebuild their windows by the replay that
 * follows any restart, removed ones are gone (their open windows abandoned, as on
 * shutdown), and added or changed ones emit only windows that start after the reload
 * (SLUICE_RELOAD_ADDED tells the new start which). */
static bool reload_files(void *ud)
{
    struct reload_ctx *rc = ud;
    struct sl_diags d = {0};
    struct sl_catalog *cat = NULL;
    int r = sl_front_load(rc->paths, rc->npaths, &cat, &d);
    if (r < 0) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (f != NULL) {
            sl_diags_print(&d, f);
            fclose(f);
        }
        sl_log(SL_LOG_ERROR, "engine",
               "SIGHUP: the query files have errors; the running "
               "queries go on unchanged:\n%s",
               buf != NULL ? buf : "");
        free(buf);
        sl_diags_fini(&d);
        return false;
    }
    sl_diags_fini(&d);
    char *a = catalog_text(rc->cat), *b = catalog_text(cat);
    char *kept = NULL, *added = NULL, *changed = NULL, *removed = NULL, *next = NULL;
    size_t nk = 0, na = 0, nc = 0, nr = 0, nn = 0;
    for (int i = 0; a != NULL && b != NULL && i < cat->nplans; i++) {
        const struct sl_plan *p = cat->plans[i];
        const struct sl_plan *o = plan_named(rc->cat, p->name);
        if (o == NULL) {
            append_name(&added, &na, p->name);
            append_name(&next, &nn, p->name);
        } else if (plan_same(a, b, p)) {
            append_name(&kept, &nk, p->name);
        } else {
            append_name(&changed, &nc, p->name);
            append_name(&next, &nn, p->name);
        }
    }
    for (int i = 0; i < rc->cat->nplans; i++) {
        if (plan_named(cat, rc->cat->plans[i]->name) == NULL) {
            append_name(&removed, &nr, rc->cat->plans[i]->name);
        }
    }
    bool go = a != NULL && b != NULL && (na > 0 || nc > 0 || nr > 0);
    if (a == NULL || b == NULL) {
        sl_log(SL_LOG_ERROR, "engine", "SIGHUP: out of memory comparing the queries; going on");
    } else if (!go) {
        sl_log(SL_LOG_INFO, "engine", "SIGHUP: the query files are unchanged; going on");
    } else {
        sl_log(SL_LOG_INFO, "engine",
               "SIGHUP: reloading: kept [%s], added [%s], changed [%s], removed [%s]",
               kept != NULL ? kept : "", added != NULL ? added : "", changed != NULL ? changed : "",
               removed != NULL ? removed : "");
        setenv("SLUICE_RELOAD_ADDED", next != NULL ? next : "", 1);
    }
    free(a);
    free(b);
    free(kept);
    free(added);
    free(changed);
    free(removed);
    free(next);
    sl_catalog_free(cat);
    return go;
}

/* The queries a reload added (SLUICE_RELOAD_ADDED, set for this start only). */
static int reload_added(char **ret_buf, const char ***ret_names)
{
    const char *e = getenv("SLUICE_RELOAD_ADDED");
    *ret_buf = NULL;
    *ret_names = NULL;
    if (e == NULL || e[0] == '\0') {
        unsetenv("SLUICE_RELOAD_ADDED");
        return 0;
    }
    char *buf = strdup(e);
    unsetenv("SLUICE_RELOAD_ADDED");
    int n = 1;
    for (const char *c = buf; c != NULL && *c != '\0'; c++) {
        n += *c == ',';
    }
    const char **names = calloc((size_t)n + 1, sizeof(*names));
    if (buf == NULL || names == NULL) {
        free(buf);
        free(names);
        return 0;
    }
    int k = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t != NULL && k < n;
         t = strtok_r(NULL, ",", &save)) {
        names[k++] = t;
    }
    *ret_buf = buf;
    *ret_names = names;
    return k;
}

static int cmd_run(int argc, char **argv)
{
    struct run_flags f = {.workers = (int)sysconf(_SC_NPROCESSORS_ONLN),
                          .http = "127.0.0.1:9090",
                          .shutdown_timeout_ms = 30000,
                          .level = SL_LOG_INFO,
                          .format = SL_LOG_TEXT};
    const char **paths = calloc((size_t)argc + 1, sizeof(*paths));
    int npaths = 0;
    if (paths == NULL) {
        fprintf(stderr, "sluice: out of memory\n");
        return 1;
    }
    int code = parse_run(argc, argv, &f, paths, &npaths);
    if (code >= 0) {
        free(paths);
        return code;
    }
    enum sl_log_format format = f.format;
    sl_log_configure(f.level, format, 2);
    struct sl_runtime_settings rs = {.state_dir = f.state_dir, .fsync = f.fsync};
    sl_runtime_set(&rs);
    if (f.fsync && f.state_dir == NULL) {
        sl_log(SL_LOG_WARN, "engine", "--fsync has no effect without --state-dir");
    }
    if (f.memory_limit > 0) {
        sl_log(SL_LOG_WARN, "engine",
               "--memory-limit has no effect in this version; "
               "max_groups per query bounds memory");
    }
    if (npaths == 0) {
        const char *q = getenv("SLUICE_QUERIES");
        paths[npaths++] = q != NULL && q[0] != '\0' ? q : "queries";
    }

    struct sl_diags d = {0};
    struct sl_catalog *cat = NULL;
    int r = sl_front_load(paths, npaths, &cat, &d);
    sl_diags_print(&d, stderr);
    sl_diags_fini(&d);
    if (r < 0) {
        free(paths);
        return 1;
    }
    for (int i = 0; i < cat->nsources; i++) {
        const struct sl_source *src = cat->sources[i];
        if (strcmp(src->conn->name, "mqtt") == 0 && f.state_dir == NULL) {
            sl_log(SL_LOG_WARN, "engine",
                   "source %s: without --state-dir a crash loses the MQTT messages in flight "
                   "(acknowledged to the broker, not yet in a delivered result)",
                   src->name);
        }
    }

    /* SIGINT, SIGTERM and SIGHUP are blocked before the engine creates any thread (HTTP,
     * progress, connectors' own), so that every thread inherits the mask and the signal waits,
     * pending, for the engine's sigtimedwait: a SIGTERM that arrives while the engine starts
     * is a graceful stop, never the default action that kills the process. */
    sigset_t stop_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL);

    struct reload_ctx rc = {.paths = paths, .npaths = npaths, .cat = cat};
    char *added_buf = NULL;
    const char **added = NULL;
    int nadded = reload_added(&added_buf, &added);
    struct sl_engine_opts eo = {.workers = f.workers,
                                .shutdown_timeout_ms = f.shutdown_timeout_ms,
                                .http = f.http,
                                .reload = reload_files,
                                .reload_ud = &rc,
                                .added = added,
                                .nadded = nadded};
    struct sl_engine *eng = NULL;
    struct sl_err err = {{0}};
    r = sl_engine_new(cat, &eo, &eng, &err);
    if (r < 0) {
        sl_log(SL_LOG_ERROR, "engine", "%s", err.msg);
        sl_catalog_free(cat);
        free(paths);
        free(added);
        free(added_buf);
        return 1;
    }
    code = sl_engine_run(eng);
    print_summary(eng, format);
    sl_engine_free(eng);
    sl_catalog_free(cat);
    free(paths);
    free(added);
    free(added_buf);
    if (code == SL_ENGINE_RELOAD) {
        /* The same process (same PID for supervisors and containers) starts again. */
        fflush(NULL);
        execv("/proc/self/exe", main_argv);
        sl_log(SL_LOG_ERROR, "engine", "SIGHUP: cannot start again: %s", strerror(errno));
        return 1;
    }
    return code;
}

int main(int argc, char **argv)
{
    main_argv = argv;
    if (argc < 2) {
        return usage(stderr);
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("sluice %s\n", SL_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "run") == 0) {
        return cmd_run(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "health") == 0) {
        return sl_cmd_health(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "check") == 0) {
        return sl_cmd_check(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
        return usage(stdout);
    }
    fprintf(stderr, "sluice: unknown command '%s'\n", argv[1]);
    return usage(stderr);
}
