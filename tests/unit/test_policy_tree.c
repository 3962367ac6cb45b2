/*
 * Tests of policy matching (src/policy/): the prefix trie, the CIDR radix
 * tree, dialled-number tables, the rule index and its first-match order,
 * unreachable-rule detection, explain and policy_req_from_line.
 *
 * Policies are built here in memory with policy_alloc, never through the
 * YAML loader, so these tests pin the matcher's own contract. The core of
 * the file is test_random_equivalence: thousands of random policies
 * (random condition trees over every field and operator, regexes, IPv4
 * and IPv6 CIDRs, prefix tables) and random requests drawn to hit the
 * policy's own values, asserting that policy_lookup (the index) gives
 * policy_eval_rules's (the reference) answer every time, that explain
 * agrees, and that every rule reported unreachable indeed never matches
 * where its coverer does not. Seeded: a failure prints the seed and the
 * request, and reruns the same.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <sipedge/error.h>

#include "policy_tree.h"
#include "xmem.h"

/* ---- policies in memory ------------------------------------------------- */

#define MAX_REGEXES 64

static bool field_nocase(unsigned f)
{
	return f == PF_RURI_SCHEME || f == PF_RURI_HOST || f == PF_FROM_HOST || f == PF_TO_HOST ||
	       f == PF_TRANSPORT;
}

static struct policy *pol_new(uint32_t n_rules)
{
	struct policy *p = xmem_calloc(1, sizeof(*p));
	p->file = "mem.yaml";
	p->rules = policy_alloc(p, n_rules * sizeof(*p->rules));
	p->n_rules = n_rules;
	p->regexes = policy_alloc(p, MAX_REGEXES * sizeof(*p->regexes));
	return p;
}

static void pol_pools(struct policy *p, uint32_t n)
{
	static const char *const names[] = {"p0", "p1", "p2", "p3"};
	p->pools = policy_alloc(p, n * sizeof(*p->pools));
	p->n_pools = n;
	for (uint32_t i = 0; i < n; i++)
		p->pools[i].name = names[i];
}

static struct policy_cond *c_new(struct policy *p, unsigned kind)
{
	struct policy_cond *c = policy_alloc(p, sizeof(*c));
	c->kind = (uint8_t)kind;
	return c;
}

static void c_setvals(struct policy *p, struct policy_cond *c, const char *const *v, uint32_t n)
{
	c->vals = policy_alloc(p, (n ? n : 1) * sizeof(*c->vals));
	c->lens = policy_alloc(p, (n ? n : 1) * sizeof(*c->lens));
	for (uint32_t i = 0; i < n; i++) {
		c->lens[i] = (uint32_t)strlen(v[i]);
		c->vals[i] = policy_strndup(p, v[i], c->lens[i]);
	}
	c->n_vals = n;
}

static struct policy_cond *c_testv(struct policy *p, unsigned field, unsigned op,
				   const char *const *v, uint32_t n)
{
	struct policy_cond *c = c_new(p, PC_TEST);
	c->field = (uint8_t)field;
	c->op = (uint8_t)op;
	c->nocase = field_nocase(field);
	c_setvals(p, c, v, n);
	return c;
}

/* The NULL-terminated string arguments in ap, into v[32]. */
static uint32_t va_strs(va_list ap, const char **v)
{
	uint32_t n = 0;
	for (const char *s; n < 32 && (s = va_arg(ap, const char *));)
		v[n++] = s;
	return n;
}

/* c_test(p, PF_RURI_HOST, PO_EQ, "a", "b", NULL) */
static struct policy_cond *c_test(struct policy *p, unsigned field, unsigned op, ...)
{
	const char *v[32];
	va_list ap;
	va_start(ap, op);
	uint32_t n = va_strs(ap, v);
	va_end(ap);
	return c_testv(p, field, op, v, n);
}

static pcre2_code *re_compile(const char *pat, bool jit)
{
	int err;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
	assert_non_null(re);
	if (jit)
		pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	return re;
}

static struct policy_cond *c_regex(struct policy *p, unsigned field, const char *pat)
{
	struct policy_cond *c = c_test(p, field, PO_REGEX, pat, NULL);
	assert_true(p->n_regexes < MAX_REGEXES);
	c->re = p->regexes[p->n_regexes++] = re_compile(pat, true);
	return c;
}

static struct policy_cond *c_header(struct policy *p, const char *name, unsigned op, const char *v)
{
	struct policy_cond *c = v ? c_test(p, PF_HEADER, op, v, NULL) : c_test(p, PF_HEADER, op, NULL);
	c->header = name;
	return c;
}

static void cidr_parse(const char *s, struct policy_cidr *c)
{
	char ip[64];
	const char *slash = strchr(s, '/');
	assert_non_null(slash);
	snprintf(ip, sizeof(ip), "%.*s", (int)(slash - s), s);
	memset(c, 0, sizeof(*c));
	unsigned bits = (unsigned)atoi(slash + 1);
	if (strchr(ip, ':')) {
		assert_int_equal(inet_pton(AF_INET6, ip, c->addr), 1);
		c->bits = (uint8_t)bits;
	} else {
		c->addr[10] = c->addr[11] = 0xff;
		assert_int_equal(inet_pton(AF_INET, ip, c->addr + 12), 1);
		c->bits = (uint8_t)(96 + bits);
	}
}

static struct policy_cidrs *cidrs_new(struct policy *p, const char *const *v, uint32_t n)
{
	struct policy_cidrs *l = policy_alloc(p, sizeof(*l));
	l->v = policy_alloc(p, (n ? n : 1) * sizeof(*l->v));
	for (uint32_t i = 0; i < n; i++)
		cidr_parse(v[i], &l->v[i]);
	l->n = n;
	return l;
}

/* c_cidr(p, "10.0.0.0/8", "2001:db8::/32", NULL) */
static struct policy_cond *c_cidr(struct policy *p, ...)
{
	const char *v[32];
	va_list ap;
	va_start(ap, p);
	uint32_t n = va_strs(ap, v);
	va_end(ap);
	struct policy_cond *c = c_new(p, PC_TEST);
	c->field = PF_SOURCE;
	c->op = PO_CIDR;
	c->cidrs = cidrs_new(p, v, n);
	return c;
}

/* c_kids(p, PC_ALL, 2, a, b) */
static struct policy_cond *c_kids(struct policy *p, unsigned kind, uint32_t n, ...)
{
	struct policy_cond *c = c_new(p, kind);
	c->kids = policy_alloc(p, (n ? n : 1) * sizeof(*c->kids));
	va_list ap;
	va_start(ap, n);
	for (uint32_t i = 0; i < n; i++)
		c->kids[i] = va_arg(ap, struct policy_cond *);
	va_end(ap);
	c->n_kids = n;
	return c;
}

static void rule_set(struct policy *p, uint32_t i, const char *name, struct policy_cond *match,
		     unsigned action, uint32_t arg)
{
	struct policy_rule *r = &p->rules[i];
	r->name = name;
	r->line = 10 + 10 * i;
	r->col = 5;
	r->match = match;
	r->action = (uint8_t)action;
	r->pool = r->table = r->dest = POLICY_NONE;
	if (action == PA_ROUTE_POOL)
		r->pool = arg;
	else if (action == PA_ROUTE_TABLE)
		r->table = arg;
	else if (action == PA_REPLY || action == PA_REDIRECT)
		r->code = (uint16_t)arg;
}

/* A table of "prefix:pool" strings. */
static void table_set(struct policy *p, struct policy_table *t, const char *name,
		      const char *const *ent, uint32_t n)
{
	t->name = name;
	t->strip_plus = true;
	t->line = 3;
	t->entries = policy_alloc(p, (n ? n : 1) * sizeof(*t->entries));
	for (uint32_t i = 0; i < n; i++) {
		const char *colon = strchr(ent[i], ':');
		t->entries[i].len = (uint32_t)(colon - ent[i]);
		t->entries[i].digits = policy_strndup(p, ent[i], t->entries[i].len);
		t->entries[i].pool = (uint32_t)atoi(colon + 1);
		t->entries[i].line = i + 1;
	}
	t->n_entries = n;
	p->n_prefixes += n;
}

/* ---- requests ----------------------------------------------------------------- */

#define TREQ_HDRS 6

struct treq {
	struct policy_req rq;
	struct {
		const char *name, *val;
	} hdrs[TREQ_HDRS];
	uint32_t n_hdrs;
	char buf[16][48]; /* generated strings */
};

static uint32_t treq_header(const struct policy_req *rq, const char *name, struct policy_str *vals,
			    uint32_t max)
{
	const struct treq *t = rq->ctx;
	uint32_t n = 0;
	for (uint32_t i = 0; i < t->n_hdrs; i++)
		if (strcasecmp(t->hdrs[i].name, name) == 0) {
			if (n < max)
				vals[n] = (struct policy_str){t->hdrs[i].val,
							      (uint32_t)strlen(t->hdrs[i].val)};
			n++;
		}
	return n;
}

static void treq_line(struct treq *t, const char *line, const char *ip)
{
	const char *why = NULL;
	memset(t, 0, sizeof(*t));
	int rc = policy_req_from_line(&t->rq, line, ip, NULL, &why);
	if (rc)
		fail_msg("%s: %s", line, why);
	t->rq.header = treq_header;
	t->rq.ctx = t;
}

static void treq_hdr(struct treq *t, const char *name, const char *val)
{
	assert_true(t->n_hdrs < TREQ_HDRS);
	t->hdrs[t->n_hdrs].name = name;
	t->hdrs[t->n_hdrs++].val = val;
}

static struct policy_hit lookup_checked(const struct policy *p, const struct policy_req *rq)
{
	struct policy_hit a = policy_eval_rules(p, rq), b = policy_lookup(p, rq);
	assert_int_equal(a.rule, b.rule);
	assert_int_equal(a.pool, b.pool);
	assert_int_equal(a.prefix, b.prefix);
	return b;
}

