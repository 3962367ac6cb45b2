/*
 * pool: shared records and binding, every balancing algorithm (exact
 * orders where they are deterministic, shares and HRW stability where
 * they are statistical), health transitions, caps with a fake clock, and
 * several processes racing on the same records.
 *
 * Policies are built by hand (struct policy with arrays the fixture owns):
 * the pool module only reads them, and this keeps the test independent of
 * the policy loader. Times are fake CLOCK_MONOTONIC milliseconds from T0.
 * Children never call cmocka: they report through shared memory and their
 * exit status, and arm alarm() so that a deadlock cannot hang the run.
 */
#include "pool.h"

#include "blacklist.h"

#include <sipedge/error.h>

#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

/* Table sizes: destinations, pools, blacklist entries (16 rules, no reactions). */
#define CAPS(d, p, bl) (&(struct pool_caps){.dests = (d), .pools = (p), .rules = 16, .blacklist = (bl)})

#define T0          1000000u /* fake now, ms */
#define MAXD        300
#define MAXP        8
#define CHILD_ALARM 20

struct fx {
	struct arena *a;
	struct pool_shared *ps;
	struct policy p;
	struct policy_pool pool[MAXP];
	struct policy_dest dest[MAXD];
	char uri[MAXD][40];
};

static void codes_range(struct policy_codes *c, unsigned lo, unsigned hi)
{
	for (unsigned code = lo; code <= hi; code++)
		c->bits[(code - 100) / 64] |= 1ull << ((code - 100) % 64);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(arena_create(8u << 20, &f->a), 0);
	assert_int_equal(pool_shared_create(f->a, CAPS(1000, 60, 64), &f->ps), 0);
	f->p.pools = f->pool;
	f->p.dests = f->dest;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	arena_destroy(f->a);
	free(f);
	return 0;
}

/* A new pool, with the policy defaults that matter here. */
static uint32_t fx_pool(struct fx *f, const char *name, uint8_t algo)
{
	uint32_t i = f->p.n_pools++;
	struct policy_pool *pp = &f->pool[i];

	assert_true(i < MAXP);
	memset(pp, 0, sizeof(*pp));
	pp->name = name;
	pp->algo = algo;
	pp->hash_key = PHK_CALL_ID;
	pp->first_dest = f->p.n_dests;
	pp->passive.failures = 5;
	pp->passive.down_ms = 30000;
	pp->key = XXH3_64bits(name, strlen(name));
	pp->state = POLICY_NONE;
	return i;
}

/* A destination 10.0.x.y:5060 (UDP) appended to the last pool. */
static struct policy_dest *fx_dest(struct fx *f, uint32_t weight)
{
	uint32_t i = f->p.n_dests++;
	struct policy_pool *pp = &f->pool[f->p.n_pools - 1];
	struct policy_dest *d = &f->dest[i];
	char key[80];

	assert_true(i < MAXD);
	memset(d, 0, sizeof(*d));
	snprintf(f->uri[i], sizeof(f->uri[i]), "sip:10.0.%u.%u:5060", i / 200, i % 200 + 1);
	d->uri = f->uri[i];
	d->addr.in.sin_family = AF_INET;
	d->addr.in.sin_port = htons(5060);
	d->addr.in.sin_addr.s_addr = htonl(0x0a000000u | (i / 200) << 8 | (i % 200 + 1));
	d->port = 5060;
	d->transport = CONFIG_TP_UDP;
	d->pool = f->p.n_pools - 1;
	d->weight = weight;
	d->probe.interval_ms = 10000;
	d->probe.timeout_ms = 2000;
	d->probe.down_after = 3;
	d->probe.up_after = 2;
	codes_range(&d->probe.ok, 100, 407);
	codes_range(&d->probe.ok, 409, 499);
	snprintf(key, sizeof(key), "%s/%s", pp->name, d->uri);
	d->key = XXH3_64bits(key, strlen(key));
	d->state = POLICY_NONE;
	pp->n_dests++;
	return d;
}

static void fx_bind(struct fx *f)
{
	const char *why = NULL;

	assert_int_equal(pool_bind(f->ps, &f->p, true, &why), 0);
}

/* A pool of n destinations with the given weights (NULL: all 1). */
static uint32_t fx_simple(struct fx *f, uint8_t algo, uint32_t n, const uint32_t *weights)
{
	uint32_t pool = fx_pool(f, "p", algo);

	for (uint32_t i = 0; i < n; i++)
		fx_dest(f, weights ? weights[i] : 1);
	fx_bind(f);
	return pool;
}

static uint32_t pick(struct fx *f, uint32_t pool, const struct pool_keys *k, uint64_t now)
{
	uint32_t out[MAXD];

	return pool_select(f->ps, &f->p, pool, k, now, out, MAXD) ? out[0] : UINT32_MAX;
}

static void set_rr(struct fx *f, uint32_t pool, uint64_t v)
{
	atomic_store(&f->ps->pools[f->pool[pool].state].rr, v);
}

static struct pool_dest_state *st(struct fx *f, uint32_t d)
{
	return pool_dstate(f->ps, &f->dest[d]);
}

/* Probe d and let it fail probe.down_after (3) times: PH_DOWN. */
static void probe_down(struct fx *f, struct policy_dest *d, uint64_t now)
{
	d->probe.enabled = true;
	for (uint32_t i = 0; i < d->probe.down_after; i++)
		pool_probe_result(f->ps, d, 0, 0, now);
	assert_int_equal(pool_dest_health(f->ps, d, now), PH_DOWN);
}

#define assert_order(f, pool, keys, now, ...)                                                      \
	do {                                                                                       \
		const uint32_t want_[] = {__VA_ARGS__};                                            \
		uint32_t got_[MAXD];                                                               \
		uint32_t n_ = pool_select((f)->ps, &(f)->p, pool, keys, now, got_, MAXD);          \
		assert_int_equal(n_, sizeof(want_) / sizeof(want_[0]));                            \
		for (uint32_t i_ = 0; i_ < n_; i_++)                                               \
			assert_int_equal(got_[i_], want_[i_]);                                     \
	} while (0)

/* ---- tables and binding ---------------------------------------------------- */

