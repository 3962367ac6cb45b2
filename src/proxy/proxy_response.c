/*
 * Responses (RFC 3261 §16.7, §17.1; RFC 6026; RFC 4320/4321).
 *
 * A response is ours when its top Via names one of our listeners and its
 * branch authenticates (txn_key.h); the branch names the bucket and label
 * of its transaction, found in O(1) from any worker. Provisionals (but
 * 100) and every 2xx go upstream at once; a final non-2xx is ACKed
 * downstream and, as the best (only) response, forwarded unless a final
 * went up already; a lone 503 becomes a 500 (§16.7 step 6). Responses
 * that match nothing are forwarded statelessly only if they are 2xx to an
 * INVITE (retransmissions after the transaction ended) and really ours.
 */
#include "proxy.h"

#include <stdio.h>
#include <string.h>

#include "../runtime/log.h"

/* RFC 3326: why the other tries of an INVITE answered elsewhere end */
#define REASON_ELSEWHERE "Reason: SIP;cause=200;text=\"Call completed elsewhere\"\r\n"

/* The server side got its final response: RFC 3261 §17.2.1 / §17.2.2 and
 * RFC 6026 timers; the request copy is no longer needed. §16.7 step 10:
 * every INVITE try still pending is cancelled (a try given up on Timer C,
 * or one still running when a reaction answered). */
static void server_final_locked(struct sip_worker *sw, struct txn *t, uint16_t code)
{
	const struct config *cfg = sw->w->cfg;
	sip_txn_final_locked(sw, t);
	t->resp_code = code;
	if (t->flags & TXN_F_INVITE) {
		for (uint8_t i = 0; i < t->nbr; i++)
			sip_branch_cancel_locked(sw, t, &t->br[i], code < 300 ? REASON_ELSEWHERE : NULL);
		if (code >= 300) {
			t->sstate = TS_COMPLETED;
			t->g_int = cfg->timers.t1;
			t->t_g = sw->now + cfg->timers.t1;         /* Timer G */
			t->t_end = sw->now + 64 * cfg->timers.t1;  /* Timer H */
		} else {
			/* RFC 6026 §7.1: in Accepted a retransmitted INVITE is
			 * absorbed, not answered: the 2xx copy is of no use */
			t->sstate = TS_ACCEPTED;
			t->t_end = sw->now + 64 * cfg->timers.t1;  /* Timer L */
			arena_free(sw->w->sh->arena, t->resp);
			t->resp = NULL;
			t->resp_len = 0;
		}
	} else {
		t->sstate = TS_COMPLETED;
		t->t_end = sw->now + 64 * cfg->timers.t1;          /* Timer J */
	}
	arena_free(sw->w->sh->arena, t->req);
	t->req = NULL;
	t->req_len = 0;
}

void sip_final_local_ex_locked(struct sip_worker *sw, struct txn *t, uint16_t code,
			       const char *reason, const char *extra)
{
	struct se_perr err;
	if (!t->req || se_msg_parse(sw->aux, t->req, t->req_len, SE_DGRAM, &sw->lim, &err) < 0)
		return;
	char tag[17];
	se_rng_token(&sw->rng, tag, 16);
	struct se_reply r = {.code = code, .reason = reason, .to_tag = tag, .headers = extra};
	int n = se_build_reply(sw->aux, t->req, &r, sw->out2, sizeof(sw->out2));
	if (n < 0)
		return;
	atomic_fetch_add_explicit(&sw->st->replies_local[code / 100], 1, memory_order_relaxed);
	sip_send(sw, t->listener, &t->resp_dst, sw->out2, (uint32_t)n);
	sip_store_replace(sw, &t->resp, &t->resp_len, sw->out2, (uint32_t)n);
	server_final_locked(sw, t, code);
}

void sip_final_local_locked(struct sip_worker *sw, struct txn *t, uint16_t code,
			    const char *reason)
{
	sip_final_local_ex_locked(sw, t, code, reason, NULL);
}

