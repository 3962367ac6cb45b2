/*
 * policy_trie: the read-only byte trie of policy_trie.h.
 *
 * Construction sorts the keys and lays the trie out in one pass over
 * them: in sorted order the keys below a node are one contiguous run, and
 * the children of a node are the distinct bytes at the node's depth within
 * that run. The number of nodes is known before the first one is written
 * (1 + the sum over the sorted keys of their length minus the prefix they
 * share with the key before), so the node array is allocated once and
 * exactly. Construction uses an explicit work list, not recursion: a key
 * of a million bytes costs memory, never the stack.
 */
#include "policy_trie.h"

#include "policy.h"
#include "xmem.h"

#include <stdlib.h>
#include <string.h>

static int key_cmp(const void *a, const void *b)
{
	const struct policy_trie_key *x = a, *y = b;
	uint32_t n = x->len < y->len ? x->len : y->len;
	int c = n ? memcmp(x->s, y->s, n) : 0;
	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return (x->val > y->val) - (x->val < y->val);
}

static uint32_t common_prefix(const struct policy_trie_key *a, const struct policy_trie_key *b)
{
	uint32_t n = a->len < b->len ? a->len : b->len, i = 0;
	while (i < n && a->s[i] == b->s[i])
		i++;
	return i;
}

/* A node waiting to be filled: the run of keys below it. */
/* The dialled-number alphabet in byte order ('#' < '*' < '0'..'9'), so
 * that a popcount of the bits below a digit is its rank among the sorted
 * children; 0xff: not in it. */
static const uint8_t digit_bit[256] = {
    ['#'] = 1, ['*'] = 2, ['0'] = 3, ['1'] = 4, ['2'] = 5, ['3'] = 6,
    ['4'] = 7, ['5'] = 8, ['6'] = 9, ['7'] = 10, ['8'] = 11, ['9'] = 12,
}; /* stored + 1, so that 0 is "none" */

/* Bits set in a byte. */
#define B2(n) n, n + 1, n + 1, n + 2
#define B4(n) B2(n), B2(n + 1), B2(n + 1), B2(n + 2)
#define B6(n) B4(n), B4(n + 1), B4(n + 1), B4(n + 2)
static const uint8_t pop8[256] = {B6(0), B6(1), B6(1), B6(2)};

#define DIGITS_ONLY 0x8000

/* Tries of this many nodes get a jump table: below it the top levels are
 * all there is, and the table would outweigh the trie. */
#define JUMP_MIN_NODES 4096
#define JUMP_SYMS 12

static void jump_build(struct policy_trie *t);

struct work {
	uint32_t node, lo, hi, depth;
	uint32_t vals_above; /* payloads on the path above this node */
};

void policy_trie_build(struct policy_trie *t, struct policy_trie_key *keys, uint32_t n, bool fold)
{
	if (n > 1)
		qsort(keys, n, sizeof(*keys), key_cmp);
	uint64_t count = 1;
	for (uint32_t i = 0; i < n; i++)
		count += keys[i].len - (i ? common_prefix(&keys[i - 1], &keys[i]) : 0);
	if (count >= UINT32_MAX)
		xmem_oom((size_t)count * sizeof(struct policy_trie_node));

	t->nodes = xmem_malloc((size_t)count * sizeof(*t->nodes));
	t->labels = xmem_malloc((size_t)count);
	t->n_nodes = (uint32_t)count;
	t->max_path_vals = 0;
	t->fold = fold;

	struct work *stack = xmem_malloc((size_t)count * sizeof(*stack));
	uint32_t sp = 0, next = 1;
	stack[sp++] = (struct work){0, 0, n, 0, 0};
	t->labels[0] = 0;
	while (sp) {
		struct work w = stack[--sp];
		struct policy_trie_node *node = &t->nodes[w.node];
		uint32_t lo = w.lo;
		node->val = POLICY_NONE;
		/* keys ending here: sorted by val, so the first is the smallest */
		if (lo < w.hi && keys[lo].len == w.depth)
			node->val = keys[lo].val;
		while (lo < w.hi && keys[lo].len == w.depth)
			lo++;
		uint32_t vals = w.vals_above + (node->val != POLICY_NONE);
		if (vals > t->max_path_vals)
			t->max_path_vals = vals;

		uint32_t groups = 0;
		for (uint32_t i = lo; i < w.hi; i++)
			if (i == lo || keys[i].s[w.depth] != keys[i - 1].s[w.depth])
				groups++;
		node->kids = next;
		node->n_kids = (uint16_t)groups;
		node->digits = 0;
		uint32_t kid = next;
		next += groups;
		for (uint32_t i = lo; i < w.hi;) {
			unsigned char b = (unsigned char)keys[i].s[w.depth];
			uint32_t j = i + 1;
			while (j < w.hi && (unsigned char)keys[j].s[w.depth] == b)
				j++;
			if (digit_bit[b])
				node->digits |= (uint16_t)(1u << (digit_bit[b] - 1));
			t->labels[kid] = b;
			stack[sp++] = (struct work){kid, i, j, w.depth + 1, vals};
			kid++;
			i = j;
		}
		if (pop8[node->digits & 0xff] + pop8[node->digits >> 8] == groups)
			node->digits |= DIGITS_ONLY;
	}
	free(stack);
	t->jump = NULL;
	if (t->n_nodes >= JUMP_MIN_NODES)
		jump_build(t);
}

