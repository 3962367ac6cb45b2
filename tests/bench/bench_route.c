/*
 * Routing benchmark: policy_lookup (the compiled index) per request, on
 * one core, for policies of very different sizes; the claim to check is
 * that the cost does not grow with the number of rules or prefixes.
 *
 *   10 rules        a small edge policy; the request matches the last rule
 *   10k hosts       10,000 rules `ruri-host: custNNNNN.example.net` +
 *                   `method: INVITE`; requests for customers 9000-9999
 *   10k prefixes    10,000 rules on distinct R-URI user prefixes; requests
 *                   for the last thousand
 *   100k table      one rule routing by a 100,000-prefix table; requests
 *                   whose numbers have a prefix in it
 *
 * Each case rotates over 1024 requests. Prints ns/lookup, lookups/s, the
 * index build time (with the unreachable-rule check), the ratio of the
 * slowest case to the fastest, and for the table its trie build time and
 * bytes per prefix. The reference evaluator (policy_eval_rules, rule by
 * rule) on the 10k cases is printed for comparison. Policies are built in
 * memory, as the loader would leave them. Run by `tools/bench route`.
 *
 *   bench_route [seconds-per-case]   (default 1.0)
 *   bench_route --iterations N       fixed count per case, for callgrind
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>

#include "policy_tree.h"

#define N_REQ 1024

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 88172645463325252ull;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

/* ---- policies ------------------------------------------------------------------ */

static struct policy *policy_new(uint32_t n_rules)
{
	struct policy *p = calloc(1, sizeof(*p));
	p->file = "bench.yaml";
	p->rules = policy_alloc(p, n_rules * sizeof(*p->rules));
	p->n_rules = n_rules;
	p->pools = policy_alloc(p, 3 * sizeof(*p->pools));
	p->n_pools = 3;
	p->pools[0].name = "carrier-a";
	p->pools[1].name = "carrier-b";
	p->pools[2].name = "pbx";
	return p;
}

static struct policy_cond *test(struct policy *p, unsigned field, unsigned op, const char *v)
{
	struct policy_cond *c = policy_alloc(p, sizeof(*c));
	c->kind = PC_TEST;
	c->field = (uint8_t)field;
	c->op = (uint8_t)op;
	c->nocase = field == PF_RURI_HOST || field == PF_FROM_HOST;
	c->vals = policy_alloc(p, sizeof(*c->vals));
	c->lens = policy_alloc(p, sizeof(*c->lens));
	c->lens[0] = (uint32_t)strlen(v);
	c->vals[0] = policy_strndup(p, v, c->lens[0]);
	c->n_vals = 1;
	return c;
}

static struct policy_cond *both(struct policy *p, struct policy_cond *a, struct policy_cond *b)
{
	struct policy_cond *c = policy_alloc(p, sizeof(*c));
	c->kind = PC_ALL;
	c->kids = policy_alloc(p, 2 * sizeof(*c->kids));
	c->kids[0] = a;
	c->kids[1] = b;
	c->n_kids = 2;
	return c;
}

static void rule(struct policy *p, uint32_t i, struct policy_cond *m, unsigned action, uint32_t arg)
{
	struct policy_rule *r = &p->rules[i];
	char name[32];
	snprintf(name, sizeof(name), "r%u", i);
	r->name = policy_strndup(p, name, strlen(name));
	r->line = 10 + i;
	r->match = m;
	r->action = (uint8_t)action;
	r->pool = action == PA_ROUTE_POOL ? arg : POLICY_NONE;
	r->table = action == PA_ROUTE_TABLE ? arg : POLICY_NONE;
	r->code = action == PA_REPLY ? (uint16_t)arg : 0;
}

static struct policy_cond *cidr_test(struct policy *p, const char *const *nets, uint32_t n)
{
	struct policy_cond *c = policy_alloc(p, sizeof(*c));
	struct policy_cidrs *l = policy_alloc(p, sizeof(*l));
	l->v = policy_alloc(p, n * sizeof(*l->v));
	l->n = n;
	for (uint32_t i = 0; i < n; i++) {
		char ip[32];
		unsigned bits;
		sscanf(nets[i], "%31[^/]/%u", ip, &bits);
		l->v[i].addr[10] = l->v[i].addr[11] = 0xff;
		inet_pton(AF_INET, ip, l->v[i].addr + 12);
		l->v[i].bits = (uint8_t)(96 + bits);
	}
	c->kind = PC_TEST;
	c->field = PF_SOURCE;
	c->op = PO_CIDR;
	c->cidrs = l;
	return c;
}

