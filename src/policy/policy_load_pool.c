/*
 * policy_load_pool: `pools:`, their destinations, and the blocks that
 * describe health and failover (probe, passive, failover), which rules and
 * destinations reuse.
 *
 * A block written somewhere replaces the inherited one whole: keys it
 * omits take the defaults below, not the pool's values, so that reading
 * one block tells everything it does. The defaults are those of policy.h
 * (and docs/policy.md):
 *   probe     off; when on: every 10s, 2s timeout, down after 3 failures,
 *             up after 2 successes, alive on 100-499 except 408
 *   passive   down after 5 consecutive failures, for 30s
 *   failover  on 408 and 5xx, on timeout, on transport error, 3 tries
 * A destination's identity across reloads (its key) is its pool's name and
 * its URI as written (XXH3), so that a reload keeps a destination's health
 * and load as long as those two stay.
 */
#include "policy_dest.h"
#include "policy_load.h"

#include <sipedge/error.h>

#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define SEC(x) ((x)*1000u)

/* ---- response code sets ------------------------------------------------- */

static void codes_set(struct policy_codes *c, unsigned from, unsigned to)
{
	for (unsigned code = from; code <= to; code++)
		c->bits[(code - 100) / 64] |= 1ull << ((code - 100) % 64);
}

static void codes_clear(struct policy_codes *c, unsigned code)
{
	c->bits[(code - 100) / 64] &= ~(1ull << ((code - 100) % 64));
}

/* "a class (3xx..6xx)", or "the class 1xx" when min..max is within one. */
static const char *classes_text(unsigned min, unsigned max, char *buf, size_t size)
{
	if (min / 100 == max / 100)
		snprintf(buf, size, "the class %uxx", min / 100);
	else
		snprintf(buf, size, "a class (%uxx..%uxx)", min / 100, max / 100);
	return buf;
}

int pload_codes(struct pload *ld, const struct ydoc_node *val, const char *what,
                struct policy_codes *out, unsigned min, unsigned max)
{
	const struct ydoc_node *one, *const *items;
	size_t n;
	struct policy_codes c = {{0}};
	bool ok = true;

	if (pload_scalars(ld, val, what, &one, &items, &n))
		return SE_ECONFIG;
	for (size_t i = 0; i < n; i++) {
		const char *s;
		if (ydoc_read_str(items[i], what, &s, ld->errs)) {
			ok = false;
			continue;
		}
		unsigned from = 0, to = 0;
		if (strlen(s) == 3 && s[0] >= '1' && s[0] <= '6' && (s[1] | 0x20) == 'x' &&
		    (s[2] | 0x20) == 'x') {
			from = (unsigned)(s[0] - '0') * 100;
			to = from + 99;
			/* a class is the part of it within min..max: 1xx for
			 * 101..199 leaves 100 out */
			if (to >= min && from <= max) {
				from = from < min ? min : from;
				to = to > max ? max : to;
			} else {
				from = 0;
			}
		} else if (strlen(s) == 3 && s[0] >= '1' && s[0] <= '6' && s[1] >= '0' &&
		           s[1] <= '9' && s[2] >= '0' && s[2] <= '9') {
			from = to = (unsigned)atoi(s);
		}
		if (!from || from < min || to > max) {
			char cls[48];
			ydoc_errs_add(ld->errs, items[i],
			              "%s: bad code '%s': use a status code (%u..%u) or %s", what,
			              s, min, max, classes_text(min, max, cls, sizeof(cls)));
			ok = false;
			continue;
		}
		codes_set(&c, from, to);
	}
	if (!ok)
		return SE_ECONFIG;
	*out = c;
	return 0;
}

/* ---- probe ------------------------------------------------------------ */

static void probe_defaults(struct policy_probe *pr)
{
	*pr = (struct policy_probe){
	    .interval_ms = SEC(10),
	    .timeout_ms = SEC(2),
	    .down_after = 3,
	    .up_after = 2,
	};
	codes_set(&pr->ok, 100, 499);
	codes_clear(&pr->ok, 408);
}

static void read_probe_codes(struct pload *ld, const struct ydoc_node *key,
                             const struct ydoc_node *val, const char *what, void *obj)
{
	(void)key;
	pload_codes(ld, val, what, obj, 100, 699);
}

