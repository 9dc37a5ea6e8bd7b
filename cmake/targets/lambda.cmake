# The Lambda sink: libcurl (multi interface, CURLOPT_AWS_SIGV4) and jansson (credential
# responses). Its integration tests start serverless-offline (npm, from
# tests/tools/lambda/package-lock.json), a scripted loopback Invoke endpoint and loopback
# credential servers; SigV4 signatures are checked with botocore (Debian python3-botocore).
pkg_check_modules(LIBCURL REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
target_link_libraries(sluice_core PUBLIC PkgConfig::LIBCURL PkgConfig::JANSSON)

find_package(Python3 COMPONENTS Interpreter)
if(Python3_FOUND)
  add_test(NAME integration/lambda_offline
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/integration/lambda_offline.py
                   $<TARGET_FILE:sluice> ${CMAKE_BINARY_DIR}/it/lambda_offline)
  # The first run installs serverless-offline with npm ci (about a minute); later runs reuse it.
  set_tests_properties(integration/lambda_offline PROPERTIES LABELS integration TIMEOUT 600
                       SKIP_RETURN_CODE 77)
endif()
if(Python3_FOUND)
  add_test(NAME integration/lambda_stub
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/integration/lambda_stub.py
                   $<TARGET_FILE:sluice> ${CMAKE_BINARY_DIR}/it/lambda_stub)
  set_tests_properties(integration/lambda_stub PROPERTIES LABELS integration TIMEOUT 180
                       SKIP_RETURN_CODE 77)
endif()

# Rows/s to the emulator with batching against batch_size = 1 (bench/RESULTS.md has the full
# run; ctest runs a quick one that fails only when rows go missing, never on timing).
if(SL_BENCH AND Python3_FOUND)
  add_test(NAME bench/lambda
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/bench/bench_lambda.py
                   $<TARGET_FILE:sluice> 5000 300)
  set_tests_properties(bench/lambda PROPERTIES LABELS bench TIMEOUT 600)
endif()

# Fuzz target for the credential parsers and Retry-After (tests/tools/lambda/fuzz_creds.c):
# libFuzzer with SL_FUZZ, else the seed corpus replayed as an ordinary test (label fuzz).
add_executable(fuzz_lambda_creds ${CMAKE_SOURCE_DIR}/tests/tools/lambda/fuzz_creds.c)
target_link_libraries(fuzz_lambda_creds PRIVATE sluice_core)
if(SL_FUZZ)
  target_compile_definitions(fuzz_lambda_creds PRIVATE SL_FUZZ)
  target_link_options(fuzz_lambda_creds PRIVATE -fsanitize=fuzzer)
  file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz_lambda_creds_corpus)
  add_test(NAME fuzz/fuzz_lambda_creds
           COMMAND fuzz_lambda_creds -runs=200000 -timeout=10
                   ${CMAKE_BINARY_DIR}/fuzz_lambda_creds_corpus
                   ${CMAKE_SOURCE_DIR}/tests/tools/lambda/corpus)
  set_tests_properties(fuzz/fuzz_lambda_creds PROPERTIES LABELS fuzz TIMEOUT 900)
else()
  file(GLOB SL_LAMBDA_CORPUS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/tools/lambda/corpus/*)
  add_test(NAME fuzz/fuzz_lambda_creds_replay COMMAND fuzz_lambda_creds ${SL_LAMBDA_CORPUS})
  set_tests_properties(fuzz/fuzz_lambda_creds_replay PROPERTIES LABELS fuzz TIMEOUT 120)
endif()
