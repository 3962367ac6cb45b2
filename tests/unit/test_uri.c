/*
 * Unit tests of the URI module (src/core/uri.c, uri_equal.c): RFC 3261
 * §19.1 / §25.1 SIP and SIPS URIs (the §19.1.3 examples, the §19.1.4
 * comparison pairs), RFC 4475 and RFC 5118 URIs, RFC 3966 tel URIs and
 * absoluteURIs. Every parse places its input right before a PROT_NONE page
 * (guard.h), so a read past the end faults instead of passing unseen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sipedge/error.h>
#include <sipedge/uri.h>

#include "guard.h"
#include "host_scan.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define F_U  SE_URI_F_USER
#define F_PW SE_URI_F_PASSWORD
#define F_E  SE_URI_F_ESCAPED
#define F_P  SE_URI_F_PORT
#define F_LR SE_URI_F_LR

/* Parse s placed before the guard page; *base receives the placed copy. */
static int parse_guarded(const char *s, struct se_uri *u, const char **why, const char **base)
{
	size_t n = strlen(s);
	*base = guard_place(s, n);
	return se_uri_parse(*base, 0, (uint32_t)n, u, why);
}

static void check_range(const char *in, const char *what, const char *base, struct se_range r,
                        const char *want)
{
	if (!want)
		want = "";
	if (r.len != strlen(want) || memcmp(base + r.off, want, r.len) != 0)
		fail_msg("%s: %s is \"%.*s\", want \"%s\"", in, what, (int)r.len, base + r.off,
		         want);
}

/* ---- valid URIs --------------------------------------------------- */

struct valid_case {
	const char *in;
	uint8_t scheme, host_type, flags;
	uint16_t port;
	const char *user, *password, *host, *params, *headers;
	const char *transport, *user_param, *maddr, *ttl, *method;
};

