/*
 * Host syntax shared by Via sent-by, Via received/maddr and URI hosts:
 * hostname, IPv4address and IPv6reference (RFC 3261 §25.1 with the
 * RFC 5954 corrections to IPv6address). Internal to libsipedge-core.
 */
#ifndef SE_CORE_HOST_H
#define SE_CORE_HOST_H

#include <sipedge/uri.h>

#include <stdbool.h>
#include <stdint.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "chars.h"

/* Classify and validate b[p, end) as a whole host. Returns the
 * enum se_host_type, or SE_HOST_NONE if it is not a valid host.
 * `bracketed`: an IPv6 address must be in brackets (a reference). */
int se_host_check(const char *b, uint32_t p, uint32_t end, int bracketed);

/* Validate b[p, end) as an IPv6address (no brackets), RFC 5954 §4.1. */
int se_host_ipv6(const char *b, uint32_t p, uint32_t end);
/* Validate b[p, end) as an IPv4address: four decimal octets 0..255. */
int se_host_ipv4(const char *b, uint32_t p, uint32_t end);

/*
 * se_host_scan() and its helpers are inline: URI hosts and Via sent-by are
 * read on every message, and for a dotted quad or a short name the call
 * itself was a fair share of the work.
 */

#ifdef __SSE2__
/* b[s, s + n), 1 to 3 digits, is at most 255. */
static inline bool host_octet_ok(const unsigned char *u, uint32_t s, unsigned n)
{
	return n < 3 || u[s] < '2' ||
	       (u[s] == '2' && (u[s + 1] < '5' || (u[s + 1] == '5' && u[s + 2] <= '5')));
}

/* host_quad_run() for the common case of sixteen readable bytes from p, which
 * a quad and the byte after it always fit in: the digits and dots are
 * found for all sixteen at once. Returns 0 whenever unsure (host_quad_run()
 * then decides), never a different end than host_quad_run() would. */
static inline uint32_t host_quad_sse(const unsigned char *u, uint32_t p, uint32_t end)
{
	if (end - p < 16)
		return 0;
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(u + p));
	__m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)),
				      _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
	unsigned dots = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('.')));
	unsigned both = (unsigned)_mm_movemask_epi8(digit) | dots;
	unsigned run = (unsigned)__builtin_ctz(~both); /* < 16: a quad is at most 15 */
	if (run >= 16 || se_is(u[p + run], SE_C_HOST))
		return 0;
	/* exactly three dots in the run; bits 16-18 are sentinels, so that
	 * each count of trailing zeros has a bit to find, and with fewer
	 * dots some sentinel is consumed */
	dots = (dots & ((1u << run) - 1)) | 0x70000;
	unsigned d1 = (unsigned)__builtin_ctz(dots);
	dots &= dots - 1;
	unsigned d2 = (unsigned)__builtin_ctz(dots);
	dots &= dots - 1;
	unsigned d3 = (unsigned)__builtin_ctz(dots);
	dots &= dots - 1;
	if (dots != 0x70000)
		return 0;
	/* four parts of 1 to 3 digits each (n - 1 <= 2 also refuses n == 0) */
	unsigned n1 = d1, n2 = d2 - d1 - 1, n3 = d3 - d2 - 1, n4 = run - d3 - 1;
	if (n1 - 1 > 2 || n2 - 1 > 2 || n3 - 1 > 2 || n4 - 1 > 2)
		return 0;
	if (!host_octet_ok(u, p, n1) || !host_octet_ok(u, p + d1 + 1, n2) ||
	    !host_octet_ok(u, p + d2 + 1, n3) || !host_octet_ok(u, p + d3 + 1, n4))
		return 0;
	return p + run;
}
#endif

/* A dotted quad from p that the host run ends right after, or 0: the
 * common numeric host, read without any bookkeeping. */
static inline uint32_t host_quad_run(const unsigned char *u, uint32_t p, uint32_t end)
{
#ifdef __SSE2__
	uint32_t q = host_quad_sse(u, p, end);
	if (q)
		return q;
#endif
	for (int part = 0;; part++) {
		uint32_t s = p;
		unsigned v = 0;
		while (p < end && p - s < 3 && (unsigned)(u[p] - '0') <= 9)
			v = v * 10 + (unsigned)(u[p++] - '0');
		if (p == s || v > 255)
			return 0;
		if (part == 3)
			return p == end || !se_is(u[p], SE_C_HOST) ? p : 0;
		if (p >= end || u[p] != '.')
			return 0;
		p++;
	}
}

