/*
 * Tests of the policy loader (src/policy/policy_load*.c, policy_dest.c):
 * policy.yaml and its CSV prefix files to struct policy.
 *
 * Each row is YAML text (and CSV files when it needs them), written to a
 * fresh temporary directory, and either the expected policy, as a
 * canonical text dump of every structure (lists, pools, destinations,
 * tables, rules, condition trees, references resolved), or the exact
 * messages expected, written "F:line:col: message" with F standing for
 * the file's path ("F/name.csv:..." in rows with CSV files, F being the
 * directory). Warnings are messages too and are checked in both kinds.
 *
 * tests/data/policy/broken/ holds one broken policy per error class, each
 * with its expected messages in "# expect:" lines; test_broken_files
 * checks them here, the integration tests run `sipedge -t` on the same
 * files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <errno.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "yaml_case.h"

#include <sipedge/error.h>
#include <sipedge/uri.h>

#include <xxhash.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "policy.h"
#include "policy_dump.h"
#include "policy_match.h"

#define MAX_LINES 40

/* ---- fixtures --------------------------------------------------------- */

YAML_CASE_TMPDIR("test_policy")

static const char *write_named(const char *name, const char *text)
{
	return yaml_case_write(tmpdir, name, text);
}

static const char *write_file(const char *text)
{
	return write_named("policy.yaml", text);
}

#define check_lines(e, want, file, row) yaml_case_check(e, want, MAX_LINES, file, row)

/* ---- canonical dump --------------------------------------------------- */

static void dump_sockaddr(struct out *o, const struct sockaddr *sa)
{
	char a[INET6_ADDRSTRLEN];
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
		out(o, "%s:%u", a, ntohs(in->sin_port));
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a));
		out(o, "[%s]:%u", a, ntohs(in6->sin6_port));
	}
}



static void dump_probe(struct out *o, const struct policy_probe *pr)
{
	if (!pr->enabled) {
		out(o, "off");
		return;
	}
	out(o, "every %u timeout %u down %u up %u ok ", pr->interval_ms, pr->timeout_ms,
	    pr->down_after, pr->up_after);
	dump_codes(o, &pr->ok);
}

static void dump_failover(struct out *o, const struct policy_failover *f)
{
	dump_codes(o, &f->codes);
	out(o, " timeout %d transport %d tries %u", f->on_timeout, f->on_transport_error,
	    f->max_tries);
}

static const char *const field_names[] = {
    [PF_METHOD] = "method",       [PF_RURI_SCHEME] = "ruri-scheme", [PF_RURI_USER] = "ruri-user",
    [PF_RURI_HOST] = "ruri-host", [PF_FROM_USER] = "from-user",     [PF_FROM_HOST] = "from-host",
    [PF_TO_USER] = "to-user",     [PF_TO_HOST] = "to-host",         [PF_HEADER] = "header",
    [PF_SOURCE] = "source",       [PF_TRANSPORT] = "transport",     [PF_LISTENER] = "listener",
};

static const char *const op_names[] = {
    [PO_EQ] = "eq",           [PO_PREFIX] = "prefix", [PO_REGEX] = "regex",
    [PO_PRESENT] = "present", [PO_CIDR] = "cidr",
};

/* all(...), any(...), not(...), or "field op values", each @line:col. */
static void dump_cond(struct out *o, const struct policy *p, const struct policy_cond *c)
{
	static const char *const kinds[] = {[PC_ALL] = "all", [PC_ANY] = "any", [PC_NOT] = "not"};
	if (c->kind != PC_TEST) {
		out(o, "%s@%u:%u(", kinds[c->kind], c->line, c->col);
		for (uint32_t i = 0; i < c->n_kids; i++) {
			out(o, "%s", i ? ", " : "");
			dump_cond(o, p, c->kids[i]);
		}
		out(o, ")");
		if (c->kind == PC_NOT)
			assert_int_equal(c->n_kids, 1);
		return;
	}
	assert_true(c->field > 0 && c->field < PF__COUNT);
	out(o, "%s", field_names[c->field]);
	if (c->header)
		out(o, "[%s]", c->header);
	out(o, " %s%s", op_names[c->op], c->nocase ? "/i" : "");
	for (uint32_t i = 0; i < c->n_vals; i++) {
		out(o, " '%s'", c->vals[i]);
		assert_int_equal(c->lens[i], strlen(c->vals[i]));
	}
	assert_int_equal(c->re != NULL, c->op == PO_REGEX);
	if (c->op == PO_REGEX) {
		bool kept = false;
		for (uint32_t i = 0; i < p->n_regexes; i++)
			kept |= p->regexes[i] == c->re;
		assert_true(kept);
	}
	if (c->op == PO_CIDR) {
		if (c->cidrs->name) {
			out(o, " list %s", c->cidrs->name);
			assert_ptr_equal(c->cidrs, &p->lists[c->cidrs - p->lists]);
		} else {
			for (uint32_t i = 0; i < c->cidrs->n; i++)
				dump_cidr(o, &c->cidrs->v[i]);
		}
	}
	out(o, " @%u:%u", c->line, c->col);
}

static uint64_t key_of(const char *pool, const char *uri)
{
	char buf[512];
	size_t pl = strlen(pool) + 1, ul = strlen(uri);
	assert_true(pl + ul <= sizeof(buf));
	memcpy(buf, pool, pl);
	memcpy(buf + pl, uri, ul);
	return XXH3_64bits(buf, pl + ul);
}

static void dump_dest(struct out *o, const struct policy *p, uint32_t i)
{
	const struct policy_dest *d = policy_dest(p, i);
	const struct policy_pool *pool = d->pool == POLICY_NONE ? NULL : policy_pool(p, d->pool);
	out(o, "dest %u %s %s %s ", i, d->uri, d->scheme == SE_URI_SIPS ? "sips" : "sip",
	    config_transport_name(d->transport));
	dump_sockaddr(o, &d->addr.sa);
	assert_int_equal(d->port, ntohs(d->addr.in.sin_port));
	out(o, " pool %s", pool ? pool->name : "-");
	if (d->weight != 1)
		out(o, " weight %u", d->weight);
	if (d->priority)
		out(o, " priority %u", d->priority);
	if (d->max_inflight)
		out(o, " max-calls %u", d->max_inflight);
	if (d->max_cps)
		out(o, " max-cps %u", d->max_cps);
	if (pool && memcmp(&d->probe, &pool->probe, sizeof(d->probe)) != 0) {
		out(o, " probe ");
		dump_probe(o, &d->probe);
	}
	if (!pool) {
		assert_false(d->probe.enabled);
		assert_int_equal(d->probe.interval_ms, 10000);
	}
	out(o, " @%u:%u\n", d->line, d->col);
	assert_true(d->key == key_of(pool ? pool->name : "", d->uri));
	assert_int_equal(d->state, POLICY_NONE);
}

static void dump_rule(struct out *o, const struct policy *p, const struct policy_rule *r)
{
	static const char *const hops[] = {
	    [PH_ADD] = "add", [PH_REMOVE] = "remove", [PH_REPLACE] = "replace"};
	out(o, "rule %s @%u:%u ", r->name, r->line, r->col);
	switch (r->action) {
	case PA_ROUTE_POOL:
		out(o, "route pool %s", policy_pool(p, r->pool)->name);
		break;
	case PA_ROUTE_URI:
		out(o, "route dest %u", r->dest);
		break;
	case PA_FORWARD_RURI:
		out(o, "forward request-uri");
		break;
	case PA_ROUTE_TABLE:
		out(o, "route-prefix %s", p->tables[r->table].name);
		break;
	case PA_REPLY:
		out(o, "reply %u%s%s%s", r->code, r->reason ? " '" : "", r->reason ? r->reason : "",
		    r->reason ? "'" : "");
		break;
	case PA_REDIRECT:
		out(o, "redirect %u", r->code);
		for (uint32_t i = 0; i < r->n_contacts; i++)
			out(o, " %s", r->contacts[i]);
		break;
	default:
		fail_msg("rule %s: action %u", r->name, r->action);
	}
	if (r->action != PA_ROUTE_POOL)
		assert_int_equal(r->pool, POLICY_NONE);
	if (r->action != PA_ROUTE_URI)
		assert_int_equal(r->dest, POLICY_NONE);
	if (r->action != PA_ROUTE_TABLE)
		assert_int_equal(r->table, POLICY_NONE);
	if (r->record_route >= 0)
		out(o, " record-route %d", r->record_route);
	if (r->set_user)
		out(o, " user %s", r->set_user);
	if (r->set_host)
		out(o, " host %s", r->set_host);
	if (r->strip)
		out(o, " strip %u", r->strip);
	if (r->prefix)
		out(o, " prefix %s", r->prefix);
	if (r->failover_set) {
		out(o, " failover ");
		dump_failover(o, &r->failover);
	} else if (r->action == PA_ROUTE_POOL) {
		assert_memory_equal(&r->failover, &policy_pool(p, r->pool)->failover,
		                    sizeof(r->failover));
	} else {
		assert_int_equal(r->failover.max_tries, 3);
	}
	out(o, "\n");
	if (r->match) {
		out(o, "  match ");
		dump_cond(o, p, r->match);
		out(o, "\n");
	}
	for (uint32_t i = 0; i < r->n_hdrs; i++)
		out(o, "  %s %s%s%s\n", hops[r->hdrs[i].op], r->hdrs[i].name,
		    r->hdrs[i].value ? ": " : "", r->hdrs[i].value ? r->hdrs[i].value : "");
}

