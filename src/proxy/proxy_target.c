/*
 * Where a request goes (RFC 3261 §16.4 Route processing, §16.5 targets,
 * §16.6 steps 6-7): strict-router compatibility, popping the Route that
 * names us, loose routing along the remaining Route set, in-dialog
 * requests to their Request-URI, and otherwise the routing policy
 * (proxy_policy.c).
 *
 * Until DNS lands (RFC 3263), a next hop must be an IP literal; anything
 * else gets the internal error no_dns (478), as DESIGN.md specifies.
 */
#include "proxy.h"

#include <string.h>

int sip_listener_of(struct worker *w, const char *host, uint32_t hlen, uint16_t port)
{
	if (port == 0)
		port = 5060;
	for (uint32_t i = 0; i < w->n_listeners; i++) {
		const struct listener_rt *l = &w->listeners[i];
		if (l->via_port == port && l->via_host_len == hlen &&
		    strncasecmp(l->via_host, host, hlen) == 0)
			return (int)i;
	}
	return -1;
}

int sip_listener_for_family(struct worker *w, int family)
{
	for (uint32_t i = 0; i < w->n_listeners; i++)
		if (w->listeners[i].cfg->family == family)
			return (int)i;
	return -1;
}

int sip_listener_to(struct sip_worker *sw, const union sockaddr_any *dst,
		    int *ierr)
{
	int li = sip_listener_for_family(sw->w, dst->sa.sa_family);
	if (li < 0)
		*ierr = dst->sa.sa_family == AF_INET6 ? SE_IERR_NO_IPV6 : SE_IERR_NO_IPV4;
	return li;
}

void sip_dest_addr(const struct policy_dest *d, union sockaddr_any *out)
{
	memset(out, 0, sizeof(*out));
	if (d->addr.sa.sa_family == AF_INET6)
		out->in6 = d->addr.in6;
	else
		out->in = d->addr.in;
}

static bool uri_is_us(struct worker *w, const char *b, const struct se_uri *u)
{
	if (u->scheme != SE_URI_SIP && u->scheme != SE_URI_SIPS)
		return false;
	uint16_t port = (u->flags & SE_URI_F_PORT) ? u->port : 0;
	return sip_listener_of(w, b + u->host.off, u->host.len, port) >= 0;
}

int sip_uri_target(struct sip_worker *sw, const char *b, const struct se_uri *u,
		   struct sip_target *tg, int *ierr)
{
	if (u->scheme == SE_URI_SIPS) {
		*ierr = SE_IERR_UNSUPPORTED_TRANSPORT; /* no TLS listener yet */
		return SE_EINVAL;
	}
	if (u->scheme != SE_URI_SIP) {
		*ierr = SE_IERR_UNSUPPORTED_URI_SCHEME;
		return SE_EINVAL;
	}
	if (u->transport.len && !se_range_ieq(b, u->transport, "udp")) {
		*ierr = SE_IERR_UNSUPPORTED_TRANSPORT;
		return SE_EINVAL;
	}
	struct se_range host = u->maddr.len ? u->maddr : u->host;
	uint16_t port = (u->flags & SE_URI_F_PORT) ? u->port : 5060;
	if (sip_host_addr(b + host.off, host.len, port, &tg->dst) != 0) {
		*ierr = SE_IERR_NO_DNS;
		return SE_EINVAL;
	}
	int li = sip_listener_to(sw, &tg->dst, ierr);
	if (li < 0)
		return SE_EINVAL;
	tg->listener = (uint8_t)li;
	return 0;
}

static bool dialog_creating(const struct se_msg *m)
{
	return m->to.tag.len == 0 &&
	       (m->method == SE_METHOD_INVITE || m->method == SE_METHOD_SUBSCRIBE ||
		m->method == SE_METHOD_REFER);
}

int sip_target(struct sip_worker *sw, const struct se_msg *m, const char *buf, uint8_t listener,
	       const union sockaddr_any *src, struct sip_target *tg, int *ierr)
{
	const struct se_elem *el = se_msg_elems(m);
	struct se_uri ru;
	memset(tg, 0, sizeof(*tg));
	tg->drop = SIP_DROP__COUNT;
	tg->pool = POLICY_NONE;
	/* the Route set in order: [start, end) is what is left to follow */
	uint16_t first = m->list_first[SE_LIST_ROUTE], last = first;
	uint16_t n = m->list_count[SE_LIST_ROUTE];
	for (uint16_t i = first; i != SE_NONE; i = el[i].next)
		last = i;

	/* §16.4: a Request-URI we put in a Record-Route means the previous
	 * hop is a strict router: the real target is the last Route value. */
	if (n > 0 && uri_is_us(sw->w, buf, &m->ruri)) {
		tg->new_ruri_p = buf + el[last].uri.off;
		tg->new_ruri_len = el[last].uri.len;
		tg->drop_elem[tg->n_drop++] = last;
		n--;
	}
	/* §16.4: the top Route naming us is ours to remove */
	if (n > 0 && se_uri_parse(buf, el[first].uri.off, el[first].uri.len, &ru, NULL) == 0 &&
	    uri_is_us(sw->w, buf, &ru)) {
		tg->drop_elem[tg->n_drop++] = first;
		first = el[first].next;
		n--;
	}
	/* §16.6 steps 6-7: a remaining Route set decides the next hop */
	if (n > 0) {
		if (se_uri_parse(buf, el[first].uri.off, el[first].uri.len, &ru, NULL) != 0)
			return SE_EPARSE; /* validated by the parser: cannot happen */
		return sip_uri_target(sw, buf, &ru, tg, ierr);
	}
	const struct se_uri *target = &m->ruri;
	struct se_uri nu;
	if (tg->new_ruri_p) {
		if (se_uri_parse(buf, (uint32_t)(tg->new_ruri_p - buf), tg->new_ruri_len, &nu,
				 NULL) != 0)
			return SE_EPARSE;
		target = &nu;
	}
	/* in-dialog: the Request-URI is the remote target, unless it names us
	 * (a peer that ignored Record-Route): then, like any request for
	 * us, the policy decides */
	if (m->to.tag.len && !uri_is_us(sw->w, buf, target))
		return sip_uri_target(sw, buf, target, tg, ierr);
	tg->record_route_allowed = dialog_creating(m);
	tg->record_route = sw->w->cfg->record_route && tg->record_route_allowed;
	return sip_policy_route(sw, m, buf, listener, src, target, tg, ierr);
}
