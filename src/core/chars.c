/*
 * The character-class table of chars.h, computed by the compiler from the
 * RFC 3261 §25.1 definitions below: no run-time initialisation, no globals
 * that change.
 */
#include "chars.h"

#define IN2(c, a, b) ((c) == (a) || (c) == (b))
#define DIGIT(c) ((c) >= '0' && (c) <= '9')
#define ALPHA(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define ALNUM(c) (DIGIT(c) || ALPHA(c))
#define HEX(c) (DIGIT(c) || ((c) >= 'a' && (c) <= 'f') || ((c) >= 'A' && (c) <= 'F'))
#define MARK(c)                                                                             \
	(IN2(c, '-', '_') || IN2(c, '.', '!') || IN2(c, '~', '*') || IN2(c, '\'', '(') ||  \
	 (c) == ')')
#define UNRESERVED(c) (ALNUM(c) || MARK(c))
#define TOKEN(c)                                                                            \
	(ALNUM(c) || IN2(c, '-', '.') || IN2(c, '!', '%') || IN2(c, '*', '_') ||           \
	 IN2(c, '+', '`') || IN2(c, '\'', '~'))
#define USER_UNRES(c) (IN2(c, '&', '=') || IN2(c, '+', '$') || IN2(c, ',', ';') || IN2(c, '?', '/'))
#define PASSWD(c) (UNRESERVED(c) || IN2(c, '&', '=') || IN2(c, '+', '$') || (c) == ',')
#define PARAM_UNRES(c) (IN2(c, '[', ']') || IN2(c, '/', ':') || IN2(c, '&', '+') || (c) == '$')
#define HNV_UNRES(c) (IN2(c, '[', ']') || IN2(c, '/', '?') || IN2(c, ':', '+') || (c) == '$')
#define WORD(c)                                                                             \
	(TOKEN(c) || IN2(c, '(', ')') || IN2(c, '<', '>') || IN2(c, ':', '\\') ||           \
	 IN2(c, '"', '/') || IN2(c, '[', ']') || IN2(c, '?', '{') || (c) == '}')
#define RESERVED(c)                                                                         \
	(IN2(c, ';', '/') || IN2(c, '?', ':') || IN2(c, '@', '&') || IN2(c, '=', '+') ||   \
	 IN2(c, '$', ',') || IN2(c, '[', ']') || IN2(c, '#', '!'))
#define QDTEXT(c) ((c) == 0x21 || ((c) >= 0x23 && (c) <= 0x5b) || ((c) >= 0x5d && (c) <= 0x7e) || (c) >= 0x80)

#define CLS(c)                                                                              \
	((ALNUM(c) ? SE_C_ALNUM : 0) | (MARK(c) ? SE_C_MARK : 0) |                          \
	 (TOKEN(c) ? SE_C_TOKEN : 0) | ((UNRESERVED(c) || USER_UNRES(c)) ? SE_C_USER : 0) | \
	 (PASSWD(c) ? SE_C_PASSWD : 0) | ((UNRESERVED(c) || PARAM_UNRES(c)) ? SE_C_PARAM : 0) | \
	 ((UNRESERVED(c) || HNV_UNRES(c)) ? SE_C_HNV : 0) | (WORD(c) ? SE_C_WORD : 0) |     \
	 (IN2(c, ' ', '\t') ? SE_C_WS : 0) | (HEX(c) ? SE_C_HEX : 0) |                      \
	 (QDTEXT(c) ? SE_C_QDTEXT : 0) | ((ALNUM(c) || IN2(c, '-', '.')) ? SE_C_HOST : 0) |  \
	 ((UNRESERVED(c) || RESERVED(c) || (c) == '%') ? SE_C_URIC : 0) |                   \
	 (DIGIT(c) ? SE_C_DIGIT : 0) |                                                      \
	 ((((c) >= 0x20 && (c) != 0x7f) || (c) == '\t') ? SE_C_TEXT : 0) |                  \
	 ((TOKEN(c) || IN2(c, ':', '[') || (c) == ']') ? SE_C_GVAL : 0))

#define R4(b) CLS(b), CLS((b) + 1), CLS((b) + 2), CLS((b) + 3)
#define R16(b) R4(b), R4((b) + 4), R4((b) + 8), R4((b) + 12)
#define R64(b) R16(b), R16((b) + 16), R16((b) + 32), R16((b) + 48)

const uint16_t se_chars[256] = {R64(0), R64(64), R64(128), R64(192)};

/* se_span_long() takes sixteen alphanumerics, '-' or '.' at a time without
 * looking at the class: every class it may be given must hold all of
 * them, that is every byte of SE_C_HOST. Checked here, on the definitions
 * the table is made of, for all 256 bytes. */
#define LONG_OK(c)                                                                          \
	(!(CLS(c) & SE_C_HOST) || (CLS(c) & SE_SPAN_LONG_CLASSES) == SE_SPAN_LONG_CLASSES)
#define A4(b) (LONG_OK(b) && LONG_OK((b) + 1) && LONG_OK((b) + 2) && LONG_OK((b) + 3))
#define A16(b) (A4(b) && A4((b) + 4) && A4((b) + 8) && A4((b) + 12))
#define A64(b) (A16(b) && A16((b) + 16) && A16((b) + 32) && A16((b) + 48))
_Static_assert(A64(0) && A64(64) && A64(128) && A64(192),
	       "a class of SE_SPAN_LONG_CLASSES lacks an alphanumeric, '-' or '.'");
