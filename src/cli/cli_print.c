/*
 * cli_print: tables and key/value lists for people; --json bypasses all
 * of it. Every field is read tolerantly (a missing one prints as "-"), so
 * a newer daemon with more fields or an older one with fewer still prints.
 */
#include "cli_print.h"

#include <stdbool.h>
#include <string.h>

#include "cli_table.h"

const char *cli_str(json_t *v, char *buf, size_t size)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v))
		snprintf(buf, size, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, size, "%.1f", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, size, "%s", json_is_true(v) ? "yes" : "no");
	else
		snprintf(buf, size, "-");
	return buf;
}

void cli_print_kv(FILE *f, json_t *o, const char *const *keys, const char *const *labels)
{
	for (size_t i = 0; keys[i]; i++)
		fprintf(f, "%-24s %s\n", labels[i], CLI_S(o, keys[i]));
}

static void cli_print_status(FILE *f, json_t *r)
{
	static const char *const keys[] = {
	    "version", "pid", "uptime_s", "config", "policy", "policy_generation",
	    "policy_rules", "policy_pools", "workers_alive", "workers_configured", "draining", "stopping",
	    "transactions_in_flight", "calls_per_second", NULL};
	static const char *const labels[] = {
	    "version", "pid", "uptime (s)", "config", "policy file", "policy generation",
	    "policy rules", "policy pools", "workers alive", "workers configured", "draining", "stopping",
	    "transactions in flight", "calls/s now", NULL};
	cli_print_kv(f, r, keys, labels);
}

static void cli_print_workers(FILE *f, json_t *r)
{
	static const char *const heads[] = {"SLOT", "PID", "STATE", "UPTIME_S", "RESTARTS",
					    "MSGS_IN", "MSGS_OUT", "TXNS", "LOOP_LAG_US"};
	static const char *const keys[] = {"slot", "pid", "state", "uptime_s", "restarts",
					   "messages_in", "messages_out", "transactions",
					   "loop_lag_us"};
	struct cli_table t;
	size_t i;
	json_t *w;

	cli_table_init(&t, heads, 9);
	json_array_foreach(json_object_get(r, "workers"), i, w)
		for (size_t k = 0; k < 9; k++)
			cli_table_add(&t, "%s", CLI_S(w, keys[k]));
	cli_table_print(&t, f);
}

/* An object of counters as NAME VALUE rows; with skip_zero the zeros are
 * left out, and "none" said when nothing is left. */
static void cli_print_counters(FILE *f, const char *title, json_t *o, bool skip_zero)
{
	const char *k;
	json_t *v;
	size_t shown = 0;

	fprintf(f, "%s:\n", title);
	json_object_foreach(o, k, v) {
		if (skip_zero && json_integer_value(v) == 0)
			continue;
		fprintf(f, "  %-28s %s\n", k, cli_str(v, (char[64]){0}, 64));
		shown++;
	}
	if (shown == 0)
		fprintf(f, "  none\n");
}

static void cli_print_shm(FILE *f, json_t *shm)
{
	static const char *const heads[] = {"CLASS_SIZE", "SLABS", "USED", "FREE", "FAIL"};
	struct cli_table t;
	size_t i;
	json_t *c;

	fprintf(f, "shared memory: %s bytes used, %s free of %s, %s allocation failures\n",
		CLI_S(shm, "used_bytes"), CLI_S(shm, "free_bytes"), CLI_S(shm, "total_bytes"),
		CLI_S(shm, "alloc_failures"));
	cli_table_init(&t, heads, 5);
	json_array_foreach(json_object_get(shm, "classes"), i, c) {
		if (json_integer_value(json_object_get(c, "slabs")) == 0)
			continue;
		cli_table_add(&t, "%s", CLI_S(c, "size"));
		cli_table_add(&t, "%s", CLI_S(c, "slabs"));
		cli_table_add(&t, "%s", CLI_S(c, "used"));
		cli_table_add(&t, "%s", CLI_S(c, "free"));
		cli_table_add(&t, "%s", CLI_S(c, "fail"));
	}
	cli_table_print(&t, f);
}

static void cli_print_stats(FILE *f, json_t *r)
{
	cli_print_counters(f, "requests by method (non-zero)", json_object_get(r, "requests"),
			   true);
	cli_print_counters(f, "responses received", json_object_get(r, "responses"), false);
	cli_print_counters(f, "responses generated", json_object_get(r, "replies_local"), false);
	fprintf(f, "parse errors: %s   retransmissions: %s\n", CLI_S(r, "parse_errors"),
		CLI_S(r, "retransmissions"));
	cli_print_counters(f, "drops by cause", json_object_get(r, "drops"), false);
	cli_print_counters(f, "internal errors by id (non-zero)",
			   json_object_get(r, "internal_errors"), true);
	cli_print_counters(f, "policy reactions by event (non-zero)",
			   json_object_get(r, "reactions"), true);
	cli_print_counters(f, "transactions", json_object_get(r, "transactions"), false);
	cli_print_shm(f, json_object_get(r, "shm"));
}

