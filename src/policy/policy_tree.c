/*
 * policy_tree: the compiled index of a policy (policy_tree.h has the
 * picture), built once per load, and policy_lookup over it.
 *
 * Why first-match order survives: every rule sits in exactly one index
 * under one test T of its top-level conjunction, and an index hit for a
 * request is exact (the rule is in a hit list if and only if T holds).
 * So every rule that matches is in some list the request hits (or in the
 * unindexed list, which is always merged); merging the lists in rule
 * order and evaluating each candidate fully (all but T, proved already)
 * finds the lowest-numbered rule that matches, which is what the
 * reference finds. Lookup cost is the hashing of three strings, one trie
 * walk and one radix walk (bounded by the lengths of the user and the
 * address), plus the candidates evaluated: it does not grow with the
 * number of rules unless the rules are alike (every rule under the same
 * key), which no index can help.
 *
 * Nothing here allocates after policy_index_build: the merge cursors live
 * on the caller's stack, bounded by IX_CURSORS_MAX.
 */
#include "policy_tree.h"

#include "xmem.h"

#include <sipedge/error.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdlib.h>
#include <string.h>

/* ---- string table ---------------------------------------------------------- */

/* The last k < 8 bytes at p, in at most three loads. */
static uint64_t load_tail(const char *p, uint32_t k)
{
	uint64_t w = 0;
	unsigned sh = 0;
	if (k & 4) {
		uint32_t x;
		memcpy(&x, p, 4);
		w = x;
		p += 4;
		sh = 32;
	}
	if (k & 2) {
		uint16_t x;
		memcpy(&x, p, 2);
		w |= (uint64_t)x << sh;
		p += 2;
		sh += 16;
	}
	if (k & 1)
		w |= (uint64_t)(unsigned char)*p << sh;
	return w;
}

/* Keys are short (methods, hosts, users) and hashed on every lookup: 8
 * bytes per step, folded on the way for the case-insensitive tables, a
 * multiply-xorshift mix per step and at the end. */
