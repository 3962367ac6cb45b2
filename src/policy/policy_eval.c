/*
 * policy_eval: what a condition means for a request, rule by rule.
 *
 * This file is the definition of matching: policy_eval_rules walks the
 * rules in order and evaluates each condition the plain way (every value
 * compared, every CIDR tried, the prefix table scanned), and is the
 * reference the compiled index (policy_tree.c) must agree with. The
 * index reuses the same evaluation for its candidates, with accelerators
 * for large value sets (struct policy_ctx.ix); the reference never uses
 * them, so a randomized comparison of the two checks the accelerators too.
 *
 * Semantics, per test (docs/policy.md has the operator's view):
 *   - method, users, listener: byte-exact; scheme, hosts, transport:
 *     ASCII case-insensitive (cond->nocase, set by the loader, decides).
 *   - equals: one of the values; prefix: starts with one of them; regex:
 *     PCRE2 match anywhere unless the pattern anchors.
 *   - an absent field is the empty string: it equals only "", and a regex
 *     is tried against "".
 *   - a header test holds when any of the header's first POLICY_HDR_MAX
 *     values passes; an absent header passes nothing but `absent`-style
 *     negations (`present` is false).
 *   - source: the address is in one of the prefixes; an unknown source
 *     (AF_UNSPEC) is in none.
 */
#include "policy_tree.h"

#include "xmem.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <string.h>

struct policy_str policy_req_field(const struct policy_req *rq, unsigned field)
{
	switch (field) {
	case PF_METHOD: return rq->method;
	case PF_RURI_SCHEME: return rq->ruri_scheme;
	case PF_RURI_USER: return rq->ruri_user;
	case PF_RURI_HOST: return rq->ruri_host;
	case PF_FROM_USER: return rq->from_user;
	case PF_FROM_HOST: return rq->from_host;
	case PF_TO_USER: return rq->to_user;
	case PF_TO_HOST: return rq->to_host;
	case PF_TRANSPORT: return rq->transport;
	case PF_LISTENER: return rq->listener;
	}
	return (struct policy_str){NULL, 0};
}

uint32_t policy_req_header(const struct policy_req *rq, const char *name,
			   struct policy_str vals[POLICY_HDR_MAX])
{
	if (!rq->header || !name)
		return 0;
	uint32_t n = rq->header(rq, name, vals, POLICY_HDR_MAX);
	return n < POLICY_HDR_MAX ? n : POLICY_HDR_MAX;
}

static uint32_t val_len(const struct policy_cond *c, uint32_t i)
{
	return c->lens ? c->lens[i] : (uint32_t)strlen(c->vals[i]);
}

bool policy_val_fits(const struct policy_cond *c, uint32_t i, struct policy_str v)
{
	uint32_t n = val_len(c, i);
	if (c->op == PO_EQ ? n != v.len : n > v.len)
		return false;
	return policy_bytes_eq(c->vals[i], v.p, n, c->nocase);
}

bool policy_re_match(const struct policy *p, const struct policy_cond *c, struct policy_str v)
{
	const pcre2_code *re = c->re;
	if (!re)
		return false;
	const struct policy_index *ix = p->index;
	pcre2_match_data *md = ix ? ix->md : NULL, *own = NULL;
	pcre2_match_context *mctx = ix ? ix->mctx : NULL;
	if (!md) {
		/* a policy that was never compiled (tests, tools): correct,
		 * but allocates; every loaded policy has its index */
		md = own = pcre2_match_data_create(1, NULL);
		if (!md)
			xmem_oom(64);
	}
	PCRE2_SPTR s = v.len ? (PCRE2_SPTR)v.p : (PCRE2_SPTR) "";
	size_t jit = 0;
	int rc;
	if (pcre2_pattern_info(re, PCRE2_INFO_JITSIZE, &jit) == 0 && jit)
		rc = pcre2_jit_match(re, s, v.len, 0, 0, md, mctx);
	else
		rc = PCRE2_ERROR_JIT_BADOPTION;
	if (rc == PCRE2_ERROR_JIT_BADOPTION)
		rc = pcre2_match(re, s, v.len, 0, 0, md, mctx);
	pcre2_match_data_free(own);
	return rc >= 0; /* no match, and any error (match limit, bad UTF): false */
}

/* equals / prefix / regex against one value. */
static bool str_test(const struct policy_ctx *cx, const struct policy_cond *c, struct policy_str v)
{
	if (c->op == PO_REGEX)
		return policy_re_match(cx->p, c, v);
	if (c->op != PO_EQ && c->op != PO_PREFIX)
		return false;
	if (cx->ix && c->n_vals > IX_ACCEL_MIN) {
		const struct ix_accel *a = ix_accel_find(cx->ix, c);
		if (a && c->op == PO_EQ)
			return ix_map_get(&a->u.set, v.p, v.len) != POLICY_NONE;
		uint32_t hit;
		if (a)
			return policy_trie_path(&a->u.trie, v.p, v.len, &hit, 1) == 1;
	}
	for (uint32_t i = 0; i < c->n_vals; i++)
		if (policy_val_fits(c, i, v))
			return true;
	return false;
}

static bool cidr_test(const struct policy_ctx *cx, const struct policy_cond *c)
{
	const struct policy_cidrs *l = c->cidrs;
	struct policy_addr a;
	if (c->op != PO_CIDR || !l || !policy_addr_from_sa(&cx->rq->src.sa, &a))
		return false;
	if (cx->ix && l->n > IX_ACCEL_MIN) {
		const struct ix_accel *acc = ix_accel_find(cx->ix, l);
		if (acc)
			return policy_cidr_any(&acc->u.cidr, a);
	}
	for (uint32_t i = 0; i < l->n; i++)
		if (policy_cidr_has(&l->v[i], a))
			return true;
	return false;
}