static const struct valid_case valid_cases[] = {
    /* RFC 3261 §19.1.3 */
    {.in = "sip:alice@atlanta.com",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .flags = F_U,
     .user = "alice",
     .host = "atlanta.com"},
    {.in = "sip:alice:secretword@atlanta.com;transport=tcp",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .flags = F_U | F_PW,
     .user = "alice",
     .password = "secretword",
     .host = "atlanta.com",
     .params = "transport=tcp",
     .transport = "tcp"},
    {.in = "sips:alice@atlanta.com?subject=project%20x&priority=urgent",
     .scheme = SE_URI_SIPS,
     .host_type = SE_HOST_NAME,
     .flags = F_U,
     .user = "alice",
     .host = "atlanta.com",
     .headers = "subject=project%20x&priority=urgent"},
    {.in = "sip:+1-212-555-1212:1234@gateway.com;user=phone",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .flags = F_U | F_PW,
     .user = "+1-212-555-1212",
     .password = "1234",
     .host = "gateway.com",
     .params = "user=phone",
     .user_param = "phone"},
    {.in = "sips:1212@gateway.com",
     .scheme = SE_URI_SIPS,
     .host_type = SE_HOST_NAME,
     .flags = F_U,
     .user = "1212",
     .host = "gateway.com"},
    {.in = "sip:alice@192.0.2.4",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_IPV4,
     .flags = F_U,
     .user = "alice",
     .host = "192.0.2.4"},
    {.in = "sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .host = "atlanta.com",
     .params = "method=REGISTER",
     .method = "REGISTER",
     .headers = "to=alice%40atlanta.com"},
    {.in = "sip:alice;day=tuesday@atlanta.com",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .flags = F_U,
     .user = "alice;day=tuesday",
     .host = "atlanta.com"},
    /* RFC 3261 §19.1.4 */
    {.in = "sip:%61lice@atlanta.com;transport=TCP",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .flags = F_U | F_E,
     .user = "%61lice",
     .host = "atlanta.com",
     .params = "transport=TCP",
     .transport = "TCP"},
    {.in = "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .host = "biloxi.com",
     .params = "transport=tcp;method=REGISTER",
     .transport = "tcp",
     .method = "REGISTER",
     .headers = "to=sip:bob%40biloxi.com"},
    {.in = "sip:bob@biloxi.com:6000;transport=tcp",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .flags = F_U | F_P,
     .port = 6000,
     .user = "bob",
     .host = "biloxi.com",
     .params = "transport=tcp",
     .transport = "tcp"},
    /* RFC 5118 */
    {.in = "sip:[2001:db8::10]",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_IPV6,
     .host = "[2001:db8::10]"},
    {.in = "sip:[2001:db8::10:5070]",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_IPV6,
     .host = "[2001:db8::10:5070]"},
    {.in = "sip:[2001:db8::10]:5070",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_IPV6,
     .flags = F_P,
     .port = 5070,
     .host = "[2001:db8::10]"},
    {.in = "sip:user@[2001:db8::10]",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_IPV6,
     .flags = F_U,
     .user = "user",
     .host = "[2001:db8::10]"},
    {.in = "sip:caller@[2001:db8::1]",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_IPV6,
     .flags = F_U,
     .user = "caller",
     .host = "[2001:db8::1]"},
    {.in = "sip:user@[2001:db8::9:1];lr",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_IPV6,
     .flags = F_U | F_LR,
     .user = "user",
     .host = "[2001:db8::9:1]",
     .params = "lr"},
    {.in = "sip:[::ffff:192.0.2.1]",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_IPV6,
     .host = "[::ffff:192.0.2.1]"},
    {.in = "sip:user@[2001:db8::192.0.2.1]:5061",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_IPV6,
     .flags = F_U | F_P,
     .port = 5061,
     .user = "user",
     .host = "[2001:db8::192.0.2.1]"},
    {.in = "sip:[1:2:3:4:5:6:7:8]",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_IPV6,
     .host = "[1:2:3:4:5:6:7:8]"},
    {.in = "sip:[1:2:3:4:5:6:1.2.3.4]",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_IPV6,
     .host = "[1:2:3:4:5:6:1.2.3.4]"},
    {.in = "sip:[::]", .scheme = SE_URI_SIP, .host_type = SE_HOST_IPV6, .host = "[::]"},
    {.in = "sip:[1::]:0",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_IPV6,
     .flags = F_P,
     .port = 0,
     .host = "[1::]"},
    /* RFC 5118 §4.10: RFC 3261's ABNF allowed the third colon by accident;
     * RFC 5954 does not, RFC 5118 asks receivers to be robust */
    {.in = "sip:user@[2001:db8:::192.0.2.1]",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_IPV6,
     .flags = F_U,
     .user = "user",
     .host = "[2001:db8:::192.0.2.1]"},
    {.in = "sip:[:::192.0.2.1]",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_IPV6,
     .host = "[:::192.0.2.1]"},
    {.in = "sip:[1:2:3:4:5:6:7::]",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_IPV6,
     .host = "[1:2:3:4:5:6:7::]"},
    {.in = "sip:[::2:3:4:5:6:7:8]",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_IPV6,
     .host = "[::2:3:4:5:6:7:8]"},
    /* RFC 4475 */
    {.in = "sip:user;par=u%40example.net@example.com",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .flags = F_U | F_E,
     .user = "user;par=u%40example.net",
     .host = "example.com"},
    {.in = "sip:sips%3Auser%40example.com@example.net",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .flags = F_U | F_E,
     .user = "sips%3Auser%40example.com",
     .host = "example.net"},
    {.in = "sip:null-%00-null@example.com",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .flags = F_U | F_E,
     .user = "null-%00-null",
     .host = "example.com"},
    {.in = "sip:%75se%72@example.com",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .flags = F_U | F_E,
     .user = "%75se%72",
     .host = "example.com"},
    {.in = "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too."
           "(doesn't-it)@example.com",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .flags = F_U | F_PW,
     .user = "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*",
     .password = "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)",
     .host = "example.com"},
    {.in = "sip:user@example.com?Route=%3Csip:example.com%3E",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .flags = F_U,
     .user = "user",
     .host = "example.com",
     .headers = "Route=%3Csip:example.com%3E"},
    {.in = "sip:vivekg@chair-dnrc.example.com;unknownparam",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .flags = F_U,
     .user = "vivekg",
     .host = "chair-dnrc.example.com",
     .params = "unknownparam"},
    /* schemes are case-insensitive */
    {.in = "SIP:alice@atlanta.com",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .flags = F_U,
     .user = "alice",
     .host = "atlanta.com"},
    {.in = "SiPs:bob@biloxi.example.com:5061;transport=tls;lr",
     .scheme = SE_URI_SIPS,
     .host_type = SE_HOST_NAME,
     .flags = F_U | F_P | F_LR,
     .port = 5061,
     .user = "bob",
     .host = "biloxi.example.com",
     .params = "transport=tls;lr",
     .transport = "tls"},
    /* parameters */
    {.in = "sip:alice@atlanta.com;ttl=15;maddr=239.255.255.1",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .flags = F_U,
     .user = "alice",
     .host = "atlanta.com",
     .params = "ttl=15;maddr=239.255.255.1",
     .ttl = "15",
     .maddr = "239.255.255.1"},
    {.in = "sip:biloxi.com:5060;maddr=[2001:db8::1];ttl=0;lr",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .flags = F_P | F_LR,
     .port = 5060,
     .host = "biloxi.com",
     .params = "maddr=[2001:db8::1];ttl=0;lr",
     .maddr = "[2001:db8::1]",
     .ttl = "0"},
    {.in = "sip:h;transport=udp;user=ip;method=INVITE;ttl=255;maddr=example.com;lr",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .flags = F_LR,
     .host = "h",
     .params = "transport=udp;user=ip;method=INVITE;ttl=255;maddr=example.com;lr",
     .transport = "udp",
     .user_param = "ip",
     .method = "INVITE",
     .ttl = "255",
     .maddr = "example.com"},
    {.in = "sip:alice@atlanta.com;lr=on",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .flags = F_U | F_LR,
     .user = "alice",
     .host = "atlanta.com",
     .params = "lr=on"},
    {.in = "sip:h;tr%61nsport=udp;LR",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .flags = F_LR,
     .host = "h",
     .params = "tr%61nsport=udp;LR",
     .transport = "udp"},
    {.in = "sip:h;x-a=%41[b]/:&+$;y",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .host = "h",
     .params = "x-a=%41[b]/:&+$;y"},
    /* headers */
    {.in = "sip:bob@[::1]:5060;transport=tcp?h=&i=2",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_IPV6,
     .flags = F_U | F_P,
     .port = 5060,
     .user = "bob",
     .host = "[::1]",
     .params = "transport=tcp",
     .transport = "tcp",
     .headers = "h=&i=2"},
    {.in = "sip:h?a=[x]/?:+$",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .host = "h",
     .headers = "a=[x]/?:+$"},
    /* userinfo and hostport edges */
    {.in = "sip:user:@host",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .flags = F_U | F_PW,
     .user = "user",
     .host = "host"},
    {.in = "sip:u:p%41ss@host",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .flags = F_U | F_PW | F_E,
     .user = "u",
     .password = "p%41ss",
     .host = "host"},
    {.in = "sip:host:65535",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .flags = F_P,
     .port = 65535,
     .host = "host"},
    {.in = "sip:host:00005060",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .flags = F_P,
     .port = 5060,
     .host = "host"},
    {.in = "sip:example.com.",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .host = "example.com."},
    {.in = "sip:a-b.c-d.example",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_NAME,
     .host = "a-b.c-d.example"},
    {.in = "sip:1.2.3.a", .scheme = SE_URI_SIP, .host_type = SE_HOST_NAME, .host = "1.2.3.a"},
    {.in = "sip:0.0.0.0:5060",
     .scheme = SE_URI_SIP,
     .host_type = SE_HOST_IPV4,
     .flags = F_P,
     .port = 5060,
     .host = "0.0.0.0"},
    /* RFC 3966 tel */
    {.in = "tel:+1-201-555-0123", .scheme = SE_URI_TEL, .user = "+1-201-555-0123"},
    {.in = "TEL:+49(0)30.1234", .scheme = SE_URI_TEL, .user = "+49(0)30.1234"},
    {.in = "tel:7042;phone-context=example.com",
     .scheme = SE_URI_TEL,
     .user = "7042",
     .params = "phone-context=example.com"},
    {.in = "tel:863-1234;phone-context=+1-914-555",
     .scheme = SE_URI_TEL,
     .user = "863-1234",
     .params = "phone-context=+1-914-555"},
    {.in = "tel:*21#;phone-context=+1",
     .scheme = SE_URI_TEL,
     .user = "*21#",
     .params = "phone-context=+1"},
    {.in = "tel:+1-201-555-0123;ext=1234;isub=a/b?c@d=e,f;foo=b%41r;bar",
     .scheme = SE_URI_TEL,
     .user = "+1-201-555-0123",
     .params = "ext=1234;isub=a/b?c@d=e,f;foo=b%41r;bar"},
    {.in = "tel:abc;Phone-Context=x.example",
     .scheme = SE_URI_TEL,
     .user = "abc",
     .params = "Phone-Context=x.example"},
    /* absoluteURI */
    {.in = "nobodyKnowsThisScheme:totallyopaquecontent", .scheme = SE_URI_OTHER},
    {.in = "soap.beep://192.0.2.103:3002", .scheme = SE_URI_OTHER},
    {.in = "mailto:alice@example.com", .scheme = SE_URI_OTHER},
    {.in = "http://example.com/a%20b?c=d#frag", .scheme = SE_URI_OTHER},
    {.in = "urn:service:sos", .scheme = SE_URI_OTHER},
    {.in = "sipx:alice@atlanta.com", .scheme = SE_URI_OTHER},
};

