/*
 * Character classes of the SIP grammar (RFC 3261 §25.1, RFC 3986 for
 * absoluteURI), as one 256-entry table computed at compile time. Shared by
 * the message and URI parsers; internal to libsipedge-core.
 */
#ifndef SE_CORE_CHARS_H
#define SE_CORE_CHARS_H

#include <stdint.h>

enum {
	SE_C_ALNUM = 1 << 0,  /* ALPHA / DIGIT */
	SE_C_MARK = 1 << 1,   /* - _ . ! ~ * ' ( ) */
	SE_C_TOKEN = 1 << 2,  /* token: alphanum - . ! % * _ + ` ' ~ */
	SE_C_USER = 1 << 3,   /* unreserved / user-unreserved (escapes apart) */
	SE_C_PASSWD = 1 << 4, /* unreserved / & = + $ , */
	SE_C_PARAM = 1 << 5,  /* unreserved / param-unreserved */
	SE_C_HNV = 1 << 6,    /* unreserved / hnv-unreserved */
	SE_C_WORD = 1 << 7,   /* word: token chars and ( ) < > : \ " / [ ] ? { } */
	SE_C_WS = 1 << 8,     /* SP / HTAB */
	SE_C_HEX = 1 << 9,    /* HEXDIG */
	SE_C_QDTEXT = 1 << 10, /* qdtext minus LWS: %x21 / %x23-5B / %x5D-7E / >= 0x80 */
	SE_C_HOST = 1 << 11,  /* hostname characters: alphanum - . */
	SE_C_URIC = 1 << 12,  /* RFC 3986 unreserved / reserved / '%' */
	SE_C_DIGIT = 1 << 13,
	SE_C_TEXT = 1 << 14,  /* TEXT-UTF8char and SP/HTAB: >= 0x20 except DEL, and HTAB */
};

extern const uint16_t se_chars[256];

static inline int se_is(unsigned char c, uint16_t cls)
{
	return (se_chars[c] & cls) != 0;
}

static inline int se_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

#endif
