/*
 * Failover across a pool's destinations (serial forking, RFC 3261 §16.6
 * step 10 and §16.7: a proxy may send a request to new targets as long as
 * no final response went upstream).
 *
 * When a request is routed to a pool, the transaction gets a plan
 * (struct txn_route): the destinations in the balancing order, each with
 * its address and shared state, and the policy's failover rules, all
 * copied so that a policy reload leaves a transaction in flight alone. A
 * try that fails — a final response whose code the policy lists, no
 * answer within the try's timeout, a transport error — feeds passive
 * health and starts the next destination, within the try budget and
 * while Timer C runs (§16.8: the whole attempt, not each try). When no try
 * is left, the best response received goes upstream (§16.7 step 6).
 */
#include "proxy.h"

#include <stdio.h>
#include <string.h>

#include "../pool/blacklist.h"
#include "../runtime/log.h"

bool sip_route_plan_locked(struct sip_worker *sw, struct txn *t, const struct sip_target *tg,
			   const char *fwd, uint32_t fwd_len, uint32_t loop)
{
	const struct policy *p = sw->pol;
	const struct policy_pool *pool = &p->pools[tg->pool];
	struct arena *a = sw->w->sh->arena;
	struct txn_route *r = arena_calloc(a, 1, sizeof(*r));
	if (!r)
		return false;
	if (fwd) {
		r->fwd = sip_store(sw, fwd, fwd_len);
		if (!r->fwd) {
			arena_free(a, r);
			return false;
		}
		r->fwd_len = fwd_len;
	}
	const struct policy_failover *fo =
		tg->rule && tg->rule->failover_set ? &tg->rule->failover : &pool->failover;
	r->loop = loop;
	r->n = tg->n_cand;
	r->max_tries = (uint8_t)(fo->max_tries < TXN_MAX_BRANCHES ? fo->max_tries
								    : TXN_MAX_BRANCHES);
	if (!fwd)
		r->max_tries = 1;
	r->on_timeout = fo->on_timeout;
	r->on_transport_error = fo->on_transport_error;
	r->timeout_ms = fo->timeout_ms;
	r->codes = fo->codes;
	r->passive = pool->passive;
	r->probing = pool->probe.enabled;
	snprintf(r->rule, sizeof(r->rule), "%s", tg->rule ? tg->rule->name : "");
	for (uint8_t i = 0; i < tg->n_cand; i++) {
		const struct policy_dest *d = &p->dests[tg->cand[i]];
		struct txn_cand *c = &r->cand[i];
		sip_dest_addr(d, &c->dst);
		c->state = d->state;
		c->max_inflight = d->max_inflight;
		c->max_cps = d->max_cps;
		c->listener = tg->cand_listener[i];
		/* a destination's own probe block counts as probing too */
		r->probing = r->probing || d->probe.enabled;
	}
	t->route = r;
	return true;
}

/* Why a candidate was passed over: the answer when none is left. */
enum cand_skip {
	CAND_TAKEN = 0,
	CAND_CAPPED,      /* max-calls / max-cps reached */
	CAND_BLACKLISTED, /* *bl filled */
};

/* May candidate c take this request? The blacklist first (a listed target
 * is skipped, and answered only when nothing else is left), then the
 * call caps for an INVITE. */
static enum cand_skip cand_take(struct sip_worker *sw, const struct txn *t, const struct txn_cand *c,
		     struct blacklist_entry *bl)
{
	uint16_t port = ntohs(c->dst.sa.sa_family == AF_INET6 ? c->dst.in6.sin6_port
							      : c->dst.in.sin_port);
	if (blacklist_check(sw->ps->blacklist, &c->dst.sa, port, CONFIG_TP_UDP, sw->now, bl))
		return CAND_BLACKLISTED;
	if (!(t->flags & TXN_F_INVITE) || c->state == POLICY_NONE)
		return CAND_TAKEN;
	return pool_state_acquire(sw->ps, c->state, c->max_inflight, c->max_cps, sw->now) == 0
		       ? CAND_TAKEN
		       : CAND_CAPPED;
}