static uint32_t rule_for(const struct policy *p, const char *line, const char *ip)
{
	struct treq t;
	treq_line(&t, line, ip);
	return lookup_checked(p, &t.rq).rule;
}

/* ---- the trie ------------------------------------------------------------------- */

static void trie_from(struct policy_trie *t, const char *const *keys, uint32_t n, bool fold)
{
	struct policy_trie_key k[64];
	for (uint32_t i = 0; i < n; i++)
		k[i] = (struct policy_trie_key){keys[i], (uint32_t)strlen(keys[i]), i};
	policy_trie_build(t, k, n, fold);
}

static uint32_t longest(const struct policy_trie *t, const char *s, uint32_t *klen)
{
	return policy_trie_longest(t, s, (uint32_t)strlen(s), klen);
}

static void test_trie_longest(void **state)
{
	(void)state;
	static const char *const keys[] = {"49", "4930", "493012", "1", "*21#", "4930", "#"};
	struct policy_trie t;
	trie_from(&t, keys, 7, false);
	uint32_t kl;
	assert_int_equal(longest(&t, "4930199", &kl), 1); /* the first "4930" */
	assert_int_equal(kl, 4);
	assert_int_equal(longest(&t, "49301299", &kl), 2);
	assert_int_equal(kl, 6);
	assert_int_equal(longest(&t, "493", &kl), 0);
	assert_int_equal(longest(&t, "49", NULL), 0);
	assert_int_equal(longest(&t, "4", &kl), POLICY_NONE);
	assert_int_equal(kl, 0);
	assert_int_equal(longest(&t, "", NULL), POLICY_NONE);
	assert_int_equal(longest(&t, "*21#5", NULL), 4);
	assert_int_equal(longest(&t, "*21", NULL), POLICY_NONE);
	assert_int_equal(longest(&t, "#", NULL), 6);
	assert_int_equal(longest(&t, "2", NULL), POLICY_NONE);
	/* every key on the path, shortest first; bounded by max */
	uint32_t v[8];
	assert_int_equal(policy_trie_path(&t, "4930129", 7, v, 8), 3);
	assert_int_equal(v[0], 0);
	assert_int_equal(v[1], 1);
	assert_int_equal(v[2], 2);
	assert_int_equal(policy_trie_path(&t, "4930129", 7, v, 2), 2);
	assert_int_equal(t.max_path_vals, 3);
	/* nodes: root, 4 9 3 0 1 2, 1, * 2 1 #, # = 13 */
	assert_int_equal(t.n_nodes, 13);
	policy_trie_free(&t);

	/* the empty key matches everything */
	static const char *const dflt[] = {"", "5"};
	trie_from(&t, dflt, 2, false);
	assert_int_equal(longest(&t, "123", &kl), 0);
	assert_int_equal(kl, 0);
	assert_int_equal(longest(&t, "55", &kl), 1);
	assert_int_equal(t.n_nodes, 2);
	policy_trie_free(&t);

	/* no keys at all */
	trie_from(&t, NULL, 0, false);
	assert_int_equal(longest(&t, "123", NULL), POLICY_NONE);
	assert_int_equal(policy_trie_path(&t, "1", 1, v, 8), 0);
	policy_trie_free(&t);

	/* folded: keys given lower-case, subjects in any case */
	static const char *const low[] = {"sip.", "sip.example"};
	trie_from(&t, low, 2, true);
	assert_int_equal(longest(&t, "SIP.Example.NET", &kl), 1);
	assert_int_equal(kl, 11);
	assert_int_equal(longest(&t, "sIp.x", NULL), 0);
	policy_trie_free(&t);
}

static void test_trie_wide_nodes(void **state)
{
	(void)state;
	/* all 256 byte values under the root, and a longer key under each:
	 * the binary search over wide nodes */
	static char keys[256][3];
	struct policy_trie_key k[512];
	for (int i = 0; i < 256; i++) {
		keys[i][0] = (char)i;
		keys[i][1] = (char)(255 - i);
		k[i] = (struct policy_trie_key){keys[i], 1, (uint32_t)i};
		k[256 + i] = (struct policy_trie_key){keys[i], 2, (uint32_t)(1000 + i)};
	}
	struct policy_trie t;
	policy_trie_build(&t, k, 512, false);
	assert_int_equal(t.n_nodes, 1 + 256 + 256);
	for (int i = 0; i < 256; i++) {
		char s[3] = {(char)i, (char)(255 - i), 'x'};
		uint32_t kl;
		assert_int_equal(policy_trie_longest(&t, s, 3, &kl), 1000 + i);
		assert_int_equal(kl, 2);
		s[1] = (char)(254 - i);
		assert_int_equal(policy_trie_longest(&t, s, 3, &kl), i);
		assert_int_equal(kl, 1);
	}
	policy_trie_free(&t);
}

/* splitmix64: small, seedable, good enough to draw test cases */
struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t below(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(rnd(r) % n) : 0;
}

static bool chance(struct rng *r, unsigned pct)
{
	return below(r, 100) < pct;
}

static void rand_digits(struct rng *r, char *out, uint32_t len, const char *alphabet)
{
	size_t n = strlen(alphabet);
	for (uint32_t i = 0; i < len; i++)
		out[i] = alphabet[below(r, (uint32_t)n)];
	out[len] = '\0';
}

static void test_trie_random(void **state)
{
	(void)state;
	struct rng r = {42};
	static char keys[8000][8];
	struct policy_trie_key *k = xmem_malloc(8000 * sizeof(*k));
	/* the largest gets the 3-digit jump table (policy_trie_longest_number) */
	static const uint32_t sizes[] = {0, 1, 7, 100, 2000, 8000};
	for (size_t z = 0; z < sizeof(sizes) / sizeof(*sizes); z++) {
		uint32_t n = sizes[z];
		for (uint32_t i = 0; i < n; i++) {
			rand_digits(&r, keys[i], below(&r, 7), "0123*#");
			k[i] = (struct policy_trie_key){keys[i], (uint32_t)strlen(keys[i]), i};
		}
		struct policy_trie t;
		policy_trie_build(&t, k, n, false);
		assert_true((t.jump != NULL) == (n == 8000));
		for (int q = 0; q < 5000; q++) {
			char s[24];
			rand_digits(&r, s, below(&r, 10), "0123*#");
			uint32_t want = POLICY_NONE, wl = 0, sl = (uint32_t)strlen(s);
			for (uint32_t i = 0; i < n; i++) {
				uint32_t l = (uint32_t)strlen(keys[i]);
				if (l <= sl && memcmp(keys[i], s, l) == 0 &&
				    (want == POLICY_NONE || l > wl)) {
					want = i;
					wl = l;
				}
			}
			uint32_t kl;
			assert_int_equal(policy_trie_longest(&t, s, sl, &kl), want);
			if (want != POLICY_NONE)
				assert_int_equal(kl, wl);
			/* a number ends at the first other character */
			assert_int_equal(policy_trie_longest_number(&t, s, sl), want);
			s[sl] = "a+;"[below(&r, 3)];
			rand_digits(&r, s + sl + 1, below(&r, 4), "0123");
			assert_int_equal(policy_trie_longest_number(&t, s, (uint32_t)strlen(s)), want);
		}
		policy_trie_free(&t);
	}
	free(k);
}

/* ---- the radix tree ---------------------------------------------------------------- */

static struct policy_addr addr_of(const char *ip)
{
	struct policy_cidr c;
	char buf[80];
	snprintf(buf, sizeof(buf), "%s/%s", ip, strchr(ip, ':') ? "128" : "32");
	cidr_parse(buf, &c);
	return policy_addr_from_bytes(c.addr);
}

static uint32_t walk(const struct policy_cidr_tree *t, const char *ip, uint32_t *v)
{
	return policy_cidr_walk(t, addr_of(ip), 128, v, 130);
}

static void cidr_tree_from(struct policy_cidr_tree *t, const char *const *pfx, uint32_t n,
			   bool reverse)
{
	policy_cidr_init(t);
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = reverse ? n - 1 - k : k;
		struct policy_cidr c;
		cidr_parse(pfx[i], &c);
		uint32_t *slot = policy_cidr_slot(t, &c);
		assert_int_equal(*slot, POLICY_NONE);
		*slot = i;
	}
}