static void test_create_caps(void **state)
{
	struct fx *f = *state;
	struct pool_shared *ps;

	assert_int_equal(f->ps->dest_cap, 1024);
	assert_int_equal(f->ps->pool_cap, 64);
	assert_non_null(f->ps->blacklist);
	assert_int_equal((uintptr_t)f->ps->dests % 64, 0);
	assert_int_equal(sizeof(struct pool_dest_state) % 64, 0);
	assert_int_equal(pool_shared_create(f->a, CAPS(0, 4, 4), &ps), SE_EINVAL);
	assert_int_equal(pool_shared_create(f->a, CAPS(4, POOL_TABLE_MAX + 1, 4), &ps), SE_EINVAL);
	assert_int_equal(pool_shared_create(f->a, CAPS(3, 3, 0), &ps), 0);
	assert_int_equal(ps->dest_cap, 4);
	assert_null(ps->blacklist);
}

static void test_create_enomem(void **state)
{
	(void)state;
	struct arena *a;
	struct pool_shared *ps;

	assert_int_equal(arena_create(256u << 10, &a), 0);
	assert_int_equal(pool_shared_create(a, CAPS(1u << 16, 4, 4), &ps), SE_ENOMEM);
	arena_destroy(a);
}

static void test_bind_create_and_lookup(void **state)
{
	struct fx *f = *state;
	const char *why = NULL;

	fx_pool(f, "a", PALG_ROUND_ROBIN);
	fx_dest(f, 1);
	fx_dest(f, 1);
	fx_dest(f, 1)->key = 0; /* a real key of 0 is stored as 1 */
	assert_int_equal(pool_bind(f->ps, &f->p, false, &why), SE_ENOENT);
	assert_non_null(strstr(why, "pool a"));
	fx_bind(f);
	uint32_t s0 = f->dest[0].state, s1 = f->dest[1].state, s2 = f->dest[2].state;
	assert_true(s0 != s1 && s1 != s2 && s0 != s2 && s2 < f->ps->dest_cap);
	assert_int_equal(atomic_load(&f->ps->dests[s2].key), 1);
	assert_int_equal(atomic_load(&f->ps->dests[s0].key), f->dest[0].key);

	/* A worker's copy finds the same records; binding again creates none. */
	for (uint32_t i = 0; i < 3; i++)
		f->dest[i].state = POLICY_NONE;
	assert_int_equal(pool_bind(f->ps, &f->p, false, &why), 0);
	assert_int_equal(f->dest[0].state, s0);
	assert_int_equal(f->dest[2].state, s2);
	fx_bind(f);
	assert_int_equal(f->dest[1].state, s1);

	/* A destination the master never bound. */
	fx_dest(f, 1);
	why = NULL;
	assert_int_equal(pool_bind(f->ps, &f->p, false, &why), SE_ENOENT);
	assert_string_equal(why, "no shared record for destination sip:10.0.0.4:5060 (the master "
	                         "has not bound this policy)");
}

static void test_bind_table_full(void **state)
{
	struct fx *f = *state;
	const char *why = NULL;

	assert_int_equal(pool_shared_create(f->a, CAPS(4, 4, 0), &f->ps), 0);
	fx_pool(f, "a", PALG_ROUND_ROBIN);
	for (int i = 0; i < 5; i++)
		fx_dest(f, 1);
	assert_int_equal(pool_bind(f->ps, &f->p, true, &why), SE_ENOSPC);
	assert_string_equal(why, "too many destinations for the shared table (4)");
	/* The records made before the error are reused once it fits. */
	f->pool[0].n_dests = f->p.n_dests = 4;
	fx_bind(f);
	for (int i = 0; i < 5; i++)
		f->pool[fx_pool(f, "b", PALG_ROUND_ROBIN)].key = (uint64_t)i + 100;
	assert_int_equal(pool_bind(f->ps, &f->p, true, &why), SE_ENOSPC);
	assert_string_equal(why, "too many pools for the shared table (4)");
}

/* Health is kept by identity: a reload that reorders keeps it. */
static void test_bind_keeps_state_across_reload(void **state)
{
	struct fx *f = *state;
	uint32_t pool = fx_simple(f, PALG_ROUND_ROBIN, 3, NULL);

	pool_dest_set_disabled(f->ps, &f->dest[1], true, T0);
	struct policy p2 = f->p;
	struct policy_dest d2[3] = {f->dest[2], f->dest[1], f->dest[0]};
	struct policy_pool pp2 = f->pool[pool];
	for (int i = 0; i < 3; i++)
		d2[i].state = POLICY_NONE;
	pp2.state = POLICY_NONE;
	p2.dests = d2;
	p2.pools = &pp2;
	assert_int_equal(pool_bind(f->ps, &p2, false, NULL), 0);
	assert_int_equal(pool_dest_health(f->ps, &d2[1], T0), PH_DISABLED);
	assert_int_equal(pool_dest_health(f->ps, &d2[0], T0), PH_UP);
	assert_int_equal(pp2.state, f->pool[pool].state);
}

/* ---- algorithms -------------------------------------------------------------- */

static void test_round_robin(void **state)
{
	struct fx *f = *state;
	uint32_t pool = fx_simple(f, PALG_ROUND_ROBIN, 3, NULL);
	uint32_t count[3] = {0};

	assert_order(f, pool, NULL, T0, 0, 1, 2);
	assert_order(f, pool, NULL, T0, 1, 2, 0);
	assert_order(f, pool, NULL, T0, 2, 0, 1);
	assert_order(f, pool, NULL, T0, 0, 1, 2);
	set_rr(f, pool, 0);
	for (int i = 0; i < 3000; i++)
		count[pick(f, pool, NULL, T0)]++;
	assert_int_equal(count[0], 1000);
	assert_int_equal(count[1], 1000);
	assert_int_equal(count[2], 1000);
	assert_int_equal(atomic_load(&f->ps->pools[f->pool[pool].state].rr), 3000);

	/* A destination out: the others share its turns evenly. */
	pool_dest_set_disabled(f->ps, &f->dest[1], true, T0);
	set_rr(f, pool, 0);
	assert_order(f, pool, NULL, T0, 0, 2);
	assert_order(f, pool, NULL, T0, 2, 0);
	assert_order(f, pool, NULL, T0, 0, 2);
}

