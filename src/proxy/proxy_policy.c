/*
 * The routing policy's decision for a request that no Route set or dialog
 * routes (RFC 3261 §16.5: the proxy determines the targets itself).
 *
 * The parsed message is shown to the policy module as a struct policy_req
 * (strings are ranges into the receive buffer, nothing copied); the
 * compiled decision tree finds the first matching rule; its action becomes
 * the target: a reply or redirect answered here, or a forward to a pool
 * (destinations in the balancing order, tried one after another on
 * failure, proxy_failover.c), a URI or the Request-URI, with the rule's
 * Request-URI rewrite, header edits and Record-Route choice.
 */
#include "proxy.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../policy/policy_match.h"
#include "../pool/blacklist.h"
#include "../pool/pool.h"

struct sip_view {
	struct policy_req rq;
	const struct se_msg *m;
	const char *buf;
};

static struct policy_str range_str(const char *buf, struct se_range r)
{
	return (struct policy_str){buf + r.off, r.len};
}

/* Every value of a header, by id when sipedge knows the name (compact
 * forms included), else by a case-insensitive name compare. */
static uint32_t view_header(const struct policy_req *rq, const char *name,
			    struct policy_str *vals, uint32_t max)
{
	const struct sip_view *v = rq->ctx;
	const struct se_hdr *h = se_msg_hdrs(v->m);
	size_t nl = strlen(name);
	enum se_hdr_id id = se_hdr_lookup(name, nl);
	uint32_t n = 0;
	if (id != SE_HDR_OTHER) {
		for (uint16_t i = v->m->first[id]; i != SE_NONE; i = h[i].next, n++)
			if (n < max)
				vals[n] = range_str(v->buf, h[i].value);
		return n;
	}
	for (uint16_t i = 0; i < v->m->hdr_count; i++) {
		if (h[i].id != SE_HDR_OTHER || h[i].name.len != nl ||
		    strncasecmp(v->buf + h[i].name.off, name, nl) != 0)
			continue;
		if (n < max)
			vals[n] = range_str(v->buf, h[i].value);
		n++;
	}
	return n;
}

static void uri_parts(const char *buf, struct se_range text, struct policy_str *user,
		      struct policy_str *host)
{
	struct se_uri u;
	if (!text.len || se_uri_parse(buf, text.off, text.len, &u, NULL) != 0)
		return;
	*user = range_str(buf, u.user);
	*host = range_str(buf, u.host);
}

static const char *const scheme_names[] = {
	[SE_URI_SIP] = "sip", [SE_URI_SIPS] = "sips", [SE_URI_TEL] = "tel"};

static void view_init(struct sip_worker *sw, struct sip_view *v, const struct se_msg *m,
		      const char *buf, uint8_t listener, const union sockaddr_any *src)
{
	memset(v, 0, sizeof(*v));
	v->m = m;
	v->buf = buf;
	struct policy_req *rq = &v->rq;
	rq->method = range_str(buf, m->method_name);
	if (m->ruri.scheme < sizeof(scheme_names) / sizeof(*scheme_names) &&
	    scheme_names[m->ruri.scheme])
		rq->ruri_scheme = (struct policy_str){scheme_names[m->ruri.scheme],
						      (uint32_t)strlen(scheme_names[m->ruri.scheme])};
	rq->ruri_user = range_str(buf, m->ruri.user);
	rq->ruri_host = range_str(buf, m->ruri.host);
	if (sw->pol_fields & ((1u << PF_FROM_USER) | (1u << PF_FROM_HOST)))
		uri_parts(buf, m->from.uri, &rq->from_user, &rq->from_host);
	if (sw->pol_fields & ((1u << PF_TO_USER) | (1u << PF_TO_HOST)))
		uri_parts(buf, m->to.uri, &rq->to_user, &rq->to_host);
	rq->transport = (struct policy_str){"udp", 3};
	rq->listener = (struct policy_str){sw->listener_names[listener],
					   sw->listener_name_len[listener]};
	rq->call_id = range_str(buf, m->call_id);
	if (src->sa.sa_family == AF_INET6)
		rq->src.in6 = src->in6;
	else
		rq->src.in = src->in;
	rq->header = view_header;
	rq->ctx = v;
}

