/*
 * Requests other than ACK and CANCEL (RFC 3261 §16.3-16.6, §17.2):
 * validation, server-transaction matching (retransmissions are answered
 * with the last response and go no further), 100 Trying for INVITE, the
 * target, and the forwarded copy with our Via, Max-Forwards, Route and
 * Record-Route edits.
 */
#include "proxy.h"

#include <sipedge/out.h>

#include <string.h>
#include <strings.h>

#include "../runtime/log.h"

#define RETRY_AFTER "Retry-After: 5\r\n"

/* §16.3 steps 2-5. Returns true when the request was answered here. */
static bool validate(struct sip_worker *sw, uint8_t li, const struct se_msg *m, const char *buf,
		     const union sockaddr_any *to)
{
	if (m->ruri.scheme != SE_URI_SIP && m->ruri.scheme != SE_URI_SIPS &&
	    m->ruri.scheme != SE_URI_TEL) {
		sip_reply(sw, li, m, buf, to, 416, NULL, NULL);
		return true;
	}
	if (m->max_forwards == 0) {
		sip_reply(sw, li, m, buf, to, 483, NULL, NULL);
		return true;
	}
	/* step 4: our own Via with the loop hash this request has now is a
	 * loop; with another hash it is a spiral (the request changed) */
	uint32_t loop = 0;
	bool loop_done = false;
	for (uint16_t i = 0; i < m->via_count; i++) {
		const struct se_via *v = &se_msg_vias(m)[i];
		struct txn_branch_id id;
		if (sip_listener_of(sw->w, buf + v->host.off, v->host.len,
				    (v->flags & SE_VIA_PORT) ? v->port : 0) < 0 ||
		    !txn_branch_parse(buf + v->branch.off, v->branch.len, sw->ss->secret, &id))
			continue;
		if (!loop_done) {
			loop = txn_loop_hash(m, buf);
			loop_done = true;
		}
		if (id.loop == loop) {
			sip_reply(sw, li, m, buf, to, 482, NULL, NULL);
			return true;
		}
	}
	/* step 5: we support no extension a proxy must understand */
	if (m->first[SE_HDR_PROXY_REQUIRE] != SE_NONE) {
		char extra[1024];
		int k = snprintf(extra, sizeof(extra), "Unsupported: ");
		const struct se_hdr *h = se_msg_hdrs(m);
		bool firsttok = true;
		for (uint16_t i = m->first[SE_HDR_PROXY_REQUIRE]; i != SE_NONE; i = h[i].next) {
			uint32_t pos = 0;
			struct se_range tok;
			while (se_msg_token_next(buf, h[i].value, &pos, &tok) &&
			       (size_t)k + tok.len + 8 < sizeof(extra)) {
				k += snprintf(extra + k, sizeof(extra) - (size_t)k, "%s%.*s",
					      firsttok ? "" : ", ", (int)tok.len, buf + tok.off);
				firsttok = false;
			}
		}
		snprintf(extra + k, sizeof(extra) - (size_t)k, "\r\n");
		sip_reply(sw, li, m, buf, to, 420, NULL, extra);
		return true;
	}
	return false;
}

size_t sip_forward_edits(const struct se_msg *m, const char *buf, const struct sip_target *tg,
			 const char *via, uint32_t vn, struct se_edit *ed)
{
	(void)buf;
	size_t ne = 0;
	if (via)
		ed[ne++] = (struct se_edit){.op = SE_EDIT_PUSH_VIA, .data = via, .len = vn};
	/* §16.6 step 3: decrement, or add 70 when absent */
	ed[ne++] = (struct se_edit){.op = SE_EDIT_SET_MAX_FORWARDS,
				    .num = m->max_forwards < 0 ? 70 : (uint32_t)m->max_forwards - 1};
	for (uint8_t i = 0; i < tg->n_drop; i++)
		ed[ne++] = (struct se_edit){.op = SE_EDIT_DROP_ELEM, .idx = tg->drop_elem[i]};
	if (tg->new_ruri_p)
		ed[ne++] = (struct se_edit){.op = SE_EDIT_SET_RURI, .data = tg->new_ruri_p,
					    .len = tg->new_ruri_len};
	return ne;
}

