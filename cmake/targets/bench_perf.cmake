# Issue 11's deterministic guard (tests/perf/callgrind_core.sh): instructions per event of
# the core-throughput job under valgrind's callgrind, compared with tests/perf/core_ir.record
# (fails on > 10 % growth). Label `perf`, run by the release pass of tests/run.sh (~15 s).
# Instruction counts depend on the compiler and flags, so the test exists only for the build
# the record was made with: gcc, RelWithDebInfo, no sanitizer or fuzzer, jemalloc linked.
find_program(SL_VALGRIND valgrind)
if(SL_VALGRIND AND CMAKE_C_COMPILER_ID STREQUAL "GNU" AND CMAKE_BUILD_TYPE STREQUAL "RelWithDebInfo"
   AND NOT SL_SANITIZE AND NOT SL_FUZZ AND SL_JEMALLOC)
  find_program(SL_BASH bash REQUIRED)
  add_test(NAME perf/callgrind_core
           COMMAND ${SL_BASH} ${CMAKE_SOURCE_DIR}/tests/perf/callgrind_core.sh
                   $<TARGET_FILE:sluice>)
  set_tests_properties(perf/callgrind_core PROPERTIES LABELS perf TIMEOUT 300)
endif()