static void test_max_and_bound(void **state)
{
	struct fx *f = *state;
	uint32_t pool = fx_simple(f, PALG_ROUND_ROBIN, 300, NULL);
	uint32_t out[MAXD];

	assert_int_equal(pool_select(f->ps, &f->p, pool, NULL, T0, out, 2), 2);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 1);
	assert_int_equal(pool_select(f->ps, &f->p, pool, NULL, T0, out, MAXD), POOL_DESTS_MAX);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[POOL_DESTS_MAX - 1], 0);
	assert_int_equal(pool_select(f->ps, &f->p, pool, NULL, T0, out, 0), 0);
	assert_int_equal(pool_select(f->ps, &f->p, 7, NULL, T0, out, MAXD), 0);
}

static void test_weighted_shares(void **state)
{
	struct fx *f = *state;
	const uint32_t w[] = {1, 2, 1};
	uint32_t pool = fx_simple(f, PALG_WEIGHTED, 3, w);
	uint32_t count[3] = {0}, seq[3000];

	for (int i = 0; i < 3000; i++)
		count[seq[i] = pick(f, pool, NULL, T0)]++;
	print_message("weighted 1:2:1 over 3000: %u / %u / %u\n", count[0], count[1], count[2]);
	/* Exact: the schedule gives each its weight in every period of 4. */
	assert_int_equal(count[0], 750);
	assert_int_equal(count[1], 1500);
	assert_int_equal(count[2], 750);
	for (int i = 0; i + 4 <= 3000; i += 4) {
		uint32_t c[3] = {0};
		for (int j = 0; j < 4; j++)
			c[seq[i + j]]++;
		assert_true(c[0] == 1 && c[1] == 2 && c[2] == 1);
	}
	/* The failover order: the rest in written order after the pick. */
	set_rr(f, pool, 0);
	uint32_t out[3];
	assert_int_equal(pool_select(f->ps, &f->p, pool, NULL, T0, out, 3), 3);
	assert_int_equal(out[1], (out[0] + 1) % 3);
	assert_int_equal(out[2], (out[0] + 2) % 3);
}

/* Heavy weights interleave: 5:1:1 never gives the light ones in a row,
 * and every window of 7 holds exactly 5, 1, 1. */
static void test_weighted_smooth(void **state)
{
	struct fx *f = *state;
	const uint32_t w[] = {5, 1, 1};
	uint32_t pool = fx_simple(f, PALG_WEIGHTED, 3, w);
	uint32_t seq[700], count[3] = {0};

	for (int i = 0; i < 700; i++)
		count[seq[i] = pick(f, pool, NULL, T0)]++;
	assert_int_equal(count[0], 500);
	assert_int_equal(count[1], 100);
	assert_int_equal(count[2], 100);
	for (int i = 1; i < 700; i++)
		assert_false(seq[i] != 0 && seq[i - 1] != 0);
	int run = 0, max_run = 0;
	for (int i = 0; i < 700; i++) {
		run = seq[i] == 0 ? run + 1 : 0;
		max_run = run > max_run ? run : max_run;
	}
	/* nginx's sequence, a a b a c a a, also runs 4 across periods. */
	assert_true(max_run <= 4);
}

static void test_weight_zero_is_backup(void **state)
{
	struct fx *f = *state;
	const uint32_t w[] = {0, 3, 1};
	uint32_t wr = fx_simple(f, PALG_WEIGHTED, 3, w);
	uint32_t rr = fx_pool(f, "rr", PALG_ROUND_ROBIN);
	fx_dest(f, 0);
	fx_dest(f, 1);
	fx_dest(f, 0);
	fx_bind(f);

	for (int i = 0; i < 400; i++) {
		uint32_t out[3];
		assert_int_equal(pool_select(f->ps, &f->p, wr, NULL, T0, out, 3), 3);
		assert_true(out[0] != 0);
		assert_int_equal(out[2], 0);
	}
	assert_order(f, rr, NULL, T0, 4, 3, 5);
	/* Only backups left: they are the pool, balanced among themselves. */
	pool_dest_set_disabled(f->ps, &f->dest[1], true, T0);
	pool_dest_set_disabled(f->ps, &f->dest[2], true, T0);
	assert_int_equal(pick(f, wr, NULL, T0), 0);
	pool_dest_set_disabled(f->ps, &f->dest[4], true, T0);
	set_rr(f, rr, 0);
	assert_order(f, rr, NULL, T0, 3, 5);
	assert_order(f, rr, NULL, T0, 5, 3);
	/* A blacklisted weighted destination lets the backup through. */
	pool_dest_set_disabled(f->ps, &f->dest[2], false, T0);
	blacklist_add(f->ps->blacklist, &f->dest[2].addr.sa, 5060, 0, 10, 0, NULL, T0);
	assert_order(f, wr, NULL, T0, 0);
}

static struct pool_keys callid_key(char *buf, size_t cap, uint64_t v)
{
	struct pool_keys k = {0};