/* Everything a load produced, one line per object, in array order. */
static void dump(const struct policy *p, char *buf, size_t size)
{
	struct out o = {buf, 0, size};
	buf[0] = '\0';
	for (uint32_t i = 0; i < p->n_lists; i++) {
		const struct policy_cidrs *l = &p->lists[i];
		out(&o, "list %s @%u:%u", l->name, l->line, l->col);
		for (uint32_t j = 0; j < l->n; j++)
			dump_cidr(&o, &l->v[j]);
		out(&o, "\n");
	}
	for (uint32_t i = 0; i < p->n_pools; i++) {
		static const char *const algos[] = {"?",    "round-robin", "weighted",
		                                    "hash", "least-busy",  "priority"};
		static const char *const hashes[] = {"-", "call-id", "from-user", "ruri-user",
		                                     "source-ip"};
		const struct policy_pool *pl = policy_pool(p, i);
		out(&o, "pool %s @%u:%u dests %u+%u %s", pl->name, pl->line, pl->col,
		    pl->first_dest, pl->n_dests, algos[pl->algo]);
		if (pl->algo == PALG_HASH)
			out(&o, " %s", hashes[pl->hash_key]);
		else
			assert_int_equal(pl->hash_key, 0);
		if (pl->slow_start_ms)
			out(&o, " slow-start %u", pl->slow_start_ms);
		/* the defaults are not written: rows stay short */
		char def[256];
		struct out d = {def, 0, sizeof(def)};
		out(&o, "\n");
		if (pl->probe.enabled) {
			out(&o, "  probe ");
			dump_probe(&o, &pl->probe);
			out(&o, "\n");
		}
		if (pl->passive.failures != 5 || pl->passive.down_ms != 30000)
			out(&o, "  passive %u %u\n", pl->passive.failures, pl->passive.down_ms);
		dump_failover(&d, &pl->failover);
		if (strcmp(def, "408,500-599 timeout 1 transport 1 tries 3") != 0)
			out(&o, "  failover %s\n", def);
		assert_true(pl->key == XXH3_64bits(pl->name, strlen(pl->name)));
		assert_int_equal(pl->state, POLICY_NONE);
	}
	for (uint32_t i = 0; i < p->n_dests; i++)
		dump_dest(&o, p, i);
	uint32_t prefixes = 0;
	for (uint32_t i = 0; i < p->n_tables; i++) {
		const struct policy_table *t = &p->tables[i];
		const char *file = t->file ? strrchr(t->file, '/') + 1 : "-";
		out(&o, "table %s @%u:%u strip-plus %d strip-prefix %s file %s\n", t->name, t->line,
		    t->col, t->strip_plus, t->strip_prefix ? t->strip_prefix : "-", file);
		for (uint32_t j = 0; j < t->n_entries; j++) {
			const struct policy_prefix *e = &t->entries[j];
			assert_int_equal(e->len, strlen(e->digits));
			out(&o, "  %s %s @%u\n", e->digits, policy_pool(p, e->pool)->name, e->line);
		}
		prefixes += t->n_entries;
	}
	assert_int_equal(prefixes, p->n_prefixes);
	for (uint32_t i = 0; i < p->n_rules; i++)
		dump_rule(&o, p, policy_rule(p, i));
}

/* ---- a reader from memory ------------------------------------------------ */

struct mem_file {
	const char *path; /* as policy_load asks for it */
	const char *text;
};

static int mem_read(void *ctx, const char *path, const char **buf, size_t *len)
{
	for (const struct mem_file *f = ctx; f->path; f++) {
		if (strcmp(f->path, path) == 0) {
			*buf = f->text;
			*len = strlen(f->text);
			return 0;
		}
	}
	return -ENOENT;
}

/* Reload compiles what the master validated: the policy file and its CSV
 * files come through the reader, never from the disk. */
static void test_reader(void **state)
{
	(void)state;
	static const struct mem_file files[] = {
	    {"/nowhere/policy.yaml", "pools: {p: {destinations: [sip:10.0.0.1]}}\n"
	                             "tables: {t: {file: t.csv}}\n"
	                             "rules: [{name: r, route-prefix: t}]\n"},
	    {"/nowhere/t.csv", "prefix,pool\n49,p\n"},
	    {NULL, NULL},
	};
	const struct policy_reader rd = {mem_read, (void *)files};
	struct policy *p;
	struct ydoc_errs e = {0};
	assert_int_equal(policy_load("/nowhere/policy.yaml", &rd, &p, &e), 0);
	assert_int_equal(e.n, 0);
	assert_string_equal(p->tables[0].file, "/nowhere/t.csv");
	assert_int_equal(p->tables[0].n_entries, 1);
	assert_string_equal(p->tables[0].entries[0].digits, "49");
	assert_int_equal(p->tables[0].entries[0].line, 2);
	policy_free(p);

	const char *want[] = {"F: cannot open: No such file or directory", NULL};
	assert_int_equal(policy_load("/nowhere/other.yaml", &rd, &p, &e), SE_ECONFIG);
	assert_null(p);
	check_lines(&e, want, "/nowhere/other.yaml", 0);
	ydoc_errs_free(&e);

	static const struct mem_file nocsv[] = {
	    {"policy.yaml", "pools: {p: {destinations: [sip:10.0.0.1]}}\n"
	                    "tables: {t: {file: t.csv}}\n"
	                    "rules: [{name: r, route-prefix: t}]\n"},
	    {NULL, NULL},
	};
	const struct policy_reader rd2 = {mem_read, (void *)nocsv};
	const char *want2[] = {"F:1:9: warning: pool 'p' is not used by any rule or table",
	                       "F:2:20: file: cannot read 't.csv': No such file or directory",
	                       NULL};
	assert_int_equal(policy_load("policy.yaml", &rd2, &p, &e), SE_ECONFIG);
	check_lines(&e, want2, "policy.yaml", 0);
	ydoc_errs_free(&e);
}

/* ---- rows: policies that load ----------------------------------------- */

