/*
 * Character classes of the SIP grammar (RFC 3261 §25.1, RFC 3986 for
 * absoluteURI), as one 256-entry table computed at compile time, and the
 * scans built on it (runs of a class, a byte's first occurrence, literal
 * names in any case), which every message runs many times over. Shared by
 * the message and URI parsers; internal to libsipedge-core. The SSE2
 * paths (every x86-64) only read inside [p, end) and have a portable
 * fallback.
 */
#ifndef SE_CORE_CHARS_H
#define SE_CORE_CHARS_H

#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

enum {
	SE_C_ALNUM = 1 << 0,  /* ALPHA / DIGIT */
	SE_C_MARK = 1 << 1,   /* - _ . ! ~ * ' ( ) */
	SE_C_TOKEN = 1 << 2,  /* token: alphanum - . ! % * _ + ` ' ~ */
	SE_C_USER = 1 << 3,   /* unreserved / user-unreserved (escapes apart) */
	SE_C_PASSWD = 1 << 4, /* unreserved / & = + $ , */
	SE_C_PARAM = 1 << 5,  /* unreserved / param-unreserved */
	SE_C_HNV = 1 << 6,    /* unreserved / hnv-unreserved */
	SE_C_WORD = 1 << 7,   /* word: token chars and ( ) < > : \ " / [ ] ? { } */
	SE_C_WS = 1 << 8,     /* SP / HTAB */
	SE_C_HEX = 1 << 9,    /* HEXDIG */
	SE_C_QDTEXT = 1 << 10, /* qdtext minus LWS: %x21 / %x23-5B / %x5D-7E / >= 0x80 */
	SE_C_HOST = 1 << 11,  /* hostname characters: alphanum - . */
	SE_C_URIC = 1 << 12,  /* RFC 3986 unreserved / reserved / '%' */
	SE_C_DIGIT = 1 << 13,
	SE_C_TEXT = 1 << 14,  /* TEXT-UTF8char and SP/HTAB: >= 0x20 except DEL, and HTAB */
	SE_C_GVAL = 1 << 15,  /* unquoted gen-value of a header param: token : [ ] */
};

extern const uint16_t se_chars[256];

static inline int se_is(unsigned char c, uint16_t cls)
{
	return (se_chars[c] & cls) != 0;
}

/* The end of the run of bytes of class `cls` from p, bounded by end. Runs
 * (names, hosts, tags, branches) are read on every message: unrolled by
 * four, a byte costs a load, a table test and a branch. */
static inline uint32_t se_span(const char *b, uint32_t p, uint32_t end, uint16_t cls)
{
	const unsigned char *s = (const unsigned char *)b + p, *e = (const unsigned char *)b + end;
	for (; e - s >= 4; s += 4) {
		if (!se_is(s[0], cls))
			return (uint32_t)(s - (const unsigned char *)b);
		if (!se_is(s[1], cls))
			return (uint32_t)(s + 1 - (const unsigned char *)b);
		if (!se_is(s[2], cls))
			return (uint32_t)(s + 2 - (const unsigned char *)b);
		if (!se_is(s[3], cls))
			return (uint32_t)(s + 3 - (const unsigned char *)b);
	}
	/* the last zero to three bytes before end */
	if (s < e) {
		if (!se_is(s[0], cls))
			return (uint32_t)(s - (const unsigned char *)b);
		if (e - s == 1 || !se_is(s[1], cls))
			return (uint32_t)(s + 1 - (const unsigned char *)b);
		if (e - s == 2 || !se_is(s[2], cls))
			return (uint32_t)(s + 2 - (const unsigned char *)b);
		s += 3;
	}
	return (uint32_t)(s - (const unsigned char *)b);
}

/*
 * se_span() for runs that are often long (branch values, Call-IDs):
 * sixteen bytes at a time while they are all alphanumerics, '-' or '.',
 * the bulk of such runs, then se_span() for the rest. Only for classes
 * that hold all of those (token, word, gen-value and the like); without
 * SSE2 it is se_span().
 */
static inline uint32_t se_span_long(const char *b, uint32_t p, uint32_t end, uint16_t cls)
{
#ifdef __SSE2__
	while (p < end && end - p >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + p));
		__m128i low = _mm_or_si128(x, _mm_set1_epi8(0x20));
		__m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)),
					      _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
		__m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(low, _mm_set1_epi8('a' - 1)),
					      _mm_cmplt_epi8(low, _mm_set1_epi8('z' + 1)));
		__m128i mark = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('-')),
					    _mm_cmpeq_epi8(x, _mm_set1_epi8('.')));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(digit, alpha), mark));
		if (m != 0xffff) {
			p += (uint32_t)__builtin_ctz(~m);
			break;
		}
		p += 16;
	}
#endif
	return se_span(b, p, end, cls);
}

/* The first c in b[p, end), or end. memchr() costs a call and a set-up
 * that dominate when c is near (a URI's '@'): with SSE2 the first sixteen
 * bytes are compared inline, and memchr() only does what is left. */
static inline uint32_t se_find(const char *b, uint32_t p, uint32_t end, char c)
{
#ifdef __SSE2__
	if (p < end && end - p >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + p));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(c)));
		if (m)
			return p + (uint32_t)__builtin_ctz(m);
		p += 16;
	}
#endif
	if (p >= end)
		return end;
	const char *f = memchr(b + p, c, end - p);
	return f ? (uint32_t)(f - b) : end;
}

/* b[0, n) is the literal lit (lower-case letters only) in any case. For a
 * letter, c | 0x20 is its lower case, and no other byte folds onto a
 * lower-case letter, so this is strncasecmp() without the call. */
static inline int se_ieq_letters(const char *b, const char *lit, uint32_t n)
{
	uint32_t i = 0;
	for (; i + 4 <= n; i += 4) { /* four at a time; lit folds to a constant */
		uint32_t x, y;
		memcpy(&x, b + i, 4);
		memcpy(&y, lit + i, 4);
		if ((x | 0x20202020u) != y)
			return 0;
	}
	for (; i < n; i++)
		if (((unsigned char)b[i] | 0x20) != (unsigned char)lit[i])
			return 0;
	return 1;
}

static inline int se_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

#endif
