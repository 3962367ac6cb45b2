/*
 * SIP message parser: start line, header loop, body (RFC 3261 §7, §7.3.1
 * line folding, §7.5 leading CRLF, §18.3 framing, §25 ABNF).
 *
 * One forward pass over the buffer. Line ends are found 16 bytes at a time
 * (SSE2) or with memchr (the bulk of the bytes are never looked at one by
 * one); each header line is recorded as ranges and, when its id is one the
 * proxy needs, handed to a typed parser (msg_via.c, msg_addr.c,
 * msg_hdrs.c). The first fault ends the parse with a detail fit for a 400
 * reason phrase.
 */
#include "msg_int.h"

#include <stddef.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define XX(id, name, c) [SE_HDR_##id] = "Bad " name " header",
static const char *const bad_what[SE_HDR__COUNT] = {[SE_HDR_OTHER] = "Bad header line",
						     SE_HDR_MAP(XX)};
#undef XX
#define XX(id, name, c) [SE_HDR_##id] = "Missing " name " header",
static const char *const missing_what[SE_HDR__COUNT] = {SE_HDR_MAP(XX)};
#undef XX

int msg_fail(struct msg_ctx *c, int code, uint16_t hdr_id, uint32_t off, const char *what)
{
	c->err->code = code;
	c->err->status = code == SE_EMSGSIZE ? 513 : 400;
	c->err->hdr_id = hdr_id;
	c->err->offset = off;
	c->err->what = what;
	return code;
}

int msg_bad_hdr(struct msg_ctx *c, uint16_t hdr_id, uint32_t off)
{
	return msg_fail(c, SE_EPARSE, hdr_id, off, bad_what[hdr_id]);
}

static void msg_reset(struct se_msg *m)
{
	/* everything after the capacities; they describe the storage */
	memset(&m->hdr_count, 0, offsetof(struct se_msg, slots) - offsetof(struct se_msg, hdr_count));
	m->msg_len = 0;
	memset(m->first, 0xff, sizeof(m->first));
	memset(m->list_first, 0xff, sizeof(m->list_first));
	m->max_forwards = -1;
	m->max_breadth = -1;
	m->expires = -1;
	m->content_length = -1;
	m->from.hdr = m->to.hdr = SE_NONE;
	m->from.next = m->to.next = SE_NONE;
}

/* "SIP/" 1*DIGIT "." 1*DIGIT, "SIP" case-insensitive (RFC 3261 §25.1
 * literals). Returns the end offset, or 0. Sets *is20 for SIP/2.0. */
static uint32_t parse_version(const char *b, uint32_t p, uint32_t end, bool *is20)
{
	if (end - p < 7)
		return 0;
	/* what every message says, as the general path below reads it */
	if (memcmp(b + p, "SIP/2.0", 7) == 0 &&
	    (end - p == 7 || b[p + 7] < '0' || b[p + 7] > '9')) {
		*is20 = true;
		return p + 7;
	}
	if ((b[p] | 0x20) != 's' || (b[p + 1] | 0x20) != 'i' || (b[p + 2] | 0x20) != 'p' ||
	    b[p + 3] != '/')
		return 0;
	uint32_t s = p + 4;
	uint64_t major, minor;
	uint32_t q = lex_uint(b, s, end, 999, &major);
	if (q == s || q >= end || b[q] != '.')
		return 0;
	uint32_t r = lex_uint(b, q + 1, end, 999, &minor);
	if (r == q + 1)
		return 0;
	*is20 = major == 2 && minor == 0;
	return r;
}

/* The first SP or HTAB in b[p, end), or end; sixteen bytes at a time with
 * SSE2, as a Request-URI is mostly longer than that. */
static uint32_t first_ws(const char *b, uint32_t p, uint32_t end)
{
#ifdef __SSE2__
	for (; end - p >= 16; p += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + p));
		__m128i ws = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(' ')),
					  _mm_cmpeq_epi8(x, _mm_set1_epi8('\t')));
		unsigned m = (unsigned)_mm_movemask_epi8(ws);
		if (m)
			return p + (uint32_t)__builtin_ctz(m);
	}
