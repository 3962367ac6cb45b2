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

/* A plan's one candidate when the rule routes to a URI or forwards (no
 * pool): tg->dst, with the URI's shared record for caps and health. */
static void single_cand(const struct policy *p, const struct sip_target *tg, struct txn_cand *c)
{
	const struct policy_rule *rule = tg->rule;
	const struct policy_dest *d =
	    rule && rule->action == PA_ROUTE_URI ? &p->dests[rule->dest] : NULL;
	c->dst = tg->dst;
	c->listener = tg->listener;
	c->state = d ? d->state : POLICY_NONE;
	c->max_inflight = d ? d->max_inflight : 0;
	c->max_cps = d ? d->max_cps : 0;
}

bool sip_route_plan_locked(struct sip_worker *sw, struct txn *t, const struct sip_target *tg,
			   const char *fwd, uint32_t fwd_len, uint32_t loop)
{
	const struct policy *p = sw->pol;
	bool pooled = tg->pool != POLICY_NONE && tg->n_cand > 0;
	const struct policy_pool *pool = pooled ? &p->pools[tg->pool] : NULL;
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
	/* a rule without its own failover block fails over as its pool says
	 * (a prefix table's pool is only known now), or by the defaults when
	 * it routes elsewhere */
	const struct policy_failover *fo =
	    tg->rule && (tg->rule->failover_set || !pool) ? &tg->rule->failover : &pool->failover;
	r->loop = loop;
	r->n = pooled ? tg->n_cand : 1;
	r->max_tries = (uint8_t)(fo->max_tries < TXN_MAX_BRANCHES ? fo->max_tries
								    : TXN_MAX_BRANCHES);
	if (!fwd)
		r->max_tries = 1;
	r->on_timeout = fo->on_timeout;
	r->on_transport_error = fo->on_transport_error;
	r->timeout_ms = fo->timeout_ms;
	r->codes = fo->codes;
	if (pool) {
		r->passive = pool->passive;
		r->probing = pool->probe.enabled;
	}
	if (tg->rule) /* r is zeroed: the name stays terminated */
		memcpy(r->rule, tg->rule->name, strnlen(tg->rule->name, sizeof(r->rule) - 1));
	r->react[0] = tg->rule ? tg->rule->on.state : POLICY_NONE;
	r->react[1] = pool ? pool->on.state : POLICY_NONE;
	if (!pooled) {
		single_cand(p, tg, &r->cand[0]);
		t->route = r;
		return true;
	}
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

void sip_route_free_locked(struct sip_worker *sw, struct txn *t)
{
	if (!t->route)
		return;
	arena_free(sw->w->sh->arena, t->route->fwd);
	arena_free(sw->w->sh->arena, t->route);
	t->route = NULL;
}

void sip_route_settle_locked(struct sip_worker *sw, struct txn *t)
{
	const struct txn_route *r = t->route;
	if (!r || !(t->flags & TXN_F_FINAL) || r->react[0] != POLICY_NONE ||
	    r->react[1] != POLICY_NONE || sip_txn_branches_pending(t))
		return;
	for (uint8_t i = 0; i < t->nbr; i++)
		if (t->br[i].acquired)
			return;
	sip_route_free_locked(sw, t);
}

static uint16_t addr_port(const union sockaddr_any *a)
{
	return ntohs(a->sa.sa_family == AF_INET6 ? a->in6.sin6_port : a->in.sin_port);
}

/*
 * The target reactions of candidate c (docs/policy.md, "on: target"):
 * false when it must not be used (sk says why: aborted, or skipped).
 */
static bool cand_react(struct sip_worker *sw, const struct txn *t, const struct txn_cand *c,
		       struct sip_cand_skip *sk)
{
	struct react_event ev = {.event = PE_TARGET,
				 .addr = &c->dst.sa,
				 .port = addr_port(&c->dst),
				 .transport = CONFIG_TP_UDP};
	struct sip_react rx;
	if (!sip_react_locked(sw, t, NULL, &c->dst, &ev, &rx))
		return true;
	if (rx.it->action == PR_ABORT) {
		sk->why = SIP_SKIP_ABORTED;
		sk->rx = rx;
		return false;
	}
	if (rx.it->action == PR_SKIP) {
		if (sk->why < SIP_SKIP_REACTED) {
			sk->why = SIP_SKIP_REACTED;
			sk->rx = rx;
		}
		return false;
	}
	return true;
}

bool sip_cand_take_locked(struct sip_worker *sw, struct txn *t, uint8_t ci,
			  struct sip_cand_skip *sk)
{
	const struct txn_cand *c = &t->route->cand[ci];
	if (!cand_react(sw, t, c, sk))
		return false;
	/* a listed target is skipped, and answered only when nothing else is
	 * left */
	struct blacklist_entry bl;
	if (blacklist_check(sw->ps->blacklist, &c->dst.sa, addr_port(&c->dst), CONFIG_TP_UDP,
			    sw->now, &bl)) {
		if (sk->why < SIP_SKIP_BLACKLISTED) {
			sk->why = SIP_SKIP_BLACKLISTED;
			sk->bl = bl;
		}
		return false;
	}
	if (!(t->flags & TXN_F_INVITE) || c->state == POLICY_NONE)
		return true;
	if (pool_state_acquire(sw->ps, c->state, c->max_inflight, c->max_cps, sw->now) == 0)
		return true;
	if (sk->why < SIP_SKIP_CAPPED)
		sk->why = SIP_SKIP_CAPPED;
	return false;
}

/* A blacklisted or skipped target and nothing else left: the entry's (or
 * the reaction's) code and reason, unless an on-error reaction for
 * destination_blacklisted answers otherwise. */
static void answer_blacklisted(struct sip_worker *sw, struct txn *t, const struct sip_cand_skip *sk)
{
	struct react_event ev = {.event = PE_ERROR, .ierr = SE_IERR_DESTINATION_BLACKLISTED};
	struct sip_react rx;
	atomic_fetch_add_explicit(&sw->st->drops[SIP_DROP_BLACKLISTED], 1, memory_order_relaxed);
	if (sip_react_locked(sw, t, NULL, NULL, &ev, &rx) && rx.it->action == PR_REPLY) {
		sip_react_reply_locked(sw, t, &rx, SE_IERR_DESTINATION_BLACKLISTED);
		return;
	}
	const struct se_ierr_info *in = se_ierr_info(SE_IERR_DESTINATION_BLACKLISTED);
	uint16_t code = in->code;
	const char *reason = in->reason;
	if (sk->why == SIP_SKIP_BLACKLISTED) {
		code = sk->bl.code;
		reason = sk->bl.reason;
	} else { /* a skip: as the blacklist entry it makes would answer */
		const char *r = react_str(sk->rx.b, sk->rx.it->bl_reason);
		if (sk->rx.it->bl_code)
			code = sk->rx.it->bl_code;
		if (r)
			reason = r;
	}
	sip_ierr_count(sw, SE_IERR_DESTINATION_BLACKLISTED);
	log_info("transaction %x.%x: rule '%s': %s (%u %s)", t->bucket, t->label, t->route->rule,
		 in->id, code, reason ? reason : se_reason_phrase(code));
	sip_final_local_locked(sw, t, code, reason);
}

void sip_route_exhausted_locked(struct sip_worker *sw, struct txn *t, int err,
				const struct sip_cand_skip *sk)
{
	if (t->flags & TXN_F_FINAL)
		return;
	if (sk->why == SIP_SKIP_ABORTED) { /* the policy stops routing, whatever came before */
		sip_react_reply_locked(sw, t, &sk->rx, SE_IERR_DESTINATION_ABORTED);
		return;
	}
	if (sip_txn_branches_pending(t))
		return;
	if (t->best) {
		sip_send_best_locked(sw, t, 500, NULL);
	} else if (err) {
		sip_final_local_locked(sw, t, err == SE_ESHMFULL ? 503 : 500, NULL);
	} else if (sk->why == SIP_SKIP_BLACKLISTED || sk->why == SIP_SKIP_REACTED) {
		answer_blacklisted(sw, t, sk);
	} else if (sk->why == SIP_SKIP_CAPPED) {
		atomic_fetch_add_explicit(&sw->st->drops[SIP_DROP_POOL_CAPPED], 1,
					  memory_order_relaxed);
		sip_final_local_ex_locked(sw, t, 503, NULL, "Retry-After: 5\r\n");
	} else {
		sip_final_local_locked(sw, t, 500, NULL);
	}
}

void sip_error_final_locked(struct sip_worker *sw, struct txn *t, const struct sip_react *rx,
			    enum se_ierr e)
{
	if (t->flags & TXN_F_FINAL)
		return;
	if (rx && rx->it->action == PR_REPLY)
		sip_react_reply_locked(sw, t, rx, (int)e);
	else if (t->best)
		sip_send_best_locked(sw, t, se_ierr_info(e)->code, se_ierr_info(e)->reason);
	else
		sip_ierr_reply_locked(sw, t, e);
}

enum sip_fo sip_error_reaction_locked(struct sip_worker *sw, struct txn *t, struct txn_branch *br,
				      enum se_ierr e, struct sip_react *rx, bool *got)
{
	struct react_event ev = {.event = PE_ERROR, .ierr = (int)e};
	*got = sip_react_locked(sw, t, br, NULL, &ev, rx);
	if (!*got)
		return SIP_FO_PLAN;
	return rx->it->action == PR_FAILOVER ? SIP_FO_FORCE : SIP_FO_NEVER;
}

bool sip_route_next_locked(struct sip_worker *sw, struct txn *t)
{
	struct txn_route *r = t->route;
	struct se_perr perr;
	bool parsed = false;
	struct sip_cand_skip sk = {.why = SIP_SKIP_NONE};
	int err = 0;
	while (r->next < r->n && r->tries < r->max_tries && t->nbr < TXN_MAX_BRANCHES) {
		uint8_t ci = r->next++;
		struct txn_cand *c = &r->cand[ci];
		if (!sip_cand_take_locked(sw, t, ci, &sk)) {
			if (sk.why == SIP_SKIP_ABORTED)
				break;
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
		struct sip_react rx;
		bool got;
		enum sip_fo mode =
		    sip_error_reaction_locked(sw, t, br, SE_IERR_CONNECTION_ERROR, &rx, &got);
		if (sip_failover_locked(sw, t, br, PF_FAIL_TRANSPORT, 0, 0, mode))
			return true;
		if (!sip_txn_branches_pending(t))
			sip_error_final_locked(sw, t, got ? &rx : NULL, SE_IERR_CONNECTION_ERROR);
		return false;
	}
	sip_route_exhausted_locked(sw, t, err, &sk);
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
			 enum pool_fail why, uint16_t code, uint32_t retry_after, enum sip_fo mode)
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
	bool allowed = mode == SIP_FO_FORCE || mode == SIP_FO_RESTART ||
		       (mode == SIP_FO_PLAN && (why == PF_FAIL_TIMEOUT     ? r->on_timeout
						: why == PF_FAIL_TRANSPORT ? r->on_transport_error
									   : policy_codes_has(&r->codes, code)));
	/* §16.8: Timer C bounds the whole INVITE attempt, not each try; a
	 * reaction that fails over on the INVITE timeout itself starts anew */
	bool in_time = mode == SIP_FO_RESTART || !(t->flags & TXN_F_INVITE) ||
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
