/* STUB: replaced by the time parser. */
#include "timefmt.h"
