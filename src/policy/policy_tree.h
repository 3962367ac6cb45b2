/*
 * policy_tree (internal): the compiled index of a policy and the pieces
 * of evaluation that policy_eval.c, policy_tree.c, policy_shadow.c and
 * policy_explain.c share. Not for use outside src/policy/ (tests aside).
 *
 * The index (struct policy_index, one per policy, read-only once built):
 *
 *   method    exact method      -> rule list   (hash table)
 *   host      R-URI host, folded -> rule list  (hash table)
 *   user_eq   R-URI user, exact -> rule list   (hash table)
 *   user_pre  R-URI user prefix -> rule list   (byte trie, every key on
 *                                               the user's path)
 *   source    source prefix     -> rule list   (radix tree, every prefix
 *                                               containing the source)
 *   unindexed                      rule list   (always a candidate)
 *
 * Each rule is in exactly one of them, under the most selective test of
 * its top-level conjunction; rule lists are sorted by rule index. A
 * lookup merges the lists the request hits in rule order and evaluates
 * each candidate fully, so the first candidate that matches is the first
 * rule that matches.
 *
 * Besides, conditions with large value sets (more than IX_ACCEL_MIN
 * values or prefixes) get an accelerator, keyed by the condition (or, for
 * CIDR lists, by the list): a hash set for `equals`, a trie for
 * `prefix`, a radix tree for CIDRs. The reference evaluator never uses
 * them, so comparing policy_lookup with policy_eval_rules checks them too.
 */
#ifndef SE_POLICY_TREE_H
#define SE_POLICY_TREE_H

#include "policy_cidr.h"
#include "policy_match.h"
#include "policy_trie.h"

#include <string.h>

/* Values of one header looked at per test: the first ones, in order. */
#define POLICY_HDR_MAX 32

/* A user prefix longer than this is not indexed (the rule is indexed by
 * another test or not at all): it bounds the lists one lookup merges. */
#define IX_PREFIX_MAX 128
/* Rule lists one request can hit: unindexed, method, host, user_eq, one
 * per user prefix length (<= IX_PREFIX_MAX + 1), one per source prefix
 * length (<= 129). */
#define IX_PATH_MAX (IX_PREFIX_MAX + 1)
#define IX_CURSORS_MAX (4 + IX_PATH_MAX + 129)
/* Value sets larger than this get an accelerator. */
#define IX_ACCEL_MIN 8

/* Which index a rule sits in (struct policy_index.where). */
enum ix_kind {
	IX_NONE = 0, /* unindexed */
	IX_METHOD,
	IX_HOST,
	IX_USER_EQ,
	IX_USER_PRE,
	IX_SOURCE,
	IX__COUNT
};

/* Open-addressing string -> uint32_t table, read-only once built. */
struct ix_slot {
	const char *s; /* NULL: empty slot; points into the policy */
	uint32_t len;
	uint32_t hash;
	uint32_t val;
};

/* Up to this many keys a table is searched by comparing, not hashing: a
 * handful of methods or hosts costs less to compare than to hash. */
#define IX_MAP_FEW 4

struct ix_map {
	struct ix_slot *slots; /* mask + 1 of them, or NULL when empty */
	uint32_t mask;
	uint32_t n;
	uint32_t few[IX_MAP_FEW]; /* slots of the first keys, in insertion order */
	bool fold;                /* keys compare ASCII case-insensitively */
};

/* The accelerator of one large value set. */
struct ix_accel {
	const void *key; /* the struct policy_cond (EQ, PREFIX) or the struct
			  * policy_cidrs (CIDR); NULL: empty slot */
	uint8_t op;      /* PO_EQ, PO_PREFIX, PO_CIDR */
	union {
		struct ix_map set;
		struct policy_trie trie;
		struct policy_cidr_tree cidr;
	} u;
};

struct ix_list {
	uint32_t off, len; /* into ids */
};

struct policy_index {
	uint32_t *ids;          /* every rule list, back to back */
	struct ix_list *lists;  /* list 0 is the unindexed rules */
	uint32_t n_lists;
	struct ix_map method, host, user_eq; /* val: list index */
	struct policy_trie user_pre;         /* val: list index */
	struct policy_cidr_tree source;      /* val: list index */
	/* per rule */
	uint8_t *where;                   /* enum ix_kind */
	const struct policy_cond **skip;  /* the test the index proved: a
					   * candidate need not evaluate it
					   * again; NULL for unindexed rules */
	uint32_t n_rules;
	struct ix_accel *accel; /* accel_mask + 1 slots, or NULL */
	uint32_t accel_mask;
	/* PCRE2 match data (one ovector pair) for every regex test of this
	 * policy: allocated here once, so a match allocates nothing. Shared
	 * by every caller of this policy, which is safe because each sipedge
	 * process (master, worker) runs the policy from one thread. */
	void *md;
	void *mctx; /* pcre2_match_context: the match limit below */
	uint32_t n_where[IX__COUNT]; /* rules per index, for the docs and tests */
};

/* Regex backtracking steps per match; past it the test does not match.
 * Bounds the work of one request whatever the pattern. */
#define POLICY_RE_MATCH_LIMIT 100000