static bool test_eval(const struct policy_ctx *cx, const struct policy_cond *c)
{
	if (c->field == PF_SOURCE)
		return cidr_test(cx, c);
	if (c->field != PF_HEADER)
		return str_test(cx, c, policy_req_field(cx->rq, c->field));
	struct policy_str vals[POLICY_HDR_MAX];
	uint32_t n = policy_req_header(cx->rq, c->header, vals);
	if (c->op == PO_PRESENT)
		return n > 0;
	for (uint32_t i = 0; i < n; i++)
		if (str_test(cx, c, vals[i]))
			return true;
	return false;
}

bool policy_ctx_cond(const struct policy_ctx *cx, const struct policy_cond *c,
		     const struct policy_cond *skip)
{
	if (!c || c == skip)
		return true;
	switch (c->kind) {
	case PC_TEST:
		return test_eval(cx, c);
	case PC_ALL:
		for (uint32_t i = 0; i < c->n_kids; i++)
			if (!policy_ctx_cond(cx, c->kids[i], skip))
				return false;
		return true;
	case PC_ANY:
		for (uint32_t i = 0; i < c->n_kids; i++)
			if (policy_ctx_cond(cx, c->kids[i], skip))
				return true;
		return false;
	case PC_NOT:
		/* never skip below a negation: the index proves tests, not
		 * their opposites */
		return c->n_kids && !policy_ctx_cond(cx, c->kids[0], NULL);
	}
	return false;
}

/* The R-URI user without the '+' and the strip prefix the table drops. */
static struct policy_str table_stripped(const struct policy_table *t, const struct policy_req *rq)
{
	const char *s = rq->ruri_user.p;
	uint32_t n = rq->ruri_user.len;
	if (t->strip_plus && n && s[0] == '+') {
		s++;
		n--;
	}
	if (t->strip_prefix) {
		size_t k = strlen(t->strip_prefix);
		if (k && k <= n && memcmp(s, t->strip_prefix, k) == 0) {
			s += k;
			n -= (uint32_t)k;
		}
	}
	return (struct policy_str){s, n};
}

struct policy_str policy_table_number(const struct policy_table *t, const struct policy_req *rq)
{
	struct policy_str u = table_stripped(t, rq);
	const char *s = u.p;
	uint32_t n = u.len, d = 0;
	while (d < n && ((s[d] >= '0' && s[d] <= '9') || s[d] == '*' || s[d] == '#'))
		d++;
	return (struct policy_str){s, d};
}

/* The reference longest-prefix match: every entry tried; on equal length
 * the first entry wins, as in the trie. */
static uint32_t table_scan(const struct policy_table *t, struct policy_str num)
{
	uint32_t best = POLICY_NONE, best_len = 0;
	for (uint32_t i = 0; i < t->n_entries; i++) {
		const struct policy_prefix *e = &t->entries[i];
		if (e->len > num.len || (best != POLICY_NONE && e->len <= best_len))
			continue;
		if (e->len == 0 || memcmp(e->digits, num.p, e->len) == 0) {
			best = i;
			best_len = e->len;
		}
	}
	return best;
}

uint32_t policy_table_lookup(const struct policy *p, const struct policy_table *t,
			     const struct policy_req *rq)
{
	(void)p;
	if (t->trie) { /* the walk stops where the number does */
		struct policy_str u = table_stripped(t, rq);
		return policy_trie_longest_number(t->trie, u.p, u.len);
	}
	return table_scan(t, policy_table_number(t, rq));
}

bool policy_ctx_rule(const struct policy_ctx *cx, uint32_t i, const struct policy_cond *skip,
		     struct policy_hit *hit)
{
	const struct policy *p = cx->p;
	const struct policy_rule *r = &p->rules[i];
	if (!policy_ctx_cond(cx, r->match, skip))
		return false;
	uint32_t pool = POLICY_NONE, prefix = POLICY_NONE;
	if (r->action == PA_ROUTE_POOL) {
		pool = r->pool;
	} else if (r->action == PA_ROUTE_TABLE) {
		if (r->table >= p->n_tables)
			return false;
		const struct policy_table *t = &p->tables[r->table];
		prefix = cx->ix ? policy_table_lookup(p, t, cx->rq)
				: table_scan(t, policy_table_number(t, cx->rq));
		if (prefix == POLICY_NONE)
			return false;
		pool = t->entries[prefix].pool;
	}
	*hit = (struct policy_hit){i, pool, prefix};
	return true;
}

bool policy_cond_eval(const struct policy *p, const struct policy_cond *c,
		      const struct policy_req *rq)
{
	struct policy_ctx cx = {p, rq, p->index};
	return policy_ctx_cond(&cx, c, NULL);
}

struct policy_hit policy_eval_rules(const struct policy *p, const struct policy_req *rq)
{
	struct policy_ctx cx = {p, rq, NULL};
	struct policy_hit hit;
	for (uint32_t i = 0; i < p->n_rules; i++)
		if (policy_ctx_rule(&cx, i, NULL, &hit))
			return hit;
	return (struct policy_hit){POLICY_NONE, POLICY_NONE, POLICY_NONE};
}

void policy_conj_collect(struct policy_conj *cj, const struct policy_cond *c)
{
	if (!c)
		return;
	if (c->kind == PC_ALL || (c->kind == PC_ANY && c->n_kids == 1)) {
		for (uint32_t i = 0; i < c->n_kids; i++)
			policy_conj_collect(cj, c->kids[i]);
		return;
	}
	cj->v = xmem_grow(cj->v, &cj->cap, cj->n, sizeof(*cj->v));
	cj->v[cj->n++] = c;
}
