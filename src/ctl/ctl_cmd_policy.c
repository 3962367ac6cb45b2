/*
 * ctl_cmd_policy: the routing policy on the control socket and /metrics:
 *
 *   policy.show    file, generation, counts, and each rule with its hits
 *   policy.reload  reload now, as SIGHUP does; the errors on failure
 *   policy.check   load and compile a file without installing it
 *   route          `sipedgectl route --explain`: how the policy in force
 *                  routes one request line, against the live pools
 *
 * plus the policy members of `status` and the rule-hit and reload metric
 * families (docs/control.md).
 *
 * Everything runs in the master, on its loop, from the master's own
 * compiled policy (struct ctl_policy_ops, lent by master.c) and the pools'
 * shared records. A reload frees the policy, so no pointer to it is kept
 * past the function that asked for it. Nothing here waits on anything,
 * but the work grows with the policy and the master's loop (signals,
 * respawns, /metrics) waits meanwhile: a check or reload of a
 * 100,000-prefix policy compiles for ~50 ms; `policy show` lists 1,000
 * rules a page (~3 ms; 100,000 would be ~300 ms); an explain prints one
 * line per rule tried before the match, as the offline one does.
 */
#include "ctl_int.h"
#include "metrics.h"

#include <sipedge/build.h>
#include <sipedge/error.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../policy/policy_match.h"
#include "../pool/pool.h"
#include "../runtime/explain.h"
#include "../runtime/spawn.h"
#include "xmem.h"

/* ---- helpers ----------------------------------------------------------------- */

/* The master's policy now, or NULL (a daemon without one: the runtime's
 * test double). Never kept: the next reload frees it. */
static const struct policy *ctl_policy_now(const struct ctl_view *v)
{
	return v->policy ? v->policy->current(v->policy->arg) : NULL;
}

/* How many bytes of s to quote in a message of at most max of them,
 * without cutting a UTF-8 sequence (the reply would be refused whole). */
static int ctl_quote_len(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return (int)n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return (int)n;
}

/* Refuse params this command does not take: a mistyped option
 * (`--from` for `--from-ip`) must not be silently ignored. allowed ends
 * with NULL. Returns 0, or -1 with the reply sent. */
static int ctl_params_only(struct ctl_call *c, json_t *params, const char *const *allowed)
{
	const char *key;
	json_t *val;

	json_object_foreach(params, key, val) {
		size_t i = 0;
		while (allowed[i] && strcmp(allowed[i], key) != 0)
			i++;
		if (allowed[i] == NULL) {
			ctl_call_error(c, CTL_E_PARAMS, "unknown param '%.*s'",
			               ctl_quote_len(key, 64), key);
			return -1;
		}
	}
	return 0;
}

/* params[key] as a C string: 0 with *out (NULL when absent and !required),
 * or -1 with the reply sent. (No NUL inside: the request parser refuses
 * "\u0000", so C sees the whole string.) */
static int ctl_param_str(struct ctl_call *c, json_t *params, const char *key, bool required,
                         const char **out)
{
	json_t *j = json_object_get(params, key);

	*out = NULL;
	if (j == NULL && !required)
		return 0;
	if (!json_is_string(j) || json_string_length(j) == 0) {
		ctl_call_error(c, CTL_E_PARAMS, "%s: a non-empty string is required", key);
		return -1;
	}
	*out = json_string_value(j);
	return 0;
}

/* Text as a JSON string. JSON strings are UTF-8 and jansson refuses
 * anything else, so a byte that is not (a policy path is any bytes) is
 * shown as '?' rather than losing the whole answer. */
static json_t *ctl_text(const char *s, size_t len)
{
	json_t *j = json_stringn(s, len);

	if (j)
		return j;
	char *copy = xmem_strndup(s, len);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	j = json_stringn(copy, len);
	free(copy);
	return j;
}

/* The counts of p, and the one-line summary `sipedge -t` prints. */
static json_t *ctl_policy_summary(const struct policy *p)
{
	char text[160];

	policy_summary(p, text, sizeof(text));
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:s}", "rules", (json_int_t)p->n_rules, "pools",
	                 (json_int_t)p->n_pools, "destinations", (json_int_t)p->n_dests, "tables",
	                 (json_int_t)p->n_tables, "prefixes", (json_int_t)p->n_prefixes, "lists",
	                 (json_int_t)p->n_lists, "text", text);
}

