# format.cmake - oracle tests for result formatting and scalar functions.
#
# sl_format_driver runs the engine's formatter / ROUND / TO_TIMESTAMP / LOWER / UPPER over
# inputs that an independent oracle generates and checks: node's Number#toString for doubles,
# python3's decimal module and Unicode database for the rest. Labelled `unit` so that they run
# with the unit tests.

add_executable(sl_format_driver ${CMAKE_SOURCE_DIR}/tests/tools/format_driver.c)
target_link_libraries(sl_format_driver PRIVATE sluice_core)

find_program(SL_NODE node)
if(SL_NODE)
  add_test(NAME oracle/format_double
           COMMAND ${SL_NODE} ${CMAKE_SOURCE_DIR}/tests/tools/double_oracle.js
                   $<TARGET_FILE:sl_format_driver> 100000)
  set_tests_properties(oracle/format_double PROPERTIES LABELS "unit;oracle" TIMEOUT 600)
else()
  message(STATUS "node not found: oracle/format_double is not registered")
endif()

find_program(SL_PYTHON3 python3)
if(SL_PYTHON3)
  foreach(mode round ts case)
    add_test(NAME oracle/expr_${mode}
             COMMAND ${SL_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/tools/expr_oracle.py
                     $<TARGET_FILE:sl_format_driver> ${mode})
    set_tests_properties(oracle/expr_${mode} PROPERTIES LABELS "unit;oracle" TIMEOUT 600)
  endforeach()
else()
  message(STATUS "python3 not found: oracle/expr_* tests are not registered")
endif()
