# Metrics, HTTP endpoint, log and progress: extra test wiring and the counter benchmark.
#
# - test_log parses its JSON lines with jansson when it is installed (an independent parser).
# - tools/promparse_*: tests/tools/promparse.py (Python standard library only) checks the text
#   exposition format of a registry rendered by tests/tools/metrics_sample.c (printed, and
#   served over HTTP and fetched with urllib), and checks itself against hand-written good and
#   bad documents.
# - bench_metrics (SL_BENCH): single-writer load+store against fetch_add for a counter cell.

pkg_check_modules(JANSSON IMPORTED_TARGET jansson)
if(TARGET test_log AND JANSSON_FOUND)
  target_link_libraries(test_log PRIVATE PkgConfig::JANSSON)
  target_compile_definitions(test_log PRIVATE SL_HAVE_JANSSON=1)
endif()

add_executable(metrics_sample ${CMAKE_SOURCE_DIR}/tests/tools/metrics_sample.c)
target_link_libraries(metrics_sample PRIVATE sluice_core)

find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  add_test(NAME tools/promparse_selftest
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/tools/promparse.py --self-test)
  add_test(NAME tools/promparse_sample
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/tools/promparse.py
                   --exec $<TARGET_FILE:metrics_sample>)
  add_test(NAME tools/promparse_http
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/tools/promparse.py
                   --serve $<TARGET_FILE:metrics_sample>)
  set_tests_properties(tools/promparse_selftest tools/promparse_sample tools/promparse_http
                       PROPERTIES LABELS unit TIMEOUT 60)
endif()

if(SL_BENCH)
  add_executable(bench_metrics ${CMAKE_SOURCE_DIR}/bench/bench_metrics.c)
  target_link_libraries(bench_metrics PRIVATE sluice_core)
  target_compile_options(bench_metrics PRIVATE -O2)
endif()