	k.call_id = buf;
	k.call_id_len = (uint32_t)snprintf(buf, cap, "%016llx@host.example", (unsigned long long)v);
	return k;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Removing one of four destinations moves only that destination's calls. */
static void test_hash_stability(void **state)
{
	enum { KEYS = 10000 };
	struct fx *f = *state;
	uint32_t pool = fx_simple(f, PALG_HASH, 4, NULL);
	static uint32_t before[KEYS];
	uint32_t count[4] = {0}, moved = 0, had = 0;
	uint64_t seed = 42;
	char buf[64];

	for (int i = 0; i < KEYS; i++) {
		struct pool_keys k = callid_key(buf, sizeof(buf), xorshift(&seed));
		count[before[i] = pick(f, pool, &k, T0)]++;
	}
	for (int d = 0; d < 4; d++)
		assert_true(count[d] > KEYS / 4 - 300 && count[d] < KEYS / 4 + 300);
	/* The same policy without dests[2] (a reload that removed it). */
	struct policy p2 = f->p;
	struct policy_dest d2[3] = {f->dest[0], f->dest[1], f->dest[3]};
	struct policy_pool pp2 = f->pool[pool];
	pp2.n_dests = 3;
	p2.dests = d2;
	p2.pools = &pp2;
	p2.n_dests = 3;
	const uint32_t map[3] = {0, 1, 3};
	seed = 42;
	for (int i = 0; i < KEYS; i++) {
		struct pool_keys k = callid_key(buf, sizeof(buf), xorshift(&seed));
		uint32_t out[4];
		assert_int_equal(pool_select(f->ps, &p2, 0, &k, T0, out, 4), 3);
		uint32_t now = map[out[0]];
		if (before[i] == 2)
			had++;
		else
			assert_int_equal(now, before[i]);
		moved += now != before[i];
	}
	print_message("hash: removing 1 of 4 moved %.2f%% of %d keys (its share %.2f%%)\n",
	              100.0 * moved / KEYS, KEYS, 100.0 * had / KEYS);
	assert_int_equal(moved, had);
	assert_true(moved > KEYS / 4 - 300 && moved < KEYS / 4 + 300);
	/* The rr position was never touched by hashing. */
	assert_int_equal(atomic_load(&f->ps->pools[f->pool[pool].state].rr), 0);
}

static void test_hash_weights_and_keys(void **state)
{
	struct fx *f = *state;
	const uint32_t w[] = {1, 3};
	uint32_t pool = fx_simple(f, PALG_HASH, 2, w);
	uint32_t count[2] = {0};
	uint64_t seed = 7;
	char buf[64];

	for (int i = 0; i < 8000; i++) {
		struct pool_keys k = callid_key(buf, sizeof(buf), xorshift(&seed));
		count[pick(f, pool, &k, T0)]++;
	}
	print_message("hash 1:3 over 8000 keys: %u / %u\n", count[0], count[1]);
	assert_true(count[0] > 2000 - 240 && count[0] < 2000 + 240);

	/* Same key, same order, every time. */
	struct pool_keys k = callid_key(buf, sizeof(buf), 12345);
	uint32_t first = pick(f, pool, &k, T0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(pick(f, pool, &k, T0), first);

	/* No key: round-robin. */
	struct pool_keys none = {0};
	assert_order(f, pool, &none, T0, 0, 1);
	assert_order(f, pool, NULL, T0, 1, 0);

	/* Source address: IPv4 and its IPv4-mapped IPv6 form hash alike. */
	f->pool[pool].hash_key = PHK_SOURCE_IP;
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(1)};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(2)};
	for (uint32_t a = 1; a < 200; a++) {
		in.sin_addr.s_addr = htonl(0xc0000200u + a);
		inet_pton(AF_INET6, "::ffff:192.0.2.0", &in6.sin6_addr);
		in6.sin6_addr.s6_addr[15] = (uint8_t)a;
		struct pool_keys k4 = {.src = (struct sockaddr *)&in};
		struct pool_keys k6 = {.src = (struct sockaddr *)&in6};
		assert_int_equal(pick(f, pool, &k4, T0), pick(f, pool, &k6, T0));
	}
	f->pool[pool].hash_key = PHK_FROM_USER;
	struct pool_keys fu = {.from_user = "alice", .from_user_len = 5};
	first = pick(f, pool, &fu, T0);
	assert_int_equal(pick(f, pool, &fu, T0), first);
}

static void test_least_busy(void **state)
{
	struct fx *f = *state;
	uint32_t pool = fx_simple(f, PALG_LEAST_BUSY, 3, NULL);

	/* All idle: ties go round-robin. */
	assert_order(f, pool, NULL, T0, 0, 1, 2);
	assert_order(f, pool, NULL, T0, 1, 2, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pool_dest_acquire(f->ps, &f->dest[0], T0), 0);
	assert_int_equal(pool_dest_acquire(f->ps, &f->dest[1], T0), 0);
	assert_int_equal(pool_dest_acquire(f->ps, &f->dest[2], T0), 0);
	assert_int_equal(pool_dest_acquire(f->ps, &f->dest[2], T0), 0);
	assert_order(f, pool, NULL, T0, 1, 2, 0);
	assert_order(f, pool, NULL, T0, 1, 2, 0);
	pool_dest_release(f->ps, &f->dest[2]);
	/* 1 and 2 tie at one call each: rr 4 starts the rotation at 1, 5 at 2. */
	assert_order(f, pool, NULL, T0, 1, 2, 0);
	assert_order(f, pool, NULL, T0, 2, 1, 0);
}

static void test_priority(void **state)
{
	struct fx *f = *state;
	uint32_t pool = fx_simple(f, PALG_PRIORITY, 4, NULL);

	f->dest[0].priority = 5;
	f->dest[1].priority = 1;
	f->dest[2].priority = 1;
	f->dest[3].priority = 0;
	assert_order(f, pool, NULL, T0, 3, 1, 2, 0);
	assert_order(f, pool, NULL, T0, 3, 1, 2, 0);
	pool_dest_set_disabled(f->ps, &f->dest[3], true, T0);
	assert_order(f, pool, NULL, T0, 1, 2, 0);
	assert_int_equal(atomic_load(&f->ps->pools[f->pool[pool].state].rr), 0);
}

/* Down, held, disabled and blacklisted destinations are left out. */
static void test_unusable_skipped(void **state)
{
	struct fx *f = *state;
	uint32_t pool = fx_simple(f, PALG_PRIORITY, 5, NULL);

	probe_down(f, &f->dest[1], T0);
	pool_dest_fail(f->ps, &f->p, &f->dest[2], PF_FAIL_503, 30, T0);
	pool_dest_set_disabled(f->ps, &f->dest[3], true, T0);
	assert_int_equal(blacklist_add(f->ps->blacklist, &f->dest[4].addr.sa, 5060, CONFIG_TP_UDP,
	                               60, 0, NULL, T0),
	                 0);
	assert_order(f, pool, NULL, T0, 0);
	/* Each comes back by its own way. */
	assert_order(f, pool, NULL, T0 + 30000, 0, 2);
	assert_order(f, pool, NULL, T0 + 60000, 0, 2, 4);
	pool_dest_set_disabled(f->ps, &f->dest[3], false, T0 + 60000);
	pool_probe_result(f->ps, &f->dest[1], 200, 900, T0 + 60000);
	pool_probe_result(f->ps, &f->dest[1], 200, 900, T0 + 60000);
	assert_order(f, pool, NULL, T0 + 60000, 0, 1, 2, 3, 4);
	/* Everything out: nothing to try. */
	for (int i = 0; i < 5; i++)
		pool_dest_set_disabled(f->ps, &f->dest[i], true, T0);
	uint32_t out[MAXD];
	assert_int_equal(pool_select(f->ps, &f->p, pool, NULL, T0, out, MAXD), 0);
}

