/*
 * Message storage: size, initialisation and the small accessors of
 * <sipedge/msg.h> that are not inline. The parser itself is msg_parse.c.
 */
#include <sipedge/msg.h>

#include "lex.h"

size_t se_msg_size(const struct se_limits *lim)
{
	return sizeof(struct se_msg) + (size_t)lim->max_headers * sizeof(struct se_hdr) +
	       (size_t)lim->max_vias * sizeof(struct se_via) +
	       (size_t)lim->max_elems * sizeof(struct se_elem);
}

struct se_msg *se_msg_init(void *mem, const struct se_limits *lim)
{
	struct se_msg *m = mem;
	m->size = (uint32_t)se_msg_size(lim);
	m->hdr_cap = lim->max_headers;
	m->via_cap = lim->max_vias;
	m->elem_cap = lim->max_elems;
	m->hdr_count = m->via_count = m->elem_count = 0;
	m->msg_len = 0;
	return m;
}

bool se_msg_token_next(const char *buf, struct se_range value, uint32_t *pos,
		       struct se_range *tok)
{
	uint32_t end = value.off + value.len;
	uint32_t p = value.off + *pos;
	for (;;) {
		p = lex_lws(buf, p, end);
		if (p >= end)
			return false;
		if (buf[p] == ',') {
			p++;
			continue;
		}
		uint32_t s = p;
		while (p < end && buf[p] != ',' && buf[p] != ' ' && buf[p] != '\t' &&
		       buf[p] != '\r' && buf[p] != '\n')
			p++;
		tok->off = s;
		tok->len = p - s;
		*pos = p - value.off;
		return true;
	}
}
