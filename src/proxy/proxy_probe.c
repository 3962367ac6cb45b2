/*
 * Active health checks: OPTIONS probes of pool destinations (RFC 3261
 * §11: OPTIONS is how one asks a SIP element whether it is there).
 *
 * Exactly one worker probes a destination: the slot its shared record's
 * index maps to (state % nslots). The probe's bookkeeping lives in the
 * shared record (sequence number, time sent), so that the response —
 * which any worker may receive — is matched there, and a respawned owner
 * takes over outstanding probes. The branch names the record, the
 * sequence and a MAC (z9hG4bKsEp.<state>.<seq>.<mac>), so responses are
 * recognised without any table and forged ones are dropped.
 *
 * Probes are stateless apart from that: retransmitted at T1, doubling, by
 * the owner (worker memory), until the probe's timeout; no answer by then
 * is a failure. Work per tick is bounded (PROBE_BATCH destinations).
 */
#include "proxy.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "../runtime/log.h"

#define PROBE_BATCH 64
#define PROBE_PREFIX SE_BRANCH_COOKIE "sEp."

/* Now in CLOCK_MONOTONIC µs (uv_hrtime: the same clock in every process,
 * and not the loop's cached millisecond), never 0. */
static uint64_t probe_now_us(void)
{
	uint64_t us = uv_hrtime() / 1000;
	return us ? us : 1;
}

static uint64_t probe_mac(uint64_t secret, uint32_t state, uint32_t seq)
{
	uint32_t v[2] = {state, seq};
	return XXH3_64bits_withSeed(v, sizeof(v), secret ^ 0x70726f6265ull);
}

void sip_probe_install(struct sip_worker *sw, const struct policy *p)
{
	free(sw->probe_rt);
	sw->probe_rt = calloc(p->n_dests ? p->n_dests : 1, sizeof(*sw->probe_rt));
	if (!sw->probe_rt)
		abort();
	free(sw->dest_of_state);
	uint32_t cap = sw->ps ? sw->ps->dest_cap : 0;
	sw->dest_of_state = malloc((cap ? cap : 1) * sizeof(uint32_t));
	if (!sw->dest_of_state)
		abort();
	for (uint32_t i = 0; i < cap; i++)
		sw->dest_of_state[i] = POLICY_NONE;
	for (uint32_t i = 0; i < p->n_dests; i++)
		if (p->dests[i].state < cap)
			sw->dest_of_state[p->dests[i].state] = i;
	sw->probe_cursor = 0;
}

static void probe_send(struct sip_worker *sw, const struct policy_dest *d, uint32_t seq)
{
	union sockaddr_any dst;
	sip_dest_addr(d, &dst);
	int li = sip_listener_for_family(sw->w, dst.sa.sa_family);
	if (li < 0)
		return;
	const struct listener_rt *l = &sw->w->listeners[li];
	char tag[17], cid[17];
	se_rng_token(&sw->rng, tag, 16);
	se_rng_token(&sw->rng, cid, 16);
	const char *uri = d->uri;
	int n = snprintf(sw->out2, sizeof(sw->out2),
			 "OPTIONS %s SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP %s:%u;branch=" PROBE_PREFIX "%u.%u.%016" PRIx64 ";rport\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:sipedge@%s:%u>;tag=%s\r\n"
			 "To: <%s>\r\n"
			 "Call-ID: %s@%s\r\n"
			 "CSeq: %u OPTIONS\r\n"
			 "Content-Length: 0\r\n\r\n",
			 uri, l->via_host, l->via_port, d->state, seq,
			 probe_mac(sw->ss->secret, d->state, seq), l->via_host, l->via_port, tag,
			 uri, cid, l->via_host, seq);
	if (n > 0 && (size_t)n < sizeof(sw->out2))
		sip_send(sw, (uint8_t)li, &dst, sw->out2, (uint32_t)n);
}