/* Which request fields the policy's conditions read: the rest (From/To
 * URIs need parsing) is left out of the view. */
static uint32_t cond_fields(const struct policy_cond *c)
{
	if (!c)
		return 0;
	if (c->kind == PC_TEST)
		return 1u << c->field;
	uint32_t f = 0;
	for (uint32_t i = 0; i < c->n_kids; i++)
		f |= cond_fields(c->kids[i]);
	return f;
}

void sip_policy_install(struct sip_worker *sw, const struct policy *p)
{
	sw->pol = p;
	sw->pol_fields = 0;
	for (uint32_t i = 0; i < p->n_rules; i++)
		sw->pol_fields |= cond_fields(p->rules[i].match);
	for (uint32_t i = 0; i < p->n_pools; i++) /* hash balancing reads it too */
		if (p->pools[i].algo == PALG_HASH && p->pools[i].hash_key == PHK_FROM_USER)
			sw->pol_fields |= 1u << PF_FROM_USER;
	sip_probe_install(sw, p);
}

/* The Request-URI after the rule's rewrite (strip, prefix, user, host),
 * into sw->ruri_buf. Returns its length, or 0 when it does not fit. */
static uint32_t rewrite_ruri(struct sip_worker *sw, const struct policy_rule *r,
			     const char *buf, const struct se_uri *u)
{
	char *o = sw->ruri_buf;
	size_t cap = sizeof(sw->ruri_buf), n = 0;
	const char *scheme = u->scheme == SE_URI_SIPS ? "sips:" : u->scheme == SE_URI_TEL ? "tel:"
											    : "sip:";
	char user[256];
	int ul;
	if (r->set_user) {
		ul = snprintf(user, sizeof(user), "%s", r->set_user);
	} else {
		uint32_t skip = r->strip < u->user.len ? r->strip : u->user.len;
		ul = snprintf(user, sizeof(user), "%s%.*s", r->prefix ? r->prefix : "",
			      (int)(u->user.len - skip), buf + u->user.off + skip);
	}
	if (ul < 0 || (size_t)ul >= sizeof(user))
		return 0;
	int k;
	if (r->set_host)
		k = snprintf(o, cap, "%s%s%s%s", scheme, user, ul ? "@" : "", r->set_host);
	else if (u->flags & SE_URI_F_PORT)
		k = snprintf(o, cap, "%s%s%s%.*s:%u", scheme, user, ul ? "@" : "",
			     (int)u->host.len, buf + u->host.off, u->port);
	else
		k = snprintf(o, cap, "%s%s%s%.*s", scheme, user, ul ? "@" : "", (int)u->host.len,
			     buf + u->host.off);
	if (k < 0 || (size_t)k >= cap)
		return 0;
	n = (size_t)k;
	if (u->params.len)
		k = snprintf(o + n, cap - n, ";%.*s", (int)u->params.len, buf + u->params.off);
	if (k < 0 || n + (size_t)k >= cap)
		return 0;
	n += u->params.len ? (size_t)k : 0;
	if (u->headers.len)
		k = snprintf(o + n, cap - n, "?%.*s", (int)u->headers.len, buf + u->headers.off);
	if (k < 0 || n + (size_t)k >= cap)
		return 0;
	n += u->headers.len ? (size_t)k : 0;
	return (uint32_t)n;
}

/* Extra header lines of a reply or redirect, into sw->extra_buf. */
static const char *reply_headers(struct sip_worker *sw, const struct policy_rule *r)
{
	char *o = sw->extra_buf;
	size_t cap = sizeof(sw->extra_buf), n = 0;
	o[0] = '\0';
	for (uint32_t i = 0; i < r->n_contacts; i++) {
		int k = snprintf(o + n, cap - n, "Contact: <%s>\r\n", r->contacts[i]);
		if (k < 0 || n + (size_t)k >= cap)
			return o;
		n += (size_t)k;
	}
	for (uint32_t i = 0; i < r->n_hdrs; i++) {
		if (r->hdrs[i].op == PH_REMOVE)
			continue;
		int k = snprintf(o + n, cap - n, "%s: %s\r\n", r->hdrs[i].name, r->hdrs[i].value);
		if (k < 0 || n + (size_t)k >= cap)
			return o;
		n += (size_t)k;
	}
	return o;
}

