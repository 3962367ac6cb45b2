/*
 * policy_req: a struct policy_req from a request line, for `--explain`
 * (sipedge and sipedgectl) and for tests: "INVITE sip:+4930123@example.net"
 * or the full RFC 3261 §7.1 Request-Line "INVITE sip:... SIP/2.0".
 *
 * The URI goes through the core parser (sipedge/uri.h), so the user and
 * host seen here are the ones the proxy sees for the same message; From
 * and To are taken to be the Request-URI, which is what an operator
 * asking "where does a call to X go" means.
 */
#include "policy_match.h"

#include <sipedge/error.h>
#include <sipedge/uri.h>

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

/* RFC 3261 §25.1 token characters. */
static bool is_token(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("-.!%*_+`'~", c));
}

static const char *const transports[] = {"udp", "tcp", "tls", "ws", "wss"};

static int parse_source(struct policy_req *rq, const char *ip)
{
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(ip);
	if (n >= 2 && ip[0] == '[' && ip[n - 1] == ']') { /* [2001:db8::1] */
		ip++;
		n -= 2;
	}
	if (n >= sizeof(buf))
		return SE_EPARSE;
	memcpy(buf, ip, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, &rq->src.in.sin_addr) == 1) {
		rq->src.in.sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, &rq->src.in6.sin6_addr) == 1) {
		rq->src.in6.sin6_family = AF_INET6;
		return 0;
	}
	return SE_EPARSE;
}

static struct policy_str range_str(const char *base, struct se_range r)
{
	return (struct policy_str){base + r.off, r.len};
}

int policy_req_from_line(struct policy_req *rq, const char *line, const char *from_ip,
			 const char *transport, const char **why)
{
	memset(rq, 0, sizeof(*rq));
	rq->src.sa.sa_family = AF_UNSPEC;
	const char *unused;
	if (!why)
		why = &unused;

	size_t len = strlen(line);
	while (len && strchr(" \t\r\n", line[len - 1]))
		len--;
	size_t i = 0;
	while (i < len && line[i] == ' ')
		i++;
	size_t m = i;
	while (i < len && is_token((unsigned char)line[i]))
		i++;
	if (i == m || (i < len && line[i] != ' ')) {
		*why = i == m ? "expected a method" : "bad character in the method";
		return SE_EPARSE;
	}
	rq->method = (struct policy_str){line + m, (uint32_t)(i - m)};
	while (i < len && line[i] == ' ')
		i++;
	size_t u = i;
	while (i < len && line[i] != ' ')
		i++;
	if (i == u) {
		*why = "expected a request-uri after the method";
		return SE_EPARSE;
	}
	size_t uend = i;
	while (i < len && line[i] == ' ')
		i++;
	if (i < len && (len - i != 7 || strncmp(line + i, "SIP/2.0", 7) != 0)) {
		*why = "expected SIP/2.0 or the end after the request-uri";
		return SE_EPARSE;
	}
	if (uend > UINT32_MAX) {
		*why = "line too long";
		return SE_EPARSE;
	}

	struct se_uri uri;
	if (se_uri_parse(line, (uint32_t)u, (uint32_t)(uend - u), &uri, why) < 0)
		return SE_EPARSE;
	if (uri.scheme != SE_URI_SIP && uri.scheme != SE_URI_SIPS && uri.scheme != SE_URI_TEL) {
		*why = "the request-uri must be sip:, sips: or tel:";
		return SE_EPARSE;
	}
	const char *colon = memchr(line + u, ':', uend - u);
	rq->ruri_scheme = (struct policy_str){line + u, (uint32_t)(colon - (line + u))};
	rq->ruri_user = rq->from_user = rq->to_user = range_str(line, uri.user);
	rq->ruri_host = rq->from_host = rq->to_host = range_str(line, uri.host);

	if (!transport)
		transport = "udp";
	size_t t = 0;
	while (t < sizeof(transports) / sizeof(*transports) && strcasecmp(transport, transports[t]))
		t++;
	if (t == sizeof(transports) / sizeof(*transports)) {
		*why = "unknown transport (udp, tcp, tls, ws or wss)";
		return SE_EPARSE;
	}
	rq->transport = (struct policy_str){transport, (uint32_t)strlen(transport)};

	if (from_ip && *from_ip && parse_source(rq, from_ip) < 0) {
		memset(&rq->src, 0, sizeof(rq->src));
		*why = "bad source address (an IPv4 or IPv6 literal)";
		return SE_EPARSE;
	}
	return 0;
}
