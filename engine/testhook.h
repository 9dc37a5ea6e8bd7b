/*
 * testhook.h - crash points compiled only into test builds (-DSL_TEST_HOOKS=ON).
 *
 * sl_testhook("name") kills the process with SIGKILL on the Nth pass through the point
 * named by the environment variable SLUICE_CRASH_AT="name:N"; the crash tests use it to die
 * inside the message path (after receiving, before or after the log append). In other
 * builds it compiles to nothing.
 */
#ifndef SL_TESTHOOK_H
#define SL_TESTHOOK_H

#ifdef SL_TEST_HOOKS
void sl_testhook(const char *point);
#else
#define sl_testhook(point) ((void)0)
#endif

#endif
