/*
 * pool: the live side of the policy's pools, in shared memory.
 *
 * The policy (src/policy) says what pools and destinations exist; this
 * module keeps what every worker must see at once about them: health
 * (up / down / probing / disabled), Retry-After holds, in-flight INVITE
 * counts, new-call rates, round-robin positions, probe bookkeeping, and
 * the blacklist of targets. It also picks, per request, the order in which
 * a pool's destinations are tried (the balancing algorithms).
 *
 * State records are found by identity (struct policy_dest.key: pool name +
 * URI; struct policy_pool.key), not by policy index, so they survive a
 * policy reload: a destination kept in the new policy keeps its health.
 * The master creates the records (pool_bind with create) before it
 * publishes a policy; workers only look them up.
 *
 * Everything here is lock-free atomics except record creation and the
 * blacklist (a robust lock each).
 *
 * Files: pool_shm.c (tables, bind), pool_select.c (algorithms),
 * pool_health.c (state transitions, caps), blacklist.c.
 */
#ifndef SE_POOL_POOL_H
#define SE_POOL_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../policy/policy.h"
#include "../shm/arena.h"

enum pool_health {
	PH_UP = 0,   /* takes traffic (slow start may still limit its share) */
	PH_DOWN,     /* failed probes or passive health; probed back if probing is on */
	PH_HOLD,     /* a 503 with Retry-After: no traffic until its deadline */
	PH_DISABLED, /* by the operator (sipedgectl pool disable) */
};

/* Why a destination failed, for counters and passive health. */
enum pool_fail {
	PF_FAIL_TIMEOUT = 0, /* Timer B/F (or Timer C) with no final */
	PF_FAIL_TRANSPORT,   /* send failed, ICMP, connection error */
	PF_FAIL_503,         /* 503 Service Unavailable */
	PF_FAIL_5XX,         /* other 5xx */
	PF_FAIL_PROBE,       /* a probe not answered, or answered with a code not ok */
	PF_FAIL__COUNT
};

/*
 * Health and its deadline share one word so that both change in a single
 * CAS (two workers reporting at once can never leave a PH_HOLD without its
 * end, or an end without its PH_HOLD): (until_ms << 8) | enum pool_health.
 * until_ms 0 = no deadline (PH_UP; PH_DOWN that only probes end).
 */
static inline enum pool_health pool_hs_health(uint64_t hs)
{
	return (enum pool_health)(hs & 0xff);
}

static inline uint64_t pool_hs_until(uint64_t hs)
{
	return hs >> 8;
}

/*
 * One destination's shared record (two cache lines, aligned so that two
 * destinations never share one; never moved). A free slot is all zeroes,
 * which is already a valid record (PH_UP, idle), so the master creates one
 * by publishing its key (release) and nothing else; key never changes
 * after. Everything else is written by any process with atomics, through
 * the functions below; other modules only read it (sipedgectl pools).
 */
struct pool_dest_state {
	_Alignas(64) _Atomic uint64_t key; /* identity; 0 = free slot */
	_Atomic uint64_t hstate;           /* (until_ms << 8) | enum pool_health: see above;
	                                    * PH_DISABLED is never stored (admin_disabled) */
	_Atomic uint64_t since_ms;         /* health last changed (CLOCK_MONOTONIC ms) */
	_Atomic uint64_t up_since_ms;    /* back up at: slow start counts from here; 0 never down */
	_Atomic uint32_t inflight;       /* INVITE transactions in flight to it */
	_Atomic uint32_t fails_in_row;   /* passive failures in a row (pool.passive) */
	_Atomic uint64_t cps_window;     /* (second << 32) | calls that second (max_cps only) */
	_Atomic uint32_t probe_fails;    /* probe failures in a row (probe.down_after) */
	_Atomic uint32_t oks_in_row;     /* probe successes in a row while down (probe.up_after) */
	_Atomic uint64_t probe_next_ms;  /* next probe due; 0 = at once */
	_Atomic uint32_t probe_rtt_us;   /* last answered probe */
	_Atomic uint64_t probe_sent_us;  /* the outstanding probe's send time (CLOCK_MONOTONIC
					  * µs, so that the RTT of a fast peer is not 0), 0 none
					  * (proxy_probe.c: CAS to 0 = its verdict) */
	_Atomic uint32_t probe_seq;      /* the outstanding (or last) probe's number */
	_Atomic uint32_t admin_disabled; /* operator's flag, kept across reloads */
	_Atomic uint64_t calls;          /* INVITEs sent to it (successful acquires) */
	_Atomic uint64_t fails[PF_FAIL__COUNT];
};

