/*
 * Header names known to sipedge: full and compact forms (RFC 3261 §7.3.3,
 * §20 and the IANA SIP header registry), and methods (RFC 3261 §7.1 plus
 * the common extensions).
 *
 * Every header of a message gets an id from this list (SE_HDR_OTHER when
 * unknown). Lookup is case-insensitive and does not allocate.
 */
#ifndef SIPEDGE_HDR_H
#define SIPEDGE_HDR_H

#include <stddef.h>
#include <stdint.h>

/* XX(id, canonical name, compact form or 0) */
#define SE_HDR_MAP(XX)                                                   \
	XX(VIA, "Via", 'v')                                              \
	XX(FROM, "From", 'f')                                            \
	XX(TO, "To", 't')                                                \
	XX(CALL_ID, "Call-ID", 'i')                                      \
	XX(CSEQ, "CSeq", 0)                                              \
	XX(MAX_FORWARDS, "Max-Forwards", 0)                              \
	XX(ROUTE, "Route", 0)                                            \
	XX(RECORD_ROUTE, "Record-Route", 0)                              \
	XX(PATH, "Path", 0)                                              \
	XX(CONTACT, "Contact", 'm')                                      \
	XX(CONTENT_LENGTH, "Content-Length", 'l')                        \
	XX(CONTENT_TYPE, "Content-Type", 'c')                            \
	XX(CONTENT_ENCODING, "Content-Encoding", 'e')                    \
	XX(PROXY_REQUIRE, "Proxy-Require", 0)                            \
	XX(REQUIRE, "Require", 0)                                        \
	XX(SUPPORTED, "Supported", 'k')                                  \
	XX(UNSUPPORTED, "Unsupported", 0)                                \
	XX(MAX_BREADTH, "Max-Breadth", 0)                                \
	XX(REASON, "Reason", 0)                                          \
	XX(EXPIRES, "Expires", 0)                                        \
	XX(SUBJECT, "Subject", 's')                                      \
	XX(EVENT, "Event", 'o')                                          \
	XX(ALLOW_EVENTS, "Allow-Events", 'u')                            \
	XX(REFER_TO, "Refer-To", 'r')                                    \
	XX(REFERRED_BY, "Referred-By", 'b')                              \
	XX(ACCEPT_CONTACT, "Accept-Contact", 'a')                        \
	XX(REJECT_CONTACT, "Reject-Contact", 'j')                        \
	XX(REQUEST_DISPOSITION, "Request-Disposition", 'd')              \
	XX(SESSION_EXPIRES, "Session-Expires", 'x')                      \
	XX(IDENTITY, "Identity", 'y')                                    \
	XX(IDENTITY_INFO, "Identity-Info", 'n')                          \
	XX(ALLOW, "Allow", 0)                                            \
	XX(ACCEPT, "Accept", 0)                                          \
	XX(AUTHORIZATION, "Authorization", 0)                            \
	XX(PROXY_AUTHORIZATION, "Proxy-Authorization", 0)                \
	XX(WWW_AUTHENTICATE, "WWW-Authenticate", 0)                      \
	XX(PROXY_AUTHENTICATE, "Proxy-Authenticate", 0)                  \
	XX(RETRY_AFTER, "Retry-After", 0)                                \
	XX(TIMESTAMP, "Timestamp", 0)                                    \
	XX(SERVER, "Server", 0)                                          \
	XX(USER_AGENT, "User-Agent", 0)                                  \
	XX(MIN_EXPIRES, "Min-Expires", 0)                                \
	XX(WARNING, "Warning", 0)

enum se_hdr_id {
	SE_HDR_OTHER = 0,
#define XX(id, name, c) SE_HDR_##id,
	SE_HDR_MAP(XX)
#undef XX
	SE_HDR__COUNT
};

/* Id of a header name (full or compact, any case); SE_HDR_OTHER if unknown. */
enum se_hdr_id se_hdr_lookup(const char *name, size_t len);
/* Canonical name of an id ("Call-ID"); "" for SE_HDR_OTHER. */
const char *se_hdr_name(enum se_hdr_id id);

#define SE_METHOD_MAP(XX)                                                \
	XX(INVITE)                                                       \
	XX(ACK)                                                          \
	XX(CANCEL)                                                       \
	XX(BYE)                                                          \
	XX(OPTIONS)                                                      \
	XX(REGISTER)                                                     \
	XX(PRACK)                                                        \
	XX(SUBSCRIBE)                                                    \
	XX(NOTIFY)                                                       \
	XX(PUBLISH)                                                      \
	XX(INFO)                                                         \
	XX(REFER)                                                        \
	XX(MESSAGE)                                                      \
	XX(UPDATE)

enum se_method {
	SE_METHOD_OTHER = 0, /* an extension method: compare by name */
#define XX(m) SE_METHOD_##m,
	SE_METHOD_MAP(XX)
#undef XX
	SE_METHOD__COUNT
};

/* Method id of a method token; case-sensitive (RFC 3261 §7.1). */
enum se_method se_method_lookup(const char *name, size_t len);
/* Name of a method id; "" for SE_METHOD_OTHER. */
const char *se_method_name(enum se_method m);

#endif
