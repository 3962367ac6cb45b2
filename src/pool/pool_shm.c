/*
 * pool_shm: the shared tables of destination and pool records, and the
 * binding of a compiled policy to them (pool.h).
 *
 * Two open-addressing tables with linear probing, keyed by the 64-bit
 * identity of a destination (pool name + URI) or of a pool (its name).
 * Records are created by the master only, under one robust lock, and are
 * never removed or moved: a worker keeps plain indices into the tables
 * (policy_dest.state, policy_pool.state), and a record whose destination
 * left the policy stays, with its health, for the day it comes back.
 * Readers take no lock: a free slot is all zeroes, which is a valid
 * record (PH_UP, nothing in flight), so publishing the key with release
 * semantics is the whole of creation, and lookups read keys with acquire.
 */
#include "pool.h"

#include "blacklist.h"
#include "react.h"
#include "shlock.h"

#include <sipedge/error.h>

#include <stdio.h>
#include <string.h>

struct pool_shm_priv {
	struct shlock lock; /* record creation (pool_bind with create) */
};

/* Key 0 marks a free slot; an identity hashing to 0 is stored as 1 (a
 * collision with a real 1 is as likely as any 64-bit collision). */
static uint64_t slot_key(uint64_t key)
{
	return key ? key : 1;
}

/*
 * Where key lives in a table of cap (power of two) records of `size`
 * bytes whose first member is the atomic key: its index, or, when it is
 * absent, the free slot where it would go (*found false), or UINT32_MAX
 * when it is absent and the table is full. The identities are XXH3 values
 * already; the multiply only guards against keys made by hand (tests).
 */
