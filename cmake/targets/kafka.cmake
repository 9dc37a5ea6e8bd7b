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
                   basic props faults kill idle pause threads replay_stop)
  # Exit status 77: kcat or redis-server is not installed.
  set_tests_properties(integration/kafka_source PROPERTIES LABELS integration TIMEOUT 1200
                       SKIP_RETURN_CODE 77)
  # Crash tests (issues 7 and 9): two replicas in one group with one killed after every
  # chunk; ALLOWED LATENESS and SESSION on one partition with 10 kills; 20 SIGKILLs into 4
  # partitions; the kill and replica tests again with several consumer threads. Label
  # durability: the release pass of tests/run.sh runs them (they take minutes; the kill test
  # in integration/kafka_source runs under ASan too).
  add_test(NAME durability/kafka
           COMMAND ${Python3_EXECUTABLE} ${KAFKA_IT} ${CMAKE_BINARY_DIR}/it/kafka_durability
                   replicas late kill20 kill1 treplicas)
  set_tests_properties(durability/kafka PROPERTIES LABELS durability TIMEOUT 1800
                       SKIP_RETURN_CODE 77)
endif()
if(SL_BENCH)
  add_executable(kafka_count ${CMAKE_SOURCE_DIR}/bench/kafka_count.c)
  target_link_libraries(kafka_count PRIVATE PkgConfig::RDKAFKA)
endif()
