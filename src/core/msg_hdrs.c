/*
 * Single-value and token-list headers the proxy needs (RFC 3261 §20):
 * Call-ID, CSeq (§8.1.1.5: number < 2^31), Max-Forwards (0..255),
 * Content-Length, Content-Type, Expires, Max-Breadth (RFC 5393), Reason
 * (RFC 3326), Require / Proxy-Require / Supported (option-tag lists).
 *
 * A header that must be single (Call-ID, CSeq, Max-Forwards,
 * Content-Length, Max-Breadth) appearing twice is refused: two
 * Content-Lengths are the classic way to make two parsers frame one
 * stream differently.
 */
#include "msg_int.h"


static int dup(struct msg_ctx *c, uint16_t id, uint32_t off)
{
	static const char *const what[SE_HDR__COUNT] = {
		[SE_HDR_CALL_ID] = "Duplicate Call-ID header",
		[SE_HDR_CSEQ] = "Duplicate CSeq header",
		[SE_HDR_MAX_FORWARDS] = "Duplicate Max-Forwards header",
		[SE_HDR_CONTENT_LENGTH] = "Duplicate Content-Length header",
		[SE_HDR_MAX_BREADTH] = "Duplicate Max-Breadth header",
	};
	return msg_fail(c, SE_EPARSE, id, off, what[id]);
}

/* The whole value is 1*DIGIT; *out saturates at max + 1. */
static bool whole_uint(const char *b, struct se_range v, uint64_t max, uint64_t *out)
{
	uint32_t end = v.off + v.len;
	return v.len > 0 && lex_uint(b, v.off, end, max, out) == end;
}

/* callid = word [ "@" word ] */
static bool callid_ok(const char *b, struct se_range v)
{
	uint32_t p = v.off, end = v.off + v.len;
	uint32_t s = p;
	p = se_span_long(b, p, end, SE_C_WORD);
	if (p == s)
		return false;
	if (p < end && b[p] == '@') {
		s = ++p;
		p = se_span_long(b, p, end, SE_C_WORD);
		if (p == s)
			return false;
	}
	return p == end;
}

/* CSeq = 1*DIGIT LWS Method */
static int parse_cseq(struct msg_ctx *c, struct se_range v)
{
	const char *b = c->b;
	struct se_msg *m = c->m;
	uint32_t end = v.off + v.len;
	uint64_t n;
	uint32_t p = lex_uint(b, v.off, end, 0x7fffffffu, &n);
	if (p == v.off || n > 0x7fffffffu)
		return msg_bad_hdr(c, SE_HDR_CSEQ, v.off);
	uint32_t q = lex_lws(b, p, end);
	if (q == p)
		return msg_bad_hdr(c, SE_HDR_CSEQ, p);
	uint32_t e = lex_token(b, q, end);
	if (e == q || e != end)
		return msg_bad_hdr(c, SE_HDR_CSEQ, q);
	m->cseq = (uint32_t)n;
	m->cseq_method_name = (struct se_range){q, e - q};
	m->cseq_method = (uint8_t)se_method_lookup(b + q, e - q);
	return 0;
}

/* Content-Type = media-type: m-type SLASH m-subtype *(SEMI m-parameter) */
static bool ctype_ok(const char *b, struct se_range v)
{
	uint32_t end = v.off + v.len;
	uint32_t p = lex_token(b, v.off, end);
	if (p == v.off || !(p = lex_sep(b, p, end, '/')))
		return false;
	uint32_t q = lex_token(b, p, end);
	if (q == p)
		return false;
	p = q;
	while ((q = lex_sep(b, p, end, ';'))) {
		uint32_t ne = lex_token(b, q, end);
		if (ne == q || !(q = lex_sep(b, ne, end, '=')))
			return false;
		p = b[q] == '"' ? lex_quoted(b, q, end) : lex_token(b, q, end);
		if (p == 0 || p == q)
			return false;
	}
	return lex_lws(b, p, end) == end;
}

/* Reason = reason-value *(COMMA reason-value); reason-value = protocol
 * *(SEMI reason-params). Only the first value is kept (RFC 3326 §2). */
