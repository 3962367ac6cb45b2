/*
 * Message parser (src/core/msg_*.c): table-driven. Every input is placed
 * right before a PROT_NONE page, so any read past its end faults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sipedge/msg.h>

#include "chars.h"
#include "guard.h"

/* W() sets every field to "unchecked" and lets a row override some. */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Winitializer-overrides"
#else
#pragma GCC diagnostic ignored "-Woverride-init"
#endif

#define INV_HDRS                                                                           \
	"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport\r\n"                  \
	"Max-Forwards: 70\r\n"                                                               \
	"To: Bob <sip:bob@biloxi.example.com>\r\n"                                          \
	"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"                     \
	"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"                               \
	"CSeq: 314159 INVITE\r\n"                                                            \
	"Contact: <sip:alice@pc33.atlanta.example.com>\r\n"

#define INVITE_OK                                                                          \
	"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n" INV_HDRS "Content-Type: application/sdp\r\n" \
	"Content-Length: 4\r\n\r\nv=0\n"

/* Expected values; a NULL string / -2 number means "not checked". */
struct want {
	int method;
	const char *method_name;
	int status;
	const char *ruri_host;
	int vias;
	const char *via0_host;
	int via0_port;
	int via0_flags;
	int via0_rport;
	const char *via0_branch;
	const char *via0_transport;
	const char *via1_host;
	const char *call_id;
	long cseq;
	int max_forwards;
	long content_length;
	int body_len;
	const char *from_tag;
	const char *to_tag;
	const char *to_uri;
	const char *from_display;
	int routes, rrs, paths, contacts;
	const char *route0_uri;
	long expires;
	int reason_cause;
	int trailing; /* bytes after the message in the datagram */
};

struct row {
	const char *name;
	const char *text;
	int kind;
	/* failure: what (prefix) and header id, else want */
	const char *what;
	int hdr;
	struct want w;
};

#define W(...) {.method = -2, .status = -2, .vias = -2, .via0_port = -2, .via0_flags = -2,  \
		 .via0_rport = -2, .cseq = -2, .max_forwards = -2, .content_length = -2,      \
		 .body_len = -2, .routes = -2, .rrs = -2, .paths = -2, .contacts = -2,         \
		 .expires = -2, .reason_cause = -2, .trailing = -2, __VA_ARGS__}

