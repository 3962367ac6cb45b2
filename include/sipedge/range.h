/*
 * Ranges: how every parse result points into its buffer.
 *
 * A range is an offset and a length relative to the start of the buffer the
 * message (or URI) was parsed from, never a pointer, so a parsed message can
 * be copied with one memcpy (into shared memory, say) and remains valid
 * against any copy of its buffer. A range with len 0 is "absent or empty";
 * where the difference matters the owning struct has a flag.
 */
#ifndef SIPEDGE_RANGE_H
#define SIPEDGE_RANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

struct se_range {
	uint32_t off;
	uint32_t len;
};

#define SE_RANGE_NONE ((struct se_range){0, 0})

static inline const char *se_range_ptr(const char *base, struct se_range r)
{
	return base + r.off;
}

static inline bool se_range_empty(struct se_range r)
{
	return r.len == 0;
}

/* Exact (case-sensitive) comparison with a NUL-terminated string. */
static inline bool se_range_eq(const char *base, struct se_range r, const char *s)
{
	size_t n = strlen(s);
	return r.len == n && memcmp(base + r.off, s, n) == 0;
}

/* ASCII case-insensitive comparison with a NUL-terminated string. */
static inline bool se_range_ieq(const char *base, struct se_range r, const char *s)
{
	size_t n = strlen(s);
	return r.len == n && strncasecmp(base + r.off, s, n) == 0;
}

#endif