static void test_uri_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(valid_cases); i++) {
		const struct valid_case *t = &valid_cases[i];
		struct se_uri u;
		const char *why = NULL, *base;
		int rc = parse_guarded(t->in, &u, &why, &base);
		if (rc != 0)
			fail_msg("%s: rc %d (%s)", t->in, rc, why ? why : "?");
		if (u.scheme != t->scheme || u.host_type != t->host_type || u.flags != t->flags)
			fail_msg("%s: scheme %u host_type %u flags %#x, want %u %u %#x", t->in,
			         u.scheme, u.host_type, u.flags, t->scheme, t->host_type, t->flags);
		if ((u.flags & SE_URI_F_PORT) && u.port != t->port)
			fail_msg("%s: port %u, want %u", t->in, u.port, t->port);
		check_range(t->in, "whole", base, u.whole, t->in);
		check_range(t->in, "user", base, u.user, t->user);
		check_range(t->in, "password", base, u.password, t->password);
		check_range(t->in, "host", base, u.host, t->host);
		check_range(t->in, "params", base, u.params, t->params);
		check_range(t->in, "headers", base, u.headers, t->headers);
		check_range(t->in, "transport", base, u.transport, t->transport);
		check_range(t->in, "user_param", base, u.user_param, t->user_param);
		check_range(t->in, "maddr", base, u.maddr, t->maddr);
		check_range(t->in, "ttl", base, u.ttl, t->ttl);
		check_range(t->in, "method", base, u.method, t->method);
		/* a parsed URI is equal to itself */
		assert_true(se_uri_equal(base, &u, base, &u));
	}
}

/* ---- invalid URIs ------------------------------------------------- */

struct invalid_case {
	const char *in;
	const char *why;
	size_t len; /* 0: strlen(in); else the input holds a NUL */
};

