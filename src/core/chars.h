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

#ifdef __SSE2__
/*
 * The SSE2 "is a digit" and "is a letter or digit" tests, a byte per lane
 * (0xff or 0). SSE2 compares bytes as signed numbers only: a byte >= 0x80
 * is negative, so below '0' and 'a' and refused by the lower bound with
 * no test of its own (x | 0x20 leaves bit 7 alone, so they stay negative).
 * x | 0x20 is the lower case of a letter and lands in 'a'..'z' (0x61-0x7a)
 * only from there or from 'A'..'Z' (0x41-0x5a): it sets one bit, and only
 * those two ranges differ from 'a'..'z' by at most that bit. So one range
 * test on x | 0x20 finds the letters of both cases and nothing else ('@'
 * and '[' fold to '`' and '{', just outside).
 */
static inline __m128i se_sse_digit(__m128i x)
{
	return _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)),
			     _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
}

static inline __m128i se_sse_alnum(__m128i x)
{
	__m128i low = _mm_or_si128(x, _mm_set1_epi8(0x20));
	__m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(low, _mm_set1_epi8('a' - 1)),
				      _mm_cmplt_epi8(low, _mm_set1_epi8('z' + 1)));
	return _mm_or_si128(se_sse_digit(x), alpha);
}
#endif

/*
 * The classes se_span_long() may be given: each holds every alphanumeric,
 * '-' and '.' (SE_C_HOST), which the sixteen-byte step takes without
 * looking at the class. chars.c checks that of the table at compile time,
 * and se_span_long() refuses at compile time any other class.
 */
#define SE_SPAN_LONG_CLASSES (SE_C_TOKEN | SE_C_WORD | SE_C_GVAL)

/*
 * se_span() for runs that are often long (branch values, Call-IDs):
 * sixteen bytes at a time while they are all alphanumerics, '-' or '.',
 * the bulk of such runs, then se_span() for the rest. Only correct for a
 * class that holds all of those: one of SE_SPAN_LONG_CLASSES, which the
 * macro of the same name below enforces. Without SSE2 it is se_span().
 */
static inline uint32_t se_span_long(const char *b, uint32_t p, uint32_t end, uint16_t cls)
{
#ifdef __SSE2__
	while (p < end && end - p >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + p));
		__m128i mark = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('-')),
					    _mm_cmpeq_epi8(x, _mm_set1_epi8('.')));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(se_sse_alnum(x), mark));
		if (m != 0xffff) {
			p += (uint32_t)__builtin_ctz(~m);
			break;
		}
		p += 16;
	}
#endif
	return se_span(b, p, end, cls);
}

/* Every call names its class as a constant; one that is not a (non-empty)
 * combination of SE_SPAN_LONG_CLASSES fails the build here. The macro does
 * not expand inside itself, so the inner name is the function. */
#define se_span_long(b, p, end, cls)                                                        \
	((void)sizeof(struct {                                                              \
		 _Static_assert((cls) != 0 && ((cls) & ~SE_SPAN_LONG_CLASSES) == 0,         \
				"se_span_long(): class must hold alphanumerics, '-' and '.'"); \
		 char ok;                                                                   \
	 }),                                                                                \
	 se_span_long((b), (p), (end), (cls)))

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
 * lower-case letter, so this is strncasecmp() without the call. A digit,
 * '-', '+' or '.' in lit also matches a control byte (0x20 below it): fine
 * where b has been checked to hold none, as in uri.c's ieq(). This is the
 * one such compare; hdr_name_ieq() (hdr_int.h) is its header-name form. */
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
