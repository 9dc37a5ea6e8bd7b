# Loading and planning 1000 queries (bench/bench_load.c): `build/bench_load`; a quick run with
# 100 queries is also a ctest (label bench) so that the benchmark keeps building and working.
if(SL_BENCH)
  add_executable(bench_load ${CMAKE_SOURCE_DIR}/bench/bench_load.c)
  target_link_libraries(bench_load PRIVATE sluice_core)
  add_test(NAME bench/bench_load_quick COMMAND bench_load --queries 100 --runs 3)
  set_tests_properties(bench/bench_load_quick PROPERTIES LABELS bench TIMEOUT 120)
endif()
