/* STUB: replaced by the front end (issue 2). */
#include <stdio.h>

#include "front.h"

int sl_cmd_check(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "sluice check: not implemented yet\n");
    return 1;
}