/* Send response m upstream for t, minus our Via, with reaction rx's
 * rewrite and header edits (rx NULL: none). Returns the status code sent
 * (0 when nothing could be built). */
static uint16_t forward_up_ex_locked(struct sip_worker *sw, struct txn *t, const struct se_msg *m,
				     const char *buf, bool keep, const struct sip_react *rx)
{
	struct se_edit ed[SIP_EDITS_MAX];
	size_t ne = 0;
	uint16_t code = m->status;
	ed[ne++] = (struct se_edit){.op = SE_EDIT_DROP_VIA_HOP, .idx = 0};
	if (rx) {
		ne += sip_react_resp_edits(rx, m, buf, &ed[ne], SIP_EDITS_MAX - ne);
		if (rx->it->code)
			code = rx->it->code;
	}
	int n = se_build(m, buf, ed, ne, sw->out, sizeof(sw->out));
	if (n < 0 && rx) {
		/* the reaction's edits do not fit this response (say, a header
		 * both removed and replaced): it goes up unedited rather than
		 * not at all (a 2xx must never be lost) */
		log_warn("a %u response: the reaction at policy line %u cannot edit it (%s): relayed "
			 "as received",
			 m->status, (unsigned)rx->it->line, se_strerror(n));
		code = m->status;
		n = se_build(m, buf, ed, 1, sw->out, sizeof(sw->out));
	}
	if (n < 0) {
		log_warn("cannot forward a %u response: %s", m->status, se_strerror(n));
		return 0;
	}
	sip_send(sw, t->listener, &t->resp_dst, sw->out, (uint32_t)n);
	if (keep) {
		sip_store_replace(sw, &t->resp, &t->resp_len, sw->out, (uint32_t)n);
		t->resp_code = code;
	}
	return code;
}

static void forward_up_locked(struct sip_worker *sw, struct txn *t, const struct se_msg *m,
			      const char *buf, bool keep)
{
	forward_up_ex_locked(sw, t, m, buf, keep, NULL);
}

/* The provisional or success reaction to response m of branch br, if any
 * (failure reactions are final_locked's). A retransmission (again) is
 * edited as the first was, but its side effects and count are not
 * repeated. */
static const struct sip_react *response_reaction(struct sip_worker *sw, struct txn *t,
						 struct txn_branch *br, const struct se_msg *m,
						 bool again, struct sip_react *rx)
{
	struct react_event ev = {.event = m->status < 200 ? PE_PROVISIONAL : PE_SUCCESS,
				 .code = m->status};
	if (again)
		return sip_react_find_locked(sw, t, &ev, rx) ? rx : NULL;
	return sip_react_locked(sw, t, br, NULL, &ev, rx) ? rx : NULL;
}

static void stateless_up(struct sip_worker *sw, const struct se_msg *m, const char *buf)
{
	union sockaddr_any dst;
	if (m->via_count < 2 || !sip_via_addr(&se_msg_vias(m)[1], buf, &dst))
		return;
	int li = sip_listener_for_family(sw->w, dst.sa.sa_family);
	struct se_edit ed = {.op = SE_EDIT_DROP_VIA_HOP, .idx = 0};
	int n = se_build(m, buf, &ed, 1, sw->out, sizeof(sw->out));
	if (li >= 0 && n > 0)
		sip_send(sw, (uint8_t)li, &dst, sw->out, (uint32_t)n);
}

static void provisional_locked(struct sip_worker *sw, struct txn *t, struct txn_branch *br,
			       const struct se_msg *m, const char *buf)
{
	const struct config *cfg = sw->w->cfg;
	if (br->state == TC_CALLING) {
		br->state = TC_PROCEEDING;
		if (t->flags & TXN_F_INVITE) { /* §17.1.1.2: A and B stop */
			br->t_retrans = 0;
			br->t_timeout = 0;
		} else { /* §17.1.2.2: E continues at T2 */
			br->a_int = cfg->timers.t2;
		}
	}
	br->got_prov = 1;
	if (br->code < m->status)
		br->code = m->status;
	if (br->cancel == 3) /* a CANCEL was waiting for this (§9.1) */
		sip_branch_cancel_locked(sw, t, br, NULL);
	if (m->status == 100)
		return; /* not forwarded (§16.7 step 5) */
	if ((t->flags & TXN_F_INVITE) && br->t_c) /* §16.7 step 2: Timer C restarts */
		br->t_c = sw->now + cfg->timers.timer_c;
	if (t->flags & TXN_F_FINAL)
		return;
	struct sip_react rxs;
	const struct sip_react *rx = response_reaction(sw, t, br, m, false, &rxs);
	if (rx && rx->it->action == PR_DROP)
		return; /* the policy keeps it from upstream */
	forward_up_ex_locked(sw, t, m, buf, true, rx);
}

