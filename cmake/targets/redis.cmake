# The Redis sink: hiredis (Debian's 0.14), its integration tests against a real redis-server
# started per test, and its benchmark (bench/bench_redis.sh, called from bench/run.sh).
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
target_link_libraries(sluice_core PUBLIC PkgConfig::HIREDIS)

find_package(Python3 COMPONENTS Interpreter)
find_program(SL_REDIS_SERVER redis-server)
if(Python3_FOUND AND SL_REDIS_SERVER)
  add_test(NAME integration/redis_sink
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/integration/redis_sink.py
                   $<TARGET_FILE:sluice> ${CMAKE_BINARY_DIR}/it/redis_sink)
  set_tests_properties(integration/redis_sink PROPERTIES LABELS integration TIMEOUT 300)
endif()

# The sink's write path against a running redis-server (bench/bench_redis.sh starts one and
# compares with redis-benchmark).
if(SL_BENCH)
  add_executable(bench_redis ${CMAKE_SOURCE_DIR}/bench/bench_redis.c)
  target_link_libraries(bench_redis PRIVATE sluice_core)
endif()
