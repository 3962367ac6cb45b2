/*
 * policy: the routing policy (policy.yaml), loaded into one immutable,
 * relocatable block.
 *
 * A policy is flat arrays (pools, destinations, rules) and a string table,
 * all in a single allocation and referring to each other by index and
 * offset, never by pointer: copying it (into the shared arena for the
 * workers, say) is one memcpy of policy->size bytes, and the copy is
 * valid as is. Reads go through the inline accessors below.
 *
 * This is the first piece of the policy module: pools of destinations and
 * an ordered list of rules whose action is `route` (to a pool) or
 * `forward` (to one URI, or to the Request-URI). Matching conditions, pool
 * algorithms, health and reactions extend these structures; the loader is
 * table-driven (policy_load.c) so each addition is a key row and a reader.
 */
#ifndef SE_POLICY_POLICY_H
#define SE_POLICY_POLICY_H

#include "config.h" /* enum config_transport */
#include "ydoc.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define POLICY_NONE UINT32_MAX /* "no index" */

/* A next hop: where a request is sent. */
struct policy_dest {
	struct sockaddr_storage addr; /* IP and port, ready for sendto() */
	uint32_t uri;                 /* string: the URI as written */
	uint32_t pool;                /* owning pool, or POLICY_NONE for a rule's forward target */
	uint32_t line;                /* where it is written in the policy file */
	uint16_t port;                /* host order; the scheme's default if the URI has none */
	uint8_t scheme;               /* SE_URI_SIP or SE_URI_SIPS (sipedge/uri.h) */
	uint8_t transport;            /* enum config_transport */
};

/* A named set of destinations: dests [first_dest, first_dest + n_dests). */
struct policy_pool {
	uint32_t name; /* string */
	uint32_t first_dest;
	uint32_t n_dests; /* >= 1 */
	uint32_t line;
};

enum policy_action {
	POLICY_ACT_ROUTE = 1, /* to the pool rule.pool */
	POLICY_ACT_FORWARD,   /* to the destination rule.dest; POLICY_NONE: to the Request-URI */
};

/* One rule; rules are tried in order, the first that matches wins. (All
 * rules match everything for now: conditions come with the decision tree.) */
struct policy_rule {
	uint32_t name; /* string, unique in the policy */
	uint32_t pool; /* POLICY_ACT_ROUTE: index into pools, else POLICY_NONE */
	uint32_t dest; /* POLICY_ACT_FORWARD: index into dests or POLICY_NONE */
	uint32_t line;
	uint8_t action; /* enum policy_action */
};

/*
 * The policy block. Offsets are bytes from the start of this struct; the
 * arrays and the string table follow it in the same allocation. Read-only.
 */
struct policy {
	uint32_t size; /* bytes of the whole block, this header included */
	uint32_t n_pools, n_dests, n_rules;
	uint32_t pools_off, dests_off, rules_off, strs_off;
	uint32_t file; /* string: the policy file as given to policy_load */
};

static inline const struct policy_pool *policy_pool(const struct policy *p, uint32_t i)
{
	return (const struct policy_pool *)((const char *)p + p->pools_off) + i;
}

static inline const struct policy_dest *policy_dest(const struct policy *p, uint32_t i)
{
	return (const struct policy_dest *)((const char *)p + p->dests_off) + i;
}

static inline const struct policy_rule *policy_rule(const struct policy *p, uint32_t i)
{
	return (const struct policy_rule *)((const char *)p + p->rules_off) + i;
}

/* A string of the policy (pool, rule and file names, URIs), NUL-terminated. */
static inline const char *policy_str(const struct policy *p, uint32_t s)
{
	return (const char *)p + p->strs_off + s;
}

/*
 * Load and check the policy file at `path`. Returns 0 with *out set (free
 * it with policy_free), or SE_ECONFIG with *out NULL. Every error and
 * warning is added to errs, sorted by position; warnings (a pool no rule
 * uses) never make the load fail.
 */
int policy_load(const char *path, struct policy **out, struct ydoc_errs *errs);

void policy_free(struct policy *p);

/* Index of the pool called `name`, or POLICY_NONE. */
uint32_t policy_pool_find(const struct policy *p, const char *name);

/*
 * One line for `sipedge -t`: "2 rules, 1 pool, 3 destinations". Returns
 * what snprintf returns.
 */
int policy_summary(const struct policy *p, char *buf, size_t size);

#endif
