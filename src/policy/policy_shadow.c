/*
 * policy_shadow: rules that can never match because an earlier rule
 * matches every request they would.
 *
 * Rule a covers rule b when (1) a's action always applies once its
 * condition holds (anything but a table), or both route by the same table
 * (then b's prefix is a's too), and (2) every top-level conjunct of a is
 * implied by some top-level conjunct of b. Implication between two tests
 * on the same field is decided by their values:
 *
 *   a: equals S       b: equals T with T ⊆ S
 *   a: prefix S       b: equals or prefix, each value starting with one of S
 *   a: regex R        b: regex R (same pattern, same compile options)
 *   a: CIDRs S        b: CIDRs, each inside one of S
 *   a: header present b: any test on that header
 *
 * and `any` / `all` are looked through (b's `any` implies when each
 * alternative does; a's `any` is implied when one alternative is).
 * Anything else is "cannot tell", and cannot tell is never reported: the
 * check is sound (a reported rule truly never matches) and knowingly
 * incomplete. Case rules: a case-insensitive test is implied by an exact
 * one with the same values, never the other way round.
 *
 * Cost: candidates for a come from the index (only rules whose indexed
 * test could be implied by one of b's tests) and, for the unindexed
 * rules, from a table of "witnesses": each unindexed rule is filed under
 * one of its tests (field, operator, header name and each value), and b
 * looks up the keys its own tests would satisfy (its values, their
 * prefixes, its patterns). Only unindexed rules without a usable test
 * (catch-alls, rules of only `any` / `not`) are candidates for every b.
 * Each implication check has a step budget, so a pathological pair costs
 * bounded time and is "cannot tell".
 */
#include "policy_tree.h"

#include "xmem.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdlib.h>
#include <string.h>

#define STEP_BUDGET 20000

struct sh {
	const struct policy *p;
	const struct policy_index *ix;
	long steps; /* left for the current pair */
};

static uint32_t vlen(const struct policy_cond *c, uint32_t i)
{
	return c->lens ? c->lens[i] : (uint32_t)strlen(c->vals[i]);
}

static bool same_name(const char *a, const char *b)
{
	if (!a || !b)
		return false;
	size_t n = strlen(a);
	return n == strlen(b) && policy_bytes_eq(a, b, (uint32_t)n, true);
}

static bool same_regex(const struct policy_cond *x, const struct policy_cond *y)
{
	uint32_t ox = 0, oy = 0;
	if (!x->re || !y->re || !x->n_vals || !y->n_vals)
		return false;
	if (pcre2_pattern_info(x->re, PCRE2_INFO_ARGOPTIONS, &ox) ||
	    pcre2_pattern_info(y->re, PCRE2_INFO_ARGOPTIONS, &oy) || ox != oy)
		return false;
	return strcmp(x->vals[0], y->vals[0]) == 0;
}

/* Does every request value passing x's value v pass y? (x's op EQ or
 * PREFIX; y's op EQ or PREFIX, case rule compatible.) */
static bool value_implied(struct sh *s, const struct policy_cond *y, const char *v, uint32_t n)
{
	struct policy_str sv = {v, n};
	const struct ix_accel *a =
	    y->n_vals > IX_ACCEL_MIN && s->ix ? ix_accel_find(s->ix, y) : NULL;
	if (a && y->op == PO_EQ)
		return ix_map_get(&a->u.set, v, n) != POLICY_NONE;
	uint32_t hit;
	if (a)
		return policy_trie_path(&a->u.trie, v, n, &hit, 1) == 1;
	for (uint32_t i = 0; i < y->n_vals && --s->steps > 0; i++)
		if (policy_val_fits(y, i, sv))
			return true;
	return false;
}

static bool cidrs_implied(struct sh *s, const struct policy_cidrs *x, const struct policy_cidrs *y)
{
	const struct ix_accel *a = y->n > IX_ACCEL_MIN && s->ix ? ix_accel_find(s->ix, y) : NULL;
	for (uint32_t i = 0; i < x->n; i++) {
		const struct policy_cidr *q = &x->v[i];
		bool in = false;
		if (a) {
			uint32_t hit;
			in = policy_cidr_walk(&a->u.cidr, policy_addr_from_bytes(q->addr), q->bits,
					      &hit, 1) == 1;
		}
		for (uint32_t j = 0; !a && !in && j < y->n && --s->steps > 0; j++)
			in = policy_cidr_covers(&y->v[j], q);
		if (!in)
			return false;
	}
	return x->n > 0;
}