static const struct invalid_case invalid_cases[] = {
    {"", "bad scheme"},
    {"sip", "bad scheme"},
    {":alice@atlanta.com", "bad scheme"},
    {"1sip:alice@atlanta.com", "bad scheme"},
    {"s_p:alice", "bad scheme"},
    {"<sip:alice@atlanta.com>", "bad scheme"}, /* RFC 4475 §3.1.2.4 ltgtruri */
    {"sip alice@atlanta.com", "bad scheme"},
    {"sip:", "bad host"},
    {"sip:@atlanta.com", "bad user"},
    {"sip::pw@atlanta.com", "bad user"},
    {"sip:al ice@atlanta.com", "bad user"},
    {"sip:alice:p[w@atlanta.com", "bad user"},
    {"sip:%6@atlanta.com", "bad user"},
    {"sip:%zz@atlanta.com", "bad user"},
    {"sip:al\"ice@atlanta.com", "bad user"},
    {"sip:alice@", "bad host"},
    {"sip:alice@;lr", "bad host"},
    {"sip:alice:pa@ss@atlanta.com", "bad host"},
    {"sip:alice@exa_mple.com", "bad host"},
    {"sip:alice@-example.com", "bad host"},
    {"sip:alice@example-.com", "bad host"},
    {"sip:alice@example..com", "bad host"},
    {"sip:alice@.example.com", "bad host"},
    {"sip:alice@256.1.1.1", "bad host"},
    {"sip:alice@1.2.3", "bad host"},
    {"sip:alice@1.2.3.4.5", "bad host"},
    {"sip:alice@ex\xc3\xa4mple.com", "bad host"},
    {"sip:2001:db8::10", "bad host"}, /* RFC 5118 §4.2 */
    {"sip:[2001:db8::10", "bad IPv6 reference"},
    {"sip:[2001:db8::10:5070", "bad IPv6 reference"},
    /* RFC 5118 §4.10 forgives ":::" only right before an IPv4 address */
    {"sip:user@[2001:db8:::1]", "bad IPv6 reference"},
    {"sip:user@[2001:db8::::192.0.2.1]", "bad IPv6 reference"},
    {"sip:user@[2001:db8:::192.0.2]", "bad IPv6 reference"},
    {"sip:user@[1::2:::192.0.2.1]", "bad IPv6 reference"},
    {"sip:user@[1:2:3:4:5:6:7:::192.0.2.1]", "bad IPv6 reference"},
    {"sip:[1:2:3:4:5:6:7:8:9]", "bad IPv6 reference"},
    {"sip:[1:2:3:4:5:6:7]", "bad IPv6 reference"},
    {"sip:[1:2:3:4:5:6:7:8::]", "bad IPv6 reference"},
    {"sip:[12345::1]", "bad IPv6 reference"},
    {"sip:[1::2::3]", "bad IPv6 reference"},
    {"sip:[:1::2]", "bad IPv6 reference"},
    {"sip:[1::2:]", "bad IPv6 reference"},
    {"sip:[::1%25eth0]", "bad IPv6 reference"},
    {"sip:[]", "bad IPv6 reference"},
    {"sip:[", "bad IPv6 reference"},
    {"sip:[::256.1.1.1]", "bad IPv6 reference"},
    {"sip:[::1.2.3.4:5]", "bad IPv6 reference"},
    {"sip:[192.0.2.1]", "bad IPv6 reference"},
    {"sip:[::g]", "bad IPv6 reference"},
    {"sip:[::1]x", "bad host"},
    {"sip:host:", "bad port"},
    {"sip:host:;lr", "bad port"},
    {"sip:host:65536", "bad port"},
    {"sip:host:99999999999999999999", "bad port"},
    {"sip:host:12a", "bad port"},
    {"sip:host:5060:5061", "bad port"},
    {"sip:host:-1", "bad port"},
    {"sip:host;", "bad parameter"},
    {"sip:host;;lr", "bad parameter"},
    {"sip:host;a=", "bad parameter"},
    {"sip:host;a=;lr", "bad parameter"},
    {"sip:host;=a", "bad parameter"},
    {"sip:host;a=b=c", "bad parameter"},
    {"sip:host;a=%4", "bad parameter"},
    {"sip:host;a%zz", "bad parameter"},
    {"sip:host;a#b", "bad parameter"},
    {"sip:host;a{b", "trailing characters"},
    {"sip:host;transport=", "bad parameter"},
    {"sip:host;transport", "bad parameter"},
    {"sip:host;transport=udp;transport=tcp", "bad parameter"},
    {"sip:host;transport=u[d]p", "bad parameter"},
    {"sip:host;user=ph:one", "bad parameter"},
    {"sip:host;method=IN(VITE)", "bad parameter"},
    {"sip:host;ttl=256", "bad parameter"},
    {"sip:host;ttl=0015", "bad parameter"},
    {"sip:host;ttl=1a", "bad parameter"},
    {"sip:host;ttl", "bad parameter"},
    {"sip:host;maddr=exa_mple.com", "bad parameter"},
    {"sip:host;maddr=2001:db8::1", "bad parameter"},
    {"sip:host;maddr=[::1", "bad parameter"},
    {"sip:host?", "bad header"},
    {"sip:host?a", "bad header"},
    {"sip:host?=b", "bad header"},
    {"sip:host?a=b&", "bad header"},
    {"sip:host?a=b&&c=d", "bad header"},
    {"sip:host?a=b;c", "bad header"},
    {"sip:host?a=%g0", "bad header"},
    {"sip:alice@atlanta.com?to=bob@biloxi.com", "bad header"},
    {"sip:alice@atlanta.com ", "trailing characters"},
    {"sip:alice@atlanta.com>", "trailing characters"},
    {"sip:alice@atlanta.com;lr\r\n", "trailing characters"},
    {"sip:alice@atlanta.com:5060 ", "trailing characters"},
    {"sip:alice@atlanta.com?a=b c", "trailing characters"},
    {"sip:user@example.com; lr", "trailing characters"}, /* RFC 4475 §3.1.2.5 */
    {"sip:alice@atlanta.com\0", "trailing characters", 22},
    {"tel:", "bad tel number"},
    {"tel:+", "bad tel number"},
    {"tel:+-().", "bad tel number"},
    {"tel:1234", "bad tel number"},
    {"tel:1234;ext=5", "bad tel number"},
    {"tel:+1234x", "bad tel number"},
    {"tel:xyz;phone-context=example.com", "bad tel number"},
    {"tel:;phone-context=example.com", "bad tel number"},
    {"tel:+12 34", "trailing characters"},
    {"tel:+1234;", "bad parameter"},
    {"tel:+1234;=x", "bad parameter"},
    {"tel:+1234;a_b=x", "bad parameter"},
    {"tel:+1234;a=", "bad parameter"},
    {"tel:+1234;ext=", "bad parameter"},
    {"tel:+1234;ext", "bad parameter"},
    {"tel:+1234;ext=12a", "bad parameter"},
    {"tel:+1234;isub=", "bad parameter"},
    {"tel:+1234;phone-context", "bad parameter"},
    {"tel:1234;phone-context=", "bad parameter"},
    {"tel:1234;phone-context=+", "bad parameter"},
    {"tel:1234;phone-context=exa_mple.com", "bad parameter"},
    {"tel:1234;phone-context=a.com;phone-context=b.com", "bad parameter"},
    {"tel:+1234?h=v", "bad tel number"},
    {"tel:+1234;a=b?h=v", "bad parameter"},
    {"foo:", "bad URI"},
    {"foo:%zz", "bad URI"},
    {"foo:caf\xc3\xa9", "bad URI"},
    {"foo:a b", "trailing characters"},
    {"foo:<a>", "trailing characters"},
};

static void test_uri_invalid(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(invalid_cases); i++) {
		const struct invalid_case *t = &invalid_cases[i];
		size_t n = t->len ? t->len : strlen(t->in);
		struct se_uri u;
		const char *why = NULL;
		const char *base = guard_place(t->in, n);
		int rc = se_uri_parse(base, 0, (uint32_t)n, &u, &why);
		if (rc != SE_EPARSE)
			fail_msg("\"%s\": rc %d, want SE_EPARSE", t->in, rc);
		if (!why || strcmp(why, t->why) != 0)
			fail_msg("\"%s\": why \"%s\", want \"%s\"", t->in, why ? why : "(null)",
			         t->why);
		/* NULL why is allowed */
		assert_int_equal(se_uri_parse(base, 0, (uint32_t)n, &u, NULL), SE_EPARSE);
	}
}

/* Too many parameters or headers: refused, so that comparison stays
 * bounded; the limits themselves are accepted. */