bool sip_txn_branches_pending(const struct txn *t)
{
	for (uint8_t i = 0; i < t->nbr; i++)
		if (t->br[i].state == TC_CALLING || t->br[i].state == TC_PROCEEDING)
			return true;
	return false;
}

/* An INVITE branch accepted (2xx): its request copy served retransmits
 * and a CANCEL, neither of which can happen any more (RFC 6026 Timer M
 * only relays 2xx retransmissions). */
static void branch_accepted_locked(struct sip_worker *sw, struct txn_branch *br)
{
	br->state = TC_ACCEPTED;
	br->t_timeout = sw->now + 64 * sw->w->cfg->timers.t1; /* Timer M */
	arena_free(sw->w->sh->arena, br->req);
	br->req = NULL;
	br->req_len = 0;
}

/* §16.7 step 6: a 6xx beats everything, then the lowest class. */
static unsigned best_rank(uint16_t code)
{
	return code >= 600 ? 0 : code / 100;
}

static void keep_if_best_locked(struct sip_worker *sw, struct txn *t, uint16_t code,
				const char *buf, uint32_t len)
{
	if (t->best_code && best_rank(t->best_code) <= best_rank(code))
		return;
	sip_store_replace(sw, &t->best, &t->best_len, buf, len);
	if (t->best)
		t->best_code = code;
}

void sip_send_best_locked(struct sip_worker *sw, struct txn *t, uint16_t code,
			  const char *reason)
{
	struct se_perr err;
	if (t->flags & TXN_F_FINAL)
		return;
	if (!t->best || t->best_code == 503 ||
	    se_msg_parse(sw->aux2, t->best, t->best_len, SE_DGRAM, &sw->lim, &err) < 0) {
		if (t->best_code == 503) /* step 6: a 503 goes up as 500 */
			sip_final_local_locked(sw, t, 500, NULL);
		else
			sip_final_local_locked(sw, t, code, reason);
		return;
	}
	forward_up_locked(sw, t, sw->aux2, t->best, true);
	server_final_locked(sw, t, t->best_code);
}

/* Retry-After's delta-seconds (RFC 3261 §20.33), 0 when absent or bad. */
static uint32_t retry_after(const struct se_msg *m, const char *buf)
{
	uint16_t i = m->first[SE_HDR_RETRY_AFTER];
	if (i == SE_NONE)
		return 0;
	const struct se_hdr *h = &se_msg_hdrs(m)[i];
	uint32_t v = 0;
	for (uint32_t k = 0; k < h->value.len && v < 86400; k++) {
		char c = buf[h->value.off + k];
		if (c < '0' || c > '9')
			break;
		v = v * 10 + (uint32_t)(c - '0');
	}
	return v < 86400 ? v : 86400;
}

/*
 * A 3xx-6xx final of branch br while no final went upstream (§16.7): the
 * policy's failure reaction first (relay it now, answer otherwise, or
 * fail over whatever the codes), else keep it if it is the best, try the
 * next destination when the plan says so, and send the best response up
 * once no branch is left.
 */
