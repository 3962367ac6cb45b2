/*
 * config_addr: the address forms of sipedge.yaml, `listen` URIs
 * (udp://127.0.0.1:5060, tls://[::1]:5061) and `advertise` host[:port].
 * Internal to the config module.
 */
#ifndef SE_CONFIG_ADDR_H
#define SE_CONFIG_ADDR_H

#include "config.h"

/*
 * Parse a listen URI TRANSPORT://ADDRESS[:PORT] into *l (line and col
 * untouched). ADDRESS must be an IP literal, IPv6 in brackets; a missing
 * port is the transport's default (5060 udp/tcp, 5061 tls, 80 ws, 443 wss).
 * Returns 0, or SE_ECONFIG with *why a static phrase.
 */
int config_addr_listener(const char *text, struct config_listener *l, const char **why);

/* Same transport, address and port. */
bool config_addr_same(const struct config_listener *a, const struct config_listener *b);

/*
 * Parse HOST[:PORT] where HOST is a host name, an IPv4 address or an IPv6
 * address in brackets. *host gets a malloc'd copy of HOST (brackets kept,
 * as it goes into Via), *port the port or 0. Returns 0, or SE_ECONFIG with
 * *why a static phrase and nothing allocated.
 */
int config_addr_hostport(const char *text, char **host, uint16_t *port, const char **why);

#endif