static struct policy *small_policy(void)
{
	static const char *const blocked[] = {"203.0.113.0/24", "192.0.2.0/24", "100.64.0.0/10"};
	struct policy *p = policy_new(10);
	rule(p, 0, test(p, PF_METHOD, PO_EQ, "OPTIONS"), PA_REPLY, 200);
	rule(p, 1, cidr_test(p, blocked, 3), PA_REPLY, 403);
	rule(p, 2, test(p, PF_METHOD, PO_EQ, "REGISTER"), PA_REPLY, 405);
	rule(p, 3, test(p, PF_RURI_USER, PO_PREFIX, "+4990"), PA_REPLY, 403);
	rule(p, 4, both(p, test(p, PF_METHOD, PO_EQ, "INVITE"),
			test(p, PF_RURI_HOST, PO_EQ, "pbx.example.com")),
	     PA_ROUTE_POOL, 2);
	rule(p, 5, test(p, PF_RURI_USER, PO_PREFIX, "+1"), PA_ROUTE_POOL, 1);
	rule(p, 6, test(p, PF_FROM_HOST, PO_EQ, "blocked.example.org"), PA_REPLY, 403);
	rule(p, 7, test(p, PF_RURI_USER, PO_EQ, "+4930999999"), PA_ROUTE_POOL, 2);
	rule(p, 8, test(p, PF_TRANSPORT, PO_EQ, "ws"), PA_ROUTE_POOL, 2);
	rule(p, 9, test(p, PF_RURI_USER, PO_PREFIX, "+49"), PA_ROUTE_POOL, 0);
	return p;
}

static struct policy *hosts_policy(void)
{
	struct policy *p = policy_new(10000);
	for (uint32_t i = 0; i < 10000; i++) {
		char host[64];
		snprintf(host, sizeof(host), "cust%05u.example.net", i);
		rule(p, i, both(p, test(p, PF_METHOD, PO_EQ, "INVITE"), test(p, PF_RURI_HOST, PO_EQ, host)),
		     PA_ROUTE_POOL, i % 3);
	}
	return p;
}

static struct policy *prefixes_policy(void)
{
	struct policy *p = policy_new(10000);
	for (uint32_t i = 0; i < 10000; i++) {
		char pfx[16];
		snprintf(pfx, sizeof(pfx), "+49%05u", i * 7 + 10000);
		rule(p, i, test(p, PF_RURI_USER, PO_PREFIX, pfx), PA_ROUTE_POOL, i % 3);
	}
	return p;
}

static struct policy *table_policy(uint32_t n)
{
	struct policy *p = policy_new(1);
	p->tables = policy_alloc(p, sizeof(*p->tables));
	p->n_tables = 1;
	struct policy_table *t = &p->tables[0];
	t->name = "world";
	t->strip_plus = true;
	t->entries = policy_alloc(p, n * sizeof(*t->entries));
	t->n_entries = p->n_prefixes = n;
	for (uint32_t i = 0; i < n; i++) {
		/* E.164-like: a country code, then an area of 2-6 digits */
		char d[16];
		int len = snprintf(d, sizeof(d), "%u%u", 1 + rnd(99), rnd(1000000));
		len = 3 + (int)rnd((unsigned)len - 2);
		t->entries[i].digits = policy_strndup(p, d, (size_t)len);
		t->entries[i].len = (uint32_t)len;
		t->entries[i].pool = i % 3;
	}
	rule(p, 0, test(p, PF_METHOD, PO_EQ, "INVITE"), PA_ROUTE_TABLE, 0);
	return p;
}

/* ---- requests ----------------------------------------------------------------------- */

struct reqs {
	struct policy_req rq[N_REQ];
	char text[N_REQ][96];
};

static void req_fill(struct policy_req *rq, char *text, const char *user, const char *host)
{
	int u = snprintf(text, 96, "%s", user);
	snprintf(text + u + 1, (size_t)(96 - u - 1), "%s", host);
	memset(rq, 0, sizeof(*rq));
	rq->method = (struct policy_str){"INVITE", 6};
	rq->ruri_scheme = (struct policy_str){"sip", 3};
	rq->ruri_user = rq->from_user = rq->to_user = (struct policy_str){text, (uint32_t)u};
	rq->ruri_host = rq->from_host = rq->to_host =
	    (struct policy_str){text + u + 1, (uint32_t)strlen(text + u + 1)};
	rq->transport = (struct policy_str){"udp", 3};
	rq->src.in.sin_family = AF_INET;
	inet_pton(AF_INET, "198.51.100.17", &rq->src.in.sin_addr);
}

static void reqs_small(struct reqs *r)
{
	for (uint32_t i = 0; i < N_REQ; i++) {
		char user[32];
		snprintf(user, sizeof(user), "+4930%06u", rnd(1000000));
		req_fill(&r->rq[i], r->text[i], user, "carrier.example.net");
	}
}

static void reqs_hosts(struct reqs *r)
{
	for (uint32_t i = 0; i < N_REQ; i++) {
		char host[64];
		snprintf(host, sizeof(host), "CUST%05u.example.net", 9000 + rnd(1000));
		req_fill(&r->rq[i], r->text[i], "+4930123456", host);
	}
}

static void reqs_prefixes(struct reqs *r)
{
	for (uint32_t i = 0; i < N_REQ; i++) {
		char user[32];
		snprintf(user, sizeof(user), "+49%05u%04u", (9000 + rnd(1000)) * 7 + 10000, rnd(10000));
		req_fill(&r->rq[i], r->text[i], user, "carrier.example.net");
	}
}

