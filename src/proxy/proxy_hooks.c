/*
 * The SIP layer's runtime hooks (runtime/shared.h, runtime/worker_hooks.h):
 * shared state created by the master before fork, per-worker state after
 * fork, and the idle test for a graceful stop.
 */
#include "proxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "../runtime/hooks_sip.h"
#include "../runtime/log.h"

/* The timer wheel's resolution and the tick's period: T1/10, so that a
 * retransmission is at most 10% late, from 10 ms (short T1 in tests) to
 * 50 ms (the default T1 of 500 ms). A tick that finds the worker asleep
 * wakes it: at the default T1 that is 20 wake-ups a second per worker
 * instead of 100, idle or not. */
uint32_t sip_tick_ms(const struct config *cfg)
{
	uint32_t ms = cfg->timers.t1 / 10;
	return ms < 10 ? 10 : ms > 50 ? 50 : ms;
}

/* Transaction buckets: one per 8 KiB of arena, a power of two from 16384
 * to 2^20. A completed call holds about 1.2 KB for 64*T1 (32 s) in two
 * records, so even a full arena keeps chains a few records long; a lookup
 * walks its chain, one cache miss per record. 72 bytes a bucket: under 1%
 * of the arena. */
static uint32_t txn_buckets(uint64_t shm_size)
{
	uint32_t n = 16384;
	while (n < (1u << 20) && (uint64_t)n * 8192 < shm_size)
		n <<= 1;
	return n;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int sip_shared_init(struct shared *sh, const struct config *cfg)
{
	struct arena *a = sh->arena;
	struct sip_shared *ss = arena_alloc_permanent(a, sizeof(*ss));
	if (!ss)
		return SE_ESHMFULL;
	memset(ss, 0, sizeof(*ss));
	int rc = txn_table_create(a, txn_buckets(cfg->shm_size), &ss->txns);
	if (rc)
		return rc;
	ss->wheels = arena_alloc_permanent(a, sh->nslots * sizeof(struct twheel));
	ss->stats = arena_alloc_permanent(a, sh->nslots * sizeof(struct sip_stats));
	if (!ss->wheels || !ss->stats)
		return SE_ESHMFULL;
	memset(ss->stats, 0, sh->nslots * sizeof(struct sip_stats));
	uint64_t now = mono_ms();
	for (uint32_t i = 0; i < sh->nslots; i++) {
		rc = twheel_init(&ss->wheels[i], sip_tick_ms(cfg), now);
		if (rc)
			return rc;
	}
	if (getrandom(&ss->secret, sizeof(ss->secret), 0) != sizeof(ss->secret))
		return SE_EINVAL;
	sh->sip = ss;
	return 0;
}

static int sip_start(struct worker *w)
{
	struct sip_worker *sw = calloc(1, sizeof(*sw));
	if (!sw)
		abort();
	sw->w = w;
	sw->ss = w->sh->sip;
	sw->st = &sw->ss->stats[w->slot];
	sw->ps = w->sh->pools;
	for (uint32_t i = 0; i < w->n_listeners; i++) {
		const struct listener_rt *l = &w->listeners[i];
		snprintf(sw->listener_names[i], sizeof(sw->listener_names[i]), "%s://%s:%u",
			 config_transport_name(l->cfg->transport), l->via_host, l->via_port);
		sw->listener_name_len[i] = (uint32_t)strlen(sw->listener_names[i]);
	}
	const struct config *cfg = w->cfg;
	sw->lim = (struct se_limits){cfg->limits.max_message_size, (uint16_t)cfg->limits.max_headers,
				     (uint16_t)cfg->limits.max_via, 64};
	size_t msz = se_msg_size(&sw->lim);
	sw->msg = se_msg_init(malloc(msz), &sw->lim);
	sw->aux = se_msg_init(malloc(msz), &sw->lim);
	sw->aux2 = se_msg_init(malloc(msz), &sw->lim);
	uint8_t seed[32];
	if (getrandom(seed, sizeof(seed), 0) != sizeof(seed))
		abort(); /* getrandom on Linux >= 3.17 does not fail for 32 bytes */
	se_rng_seed(&sw->rng, seed);
	sw->now = worker_now_ms(w);
	w->sip = sw;
	sip_adopt_timers(sw);
	return 0;
}

static void sip_policy(struct worker *w, const void *policy)
{
	sip_policy_install(sip_of(w), policy);
}

static bool sip_idle(struct worker *w)
{
	struct sip_worker *sw = sip_of(w);
	/* idle once no transaction of the slot awaits its final response:
	 * what is left only absorbs retransmissions (Timers J, L, D...) */
	return atomic_load(&sw->st->txn_pending) <= 0;
}

static void sip_stop(struct worker *w)
{
	struct sip_worker *sw = sip_of(w);
	if (!sw)
		return;
	free(sw->msg);
	free(sw->aux);
	free(sw->aux2);
	free(sw->probe_rt);
	free(sw->dest_of_state);
	free(sw);
	w->sip = NULL;
}

static const struct runtime_hooks hooks = {
	.shared_init = sip_shared_init,
	.worker = {
		.start = sip_start,
		.recv = sip_recv,
		.tick = sip_tick,
		.idle = sip_idle,
		.policy = sip_policy,
		.send_failed = sip_send_failed,
		.stop = sip_stop,
		.tick_ms = sip_tick_ms,
	},
};

const struct runtime_hooks *sip_runtime_hooks(void)
{
	return &hooks;
}
