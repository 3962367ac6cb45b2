/*
 * URI parsing: SIP-URI and SIPS-URI (RFC 3261 §19.1.1, §25.1, with the
 * RFC 5954 §4.1 IPv6address), tel: (RFC 3966 §3) and, for any other
 * scheme, the absoluteURI of RFC 3261 §25.1 / RFC 3986 §3.1, kept raw.
 *
 * This runs on every request (Request-URI, Route, Contact...), so it is one
 * forward pass over the text with table lookups (chars.h), no allocation,
 * no copy and no strlen on the input. Every read is bounded by the end of
 * the given range; the results are ranges relative to the caller's base.
 * Hosts are validated by host.c so that Via and URI agree on what a host is.
 */
#include <sipedge/error.h>
#include <sipedge/uri.h>

#include <string.h>

#include "chars.h"
#include "host_scan.h"

/*
 * The number of uri-parameters and of headers one URI may carry. Nothing
 * legitimate comes close; the bound exists because se_uri_equal() matches
 * parameters pairwise, and an unbounded count would let one message buy
 * quadratic work.
 */
#define URI_MAX_PARAMS  64
#define URI_MAX_HEADERS 32

/* The uri-parameters RFC 3261 §19.1.1 gives a meaning (and §19.1.4 a
 * comparison rule). */
enum uri_pname { PN_OTHER, PN_TRANSPORT, PN_USER, PN_METHOD, PN_TTL, PN_MADDR, PN_LR };

/* tel: parameters with a grammar of their own (RFC 3966 §3). */
enum tel_pname { TP_OTHER, TP_CONTEXT, TP_EXT, TP_ISUB };