static const struct ok_row {
	const char *yaml;
	const char *dump;
	const char *lines[MAX_LINES]; /* warnings */
} ok_rows[] = {
    /* the first schema: rules may come before pools; forward to a URI or
     * to the Request-URI */
    {"rules:\n"
     "  - name: to-b\n"
     "    route: b\n"
     "    match: {ruri-user: b}\n"
     "  - name: fixed\n"
     "    forward: sip:192.0.2.1\n"
     "    match: {ruri-user: fixed}\n"
     "  - name: again.b\n"
     "    route: b\n"
     "    match: {ruri-user: again}\n"
     "  - name: plain_proxy\n"
     "    forward: request-uri\n"
     "pools:\n"
     "  a:\n"
     "    destinations:\n"
     "      - uri: sip:10.0.0.1:5070\n"
     "      - uri: sip:[::1]\n"
     "  b:\n"
     "    destinations:\n"
     "      - uri: sip:gw@10.0.0.2;transport=UDP;lr\n",
     "pool a @14:3 dests 0+2 round-robin\n"
     "pool b @18:3 dests 2+1 round-robin\n"
     "dest 0 sip:10.0.0.1:5070 sip udp 10.0.0.1:5070 pool a @16:9\n"
     "dest 1 sip:[::1] sip udp [::1]:5060 pool a @17:9\n"
     "dest 2 sip:gw@10.0.0.2;transport=UDP;lr sip udp 10.0.0.2:5060 pool b @20:9\n"
     "dest 3 sip:192.0.2.1 sip udp 192.0.2.1:5060 pool - @6:14\n"
     "rule to-b @2:5 route pool b\n"
     "  match ruri-user eq 'b' @4:13\n"
     "rule fixed @5:5 route dest 3\n"
     "  match ruri-user eq 'fixed' @7:13\n"
     "rule again.b @8:5 route pool b\n"
     "  match ruri-user eq 'again' @10:13\n"
     "rule plain_proxy @11:5 forward request-uri\n",
     {"F:14:3: warning: pool 'a' is not used by any rule or table"}},
    /* pools may be absent or empty */
    {"pools:\nrules:\n  - name: r\n    forward: request-uri\n",
     "rule r @3:5 forward request-uri\n",
     {NULL}},
    {"rules: [{name: r, forward: request-uri}]\n", "rule r @1:9 forward request-uri\n", {NULL}},
    /* flow style, quoted values */
    {"pools: {\"p\": {destinations: [{uri: 'sip:127.0.0.1:5080'}]}}\n"
     "rules: [{name: \"r\", route: 'p'}]\n",
     "pool p @1:9 dests 0+1 round-robin\n"
     "dest 0 sip:127.0.0.1:5080 sip udp 127.0.0.1:5080 pool p @1:30\n"
     "rule r @2:9 route pool p\n",
     {NULL}},
    /* pools: every key, both forms of destinations, probe inheritance */
    {"pools:\n"
     "  carrier-a:\n"
     "    algorithm: weighted\n"
     "    probe:\n"
     "      interval: 5s\n"
     "      timeout: 500ms\n"
     "      down-after: 2\n"
     "      up-after: 1\n"
     "      codes: [2xx, 404]\n"
     "    passive: {failures: 0, down-for: 1m}\n"
     "    slow-start: 30s\n"
     "    failover:\n"
     "      codes: [408, 500, 503]\n"
     "      on-timeout: false\n"
     "      on-transport-error: no\n"
     "      max-tries: 4\n"
     "    destinations:\n"
     "      - sip:192.0.2.10\n"
     "      - uri: sip:192.0.2.11:5070\n"
     "        weight: 0\n"
     "        priority: 1000\n"
     "        max-calls: 100\n"
     "        max-cps: 50\n"
     "      - uri: 'sip:[2001:db8::1]'\n"
     "        probe: false\n"
     "      - uri: sip:192.0.2.12\n"
     "        probe: {interval: 1m, codes: 200}\n"
     "  carrier-b:\n"
     "    algorithm: hash\n"
     "    probe: true\n"
     "    destinations: [sip:198.51.100.1, sip:198.51.100.2]\n"
     "  carrier-c:\n"
     "    algorithm: hash\n"
     "    hash: source-ip\n"
     "    failover: {codes: [3xx, 6xx]}\n"
     "    destinations: [sip:198.51.100.3]\n"
     "  lb: {algorithm: least-busy, destinations: [sip:198.51.100.4]}\n"
     "  prio: {algorithm: priority, destinations: [sip:198.51.100.5]}\n"
     "  rr: {algorithm: round-robin, destinations: [sip:198.51.100.6]}\n"
     "rules:\n"
     "  - {name: a, route: carrier-a, match: {ruri-user: a}}\n"
     "  - {name: b, route: carrier-b, match: {ruri-user: b}}\n"
     "  - {name: c, route: carrier-c, match: {ruri-user: c}}\n"
     "  - {name: d, route: lb, match: {ruri-user: d}}\n"
     "  - {name: e, route: prio, match: {ruri-user: e}}\n"
     "  - {name: f, route: rr}\n",
     "pool carrier-a @2:3 dests 0+4 weighted slow-start 30000\n"
     "  probe every 5000 timeout 500 down 2 up 1 ok 200-299,404\n"
     "  passive 0 60000\n"
     "  failover 408,500,503 timeout 0 transport 0 tries 4\n"
     "pool carrier-b @28:3 dests 4+2 hash call-id\n"
     "  probe every 10000 timeout 2000 down 3 up 2 ok 100-407,409-499\n"
     "pool carrier-c @32:3 dests 6+1 hash source-ip\n"
     "  failover 300-399,600-699 timeout 1 transport 1 tries 3\n"
     "pool lb @37:3 dests 7+1 least-busy\n"
     "pool prio @38:3 dests 8+1 priority\n"
     "pool rr @39:3 dests 9+1 round-robin\n"
     "dest 0 sip:192.0.2.10 sip udp 192.0.2.10:5060 pool carrier-a @18:9\n"
     "dest 1 sip:192.0.2.11:5070 sip udp 192.0.2.11:5070 pool carrier-a weight 0 priority 1000 "
     "max-calls 100 max-cps 50 @19:9\n"
     "dest 2 sip:[2001:db8::1] sip udp [2001:db8::1]:5060 pool carrier-a probe off @24:9\n"
     "dest 3 sip:192.0.2.12 sip udp 192.0.2.12:5060 pool carrier-a probe every 60000 timeout 2000 "
     "down 3 up 2 ok 200 @26:9\n"
     "dest 4 sip:198.51.100.1 sip udp 198.51.100.1:5060 pool carrier-b @31:20\n"
     "dest 5 sip:198.51.100.2 sip udp 198.51.100.2:5060 pool carrier-b @31:38\n"
     "dest 6 sip:198.51.100.3 sip udp 198.51.100.3:5060 pool carrier-c @36:20\n"
     "dest 7 sip:198.51.100.4 sip udp 198.51.100.4:5060 pool lb @37:46\n"
     "dest 8 sip:198.51.100.5 sip udp 198.51.100.5:5060 pool prio @38:46\n"
     "dest 9 sip:198.51.100.6 sip udp 198.51.100.6:5060 pool rr @39:47\n"
     "rule a @41:5 route pool carrier-a\n"
     "  match ruri-user eq 'a' @41:41\n"
     "rule b @42:5 route pool carrier-b\n"
     "  match ruri-user eq 'b' @42:41\n"
     "rule c @43:5 route pool carrier-c\n"
     "  match ruri-user eq 'c' @43:41\n"
     "rule d @44:5 route pool lb\n"
     "  match ruri-user eq 'd' @44:34\n"
     "rule e @45:5 route pool prio\n"
     "  match ruri-user eq 'e' @45:36\n"
     "rule f @46:5 route pool rr\n",
     {NULL}},
    /* lists and every form of match */
    {"lists:\n"
     "  carriers: [192.0.2.0/24, \"2001:db8::/32\", 198.51.100.7, '::1', 0.0.0.0/0]\n"
     "  empty-ish: [10.0.0.0/8]\n"
     "rules:\n"
     "  - name: one-key\n"
     "    match: {method: INVITE}\n"
     "    forward: request-uri\n"
     "  - name: every-form\n"
     "    match:\n"
     "      ruri-user: \"112\"\n"
     "      method: [INVITE, MESSAGE]\n"
     "      ruri-scheme: [sip, SIPS, tel]\n"
     "      ruri-host: Example.NET\n"
     "      from-user: {prefix: [\"+49\", \"0049\"]}\n"
     "      from-host: {regex: '^gw[0-9]+\\.example\\.net$'}\n"
     "      to-user: {exact: alice}\n"
     "      to-host: [a.example, b.example]\n"
     "      transport: [udp, TCP]\n"
     "      listener: \"udp://127.0.0.1:5060\"\n"
     "      source: carriers\n"
     "    forward: request-uri\n"
     "  - name: headers\n"
     "    match:\n"
     "      header:\n"
     "        - {name: X-Foo, present: true}\n"
     "        - {name: X-Bar, present: false}\n"
     "        - {name: P-Asserted-Identity, prefix: '<sip:+49'}\n"
     "        - {name: User-Agent, regex: 'friendly-scanner|sipvicious'}\n"
     "        - {name: X-Tenant, equals: [a, b]}\n"
     "    forward: request-uri\n"
     "  - name: one-header\n"
     "    match: {header: {name: Subject, equals: hi}}\n"
     "    forward: request-uri\n"
     "  - name: sources\n"
     "    match:\n"
     "      any:\n"
     "        - source: 10.1.0.0/16\n"
     "        - source: [192.168.1.1, '2001:db8:1::/48']\n"
     "        - {source: empty-ish, transport: tls}\n"
     "    forward: request-uri\n"
     "  - name: nested\n"
     "    match:\n"
     "      not: {ruri-user: {regex: '^\\+?1'}}\n"
     "      all:\n"
     "        - {ruri-host: {prefix: sip.}}\n"
     "        - any: [{method: BYE}, {not: {method: ACK}}]\n"
     "    forward: request-uri\n"
     "  - name: everything\n"
     "    match: {}\n"
     "    forward: request-uri\n",
     "list carriers @2:3 192.0.2.0/24 2001:db8::/32 198.51.100.7/32 ::1/128 0.0.0.0/0\n"
     "list empty-ish @3:3 10.0.0.0/8\n"
     "rule one-key @5:5 forward request-uri\n"
     "  match method eq 'INVITE' @6:13\n"
     "rule every-form @8:5 forward request-uri\n"
     "  match all@10:7(ruri-user eq '112' @10:7, method eq 'INVITE' 'MESSAGE' @11:7, ruri-scheme "
     "eq/i 'sip' 'SIPS' 'tel' @12:7, ruri-host eq/i 'Example.NET' @13:7, from-user prefix '+49' "
     "'0049' @14:7, from-host regex/i '^gw[0-9]+\\.example\\.net$' @15:7, to-user eq 'alice' "
     "@16:7, to-host eq/i 'a.example' 'b.example' @17:7, transport eq/i 'udp' 'TCP' @18:7, "
     "listener eq 'udp://127.0.0.1:5060' @19:7, source cidr list carriers @20:7)\n"
     "rule headers @22:5 forward request-uri\n"
     "  match all@24:7(header[X-Foo] present @25:11, not@26:11(header[X-Bar] present @26:11), "
     "header[P-Asserted-Identity] prefix '<sip:+49' @27:11, header[User-Agent] regex "
     "'friendly-scanner|sipvicious' @28:11, header[X-Tenant] eq 'a' 'b' @29:11)\n"
     "rule one-header @31:5 forward request-uri\n"
     "  match header[Subject] eq 'hi' @32:13\n"
     "rule sources @34:5 forward request-uri\n"
     "  match any@36:7(source cidr 10.1.0.0/16 @37:11, source cidr 192.168.1.1/32 2001:db8:1::/48 "
     "@38:11, all@39:11(source cidr list empty-ish @39:12, transport eq/i 'tls' @39:31))\n"
     "rule nested @41:5 forward request-uri\n"
     "  match all@43:7(not@43:7(ruri-user regex '^\\+?1' @43:13), all@44:7(ruri-host prefix/i "
     "'sip.' @45:12, any@46:11(method eq 'BYE' @46:18, not@46:33(method eq 'ACK' @46:39))))\n"
     "rule everything @48:5 forward request-uri\n",
     {NULL}},
    /* `match:` with no value: every request, as without it */
    {"rules:\n"
     "  - name: everything\n"
     "    match:\n"
     "    forward: request-uri\n",
     "rule everything @2:5 forward request-uri\n",
     {NULL}},
    /* actions and modifiers */
    {"pools:\n"
     "  p: {destinations: [sip:10.0.0.1]}\n"
     "  q:\n"
     "    failover: {max-tries: 2}\n"
     "    destinations: [sip:10.0.0.2]\n"
     "tables:\n"
     "  t: {prefixes: {\"49\": p}}\n"
     "rules:\n"
     "  - name: blocked\n"
     "    match: {source: 203.0.113.9}\n"
     "    reply: 403\n"
     "  - name: blocked-too\n"
     "    match: {source: '2001:db8::1'}\n"
     "    reply:\n"
     "      code: 603\n"
     "      reason: Decline (go away)\n"
     "      headers: {X-Why: blocked, Retry-After: \"3600\"}\n"
     "    headers: {add: [{X-Why: again}]}\n"
     "  - name: moved\n"
     "    match: {ruri-user: old}\n"
     "    redirect: sip:new@192.0.2.1\n"
     "  - name: moved-many\n"
     "    match: {ruri-user: older}\n"
     "    redirect: [sip:a@192.0.2.1, 'tel:+4930123', sips:b@example.net]\n"
     "  - name: moved-for-good\n"
     "    match: {ruri-user: oldest}\n"
     "    redirect: {code: 301, contacts: sip:c@example.net}\n"
     "  - name: to-uri\n"
     "    match: {ruri-user: fixed}\n"
     "    route: 'sip:[2001:db8::5]:5080'\n"
     "  - name: to-uri-too\n"
     "    match: {ruri-user: fixed2}\n"
     "    forward: sip:10.9.9.9;transport=udp\n"
     "  - name: by-prefix\n"
     "    match: {method: INVITE}\n"
     "    route-prefix: t\n"
     "    record-route: false\n"
     "    rewrite: {strip: 2, prefix: \"+49\", host: \"example.net:5070\"}\n"
     "  - name: edits\n"
     "    match: {ruri-user: edits}\n"
     "    route: p\n"
     "    record-route: yes\n"
     "    rewrite: {user: alice%20b, host: '[2001:db8::9]'}\n"
     "    failover: {codes: 503, on-timeout: false}\n"
     "    headers:\n"
     "      add:\n"
     "        - X-Edge: sipedge\n"
     "        - X-Edge: twice\n"
     "      remove: [X-Internal, Server]\n"
     "      replace: {User-Agent: sipedge}\n"
     "  - name: inherits\n"
     "    route: q\n"
     "    headers: {remove: X-One}\n",
     "pool p @2:3 dests 0+1 round-robin\n"
     "pool q @3:3 dests 1+1 round-robin\n"
     "  failover 408,500-599 timeout 1 transport 1 tries 2\n"
     "dest 0 sip:10.0.0.1 sip udp 10.0.0.1:5060 pool p @2:22\n"
     "dest 1 sip:10.0.0.2 sip udp 10.0.0.2:5060 pool q @5:20\n"
     "dest 2 sip:[2001:db8::5]:5080 sip udp [2001:db8::5]:5080 pool - @30:12\n"
     "dest 3 sip:10.9.9.9;transport=udp sip udp 10.9.9.9:5060 pool - @33:14\n"
     "table t @7:3 strip-plus 1 strip-prefix - file -\n"
     "  49 p @7\n"
     "rule blocked @9:5 reply 403\n"
     "  match source cidr 203.0.113.9/32 @10:13\n"
     "rule blocked-too @12:5 reply 603 'Decline (go away)'\n"
     "  match source cidr 2001:db8::1/128 @13:13\n"
     "  add X-Why: blocked\n"
     "  add Retry-After: 3600\n"
     "  add X-Why: again\n"
     "rule moved @19:5 redirect 302 sip:new@192.0.2.1\n"
     "  match ruri-user eq 'old' @20:13\n"
     "rule moved-many @22:5 redirect 302 sip:a@192.0.2.1 tel:+4930123 sips:b@example.net\n"
     "  match ruri-user eq 'older' @23:13\n"
     "rule moved-for-good @25:5 redirect 301 sip:c@example.net\n"
     "  match ruri-user eq 'oldest' @26:13\n"
     "rule to-uri @28:5 route dest 2\n"
     "  match ruri-user eq 'fixed' @29:13\n"
     "rule to-uri-too @31:5 route dest 3\n"
     "  match ruri-user eq 'fixed2' @32:13\n"
     "rule by-prefix @34:5 route-prefix t record-route 0 host example.net:5070 strip 2 prefix +49\n"
     "  match method eq 'INVITE' @35:13\n"
     "rule edits @39:5 route pool p record-route 1 user alice%20b host [2001:db8::9] failover 503 "
     "timeout 0 transport 1 tries 3\n"
     "  match ruri-user eq 'edits' @40:13\n"
     "  remove X-Internal\n"
     "  remove Server\n"
     "  replace User-Agent: sipedge\n"
     "  add X-Edge: sipedge\n"
     "  add X-Edge: twice\n"
     "rule inherits @51:5 route pool q\n"
     "  remove X-One\n",
     {NULL}},
    /* tables: inline and CSV (see test_tables for CSV details) */
    {"pools:\n"
     "  berlin: {destinations: [sip:10.0.0.1]}\n"
     "  germany: {destinations: [sip:10.0.0.2]}\n"
     "tables:\n"
     "  intl:\n"
     "    strip-prefix: \"00\"\n"
     "    prefixes:\n"
     "      \"+4930\": berlin\n"
     "      \"49\": germany\n"
     "      '*21#': germany\n"
     "  raw:\n"
     "    strip-plus: false\n"
     "    prefixes: {\"0\": berlin}\n"
     "rules:\n"
     "  - {name: a, route-prefix: intl, match: {ruri-scheme: tel}}\n"
     "  - {name: b, route-prefix: raw}\n",
     "pool berlin @2:3 dests 0+1 round-robin\n"
     "pool germany @3:3 dests 1+1 round-robin\n"
     "dest 0 sip:10.0.0.1 sip udp 10.0.0.1:5060 pool berlin @2:27\n"
     "dest 1 sip:10.0.0.2 sip udp 10.0.0.2:5060 pool germany @3:28\n"
     "table intl @5:3 strip-plus 1 strip-prefix 00 file -\n"
     "  4930 berlin @8\n"
     "  49 germany @9\n"
     "  *21# germany @10\n"
     "table raw @11:3 strip-plus 0 strip-prefix - file -\n"
     "  0 berlin @13\n"
     "rule a @15:5 route-prefix intl\n"
     "  match ruri-scheme eq/i 'tel' @15:43\n"
     "rule b @16:5 route-prefix raw\n",
     {NULL}},
};