static void failure_locked(struct sip_worker *sw, struct txn *t, struct txn_branch *br,
			   const struct se_msg *m, const char *buf)
{
	uint16_t code = m->status;
	enum pool_fail why = code == 503 ? PF_FAIL_503
			     : code >= 500 && code < 600 ? PF_FAIL_5XX
							 : PF_FAIL__COUNT;
	uint32_t ra = code == 503 ? retry_after(m, buf) : 0;
	enum sip_fo mode = SIP_FO_PLAN;
	struct sip_react rx;
	struct react_event ev = {.event = PE_FAILURE, .code = code};
	/* after the caller's CANCEL the 487 is its own doing, not the
	 * destination's failure: nothing to react to */
	if (t->route && !(t->flags & TXN_F_CANCELLED) && sip_react_locked(sw, t, br, NULL, &ev, &rx)) {
		switch (rx.it->action) {
		case PR_RELAY: { /* upstream now, as it is (or rewritten): the
				  * policy answers, as Timer C would; a try still
				  * pending is cancelled (§16.7 step 10) */
			sip_failover_locked(sw, t, br, why, code, ra, SIP_FO_NEVER);
			uint16_t sent = forward_up_ex_locked(sw, t, m, buf, true, &rx);
			if (sent)
				server_final_locked(sw, t, sent);
			else
				sip_send_best_locked(sw, t, 500, NULL);
			return;
		}
		case PR_REPLY:
			sip_failover_locked(sw, t, br, why, code, ra, SIP_FO_NEVER);
			sip_react_reply_locked(sw, t, &rx, -1);
			return;
		case PR_FAILOVER:
			mode = SIP_FO_FORCE;
			break;
		default:
			break;
		}
	}
	keep_if_best_locked(sw, t, code, buf, m->msg_len);
	if (sip_failover_locked(sw, t, br, why, code, ra, mode))
		return;
	if (!sip_txn_branches_pending(t))
		sip_send_best_locked(sw, t, 500, NULL);
}

static void final_locked(struct sip_worker *sw, struct txn *t, struct txn_branch *br,
			 const struct se_msg *m, const char *buf)
{
	const struct config *cfg = sw->w->cfg;
	bool invite = t->flags & TXN_F_INVITE;
	uint16_t code = m->status;
	struct sip_react rxs;
	const struct sip_react *rx = NULL;
	if (br->state == TC_COMPLETED || br->state == TC_ACCEPTED ||
	    br->state == TC_TERMINATED) {
		/* a retransmitted final: repeat our ACK (§17.1.1.2); 2xx go up,
		 * rewritten as the first was */
		if (invite && code >= 300 && br->state == TC_COMPLETED && br->req) {
			sip_send(sw, br->listener, &br->dst, br->req, br->req_len);
		} else if (invite && code < 300) {
			/* a try given up (failover timeout) that answers 2xx late:
			 * relayed (a 2xx is never dropped), and the final upstream
			 * when none went yet (§16.7 step 5: nothing after it) */
			bool late = br->state == TC_TERMINATED;
			bool first = late && !(t->flags & TXN_F_FINAL);
			uint16_t sent = forward_up_ex_locked(
			    sw, t, m, buf, first,
			    t->route ? response_reaction(sw, t, br, m, !late, &rxs) : NULL);
			if (late) { /* its retransmissions are absorbed as such */
				branch_accepted_locked(sw, br);
				if (first)
					server_final_locked(sw, t, sent ? sent : code);
				return;
			}
		}
		atomic_fetch_add_explicit(&sw->st->retransmissions, 1, memory_order_relaxed);
		return;
	}
	br->code = code;
	br->t_retrans = 0;
	br->t_c = 0;
	if (code < 300)
		sip_branch_done_locked(sw, t, br, true);
	if (code < 300 && t->route)
		rx = response_reaction(sw, t, br, m, false, &rxs);
	if (invite && code < 300) { /* RFC 6026: Accepted, Timer M */
		branch_accepted_locked(sw, br);
		uint16_t sent = forward_up_ex_locked(sw, t, m, buf, true, rx);
		if (!(t->flags & TXN_F_FINAL))
			server_final_locked(sw, t, sent ? sent : code);
		return;
	}
	if (invite) { /* §17.1.1.3: ACK it ourselves; Timer D */
		int n = sip_build_ack_cancel(sw, br->req, br->req_len, SE_METHOD_ACK, m, buf, NULL,
					     sw->out2, sizeof(sw->out2));
		if (n > 0) {
			sip_send(sw, br->listener, &br->dst, sw->out2, (uint32_t)n);
			sip_store_replace(sw, &br->req, &br->req_len, sw->out2, (uint32_t)n);
		}
		br->state = TC_COMPLETED;
		br->t_timeout = sw->now + 32000;
	} else { /* §17.1.2.2: Timer K, whatever the final */
		br->state = TC_COMPLETED;
		br->t_timeout = sw->now + cfg->timers.t4;
		arena_free(sw->w->sh->arena, br->req);
		br->req = NULL;
		br->req_len = 0;
		if (code < 300) { /* a 2xx to a non-INVITE ends the search */
			if (!(t->flags & TXN_F_FINAL)) {
				uint16_t sent = forward_up_ex_locked(sw, t, m, buf, true, rx);
				server_final_locked(sw, t, sent ? sent : code);
			}
			return;
		}
	}
	/* a branch we cancelled ourselves (Timer C) ends with its 487: the
	 * request was answered or went elsewhere, so it is neither a best
	 * response nor a reason to fail over */
	if ((t->flags & TXN_F_FINAL) || (br->cancel && !(t->flags & TXN_F_CANCELLED))) {
		sip_branch_done_locked(sw, t, br, true);
		if (!(t->flags & TXN_F_FINAL) && !sip_txn_branches_pending(t))
			sip_send_best_locked(sw, t, 500, NULL);
		return;
	}
	failure_locked(sw, t, br, m, buf);
}