static bool reason_ok(const char *b, struct se_range v, struct se_reason *r)
{
	uint32_t end = v.off + v.len;
	uint32_t p = lex_token(b, v.off, end);
	if (p == v.off)
		return false;
	r->protocol = (struct se_range){v.off, p - v.off};
	uint32_t q;
	while ((q = lex_sep(b, p, end, ';'))) {
		uint32_t ne = lex_token(b, q, end);
		uint32_t e;
		if (ne == q || !(e = lex_sep(b, ne, end, '=')))
			return false;
		p = b[e] == '"' ? lex_quoted(b, e, end) : lex_token(b, e, end);
		if (p == 0 || p == e)
			return false;
		if (ne - q == 5 && strncasecmp(b + q, "cause", 5) == 0) {
			uint64_t cause;
			if (lex_uint(b, e, p, 65535, &cause) != p || cause > 65535)
				return false;
			r->cause = (uint16_t)cause;
		} else if (ne - q == 4 && strncasecmp(b + q, "text", 4) == 0) {
			r->text = (struct se_range){e, p - e};
		}
	}
	p = lex_lws(b, p, end);
	return p == end || b[p] == ','; /* later values are not examined */
}

/* option-tag *(COMMA option-tag); Supported may be empty (§20.37). */
static bool tokens_ok(const char *b, struct se_range v, bool may_be_empty)
{
	uint32_t p = v.off, end = v.off + v.len;
	if (p == end)
		return may_be_empty;
	for (;;) {
		uint32_t q = lex_token(b, p, end);
		if (q == p)
			return false;
		p = lex_lws(b, q, end);
		if (p == end)
			return true;
		if (b[p] != ',')
			return false;
		p = lex_lws(b, p + 1, end);
	}
}

int msg_parse_scalar(struct msg_ctx *c, uint16_t hidx, uint16_t id, struct se_range v)
{
	const char *b = c->b;
	struct se_msg *m = c->m;
	bool again = m->first[id] != hidx;
	uint64_t n;
	switch (id) {
	case SE_HDR_CALL_ID:
		if (again)
			return dup(c, id, v.off);
		if (!callid_ok(b, v))
			return msg_bad_hdr(c, id, v.off);
		m->call_id = v;
		return 0;
	case SE_HDR_CSEQ:
		return again ? dup(c, id, v.off) : parse_cseq(c, v);
	case SE_HDR_MAX_FORWARDS:
		if (again)
			return dup(c, id, v.off);
		if (!whole_uint(b, v, 255, &n) || n > 255)
			return msg_bad_hdr(c, id, v.off);
		m->max_forwards = (int32_t)n;
		return 0;
	case SE_HDR_MAX_BREADTH:
		if (again)
			return dup(c, id, v.off);
		if (!whole_uint(b, v, 0x7fffffff, &n) || n > 0x7fffffff)
			return msg_bad_hdr(c, id, v.off);
		m->max_breadth = (int32_t)n;
		return 0;
	case SE_HDR_CONTENT_LENGTH:
		if (again)
			return dup(c, id, v.off);
		if (!whole_uint(b, v, 0x7fffffff, &n) || n > 0x7fffffff)
			return msg_bad_hdr(c, id, v.off);
		m->content_length = (int64_t)n;
		return 0;
	case SE_HDR_EXPIRES:
		/* delta-seconds; values past 2^32-1 mean 2^32-1 (§20.19, RFC 4475
		 * §3.1.2.5 lets elements clamp rather than refuse them) */
		if (!whole_uint(b, v, 0xffffffffu, &n))
			return msg_bad_hdr(c, id, v.off);
		if (!again)
			m->expires = (int64_t)(n > 0xffffffffu ? 0xffffffffu : n);
		return 0;
	case SE_HDR_CONTENT_TYPE:
		if (!ctype_ok(b, v))
			return msg_bad_hdr(c, id, v.off);
		if (!again)
			m->content_type = v;
		return 0;
	case SE_HDR_REASON: {
		struct se_reason r = {0};
		if (!reason_ok(b, v, &r))
			return msg_bad_hdr(c, id, v.off);
		if (!again)
			m->reason = r;
		return 0;
	}
	case SE_HDR_PROXY_REQUIRE:
	case SE_HDR_REQUIRE:
	case SE_HDR_SUPPORTED:
		if (!tokens_ok(b, v, id == SE_HDR_SUPPORTED))
			return msg_bad_hdr(c, id, v.off);
		return 0;
	default:
		return 0;
	}
}
