/*
 * cli_table: see cli_table.h.
 */
#include "cli_table.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xmem.h"

void cli_table_init(struct cli_table *t, const char *const *heads, size_t ncols)
{
	memset(t, 0, sizeof(*t));
	t->heads = heads;
	t->ncols = ncols;
}

void cli_table_add(struct cli_table *t, const char *fmt, ...)
{
	va_list ap;
	char *cell;

	va_start(ap, fmt);
	if (vasprintf(&cell, fmt, ap) < 0)
		xmem_oom(0);
	va_end(ap);
	t->cells = xmem_grow(t->cells, &t->cap, t->ncells, sizeof(*t->cells));
	t->cells[t->ncells++] = cell;
}

/* A number (right-aligned): digits with at most one '.' and a leading
 * '-'; an IPv4 address is text. */
static bool cli_numeric(const char *s)
{
	const char *dot = strchr(s, '.');
	if (*s == '-')
		s++;
	return *s && strspn(s, "0123456789.") == strlen(s) && (!dot || !strchr(dot + 1, '.'));
}

void cli_table_print(struct cli_table *t, FILE *f)
{
	size_t w[32] = {0};
	size_t nc = t->ncols < 32 ? t->ncols : 32;

	for (size_t c = 0; c < nc; c++)
		w[c] = strlen(t->heads[c]);
	for (size_t i = 0; i < t->ncells; i++) {
		size_t n = strlen(t->cells[i]);
		if (n > w[i % t->ncols])
			w[i % t->ncols] = n;
	}
	for (size_t c = 0; c < nc; c++)
		fprintf(f, c + 1 < nc ? "%-*s  " : "%.*s%s\n", (int)w[c], t->heads[c], "");
	for (size_t i = 0; i < t->ncells; i++) {
		size_t c = i % t->ncols;
		const char *cell = t->cells[i];
		bool last = c + 1 == nc || i + 1 == t->ncells;
		if (cli_numeric(cell))
			fprintf(f, "%*s%s", (int)w[c], cell, last ? "\n" : "  ");
		else if (last) /* no padding at the end of a line */
			fprintf(f, "%s\n", cell);
		else
			fprintf(f, "%-*s  ", (int)w[c], cell);
		free(t->cells[i]);
	}
	free(t->cells);
	t->cells = NULL;
	t->ncells = t->cap = 0;
}