/* The messages of errs that are warnings (or that are not), in order:
 * each "file:line:col: message", as `sipedge -t` prints them (a CSV's
 * bad bytes quoted in a message are any bytes: ctl_text). */
static json_t *ctl_policy_msgs(const struct ydoc_errs *errs, bool warnings)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < errs->n; i++)
		if (errs->v[i].warning == warnings)
			json_array_append_new(arr,
			                      ctl_text(errs->v[i].text, strlen(errs->v[i].text)));
	return arr;
}

/* "2024-05-01T12:00:00Z" */
static json_t *ctl_time_json(time_t t)
{
	struct tm tm;
	char buf[32];

	if (t == 0 || gmtime_r(&t, &tm) == NULL)
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

/* ---- policy.show --------------------------------------------------------------- */

/* A rule's requests so far, from its shared record (kept across reloads
 * by rule name, so a rule that keeps its name keeps its count). */
static uint64_t ctl_rule_hits(const struct ctl_view *v, const struct policy_rule *r)
{
	if (r->state == POLICY_NONE)
		return 0; /* not bound: the master's policy always is */
	return atomic_load_explicit(&v->sh->pools->rules[r->state].hits, memory_order_relaxed);
}

static const char *ctl_rule_action(const struct policy_rule *r)
{
	switch (r->action) {
	case PA_ROUTE_POOL:
	case PA_ROUTE_URI:
		return "route";
	case PA_FORWARD_RURI:
		return "forward";
	case PA_ROUTE_TABLE:
		return "route-prefix";
	case PA_REPLY:
		return "reply";
	case PA_REDIRECT:
		return "redirect";
	default:
		return "?";
	}
}

/* A reply's or redirect's answer as text: "404 Not Found", "302 Moved
 * Temporarily to sip:a, sip:b" (cut at the size of buf: it is for people). */
static json_t *ctl_rule_answer(const struct policy_rule *r)
{
	char buf[1024];
	size_t n = 0;
	int k = snprintf(buf, sizeof(buf), "%u %s", r->code,
	                 r->reason ? r->reason : se_reason_phrase(r->code));

	for (uint32_t i = 0; k >= 0 && i < r->n_contacts; i++) {
		n += (size_t)k;
		if (n >= sizeof(buf))
			break;
		k = snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? ", " : " to ", r->contacts[i]);
	}
	return ctl_text(buf, strlen(buf));
}

/* What the action names: a pool, a URI, "request-uri", a table, or the
 * answer. */
static json_t *ctl_rule_target(const struct policy *p, const struct policy_rule *r)
{
	switch (r->action) {
	case PA_ROUTE_POOL:
		return json_string(p->pools[r->pool].name);
	case PA_ROUTE_URI:
		return ctl_text(p->dests[r->dest].uri, strlen(p->dests[r->dest].uri));
	case PA_FORWARD_RURI:
		return json_string("request-uri");
	case PA_ROUTE_TABLE:
		return json_string(p->tables[r->table].name);
	case PA_REPLY:
	case PA_REDIRECT:
		return ctl_rule_answer(r);
	default:
		return json_null();
	}
}

static json_t *ctl_rule_json(const struct ctl_view *v, const struct policy *p,
                             const struct policy_rule *r)
{
	return json_pack("{s:s,s:I,s:s,s:o,s:I}", "name", r->name, "line", (json_int_t)r->line,
	                 "action", ctl_rule_action(r), "target", ctl_rule_target(p, r), "hits",
	                 (json_int_t)ctl_rule_hits(v, r));
}

/* A page of the rule list: 1,000 rules cost the master about 3 ms, all
 * 100,000 of a large policy about 300 ms (the loop carries /metrics,
 * signals and respawns meanwhile), so the whole list comes in pages. */
#define CTL_SHOW_LIMIT_DEFAULT 1000
#define CTL_SHOW_LIMIT_MAX     100000