static void test_uri_limits(void **state)
{
	(void)state;
	char buf[1024];
	struct se_uri u;
	const char *why = NULL, *base;
	static const struct {
		const char *head, *item;
		int count;
		int rc;
		const char *why;
	} cases[] = {
	    {"sip:h", ";p", 64, 0, NULL},
	    {"sip:h", ";p", 65, SE_EPARSE, "too many parameters"},
	    {"tel:+1", ";p", 64, 0, NULL},
	    {"tel:+1", ";p", 65, SE_EPARSE, "too many parameters"},
	    {"sip:h?a=1", "&a=1", 31, 0, NULL},
	    {"sip:h?a=1", "&a=1", 32, SE_EPARSE, "too many headers"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		size_t n = (size_t)snprintf(buf, sizeof(buf), "%s", cases[i].head);
		for (int k = 0; k < cases[i].count; k++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", cases[i].item);
		why = NULL;
		int rc = parse_guarded(buf, &u, &why, &base);
		if (rc != cases[i].rc)
			fail_msg("%s: rc %d (%s), want %d", buf, rc, why ? why : "-", cases[i].rc);
		if (cases[i].why)
			assert_string_equal(why, cases[i].why);
		else
			assert_true(se_uri_equal(base, &u, base, &u));
	}
}

/* Every prefix of every test input, each against the guard page: whatever
 * the parser decides, it must not read past the end. */
static void test_uri_prefixes(void **state)
{
	(void)state;
	struct se_uri u;
	const char *why;
	for (size_t i = 0; i < ARRAY_LEN(valid_cases) + ARRAY_LEN(invalid_cases); i++) {
		const char *s = i < ARRAY_LEN(valid_cases)
		                    ? valid_cases[i].in
		                    : invalid_cases[i - ARRAY_LEN(valid_cases)].in;
		size_t n = strlen(s);
		for (size_t k = 0; k <= n; k++) {
			const char *base = guard_place(s, k);
			int rc = se_uri_parse(base, 0, (uint32_t)k, &u, &why);
			assert_true(rc == 0 || rc == SE_EPARSE);
			if (rc == 0) {
				assert_true(u.whole.len == k);
				assert_true(se_uri_equal(base, &u, base, &u));
			}
		}
	}
}

/* A URI inside a larger buffer: ranges are relative to the buffer, and the
 * parser reads nothing outside [off, off+len). */
static void test_uri_offset(void **state)
{
	(void)state;
	static const char text[] = "Contact: sip:alice:pw@atlanta.com:5062;lr?x=y";
	const char *base = guard_place(text, sizeof(text) - 1);
	struct se_uri u;
	const char *why = NULL;
	assert_int_equal(se_uri_parse(base, 9, (uint32_t)(sizeof(text) - 1 - 9), &u, &why), 0);
	check_range(text, "whole", base, u.whole, "sip:alice:pw@atlanta.com:5062;lr?x=y");
	assert_int_equal(u.whole.off, 9);
	check_range(text, "user", base, u.user, "alice");
	assert_int_equal(u.user.off, 13);
	check_range(text, "host", base, u.host, "atlanta.com");
	check_range(text, "params", base, u.params, "lr");
	check_range(text, "headers", base, u.headers, "x=y");
	assert_int_equal(u.port, 5062);

	/* only the range is parsed, even with URI text after it */
	static const char text2[] = "<sip:bob@biloxi.com>";
	base = guard_place(text2, sizeof(text2) - 1);
	assert_int_equal(se_uri_parse(base, 1, (uint32_t)(sizeof(text2) - 3), &u, &why), 0);
	check_range(text2, "host", base, u.host, "biloxi.com");
	assert_int_equal(se_uri_parse(base, 1, (uint32_t)(sizeof(text2) - 2), &u, &why), SE_EPARSE);
	assert_string_equal(why, "trailing characters");

	/* a range that would wrap is refused, not parsed */
	assert_int_equal(se_uri_parse(base, 2, UINT32_MAX, &u, &why), SE_EINVAL);
}

/* ---- comparison --------------------------------------------------- */

struct equal_case {
	const char *a, *b;
	bool equal;
};

static const struct equal_case equal_cases[] = {
    /* RFC 3261 §19.1.4, equivalent */
    {"sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp", true},
    {"sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5", true},
    {"sip:carol@chicago.com", "sip:carol@chicago.com;security=on", true},
    {"sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on", true},
    {"sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
     "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com", true},
    {"sip:alice@atlanta.com?subject=project%20x&priority=urgent",
     "sip:alice@atlanta.com?priority=urgent&subject=project%20x", true},
    /* RFC 3261 §19.1.4, not equivalent */
    {"SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP", false},
    {"sip:bob@biloxi.com", "sip:bob@biloxi.com:5060", false},
    {"sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp", false},
    {"sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp", false},
    {"sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting", false},
    {"sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4", false},
    /* scheme */
    {"sip:alice@atlanta.com", "sips:alice@atlanta.com", false},
    {"SIPS:alice@atlanta.com", "sips:alice@atlanta.com", true},
    {"sip:alice@atlanta.com", "tel:+1", false},
    /* userinfo: case-sensitive, escapes equal except reserved ones */
    {"sip:alice@atlanta.com", "sip:Alice@atlanta.com", false},
    {"sip:a%2db@h", "sip:a-b@h", true},
    {"sip:%41@h", "sip:%61@h", false},
    {"sip:a%3bb@h", "sip:a;b@h", false},
    {"sip:a%3Bb@h", "sip:a%3bb@h", true},
    {"sip:user;par=u%40example.net@example.com", "sip:user;par=u%40example.net@example.com", true},
    {"sip:alice:pw@h", "sip:alice@h", false},
    {"sip:alice:@h", "sip:alice@h", false},
    {"sip:alice:PW@h", "sip:alice:pw@h", false},
    {"sip:alice:p%57@h", "sip:alice:pW@h", true},
    {"sip:h", "sip:alice@h", false},
    /* host and port */
    {"sip:h.example.com", "sip:H.EXAMPLE.COM", true},
    {"sip:h.example.com", "sip:h.example.com.", false},
    {"sip:h:5060", "sip:h:5060", true},
    {"sip:h:5060", "sip:h:5061", false},
    {"sip:192.0.2.4", "sip:192.000.002.004", true},
    {"sip:192.0.2.4", "sip:192.0.2.5", false},
    {"sip:[2001:db8::10]", "sip:[2001:DB8:0:0:0:0:0:10]", true},
    {"sip:[::ffff:192.0.2.1]", "sip:[::FFFF:c000:201]", true},
    {"sip:[1::]", "sip:[1:0:0:0:0:0:0:0]", true},
    {"sip:[::1]", "sip:[::2]", false},
    {"sip:[2001:db8:::192.0.2.1]", "sip:[2001:db8::c000:201]", true},
    {"sip:[:::192.0.2.1]", "sip:[::192.0.2.1]", true},
    {"sip:[::1]", "sip:[::1]:5060", false},
    {"sip:[2001:db8::10]:5070", "sip:[2001:db8::10:5070]", false},
    /* well-known parameters: must match when either side has them */
    {"sip:h;user=phone", "sip:h", false},
    {"sip:h;ttl=1", "sip:h", false},
    {"sip:h;method=INVITE", "sip:h", false},
    {"sip:h;maddr=239.255.255.1", "sip:h", false},
    {"sip:h;maddr=Example.COM", "sip:h;maddr=example.com", true},
    {"sip:h;user=phone", "sip:h;user=ip", false},
    {"sip:h;tr%61nsport=tcp", "sip:h;transport=TCP", true},
    /* other parameters: compared when both have them */
    {"sip:h;lr", "sip:h", true},
    {"sip:h;lr", "sip:h;lr=on", false},
    {"sip:h;foo=A", "sip:h;FOO=a", true},
    {"sip:h;foo=a", "sip:h;foo=b", false},
    {"sip:h;foo=%61", "sip:h;foo=A", true},
    {"sip:h;foo=a%3ab", "sip:h;foo=a:b", false},
    {"sip:h;a=1;b=2", "sip:h;b=2;c=3", true},
    {"sip:h;x=1;x=2", "sip:h;x=2;x=1", true},
    {"sip:h;x=1;x=2", "sip:h;x=1", false},
    /* headers: all must match, names case-insensitive */
    {"sip:h?a=1&b=2", "sip:h?b=2", false},
    {"sip:h?A=x", "sip:h?a=x", true},
    {"sip:h?a=X", "sip:h?a=x", false},
    {"sip:h?a=%78", "sip:h?a=x", true},
    {"sip:h?a=", "sip:h?a=", true},
    {"sip:h?a=", "sip:h", false},
    /* RFC 3966 §4 */
    {"tel:+1-201-555-0123", "tel:+12015550123", true},
    {"tel:+1(201)555.0123", "tel:+1-201-555-0123", true},
    {"tel:+12015550123", "tel:+12015550124", false},
    {"tel:+1201", "tel:1201;phone-context=+1", false},
    {"tel:7042;phone-context=example.com", "tel:7042;PHONE-CONTEXT=Example.COM", true},
    {"tel:863-1234;phone-context=+1-914-555", "tel:8631234;phone-context=+1914555", true},
    {"tel:7042;phone-context=a.example", "tel:7042;phone-context=b.example", false},
    {"tel:abc;phone-context=x.example", "tel:ABC;phone-context=x.example", true},
    {"tel:+1234;ext=1-2", "tel:+1234;ext=12", true},
    {"tel:+1234;foo=bar", "tel:+1234", false},
    {"tel:+1234;a=1;b=2", "tel:+1234;b=2;A=1", true},
    {"tel:+1234;a=x", "tel:+1234;a=X", true},
    /* absoluteURI: byte for byte */
    {"urn:service:sos", "urn:service:sos", true},
    {"mailto:a@example.com", "mailto:b@example.com", false},
};

/* Parse "sip:<user@>host<tail>" placed against a guard page. */
static int host_type_of(const char *user, const char *host, const char *tail, int *rc)
{
	char text[160];
	int n = snprintf(text, sizeof(text), "sip:%s%s%s", user, host, tail);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	const char *base = guard_place(text, (size_t)n);
	struct se_uri u;
	*rc = se_uri_parse(base, 0, (uint32_t)n, &u, NULL);
	return *rc == 0 ? u.host_type : -1;
}

/* Hosts are read sixteen bytes at a time where the text allows it and
 * byte by byte near its end: every verdict must be the same at every
 * length and alignment, with the text ending right after the host or
 * well after it. */
static void test_uri_host_shapes(void **state)
{
	(void)state;
	static const char *const octets[] = {"0",   "9",   "10",  "99",  "100", "199", "200",
					     "249", "250", "255", "256", "260", "300", "999",
					     "01",  "001", "0001", "1000"};
	static const char *const users[] = {"", "u@", "alice.long.user@"};
	static const char *const tails[] = {"", ";lr", ":5060;transport=udp;lr;ftag=abcdef"};
	const size_t no = sizeof(octets) / sizeof(octets[0]);
	for (size_t i = 0; i < no; i++) {
		for (size_t j = 0; j < no; j++) {
			char host[64];
			snprintf(host, sizeof(host), "%s.%s.1.%s", octets[i], octets[j], octets[(i + j) % no]);
			/* IPv4 iff every part has 1-3 digits and is at most 255 */
			bool ok = true;
			const char *parts[] = {octets[i], octets[j], "1", octets[(i + j) % no]};
			for (int k = 0; k < 4; k++)
				ok = ok && strlen(parts[k]) <= 3 && atoi(parts[k]) <= 255;
			for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
				int rc, type = host_type_of(users[t], host, tails[t], &rc);
				if (ok ? type != SE_HOST_IPV4 : rc == 0)
					fail_msg("host %s%s: type %d rc %d", host, tails[t], type, rc);
			}
		}
	}
	/* names: an empty label anywhere, or a '-' at a label's edge, is bad */
	static const char name[] = "abcdefghijklmnopqrstuvwxyz0123456789abcdefghij";
	for (size_t len = 1; len < sizeof(name) - 1; len++) {
		for (size_t at = 1; at + 1 < len; at++) {
			char host[64], bad[64];
			memcpy(host, name, len);
			host[len] = '\0';
			host[at] = '.';
			memcpy(bad, host, len + 1);
			bad[at + 1] = '.'; /* ".." */
			for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
				int rc, type = host_type_of(users[t], host, tails[t], &rc);
				if (type != SE_HOST_NAME)
					fail_msg("host %s%s: type %d", host, tails[t], type);
				type = host_type_of(users[t], bad, tails[t], &rc);
				if (at + 2 < len && rc == 0)
					fail_msg("host %s%s parsed", bad, tails[t]);
				bad[at + 1] = '-'; /* ".-": a label starting with '-' */
				type = host_type_of(users[t], bad, tails[t], &rc);
				if (at + 2 < len && rc == 0)
					fail_msg("host %s%s parsed", bad, tails[t]);
				bad[at + 1] = '.';
			}
		}
		char host[64];
		memcpy(host, name, len);
		strcpy(host + len, "."); /* one trailing '.' is allowed */
		int rc, type = host_type_of("", host, ";lr", &rc);
		if (type != SE_HOST_NAME)
			fail_msg("host %s: type %d", host, type);
	}
	/* a '-' at a label's end, and a '-' either side of the sixteen-byte
	 * step (the name read sixteen bytes at a time from its first byte) */
	static const struct {
		const char *host;
		int type; /* -1: refused */
	} dashes[] = {
	    {"ab-.cd", -1},
	    {"ab.cd-", -1},
	    {"ab.-cd", -1},
	    {"a-b.c-d", SE_HOST_NAME},
	    {"abcdefghijklmno-qrstuvwxyz", SE_HOST_NAME},  /* '-' at 15 */
	    {"abcdefghijklmnop-rstuvwxyz", SE_HOST_NAME},  /* '-' at 16 */
	    {"abcdefghijklmn.-pqrstuvwxyz", -1},           /* ".-" at 14, 15 */
	    {"abcdefghijklmno.-qrstuvwxyz", -1},           /* ".-" at 15, 16 */
	    {"abcdefghijklmn-.pqrstuvwxyz", -1},           /* "-." at 14, 15 */
	    {"abcdefghijklmno-.qrstuvwxyz", -1},           /* "-." at 15, 16 */
	    {"abcdefghijklmno-", -1},                      /* last of sixteen */
	    {"abcdefghijklmnop-", -1},                     /* first after */
	    {"abcdefghijklmnopqrstuvwxyz0123-", -1},       /* last of 32 */
	};
	for (size_t i = 0; i < ARRAY_LEN(dashes); i++) {
		for (size_t t = 0; t < ARRAY_LEN(tails); t++) {
			int rc, type = host_type_of(users[t], dashes[i].host, tails[t], &rc);
			if (type != dashes[i].type)
				fail_msg("host %s%s: type %d, want %d", dashes[i].host, tails[t],
					 type, dashes[i].type);
		}
	}
}

