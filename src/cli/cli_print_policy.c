/*
 * cli_print_policy: sipedgectl's output for the routing policy commands
 * (policy show, reload, check) and `route --explain`, whose text is the
 * daemon's own, printed as it came: the same as `sipedge -t --explain`
 * (docs/policy.md, "Explain"), so that one grep works on both.
 */
#include "cli_print.h"

#include "cli_table.h"

/* Every string of array a, one per line. */
static void cli_print_lines(FILE *f, json_t *a)
{
	size_t i;
	json_t *s;

	json_array_foreach(a, i, s)
		fprintf(f, "%s\n", cli_str(s, (char[64]){0}, 64));
}

static void cli_print_policy_rules(FILE *f, json_t *rules)
{
	static const char *const heads[] = {"RULE", "LINE", "ACTION", "TARGET", "HITS"};
	static const char *const keys[] = {"name", "line", "action", "target", "hits"};
	struct cli_table t;
	size_t i;
	json_t *r;

	cli_table_init(&t, heads, 5);
	json_array_foreach(rules, i, r)
		for (size_t k = 0; k < 5; k++)
			cli_table_add(&t, "%s", CLI_S(r, keys[k]));
	cli_table_print(&t, f);
}

static void cli_print_policy_show(FILE *f, json_t *r)
{
	static const char *const keys[] = {"file", "generation", "loaded_at", NULL};
	static const char *const labels[] = {"policy file", "generation", "loaded at", NULL};
	json_t *sum = json_object_get(r, "summary");
	json_t *rules = json_object_get(r, "rules");

	cli_print_kv(f, r, keys, labels);
	fprintf(f, "%-24s %s\n", "contents", CLI_S(sum, "text"));
	fprintf(f, "%-24s %s\n", "tables", CLI_S(sum, "tables"));
	fprintf(f, "%-24s %s\n", "lists", CLI_S(sum, "lists"));
	if (!json_is_array(rules))
		return;
	json_int_t total = json_integer_value(json_object_get(sum, "rules"));
	json_int_t from = json_integer_value(json_object_get(r, "offset"));
	size_t n = json_array_size(rules);
	if (n == 0) {
		fprintf(f, "(no rule from offset %lld: the policy has %lld)\n", (long long)from,
		        (long long)total);
		return;
	}
	cli_print_policy_rules(f, rules);
	if ((json_int_t)n < total)
		fprintf(f, "(rules %lld to %lld of %lld shown: --offset N --limit N for others)\n",
		        (long long)from + 1, (long long)from + (long long)n, (long long)total);
}

static void cli_print_policy_reload(FILE *f, json_t *r)
{
	fprintf(f, "policy reloaded: generation %s (was %s): %s\n", CLI_S(r, "generation"),
	        CLI_S(r, "previous"), CLI_S(json_object_get(r, "summary"), "text"));
	cli_print_lines(f, json_object_get(r, "warnings"));
}

/* As `sipedge -t` says it: the messages one per line, then the verdict. */
static void cli_print_policy_check(FILE *f, json_t *r)
{
	cli_print_lines(f, json_object_get(r, "errors"));
	cli_print_lines(f, json_object_get(r, "warnings"));
	if (json_is_true(json_object_get(r, "ok")))
		fprintf(f, "%s: ok: %s\n", CLI_S(r, "file"),
		        CLI_S(json_object_get(r, "summary"), "text"));
	else
		fprintf(f, "%s: check failed\n", CLI_S(r, "file"));
}

/* Exit 1 when the file does not load: `sipedgectl policy check F && cp F ...` */
static int cli_status_policy_check(json_t *r)
{
	return json_is_true(json_object_get(r, "ok")) ? 0 : 1;
}

static void cli_print_route(FILE *f, json_t *r)
{
	fputs(CLI_S(r, "text"), f);
}

const struct cli_printer cli_printers_policy[] = {
    {"policy.show", cli_print_policy_show},
    {"policy.reload", cli_print_policy_reload},
    {"policy.check", cli_print_policy_check, cli_status_policy_check},
    {"route", cli_print_route},
    {NULL, NULL},
};
