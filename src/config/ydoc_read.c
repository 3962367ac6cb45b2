/*
 * ydoc_read: typed readers for scalar nodes, the one place where YAML text
 * becomes integers, booleans, durations and sizes.
 *
 * The forms are few and strict on purpose: decimal integers only; booleans
 * yes/no/true/false (not YAML 1.1's on/off/y/n, which surprise people);
 * durations always with a unit (is `t1: 500` seconds or milliseconds?);
 * sizes in binary units only, written K/KiB, M/MiB, G/GiB (KB and MB are
 * refused: decimal or binary is exactly the ambiguity to avoid). Each
 * reader names the key and the offending text in its message.
 */
#include "ydoc.h"

#include <sipedge/error.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

__attribute__((format(printf, 4, 5))) static int
fail(struct ydoc_errs *errs, const struct ydoc_node *n, const char *what, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ydoc_errs_add(errs, n, "%s%s%s", what ? what : "", what ? ": " : "", msg);
	return SE_ECONFIG;
}

static const char too_large[] = "number too large";

/* Leading decimal digits of s as an unsigned value; *end after them. */
static int scan_u64(const char *s, uint64_t *v, const char **end, const char **why)
{
	uint64_t x = 0;
	const char *p = s;
	if (*p < '0' || *p > '9') {
		*why = "not a number";
		return SE_ECONFIG;
	}
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (x > (UINT64_MAX - d) / 10) {
			*why = too_large;
			return SE_ECONFIG;
		}
		x = x * 10 + d;
	}
	*v = x;
	*end = p;
	return 0;
}

int ydoc_read_int_text(const char *s, long long *out, const char **why)
{
	bool neg = *s == '-';
	uint64_t v;
	const char *end;
	if (*s == '-' || *s == '+')
		s++;
	if (scan_u64(s, &v, &end, why))
		return SE_ECONFIG;
	if (*end) {
		*why = "not an integer";
		return SE_ECONFIG;
	}
	if (v > (uint64_t)LLONG_MAX + neg) {
		*why = too_large;
		return SE_ECONFIG;
	}
	*out = neg ? (long long)(0 - v) : (long long)v;
	return 0;
}

int ydoc_read_bool_text(const char *s, bool *out, const char **why)
{
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0) {
		*out = true;
		return 0;
	}
	if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0) {
		*out = false;
		return 0;
	}
	*why = "not a boolean";
	return SE_ECONFIG;
}

struct unit {
	const char *name;
	uint64_t mult;
};

static int scan_with_unit(const char *s, const struct unit *units, bool unit_required,
                          uint64_t *out, const char **why, const char *missing, const char *unknown)
{
	uint64_t v;
	const char *end;
	if (scan_u64(s, &v, &end, why))
		return SE_ECONFIG;
	if (!*end && unit_required) {
		*why = missing;
		return SE_ECONFIG;
	}
	uint64_t mult = 1;
	if (*end) {
		const struct unit *u = units;
		while (u->name && strcasecmp(u->name, end) != 0)
			u++;
		if (!u->name) {
			*why = unknown;
			return SE_ECONFIG;
		}
		mult = u->mult;
	}
	if (v > UINT64_MAX / mult) {
		*why = too_large;
		return SE_ECONFIG;
	}
	*out = v * mult;
	return 0;
}

static const struct unit duration_units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {NULL, 0},
};

int ydoc_read_duration_text(const char *s, uint64_t *ms, const char **why)
{
	return scan_with_unit(s, duration_units, true, ms, why, "missing unit (ms, s, m or h)",
	                      "unknown unit (use ms, s, m or h)");
}

static const struct unit size_units[] = {
    {"B", 1},
    {"K", 1ull << 10},
    {"KiB", 1ull << 10},
    {"M", 1ull << 20},
    {"MiB", 1ull << 20},
    {"G", 1ull << 30},
    {"GiB", 1ull << 30},
    {NULL, 0},
};

int ydoc_read_size_text(const char *s, uint64_t *bytes, const char **why)
{
	return scan_with_unit(s, size_units, false, bytes, why, NULL,
	                      "unknown unit (use K, KiB, M, MiB, G or GiB)");
}

