# decode: the JSON event decoder's extra targets (engine/decode.c).
#   diff_decode_jansson  differential test against jansson (labels unit, diff)
#   fuzz_decode          libFuzzer target (-DSL_FUZZ=ON, clang)
#   fuzz_decode_replay   replays tests/fuzz/corpus/decode as an ordinary test (label fuzz)
#   bench_decode         micro-benchmark beside simdjson On-Demand (SL_BENCH)

pkg_check_modules(JANSSON IMPORTED_TARGET jansson)
if(JANSSON_FOUND)
  add_executable(diff_decode_jansson tests/diff/diff_decode_jansson.c)
  target_link_libraries(diff_decode_jansson PRIVATE sluice_core PkgConfig::JANSSON m)
  add_test(NAME diff/decode_jansson COMMAND diff_decode_jansson 40000 20240501)
  set_tests_properties(diff/decode_jansson PROPERTIES LABELS "unit;diff" TIMEOUT 300)
endif()
