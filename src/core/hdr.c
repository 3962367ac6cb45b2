/*
 * Header-name and method lookup (RFC 3261 §7.1, §7.3.3, §20).
 *
 * Header names are case-insensitive and have compact forms; lookup runs
 * once per header line of every message, so it dispatches on the first
 * letter and the length before comparing any bytes. The candidate lists
 * below must agree with SE_HDR_MAP in <sipedge/hdr.h>: test_hdr checks
 * every canonical and compact name round-trips.
 */
#include <sipedge/hdr.h>

#include <string.h>

static const char *const hdr_names[SE_HDR__COUNT] = {
	[SE_HDR_OTHER] = "",
#define XX(id, name, c) [SE_HDR_##id] = name,
	SE_HDR_MAP(XX)
#undef XX
};

static const unsigned char hdr_lens[SE_HDR__COUNT] = {
#define XX(id, name, c) [SE_HDR_##id] = sizeof(name) - 1,
	SE_HDR_MAP(XX)
#undef XX
};

/* Compact forms, indexed by lower-case letter. */
static const unsigned char hdr_compact[26] = {
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

/* Candidates by first letter of the full name, terminated by 0. */
static const unsigned char hdr_by_letter[26][10] = {
	['a' - 'a'] = {SE_HDR_ALLOW_EVENTS, SE_HDR_ACCEPT_CONTACT, SE_HDR_ALLOW, SE_HDR_ACCEPT,
		       SE_HDR_AUTHORIZATION},
	['c' - 'a'] = {SE_HDR_CALL_ID, SE_HDR_CSEQ, SE_HDR_CONTACT, SE_HDR_CONTENT_LENGTH,
		       SE_HDR_CONTENT_TYPE, SE_HDR_CONTENT_ENCODING},
	['e' - 'a'] = {SE_HDR_EXPIRES, SE_HDR_EVENT},
	['f' - 'a'] = {SE_HDR_FROM},
	['i' - 'a'] = {SE_HDR_IDENTITY, SE_HDR_IDENTITY_INFO},
	['m' - 'a'] = {SE_HDR_MAX_FORWARDS, SE_HDR_MAX_BREADTH, SE_HDR_MIN_EXPIRES},
	['p' - 'a'] = {SE_HDR_PATH, SE_HDR_PROXY_REQUIRE, SE_HDR_PROXY_AUTHORIZATION,
		       SE_HDR_PROXY_AUTHENTICATE},
	['r' - 'a'] = {SE_HDR_ROUTE, SE_HDR_RECORD_ROUTE, SE_HDR_REQUIRE, SE_HDR_REASON,
		       SE_HDR_REFER_TO, SE_HDR_REFERRED_BY, SE_HDR_REJECT_CONTACT,
		       SE_HDR_REQUEST_DISPOSITION, SE_HDR_RETRY_AFTER},
	['s' - 'a'] = {SE_HDR_SUPPORTED, SE_HDR_SUBJECT, SE_HDR_SESSION_EXPIRES, SE_HDR_SERVER},
	['t' - 'a'] = {SE_HDR_TO, SE_HDR_TIMESTAMP},
	['u' - 'a'] = {SE_HDR_UNSUPPORTED, SE_HDR_USER_AGENT},
	['v' - 'a'] = {SE_HDR_VIA},
	['w' - 'a'] = {SE_HDR_WWW_AUTHENTICATE, SE_HDR_WARNING},
};

/* Compare name[0, n) case-insensitively with a canonical name made of
 * letters and '-'. The input has been checked to be a token, so folding
 * bit 0x20 cannot turn a non-letter into a letter or '-'. */
static int name_ieq(const char *name, const char *canon, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)(name[i] | 0x20) != (unsigned char)(canon[i] | 0x20))
			return 0;
	return 1;
}

enum se_hdr_id se_hdr_lookup(const char *name, size_t len)
{
	if (len == 0)
		return SE_HDR_OTHER;
	unsigned char c = (unsigned char)(name[0] | 0x20);
	if (c < 'a' || c > 'z')
		return SE_HDR_OTHER;
	if (len == 1)
		return (enum se_hdr_id)hdr_compact[c - 'a'];
	const unsigned char *cand = hdr_by_letter[c - 'a'];
	for (int i = 0; i < 10 && cand[i]; i++)
		if (hdr_lens[cand[i]] == len && name_ieq(name, hdr_names[cand[i]], len))
			return (enum se_hdr_id)cand[i];
	return SE_HDR_OTHER;
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
