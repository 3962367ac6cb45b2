/*
 * Host syntax shared by Via sent-by, Via received/maddr and URI hosts:
 * hostname, IPv4address and IPv6reference (RFC 3261 §25.1 with the
 * RFC 5954 corrections to IPv6address). Internal to libsipedge-core.
 * The scan that finds a host's end and checks it in one pass is in
 * host_scan.h.
 */
#ifndef SE_CORE_HOST_H
#define SE_CORE_HOST_H

#include <sipedge/uri.h>

#include <stdint.h>

/* Classify and validate b[p, end) as a whole host. Returns the
 * enum se_host_type, or SE_HOST_NONE if it is not a valid host.
 * `bracketed`: an IPv6 address must be in brackets (a reference). This is
 * the definition; se_host_scan() (host_scan.h) is a faster reading of it
 * for a host whose end is not known yet, and must agree with it. */
int se_host_check(const char *b, uint32_t p, uint32_t end, int bracketed);

/* Validate b[p, end) as an IPv6address (no brackets), RFC 5954 §4.1. */
int se_host_ipv6(const char *b, uint32_t p, uint32_t end);
/* Validate b[p, end) as an IPv4address: four decimal octets 0..255. */
int se_host_ipv4(const char *b, uint32_t p, uint32_t end);

#endif
