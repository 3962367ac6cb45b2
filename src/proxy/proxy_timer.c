/*
 * Transaction timers (RFC 3261 §17.1.1.2 A/B/D, §17.1.2.2 E/F/K,
 * §17.2.1 G/H/I, §17.2.2 J, §16.8 Timer C, RFC 6026 L/M, RFC 4320).
 *
 * Each transaction keeps its deadlines in its own fields and one node in
 * its owner slot's wheel, armed at the earliest of them. The handler runs
 * in the owner's worker: it acts on every deadline that has passed, then
 * frees the transaction when both sides are done or re-arms the node.
 * Work per tick is bounded: at most TIMER_ROUNDS batches of TIMER_BATCH
 * nodes (what is left waits for the next tick). A tick is up to 50 ms
 * (sip_tick_ms), and each transaction fires about twice (an early
 * deadline it outlived, then its last): 4096 a tick covers some 20,000
 * new transactions a second per worker.
 */
#include "proxy.h"

#include "../runtime/log.h"

#define TIMER_BATCH  256
#define TIMER_ROUNDS 16

static uint64_t min_nz(uint64_t a, uint64_t b)
{
	return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

static bool branch_done(const struct txn_branch *br)
{
	return br->state == TC_UNUSED || br->state == TC_TERMINATED;
}

void sip_txn_rearm_locked(struct sip_worker *sw, struct txn *t)
{
	/* the end of every event of t: what it no longer needs goes first */
	sip_route_settle_locked(sw, t);
	uint64_t when = t->t_g;
	when = min_nz(when, t->t_end);
	for (uint8_t i = 0; i < t->nbr; i++) {
		const struct txn_branch *br = &t->br[i];
		when = min_nz(when, br->t_retrans);
		when = min_nz(when, br->t_timeout);
		when = min_nz(when, br->t_c);
		when = min_nz(when, br->t_cancel);
		when = min_nz(when, br->t_cancel_end);
	}
	if (when == 0) /* nothing scheduled: look again in a second (a safety net:
			* every live state has a deadline of its own) */
		when = sw->now + 1000;
	struct twheel *w = &sw->ss->wheels[t->owner];
	/* a node armed earlier than needed fires and re-arms: only move it
	 * when the new deadline is sooner, or when it is not armed */
	if (!t->timer.armed || when < t->timer.expires)
		twheel_arm(w, &t->timer, when);
}

/* Timer C fired on branch br and nothing went upstream yet: the policy's
 * invite-timeout reaction (else its on-error one for invite_timeout) may
 * try the next destination or answer otherwise; by default 408 INVITE
 * Timeout (DESIGN.md internal errors). */
static void invite_timeout_locked(struct sip_worker *sw, struct txn *t, struct txn_branch *br)
{
	struct sip_react rx;
	struct react_event ev = {.event = PE_INVITE_TIMEOUT};
	bool got = false;
	if (t->route) {
		got = sip_react_locked(sw, t, br, NULL, &ev, &rx);
		if (!got)
			sip_error_reaction_locked(sw, t, br, SE_IERR_INVITE_TIMEOUT, &rx, &got);
	}
	if (got && rx.it->action == PR_FAILOVER &&
	    sip_failover_locked(sw, t, br, PF_FAIL_TIMEOUT, 0, 0, SIP_FO_RESTART))
		return;
	if (got && rx.it->action == PR_REPLY)
		sip_react_reply_locked(sw, t, &rx, SE_IERR_INVITE_TIMEOUT);
	else
		sip_ierr_reply_locked(sw, t, SE_IERR_INVITE_TIMEOUT);
}

/* Branch timers. Returns true when the branch timed out without any
 * final response (Timer B/F), which the server side must answer. */
static bool branch_timers_locked(struct sip_worker *sw, struct txn *t, struct txn_branch *br)
{
	const struct config *cfg = sw->w->cfg;
	uint64_t now = sw->now;
	bool invite = t->flags & TXN_F_INVITE;
	if (br->t_retrans && br->t_retrans <= now && br->req) { /* Timer A / E */
		sip_send(sw, br->listener, &br->dst, br->req, br->req_len);
		if (invite)
			br->a_int *= 2;
		else
			br->a_int = br->a_int * 2 < cfg->timers.t2 ? br->a_int * 2 : cfg->timers.t2;
		br->t_retrans = now + br->a_int;
	}
	if (br->t_cancel && br->t_cancel <= now && br->cancel_req) {
		sip_send(sw, br->listener, &br->dst, br->cancel_req, br->cancel_len);
		br->cancel_int = br->cancel_int * 2 < cfg->timers.t2 ? br->cancel_int * 2
								      : cfg->timers.t2;
		br->t_cancel = now + br->cancel_int;
	}
	if (br->t_cancel_end && br->t_cancel_end <= now) { /* Timer F of the CANCEL */
		br->cancel = 2;
		br->t_cancel = br->t_cancel_end = 0;
	}
	if (br->t_c && br->t_c <= now) { /* Timer C (§16.8) */
		br->t_c = 0;
		if (br->got_prov) {
			sip_branch_cancel_locked(sw, t, br,
						 "Reason: SIP;cause=408;text=\"INVITE Timeout\"\r\n");
			/* the branch now waits for its 487 under Timer B's bound */
			br->t_timeout = now + 64 * cfg->timers.t1;
		} else {
			br->state = TC_TERMINATED;
			br->t_retrans = br->t_timeout = 0;
		}
		sip_branch_done_locked(sw, t, br, false);
		if (!(t->flags & TXN_F_FINAL))
			invite_timeout_locked(sw, t, br);
	}
	if (br->t_timeout && br->t_timeout <= now) {
		bool unanswered = br->state == TC_CALLING || br->state == TC_PROCEEDING;
		br->state = TC_TERMINATED;
		br->t_retrans = br->t_timeout = br->t_c = 0;
		br->t_cancel = br->t_cancel_end = 0;
		return unanswered;
	}
	return false;
}

static void txn_timer_locked(struct sip_worker *sw, struct txn *t)
{
	const struct config *cfg = sw->w->cfg;
	uint64_t now = sw->now;
	bool all_done = true;
	for (uint8_t i = 0; i < t->nbr; i++) {
		struct txn_branch *br = &t->br[i];
		if (!branch_timers_locked(sw, t, br)) {
			all_done = all_done && branch_done(br);
			continue;
		}
		/* a branch we cancelled ourselves (Timer C) that never answered
		 * the CANCEL: its failure was dealt with when Timer C fired */
		if (br->cancel && !(t->flags & TXN_F_CANCELLED)) {
			sip_branch_done_locked(sw, t, br, false);
			if (!(t->flags & TXN_F_FINAL) && !sip_txn_branches_pending(t))
				sip_send_best_locked(sw, t,
						     se_ierr_info(SE_IERR_INVITE_TIMEOUT)->code,
						     se_ierr_info(SE_IERR_INVITE_TIMEOUT)->reason);
			all_done = all_done && branch_done(br);
			continue;
		}
		/* an unanswered try: passive health, the policy's on-error
		 * reaction for client_timeout, and maybe the next one */
		struct sip_react rx;
		bool got = false;
		enum sip_fo mode = t->flags & (TXN_F_FINAL | TXN_F_CANCELLED)
					   ? SIP_FO_PLAN
					   : sip_error_reaction_locked(sw, t, br, SE_IERR_CLIENT_TIMEOUT,
								       &rx, &got);
		bool next = sip_failover_locked(sw, t, br, PF_FAIL_TIMEOUT, 0, 0, mode);
		if (!next && !(t->flags & TXN_F_FINAL) && !sip_txn_branches_pending(t)) {
			if (t->flags & TXN_F_CANCELLED)
				sip_final_local_locked(sw, t, 487, NULL);
			/* RFC 4320: a reaction may answer a non-INVITE, but only
			 * with a code of its own that is not 408 */
			else if (t->flags & TXN_F_INVITE || t->best ||
				 (got && rx.it->action == PR_REPLY && rx.it->code &&
				  rx.it->code != 408))
				sip_error_final_locked(sw, t, got ? &rx : NULL,
						       SE_IERR_CLIENT_TIMEOUT);
			else { /* RFC 4320: never a 408 to a non-INVITE; the client
				* times out by itself. Keep absorbing for Timer J. */
				sip_txn_final_locked(sw, t);
				t->sstate = TS_COMPLETED;
				t->t_end = now + 64 * cfg->timers.t1;
			}
		}
		all_done = all_done && branch_done(br);
	}
	if (all_done && !(t->flags & TXN_F_FINAL)) {
		/* no branch left and nothing sent up (forwarding failed): answer
		 * so the client is not left waiting, and let the record go */
		sip_send_best_locked(sw, t, 500, NULL);
		if (!(t->flags & TXN_F_FINAL)) { /* could not even build it */
			sip_txn_final_locked(sw, t);
			t->sstate = TS_TERMINATED;
		}
	}
	if (t->t_g && t->t_g <= now && t->resp) { /* Timer G */
		sip_send(sw, t->listener, &t->resp_dst, t->resp, t->resp_len);
		t->g_int = t->g_int * 2 < cfg->timers.t2 ? t->g_int * 2 : cfg->timers.t2;
		t->t_g = now + t->g_int;
	}
	if (t->t_end && t->t_end <= now) { /* Timer H, I, J, L: the server side ends */
		t->sstate = TS_TERMINATED;
		t->t_g = t->t_end = 0;
	}
	bool server_done = t->sstate == TS_TERMINATED || (t->nbr == 0 && (t->flags & TXN_F_FINAL));
	if (server_done && all_done) {
		sip_txn_free_locked(sw, t);
		return;
	}
	if (!t->timer.armed)
		sip_txn_rearm_locked(sw, t);
}

void sip_tick(struct worker *w, uint64_t now)
{
	struct sip_worker *sw = sip_of(w);
	struct twheel *wh = &sw->ss->wheels[w->slot];
	struct tnode *batch[TIMER_BATCH];
	sw->now = now;
	for (uint32_t round = 0; round < TIMER_ROUNDS; round++) {
		uint32_t n = twheel_expire(wh, now, batch, TIMER_BATCH);
		for (uint32_t i = 0; i < n; i++) {
			struct txn *t = txn_of_node(batch[i]);
			/* bucket is read before its lock: the node was popped
			 * by us, and only this slot frees, so t is alive */
			uint32_t b = t->bucket;
			txn_table_lock(sw->ss->txns, b);
			txn_timer_locked(sw, t);
			txn_table_unlock(sw->ss->txns, b);
		}
		if (n < TIMER_BATCH)
			break;
	}
	sip_probe_tick(sw);
}

void sip_adopt_timers(struct sip_worker *sw)
{
	/* A previous worker of this slot may have died between popping a
	 * node and re-arming it: give every transaction of the slot that has
	 * no armed node a timer now, so none is left behind. */
	struct txn_table *tt = sw->ss->txns;
	uint32_t adopted = 0;
	for (uint32_t b = 0; b <= tt->mask; b++) {
		txn_table_lock(tt, b);
		txn_table_foreach_locked(tt, b, it)
		{
			struct txn *t = txn_of_link(it);
			if (t->owner == sw->w->slot && !t->timer.armed) {
				twheel_arm(&sw->ss->wheels[t->owner], &t->timer, sw->now);
				adopted++;
			}
		}
		txn_table_unlock(tt, b);
	}
	if (adopted)
		log_info("adopted %u transactions without a timer", adopted);
}