/* ---- slow start ---------------------------------------------------------------- */

static void test_slow_start_ramp(void **state)
{
	struct fx *f = *state;
	uint32_t pool = fx_simple(f, PALG_WEIGHTED, 2, NULL);

	f->pool[pool].slow_start_ms = 10000;
	assert_int_equal(pool_dest_weight_permille(f->ps, &f->p, &f->dest[1], T0), 1000);
	pool_dest_set_disabled(f->ps, &f->dest[1], true, T0);
	pool_dest_set_disabled(f->ps, &f->dest[1], false, T0);
	assert_int_equal(atomic_load(&st(f, 1)->up_since_ms), T0);
	assert_int_equal(pool_dest_weight_permille(f->ps, &f->p, &f->dest[1], T0), 100);
	assert_int_equal(pool_dest_weight_permille(f->ps, &f->p, &f->dest[1], T0 + 5000), 550);
	assert_int_equal(pool_dest_weight_permille(f->ps, &f->p, &f->dest[1], T0 + 9999), 999);
	assert_int_equal(pool_dest_weight_permille(f->ps, &f->p, &f->dest[1], T0 + 10000), 1000);
	f->pool[pool].slow_start_ms = 0;
	assert_int_equal(pool_dest_weight_permille(f->ps, &f->p, &f->dest[1], T0), 1000);
	f->pool[pool].slow_start_ms = 10000;

	/* Weighted: 1000 : 100 is 10 : 1, exactly, in every period of 11. */
	uint32_t count[2] = {0};
	set_rr(f, pool, 0);
	for (int i = 0; i < 1100; i++)
		count[pick(f, pool, NULL, T0)]++;
	assert_int_equal(count[1], 100);
	/* Halfway, 1000 : 550 = 20 : 11. */
	count[0] = count[1] = 0;
	set_rr(f, pool, 0);
	for (int i = 0; i < 3100; i++)
		count[pick(f, pool, NULL, T0 + 5000)]++;
	assert_int_equal(count[1], 1100);
}

/* Round-robin: a ramping destination keeps its turn with probability ramp,
 * and the draw replays when rr is reset. */