static void test_cidr_tree(void **state)
{
	(void)state;
	static const char *const pfx[] = {
	    "10.0.0.0/8",     /* 0 */
	    "10.1.0.0/16",    /* 1 */
	    "10.1.2.3/32",    /* 2 */
	    "0.0.0.0/0",      /* 3: all of IPv4 = ::ffff:0:0/96 */
	    "::/0",           /* 4 */
	    "2001:db8::/32",  /* 5 */
	    "2001:db8::1/128", /* 6 */
	    "192.168.1.0/24", /* 7 */
	    "10.1.2.0/24",    /* 8 */
	};
	for (int rev = 0; rev < 2; rev++) {
		struct policy_cidr_tree t;
		cidr_tree_from(&t, pfx, 9, rev);
		uint32_t v[130];
		static const struct {
			const char *ip;
			uint32_t want[8]; /* ends with POLICY_NONE */
		} rows[] = {
		    {"10.1.2.3", {4, 3, 0, 1, 8, 2, POLICY_NONE}},
		    {"10.1.2.4", {4, 3, 0, 1, 8, POLICY_NONE}},
		    {"10.200.0.1", {4, 3, 0, POLICY_NONE}},
		    {"11.0.0.1", {4, 3, POLICY_NONE}},
		    {"192.168.1.255", {4, 3, 7, POLICY_NONE}},
		    {"192.168.2.0", {4, 3, POLICY_NONE}},
		    /* an IPv4-mapped IPv6 address is the IPv4 address */
		    {"::ffff:10.1.2.3", {4, 3, 0, 1, 8, 2, POLICY_NONE}},
		    {"2001:db8::1", {4, 5, 6, POLICY_NONE}},
		    {"2001:db8::2", {4, 5, POLICY_NONE}},
		    {"2001:db9::1", {4, POLICY_NONE}},
		    {"::1", {4, POLICY_NONE}},
		};
		for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++) {
			uint32_t n = walk(&t, rows[i].ip, v), k = 0;
			while (rows[i].want[k] != POLICY_NONE)
				k++;
			assert_int_equal(n, k);
			for (uint32_t j = 0; j < n; j++)
				assert_int_equal(v[j], rows[i].want[j]);
		}
		/* max_bits: prefixes containing 10.1.0.0/16 */
		assert_int_equal(policy_cidr_walk(&t, addr_of("10.1.0.0"), 96 + 16, v, 130), 4);
		/* a bounded output */
		assert_int_equal(policy_cidr_walk(&t, addr_of("10.1.2.3"), 128, v, 2), 2);
		/* the same prefix again (host bits ignored) is the same slot */
		struct policy_cidr c;
		cidr_parse("10.1.77.77/16", &c);
		assert_int_equal(*policy_cidr_slot(&t, &c), 1);
		assert_true(policy_cidr_any(&t, addr_of("10.9.9.9")));
		policy_cidr_free(&t);
	}

	/* only a /32 and a /128: nothing else matches */
	static const char *const hosts[] = {"192.0.2.1/32", "2001:db8::5/128"};
	struct policy_cidr_tree t;
	cidr_tree_from(&t, hosts, 2, false);
	assert_true(policy_cidr_any(&t, addr_of("192.0.2.1")));
	assert_false(policy_cidr_any(&t, addr_of("192.0.2.0")));
	assert_false(policy_cidr_any(&t, addr_of("192.0.2.2")));
	assert_true(policy_cidr_any(&t, addr_of("2001:db8::5")));
	assert_false(policy_cidr_any(&t, addr_of("2001:db8::4")));
	policy_cidr_free(&t);

	/* empty */
	policy_cidr_init(&t);
	assert_false(policy_cidr_any(&t, addr_of("192.0.2.1")));
	policy_cidr_free(&t);

	/* helpers */
	struct policy_cidr a, b;
	cidr_parse("10.0.0.0/8", &a);
	cidr_parse("10.2.0.0/16", &b);
	assert_true(policy_cidr_covers(&a, &b));
	assert_false(policy_cidr_covers(&b, &a));
	char buf[64];
	assert_string_equal(policy_cidr_fmt(&b, buf, sizeof(buf)), "10.2.0.0/16");
	cidr_parse("2001:db8::/32", &b);
	assert_string_equal(policy_cidr_fmt(&b, buf, sizeof(buf)), "2001:db8::/32");
	assert_false(policy_cidr_covers(&a, &b));
}

static void test_cidr_random(void **state)
{
	(void)state;
	struct rng r = {7};
	for (int round = 0; round < 50; round++) {
		struct policy_cidr pf[200];
		uint32_t n = below(&r, 200);
		struct policy_cidr_tree t;
		policy_cidr_init(&t);
		for (uint32_t i = 0; i < n; i++) {
			memset(&pf[i], 0, sizeof(pf[i]));
			if (chance(&r, 50)) { /* IPv4 in a small space */
				pf[i].addr[10] = pf[i].addr[11] = 0xff;
				pf[i].addr[12] = 10;
				pf[i].addr[13] = (uint8_t)below(&r, 4);
				pf[i].addr[14] = (uint8_t)below(&r, 4);
				pf[i].addr[15] = (uint8_t)below(&r, 4);
				pf[i].bits = (uint8_t)(96 + below(&r, 33));
			} else {
				pf[i].addr[0] = 0x20;
				pf[i].addr[1] = 0x01;
				pf[i].addr[2] = (uint8_t)below(&r, 3);
				pf[i].addr[15] = (uint8_t)below(&r, 3);
				pf[i].bits = (uint8_t)below(&r, 129);
			}
			uint32_t *slot = policy_cidr_slot(&t, &pf[i]);
			if (*slot == POLICY_NONE)
				*slot = i;
		}
		for (int q = 0; q < 500; q++) {
			uint8_t b[16] = {0};
			if (chance(&r, 50)) {
				b[10] = b[11] = 0xff;
				b[12] = 10;
				b[13] = (uint8_t)below(&r, 5);
				b[14] = (uint8_t)below(&r, 5);
				b[15] = (uint8_t)below(&r, 5);
			} else {
				b[0] = 0x20;
				b[1] = 0x01;
				b[2] = (uint8_t)below(&r, 4);
				b[15] = (uint8_t)below(&r, 4);
			}
			struct policy_addr a = policy_addr_from_bytes(b);
			uint32_t v[130], k = policy_cidr_walk(&t, a, 128, v, 130), want = 0;
			bool any = false;
			for (uint32_t i = 0; i < n; i++)
				any |= policy_cidr_has(&pf[i], a);
			/* every walked prefix contains a, lengths ascending, and
			 * as many as the distinct containing prefixes */
			for (uint32_t j = 0; j < k; j++) {
				assert_true(policy_cidr_has(&pf[v[j]], a));
				if (j)
					assert_true(pf[v[j - 1]].bits < pf[v[j]].bits);
			}
			for (unsigned bits = 0; bits <= 128; bits++)
				for (uint32_t i = 0; i < n; i++)
					if (pf[i].bits == bits && policy_cidr_has(&pf[i], a)) {
						want++;
						break;
					}
			assert_int_equal(k, want);
			assert_int_equal(policy_cidr_any(&t, a), any);
		}
		policy_cidr_free(&t);
	}
}

/* ---- dialled-number tables --------------------------------------------------------- */

static uint32_t table_entry(const struct policy *p, const char *user)
{
	struct treq t;
	char line[128];
	snprintf(line, sizeof(line), "INVITE sip:%s@example.net", user);
	treq_line(&t, line, NULL);
	return policy_table_lookup(p, &p->tables[0], &t.rq);
}

static void test_table_lookup(void **state)
{
	(void)state;
	struct policy *p = pol_new(0);
	static const char *const ent[] = {"49:0", "4930:1", "1:2", "*21:0", "4930:2", "33:1"};
	p->tables = policy_alloc(p, sizeof(*p->tables));
	p->n_tables = 1;
	table_set(p, &p->tables[0], "intl", ent, 6);
	p->tables[0].strip_prefix = "00";
	for (int built = 0; built < 2; built++) {
		if (built)
			assert_int_equal(policy_index_build(p, NULL), 0);
		assert_true((p->tables[0].trie != NULL) == built);
		assert_int_equal(table_entry(p, "+4930123"), 1); /* first of the two */
		assert_int_equal(table_entry(p, "4930"), 1);
		assert_int_equal(table_entry(p, "493"), 0);
		assert_int_equal(table_entry(p, "004930123"), 1); /* strip prefix */
		assert_int_equal(table_entry(p, "+0033"), 5);     /* '+', then "00" */
		assert_int_equal(table_entry(p, "0+33"), POLICY_NONE);
		assert_int_equal(table_entry(p, "4930abc"), 1); /* number ends at 'a' */
		assert_int_equal(table_entry(p, "49a30"), 0);
		assert_int_equal(table_entry(p, "*21%23"), 3); /* escaped '#' ends it */
		assert_int_equal(table_entry(p, "5"), POLICY_NONE);
		assert_int_equal(table_entry(p, "alice"), POLICY_NONE);
	}
	p->tables[0].strip_plus = false;
	assert_int_equal(table_entry(p, "+4930"), POLICY_NONE);
	p->tables[0].strip_prefix = "49";
	assert_int_equal(table_entry(p, "4933"), 5);
	policy_free(p);
}

/* ---- the index ------------------------------------------------------------------------ */

