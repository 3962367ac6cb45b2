/*
 * cli_print_pool: sipedgectl's tables for pools and the blacklist (the
 * shapes of docs/control.md, "pools", "pool enable, pool disable",
 * "blacklist"). Read tolerantly, as cli_print.c does: a missing field
 * prints as "-".
 */
#include "cli_print.h"

#include <stdbool.h>
#include <string.h>

#include "cli_table.h"

/* A real with `prec` decimals, "-" for null or absent. */
static const char *cli_real(json_t *v, int prec, char *buf, size_t size)
{
	if (!json_is_number(v))
		return "-";
	snprintf(buf, size, "%.*f", prec, json_number_value(v));
	return buf;
}

/* "up", "hold 12.0s left", "down" ... */
static const char *cli_state(json_t *d, char *buf, size_t size)
{
	json_t *until = json_object_get(d, "until_s");

	if (json_is_number(until))
		snprintf(buf, size, "%s %.1fs left", CLI_S(d, "state"), json_number_value(until));
	else
		snprintf(buf, size, "%s", CLI_S(d, "state"));
	return buf;
}

/* Failures by cause, non-zero ones only: "503:2,timeout:1", or "0". */
static const char *cli_fails(json_t *failures, char *buf, size_t size)
{
	const char *k;
	json_t *v;
	size_t len = 0;

	buf[0] = '\0';
	json_object_foreach(failures, k, v) {
		if (json_integer_value(v) == 0 || len >= size)
			continue;
		int n = snprintf(buf + len, size - len, "%s%s:%lld", len ? "," : "", k,
				 (long long)json_integer_value(v));
		len += n > 0 ? (size_t)n : 0;
	}
	return len ? buf : "0";
}

static void cli_dest_row(struct cli_table *t, const char *pool, json_t *d)
{
	char b1[64], b2[64], b3[256];
	json_t *probe = json_object_get(d, "probe");

	cli_table_add(t, "%s", pool);
	cli_table_add(t, "%s", CLI_S(d, "uri"));
	cli_table_add(t, "%s", cli_state(d, b1, sizeof(b1)));
	cli_table_add(t, "%s", cli_real(json_object_get(d, "since_s"), 0, b2, sizeof(b2)));
	cli_table_add(t, "%s%s", cli_real(json_object_get(probe, "rtt_ms"), 3, b3, sizeof(b3)),
		      json_is_true(json_object_get(probe, "outstanding")) ? "*" : "");
	cli_table_add(t, "%s", CLI_S(d, "inflight"));
	cli_table_add(t, "%s", cli_real(json_object_get(d, "calls_per_second"), 1, b1, sizeof(b1)));
	cli_table_add(t, "%s", CLI_S(d, "calls"));
	cli_table_add(t, "%s", cli_fails(json_object_get(d, "failures"), b3, sizeof(b3)));
	cli_table_add(t, "%g/%s", json_number_value(json_object_get(d, "weight_now")),
		      CLI_S(d, "weight"));
}

static void cli_print_pools(FILE *f, json_t *r)
{
	static const char *const heads[] = {"POOL",   "DESTINATION", "STATE", "SINCE_S",
					    "RTT_MS", "INFLIGHT",    "CALLS/S", "CALLS",
					    "FAILS",  "WEIGHT"};
	struct cli_table t;
	size_t i, j;
	json_t *p, *d;

	cli_table_init(&t, heads, sizeof(heads) / sizeof(heads[0]));
	json_array_foreach(json_object_get(r, "pools"), i, p)
		json_array_foreach(json_object_get(p, "destinations"), j, d)
			cli_dest_row(&t, CLI_S(p, "name"), d);
	json_array_foreach(json_object_get(r, "rule_targets"), j, d)
		cli_dest_row(&t, "(rule targets)", d);
	if (t.ncells == 0) {
		fprintf(f, "no pools\n");
		return;
	}
	cli_table_print(&t, f);
	fprintf(f, "(RTT_MS: last probe answer, * a probe outstanding; WEIGHT: now/configured)\n");
}

static void cli_print_pool_set(FILE *f, json_t *r)
{
	const char *state = CLI_S(r, "state"), *prev = CLI_S(r, "previous");
	bool off = strcmp(state, "disabled") == 0;

	if (off == (strcmp(prev, "disabled") == 0))
		fprintf(f, "pool %s: %s (index %s) was already %s (state %s)\n", CLI_S(r, "pool"),
			CLI_S(r, "uri"), CLI_S(r, "index"), off ? "disabled" : "enabled", state);
	else if (off)
		fprintf(f, "pool %s: %s (index %s) disabled (was %s)\n", CLI_S(r, "pool"),
			CLI_S(r, "uri"), CLI_S(r, "index"), prev);
	else
		fprintf(f, "pool %s: %s (index %s) enabled: now %s\n", CLI_S(r, "pool"),
			CLI_S(r, "uri"), CLI_S(r, "index"), state);
}

static void cli_print_bl_list(FILE *f, json_t *r)
{
	static const char *const heads[] = {"TARGET", "TRANSPORT", "CODE", "EXPIRES_S", "AGE_S",
					    "REASON"};
	struct cli_table t;
	size_t i;
	json_t *e;
	char b1[64], b2[64];

	if (json_array_size(json_object_get(r, "entries")) == 0) {
		fprintf(f, "the blacklist is empty\n");
		return;
	}
	cli_table_init(&t, heads, sizeof(heads) / sizeof(heads[0]));
	json_array_foreach(json_object_get(r, "entries"), i, e) {
		cli_table_add(&t, "%s", CLI_S(e, "target"));
		cli_table_add(&t, "%s", CLI_S(e, "transport"));
		cli_table_add(&t, "%s", CLI_S(e, "code"));
		cli_table_add(&t, "%s",
			      cli_real(json_object_get(e, "expires_in_s"), 1, b1, sizeof(b1)));
		cli_table_add(&t, "%s", cli_real(json_object_get(e, "age_s"), 1, b2, sizeof(b2)));
		cli_table_add(&t, "%s", CLI_S(e, "reason"));
	}
	cli_table_print(&t, f);
}

static void cli_print_bl_add(FILE *f, json_t *r)
{
	char b[64];

	fprintf(f, "blacklisted %s (transport %s) for %s s: %s %s\n", CLI_S(r, "target"),
		CLI_S(r, "transport"),
		cli_real(json_object_get(r, "expires_in_s"), 0, b, sizeof(b)), CLI_S(r, "code"),
		CLI_S(r, "reason"));
}

static void cli_print_bl_del(FILE *f, json_t *r)
{
	if (json_is_true(json_object_get(r, "removed")))
		fprintf(f, "removed %s (transport %s) from the blacklist\n", CLI_S(r, "target"),
			CLI_S(r, "transport"));
	else
		fprintf(f, "no blacklist entry for exactly %s (transport %s): `blacklist list` "
			   "shows them\n",
			CLI_S(r, "target"), CLI_S(r, "transport"));
}

const struct cli_printer cli_printers_pool[] = {
    {"pools", cli_print_pools},
    {"pool.enable", cli_print_pool_set},
    {"pool.disable", cli_print_pool_set},
    {"blacklist.list", cli_print_bl_list},
    {"blacklist.add", cli_print_bl_add},
    {"blacklist.del", cli_print_bl_del},
    {NULL, NULL},
};