/* se_host_scan() against its definition: the run of SE_C_HOST bytes from
 * the host's start, judged by se_host_check(..., 1). host[0, hlen) is put
 * after `pre` bytes and before tail, against a guard page. */
static void scan_vs_check(const char *host, size_t hlen, size_t pre, const char *tail)
{
	char text[128];
	size_t tlen = strlen(tail), n = pre + hlen + tlen;
	assert_true(n <= sizeof(text));
	memset(text, '<', pre);
	memcpy(text + pre, host, hlen);
	memcpy(text + pre + hlen, tail, tlen);
	const char *b = guard_place(text, n);
	uint32_t p = (uint32_t)pre, end = (uint32_t)n;
	int type = -2;
	uint32_t q = se_host_scan(b, p, end, &type);
	uint32_t want_q = se_span(b, p, end, SE_C_HOST);
	int want = want_q == p ? SE_HOST_NONE : se_host_check(b, p, want_q, 1);
	if (q != want_q || type != want)
		fail_msg("host \"%.*s\" then \"%s\": end %u type %d, want %u %d", (int)hlen, host,
			 tail, q - p, type, want_q - p, want);
}

static void scan_vs_check_all(const char *host, size_t hlen)
{
	/* the text ending with the host, or going on well past a chunk */
	static const char *const tails[] = {"", ";lr", ":5060;transport=udp;branch=z9hG4bK"};
	for (size_t t = 0; t < ARRAY_LEN(tails); t++)
		for (size_t pre = 0; pre <= 5; pre += 5)
			scan_vs_check(host, hlen, pre, tails[t]);
}