size_t sip_received_edit(const struct se_msg *m, const char *buf, const union sockaddr_any *src,
			 char *out, size_t cap, struct se_edit *ed)
{
	int n = sip_via_received(m, buf, src, out, cap);
	if (n <= 0)
		return 0;
	*ed = (struct se_edit){.op = SE_EDIT_REPLACE_HDR, .idx = se_msg_top_via(m)->hdr,
			       .data = out, .len = (uint32_t)n};
	return 1;
}

size_t sip_rule_hdr_edits(const struct policy_rule *r, const struct se_msg *m, const char *buf,
			  struct se_edit *ed, size_t cap)
{
	size_t ne = 0;
	for (uint32_t i = 0; i < r->n_hdrs && ne < cap; i++)
		ne += sip_hdr_edit(r->hdrs[i].op, r->hdrs[i].name, r->hdrs[i].value, m, buf, &ed[ne],
				   cap - ne);
	return ne;
}

int sip_branch_start_locked(struct sip_worker *sw, struct txn *t, const struct se_msg *m,
			    const char *buf, const struct se_edit *extra, size_t n_extra,
			    const union sockaddr_any *dst, uint8_t li, uint8_t cand, uint32_t loop,
			    bool *sent)
{
	const struct config *cfg = sw->w->cfg;
	*sent = false;
	if (!t->br) { /* as many branches as the plan may try, never more */
		const struct txn_route *r = t->route;
		uint8_t cap = r ? (r->max_tries < r->n ? r->max_tries : r->n) : 1;
		t->br = arena_calloc(sw->w->sh->arena, cap ? cap : 1, sizeof(*t->br));
		if (!t->br)
			return SE_ESHMFULL;
		t->br_cap = cap ? cap : 1;
	}
	if (t->nbr >= t->br_cap)
		return SE_ELIMIT;
	if (n_extra + 1 > SIP_EDITS_MAX)
		return SE_ELIMIT;
	uint8_t bi = t->nbr;
	struct txn_branch *br = &t->br[bi];
	const struct listener_rt *l = &sw->w->listeners[li];
	struct txn_branch_id id = {t->bucket, t->label, bi, loop};
	char branch[TXN_BRANCH_MAX];
	uint32_t bn = txn_branch_make(branch, &id, &sw->rng, sw->ss->secret);
	char via[512];
	int vn = sip_via_text(l, branch, bn, via, sizeof(via));
	if (vn < 0)
		return SE_ENOSPC;
	struct se_edit ed[SIP_EDITS_MAX];
	ed[0] = (struct se_edit){.op = SE_EDIT_PUSH_VIA, .data = via, .len = (uint32_t)vn};
	if (n_extra)
		memcpy(&ed[1], extra, n_extra * sizeof(*ed));
	int n = se_build(m, buf, ed, n_extra + 1, sw->out, sizeof(sw->out));
	if (n < 0)
		return n;
	br->req = sip_store(sw, sw->out, (uint32_t)n);
	if (!br->req)
		return SE_ESHMFULL;
	t->nbr++;
	br->req_len = (uint32_t)n;
	br->state = TC_CALLING;
	br->dst = *dst;
	br->listener = li;
	br->cand = cand;
	br->acquired = 0;
	br->a_int = cfg->timers.t1;
	br->t_retrans = sw->now + cfg->timers.t1; /* Timer A / E */
	uint64_t b = 64 * (uint64_t)cfg->timers.t1; /* Timer B / F */
	if (t->route && t->route->timeout_ms && t->route->timeout_ms < b)
		b = t->route->timeout_ms; /* the policy's no-answer timeout */
	br->t_timeout = sw->now + b;
	if (t->flags & TXN_F_INVITE)
		br->t_c = sw->now + cfg->timers.timer_c;
	/* now, not with the iteration's others: a transport error fails
	 * this try over */
	*sent = sip_send_now(sw, br->listener, &br->dst, sw->out, (uint32_t)n);
	return 0;
}