static void test_ok_rows(void **state)
{
	(void)state;
	static char text[1 << 16];
	for (size_t i = 0; i < sizeof(ok_rows) / sizeof(ok_rows[0]); i++) {
		const struct ok_row *r = &ok_rows[i];
		struct policy *p;
		struct ydoc_errs e = {0};
		const char *path = write_file(r->yaml);
		int rc = policy_load(path, NULL, &p, &e);
		check_lines(&e, r->lines, path, i);
		assert_int_equal(e.n_errors, 0);
		assert_int_equal(rc, 0);
		dump(p, text, sizeof(text));
		if (strcmp(text, r->dump) != 0)
			fail_msg("row %zu:\n got:\n%s want:\n%s", i, text, r->dump);
		policy_free(p);
		ydoc_errs_free(&e);
	}
}

/* Regexes are compiled once, kept in p->regexes (freed by policy_free),
 * caseless for hosts only. */
static bool re_matches(const void *re, const char *subject)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	int rc = pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md, NULL);
	pcre2_match_data_free(md);
	return rc >= 0;
}

static void test_regex(void **state)
{
	(void)state;
	const char *path = write_file("rules:\n"
	                              "  - name: r\n"
	                              "    match:\n"
	                              "      ruri-host: {regex: '^gw[0-9]\\.example\\.net$'}\n"
	                              "      ruri-user: {regex: '^alice'}\n"
	                              "      header: {name: X-A, regex: 'b+'}\n"
	                              "    forward: request-uri\n");
	struct policy *p;
	struct ydoc_errs e = {0};
	assert_int_equal(policy_load(path, NULL, &p, &e), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(p->n_regexes, 3);
	const struct policy_cond *m = p->rules[0].match;
	assert_int_equal(m->kind, PC_ALL);
	assert_int_equal(m->n_kids, 3);
	const struct policy_cond *host = m->kids[0], *user = m->kids[1], *hdr = m->kids[2];
	assert_int_equal(host->field, PF_RURI_HOST);
	assert_true(re_matches(host->re, "GW1.Example.NET"));
	assert_false(re_matches(host->re, "gw1.example.net.evil"));
	assert_true(re_matches(user->re, "alice"));
	assert_false(re_matches(user->re, "Alice"));
	assert_true(re_matches(hdr->re, "abbc"));
	assert_ptr_equal(p->regexes[0], user->re); /* compiled in key-table order */
	policy_free(p);
	ydoc_errs_free(&e);
}

/* ---- rows: policies that do not load ---------------------------------- */

#define POOL    "pools:\n  uas:\n    destinations:\n      - uri: sip:127.0.0.1:5080\n"
#define USE_UAS "  - {name: uses-uas, route: uas}\n"

static const struct err_row {
	const char *yaml;
	const char *lines[MAX_LINES];
	const char *csv; /* written to t.csv when not NULL; F is then the directory */
} err_rows[] = {
    /* the top level */
    {"", {"F:1:1: missing required key 'rules'"}, NULL},
    {"# nothing\n", {"F:1:1: missing required key 'rules'"}, NULL},
    {"- a\n", {"F:1:1: policy: expected a mapping, got a sequence"}, NULL},
    {"rules:\n", {"F:1:7: rules: at least one rule is required"}, NULL},
    {"rules: []\n", {"F:1:8: rules: at least one rule is required"}, NULL},
    {"rules: all\n", {"F:1:8: rules: expected a sequence, got a scalar"}, NULL},
    {"rules: [r]\n", {"F:1:9: rule: expected a mapping, got a scalar"}, NULL},
    {"pools: [a]\nlists: 1\ntables: [t]\nrules: [{name: r, forward: request-uri}]\n",
     {"F:1:8: pools: expected a mapping, got a sequence",
      "F:2:8: lists: expected a mapping, got a scalar",
      "F:3:9: tables: expected a mapping, got a sequence"},
     NULL},
    {"version: 2\nrules: [{name: r, forward: request-uri}]\n",
     {"F:1:1: unknown key 'version'"},
     NULL},
    {"rules: [\n",
     {"F:2:1: syntax error: did not find expected node content (while parsing a flow node at line "
      "2)"},
     NULL},
    /* names and references */
    {POOL "rules:\n"
          "  - name: default\n"
          "    route: uac\n",
     {"F:2:3: warning: pool 'uas' is not used by any rule or table",
      "F:7:12: undefined pool 'uac'"},
     NULL},
    {POOL "rules:\n"
          "  - name: one\n"
          "    route: uas\n"
          "  - name: two\n"
          "    route: uas\n"
          "  - name: one\n"
          "    forward: request-uri\n"
          "  - name: two\n"
          "    route: uas\n",
     {"F:10:11: duplicate rule name 'one' (first at line 6)",
      "F:12:11: duplicate rule name 'two' (first at line 8)"},
     NULL},
    {POOL "  uas:\n"
          "    destinations:\n"
          "      - uri: sip:127.0.0.1:5090\n"
          "rules: [{name: r, route: uas}]\n",
     {"F:5:3: duplicate key 'uas' (first at line 2, column 3)"},
     NULL},
    {"pools:\n"
     "  'a b':\n"
     "    destinations: [{uri: sip:10.0.0.1}]\n"
     "lists: {'x y': [10.0.0.0/8], 10.1: [10.0.0.0/8]}\n"
     "tables: {'t/1': {prefixes: {'1': 'a b'}}}\n"
     "rules:\n"
     "  - name: 'x/y'\n"
     "    route: 'a b'\n"
     "  - name: [x]\n"
     "    route: 'a b'\n"
     "  - name: 'r'\n"
     "    match: {source: 'x y'}\n"
     "    route-prefix: 't/1'\n",
     {"F:2:3: bad pool name 'a b': use up to 64 letters, digits, '_', '-' or '.'",
      "F:4:9: bad list name 'x y': use up to 64 letters, digits, '_', '-' or '.'",
      "F:4:30: bad list name '10.1': it reads as an address",
      "F:4:30: warning: list '10.1' is not used by any rule",
      "F:5:10: bad table name 't/1': use up to 64 letters, digits, '_', '-' or '.'",
      "F:7:11: bad rule name 'x/y': use up to 64 letters, digits, '_', '-' or '.'",
      "F:9:11: rule: expected a value, got a sequence"},
     NULL},
    {POOL "rules:\n"
          "  - {name: a, route: uas}\n"
          "  - {name: b, route-prefix: nope}\n"
          "  - {name: c, match: {source: nope}, route: uas}\n",
     {"F:7:29: undefined table 'nope'", "F:8:31: undefined list 'nope'"},
     NULL},
    /* shape of pools and rules */
    {"pools:\n"
     "  a:\n"
     "    destinations: []\n"
     "  b:\n"
     "    destinations:\n"
     "  c: {}\n"
     "  d:\n"
     "  e:\n"
     "    destinations:\n"
     "      - url: sip:10.0.0.1\n"
     "    algorithm: fastest\n"
     "rules:\n"
     "  - {name: a, route: a}\n"
     "  - {name: b, route: b}\n"
     "  - {name: c, route: c}\n"
     "  - {name: d, route: d}\n"
     "  - {name: e, route: e}\n",
     {"F:3:19: pool 'a' has no destinations", "F:5:18: pool 'b' has no destinations",
      "F:6:6: missing required key 'destinations'",
      "F:7:5: pool 'd': expected a mapping, got an empty value", "F:10:9: unknown key 'url'",
      "F:10:9: missing required key 'uri'",
      "F:11:16: algorithm: unknown value 'fastest' (use round-robin, weighted, hash, least-busy or "
      "priority)"},
     NULL},
    {POOL "rules:\n"
          "  - name: both\n"
          "    route: uas\n"
          "    forward: request-uri\n"
          "    reply: 404\n"
          "  - name: none\n"
          "  - route: uas\n"
          "    match: {method: INVITE}\n"
          "    when: always\n",
     {"F:8:5: only one action per rule: 'route' already given",
      "F:9:5: only one action per rule: 'route' already given",
      "F:10:5: rule has no action: give one of route, forward, route-prefix, reply, redirect",
      "F:11:5: missing required key 'name'", "F:13:5: unknown key 'when'"},
     NULL},
    /* destination URIs */
    {"pools:\n"
     "  p:\n"
     "    destinations:\n"
     "      - uri: sip:gw.example.com\n"
     "      - uri: 'sip:1.2.3.4:x'\n"
     "      - uri: tel:+15551234\n"
     "      - uri: sip:10.0.0.1;transport=tcp\n"
     "      - uri: sips:10.0.0.1\n"
     "      - uri: sips:10.0.0.1;transport=udp\n"
     "      - uri: sip:10.0.0.1;transport=sctp\n"
     "      - uri: 'sip:[::1'\n"
     "      - uri: http://10.0.0.1/\n"
     "      - uri:\n"
     "      - uri: sip:10.0.0.1\n"
     "      - uri: sip:10.0.0.256\n"
     "      - uri: 'sip:[2001:db8:::192.0.2.1]'\n"
     "      - sip:10.0.0.1:5060\n"
     "      - [sip:10.0.0.2]\n"
     "rules: [{name: r, route: p}]\n",
     {"F:4:14: destination host must be an IP address until DNS resolution is supported",
      "F:5:14: bad destination URI 'sip:1.2.3.4:x': bad port",
      "F:6:14: destination URI 'tel:+15551234' must be sip: or sips:",
      "F:7:14: destination transport tcp is not supported yet",
      "F:8:14: destination transport tls is not supported yet",
      "F:9:14: destination URI 'sips:10.0.0.1;transport=udp': sips: requires transport tls or wss",
      "F:10:14: bad destination URI 'sip:10.0.0.1;transport=sctp': unknown transport",
      "F:11:14: bad destination URI 'sip:[::1': bad IPv6 reference",
      "F:12:14: destination URI 'http://10.0.0.1/' must be sip: or sips:",
      "F:13:13: uri: expected a value, got an empty value",
      "F:15:14: bad destination URI 'sip:10.0.0.256': bad host",
      "F:16:14: bad destination URI 'sip:[2001:db8:::192.0.2.1]': bad host",
      "F:17:9: duplicate destination in pool 'p': same address and transport as line 14",
      "F:18:9: destination: expected a URI or a mapping, got a sequence"},
     NULL},
    {"rules:\n"
     "  - name: f\n"
     "    forward: sip:proxy.example.net\n"
     "  - name: g\n"
     "    forward: {uri: sip:10.0.0.1}\n"
     "  - name: h\n"
     "    route: tel:+4930123\n",
     {"F:3:14: destination host must be an IP address until DNS resolution is supported",
      "F:5:14: forward: expected a value, got a mapping",
      "F:7:12: destination URI 'tel:+4930123' must be sip: or sips:"},
     NULL},
    /* ydoc's refusals and the policy's, together in file order */
    {"pools:\n"
     "  p: &d\n"
     "    destinations: [{uri: sip:10.0.0.1}]\n"
     "rules:\n"
     "  - {name: r, route: q}\n",
     {"F:2:3: warning: pool 'p' is not used by any rule or table",
      "F:2:6: anchors are not supported ('&d'): write each value where it applies",
      "F:5:22: undefined pool 'q'"},
     NULL},
    /* pool keys: types and ranges */
    {"pools:\n"
     "  p:\n"
     "    algorithm: round-robin\n"
     "    hash: call-id\n"
     "    probe: maybe\n"
     "    passive: true\n"
     "    slow-start: 1h\n"
     "    failover: {max-tries: 5, codes: [200, 7xx, 99, abc, 5XX], on-timeout: often}\n"
     "    destinations:\n"
     "      - {uri: sip:10.0.0.1, weight: abc, priority: -1, max-calls: [1], max-cps: 100001}\n"
     "      - {uri: sip:10.0.0.2, weight: 1001, probe: {interval: 5, timeout: 1s, codes: [100, "
     "7xx]}}\n"
     "      - {uri: sip:10.0.0.3, probe: {interval: 1s, timeout: 1s, down-after: 0}}\n"
     "      - {uri: 'sip:10.0.0.1:5060;lr'}\n"
     "  q:\n"
     "    algorithm: hash\n"
     "    hash: to-user\n"
     "    failover: {max-tries: 0, codes: []}\n"
     "    probe: {codes: 2xx, retries: 3}\n"
     "    destinations: [sip:10.0.0.9]\n"
     "rules: [{name: p, route: p}, {name: q, route: q}]\n",
     {"F:4:5: hash: only with algorithm hash",
      "F:5:12: probe: expected true, false or a mapping, got 'maybe'",
      "F:6:14: passive: expected a mapping, got a scalar",
      "F:7:17: slow-start: 1h is out of range (0ms..10m)",
      "F:8:27: failover.max-tries: 5 is out of range (1..4): a request has at most 4 branches, one "
      "per destination tried",
      "F:8:38: failover.codes: bad code '200': use a status code (300..699) or a class (3xx..6xx)",
      "F:8:43: failover.codes: bad code '7xx': use a status code (300..699) or a class (3xx..6xx)",
      "F:8:48: failover.codes: bad code '99': use a status code (300..699) or a class (3xx..6xx)",
      "F:8:52: failover.codes: bad code 'abc': use a status code (300..699) or a class (3xx..6xx)",
      "F:8:75: failover.on-timeout: expected yes, no, true or false, got 'often'",
      "F:10:37: weight: expected an integer, got 'abc'",
      "F:10:52: priority: -1 is out of range (0..1000)",
      "F:10:67: max-calls: expected a value, got a sequence",
      "F:10:81: max-cps: 100001 is out of range (0..100000)",
      "F:11:37: weight: 1001 is out of range (0..1000)",
      "F:11:61: probe.interval: bad duration '5': missing unit (ms, s, m or h)",
      "F:11:90: probe.codes: bad code '7xx': use a status code (100..699) or a class (1xx..6xx)",
      "F:12:60: probe.timeout: must be shorter than the interval (1000ms)",
      "F:12:76: probe.down-after: 0 is out of range (1..100)",
      "F:13:9: duplicate destination in pool 'p': same address and transport as line 10",
      "F:16:11: hash: unknown value 'to-user' (use call-id, from-user, ruri-user or source-ip)",
      "F:17:27: failover.max-tries: 0 is out of range (1..4): a request has at most 4 branches, "
      "one per destination tried",
      "F:17:37: failover.codes: the sequence is empty",
      "F:18:25: unknown key 'retries'"},
     NULL},
    /* lists and CIDRs */
    {"lists:\n"
     "  a: [10.0.0.1/8, 10.0.0.0/33, '2001:db8::1/32', '::/129', 10.0.0.0/x, 10.0.0.0/08]\n"
     "  b: [10.0.0.300, 10.0.0.0/, 'fe80::1%eth0', host.example, {ip: 10.0.0.1}]\n"
     "  c: []\n"
     "  d: 10.0.0.0/8\n"
     "  unused: [192.0.2.0/24]\n"
     "rules:\n"
     "  - name: r\n"
     "    match: {any: [{source: a}, {source: b}, {source: c}, {source: d}]}\n"
     "    forward: request-uri\n"
     "  - name: s\n"
     "    match: {source: [10.0.0.1/31, a, '::1/127', 192.0.2.1]}\n"
     "    forward: request-uri\n",
     {"F:2:7: host bits set in 10.0.0.1/8: did you mean 10.0.0.0/8?",
      "F:2:19: bad CIDR '10.0.0.0/33': prefix length 33 is over 32",
      "F:2:32: host bits set in 2001:db8::1/32: did you mean 2001:db8::/32?",
      "F:2:50: bad CIDR '::/129': prefix length 129 is over 128",
      "F:2:60: bad CIDR '10.0.0.0/x': bad prefix length",
      "F:2:72: bad CIDR '10.0.0.0/08': bad prefix length", "F:3:7: bad address '10.0.0.300'",
      "F:3:19: bad CIDR '10.0.0.0/': bad prefix length", "F:3:30: bad address 'fe80::1%eth0'",
      "F:3:46: bad address 'host.example'", "F:3:60: list 'b': expected a value, got a mapping",
      "F:4:6: list 'c': the sequence is empty",
      "F:6:3: warning: list 'unused' is not used by any rule",
      "F:12:22: host bits set in 10.0.0.1/31: did you mean 10.0.0.0/31?",
      "F:12:35: source: 'a' is a list: name it alone, not in a sequence",
      "F:12:38: host bits set in ::1/127: did you mean ::/127?"},
     NULL},
    /* match */
    {"rules:\n"
     "  - name: r\n"
     "    match:\n"
     "      method: [INVITE, 'IN VITE', '']\n"
     "      ruri-scheme: http\n"
     "      transport: [udp, sctp]\n"
     "      ruri-user: {exact: a, prefix: b}\n"
     "      ruri-host: {suffix: example.net}\n"
     "      from-user: {regex: 'a(b'}\n"
     "      to-user: {regex: [a]}\n"
     "      to-host: {}\n"
     "      listener: []\n"
     "      user: bob\n"
     "    forward: request-uri\n"
     "  - name: s\n"
     "    match:\n"
     "      header:\n"
     "        - {present: true}\n"
     "        - {name: X-A, present: true, equals: b}\n"
     "        - {name: 'X A', present: true}\n"
     "        - {name: X-B, present: maybe}\n"
     "        - {name: X-C, regex: '*'}\n"
     "        - {name: X-D}\n"
     "        - X-E\n"
     "    forward: request-uri\n"
     "  - name: t\n"
     "    match: {header: X-F}\n"
     "    forward: request-uri\n"
     "  - name: u\n"
     "    match: {not: INVITE, any: [], all: {method: BYE}}\n"
     "    forward: request-uri\n"
     "  - name: v\n"
     "    match: {any: [{}, a]}\n"
     "    forward: request-uri\n"
     "  - name: w\n"
     "    match: INVITE\n"
     "    forward: request-uri\n",
     {"F:4:24: method: 'IN VITE' is not a SIP token",
      "F:4:35: method: must not be empty",
      "F:5:20: ruri-scheme: unknown value 'http' (use sip, sips or tel)",
      "F:6:24: transport: unknown value 'sctp' (use udp, tcp, tls, ws or wss)",
      "F:7:18: ruri-user: give exactly one of exact, prefix or regex",
      "F:8:19: unknown key 'suffix' (use exact, prefix or regex)",
      "F:9:26: from-user.regex: bad regex 'a(b': missing closing parenthesis at offset 3",
      "F:10:24: to-user.regex: expected a value, got a sequence",
      "F:11:16: to-host: give exactly one of exact, prefix or regex",
      "F:12:17: listener: the sequence is empty",
      "F:13:7: unknown key 'user'",
      "F:18:11: missing required key 'name'",
      "F:19:11: header: give exactly one of present, equals, prefix or regex",
      "F:20:18: header.name: bad header name 'X A': not a SIP token",
      "F:21:32: header.present: expected yes, no, true or false, got 'maybe'",
      "F:22:30: header.regex: bad regex '*': quantifier does not follow a repeatable item at "
      "offset 0",
      "F:23:11: header: give exactly one of present, equals, prefix or regex",
      "F:24:11: header: expected a mapping, got a scalar",
      "F:27:21: header: expected a mapping or a sequence of them, got a scalar",
      "F:30:18: not: expected a mapping, got a scalar",
      "F:30:31: any: give at least one match",
      "F:30:40: all: expected a sequence, got a mapping",
      "F:33:19: any: an empty match",
      "F:33:23: any: expected a mapping, got a scalar",
      "F:36:12: match: expected a mapping, got a scalar"},
     NULL},
    /* actions */
    {POOL "rules:\n"
          "  - {name: a, reply: 302}\n"
          "  - {name: b, reply: 200}\n"
          "  - {name: c, reply: 700}\n"
          "  - {name: d, reply: {reason: Nope}}\n"
          "  - {name: e, reply: {code: 480, reason: \"Away\\r\\nX-Evil: 1\", why: x}}\n"
          "  - {name: f, reply: forbidden}\n"
          "  - {name: g, redirect: {code: 404, contacts: [sip:a@10.0.0.1]}}\n"
          "  - {name: h, redirect: {code: 300}}\n"
          "  - {name: i, redirect: ['<sip:a@10.0.0.1>', 'sip:a b@10.0.0.1', 'sip:@@']}\n"
          "  - {name: j, redirect: []}\n"
          "  - {name: k, route: [uas]}\n"
          "  - {name: l, route-prefix: [t]}\n" USE_UAS,
     {"F:6:22: reply: 302 is a redirection: use redirect",
      "F:7:22: reply: 200 is out of range (400..699)",
      "F:8:22: reply: 700 is out of range (400..699)", "F:9:22: missing required key 'code'",
      "F:10:42: reply.reason: must be one line (no CR, LF or control characters)",
      "F:10:63: unknown key 'why'", "F:11:22: reply: expected an integer, got 'forbidden'",
      "F:12:32: redirect.code: 404 is out of range (300..399): use reply",
      "F:13:25: missing required key 'contacts'",
      "F:14:26: redirect: bad contact URI '<sip:a@10.0.0.1>': bad character",
      "F:14:46: redirect: bad contact URI 'sip:a b@10.0.0.1': bad character",
      "F:14:66: redirect: bad contact URI 'sip:@@': bad user",
      "F:15:25: redirect: the sequence is empty",
      "F:16:22: route: expected a value, got a sequence",
      "F:17:29: route-prefix: expected a value, got a sequence"},
     NULL},
    /* modifiers */
    {POOL "rules:\n"
          "  - name: a\n"
          "    route: uas\n"
          "    headers:\n"
          "      add: {'X Foo': 1, Via: 'SIP/2.0/UDP x', X-Ok: \"a\\r\\nb\", X-Empty: ''}\n"
          "      remove: [Call-ID, 'a:b']\n"
          "      replace: [{X-A: 1}]\n"
          "      append: {X-B: 1}\n"
          "  - name: b\n"
          "    reply: 403\n"
          "    headers: {remove: [X-A], replace: {X-B: 1}, add: [{X-C: 1, X-D: 2}, X-E]}\n"
          "    record-route: true\n"
          "    rewrite: {user: a}\n"
          "    failover: {max-tries: 2}\n"
          "  - name: c\n"
          "    route: uas\n"
          "    record-route: sometimes\n"
          "    rewrite: {}\n"
          "  - name: d\n"
          "    route: uas\n"
          "    rewrite: {user: 'a b', strip: 65, prefix: '+49', host: 'u@h'}\n"
          "  - name: e\n"
          "    route: uas\n"
          "    rewrite: {user: alice, strip: 1}\n"
          "    headers: [X-A]\n"
          "  - name: f\n"
          "    route: uas\n"
          "    rewrite: {host: 'example.net;lr', prefix: '%zz'}\n",
     {"F:9:13: headers.add: bad header name 'X Foo': not a SIP token",
      "F:9:25: headers.add: header 'Via' is managed by the proxy",
      "F:9:53: headers.add: the value of 'X-Ok' must be one line (no CR, LF or control characters)",
      "F:9:72: headers.add: must not be empty",
      "F:10:16: headers.remove: header 'Call-ID' is managed by the proxy",
      "F:10:25: headers.remove: bad header name 'a:b': not a SIP token",
      "F:11:16: headers.replace: expected a mapping, got a sequence",
      "F:12:7: unknown key 'append'",
      "F:15:15: headers.remove: does not apply to reply (only add: the answer is new)",
      "F:15:30: headers.replace: does not apply to reply (only add: the answer is new)",
      "F:15:55: headers.add: each item is one 'Name: value' pair",
      "F:15:73: headers.add: expected a mapping, got a scalar",
      "F:16:5: record-route: does not apply to reply (nothing is forwarded)",
      "F:17:5: rewrite: does not apply to reply (nothing is forwarded)",
      "F:18:5: failover: does not apply to reply (nothing is forwarded)",
      "F:21:19: record-route: expected yes, no, true or false, got 'sometimes'",
      "F:22:14: rewrite: give user, host, strip or prefix",
      "F:25:21: rewrite.user: 'a b' is not a URI user part (letters, digits, -_.!~*'()&=+$,;?/ and "
      "%HH)",
      "F:25:21: rewrite.user replaces the whole user part: strip and prefix do nothing with it",
      "F:25:35: rewrite.strip: 65 is out of range (0..64)",
      "F:25:60: rewrite.host: bad host 'u@h': has more than a host and a port",
      "F:28:21: rewrite.user replaces the whole user part: strip and prefix do nothing with it",
      "F:29:14: headers: expected a mapping, got a sequence",
      "F:32:21: rewrite.host: bad host 'example.net;lr': has more than a host and a port",
      "F:32:47: rewrite.prefix: '%zz' is not a URI user part (letters, digits, -_.!~*'()&=+$,;?/ "
      "and %HH)"},
     NULL},
    /* inline tables */
    {POOL "tables:\n"
          "  a:\n"
          "    prefixes: {'49a': uas, '+': uas, '': uas, '4930': nope, '1': [uas]}\n"
          "  b:\n"
          "    strip-plus: false\n"
          "    strip-prefix: '+00'\n"
          "    prefixes: {'+49': uas, "
          "'12345678901234567890123456789012345678901234567890123456789012345': uas}\n"
          "  c: {}\n"
          "  d: {prefixes: {'1': uas, '01': uas, '+1': uas}, strip-plus: maybe}\n"
          "  e: {prefixes: [1, uas]}\n"
          "  unused: {prefixes: {'1': uas}}\n"
          "rules:\n"
          "  - {name: a, route-prefix: a}\n"
          "  - {name: b, route-prefix: b}\n"
          "  - {name: c, route-prefix: c}\n"
          "  - {name: d, route-prefix: d}\n"
          "  - {name: e, route-prefix: e}\n",
     {"F:7:16: bad prefix '49a': use digits, '*' and '#'", "F:7:28: empty prefix",
      "F:7:38: empty prefix", "F:7:55: undefined pool 'nope'",
      "F:7:66: prefixes: expected a value, got a sequence",
      "F:10:19: strip-prefix: use up to 64 digits, '*' and '#'",
      "F:11:16: bad prefix '+49': a leading '+' needs strip-plus: true",
      "F:11:28: prefix longer than 64 digits", "F:12:6: table 'c': give file, prefixes or both",
      "F:13:39: duplicate prefix '1' (first at line 13)",
      "F:13:63: strip-plus: expected yes, no, true or false, got 'maybe'",
      "F:14:17: prefixes: expected a mapping, got a sequence",
      "F:15:3: warning: table 'unused' is not used by any rule"},
     NULL},
    /* CSV files: messages at their own positions, after the policy's */
    {POOL "tables:\n"
          "  t:\n"
          "    prefixes: {'4930': uas}\n"
          "    file: t.csv\n"
          "  u: {file: /nonexistent/missing.csv}\n"
          "rules:\n"
          "  - {name: a, route-prefix: t}\n"
          "  - {name: b, route-prefix: u}\n"
          "  - {name: c, route: nope}\n",
     {"F/policy.yaml:9:13: file: cannot read '/nonexistent/missing.csv': No such file or "
      "directory",
      "F/policy.yaml:13:22: undefined pool 'nope'",
      "F/t.csv:3:1: duplicate prefix '4930' (first in the policy file at line 7)",
      "F/t.csv:4:3: duplicate prefix '49' (first at line 2)",
      "F/t.csv:5:1: bad prefix '49a': use digits, '*' and '#'", "F/t.csv:6:1: empty prefix",
      "F/t.csv:7:1: expected 'prefix,pool'", "F/t.csv:8:6: expected 'prefix,pool': too many fields",
      "F/t.csv:9:3: expected 'prefix,pool': no pool", "F/t.csv:10:4: undefined pool 'nope'",
      "F/t.csv:11:1: bad prefix 'prefix': use digits, '*' and '#'",
      "F/t.csv:11:8: undefined pool 'pool'"},
     "prefix,pool\n"
     "49,uas\n"
     "4930,uas\n"
     "  49 , uas \n"
     "49a,uas\n"
     "+,uas\n"
     "no comma\n"
     "1,uas,extra\n"
     "2,\n"
     "3, nope\n"
     "prefix,pool\n"
     "#,uas\n"},
    /* a table whose file has only a header and comments */
    {POOL "tables:\n"
          "  t: {file: t.csv}\n"
          "rules: [{name: a, route-prefix: t}]\n",
     {"F/policy.yaml:2:3: warning: pool 'uas' is not used by any rule or table",
      "F/policy.yaml:6:3: table 't' has no prefixes"},
     "prefix,pool\n# nothing yet\n\n"},
};

static void test_err_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(err_rows) / sizeof(err_rows[0]); i++) {
		const struct err_row *r = &err_rows[i];
		struct policy *p;
		struct ydoc_errs e = {0};
		char csvpath[512];
		snprintf(csvpath, sizeof(csvpath), "%s/t.csv", tmpdir);
		unlink(csvpath);
		if (r->csv)
			write_named("t.csv", r->csv);
		const char *path = write_file(r->yaml);
		int rc = policy_load(path, NULL, &p, &e);
		check_lines(&e, r->lines, r->csv ? tmpdir : path, i);
		assert_int_equal(rc, SE_ECONFIG);
		assert_null(p);
		ydoc_errs_free(&e);
	}
}