/* Test x (of the later rule) implies test y (of the earlier one). */
static bool test_implies(struct sh *s, const struct policy_cond *x, const struct policy_cond *y)
{
	if (x->field != y->field)
		return false;
	if (x->field == PF_HEADER) {
		if (!same_name(x->header, y->header))
			return false;
		if (y->op == PO_PRESENT) /* x holding needs a value */
			return true;
	}
	switch (y->op) {
	case PO_REGEX:
		return x->op == PO_REGEX && same_regex(x, y);
	case PO_CIDR:
		return x->op == PO_CIDR && x->cidrs && y->cidrs && cidrs_implied(s, x->cidrs, y->cidrs);
	case PO_EQ:
	case PO_PREFIX:
		if (!(x->op == PO_EQ || (x->op == PO_PREFIX && y->op == PO_PREFIX)))
			return false;
		if (x->nocase && !y->nocase)
			return false; /* "ABC" passes x but not y's exact "abc" */
		for (uint32_t i = 0; i < x->n_vals; i++)
			if (!value_implied(s, y, x->vals[i], vlen(x, i)))
				return false;
		return x->n_vals > 0;
	}
	return false;
}

static bool identical(struct sh *s, const struct policy_cond *x, const struct policy_cond *y)
{
	if (--s->steps <= 0 || x->kind != y->kind || x->n_kids != y->n_kids)
		return false;
	if (x->kind == PC_TEST) {
		if (x->field != y->field || x->op != y->op || x->nocase != y->nocase ||
		    x->n_vals != y->n_vals || x->cidrs != y->cidrs)
			return false;
		if (x->field == PF_HEADER && !same_name(x->header, y->header))
			return false;
		if (x->op == PO_REGEX)
			return same_regex(x, y);
		for (uint32_t i = 0; i < x->n_vals; i++)
			if (vlen(x, i) != vlen(y, i) || memcmp(x->vals[i], y->vals[i], vlen(x, i)))
				return false;
	}
	for (uint32_t i = 0; i < x->n_kids; i++)
		if (!identical(s, x->kids[i], y->kids[i]))
			return false;
	return true;
}

/* Whenever x holds, y holds. */
static bool implies(struct sh *s, const struct policy_cond *x, const struct policy_cond *y)
{
	if (--s->steps <= 0)
		return false;
	if (identical(s, x, y))
		return true;
	if (y->kind == PC_ALL) {
		for (uint32_t i = 0; i < y->n_kids; i++)
			if (!implies(s, x, y->kids[i]))
				return false;
		return true;
	}
	if (y->kind == PC_ANY)
		for (uint32_t i = 0; i < y->n_kids; i++)
			if (implies(s, x, y->kids[i]))
				return true;
	if (x->kind == PC_ALL)
		for (uint32_t i = 0; i < x->n_kids; i++)
			if (implies(s, x->kids[i], y))
				return true;
	if (x->kind == PC_ANY && x->n_kids) {
		uint32_t i = 0;
		while (i < x->n_kids && implies(s, x->kids[i], y))
			i++;
		if (i == x->n_kids)
			return true;
	}
	return x->kind == PC_TEST && y->kind == PC_TEST && test_implies(s, x, y);
}

static bool covers(struct sh *s, uint32_t a, uint32_t b, struct policy_conj *ca,
		   struct policy_conj *cb)
{
	const struct policy_rule *ra = &s->p->rules[a], *rb = &s->p->rules[b];
	if (ra->action == PA_ROUTE_TABLE &&
	    !(rb->action == PA_ROUTE_TABLE && rb->table == ra->table))
		return false;
	ca->n = 0;
	policy_conj_collect(ca, ra->match);
	s->steps = STEP_BUDGET;
	for (size_t i = 0; i < ca->n; i++) {
		size_t j = 0;
		while (j < cb->n && !implies(s, cb->v[j], ca->v[i]))
			j++;
		if (j == cb->n)
			return false;
	}
	return true;
}

