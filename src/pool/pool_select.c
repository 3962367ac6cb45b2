/*
 * pool_select: the balancing algorithms (pool.h, pool_select).
 *
 * One call lists the usable destinations of the pool on the stack (health
 * read from shared memory), ranks them by the pool's algorithm, sorts by
 * (class, rank) and writes the order, skipping blacklisted ones. Classes:
 * the destinations that take traffic, then those that slow start sent to
 * the back for this call, then the weight-0 backups. Nothing is allocated
 * and nothing is locked; the only shared write is one fetch_add on the
 * pool's rr for the algorithms that rotate.
 *
 * Weighted round-robin must give the same answer in every process without
 * a lock, so it keeps no per-destination "current weight" (nginx's smooth
 * WRR does, under its upstream lock). Its schedule is instead a fixed
 * permutation of [0, W) (W = the sum of the weights): position pos maps to
 * v = pos * g mod W, with g coprime to W and close to W / phi, and v falls
 * in the weight interval of one destination. Over every W consecutive
 * positions each destination gets exactly its weight; the golden-ratio
 * stride spreads a heavy destination's turns through the period as nginx's
 * sequence does; the only shared state is rr; and health or slow-start
 * changes take effect at the next call with nothing to rebuild.
 *
 * Hashing is weighted rendezvous hashing (HRW; Thaler and Ravishankar,
 * weighted as in Schindelhauer and Schomaker): each destination scores
 * -w / ln(u), u in (0, 1) the hash of the key seeded with the
 * destination's identity, and the highest score goes first. A score does
 * not depend on the other destinations, so a destination that leaves
 * moves only the calls it had, and one that comes back takes only those.
 */
#include "pool.h"

#include "blacklist.h"

#include <math.h>
#include <string.h>
#include <xxhash.h>

enum cand_class {
	CLS_MAIN,    /* takes traffic in the algorithm's order */
	CLS_RAMPING, /* in slow start and not drawn this time: after the main ones */
	CLS_BACKUP,  /* weight 0: only when no other usable one is left */
};

struct cand {
	uint64_t rank;     /* the algorithm's order, ascending */
	uint32_t dest;     /* index into p->dests */
	uint16_t permille; /* slow-start ramp, 1000 = full weight */
	uint8_t cls;       /* enum cand_class, sorted on first */
};

/* c[0, m): weight > 0, in written order; c[m, n): weight 0, written order. */
struct sel {
	struct cand c[POOL_DESTS_MAX];
	uint32_t m, n;
	bool ramping; /* some c[i].permille < 1000 */
};

static void sel_push(struct sel *s, struct pool_shared *ps, const struct policy *p, uint32_t di,
                     enum cand_class cls, uint64_t rank, uint64_t now_ms)
{
	struct cand *c = &s->c[s->n++];

	c->dest = di;
	c->permille = (uint16_t)pool_dest_weight_permille(ps, p, &p->dests[di], now_ms);
	c->cls = (uint8_t)cls;
	c->rank = rank;
	s->ramping |= cls == CLS_MAIN && c->permille < 1000;
}

static void sel_gather(struct sel *s, struct pool_shared *ps, const struct policy *p,
                       const struct policy_pool *pp, uint64_t now_ms)
{
	uint32_t count = pp->n_dests < POOL_DESTS_MAX ? pp->n_dests : POOL_DESTS_MAX;
	uint32_t backup[POOL_DESTS_MAX], nb = 0;

	s->n = 0;
	s->ramping = false;
	for (uint32_t i = 0; i < count && pp->first_dest + i < p->n_dests; i++) {
		uint32_t di = pp->first_dest + i;
		const struct policy_dest *d = &p->dests[di];
		if (d->state == POLICY_NONE || pool_dest_health(ps, d, now_ms) != PH_UP)
			continue;
		if (d->weight == 0)
			backup[nb++] = di;
		else
			sel_push(s, ps, p, di, CLS_MAIN, 0, now_ms);
	}
	/* Backups keep their written order among themselves; when nothing
	 * else is usable they are the pool, balanced as weight 1. */
	bool promote = s->n == 0;
	s->m = s->n;
	for (uint32_t i = 0; i < nb; i++)
		sel_push(s, ps, p, backup[i], promote ? CLS_MAIN : CLS_BACKUP, i, now_ms);
	if (promote)
		s->m = s->n;
}

