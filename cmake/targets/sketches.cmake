# Sketch aggregates (engine/agg/: PERCENTILE, APPROX_COUNT_DISTINCT, TOPK, RATE):
# - integration/hll_redis: Sluice's HyperLogLog export checked in a real redis-server
#   (skipped, exit 77, when redis-server is not installed);
# - bench_sketch (SL_BENCH): ns per insert of each sketch beside exact baselines, label `bench`.
pkg_check_modules(HIREDIS IMPORTED_TARGET hiredis)
if(HIREDIS_FOUND)
  add_executable(hll_redis ${CMAKE_SOURCE_DIR}/tests/integration/hll_redis.c)
  target_link_libraries(hll_redis PRIVATE sluice_core PkgConfig::HIREDIS)
  add_test(NAME integration/hll_redis COMMAND hll_redis)
  set_tests_properties(integration/hll_redis PROPERTIES LABELS integration TIMEOUT 300
                                                        SKIP_RETURN_CODE 77)
endif()
if(SL_BENCH)
  add_executable(bench_sketch ${CMAKE_SOURCE_DIR}/bench/bench_sketch.c)
  target_link_libraries(bench_sketch PRIVATE sluice_core)
  target_compile_options(bench_sketch PRIVATE -O2)
  add_test(NAME bench/bench_sketch COMMAND bench_sketch --quick)
  set_tests_properties(bench/bench_sketch PROPERTIES LABELS bench TIMEOUT 300)
endif()