/*
 * The hostname rule is in two places: hostname_check() in host.c, the
 * definition, and the fast path of se_host_scan() (host_scan.h) for names
 * that start with a letter. Hosts of 1 to 40 bytes, each made from a few
 * shapes (one label; labels of three; digit-only labels after a letter;
 * all digits) with one byte, or two adjacent bytes, replaced by '-', '.',
 * a digit, a letter or a byte that ends the host: so a '-' or '.' at every
 * label edge and either side of the sixteen-byte step, empty labels and
 * trailing dots. Then random hosts over the same bytes.
 */
static void test_uri_host_scan(void **state)
{
	(void)state;
	static const char *const shapes[] = {
	    "abcdefghijKLMNOPQRSTuvwxyzabcdefghijklmnopqr",
	    "abc.efg.ijk.mno.qrs.uvw.yza.cde.ghi.klm.opq",
	    "a12.456.890.234.678.012.456.890.234.678.012",
	    "0123456789012345678901234567890123456789012",
	};
	static const char subst[] = {'-', '.', '7', 'Q', '_'};
	static const char *const pairs[] = {"--", "-.", ".-", ".."};
	char host[48];
	for (size_t s = 0; s < ARRAY_LEN(shapes); s++) {
		for (size_t len = 1; len <= 40; len++) {
			memcpy(host, shapes[s], len);
			scan_vs_check_all(host, len);
			host[len] = '.'; /* one trailing '.', then two */
			host[len + 1] = '.';
			scan_vs_check_all(host, len + 1);
			scan_vs_check_all(host, len + 2);
			for (size_t at = 0; at < len; at++) {
				for (size_t k = 0; k < sizeof(subst); k++) {
					memcpy(host, shapes[s], len);
					host[at] = subst[k];
					scan_vs_check_all(host, len);
				}
				for (size_t k = 0; at + 1 < len && k < ARRAY_LEN(pairs); k++) {
					memcpy(host, shapes[s], len);
					memcpy(host + at, pairs[k], 2);
					scan_vs_check_all(host, len);
				}
			}
		}
	}
	static const char alphabet[] = "abcxyzABZ0129-.";
	uint32_t x = 2463534242u; /* xorshift32: the same hosts every run */
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		size_t len = 1 + x % 40;
		/* mostly letters, so that the fast path runs far */
		for (size_t j = 0; j < len; j++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			host[j] = x % 4 ? "abcdefghKLMNOPQR"[x % 16]
					: alphabet[(x >> 8) % (sizeof(alphabet) - 1)];
		}
		scan_vs_check_all(host, len);
	}
}