bool policy_shadow_covers(const struct policy *p, uint32_t a, uint32_t b)
{
	struct sh s = {p, p->index, 0};
	struct policy_conj ca = {0}, cb = {0};
	policy_conj_collect(&cb, p->rules[b].match);
	bool r = covers(&s, a, b, &ca, &cb);
	free(ca.v);
	free(cb.v);
	return r;
}

/* ---- witnesses of the unindexed rules ------------------------------------ */

struct bucket {
	uint32_t *v; /* rule indices, ascending */
	size_t n, cap;
};

struct wit {
	struct ix_map map; /* key -> bucket index; keys lower-cased, owned */
	struct bucket *b;
	size_t nb, cap_b;
	char **keys;
	size_t n_keys;
	struct bucket always; /* rules with no witness */
	char *kb;             /* the key being built */
	size_t kn, kcap;
};

static void kb_put(struct wit *w, const char *s, size_t n, bool lower)
{
	while (w->kn + n > w->kcap) {
		w->kcap = w->kcap ? w->kcap * 2 : 256;
		w->kb = xmem_realloc(w->kb, w->kcap);
	}
	for (size_t i = 0; i < n; i++)
		w->kb[w->kn + i] = lower ? (char)policy_lower((unsigned char)s[i]) : s[i];
	w->kn += n;
}

/* The key of test c's kind `op` ('E' equals, 'P' prefix, 'R' regex, 'H'
 * header present) and value v: field, kind, header name, value. Values
 * are lower-cased (an exact and a folded test must meet), patterns not. */
static void key_make(struct wit *w, const struct policy_cond *c, char op, const char *v,
		     uint32_t n)
{
	char head[2] = {(char)c->field, op};
	w->kn = 0;
	kb_put(w, head, 2, false);
	if (c->field == PF_HEADER && c->header)
		kb_put(w, c->header, strlen(c->header) + 1, true);
	kb_put(w, v, n, op != 'R');
}

static void bucket_add(struct bucket *b, uint32_t r)
{
	if (b->n && b->v[b->n - 1] == r)
		return;
	b->v = xmem_grow(b->v, &b->cap, b->n, sizeof(*b->v));
	b->v[b->n++] = r;
}

/* A test that can witness: a string or header test. */
static bool wtest(const struct policy_cond *c)
{
	return c->kind == PC_TEST && c->field != PF_SOURCE && c->op >= PO_EQ &&
	       c->op <= PO_PRESENT && (c->op != PO_REGEX || c->n_vals);
}

/* The conjunct of a rule it is filed under, best first: a test (an
 * `equals`, a regex, a prefix, a header presence), a `not` of a test, an
 * `any` of tests. NULL: none usable. */
static const struct policy_cond *witness(const struct policy_conj *cj)
{
	static const uint8_t rank[] = {[PO_EQ] = 6, [PO_REGEX] = 5, [PO_PREFIX] = 4, [PO_PRESENT] = 3};
	const struct policy_cond *best = NULL;
	unsigned best_rank = 0;
	for (size_t i = 0; i < cj->n; i++) {
		const struct policy_cond *c = cj->v[i];
		unsigned r = 0;
		if (wtest(c))
			r = rank[c->op];
		else if (c->kind == PC_NOT && c->n_kids && wtest(c->kids[0]))
			r = 2;
		else if (c->kind == PC_ANY && c->n_kids) {
			r = 1;
			for (uint32_t k = 0; k < c->n_kids; k++)
				r = wtest(c->kids[k]) ? r : 0;
		}
		if (r > best_rank) {
			best = c;
			best_rank = r;
		}
	}
	return best;
}

/* File rule r under every key of test c; `neg`: the test under a `not`
 * (lower-case kinds: only the same negation implies it). Returns how many
 * keys that is, filing nothing when w has no table yet (counting pass). */