/* params[key]: absent (*out unchanged), or an integer in [min, max]. */
static int ctl_param_int(struct ctl_call *c, json_t *params, const char *key, json_int_t min,
                         json_int_t max, json_int_t *out)
{
	json_t *j = json_object_get(params, key);

	if (j == NULL)
		return 0;
	if (!json_is_integer(j) || json_integer_value(j) < min || json_integer_value(j) > max) {
		ctl_call_error(c, CTL_E_PARAMS, "%s must be an integer from %lld to %lld", key,
		               (long long)min, (long long)max);
		return -1;
	}
	*out = json_integer_value(j);
	return 0;
}

/* The rules [offset, offset + limit) of p, in order. */
static json_t *ctl_rules_json(const struct ctl_view *v, const struct policy *p, json_int_t offset,
                              json_int_t limit)
{
	json_t *arr = json_array();

	for (json_int_t i = offset; i < (json_int_t)p->n_rules && i < offset + limit; i++)
		json_array_append_new(arr, ctl_rule_json(v, p, &p->rules[i]));
	return arr;
}

/* policy.show {rules: bool = true, offset: 0, limit: 1000}: the policy in
 * force, and a page of its rules in order with their hits. */
static void ctl_cmd_policy_show(struct ctl_call *c, json_t *params)
{
	static const char *const allowed[] = {"rules", "offset", "limit", NULL};
	const struct ctl_view *v = ctl_call_view(c);
	json_t *jr = json_object_get(params, "rules");
	json_int_t offset = 0, limit = CTL_SHOW_LIMIT_DEFAULT;

	if (ctl_params_only(c, params, allowed) != 0 ||
	    ctl_param_int(c, params, "offset", 0, POOL_TABLE_MAX, &offset) != 0 ||
	    ctl_param_int(c, params, "limit", 1, CTL_SHOW_LIMIT_MAX, &limit) != 0)
		return;
	if (jr && !json_is_boolean(jr)) {
		ctl_call_error(c, CTL_E_PARAMS, "rules must be true or false");
		return;
	}
	const struct policy *p = ctl_policy_now(v);
	if (p == NULL) {
		ctl_call_error(c, CTL_E_UNAVAILABLE, "this daemon has no routing policy");
		return;
	}
	json_t *o =
	    json_pack("{s:o,s:I,s:o,s:o}", "file", ctl_text(v->cfg->policy, strlen(v->cfg->policy)),
	              "generation", (json_int_t)atomic_load(&v->sh->generation), "loaded_at",
	              ctl_time_json((time_t)atomic_load(&v->sh->policy_loaded_at)), "summary",
	              ctl_policy_summary(p));
	if (jr == NULL || json_is_true(jr)) {
		json_object_set_new(o, "offset", json_integer(offset));
		json_object_set_new(o, "rules", ctl_rules_json(v, p, offset, limit));
	}
	ctl_call_result(c, o);
}

/* ---- policy.reload ------------------------------------------------------------- */

/* A reload that did not happen: the old generation stays. Too many
 * reloads still being applied by the workers is a "busy, try again";
 * anything else is the file's fault (or the shared tables'), with every
 * message in data.errors. */
static void ctl_policy_reload_failed(struct ctl_call *c, int rc, uint32_t gen,
                                     const struct ydoc_errs *errs)
{
	char msg[256];

	if (rc == SE_ELIMIT) {
		ctl_call_error(c, CTL_E_BUSY,
		               "policy reload refused: the workers are still applying earlier "
		               "reloads; generation %u stays in force, try again in a second",
		               gen);
		return;
	}
	if (errs->n_errors)
		snprintf(msg, sizeof(msg),
		         "policy reload failed: %zu error%s; generation %u stays in force",
		         errs->n_errors, errs->n_errors == 1 ? "" : "s", gen);
	else
		snprintf(msg, sizeof(msg), "policy reload failed: %s; generation %u stays in force",
		         se_strerror(rc), gen);
	ctl_call_error_data(c, CTL_E_INTERNAL, msg,
	                    json_pack("{s:o,s:o,s:I}", "errors", ctl_policy_msgs(errs, false),
	                              "warnings", ctl_policy_msgs(errs, true), "generation",
	                              (json_int_t)gen));
}

