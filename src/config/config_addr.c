/*
 * config_addr: parsing the addresses written in sipedge.yaml.
 *
 * Listeners take IP literals only: the master binds them before any
 * resolver exists, and binding to whatever a name resolves to at start-up
 * is a classic source of surprises. `advertise` may be a host name, since
 * it only goes into Via and Record-Route (RFC 3261 §18.2.1 / §16.6) and is
 * resolved by the peers, not by us; its syntax is RFC 3261 §25.1 hostport
 * with RFC 5954's bracketed IPv6.
 */
#include "config_addr.h"
#include "xmem.h"

#include <sipedge/error.h>

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

static const uint16_t default_port[] = {
    [CONFIG_TP_UDP] = 5060, [CONFIG_TP_TCP] = 5060, [CONFIG_TP_TLS] = 5061,
    [CONFIG_TP_WS] = 80,    [CONFIG_TP_WSS] = 443,
};

static int bad(const char **why, const char *msg)
{
	*why = msg;
	return SE_ECONFIG;
}

/* Decimal port 1..65535, the whole of s. */
static int parse_port(const char *s, uint16_t *port)
{
	unsigned v = 0;
	if (!*s)
		return SE_ECONFIG;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return SE_ECONFIG;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > 65535)
			return SE_ECONFIG;
	}
	if (v == 0)
		return SE_ECONFIG;
	*port = (uint16_t)v;
	return 0;
}

/*
 * Split "[v6]:port", "[v6]", "v4:port", "name:port", "name" into a host
 * (brackets stripped into *bracketed) and an optional port text. Writes
 * into buf (size INET6_ADDRSTRLEN + 256). Returns 0 or SE_ECONFIG.
 */
static int split_hostport(const char *s, char *buf, size_t size, bool *bracketed, const char **port,
                          const char **why)
{
	const char *end;
	*bracketed = s[0] == '[';
	*port = NULL;
	if (*bracketed) {
		s++;
		end = strchr(s, ']');
		if (!end)
			return bad(why, "missing ']' after the IPv6 address");
		if (end[1] == ':')
			*port = end + 2;
		else if (end[1])
			return bad(why, "unexpected text after ']'");
	} else {
		end = strchr(s, ':');
		if (end && strchr(end + 1, ':'))
			return bad(why, "IPv6 addresses must be written in brackets");
		if (end)
			*port = end + 1;
		else
			end = s + strlen(s);
	}
	if (end == s)
		return bad(why, "missing address");
	if ((size_t)(end - s) >= size)
		return bad(why, "address too long");
	memcpy(buf, s, (size_t)(end - s));
	buf[end - s] = '\0';
	return 0;
}

int config_addr_listener(const char *text, struct config_listener *l, const char **why)
{
	const char *sep = strstr(text, "://");
	if (!sep)
		return bad(why, "expected TRANSPORT://ADDRESS[:PORT]");

	int tp = 0;
	for (int t = CONFIG_TP_UDP; t <= CONFIG_TP_WSS; t++) {
		const char *name = config_transport_name(t);
		if (strlen(name) == (size_t)(sep - text) &&
		    strncasecmp(text, name, (size_t)(sep - text)) == 0)
			tp = t;
	}
	if (!tp)
		return bad(why, "unknown transport (use udp, tcp, tls, ws or wss)");

	char host[INET6_ADDRSTRLEN + 256];
	const char *port;
	bool bracketed;
	if (split_hostport(sep + 3, host, sizeof(host), &bracketed, &port, why))
		return SE_ECONFIG;

	struct config_listener r = {.transport = (uint8_t)tp, .port = default_port[tp]};
	if (port && parse_port(port, &r.port))
		return bad(why, "bad port");
	if (strlen(host) >= sizeof(r.host))
		return bad(why, "address must be an IP address");
	if (bracketed) {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&r.addr;
		if (inet_pton(AF_INET6, host, &sa->sin6_addr) != 1)
			return bad(why, "bad IPv6 address");
		sa->sin6_family = AF_INET6;
		sa->sin6_port = htons(r.port);
		r.family = AF_INET6;
	} else {
		struct sockaddr_in *sa = (struct sockaddr_in *)&r.addr;
		if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
			return bad(why, "address must be an IP address (IPv6 in brackets)");
		sa->sin_family = AF_INET;
		sa->sin_port = htons(r.port);
		r.family = AF_INET;
	}
	memcpy(r.host, host, strlen(host) + 1);
	r.line = l->line;
	r.col = l->col;
	*l = r;
	return 0;
}

bool config_addr_same(const struct config_listener *a, const struct config_listener *b)
{
	if (a->transport != b->transport || a->family != b->family || a->port != b->port)
		return false;
	if (a->family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)&a->addr)->sin_addr,
		              &((const struct sockaddr_in *)&b->addr)->sin_addr,
		              sizeof(struct in_addr)) == 0;
	return memcmp(&((const struct sockaddr_in6 *)&a->addr)->sin6_addr,
	              &((const struct sockaddr_in6 *)&b->addr)->sin6_addr,
	              sizeof(struct in6_addr)) == 0;
}

/* RFC 1123 host name: dot-separated labels of letters, digits and '-', no
 * label empty, longer than 63 or starting/ending with '-'; at most 253. */
static bool valid_hostname(const char *s)
{
	size_t len = strlen(s), label = 0;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = s[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		           (c >= '0' && c <= '9') || (c == '-' && label > 0)) {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

int config_addr_hostport(const char *text, char **host, uint16_t *port, const char **why)
{
	char buf[INET6_ADDRSTRLEN + 256];
	const char *port_text;
	bool bracketed;
	unsigned char scratch[sizeof(struct in6_addr)];

	if (split_hostport(text, buf, sizeof(buf), &bracketed, &port_text, why))
		return SE_ECONFIG;
	*port = 0;
	if (port_text && parse_port(port_text, port))
		return bad(why, "bad port");
	if (bracketed) {
		if (inet_pton(AF_INET6, buf, scratch) != 1)
			return bad(why, "bad IPv6 address");
		size_t n = strlen(buf);
		*host = xmem_malloc(n + 3);
		(*host)[0] = '[';
		memcpy(*host + 1, buf, n);
		memcpy(*host + 1 + n, "]", 2);
		return 0;
	}
	if (inet_pton(AF_INET, buf, scratch) != 1) {
		/* A name whose last label is all digits would be an IPv4 typo. */
		const char *last = strrchr(buf, '.');
		last = last ? last + 1 : buf;
		if (strspn(last, "0123456789") == strlen(last))
			return bad(why, "bad IPv4 address");
		if (!valid_hostname(buf))
			return bad(why, "bad host name");
	}
	*host = xmem_strdup(buf);
	return 0;
}