const char *ydoc_read_fmt_duration(uint64_t ms, char *buf, size_t size)
{
	const struct unit *best = &duration_units[0];
	for (const struct unit *u = duration_units; u->name; u++)
		if (ms && ms % u->mult == 0)
			best = u;
	snprintf(buf, size, "%" PRIu64 "%s", ms / best->mult, best->name);
	return buf;
}

const char *ydoc_read_fmt_size(uint64_t bytes, char *buf, size_t size)
{
	static const struct unit fmt[] = {
	    {"GiB", 1ull << 30},
	    {"MiB", 1ull << 20},
	    {"KiB", 1ull << 10},
	    {NULL, 0},
	};
	for (const struct unit *u = fmt; u->name; u++) {
		if (bytes && bytes % u->mult == 0) {
			snprintf(buf, size, "%" PRIu64 "%s", bytes / u->mult, u->name);
			return buf;
		}
	}
	snprintf(buf, size, "%" PRIu64, bytes);
	return buf;
}

int ydoc_read_int(const struct ydoc_node *n, const char *what, long long min, long long max,
                  long long *out, struct ydoc_errs *errs)
{
	const char *why;
	long long v;
	if (ydoc_expect(n, YDOC_SCALAR, what, errs))
		return SE_ECONFIG;
	if (ydoc_read_int_text(n->scalar.str, &v, &why)) {
		if (why == too_large)
			return fail(errs, n, what, "%s is out of range (%lld..%lld)", n->scalar.str,
			            min, max);
		return fail(errs, n, what, "expected an integer, got '%s'", n->scalar.str);
	}
	if (v < min || v > max)
		return fail(errs, n, what, "%lld is out of range (%lld..%lld)", v, min, max);
	*out = v;
	return 0;
}

int ydoc_read_bool(const struct ydoc_node *n, const char *what, bool *out, struct ydoc_errs *errs)
{
	const char *why;
	if (ydoc_expect(n, YDOC_SCALAR, what, errs))
		return SE_ECONFIG;
	if (ydoc_read_bool_text(n->scalar.str, out, &why))
		return fail(errs, n, what, "expected yes, no, true or false, got '%s'",
		            n->scalar.str);
	return 0;
}

int ydoc_read_str(const struct ydoc_node *n, const char *what, const char **out,
                  struct ydoc_errs *errs)
{
	if (ydoc_expect(n, YDOC_SCALAR, what, errs))
		return SE_ECONFIG;
	if (n->scalar.len == 0)
		return fail(errs, n, what, "must not be empty");
	if (strlen(n->scalar.str) != n->scalar.len)
		return fail(errs, n, what, "must not contain NUL characters");
	*out = n->scalar.str;
	return 0;
}

int ydoc_read_duration(const struct ydoc_node *n, const char *what, uint64_t min, uint64_t max,
                       uint64_t *ms, struct ydoc_errs *errs)
{
	const char *why;
	uint64_t v;
	char a[32], b[32];
	if (ydoc_expect(n, YDOC_SCALAR, what, errs))
		return SE_ECONFIG;
	if (ydoc_read_duration_text(n->scalar.str, &v, &why))
		return fail(errs, n, what, "bad duration '%s': %s", n->scalar.str, why);
	if (v < min || v > max)
		return fail(errs, n, what, "%s is out of range (%s..%s)", n->scalar.str,
		            ydoc_read_fmt_duration(min, a, sizeof(a)),
		            ydoc_read_fmt_duration(max, b, sizeof(b)));
	*ms = v;
	return 0;
}

int ydoc_read_size(const struct ydoc_node *n, const char *what, uint64_t min, uint64_t max,
                   uint64_t *bytes, struct ydoc_errs *errs)
{
	const char *why;
	uint64_t v;
	char a[32], b[32];
	if (ydoc_expect(n, YDOC_SCALAR, what, errs))
		return SE_ECONFIG;
	if (ydoc_read_size_text(n->scalar.str, &v, &why))
		return fail(errs, n, what, "bad size '%s': %s", n->scalar.str, why);
	if (v < min || v > max)
		return fail(errs, n, what, "%s is out of range (%s..%s)", n->scalar.str,
		            ydoc_read_fmt_size(min, a, sizeof(a)),
		            ydoc_read_fmt_size(max, b, sizeof(b)));
	*bytes = v;
	return 0;
}