static const struct row rows[] = {
	{"invite", INVITE_OK, SE_DGRAM, NULL, 0,
	 W(.method = SE_METHOD_INVITE, .method_name = "INVITE", .ruri_host = "biloxi.example.com",
	   .vias = 1, .via0_host = "192.0.2.1", .via0_port = 5060,
	   .via0_flags = SE_VIA_PORT | SE_VIA_RPORT, .via0_branch = "z9hG4bK776asdhds",
	   .via0_transport = "UDP", .call_id = "a84b4c76e66710@pc33.atlanta.example.com",
	   .cseq = 314159, .max_forwards = 70, .content_length = 4, .body_len = 4,
	   .from_tag = "1928301774", .to_tag = "", .to_uri = "sip:bob@biloxi.example.com",
	   .from_display = "Alice", .contacts = 1, .routes = 0, .trailing = 0)},
	{"datagram-extra-bytes-truncated", INVITE_OK "garbage", SE_DGRAM, NULL, 0,
	 W(.body_len = 4, .trailing = 7)},
	{"datagram-no-content-length-takes-rest",
	 "OPTIONS sip:x@192.0.2.5 SIP/2.0\r\n"
	 "Via: SIP/2.0/UDP [2001:db8::9:1]:5070;branch=z9hG4bKa;rport=5071;received=2001:db8::9:255\r\n"
	 "To: <sip:x@192.0.2.5>\r\nFrom: <sip:y@192.0.2.6>;tag=a\r\ni: c1\r\nCSeq: 1 OPTIONS\r\n\r\n"
	 "abc",
	 SE_DGRAM, NULL, 0,
	 W(.method = SE_METHOD_OPTIONS, .via0_host = "[2001:db8::9:1]", .via0_port = 5070,
	   .via0_flags = SE_VIA_PORT | SE_VIA_RPORT | SE_VIA_RPORT_VALUE, .via0_rport = 5071,
	   .content_length = -1, .body_len = 3, .max_forwards = -1, .call_id = "c1")},
	{"stream-needs-content-length",
	 "OPTIONS sip:x@192.0.2.5 SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKa\r\n"
	 "To: <sip:x@192.0.2.5>\r\nFrom: <sip:y@192.0.2.6>;tag=a\r\ni: c1\r\nCSeq: 1 OPTIONS\r\n\r\n",
	 SE_STREAM, "Missing Content-Length header", SE_HDR_CONTENT_LENGTH, W()},
	{"compact-forms-folding-multi-via",
	 "BYE sip:bob@192.0.2.4 SIP/2.0\r\n"
	 "v: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1, SIP / 2.0 / TCP\r\n p2.example.com:5062 ;branch=z9hG4bK2\r\n"
	 "v: SIP/2.0/TLS p3.example.com;branch=z9hG4bK3\r\n"
	 "t: <sip:bob@biloxi.example.com>;tag=8321234356\r\n"
	 "f: \"A. G. Bell\" <sip:agb@bell-telephone.com> ;tag=a48s\r\n"
	 "i: 3848276298220188511@atlanta.example.com\r\n"
	 "CSeq:\r\n   231 BYE\r\n"
	 "Route: <sip:p1.example.com;lr>,\r\n <sip:p2.example.com;lr>\r\n"
	 "Route: <sip:p3.example.com;lr>\r\n"
	 "l: 0\r\n\r\n",
	 SE_DGRAM, NULL, 0,
	 W(.method = SE_METHOD_BYE, .vias = 3, .via0_host = "p1.example.com", .via0_port = -2,
	   .via1_host = "p2.example.com", .cseq = 231, .to_tag = "8321234356",
	   .from_tag = "a48s", .from_display = "\"A. G. Bell\"", .routes = 3,
	   .route0_uri = "sip:p1.example.com;lr", .content_length = 0, .body_len = 0)},
	{"response-200",
	 "SIP/2.0 200 OK\r\n"
	 "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKnashds8;received=192.0.2.3\r\n"
	 "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK776asdhds\r\n"
	 "Record-Route: <sip:proxy.example.com;lr>, <sip:edge.example.com;lr>\r\n"
	 "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
	 "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
	 "Call-ID: a84b4c76e66710\r\nCSeq: 314159 INVITE\r\n"
	 "Contact: <sip:bob@192.0.2.4>;expires=60\r\nExpires: 99999999999\r\nContent-Length: 0\r\n\r\n",
	 SE_DGRAM, NULL, 0,
	 W(.status = 200, .vias = 2, .via1_host = "192.0.2.1", .rrs = 2, .contacts = 1,
	   .to_tag = "a6c85cf", .expires = 4294967295L)},
	{"response-empty-reason", "SIP/2.0 100 \r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
	 "To: <sip:a@b>\r\nFrom: <sip:a@b>;tag=1\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n",
	 SE_DGRAM, NULL, 0, W(.status = 100)},
	{"cancel-with-reason", "CANCEL sip:a@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
	 "To: <sip:a@b>\r\nFrom: <sip:a@b>;tag=1\r\nCall-ID: x\r\nCSeq: 1 CANCEL\r\n"
	 "Reason: SIP ;cause=200 ;text=\"Call completed elsewhere\"\r\n\r\n",
	 SE_DGRAM, NULL, 0, W(.method = SE_METHOD_CANCEL, .reason_cause = 200)},
	{"contact-star", "REGISTER sip:r.example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
	 "To: <sip:a@b>\r\nFrom: <sip:a@b>;tag=1\r\nCall-ID: x\r\nCSeq: 1 REGISTER\r\n"
	 "Contact: *\r\nExpires: 0\r\nPath: <sip:edge.example.com;lr>\r\n\r\n",
	 SE_DGRAM, NULL, 0, W(.contacts = 1, .paths = 1, .expires = 0)},
	{"leading-crlf-ignored", "\r\n\r\n" INVITE_OK, SE_DGRAM, NULL, 0, W(.cseq = 314159)},
	/* failures */
	{"empty", "", SE_DGRAM, "Empty message", SE_HDR_OTHER, W()},
	{"two-spaces-request-line", "INVITE  sip:a@b SIP/2.0\r\n" INV_HDRS "\r\n", SE_DGRAM,
	 "Bad request line", SE_HDR_OTHER, W()},
	{"bad-ruri", "INVITE sip:a@b@c SIP/2.0\r\n" INV_HDRS "\r\n", SE_DGRAM, "Bad Request-URI",
	 SE_HDR_OTHER, W()},
	{"version-7", "INVITE sip:a@b SIP/7.0\r\n" INV_HDRS "\r\n", SE_DGRAM,
	 "Unsupported SIP version", SE_HDR_OTHER, W()},
	{"status-4-digits", "SIP/2.0 1000 X\r\n" INV_HDRS "\r\n", SE_DGRAM, "Bad status line",
	 SE_HDR_OTHER, W()},
	{"no-colon", "INVITE sip:a@b SIP/2.0\r\nVia SIP/2.0/UDP h\r\n\r\n", SE_DGRAM,
	 "Bad header line", SE_HDR_OTHER, W()},
	{"cseq-twice", "INVITE sip:a@b SIP/2.0\r\n" INV_HDRS "CSeq: 2147483648 INVITE\r\n\r\n",
	 SE_DGRAM, "Duplicate CSeq header", SE_HDR_CSEQ, W()},
	{"cseq-2^31", "INVITE sip:a@b SIP/2.0\r\nCSeq: 2147483648 INVITE\r\n" INV_HDRS "\r\n",
	 SE_DGRAM, "Bad CSeq header", SE_HDR_CSEQ, W()},
	{"cseq-method-mismatch",
	 "BYE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nTo: <sip:a@b>\r\n"
	 "From: <sip:a@b>;tag=1\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n",
	 SE_DGRAM, "CSeq method does not match", SE_HDR_CSEQ, W()},
	{"max-forwards-300", "INVITE sip:a@b SIP/2.0\r\nMax-Forwards: 300\r\n" INV_HDRS "\r\n",
	 SE_DGRAM, "Bad Max-Forwards header", SE_HDR_MAX_FORWARDS, W()},
	{"missing-call-id",
	 "BYE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nTo: <sip:a@b>\r\n"
	 "From: <sip:a@b>;tag=1\r\nCSeq: 1 BYE\r\n\r\n",
	 SE_DGRAM, "Missing Call-ID header", SE_HDR_CALL_ID, W()},
	{"missing-via",
	 "BYE sip:a@b SIP/2.0\r\nTo: <sip:a@b>\r\nFrom: <sip:a@b>;tag=1\r\nCall-ID: x\r\n"
	 "CSeq: 1 BYE\r\n\r\n",
	 SE_DGRAM, "Missing Via header", SE_HDR_VIA, W()},
	{"bad-via-no-host", "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP ;branch=x\r\n" INV_HDRS "\r\n",
	 SE_DGRAM, "Bad Via header", SE_HDR_VIA, W()},
	{"bad-via-port", "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h:70000\r\n" INV_HDRS "\r\n",
	 SE_DGRAM, "Bad Via header", SE_HDR_VIA, W()},
	{"bad-via-ipv6-unbracketed", "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 2001:db8::1\r\n" INV_HDRS "\r\n",
	 SE_DGRAM, "Bad Via header", SE_HDR_VIA, W()},
	{"dup-content-length", "INVITE sip:a@b SIP/2.0\r\n" INV_HDRS "l: 0\r\nContent-Length: 0\r\n\r\n",
	 SE_DGRAM, "Duplicate Content-Length header", SE_HDR_CONTENT_LENGTH, W()},
	{"body-short", "INVITE sip:a@b SIP/2.0\r\n" INV_HDRS "Content-Length: 10\r\n\r\nabc",
	 SE_DGRAM, "Body shorter than Content-Length", SE_HDR_CONTENT_LENGTH, W()},
	{"route-without-angles", "INVITE sip:a@b SIP/2.0\r\nRoute: sip:p1.example.com;lr\r\n" INV_HDRS "\r\n",
	 SE_DGRAM, "Bad Route header", SE_HDR_ROUTE, W()},
	{"contact-star-plus", "INVITE sip:a@b SIP/2.0\r\nContact: *, <sip:a@b>\r\n" INV_HDRS "\r\n",
	 SE_DGRAM, "Bad Contact header", SE_HDR_CONTACT, W()},
	{"to-unquoted-display-with-at", "INVITE sip:a@b SIP/2.0\r\nTo: Bob Smith sip:bob@b\r\n" INV_HDRS "\r\n",
	 SE_DGRAM, "Bad To header", SE_HDR_TO, W()},
	{"from-twice", "INVITE sip:a@b SIP/2.0\r\nFrom: <sip:c@d>;tag=2\r\n" INV_HDRS "\r\n",
	 SE_DGRAM, "Duplicate From header", SE_HDR_FROM, W()},
	{"no-end-of-headers", "INVITE sip:a@b SIP/2.0\r\n" INV_HDRS, SE_DGRAM,
	 "Missing end of headers", SE_HDR_OTHER, W()},
	{"nul-in-value", "INVITE sip:a@b SIP/2.0\r\nSubject: a\0b\r\n" INV_HDRS "\r\n", SE_DGRAM,
	 "Bad Subject header", SE_HDR_SUBJECT, W()},
	{"bare-cr-in-value", "INVITE sip:a@b SIP/2.0\r\nX-Foo: a\rb\r\n" INV_HDRS "\r\n", SE_DGRAM,
	 "Bad header line", SE_HDR_OTHER, W()},
	{"bad-content-type", "INVITE sip:a@b SIP/2.0\r\nContent-Type: application\r\n" INV_HDRS "\r\n",
	 SE_DGRAM, "Bad Content-Type header", SE_HDR_CONTENT_TYPE, W()},
	{"bad-require", "INVITE sip:a@b SIP/2.0\r\nProxy-Require: foo,,bar\r\n" INV_HDRS "\r\n",
	 SE_DGRAM, "Bad Proxy-Require header", SE_HDR_PROXY_REQUIRE, W()},
};

