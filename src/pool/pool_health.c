/*
 * pool_health: a destination's health state machine and its call caps,
 * shared by every process through its record (pool.h), lock-free.
 *
 *              passive failures (no probing: until now + down_ms)
 *              probe.down_after probe failures (no deadline)
 *      +------------------------------------------------------+
 *      |                                                      v
 *   PH_UP <---- deadline passed (read lazily) ----------- PH_DOWN
 *    |  ^ <---- probe.up_after successes in a row --------    ^
 *    |  |                                                      |
 *    |  +---- deadline passed (read lazily) ----+              |
 *    |                                          |              |
 *    +-- 503 with Retry-After --------------> PH_HOLD ---------+
 *          (until now + Retry-After)    (failures, as from PH_UP)
 *
 *   PH_DISABLED is not a state of the word: the operator's admin_disabled
 *   flag masks whatever lies beneath; enabling starts again from PH_UP.
 *
 * Every arrow into PH_UP sets up_since_ms (slow start) and clears the
 * failure runs. A state and its deadline live in one word (hstate) and
 * every transition is one CAS on it, so two workers reporting at once
 * cannot leave a hold without its deadline; the CAS winner alone writes
 * since_ms / up_since_ms afterwards (a reader may briefly see the new state
 * with the old timestamp, which only delays slow start by that instant).
 * Runs (fails_in_row, probe_fails, oks_in_row) are fetch_add counters: a
 * threshold is crossed by one caller, and later callers find the state
 * already moved.
 */
#include "pool.h"

#include <sipedge/error.h>

#define HS(h, until) (((uint64_t)(until) << 8) | (uint64_t)(h))

static uint64_t load64(_Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_acquire);
}