/* One destination this slot owns: time out, retransmit, or start a probe. */
static void probe_dest(struct sip_worker *sw, uint32_t di)
{
	const struct policy_dest *d = &sw->pol->dests[di];
	struct pool_dest_state *st = pool_dstate(sw->ps, d);
	struct sip_probe_rt *rt = &sw->probe_rt[di];
	uint64_t sent = atomic_load(&st->probe_sent_us);
	if (sent) {
		if (probe_now_us() >= sent + (uint64_t)d->probe.timeout_ms * 1000) {
			if (atomic_compare_exchange_strong(&st->probe_sent_us, &sent, 0))
				pool_probe_result(sw->ps, d, 0, 0, sw->now);
			return;
		}
		if (rt->seq == atomic_load(&st->probe_seq) && rt->next_ms && sw->now >= rt->next_ms) {
			probe_send(sw, d, rt->seq);
			rt->interval_ms *= 2;
			rt->next_ms = sw->now + rt->interval_ms;
		}
		return;
	}
	if (!pool_probe_due(sw->ps, d, sw->now))
		return;
	uint32_t seq = atomic_fetch_add(&st->probe_seq, 1) + 1;
	atomic_store(&st->probe_sent_us, probe_now_us());
	rt->seq = seq;
	rt->interval_ms = sw->w->cfg->timers.t1;
	rt->next_ms = sw->now + rt->interval_ms;
	probe_send(sw, d, seq);
}

void sip_probe_tick(struct sip_worker *sw)
{
	const struct policy *p = sw->pol;
	if (!p || !sw->ps || !sw->probe_rt || p->n_dests == 0)
		return;
	uint32_t nslots = sw->w->sh->nslots;
	uint32_t n = p->n_dests < PROBE_BATCH ? p->n_dests : PROBE_BATCH;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t di = sw->probe_cursor;
		sw->probe_cursor = (sw->probe_cursor + 1) % p->n_dests;
		const struct policy_dest *d = &p->dests[di];
		if (!d->probe.enabled || d->state == POLICY_NONE || d->state % nslots != sw->w->slot)
			continue;
		probe_dest(sw, di);
	}
}

/* "<state>.<seq>.<mac>" after the prefix. */
static bool probe_branch(const char *b, uint32_t len, uint32_t *state, uint32_t *seq,
			 uint64_t *mac)
{
	const size_t pl = sizeof(PROBE_PREFIX) - 1;
	if (len <= pl || len > 80 || memcmp(b, PROBE_PREFIX, pl) != 0)
		return false;
	char tmp[81];
	memcpy(tmp, b + pl, len - pl);
	tmp[len - pl] = '\0';
	char *e;
	unsigned long s = strtoul(tmp, &e, 10);
	if (*e != '.' || s > UINT32_MAX)
		return false;
	unsigned long q = strtoul(e + 1, &e, 10);
	if (*e != '.' || q > UINT32_MAX || strlen(e + 1) != 16)
		return false;
	char *end;
	unsigned long long m = strtoull(e + 1, &end, 16);
	if (*end != '\0')
		return false;
	*state = (uint32_t)s;
	*seq = (uint32_t)q;
	*mac = m;
	return true;
}

bool sip_probe_response(struct sip_worker *sw, const struct se_msg *m, const char *buf)
{
	const struct se_via *v = se_msg_top_via(m);
	uint32_t state, seq;
	uint64_t mac;
	if (!probe_branch(buf + v->branch.off, v->branch.len, &state, &seq, &mac))
		return false;
	if (mac != probe_mac(sw->ss->secret, state, seq) || !sw->ps || state >= sw->ps->dest_cap ||
	    m->status < 200)
		return true; /* forged, or a provisional: nothing to learn */
	uint32_t di = sw->dest_of_state ? sw->dest_of_state[state] : POLICY_NONE;
	if (di == POLICY_NONE)
		return true; /* a destination the policy no longer has */
	const struct policy_dest *d = &sw->pol->dests[di];
	struct pool_dest_state *st = pool_dstate(sw->ps, d);
	uint64_t sent = atomic_load(&st->probe_sent_us);
	if (!sent || atomic_load(&st->probe_seq) != seq ||
	    !atomic_compare_exchange_strong(&st->probe_sent_us, &sent, 0))
		return true; /* late, or already timed out */
	uint64_t now = probe_now_us();
	uint64_t rtt = now > sent ? now - sent : 1; /* 0 would read as "no answer" */
	pool_probe_result(sw->ps, d, m->status, rtt > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt,
			  sw->now);
	return true;
}
