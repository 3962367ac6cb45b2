/*
 * Via header parser (RFC 3261 §20.42, §25.1 via-parm; RFC 3581 rport;
 * RFC 5954 IPv6 sent-by and received).
 *
 * Via = ("Via" / "v") HCOLON via-parm *(COMMA via-parm)
 * via-parm = sent-protocol LWS sent-by *( SEMI via-params )
 * sent-protocol = protocol-name SLASH protocol-version SLASH transport
 *
 * Every hop of every Via header gets a struct se_via, in message order, so
 * hop 0 is the topmost: the one a proxy checks, adds rport/received to,
 * and pops from responses.
 */
#include "msg_int.h"

#include "host_scan.h"

enum via_pname { VP_OTHER, VP_BRANCH, VP_RECEIVED, VP_RPORT, VP_MADDR, VP_TTL };

/* Which via-param a name is, case-insensitively; by length first, as
 * every param of every hop is looked up. */
static enum via_pname via_pname(const char *s, uint32_t n)
{
	switch (n) {
	case 3:
		return se_ieq_letters(s, "ttl", 3) ? VP_TTL : VP_OTHER;
	case 5:
		return se_ieq_letters(s, "rport", 5)   ? VP_RPORT
		       : se_ieq_letters(s, "maddr", 5) ? VP_MADDR
						       : VP_OTHER;
	case 6:
		return se_ieq_letters(s, "branch", 6) ? VP_BRANCH : VP_OTHER;
	case 8:
		return se_ieq_letters(s, "received", 8) ? VP_RECEIVED : VP_OTHER;
	default:
		return VP_OTHER;
	}
}

/* Apply one via-param (name b[ns,ne), value range v, has_value). */
static bool via_param(const char *b, struct se_via *h, uint32_t ns, uint32_t ne,
		      struct se_range v, bool has_value)
{
	uint32_t ve = v.off + v.len;
	enum via_pname kind = via_pname(b + ns, ne - ns);
	if (kind == VP_OTHER)
		return true;
	if (kind == VP_BRANCH) {
		if (!has_value || b[v.off] == '"')
			return false;
		h->branch = v;
	} else if (kind == VP_RECEIVED) {
		if (!has_value || (!se_host_ipv4(b, v.off, ve) &&
				   se_host_check(b, v.off, ve, 0) != SE_HOST_IPV6))
			return false;
		h->received = v;
	} else if (kind == VP_RPORT) {
		h->flags |= SE_VIA_RPORT;
		if (has_value) {
			uint64_t port;
			if (lex_uint(b, v.off, ve, 65535, &port) != ve || port > 65535)
				return false;
			h->flags |= SE_VIA_RPORT_VALUE;
			h->rport = (uint16_t)port;
		}
	} else if (kind == VP_MADDR) {
		if (!has_value || se_host_check(b, v.off, ve, 0) == SE_HOST_NONE)
			return false;
		h->maddr = v;
	} else { /* VP_TTL */
		uint64_t ttl;
		if (!has_value || lex_uint(b, v.off, ve, 255, &ttl) != ve || ttl > 255)
			return false;
		h->ttl = v;
	}
	return true;
}

/* One via-parm starting at p. Returns the offset after it, or 0. */
static uint32_t via_hop(const char *b, uint32_t p, uint32_t end, struct se_via *h)
{
	uint32_t s = p, q;
	if (end - p > 8 && memcmp(b + p, "SIP/2.0/", 8) == 0) {
		/* the protocol of every hop seen, read as the general path would */
		p = lex_lws(b, p + 8, end);
	} else {
		q = lex_token(b, p, end); /* protocol-name */
		if (q == p || !(p = lex_sep(b, q, end, '/')))
			return 0;
		q = lex_token(b, p, end); /* protocol-version */
		if (q == p || !(p = lex_sep(b, q, end, '/')))
			return 0;
	}
	q = lex_token(b, p, end); /* transport */
	if (q == p)
		return 0;
	h->transport = (struct se_range){p, q - p};
	h->protocol = (struct se_range){s, q - s};
	p = lex_lws(b, q, end);
	if (p == q)
		return 0;
	/* sent-by host: up to ':' ';' ',' or LWS, with brackets kept whole */
	uint32_t hs = p;
	int ht;
	if (p < end && b[p] == '[') {
		const char *rb = memchr(b + p, ']', end - p);
		if (!rb)
			return 0;
		p = (uint32_t)(rb - b) + 1;
		ht = se_host_check(b, hs, p, 1);
	} else {
		p = se_host_scan(b, p, end, &ht);
	}
	if (ht == SE_HOST_NONE)
		return 0;
	h->host = (struct se_range){hs, p - hs};
	h->host_type = (uint8_t)ht;
	if ((q = lex_sep(b, p, end, ':'))) {
		uint64_t port;
		uint32_t r = lex_uint(b, q, end, 65535, &port);
		if (r == q || port > 65535)
			return 0;
		h->port = (uint16_t)port;
		h->flags |= SE_VIA_PORT;
		p = r;
	}
	uint32_t ps = 0;
	while ((q = lex_sep(b, p, end, ';'))) {
		if (!ps)
			ps = q;
		uint32_t ne = lex_token(b, q, end);
		if (ne == q)
			return 0;
		struct se_range v = {ne, 0};
		bool has_value = false;
		p = ne;
		uint32_t e = lex_sep(b, ne, end, '=');
		if (e) {
			uint32_t ve = lex_gen_value(b, e, end);
			if (!ve)
				return 0;
			v = (struct se_range){e, ve - e};
			has_value = true;
			p = ve;
		}
		if (!via_param(b, h, q, ne, v, has_value))
			return 0;
	}
	if (ps)
		h->params = (struct se_range){ps, p - ps};
	h->whole = (struct se_range){s, p - s};
	return p;
}

int msg_parse_via(struct msg_ctx *c, uint16_t hidx, struct se_range value)
{
	const char *b = c->b;
	struct se_msg *m = c->m;
	uint32_t p = value.off, end = value.off + value.len;
	for (;;) {
		if (m->via_count >= m->via_cap)
			return msg_fail(c, SE_ELIMIT, SE_HDR_VIA, p, "Too many Via hops");
		struct se_via *h = &se_msg_vias(m)[m->via_count];
		memset(h, 0, sizeof(*h));
		h->hdr = hidx;
		uint32_t q = via_hop(b, p, end, h);
		if (!q)
			return msg_bad_hdr(c, SE_HDR_VIA, p);
		m->via_count++;
		p = lex_lws(b, q, end);
		if (p >= end)
			return 0;
		if (b[p] != ',')
			return msg_bad_hdr(c, SE_HDR_VIA, p);
		p = lex_lws(b, p + 1, end);
	}
}