/* ASCII lower case of 8 bytes at once: a byte in 'A'..'Z' gets 0x20. */
static inline uint64_t fold8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t low7 = x & ~high;
	uint64_t ge_a = low7 + (0x80 - 'A') * ones;     /* high bit: byte >= 'A' */
	uint64_t gt_z = low7 + (0x80 - 'Z' - 1) * ones; /* high bit: byte > 'Z' */
	uint64_t upper = ge_a & ~gt_z & ~x & high;       /* and not >= 0x80 */
	return x | (upper >> 2);
}

/* n bytes of a and b equal, ASCII case folded when fold (8 at a time). */
static inline bool policy_bytes_eq(const char *a, const char *b, uint32_t n, bool fold)
{
	if (!fold)
		return n == 0 || memcmp(a, b, n) == 0;
	uint32_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t x, y;
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y && fold8(x) != fold8(y))
			return false;
	}
	for (; i < n; i++)
		if (policy_lower((unsigned char)a[i]) != policy_lower((unsigned char)b[i]))
			return false;
	return true;
}

/* ---- k-way merge of rule lists (policy_tree.c) --------------------------- */

struct ix_cursor {
	const uint32_t *p, *end;
};

struct ix_cursors {
	struct ix_cursor c[IX_CURSORS_MAX];
	uint32_t n;
};

/* Add the sorted rule list v[0, n) to cs (nothing when empty). When cs
 * is full the list is left out: never on a lookup, whose lists are
 * bounded by IX_CURSORS_MAX; the unreachable-rule check only misses a
 * report then. */
void ix_cursors_push(struct ix_cursors *cs, const uint32_t *v, size_t n);
/* Add list `list` of the index (POLICY_NONE: nothing) to cs. */
void ix_cursors_add(struct ix_cursors *cs, const struct policy_index *ix, uint32_t list);
/* The next rule index in order over all lists (repeats skipped), or
 * POLICY_NONE when every list is exhausted. */
uint32_t ix_cursors_next(struct ix_cursors *cs, uint32_t last);

/* A table for n_keys keys at most (it never grows). */
void ix_map_init(struct ix_map *m, size_t n_keys, bool fold);
/* The value slot of key s (not copied: it must outlive the table),
 * inserted with POLICY_NONE when new. */
uint32_t *ix_map_slot(struct ix_map *m, const char *s, uint32_t len);
uint32_t ix_map_get(const struct ix_map *m, const char *s, uint32_t len);
void ix_map_free(struct ix_map *m);

/* The lists holding every rule whose indexed test could be implied by
 * condition c (a top-level conjunct of a later rule): the candidates for
 * "shadows that rule". Unindexed rules not included. */
void ix_cursors_implied_by(struct ix_cursors *cs, const struct policy_index *ix,
			   const struct policy_cond *c);

/* The accelerator for key (a condition or a CIDR list), or NULL. */
const struct ix_accel *ix_accel_find(const struct policy_index *ix, const void *key);

/* ---- evaluation (policy_eval.c) ------------------------------------------ */

/* One evaluation: with ix NULL every test is evaluated the plain way (the
 * reference); with ix the accelerators are used. */
struct policy_ctx {
	const struct policy *p;
	const struct policy_req *rq;
	const struct policy_index *ix;
};

/* Does c hold, taking `skip` (a top-level conjunct already proved) as
 * true? */
bool policy_ctx_cond(const struct policy_ctx *cx, const struct policy_cond *c,
		     const struct policy_cond *skip);

/* Does rule i match (its condition, skip as above, and for a table rule
 * a prefix)? Fills *hit when it does. */
bool policy_ctx_rule(const struct policy_ctx *cx, uint32_t i, const struct policy_cond *skip,
		     struct policy_hit *hit);

/* The request's value for a string field (PF_METHOD .. PF_TO_HOST,
 * PF_TRANSPORT, PF_LISTENER); empty for any other. */
struct policy_str policy_req_field(const struct policy_req *rq, unsigned field);

/* The values of header `name`, at most POLICY_HDR_MAX; returns how many
 * were stored. */
uint32_t policy_req_header(const struct policy_req *rq, const char *name,
			   struct policy_str vals[POLICY_HDR_MAX]);

/* Does value i of c (PO_EQ: equals, PO_PREFIX: is a prefix of) fit v,
 * with c's case rule? */
bool policy_val_fits(const struct policy_cond *c, uint32_t i, struct policy_str v);

/* Does the regex of c match v (absent: the empty string)? */
bool policy_re_match(const struct policy *p, const struct policy_cond *c, struct policy_str v);

/* The dialled number of rq for table t: the R-URI user without '+' (if the
 * table strips it), without the table's strip prefix, cut at the first
 * character that is not 0-9 * #. Points into the request. */
struct policy_str policy_table_number(const struct policy_table *t, const struct policy_req *rq);

/* The top-level conjunction of c: the tests (and other conditions) that
 * must all hold, found through nested `all` and single-kid `any`. */
struct policy_conj {
	const struct policy_cond **v;
	size_t n, cap;
};
void policy_conj_collect(struct policy_conj *cj, const struct policy_cond *c);

/* ---- unreachable rules (policy_shadow.c) --------------------------------- */

/* Does rule a match every request rule b would match (a < b, or b never
 * wins)? Conservative: false when it cannot tell. */
bool policy_shadow_covers(const struct policy *p, uint32_t a, uint32_t b);

/* Report every rule an earlier rule covers, as an error at the rule. */
void policy_shadow_check(const struct policy *p, struct ydoc_errs *errs);

#endif
