/*
 * policy_build: growable arrays a policy is assembled in, then packed into
 * the single relocatable block of struct policy. Internal to the policy
 * module; the loader is its only user.
 */
#ifndef SE_POLICY_BUILD_H
#define SE_POLICY_BUILD_H

#include "policy.h"

struct policy_build {
	struct policy_pool *pools;
	size_t n_pools, cap_pools;
	struct policy_dest *dests;
	size_t n_dests, cap_dests;
	struct policy_rule *rules;
	size_t n_rules, cap_rules;
	char *strs; /* string table: NUL-terminated strings end to end */
	size_t n_strs, cap_strs;
};

/* Zero-initialise, then use; release with policy_build_free. */
void policy_build_free(struct policy_build *b);

/* Append a copy of s to the string table; returns its offset. */
uint32_t policy_build_str(struct policy_build *b, const char *s);

/* Append a zeroed element; returns its index. Pointers into the arrays
 * move as they grow: hold indices across appends. */
uint32_t policy_build_pool(struct policy_build *b);
uint32_t policy_build_dest(struct policy_build *b);
uint32_t policy_build_rule(struct policy_build *b);

/*
 * Pack everything into one block; `file` becomes its file string. Returns
 * the block (free with policy_free), or NULL if it would exceed 4 GiB, the
 * reach of the 32-bit offsets.
 */
struct policy *policy_build_pack(struct policy_build *b, const char *file);

#endif
