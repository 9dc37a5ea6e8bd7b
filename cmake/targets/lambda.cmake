# The Lambda sink: libcurl (multi interface, CURLOPT_AWS_SIGV4) and jansson (credential
# responses). Its integration tests start serverless-offline (npm, from
# tests/tools/lambda/package-lock.json), a scripted loopback Invoke endpoint and loopback
# credential servers; SigV4 signatures are checked with botocore (Debian python3-botocore).
pkg_check_modules(LIBCURL REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
target_link_libraries(sluice_core PUBLIC PkgConfig::LIBCURL PkgConfig::JANSSON)