static void test_slow_start_round_robin(void **state)
{
	enum { N = 4000 };
	struct fx *f = *state;
	uint32_t pool = fx_simple(f, PALG_ROUND_ROBIN, 2, NULL);
	static uint32_t seq[N];
	uint32_t first1 = 0;

	f->pool[pool].slow_start_ms = 10000;
	pool_dest_set_disabled(f->ps, &f->dest[1], true, T0);
	pool_dest_set_disabled(f->ps, &f->dest[1], false, T0);
	for (int i = 0; i < N; i++)
		first1 += (seq[i] = pick(f, pool, NULL, T0 + 5000)) == 1;
	print_message("slow start at 55%%: first choice %.3f of calls (expected 0.275)\n",
	              (double)first1 / N);
	assert_true(first1 > N * 275 / 1000 - N * 3 / 100 && first1 < N * 275 / 1000 + N * 3 / 100);
	set_rr(f, pool, 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(pick(f, pool, NULL, T0 + 5000), seq[i]);
	/* Demoted, not dropped: it is still in the failover order. */
	assert_order(f, pool, NULL, T0 + 5000, 0, 1);
	/* Ramp over: plain round-robin. */
	first1 = 0;
	for (int i = 0; i < 1000; i++)
		first1 += pick(f, pool, NULL, T0 + 10000) == 1;
	assert_int_equal(first1, 500);
}

/* ---- caps ------------------------------------------------------------------------ */

static void test_max_inflight(void **state)
{
	struct fx *f = *state;
	fx_simple(f, PALG_ROUND_ROBIN, 1, NULL);
	struct policy_dest *d = &f->dest[0];

	d->max_inflight = 2;
	assert_int_equal(pool_dest_acquire(f->ps, d, T0), 0);
	assert_int_equal(pool_dest_acquire(f->ps, d, T0), 0);
	assert_int_equal(pool_dest_acquire(f->ps, d, T0), SE_ELIMIT);
	assert_int_equal(atomic_load(&st(f, 0)->inflight), 2);
	pool_dest_release(f->ps, d);
	assert_int_equal(pool_dest_acquire(f->ps, d, T0), 0);
	assert_int_equal(atomic_load(&st(f, 0)->calls), 3);
	for (int i = 0; i < 4; i++)
		pool_dest_release(f->ps, d);
	assert_int_equal(atomic_load(&st(f, 0)->inflight), 0); /* never below 0 */
	d->max_inflight = 0;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(pool_dest_acquire(f->ps, d, T0), 0);
	assert_int_equal(atomic_load(&st(f, 0)->inflight), 1000);
}

static void test_max_cps(void **state)
{
	struct fx *f = *state;
	fx_simple(f, PALG_ROUND_ROBIN, 1, NULL);
	struct policy_dest *d = &f->dest[0];

	d->max_cps = 3;
	for (int i = 0; i < 3; i++)
		assert_int_equal(pool_dest_acquire(f->ps, d, 5000 + i), 0);
	assert_int_equal(pool_dest_acquire(f->ps, d, 5500), SE_ELIMIT);
	assert_int_equal(pool_dest_acquire(f->ps, d, 5999), SE_ELIMIT);
	/* A refused call leaves nothing in flight. */
	assert_int_equal(atomic_load(&st(f, 0)->inflight), 3);
	assert_int_equal(pool_dest_acquire(f->ps, d, 6000), 0);
	assert_int_equal(pool_dest_acquire(f->ps, d, 6999), 0);
	assert_int_equal(pool_dest_acquire(f->ps, d, 6999), 0);
	assert_int_equal(pool_dest_acquire(f->ps, d, 6999), SE_ELIMIT);
	assert_int_equal(pool_dest_acquire(f->ps, d, 9000), 0);
	assert_int_equal(atomic_load(&st(f, 0)->calls), 7);
	/* Both caps: in-flight is checked first and its refusal counts no call. */
	d->max_inflight = 7;
	assert_int_equal(pool_dest_acquire(f->ps, d, 9000), SE_ELIMIT);
	assert_int_equal((uint32_t)atomic_load(&st(f, 0)->cps_window), 1);
}

/* ---- health ---------------------------------------------------------------------- */

static void test_passive_failures(void **state)
{
	struct fx *f = *state;
	fx_simple(f, PALG_ROUND_ROBIN, 2, NULL);
	struct policy_dest *d = &f->dest[0];

	f->pool[0].passive.failures = 3;
	f->pool[0].passive.down_ms = 30000;
	pool_dest_fail(f->ps, &f->p, d, PF_FAIL_TIMEOUT, 0, T0);
	pool_dest_fail(f->ps, &f->p, d, PF_FAIL_TRANSPORT, 0, T0);
	pool_dest_ok(f->ps, d); /* the run is broken */
	pool_dest_fail(f->ps, &f->p, d, PF_FAIL_503, 0, T0);
	pool_dest_fail(f->ps, &f->p, d, PF_FAIL_5XX, 0, T0); /* counted, not health */
	pool_dest_fail(f->ps, &f->p, d, PF_FAIL_TIMEOUT, 0, T0);
	assert_int_equal(pool_dest_health(f->ps, d, T0), PH_UP);
	pool_dest_fail(f->ps, &f->p, d, PF_FAIL_TIMEOUT, 0, T0 + 10);
	assert_int_equal(pool_dest_health(f->ps, d, T0 + 10), PH_DOWN);
	assert_int_equal(atomic_load(&st(f, 0)->since_ms), T0 + 10);
	assert_int_equal(pool_hs_until(atomic_load(&st(f, 0)->hstate)), T0 + 30010);
	assert_int_equal(atomic_load(&st(f, 0)->fails[PF_FAIL_TIMEOUT]), 3);
	assert_int_equal(atomic_load(&st(f, 0)->fails[PF_FAIL_5XX]), 1);
	/* More failures while down do not extend it. */
	pool_dest_fail(f->ps, &f->p, d, PF_FAIL_TIMEOUT, 0, T0 + 20);
	assert_int_equal(pool_dest_health(f->ps, d, T0 + 30009), PH_DOWN);
	assert_int_equal(pool_dest_health(f->ps, d, T0 + 30010), PH_UP);
	assert_int_equal(pool_hs_health(atomic_load(&st(f, 0)->hstate)), PH_UP);
	assert_int_equal(atomic_load(&st(f, 0)->up_since_ms), T0 + 30010);
	assert_int_equal(atomic_load(&st(f, 0)->fails_in_row), 0);

	/* Passive health off. */
	f->pool[0].passive.failures = 0;
	for (int i = 0; i < 10; i++)
		pool_dest_fail(f->ps, &f->p, &f->dest[1], PF_FAIL_TIMEOUT, 0, T0);
	assert_int_equal(pool_dest_health(f->ps, &f->dest[1], T0), PH_UP);
}

/* With probing, a passive down lasts until probes bring it back. */
static void test_passive_with_probing(void **state)
{
	struct fx *f = *state;
	fx_simple(f, PALG_ROUND_ROBIN, 1, NULL);
	struct policy_dest *d = &f->dest[0];

	d->probe.enabled = true;
	f->pool[0].passive.failures = 2;
	pool_dest_fail(f->ps, &f->p, d, PF_FAIL_TRANSPORT, 0, T0);
	pool_dest_fail(f->ps, &f->p, d, PF_FAIL_TRANSPORT, 0, T0);
	assert_int_equal(pool_dest_health(f->ps, d, T0 + 3600000), PH_DOWN);
	pool_probe_result(f->ps, d, 200, 100, T0 + 3600000);
	assert_int_equal(pool_dest_health(f->ps, d, T0 + 3600000), PH_DOWN);
	pool_probe_result(f->ps, d, 200, 100, T0 + 3600001);
	assert_int_equal(pool_dest_health(f->ps, d, T0 + 3600001), PH_UP);
	assert_int_equal(atomic_load(&st(f, 0)->up_since_ms), T0 + 3600001);
	/* A reload that turns probing off must not leave it down for good. */
	pool_dest_fail(f->ps, &f->p, d, PF_FAIL_TRANSPORT, 0, T0);
	pool_dest_fail(f->ps, &f->p, d, PF_FAIL_TRANSPORT, 0, T0);
	assert_int_equal(pool_dest_health(f->ps, d, T0), PH_DOWN);
	d->probe.enabled = false;
	assert_int_equal(pool_dest_health(f->ps, d, T0 + 1), PH_UP);
}

static void test_retry_after_hold(void **state)
{
	struct fx *f = *state;
	fx_simple(f, PALG_ROUND_ROBIN, 1, NULL);
	struct policy_dest *d = &f->dest[0];

	pool_dest_fail(f->ps, &f->p, d, PF_FAIL_503, 10, T0);
	assert_int_equal(pool_dest_health(f->ps, d, T0), PH_HOLD);
	assert_int_equal(pool_hs_until(atomic_load(&st(f, 0)->hstate)), T0 + 10000);
	pool_dest_fail(f->ps, &f->p, d, PF_FAIL_503, 5, T0 + 1000); /* earlier: kept */
	assert_int_equal(pool_hs_until(atomic_load(&st(f, 0)->hstate)), T0 + 10000);
	pool_dest_fail(f->ps, &f->p, d, PF_FAIL_503, 20, T0 + 1000); /* later: wins */
	assert_int_equal(pool_hs_until(atomic_load(&st(f, 0)->hstate)), T0 + 21000);
	assert_int_equal(atomic_load(&st(f, 0)->since_ms), T0);
	assert_int_equal(atomic_load(&st(f, 0)->fails[PF_FAIL_503]), 3);
	assert_int_equal(atomic_load(&st(f, 0)->fails_in_row), 0);
	assert_int_equal(pool_dest_health(f->ps, d, T0 + 20999), PH_HOLD);
	assert_int_equal(pool_dest_health(f->ps, d, T0 + 21000), PH_UP);
	assert_int_equal(atomic_load(&st(f, 0)->up_since_ms), T0 + 21000);
	/* A Retry-After of a week is held for POOL_HOLD_MAX_S. */
	pool_dest_fail(f->ps, &f->p, d, PF_FAIL_503, 7 * 86400, T0);
	assert_int_equal(pool_hs_until(atomic_load(&st(f, 0)->hstate)),
	                 T0 + POOL_HOLD_MAX_S * 1000ull);
	/* A down destination stays down. */
	pool_dest_set_disabled(f->ps, d, true, T0);
	pool_dest_set_disabled(f->ps, d, false, T0);
	probe_down(f, d, T0);
	pool_dest_fail(f->ps, &f->p, d, PF_FAIL_503, 10, T0);
	assert_int_equal(pool_dest_health(f->ps, d, T0), PH_DOWN);
}

static void test_probe_transitions(void **state)
{
	struct fx *f = *state;
	fx_simple(f, PALG_ROUND_ROBIN, 1, NULL);
	struct policy_dest *d = &f->dest[0];
	struct pool_dest_state *s = st(f, 0);

	d->probe.enabled = true;
	pool_probe_result(f->ps, d, 0, 0, T0);
	pool_probe_result(f->ps, d, 408, 5000, T0); /* answered, but not in ok */
	assert_int_equal(atomic_load(&s->probe_rtt_us), 5000);
	pool_probe_result(f->ps, d, 200, 700, T0); /* the run is broken */
	assert_int_equal(atomic_load(&s->probe_rtt_us), 700);
	pool_probe_result(f->ps, d, 503, 0, T0);
	pool_probe_result(f->ps, d, 0, 0, T0);
	assert_int_equal(pool_dest_health(f->ps, d, T0), PH_UP);
	pool_probe_result(f->ps, d, 0, 0, T0 + 5);
	assert_int_equal(pool_dest_health(f->ps, d, T0 + 5), PH_DOWN);
	assert_int_equal(atomic_load(&s->since_ms), T0 + 5);
	assert_int_equal(atomic_load(&s->fails[PF_FAIL_PROBE]), 5);
	/* No deadline: down until probes say otherwise. */
	assert_int_equal(pool_dest_health(f->ps, d, T0 + 86400000), PH_DOWN);
	pool_probe_result(f->ps, d, 200, 1, T0 + 100);
	pool_probe_result(f->ps, d, 0, 0, T0 + 200); /* the up run is broken */
	pool_probe_result(f->ps, d, 404, 1, T0 + 300);
	assert_int_equal(pool_dest_health(f->ps, d, T0 + 300), PH_DOWN);
	pool_probe_result(f->ps, d, 180, 1, T0 + 400);
	assert_int_equal(pool_dest_health(f->ps, d, T0 + 400), PH_UP);
	assert_int_equal(atomic_load(&s->up_since_ms), T0 + 400);
	assert_int_equal(atomic_load(&s->since_ms), T0 + 400);
	/* Successes while up count nothing toward a later recovery. */
	pool_probe_result(f->ps, d, 200, 1, T0 + 500);
	assert_int_equal(atomic_load(&s->oks_in_row), 0);
}

static void test_probe_due(void **state)
{
	struct fx *f = *state;
	fx_simple(f, PALG_ROUND_ROBIN, 1, NULL);
	struct policy_dest *d = &f->dest[0];

	assert_false(pool_probe_due(f->ps, d, T0)); /* not probed */
	d->probe.enabled = true;
	assert_true(pool_probe_due(f->ps, d, T0));
	assert_false(pool_probe_due(f->ps, d, T0));
	assert_false(pool_probe_due(f->ps, d, T0 + 9999));
	assert_true(pool_probe_due(f->ps, d, T0 + 10000));
	assert_int_equal(atomic_load(&st(f, 0)->probe_next_ms), T0 + 20000);
	/* Late: the next one is an interval after this one. */
	assert_true(pool_probe_due(f->ps, d, T0 + 25000));
	assert_false(pool_probe_due(f->ps, d, T0 + 34999));
	pool_dest_set_disabled(f->ps, d, true, T0);
	assert_false(pool_probe_due(f->ps, d, T0 + 99999));
	/* Enabled again: probed at once. */
	pool_dest_set_disabled(f->ps, d, false, T0 + 99999);
	assert_true(pool_probe_due(f->ps, d, T0 + 99999));
}

static void test_disable_enable(void **state)
{
	struct fx *f = *state;
	uint32_t pool = fx_simple(f, PALG_ROUND_ROBIN, 2, NULL);

	probe_down(f, &f->dest[0], T0);
	pool_dest_set_disabled(f->ps, &f->dest[0], true, T0 + 1);
	assert_int_equal(pool_dest_health(f->ps, &f->dest[0], T0 + 1), PH_DISABLED);
	assert_int_equal(pool_dest_health(f->ps, &f->dest[1], T0 + 1), PH_UP);
	pool_dest_set_disabled(f->ps, &f->dest[0], false, T0 + 2);
	assert_int_equal(pool_dest_health(f->ps, &f->dest[0], T0 + 2), PH_UP);
	assert_int_equal(atomic_load(&st(f, 0)->up_since_ms), T0 + 2);
	assert_int_equal(atomic_load(&st(f, 0)->probe_fails), 0);
	/* Enabling what is enabled changes nothing. */
	pool_dest_set_disabled(f->ps, &f->dest[0], false, T0 + 3);
	assert_int_equal(atomic_load(&st(f, 0)->up_since_ms), T0 + 2);
	assert_order(f, pool, NULL, T0 + 3, 0, 1);
}

static void test_health_names(void **state)
{
	(void)state;
	assert_string_equal(pool_health_name(PH_UP), "up");
	assert_string_equal(pool_health_name(PH_DOWN), "down");
	assert_string_equal(pool_health_name(PH_HOLD), "hold");
	assert_string_equal(pool_health_name(PH_DISABLED), "disabled");
	assert_string_equal(pool_health_name((enum pool_health)9), "?");
}

/* A rule's `route: URI` destination (no pool): records, caps and holds,
 * no passive health (there is no pool to configure it). */
static void test_rule_uri_destination(void **state)
{
	struct fx *f = *state;
	fx_simple(f, PALG_ROUND_ROBIN, 1, NULL);
	struct policy_dest *d = &f->dest[0];

	d->pool = POLICY_NONE;
	for (int i = 0; i < 10; i++)
		pool_dest_fail(f->ps, &f->p, d, PF_FAIL_TIMEOUT, 0, T0);
	assert_int_equal(pool_dest_health(f->ps, d, T0), PH_UP);
	pool_dest_fail(f->ps, &f->p, d, PF_FAIL_503, 1, T0);
	assert_int_equal(pool_dest_health(f->ps, d, T0), PH_HOLD);
	assert_int_equal(pool_dest_weight_permille(f->ps, &f->p, d, T0), 1000);
}

/* ---- several processes ------------------------------------------------------------ */

struct race {
	uint32_t cap; /* max_inflight under test, 0: none */
	_Atomic uint32_t holders;
	_Atomic uint32_t violations;
	_Atomic uint64_t ok;
	_Atomic uint64_t wins;
};

static struct race *race_map(void)
{
	void *m = mmap(NULL, sizeof(struct race), PROT_READ | PROT_WRITE,
	               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	memset(m, 0, sizeof(struct race));
	return m;
}

/* Fork n children running fn(f, r, i); each must exit 0. */
static void run_children(struct fx *f, struct race *r, int n,
                         void (*fn)(struct fx *, struct race *, int))
{
	pid_t pid[8];

	for (int i = 0; i < n; i++) {
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0) {
			alarm(CHILD_ALARM);
			fn(f, r, i);
			_exit(0);
		}
	}
	for (int i = 0; i < n; i++) {
		int status;
		assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
}

enum { RACE_CHILDREN = 4, RACE_ITERS = 100000, RACE_CAP = 3, RACE_ROUNDS = 20000 };

static void child_acquire(struct fx *f, struct race *r, int i)
{
	(void)i;
	for (int n = 0; n < RACE_ITERS; n++) {
		if (pool_dest_acquire(f->ps, &f->dest[0], T0) != 0)
			continue;
		if (atomic_fetch_add(&r->holders, 1) + 1 > r->cap && r->cap)
			atomic_fetch_add(&r->violations, 1);
		atomic_fetch_add(&r->ok, 1);
		atomic_fetch_sub(&r->holders, 1);
		pool_dest_release(f->ps, &f->dest[0]);
	}
}

static void test_processes_acquire(void **state)
{
	struct fx *f = *state;
	struct race *r = race_map();

	fx_simple(f, PALG_ROUND_ROBIN, 1, NULL);
	f->dest[0].max_inflight = r->cap = RACE_CAP;
	run_children(f, r, RACE_CHILDREN, child_acquire);
	assert_int_equal(atomic_load(&r->violations), 0);
	assert_int_equal(atomic_load(&st(f, 0)->inflight), 0);
	assert_int_equal(atomic_load(&st(f, 0)->calls), atomic_load(&r->ok));
	assert_true(atomic_load(&r->ok) > 0);

	/* max_cps: within one second exactly the cap gets through. */
	f->dest[0].max_inflight = r->cap = 0;
	f->dest[0].max_cps = 1000;
	atomic_store(&r->ok, 0);
	run_children(f, r, RACE_CHILDREN, child_acquire);
	assert_int_equal(atomic_load(&r->ok), 1000);
	assert_int_equal(atomic_load(&st(f, 0)->inflight), 0);
	munmap(r, sizeof(*r));
}

static void child_probe(struct fx *f, struct race *r, int i)
{
	(void)i;
	for (uint64_t n = 0; n < RACE_ROUNDS; n++)
		if (pool_probe_due(f->ps, &f->dest[0], T0 + n * 10))
			atomic_fetch_add(&r->wins, 1);
}

/* Every child walks the same clock; each probe slot is won exactly once. */
static void test_processes_probe_claims(void **state)
{
	struct fx *f = *state;
	struct race *r = race_map();

	fx_simple(f, PALG_ROUND_ROBIN, 1, NULL);
	f->dest[0].probe.enabled = true;
	f->dest[0].probe.interval_ms = 10;
	run_children(f, r, RACE_CHILDREN, child_probe);
	assert_int_equal(atomic_load(&r->wins), RACE_ROUNDS);
	munmap(r, sizeof(*r));
}

/*
 * Every child asks for ever later holds (its clock runs with the others',
 * offset by its index), so they keep overtaking one another. After its own
 * 503 returns, a child must find the hold lasting at least as long as it
 * asked: an update lost to a race shows as a shorter one.
 */
enum { HOLD_ROUNDS = 100000 };

static void child_hold(struct fx *f, struct race *r, int i)
{
	struct pool_dest_state *s = pool_dstate(f->ps, &f->dest[0]);

	for (uint64_t n = 0; n < HOLD_ROUNDS; n++) {
		uint64_t now = T0 + n * RACE_CHILDREN + (uint64_t)i;
		pool_dest_fail(f->ps, &f->p, &f->dest[0], PF_FAIL_503, 1, now);
		if (pool_hs_until(atomic_load(&s->hstate)) < now + 1000)
			atomic_fetch_add(&r->violations, 1);
	}
}

static void test_processes_hold(void **state)
{
	struct fx *f = *state;
	struct race *r = race_map();

	fx_simple(f, PALG_ROUND_ROBIN, 1, NULL);
	run_children(f, r, RACE_CHILDREN, child_hold);
	uint64_t hs = atomic_load(&st(f, 0)->hstate);
	assert_int_equal(atomic_load(&r->violations), 0);
	assert_int_equal(pool_hs_health(hs), PH_HOLD);
	assert_int_equal(pool_hs_until(hs), T0 + HOLD_ROUNDS * RACE_CHILDREN - 1 + 1000);
	assert_int_equal(atomic_load(&st(f, 0)->fails[PF_FAIL_503]), RACE_CHILDREN * HOLD_ROUNDS);
	munmap(r, sizeof(*r));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_caps, setup, teardown),
	    cmocka_unit_test(test_create_enomem),
	    cmocka_unit_test_setup_teardown(test_bind_create_and_lookup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bind_table_full, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bind_keeps_state_across_reload, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_round_robin, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_max_and_bound, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_weighted_shares, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_weighted_smooth, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_weight_zero_is_backup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hash_stability, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hash_weights_and_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_least_busy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_priority, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unusable_skipped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_slow_start_ramp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_slow_start_round_robin, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_max_inflight, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_max_cps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_passive_failures, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_passive_with_probing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retry_after_hold, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probe_transitions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probe_due, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_disable_enable, setup, teardown),
	    cmocka_unit_test(test_health_names),
	    cmocka_unit_test_setup_teardown(test_rule_uri_destination, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_processes_acquire, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_processes_probe_claims, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_processes_hold, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
