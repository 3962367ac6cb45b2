/*
 * An output cursor for building text into a fixed buffer without printf:
 * bounded writes that, once one does not fit, write nothing more and
 * remember it, so the writer checks for overflow once, at the end.
 * Used by the message builders and by the proxy for Via, Record-Route,
 * branch and key text on every message (snprintf costs several times
 * more instructions than these appends).
 */
#ifndef SIPEDGE_OUT_H
#define SIPEDGE_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sipedge/range.h>

struct se_out {
	char *p;     /* where the next byte goes */
	size_t left; /* bytes left from p */
	bool full;   /* a write did not fit: nothing was written since */
};

static inline struct se_out se_out_at(char *buf, size_t cap)
{
	return (struct se_out){.p = buf, .left = cap, .full = false};
}

static inline void se_out_put(struct se_out *o, const void *s, size_t n)
{
	if (n > o->left) {
		o->full = true;
		o->left = 0;
		return;
	}
	if (n) {
		memcpy(o->p, s, n);
		o->p += n;
		o->left -= n;
	}
}

static inline void se_out_str(struct se_out *o, const char *s)
{
	se_out_put(o, s, strlen(s));
}

static inline void se_out_range(struct se_out *o, const char *buf, struct se_range r)
{
	se_out_put(o, buf + r.off, r.len);
}

static inline void se_out_u32(struct se_out *o, uint32_t v)
{
	char tmp[10];
	size_t i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	se_out_put(o, tmp + i, sizeof(tmp) - i);
}

/* v in lowercase hex, at least `digits` of them (zero-padded; more than
 * 16 is taken as 16). */
static inline void se_out_hex(struct se_out *o, uint64_t v, unsigned digits)
{
	char tmp[16];
	digits = digits > 16 ? 16 : digits;
	size_t i = sizeof(tmp);
	do {
		tmp[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v || sizeof(tmp) - i < digits);
	se_out_put(o, tmp + i, sizeof(tmp) - i);
}

/* Ends the text at buf (written from se_out_at(buf, cap)) with a NUL that
 * must fit too: its length, or -1 when it did not fit (and then buf is not
 * terminated). */
static inline int se_out_end(struct se_out *o, const char *buf)
{
	se_out_put(o, "", 1);
	return o->full ? -1 : (int)(o->p - buf - 1);
}

#endif