static uint32_t slot_find(void *base, size_t size, uint32_t cap, uint64_t key, bool *found)
{
	uint32_t mask = cap - 1;
	uint32_t i = (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;

	for (uint32_t n = 0; n < cap; n++, i = (i + 1) & mask) {
		_Atomic uint64_t *k = (_Atomic uint64_t *)((char *)base + (size_t)i * size);
		uint64_t v = atomic_load_explicit(k, memory_order_acquire);
		if (v == key || v == 0) {
			*found = v == key;
			return i;
		}
	}
	*found = false;
	return UINT32_MAX;
}

static uint32_t pow2_ceil(uint32_t n)
{
	uint32_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/* n records of size bytes, zeroed, on a cache-line boundary (the records
 * are _Alignas(64); the arena only promises ARENA_ALIGN). */
static void *table_alloc(struct arena *a, uint32_t n, size_t size)
{
	size_t bytes = (size_t)n * size;
	char *raw = arena_alloc_permanent(a, bytes + 63);

	if (!raw)
		return NULL;
	char *t = (char *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
	memset(t, 0, bytes);
	return t;
}

int pool_shared_create(struct arena *a, const struct pool_caps *caps, struct pool_shared **out)
{
	if (caps->dests == 0 || caps->pools == 0 || caps->rules == 0 ||
	    caps->dests > POOL_TABLE_MAX || caps->pools > POOL_TABLE_MAX ||
	    caps->rules > POOL_TABLE_MAX)
		return SE_EINVAL;
	struct pool_shared *ps = arena_alloc_permanent(a, sizeof(*ps));
	struct pool_shm_priv *priv = arena_alloc_permanent(a, sizeof(*priv));
	if (!ps || !priv)
		return SE_ENOMEM;
	memset(ps, 0, sizeof(*ps));
	ps->dest_cap = pow2_ceil(caps->dests);
	ps->pool_cap = pow2_ceil(caps->pools);
	ps->rule_cap = pow2_ceil(caps->rules);
	ps->arena = a;
	ps->dests = table_alloc(a, ps->dest_cap, sizeof(struct pool_dest_state));
	ps->pools = table_alloc(a, ps->pool_cap, sizeof(struct pool_pool_state));
	ps->rules = table_alloc(a, ps->rule_cap, sizeof(struct pool_rule_state));
	if (!ps->dests || !ps->pools || !ps->rules)
		return SE_ENOMEM;
	int rc = shlock_init(&priv->lock);
	if (rc)
		return rc;
	ps->priv = priv;
	if (caps->blacklist) {
		rc = blacklist_create(a, caps->blacklist, &ps->blacklist);
		if (rc)
			return rc;
	}
	if (caps->reacts) {
		rc = react_table_create(a, caps->reacts, &ps->reacts);
		if (rc)
			return rc;
	}
	*out = ps;
	return 0;
}

static char why_buf[160];

/*
 * The record of `key` in one table: its index in *idx, creating it when
 * create is set (the caller holds the lock). `what` names the object in
 * the message left in why_buf.
 */
static int bind_one(void *base, size_t size, uint32_t cap, uint64_t key, bool create,
                    const char *what, const char *name, uint32_t *idx)
{
	bool found;
	uint64_t k = slot_key(key);
	uint32_t i = slot_find(base, size, cap, k, &found);

	if (found) {
		*idx = i;
		return 0;
	}
	if (!create) {
		snprintf(why_buf, sizeof(why_buf),
		         "no shared record for %s %s (the master has not bound this policy)", what,
		         name);
		return SE_ENOENT;
	}
	if (i == UINT32_MAX) {
		snprintf(why_buf, sizeof(why_buf), "too many %ss for the shared table (%u)", what,
		         cap);
		return SE_ENOSPC;
	}
	atomic_store_explicit((_Atomic uint64_t *)((char *)base + (size_t)i * size), k,
	                      memory_order_release);
	*idx = i;
	return 0;
}

static int bind_all(struct pool_shared *ps, struct policy *p, bool create)
{
	for (uint32_t i = 0; i < p->n_pools; i++) {
		struct policy_pool *pp = &p->pools[i];
		int rc = bind_one(ps->pools, sizeof(*ps->pools), ps->pool_cap, pp->key, create,
		                  "pool", pp->name ? pp->name : "?", &pp->state);
		if (rc)
			return rc;
	}
	for (uint32_t i = 0; i < p->n_dests; i++) {
		struct policy_dest *d = &p->dests[i];
		int rc = bind_one(ps->dests, sizeof(*ps->dests), ps->dest_cap, d->key, create,
		                  "destination", d->uri ? d->uri : "?", &d->state);
		if (rc)
			return rc;
	}
	for (uint32_t i = 0; i < p->n_rules; i++) {
		struct policy_rule *r = &p->rules[i];
		int rc = bind_one(ps->rules, sizeof(*ps->rules), ps->rule_cap, r->key, create,
		                  "rule", r->name ? r->name : "?", &r->state);
		if (rc)
			return rc;
	}
	return 0;
}

/* The reactions of every rule and pool (react.h); *why set on error. */
static int bind_reactions(struct pool_shared *ps, struct policy *p, bool create, const char **why)
{
	for (uint32_t i = 0; i < p->n_rules + p->n_pools; i++) {
		struct policy_reactions *r =
		    i < p->n_rules ? &p->rules[i].on : &p->pools[i - p->n_rules].on;
		if (r->n == 0) {
			r->state = POLICY_NONE;
			continue;
		}
		if (!ps->reacts) {
			*why = "this daemon keeps no shared reactions table";
			return SE_ENOSPC;
		}
		int rc = react_bind(ps->reacts, ps->arena, r, create, why);
		if (rc)
			return rc;
	}
	return 0;
}

int pool_bind(struct pool_shared *ps, struct policy *p, bool create, const char **why)
{
	struct pool_shm_priv *priv = ps->priv;
	int rc;

	const char *rwhy = NULL;

	if (!create) {
		rc = bind_all(ps, p, false);
		if (rc == 0)
			rc = bind_reactions(ps, p, false, &rwhy);
	} else if ((rc = shlock_lock(&priv->lock)) < 0) {
		snprintf(why_buf, sizeof(why_buf), "pool table lock: %s", se_strerror(rc));
	} else {
		/* SHLOCK_RECOVERED needs no repair: a creator publishes one
		 * key with one store (a reaction blob is complete before its
		 * key is), so a dead one left nothing half done. */
		rc = bind_all(ps, p, true);
		if (rc == 0)
			rc = bind_reactions(ps, p, true, &rwhy);
		shlock_unlock(&priv->lock);
	}
	if (rc && why)
		*why = rwhy ? rwhy : why_buf;
	return rc;
}