/* ---- files: shipped, documented, broken ------------------------------------ */

static const char *data_dir(void)
{
	const char *data = getenv("SE_TEST_DATA");
	assert_non_null(data);
	return data;
}

static void test_shipped(void **state)
{
	(void)state;
	char path[512];
	snprintf(path, sizeof(path), "%s/../../etc/policy.yaml", data_dir());
	struct policy *p;
	struct ydoc_errs e = {0};
	int rc = policy_load(path, NULL, &p, &e);
	ydoc_errs_print(&e, stderr);
	assert_int_equal(rc, 0);
	assert_int_equal(e.n, 0);
	assert_true(p->n_rules >= 1);
	policy_free(p);
	ydoc_errs_free(&e);
}

/* Read a whole file into a malloc'ed string. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The complete example of docs/policy.md is tests/data/policy/example.yaml
 * (and example.csv), byte for byte: it loads, and the doc cannot drift. */
static void test_documented_example(void **state)
{
	(void)state;
	char path[512], doc[512], csv[512];
	snprintf(path, sizeof(path), "%s/policy/example.yaml", data_dir());
	snprintf(csv, sizeof(csv), "%s/policy/example.csv", data_dir());
	snprintf(doc, sizeof(doc), "%s/../../docs/policy.md", data_dir());
	struct policy *p;
	struct ydoc_errs e = {0};
	int rc = policy_load(path, NULL, &p, &e);
	ydoc_errs_print(&e, stderr);
	assert_int_equal(rc, 0);
	assert_int_equal(e.n, 0);
	char sum[128];
	policy_summary(p, sum, sizeof(sum));
	assert_string_equal(sum, "7 rules, 3 pools, 5 destinations, 6 prefixes");
	policy_free(p);
	ydoc_errs_free(&e);

	char *md = slurp(doc), *yaml = slurp(path), *prefixes = slurp(csv);
	if (!strstr(md, yaml))
		fail_msg("docs/policy.md does not contain tests/data/policy/example.yaml verbatim");
	if (!strstr(md, prefixes))
		fail_msg("docs/policy.md does not contain tests/data/policy/example.csv verbatim");
	free(md);
	free(yaml);
	free(prefixes);
}