static void reqs_table(struct reqs *r, const struct policy *p)
{
	const struct policy_table *t = &p->tables[0];
	for (uint32_t i = 0; i < N_REQ; i++) {
		char user[40];
		const struct policy_prefix *e = &t->entries[rnd(t->n_entries)];
		snprintf(user, sizeof(user), "+%.*s%06u", (int)e->len, e->digits, rnd(1000000));
		req_fill(&r->rq[i], r->text[i], user, "carrier.example.net");
	}
}

/* ---- measuring ------------------------------------------------------------------------ */

typedef struct policy_hit (*lookup_fn)(const struct policy *, const struct policy_req *);

static double measure(const struct policy *p, const struct reqs *r, lookup_fn fn, double secs,
		      long iters)
{
	volatile uint32_t sink = 0;
	long n = 0;
	for (uint32_t i = 0; i < N_REQ; i++) /* every request matches some rule */
		if (fn(p, &r->rq[i]).rule == POLICY_NONE) {
			fprintf(stderr, "request %u matches no rule\n", i);
			exit(1);
		}
	/* the best of three runs: the machine may be busy with other work */
	double best = 1e18;
	for (int run = 0; run < (iters > 0 ? 1 : 3); run++) {
		double t0 = now(), t1;
		n = 0;
		do {
			for (uint32_t i = 0; i < N_REQ; i++)
				sink += fn(p, &r->rq[i]).rule;
			n += N_REQ;
			t1 = now();
		} while (iters > 0 ? n < iters : t1 - t0 < secs / 3);
		double ns = (t1 - t0) * 1e9 / (double)n;
		best = ns < best ? ns : best;
	}
	(void)sink;
	return best;
}

static double build(struct policy *p)
{
	struct ydoc_errs e;
	ydoc_errs_init(&e);
	double t0 = now();
	int rc = policy_index_build(p, &e);
	double t = now() - t0;
	if (rc) {
		ydoc_errs_print(&e, stderr);
		exit(1);
	}
	ydoc_errs_free(&e);
	return t;
}

int main(int argc, char **argv)
{
	double secs = 1.0;
	long iters = 0;
	int only = -1; /* --iterations N CASE: that case alone (0-3) */
	if (argc > 2 && strcmp(argv[1], "--iterations") == 0) {
		iters = atol(argv[2]);
		only = argc > 3 ? atoi(argv[3]) : -1;
	}
	else if (argc > 1)
		secs = atof(argv[1]);

	static struct reqs r;
	struct {
		const char *name;
		struct policy *p;
		double build_s, ns, ref_ns;
	} c[4] = {
	    {"10 rules", small_policy(), 0, 0, 0},
	    {"10k hosts", hosts_policy(), 0, 0, 0},
	    {"10k prefixes", prefixes_policy(), 0, 0, 0},
	    {"100k table", table_policy(100000), 0, 0, 0},
	};
	double lo = 1e18, hi = 0;
	for (int i = 0; i < 4; i++) {
		if (only >= 0 && i != only)
			continue;
		c[i].build_s = build(c[i].p);
		switch (i) {
		case 0: reqs_small(&r); break;
		case 1: reqs_hosts(&r); break;
		case 2: reqs_prefixes(&r); break;
		default: reqs_table(&r, c[i].p);
		}
		c[i].ns = measure(c[i].p, &r, policy_lookup, secs, iters);
		if ((i == 1 || i == 2) && !iters) /* callgrind counts lookups only */
			c[i].ref_ns = measure(c[i].p, &r, policy_eval_rules, secs / 4, iters / 100);
		lo = c[i].ns < lo ? c[i].ns : lo;
		hi = c[i].ns > hi ? c[i].ns : hi;
		printf("%-13s %6u rules  %8.1f ns/lookup  %11.0f lookups/s  index built in %7.2f ms",
		       c[i].name, c[i].p->n_rules, c[i].ns, 1e9 / c[i].ns, c[i].build_s * 1e3);
		if (c[i].ref_ns > 0)
			printf("  (rule by rule: %.0f ns)", c[i].ref_ns);
		printf("\n");
	}
	/* the table's trie alone */
	struct policy *tp = c[3].p;
	if (only >= 0)
		goto out;
	double t0 = now();
	policy_index_free(tp);
	policy_index_build(tp, NULL);
	double trie_s = now() - t0;
	const struct policy_trie *tr = tp->tables[0].trie;
	printf("100k table: trie of %u nodes, %.1f bytes/prefix, built (with the index) in %.1f ms\n",
	       tr->n_nodes, (double)policy_trie_bytes(tr) / tp->tables[0].n_entries, trie_s * 1e3);
	printf("slowest/fastest: %.2fx\n", hi / lo);
out:
	for (int i = 0; i < 4; i++)
		policy_free(c[i].p);
	return 0;
}
