/*
 * policy_dest: from a destination URI to an address to send to.
 *
 * sip: and sips: URIs only (RFC 3261 §19.1); the transport is the URI's
 * transport parameter, else UDP for sip: and TLS for sips: (RFC 3263 §4.1
 * without the DNS steps); the port is the URI's, else 5060 / 5061. The host
 * must be an IP literal until the resolver exists: accepting a name and
 * failing per call would hide a configuration error until traffic comes.
 * Transports other than UDP are refused for the same reason, as for
 * `listen` in the server config.
 */
#include "policy_dest.h"

#include <sipedge/error.h>
#include <sipedge/uri.h>

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

/* The URI's transport parameter, or the scheme's default. Returns the
 * enum config_transport, or 0 for an unknown name. */
static int uri_transport(const char *text, const struct se_uri *u)
{
	struct se_range v;
	if (!se_uri_param(text, u, "transport", &v))
		return u->scheme == SE_URI_SIPS ? CONFIG_TP_TLS : CONFIG_TP_UDP;
	for (int t = CONFIG_TP_UDP; t <= CONFIG_TP_WSS; t++)
		if (se_range_ieq(text, v, config_transport_name(t)))
			return t;
	return 0;
}

int policy_dest_parse(const struct ydoc_node *n, struct policy_dest *d, struct ydoc_errs *errs)
{
	const char *text = n->scalar.str, *why;
	struct se_uri u;

	if (n->scalar.len > UINT32_MAX ||
	    se_uri_parse(text, 0, (uint32_t)n->scalar.len, &u, &why)) {
		ydoc_errs_add(errs, n, "bad destination URI '%s': %s", text, why);
		return SE_ECONFIG;
	}
	if (u.scheme != SE_URI_SIP && u.scheme != SE_URI_SIPS) {
		ydoc_errs_add(errs, n, "destination URI '%s' must be sip: or sips:", text);
		return SE_ECONFIG;
	}
	int tp = uri_transport(text, &u);
	if (!tp) {
		ydoc_errs_add(errs, n, "bad destination URI '%s': unknown transport", text);
		return SE_ECONFIG;
	}
	if (u.scheme == SE_URI_SIPS && tp != CONFIG_TP_TLS && tp != CONFIG_TP_WSS) {
		/* RFC 5630 §3.1.3: sips means TLS on every hop. */
		ydoc_errs_add(errs, n, "destination URI '%s': sips: requires transport tls or wss",
		              text);
		return SE_ECONFIG;
	}
	if (u.host_type != SE_HOST_IPV4 && u.host_type != SE_HOST_IPV6) {
		ydoc_errs_add(errs, n,
		              "destination host must be an IP address until DNS resolution "
		              "is supported");
		return SE_ECONFIG;
	}
	if (tp != CONFIG_TP_UDP) {
		ydoc_errs_add(errs, n, "destination transport %s is not supported yet",
		              config_transport_name(tp));
		return SE_ECONFIG;
	}

	/* The host range is validated by the URI parser; copy it out to give
	 * inet_pton a terminated string, IPv6 without its brackets. */
	char host[INET6_ADDRSTRLEN + 2];
	uint32_t off = u.host.off, len = u.host.len;
	if (u.host_type == SE_HOST_IPV6) {
		off++;
		len -= 2;
	}
	if (len >= sizeof(host)) {
		ydoc_errs_add(errs, n, "bad destination URI '%s': bad host", text);
		return SE_ECONFIG;
	}
	memcpy(host, text + off, len);
	host[len] = '\0';

	uint16_t port = se_uri_port(text, &u);
	memset(&d->addr, 0, sizeof(d->addr));
	int ok;
	if (u.host_type == SE_HOST_IPV4) {
		struct sockaddr_in *sa = (struct sockaddr_in *)&d->addr;
		sa->sin_family = AF_INET;
		sa->sin_port = htons(port);
		ok = inet_pton(AF_INET, host, &sa->sin_addr);
	} else {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&d->addr;
		sa->sin6_family = AF_INET6;
		sa->sin6_port = htons(port);
		ok = inet_pton(AF_INET6, host, &sa->sin6_addr);
	}
	if (ok != 1) {
		ydoc_errs_add(errs, n, "bad destination URI '%s': bad host", text);
		return SE_ECONFIG;
	}
	d->port = port;
	d->scheme = u.scheme;
	d->transport = (uint8_t)tp;
	return 0;
}