#endif
	while (p < end && b[p] != ' ' && b[p] != '\t')
		p++;
	return p;
}

/* Request-Line = Method SP Request-URI SP SIP-Version CRLF; line is the
 * line without its CRLF. Exactly one SP between elements (§7.1). */
static int parse_request_line(struct msg_ctx *c, uint32_t p, uint32_t end)
{
	const char *b = c->b;
	struct se_msg *m = c->m;
	uint32_t q = lex_token(b, p, end);
	if (q == p || q >= end || b[q] != ' ')
		return msg_fail(c, SE_EPARSE, SE_HDR_OTHER, q, "Bad request line");
	m->is_request = true;
	m->method_name = (struct se_range){p, q - p};
	m->method = (uint8_t)se_method_lookup(b + p, q - p);
	uint32_t u = q + 1;
	uint32_t v = first_ws(b, u, end); /* the Request-URI's end */
	if (v == u || v >= end || b[v] != ' ')
		return msg_fail(c, SE_EPARSE, SE_HDR_OTHER, v, "Bad request line");
	m->ruri_text = (struct se_range){u, v - u};
	bool is20 = false;
	uint32_t w = parse_version(b, v + 1, end, &is20);
	if (w == 0 || w != end)
		return msg_fail(c, SE_EPARSE, SE_HDR_OTHER, v + 1, "Bad request line");
	const char *why = NULL;
	/* headers are not allowed in a Request-URI (§19.1.1 table 1) */
	if (se_uri_parse(b, u, v - u, &m->ruri, &why) != 0 || m->ruri.headers.len)
		return msg_fail(c, SE_EPARSE, SE_HDR_OTHER, u, "Bad Request-URI");
	if (!is20) {
		msg_fail(c, SE_EPARSE, SE_HDR_OTHER, v + 1, "Unsupported SIP version");
		c->err->status = 505;
		return SE_EPARSE;
	}
	return 0;
}

/* Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF. A
 * missing SP before an empty reason is tolerated (seen in the wild). */
static int parse_status_line(struct msg_ctx *c, uint32_t p, uint32_t end)
{
	const char *b = c->b;
	struct se_msg *m = c->m;
	bool is20 = false;
	uint32_t q = parse_version(b, p, end, &is20);
	if (q == 0 || !is20 || q >= end || b[q] != ' ')
		return msg_fail(c, SE_EPARSE, SE_HDR_OTHER, p, "Bad status line");
	uint64_t code;
	uint32_t r = lex_uint(b, q + 1, end, 999, &code);
	if (r != q + 4 || code < 100 || code > 699 || (r < end && b[r] != ' '))
		return msg_fail(c, SE_EPARSE, SE_HDR_OTHER, q + 1, "Bad status line");
	m->status = (uint16_t)code;
	uint32_t s = r < end ? r + 1 : r;
	for (uint32_t i = s; i < end; i++)
		if (!se_is((unsigned char)b[i], SE_C_TEXT))
			return msg_fail(c, SE_EPARSE, SE_HDR_OTHER, i, "Bad status line");
	m->reason_phrase = (struct se_range){s, end - s};
	return 0;
}

/* A header value may not hold NUL or a CR that does not end a line: both
 * would let a downstream parser split the message differently. */
static bool value_clean(const char *b, uint32_t p, uint32_t end)
{
	/* NUL only as a quoted-pair ("\" %x00 in a quoted string, §25.1) */
	for (const char *z = memchr(b + p, '\0', end - p); z;
	     z = memchr(z + 1, '\0', (size_t)(b + end - z - 1)))
		if (z == b + p || z[-1] != '\\')
			return false;
	const char *cr = memchr(b + p, '\r', end - p);
	while (cr) {
		uint32_t i = (uint32_t)(cr - b);
		if (b[i + 1] != '\n') /* i < end <= the line's LF: readable */
			return false;
		cr = memchr(b + i + 1, '\r', end - i - 1);
	}
	return true;
}

#ifdef __SSE2__
/* One chunk: b[base, base + 16), of which the first `skip` bytes are
 * before the line and ignored. Returns the LF's offset, or 0 if the chunk
 * has none (0 is never a line end inside the headers). */