static uint32_t str_hash(const char *s, uint32_t len, bool fold)
{
	uint64_t h = len * 0x9e3779b97f4a7c15ull;
	for (uint32_t i = 0; i < len; i += 8) {
		uint64_t w = 0;
		if (len - i >= 8)
			memcpy(&w, s + i, 8); /* one unaligned load */
		else
			w = load_tail(s + i, len - i);
		h = (h ^ (fold ? fold8(w) : w)) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	h *= 0xc4ceb9fe1a85ec53ull;
	return (uint32_t)(h ^ (h >> 29));
}

void ix_map_init(struct ix_map *m, size_t n_keys, bool fold)
{
	m->fold = fold;
	m->n = 0;
	m->slots = NULL;
	m->mask = 0;
	if (!n_keys)
		return;
	size_t cap = 8;
	while (cap < n_keys * 2)
		cap <<= 1;
	if (cap > UINT32_MAX)
		xmem_oom(cap * sizeof(*m->slots));
	m->slots = xmem_calloc(cap, sizeof(*m->slots));
	m->mask = (uint32_t)(cap - 1);
}

static struct ix_slot *map_probe(const struct ix_map *m, const char *s, uint32_t len, uint32_t h)
{
	for (uint32_t i = h & m->mask;; i = (i + 1) & m->mask) {
		struct ix_slot *sl = &m->slots[i];
		if (!sl->s ||
		    (sl->hash == h && sl->len == len && policy_bytes_eq(sl->s, s, len, m->fold)))
			return sl;
	}
}

/* The value slot of key s (inserted with POLICY_NONE if new). The table
 * was sized for every key by ix_map_init, so it never fills. */
uint32_t *ix_map_slot(struct ix_map *m, const char *s, uint32_t len)
{
	uint32_t h = str_hash(s, len, m->fold);
	struct ix_slot *sl = map_probe(m, s, len, h);
	if (!sl->s) {
		*sl = (struct ix_slot){s ? s : "", len, h, POLICY_NONE};
		if (m->n < IX_MAP_FEW)
			m->few[m->n] = (uint32_t)(sl - m->slots);
		m->n++;
	}
	return &sl->val;
}

uint32_t ix_map_get(const struct ix_map *m, const char *s, uint32_t len)
{
	if (m->n <= IX_MAP_FEW) {
		for (uint32_t i = 0; i < m->n; i++) {
			const struct ix_slot *sl = &m->slots[m->few[i]];
			if (sl->len == len && policy_bytes_eq(sl->s, s, len, m->fold))
				return sl->val;
		}
		return POLICY_NONE;
	}
	const struct ix_slot *sl = map_probe(m, s, len, str_hash(s, len, m->fold));
	return sl->s ? sl->val : POLICY_NONE;
}

void ix_map_free(struct ix_map *m)
{
	free(m->slots);
	m->slots = NULL;
	m->n = 0;
}

static uint32_t cond_len(const struct policy_cond *c, uint32_t i)
{
	return c->lens ? c->lens[i] : (uint32_t)strlen(c->vals[i]);
}

/* ---- rule lists ------------------------------------------------------------- */

struct pair {
	uint32_t list, rule;
};

struct builder {
	struct policy_index *ix;
	struct pair *pairs;
	size_t n_pairs, cap_pairs;
	uint32_t *last; /* per list: the last rule added, to add each rule once */
	size_t cap_last;
	uint32_t n_lists;
	struct ix_map pre; /* user prefix -> list, before it becomes the trie */
};

static uint32_t list_new(struct builder *b)
{
	b->last = xmem_grow(b->last, &b->cap_last, b->n_lists, sizeof(*b->last));
	b->last[b->n_lists] = POLICY_NONE;
	return b->n_lists++;
}

/* Add rule to the list in *slot (a table or tree payload), creating the
 * list on first use. Rules arrive in order, so lists come out sorted. */
static void list_add(struct builder *b, uint32_t *slot, uint32_t rule)
{
	if (*slot == POLICY_NONE)
		*slot = list_new(b);
	uint32_t l = *slot;
	if (b->last[l] == rule)
		return;
	b->last[l] = rule;
	b->pairs = xmem_grow(b->pairs, &b->cap_pairs, b->n_pairs, sizeof(*b->pairs));
	b->pairs[b->n_pairs++] = (struct pair){l, rule};
}

/* Pairs to one array of lists, by a counting sort on the list (stable, so
 * each list keeps rule order). */
static void lists_finish(struct builder *b)
{
	struct policy_index *ix = b->ix;
	ix->n_lists = b->n_lists;
	ix->lists = xmem_calloc(b->n_lists, sizeof(*ix->lists));
	ix->ids = xmem_malloc(b->n_pairs * sizeof(*ix->ids));
	for (size_t i = 0; i < b->n_pairs; i++)
		ix->lists[b->pairs[i].list].len++;
	uint32_t off = 0;
	for (uint32_t l = 0; l < b->n_lists; l++) {
		ix->lists[l].off = off;
		off += ix->lists[l].len;
		b->last[l] = ix->lists[l].off; /* reused: the fill position */
	}
	for (size_t i = 0; i < b->n_pairs; i++)
		ix->ids[b->last[b->pairs[i].list]++] = b->pairs[i].rule;
}

/* ---- which index a rule goes to ---------------------------------------------- */

static bool v4_space(const struct policy_cidr *c)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return c->bits >= 96 && memcmp(c->addr, mapped, 12) == 0;
}

/* The index a single test can go to. The index must decide exactly what
 * the test decides, so the case rule has to be the index's. */
static uint8_t test_kind(const struct policy_cond *c)
{
	if (c->kind != PC_TEST)
		return IX_NONE;
	switch (c->field) {
	case PF_METHOD:
		return c->op == PO_EQ && !c->nocase ? IX_METHOD : IX_NONE;
	case PF_RURI_HOST:
		return c->op == PO_EQ && c->nocase ? IX_HOST : IX_NONE;
	case PF_RURI_USER:
		if (c->nocase)
			return IX_NONE;
		if (c->op == PO_EQ)
			return IX_USER_EQ;
		if (c->op != PO_PREFIX)
			return IX_NONE;
		for (uint32_t i = 0; i < c->n_vals; i++)
			if (cond_len(c, i) > IX_PREFIX_MAX)
				return IX_NONE;
		return IX_USER_PRE;
	case PF_SOURCE:
		return c->op == PO_CIDR && c->cidrs ? IX_SOURCE : IX_NONE;
	}
	return IX_NONE;
}

/*
 * How selective a test is, roughly: exact hosts and users are best, a
 * user prefix is worth 10 per digit of its shortest value, a source
 * prefix 2 per bit of its widest, a method set little (a handful of
 * methods split all traffic). 0: worthless (prefix "" or ::/0), which
 * leaves the rule unindexed rather than on a list every request hits.
 */
