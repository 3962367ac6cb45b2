/*
 * name-addr / addr-spec values: From, To, Contact, Route, Record-Route,
 * Path (RFC 3261 §20.10, §20.20, §20.30, §20.34, §20.39, §25.1; RFC 3327).
 *
 * (name-addr / addr-spec) *( SEMI param ), where
 *   name-addr = [ display-name ] LAQUOT addr-spec RAQUOT
 *   display-name = *(token LWS) / quoted-string
 * In the addr-spec form the URI ends at the first ';' (what follows are
 * header parameters, §20.10), ',' in lists, or white space. Route,
 * Record-Route and Path require the name-addr form. Every URI is parsed,
 * so a bad one is reported against its header.
 */
#include "msg_int.h"

#include <sipedge/uri.h>

/* Parse a sip/sips/tel/absolute URI inside a header, as a validity check. */
static int msg_check_uri(struct msg_ctx *c, uint16_t hdr_id, struct se_range uri)
{
	struct se_uri u;
	if (uri.len == 0 || se_uri_parse(c->b, uri.off, uri.len, &u, NULL) != 0)
		return msg_bad_hdr(c, hdr_id, uri.off);
	return 0;
}

/* One value at p; stops before a top-level ',' when `list`. Returns the
 * offset after the value, or 0. Inline: it runs for every From, To,
 * Contact and route value, and its callers are two. */
static inline uint32_t addr_value(struct msg_ctx *c, uint16_t id, uint32_t p, uint32_t end,
				  struct se_elem *e, bool list)
{
	const char *b = c->b;
	uint32_t s = p;
	bool angle_only = id == SE_HDR_ROUTE || id == SE_HDR_RECORD_ROUTE || id == SE_HDR_PATH;
	if (b[p] == '"') {
		uint32_t q = lex_quoted(b, p, end);
		if (!q)
			return 0;
		e->display = (struct se_range){p, q - p};
		p = lex_lws(b, q, end);
		if (p >= end || b[p] != '<')
			return 0;
	} else {
		/* *(token LWS) followed by '<' is a display name; otherwise the
		 * text is an addr-spec and is re-read as a URI from s. */
		uint32_t t = p, de = p;
		for (;;) {
			uint32_t q = lex_token(b, t, end);
			if (q == t)
				break;
			de = q;
			t = lex_lws(b, q, end);
		}
		if (t < end && b[t] == '<') {
			e->display = (struct se_range){s, de - s};
			p = t;
		}
	}
	uint32_t us, ue;
	if (b[p] == '<') {
		us = p + 1;
		const char *gt = memchr(b + us, '>', end - us);
		if (!gt)
			return 0;
		ue = (uint32_t)(gt - b);
		p = ue + 1;
		e->flags |= SE_ELEM_ANGLE;
	} else {
		if (angle_only)
			return 0;
		if (id == SE_HDR_CONTACT && b[p] == '*') {
			e->flags |= SE_ELEM_STAR;
			e->whole = (struct se_range){p, 1};
			return p + 1;
		}
		us = p;
		while (p < end && b[p] != ';' && b[p] != ' ' && b[p] != '\t' && b[p] != '\r' &&
		       b[p] != '\n' && !(list && b[p] == ','))
			p++;
		ue = p;
		/* a URI with '?' (or ',' or ';') must be in <> (§20.10) */
		if (memchr(b + us, '?', ue - us))
			return 0;
	}
	e->uri = (struct se_range){us, ue - us};
	if (msg_check_uri(c, id, e->uri))
		return 0;
	uint32_t q, ps = 0;
	while ((q = lex_sep(b, p, end, ';'))) {
		if (!ps)
			ps = q;
		uint32_t ne = lex_token(b, q, end);
		if (ne == q)
			return 0;
		p = ne;
		uint32_t eq = lex_sep(b, ne, end, '=');
		if (eq) {
			uint32_t ve = lex_gen_value(b, eq, end);
			if (!ve)
				return 0;
			if (ne - q == 3 && se_ieq_letters(b + q, "tag", 3))
				e->tag = (struct se_range){eq, ve - eq};
			p = ve;
		}
	}
	if (ps)
		e->params = (struct se_range){ps, p - ps};
	e->whole = (struct se_range){s, p - s};
	return p;
}

int msg_parse_fromto(struct msg_ctx *c, uint16_t hidx, struct se_range value, struct se_elem *out)
{
	uint16_t id = se_msg_hdrs(c->m)[hidx].id;
	uint32_t end = value.off + value.len;
	memset(out, 0, sizeof(*out));
	out->next = SE_NONE;
	if (value.len == 0)
		return msg_bad_hdr(c, id, value.off);
	uint32_t p = addr_value(c, id, value.off, end, out, false);
	if (c->err->code)
		return c->err->code;
	if (!p || lex_lws(c->b, p, end) != end) {
		out->hdr = SE_NONE;
		return msg_bad_hdr(c, id, value.off);
	}
	out->hdr = hidx;
	return 0;
}

int msg_parse_addr_list(struct msg_ctx *c, uint16_t hidx, struct se_range value, enum se_list list)
{
	const char *b = c->b;
	struct se_msg *m = c->m;
	uint16_t id = se_msg_hdrs(m)[hidx].id;
	uint32_t p = value.off, end = value.off + value.len;
	if (p >= end)
		return msg_bad_hdr(c, id, p);
	struct se_elem *elems = se_msg_elems(m);
	for (;;) {
		if (m->elem_count >= m->elem_cap)
			return msg_fail(c, SE_ELIMIT, id, p, "Too many address values");
		uint16_t ei = m->elem_count;
		struct se_elem *e = &elems[ei];
		memset(e, 0, sizeof(*e));
		e->hdr = hidx;
		e->next = SE_NONE;
		uint32_t q = addr_value(c, id, p, end, e, true);
		if (c->err->code)
			return c->err->code;
		if (!q)
			return msg_bad_hdr(c, id, p);
		m->elem_count++;
		if (c->list_last[list] == SE_NONE)
			m->list_first[list] = ei;
		else
			elems[c->list_last[list]].next = ei;
		c->list_last[list] = ei;
		m->list_count[list]++;
		p = lex_lws(b, q, end);
		/* "Contact: *" stands alone (§10.2.2): no other value with it */
		if ((e->flags & SE_ELEM_STAR) && (p < end || m->list_count[list] > 1))
			return msg_bad_hdr(c, id, e->whole.off);
		if (m->list_count[list] > 1 && list == SE_LIST_CONTACT &&
		    (elems[m->list_first[list]].flags & SE_ELEM_STAR))
			return msg_bad_hdr(c, id, e->whole.off);
		if (p >= end)
			return 0;
		if (b[p] != ',')
			return msg_bad_hdr(c, id, p);
		p = lex_lws(b, p + 1, end);
		if (p >= end)
			return msg_bad_hdr(c, id, p);
	}
}
