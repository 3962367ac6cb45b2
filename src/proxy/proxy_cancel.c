/*
 * CANCEL (RFC 3261 §9.2, §16.10) and ACK (§17.2.1, §16.6 for 2xx ACKs).
 *
 * A CANCEL is matched to its INVITE's server transaction (same key,
 * method INVITE), answered 200 at once, and every pending client branch is
 * cancelled downstream; the 487 comes back from downstream as the INVITE's
 * final response. A CANCEL we cannot match gets 481: sipedge never
 * forwards an INVITE statelessly, so there is nothing to cancel.
 *
 * An ACK for a non-2xx final that we sent is absorbed by the INVITE server
 * transaction; any other ACK (for a 2xx, RFC 6026) is forwarded statelessly
 * along its Route set, with a branch derived from its own so that its
 * retransmissions carry the same one (§16.11).
 */
#include "proxy.h"

#include <sipedge/out.h>

#include <string.h>
#include <xxhash.h>

#include "../runtime/log.h"

void sip_branch_cancel_locked(struct sip_worker *sw, struct txn *t, struct txn_branch *br,
			      const char *reason_hdr)
{
	const struct config *cfg = sw->w->cfg;
	(void)t;
	if (br->cancel == 1 || br->cancel == 2 ||
	    (br->state != TC_CALLING && br->state != TC_PROCEEDING))
		return;
	if (!br->got_prov) { /* §9.1: wait for a provisional before CANCEL */
		br->cancel = 3;
		return;
	}
	int n = sip_build_ack_cancel(sw, br->req, br->req_len, SE_METHOD_CANCEL, NULL, NULL,
				     reason_hdr, sw->out2, sizeof(sw->out2));
	if (n < 0) {
		log_warn("cannot build CANCEL: %s", se_strerror(n));
		return;
	}
	br->cancel_req = sip_store(sw, sw->out2, (uint32_t)n);
	br->cancel = 1;
	if (br->cancel_req) {
		br->cancel_len = (uint32_t)n;
		br->cancel_int = cfg->timers.t1;
		br->t_cancel = sw->now + cfg->timers.t1;
		br->t_cancel_end = sw->now + 64 * cfg->timers.t1;
	}
	sip_send(sw, br->listener, &br->dst, sw->out2, (uint32_t)n);
}

void sip_cancel(struct sip_worker *sw, struct listener_rt *l, const char *buf,
		const union sockaddr_any *src)
{
	const struct se_msg *m = sw->msg;
	uint8_t li = (uint8_t)l->index;
	union sockaddr_any rdst;
	sip_response_addr(m, buf, src, &rdst);
	struct sip_key k;
	if (!sip_key_of(sw, m, buf, &k)) {
		sip_reply(sw, li, m, buf, &rdst, 400, "Bad Via header", NULL);
		return;
	}
	uint32_t bucket = k.bucket;
	txn_table_lock(sw->ss->txns, bucket);
	struct txn *t = sip_txn_find_locked(sw, bucket, k.hash, k.key, k.len, SE_METHOD_INVITE);
	if (!t) {
		txn_table_unlock(sw->ss->txns, bucket);
		sip_reply(sw, li, m, buf, &rdst, 481, NULL, NULL);
		return;
	}
	sip_reply(sw, li, m, buf, &rdst, 200, NULL, NULL);
	if (!(t->flags & TXN_F_FINAL)) {
		/* RFC 3326: pass the canceller's Reason on downstream */
		char reason[512] = "";
		const struct se_hdr *h = se_msg_hdr_first(m, SE_HDR_REASON);
		if (h && h->line.len < sizeof(reason)) {
			memcpy(reason, buf + h->line.off, h->line.len);
			reason[h->line.len] = 0;
		}
		t->flags |= TXN_F_CANCELLED;
		for (uint8_t i = 0; i < t->nbr; i++)
			sip_branch_cancel_locked(sw, t, &t->br[i], reason[0] ? reason : NULL);
		sip_txn_rearm_locked(sw, t);
	}
	txn_table_unlock(sw->ss->txns, bucket);
}

static void ack_forward(struct sip_worker *sw, uint8_t li, const struct se_msg *m,
			const char *buf, const union sockaddr_any *src)
{
	if (m->max_forwards == 0)
		return;
	struct sip_target tg;
	int ierr = -1;
	if (sip_target(sw, m, buf, li, src, &tg, &ierr) != 0 || tg.kind != SIP_TG_FORWARD) {
		log_debug("ACK %.*s not forwarded: %s", (int)m->ruri_text.len,
			  buf + m->ruri_text.off,
			  ierr >= 0 ? se_ierr_info((enum se_ierr)ierr)->id : "no target");
		return;
	}
	const struct se_via *v = se_msg_top_via(m);
	const struct listener_rt *l = &sw->w->listeners[tg.listener];
	uint64_t h = XXH3_64bits_withSeed(buf + v->branch.off, v->branch.len, sw->ss->secret);
	char branch[32] = SE_BRANCH_COOKIE "sA", via[512];
	struct se_out bo = se_out_at(branch + 9, sizeof(branch) - 9);
	se_out_hex(&bo, h, 16);
	int vn = sip_via_text(l, branch, 9 + 16, via, sizeof(via));
	if (vn < 0)
		return;
	char rvia[1024];
	struct se_edit ed[8];
	size_t ne = sip_forward_edits(m, buf, &tg, via, (uint32_t)vn, ed);
	ne += sip_received_edit(m, buf, src, rvia, sizeof(rvia), &ed[ne]);
	int n = se_build(m, buf, ed, ne, sw->out, sizeof(sw->out));
	if (n > 0)
		sip_send(sw, tg.listener, &tg.dst, sw->out, (uint32_t)n);
}

bool sip_ack(struct sip_worker *sw, struct listener_rt *l, const char *buf,
	     const union sockaddr_any *src)
{
	const struct se_msg *m = sw->msg;
	struct sip_key k;
	if (sip_key_of(sw, m, buf, &k)) {
		uint32_t bucket = k.bucket;
		txn_table_lock(sw->ss->txns, bucket);
		struct txn *t = sip_txn_find_locked(sw, bucket, k.hash, k.key, k.len, SE_METHOD_INVITE);
		if (t && (t->sstate == TS_COMPLETED || t->sstate == TS_CONFIRMED)) {
			if (t->sstate == TS_COMPLETED) { /* §17.2.1: Confirmed, Timer I */
				t->sstate = TS_CONFIRMED;
				t->t_g = 0;
				t->t_end = sw->now + sw->w->cfg->timers.t4;
				sip_txn_rearm_locked(sw, t);
			}
			txn_table_unlock(sw->ss->txns, bucket);
			return true;
		}
		txn_table_unlock(sw->ss->txns, bucket);
	}
	ack_forward(sw, (uint8_t)l->index, m, buf, src);
	return false;
}