void policy_trie_free(struct policy_trie *t)
{
	free(t->nodes);
	free(t->labels);
	free(t->jump);
	t->nodes = NULL;
	t->labels = NULL;
	t->jump = NULL;
	t->n_nodes = 0;
}

/* The child of n labelled c, or NULL. Children are sorted by label: a
 * digit node answers by popcount; otherwise a short scan of the labels
 * for the usual handful, a binary search for wide nodes (up to 256). */
static inline __attribute__((always_inline)) const struct policy_trie_node *
child(const struct policy_trie *t, const struct policy_trie_node *n, unsigned char c)
{
	uint32_t cnt = n->n_kids;
	if (n->digits & DIGITS_ONLY) {
		unsigned bit = digit_bit[c];
		if (!bit || !(n->digits >> (bit - 1) & 1))
			return NULL;
		unsigned below = n->digits & ((1u << (bit - 1)) - 1);
		return &t->nodes[n->kids + pop8[below & 0xff] + pop8[below >> 8]];
	}
	const uint8_t *l = t->labels + n->kids;
	if (cnt <= 16) {
		for (uint32_t i = 0; i < cnt; i++)
			if (l[i] >= c)
				return l[i] == c ? &t->nodes[n->kids + i] : NULL;
		return NULL;
	}
	uint32_t lo = 0, hi = cnt;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (l[mid] < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < cnt && l[lo] == c ? &t->nodes[n->kids + lo] : NULL;
}

/* The symbols in jump order: digit_bit order. */
static const char jump_sym[JUMP_SYMS] = {'#', '*', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'};

static void jump_build(struct policy_trie *t)
{
	t->jump = xmem_malloc(JUMP_SYMS * JUMP_SYMS * JUMP_SYMS * sizeof(*t->jump));
	for (uint32_t k = 0; k < JUMP_SYMS * JUMP_SYMS * JUMP_SYMS; k++) {
		const char d[3] = {jump_sym[k / (JUMP_SYMS * JUMP_SYMS)],
				   jump_sym[k / JUMP_SYMS % JUMP_SYMS], jump_sym[k % JUMP_SYMS]};
		const struct policy_trie_node *n = &t->nodes[0];
		uint32_t best = n->val;
		int depth = 0;
		while (depth < 3 && (n = child(t, n, (unsigned char)d[depth]))) {
			depth++;
			if (n->val != POLICY_NONE)
				best = n->val;
		}
		t->jump[k].best = best;
		t->jump[k].node = depth == 3 ? (uint32_t)(n - t->nodes) : POLICY_NONE;
	}
}

static unsigned char byte_at(const struct policy_trie *t, const char *s, uint32_t i)
{
	unsigned char c = (unsigned char)s[i];
	return t->fold ? policy_lower(c) : c;
}

uint32_t policy_trie_longest(const struct policy_trie *t, const char *s, uint32_t len,
			     uint32_t *klen)
{
	const struct policy_trie_node *n = &t->nodes[0];
	uint32_t best = n->val, best_len = 0;
	for (uint32_t i = 0; i < len; i++) {
		n = child(t, n, byte_at(t, s, i));
		if (!n)
			break;
		if (n->val != POLICY_NONE) {
			best = n->val;
			best_len = i + 1;
		}
	}
	if (klen)
		*klen = best_len;
	return best;
}

uint32_t policy_trie_longest_number(const struct policy_trie *t, const char *s, uint32_t len)
{
	const struct policy_trie_node *n = &t->nodes[0];
	uint32_t best = n->val, i = 0;
	if (t->jump && len >= 3) {
		unsigned a = digit_bit[(unsigned char)s[0]], b = digit_bit[(unsigned char)s[1]],
			 c = digit_bit[(unsigned char)s[2]];
		if (a && b && c) {
			const struct policy_trie_jump *j =
			    &t->jump[((a - 1) * JUMP_SYMS + b - 1) * JUMP_SYMS + c - 1];
			if (j->node == POLICY_NONE)
				return j->best;
			best = j->best;
			n = &t->nodes[j->node];
			i = 3;
		}
	}
	for (; i < len && digit_bit[(unsigned char)s[i]]; i++) {
		n = child(t, n, (unsigned char)s[i]);
		if (!n)
			break;
		if (n->val != POLICY_NONE)
			best = n->val;
	}
	return best;
}

uint32_t policy_trie_path(const struct policy_trie *t, const char *s, uint32_t len, uint32_t *vals,
			  uint32_t max)
{
	const struct policy_trie_node *n = &t->nodes[0];
	uint32_t k = 0;
	for (uint32_t i = 0; k < max; i++) {
		if (n->val != POLICY_NONE)
			vals[k++] = n->val;
		if (i == len || !(n = child(t, n, byte_at(t, s, i))))
			break;
	}
	return k;
}

size_t policy_trie_bytes(const struct policy_trie *t)
{
	return (size_t)t->n_nodes * (sizeof(*t->nodes) + sizeof(*t->labels)) +
	       (t->jump ? JUMP_SYMS * JUMP_SYMS * JUMP_SYMS * sizeof(*t->jump) : 0);
}
