# The core benchmark's simdjson reference (bench/run.sh runs it beside sluice).
if(SL_BENCH)
  pkg_check_modules(SIMDJSON IMPORTED_TARGET simdjson)
  if(SIMDJSON_FOUND)
    add_executable(ref_core ${CMAKE_SOURCE_DIR}/bench/ref_core.cpp)
    target_link_libraries(ref_core PRIVATE PkgConfig::SIMDJSON)
    target_compile_options(ref_core PRIVATE -O2)
  endif()
endif()