static uint32_t test_score(const struct policy_cond *c, uint8_t kind)
{
	uint32_t s = 100; /* an empty set never holds: perfectly selective */
	switch (kind) {
	case IX_METHOD:
		return 15;
	case IX_USER_PRE:
		for (uint32_t i = 0; i < c->n_vals; i++) {
			uint32_t v = cond_len(c, i) * 10;
			s = v < s ? v : s;
		}
		return s > 90 ? 90 : s;
	case IX_SOURCE:
		for (uint32_t i = 0; i < c->cidrs->n; i++) {
			const struct policy_cidr *r = &c->cidrs->v[i];
			uint32_t v = 2u * (v4_space(r) ? r->bits - 96u : r->bits);
			s = v < s ? v : s;
		}
		return s > 80 ? 80 : s;
	}
	return s;
}

/* A conjunct's index: a test's, or for `any` of tests that all go to the
 * same index, that index (the union of their keys). */
static uint8_t conj_kind(const struct policy_cond *c, uint32_t *score)
{
	*score = 0;
	if (c->kind == PC_TEST) {
		uint8_t k = test_kind(c);
		if (k)
			*score = test_score(c, k);
		return k;
	}
	if (c->kind != PC_ANY || c->n_kids < 2)
		return IX_NONE;
	uint8_t k = test_kind(c->kids[0]);
	uint32_t s = 100;
	for (uint32_t i = 0; k && i < c->n_kids; i++) {
		if (test_kind(c->kids[i]) != k)
			return IX_NONE;
		uint32_t v = test_score(c->kids[i], k);
		s = v < s ? v : s;
	}
	*score = s;
	return k;
}

static size_t cond_keys(const struct policy_cond *c)
{
	if (c->kind == PC_ANY) {
		size_t n = 0;
		for (uint32_t i = 0; i < c->n_kids; i++)
			n += cond_keys(c->kids[i]);
		return n;
	}
	return c->field == PF_SOURCE ? c->cidrs->n : c->n_vals;
}

/* Pick each rule's index and test; count the keys each table will get. */
static void rules_choose(const struct policy *p, struct policy_index *ix, size_t keys[IX__COUNT])
{
	struct policy_conj cj = {0};
	for (uint32_t r = 0; r < p->n_rules; r++) {
		cj.n = 0;
		policy_conj_collect(&cj, p->rules[r].match);
		uint32_t best = 0;
		ix->where[r] = IX_NONE;
		ix->skip[r] = NULL;
		for (size_t i = 0; i < cj.n; i++) {
			uint32_t s;
			uint8_t k = conj_kind(cj.v[i], &s);
			if (k && s > best) {
				best = s;
				ix->where[r] = k;
				ix->skip[r] = cj.v[i];
			}
		}
		ix->n_where[ix->where[r]]++;
		if (ix->skip[r])
			keys[ix->where[r]] += cond_keys(ix->skip[r]);
	}
	free(cj.v);
}

static void test_insert(struct builder *b, uint8_t kind, const struct policy_cond *c, uint32_t r)
{
	struct policy_index *ix = b->ix;
	struct ix_map *m = kind == IX_METHOD ? &ix->method
			   : kind == IX_HOST ? &ix->host
			   : kind == IX_USER_EQ ? &ix->user_eq
						 : &b->pre;
	if (kind == IX_SOURCE) {
		for (uint32_t i = 0; i < c->cidrs->n; i++)
			list_add(b, policy_cidr_slot(&ix->source, &c->cidrs->v[i]), r);
		return;
	}
	for (uint32_t i = 0; i < c->n_vals; i++)
		list_add(b, ix_map_slot(m, c->vals[i], cond_len(c, i)), r);
}

static void rules_insert(const struct policy *p, struct builder *b)
{
	struct policy_index *ix = b->ix;
	uint32_t unindexed = list_new(b); /* list 0, even when empty */
	for (uint32_t r = 0; r < p->n_rules; r++) {
		const struct policy_cond *c = ix->skip[r];
		if (!c)
			list_add(b, &unindexed, r);
		else if (c->kind == PC_ANY)
			for (uint32_t i = 0; i < c->n_kids; i++)
				test_insert(b, ix->where[r], c->kids[i], r);
		else
			test_insert(b, ix->where[r], c, r);
	}
	/* the user prefixes, deduplicated by the table, become the trie */
	struct policy_trie_key *keys = xmem_malloc((b->pre.n ? b->pre.n : 1) * sizeof(*keys));
	uint32_t n = 0;
	for (uint32_t i = 0; b->pre.n && i <= b->pre.mask; i++)
		if (b->pre.slots[i].s)
			keys[n++] = (struct policy_trie_key){b->pre.slots[i].s, b->pre.slots[i].len,
							     b->pre.slots[i].val};
	policy_trie_build(&ix->user_pre, keys, n, false);
	free(keys);
}