static void ctl_cmd_policy_reload(struct ctl_call *c, json_t *params)
{
	static const char *const allowed[] = {NULL};
	const struct ctl_view *v = ctl_call_view(c);

	if (ctl_params_only(c, params, allowed) != 0)
		return;
	if (v->policy == NULL) {
		ctl_call_error(c, CTL_E_UNAVAILABLE, "this daemon has no routing policy");
		return;
	}
	uint32_t prev = atomic_load(&v->sh->generation);
	struct ydoc_errs errs;
	ydoc_errs_init(&errs);
	int rc = v->policy->reload(v->policy->arg, &errs);
	if (rc != 0) {
		ctl_policy_reload_failed(c, rc, prev, &errs);
	} else {
		ctl_call_result(c, json_pack("{s:I,s:I,s:o,s:o}", "generation",
		                             (json_int_t)atomic_load(&v->sh->generation),
		                             "previous", (json_int_t)prev, "summary",
		                             ctl_policy_summary(ctl_policy_now(v)), "warnings",
		                             ctl_policy_msgs(&errs, true)));
	}
	ydoc_errs_free(&errs);
}

/* ---- policy.check -------------------------------------------------------------- */

/*
 * policy.check {file}: load and compile the file as a reload would, and
 * drop it. The answer is a result either way (the check worked; the file
 * may not): {"ok", "file", "summary" when ok, "errors", "warnings"}. The
 * path must be absolute: the daemon's working directory is not the
 * client's. Only a regular file is opened: open() of a FIFO would block
 * the master until someone writes to it.
 */
static void ctl_cmd_policy_check(struct ctl_call *c, json_t *params)
{
	static const char *const allowed[] = {"file", NULL};
	const char *file;
	struct stat st;

	if (ctl_params_only(c, params, allowed) != 0 ||
	    ctl_param_str(c, params, "file", true, &file) != 0)
		return;
	if (file[0] != '/') {
		ctl_call_error(c, CTL_E_PARAMS, "file: an absolute path is required, got '%.*s'",
		               ctl_quote_len(file, 200), file);
		return;
	}
	struct ydoc_errs errs;
	struct policy *p = NULL;
	int rc = SE_ECONFIG;
	ydoc_errs_init(&errs);
	if (stat(file, &st) == 0 && !S_ISREG(st.st_mode))
		ydoc_errs_add_at(&errs, file, 0, 0, "cannot open: not a regular file");
	else
		rc = policy_load(file, NULL, &p, &errs);
	json_t *o = json_pack("{s:b,s:s}", "ok", rc == 0, "file", file);
	if (rc == 0)
		json_object_set_new(o, "summary", ctl_policy_summary(p));
	json_object_set_new(o, "errors", ctl_policy_msgs(&errs, false));
	json_object_set_new(o, "warnings", ctl_policy_msgs(&errs, true));
	policy_free(p);
	ydoc_errs_free(&errs);
	ctl_call_result(c, o);
}

/* ---- route (--explain) ---------------------------------------------------------- */

/*
 * route {explain: LINE, from-ip, transport}: the text of `sipedge -t
 * --explain` for the policy in force, with the destinations' health as the
 * workers see it (a disabled or down one is left out of the order), and
 * the matching rule and pool by name (null when none). Asking a round-robin
 * or weighted pool for its order shows the next call's and leaves the
 * rotation where it is (pool_keys.peek).
 */
static void ctl_cmd_route(struct ctl_call *c, json_t *params)
{
	static const char *const allowed[] = {"explain", "from-ip", "transport", NULL};
	const struct ctl_view *v = ctl_call_view(c);
	const char *line, *from_ip, *transport, *why = NULL;

	if (ctl_params_only(c, params, allowed) != 0 ||
	    ctl_param_str(c, params, "explain", true, &line) != 0 ||
	    ctl_param_str(c, params, "from-ip", false, &from_ip) != 0 ||
	    ctl_param_str(c, params, "transport", false, &transport) != 0)
		return;
	const struct policy *p = ctl_policy_now(v);
	if (p == NULL) {
		ctl_call_error(c, CTL_E_UNAVAILABLE, "this daemon has no routing policy");
		return;
	}
	struct policy_req rq;
	if (policy_req_from_line(&rq, line, from_ip, transport, &why) != 0) {
		ctl_call_error(c, CTL_E_PARAMS, "explain: cannot explain '%.*s': %s",
		               ctl_quote_len(line, 200), line, why ? why : "bad request line");
		return;
	}
	struct policy_hit hit = policy_lookup(p, &rq);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL)
		xmem_oom(BUFSIZ); /* it fails only for want of memory */
	explain_request(v->sh->pools, p, line, from_ip, transport, spawn_now_ms(), f);
	fclose(f);
	json_t *o = json_pack(
	    "{s:o,s:o,s:o}", "text", ctl_text(text, len), "rule",
	    hit.rule == POLICY_NONE ? json_null() : json_string(p->rules[hit.rule].name), "pool",
	    hit.pool == POLICY_NONE ? json_null() : json_string(p->pools[hit.pool].name));
	free(text);
	ctl_call_result(c, o);
}

