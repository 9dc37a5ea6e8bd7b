# Integration tests of the engine: real runs of the `sluice` binary checked against oracles
# that share no code with it.
find_package(Python3 COMPONENTS Interpreter)
if(Python3_FOUND)
  add_test(NAME integration/windows_oracle
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/integration/windows_oracle.py
                   $<TARGET_FILE:sluice> ${CMAKE_BINARY_DIR}/it/windows_oracle 7)
  set_tests_properties(integration/windows_oracle PROPERTIES LABELS integration TIMEOUT 600)
endif()
if(Python3_FOUND)
  add_test(NAME integration/lifecycle
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/integration/lifecycle.py
                   $<TARGET_FILE:sluice> ${CMAKE_BINARY_DIR}/it/lifecycle
                   ${CMAKE_SOURCE_DIR}/tests/tools/promparse.py)
  set_tests_properties(integration/lifecycle PROPERTIES LABELS integration TIMEOUT 120)
endif()
add_test(NAME integration/demo
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/integration/demo.sh $<TARGET_FILE:sluice>)
set_tests_properties(integration/demo PROPERTIES LABELS integration TIMEOUT 120)