/* This call's rotation position; the pool's moves on by one unless the
 * caller only looks (explain). */
static uint64_t next_rr(struct pool_shared *ps, const struct policy_pool *pp,
			const struct pool_keys *keys)
{
	_Atomic uint64_t *rr = &ps->pools[pp->state].rr;
	if (keys && keys->peek)
		return atomic_load_explicit(rr, memory_order_relaxed);
	return atomic_fetch_add_explicit(rr, 1, memory_order_relaxed);
}

/* The main candidates in written order, starting at k and wrapping. */
static void rank_rotate(struct sel *s, uint32_t k)
{
	for (uint32_t i = 0; i < s->m; i++)
		s->c[i].rank = (i + s->m - k) % s->m;
}

/* splitmix64's finaliser: a cheap, well-mixed draw from (r, key). */
static uint64_t mix64(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

/*
 * Slow start for the algorithms without weights: a ramping destination
 * stays in its place with probability ramp (its permille), else goes to
 * the back. The draw depends only on r (this call's rr) and the identity,
 * so it is cheap, differs between destinations and calls, and a test that
 * sets rr gets the same draws again.
 */
static void demote_ramping(struct sel *s, const struct policy *p, uint64_t r)
{
	for (uint32_t i = 0; i < s->m; i++) {
		struct cand *c = &s->c[i];
		if (c->permille < 1000 && mix64(r ^ p->dests[c->dest].key) % 1000 >= c->permille)
			c->cls = CLS_RAMPING;
	}
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* The schedule's stride for period w: near w / phi, coprime to w. */
static uint64_t golden_stride(uint64_t w)
{
	uint64_t g = (uint64_t)(((unsigned __int128)w * 0x9E3779B97F4A7C15ull) >> 64);

	if (g == 0)
		g = 1;
	while (gcd64(g, w) != 1)
		g++;
	return g;
}

/* Weight in per-mille units, so a ramp of 10% of weight 1 is still 100. */
static uint64_t eff_weight(const struct policy *p, const struct cand *c)
{
	uint32_t w = p->dests[c->dest].weight;

	return (uint64_t)(w ? w : 1) * c->permille;
}

/*
 * Weighted: the destination at schedule position r mod W goes first, then
 * the others in written order from it (the failover order). Weights are
 * divided by their common divisor first, so that without slow start the
 * period is the plain sum of the weights (1:2:1 repeats every 4 calls).
 */
static void rank_weighted(struct sel *s, const struct policy *p, uint64_t r)
{
	uint64_t div = 0, total = 0;

	for (uint32_t i = 0; i < s->m; i++)
		div = gcd64(div, eff_weight(p, &s->c[i]));
	for (uint32_t i = 0; i < s->m; i++)
		total += eff_weight(p, &s->c[i]) / div;
	uint64_t v = (uint64_t)((unsigned __int128)(r % total) * golden_stride(total) % total);
	uint32_t k = 0;
	for (uint64_t w; v >= (w = eff_weight(p, &s->c[k]) / div); k++)
		v -= w;
	rank_rotate(s, k);
}

/* The bytes to hash for this pool, or false when the request has none. */
static bool hash_input(const struct policy_pool *pp, const struct pool_keys *k, uint8_t ip[16],
                       const void **buf, size_t *len)
{
	if (!k)
		return false;
	switch (pp->hash_key) {
	case PHK_CALL_ID:
		*buf = k->call_id;
		*len = k->call_id_len;
		break;
	case PHK_FROM_USER:
		*buf = k->from_user;
		*len = k->from_user_len;
		break;
	case PHK_RURI_USER:
		*buf = k->ruri_user;
		*len = k->ruri_user_len;
		break;
	case PHK_SOURCE_IP:
		if (!blacklist_addr16(k->src, ip))
			return false;
		*buf = ip;
		*len = 16;
		break;
	default:
		return false;
	}
	return *buf && *len;
}

/* Weighted HRW: rank by descending -w / ln(u). A positive double's bits
 * order like the value, so the complement sorts the best score first. */
static void rank_hash(struct sel *s, const struct policy *p, const void *buf, size_t len)
{
	for (uint32_t i = 0; i < s->m; i++) {
		struct cand *c = &s->c[i];
		uint64_t h = XXH3_64bits_withSeed(buf, len, p->dests[c->dest].key);
		double u = ((double)(h >> 11) + 0.5) * 0x1p-53;
		double score = -(double)eff_weight(p, c) / log(u);
		uint64_t bits;
		memcpy(&bits, &score, sizeof(bits));
		c->rank = ~bits;
	}
}

static void rank_least_busy(struct sel *s, struct pool_shared *ps, const struct policy *p,
                            uint64_t r)
{
	rank_rotate(s, (uint32_t)(r % s->m));
	for (uint32_t i = 0; i < s->m; i++) {
		struct cand *c = &s->c[i];
		uint64_t busy = atomic_load_explicit(&pool_dstate(ps, &p->dests[c->dest])->inflight,
		                                     memory_order_relaxed);
		c->rank |= busy << 32;
	}
}

static void rank_priority(struct sel *s, const struct policy *p)
{
	for (uint32_t i = 0; i < s->m; i++)
		s->c[i].rank = (uint64_t)p->dests[s->c[i].dest].priority << 32 | i;
}

/* Rank the main candidates by the pool's algorithm. */
static void sel_rank(struct sel *s, struct pool_shared *ps, const struct policy *p,
                     const struct policy_pool *pp, const struct pool_keys *keys)
{
	uint8_t ip[16];
	const void *buf;
	size_t len;
	uint64_t r;

	switch (pp->algo) {
	case PALG_WEIGHTED:
		rank_weighted(s, p, next_rr(ps, pp, keys));
		return;
	case PALG_HASH:
		if (hash_input(pp, keys, ip, &buf, &len)) {
			rank_hash(s, p, buf, len);
			return;
		}
		break; /* no key in this request: round-robin */
	case PALG_LEAST_BUSY:
		r = next_rr(ps, pp, keys);
		rank_least_busy(s, ps, p, r);
		if (s->ramping)
			demote_ramping(s, p, r);
		return;
	case PALG_PRIORITY:
		rank_priority(s, p);
		if (s->ramping)
			demote_ramping(s, p, next_rr(ps, pp, keys));
		return;
	default:
		break;
	}
	r = next_rr(ps, pp, keys);
	rank_rotate(s, (uint32_t)(r % s->m));
	if (s->ramping)
		demote_ramping(s, p, r);
}

static bool cand_before(const struct cand *a, const struct cand *b)
{
	if (a->cls != b->cls)
		return a->cls < b->cls;
	if (a->rank != b->rank)
		return a->rank < b->rank;
	return a->dest < b->dest;
}

/* Shell sort (Ciura's gaps): in place, no allocation (qsort may malloc),
 * and quick enough for POOL_DESTS_MAX entries. */
static void cand_sort(struct cand *c, uint32_t n)
{
	static const uint32_t gaps[] = {132, 57, 23, 10, 4, 1};

	for (size_t g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
		uint32_t gap = gaps[g];
		for (uint32_t i = gap; i < n; i++) {
			struct cand t = c[i];
			uint32_t j = i;
			for (; j >= gap && cand_before(&t, &c[j - gap]); j -= gap)
				c[j] = c[j - gap];
			c[j] = t;
		}
	}
}

uint32_t pool_select(struct pool_shared *ps, const struct policy *p, uint32_t pool,
                     const struct pool_keys *keys, uint64_t now_ms, uint32_t *out, uint32_t max)
{
	if (pool >= p->n_pools || max == 0)
		return 0;
	const struct policy_pool *pp = &p->pools[pool];
	if (pp->state == POLICY_NONE)
		return 0;
	struct sel s;
	sel_gather(&s, ps, p, pp, now_ms);
	if (s.n == 0)
		return 0;
	sel_rank(&s, ps, p, pp, keys);
	cand_sort(s.c, s.n);
	/* The blacklist last, and only as far as needed: its check takes a
	 * lock when the list is not empty. */
	uint32_t k = 0;
	for (uint32_t i = 0; i < s.n && k < max; i++) {
		const struct policy_dest *d = &p->dests[s.c[i].dest];
		if (ps->blacklist && blacklist_check(ps->blacklist, &d->addr.sa, d->port,
		                                     d->transport, now_ms, NULL))
			continue;
		out[k++] = s.c[i].dest;
	}
	return k;
}