static const struct pload_key probe_keys[] = {
    {"interval", PT_MS, 0, offsetof(struct policy_probe, interval_ms), 100, SEC(3600), NULL, NULL},
    {"timeout", PT_MS, 0, offsetof(struct policy_probe, timeout_ms), 100, SEC(60), NULL, NULL},
    {"down-after", PT_U32, 0, offsetof(struct policy_probe, down_after), 1, 100, NULL, NULL},
    {"up-after", PT_U32, 0, offsetof(struct policy_probe, up_after), 1, 100, NULL, NULL},
    {"codes", PT_FN, 0, offsetof(struct policy_probe, ok), 0, 0, read_probe_codes, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

/* `probe: true`, `probe: false`, or a mapping (on, with those keys). */
static void read_probe(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                       const char *what, void *obj)
{
	struct policy_probe *pr = obj;
	(void)key;
	probe_defaults(pr);
	if (val->type == YDOC_SCALAR) {
		const char *why;
		if (ydoc_read_bool_text(val->scalar.str, &pr->enabled, &why))
			ydoc_errs_add(ld->errs, val,
			              "%s: expected true, false or a mapping, got '%s'", what,
			              val->scalar.str);
		return;
	}
	if (pload_walk(ld, val, probe_keys, what, what, pr))
		return;
	pr->enabled = true;
	if (pr->timeout_ms >= pr->interval_ms) {
		const struct ydoc_node *at = ydoc_map_get(val, "timeout");
		ydoc_errs_add(ld->errs, at ? at : val,
		              "%s.timeout: must be shorter than the interval (%ums)", what,
		              (unsigned)pr->interval_ms);
	}
}

/* ---- passive health, failover ------------------------------------------- */

static const struct pload_key passive_keys[] = {
    {"failures", PT_U32, 0, offsetof(struct policy_passive, failures), 0, 1000, NULL, NULL},
    {"down-for", PT_MS, 0, offsetof(struct policy_passive, down_ms), SEC(1), SEC(3600), NULL, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

static void read_passive(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                         const char *what, void *obj)
{
	(void)key;
	pload_walk(ld, val, passive_keys, what, what, obj);
}

void pload_failover_defaults(struct policy_failover *f)
{
	*f = (struct policy_failover){
	    .on_timeout = true,
	    .on_transport_error = true,
	    .max_tries = 3,
	};
	codes_set(&f->codes, 408, 408);
	codes_set(&f->codes, 500, 599);
}

static void read_failover_codes(struct pload *ld, const struct ydoc_node *key,
                                const struct ydoc_node *val, const char *what, void *obj)
{
	(void)key;
	pload_codes(ld, val, what, obj, 300, 699);
}

static const struct pload_key failover_keys[] = {
    {"codes", PT_FN, 0, offsetof(struct policy_failover, codes), 0, 0, read_failover_codes, NULL},
    {"on-timeout", PT_BOOL, 0, offsetof(struct policy_failover, on_timeout), 0, 0, NULL, NULL},
    {"on-transport-error", PT_BOOL, 0, offsetof(struct policy_failover, on_transport_error), 0, 0,
     NULL, NULL},
    {"max-tries", PT_U32, 0, offsetof(struct policy_failover, max_tries), 1, PLOAD_MAX_TRIES, NULL,
     "a request has at most 4 branches, one per destination tried"},
    {"timeout", PT_MS, 0, offsetof(struct policy_failover, timeout_ms), 50, 3600000, NULL, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

void pload_failover(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                    const char *what, void *obj)
{
	(void)key;
	pload_failover_defaults(obj);
	pload_walk(ld, val, failover_keys, what, what, obj);
}

/* ---- destinations ----------------------------------------------------- */

static uint32_t dest_slot(struct pload *ld, const struct ydoc_node *at, uint32_t pool)
{
	ld->dests = xmem_grow(ld->dests, &ld->cap_dests, ld->n_dests, sizeof(*ld->dests));
	uint32_t d = (uint32_t)ld->n_dests++;
	struct policy_dest *dest = &ld->dests[d];
	*dest = (struct policy_dest){
	    .pool = pool,
	    .weight = 1,
	    .state = POLICY_NONE,
	    .line = at->line,
	    .col = at->col,
	};
	if (pool == POLICY_NONE)
		probe_defaults(&dest->probe);
	else
		dest->probe = ld->p->pools[pool].probe;
	return d;
}

/* Identity: XXH3 of pool name, NUL, URI ("" for a rule's URI). */
static void dest_key(struct pload *ld, struct policy_dest *d)
{
	const char *pool = d->pool == POLICY_NONE ? "" : ld->p->pools[d->pool].name;
	if (!d->uri)
		return;
	size_t pl = strlen(pool) + 1, ul = strlen(d->uri);
	char *k = xmem_malloc(pl + ul);
	memcpy(k, pool, pl);
	memcpy(k + pl, d->uri, ul);
	d->key = XXH3_64bits(k, pl + ul);
	free(k);
}

static void read_dest_uri(struct pload *ld, const struct ydoc_node *key,
                          const struct ydoc_node *val, const char *what, void *obj)
{
	struct policy_dest *d = obj;
	const char *s;
	(void)key;
	if (ydoc_read_str(val, what, &s, ld->errs))
		return;
	d->uri = pload_str(ld, val);
	policy_dest_parse(val, d, ld->errs);
}

uint32_t pload_dest_new(struct pload *ld, const struct ydoc_node *n, uint32_t pool)
{
	uint32_t d = dest_slot(ld, n, pool);
	read_dest_uri(ld, NULL, n, "uri", &ld->dests[d]);
	dest_key(ld, &ld->dests[d]);
	return d;
}

static const struct pload_key dest_keys[] = {
    {"uri", PT_FN, PK_REQUIRED, 0, 0, 0, read_dest_uri, NULL},
    {"weight", PT_U32, 0, offsetof(struct policy_dest, weight), 0, 1000, NULL, NULL},
    {"priority", PT_U32, 0, offsetof(struct policy_dest, priority), 0, 1000, NULL, NULL},
    {"max-calls", PT_U32, 0, offsetof(struct policy_dest, max_inflight), 0, 1000000, NULL, NULL},
    {"max-cps", PT_U32, 0, offsetof(struct policy_dest, max_cps), 0, 100000, NULL, NULL},
    {"probe", PT_FN, 0, offsetof(struct policy_dest, probe), 0, 0, read_probe, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

static bool same_addr(const struct policy_dest *a, const struct policy_dest *b)
{
	if (a->addr.sa.sa_family != b->addr.sa.sa_family || a->port != b->port ||
	    a->transport != b->transport)
		return false;
	if (a->addr.sa.sa_family == AF_INET)
		return a->addr.in.sin_addr.s_addr == b->addr.in.sin_addr.s_addr;
	return memcmp(&a->addr.in6.sin6_addr, &b->addr.in6.sin6_addr, 16) == 0;
}

/* Two entries for one next hop would count its load twice and share one
 * health record under two keys: refused. */
static void check_dup_dest(struct pload *ld, const struct policy_pool *pool, uint32_t d)
{
	const struct policy_dest *nd = &ld->dests[d];
	if (nd->addr.sa.sa_family == AF_UNSPEC)
		return; /* its URI was refused */
	for (uint32_t i = pool->first_dest; i < d; i++) {
		if (!same_addr(&ld->dests[i], nd))
			continue;
		ydoc_errs_add_at(ld->errs, ld->file, nd->line, nd->col,
		                 "duplicate destination in pool '%s': same address and "
		                 "transport as line %u",
		                 pool->name, (unsigned)ld->dests[i].line);
		return;
	}
}

static void read_destinations(struct pload *ld, const struct ydoc_node *key,
                              const struct ydoc_node *val, const char *what, void *obj)
{
	struct policy_pool *pool = obj;
	uint32_t pi = (uint32_t)(pool - ld->p->pools);
	(void)key;
	if (ydoc_is_null(val) || (val->type == YDOC_SEQ && val->seq.n == 0)) {
		ydoc_errs_add(ld->errs, val, "pool '%s' has no destinations", pool->name);
		return;
	}
	if (ydoc_expect(val, YDOC_SEQ, what, ld->errs))
		return;
	if (val->seq.n > POLICY_POOL_DESTS_MAX) {
		ydoc_errs_add(ld->errs, val->seq.items[POLICY_POOL_DESTS_MAX],
		              "pool '%s' has %zu destinations: at most %d (split it, or route by "
		              "a prefix table to several pools)",
		              pool->name, val->seq.n, POLICY_POOL_DESTS_MAX);
		return;
	}
	pool->first_dest = (uint32_t)ld->n_dests;
	for (size_t i = 0; i < val->seq.n; i++) {
		const struct ydoc_node *item = val->seq.items[i];
		uint32_t d;
		if (item->type == YDOC_SCALAR) {
			d = pload_dest_new(ld, item, pi);
		} else if (item->type != YDOC_MAP) {
			ydoc_errs_add(ld->errs, item,
			              "destination: expected a URI or a mapping, got %s",
			              ydoc_describe(item));
			continue;
		} else {
			d = dest_slot(ld, item, pi);
			pload_walk(ld, item, dest_keys, "destination", NULL, &ld->dests[d]);
			dest_key(ld, &ld->dests[d]);
		}
		check_dup_dest(ld, pool, d);
	}
	pool->n_dests = (uint32_t)ld->n_dests - pool->first_dest;
}

/* ---- pools ------------------------------------------------------------ */

static const char *const hash_names[] = {
    [PHK_CALL_ID] = "call-id",
    [PHK_FROM_USER] = "from-user",
    [PHK_RURI_USER] = "ruri-user",
    [PHK_SOURCE_IP] = "source-ip",
};

/* The index of val in names[1..n), or 0 (reported, listing the names). */
static uint8_t read_enum(struct pload *ld, const struct ydoc_node *val, const char *what,
                         const char *const *names, size_t n)
{
	const char *s;
	if (ydoc_read_str(val, what, &s, ld->errs))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (uint8_t)i;
	char list[160];
	size_t len = 0;
	for (size_t i = 1; i < n && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
		                        i == 1       ? ""
		                        : i + 1 == n ? " or "
		                                     : ", ",
		                        names[i]);
	ydoc_errs_add(ld->errs, val, "%s: unknown value '%s' (use %s)", what, s, list);
	return 0;
}

static void read_algorithm(struct pload *ld, const struct ydoc_node *key,
                           const struct ydoc_node *val, const char *what, void *obj)
{
	struct policy_pool *pool = obj;
	(void)key;
	uint8_t a = read_enum(ld, val, what, policy_algo_names, POLICY_NALGOS);
	if (a)
		pool->algo = a;
	if (pool->algo == PALG_HASH)
		pool->hash_key = PHK_CALL_ID;
}

/* After `algorithm` (table order): it is known here. */
static void read_hash(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                      const char *what, void *obj)
{
	struct policy_pool *pool = obj;
	uint8_t h = read_enum(ld, val, what, hash_names, sizeof(hash_names) / sizeof(*hash_names));
	if (pool->algo != PALG_HASH) {
		ydoc_errs_add(ld->errs, key, "%s: only with algorithm hash", what);
		return;
	}
	if (h)
		pool->hash_key = h;
}

static const struct pload_key pool_keys[] = {
    {"algorithm", PT_FN, 0, 0, 0, 0, read_algorithm, NULL},
    {"hash", PT_FN, 0, 0, 0, 0, read_hash, NULL},
    {"probe", PT_FN, 0, offsetof(struct policy_pool, probe), 0, 0, read_probe, NULL},
    {"passive", PT_FN, 0, offsetof(struct policy_pool, passive), 0, 0, read_passive, NULL},
    {"slow-start", PT_MS, 0, offsetof(struct policy_pool, slow_start_ms), 0, SEC(600), NULL, NULL},
    {"failover", PT_FN, 0, offsetof(struct policy_pool, failover), 0, 0, pload_failover, NULL},
    {"on", PT_FN, 0, offsetof(struct policy_pool, on), 0, 0, pload_on, NULL},
    /* last: destinations start from the pool's probe */
    {"destinations", PT_FN, PK_REQUIRED, 0, 0, 0, read_destinations, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

static void read_pool(struct pload *ld, const struct ydoc_node *name, const struct ydoc_node *val,
                      uint32_t index)
{
	struct policy_pool *pool = &ld->p->pools[index];
	char what[PLOAD_NAME_MAX + 16];

	*pool = (struct policy_pool){
	    .name = pload_str(ld, name),
	    .algo = PALG_ROUND_ROBIN,
	    .first_dest = (uint32_t)ld->n_dests,
	    .key = XXH3_64bits(name->scalar.str, name->scalar.len),
	    .state = POLICY_NONE,
	    .on = {.state = POLICY_NONE},
	    .line = name->line,
	    .col = name->col,
	    .passive = {.failures = 5, .down_ms = SEC(30)},
	};
	probe_defaults(&pool->probe);
	pload_failover_defaults(&pool->failover);
	snprintf(what, sizeof(what), "pool '%s'", name->scalar.str);
	pload_walk(ld, val, pool_keys, what, NULL, pool);
}

/* `pools:` with nothing is a policy that only forwards or answers. */
void pload_pools(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                 const char *what, void *obj)
{
	struct policy *p = ld->p;
	(void)key;
	(void)obj;
	pload_named(ld, val, what, "pool", sizeof(*p->pools), (void **)&p->pools, &p->n_pools,
	            &ld->pools, &ld->pool_uses, read_pool);
}