/* Is the policy's single target tg->dst blacklisted? *bl then says how
 * to answer. */
static bool target_listed(struct sip_worker *sw, const struct sip_target *tg,
			  struct blacklist_entry *bl)
{
	const union sockaddr_any *d = &tg->dst;
	uint16_t port = ntohs(d->sa.sa_family == AF_INET6 ? d->in6.sin6_port : d->in.sin_port);
	return blacklist_check(sw->ps->blacklist, &d->sa, port, CONFIG_TP_UDP, sw->now, bl);
}

int sip_forward_branch_locked(struct sip_worker *sw, struct txn *t, const struct se_msg *m,
			      const char *buf, const struct sip_target *tg)
{
	char rr[320], rvia[1024];
	struct se_edit ed[SIP_EDITS_MAX];
	size_t ne = sip_forward_edits(m, buf, tg, NULL, 0, ed);
	ne += sip_received_edit(m, buf, &t->src, rvia, sizeof(rvia), &ed[ne]);
	if (tg->record_route) {
		const struct listener_rt *l = &sw->w->listeners[tg->listener];
		struct se_out o = se_out_at(rr, sizeof(rr));
		se_out_put(&o, "<sip:", 5);
		se_out_put(&o, l->hostport, l->hostport_len);
		se_out_put(&o, ";lr>", 4);
		int rn = se_out_end(&o, rr);
		if (rn < 0)
			return SE_ENOSPC;
		ed[ne++] = (struct se_edit){.op = SE_EDIT_INSERT_RECORD_ROUTE, .data = rr,
					    .len = (uint32_t)rn};
	}
	if (tg->rule)
		ne += sip_rule_hdr_edits(tg->rule, m, buf, &ed[ne], SIP_EDITS_MAX - 1 - ne);
	uint32_t loop = txn_loop_hash(m, buf);
	bool sent;
	bool pooled = tg->pool != POLICY_NONE && tg->n_cand > 0;
	bool reacts = tg->rule && (tg->rule->on.n || (pooled && sw->pol->pools[tg->pool].on.n));
	if (!pooled && !reacts) {
		/* a policy target (not a Route set's next hop) may be listed */
		struct blacklist_entry bl;
		if (tg->rule && target_listed(sw, tg, &bl)) {
			atomic_fetch_add_explicit(&sw->st->drops[SIP_DROP_BLACKLISTED], 1,
						  memory_order_relaxed);
			sip_ierr_count(sw, SE_IERR_DESTINATION_BLACKLISTED);
			sip_final_local_locked(sw, t, bl.code, bl.reason);
			return 0;
		}
		return sip_branch_start_locked(sw, t, m, buf, ed, ne, &tg->dst, tg->listener,
					       TXN_NO_CAND, loop, &sent);
	}
	/* a pool, or reactions to honour: a plan, and the request as forwarded
	 * kept for further tries when failover may need one */
	const struct policy_failover *fo = tg->rule->failover_set || !pooled
						? &tg->rule->failover
						: &sw->pol->pools[tg->pool].failover;
	bool multi = pooled && tg->n_cand > 1 && fo->max_tries > 1;
	int n = 0;
	if (multi && (n = se_build(m, buf, ed, ne, sw->out2, sizeof(sw->out2))) < 0)
		return n;
	if (!sip_route_plan_locked(sw, t, tg, multi ? sw->out2 : NULL, (uint32_t)n, loop))
		return SE_ESHMFULL;
	if (multi) {
		sip_route_next_locked(sw, t);
		return 0;
	}
	/* one try, built straight from the received request: to the first
	 * candidate that is not skipped, capped or listed (a passed-over
	 * candidate is not a try) */
	struct txn_route *r = t->route;
	struct sip_cand_skip sk = {.why = SIP_SKIP_NONE};
	uint8_t ci = 0;
	while (ci < r->n && !sip_cand_take_locked(sw, t, ci, &sk) && sk.why != SIP_SKIP_ABORTED)
		ci++;
	if (ci >= r->n || sk.why == SIP_SKIP_ABORTED) {
		r->next = r->n;
		sip_route_exhausted_locked(sw, t, 0, &sk);
		return 0;
	}
	const struct txn_cand *c = &r->cand[ci];
	r->next = (uint8_t)(ci + 1);
	r->tries = 1;
	int rc = sip_branch_start_locked(sw, t, m, buf, ed, ne, &c->dst, c->listener, ci, loop,
					 &sent);
	if (rc == 0)
		t->br[t->nbr - 1].acquired = (t->flags & TXN_F_INVITE) && c->state != POLICY_NONE;
	else if (t->flags & TXN_F_INVITE && c->state != POLICY_NONE)
		pool_state_release(sw->ps, c->state);
	return rc;
}

