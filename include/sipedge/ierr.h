/*
 * The internal error responses of sipedge (DESIGN.md, "Internal error
 * responses"): what the proxy answers upstream when it, not a downstream
 * element, fails a request. Each has a code, a reason phrase and an id;
 * the ids name them in logs, metrics, `sipedgectl stats` and the policy's
 * `on-error` reactions. One list, so the four never disagree.
 */
#ifndef SIPEDGE_IERR_H
#define SIPEDGE_IERR_H

#include <stddef.h>
#include <stdint.h>

/* XX(NAME, id, code, reason) */
#define SE_IERR_MAP(XX)                                                                        \
	XX(CLIENT_TIMEOUT, "client_timeout", 408, "Client Timeout")                            \
	XX(CONNECTION_ERROR, "connection_error", 500, "Connection Error")                      \
	XX(TLS_VALIDATION_FAILED, "tls_validation_failed", 500, "TLS Validation Failed")       \
	XX(FLOW_FAILED, "flow_failed", 430, "Flow Failed")                                     \
	XX(NO_DNS_RESOLUTION, "no_dns_resolution", 404, "No DNS Resolution")                   \
	XX(UNSUPPORTED_URI_SCHEME, "unsupported_uri_scheme", 416, "Unsupported URI Scheme")    \
	XX(UNSUPPORTED_TRANSPORT, "unsupported_transport", 478, "Unsupported Transport")       \
	XX(NO_IPV4, "no_ipv4", 478, "Destination Requires Unsupported IPv4")                   \
	XX(NO_IPV6, "no_ipv6", 478, "Destination Requires Unsupported IPv6")                   \
	XX(NO_DNS, "no_dns", 478, "Destination Requires Unsupported DNS Resolution")           \
	XX(DESTINATION_ABORTED, "destination_aborted", 403, "Destination Aborted")             \
	XX(DESTINATION_BLACKLISTED, "destination_blacklisted", 403, "Destination Blacklisted") \
	XX(INVITE_TIMEOUT, "invite_timeout", 408, "INVITE Timeout")

enum se_ierr {
#define XX(name, id, code, reason) SE_IERR_##name,
	SE_IERR_MAP(XX)
#undef XX
	SE_IERR__COUNT
};

struct se_ierr_info {
	const char *id;     /* "client_timeout" */
	uint16_t code;      /* 408 */
	const char *reason; /* "Client Timeout" */
};

/* The table entry of e (e < SE_IERR__COUNT). */
const struct se_ierr_info *se_ierr_info(enum se_ierr e);

/* The error whose id is the len bytes at id, or -1. */
int se_ierr_by_id(const char *id, size_t len);

#endif
