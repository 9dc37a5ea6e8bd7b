# Golden tests of `sluice check` (tests/golden/check/<case>/): the plan printout or the
# diagnostics of each query file, compared with files written by hand. And every example in
# queries/examples/ must pass `sluice check`.
find_program(SL_BASH bash REQUIRED)
add_test(NAME golden/check
         COMMAND ${SL_BASH} ${CMAKE_SOURCE_DIR}/tests/golden/run-check.sh $<TARGET_FILE:sluice>
                 ${CMAKE_SOURCE_DIR}/tests/golden/check)
set_tests_properties(golden/check PROPERTIES LABELS golden TIMEOUT 300)
add_test(NAME golden/check_examples
         COMMAND ${SL_BASH} ${CMAKE_SOURCE_DIR}/tests/golden/run-check.sh $<TARGET_FILE:sluice>
                 --examples ${CMAKE_SOURCE_DIR}/queries/examples)
set_tests_properties(golden/check_examples PROPERTIES LABELS golden TIMEOUT 120)
