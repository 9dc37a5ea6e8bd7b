# Deploy checks (issue 10): the container image built and run with podman, the compose file and
# Kubernetes manifests validated against their schemas, the Grafana dashboard's metric names
# and /metrics checked by independent parsers from npm (tests/tools/deploycheck), and every
# SQL example of docs/queries.md checked by `sluice check`.
#
# Label `container`: only the release pass of tests/run.sh runs it (the sanitizer passes
# select other labels). Label `deploy`: the schema and documentation checks.
# Exit status 77 means a tool is missing (deploy/install-deps.sh installs them): skipped.
find_package(Python3 COMPONENTS Interpreter)
find_program(SL_NODE node)
if(Python3_FOUND)
  add_test(NAME container/smoke
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/integration/container_smoke.py
                   ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/it/container_smoke)
  set_tests_properties(container/smoke PROPERTIES LABELS container TIMEOUT 1500
                       SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)
endif()
if(SL_NODE)
  add_test(NAME deploy/schemas
           COMMAND ${SL_NODE} ${CMAKE_SOURCE_DIR}/tests/integration/deploy_schemas.js
                   ${CMAKE_SOURCE_DIR})
  set_tests_properties(deploy/schemas PROPERTIES LABELS deploy TIMEOUT 120 SKIP_RETURN_CODE 77)
  add_test(NAME deploy/metrics
           COMMAND ${SL_NODE} ${CMAKE_SOURCE_DIR}/tests/integration/deploy_metrics.js
                   $<TARGET_FILE:sluice> ${CMAKE_BINARY_DIR}/it/deploy_metrics
                   ${CMAKE_SOURCE_DIR}/deploy/grafana/sluice-dashboard.json)
  set_tests_properties(deploy/metrics PROPERTIES LABELS deploy TIMEOUT 120 SKIP_RETURN_CODE 77)
endif()
# Debian's python3-kubernetes lives in the system Python, whatever python3 is first on PATH.
if(EXISTS /usr/bin/python3)
  add_test(NAME deploy/k8s_fields
           COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/integration/deploy_k8s_fields.py
                   ${CMAKE_SOURCE_DIR})
  set_tests_properties(deploy/k8s_fields PROPERTIES LABELS deploy TIMEOUT 60 SKIP_RETURN_CODE 77)
endif()
if(Python3_FOUND)
  # Logs as a collector reads them: label integration, so the sanitizer passes run it too.
  add_test(NAME integration/deploy_logs
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/integration/deploy_logs.py
                   $<TARGET_FILE:sluice> ${CMAKE_BINARY_DIR}/it/deploy_logs)
  set_tests_properties(integration/deploy_logs PROPERTIES LABELS integration TIMEOUT 180)
  add_test(NAME deploy/docs
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/integration/deploy_docs.py
                   $<TARGET_FILE:sluice> ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/it/deploy_docs)
  set_tests_properties(deploy/docs PROPERTIES LABELS deploy TIMEOUT 120)
endif()