static uint32_t load32(_Atomic uint32_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

/* Write 0 only when needed: the runs sit on lines every worker reads. */
static void clear32(_Atomic uint32_t *v)
{
	if (load32(v))
		atomic_store_explicit(v, 0, memory_order_relaxed);
}

static bool hs_cas(struct pool_dest_state *s, uint64_t *seen, uint64_t next)
{
	return atomic_compare_exchange_weak_explicit(&s->hstate, seen, next, memory_order_acq_rel,
	                                             memory_order_acquire);
}

/* After a transition into PH_UP (by its CAS winner). */
static void came_up(struct pool_dest_state *s, uint64_t now_ms)
{
	atomic_store_explicit(&s->since_ms, now_ms, memory_order_relaxed);
	atomic_store_explicit(&s->up_since_ms, now_ms ? now_ms : 1, memory_order_relaxed);
	clear32(&s->fails_in_row);
	clear32(&s->probe_fails);
	clear32(&s->oks_in_row);
}

/* PH_UP or PH_HOLD -> PH_DOWN with deadline until (0: until probes). */
static void go_down(struct pool_dest_state *s, uint64_t until, uint64_t now_ms)
{
	uint64_t hs = load64(&s->hstate);

	do {
		if (pool_hs_health(hs) == PH_DOWN)
			return;
	} while (!hs_cas(s, &hs, HS(PH_DOWN, until)));
	atomic_store_explicit(&s->since_ms, now_ms, memory_order_relaxed);
	clear32(&s->oks_in_row);
}

/* PH_UP -> PH_HOLD, or a hold moved to a later deadline. */
static void go_hold(struct pool_dest_state *s, uint64_t until, uint64_t now_ms)
{
	uint64_t hs = load64(&s->hstate);
	enum pool_health h;

	do {
		h = pool_hs_health(hs);
		if (h == PH_DOWN || (h == PH_HOLD && pool_hs_until(hs) >= until))
			return;
	} while (!hs_cas(s, &hs, HS(PH_HOLD, until)));
	if (h != PH_HOLD)
		atomic_store_explicit(&s->since_ms, now_ms, memory_order_relaxed);
}

/* PH_DOWN -> PH_UP (probes brought it back). */
static void go_up_from_down(struct pool_dest_state *s, uint64_t now_ms)
{
	uint64_t hs = load64(&s->hstate);

	do {
		if (pool_hs_health(hs) != PH_DOWN)
			return;
	} while (!hs_cas(s, &hs, HS(PH_UP, 0)));
	came_up(s, now_ms);
}

/*
 * Whether state word hs has ended by now: a deadline that passed, or a
 * down that only probes could end on a destination no longer probed
 * (a reload turned probing off).
 */
static bool hs_expired(uint64_t hs, const struct policy_dest *d, uint64_t now_ms)
{
	enum pool_health h = pool_hs_health(hs);
	uint64_t until = pool_hs_until(hs);

	if (h != PH_HOLD && h != PH_DOWN)
		return false;
	if (until)
		return now_ms >= until;
	return h == PH_DOWN && !d->probe.enabled;
}

enum pool_health pool_dest_health(struct pool_shared *ps, const struct policy_dest *d,
                                  uint64_t now_ms)
{
	struct pool_dest_state *s = pool_dstate(ps, d);

	if (load32(&s->admin_disabled))
		return PH_DISABLED;
	uint64_t hs = load64(&s->hstate);
	while (hs_expired(hs, d, now_ms)) {
		if (hs_cas(s, &hs, HS(PH_UP, 0))) {
			came_up(s, now_ms);
			return PH_UP;
		}
	}
	return pool_hs_health(hs);
}

uint32_t pool_dest_weight_permille(struct pool_shared *ps, const struct policy *p,
                                   const struct policy_dest *d, uint64_t now_ms)
{
	if (d->pool == POLICY_NONE || d->pool >= p->n_pools)
		return 1000;
	uint64_t ramp = p->pools[d->pool].slow_start_ms;
	uint64_t up = atomic_load_explicit(&pool_dstate(ps, d)->up_since_ms, memory_order_relaxed);
	if (ramp == 0 || up == 0 || now_ms < up || now_ms - up >= ramp)
		return 1000;
	return 100 + (uint32_t)(900 * (now_ms - up) / ramp);
}

/* inflight + 1 unless it is at cap (0 = no cap). */
static bool inflight_take(struct pool_dest_state *s, uint32_t cap)
{
	uint32_t cur = load32(&s->inflight);

	do {
		if (cap && cur >= cap)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(
	    &s->inflight, &cur, cur + 1, memory_order_acq_rel, memory_order_relaxed));
	return true;
}

/* One more call in the current second unless cap are already counted
 * (seconds modulo 2^32 in the high half of the word). */
static bool cps_take(struct pool_dest_state *s, uint32_t cap, uint64_t now_ms)
{
	uint64_t sec = (now_ms / 1000) & 0xffffffffu;
	uint64_t w = atomic_load_explicit(&s->cps_window, memory_order_relaxed);
	uint64_t next;

	do {
		/* A worker whose loop clock lags may still be in the previous
		 * second: the stored second is then newer (wrap-safe), and it
		 * counts in that one rather than resetting it backwards, which
		 * would let more than cap through around the boundary. */
		uint32_t stored = (uint32_t)(w >> 32);
		if (stored == sec || (int32_t)(stored - (uint32_t)sec) > 0) {
			if ((w & 0xffffffffu) >= cap)
				return false;
			next = w + 1;
		} else {
			next = (sec << 32) | 1;
		}
	} while (!atomic_compare_exchange_weak_explicit(
	    &s->cps_window, &w, next, memory_order_acq_rel, memory_order_relaxed));
	return true;
}

int pool_state_acquire(struct pool_shared *ps, uint32_t state, uint32_t max_inflight,
                       uint32_t max_cps, uint64_t now_ms)
{
	struct pool_dest_state *s = &ps->dests[state];

	/* In-flight first: its undo is exact, a cps count is not (the
	 * second may have turned meanwhile). */
	if (!inflight_take(s, max_inflight))
		return SE_ELIMIT;
	if (max_cps && !cps_take(s, max_cps, now_ms)) {
		pool_state_release(ps, state);
		return SE_ELIMIT;
	}
	atomic_fetch_add_explicit(&s->calls, 1, memory_order_relaxed);
	return 0;
}

int pool_dest_acquire(struct pool_shared *ps, const struct policy_dest *d, uint64_t now_ms)
{
	return pool_state_acquire(ps, d->state, d->max_inflight, d->max_cps, now_ms);
}

void pool_state_release(struct pool_shared *ps, uint32_t state)
{
	struct pool_dest_state *s = &ps->dests[state];
	uint32_t cur = load32(&s->inflight);

	/* Never below 0: a double release must not leave 4 billion calls
	 * "in flight" and the destination capped for good. */
	while (cur && !atomic_compare_exchange_weak_explicit(
	                  &s->inflight, &cur, cur - 1, memory_order_acq_rel, memory_order_relaxed))
		;
}

void pool_dest_release(struct pool_shared *ps, const struct policy_dest *d)
{
	pool_state_release(ps, d->state);
}

/* Whether failures of this kind count toward passive health. */
static bool passive_counts(enum pool_fail why)
{
	return why == PF_FAIL_TIMEOUT || why == PF_FAIL_TRANSPORT || why == PF_FAIL_503;
}

void pool_state_fail(struct pool_shared *ps, uint32_t state, const struct policy_passive *pv,
                     bool probing, enum pool_fail why, uint32_t retry_after_s, uint64_t now_ms)
{
	struct pool_dest_state *s = &ps->dests[state];

	if ((unsigned)why >= PF_FAIL__COUNT)
		return;
	atomic_fetch_add_explicit(&s->fails[why], 1, memory_order_relaxed);
	if (why == PF_FAIL_503 && retry_after_s > 0) {
		uint64_t secs = retry_after_s < POOL_HOLD_MAX_S ? retry_after_s : POOL_HOLD_MAX_S;
		go_hold(s, now_ms + secs * 1000, now_ms);
		return;
	}
	if (!passive_counts(why) || !pv || pv->failures == 0)
		return;
	uint32_t run = atomic_fetch_add_explicit(&s->fails_in_row, 1, memory_order_relaxed) + 1;
	if (run < pv->failures)
		return;
	/* With probing, probes decide when it is back; otherwise a timer
	 * (whose deadline is never 0, which would mean "none"). */
	uint64_t until = 0;
	if (!probing)
		until = now_ms + pv->down_ms ? now_ms + pv->down_ms : 1;
	go_down(s, until, now_ms);
}

void pool_dest_fail(struct pool_shared *ps, const struct policy *p, const struct policy_dest *d,
                    enum pool_fail why, uint32_t retry_after_s, uint64_t now_ms)
{
	const struct policy_passive *pv = NULL;
	if (d->pool != POLICY_NONE && d->pool < p->n_pools)
		pv = &p->pools[d->pool].passive;
	pool_state_fail(ps, d->state, pv, d->probe.enabled, why, retry_after_s, now_ms);
}

void pool_state_ok(struct pool_shared *ps, uint32_t state)
{
	clear32(&ps->dests[state].fails_in_row);
}

void pool_dest_ok(struct pool_shared *ps, const struct policy_dest *d)
{
	pool_state_ok(ps, d->state);
}

const char *pool_fail_name(enum pool_fail why)
{
	static const char *const names[PF_FAIL__COUNT] = {
	    [PF_FAIL_TIMEOUT] = "timeout", [PF_FAIL_TRANSPORT] = "transport error",
	    [PF_FAIL_503] = "503", [PF_FAIL_5XX] = "5xx", [PF_FAIL_PROBE] = "probe"};
	return (unsigned)why < PF_FAIL__COUNT ? names[why] : "answered";
}

bool pool_probe_due(struct pool_shared *ps, const struct policy_dest *d, uint64_t now_ms)
{
	struct pool_dest_state *s = pool_dstate(ps, d);

	if (!d->probe.enabled || load32(&s->admin_disabled))
		return false;
	uint64_t next = atomic_load_explicit(&s->probe_next_ms, memory_order_acquire);
	if (now_ms < next)
		return false;
	uint32_t interval = d->probe.interval_ms ? d->probe.interval_ms : 1;
	/* One strong CAS: whoever moves it from `next` owns this probe; a
	 * loser sees the new value and must not retry. */
	return atomic_compare_exchange_strong_explicit(&s->probe_next_ms, &next, now_ms + interval,
	                                               memory_order_acq_rel, memory_order_acquire);
}

void pool_probe_result(struct pool_shared *ps, const struct policy_dest *d, unsigned code,
                       uint32_t rtt_us, uint64_t now_ms)
{
	struct pool_dest_state *s = pool_dstate(ps, d);

	if (code)
		atomic_store_explicit(&s->probe_rtt_us, rtt_us, memory_order_relaxed);
	if (code && policy_codes_has(&d->probe.ok, code)) {
		clear32(&s->probe_fails);
		if (pool_hs_health(load64(&s->hstate)) != PH_DOWN) {
			clear32(&s->oks_in_row);
			return;
		}
		uint32_t up_after = d->probe.up_after ? d->probe.up_after : 1;
		if (atomic_fetch_add_explicit(&s->oks_in_row, 1, memory_order_relaxed) + 1 >=
		    up_after)
			go_up_from_down(s, now_ms);
		return;
	}
	atomic_fetch_add_explicit(&s->fails[PF_FAIL_PROBE], 1, memory_order_relaxed);
	clear32(&s->oks_in_row);
	uint32_t down_after = d->probe.down_after ? d->probe.down_after : 1;
	if (atomic_fetch_add_explicit(&s->probe_fails, 1, memory_order_relaxed) + 1 >= down_after)
		go_down(s, 0, now_ms);
}

void pool_dest_set_disabled(struct pool_shared *ps, const struct policy_dest *d, bool disabled,
                            uint64_t now_ms)
{
	struct pool_dest_state *s = pool_dstate(ps, d);

	if (disabled) {
		/* "since" is when it was disabled: a repeat changes nothing */
		if (!atomic_exchange_explicit(&s->admin_disabled, 1, memory_order_acq_rel))
			atomic_store_explicit(&s->since_ms, now_ms, memory_order_relaxed);
		return;
	}
	if (!atomic_exchange_explicit(&s->admin_disabled, 0, memory_order_acq_rel))
		return;
	/* It was not probed while disabled: what it was then says nothing
	 * now. Back in service at once, probed at once, in slow start. */
	atomic_store_explicit(&s->hstate, HS(PH_UP, 0), memory_order_release);
	atomic_store_explicit(&s->probe_next_ms, 0, memory_order_relaxed);
	came_up(s, now_ms);
}

const char *pool_health_name(enum pool_health h)
{
	switch (h) {
	case PH_UP:
		return "up";
	case PH_DOWN:
		return "down";
	case PH_HOLD:
		return "hold";
	case PH_DISABLED:
		return "disabled";
	}
	return "?";
}
