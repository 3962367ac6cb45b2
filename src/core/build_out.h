/*
 * The output cursor shared by the builders (build.c, build_reply.c):
 * bounded writes that, once one does not fit, write nothing more and
 * remember it, so a builder checks for overflow once, at the end.
 * Internal to libsipedge-core.
 */
#ifndef SE_CORE_BUILD_OUT_H
#define SE_CORE_BUILD_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sipedge/range.h>

struct out {
	char *p;
	size_t left;
	bool full;
};

static inline void put(struct out *o, const void *s, size_t n)
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

static inline void put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static inline void put_range(struct out *o, const char *buf, struct se_range r)
{
	put(o, buf + r.off, r.len);
}

static inline void put_u32(struct out *o, uint32_t v)
{
	char tmp[10];
	size_t i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(o, tmp + i, sizeof(tmp) - i);
}

#endif
