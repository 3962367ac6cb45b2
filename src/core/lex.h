/*
 * Lexing helpers shared by the message parsers (RFC 3261 §25.1 basic
 * rules): linear white space with line folding, SWS-separated punctuation,
 * tokens, quoted strings, decimal numbers. Every helper takes the current
 * offset and the end offset of the text it may read, returns the new
 * offset, and never reads at or past `end`. Internal to libsipedge-core.
 */
#ifndef SE_CORE_LEX_H
#define SE_CORE_LEX_H

#include <stdbool.h>
#include <stdint.h>

#include "chars.h"

/* Skip LWS: SP/HTAB, and CRLF or LF followed by SP/HTAB (a folded line). */
static inline uint32_t lex_lws(const char *b, uint32_t p, uint32_t end)
{
	/* Most calls find no white space at all: one test for them. Bytes
	 * above SP are neither SP, HTAB, CR nor LF. */
	if (p >= end || (unsigned char)b[p] > ' ')
		return p;
	for (;;) {
		while (p < end && (b[p] == ' ' || b[p] == '\t'))
			p++;
		if (p >= end || (unsigned char)b[p] > ' ')
			return p; /* not a line break: no folding to look at */
		uint32_t q = p;
		if (q < end && b[q] == '\r')
			q++;
		if (q < end && b[q] == '\n' && q + 1 < end && (b[q + 1] == ' ' || b[q + 1] == '\t')) {
			p = q + 1;
			continue;
		}
		return p;
	}
}

/* SWS c SWS: returns the offset after c and its trailing LWS, or 0 when the
 * next non-LWS character is not c (0 is never a valid position after a
 * character has been consumed, as values never start at offset 0). */
static inline uint32_t lex_sep(const char *b, uint32_t p, uint32_t end, char c)
{
	if (p < end && b[p] == c) { /* the common case: no LWS before c */
		p++;
		return p < end && (unsigned char)b[p] > ' ' ? p : lex_lws(b, p, end);
	}
	p = lex_lws(b, p, end);
	if (p >= end || b[p] != c)
		return 0;
	return lex_lws(b, p + 1, end);
}

static inline uint32_t lex_token(const char *b, uint32_t p, uint32_t end)
{
	return se_span(b, p, end, SE_C_TOKEN);
}

/* quoted-string starting at b[p] == '"': returns the offset after the
 * closing quote, or 0 if unterminated or holding a forbidden character.
 * quoted-pair may escape anything but CR and LF (RFC 3261 §25.1). */
static inline uint32_t lex_quoted(const char *b, uint32_t p, uint32_t end)
{
	p++;
	while (p < end) {
		p = se_span(b, p, end, SE_C_QDTEXT); /* the bulk of the text */
		if (p >= end)
			break;
		unsigned char c = (unsigned char)b[p];
		if (c == '"')
			return p + 1;
		if (c == '\\') {
			if (p + 1 >= end || b[p + 1] == '\r' || b[p + 1] == '\n')
				return 0;
			p += 2;
			continue;
		}
		if (c == ' ' || c == '\t') {
			p++;
			continue;
		}
		if (c == '\r' || c == '\n') {
			uint32_t q = lex_lws(b, p, end);
			if (q == p)
				return 0;
			p = q;
			continue;
		}
		return 0;
	}
	return 0;
}

/* gen-value = token / host / quoted-string (§25.1), as header parameters
 * carry it. Host includes IPv6 with or without brackets (received=
 * 2001:db8::1 is common), so ':' '[' ']' are accepted unquoted. Returns
 * the end offset, or 0 when there is no value. */
static inline uint32_t lex_gen_value(const char *b, uint32_t p, uint32_t end)
{
	if (p < end && b[p] == '"')
		return lex_quoted(b, p, end);
	uint32_t q = se_span_long(b, p, end, SE_C_GVAL);
	return q == p ? 0 : q;
}

/* 1*DIGIT into *out, saturating at `max`+1 so callers can refuse overflow
 * without it wrapping. Returns the offset after the digits (== p if none). */
static inline uint32_t lex_uint(const char *b, uint32_t p, uint32_t end, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	while (p < end && b[p] >= '0' && b[p] <= '9') {
		if (v <= max)
			v = v * 10 + (uint64_t)(b[p] - '0');
		p++;
	}
	*out = v > max ? max + 1 : v;
	return p;
}

#endif