#ifdef __SSE2__
/*
 * The start of a hostname that begins with a letter, sixteen bytes at a
 * time: alphanumerics and '.' are classified at once, and an empty label
 * is a '.' right after a '.'. Stops at the run's end (*done set), at a
 * '-' (*dash set; the general check takes over), or where fewer than
 * sixteen bytes are left; then returns the offset reached, always at a
 * label start or inside a label (never right after its '.'), and sets
 * *empty for an empty label seen so far.
 */
static inline uint32_t host_name_sse(const unsigned char *u, uint32_t q, uint32_t end,
				     bool *empty, bool *dash, bool *done)
{
	uint32_t start = q;
	unsigned prev_dot = 0;
	while (end - q >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(u + q));
		__m128i low = _mm_or_si128(x, _mm_set1_epi8(0x20));
		__m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)),
					      _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
		__m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(low, _mm_set1_epi8('a' - 1)),
					      _mm_cmplt_epi8(low, _mm_set1_epi8('z' + 1)));
		unsigned dots = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('.')));
		unsigned dashes = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('-')));
		unsigned name = (unsigned)_mm_movemask_epi8(_mm_or_si128(digit, alpha)) | dots;
		unsigned run = (unsigned)__builtin_ctz(~name); /* 16 when all are */
		unsigned in = run < 16 ? (1u << run) - 1 : 0xffff;
		dots &= in;
		if (dots & ((dots << 1) | prev_dot))
			*empty = true;
		if (run < 16 && (dashes >> run) & 1) {
			*dash = true;
			return q;
		}
		if (run < 16) {
			*done = true;
			return q + run;
		}
		prev_dot = dots >> 15;
		q += 16;
	}
	/* the caller goes on label by label: after a chunk that ended inside
	 * a label, a '.' here ends that label, which is not empty */
	if (!prev_dot && q > start && q < end && u[q] == '.')
		q++;
	return q;
}
#endif

/*
 * The run of hostname characters (alphanum, '-', '.') from p: returns its
 * end q and sets *type to what se_host_check(b, p, q, 1) says of it, in
 * one pass. Reading each host twice (once to find its end, once to
 * validate it) was a measurable share of the parse. The two common shapes
 * are read directly: a dotted quad, and a name that starts with a letter
 * (so is not all digits) and has no '-', whose labels then only need to be
 * non-empty. Anything else (a '-', a leading digit that is not a quad)
 * goes to the general check.
 */
static inline uint32_t se_host_scan(const char *b, uint32_t p, uint32_t end, int *type)
{
	const unsigned char *u = (const unsigned char *)b;
	uint32_t q;
	bool empty = false; /* an empty label before the last */
	if (p < end && (unsigned)(u[p] - '0') <= 9 && (q = host_quad_run(u, p, end))) {
		*type = SE_HOST_IPV4;
		return q;
	}
	if (p >= end || !se_is(u[p], SE_C_ALNUM) || se_is(u[p], SE_C_DIGIT))
		goto general;
	q = p;
#ifdef __SSE2__
	bool dash = false, done = false;
	q = host_name_sse(u, p, end, &empty, &dash, &done);
	if (dash)
		goto general;
	if (done)
		goto name;
#endif
	for (;;) {
		uint32_t s = q;
		q = se_span(b, q, end, SE_C_ALNUM);
		if (q < end && b[q] == '.') {
			empty |= q == s;
			q++;
			continue;
		}
		if (q < end && b[q] == '-')
			goto general;
		break;
	}
#ifdef __SSE2__
name:
#endif
	/* a final empty label is one trailing '.', which is allowed */
	*type = empty ? SE_HOST_NONE : SE_HOST_NAME;
	return q;
general:
	q = se_span(b, p, end, SE_C_HOST);
	*type = q == p ? SE_HOST_NONE : se_host_check(b, p, q, 1);
	return q;
}

#endif
