#!/usr/bin/env bash
# The whole test suite: what README.md calls the second command and what .ci/run runs.
#
#   tests/run.sh            install dependencies (Debian 12), then build and test:
#                           1. release build (-Werror): every test (unit, golden, fuzz corpus
#                              replay, integration, quick benchmarks, and label `perf`: the
#                              callgrind instructions-per-event guard, meaningful only here)
#                           2. ASan + UBSan build (clang): unit, golden, fuzz replay, integration
#                           3. TSan build (clang): unit tests (rings, engine threads) and the
#                              engine's integration runs
#                           4. clang-format check of every C and C++ file
#   tests/run.sh --quick    step 1 only
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1
jobs=2

bash deploy/install-deps.sh

step() { printf '\n=== %s\n' "$*"; }

step "release build"
cmake -S . -B build -DSL_WERROR=ON -DSL_TEST_HOOKS=ON >/dev/null
cmake --build build -j"$jobs"
# Every label, `perf` included, except `pending`: tests of known open defects, kept
# runnable (ctest -L pending) and reported in the issues, not part of the green suite.
ctest --test-dir build --output-on-failure -j"$jobs" -LE pending

if [ "$quick" = 1 ]; then
    exit 0
fi

step "ASan + UBSan build"
cmake -S . -B build-asan -DSL_SANITIZE=address,undefined -DSL_BENCH=OFF -DSL_WERROR=ON -DSL_TEST_HOOKS=ON \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" -L 'unit|golden|fuzz|integration'

step "TSan build"
cmake -S . -B build-tsan -DSL_SANITIZE=thread -DSL_BENCH=OFF -DSL_WERROR=ON \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build build-tsan -j"$jobs"
# report_thread_leaks=0: at --shutdown-timeout the engine _exits on purpose with threads
# still stuck on an absent peer (exit 1); everything else TSan reports still fails the run.
TSAN_OPTIONS=halt_on_error=1:report_thread_leaks=0 ctest --test-dir build-tsan --output-on-failure -j"$jobs" \
    -L 'unit|integration'

step "clang-format"
files=$(git ls-files '*.c' '*.h' '*.cpp' '*.cc')
if ! clang-format --dry-run --Werror $files 2>/dev/null; then
    clang-format --dry-run $files 2>&1 | grep -c 'warning:' | xargs echo "clang-format: places to change:"
    exit 1
fi
echo "clang-format: clean"