static int dest_target(struct sip_worker *sw, const struct policy_dest *d, struct sip_target *tg,
		       int *ierr)
{
	sip_dest_addr(d, &tg->dst);
	int li = sip_listener_to(sw, &tg->dst, ierr);
	if (li < 0)
		return SE_EINVAL;
	tg->listener = (uint8_t)li;
	return 0;
}

int sip_policy_route(struct sip_worker *sw, const struct se_msg *m, const char *buf,
		     uint8_t listener, const union sockaddr_any *src, const struct se_uri *target,
		     struct sip_target *tg, int *ierr)
{
	const struct policy *p = sw->pol;
	struct sip_view v;
	view_init(sw, &v, m, buf, listener, src);
	struct policy_hit hit = policy_lookup(p, &v.rq);
	if (hit.rule == POLICY_NONE) {
		tg->kind = SIP_TG_REPLY;
		tg->code = 404;
		tg->reason = "No Matching Rule";
		return 0;
	}
	const struct policy_rule *r = &p->rules[hit.rule];
	pool_rule_hit(sw->ps, r);
	tg->rule = r;
	if (r->record_route >= 0)
		tg->record_route = r->record_route && tg->record_route_allowed;
	switch (r->action) {
	case PA_REPLY:
	case PA_REDIRECT:
		tg->kind = SIP_TG_REPLY;
		tg->code = r->code;
		tg->reason = r->reason;
		tg->extra = reply_headers(sw, r);
		return 0;
	default:
		break;
	}
	tg->kind = SIP_TG_FORWARD;
	if (r->set_user || r->set_host || r->strip || r->prefix) {
		uint32_t n = rewrite_ruri(sw, r, buf, target); /* target's ranges are in buf */
		if (n == 0) {
			tg->kind = SIP_TG_REPLY;
			tg->code = 500;
			tg->reason = "Request-URI Rewrite Too Long";
			return 0;
		}
		tg->new_ruri_p = sw->ruri_buf;
		tg->new_ruri_len = n;
	}
	if (r->action == PA_FORWARD_RURI) {
		if (tg->new_ruri_p) {
			struct se_uri nu;
			if (se_uri_parse(tg->new_ruri_p, 0, tg->new_ruri_len, &nu, NULL) != 0) {
				*ierr = SE_IERR_UNSUPPORTED_URI_SCHEME;
				return SE_EINVAL;
			}
			return sip_uri_target(sw, tg->new_ruri_p, &nu, tg, ierr);
		}
		return sip_uri_target(sw, buf, target, tg, ierr);
	}
	if (r->action == PA_ROUTE_URI)
		return dest_target(sw, &p->dests[r->dest], tg, ierr);
	/* a pool: its destinations in the balancing order */
	tg->pool = hit.pool;
	struct pool_keys keys = {
		.call_id = v.rq.call_id.p, .call_id_len = v.rq.call_id.len,
		.from_user = v.rq.from_user.p, .from_user_len = v.rq.from_user.len,
		.ruri_user = v.rq.ruri_user.p, .ruri_user_len = v.rq.ruri_user.len,
		.src = &src->sa};
	uint32_t order[SIP_CAND_MAX];
	uint32_t n = pool_select(sw->ps, p, hit.pool, &keys, sw->now, order, SIP_CAND_MAX);
	tg->n_cand = 0;
	for (uint32_t i = 0; i < n; i++) {
		union sockaddr_any dst;
		int e = -1;
		sip_dest_addr(&p->dests[order[i]], &dst);
		int li = sip_listener_to(sw, &dst, &e);
		if (li < 0)
			continue; /* a family we do not listen on: skip it */
		if (tg->n_cand == 0) {
			tg->dst = dst;
			tg->listener = (uint8_t)li;
		}
		tg->cand[tg->n_cand] = order[i];
		tg->cand_listener[tg->n_cand] = (uint8_t)li;
		tg->n_cand++;
	}
	if (tg->n_cand == 0) {
		tg->kind = SIP_TG_REPLY;
		tg->code = 503;
		tg->reason = "No Destination Available";
		tg->extra = "Retry-After: 5\r\n";
		tg->drop = SIP_DROP_POOL_DOWN;
		return 0;
	}
	return 0;
}
