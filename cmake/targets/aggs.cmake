# Aggregates (engine/agg/): a micro-benchmark of update() on the hot path, label `bench`.
if(SL_BENCH)
  add_executable(bench_agg ${CMAKE_SOURCE_DIR}/tests/bench/bench_agg.c)
  target_link_libraries(bench_agg PRIVATE sluice_core)
  add_test(NAME bench/bench_agg COMMAND bench_agg)
  set_tests_properties(bench/bench_agg PROPERTIES LABELS bench TIMEOUT 300)
endif()