static size_t witness_file(struct wit *w, const struct policy_cond *c, uint32_t r, bool neg)
{
	char op = c->op == PO_EQ ? 'E' : c->op == PO_PREFIX ? 'P' : c->op == PO_REGEX ? 'R' : 'H';
	uint32_t n = op == 'E' || op == 'P' ? c->n_vals : 1;
	for (uint32_t i = 0; w->keys && i < n; i++) {
		if (op == 'H')
			key_make(w, c, neg ? 'h' : op, "", 0);
		else
			key_make(w, c, neg ? (char)(op | 0x20) : op, c->vals[i], vlen(c, i));
		uint32_t bi = ix_map_get(&w->map, w->kb, (uint32_t)w->kn);
		if (bi == POLICY_NONE) { /* a new key: the table keeps a copy */
			char *k = xmem_malloc(w->kn);
			memcpy(k, w->kb, w->kn);
			w->keys[w->n_keys++] = k;
			bi = (uint32_t)w->nb;
			*ix_map_slot(&w->map, k, (uint32_t)w->kn) = bi;
			w->b = xmem_grow(w->b, &w->cap_b, w->nb, sizeof(*w->b));
			w->b[w->nb++] = (struct bucket){0};
		}
		bucket_add(&w->b[bi], r);
	}
	return n;
}

static size_t witness_file_conj(struct wit *w, const struct policy_cond *c, uint32_t r)
{
	if (c->kind == PC_TEST)
		return witness_file(w, c, r, false);
	if (c->kind == PC_NOT)
		return witness_file(w, c->kids[0], r, true);
	size_t n = 0;
	for (uint32_t k = 0; k < c->n_kids; k++)
		n += witness_file(w, c->kids[k], r, false);
	return n;
}

static void wit_build(struct wit *w, const struct policy *p, const struct policy_index *ix)
{
	struct policy_conj cj = {0};
	size_t n_keys = 0;
	for (int pass = 0; pass < 2; pass++) {
		if (pass) {
			ix_map_init(&w->map, n_keys, false);
			w->keys = xmem_calloc(n_keys ? n_keys : 1, sizeof(*w->keys));
		}
		for (uint32_t r = 0; r < p->n_rules; r++) {
			if (ix->where[r] != IX_NONE)
				continue;
			cj.n = 0;
			policy_conj_collect(&cj, p->rules[r].match);
			const struct policy_cond *c = witness(&cj);
			if (c)
				n_keys += witness_file_conj(w, c, r);
			else if (pass)
				bucket_add(&w->always, r);
		}
	}
	free(cj.v);
}

static void wit_free(struct wit *w)
{
	for (size_t i = 0; i < w->nb; i++)
		free(w->b[i].v);
	for (size_t i = 0; i < w->n_keys; i++)
		free(w->keys[i]);
	free(w->b);
	free(w->keys);
	free(w->always.v);
	free(w->kb);
	ix_map_free(&w->map);
}

static void wit_probe(struct wit *w, struct ix_cursors *cs, size_t len)
{
	uint32_t b = ix_map_get(&w->map, w->kb, (uint32_t)len);
	if (b != POLICY_NONE)
		ix_cursors_push(cs, w->b[b].v, w->b[b].n);
}

/* The buckets of every witness test that conjunct x could imply: its
 * first value as an `equals`, each prefix of it as a `prefix`, its
 * pattern, its header's presence (an `any` implies only what its first
 * alternative implies). */