static size_t text_len(const struct row *r)
{
	/* rows embed NUL bytes on purpose: measure up to the final NUL the
	 * compiler added, found from the literal's known structure */
	if (strcmp(r->name, "nul-in-value") == 0)
		return strlen(r->text) + 1 + strlen(r->text + strlen(r->text) + 1);
	return strlen(r->text);
}

static void check_str(const char *buf, struct se_range rg, const char *want, const char *what,
		      const char *row)
{
	if (!want)
		return;
	if (rg.len != strlen(want) || memcmp(buf + rg.off, want, rg.len) != 0)
		fail_msg("%s: %s is '%.*s', want '%s'", row, what, (int)rg.len, buf + rg.off, want);
}

static void check_num(long got, long want, const char *what, const char *row)
{
	if (want != -2 && got != want)
		fail_msg("%s: %s is %ld, want %ld", row, what, got, want);
}

static void check_row(const struct row *r)
{
	struct se_limits lim = SE_LIMITS_DEFAULT;
	void *mem = malloc(se_msg_size(&lim));
	struct se_msg *m = se_msg_init(mem, &lim);
	size_t len = text_len(r);
	const char *buf = guard_place(r->text, len);
	struct se_perr err;
	int rc = se_msg_parse(m, buf, len, r->kind, &lim, &err);
	if (r->what) {
		if (rc >= 0)
			fail_msg("%s: parsed, want failure '%s'", r->name, r->what);
		if (!err.what || strncmp(err.what, r->what, strlen(r->what)) != 0)
			fail_msg("%s: error '%s', want '%s'", r->name, err.what ? err.what : "(null)",
				 r->what);
		check_num(err.hdr_id, r->hdr, "error header id", r->name);
		assert_true(err.status == 400 || err.status == 505 || err.status == 513);
		free(mem);
		return;
	}
	if (rc < 0)
		fail_msg("%s: failed with '%s' at %u", r->name, err.what, err.offset);
	const struct want *w = &r->w;
	check_num((long)len - rc, w->trailing, "trailing bytes", r->name);
	check_num(m->is_request ? m->method : -1, w->method, "method", r->name);
	check_str(buf, m->method_name, w->method_name, "method name", r->name);
	check_num(m->is_request ? -1 : m->status, w->status, "status", r->name);
	check_str(buf, m->ruri.host, w->ruri_host, "R-URI host", r->name);
	check_num(m->via_count, w->vias, "Via hops", r->name);
	const struct se_via *v0 = se_msg_top_via(m);
	assert_non_null(v0);
	check_str(buf, v0->host, w->via0_host, "Via host", r->name);
	check_num((v0->flags & SE_VIA_PORT) ? v0->port : -1, w->via0_port, "Via port", r->name);
	check_num(v0->flags, w->via0_flags, "Via flags", r->name);
	check_num(v0->rport, w->via0_rport, "Via rport", r->name);
	check_str(buf, v0->branch, w->via0_branch, "Via branch", r->name);
	check_str(buf, v0->transport, w->via0_transport, "Via transport", r->name);
	if (w->via1_host) {
		assert_true(m->via_count > 1);
		check_str(buf, se_msg_vias(m)[1].host, w->via1_host, "Via[1] host", r->name);
	}
	check_str(buf, m->call_id, w->call_id, "Call-ID", r->name);
	check_num(m->cseq, w->cseq, "CSeq", r->name);
	check_num(m->max_forwards, w->max_forwards, "Max-Forwards", r->name);
	check_num((long)m->content_length, w->content_length, "Content-Length", r->name);
	check_num(m->body.len, w->body_len, "body length", r->name);
	check_str(buf, m->from.tag, w->from_tag, "From tag", r->name);
	check_str(buf, m->to.tag, w->to_tag, "To tag", r->name);
	check_str(buf, m->to.uri, w->to_uri, "To URI", r->name);
	check_str(buf, m->from.display, w->from_display, "From display", r->name);
	check_num(m->list_count[SE_LIST_ROUTE], w->routes, "Route values", r->name);
	check_num(m->list_count[SE_LIST_RECORD_ROUTE], w->rrs, "Record-Route values", r->name);
	check_num(m->list_count[SE_LIST_PATH], w->paths, "Path values", r->name);
	check_num(m->list_count[SE_LIST_CONTACT], w->contacts, "Contact values", r->name);
	if (w->route0_uri)
		check_str(buf, se_msg_elems(m)[m->list_first[SE_LIST_ROUTE]].uri, w->route0_uri,
			  "Route[0] URI", r->name);
	check_num((long)m->expires, w->expires, "Expires", r->name);
	check_num(m->reason.cause, w->reason_cause, "Reason cause", r->name);
	/* header ranges all lie inside the message */
	for (unsigned i = 0; i < m->hdr_count; i++) {
		const struct se_hdr *h = &se_msg_hdrs(m)[i];
		assert_true(h->line.off + h->line.len <= (uint32_t)rc);
		assert_true(h->value.off >= h->line.off);
		assert_true(h->value.off + h->value.len <= h->line.off + h->line.len);
	}
	free(mem);
}

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_row(&rows[i]);
}

