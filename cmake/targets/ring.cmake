# Ring benchmark (bench/bench_ring.c): items/s at batch 1 and 64, idle consumer CPU.
# The ctest entry only runs it briefly (--quick) to keep it working; record real numbers
# with `build/bench_ring` (see bench/RESULTS.md, "Rings").
if(SL_BENCH)
  add_executable(bench_ring ${CMAKE_SOURCE_DIR}/bench/bench_ring.c)
  target_link_libraries(bench_ring PRIVATE sluice_core)
  add_test(NAME bench/ring COMMAND bench_ring --quick)
  set_tests_properties(bench/ring PROPERTIES LABELS bench TIMEOUT 60)
endif()
