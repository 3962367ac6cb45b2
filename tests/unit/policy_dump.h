/*
 * policy_dump: a canonical text dump of loaded policy structures, for
 * the loader's unit tests (test_policy.c, test_policy_react.c): each test
 * compares the dump of what was loaded with the text it expects, so that
 * every field is checked and a failure shows the whole difference.
 */
#ifndef SE_TEST_POLICY_DUMP_H
#define SE_TEST_POLICY_DUMP_H

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"

struct out {
	char *buf;
	size_t len, size;
};

/* Append to o (the test fails when it does not fit). */
__attribute__((format(printf, 2, 3), unused)) static void out(struct out *o, const char *fmt,
								 ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < o->size - o->len);
	o->len += (size_t)n;
}

/* " 10.0.0.0/8" (IPv4 shown as such), " 2001:db8::/32". */
__attribute__((unused)) static void dump_cidr(struct out *o, const struct policy_cidr *c)
{
	static const uint8_t v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	char a[INET6_ADDRSTRLEN];
	if (memcmp(c->addr, v4, 12) == 0 && c->bits >= 96) {
		inet_ntop(AF_INET, c->addr + 12, a, sizeof(a));
		out(o, " %s/%u", a, c->bits - 96);
	} else {
		inet_ntop(AF_INET6, c->addr, a, sizeof(a));
		out(o, " %s/%u", a, c->bits);
	}
}

/* Codes as ranges: "100-407,409-499". */
__attribute__((unused)) static void dump_codes(struct out *o, const struct policy_codes *c)
{
	const char *sep = "";
	for (unsigned code = 100; code <= 699; code++) {
		if (!policy_codes_has(c, code))
			continue;
		unsigned end = code;
		while (end < 699 && policy_codes_has(c, end + 1))
			end++;
		if (end == code)
			out(o, "%s%u", sep, code);
		else
			out(o, "%s%u-%u", sep, code, end);
		sep = ",";
		code = end;
	}
}

#endif