static void wit_query(struct wit *w, struct ix_cursors *cs, const struct policy_cond *x)
{
	if (x->kind == PC_ANY && x->n_kids) {
		wit_query(w, cs, x->kids[0]);
		return;
	}
	if (x->kind == PC_ALL) {
		for (uint32_t i = 0; i < x->n_kids; i++)
			wit_query(w, cs, x->kids[i]);
		return;
	}
	if (x->kind == PC_NOT && x->n_kids && wtest(x->kids[0])) {
		/* a negation implies only itself: its test's exact keys */
		const struct policy_cond *t = x->kids[0];
		char op = t->op == PO_EQ ? 'e' : t->op == PO_PREFIX ? 'p' : t->op == PO_REGEX ? 'r' : 'h';
		if (op == 'h')
			key_make(w, t, op, "", 0);
		else if (t->n_vals)
			key_make(w, t, op, t->vals[0], vlen(t, 0));
		else
			return;
		wit_probe(w, cs, w->kn);
		return;
	}
	if (x->kind != PC_TEST || x->field == PF_SOURCE)
		return;
	if (x->field == PF_HEADER) {
		key_make(w, x, 'H', "", 0);
		wit_probe(w, cs, w->kn);
	}
	if (!x->n_vals)
		return;
	if (x->op == PO_REGEX) {
		key_make(w, x, 'R', x->vals[0], vlen(x, 0));
		wit_probe(w, cs, w->kn);
	}
	if (x->op == PO_EQ) {
		key_make(w, x, 'E', x->vals[0], vlen(x, 0));
		wit_probe(w, cs, w->kn);
	}
	if (x->op == PO_EQ || x->op == PO_PREFIX) {
		key_make(w, x, 'P', x->vals[0], vlen(x, 0));
		size_t base = w->kn - vlen(x, 0);
		for (size_t n = base; n <= w->kn; n++)
			wit_probe(w, cs, n);
	}
}

/* Fields a condition looks at, one bit each (every header is one bit). */
static uint32_t fields_deep(const struct policy_cond *c)
{
	uint32_t m = c->kind == PC_TEST ? 1u << c->field : 0;
	for (uint32_t i = 0; i < c->n_kids; i++)
		m |= fields_deep(c->kids[i]);
	return m;
}

/* Fields of the tests a rule's conjunction requires: a covering rule's
 * required fields must all be looked at by the covered rule. */
static uint32_t fields_required(const struct policy_conj *cj)
{
	uint32_t m = 0;
	for (size_t i = 0; i < cj->n; i++)
		if (cj->v[i]->kind == PC_TEST)
			m |= 1u << cj->v[i]->field;
	return m;
}

void policy_shadow_check(const struct policy *p, struct ydoc_errs *errs)
{
	const struct policy_index *ix = p->index;
	uint32_t n = p->n_rules;
	if (!ix || !n)
		return;
	uint32_t *need = xmem_malloc(n * sizeof(*need)); /* fields_required */
	uint32_t *seen = xmem_malloc(n * sizeof(*seen));  /* last b checked against */
	struct policy_conj cj = {0}, ca = {0};
	for (uint32_t r = 0; r < n; r++) {
		cj.n = 0;
		policy_conj_collect(&cj, p->rules[r].match);
		need[r] = fields_required(&cj);
		seen[r] = POLICY_NONE;
	}
	struct sh s = {p, ix, 0};
	struct wit w = {0};
	wit_build(&w, p, ix);
	struct ix_cursors cs;
	for (uint32_t b = 1; b < n; b++) {
		cj.n = 0;
		policy_conj_collect(&cj, p->rules[b].match);
		uint32_t look = 0;
		for (size_t i = 0; i < cj.n; i++)
			look |= fields_deep(cj.v[i]);
		uint32_t found = POLICY_NONE;
		/* one merge per source of candidates, each in rule order: the
		 * rules without a witness, then what each conjunct implies */
		for (size_t k = 0; k <= cj.n; k++) {
			cs.n = 0;
			if (k == 0) {
				ix_cursors_push(&cs, w.always.v, w.always.n);
			} else {
				ix_cursors_implied_by(&cs, ix, cj.v[k - 1]);
				wit_query(&w, &cs, cj.v[k - 1]);
			}
			uint32_t lim = found < b ? found : b;
			for (uint32_t a = POLICY_NONE; (a = ix_cursors_next(&cs, a)) < lim;) {
				if (seen[a] == b || (need[a] & ~look))
					continue;
				seen[a] = b;
				if (covers(&s, a, b, &ca, &cj)) {
					found = a;
					break;
				}
			}
		}
		if (found == POLICY_NONE)
			continue;
		const struct policy_rule *ra = &p->rules[found], *rb = &p->rules[b];
		ydoc_errs_add_at(errs, p->file, rb->line, rb->col,
				 "rule '%s' can never match: rule '%s' (line %u) matches every "
				 "request it would",
				 rb->name, ra->name, ra->line);
	}
	wit_free(&w);
	free(ca.v);
	free(cj.v);
	free(need);
	free(seen);
}