/* One pool's shared record (its own cache line: rr is the hottest word). */
struct pool_pool_state {
	_Alignas(64) _Atomic uint64_t key; /* identity; 0 = free slot */
	_Atomic uint64_t rr;               /* round-robin / weighted position, +1 a call */
};

/* One rule's shared counters, by rule name (struct policy_rule.key). */
struct pool_rule_state {
	_Atomic uint64_t key;  /* identity; 0 = free slot */
	_Atomic uint64_t hits; /* requests the rule matched (sipedgectl policy show, /metrics) */
};

struct blacklist;   /* blacklist.h */
struct react_table; /* react.h */

/* The root, in the arena (struct sip_shared points at it). */
struct pool_shared {
	uint32_t dest_cap, pool_cap, rule_cap; /* power-of-two table sizes */
	struct pool_dest_state *dests; /* [dest_cap], open addressing by key */
	struct pool_pool_state *pools; /* [pool_cap] */
	struct pool_rule_state *rules; /* [rule_cap] */
	struct blacklist *blacklist;
	struct react_table *reacts;    /* rules' and pools' reactions (react.h) */
	struct arena *arena;           /* where the master stores new reactions */
	/* a lock for record creation (the master's) lives in pool_shm.c */
	void *priv;
};

/* Sizes of the shared tables (records each; 0 blacklist / reacts: none). */
struct pool_caps {
	uint32_t dests, pools, rules, reacts, blacklist;
};

/* Destinations of one pool that pool_select considers: all of them, as the
 * policy loader refuses a pool with more. Bounds the per-call work and the
 * stack pool_select uses (about 5 KiB). */
#define POOL_DESTS_MAX POLICY_POOL_DESTS_MAX

/* Longest Retry-After hold honoured, seconds: a peer's typo must not take
 * a destination out for days. */
#define POOL_HOLD_MAX_S 3600

/* Largest table accepted by pool_shared_create (records, each table). */
#define POOL_TABLE_MAX (1u << 20)

/*
 * Master, before fork: allocate the tables (sizes rounded up to powers of
 * two), the blacklist (caps->blacklist entries; 0 = none, ps->blacklist
 * NULL) and the reaction table (caps->reacts; 0 = none: a policy with
 * reactions then fails to bind) in arena a. Records are never freed (a
 * reload keeps the old ones for destinations that may come back), so the
 * caps must cover every policy loaded in the daemon's life. Returns 0,
 * SE_EINVAL (dests, pools or rules 0, or a cap above POOL_TABLE_MAX) or
 * SE_ENOMEM.
 */
int pool_shared_create(struct arena *a, const struct pool_caps *caps, struct pool_shared **out);

/*
 * Fill every dest->state, pool->state and rule->state of p with its
 * record's index (rule URIs, pool POLICY_NONE, get records too: caps,
 * health, blacklist), and bind the rules' and pools' reactions (react.h).
 * create: the master, making missing records under the table lock
 * (SE_ENOSPC when a table is full). Without create (workers), a missing
 * record is SE_ENOENT; no lock is taken. On error *why (when why is not
 * NULL) is a message naming the cause, in static storage valid until the
 * next pool_bind of this process; records made before the error stay and
 * are reused by the next bind. Returns 0 or an error.
 */
int pool_bind(struct pool_shared *ps, struct policy *p, bool create, const char **why);

/* d's record. Every function taking a destination needs d bound
 * (d->state set by pool_bind), as pool_select ensures for what it returns. */
static inline struct pool_dest_state *pool_dstate(struct pool_shared *ps,
                                                  const struct policy_dest *d)
{
	return &ps->dests[d->state];
}

/* Count a request matched by rule r (bound). */
static inline void pool_rule_hit(struct pool_shared *ps, const struct policy_rule *r)
{
	atomic_fetch_add_explicit(&ps->rules[r->state].hits, 1, memory_order_relaxed);
}

/* The inputs of hash balancing, taken from the request. */
struct pool_keys {
	const char *call_id, *from_user, *ruri_user;
	uint32_t call_id_len, from_user_len, ruri_user_len;
	const struct sockaddr *src; /* sockaddr_in or sockaddr_in6, or NULL */
	bool peek; /* only look: the order the next call would get, the pool's
		    * rotation left where it is (explain) */
};

/*
 * The order in which to try pool `pool`'s destinations for one request:
 * up to max destination indices (into p->dests) into out, usable ones in
 * the algorithm's order (round-robin and weighted advance the pool's
 * shared position once per call; hash gives the rendezvous order, so that
 * losing a destination moves only its own calls; least-busy sorts by
 * in-flight; priority by priority then order written). Destinations that
 * are down, held, disabled or blacklisted are left out; weight 0 ones come
 * after every other usable one. Slow start: weighted and hash scale the
 * weight by the ramp; the others move a ramping destination to the back
 * with probability 1 - ramp, a draw that depends only on the pool's rr and
 * the destination's key (so a test that sets rr replays it). Caps are not
 * checked here (pool_dest_acquire). At most POOL_DESTS_MAX destinations of
 * a pool are considered. Allocates nothing. Returns how many were written
 * (0 for an unknown or unbound pool).
 */
