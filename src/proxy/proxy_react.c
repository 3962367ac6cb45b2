/*
 * The policy's event reactions at run time (docs/policy.md, "on"):
 * finding the one that applies to an event of a routed request, and what
 * every reaction may do besides its action (blacklist the destination,
 * log a line). The actions themselves are taken where the events happen:
 * proxy_failover.c (target, failover), proxy_response.c (provisional,
 * success, failure), proxy_timer.c (INVITE timeout, client timeout).
 *
 * A transaction carries the indices of its rule's and its pool's
 * reaction records (txn_route.react), fixed when it was routed: the blobs
 * live in shared memory (pool/react.h), so whichever worker handles a
 * later event, under whatever policy generation it runs by then, reads
 * the reactions the request started with.
 *
 * Internal errors (include/sipedge/ierr.h) answered upstream are counted
 * by id here, and logged with the id, as DESIGN.md asks.
 */
#include "proxy.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../pool/blacklist.h"
#include "../runtime/log.h"

static void addr_text(const union sockaddr_any *a, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";
	bool v6 = a->sa.sa_family == AF_INET6;
	inet_ntop(a->sa.sa_family, v6 ? (const void *)&a->in6.sin6_addr : (const void *)&a->in.sin_addr,
		  host, sizeof(host));
	snprintf(out, cap, v6 ? "[%s]:%u" : "%s:%u", host,
		 ntohs(v6 ? a->in6.sin6_port : a->in.sin_port));
}

/* Blacklist dst and log, as r says (its action is the caller's). */
static void effects(struct sip_worker *sw, const struct sip_react *r, const union sockaddr_any *dst,
		    const char *rule, const struct react_event *ev)
{
	const struct react_item *it = r->it;
	char where[INET6_ADDRSTRLEN + 10] = "-";
	if (dst)
		addr_text(dst, where, sizeof(where));
	atomic_fetch_add_explicit(&sw->st->reactions[ev->event < PE__COUNT ? ev->event : 0], 1,
				  memory_order_relaxed);
	/* UDP is the only transport yet: the entry is for the address and
	 * port over UDP, what the destination was reached by */
	if (it->bl_seconds && dst) {
		uint16_t port = ntohs(dst->sa.sa_family == AF_INET6 ? dst->in6.sin6_port
								   : dst->in.sin_port);
		int rc = blacklist_add(sw->ps->blacklist, &dst->sa, port, CONFIG_TP_UDP, it->bl_seconds,
				       it->bl_code, react_str(r->b, it->bl_reason), sw->now);
		if (rc == 0)
			log_warn("rule '%s': on %s (policy line %u): %s blacklisted for %us", rule,
				 policy_event_names[ev->event], (unsigned)it->line, where,
				 (unsigned)it->bl_seconds);
		else
			log_warn("rule '%s': on %s: cannot blacklist %s: %s", rule,
				 policy_event_names[ev->event], where, se_strerror(rc));
	}
	if (it->log) {
		if (ev->event == PE_ERROR)
			log_info("rule '%s': on error %s (policy line %u), destination %s", rule,
				 se_ierr_info((enum se_ierr)ev->ierr)->id, (unsigned)it->line, where);
		else if (ev->code)
			log_info("rule '%s': on %s %u (policy line %u), destination %s", rule,
				 policy_event_names[ev->event], ev->code, (unsigned)it->line, where);
		else
			log_info("rule '%s': on %s (policy line %u), destination %s", rule,
				 policy_event_names[ev->event], (unsigned)it->line, where);
	}
}

/* The first applying reaction of the records rs[0] (rule), rs[1] (pool). */
static bool find(struct sip_worker *sw, const uint32_t rs[2], const struct react_event *ev,
		 struct sip_react *out)
{
	for (int i = 0; i < 2; i++) {
		if (rs[i] == POLICY_NONE)
			continue;
		const struct react_blob *b = react_get(sw->ps->reacts, rs[i]);
		const struct react_item *it = react_match(b, ev);
		if (it) {
			*out = (struct sip_react){.b = b, .it = it};
			return true;
		}
	}
	return false;
}

bool sip_react_find_locked(struct sip_worker *sw, const struct txn *t,
			   const struct react_event *ev, struct sip_react *out)
{
	const struct txn_route *r = t->route;
	if (!r || (r->react[0] == POLICY_NONE && r->react[1] == POLICY_NONE))
		return false;
	return find(sw, r->react, ev, out);
}

bool sip_react_locked(struct sip_worker *sw, const struct txn *t, const struct txn_branch *br,
		      const union sockaddr_any *dst, const struct react_event *ev,
		      struct sip_react *out)
{
	if (!sip_react_find_locked(sw, t, ev, out))
		return false;
	effects(sw, out, br ? &br->dst : dst, t->route->rule, ev);
	return true;
}

