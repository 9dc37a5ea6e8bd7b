# Options reference: docs/connectors.md is generated from the connectors' option tables.
# unit/connectors_doc fails when the committed file differs from what the tables generate;
# the target connectors-doc regenerates it.
add_executable(connectors_doc ${CMAKE_SOURCE_DIR}/tests/tools/connectors_doc.c)
target_link_libraries(connectors_doc PRIVATE sluice_core)
add_test(NAME unit/connectors_doc
         COMMAND connectors_doc --check ${CMAKE_SOURCE_DIR}/docs/connectors.md)
set_tests_properties(unit/connectors_doc PROPERTIES LABELS unit TIMEOUT 60)
add_custom_target(connectors-doc
                  COMMAND connectors_doc > ${CMAKE_SOURCE_DIR}/docs/connectors.md
                  DEPENDS connectors_doc
                  COMMENT "Generating docs/connectors.md from the option tables"
                  VERBATIM)

# Fuzz target for the option parser, connector checks and key templates. With SL_FUZZ it is
# a libFuzzer binary (fuzz_options tests/fuzz/corpus/options); otherwise the seed corpus is
# replayed through it as a unit test.
file(GLOB SL_OPTIONS_CORPUS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/options/*)
add_executable(fuzz_options ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_options.c)
target_link_libraries(fuzz_options PRIVATE sluice_core)
if(SL_FUZZ)
  target_compile_definitions(fuzz_options PRIVATE SL_FUZZ)
  target_link_options(fuzz_options PRIVATE -fsanitize=fuzzer)
  # New inputs go to the build tree, never into the committed seed corpus.
  file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz_options_corpus)
  add_test(NAME fuzz/fuzz_options
           COMMAND fuzz_options -runs=200000 ${CMAKE_BINARY_DIR}/fuzz_options_corpus
                   ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/options)
  set_tests_properties(fuzz/fuzz_options PROPERTIES LABELS fuzz TIMEOUT 600)
else()
  add_test(NAME unit/fuzz_options_replay COMMAND fuzz_options ${SL_OPTIONS_CORPUS})
  set_tests_properties(unit/fuzz_options_replay PROPERTIES LABELS unit TIMEOUT 60)
endif()