/* ---- accelerators of large value sets ------------------------------------------ */

static const void *accel_key(const struct policy_cond *c)
{
	if (c->kind != PC_TEST)
		return NULL;
	if ((c->op == PO_EQ || c->op == PO_PREFIX) && c->field != PF_SOURCE &&
	    c->n_vals > IX_ACCEL_MIN)
		return c;
	if (c->op == PO_CIDR && c->field == PF_SOURCE && c->cidrs && c->cidrs->n > IX_ACCEL_MIN)
		return c->cidrs;
	return NULL;
}

static uint32_t ptr_hash(const void *k)
{
	return (uint32_t)(((uint64_t)(uintptr_t)k >> 3) * 0x9e3779b97f4a7c15ull >> 32);
}

static struct ix_accel *accel_probe(const struct policy_index *ix, const void *key)
{
	for (uint32_t i = ptr_hash(key) & ix->accel_mask;; i = (i + 1) & ix->accel_mask)
		if (!ix->accel[i].key || ix->accel[i].key == key)
			return &ix->accel[i];
}

const struct ix_accel *ix_accel_find(const struct policy_index *ix, const void *key)
{
	if (!ix->accel)
		return NULL;
	const struct ix_accel *a = accel_probe(ix, key);
	return a->key ? a : NULL;
}

static void accel_fill(struct ix_accel *a, const struct policy_cond *c)
{
	a->op = c->op;
	if (c->op == PO_CIDR) {
		policy_cidr_init(&a->u.cidr);
		for (uint32_t i = 0; i < c->cidrs->n; i++)
			*policy_cidr_slot(&a->u.cidr, &c->cidrs->v[i]) = 0;
		return;
	}
	if (c->op == PO_EQ) {
		ix_map_init(&a->u.set, c->n_vals, c->nocase);
		for (uint32_t i = 0; i < c->n_vals; i++)
			*ix_map_slot(&a->u.set, c->vals[i], cond_len(c, i)) = 0;
		return;
	}
	/* prefix: folded keys are lower-cased copies, needed only to build */
	struct policy_trie_key *keys = xmem_malloc(c->n_vals * sizeof(*keys));
	char **low = xmem_calloc(c->n_vals, sizeof(*low));
	for (uint32_t i = 0; i < c->n_vals; i++) {
		uint32_t n = cond_len(c, i);
		keys[i] = (struct policy_trie_key){c->vals[i], n, 0};
		if (c->nocase) {
			low[i] = xmem_strndup(c->vals[i], n);
			for (uint32_t j = 0; j < n; j++)
				low[i][j] = (char)policy_lower((unsigned char)low[i][j]);
			keys[i].s = low[i];
		}
	}
	policy_trie_build(&a->u.trie, keys, c->n_vals, c->nocase);
	for (uint32_t i = 0; i < c->n_vals; i++)
		free(low[i]);
	free(low);
	free(keys);
}

/* Visit every test of c: count the accelerators (ix->accel NULL) or
 * build them. */
static void accel_walk(struct policy_index *ix, const struct policy_cond *c, uint32_t *count)
{
	if (!c)
		return;
	const void *key = accel_key(c);
	if (key && !ix->accel) {
		(*count)++;
	} else if (key) {
		struct ix_accel *a = accel_probe(ix, key);
		if (!a->key) {
			a->key = key;
			accel_fill(a, c);
		}
	}
	for (uint32_t i = 0; i < c->n_kids; i++)
		accel_walk(ix, c->kids[i], count);
}

static void accel_build(const struct policy *p, struct policy_index *ix)
{
	uint32_t count = 0;
	for (uint32_t r = 0; r < p->n_rules; r++)
		accel_walk(ix, p->rules[r].match, &count);
	if (!count)
		return;
	uint32_t cap = 8;
	while (cap < count * 2)
		cap <<= 1;
	ix->accel = xmem_calloc(cap, sizeof(*ix->accel));
	ix->accel_mask = cap - 1;
	for (uint32_t r = 0; r < p->n_rules; r++)
		accel_walk(ix, p->rules[r].match, &count);
}

