/*
 * policy_build: assembling a policy, then packing it into one block.
 *
 * The packed layout is header | pools | dests | rules | strings, each part
 * aligned for the widest member (struct sockaddr_storage), so the block is
 * position-independent: a byte copy of it anywhere is a valid policy.
 */
#include "policy_build.h"
#include "xmem.h"

#include <stdalign.h>
#include <stddef.h>

#define ALIGN alignof(max_align_t)

static size_t align_up(size_t n)
{
	return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
}

void policy_build_free(struct policy_build *b)
{
	free(b->pools);
	free(b->dests);
	free(b->rules);
	free(b->strs);
	*b = (struct policy_build){0};
}

uint32_t policy_build_str(struct policy_build *b, const char *s)
{
	size_t len = strlen(s) + 1;
	if (b->n_strs + len > b->cap_strs) {
		size_t cap = b->cap_strs ? b->cap_strs : 256;
		while (cap < b->n_strs + len)
			cap *= 2;
		b->strs = xmem_realloc(b->strs, cap);
		b->cap_strs = cap;
	}
	size_t off = b->n_strs;
	memcpy(b->strs + off, s, len);
	b->n_strs += len;
	/* Past 4 GiB offsets wrap, but policy_build_pack then refuses the
	 * block, so a wrapped offset is never used. */
	return (uint32_t)off;
}

uint32_t policy_build_pool(struct policy_build *b)
{
	b->pools = xmem_grow(b->pools, &b->cap_pools, b->n_pools, sizeof(*b->pools));
	b->pools[b->n_pools] = (struct policy_pool){0};
	return (uint32_t)b->n_pools++;
}

uint32_t policy_build_dest(struct policy_build *b)
{
	b->dests = xmem_grow(b->dests, &b->cap_dests, b->n_dests, sizeof(*b->dests));
	b->dests[b->n_dests] = (struct policy_dest){.pool = POLICY_NONE};
	return (uint32_t)b->n_dests++;
}

uint32_t policy_build_rule(struct policy_build *b)
{
	b->rules = xmem_grow(b->rules, &b->cap_rules, b->n_rules, sizeof(*b->rules));
	b->rules[b->n_rules] = (struct policy_rule){.pool = POLICY_NONE, .dest = POLICY_NONE};
	return (uint32_t)b->n_rules++;
}

struct policy *policy_build_pack(struct policy_build *b, const char *file)
{
	uint32_t file_str = policy_build_str(b, file);
	size_t pools = align_up(sizeof(struct policy));
	size_t dests = align_up(pools + b->n_pools * sizeof(struct policy_pool));
	size_t rules = align_up(dests + b->n_dests * sizeof(struct policy_dest));
	size_t strs = align_up(rules + b->n_rules * sizeof(struct policy_rule));
	size_t size = strs + b->n_strs;
	if (size > UINT32_MAX)
		return NULL;

	char *blk = xmem_calloc(1, size);
	struct policy *p = (struct policy *)blk;
	*p = (struct policy){
	    .size = (uint32_t)size,
	    .n_pools = (uint32_t)b->n_pools,
	    .n_dests = (uint32_t)b->n_dests,
	    .n_rules = (uint32_t)b->n_rules,
	    .pools_off = (uint32_t)pools,
	    .dests_off = (uint32_t)dests,
	    .rules_off = (uint32_t)rules,
	    .strs_off = (uint32_t)strs,
	    .file = file_str,
	};
	if (b->n_pools)
		memcpy(blk + pools, b->pools, b->n_pools * sizeof(struct policy_pool));
	if (b->n_dests)
		memcpy(blk + dests, b->dests, b->n_dests * sizeof(struct policy_dest));
	if (b->n_rules)
		memcpy(blk + rules, b->rules, b->n_rules * sizeof(struct policy_rule));
	memcpy(blk + strs, b->strs, b->n_strs);
	return p;
}