static void cli_print_transactions(FILE *f, json_t *r)
{
	static const char *const heads[] = {"SLOT", "METHOD", "STATE", "AGE_MS", "BRANCHES",
					    "LAST", "SOURCE"};
	static const char *const keys[] = {"slot", "method", "state", "age_ms", "branches",
					   "last_response", "source"};
	struct cli_table t;
	size_t i;
	json_t *w;

	fprintf(f, "%s transactions%s\n", CLI_S(r, "total"),
		json_is_true(json_object_get(r, "complete")) ? "" : " (incomplete: see below)");
	cli_print_counters(f, "by state", json_object_get(r, "by_state"), false);
	json_array_foreach(json_object_get(r, "workers"), i, w) {
		if (json_object_get(w, "error"))
			fprintf(f, "  w%s: %s\n", CLI_S(w, "slot"), CLI_S(w, "error"));
	}
	cli_table_init(&t, heads, 7);
	json_array_foreach(json_object_get(r, "sample"), i, w)
		for (size_t k = 0; k < 7; k++)
			cli_table_add(&t, "%s", CLI_S(w, keys[k]));
	if (t.ncells)
		cli_table_print(&t, f);
}

static void cli_print_drain(FILE *f, json_t *r)
{
	if (!json_is_true(json_object_get(r, "draining")))
		fprintf(f, "not draining (resumed) after %s ms\n", CLI_S(r, "waited_ms"));
	else if (json_is_true(json_object_get(r, "idle")))
		fprintf(f, "draining: idle after %s ms (new calls get 503)\n", CLI_S(r, "waited_ms"));
	else {
		size_t i;
		json_t *s;
		fprintf(f, "draining: timeout after %s ms, workers still busy:",
			CLI_S(r, "waited_ms"));
		json_array_foreach(json_object_get(r, "busy_workers"), i, s)
			fprintf(f, " w%s", cli_str(s, (char[32]){0}, 32));
		fputc('\n', f);
	}
}

static void cli_print_help(FILE *f, json_t *r)
{
	static const char *const heads[] = {"COMMAND", "DESCRIPTION"};
	struct cli_table t;
	size_t i;
	json_t *c;

	cli_table_init(&t, heads, 2);
	json_array_foreach(json_object_get(r, "commands"), i, c) {
		cli_table_add(&t, "%s", CLI_S(c, "usage"));
		cli_table_add(&t, "%s", CLI_S(c, "help"));
	}
	cli_table_print(&t, f);
}

static void cli_print_log(FILE *f, json_t *r)
{
	if (json_object_get(r, "previous"))
		fprintf(f, "log level %s (was %s)\n", CLI_S(r, "level"), CLI_S(r, "previous"));
	else
		fprintf(f, "log level %s\n", CLI_S(r, "level"));
}

static void cli_print_resume(FILE *f, json_t *r)
{
	fprintf(f, "%s\n", json_is_true(json_object_get(r, "was_draining"))
			       ? "resumed: taking new calls again"
			       : "was not draining");
}

const struct cli_printer cli_printers_runtime[] = {
    {"status", cli_print_status},
    {"workers", cli_print_workers},
    {"stats", cli_print_stats},
    {"transactions", cli_print_transactions},
    {"drain", cli_print_drain},
    {"resume", cli_print_resume},
    {"help", cli_print_help},
    {"log.level", cli_print_log},
    {NULL, NULL},
};

static const struct cli_printer *cli_printer_of(const char *method)
{
	static const struct cli_printer *const tables[] = {
	    cli_printers_runtime, cli_printers_pool, cli_printers_policy};

	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (const struct cli_printer *p = tables[t]; p->method; p++)
			if (strcmp(p->method, method) == 0)
				return p;
	return NULL;
}

void cli_print(FILE *f, const char *method, json_t *result)
{
	const struct cli_printer *p = cli_printer_of(method);

	if (p) {
		p->print(f, result);
		return;
	}
	json_dumpf(result, f, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
	fputc('\n', f);
}

int cli_result_status(const char *method, json_t *result)
{
	const struct cli_printer *p = cli_printer_of(method);

	return p && p->status ? p->status(result) : 0;
}

void cli_print_error_data(FILE *f, json_t *data)
{
	static const char *const keys[] = {"errors", "warnings"};
	size_t i;
	json_t *s;

	for (size_t k = 0; k < 2; k++)
		json_array_foreach(json_object_get(data, keys[k]), i, s)
			if (json_is_string(s))
				fprintf(f, "%s\n", json_string_value(s));
}