/* ---- status and /metrics --------------------------------------------------------- */

/* The generation each worker routes with: a reload is answered once the
 * master installed it, and each worker switches at its next tick, after
 * compiling the same bytes off its loop (worker_policy.c). */
static void ctl_policy_worker(const struct ctl_view *v, uint32_t slot, json_t *out)
{
	json_object_set_new(out, "policy_generation",
	                    json_integer(atomic_load(&v->sh->slots[slot].policy_gen)));
}

static void ctl_policy_status(const struct ctl_view *v, json_t *out)
{
	const struct policy *p = ctl_policy_now(v);

	if (p == NULL)
		return;
	json_object_set_new(out, "policy_rules", json_integer(p->n_rules));
	json_object_set_new(out, "policy_pools", json_integer(p->n_pools));
}

/* Rule names are one word of [A-Za-z0-9_.-] (policy_load.c), so they go
 * into a label value as they are. Successful reloads are the generation
 * itself (+1 each, whatever asked for them). */
static void ctl_policy_metrics(const struct ctl_view *v, struct metrics_buf *b)
{
	const struct policy *p = ctl_policy_now(v);

	metrics_family(b, "sipedge_policy_reloads_total", "counter",
	               "policy reloads (SIGHUP and control socket), by result");
	metrics_sample(b, "sipedge_policy_reloads_total", (double)atomic_load(&v->sh->generation),
	               "result=\"ok\"");
	metrics_sample(b, "sipedge_policy_reloads_total",
	               (double)atomic_load(&v->sh->reloads_failed),
	               "result=\"failed\"");
	if (p == NULL)
		return;
	metrics_family(b, "sipedge_rule_hits_total", "counter",
	               "requests matched, per rule of the policy in force");
	for (uint32_t i = 0; i < p->n_rules; i++)
		metrics_sample(b, "sipedge_rule_hits_total", (double)ctl_rule_hits(v, &p->rules[i]),
		               "rule=\"%s\"", p->rules[i].name);
}

/* ---- registration ---------------------------------------------------------------- */

static const struct ctl_cmd ctl_policy_cmds[] = {
    {.method = "policy.show",
     .usage = "policy show [--rules false] [--offset N] [--limit N]",
     .help = "policy file, generation, counts, and each rule with its hits",
     .run = ctl_cmd_policy_show},
    {.method = "policy.reload",
     .usage = "policy reload",
     .help = "reload the policy file now (as SIGHUP); the errors if it does not load",
     .run = ctl_cmd_policy_reload},
    {.method = "policy.check",
     .usage = "policy check FILE",
     .help = "load and compile a policy file without installing it",
     .run = ctl_cmd_policy_check},
    {.method = "route",
     .usage = "route --explain 'REQUEST LINE' [--from-ip ADDR] [--transport T]",
     .help = "how the policy in force routes a request, with the live health",
     .run = ctl_cmd_route},
    {0},
};

static struct ctl_cmd_table ctl_policy_table = {.subsystem = "policy", .cmds = ctl_policy_cmds};
CTL_REGISTER(ctl_policy_table)

static struct ctl_provider ctl_policy_provider = {
    .subsystem = "policy",
    .status = ctl_policy_status,
    .worker = ctl_policy_worker,
    .metrics = ctl_policy_metrics,
};
CTL_REGISTER_PROVIDER(ctl_policy_provider)