bool sip_route_next_locked(struct sip_worker *sw, struct txn *t)
{
	struct txn_route *r = t->route;
	struct se_perr perr;
	bool parsed = false;
	enum cand_skip skipped = CAND_TAKEN;
	int err = 0;
	struct blacklist_entry bl;
	while (r->next < r->n && r->tries < r->max_tries && t->nbr < TXN_MAX_BRANCHES) {
		uint8_t ci = r->next++;
		struct txn_cand *c = &r->cand[ci];
		enum cand_skip why = cand_take(sw, t, c, &bl);
		if (why != CAND_TAKEN) {
			skipped = why;
			continue;
		}
		if (!parsed && se_msg_parse(sw->aux, r->fwd, r->fwd_len, SE_DGRAM, &sw->lim, &perr) < 0)
			break; /* we built it: cannot happen */
		parsed = true;
		bool sent = false;
		int rc = sip_branch_start_locked(sw, t, sw->aux, r->fwd, NULL, 0, &c->dst, c->listener,
					     ci, r->loop, &sent);
		if (rc != 0) {
			if (t->flags & TXN_F_INVITE && c->state != POLICY_NONE)
				pool_state_release(sw->ps, c->state);
			err = rc;
			break;
		}
		r->tries++;
		struct txn_branch *br = &t->br[t->nbr - 1];
		br->acquired = (t->flags & TXN_F_INVITE) && c->state != POLICY_NONE;
		if (sent)
			return true;
		/* the send failed at once: a transport error ends this try */
		br->state = TC_TERMINATED;
		br->t_retrans = br->t_timeout = br->t_c = 0;
		if (sip_failover_locked(sw, t, br, PF_FAIL_TRANSPORT, 0, 0))
			return true;
		if (!sip_txn_branches_pending(t) && !(t->flags & TXN_F_FINAL))
			sip_send_best_locked(sw, t, 500, "Connection Error");
		return false;
	}
	if (sip_txn_branches_pending(t) || (t->flags & TXN_F_FINAL))
		return false;
	if (t->best) {
		sip_send_best_locked(sw, t, 500, NULL);
	} else if (err) {
		sip_final_local_locked(sw, t, err == SE_ESHMFULL ? 503 : 500, NULL);
	} else if (skipped == CAND_BLACKLISTED) {
		atomic_fetch_add_explicit(&sw->st->drops[SIP_DROP_BLACKLISTED], 1,
					  memory_order_relaxed);
		sip_final_local_locked(sw, t, bl.code, bl.reason);
	} else if (skipped == CAND_CAPPED) {
		atomic_fetch_add_explicit(&sw->st->drops[SIP_DROP_POOL_CAPPED], 1,
					  memory_order_relaxed);
		sip_final_local_ex_locked(sw, t, 503, NULL, "Retry-After: 5\r\n");
	} else {
		sip_final_local_locked(sw, t, 500, NULL);
	}
	return false;
}

void sip_branch_done_locked(struct sip_worker *sw, struct txn *t, struct txn_branch *br,
			    bool answered)
{
	if (!t->route || br->cand == TXN_NO_CAND)
		return;
	const struct txn_cand *c = &t->route->cand[br->cand];
	if (br->acquired) {
		br->acquired = 0;
		pool_state_release(sw->ps, c->state);
	}
	if (answered && c->state != POLICY_NONE)
		pool_state_ok(sw->ps, c->state);
}

bool sip_failover_locked(struct sip_worker *sw, struct txn *t, struct txn_branch *br,
			 enum pool_fail why, uint16_t code, uint32_t retry_after)
{
	struct txn_route *r = t->route;
	if (!r || br->cand == TXN_NO_CAND)
		return false;
	const struct txn_cand *c = &r->cand[br->cand];
	/* passive health: PF_FAIL__COUNT is an answer that says nothing bad
	 * about the destination (a 404, a 486...) */
	sip_branch_done_locked(sw, t, br, why == PF_FAIL__COUNT);
	if (why != PF_FAIL__COUNT && c->state != POLICY_NONE)
		pool_state_fail(sw->ps, c->state, &r->passive, r->probing, why, retry_after,
				sw->now);
	bool allowed = why == PF_FAIL_TIMEOUT     ? r->on_timeout
		       : why == PF_FAIL_TRANSPORT ? r->on_transport_error
						  : policy_codes_has(&r->codes, code);
	/* §16.8: Timer C bounds the whole INVITE attempt, not each try */
	bool in_time = !(t->flags & TXN_F_INVITE) ||
		       sw->now < t->created_ms + sw->w->cfg->timers.timer_c;
	if (!allowed || !in_time || (t->flags & (TXN_F_FINAL | TXN_F_CANCELLED)) ||
	    r->next >= r->n || r->tries >= r->max_tries || !r->fwd)
		return false;
	if (code)
		log_info("transaction %x.%x: rule '%s': try %u answered %u, next destination",
			 t->bucket, t->label, r->rule, r->tries, code);
	else
		log_info("transaction %x.%x: rule '%s': try %u failed (%s), next destination",
			 t->bucket, t->label, r->rule, r->tries, pool_fail_name(why));
	return sip_route_next_locked(sw, t);
}