/* The policy answers the request itself (reply, redirect, no usable
 * destination): statefully, so that the ACK of a final to an INVITE is
 * absorbed (§17.2.1) and retransmissions get the same answer. */
static void policy_reply_locked(struct sip_worker *sw, struct txn *t, const struct sip_target *tg)
{
	if (tg->drop != SIP_DROP__COUNT)
		atomic_fetch_add_explicit(&sw->st->drops[tg->drop], 1, memory_order_relaxed);
	sip_final_local_ex_locked(sw, t, tg->code, tg->reason, tg->extra);
}

/* No target for m: internal error e, or what the rule's on-error reaction
 * answers instead (stateless: no transaction exists yet). */
static void target_error(struct sip_worker *sw, uint8_t li, const struct se_msg *m,
			 const char *buf, const union sockaddr_any *rdst,
			 const struct sip_target *tg, enum se_ierr e)
{
	const struct se_ierr_info *in = se_ierr_info(e);
	struct react_event ev = {.event = PE_ERROR, .ierr = (int)e};
	struct sip_react rx;
	uint16_t code = in->code;
	const char *reason = in->reason, *extra = NULL;
	sip_ierr_count(sw, e);
	if (sip_react_target(sw, tg, &ev, &rx) && rx.it->action == PR_REPLY) {
		code = sip_react_answer(&rx, (int)e, &reason);
		extra = sip_react_extra(sw, &rx);
	}
	log_info("%.*s %.*s: %s (%u %s)", (int)m->method_name.len, buf + m->method_name.off,
		 (int)m->ruri_text.len, buf + m->ruri_text.off, in->id, code,
		 reason ? reason : se_reason_phrase(code));
	sip_reply(sw, li, m, buf, rdst, code, reason, extra);
}