static void test_index_placement(void **state)
{
	(void)state;
	struct policy *p = pol_new(12);
	pol_pools(p, 2);
	rule_set(p, 0, "host+method",
		 c_kids(p, PC_ALL, 2, c_test(p, PF_METHOD, PO_EQ, "INVITE", NULL),
			c_test(p, PF_RURI_HOST, PO_EQ, "a.example", NULL)),
		 PA_ROUTE_POOL, 0);
	rule_set(p, 1, "user", c_test(p, PF_RURI_USER, PO_EQ, "alice", NULL), PA_ROUTE_POOL, 1);
	rule_set(p, 2, "prefix",
		 c_kids(p, PC_ALL, 2, c_test(p, PF_RURI_USER, PO_PREFIX, "49", NULL),
			c_cidr(p, "10.0.0.0/8", NULL)),
		 PA_ROUTE_POOL, 0);
	rule_set(p, 3, "source", c_cidr(p, "192.168.0.0/16", "2001:db8::/32", NULL), PA_REPLY,
		 403);
	rule_set(p, 4, "options", c_test(p, PF_METHOD, PO_EQ, "OPTIONS", NULL), PA_REPLY, 200);
	rule_set(p, 5, "regex", c_regex(p, PF_FROM_USER, "^bob"), PA_REPLY, 404);
	rule_set(p, 6, "any-host",
		 c_kids(p, PC_ANY, 2, c_test(p, PF_RURI_HOST, PO_EQ, "b.example", NULL),
			c_test(p, PF_RURI_HOST, PO_EQ, "c.example", NULL)),
		 PA_ROUTE_POOL, 1);
	rule_set(p, 7, "not-host",
		 c_kids(p, PC_NOT, 1, c_test(p, PF_RURI_HOST, PO_EQ, "x.example", NULL)),
		 PA_REPLY, 480);
	rule_set(p, 8, "empty-prefix", c_test(p, PF_RURI_USER, PO_PREFIX, "", NULL), PA_REPLY, 481);
	rule_set(p, 9, "nested",
		 c_kids(p, PC_ALL, 1,
			c_kids(p, PC_ANY, 1,
			       c_kids(p, PC_ALL, 1, c_test(p, PF_RURI_HOST, PO_EQ, "d.example", NULL)))),
		 PA_REPLY, 482);
	rule_set(p, 10, "mixed-any",
		 c_kids(p, PC_ANY, 2, c_test(p, PF_RURI_HOST, PO_EQ, "e.example", NULL),
			c_test(p, PF_RURI_USER, PO_EQ, "e", NULL)),
		 PA_REPLY, 483);
	rule_set(p, 11, "catch-all", NULL, PA_REPLY, 484);
	assert_int_equal(policy_index_build(p, NULL), 0);
	static const uint8_t want[] = {IX_HOST,   IX_USER_EQ, IX_USER_PRE, IX_SOURCE,
				       IX_METHOD, IX_NONE,    IX_HOST,     IX_NONE,
				       IX_NONE,   IX_HOST,    IX_NONE,     IX_NONE};
	for (uint32_t i = 0; i < 12; i++)
		assert_int_equal(p->index->where[i], want[i]);

	assert_int_equal(rule_for(p, "INVITE sip:x@A.Example", NULL), 0);
	assert_int_equal(rule_for(p, "BYE sip:x@a.example", NULL), 7); /* not-host */
	assert_int_equal(rule_for(p, "BYE sip:alice@x.example", NULL), 1);
	assert_int_equal(rule_for(p, "BYE sip:4930@x.example", "10.1.1.1"), 2);
	assert_int_equal(rule_for(p, "BYE sip:4930@x.example", "192.168.1.1"), 3);
	assert_int_equal(rule_for(p, "BYE sip:4930@x.example", "2001:db8::7"), 3);
	assert_int_equal(rule_for(p, "BYE sip:4930@x.example", "2001:db9::7"), 8);
	assert_int_equal(rule_for(p, "OPTIONS sip:4930@x.example", NULL), 4);
	assert_int_equal(rule_for(p, "BYE sip:bob@x.example", NULL), 5);
	assert_int_equal(rule_for(p, "BYE sip:z@C.example", NULL), 6);
	assert_int_equal(rule_for(p, "BYE sip:z@x.example", NULL), 8);
	assert_int_equal(rule_for(p, "BYE tel:+49", NULL), 7);
	policy_free(p);

	/* nothing indexable before a match: order across indexes */
	p = pol_new(3);
	rule_set(p, 0, "late-host",
		 c_kids(p, PC_ALL, 2, c_test(p, PF_RURI_HOST, PO_EQ, "a.example", NULL),
			c_test(p, PF_TRANSPORT, PO_EQ, "tcp", NULL)),
		 PA_REPLY, 400);
	rule_set(p, 1, "regex", c_regex(p, PF_RURI_USER, "^1"), PA_REPLY, 401);
	rule_set(p, 2, "host", c_test(p, PF_RURI_HOST, PO_EQ, "a.example", NULL), PA_REPLY, 402);
	assert_int_equal(policy_index_build(p, NULL), 0);
	assert_int_equal(rule_for(p, "INVITE sip:1@a.example", NULL), 1);
	assert_int_equal(rule_for(p, "INVITE sip:2@a.example", NULL), 2);
	struct treq t;
	treq_line(&t, "INVITE sip:2@a.example", NULL);
	t.rq.transport = (struct policy_str){"TCP", 3};
	assert_int_equal(lookup_checked(p, &t.rq).rule, 0);
	policy_free(p);
}

static void test_index_case_and_headers(void **state)
{
	(void)state;
	struct policy *p = pol_new(6);
	pol_pools(p, 1);
	/* a user is case-sensitive, a method too */
	rule_set(p, 0, "Alice", c_test(p, PF_RURI_USER, PO_EQ, "Alice", NULL), PA_REPLY, 400);
	rule_set(p, 1, "invite", c_test(p, PF_METHOD, PO_EQ, "invite", NULL), PA_REPLY, 401);
	rule_set(p, 2, "hdr-eq", c_header(p, "X-Tier", PO_EQ, "gold"), PA_REPLY, 402);
	rule_set(p, 3, "hdr-re", c_header(p, "X-Tier", PO_REGEX, "^sil"), PA_REPLY, 403);
	((struct policy_cond *)p->rules[3].match)->re = p->regexes[p->n_regexes++] =
	    re_compile("^sil", false); /* not JIT-compiled: pcre2_match */
	rule_set(p, 4, "hdr-present", c_header(p, "X-Any", PO_PRESENT, NULL), PA_REPLY, 404);
	rule_set(p, 5, "empty-user", c_test(p, PF_RURI_USER, PO_EQ, "", NULL), PA_REPLY, 405);
	assert_int_equal(policy_index_build(p, NULL), 0);
	assert_int_equal(rule_for(p, "INVITE sip:alice@h", NULL), POLICY_NONE);
	assert_int_equal(rule_for(p, "INVITE sip:Alice@h", NULL), 0);
	assert_int_equal(rule_for(p, "invite sip:x@h", NULL), 1);
	assert_int_equal(rule_for(p, "INVITE sip:h", NULL), 5); /* absent user = "" */
	struct treq t;
	treq_line(&t, "INVITE sip:x@h", NULL);
	treq_hdr(&t, "x-tier", "bronze");
	treq_hdr(&t, "X-TIER", "gold");
	assert_int_equal(lookup_checked(p, &t.rq).rule, 2); /* any value */
	treq_line(&t, "INVITE sip:x@h", NULL);
	treq_hdr(&t, "X-Tier", "silver");
	assert_int_equal(lookup_checked(p, &t.rq).rule, 3);
	treq_hdr(&t, "X-Any", "");
	treq_line(&t, "INVITE sip:x@h", NULL);
	treq_hdr(&t, "X-Any", "");
	assert_int_equal(lookup_checked(p, &t.rq).rule, 4);
	t.rq.header = NULL; /* no headers at all */
	assert_int_equal(lookup_checked(p, &t.rq).rule, POLICY_NONE);
	policy_free(p);
}

static void test_index_large_sets(void **state)
{
	(void)state;
	/* value sets above IX_ACCEL_MIN go through accelerators */
	struct policy *p = pol_new(4);
	static const char *hosts[20], *pfx[20], *nets[20];
	static char hb[20][32], pb[20][8], nb[20][32];
	for (int i = 0; i < 20; i++) {
		snprintf(hb[i], sizeof(hb[i]), "H%d.Example", i);
		snprintf(pb[i], sizeof(pb[i]), "%d", 100 + i);
		snprintf(nb[i], sizeof(nb[i]), "10.%d.0.0/16", i);
		hosts[i] = hb[i];
		pfx[i] = pb[i];
		nets[i] = nb[i];
	}
	struct policy_cond *src = c_cidr(p, "192.0.2.1/32", NULL);
	src->cidrs = cidrs_new(p, nets, 20);
	rule_set(p, 0, "hosts-and-src",
		 c_kids(p, PC_ALL, 2, c_testv(p, PF_FROM_HOST, PO_EQ, hosts, 20), src), PA_REPLY,
		 400);
	rule_set(p, 1, "prefixes", c_testv(p, PF_TO_HOST, PO_PREFIX, hosts, 20), PA_REPLY, 401);
	rule_set(p, 2, "user-prefixes",
		 c_kids(p, PC_NOT, 1, c_testv(p, PF_FROM_USER, PO_PREFIX, pfx, 20)), PA_REPLY,
		 402);
	rule_set(p, 3, "all", NULL, PA_REPLY, 403);
	assert_int_equal(policy_index_build(p, NULL), 0);
	assert_non_null(ix_accel_find(p->index, p->rules[1].match));
	assert_non_null(ix_accel_find(p->index, src->cidrs));
	assert_int_equal(rule_for(p, "INVITE sip:x@h7.example", "10.7.1.1"), 0);
	assert_int_equal(rule_for(p, "INVITE sip:x@h7.example", "10.77.1.1"), 1);
	assert_int_equal(rule_for(p, "INVITE sip:x@H19.EXAMPLE.net", NULL), 1);
	assert_int_equal(rule_for(p, "INVITE sip:1190@x", NULL), 3);
	assert_int_equal(rule_for(p, "INVITE sip:1200@x", NULL), 2);
	policy_free(p);
}

/* ---- unreachable rules ----------------------------------------------------------------- */

/* Build p's index and return its error messages joined by '\n'. */
static const char *shadow_errors(struct policy *p, int want_rc)
{
	static char out[4096];
	struct ydoc_errs e;
	ydoc_errs_init(&e);
	assert_int_equal(policy_index_build(p, &e), want_rc);
	out[0] = '\0';
	for (size_t i = 0; i < e.n; i++) {
		strncat(out, e.v[i].text, sizeof(out) - strlen(out) - 2);
		strcat(out, "\n");
	}
	ydoc_errs_free(&e);
	return out;
}

