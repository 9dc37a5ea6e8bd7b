# End-to-end latency, open loop (bench/bench_latency.c): MQTT -> sluice -> Redis, a followed
# file -> sluice -> Redis (no broker), and Redis and mosquitto alone as references. Run by
# bench/run.sh, which starts the servers.
if(SL_BENCH)
  pkg_check_modules(LAT_HIREDIS IMPORTED_TARGET hiredis)
  pkg_check_modules(LAT_MOSQ IMPORTED_TARGET libmosquitto)
  if(LAT_HIREDIS_FOUND AND LAT_MOSQ_FOUND)
    add_executable(bench_latency ${CMAKE_SOURCE_DIR}/bench/bench_latency.c)
    target_link_libraries(bench_latency PRIVATE PkgConfig::LAT_HIREDIS PkgConfig::LAT_MOSQ
                          Threads::Threads)
  endif()
endif()