static uint32_t lf_chunk(const char *b, uint32_t base, unsigned skip, uint32_t len, __m128i x,
			 bool *suspect)
{
	unsigned lf = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('\n'))) >> skip;
	unsigned cr = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('\r'))) >> skip;
	unsigned nul = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_setzero_si128())) >> skip;
	/* a CR is harmless when the next byte is LF; for a CR in the chunk's
	 * last byte that is the next chunk's first */
	unsigned top = 0x8000u >> skip;
	unsigned odd = nul | (cr & ~(lf >> 1) & (top - 1));
	if (lf) {
		unsigned k = (unsigned)__builtin_ctz(lf);
		if (odd & ((1u << k) - 1))
			*suspect = true;
		return base + skip + k;
	}
	if (odd || ((cr & top) && (len - base == 16 || b[base + 16] != '\n')))
		*suspect = true;
	return 0;
}
#endif

/*
 * The LF that ends the physical line holding b[p], or len if there is none.
 * *suspect is set when b[p, LF) may hold a NUL or a CR that is not part of
 * a CRLF, the two things value_clean() refuses: it is a filter (it may say
 * yes where value_clean() says the line is clean, never the reverse), so
 * only suspect lines pay for the exact check. With SSE2 (every x86-64)
 * sixteen bytes are classified at once, which is what makes the filter
 * free. Elsewhere every line is suspect and the scan is memchr.
 */
static uint32_t line_lf(const char *b, uint32_t p, uint32_t len, bool *suspect)
{
#ifdef __SSE2__
	const __m128i cr_max = _mm_set1_epi8('\r');
	for (; len - p >= 16; p += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + p));
		/* most chunks hold no byte <= CR at all: one test for them */
		if (!_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(x, cr_max), x)))
			continue;
		uint32_t nl = lf_chunk(b, p, 0, len, x, suspect);
		if (nl)
			return nl;
	}
	if (p < len && len >= 16) {
		/* the rest, as the buffer's last sixteen bytes minus those before p */
		uint32_t base = len - 16;
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + base));
		uint32_t nl = lf_chunk(b, base, p - base, len, x, suspect);
		return nl ? nl : len;
	}
#endif
	*suspect = true;
	const char *f = memchr(b + p, '\n', len - p);
	return f ? (uint32_t)(f - b) : len;
}

/* The end of the header name at p, as lex_token() finds it. Names are
 * letters, digits and '-' followed by ':' (or SP/HTAB) in practice: with
 * SSE2 that shape is checked sixteen bytes at once, anything else is left
 * to lex_token(). */
static uint32_t name_end(const char *b, uint32_t p, uint32_t len)
{
#ifdef __SSE2__
	if (len - p >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + p));
		__m128i ok = _mm_or_si128(se_sse_alnum(x), _mm_cmpeq_epi8(x, _mm_set1_epi8('-')));
		unsigned run = (unsigned)__builtin_ctz(~(unsigned)_mm_movemask_epi8(ok));
		if (run < 16 && (b[p + run] == ':' || b[p + run] == ' ' || b[p + run] == '\t'))
			return p + run;
	}
#endif
	return lex_token(b, p, len);
}