static void test_shadow_reported(void **state)
{
	(void)state;
	/* (a) a rule that matches everything */
	struct policy *p = pol_new(3);
	pol_pools(p, 1);
	rule_set(p, 0, "a", c_test(p, PF_METHOD, PO_EQ, "INVITE", NULL), PA_ROUTE_POOL, 0);
	rule_set(p, 1, "all", NULL, PA_REPLY, 403);
	rule_set(p, 2, "b", c_test(p, PF_RURI_HOST, PO_EQ, "x", NULL), PA_ROUTE_POOL, 0);
	assert_string_equal(shadow_errors(p, SE_ECONFIG),
			    "mem.yaml:30:5: rule 'b' can never match: rule 'all' (line 20) "
			    "matches every request it would\n");
	policy_free(p);

	/* (b) each test of the earlier rule implied by one of the later's */
	p = pol_new(14);
	rule_set(p, 0, "hosts", c_test(p, PF_RURI_HOST, PO_EQ, "a.example", "b.example", NULL),
		 PA_REPLY, 400);
	rule_set(p, 1, "host-a",
		 c_kids(p, PC_ALL, 2, c_test(p, PF_METHOD, PO_EQ, "INVITE", NULL),
			c_test(p, PF_RURI_HOST, PO_EQ, "A.example", NULL)),
		 PA_REPLY, 401);
	rule_set(p, 2, "pfx", c_test(p, PF_RURI_USER, PO_PREFIX, "49", "33", NULL), PA_REPLY, 402);
	rule_set(p, 3, "pfx-long", c_test(p, PF_RURI_USER, PO_PREFIX, "4930", NULL), PA_REPLY, 403);
	rule_set(p, 4, "user-eq", c_test(p, PF_RURI_USER, PO_EQ, "331", NULL), PA_REPLY, 404);
	rule_set(p, 5, "net", c_cidr(p, "10.0.0.0/8", "2001:db8::/32", NULL), PA_REPLY, 405);
	rule_set(p, 6, "subnet", c_cidr(p, "10.1.0.0/16", "2001:db8:5::/48", NULL), PA_REPLY,
		 406);
	rule_set(p, 7, "re", c_regex(p, PF_TO_USER, "^a+$"), PA_REPLY, 407);
	rule_set(p, 8, "re-again",
		 c_kids(p, PC_ALL, 2, c_regex(p, PF_TO_USER, "^a+$"),
			c_test(p, PF_TRANSPORT, PO_EQ, "udp", NULL)),
		 PA_REPLY, 408);
	rule_set(p, 9, "hdr", c_header(p, "X-A", PO_PRESENT, NULL), PA_REPLY, 409);
	rule_set(p, 10, "hdr-eq", c_header(p, "x-a", PO_EQ, "1"), PA_REPLY, 410);
	rule_set(p, 11, "any",
		 c_kids(p, PC_ANY, 2, c_test(p, PF_FROM_USER, PO_EQ, "f", NULL),
			c_test(p, PF_FROM_HOST, PO_EQ, "g", NULL)),
		 PA_REPLY, 411);
	rule_set(p, 12, "any-kid",
		 c_kids(p, PC_ALL, 2, c_test(p, PF_FROM_HOST, PO_EQ, "G", NULL),
			c_test(p, PF_LISTENER, PO_EQ, "pub", NULL)),
		 PA_REPLY, 412);
	rule_set(p, 13, "any-of-both",
		 c_kids(p, PC_ANY, 2, c_test(p, PF_RURI_HOST, PO_EQ, "b.example", NULL),
			c_test(p, PF_RURI_HOST, PO_EQ, "a.example", NULL)),
		 PA_REPLY, 413);
	assert_string_equal(
	    shadow_errors(p, SE_ECONFIG),
	    "mem.yaml:20:5: rule 'host-a' can never match: rule 'hosts' (line 10) matches every "
	    "request it would\n"
	    "mem.yaml:40:5: rule 'pfx-long' can never match: rule 'pfx' (line 30) matches every "
	    "request it would\n"
	    "mem.yaml:50:5: rule 'user-eq' can never match: rule 'pfx' (line 30) matches every "
	    "request it would\n"
	    "mem.yaml:70:5: rule 'subnet' can never match: rule 'net' (line 60) matches every "
	    "request it would\n"
	    "mem.yaml:90:5: rule 're-again' can never match: rule 're' (line 80) matches every "
	    "request it would\n"
	    "mem.yaml:110:5: rule 'hdr-eq' can never match: rule 'hdr' (line 100) matches every "
	    "request it would\n"
	    "mem.yaml:130:5: rule 'any-kid' can never match: rule 'any' (line 120) matches every "
	    "request it would\n"
	    "mem.yaml:140:5: rule 'any-of-both' can never match: rule 'hosts' (line 10) matches "
	    "every request it would\n");
	policy_free(p);

	/* a table rule covers only a rule of the same table */
	p = pol_new(3);
	pol_pools(p, 1);
	p->tables = policy_alloc(p, sizeof(*p->tables));
	p->n_tables = 1;
	static const char *const ent[] = {"49:0"};
	table_set(p, &p->tables[0], "t", ent, 1);
	rule_set(p, 0, "table", NULL, PA_ROUTE_TABLE, 0);
	rule_set(p, 1, "pool", c_test(p, PF_METHOD, PO_EQ, "INVITE", NULL), PA_ROUTE_POOL, 0);
	rule_set(p, 2, "table-again", c_test(p, PF_METHOD, PO_EQ, "INVITE", NULL), PA_ROUTE_TABLE,
		 0);
	assert_string_equal(shadow_errors(p, SE_ECONFIG),
			    "mem.yaml:30:5: rule 'table-again' can never match: rule 'table' (line "
			    "10) matches every request it would\n");
	policy_free(p);
}

static void test_shadow_not_reported(void **state)
{
	(void)state;
	struct policy *p = pol_new(16);
	rule_set(p, 0, "host-ab", c_test(p, PF_RURI_HOST, PO_EQ, "a", "b", NULL), PA_REPLY, 400);
	rule_set(p, 1, "host-abc", c_test(p, PF_RURI_HOST, PO_EQ, "a", "b", "c", NULL), PA_REPLY,
		 401);
	rule_set(p, 2, "pfx", c_test(p, PF_RURI_USER, PO_PREFIX, "4930", NULL), PA_REPLY, 402);
	rule_set(p, 3, "pfx-short", c_test(p, PF_RURI_USER, PO_PREFIX, "49", NULL), PA_REPLY, 403);
	rule_set(p, 4, "eq", c_test(p, PF_FROM_USER, PO_EQ, "49", NULL), PA_REPLY, 404);
	rule_set(p, 5, "pfx-of-eq", c_test(p, PF_FROM_USER, PO_PREFIX, "49", NULL), PA_REPLY, 405);
	rule_set(p, 6, "subnet", c_cidr(p, "10.1.0.0/16", NULL), PA_REPLY, 406);
	rule_set(p, 7, "net", c_cidr(p, "10.0.0.0/8", NULL), PA_REPLY, 407);
	rule_set(p, 8, "re", c_regex(p, PF_TO_USER, "^a"), PA_REPLY, 408);
	rule_set(p, 9, "re-other", c_regex(p, PF_TO_USER, "^a+"), PA_REPLY, 409);
	rule_set(p, 10, "hdr-eq", c_header(p, "X-B", PO_EQ, "1"), PA_REPLY, 410);
	rule_set(p, 11, "hdr-present", c_header(p, "X-B", PO_PRESENT, NULL), PA_REPLY, 411);
	/* an exact test does not cover a case-insensitive one */
	struct policy_cond *exact = c_test(p, PF_TO_HOST, PO_EQ, "x", NULL);
	exact->nocase = false;
	rule_set(p, 12, "exact", exact, PA_REPLY, 412);
	rule_set(p, 13, "nocase", c_test(p, PF_TO_HOST, PO_EQ, "x", NULL), PA_REPLY, 413);
	/* a negation is only covered by the same negation */
	rule_set(p, 14, "not", c_kids(p, PC_NOT, 1, c_test(p, PF_LISTENER, PO_EQ, "a", NULL)),
		 PA_REPLY, 414);
	rule_set(p, 15, "not-other",
		 c_kids(p, PC_NOT, 1, c_test(p, PF_LISTENER, PO_EQ, "a", "b", NULL)), PA_REPLY, 415);
	assert_string_equal(shadow_errors(p, 0), "");
	policy_free(p);
}

/* ---- explain ------------------------------------------------------------------------------ */

static const char *explain(const struct policy *p, const char *line, const char *ip,
			   uint32_t *rule)
{
	static char *buf;
	size_t size;
	free(buf);
	FILE *f = open_memstream(&buf, &size);
	struct treq t;
	treq_line(&t, line, ip);
	treq_hdr(&t, "X-Tier", "gold");
	struct policy_hit h = policy_explain(p, &t.rq, f);
	fclose(f);
	assert_int_equal(h.rule, policy_lookup(p, &t.rq).rule);
	*rule = h.rule;
	return buf;
}