static void cancel_response_locked(struct txn *t, uint32_t bi)
{
	if (bi >= t->nbr)
		return;
	struct txn_branch *br = &t->br[bi];
	if (br->cancel == 1) {
		br->cancel = 2;
		br->t_cancel = 0;
		br->t_cancel_end = 0;
	}
}

void sip_response(struct sip_worker *sw, struct listener_rt *l, const char *buf)
{
	(void)l;
	const struct se_msg *m = sw->msg;
	const struct se_via *v = se_msg_top_via(m);
	struct txn_branch_id id;
	bool via_ours = sip_listener_of(sw->w, buf + v->host.off, v->host.len,
					(v->flags & SE_VIA_PORT) ? v->port : 0) >= 0;
	if (via_ours && sip_probe_response(sw, m, buf))
		return;
	if (!via_ours ||
	    !txn_branch_parse(buf + v->branch.off, v->branch.len, sw->ss->secret, &id) ||
	    id.bucket > sw->ss->txns->mask) {
		atomic_fetch_add_explicit(&sw->st->drops[SIP_DROP_NOT_OURS], 1,
					  memory_order_relaxed);
		return;
	}
	txn_table_lock(sw->ss->txns, id.bucket);
	struct txn *t = sip_txn_by_label_locked(sw, id.bucket, id.label);
	if (!t) {
		txn_table_unlock(sw->ss->txns, id.bucket);
		if (m->cseq_method == SE_METHOD_INVITE && m->status >= 200 && m->status < 300) {
			stateless_up(sw, m, buf);
			return;
		}
		atomic_fetch_add_explicit(&sw->st->drops[SIP_DROP_STRAY], 1, memory_order_relaxed);
		return;
	}
	if (m->cseq_method == SE_METHOD_CANCEL) {
		cancel_response_locked(t, id.branch);
	} else if (id.branch < t->nbr && m->cseq_method == t->method) {
		struct txn_branch *br = &t->br[id.branch];
		if (m->status < 200) {
			/* a try given up (failover timeout) speaks too late: the
			 * request went elsewhere, its provisionals would confuse */
			if (br->state != TC_TERMINATED)
				provisional_locked(sw, t, br, m, buf);
		} else {
			final_locked(sw, t, br, m, buf);
		}
	}
	sip_txn_rearm_locked(sw, t);
	txn_table_unlock(sw->ss->txns, id.bucket);
}