static int dispatch(struct msg_ctx *c, uint16_t hidx, uint16_t id, struct se_range v)
{
	struct se_msg *m = c->m;
	switch (id) {
	case SE_HDR_VIA:
		return msg_parse_via(c, hidx, v);
	case SE_HDR_FROM:
	case SE_HDR_TO: {
		struct se_elem *e = id == SE_HDR_FROM ? &m->from : &m->to;
		if (e->hdr != SE_NONE)
			return msg_fail(c, SE_EPARSE, id, v.off,
					id == SE_HDR_FROM ? "Duplicate From header"
							  : "Duplicate To header");
		return msg_parse_fromto(c, hidx, v, e);
	}
	case SE_HDR_ROUTE:
		return msg_parse_addr_list(c, hidx, v, SE_LIST_ROUTE);
	case SE_HDR_RECORD_ROUTE:
		return msg_parse_addr_list(c, hidx, v, SE_LIST_RECORD_ROUTE);
	case SE_HDR_PATH:
		return msg_parse_addr_list(c, hidx, v, SE_LIST_PATH);
	case SE_HDR_CONTACT:
		return msg_parse_addr_list(c, hidx, v, SE_LIST_CONTACT);
	case SE_HDR_CALL_ID:
	case SE_HDR_CSEQ:
	case SE_HDR_MAX_FORWARDS:
	case SE_HDR_CONTENT_LENGTH:
	case SE_HDR_CONTENT_TYPE:
	case SE_HDR_MAX_BREADTH:
	case SE_HDR_EXPIRES:
	case SE_HDR_REASON:
	case SE_HDR_PROXY_REQUIRE:
	case SE_HDR_REQUIRE:
	case SE_HDR_SUPPORTED:
		return msg_parse_scalar(c, hidx, id, v);
	default:
		return 0;
	}
}

/* Header loop from p to the empty line. Returns the offset after the empty
 * line, or 0 with the error recorded (0 is never a valid body start). */
static uint32_t parse_headers(struct msg_ctx *c, uint32_t p, uint32_t len, int *rc)
{
	const char *b = c->b;
	struct se_msg *m = c->m;
	struct se_hdr *hdrs = se_msg_hdrs(m);
	uint16_t last[SE_HDR__COUNT];
	memset(last, 0xff, sizeof(last));
	for (;;) {
		if (p >= len) {
			*rc = msg_fail(c, SE_EPARSE, SE_HDR_OTHER, p, "Missing end of headers");
			return 0;
		}
		if (b[p] == '\n')
			return p + 1;
		if (b[p] == '\r' && p + 1 < len && b[p + 1] == '\n')
			return p + 2;
		uint32_t ns = p;
		uint32_t ne = name_end(b, p, len);
		uint32_t q = ne;
		if (q < len && b[q] != ':') /* white space before the colon: rare */
			while (q < len && (b[q] == ' ' || b[q] == '\t'))
				q++;
		if (ne == ns || q >= len || b[q] != ':') {
			*rc = msg_fail(c, SE_EPARSE, SE_HDR_OTHER, ns, "Bad header line");
			return 0;
		}
		q++;
		/* End of the logical line: a LF not followed by SP/HTAB. */
		uint32_t nl = q;
		bool suspect = false;
		for (;;) {
			nl = line_lf(b, nl, len, &suspect);
			if (nl == len) {
				*rc = msg_fail(c, SE_EPARSE, SE_HDR_OTHER, ns, "Missing end of headers");
				return 0;
			}
			if (nl + 1 < len && (b[nl + 1] == ' ' || b[nl + 1] == '\t')) {
				nl++;
				continue;
			}
			break;
		}
		uint32_t ve = nl;
		if (ve > q && b[ve - 1] == '\r')
			ve--;
		uint16_t id = (uint16_t)hdr_lookup(b + ns, ne - ns);
		if (suspect && !value_clean(b, q, ve)) {
			*rc = msg_fail(c, SE_EPARSE, id, q, bad_what[id]);
			return 0;
		}
		/* the value starts after LWS, most often one SP */
		uint32_t vs = q < ve && b[q] == ' ' ? q + 1 : q;
		if (vs < ve && (unsigned char)b[vs] <= ' ')
			vs = lex_lws(b, vs, ve);
		while (ve > vs && (b[ve - 1] == ' ' || b[ve - 1] == '\t'))
			ve--;
		if (m->hdr_count >= m->hdr_cap) {
			*rc = msg_fail(c, SE_ELIMIT, SE_HDR_OTHER, ns, "Too many headers");
			return 0;
		}
		uint16_t hidx = m->hdr_count++;
		struct se_hdr *h = &hdrs[hidx];
		h->name = (struct se_range){ns, ne - ns};
		h->value = (struct se_range){vs, ve - vs};
		h->line = (struct se_range){ns, nl + 1 - ns};
		h->id = id;
		h->next = SE_NONE;
		if (id != SE_HDR_OTHER) {
			if (last[id] == SE_NONE)
				m->first[id] = hidx;
			else
				hdrs[last[id]].next = hidx;
			last[id] = hidx;
			int r = dispatch(c, hidx, id, h->value);
			if (r) {
				*rc = r;
				return 0;
			}
		}
		p = nl + 1;
	}
}