static void test_explain(void **state)
{
	(void)state;
	struct policy *p = pol_new(7);
	pol_pools(p, 2);
	p->pools[1].name = "berlin";
	p->tables = policy_alloc(p, sizeof(*p->tables));
	p->n_tables = 1;
	static const char *const ent[] = {"49:0", "4930:1"};
	table_set(p, &p->tables[0], "intl", ent, 2);
	struct policy_cond *c = c_test(p, PF_RURI_USER, PO_PREFIX, "49", NULL);
	c->line = 14;
	rule_set(p, 0, "de", c, PA_REPLY, 403);
	c = c_kids(p, PC_ALL, 2, c_test(p, PF_METHOD, PO_EQ, "BYE", NULL),
		   c_test(p, PF_RURI_HOST, PO_EQ, "a", "b", "c", "d", "e", "f", NULL));
	c->kids[0]->line = 21;
	rule_set(p, 1, "hosts", c, PA_ROUTE_POOL, 0);
	c = c_kids(p, PC_ANY, 2, c_cidr(p, "10.0.0.0/8", NULL), c_header(p, "X-Tier", PO_EQ, "silver"));
	c->line = 30;
	c->kids[0]->line = 31;
	c->kids[1]->line = 32;
	rule_set(p, 2, "any", c, PA_REDIRECT, 302);
	p->rules[2].contacts = policy_alloc(p, 2 * sizeof(char *));
	p->rules[2].contacts[0] = "sip:a@b";
	p->rules[2].contacts[1] = "sip:c@d";
	p->rules[2].n_contacts = 2;
	c = c_kids(p, PC_NOT, 1, c_regex(p, PF_RURI_SCHEME, "^sip$"));
	c->kids[0]->line = 41;
	rule_set(p, 3, "not-sip", c, PA_FORWARD_RURI, 0);
	rule_set(p, 4, "table", c_test(p, PF_TRANSPORT, PO_EQ, "udp", NULL), PA_ROUTE_TABLE, 0);
	p->rules[4].match->line = 51;
	rule_set(p, 5, "gold", c_header(p, "X-Tier", PO_EQ, "gold"), PA_REPLY, 486);
	p->rules[5].reason = "Busy Now";
	rule_set(p, 6, "all", NULL, PA_REPLY, 500);
	assert_int_equal(policy_index_build(p, NULL), 0);

	uint32_t rule;
	assert_string_equal(
	    explain(p, "INVITE sip:4930123@x", NULL, &rule),
	    "rule 'de' (mem.yaml:10): matches: reply 403 Forbidden\n");
	assert_int_equal(rule, 0);
	assert_string_equal(
	    explain(p, "INVITE sip:+4930123@x", "192.0.2.1", &rule),
	    "rule 'de' (mem.yaml:10): no: ruri-user \"+4930123\" does not start with \"49\" (line "
	    "14)\n"
	    "rule 'hosts' (mem.yaml:20): no: method \"INVITE\" is not \"BYE\" (line 21)\n"
	    "rule 'any' (mem.yaml:30): no: none of: source 192.0.2.1 is not in 10.0.0.0/8 (line "
	    "31); header X-Tier \"gold\" is not \"silver\" (line 32)\n"
	    "rule 'not-sip' (mem.yaml:40): no: not: ruri-scheme \"sip\" matches /^sip$/ (line 41)\n"
	    "rule 'table' (mem.yaml:50): matches: prefix '4930' of table 'intl' -> pool 'berlin'\n");
	assert_int_equal(rule, 4);
	assert_string_equal(
	    explain(p, "BYE sip:+1@G", "10.1.2.3", &rule),
	    "rule 'de' (mem.yaml:10): no: ruri-user \"+1\" does not start with \"49\" (line 14)\n"
	    "rule 'hosts' (mem.yaml:20): no: ruri-host \"G\" is none of \"a\", \"b\", \"c\", \"d\" "
	    "and 2 more (line 0)\n"
	    "rule 'any' (mem.yaml:30): matches: redirect 302 Moved Temporarily to sip:a@b, "
	    "sip:c@d\n");
	assert_string_equal(
	    explain(p, "BYE sips:+1@G", "2001:db8::1", &rule),
	    "rule 'de' (mem.yaml:10): no: ruri-user \"+1\" does not start with \"49\" (line 14)\n"
	    "rule 'hosts' (mem.yaml:20): no: ruri-host \"G\" is none of \"a\", \"b\", \"c\", \"d\" "
	    "and 2 more (line 0)\n"
	    "rule 'any' (mem.yaml:30): no: none of: source 2001:db8::1 is not in 10.0.0.0/8 (line "
	    "31); header X-Tier \"gold\" is not \"silver\" (line 32)\n"
	    "rule 'not-sip' (mem.yaml:40): matches: forward to the request-uri\n");
	assert_string_equal(
	    explain(p, "BYE sip:%22x%22@a", NULL, &rule),
	    "rule 'de' (mem.yaml:10): no: ruri-user \"%22x%22\" does not start with \"49\" (line "
	    "14)\n"
	    "rule 'hosts' (mem.yaml:20): matches: route to pool 'p0'\n");
	/* a table without the number, then a header, then the rest */
	assert_string_equal(
	    explain(p, "ACK sip:5@z", NULL, &rule),
	    "rule 'de' (mem.yaml:10): no: ruri-user \"5\" does not start with \"49\" (line 14)\n"
	    "rule 'hosts' (mem.yaml:20): no: method \"ACK\" is not \"BYE\" (line 21)\n"
	    "rule 'any' (mem.yaml:30): no: none of: source is unknown (line 31); header X-Tier "
	    "\"gold\" is not \"silver\" (line 32)\n"
	    "rule 'not-sip' (mem.yaml:40): no: not: ruri-scheme \"sip\" matches /^sip$/ (line 41)\n"
	    "rule 'table' (mem.yaml:50): no: table 'intl' has no prefix of \"5\"\n"
	    "rule 'gold' (mem.yaml:60): matches: reply 486 Busy Now\n");
	policy_free(p);

	p = pol_new(1);
	rule_set(p, 0, "only", c_test(p, PF_LISTENER, PO_EQ, "pub", NULL), PA_REPLY, 403);
	assert_int_equal(policy_index_build(p, NULL), 0);
	assert_string_equal(explain(p, "ACK sip:5@z", NULL, &rule),
			    "rule 'only' (mem.yaml:10): no: listener \"\" is not \"pub\" (line 0)\n"
			    "no rule matched\n");
	assert_int_equal(rule, POLICY_NONE);
	policy_free(p);
}

/* ---- request lines ---------------------------------------------------------------------- */

