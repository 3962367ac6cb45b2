/*
 * URI parsing and comparison: sip:, sips: (RFC 3261 §19.1, §25.1 with the
 * RFC 5954 IPv6 corrections) and tel: (RFC 3966); any other scheme is
 * accepted as an RFC 3986/2396 absoluteURI and kept raw.
 *
 * Zero-copy: the caller owns the buffer; the parser writes ranges relative
 * to `base` into a caller-owned struct se_uri. Nothing is allocated and
 * nothing is decoded in place: escaped user parts stay escaped (flag
 * SE_URI_F_ESCAPED), and comparison decodes on the fly.
 */
#ifndef SIPEDGE_URI_H
#define SIPEDGE_URI_H

#include <sipedge/range.h>

enum se_uri_scheme {
	SE_URI_SIP = 1,
	SE_URI_SIPS,
	SE_URI_TEL,
	SE_URI_OTHER, /* absoluteURI: only scheme and the raw rest are set */
};

enum se_host_type {
	SE_HOST_NONE = 0, /* tel: and absoluteURI */
	SE_HOST_NAME,
	SE_HOST_IPV4,
	SE_HOST_IPV6, /* host range includes the brackets: "[::1]" */
};

/* flags */
#define SE_URI_F_LR 0x01       /* ;lr present */
#define SE_URI_F_PORT 0x02     /* an explicit port was given (even :5060) */
#define SE_URI_F_ESCAPED 0x04  /* user or password contains %HH escapes */
#define SE_URI_F_PASSWORD 0x08 /* "user:password@" form, password may be empty */
#define SE_URI_F_USER 0x10     /* userinfo present ("@" seen) */

struct se_uri {
	uint8_t scheme;    /* enum se_uri_scheme */
	uint8_t host_type; /* enum se_host_type */
	uint8_t flags;     /* SE_URI_F_* */
	uint16_t port;     /* valid when SE_URI_F_PORT */
	struct se_range whole;    /* the URI as parsed */
	struct se_range user;     /* sip/sips user (escaped as written); tel: the number */
	struct se_range password; /* after ':' in userinfo */
	struct se_range host;     /* hostname, IPv4, or "[IPv6]" with brackets */
	struct se_range params;   /* after the first ';' up to '?' or end, without the ';' */
	struct se_range headers;  /* after '?', without the '?' */
	/* well-known uri-parameters, value ranges (lr is a flag) */
	struct se_range transport;
	struct se_range user_param; /* ;user= */
	struct se_range maddr;
	struct se_range ttl;
	struct se_range method;
};

/*
 * Parse the URI text base[off, off+len) into *u. The text must be the URI
 * alone (no surrounding <> or whitespace). Returns 0, or SE_EPARSE with
 * *why (if non-NULL) set to a static phrase naming the fault ("bad host",
 * "bad port", ...). *u is fully written on success and unspecified on error.
 * SE_EINVAL (why "bad argument") when off + len does not fit in 32 bits.
 */
int se_uri_parse(const char *base, uint32_t off, uint32_t len, struct se_uri *u,
		 const char **why);

/*
 * RFC 3261 §19.1.4 comparison of two parsed sip/sips URIs, each against its
 * own base. Returns true when equivalent: scheme equal, user and password
 * case-sensitive after unescaping, host case-insensitive, port equal
 * (absent != 5060), user/ttl/method/maddr/transport parameters must match
 * when either side has them, other parameters only when both have them,
 * headers all must match. tel: URIs compare by number and parameters
 * (RFC 3966 §4); other schemes compare byte-for-byte.
 */
bool se_uri_equal(const char *abase, const struct se_uri *a, const char *bbase,
		  const struct se_uri *b);

/*
 * Look up a uri-parameter by name (case-insensitive) in u->params.
 * Returns true if present; *val is its value range (len 0 when the
 * parameter has no value).
 */
bool se_uri_param(const char *base, const struct se_uri *u, const char *name,
		  struct se_range *val);

/* Default port for the URI's scheme and transport: 5061 for sips or
 * transport=tls, 5060 otherwise. The explicit port when one was given. */
uint16_t se_uri_port(const char *base, const struct se_uri *u);

#endif