static void accel_free(struct policy_index *ix)
{
	for (uint32_t i = 0; ix->accel && i <= ix->accel_mask; i++) {
		struct ix_accel *a = &ix->accel[i];
		if (!a->key)
			continue;
		if (a->op == PO_CIDR)
			policy_cidr_free(&a->u.cidr);
		else if (a->op == PO_EQ)
			ix_map_free(&a->u.set);
		else
			policy_trie_free(&a->u.trie);
	}
	free(ix->accel);
	ix->accel = NULL;
}

/* ---- build and free --------------------------------------------------------------- */

static void tables_build(struct policy *p)
{
	for (uint32_t t = 0; t < p->n_tables; t++) {
		struct policy_table *tb = &p->tables[t];
		uint32_t n = tb->n_entries;
		struct policy_trie_key *keys = xmem_malloc((n ? n : 1) * sizeof(*keys));
		for (uint32_t i = 0; i < n; i++)
			keys[i] = (struct policy_trie_key){tb->entries[i].digits, tb->entries[i].len, i};
		struct policy_trie *tr = xmem_calloc(1, sizeof(*tr));
		policy_trie_build(tr, keys, n, false);
		free(keys);
		tb->trie = tr;
	}
}

int policy_index_build(struct policy *p, struct ydoc_errs *errs)
{
	policy_index_free(p);
	tables_build(p);

	struct policy_index *ix = xmem_calloc(1, sizeof(*ix));
	ix->n_rules = p->n_rules;
	ix->where = xmem_calloc(p->n_rules ? p->n_rules : 1, sizeof(*ix->where));
	ix->skip = xmem_calloc(p->n_rules ? p->n_rules : 1, sizeof(*ix->skip));
	policy_cidr_init(&ix->source);

	size_t keys[IX__COUNT] = {0};
	rules_choose(p, ix, keys);
	struct builder b = {.ix = ix};
	ix_map_init(&ix->method, keys[IX_METHOD], false);
	ix_map_init(&ix->host, keys[IX_HOST], true);
	ix_map_init(&ix->user_eq, keys[IX_USER_EQ], false);
	ix_map_init(&b.pre, keys[IX_USER_PRE], false);
	rules_insert(p, &b);
	lists_finish(&b);
	ix_map_free(&b.pre);
	free(b.pairs);
	free(b.last);

	accel_build(p, ix);
	ix->md = pcre2_match_data_create(1, NULL);
	ix->mctx = pcre2_match_context_create(NULL);
	if (!ix->md || !ix->mctx)
		xmem_oom(256);
	pcre2_set_match_limit(ix->mctx, POLICY_RE_MATCH_LIMIT);
	p->index = ix;

	if (!errs)
		return 0;
	size_t before = errs->n_errors;
	policy_shadow_check(p, errs);
	return errs->n_errors > before ? SE_ECONFIG : 0;
}

void policy_index_free(struct policy *p)
{
	for (uint32_t t = 0; t < p->n_tables; t++) {
		struct policy_table *tb = &p->tables[t];
		if (tb->trie)
			policy_trie_free(tb->trie);
		free(tb->trie);
		tb->trie = NULL;
	}
	struct policy_index *ix = p->index;
	if (!ix)
		return;
	ix_map_free(&ix->method);
	ix_map_free(&ix->host);
	ix_map_free(&ix->user_eq);
	policy_trie_free(&ix->user_pre);
	policy_cidr_free(&ix->source);
	accel_free(ix);
	pcre2_match_data_free(ix->md);
	pcre2_match_context_free(ix->mctx);
	free(ix->ids);
	free(ix->lists);
	free(ix->where);
	free(ix->skip);
	free(ix);
	p->index = NULL;
}

/* ---- lookup ------------------------------------------------------------------------- */

void ix_cursors_push(struct ix_cursors *cs, const uint32_t *v, size_t n)
{
	if (n && cs->n < IX_CURSORS_MAX)
		cs->c[cs->n++] = (struct ix_cursor){v, v + n};
}

void ix_cursors_add(struct ix_cursors *cs, const struct policy_index *ix, uint32_t list)
{
	if (list != POLICY_NONE)
		ix_cursors_push(cs, ix->ids + ix->lists[list].off, ix->lists[list].len);
}

