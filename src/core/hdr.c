/*
 * Header-name and method lookup (RFC 3261 §7.1, §7.3.3, §20).
 *
 * Header names are case-insensitive and have compact forms; lookup runs
 * once per header line of every message, so it hashes the length and the
 * first and last letters to the one candidate before comparing any bytes.
 * The tables below must agree with SE_HDR_MAP in <sipedge/hdr.h>: test_hdr
 * checks every canonical and compact name round-trips.
 */
#include <sipedge/hdr.h>

#include <string.h>

#include "hdr_int.h"

const char *const hdr_names[SE_HDR__COUNT] = {
	[SE_HDR_OTHER] = "",
#define XX(id, name, c) [SE_HDR_##id] = name,
	SE_HDR_MAP(XX)
#undef XX
};

const unsigned char hdr_lens[SE_HDR__COUNT] = {
#define XX(id, name, c) [SE_HDR_##id] = sizeof(name) - 1,
	SE_HDR_MAP(XX)
#undef XX
};

/* Compact forms, indexed by lower-case letter. */
const unsigned char hdr_compact[26] = {
	['a' - 'a'] = SE_HDR_ACCEPT_CONTACT,  ['b' - 'a'] = SE_HDR_REFERRED_BY,
	['c' - 'a'] = SE_HDR_CONTENT_TYPE,    ['d' - 'a'] = SE_HDR_REQUEST_DISPOSITION,
	['e' - 'a'] = SE_HDR_CONTENT_ENCODING, ['f' - 'a'] = SE_HDR_FROM,
	['i' - 'a'] = SE_HDR_CALL_ID,         ['j' - 'a'] = SE_HDR_REJECT_CONTACT,
	['k' - 'a'] = SE_HDR_SUPPORTED,       ['l' - 'a'] = SE_HDR_CONTENT_LENGTH,
	['m' - 'a'] = SE_HDR_CONTACT,         ['n' - 'a'] = SE_HDR_IDENTITY_INFO,
	['o' - 'a'] = SE_HDR_EVENT,           ['r' - 'a'] = SE_HDR_REFER_TO,
	['s' - 'a'] = SE_HDR_SUBJECT,         ['t' - 'a'] = SE_HDR_TO,
	['u' - 'a'] = SE_HDR_ALLOW_EVENTS,    ['v' - 'a'] = SE_HDR_VIA,
	['x' - 'a'] = SE_HDR_SESSION_EXPIRES, ['y' - 'a'] = SE_HDR_IDENTITY,
};

/* Full names by HDR_HASH() of their length and first and last letters;
 * see hdr_int.h. */
#define H HDR_HASH
const unsigned char hdr_hash[256] = {
	[H(3, 'v', 'a')] = SE_HDR_VIA,
	[H(4, 'f', 'm')] = SE_HDR_FROM,
	[H(2, 't', 'o')] = SE_HDR_TO,
	[H(7, 'c', 'd')] = SE_HDR_CALL_ID,
	[H(4, 'c', 'q')] = SE_HDR_CSEQ,
	[H(12, 'm', 's')] = SE_HDR_MAX_FORWARDS,
	[H(5, 'r', 'e')] = SE_HDR_ROUTE,
	[H(12, 'r', 'e')] = SE_HDR_RECORD_ROUTE,
	[H(4, 'p', 'h')] = SE_HDR_PATH,
	[H(7, 'c', 't')] = SE_HDR_CONTACT,
	[H(14, 'c', 'h')] = SE_HDR_CONTENT_LENGTH,
	[H(12, 'c', 'e')] = SE_HDR_CONTENT_TYPE,
	[H(16, 'c', 'g')] = SE_HDR_CONTENT_ENCODING,
	[H(13, 'p', 'e')] = SE_HDR_PROXY_REQUIRE,
	[H(7, 'r', 'e')] = SE_HDR_REQUIRE,
	[H(9, 's', 'd')] = SE_HDR_SUPPORTED,
	[H(11, 'u', 'd')] = SE_HDR_UNSUPPORTED,
	[H(11, 'm', 'h')] = SE_HDR_MAX_BREADTH,
	[H(6, 'r', 'n')] = SE_HDR_REASON,
	[H(7, 'e', 's')] = SE_HDR_EXPIRES,
	[H(7, 's', 't')] = SE_HDR_SUBJECT,
	[H(5, 'e', 't')] = SE_HDR_EVENT,
	[H(12, 'a', 's')] = SE_HDR_ALLOW_EVENTS,
	[H(8, 'r', 'o')] = SE_HDR_REFER_TO,
	[H(11, 'r', 'y')] = SE_HDR_REFERRED_BY,
	[H(14, 'a', 't')] = SE_HDR_ACCEPT_CONTACT,
	[H(14, 'r', 't')] = SE_HDR_REJECT_CONTACT,
	[H(19, 'r', 'n')] = SE_HDR_REQUEST_DISPOSITION,
	[H(15, 's', 's')] = SE_HDR_SESSION_EXPIRES,
	[H(8, 'i', 'y')] = SE_HDR_IDENTITY,
	[H(13, 'i', 'o')] = SE_HDR_IDENTITY_INFO,
	[H(5, 'a', 'w')] = SE_HDR_ALLOW,
	[H(6, 'a', 't')] = SE_HDR_ACCEPT,
	[H(13, 'a', 'n')] = SE_HDR_AUTHORIZATION,
	[H(19, 'p', 'n')] = SE_HDR_PROXY_AUTHORIZATION,
	[H(16, 'w', 'e')] = SE_HDR_WWW_AUTHENTICATE,
	[H(18, 'p', 'e')] = SE_HDR_PROXY_AUTHENTICATE,
	[H(11, 'r', 'r')] = SE_HDR_RETRY_AFTER,
	[H(9, 't', 'p')] = SE_HDR_TIMESTAMP,
	[H(6, 's', 'r')] = SE_HDR_SERVER,
	[H(10, 'u', 't')] = SE_HDR_USER_AGENT,
	[H(11, 'm', 's')] = SE_HDR_MIN_EXPIRES,
	[H(7, 'w', 'g')] = SE_HDR_WARNING,
};

enum se_hdr_id se_hdr_lookup(const char *name, size_t len)
{
	return hdr_lookup(name, len);
}

const char *se_hdr_name(enum se_hdr_id id)
{
	return (unsigned)id < SE_HDR__COUNT ? hdr_names[id] : "";
}

static const char *const method_names[SE_METHOD__COUNT] = {
	[SE_METHOD_OTHER] = "",
#define XX(m) [SE_METHOD_##m] = #m,
	SE_METHOD_MAP(XX)
#undef XX
};

enum se_method se_method_lookup(const char *name, size_t len)
{
	/* Methods are case-sensitive; every known one is upper case and
	 * 3..9 long, so a first-byte and length check rejects most others. */
	if (len < 3 || len > 9)
		return SE_METHOD_OTHER;
	for (int m = 1; m < SE_METHOD__COUNT; m++)
		if (method_names[m][0] == name[0] && strlen(method_names[m]) == len &&
		    memcmp(method_names[m], name, len) == 0)
			return (enum se_method)m;
	return SE_METHOD_OTHER;
}

const char *se_method_name(enum se_method m)
{
	return (unsigned)m < SE_METHOD__COUNT ? method_names[m] : "";
}
