/*
 * URI equivalence: RFC 3261 §19.1.4 for sip: and sips: (with RFC 5954 §4:
 * IP addresses compare by value, not by spelling), RFC 3966 §4 for tel:.
 * Any other scheme compares byte for byte, since we do not know its rules.
 *
 * Nothing is decoded into a buffer: both texts are walked side by side,
 * each "%HH" read as the character it stands for. Proxies compare URIs to
 * decide whether a Route names them, whether a request loops, whether two
 * Contacts are one binding, so the answer must not depend on how a
 * sender chose to escape or to order parameters.
 */
#include <sipedge/uri.h>

#include <string.h>

#include "chars.h"

/* A unit of comparison that stands for an escaped reserved character:
 * §19.1.4 makes "%HH" equal to its character except for the RFC 2396
 * reserved set, where the escape keeps the character from acting as a
 * delimiter and so means something else than the bare character. */
#define UNIT_ESCAPED_RESERVED 0x100u

struct text {
	const unsigned char *s;
	uint32_t n;
};

static inline struct text text_of(const char *base, struct se_range r)
{
	return (struct text){(const unsigned char *)base + r.off, r.len};
}

static inline unsigned lc(unsigned c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static bool is_reserved_2396(unsigned c)
{
	switch (c) {
	case ';':
	case '/':
	case '?':
	case ':':
	case '@':
	case '&':
	case '=':
	case '+':
	case '$':
	case ',':
		return true;
	default:
		return false;
	}
}

/* The next unit of t from *i: a byte, escapes decoded, folded to lower
 * case when `fold`. */
static unsigned unit_next(struct text t, uint32_t *i, bool fold)
{
	unsigned c = t.s[*i];
	if (c == '%' && t.n - *i >= 3 && se_hexval(t.s[*i + 1]) >= 0 &&
	    se_hexval(t.s[*i + 2]) >= 0) {
		c = (unsigned)(se_hexval(t.s[*i + 1]) << 4 | se_hexval(t.s[*i + 2]));
		*i += 3;
		if (is_reserved_2396(c))
			return UNIT_ESCAPED_RESERVED | c;
	} else {
		(*i)++;
	}
	return fold ? lc(c) : c;
}

static bool text_eq(struct text a, struct text b, bool fold)
{
	if (a.n == b.n && memcmp(a.s, b.s, a.n) == 0)
		return true; /* the common case: spelled the same */
	uint32_t i = 0, j = 0;
	while (i < a.n && j < b.n)
		if (unit_next(a, &i, fold) != unit_next(b, &j, fold))
			return false;
	return i == a.n && j == b.n;
}

static inline bool is_visual(unsigned char c)
{
	return c == '-' || c == '.' || c == '(' || c == ')';
}

/* RFC 3966 §4: numbers are equal digit by digit once visual separators
 * are dropped; hex digits of local numbers compare case-insensitively. */
static bool digits_eq(struct text a, struct text b)
{
	uint32_t i = 0, j = 0;
	for (;;) {
		while (i < a.n && is_visual(a.s[i]))
			i++;
		while (j < b.n && is_visual(b.s[j]))
			j++;
		if (i == a.n || j == b.n)
			return i == a.n && j == b.n;
		if (lc(a.s[i]) != lc(b.s[j]))
			return false;
		i++;
		j++;
	}
}

/* ---- addresses ---------------------------------------------------- */

/* Four decimal octets, as validated by the parser (host.c). */
static bool ipv4_bytes(struct text t, uint8_t out[4])
{
	uint32_t i = 0;
	for (int k = 0; k < 4; k++) {
		if (k) {
			if (i >= t.n || t.s[i] != '.')
				return false;
			i++;
		}
		unsigned v = 0, digits = 0;
		while (i < t.n && t.s[i] >= '0' && t.s[i] <= '9' && digits < 3) {
			v = v * 10 + (unsigned)(t.s[i++] - '0');
			digits++;
		}
		if (!digits || v > 255)
			return false;
		out[k] = (uint8_t)v;
	}
	return i == t.n;
}

/* IPv6address text (no brackets) to its 16 bytes, so that "[::1]" and
 * "[0:0:0:0:0:0:0:1]" are one host (RFC 5954 §4). Like the parser, it
 * reads RFC 5118 §4.10's ":::" before an embedded IPv4 address as "::". */
static bool ipv6_bytes(struct text t, uint8_t out[16])
{
	uint16_t head[8], tail[8];
	unsigned nh = 0, nt = 0;
	bool dbl = false, need_v4 = false;
	uint32_t i = 0;
	if (t.n >= 2 && t.s[0] == ':' && t.s[1] == ':') {
		dbl = true;
		i = 2;
		if (i < t.n && t.s[i] == ':') {
			need_v4 = true;
			i++;
		}
	}
	while (i < t.n) {
		uint32_t s = i;
		unsigned v = 0;
		while (i < t.n && i - s < 4 && se_hexval(t.s[i]) >= 0)
			v = v << 4 | (unsigned)se_hexval(t.s[i++]);
		unsigned add = 1;
		uint16_t g[2] = {(uint16_t)v, 0};
		if (i < t.n && t.s[i] == '.') {
			uint8_t v4[4];
			if (!ipv4_bytes((struct text){t.s + s, t.n - s}, v4))
				return false;
			g[0] = (uint16_t)(v4[0] << 8 | v4[1]);
			g[1] = (uint16_t)(v4[2] << 8 | v4[3]);
			add = 2;
			i = t.n;
		} else if (i == s || need_v4) {
			return false;
		}
		if (nh + nt + add > 8)
			return false;
		for (unsigned k = 0; k < add; k++) {
			if (dbl)
				tail[nt++] = g[k];
			else
				head[nh++] = g[k];
		}
		if (i == t.n)
			break;
		if (t.s[i] != ':')
			return false;
		i++;
		if (i < t.n && t.s[i] == ':') {
			if (dbl)
				return false;
			dbl = true;
			i++;
			if (i < t.n && t.s[i] == ':') {
				need_v4 = true;
				i++;
			}
		}
	}
	if (!dbl && nh != 8)
		return false;
	memset(out, 0, 16);
	for (unsigned k = 0; k < nh; k++) {
		out[2 * k] = (uint8_t)(head[k] >> 8);
		out[2 * k + 1] = (uint8_t)head[k];
	}
	for (unsigned k = 0; k < nt; k++) {
		unsigned at = 8 - nt + k;
		out[2 * at] = (uint8_t)(tail[k] >> 8);
		out[2 * at + 1] = (uint8_t)tail[k];
	}
	return true;
}

/* Hosts: names case-insensitively, addresses by value. A name never
 * equals an address, even the one it resolves to (§19.1.4). */
static bool host_eq(const char *abase, const struct se_uri *a, const char *bbase,
                    const struct se_uri *b)
{
	struct text ta = text_of(abase, a->host), tb = text_of(bbase, b->host);
	if (a->host_type != b->host_type)
		return false;
	if (a->host_type == SE_HOST_IPV4) {
		uint8_t x[4], y[4];
		if (ipv4_bytes(ta, x) && ipv4_bytes(tb, y))
			return memcmp(x, y, sizeof(x)) == 0;
	} else if (a->host_type == SE_HOST_IPV6 && ta.n >= 2 && tb.n >= 2) {
		uint8_t x[16], y[16];
		if (ipv6_bytes((struct text){ta.s + 1, ta.n - 2}, x) &&
		    ipv6_bytes((struct text){tb.s + 1, tb.n - 2}, y))
			return memcmp(x, y, sizeof(x)) == 0;
	}
	return text_eq(ta, tb, true);
}

/* ---- parameter and header lists ----------------------------------- */

struct item {
	struct text name, value;
};

/* Next "name[=value]" of a list separated by `sep`, from *pos. Names and
 * values never hold the separator (paramchar excludes ';', hvalue '&'). */
static bool item_next(struct text list, unsigned char sep, uint32_t *pos, struct item *it)
{
	uint32_t p = *pos;
	if (p >= list.n)
		return false;
	uint32_t ns = p;
	while (p < list.n && list.s[p] != sep && list.s[p] != '=')
		p++;
	it->name = (struct text){list.s + ns, p - ns};
	uint32_t vs = p;
	if (p < list.n && list.s[p] == '=') {
		vs = ++p;
		while (p < list.n && list.s[p] != sep)
			p++;
	}
	it->value = (struct text){list.s + vs, p - vs};
	*pos = p + 1;
	return true;
}

enum value_rule {
	VAL_FOLD,  /* uri-parameters: case-insensitive (§19.1.4) */
	VAL_EXACT, /* URI headers: their values are header field values */
	VAL_TEL,   /* tel: parameters, RFC 3966 §4 */
};

static bool value_eq(struct text name, struct text a, struct text b, enum value_rule rule)
{
	if (rule == VAL_EXACT)
		return text_eq(a, b, false);
	if (rule == VAL_TEL) {
		/* ext is phonedigits; phone-context a global number or a
		 * domain name: separators do not count in numbers only */
		static const char ext[] = "ext";
		bool is_ext = text_eq(name, (struct text){(const unsigned char *)ext, 3}, true);
		bool numeric = (a.n && a.s[0] == '+') || (b.n && b.s[0] == '+');
		if (is_ext || numeric)
			return digits_eq(a, b);
	}
	return text_eq(a, b, true);
}

/*
 * Whether every item of list a is matched in list b: an item of b with
 * the same name (case-insensitive) and an equal value. When `all` is
 * false an item whose name b does not have at all is ignored (§19.1.4
 * "other" uri-parameters); when true it is a mismatch (URI headers,
 * RFC 3966 parameters). Callers test both directions, which keeps the
 * relation symmetric even with repeated names. The parser bounds the
 * list lengths, which bounds this pairwise walk.
 */
static bool list_in(struct text a, struct text b, unsigned char sep, enum value_rule rule, bool all)
{
	uint32_t pa = 0;
	struct item x, y;
	while (item_next(a, sep, &pa, &x)) {
		bool named = false, matched = false;
		uint32_t pb = 0;
		while (!matched && item_next(b, sep, &pb, &y)) {
			if (!text_eq(x.name, y.name, true))
				continue;
			named = true;
			matched = value_eq(x.name, x.value, y.value, rule);
		}
		if (!matched && (named || all))
			return false;
	}
	return true;
}

static bool lists_eq(struct text a, struct text b, unsigned char sep, enum value_rule rule,
                     bool all)
{
	return list_in(a, b, sep, rule, all) && list_in(b, a, sep, rule, all);
}

/* ---- schemes ------------------------------------------------------ */

static bool sip_equal(const char *abase, const struct se_uri *a, const char *bbase,
                      const struct se_uri *b)
{
	/* a component given on one side only never matches, not even a port
	 * equal to the default or an empty password */
	const uint8_t present = SE_URI_F_USER | SE_URI_F_PASSWORD | SE_URI_F_PORT;
	if ((a->flags ^ b->flags) & present)
		return false;
	if ((a->flags & SE_URI_F_PORT) && a->port != b->port)
		return false;
	/* userinfo is case-sensitive */
	if (!text_eq(text_of(abase, a->user), text_of(bbase, b->user), false) ||
	    !text_eq(text_of(abase, a->password), text_of(bbase, b->password), false))
		return false;
	if (!host_eq(abase, a, bbase, b))
		return false;
	/* transport, user, ttl, method and maddr must match when either side
	 * has them; their values are never empty, so an absent one (len 0)
	 * equals only another absent one */
	const struct se_range *ra[] = {&a->transport, &a->user_param, &a->ttl, &a->method,
	                               &a->maddr};
	const struct se_range *rb[] = {&b->transport, &b->user_param, &b->ttl, &b->method,
	                               &b->maddr};
	for (size_t k = 0; k < sizeof(ra) / sizeof(ra[0]); k++)
		if (!text_eq(text_of(abase, *ra[k]), text_of(bbase, *rb[k]), true))
			return false;
	/* other parameters count when both sides have them */
	if (!lists_eq(text_of(abase, a->params), text_of(bbase, b->params), ';', VAL_FOLD, false))
		return false;
	/* headers are never ignored */
	return lists_eq(text_of(abase, a->headers), text_of(bbase, b->headers), '&', VAL_EXACT,
	                true);
}

static bool tel_equal(const char *abase, const struct se_uri *a, const char *bbase,
                      const struct se_uri *b)
{
	struct text na = text_of(abase, a->user), nb = text_of(bbase, b->user);
	/* both global ('+') or both local */
	if ((na.n && na.s[0] == '+') != (nb.n && nb.s[0] == '+'))
		return false;
	if (!digits_eq(na, nb))
		return false;
	/* every parameter must be in both */
	return lists_eq(text_of(abase, a->params), text_of(bbase, b->params), ';', VAL_TEL, true);
}

bool se_uri_equal(const char *abase, const struct se_uri *a, const char *bbase,
                  const struct se_uri *b)
{
	if (a->scheme != b->scheme)
		return false; /* and a sip URI never equals a sips one */
	switch (a->scheme) {
	case SE_URI_SIP:
	case SE_URI_SIPS:
		return sip_equal(abase, a, bbase, b);
	case SE_URI_TEL:
		return tel_equal(abase, a, bbase, b);
	default:
		return a->whole.len == b->whole.len &&
		       memcmp(abase + a->whole.off, bbase + b->whole.off, a->whole.len) == 0;
	}
}