uint32_t ix_cursors_next(struct ix_cursors *cs, uint32_t last)
{
	for (;;) {
		uint32_t best = POLICY_NONE, bi = 0;
		for (uint32_t i = 0; i < cs->n;) {
			struct ix_cursor *c = &cs->c[i];
			if (c->p == c->end) {
				*c = cs->c[--cs->n]; /* exhausted: drop it */
				continue;
			}
			if (*c->p < best) {
				best = *c->p;
				bi = i;
			}
			i++;
		}
		if (best == POLICY_NONE)
			return POLICY_NONE;
		cs->c[bi].p++;
		if (best != last)
			return best;
	}
}

static void add_path(struct ix_cursors *cs, const struct policy_index *ix, const uint32_t *v,
		     uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		ix_cursors_add(cs, ix, v[i]);
}

static void add_user_prefixes(struct ix_cursors *cs, const struct policy_index *ix, const char *s,
			      uint32_t len)
{
	uint32_t v[IX_PATH_MAX];
	add_path(cs, ix, v, policy_trie_path(&ix->user_pre, s, len, v, IX_PATH_MAX));
}

static void add_sources(struct ix_cursors *cs, const struct policy_index *ix, struct policy_addr a,
			unsigned max_bits)
{
	uint32_t v[IX_PATH_MAX];
	add_path(cs, ix, v, policy_cidr_walk(&ix->source, a, max_bits, v, IX_PATH_MAX));
}

struct policy_hit policy_lookup(const struct policy *p, const struct policy_req *rq)
{
	const struct policy_index *ix = p->index;
	if (!ix)
		return policy_eval_rules(p, rq);
	struct ix_cursors cs;
	cs.n = 0;
	ix_cursors_add(&cs, ix, 0);
	ix_cursors_add(&cs, ix, ix_map_get(&ix->method, rq->method.p, rq->method.len));
	ix_cursors_add(&cs, ix, ix_map_get(&ix->host, rq->ruri_host.p, rq->ruri_host.len));
	ix_cursors_add(&cs, ix, ix_map_get(&ix->user_eq, rq->ruri_user.p, rq->ruri_user.len));
	add_user_prefixes(&cs, ix, rq->ruri_user.p, rq->ruri_user.len);
	struct policy_addr a;
	if (ix->source.root != POLICY_NONE && policy_addr_from_sa(&rq->src.sa, &a))
		add_sources(&cs, ix, a, 128);

	struct policy_ctx cx = {p, rq, ix};
	struct policy_hit hit;
	for (uint32_t r = POLICY_NONE; (r = ix_cursors_next(&cs, r)) != POLICY_NONE;)
		if (policy_ctx_rule(&cx, r, ix->skip[r], &hit))
			return hit;
	return (struct policy_hit){POLICY_NONE, POLICY_NONE, POLICY_NONE};
}

void ix_cursors_implied_by(struct ix_cursors *cs, const struct policy_index *ix,
			   const struct policy_cond *c)
{
	if (c->kind == PC_ANY && c->n_kids) {
		/* every alternative must imply the test: look at the first */
		ix_cursors_implied_by(cs, ix, c->kids[0]);
		return;
	}
	if (c->kind == PC_ALL) {
		for (uint32_t i = 0; i < c->n_kids; i++)
			ix_cursors_implied_by(cs, ix, c->kids[i]);
		return;
	}
	if (c->kind != PC_TEST)
		return;
	if (c->field == PF_SOURCE && c->op == PO_CIDR && c->cidrs && c->cidrs->n) {
		const struct policy_cidr *r = &c->cidrs->v[0];
		add_sources(cs, ix, policy_addr_from_bytes(r->addr), r->bits > 128 ? 128 : r->bits);
		return;
	}
	if (!c->n_vals || (c->op != PO_EQ && c->op != PO_PREFIX))
		return;
	const char *v = c->vals[0];
	uint32_t n = cond_len(c, 0);
	if (c->field == PF_METHOD && c->op == PO_EQ)
		ix_cursors_add(cs, ix, ix_map_get(&ix->method, v, n));
	if (c->field == PF_RURI_HOST && c->op == PO_EQ)
		ix_cursors_add(cs, ix, ix_map_get(&ix->host, v, n));
	if (c->field == PF_RURI_USER && c->op == PO_EQ)
		ix_cursors_add(cs, ix, ix_map_get(&ix->user_eq, v, n));
	if (c->field == PF_RURI_USER)
		add_user_prefixes(cs, ix, v, n);
}
