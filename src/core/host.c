/*
 * Host validation (RFC 3261 §25.1 hostname / IPv4address / IPv6reference,
 * RFC 5954 §4.1 corrected IPv6address, RFC 1123 labels). Shared by the
 * message and URI parsers, so both agree on what a host is.
 */
#include "host.h"

#include "chars.h"

int se_host_ipv4(const char *b, uint32_t p, uint32_t end)
{
	int parts = 0;
	while (p < end) {
		uint32_t s = p;
		unsigned v = 0;
		while (p < end && b[p] >= '0' && b[p] <= '9' && p - s < 3)
			v = v * 10 + (unsigned)(b[p++] - '0');
		if (p == s || v > 255)
			return 0;
		if (++parts == 4)
			return p == end;
		if (p >= end || b[p] != '.')
			return 0;
		p++;
	}
	return 0;
}

/* IPv6address: up to 8 groups of 1-4 hex digits, at most one "::", and an
 * optional trailing IPv4address counting as two groups. */
int se_host_ipv6(const char *b, uint32_t p, uint32_t end)
{
	int groups = 0;
	int dcolon = 0;
	if (end - p >= 2 && b[p] == ':' && b[p + 1] == ':') {
		dcolon = 1;
		p += 2;
		if (p == end)
			return 1;
		if (b[p] == ':' && se_host_ipv4(b, p + 1, end)) /* RFC 5118 §4.10 */
			return 1;
	} else if (p < end && b[p] == ':') {
		return 0;
	}
	while (p < end) {
		uint32_t s = p;
		while (p < end && p - s < 5 && se_is((unsigned char)b[p], SE_C_HEX))
			p++;
		if (p < end && b[p] == '.') {
			/* embedded IPv4 must be the last part */
			if (!se_host_ipv4(b, s, end))
				return 0;
			groups += 2;
			p = end;
			break;
		}
		if (p == s || p - s > 4)
			return 0;
		groups++;
		if (p == end)
			break;
		if (b[p] != ':')
			return 0;
		p++;
		if (p < end && b[p] == ':') {
			if (dcolon)
				return 0;
			dcolon = 1;
			p++;
			if (p == end)
				break;
			/* "::" ":" IPv4 is what RFC 3261's faulty ABNF allowed;
			 * RFC 5118 §4.10 asks parsers to accept it */
			if (b[p] == ':' && se_host_ipv4(b, p + 1, end))
				return groups + 2 <= 7;
		} else if (p == end) {
			return 0; /* trailing single colon */
		}
	}
	return dcolon ? groups <= 7 : groups == 8;
}

/* hostname = *( domainlabel "." ) toplabel [ "." ]; labels of alphanum
 * and inner '-'. The toplabel rule (must start with a letter) is relaxed:
 * all-digit names that are not valid IPv4 are refused, which is what the
 * rule is there for. se_host_scan() (host_scan.h) applies this rule itself
 * to names that start with a letter and hold no '-' (labels non-empty, one
 * trailing '.'): a change here must be made there too, and test_uri checks
 * that the two agree. */
static int hostname_check(const char *b, uint32_t p, uint32_t end)
{
	int all_digits = 1;
	uint32_t label = p;
	for (uint32_t i = p; i <= end; i++) {
		if (i == end || b[i] == '.') {
			if (i == label) /* empty label: only a final '.' is allowed */
				return i == end && i > p && !all_digits;
			if (b[label] == '-' || b[i - 1] == '-')
				return 0;
			label = i + 1;
			continue;
		}
		unsigned char ch = (unsigned char)b[i];
		if (!se_is(ch, SE_C_ALNUM) && ch != '-')
			return 0;
		if (ch < '0' || ch > '9')
			all_digits = 0;
	}
	return !all_digits;
}

int se_host_check(const char *b, uint32_t p, uint32_t end, int bracketed)
{
	if (p >= end)
		return SE_HOST_NONE;
	if (b[p] == '[') {
		if (end - p < 3 || b[end - 1] != ']' || !se_host_ipv6(b, p + 1, end - 1))
			return SE_HOST_NONE;
		return SE_HOST_IPV6;
	}
	if (!bracketed && se_host_ipv6(b, p, end))
		return SE_HOST_IPV6;
	if (b[end - 1] >= '0' && b[end - 1] <= '9' && se_host_ipv4(b, p, end))
		return SE_HOST_IPV4;
	return hostname_check(b, p, end) ? SE_HOST_NAME : SE_HOST_NONE;
}
