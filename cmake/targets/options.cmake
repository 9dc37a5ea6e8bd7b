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