/* Every prefix of a valid datagram must fail cleanly, never over-read. */
static void test_every_truncation(void **state)
{
	(void)state;
	struct se_limits lim = SE_LIMITS_DEFAULT;
	void *mem = malloc(se_msg_size(&lim));
	struct se_msg *m = se_msg_init(mem, &lim);
	const char *full = INVITE_OK;
	size_t n = strlen(full);
	for (size_t k = 0; k < n; k++) {
		const char *buf = guard_place(full, k);
		struct se_perr err;
		int rc = se_msg_parse(m, buf, k, SE_DGRAM, &lim, &err);
		assert_true(rc < 0);
		assert_non_null(err.what);
	}
	free(mem);
}

/* Line ends are found sixteen bytes at a time, and the check for a NUL or
 * a bare CR in a value is a filter over those chunks: put each odd byte
 * (and a CRLF fold) at every offset of a long value, so that it falls at
 * every position of a chunk, first and last included, and in the last
 * bytes of the buffer, and check the verdict is the one for that byte. */
static void test_line_chunks(void **state)
{
	(void)state;
	struct se_limits lim = SE_LIMITS_DEFAULT;
	void *mem = malloc(se_msg_size(&lim));
	struct se_msg *m = se_msg_init(mem, &lim);
	static const char head[] = "INVITE sip:a@b SIP/2.0\r\n" INV_HDRS;
	static const char value[] = "0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEF";
	char text[512];
	for (int last = 0; last < 2; last++) {
		for (size_t at = 0; at < sizeof(value) - 1; at++) {
			/* X-Odd last, so that its bytes are the buffer's last ones */
			static const char *const odd[] = {"\0", "\r", "\r\n ", "\\\0"};
			for (size_t k = 0; k < sizeof(odd) / sizeof(odd[0]); k++) {
				size_t oddlen = k == 0 || k == 1 ? 1 : k == 2 ? 3 : 2;
				size_t n = 0;
				memcpy(text + n, head, sizeof(head) - 1);
				n += sizeof(head) - 1;
				const char *name = last ? "X-Odd: " : "Subject: ";
				memcpy(text + n, name, strlen(name));
				n += strlen(name);
				memcpy(text + n, value, at);
				n += at;
				memcpy(text + n, odd[k], oddlen);
				n += oddlen;
				memcpy(text + n, value + at, sizeof(value) - 1 - at);
				n += sizeof(value) - 1 - at;
				memcpy(text + n, "\r\n\r\n", 4);
				n += 4;
				const char *buf = guard_place(text, n);
				struct se_perr err;
				int rc = se_msg_parse(m, buf, n, SE_DGRAM, &lim, &err);
				/* a fold and an escaped NUL (quoted-pair) are fine; a
				 * lone NUL or CR is not */
				if (k >= 2) {
					if (rc < 0)
						fail_msg("odd %zu at %zu: '%s'", k, at, err.what);
				} else if (rc >= 0 || strcmp(err.what, last ? "Bad header line"
									    : "Bad Subject header") != 0) {
					fail_msg("odd %zu at %zu (last %d): rc %d '%s'", k, at, last, rc,
						 rc < 0 ? err.what : "");
				}
			}
		}
	}
	free(mem);
}

