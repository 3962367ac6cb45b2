/*
 * policy_cidr: a path-compressed binary radix tree (PATRICIA) over 128-bit
 * addresses, for "which of these prefixes contain this address?".
 *
 * IPv4 lives inside the same tree as ::ffff:0:0/96 (struct policy_cidr's
 * convention), so one walk answers for both families and an IPv4-mapped
 * IPv6 source matches IPv4 prefixes. Used by the rule index on source
 * CIDRs (every prefix along the path, each carrying a rule list) and for
 * large CIDR lists inside conditions (any prefix along the path).
 *
 * Nodes sit in one growable array and refer to each other by index; a
 * node exists for every inserted prefix and for every branch point, so at
 * most 2n - 1 nodes for n prefixes. A walk visits at most one node per
 * distinct prefix length on the address's path: at most 129.
 */
#ifndef SE_POLICY_CIDR_H
#define SE_POLICY_CIDR_H

#include "policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An address as two 64-bit halves, most significant first. */
struct policy_addr {
	uint64_t hi, lo;
};

struct policy_cidr_node {
	struct policy_addr key; /* bits beyond `bits` are zero */
	uint32_t kid[2];        /* by the bit after the prefix; POLICY_NONE: none */
	uint32_t val;           /* payload of an inserted prefix; POLICY_NONE for
				 * a branch point */
	uint8_t bits;           /* prefix length, 0..128 */
};

/* Zero-initialise; read-only once built; free with policy_cidr_free. */
struct policy_cidr_tree {
	struct policy_cidr_node *nodes;
	uint32_t n, cap;
	uint32_t root; /* POLICY_NONE when empty */
};

void policy_cidr_init(struct policy_cidr_tree *t);
void policy_cidr_free(struct policy_cidr_tree *t);

/*
 * The payload slot of prefix c, inserting the prefix (payload POLICY_NONE)
 * if it is new; the caller stores what it wants there. The pointer is
 * valid until the next insertion. Host bits beyond c->bits are ignored.
 */
uint32_t *policy_cidr_slot(struct policy_cidr_tree *t, const struct policy_cidr *c);

/*
 * Payloads of every inserted prefix of length <= max_bits that contains
 * a, shortest first, into vals[max]; returns how many (at most max; 129
 * is always enough). max_bits 128 asks about the address itself.
 */
uint32_t policy_cidr_walk(const struct policy_cidr_tree *t, struct policy_addr a, unsigned max_bits,
			  uint32_t *vals, uint32_t max);

/* Is a in any inserted prefix? */
bool policy_cidr_any(const struct policy_cidr_tree *t, struct policy_addr a);

size_t policy_cidr_bytes(const struct policy_cidr_tree *t);

/* ---- addresses and prefixes, shared by the evaluator and the checks ---- */

struct policy_addr policy_addr_from_bytes(const uint8_t b[16]);

/* The request's source as a tree address: IPv4 as ::ffff:a.b.c.d. False
 * for AF_UNSPEC (or any other family): an unknown source is in no prefix. */
bool policy_addr_from_sa(const struct sockaddr *sa, struct policy_addr *out);

/* Is a inside c? */
bool policy_cidr_has(const struct policy_cidr *c, struct policy_addr a);

/* Is every address of inner also in outer? */
bool policy_cidr_covers(const struct policy_cidr *outer, const struct policy_cidr *inner);

/* "192.0.2.0/24", "2001:db8::/32" (IPv4 space printed as IPv4). */
const char *policy_cidr_fmt(const struct policy_cidr *c, char *buf, size_t size);

#endif