void sip_request(struct sip_worker *sw, struct listener_rt *l, const char *buf,
		 const union sockaddr_any *src)
{
	const struct se_msg *m = sw->msg;
	uint8_t li = (uint8_t)l->index;
	union sockaddr_any rdst;
	sip_response_addr(m, buf, src, &rdst);
	if (validate(sw, li, m, buf, &rdst))
		return;

	struct sip_key k;
	if (!sip_key_of(sw, m, buf, &k)) {
		sip_reply(sw, li, m, buf, &rdst, 400, "Bad Via header", NULL);
		return;
	}
	uint32_t bucket = k.bucket;
	txn_table_lock(sw->ss->txns, bucket);
	struct txn *t = sip_txn_find_locked(sw, bucket, k.hash, k.key, k.len, m->method);
	if (t) { /* a retransmission: repeat the last response (§17.2.1, §17.2.2) */
		if (t->resp)
			sip_send(sw, t->listener, &t->resp_dst, t->resp, t->resp_len);
		atomic_fetch_add_explicit(&sw->st->retransmissions, 1, memory_order_relaxed);
		txn_table_unlock(sw->ss->txns, bucket);
		return;
	}
	if (atomic_load(&sw->w->sh->stopping)) {
		txn_table_unlock(sw->ss->txns, bucket);
		atomic_fetch_add_explicit(&sw->st->drops[SIP_DROP_STOPPING], 1, memory_order_relaxed);
		sip_reply(sw, li, m, buf, &rdst, 503, NULL, RETRY_AFTER);
		return;
	}
	/* ctl issue 5, `sipedgectl drain`: no new calls (dialog-creating
	 * INVITE) and no OPTIONS, so that pings take this proxy out of
	 * rotation; in-dialog requests (BYE, re-INVITE) go on. */
	if (atomic_load(&sw->w->sh->draining) &&
	    ((m->method == SE_METHOD_INVITE && m->to.tag.len == 0) ||
	     m->method == SE_METHOD_OPTIONS)) {
		txn_table_unlock(sw->ss->txns, bucket);
		atomic_fetch_add_explicit(&sw->st->drops[SIP_DROP_DRAINING], 1, memory_order_relaxed);
		sip_reply(sw, li, m, buf, &rdst, 503, NULL, RETRY_AFTER);
		return;
	}
	struct sip_target tg;
	int ierr = -1;
	if (sip_target(sw, m, buf, li, src, &tg, &ierr) != 0) {
		txn_table_unlock(sw->ss->txns, bucket);
		if (ierr >= 0)
			target_error(sw, li, m, buf, &rdst, &tg, (enum se_ierr)ierr);
		else
			sip_reply(sw, li, m, buf, &rdst, 500, NULL, NULL);
		return;
	}
	t = sip_txn_new_locked(sw, bucket, k.hash, k.key, k.len);
	if (t) {
		t->req = sip_store(sw, buf, sw->msg->msg_len);
		if (!t->req) {
			sip_txn_free_locked(sw, t);
			t = NULL;
		}
	}
	if (!t) {
		txn_table_unlock(sw->ss->txns, bucket);
		log_warn("shared memory exhausted: 503 to %.*s", (int)m->call_id.len,
			 buf + m->call_id.off);
		sip_reply(sw, li, m, buf, &rdst, 503, NULL, RETRY_AFTER);
		return;
	}
	t->req_len = sw->msg->msg_len;
	t->method = m->method;
	t->flags = (k.rfc2543 ? TXN_F_2543 : 0) | (m->method == SE_METHOD_INVITE ? TXN_F_INVITE : 0);
	t->listener = li;
	t->src = *src;
	t->resp_dst = rdst;
	t->sstate = TS_PROCEEDING;
	if (tg.kind == SIP_TG_REPLY) {
		policy_reply_locked(sw, t, &tg);
		sip_txn_rearm_locked(sw, t);
		txn_table_unlock(sw->ss->txns, bucket);
		return;
	}
	if (m->method == SE_METHOD_INVITE) { /* §16.2: answer 100 at once, stop retransmits */
		struct se_reply r = {.code = 100};
		int n = se_build_reply(m, buf, &r, sw->out2, sizeof(sw->out2));
		if (n > 0) {
			sip_send(sw, li, &rdst, sw->out2, (uint32_t)n);
			sip_store_replace(sw, &t->resp, &t->resp_len, sw->out2, (uint32_t)n);
			t->resp_code = 100;
		}
	}
	int rc = sip_forward_branch_locked(sw, t, m, buf, &tg);
	if (rc != 0 && !(t->flags & TXN_F_FINAL)) {
		log_warn("cannot forward %.*s: %s", (int)m->call_id.len, buf + m->call_id.off,
			 se_strerror(rc));
		sip_final_local_locked(sw, t, rc == SE_ESHMFULL ? 503 : 500, NULL);
	}
	sip_txn_rearm_locked(sw, t);
	txn_table_unlock(sw->ss->txns, bucket);
}
