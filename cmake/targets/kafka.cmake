# The Kafka source links librdkafka; its integration tests run librdkafka's mock cluster in
# tests/tools/kafka_mock.c and produce with kcat (deploy/install-deps.sh installs it).
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
target_link_libraries(sluice_core PUBLIC PkgConfig::RDKAFKA)
add_executable(kafka_mock ${CMAKE_SOURCE_DIR}/tests/tools/kafka_mock.c)
target_link_libraries(kafka_mock PRIVATE PkgConfig::RDKAFKA)
find_package(Python3 COMPONENTS Interpreter)
if(Python3_FOUND)
  add_test(NAME integration/kafka_source
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/integration/kafka_source.py
                   $<TARGET_FILE:sluice> $<TARGET_FILE:kafka_mock> ${CMAKE_BINARY_DIR}/it/kafka_source)
  # Exit status 77: kcat or redis-server is not installed.
  set_tests_properties(integration/kafka_source PROPERTIES LABELS integration TIMEOUT 900
                       SKIP_RETURN_CODE 77)
endif()
if(SL_BENCH)
  add_executable(kafka_count ${CMAKE_SOURCE_DIR}/bench/kafka_count.c)
  target_link_libraries(kafka_count PRIVATE PkgConfig::RDKAFKA)
endif()
