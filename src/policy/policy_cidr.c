/*
 * policy_cidr: the PATRICIA tree of policy_cidr.h, and the address helpers
 * every CIDR question of the policy goes through.
 *
 * Addresses are compared as two 64-bit words: "how many leading bits do
 * these share" is one XOR and one count-leading-zeros per word, which is
 * all a path-compressed tree needs to decide where a prefix goes or
 * whether a node contains an address.
 */
#include "policy_cidr.h"

#include "xmem.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

struct policy_addr policy_addr_from_bytes(const uint8_t b[16])
{
	struct policy_addr a = {0, 0};
	for (int i = 0; i < 8; i++) {
		a.hi = a.hi << 8 | b[i];
		a.lo = a.lo << 8 | b[8 + i];
	}
	return a;
}

bool policy_addr_from_sa(const struct sockaddr *sa, struct policy_addr *out)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		out->hi = 0;
		out->lo = 0x0000ffff00000000ull | ntohl(in->sin_addr.s_addr);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		*out = policy_addr_from_bytes(in6->sin6_addr.s6_addr);
		return true;
	}
	return false;
}

/* Leading bits a and b share, 0..128. */
static unsigned common_bits(struct policy_addr a, struct policy_addr b)
{
	uint64_t x = a.hi ^ b.hi;
	if (x)
		return (unsigned)__builtin_clzll(x);
	x = a.lo ^ b.lo;
	return x ? 64 + (unsigned)__builtin_clzll(x) : 128;
}

static struct policy_addr addr_mask(struct policy_addr a, unsigned bits)
{
	if (bits < 64) {
		a.hi = bits ? a.hi & (~0ull << (64 - bits)) : 0;
		a.lo = 0;
	} else if (bits < 128) {
		a.lo = bits > 64 ? a.lo & (~0ull << (128 - bits)) : 0;
	}
	return a;
}

/* Bit i (0 = most significant) of a; i < 128. */
static unsigned addr_bit(struct policy_addr a, unsigned i)
{
	return i < 64 ? (unsigned)(a.hi >> (63 - i)) & 1 : (unsigned)(a.lo >> (127 - i)) & 1;
}

static unsigned cidr_bits(const struct policy_cidr *c)
{
	return c->bits > 128 ? 128 : c->bits;
}

bool policy_cidr_has(const struct policy_cidr *c, struct policy_addr a)
{
	return common_bits(policy_addr_from_bytes(c->addr), a) >= cidr_bits(c);
}

bool policy_cidr_covers(const struct policy_cidr *outer, const struct policy_cidr *inner)
{
	return cidr_bits(outer) <= cidr_bits(inner) &&
	       policy_cidr_has(outer, policy_addr_from_bytes(inner->addr));
}

const char *policy_cidr_fmt(const struct policy_cidr *c, char *buf, size_t size)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	char ip[INET6_ADDRSTRLEN];
	unsigned bits = cidr_bits(c);
	if (bits >= 96 && memcmp(c->addr, v4mapped, 12) == 0) {
		inet_ntop(AF_INET, c->addr + 12, ip, sizeof(ip));
		bits -= 96;
	} else {
		inet_ntop(AF_INET6, c->addr, ip, sizeof(ip));
	}
	snprintf(buf, size, "%s/%u", ip, bits);
	return buf;
}

void policy_cidr_init(struct policy_cidr_tree *t)
{
	t->nodes = NULL;
	t->n = t->cap = 0;
	t->root = POLICY_NONE;
}

void policy_cidr_free(struct policy_cidr_tree *t)
{
	free(t->nodes);
	policy_cidr_init(t);
}

static uint32_t node_new(struct policy_cidr_tree *t, struct policy_addr key, unsigned bits)
{
	size_t cap = t->cap;
	t->nodes = xmem_grow(t->nodes, &cap, t->n, sizeof(*t->nodes));
	t->cap = (uint32_t)cap;
	t->nodes[t->n] = (struct policy_cidr_node){
		.key = addr_mask(key, bits),
		.kid = {POLICY_NONE, POLICY_NONE},
		.val = POLICY_NONE,
		.bits = (uint8_t)bits,
	};
	return t->n++;
}

/* Make node x hang where `parent`'s kid `side` (or the root) was. */
static void link_set(struct policy_cidr_tree *t, uint32_t parent, unsigned side, uint32_t x)
{
	if (parent == POLICY_NONE)
		t->root = x;
	else
		t->nodes[parent].kid[side] = x;
}

uint32_t *policy_cidr_slot(struct policy_cidr_tree *t, const struct policy_cidr *c)
{
	unsigned bits = cidr_bits(c);
	struct policy_addr key = addr_mask(policy_addr_from_bytes(c->addr), bits);
	uint32_t parent = POLICY_NONE, cur = t->root;
	unsigned side = 0;
	while (cur != POLICY_NONE) {
		struct policy_cidr_node *n = &t->nodes[cur];
		unsigned cb = common_bits(n->key, key);
		if (cb > bits)
			cb = bits;
		if (cb < n->bits) {
			/* the new prefix parts from n's path above n */
			uint32_t x, leaf;
			unsigned old_side = addr_bit(n->key, cb);
			if (cb == bits) {
				x = leaf = node_new(t, key, bits);
			} else {
				x = node_new(t, key, cb);
				leaf = node_new(t, key, bits);
				t->nodes[x].kid[addr_bit(key, cb)] = leaf;
			}
			t->nodes[x].kid[old_side] = cur;
			link_set(t, parent, side, x);
			return &t->nodes[leaf].val;
		}
		if (n->bits == bits)
			return &n->val;
		parent = cur;
		side = addr_bit(key, n->bits);
		cur = n->kid[side];
	}
	uint32_t x = node_new(t, key, bits);
	link_set(t, parent, side, x);
	return &t->nodes[x].val;
}

uint32_t policy_cidr_walk(const struct policy_cidr_tree *t, struct policy_addr a, unsigned max_bits,
			  uint32_t *vals, uint32_t max)
{
	uint32_t k = 0;
	for (uint32_t i = t->root; i != POLICY_NONE && k < max;) {
		const struct policy_cidr_node *n = &t->nodes[i];
		if (n->bits > max_bits || common_bits(n->key, a) < n->bits)
			break;
		if (n->val != POLICY_NONE)
			vals[k++] = n->val;
		if (n->bits == 128)
			break;
		i = n->kid[addr_bit(a, n->bits)];
	}
	return k;
}

bool policy_cidr_any(const struct policy_cidr_tree *t, struct policy_addr a)
{
	uint32_t v;
	return policy_cidr_walk(t, a, 128, &v, 1) == 1;
}

size_t policy_cidr_bytes(const struct policy_cidr_tree *t)
{
	return (size_t)t->cap * sizeof(*t->nodes);
}