/* se_span_long() skips alphanumerics, '-' and '.' sixteen at a time
 * without looking at the class, so for each class it is used with it must
 * end every run where se_span() does: every byte at every offset of a run
 * longer than two steps, from several starts. (chars.c checks the classes
 * at compile time; this checks the scan.) */
static void test_span_long(void **state)
{
	(void)state;
	static const char run[] = "abcXYZ0189-.abcXYZ0189-.abcXYZ0189-.abcX";
	const uint32_t n = sizeof(run) - 1;
	char text[sizeof(run)];
	for (unsigned c = 0; c < 256; c++) {
		for (uint32_t at = 0; at < n; at++) {
			memcpy(text, run, n);
			text[at] = (char)c;
			const char *b = guard_place(text, n);
			for (uint32_t p = 0; p < 4; p++) {
				if (se_span_long(b, p, n, SE_C_TOKEN) != se_span(b, p, n, SE_C_TOKEN) ||
				    se_span_long(b, p, n, SE_C_WORD) != se_span(b, p, n, SE_C_WORD) ||
				    se_span_long(b, p, n, SE_C_GVAL) != se_span(b, p, n, SE_C_GVAL))
					fail_msg("byte 0x%02x at %u, from %u", c, at, p);
			}
		}
	}
}

/* Limits are parameters: a message over any of them is refused with the
 * limit named. */
