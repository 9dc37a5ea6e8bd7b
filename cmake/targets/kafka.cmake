# The Kafka source links librdkafka; its integration tests run librdkafka's mock cluster in
# tests/tools/kafka_mock.c and produce with kcat (deploy/install-deps.sh installs it).
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
target_link_libraries(sluice_core PUBLIC PkgConfig::RDKAFKA)
add_executable(kafka_mock ${CMAKE_SOURCE_DIR}/tests/tools/kafka_mock.c)
target_link_libraries(kafka_mock PRIVATE PkgConfig::RDKAFKA)
find_package(Python3 COMPONENTS Interpreter)
# Not under TSan: librdkafka starts its threads with C11 thrd_create, which clang 14's TSan
# does not intercept, so the first allocation in one of them crashes the process.
if(Python3_FOUND AND NOT SL_SANITIZE MATCHES "thread")
  set(KAFKA_IT ${CMAKE_SOURCE_DIR}/tests/integration/kafka_source.py $<TARGET_FILE:sluice>
               $<TARGET_FILE:kafka_mock>)
  add_test(NAME integration/kafka_source
           COMMAND ${Python3_EXECUTABLE} ${KAFKA_IT} ${CMAKE_BINARY_DIR}/it/kafka_source
                   basic props faults kill idle pause)
  # Exit status 77: kcat or redis-server is not installed.
  set_tests_properties(integration/kafka_source PROPERTIES LABELS integration TIMEOUT 1200
                       SKIP_RETURN_CODE 77)
  # Label pending (ctest -L pending), not run by tests/run.sh until the engine side is fixed:
  # - replicas: two replicas in one group, one killed after every chunk; fails while the
  #   engine does not let the source watermark go back on a rebalance (DESIGN.md "Kafka").
  # - late: ALLOWED LATENESS and SESSION on one partition, 10 kills; passed with main up to
  #   955c5bd, since adcabb6 one SESSION row is written under a wrong window_start.
  foreach(case replicas late)
    add_test(NAME pending/kafka_${case}
             COMMAND ${Python3_EXECUTABLE} ${KAFKA_IT} ${CMAKE_BINARY_DIR}/it/kafka_${case}
                     ${case})
    set_tests_properties(pending/kafka_${case} PROPERTIES LABELS pending TIMEOUT 900
                         SKIP_RETURN_CODE 77)
  endforeach()
endif()
if(SL_BENCH)
  add_executable(kafka_count ${CMAKE_SOURCE_DIR}/bench/kafka_count.c)
  target_link_libraries(kafka_count PRIVATE PkgConfig::RDKAFKA)
endif()