/*
 * tests/data/policy/broken/NAME.yaml: each starts with "# expect: " lines,
 * "LINE:COL: message" for the policy file itself and "FILE:LINE:COL:
 * message" for a file beside it (a CSV). The same lines are what
 * `sipedge -t` prints, with the path in front.
 */
static size_t expect_lines(const char *text, const char *dir, const char *name, char **want,
                           size_t max)
{
	size_t n = 0;
	static const char tag[] = "# expect: ";
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, tag, sizeof(tag) - 1) != 0)
			continue;
		const char *m = l + sizeof(tag) - 1, *end = strchr(m, '\n');
		size_t len = end ? (size_t)(end - m) : strlen(m);
		assert_true(n < max);
		want[n] = malloc(len + 600);
		assert_non_null(want[n]);
		/* F is the directory: yaml_case_check puts it back */
		if (*m >= '0' && *m <= '9')
			snprintf(want[n], len + 600, "F/%s:%.*s", name, (int)len, m);
		else
			snprintf(want[n], len + 600, "F/%.*s", (int)len, m);
		n++;
	}
	(void)dir;
	return n;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_broken_files(void **state)
{
	(void)state;
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/policy/broken", data_dir());
	DIR *d = opendir(dir);
	assert_non_null(d);
	char *names[256];
	size_t n = 0;
	for (struct dirent *de; (de = readdir(d));) {
		size_t len = strlen(de->d_name);
		if (len > 5 && strcmp(de->d_name + len - 5, ".yaml") == 0) {
			assert_true(n < 256);
			names[n++] = strdup(de->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	assert_true(n >= 20);

	for (size_t i = 0; i < n; i++) {
		char path[1024], *want[MAX_LINES + 1] = {0};
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		char *text = slurp(path);
		size_t k = expect_lines(text, dir, names[i], want, MAX_LINES);
		if (k == 0)
			fail_msg("%s: no '# expect:' line", names[i]);
		struct policy *p;
		struct ydoc_errs e = {0};
		int rc = policy_load(path, NULL, &p, &e);
		fprintf(stderr, "%s\n", names[i]);
		yaml_case_check(&e, (const char *const *)want, MAX_LINES, dir, i);
		assert_int_equal(rc, SE_ECONFIG);
		assert_null(p);
		ydoc_errs_free(&e);
		for (size_t j = 0; j < k; j++)
			free(want[j]);
		free(text);
		free(names[i]);
	}
}

static void test_missing_file(void **state)
{
	(void)state;
	struct policy *p;
	struct ydoc_errs e = {0};
	char path[512];
	snprintf(path, sizeof(path), "%s/none.yaml", tmpdir);
	assert_int_equal(policy_load(path, NULL, &p, &e), SE_ECONFIG);
	assert_null(p);
	const char *want[] = {"F: cannot open: No such file or directory", NULL};
	check_lines(&e, want, path, 0);
	ydoc_errs_free(&e);
}

/* ---- scale --------------------------------------------------------------- */

/* Many pools and rules: names resolve through a hash, not a scan per rule. */
static void test_many(void **state)
{
	(void)state;
	size_t n = 5000, cap = n * 160, len = 0;
	char *text = malloc(cap);
	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "pools:\n");
	for (size_t i = 0; i < n; i++)
		len +=
		    (size_t)snprintf(text + len, cap - len,
		                     "  p%zu:\n    destinations:\n      - uri: sip:10.%zu.%zu.1\n",
		                     i, i / 256, i % 256);
	len += (size_t)snprintf(text + len, cap - len, "rules:\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len,
		                        "  - {name: r%zu, route: p%zu, match: {ruri-user: u%zu}}\n",
		                        i, n - 1 - i, i);
	const char *path = write_file(text);
	free(text);

	struct policy *p;
	struct ydoc_errs e = {0};
	assert_int_equal(policy_load(path, NULL, &p, &e), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(p->n_pools, n);
	assert_int_equal(p->n_rules, n);
	for (uint32_t i = 0; i < n; i += 97) {
		const struct policy_rule *r = policy_rule(p, i);
		char want[32];
		snprintf(want, sizeof(want), "p%zu", n - 1 - i);
		assert_string_equal(policy_pool(p, r->pool)->name, want);
	}
	assert_int_equal(policy_pool_find(p, "p4999"), 4999);
	assert_int_equal(policy_pool_find(p, "nope"), POLICY_NONE);
	char sum[64];
	policy_summary(p, sum, sizeof(sum));
	assert_string_equal(sum, "5000 rules, 5000 pools, 5000 destinations");
	policy_free(p);
	ydoc_errs_free(&e);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * 100,000 prefixes in a CSV, over 50 pools: the load (policy_load, the
 * index build included) must stay well under half a second. The bound is
 * checked in plain builds only: sanitizers multiply the time.
 */
static void test_csv_100k(void **state)
{
	(void)state;
	enum { N = 100000, POOLS = 50 };
	char *csv = malloc((size_t)N * 40 + 64), *yaml = malloc(POOLS * 80 + 256);
	assert_non_null(csv);
	assert_non_null(yaml);
	size_t len = (size_t)sprintf(csv, "prefix,pool\n");
	uint64_t x = 88172645463325252ull; /* xorshift: distinct, unsorted prefixes */
	for (uint32_t i = 0; i < N; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* unique: the index in the low digits, a random head in front */
		len += (size_t)sprintf(csv + len, "+%u%06u,carrier-%u\n",
		                       (unsigned)(x % 9000) + 1000, i, (unsigned)(x % POOLS));
	}
	size_t yl = (size_t)sprintf(yaml, "pools:\n");
	for (unsigned i = 0; i < POOLS; i++)
		yl += (size_t)sprintf(yaml + yl, "  carrier-%u: {destinations: [sip:10.1.%u.1]}\n",
		                      i, i);
	sprintf(yaml + yl, "tables:\n  big: {file: big.csv}\n"
	                   "rules:\n  - {name: by-prefix, route-prefix: big}\n");
	write_named("big.csv", csv);
	const char *path = write_file(yaml);
	free(csv);
	free(yaml);

	struct policy *p;
	struct ydoc_errs e = {0};
	double t0 = now_s();
	int rc = policy_load(path, NULL, &p, &e);
	double t = now_s() - t0;
	ydoc_errs_print(&e, stderr);
	assert_int_equal(rc, 0);
	assert_int_equal(p->n_prefixes, N);
	assert_int_equal(p->tables[0].n_entries, N);
	assert_int_equal(p->tables[0].entries[N - 1].line, N + 1);
	print_message("100,000-prefix CSV loaded in %.1f ms\n", t * 1000);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_UNDEFINED__)
	assert_true(t < 0.5);
#endif
	policy_free(p);
	ydoc_errs_free(&e);
}

/* CSV details: header, comments, blank lines, CRLF, blanks around fields,
 * and a file with too many errors stops being read. */
static void test_csv_forms(void **state)
{
	(void)state;
	write_named("t.csv", "PREFIX , Pool\r\n"
	                     "# comment\r\n"
	                     "\r\n"
	                     "   \t\n"
	                     "  +4930 ,\tberlin  \r\n"
	                     "49,germany\n"
	                     "*21#,germany"); /* no final newline */
	const char *path = write_file("pools:\n"
	                              "  berlin: {destinations: [sip:10.0.0.1]}\n"
	                              "  germany: {destinations: [sip:10.0.0.2]}\n"
	                              "tables:\n"
	                              "  t: {file: t.csv, strip-prefix: '00'}\n"
	                              "rules: [{name: r, route-prefix: t}]\n");
	struct policy *p;
	struct ydoc_errs e = {0};
	assert_int_equal(policy_load(path, NULL, &p, &e), 0);
	assert_int_equal(e.n, 0);
	char text[2048];
	dump(p, text, sizeof(text));
	assert_string_equal(text, "pool berlin @2:3 dests 0+1 round-robin\n"
	                          "pool germany @3:3 dests 1+1 round-robin\n"
	                          "dest 0 sip:10.0.0.1 sip udp 10.0.0.1:5060 pool berlin @2:27\n"
	                          "dest 1 sip:10.0.0.2 sip udp 10.0.0.2:5060 pool germany @3:28\n"
	                          "table t @5:3 strip-plus 1 strip-prefix 00 file t.csv\n"
	                          "  4930 berlin @5\n"
	                          "  49 germany @6\n"
	                          "  *21# germany @7\n"
	                          "rule r @6:9 route-prefix t\n");
	policy_free(p);
	ydoc_errs_free(&e);

	/* 60 bad lines: 50 messages, then one saying the rest is not read;
	 * the policy file's messages come first */
	char bad[2048];
	size_t len = 0;
	for (int i = 0; i < 60; i++)
		len += (size_t)snprintf(bad + len, sizeof(bad) - len, "x%d,berlin\n", i);
	char ppath[512];
	snprintf(ppath, sizeof(ppath), "%s", path); /* write_named reuses its buffer */
	write_named("t.csv", bad);
	assert_int_equal(policy_load(ppath, NULL, &p, &e), SE_ECONFIG);
	assert_int_equal(e.n, 52); /* germany unused, 50 errors, the last line */
	assert_memory_equal(e.v[0].text, ppath, strlen(ppath));
	assert_non_null(strstr(e.v[0].text, ":3:3: warning: pool 'germany' is not used"));
	char want[1024];
	snprintf(want, sizeof(want),
	         "%s/t.csv:51:1: too many errors: the rest of the file is not read", tmpdir);
	assert_string_equal(e.v[51].text, want);
	ydoc_errs_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ok_rows),      cmocka_unit_test(test_reader),
	    cmocka_unit_test(test_regex),        cmocka_unit_test(test_err_rows),
	    cmocka_unit_test(test_shipped),      cmocka_unit_test(test_documented_example),
	    cmocka_unit_test(test_broken_files), cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_many),         cmocka_unit_test(test_csv_100k),
	    cmocka_unit_test(test_csv_forms),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
