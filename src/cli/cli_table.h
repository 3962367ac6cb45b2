/*
 * cli_table: columns of text for sipedgectl's human output, each column as
 * wide as its widest cell; numbers right-aligned.
 */
#ifndef SE_CLI_TABLE_H
#define SE_CLI_TABLE_H

#include <stdio.h>

struct cli_table {
	size_t ncols;
	const char *const *heads; /* borrowed, ncols of them */
	char **cells;             /* owned, row-major */
	size_t ncells, cap;
};

void cli_table_init(struct cli_table *t, const char *const *heads, size_t ncols);
/* Append one cell (printf-formatted); rows fill left to right. */
void cli_table_add(struct cli_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print heads and rows, then free the cells. */
void cli_table_print(struct cli_table *t, FILE *f);

#endif
