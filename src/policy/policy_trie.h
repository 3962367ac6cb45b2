/*
 * policy_trie: a read-only byte trie for prefix questions about a string.
 *
 * Built once from a set of keys, each with a uint32_t payload; asked
 * "which keys are prefixes of this string?". Used for the dialled-number
 * tables (longest prefix wins), for the rule index on R-URI user prefixes
 * (every key along the path), and for large `prefix:` sets inside
 * conditions (any key along the path).
 *
 * Layout: one array of 12-byte nodes and one byte (the label) per node
 * beside it. A node's children are contiguous and sorted by label, so a
 * node is its first child's index, a child count and a payload: no
 * pointers, two allocations. Dialled numbers get a fast path: a node
 * whose children are all of 0-9 * # also has a 12-bit map of them, and
 * its child for a digit is found by a popcount, without reading the
 * labels; other nodes search their children's labels. A lookup touches
 * one node per byte of the string: its cost is bounded by the string's
 * length, never by the number of keys.
 */
#ifndef SE_POLICY_TRIE_H
#define SE_POLICY_TRIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct policy_trie_node {
	uint32_t kids;   /* index of the first child */
	uint32_t val;    /* payload of the key ending here, or POLICY_NONE */
	uint16_t n_kids; /* 0..256 */
	uint16_t digits; /* bits 0-11: the children among # * 0-9 (in byte
			  * order); bit 15: those are all the children */
};

/* Where the first three digits of a number lead (large tries only). */
struct policy_trie_jump {
	uint32_t node; /* the node at depth 3, or POLICY_NONE: the path ends above */
	uint32_t best; /* payload of the longest key of <= 3 digits on the path */
};

/* Read-only after policy_trie_build; owned by whoever embeds it. */
struct policy_trie {
	struct policy_trie_node *nodes; /* nodes[0] is the root (the empty key) */
	uint8_t *labels;                /* labels[i]: the byte leading to node i */
	struct policy_trie_jump *jump;  /* 12^3 entries by the first three of
					 * 0-9 * #, or NULL: a number's walk
					 * starts at depth 3 in one load */
	uint32_t n_nodes;
	uint32_t max_path_vals; /* most payloads on one root-to-leaf path */
	bool fold;              /* keys were lower-cased (ASCII); lookups fold too */
};

/* ASCII lower case, the one case folding of the policy: locale-free, so
 * that the hash tables, the tries and the comparisons agree byte for byte. */
static inline unsigned char policy_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

struct policy_trie_key {
	const char *s; /* need not be NUL-terminated */
	uint32_t len;
	uint32_t val;
};

/*
 * Build t from keys[0, n) (the array is sorted in place). When the same
 * key appears more than once, the smallest val is kept: for a prefix table
 * that is the first entry written. With `fold`, keys must already be
 * lower-case (ASCII) and lookups compare the subject folded. Aborts on
 * out-of-memory (process heap, load time only).
 */
void policy_trie_build(struct policy_trie *t, struct policy_trie_key *keys, uint32_t n, bool fold);
void policy_trie_free(struct policy_trie *t);

/* Payload of the longest key that is a prefix of s[0, len), or POLICY_NONE;
 * *klen (may be NULL) gets that key's length. */
uint32_t policy_trie_longest(const struct policy_trie *t, const char *s, uint32_t len,
			     uint32_t *klen);

/* The same for the dialled number at the start of s: the run of
 * 0-9 * # that begins s, the rest of s ignored. */
uint32_t policy_trie_longest_number(const struct policy_trie *t, const char *s, uint32_t len);

/* Payloads of every key that is a prefix of s[0, len), shortest first,
 * into vals[max]; returns how many were stored (at most max). With
 * max >= t->max_path_vals nothing is ever left out. */
uint32_t policy_trie_path(const struct policy_trie *t, const char *s, uint32_t len, uint32_t *vals,
			  uint32_t max);

/* Heap bytes behind t. */
size_t policy_trie_bytes(const struct policy_trie *t);

#endif
