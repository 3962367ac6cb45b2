/*
 * se_host_scan(): find where a host ends and check it in the same pass,
 * for URI hosts and Via sent-by, which every message reads (RFC 3261
 * §25.1 hostname and IPv4address). Reading each host twice (once to find
 * its end, once to validate it) was a measurable share of the parse.
 *
 * It is a faster reading of se_host_check() and hostname_check() in
 * host.c, which stay the one definition of a host: the two common shapes,
 * a dotted quad and a name with no '-', are read here directly (sixteen
 * bytes at a time with SSE2), and anything else is handed to
 * se_host_check(). A change to the hostname rule there must be made here
 * too; test_uri compares the two on generated hosts. Inline: for a dotted
 * quad or a short name the call itself was a fair share of the work.
 * Internal to libsipedge-core.
 */
#ifndef SE_CORE_HOST_SCAN_H
#define SE_CORE_HOST_SCAN_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "chars.h"
#include "host.h"

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
	unsigned dots = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('.')));
	unsigned both = (unsigned)_mm_movemask_epi8(se_sse_digit(x)) | dots;
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
/* Where host_name_sse() stopped. */
enum host_name_step {
	HOST_NAME_DONE,    /* the run ended, and no label before it is empty */
	HOST_NAME_GENERAL, /* a '-' or an empty label: se_host_check() decides */
	HOST_NAME_MORE,    /* fewer than sixteen bytes left: go on byte by byte */
};

/*
 * The start of a hostname that begins with a letter, from *q, sixteen
 * bytes at a time: alphanumerics and '.' are classified at once, and an
 * empty label is a '.' right after a '.'. On HOST_NAME_DONE *q is the
 * run's end; on HOST_NAME_MORE it is where the byte-by-byte loop goes on,
 * always at a label start or inside a label (never right after its '.').
 * An empty label goes to the general check rather than being tracked:
 * that check refuses it too, and at the same end, since the run of host
 * characters ends where this one does once no '-' is in it.
 */
static inline enum host_name_step host_name_sse(const unsigned char *u, uint32_t *qp,
						uint32_t end)
{
	uint32_t q = *qp, start = q;
	unsigned prev_dot = 0;
	while (end - q >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(u + q));
		unsigned dots = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('.')));
		unsigned name = (unsigned)_mm_movemask_epi8(se_sse_alnum(x)) | dots;
		unsigned run = (unsigned)__builtin_ctz(~name); /* 16 when all are */
		unsigned in = run < 16 ? (1u << run) - 1 : 0xffff;
		dots &= in;
		if (dots & ((dots << 1) | prev_dot))
			return HOST_NAME_GENERAL;
		if (run < 16) {
			if (u[q + run] == '-')
				return HOST_NAME_GENERAL;
			*qp = q + run;
			return HOST_NAME_DONE;
		}
		prev_dot = dots >> 15;
		q += 16;
	}
	/* the caller goes on label by label: after a chunk that ended inside
	 * a label, a '.' here ends that label, which is not empty (left to
	 * the caller, it would look empty and send a good name to the
	 * general check) */
	if (!prev_dot && q > start && q < end && u[q] == '.')
		q++;
	*qp = q;
	return HOST_NAME_MORE;
}
#endif

/*
 * The run of hostname characters (alphanum, '-', '.') from p: returns its
 * end q and sets *type to what se_host_check(b, p, q, 1) says of it, in
 * one pass. The two common shapes are read directly: a dotted quad, and a
 * name that starts with a letter (so is not all digits) and has no '-',
 * whose labels then only need to be non-empty (one trailing '.' is
 * allowed). That is hostname_check() in host.c for such names, and must
 * stay so. Anything else (a '-', an empty label, a leading digit that is
 * not a quad) goes to se_host_check().
 */
static inline uint32_t se_host_scan(const char *b, uint32_t p, uint32_t end, int *type)
{
	const unsigned char *u = (const unsigned char *)b;
	uint32_t q;
	if (p < end && (unsigned)(u[p] - '0') <= 9 && (q = host_quad_run(u, p, end))) {
		*type = SE_HOST_IPV4;
		return q;
	}
	if (p >= end || !se_is(u[p], SE_C_ALNUM) || se_is(u[p], SE_C_DIGIT))
		goto general;
	q = p;
#ifdef __SSE2__
	switch (host_name_sse(u, &q, end)) {
	case HOST_NAME_DONE:
		*type = SE_HOST_NAME;
		return q;
	case HOST_NAME_GENERAL:
		goto general;
	case HOST_NAME_MORE:
		break;
	}
#endif
	for (;;) {
		uint32_t s = q;
		q = se_span(b, q, end, SE_C_ALNUM);
		if (q < end && b[q] == '.') {
			if (q == s) /* an empty label before the last */
				goto general;
			q++;
			continue;
		}
		if (q < end && b[q] == '-')
			goto general;
		break;
	}
	/* a final empty label is one trailing '.', which is allowed */
	*type = SE_HOST_NAME;
	return q;
general:
	q = se_span(b, p, end, SE_C_HOST);
	*type = q == p ? SE_HOST_NONE : se_host_check(b, p, q, 1);
	return q;
}

#endif