static bool str_is(struct policy_str s, const char *want)
{
	return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

static void test_req_from_line(void **state)
{
	(void)state;
	struct policy_req rq;
	const char *why = NULL;
	assert_int_equal(policy_req_from_line(&rq, "INVITE sip:+4930123@example.net", NULL, NULL,
					      &why),
			 0);
	assert_true(str_is(rq.method, "INVITE"));
	assert_true(str_is(rq.ruri_scheme, "sip"));
	assert_true(str_is(rq.ruri_user, "+4930123"));
	assert_true(str_is(rq.ruri_host, "example.net"));
	assert_true(str_is(rq.from_user, "+4930123"));
	assert_true(str_is(rq.to_host, "example.net"));
	assert_true(str_is(rq.transport, "udp"));
	assert_int_equal(rq.src.sa.sa_family, AF_UNSPEC);
	assert_null(rq.header);

	assert_int_equal(policy_req_from_line(&rq,
					      "OPTIONS SIPS:alice@[2001:db8::1]:5061;transport=tls "
					      "SIP/2.0\r\n",
					      "[2001:db8::2]", "TLS", &why),
			 0);
	assert_true(str_is(rq.ruri_scheme, "SIPS"));
	assert_true(str_is(rq.ruri_user, "alice"));
	assert_true(str_is(rq.ruri_host, "[2001:db8::1]"));
	assert_true(str_is(rq.transport, "TLS"));
	assert_int_equal(rq.src.sa.sa_family, AF_INET6);

	assert_int_equal(policy_req_from_line(&rq, "INVITE tel:+4930123", "192.0.2.1", "tcp", &why),
			 0);
	assert_true(str_is(rq.ruri_scheme, "tel"));
	assert_true(str_is(rq.ruri_user, "+4930123"));
	assert_int_equal(rq.ruri_host.len, 0);
	assert_int_equal(rq.src.sa.sa_family, AF_INET);
	assert_int_equal(ntohl(rq.src.in.sin_addr.s_addr), 0xc0000201);

	static const struct {
		const char *line, *ip, *transport, *why;
	} bad[] = {
	    {"", NULL, NULL, "expected a method"},
	    {"INVITE", NULL, NULL, "expected a request-uri after the method"},
	    {"INV@TE sip:a@b", NULL, NULL, "bad character in the method"},
	    {"INVITE http://x/y", NULL, NULL, "the request-uri must be sip:, sips: or tel:"},
	    {"INVITE sip:a@b SIP/3.0", NULL, NULL,
	     "expected SIP/2.0 or the end after the request-uri"},
	    {"INVITE sip:a@b:99999", NULL, NULL, NULL},
	    {"INVITE sip:a@b", "300.1.1.1", NULL, "bad source address (an IPv4 or IPv6 literal)"},
	    {"INVITE sip:a@b", NULL, "sctp", "unknown transport (udp, tcp, tls, ws or wss)"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		why = NULL;
		assert_int_equal(
		    policy_req_from_line(&rq, bad[i].line, bad[i].ip, bad[i].transport, &why),
		    SE_EPARSE);
		assert_non_null(why);
		if (bad[i].why)
			assert_string_equal(why, bad[i].why);
	}
}

/* ---- random policies ------------------------------------------------------------------------ */

static const char *const methods[] = {"INVITE", "BYE", "OPTIONS", "REGISTER", "invite", "MESSAGE"};
static const char *const schemes[] = {"sip", "sips", "tel", "SIP"};
static const char *const hosts[] = {"a.example", "A.EXAMPLE", "b.example",
				    "c.example", "a.example.net", "10.0.0.1", ""};
static const char *const transports[] = {"udp", "tcp", "TLS", "ws", "wss"};
static const char *const listeners[] = {"pub", "priv", "Pub", ""};
static const char *const names[] = {"alice", "Alice", "bob", "+4930", "*21#", ""};
static const char *const hdr_names[] = {"X-A", "x-a", "X-B", "P-Id"};
static const char *const hdr_vals[] = {"1", "abc", "ABC", "x1y", "", "12"};
static const char *const patterns[] = {"^49", "30", "^$", "^[0-9]+$", "example$",
				       "^a",  "b",  "(?i)^inv", "^\\+", "^(?:a|b)\\.ex"};
static const char *const cidr_pool[] = {
    "10.0.0.0/8",    "10.0.0.0/24",      "10.0.0.1/32",     "10.1.0.0/16",
    "0.0.0.0/0",     "192.168.0.0/16",   "192.168.1.128/25", "::/0",
    "2001:db8::/32", "2001:db8::1/128", "2001:db8:1::/48", "::ffff:10.0.0.0/104"};
static const char *const addr_pool[] = {"10.0.0.1",    "10.0.0.77",     "10.1.2.3",
					"10.2.3.4",    "192.168.1.200", "192.168.2.1",
					"8.8.8.8",     "2001:db8::1",   "2001:db8:1::5",
					"2001:db9::1", "::ffff:10.0.0.1", "::1"};

#define N_PATTERNS (sizeof(patterns) / sizeof(*patterns))
#define NELEM(a) (sizeof(a) / sizeof(*(a)))
#define USED_MAX 64

struct gen {
	struct rng r;
	struct policy *p;
	pcre2_code *re[2][N_PATTERNS]; /* JIT-compiled, and not */
	struct policy_cidrs *lists[3];
	/* values the policy uses, by field, for the requests */
	const char *used[PF__COUNT][USED_MAX];
	uint32_t n_used[PF__COUNT];
	const struct policy_cidr *used_cidr[USED_MAX];
	uint32_t n_used_cidr;
	uint32_t line;
};

static void use(struct gen *g, unsigned field, const char *v)
{
	if (g->n_used[field] < USED_MAX)
		g->used[field][g->n_used[field]++] = v;
}

static const char *pick(struct rng *r, const char *const *v, size_t n)
{
	return v[below(r, (uint32_t)n)];
}

/* A string value a test on `field` might compare with. */
static const char *pool_value(struct gen *g, unsigned field)
{
	struct rng *r = &g->r;
	switch (field) {
	case PF_METHOD: return pick(r, methods, NELEM(methods));
	case PF_RURI_SCHEME: return pick(r, schemes, NELEM(schemes));
	case PF_RURI_HOST:
	case PF_FROM_HOST:
	case PF_TO_HOST: return pick(r, hosts, NELEM(hosts));
	case PF_TRANSPORT: return pick(r, transports, NELEM(transports));
	case PF_LISTENER: return pick(r, listeners, NELEM(listeners));
	case PF_HEADER: return pick(r, hdr_vals, NELEM(hdr_vals));
	}
	if (chance(r, 25))
		return pick(r, names, NELEM(names));
	char buf[12];
	rand_digits(r, buf, below(r, 8), "0349+*#");
	return policy_strndup(g->p, buf, strlen(buf));
}

static const char *prefix_of(struct gen *g, const char *v)
{
	size_t n = strlen(v);
	return policy_strndup(g->p, v, below(&g->r, (uint32_t)n + 1));
}

static struct policy_cidrs *rand_cidrs(struct gen *g, bool big)
{
	struct rng *r = &g->r;
	uint32_t n = big ? 9 + below(r, 8) : 1 + below(r, 3);
	struct policy_cidrs *l = policy_alloc(g->p, sizeof(*l));
	l->v = policy_alloc(g->p, n * sizeof(*l->v));
	l->n = n;
	for (uint32_t i = 0; i < n; i++) {
		if (!big || chance(r, 20)) {
			cidr_parse(pick(r, cidr_pool, NELEM(cidr_pool)), &l->v[i]);
		} else {
			char s[40];
			snprintf(s, sizeof(s), "10.%u.%u.0/%u", below(r, 3), below(r, 3),
				 16 + 8 * below(r, 3));
			cidr_parse(s, &l->v[i]);
		}
		if (g->n_used_cidr < USED_MAX)
			g->used_cidr[g->n_used_cidr++] = &l->v[i];
	}
	return l;
}

/* Fields drawn with the indexable ones more often. */
static unsigned rand_field(struct rng *r)
{
	static const uint8_t w[] = {
	    PF_METHOD,    PF_METHOD,    PF_RURI_USER, PF_RURI_USER, PF_RURI_USER, PF_RURI_HOST,
	    PF_RURI_HOST, PF_RURI_HOST, PF_SOURCE,    PF_SOURCE,    PF_RURI_SCHEME,
	    PF_FROM_USER, PF_FROM_HOST, PF_TO_USER,   PF_TO_HOST,   PF_HEADER,
	    PF_HEADER,    PF_TRANSPORT, PF_LISTENER};
	return w[below(r, sizeof(w))];
}

/* A test on `field` (0: any), `indexable`: one of the tests the index
 * takes (method, R-URI user or host, source; the loader's case rule). */
static struct policy_cond *gen_test_on(struct gen *g, unsigned field, bool indexable)
{
	struct rng *r = &g->r;
	struct policy_cond *c = c_new(g->p, PC_TEST);
	c->field = (uint8_t)(field ? field : rand_field(r));
	c->line = ++g->line;
	c->nocase = field_nocase(c->field);
	if (!indexable && (chance(r, 5) || c->field == PF_HEADER))
		c->nocase = chance(r, 50); /* off the loader's rule: the index must cope */
	if (c->field == PF_SOURCE) {
		c->op = PO_CIDR;
		c->cidrs = chance(r, 50) ? g->lists[below(r, 3)] : rand_cidrs(g, chance(r, 10));
		return c;
	}
	if (c->field == PF_HEADER) {
		c->header = pick(r, hdr_names, NELEM(hdr_names));
		if (chance(r, 25)) {
			c->op = PO_PRESENT;
			return c;
		}
	}
	uint32_t k = below(r, indexable ? 80 : 100);
	c->op = k < 50 ? PO_EQ : k < 80 ? PO_PREFIX : PO_REGEX;
	if (indexable && c->field != PF_RURI_USER)
		c->op = PO_EQ;
	if (c->op == PO_REGEX) {
		uint32_t i = below(r, N_PATTERNS);
		c->re = g->re[chance(r, 20)][i];
		c_setvals(g->p, c, &patterns[i], 1);
		return c;
	}
	uint32_t n = chance(r, 10) ? IX_ACCEL_MIN + 1 + below(r, 6) : 1 + below(r, 3);
	const char *v[16];
	for (uint32_t i = 0; i < n; i++) {
		v[i] = pool_value(g, c->field);
		if (c->op == PO_PREFIX && chance(r, 70))
			v[i] = prefix_of(g, v[i]);
		use(g, c->field, v[i]);
	}
	c_setvals(g->p, c, v, n);
	return c;
}

static struct policy_cond *gen_test(struct gen *g)
{
	return gen_test_on(g, 0, false);
}

static struct policy_cond *gen_indexable(struct gen *g)
{
	static const uint8_t f[] = {PF_METHOD, PF_RURI_USER, PF_RURI_USER, PF_RURI_HOST,
				    PF_RURI_HOST, PF_SOURCE};
	return gen_test_on(g, f[below(&g->r, sizeof(f))], true);
}

static struct policy_cond *gen_cond(struct gen *g, int depth)
{
	struct rng *r = &g->r;
	if (depth <= 0 || chance(r, 55))
		return gen_test(g);
	uint32_t k = below(r, 3);
	struct policy_cond *c = c_new(g->p, k == 0 ? PC_ALL : k == 1 ? PC_ANY : PC_NOT);
	c->line = ++g->line;
	c->n_kids = c->kind == PC_NOT ? 1 : below(r, 4);
	c->kids = policy_alloc(g->p, 4 * sizeof(*c->kids));
	for (uint32_t i = 0; i < c->n_kids; i++)
		c->kids[i] = gen_cond(g, depth - 1);
	return c;
}

/* A rule's condition; with `indexed` percent, a conjunction led by a
 * test the index can take. */
static struct policy_cond *gen_match(struct gen *g, unsigned indexed)
{
	struct rng *r = &g->r;
	uint32_t k = below(r, 100);
	if (k < (indexed ? 1 : 3))
		return NULL;
	if (chance(r, indexed)) {
		struct policy_cond *c = c_new(g->p, PC_ALL);
		c->n_kids = 1 + below(r, 3);
		c->kids = policy_alloc(g->p, c->n_kids * sizeof(*c->kids));
		c->kids[0] = gen_indexable(g);
		for (uint32_t i = 1; i < c->n_kids; i++)
			c->kids[i] = chance(r, 50) ? gen_indexable(g) : gen_cond(g, 1);
		return c;
	}
	if (k < 35)
		return gen_test(g);
	if (k < 85) {
		struct policy_cond *c = c_new(g->p, PC_ALL);
		c->n_kids = 1 + below(r, 3);
		c->kids = policy_alloc(g->p, c->n_kids * sizeof(*c->kids));
		for (uint32_t i = 0; i < c->n_kids; i++)
			c->kids[i] = gen_cond(g, chance(r, 60) ? 0 : 2);
		return c;
	}
	return gen_cond(g, 3);
}

static void gen_table(struct gen *g, struct policy_table *t, const char *name)
{
	struct rng *r = &g->r;
	uint32_t n = chance(r, 10) ? 0 : 1 + below(r, 40);
	t->name = name;
	t->strip_plus = chance(r, 70);
	t->strip_prefix = chance(r, 50) ? NULL : chance(r, 50) ? "00" : "49";
	t->entries = policy_alloc(g->p, (n ? n : 1) * sizeof(*t->entries));
	t->n_entries = n;
	for (uint32_t i = 0; i < n; i++) {
		char buf[8];
		rand_digits(r, buf, chance(r, 3) ? 0 : 1 + below(r, 5), "0349*#");
		t->entries[i].digits = policy_strndup(g->p, buf, strlen(buf));
		t->entries[i].len = (uint32_t)strlen(buf);
		t->entries[i].pool = below(r, 3);
		use(g, PF_RURI_USER, t->entries[i].digits);
	}
}

static struct policy *gen_policy(struct gen *g, uint32_t max_rules, unsigned indexed)
{
	struct rng *r = &g->r;
	uint32_t n = 1 + below(r, max_rules);
	struct policy *p = g->p = pol_new(n);
	memset(g->n_used, 0, sizeof(g->n_used));
	g->n_used_cidr = 0;
	g->line = 0;
	pol_pools(p, 3);
	p->tables = policy_alloc(p, 2 * sizeof(*p->tables));
	p->n_tables = 2;
	gen_table(g, &p->tables[0], "t0");
	gen_table(g, &p->tables[1], "t1");
	for (int i = 0; i < 3; i++) {
		g->lists[i] = rand_cidrs(g, i == 2);
		g->lists[i]->name = i == 0 ? "L0" : i == 1 ? "L1" : "L2";
	}
	static char rule_names[1000][16];
	for (uint32_t i = 0; i < n; i++) {
		snprintf(rule_names[i], sizeof(rule_names[i]), "r%u", i);
		uint32_t k = below(r, 100);
		unsigned action = k < 45   ? PA_ROUTE_POOL
				  : k < 70 ? PA_ROUTE_TABLE
				  : k < 85 ? PA_REPLY
				  : k < 93 ? PA_FORWARD_RURI
					   : PA_REDIRECT;
		uint32_t arg = action == PA_ROUTE_POOL ? below(r, 3)
			       : action == PA_ROUTE_TABLE ? below(r, 2)
			       : action == PA_REPLY	  ? 403
							  : 302;
		rule_set(p, i, rule_names[i], gen_match(g, indexed), action, arg);
	}
	return p;
}

/* A string for a request field: often one the policy uses (maybe longer,
 * maybe in another case), else one from the pools. */
static struct policy_str req_value(struct gen *g, unsigned field, char *buf)
{
	struct rng *r = &g->r;
	const char *v = g->n_used[field] && chance(r, 65) ? g->used[field][below(r, g->n_used[field])]
							  : pool_value(g, field);
	snprintf(buf, 48, "%s", v);
	size_t n = strlen(buf);
	if (chance(r, 30))
		rand_digits(r, buf + n, below(r, 4), field == PF_RURI_USER ? "0349" : "0a.");
	if (chance(r, 10) && buf[0] >= 'a' && buf[0] <= 'z')
		buf[0] = (char)(buf[0] - 32);
	if (chance(r, 5) && field == PF_RURI_USER) /* the number with '+' or "00" before */
		snprintf(buf, 48, "%s%s", chance(r, 50) ? "+" : "00", v);
	if (chance(r, 3)) /* absent */
		buf[0] = '\0';
	return (struct policy_str){buf, (uint32_t)strlen(buf)};
}

static void req_source(struct gen *g, struct policy_req *rq)
{
	struct rng *r = &g->r;
	uint32_t k = below(r, 100);
	memset(&rq->src, 0, sizeof(rq->src));
	if (k < 10)
		return; /* AF_UNSPEC */
	uint8_t b[16];
	if (k < 55 && g->n_used_cidr) {
		/* an address inside one of the policy's prefixes */
		const struct policy_cidr *c = g->used_cidr[below(r, g->n_used_cidr)];
		memcpy(b, c->addr, 16);
		for (unsigned bit = c->bits; bit < 128; bit++)
			if (chance(r, bit >= 120 ? 50 : 3))
				b[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
	} else {
		struct policy_cidr c;
		char s[64];
		snprintf(s, sizeof(s), "%s/128", pick(r, addr_pool, NELEM(addr_pool)));
		if (!strchr(s, ':'))
			snprintf(s, sizeof(s), "%s/32", pick(r, addr_pool, 7));
		cidr_parse(s, &c);
		memcpy(b, c.addr, 16);
	}
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(b, mapped, 12) == 0 && chance(r, 70)) {
		rq->src.in.sin_family = AF_INET;
		memcpy(&rq->src.in.sin_addr, b + 12, 4);
	} else {
		rq->src.in6.sin6_family = AF_INET6;
		memcpy(&rq->src.in6.sin6_addr, b, 16);
	}
}

static void gen_req(struct gen *g, struct treq *t)
{
	struct rng *r = &g->r;
	memset(&t->rq, 0, sizeof(t->rq));
	t->rq.method = req_value(g, PF_METHOD, t->buf[0]);
	t->rq.ruri_scheme = req_value(g, PF_RURI_SCHEME, t->buf[1]);
	t->rq.ruri_user = req_value(g, PF_RURI_USER, t->buf[2]);
	t->rq.ruri_host = req_value(g, PF_RURI_HOST, t->buf[3]);
	t->rq.from_user = req_value(g, PF_FROM_USER, t->buf[4]);
	t->rq.from_host = req_value(g, PF_FROM_HOST, t->buf[5]);
	t->rq.to_user = req_value(g, PF_TO_USER, t->buf[6]);
	t->rq.to_host = req_value(g, PF_TO_HOST, t->buf[7]);
	t->rq.transport = req_value(g, PF_TRANSPORT, t->buf[8]);
	t->rq.listener = req_value(g, PF_LISTENER, t->buf[9]);
	req_source(g, &t->rq);
	t->n_hdrs = below(r, 5);
	for (uint32_t i = 0; i < t->n_hdrs; i++) {
		t->hdrs[i].name = pick(r, hdr_names, NELEM(hdr_names));
		t->hdrs[i].val = req_value(g, PF_HEADER, t->buf[10 + i]).p;
	}
	t->rq.header = chance(r, 95) ? treq_header : NULL;
	t->rq.ctx = t;
}

struct shadow_pair {
	uint32_t a, b;
};

/* The pairs the index build reported, from the messages themselves. */
static uint32_t shadow_pairs(struct policy *p, struct shadow_pair *out, uint32_t max)
{
	struct ydoc_errs e;
	ydoc_errs_init(&e);
	int rc = policy_index_build(p, &e);
	uint32_t n = 0;
	for (size_t i = 0; i < e.n; i++) {
		unsigned a, b;
		const char *m = strstr(e.v[i].text, "rule 'r");
		assert_non_null(m);
		assert_int_equal(sscanf(m, "rule 'r%u' can never match: rule 'r%u'", &b, &a), 2);
		assert_true(a < b && b < p->n_rules);
		if (n < max)
			out[n++] = (struct shadow_pair){a, b};
	}
	assert_int_equal(rc, e.n ? SE_ECONFIG : 0);
	ydoc_errs_free(&e);
	return n;
}

static void fail_case(const struct policy *p, const struct treq *t, uint64_t seed,
		      struct policy_hit want, struct policy_hit got)
{
	print_error("seed %llu, %u rules: reference rule %u pool %u prefix %u, lookup rule %u "
		    "pool %u prefix %u\n",
		    (unsigned long long)seed, p->n_rules, want.rule, want.pool, want.prefix,
		    got.rule, got.pool, got.prefix);
	policy_explain(p, &t->rq, stderr);
	fail();
}

struct totals {
	uint64_t policies, requests, hits, indexed_hits, shadows, explained;
	uint64_t where[IX__COUNT];
};

static void check_policy(struct gen *g, uint64_t seed, uint32_t n_req, struct totals *tot)
{
	struct policy *p = g->p;
	struct shadow_pair sh[64];
	uint32_t n_sh = shadow_pairs(p, sh, 64);
	tot->policies++;
	tot->shadows += n_sh;
	for (int i = 0; i < IX__COUNT; i++)
		tot->where[i] += p->index->n_where[i];
	struct policy_ctx ref = {p, NULL, NULL};
	static struct treq t;
	for (uint32_t q = 0; q < n_req; q++) {
		gen_req(g, &t);
		struct policy_hit want = policy_eval_rules(p, &t.rq), got = policy_lookup(p, &t.rq);
		if (want.rule != got.rule || want.pool != got.pool || want.prefix != got.prefix)
			fail_case(p, &t, seed, want, got);
		tot->requests++;
		if (got.rule != POLICY_NONE) {
			tot->hits++;
			tot->indexed_hits += p->index->where[got.rule] != IX_NONE;
		}
		/* a reported rule never matches where its coverer does not */
		ref.rq = &t.rq;
		for (uint32_t s = 0; s < n_sh; s++) {
			struct policy_hit h;
			if (policy_ctx_rule(&ref, sh[s].b, NULL, &h) &&
			    !policy_ctx_rule(&ref, sh[s].a, NULL, &h)) {
				print_error("seed %llu: rule r%u reported covered by r%u\n",
					    (unsigned long long)seed, sh[s].b, sh[s].a);
				fail_case(p, &t, seed, want, got);
			}
		}
		if (q % 16 == 0) {
			FILE *devnull = fopen("/dev/null", "w");
			struct policy_hit e = policy_explain(p, &t.rq, devnull);
			fclose(devnull);
			if (e.rule != got.rule || e.pool != got.pool || e.prefix != got.prefix)
				fail_case(p, &t, seed, got, e);
			tot->explained++;
		}
	}
}

static void test_random_equivalence(void **state)
{
	(void)state;
	struct gen g = {0};
	for (size_t i = 0; i < N_PATTERNS; i++) {
		g.re[0][i] = re_compile(patterns[i], true);
		g.re[1][i] = re_compile(patterns[i], false);
	}
	struct totals tot = {0};
	clock_t t0 = clock();
	/* many small policies, many index-heavy ones, then fewer large ones */
	static const struct {
		uint32_t policies, max_rules, requests, indexed;
	} phase[] = {{2000, 24, 150, 0}, {2000, 40, 150, 90}, {40, 600, 1500, 70}};
	uint64_t seed = 20240601;
	for (size_t ph = 0; ph < NELEM(phase); ph++)
		for (uint32_t i = 0; i < phase[ph].policies; i++, seed++) {
			g.r.s = seed;
			gen_policy(&g, phase[ph].max_rules, phase[ph].indexed);
			check_policy(&g, seed, phase[ph].requests, &tot);
			policy_free(g.p);
			g.p = NULL;
		}
	print_message("random: %llu policies, %llu requests compared (%llu matched a rule, "
		      "%llu of them an indexed one), %llu explained, %llu unreachable rules "
		      "reported and checked; rules by index: none %llu method %llu host %llu "
		      "user %llu prefix %llu source %llu; %.2f s\n",
		      (unsigned long long)tot.policies, (unsigned long long)tot.requests,
		      (unsigned long long)tot.hits, (unsigned long long)tot.indexed_hits,
		      (unsigned long long)tot.explained, (unsigned long long)tot.shadows,
		      (unsigned long long)tot.where[IX_NONE], (unsigned long long)tot.where[IX_METHOD],
		      (unsigned long long)tot.where[IX_HOST], (unsigned long long)tot.where[IX_USER_EQ],
		      (unsigned long long)tot.where[IX_USER_PRE],
		      (unsigned long long)tot.where[IX_SOURCE],
		      (double)(clock() - t0) / CLOCKS_PER_SEC);
	assert_true(tot.shadows > 0);
	assert_true(tot.indexed_hits > tot.requests / 10);
	for (size_t i = 0; i < N_PATTERNS; i++) {
		pcre2_code_free(g.re[0][i]);
		pcre2_code_free(g.re[1][i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_trie_longest),
	    cmocka_unit_test(test_trie_wide_nodes),
	    cmocka_unit_test(test_trie_random),
	    cmocka_unit_test(test_cidr_tree),
	    cmocka_unit_test(test_cidr_random),
	    cmocka_unit_test(test_table_lookup),
	    cmocka_unit_test(test_index_placement),
	    cmocka_unit_test(test_index_case_and_headers),
	    cmocka_unit_test(test_index_large_sets),
	    cmocka_unit_test(test_shadow_reported),
	    cmocka_unit_test(test_shadow_not_reported),
	    cmocka_unit_test(test_explain),
	    cmocka_unit_test(test_req_from_line),
	    cmocka_unit_test(test_random_equivalence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