uint32_t pool_select(struct pool_shared *ps, const struct policy *p, uint32_t pool,
                     const struct pool_keys *keys, uint64_t now_ms, uint32_t *out, uint32_t max);

/*
 * Take a call slot on destination d for a new INVITE: checks max_inflight
 * and max_cps and, when both allow, counts it (inflight, calls). Returns
 * 0, or SE_ELIMIT when a cap is reached (try the next destination).
 * Non-INVITE requests do not call this.
 */
int pool_dest_acquire(struct pool_shared *ps, const struct policy_dest *d, uint64_t now_ms);
/* The INVITE transaction to d ended (any final, or given up). One call
 * per successful acquire; an extra one is ignored rather than wrapping. */
void pool_dest_release(struct pool_shared *ps, const struct policy_dest *d);

/*
 * Passive health: what real traffic saw. Every failure is counted in
 * fails[why]. Timeouts, transport errors and 503s count toward the pool's
 * passive.failures (then PH_DOWN for passive.down_ms, or until probes
 * bring it back when d is probed); other 5xx and PF_FAIL_PROBE are only
 * counted. retry_after_s > 0 with PF_FAIL_503 puts it in PH_HOLD until
 * then instead (at most POOL_HOLD_MAX_S; a later deadline wins; a down
 * destination stays down). pool_dest_ok (any final response that is not
 * a failure) resets the failure run.
 */
void pool_dest_fail(struct pool_shared *ps, const struct policy *p, const struct policy_dest *d,
                    enum pool_fail why, uint32_t retry_after_s, uint64_t now_ms);
void pool_dest_ok(struct pool_shared *ps, const struct policy_dest *d);

/*
 * Probing. pool_probe_due: true when d should be probed now by this
 * caller (it claims the probe by moving probe_next_ms to now + interval
 * with one CAS, so exactly one caller wins even when several ask); false
 * when d is not probed or is disabled. pool_probe_result: the answer
 * (code, 0 for no answer within timeout) and its round trip: probe.down_after
 * failures in a row take d down (until probes bring it back), probe.up_after
 * answers in probe.ok in a row while down bring it up (slow start from now).
 */
bool pool_probe_due(struct pool_shared *ps, const struct policy_dest *d, uint64_t now_ms);
void pool_probe_result(struct pool_shared *ps, const struct policy_dest *d, unsigned code,
                       uint32_t rtt_us, uint64_t now_ms);

/* Operator control: disable / enable a destination (kept across reloads).
 * A disabled destination is not selected and not probed; enabling it makes
 * it PH_UP at once, probed at once, in slow start from now_ms. */
void pool_dest_set_disabled(struct pool_shared *ps, const struct policy_dest *d, bool disabled,
                            uint64_t now_ms);

/* The health to show now: PH_DISABLED when the operator disabled d;
 * PH_HOLD and passive downs that expired (and a probe down whose probing
 * a reload turned off) read as PH_UP and are turned back to it here, with
 * slow start from now_ms. pool_dest_weight_permille: the slow-start ramp,
 * 100 (just up) to 1000 (full weight, or no slow start), linear over the
 * pool's slow_start_ms. */
enum pool_health pool_dest_health(struct pool_shared *ps, const struct policy_dest *d,
                                  uint64_t now_ms);
uint32_t pool_dest_weight_permille(struct pool_shared *ps, const struct policy *p,
                                   const struct policy_dest *d, uint64_t now_ms);

const char *pool_health_name(enum pool_health h);
/* "timeout", "transport error", "503", "5xx", "probe"; "answered" for
 * PF_FAIL__COUNT. */
const char *pool_fail_name(enum pool_fail why);

/*
 * The same operations on a record by index, with the settings passed in:
 * for transactions in flight, which keep copies of what they need rather
 * than pointers into a policy generation that a reload may free
 * (proxy/proxy.h, struct txn_route). pv NULL: no passive health.
 */
int pool_state_acquire(struct pool_shared *ps, uint32_t state, uint32_t max_inflight,
		       uint32_t max_cps, uint64_t now_ms);
void pool_state_release(struct pool_shared *ps, uint32_t state);
void pool_state_fail(struct pool_shared *ps, uint32_t state, const struct policy_passive *pv,
		     bool probing, enum pool_fail why, uint32_t retry_after_s, uint64_t now_ms);
void pool_state_ok(struct pool_shared *ps, uint32_t state);

#endif
