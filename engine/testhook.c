/*
 * testhook.c - crash points for the crash tests (testhook.h). Empty unless SL_TEST_HOOKS.
 */
#include "testhook.h"

#ifdef SL_TEST_HOOKS
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char hook_point[64];
static long hook_at;
static atomic_long hook_count;
static pthread_once_t hook_once = PTHREAD_ONCE_INIT;

static void hook_init(void)
{
    const char *e = getenv("SLUICE_CRASH_AT");
    const char *colon = e != NULL ? strrchr(e, ':') : NULL;
    if (colon == NULL || (size_t)(colon - e) >= sizeof(hook_point)) {
        return;
    }
    memcpy(hook_point, e, (size_t)(colon - e));
    hook_at = atol(colon + 1);
}

void sl_testhook(const char *point)
{
    pthread_once(&hook_once, hook_init);
    if (hook_at <= 0 || strcmp(point, hook_point) != 0) {
        return;
    }
    if (atomic_fetch_add(&hook_count, 1) + 1 == hook_at) {
        kill(getpid(), SIGKILL);
    }
}
#else
typedef int sl__testhook_unused; /* ISO C wants something in a translation unit */
#endif