static void test_limits(void **state)
{
	(void)state;
	struct {
		struct se_limits lim;
		const char *what;
		int code;
	} cases[] = {
		{{100, 128, 32, 64}, "Message too large", SE_EMSGSIZE},
		{{65535, 5, 32, 64}, "Too many headers", SE_ELIMIT},
		{{65535, 128, 2, 64}, "Too many Via hops", SE_ELIMIT},
		{{65535, 128, 32, 2}, "Too many address values", SE_ELIMIT},
	};
	const char *text = "BYE sip:a@b SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2\r\n"
			   "Via: SIP/2.0/UDP c;branch=z9hG4bK3\r\n"
			   "Route: <sip:a;lr>, <sip:b;lr>, <sip:c;lr>\r\n"
			   "To: <sip:a@b>\r\nFrom: <sip:a@b>;tag=1\r\nCall-ID: x\r\nCSeq: 1 BYE\r\n\r\n";
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		void *mem = malloc(se_msg_size(&cases[i].lim));
		struct se_msg *m = se_msg_init(mem, &cases[i].lim);
		struct se_perr err;
		const char *buf = guard_place(text, strlen(text));
		int rc = se_msg_parse(m, buf, strlen(text), SE_DGRAM, &cases[i].lim, &err);
		assert_int_equal(rc, cases[i].code);
		assert_string_equal(err.what, cases[i].what);
		free(mem);
	}
}

