/*
 * doc.h - the generated options reference, docs/connectors.md.
 */
#ifndef SL_CONNECTORS_DOC_H
#define SL_CONNECTORS_DOC_H

#include <stdio.h>

/* Writes the options reference of every registered connector, in Markdown, from the option
 * tables (connector.h): per connector its source and sink options, then the options every
 * source and every sink takes. Deterministic: the committed docs/connectors.md must equal
 * its output (ctest unit/connectors_doc). */
void sl_connectors_doc(FILE *f);

#endif