static inline unsigned char lc(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static inline bool is_escape(const unsigned char *b, uint32_t p, uint32_t end)
{
	return b[p] == '%' && end - p >= 3 && se_is(b[p + 1], SE_C_HEX) &&
	       se_is(b[p + 2], SE_C_HEX);
}

/* span_esc() past its first escape: characters of class `cls` and valid
 * %HH escapes, stopping at anything else (a '%' that does not start an
 * escape included). */
static uint32_t span_esc_more(const unsigned char *b, uint32_t p, uint32_t end, uint16_t cls,
			      bool *esc)
{
	for (;;) {
		if (p >= end || !is_escape(b, p, end))
			return p;
		*esc = true;
		p = se_span((const char *)b, p + 3, end, cls);
	}
}

/* Characters of class `cls` and valid %HH escapes; stops at anything else
 * (including a '%' that does not start an escape). Sets *esc when an
 * escape was crossed. Inline: it reads every user part and parameter, and
 * escapes are rare. */
static inline uint32_t span_esc(const unsigned char *b, uint32_t p, uint32_t end, uint16_t cls,
				bool *esc)
{
	p = se_span((const char *)b, p, end, cls);
	return p < end && b[p] == '%' ? span_esc_more(b, p, end, cls, esc) : p;
}

/* s[0, n) is the lower-case literal lit[0, litlen) in any case. The names
 * compared (schemes; tel: parameter names, "phone-context" among them) are
 * made of alphanumerics, '+', '-' and '.', and the non-letters of those
 * have bit 0x20 set already: on them se_ieq_letters()'s c | 0x20 is ASCII
 * lower case, and no other byte can reach it. */
static bool ieq(const unsigned char *s, uint32_t n, const char *lit, uint32_t litlen)
{
	return n == litlen && se_ieq_letters((const char *)s, lit, n);
}

/*
 * Compare text that may hold escapes with a plain NUL-terminated string,
 * case-insensitively (RFC 3261 §19.1.4: "%74" is "t"). An escaped
 * character of the RFC 2396 reserved set never equals its literal, and
 * no name we look up contains one, so any escape decoding to a reserved
 * character is a mismatch.
 */
static bool ieq_decoded(const unsigned char *s, uint32_t n, const char *str)
{
	uint32_t i = 0;
	for (; i < n; str++) {
		unsigned char c = s[i];
		if (is_escape(s, i, n)) {
			c = (unsigned char)(se_hexval(s[i + 1]) << 4 | se_hexval(s[i + 2]));
			i += 3;
			if (c == ';' || c == '/' || c == '?' || c == ':' || c == '@' || c == '&' ||
			    c == '=' || c == '+' || c == '$' || c == ',')
				return false;
		} else {
			i++;
		}
		if (*str == '\0' || lc(c) != lc((unsigned char)*str))
			return false;
	}
	return *str == '\0';
}

/* Which well-known uri-parameter a name is. Names are matched
 * case-insensitively; an escaped name ("tr%61nsport") is decoded first,
 * so that parsing and se_uri_equal() see the same parameter. */
static enum uri_pname uri_pname(const unsigned char *s, uint32_t n, bool esc)
{
	unsigned char buf[9];
	if (esc) {
		uint32_t k = 0;
		for (uint32_t i = 0; i < n; k++) {
			if (k == sizeof(buf))
				return PN_OTHER;
			if (is_escape(s, i, n)) {
				buf[k] =
				    (unsigned char)(se_hexval(s[i + 1]) << 4 | se_hexval(s[i + 2]));
				i += 3;
			} else {
				buf[k] = s[i++];
			}
		}
		s = buf;
		n = k;
	}
	const char *c = (const char *)s;
	switch (n) {
	case 2:
		return se_ieq_letters(c, "lr", 2) ? PN_LR : PN_OTHER;
	case 3:
		return se_ieq_letters(c, "ttl", 3) ? PN_TTL : PN_OTHER;
	case 4:
		return se_ieq_letters(c, "user", 4) ? PN_USER : PN_OTHER;
	case 5:
		return se_ieq_letters(c, "maddr", 5) ? PN_MADDR : PN_OTHER;
	case 6:
		return se_ieq_letters(c, "method", 6) ? PN_METHOD : PN_OTHER;
	case 9:
		return se_ieq_letters(c, "transport", 9) ? PN_TRANSPORT : PN_OTHER;
	default:
		return PN_OTHER;
	}
}

/* What to blame when a component stops at an unexpected character: a
 * character that could belong to a URI (or is UTF-8, as in a mistyped
 * host) means the component itself is malformed; anything else (space,
 * '>', '"', CR, a control) is text after the URI. */
static const char *stop_why(const unsigned char *b, uint32_t p, const char *component)
{
	return (b[p] >= 0x80 || se_is(b[p], SE_C_URIC)) ? component : "trailing characters";
}

static bool all_token(const unsigned char *b, uint32_t p, uint32_t end)
{
	return se_span((const char *)b, p, end, SE_C_TOKEN) >= end;
}

/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" (RFC 3986 §3.1),
 * case-insensitive. On success *p is past the ':'. */
static const char *parse_scheme(const unsigned char *b, uint32_t *p, uint32_t end, struct se_uri *u)
{
	uint32_t s = *p, q = s;
	/* nearly every URI a proxy reads is sip: (or sips:), any case: one
	 * word compare, the letters folded (only 'S', 'I', 'P' fold onto
	 * 's', 'i', 'p'; the ':' is compared as is) */
	if (end - s >= 5) {
		uint32_t w, sip, fold;
		memcpy(&w, b + s, 4);
		memcpy(&sip, "sip:", 4);
		memcpy(&fold, "\x20\x20\x20\x00", 4);
		if ((w | fold) == sip) {
			u->scheme = SE_URI_SIP;
			*p = s + 4;
			return NULL;
		}
		memcpy(&sip, "sips", 4);
		memcpy(&fold, "\x20\x20\x20\x20", 4);
		if ((w | fold) == sip && b[s + 4] == ':') {
			u->scheme = SE_URI_SIPS;
			*p = s + 5;
			return NULL;
		}
	}
	if (q >= end || !se_is(b[q], SE_C_ALNUM) || se_is(b[q], SE_C_DIGIT))
		return "bad scheme";
	while (q < end && (se_is(b[q], SE_C_ALNUM) || b[q] == '+' || b[q] == '-' || b[q] == '.'))
		q++;
	if (q >= end || b[q] != ':')
		return "bad scheme";
	if (ieq(b + s, q - s, "sip", 3))
		u->scheme = SE_URI_SIP;
	else if (ieq(b + s, q - s, "sips", 4))
		u->scheme = SE_URI_SIPS;
	else if (ieq(b + s, q - s, "tel", 3))
		u->scheme = SE_URI_TEL;
	else
		u->scheme = SE_URI_OTHER;
	*p = q + 1;
	return NULL;
}

/* userinfo = user [ ":" password ] "@", the '@' at offset `at`. The user is
 * 1*( unreserved / escaped / user-unreserved ), which covers the escaped
 * form of telephone-subscriber that §25.1 requires. */
static const char *parse_userinfo(const unsigned char *b, uint32_t p, uint32_t at, struct se_uri *u)
{
	bool esc = false;
	uint32_t q = span_esc(b, p, at, SE_C_USER, &esc);
	if (q == p)
		return "bad user";
	u->user = (struct se_range){p, q - p};
	if (q < at && b[q] == ':') {
		uint32_t r = span_esc(b, q + 1, at, SE_C_PASSWD, &esc);
		if (r != at)
			return "bad user";
		u->password = (struct se_range){q + 1, r - q - 1};
		u->flags |= SE_URI_F_PASSWORD;
	} else if (q != at) {
		return "bad user";
	}
	u->flags |= SE_URI_F_USER;
	if (esc)
		u->flags |= SE_URI_F_ESCAPED;
	return NULL;
}

/* hostport = host [ ":" port ]; port is 1*DIGIT, and we refuse what does
 * not fit 16 bits rather than wrap it. */
static const char *parse_hostport(const unsigned char *b, uint32_t *pp, uint32_t end,
                                  struct se_uri *u)
{
	const char *cb = (const char *)b;
	uint32_t p = *pp, q = p;
	if (q < end && b[q] == '[') {
		q++;
		while (q < end && (se_is(b[q], SE_C_HEX) || b[q] == ':' || b[q] == '.'))
			q++;
		if (q >= end || b[q] != ']')
			return "bad IPv6 reference";
		q++;
		if (se_host_check(cb, p, q, 1) != SE_HOST_IPV6) /* host.c forgives RFC 5118 §4.10 */
			return "bad IPv6 reference";
		u->host_type = SE_HOST_IPV6;
	} else {
		int t;
		q = se_host_scan(cb, p, end, &t);
		if (q == p)
			return p < end ? stop_why(b, p, "bad host") : "bad host";
		if (t == SE_HOST_NONE)
			return "bad host";
		u->host_type = (uint8_t)t;
	}
	u->host = (struct se_range){p, q - p};
	if (q < end && b[q] == ':') {
		uint32_t s = ++q, port = 0;
		while (q < end && se_is(b[q], SE_C_DIGIT)) {
			port = port * 10 + (uint32_t)(b[q++] - '0');
			if (port > 65535)
				return "bad port";
		}
		if (q == s)
			return q < end ? stop_why(b, q, "bad port") : "bad port";
		u->port = (uint16_t)port;
		u->flags |= SE_URI_F_PORT;
		if (q < end && b[q] != ';' && b[q] != '?')
			return stop_why(b, q, "bad port");
	} else if (q < end && b[q] != ';' && b[q] != '?') {
		return stop_why(b, q, "bad host");
	}
	*pp = q;
	return NULL;
}

/* Check a well-known parameter's value against its rule and record it. A
 * second occurrence is refused: ";transport=udp;transport=tcp" has no one
 * meaning, and §19.1.4 comparison assumes one value. */
static const char *sip_param_known(const unsigned char *b, enum uri_pname kind, uint32_t vs,
                                   uint32_t ve, struct se_uri *u)
{
	struct se_range *slot;
	switch (kind) {
	case PN_LR:
		/* "lr=on" came from pre-RFC 3261 drafts and is still sent. */
		u->flags |= SE_URI_F_LR;
		return NULL;
	case PN_TRANSPORT:
		slot = &u->transport;
		break;
	case PN_USER:
		slot = &u->user_param;
		break;
	case PN_METHOD:
		slot = &u->method;
		break;
	case PN_TTL:
		slot = &u->ttl;
		break;
	case PN_MADDR:
		slot = &u->maddr;
		break;
	default:
		return NULL;
	}
	if (vs == ve || slot->len != 0)
		return "bad parameter";
	if (kind == PN_TTL) {
		/* ttl = 1*3DIGIT, 0 to 255 */
		uint32_t v = 0;
		if (ve - vs > 3)
			return "bad parameter";
		for (uint32_t i = vs; i < ve; i++) {
			if (!se_is(b[i], SE_C_DIGIT))
				return "bad parameter";
			v = v * 10 + (uint32_t)(b[i] - '0');
		}
		if (v > 255)
			return "bad parameter";
	} else if (kind == PN_MADDR) {
		if (se_host_check((const char *)b, vs, ve, 1) == SE_HOST_NONE)
			return "bad parameter";
	} else if (!all_token(b, vs, ve)) {
		/* transport, user and method values are tokens */
		return "bad parameter";
	}
	*slot = (struct se_range){vs, ve - vs};
	return NULL;
}

/* uri-parameters = *( ";" pname [ "=" pvalue ] ), pname and pvalue
 * 1*paramchar; *pp is at the first ';'. */
static const char *parse_sip_params(const unsigned char *b, uint32_t *pp, uint32_t end,
                                    struct se_uri *u)
{
	uint32_t p = *pp, count = 0;
	u->params.off = p + 1;
	while (p < end && b[p] == ';') {
		if (++count > URI_MAX_PARAMS)
			return "too many parameters";
		bool esc = false;
		uint32_t ns = p + 1;
		p = span_esc(b, ns, end, SE_C_PARAM, &esc);
		if (p == ns)
			return p < end ? stop_why(b, p, "bad parameter") : "bad parameter";
		enum uri_pname kind = uri_pname(b + ns, p - ns, esc);
		uint32_t vs = p, ve = p;
		if (p < end && b[p] == '=') {
			bool vesc = false;
			vs = p + 1;
			ve = p = span_esc(b, vs, end, SE_C_PARAM, &vesc);
			if (ve == vs)
				return "bad parameter";
		}
		if (p < end && b[p] != ';' && b[p] != '?')
			return stop_why(b, p, "bad parameter");
		if (kind != PN_OTHER) {
			const char *why = sip_param_known(b, kind, vs, ve, u);
			if (why)
				return why;
		}
	}
	u->params.len = p - u->params.off;
	*pp = p;
	return NULL;
}

/* headers = "?" header *( "&" header ); header = hname "=" hvalue, hname
 * 1*( hnv-unreserved / unreserved / escaped ), hvalue the same but may be
 * empty. *pp is at the '?'. */
static const char *parse_headers(const unsigned char *b, uint32_t *pp, uint32_t end,
                                 struct se_uri *u)
{
	uint32_t p = *pp + 1, count = 0;
	bool esc = false;
	u->headers.off = p;
	for (;;) {
		if (++count > URI_MAX_HEADERS)
			return "too many headers";
		uint32_t ns = p;
		p = span_esc(b, ns, end, SE_C_HNV, &esc);
		if (p == ns || p >= end || b[p] != '=')
			return p < end ? stop_why(b, p, "bad header") : "bad header";
		p = span_esc(b, p + 1, end, SE_C_HNV, &esc);
		if (p >= end)
			break;
		if (b[p] != '&')
			return stop_why(b, p, "bad header");
		p++;
	}
	u->headers.len = p - u->headers.off;
	*pp = p;
	return NULL;
}

/* SIP-URI / SIPS-URI after "sip:" or "sips:". */
static const char *parse_sip(const unsigned char *b, uint32_t p, uint32_t end, struct se_uri *u)
{
	const char *why;
	/*
	 * userinfo ends at the only '@' a well-formed SIP URI can hold: '@' is
	 * neither a paramchar nor a header character, so the first '@' is the
	 * userinfo delimiter or the URI is bad either way. A search for it is
	 * faster than any per-character guess about where the user ends.
	 */
	uint32_t a = se_find((const char *)b, p, end, '@');
	if (a < end) {
		why = parse_userinfo(b, p, a, u);
		if (why)
			return why;
		p = a + 1;
	}
	why = parse_hostport(b, &p, end, u);
	if (why)
		return why;
	if (p < end && b[p] == ';') {
		why = parse_sip_params(b, &p, end, u);
		if (why)
			return why;
	}
	if (p < end && b[p] == '?') {
		why = parse_headers(b, &p, end, u);
		if (why)
			return why;
	}
	return p == end ? NULL : "trailing characters";
}

static inline bool is_visual(unsigned char c)
{
	return c == '-' || c == '.' || c == '(' || c == ')';
}

/* global-number-digits = "+" *phonedigit DIGIT *phonedigit, from b[p] ==
 * '+'. Returns the end, which is p when there is no digit at all. */
static uint32_t tel_global_digits(const unsigned char *b, uint32_t p, uint32_t end)
{
	uint32_t s = p, q = p + 1;
	bool digit = false;
	for (; q < end; q++) {
		if (se_is(b[q], SE_C_DIGIT))
			digit = true;
		else if (!is_visual(b[q]))
			break;
	}
	return digit ? q : s;
}

/* isub = 1*uric (RFC 3966 §3); uric holds ';', which would end the
 * parameter, so an isub value stops there like any other. */
static uint32_t tel_isub_end(const unsigned char *b, uint32_t p, uint32_t end)
{
	bool esc = false;
	for (;;) {
		p = span_esc(b, p, end, SE_C_PARAM, &esc);
		if (p < end && (b[p] == '?' || b[p] == '@' || b[p] == '=' || b[p] == ','))
			p++;
		else
			return p;
	}
}

/* One tel: par, from after its ';'. */
static const char *tel_param(const unsigned char *b, uint32_t *pp, uint32_t end, bool *context)
{
	uint32_t ns = *pp, p = ns;
	while (p < end && (se_is(b[p], SE_C_ALNUM) || b[p] == '-'))
		p++;
	if (p == ns)
		return "bad parameter";
	enum tel_pname kind = TP_OTHER;
	if (ieq(b + ns, p - ns, "phone-context", 13))
		kind = TP_CONTEXT;
	else if (ieq(b + ns, p - ns, "ext", 3))
		kind = TP_EXT;
	else if (ieq(b + ns, p - ns, "isub", 4))
		kind = TP_ISUB;
	if (p < end && b[p] == '=') {
		uint32_t vs = ++p;
		bool esc = false;
		switch (kind) {
		case TP_CONTEXT:
			/* descriptor = domainname / global-number-digits */
			if (p < end && b[p] == '+') {
				p = tel_global_digits(b, p, end);
			} else {
				while (p < end && se_is(b[p], SE_C_HOST))
					p++;
				if (p > vs &&
				    se_host_check((const char *)b, vs, p, 1) != SE_HOST_NAME)
					p = vs;
			}
			if (*context)
				return "bad parameter";
			*context = true;
			break;
		case TP_EXT: /* 1*phonedigit */
			while (p < end && (se_is(b[p], SE_C_DIGIT) || is_visual(b[p])))
				p++;
			break;
		case TP_ISUB:
			p = tel_isub_end(b, p, end);
			break;
		default:
			p = span_esc(b, p, end, SE_C_PARAM, &esc);
			break;
		}
		if (p == vs)
			return "bad parameter";
	} else if (kind != TP_OTHER) {
		return "bad parameter";
	}
	*pp = p;
	return NULL;
}

/* telephone-subscriber = global-number / local-number (RFC 3966 §3). The
 * number goes to u->user as written, visual separators and all: §4
 * comparison skips them, and routing code may want them as sent. */
static const char *parse_tel(const unsigned char *b, uint32_t p, uint32_t end, struct se_uri *u)
{
	uint32_t s = p;
	bool global = p < end && b[p] == '+';
	if (global) {
		p = tel_global_digits(b, p, end);
		if (p == s)
			return "bad tel number";
	} else {
		/* local-number-digits = *phonedigit-hex (HEXDIG / "*" / "#")
		 * *phonedigit-hex */
		bool digit = false;
		for (; p < end; p++) {
			if (se_is(b[p], SE_C_HEX) || b[p] == '*' || b[p] == '#')
				digit = true;
			else if (!is_visual(b[p]))
				break;
		}
		if (!digit)
			return p < end ? stop_why(b, p, "bad tel number") : "bad tel number";
	}
	u->user = (struct se_range){s, p - s};
	if (p < end && b[p] != ';')
		return stop_why(b, p, "bad tel number");
	bool context = false;
	uint32_t count = 0;
	if (p < end) {
		u->params.off = p + 1;
		while (p < end && b[p] == ';') {
			if (++count > URI_MAX_PARAMS)
				return "too many parameters";
			p++;
			const char *why = tel_param(b, &p, end, &context);
			if (why)
				return why;
		}
		u->params.len = p - u->params.off;
		if (p < end)
			return stop_why(b, p, "bad parameter");
	}
	/* local-number = local-number-digits *par context *par */
	if (!global && !context)
		return "bad tel number";
	return NULL;
}

/* absoluteURI: after "scheme:", one or more uric (RFC 3986 unreserved,
 * reserved, and valid escapes). Kept raw in u->whole. */
static const char *parse_other(const unsigned char *b, uint32_t p, uint32_t end)
{
	if (p == end)
		return "bad URI";
	while (p < end) {
		if (b[p] == '%') {
			if (!is_escape(b, p, end))
				return "bad URI";
			p += 3;
		} else if (se_is(b[p], SE_C_URIC)) {
			p++;
		} else {
			return stop_why(b, p, "bad URI");
		}
	}
	return NULL;
}

int se_uri_parse(const char *base, uint32_t off, uint32_t len, struct se_uri *u, const char **why)
{
	const unsigned char *b = (const unsigned char *)base;
	const char *w;
	if (len > UINT32_MAX - off) {
		if (why)
			*why = "bad argument";
		return SE_EINVAL;
	}
	uint32_t p = off, end = off + len;
	/* a copy of a zero struct compiles to a few vector moves, where a
	 * memset() of this size became "rep stos", an instruction per word */
	static const struct se_uri zero;
	*u = zero;
	u->whole = (struct se_range){off, len};
	w = parse_scheme(b, &p, end, u);
	if (!w) {
		switch (u->scheme) {
		case SE_URI_SIP:
		case SE_URI_SIPS:
			w = parse_sip(b, p, end, u);
			break;
		case SE_URI_TEL:
			w = parse_tel(b, p, end, u);
			break;
		default:
			w = parse_other(b, p, end);
			break;
		}
	}
	if (w) {
		if (why)
			*why = w;
		return SE_EPARSE;
	}
	return 0;
}

bool se_uri_param(const char *base, const struct se_uri *u, const char *name, struct se_range *val)
{
	const unsigned char *b = (const unsigned char *)base;
	uint32_t p = u->params.off, end = u->params.off + u->params.len;
	while (p < end) {
		uint32_t ns = p;
		while (p < end && b[p] != ';' && b[p] != '=')
			p++;
		uint32_t ne = p, vs = p;
		if (p < end && b[p] == '=') {
			vs = ++p;
			while (p < end && b[p] != ';')
				p++;
		}
		if (ieq_decoded(b + ns, ne - ns, name)) {
			if (val)
				*val = (struct se_range){vs, p - vs};
			return true;
		}
		p++; /* the ';' */
	}
	return false;
}

uint16_t se_uri_port(const char *base, const struct se_uri *u)
{
	if (u->flags & SE_URI_F_PORT)
		return u->port;
	if (u->scheme == SE_URI_SIPS)
		return 5061;
	/* RFC 3263 §4.2: TLS defaults to 5061 whatever the scheme */
	if (u->transport.len &&
	    ieq_decoded((const unsigned char *)base + u->transport.off, u->transport.len, "tls"))
		return 5061;
	return 5060;
}
