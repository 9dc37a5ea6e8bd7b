# Fuzz target for the SQL front end (tests/fuzz/fuzz_sql.c). With SL_FUZZ (clang) it is a
# libFuzzer binary run for a bounded number of inputs by ctest; without, the seed corpus is
# replayed through the same function as an ordinary test (label fuzz). The seeds are the
# example queries, the golden queries (read where they live, not copied) and
# tests/fuzz/corpus/sql (variants and every crasher found so far).
file(GLOB SL_SQL_CORPUS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/sql/*
     ${CMAKE_SOURCE_DIR}/queries/examples/*.sql
     ${CMAKE_SOURCE_DIR}/tests/golden/check/*/query.sql)
add_executable(fuzz_sql ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_sql.c)
target_link_libraries(fuzz_sql PRIVATE sluice_core)
if(SL_FUZZ)
  target_compile_definitions(fuzz_sql PRIVATE SL_FUZZ)
  target_link_options(fuzz_sql PRIVATE -fsanitize=fuzzer)
  # New inputs go to the build tree, never into the committed seed corpus.
  file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz_sql_corpus)
  add_test(NAME fuzz/fuzz_sql
           COMMAND fuzz_sql -runs=100000 -timeout=10
                   -dict=${CMAKE_SOURCE_DIR}/tests/fuzz/sql.dict ${CMAKE_BINARY_DIR}/fuzz_sql_corpus
                   ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/sql ${CMAKE_SOURCE_DIR}/queries/examples
                   ${CMAKE_SOURCE_DIR}/tests/golden/check)
  set_tests_properties(fuzz/fuzz_sql PROPERTIES LABELS fuzz TIMEOUT 900)
else()
  add_test(NAME fuzz/fuzz_sql_replay COMMAND fuzz_sql ${SL_SQL_CORPUS})
  set_tests_properties(fuzz/fuzz_sql_replay PROPERTIES LABELS fuzz TIMEOUT 120)
endif()
