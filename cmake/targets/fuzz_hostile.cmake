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
# fuzz_decode_jansson (the decoder against jansson as the oracle) needs jansson.
pkg_check_modules(SL_FUZZ_JANSSON IMPORTED_TARGET jansson)
set(SL_HOSTILE_FUZZ decode_split subst template http wal)
if(SL_FUZZ_JANSSON_FOUND)
  list(APPEND SL_HOSTILE_FUZZ decode_jansson)
endif()
foreach(name ${SL_HOSTILE_FUZZ})
  add_executable(fuzz_${name} ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${name}.c)
  target_link_libraries(fuzz_${name} PRIVATE sluice_core)
  if(name STREQUAL "decode_jansson")
    target_link_libraries(fuzz_${name} PRIVATE PkgConfig::SL_FUZZ_JANSSON)
  endif()
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

# Hostile input end to end (tests/integration/hostile_*.py): payloads rejected by reason with
# exact neighbours, and the memory budget under 1 M keys. Both reconcile /metrics with
# tests/tools/conservation.py. The memory test measures RSS, which sanitizers inflate: it runs
# in plain builds only.
find_package(Python3 COMPONENTS Interpreter)
if(Python3_FOUND)
  add_test(NAME integration/hostile_payloads
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/integration/hostile_payloads.py
                   $<TARGET_FILE:sluice> ${CMAKE_BINARY_DIR}/it/hostile_payloads
                   ${CMAKE_SOURCE_DIR}/tests/tools)
  set_tests_properties(integration/hostile_payloads PROPERTIES LABELS integration TIMEOUT 300)
  if(NOT SL_SANITIZE AND NOT SL_FUZZ)
    add_test(NAME integration/hostile_memory
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/integration/hostile_memory.py
                     $<TARGET_FILE:sluice> ${CMAKE_BINARY_DIR}/it/hostile_memory
                     ${CMAKE_SOURCE_DIR}/tests/tools)
    set_tests_properties(integration/hostile_memory PROPERTIES LABELS integration TIMEOUT 600)
  endif()
  # Malicious peers: tests/tools/fake_peer.py in front of a real redis-server and mosquitto.
  # Exit status 77: they are not installed.
  set(SL_HOSTILE_SANITIZED "")
  if(SL_SANITIZE OR SL_FUZZ)
    set(SL_HOSTILE_SANITIZED sanitized)
  endif()
  add_test(NAME integration/hostile_peers
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/integration/hostile_peers.py
                   $<TARGET_FILE:sluice> ${CMAKE_BINARY_DIR}/it/hostile_peers
                   ${CMAKE_SOURCE_DIR}/tests/tools ${SL_HOSTILE_SANITIZED})
  set_tests_properties(integration/hostile_peers PROPERTIES LABELS integration TIMEOUT 600
                       SKIP_RETURN_CODE 77)
  # max_groups, max_message_bytes, depth 64, long keys: refused, counted, /readyz degraded.
  add_test(NAME integration/hostile_limits
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/integration/hostile_limits.py
                   $<TARGET_FILE:sluice> ${CMAKE_BINARY_DIR}/it/hostile_limits
                   ${CMAKE_SOURCE_DIR}/tests/tools)
  set_tests_properties(integration/hostile_limits PROPERTIES LABELS integration TIMEOUT 300)
  # Canary secrets in every credential: never in logs, /metrics, check output, dead letters.
  add_test(NAME integration/hostile_secrets
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/integration/hostile_secrets.py
                   $<TARGET_FILE:sluice> ${CMAKE_BINARY_DIR}/it/hostile_secrets)
  set_tests_properties(integration/hostile_secrets PROPERTIES LABELS integration TIMEOUT 300)
  add_test(NAME unit/conservation_self_test
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/tools/conservation.py --self-test)
  set_tests_properties(unit/conservation_self_test PROPERTIES LABELS unit TIMEOUT 60)
endif()
