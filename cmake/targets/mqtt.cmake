# The MQTT source links libmosquitto; its integration tests start their own mosquitto.
pkg_check_modules(MOSQ REQUIRED IMPORTED_TARGET libmosquitto)
target_link_libraries(sluice_core PUBLIC PkgConfig::MOSQ)
find_package(Python3 COMPONENTS Interpreter)
if(Python3_FOUND)
  add_test(NAME integration/mqtt_source
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/integration/mqtt_source.py
                   $<TARGET_FILE:sluice> ${CMAKE_BINARY_DIR}/it/mqtt_source)
  # Exit status 77: mosquitto is not installed (deploy/install-deps.sh installs it).
  set_tests_properties(integration/mqtt_source PROPERTIES LABELS integration TIMEOUT 300
                       SKIP_RETURN_CODE 77)
endif()
# bench/bench_mqtt.sh's reference subscriber.
if(SL_BENCH)
  add_executable(mqtt_count ${CMAKE_SOURCE_DIR}/bench/mqtt_count.c)
  target_link_libraries(mqtt_count PRIVATE PkgConfig::MOSQ)
endif()
# Crash durability with --state-dir: SIGKILLs mid-stream (and, in builds with
# -DSL_TEST_HOOKS=ON, inside the message callback), a torn log.
if(Python3_FOUND)
  if(SL_TEST_HOOKS)
    set(SL_HOOKS_ARG 1)
  else()
    set(SL_HOOKS_ARG 0)
  endif()
  add_test(NAME integration/mqtt_durable
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/integration/mqtt_durable.py
                   $<TARGET_FILE:sluice> ${CMAKE_BINARY_DIR}/it/mqtt_durable ${SL_HOOKS_ARG})
  set_tests_properties(integration/mqtt_durable PROPERTIES LABELS integration TIMEOUT 600
                       SKIP_RETURN_CODE 77)
endif()
