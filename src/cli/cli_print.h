/*
 * cli_print: sipedgectl's human-readable rendering of each command's
 * result (the shapes are documented in docs/control.md). A method without
 * a renderer of its own is printed as indented JSON.
 *
 * Renderers live with their subject, one file each (cli_print.c: the
 * runtime's; cli_print_pool.c: pools and blacklist; cli_print_policy.c:
 * policy and route), each a table ended by {NULL, NULL}.
 */
#ifndef SE_CLI_PRINT_H
#define SE_CLI_PRINT_H

#include <jansson.h>
#include <stdio.h>

struct cli_printer {
	const char *method;
	void (*print)(FILE *f, json_t *result);
	/* The exit status for this result (NULL: 0): a result can report a
	 * failure a script must see (`policy check` of a file that does not
	 * load). */
	int (*status)(json_t *result);
};

extern const struct cli_printer cli_printers_runtime[];
extern const struct cli_printer cli_printers_pool[];
extern const struct cli_printer cli_printers_policy[];

void cli_print(FILE *f, const char *method, json_t *result);
/* sipedgectl's exit status for a result of method: 0 unless its printer
 * says otherwise. */
int cli_result_status(const char *method, json_t *result);
/* An error answer's data, for people: each string of data.errors, then of
 * data.warnings, on a line of its own (nothing when there are none). */
void cli_print_error_data(FILE *f, json_t *data);

/* A JSON scalar as text into buf (a string is returned as is): "-" for
 * absent or null, yes/no for booleans, one decimal for reals. */
const char *cli_str(json_t *v, char *buf, size_t size);
#define CLI_S(obj, key) cli_str(json_object_get((obj), (key)), (char[64]){0}, 64)

/* Rows "label   value" for keys[i] of o (both lists ended by NULL). */
void cli_print_kv(FILE *f, json_t *o, const char *const *keys, const char *const *labels);

#endif
