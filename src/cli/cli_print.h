/*
 * cli_print: sipedgectl's human-readable rendering of each command's
 * result (the shapes are documented in docs/control.md). A method without
 * a renderer of its own is printed as indented JSON.
 */
#ifndef SE_CLI_PRINT_H
#define SE_CLI_PRINT_H

#include <jansson.h>
#include <stdio.h>

void cli_print(FILE *f, const char *method, json_t *result);

#endif