static void test_uri_equal(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(equal_cases); i++) {
		const struct equal_case *t = &equal_cases[i];
		struct se_uri ua, ub;
		const char *why = NULL, *ga, *gb;
		if (parse_guarded(t->a, &ua, &why, &ga) != 0)
			fail_msg("%s: %s", t->a, why);
		/* Parse results are offsets: a copy of the buffer anywhere else
		 * keeps them valid. The copy frees the guard page for b. */
		size_t na = strlen(t->a);
		char *abuf = malloc(na);
		assert_non_null(abuf);
		memcpy(abuf, ga, na);
		if (parse_guarded(t->b, &ub, &why, &gb) != 0)
			fail_msg("%s: %s", t->b, why);
		bool ab = se_uri_equal(abuf, &ua, gb, &ub);
		bool ba = se_uri_equal(gb, &ub, abuf, &ua);
		if (ab != t->equal || ba != t->equal)
			fail_msg("%s vs %s: %d/%d, want %d", t->a, t->b, ab, ba, t->equal);
		assert_true(se_uri_equal(abuf, &ua, abuf, &ua));
		assert_true(se_uri_equal(gb, &ub, gb, &ub));
		free(abuf);
	}
}

/* ---- parameter lookup and default port ---------------------------- */

static void test_uri_param(void **state)
{
	(void)state;
	static const struct {
		const char *uri, *name;
		bool found;
		const char *value;
	} cases[] = {
	    {"sip:h;transport=tcp;lr;x=1", "transport", true, "tcp"},
	    {"sip:h;transport=tcp;lr;x=1", "TRANSPORT", true, "tcp"},
	    {"sip:h;transport=tcp;lr;x=1", "lr", true, ""},
	    {"sip:h;transport=tcp;lr;x=1", "x", true, "1"},
	    {"sip:h;transport=tcp;lr;x=1", "l", false, NULL},
	    {"sip:h;transport=tcp;lr;x=1", "lrx", false, NULL},
	    {"sip:h;transport=tcp;lr;x=1", "foo", false, NULL},
	    {"sip:h;Foo-Bar=Baz", "foo-bar", true, "Baz"},
	    {"sip:h;f%6Fo=1", "foo", true, "1"},
	    {"sip:h;a%3Ab=1", "a:b", false, NULL},
	    {"sip:h;a:b=1", "a:b", true, "1"},
	    {"sip:h;x=1;x=2", "x", true, "1"},
	    {"sip:h?transport=tcp", "transport", false, NULL},
	    {"sip:alice;transport=tcp@h", "transport", false, NULL},
	    {"sip:h", "lr", false, NULL},
	    {"tel:+1234;ext=56;isub=7", "ext", true, "56"},
	    {"tel:+1234;ext=56;isub=7", "isub", true, "7"},
	    {"urn:x;lr", "lr", false, NULL},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct se_uri u;
		const char *why = NULL, *base;
		if (parse_guarded(cases[i].uri, &u, &why, &base) != 0)
			fail_msg("%s: %s", cases[i].uri, why);
		struct se_range v = {12345, 12345};
		bool found = se_uri_param(base, &u, cases[i].name, &v);
		if (found != cases[i].found)
			fail_msg("%s: param %s found %d", cases[i].uri, cases[i].name, found);
		if (found)
			check_range(cases[i].uri, cases[i].name, base, v, cases[i].value);
		/* val may be NULL */
		assert_int_equal(se_uri_param(base, &u, cases[i].name, NULL), found);
	}
}

static void test_uri_port(void **state)
{
	(void)state;
	static const struct {
		const char *uri;
		uint16_t port;
	} cases[] = {
	    {"sip:h", 5060},
	    {"sips:h", 5061},
	    {"sip:h;transport=TLS", 5061},
	    {"sip:h;transport=t%6Cs", 5061},
	    {"sip:h;transport=tcp", 5060},
	    {"sip:h;transport=tlsx", 5060},
	    {"sip:h:5080;transport=tls", 5080},
	    {"sips:h:5060", 5060},
	    {"sip:h:0", 0},
	    {"sip:[::1]:65535", 65535},
	    {"tel:+1234", 5060},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct se_uri u;
		const char *why = NULL, *base;
		if (parse_guarded(cases[i].uri, &u, &why, &base) != 0)
			fail_msg("%s: %s", cases[i].uri, why);
		if (se_uri_port(base, &u) != cases[i].port)
			fail_msg("%s: port %u, want %u", cases[i].uri, se_uri_port(base, &u),
			         cases[i].port);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uri_valid),  cmocka_unit_test(test_uri_invalid),
	    cmocka_unit_test(test_uri_limits), cmocka_unit_test(test_uri_prefixes),
	    cmocka_unit_test(test_uri_offset), cmocka_unit_test(test_uri_equal),
	    cmocka_unit_test(test_uri_param),  cmocka_unit_test(test_uri_port),
	    cmocka_unit_test(test_uri_host_shapes), cmocka_unit_test(test_uri_host_scan),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	guard_release();
	return rc;
}