/* CSeq's method is the request's. Two known method ids are equal exactly
 * when the names are (methods are case-sensitive, and a known id means
 * the canonical spelling), so only extension methods need the bytes. */
static bool cseq_method_matches(const char *b, const struct se_msg *m)
{
	if (m->method != SE_METHOD_OTHER && m->cseq_method != SE_METHOD_OTHER)
		return m->cseq_method == m->method;
	return m->cseq_method_name.len == m->method_name.len &&
	       memcmp(b + m->cseq_method_name.off, b + m->method_name.off, m->method_name.len) == 0;
}

static int check_required(struct msg_ctx *c)
{
	static const uint16_t req[] = {SE_HDR_VIA, SE_HDR_FROM, SE_HDR_TO, SE_HDR_CALL_ID,
				       SE_HDR_CSEQ};
	struct se_msg *m = c->m;
	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++)
		if (m->first[req[i]] == SE_NONE)
			return msg_fail(c, SE_EPARSE, req[i], 0, missing_what[req[i]]);
	if (m->is_request && !cseq_method_matches(c->b, m))
		return msg_fail(c, SE_EPARSE, SE_HDR_CSEQ, m->cseq_method_name.off,
				"CSeq method does not match");
	return 0;
}

int se_msg_parse(struct se_msg *m, const char *buf, size_t len, enum se_transport_kind kind,
		 const struct se_limits *lim, struct se_perr *err)
{
	struct msg_ctx c = {.b = buf, .m = m, .lim = lim, .err = err};
	memset(c.list_last, 0xff, sizeof(c.list_last));
	err->code = 0;
	err->status = 0;
	err->what = NULL;
	msg_reset(m);
	if (len > lim->max_msg || len > UINT32_MAX - 1)
		return msg_fail(&c, SE_EMSGSIZE, SE_HDR_OTHER, 0, "Message too large");
	uint32_t n = (uint32_t)len;
	uint32_t p = 0;
	while (p < n && (buf[p] == '\r' || buf[p] == '\n')) /* §7.5 */
		p++;
	if (p >= n)
		return msg_fail(&c, SE_EPARSE, SE_HDR_OTHER, p, "Empty message");
	const char *f = memchr(buf + p, '\n', n - p);
	if (!f)
		return msg_fail(&c, SE_EPARSE, SE_HDR_OTHER, p, "Bad request line");
	uint32_t nl = (uint32_t)(f - buf);
	uint32_t le = nl > p && buf[nl - 1] == '\r' ? nl - 1 : nl;
	bool response = n - p >= 4 && (buf[p] | 0x20) == 's' && (buf[p + 1] | 0x20) == 'i' &&
			(buf[p + 2] | 0x20) == 'p' && buf[p + 3] == '/';
	int rc = response ? parse_status_line(&c, p, le) : parse_request_line(&c, p, le);
	if (rc)
		return rc;
	uint32_t bs = parse_headers(&c, nl + 1, n, &rc);
	if (bs == 0)
		return rc;
	uint32_t rest = n - bs;
	if (m->content_length < 0) {
		if (kind == SE_STREAM)
			return msg_fail(&c, SE_EPARSE, SE_HDR_CONTENT_LENGTH, bs,
					"Missing Content-Length header");
		m->body = (struct se_range){bs, rest};
	} else {
		if ((uint64_t)m->content_length > rest)
			return msg_fail(&c, SE_EPARSE, SE_HDR_CONTENT_LENGTH, bs,
					"Body shorter than Content-Length");
		m->body = (struct se_range){bs, (uint32_t)m->content_length};
	}
	rc = check_required(&c);
	if (rc)
		return rc;
	m->msg_len = m->body.off + m->body.len;
	return (int)m->msg_len;
}
