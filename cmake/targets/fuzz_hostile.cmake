# Fuzz targets for every parser of outside input beyond the SQL front end and the decoder's
# own target (issue 12): tests/fuzz/fuzz_<name>.c for
#   decode_split  the JSON decoder: a payload split at any byte, size limit, allocation failures
#   subst         ${NAME}, ${NAME:-default}, ${file:/path} in string literals
#   template      sink key templates: parse, bind, render
#   http          the HTTP endpoint's request handling (over a socketpair, no network)
#   wal           the write-ahead log reader on arbitrary bytes
# With SL_FUZZ (clang) each is a libFuzzer binary and ctest runs it briefly (label fuzz;
# long runs: tests/fuzz/README.md); otherwise its seed corpus tests/fuzz/corpus/<name>
# replays through the same function as an ordinary test (label fuzz), under gcc too.
foreach(name decode_split subst template http wal)
  add_executable(fuzz_${name} ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${name}.c)
  target_link_libraries(fuzz_${name} PRIVATE sluice_core)
  if(SL_FUZZ)
    target_compile_definitions(fuzz_${name} PRIVATE SL_FUZZ)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    # New inputs go to the build tree, never into the committed seed corpus.
    file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz_${name}_corpus)
    add_test(NAME fuzz/fuzz_${name}
             COMMAND fuzz_${name} -max_total_time=60 -timeout=20
                     ${CMAKE_BINARY_DIR}/fuzz_${name}_corpus
                     ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name})
    set_tests_properties(fuzz/fuzz_${name} PROPERTIES LABELS fuzz TIMEOUT 300)
  else()
    add_test(NAME fuzz/${name}_corpus
             COMMAND fuzz_${name} ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name})
    set_tests_properties(fuzz/${name}_corpus PROPERTIES LABELS fuzz TIMEOUT 300)
  endif()
endforeach()