/* A parsed message is position-independent: memcpy it elsewhere and read
 * the same fields against a copy of the buffer. */
static void test_copy_is_memcpy(void **state)
{
	(void)state;
	struct se_limits lim = SE_LIMITS_DEFAULT;
	size_t sz = se_msg_size(&lim);
	struct se_msg *m = se_msg_init(malloc(sz), &lim);
	const char *text = INVITE_OK;
	struct se_perr err;
	assert_true(se_msg_parse(m, text, strlen(text), SE_DGRAM, &lim, &err) > 0);
	struct se_msg *copy = malloc(m->size);
	memcpy(copy, m, m->size);
	char *buf2 = strdup(text);
	memset(m, 0xa5, sz); /* the original is gone */
	assert_int_equal(copy->cseq, 314159);
	assert_int_equal(copy->via_count, 1);
	const struct se_via *v = se_msg_top_via(copy);
	assert_memory_equal(buf2 + v->branch.off, "z9hG4bK776asdhds", 16);
	free(m);
	free(copy);
	free(buf2);
}

static void test_tokens(void **state)
{
	(void)state;
	const char *b = "x: foo , bar,baz ,\r\n qux";
	struct se_range v = {3, (uint32_t)strlen(b) - 3};
	const char *want[] = {"foo", "bar", "baz", "qux"};
	uint32_t pos = 0;
	struct se_range t;
	for (size_t i = 0; i < 4; i++) {
		assert_true(se_msg_token_next(b, v, &pos, &t));
		assert_int_equal(t.len, strlen(want[i]));
		assert_memory_equal(b + t.off, want[i], t.len);
	}
	assert_false(se_msg_token_next(b, v, &pos, &t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_copy_is_memcpy),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_line_chunks),
		cmocka_unit_test(test_span_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