bool sip_react_target(struct sip_worker *sw, const struct sip_target *tg,
		      const struct react_event *ev, struct sip_react *out)
{
	if (!tg->rule)
		return false;
	uint32_t rs[2] = {tg->rule->on.state, tg->pool != POLICY_NONE
						  ? sw->pol->pools[tg->pool].on.state
						  : POLICY_NONE};
	if (rs[0] == POLICY_NONE && rs[1] == POLICY_NONE)
		return false;
	if (!find(sw, rs, ev, out))
		return false;
	effects(sw, out, NULL, tg->rule->name, ev);
	return true;
}

size_t sip_hdr_edit(uint8_t op, const char *name, const char *value, const struct se_msg *m,
		    const char *buf, struct se_edit *ed, size_t cap)
{
	const struct se_hdr *h = se_msg_hdrs(m);
	size_t ne = 0;
	if (op == PH_REMOVE || op == PH_REPLACE) {
		size_t nl = strlen(name);
		enum se_hdr_id id = se_hdr_lookup(name, nl);
		if (id != SE_HDR_OTHER && ne < cap) {
			ed[ne++] = (struct se_edit){.op = SE_EDIT_DROP_HDR_ID, .idx = id};
		} else {
			for (uint16_t k = 0; k < m->hdr_count && ne < cap; k++)
				if (h[k].id == SE_HDR_OTHER && h[k].name.len == nl &&
				    strncasecmp(buf + h[k].name.off, name, nl) == 0)
					ed[ne++] = (struct se_edit){.op = SE_EDIT_DROP_HDR, .idx = k};
		}
	}
	if ((op == PH_ADD || op == PH_REPLACE) && value && ne < cap)
		ed[ne++] = (struct se_edit){
		    .op = SE_EDIT_ADD_HDR, .name = name, .data = value, .len = (uint32_t)strlen(value)};
	return ne;
}

size_t sip_react_resp_edits(const struct sip_react *r, const struct se_msg *m, const char *buf,
			    struct se_edit *ed, size_t cap)
{
	const struct react_item *it = r->it;
	const char *reason = react_str(r->b, it->reason);
	size_t ne = 0;
	if ((it->code || reason) && ne < cap)
		ed[ne++] = (struct se_edit){.op = SE_EDIT_SET_STATUS,
					    .num = it->code ? it->code : m->status,
					    .data = reason,
					    .len = reason ? (uint32_t)strlen(reason) : 0};
	const struct react_hdr *h = react_hdrs(r->b, it);
	for (uint32_t i = 0; i < it->n_hdrs && ne < cap; i++)
		ne += sip_hdr_edit(h[i].op, react_str(r->b, h[i].name), react_str(r->b, h[i].value), m,
				   buf, &ed[ne], cap - ne);
	return ne;
}

const char *sip_react_extra(struct sip_worker *sw, const struct sip_react *r)
{
	const struct react_hdr *h = react_hdrs(r->b, r->it);
	char *o = sw->extra_buf;
	size_t cap = sizeof(sw->extra_buf), n = 0;
	o[0] = '\0';
	for (uint32_t i = 0; i < r->it->n_hdrs; i++) {
		if (h[i].op == PH_REMOVE)
			continue; /* nothing to remove from a reply we build */
		int k = snprintf(o + n, cap - n, "%s: %s\r\n", react_str(r->b, h[i].name),
				 react_str(r->b, h[i].value));
		if (k < 0 || n + (size_t)k >= cap)
			break;
		n += (size_t)k;
	}
	return n ? o : NULL;
}

void sip_ierr_count(struct sip_worker *sw, enum se_ierr e)
{
	atomic_fetch_add_explicit(&sw->st->ierrs[e], 1, memory_order_relaxed);
}

void sip_ierr_reply_locked(struct sip_worker *sw, struct txn *t, enum se_ierr e)
{
	const struct se_ierr_info *in = se_ierr_info(e);
	sip_ierr_count(sw, e);
	log_info("transaction %x.%x: %s (%u %s)", t->bucket, t->label, in->id, in->code,
		 in->reason);
	sip_final_local_locked(sw, t, in->code, in->reason);
}

uint16_t sip_react_answer(const struct sip_react *r, int e, const char **reason)
{
	const struct react_item *it = r->it;
	const struct se_ierr_info *in = e >= 0 ? se_ierr_info((enum se_ierr)e) : NULL;
	uint16_t code = it->code ? it->code : in ? in->code : 500;
	*reason = react_str(r->b, it->reason);
	if (!*reason && in && code == in->code)
		*reason = in->reason; /* "403 Destination Aborted", not "403 Forbidden" */
	return code;
}

void sip_react_reply_locked(struct sip_worker *sw, struct txn *t, const struct sip_react *r,
			    int e)
{
	const char *reason;
	uint16_t code = sip_react_answer(r, e, &reason);
	if (e >= 0)
		sip_ierr_count(sw, (enum se_ierr)e);
	log_info("transaction %x.%x: rule '%s': reaction at policy line %u answers %u%s%s",
		 t->bucket, t->label, t->route ? t->route->rule : "", (unsigned)r->it->line, code,
		 e >= 0 ? " instead of " : "", e >= 0 ? se_ierr_info((enum se_ierr)e)->id : "");
	sip_final_local_ex_locked(sw, t, code, reason, sip_react_extra(sw, r));
}
