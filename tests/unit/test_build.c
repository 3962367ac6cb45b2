/*
 * Tests of the message builder (src/core/build.c), locally generated
 * responses (build_reply.c) and reason phrases (reason.c).
 *
 * Every row is real SIP text, parsed by se_msg_parse() from a buffer that
 * ends at a PROT_NONE page (guard.h), a list of edits, and the exact text
 * expected out. Every successful row is then rebuilt into every smaller
 * output size, with the output also ending at a guard page of its own: the
 * builder must answer SE_ENOSPC each time and can never write past `cap`
 * without faulting.
 *
 * Edit indexes name headers, Via hops and list elements in parse order; the
 * comment beside each message gives them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include <sipedge/build.h>
#include <sipedge/msg.h>

#include "guard.h"

/* ---- fixtures --------------------------------------------------------- */

static _Alignas(8) unsigned char msg_mem[1 << 16];

/* Parse text (copied against a guard page); fails the test if it does not
 * parse. The returned buffer is valid until the next parse_text(). */
static const struct se_msg *parse_text(const char *text, enum se_transport_kind kind,
				       const char **buf)
{
	const struct se_limits lim = SE_LIMITS_DEFAULT;
	assert_true(se_msg_size(&lim) <= sizeof(msg_mem));
	struct se_msg *m = se_msg_init(msg_mem, &lim);
	struct se_perr err;
	size_t len = strlen(text);
	*buf = guard_place(text, len);
	int rc = se_msg_parse(m, *buf, len, kind, &lim, &err);
	if (rc < 0)
		fail_msg("parse: %s (%s at %u)", se_strerror(rc), err.what ? err.what : "?",
			 err.offset);
	assert_int_equal(rc, (int)len);
	return m;
}

/* Output area: [out_at(cap), out_at(cap) + cap) ends at a PROT_NONE page. */
enum { OUT_ROOM = 1 << 16 };
static char *out_map;
static size_t out_maplen;

static int out_setup(void **state)
{
	(void)state;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	out_maplen = OUT_ROOM + page;
	out_map = mmap(NULL, out_maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		       0);
	if (out_map == MAP_FAILED)
		return -1;
	return mprotect(out_map + OUT_ROOM, page, PROT_NONE);
}

static int out_teardown(void **state)
{
	(void)state;
	munmap(out_map, out_maplen);
	guard_release();
	return 0;
}

static char *out_at(size_t cap)
{
	assert_true(cap <= OUT_ROOM);
	return out_map + OUT_ROOM - cap;
}

/* ---- messages --------------------------------------------------------- */

/* INV: hdr 0 Via (hop 0), 1 Max-Forwards, 2 Route (elems 0, 1), 3 To,
 * 4 From, 5 Call-ID, 6 CSeq, 7 Contact (elem 2), 8 Content-Type,
 * 9 Content-Length. */
#define INV_START "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
#define INV_VIA "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
#define INV_MF "Max-Forwards: 70\r\n"
#define INV_ROUTE "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
#define INV_DIALOG                                                                          \
	"To: Bob <sip:bob@biloxi.example.com>\r\n"                                          \
	"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"                    \
	"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"                              \
	"CSeq: 314159 INVITE\r\n"
#define INV_CONTACT "Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
#define INV_CT "Content-Type: application/sdp\r\n"
#define INV_BODY "v=0\r\n"
#define INV_CL "Content-Length: 5\r\n"
#define INV_HEAD INV_VIA INV_MF INV_ROUTE INV_DIALOG INV_CONTACT INV_CT
#define INV INV_START INV_HEAD INV_CL "\r\n" INV_BODY

/* REG: hdr 0 Via (hop 0), 1 Via (hop 1), 2 Path (elem 0), 3 Max-Forwards,
 * 4 To, 5 From, 6 Call-ID, 7 CSeq, 8 Contact (elem 1), 9 Content-Length. */
#define REG_START "REGISTER sip:registrar.example.com SIP/2.0\r\n"
#define REG_VIAS                                                                            \
	"Via: SIP/2.0/TCP edge.example.com;branch=z9hG4bKe1\r\n"                            \
	"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKc1;rport=5060\r\n"
#define REG_PATH "Path: <sip:edge.example.com;lr>\r\n"
#define REG_REST                                                                            \
	"Max-Forwards: 69\r\n"                                                              \
	"To: <sip:alice@example.com>\r\n"                                                   \
	"From: <sip:alice@example.com>;tag=456248\r\n"                                      \
	"Call-ID: 843817637684230@998sdasdh09\r\n"                                          \
	"CSeq: 1826 REGISTER\r\n"                                                           \
	"Contact: <sip:alice@192.0.2.10:5060>;expires=3600\r\n"                             \
	"Content-Length: 0\r\n\r\n"
#define REG REG_START REG_VIAS REG_PATH REG_REST

/* RESP: hdr 0 Via (hops 0, 1), 1 Record-Route (elem 0), 2 To, 3 From,
 * 4 Call-ID, 5 CSeq, 6 Contact (elem 1), 7 Subject (folded), 8 CL. */
#define RESP_START "SIP/2.0 200 OK\r\n"
#define RESP_HOP1 "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds"
#define RESP_VIA "Via: SIP/2.0/UDP proxy.example.net;branch=z9hG4bK.p1, " RESP_HOP1 "\r\n"
#define RESP_RR "Record-Route: <sip:proxy.example.net;lr>\r\n"
#define RESP_REST                                                                           \
	"To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"                              \
	"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"                    \
	"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"                              \
	"CSeq: 314159 INVITE\r\n"                                                           \
	"Contact: <sip:bob@192.0.2.4>\r\n"                                                  \
	"Subject: lunch\r\n at noon\r\n"                                                    \
	"Content-Length: 0\r\n\r\n"
#define RESP RESP_START RESP_VIA RESP_RR RESP_REST

/* CMP, compact forms, no Max-Forwards: hdr 0 v (hop 0), 1 m (elem 0), 2 t,
 * 3 f, 4 i, 5 CSeq, 6 k, 7 l. */
#define CMP_START "OPTIONS sip:carol@chicago.example.com SIP/2.0\r\n"
#define CMP_V "v: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKhjhs8ass877\r\n"
#define CMP_REST                                                                            \
	"m: <sip:carol@192.0.2.7>\r\n"                                                      \
	"t: <sip:carol@chicago.example.com>\r\n"                                            \
	"f: <sip:alice@atlanta.example.com>;tag=1928301774\r\n"                             \
	"i: a84b4c76e66710\r\n"                                                             \
	"CSeq: 63104 OPTIONS\r\n"                                                           \
	"k: path\r\n"
#define CMP CMP_START CMP_V CMP_REST "l: 0\r\n\r\n"

/* DG: a datagram without Content-Length and with a body. hdr 0 Via,
 * 1 Max-Forwards, 2 To, 3 From, 4 Call-ID, 5 CSeq, 6 Content-Type. */
#define DG_HEAD                                                                             \
	"MESSAGE sip:bob@example.com SIP/2.0\r\n"                                           \
	"Via: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bK1\r\n"                                    \
	"Max-Forwards: 70\r\n"                                                              \
	"To: <sip:bob@example.com>\r\n"                                                     \
	"From: <sip:alice@example.com>;tag=1\r\n"                                           \
	"Call-ID: m1\r\n"                                                                   \
	"CSeq: 1 MESSAGE\r\n"                                                               \
	"Content-Type: text/plain\r\n"
#define DG DG_HEAD "\r\nhello"

/* RT: hdr 0 Via, 1 Max-Forwards, 2 Route (elem 0), 3 Route folded over two
 * lines (elems 1, 2), 4 To, 5 From, 6 Call-ID, 7 CSeq, 8 Content-Length. */
#define RT_START "BYE sip:bob@192.0.2.4 SIP/2.0\r\n"
#define RT_VIA_MF "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds7\r\n" \
		  "Max-Forwards: 70\r\n"
#define RT_R1 "Route: <sip:p1.example.com;lr>\r\n"
#define RT_R2 "Route: <sip:p2.example.com;lr>,\r\n <sip:p3.example.com;lr>\r\n"
#define RT_REST                                                                             \
	"To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"                              \
	"From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"                    \
	"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"                              \
	"CSeq: 231 BYE\r\n"                                                                 \
	"Content-Length: 0\r\n\r\n"
#define RT RT_START RT_VIA_MF RT_R1 RT_R2 RT_REST

/* THREE: hdr 0 Via (hops 0, 1, 2), 1 Route (elems 0, 1, 2), 2 To, 3 From,
 * 4 Call-ID, 5 CSeq, 6 Content-Length. */
#define THREE_START "SIP/2.0 180 Ringing\r\n"
#define THREE_REST                                                                          \
	"To: <sip:bob@example.com>;tag=1\r\n"                                               \
	"From: <sip:alice@example.com>;tag=2\r\n"                                           \
	"Call-ID: three\r\n"                                                                \
	"CSeq: 1 INVITE\r\n"                                                                \
	"Content-Length: 0\r\n\r\n"
#define THREE                                                                               \
	THREE_START "Via:  SIP/2.0/UDP x.example.net;branch=z9hG4bKax ,SIP/2.0/UDP "            \
		    "y.example.net;branch=z9hG4bKby,\tSIP/2.0/UDP z.example.net;branch=z9hG4bKcz\r\n" \
		    "Route: <sip:a;lr>,<sip:b;lr> , <sip:c;lr>\r\n" THREE_REST

/* ---- se_build() rows -------------------------------------------------- */

#define V(s) .data = (s), .len = sizeof(s) - 1
#define NEW_VIA "SIP/2.0/UDP proxy.example.net;branch=z9hG4bK.abc"
#define NEW_RR "<sip:proxy.example.net;lr>"

enum { MAXE = 8 };

struct build_case {
	const char *name;
	const char *in;
	enum se_transport_kind kind;
	struct se_edit e[MAXE]; /* op 0 ends the list */
	int rc;                 /* 0: success, output must equal `out` */
	const char *out;
};

static const struct build_case build_cases[] = {
	{"no edits", INV, SE_STREAM, {{0}}, 0, INV},
	{"proxy forward: push Via, Max-Forwards, pop Route, add Record-Route",
	 INV, SE_STREAM,
	 {{.op = SE_EDIT_PUSH_VIA, V(NEW_VIA)},
	  {.op = SE_EDIT_SET_MAX_FORWARDS, .num = 69},
	  {.op = SE_EDIT_DROP_ELEM, .idx = 0},
	  {.op = SE_EDIT_INSERT_RECORD_ROUTE, V(NEW_RR)}},
	 0,
	 INV_START "Via: " NEW_VIA "\r\n" INV_VIA "Record-Route: " NEW_RR "\r\n"
		   "Max-Forwards: 69\r\n"
		   "Route: <sip:p2.example.com;lr>\r\n" INV_DIALOG INV_CONTACT INV_CT INV_CL
		   "\r\n" INV_BODY},
	{"pop second Route value", INV, SE_STREAM, {{.op = SE_EDIT_DROP_ELEM, .idx = 1}}, 0,
	 INV_START INV_VIA INV_MF "Route: <sip:p1.example.com;lr>\r\n" INV_DIALOG INV_CONTACT
		 INV_CT INV_CL "\r\n" INV_BODY},
	{"pop both Route values (listed backwards): the line goes", INV, SE_STREAM,
	 {{.op = SE_EDIT_DROP_ELEM, .idx = 1}, {.op = SE_EDIT_DROP_ELEM, .idx = 0}}, 0,
	 INV_START INV_VIA INV_MF INV_DIALOG INV_CONTACT INV_CT INV_CL "\r\n" INV_BODY},
	{"drop all Route by id, with a pop of one of them", INV, SE_STREAM,
	 {{.op = SE_EDIT_DROP_HDR_ID, .idx = SE_HDR_ROUTE}, {.op = SE_EDIT_DROP_ELEM, .idx = 0}},
	 0, INV_START INV_VIA INV_MF INV_DIALOG INV_CONTACT INV_CT INV_CL "\r\n" INV_BODY},
	{"new Request-URI", INV, SE_STREAM,
	 {{.op = SE_EDIT_SET_RURI, V("sip:bob@192.0.2.4:5070;transport=tcp")}}, 0,
	 "INVITE sip:bob@192.0.2.4:5070;transport=tcp SIP/2.0\r\n" INV_HEAD INV_CL
	 "\r\n" INV_BODY},
	{"added headers go last, in order, before Content-Length", INV, SE_STREAM,
	 {{.op = SE_EDIT_ADD_HDR, .name = "X-A", V("1")},
	  {.op = SE_EDIT_ADD_HDR, .name = "P-Asserted-Identity", V("<sip:alice@atlanta.example.com>")}},
	 0,
	 INV_START INV_HEAD "X-A: 1\r\nP-Asserted-Identity: <sip:alice@atlanta.example.com>\r\n" INV_CL
			    "\r\n" INV_BODY},
	{"drop a header and the body", INV, SE_STREAM,
	 {{.op = SE_EDIT_DROP_HDR, .idx = 8}, {.op = SE_EDIT_SET_BODY, .data = "", .len = 0}}, 0,
	 INV_START INV_VIA INV_MF INV_ROUTE INV_DIALOG INV_CONTACT "Content-Length: 0\r\n\r\n"},
	{"new body, new Content-Length", INV, SE_STREAM,
	 {{.op = SE_EDIT_SET_BODY, V("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n")}}, 0,
	 INV_START INV_HEAD "Content-Length: 31\r\n\r\nv=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n"},
	{"replace a header: name kept, place kept", INV, SE_STREAM,
	 {{.op = SE_EDIT_REPLACE_HDR, .idx = 7, V("<sip:alice@192.0.2.1:5060;ob>")}}, 0,
	 INV_START INV_VIA INV_MF INV_ROUTE INV_DIALOG "Contact: <sip:alice@192.0.2.1:5060;ob>\r\n"
		 INV_CT INV_CL "\r\n" INV_BODY},
	{"drop by id", INV, SE_STREAM, {{.op = SE_EDIT_DROP_HDR_ID, .idx = SE_HDR_CONTACT}}, 0,
	 INV_START INV_VIA INV_MF INV_ROUTE INV_DIALOG INV_CT INV_CL "\r\n" INV_BODY},
	{"drop the only Contact value", INV, SE_STREAM, {{.op = SE_EDIT_DROP_ELEM, .idx = 2}}, 0,
	 INV_START INV_VIA INV_MF INV_ROUTE INV_DIALOG INV_CT INV_CL "\r\n" INV_BODY},
	{"dropping Content-Length changes nothing", INV, SE_STREAM,
	 {{.op = SE_EDIT_DROP_HDR, .idx = 9}}, 0, INV},
	{"Path without an existing Path: after the Vias", INV, SE_STREAM,
	 {{.op = SE_EDIT_INSERT_PATH, V("<sip:edge.example.net;lr>")},
	  {.op = SE_EDIT_PUSH_VIA, V(NEW_VIA)}},
	 0,
	 INV_START "Via: " NEW_VIA "\r\n" INV_VIA "Path: <sip:edge.example.net;lr>\r\n" INV_MF
		   INV_ROUTE INV_DIALOG INV_CONTACT INV_CT INV_CL "\r\n" INV_BODY},
	{"Path above the existing one, Via above two Via lines", REG, SE_STREAM,
	 {{.op = SE_EDIT_PUSH_VIA, V(NEW_VIA)},
	  {.op = SE_EDIT_INSERT_PATH, V("<sip:core.example.net;lr>")},
	  {.op = SE_EDIT_INSERT_PATH, V("<sip:core2.example.net;lr>")},
	  {.op = SE_EDIT_SET_MAX_FORWARDS, .num = 68}},
	 0,
	 REG_START "Via: " NEW_VIA "\r\n" REG_VIAS "Path: <sip:core.example.net;lr>\r\n"
		   "Path: <sip:core2.example.net;lr>\r\n" REG_PATH
		   "Max-Forwards: 68\r\n"
		   "To: <sip:alice@example.com>\r\n"
		   "From: <sip:alice@example.com>;tag=456248\r\n"
		   "Call-ID: 843817637684230@998sdasdh09\r\n"
		   "CSeq: 1826 REGISTER\r\n"
		   "Contact: <sip:alice@192.0.2.10:5060>;expires=3600\r\n"
		   "Content-Length: 0\r\n\r\n"},
	{"Record-Route with none present goes after the last Via line", REG, SE_STREAM,
	 {{.op = SE_EDIT_INSERT_RECORD_ROUTE, V(NEW_RR)}}, 0,
	 REG_START REG_VIAS "Record-Route: " NEW_RR "\r\n" REG_PATH REG_REST},
	{"drop the second Via line of two", REG, SE_STREAM,
	 {{.op = SE_EDIT_DROP_VIA_HOP, .idx = 1}}, 0,
	 REG_START "Via: SIP/2.0/TCP edge.example.com;branch=z9hG4bKe1\r\n" REG_PATH REG_REST},
	{"response: drop the top hop of a two-hop Via line, folding elsewhere kept", RESP,
	 SE_STREAM, {{.op = SE_EDIT_DROP_VIA_HOP, .idx = 0}}, 0,
	 RESP_START "Via: " RESP_HOP1 "\r\n" RESP_RR RESP_REST},
	{"response: drop both hops", RESP, SE_STREAM,
	 {{.op = SE_EDIT_DROP_VIA_HOP, .idx = 0}, {.op = SE_EDIT_DROP_VIA_HOP, .idx = 1}}, 0,
	 RESP_START RESP_RR RESP_REST},
	{"response: new status and reason (a policy reaction's rewrite)", RESP, SE_STREAM,
	 {{.op = SE_EDIT_SET_STATUS, .num = 180, V("Ringing Here")},
	  {.op = SE_EDIT_DROP_VIA_HOP, .idx = 0}},
	 0, "SIP/2.0 180 Ringing Here\r\nVia: " RESP_HOP1 "\r\n" RESP_RR RESP_REST},
	{"response: new status, standard phrase", RESP, SE_STREAM,
	 {{.op = SE_EDIT_SET_STATUS, .num = 480}}, 0,
	 "SIP/2.0 480 Temporarily Unavailable\r\n" RESP_VIA RESP_RR RESP_REST},
	{"Record-Route above the existing one", RESP, SE_STREAM,
	 {{.op = SE_EDIT_INSERT_RECORD_ROUTE, V("<sip:edge.example.net;lr>")}}, 0,
	 RESP_START RESP_VIA "Record-Route: <sip:edge.example.net;lr>\r\n" RESP_RR RESP_REST},
	{"compact forms: missing Max-Forwards added after the Vias, l: replaced", CMP, SE_DGRAM,
	 {{.op = SE_EDIT_PUSH_VIA, V(NEW_VIA)}, {.op = SE_EDIT_SET_MAX_FORWARDS, .num = 70}}, 0,
	 CMP_START "Via: " NEW_VIA "\r\n" CMP_V "Max-Forwards: 70\r\n" CMP_REST
		   "Content-Length: 0\r\n\r\n"},
	{"compact Contact value dropped", CMP, SE_DGRAM, {{.op = SE_EDIT_DROP_ELEM, .idx = 0}}, 0,
	 CMP_START CMP_V
	 "t: <sip:carol@chicago.example.com>\r\n"
	 "f: <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
	 "i: a84b4c76e66710\r\n"
	 "CSeq: 63104 OPTIONS\r\n"
	 "k: path\r\n"
	 "Content-Length: 0\r\n\r\n"},
	{"compact header replaced keeps its compact name", CMP, SE_DGRAM,
	 {{.op = SE_EDIT_REPLACE_HDR, .idx = 6, V("path, outbound")}}, 0,
	 CMP_START CMP_V
	 "m: <sip:carol@192.0.2.7>\r\n"
	 "t: <sip:carol@chicago.example.com>\r\n"
	 "f: <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
	 "i: a84b4c76e66710\r\n"
	 "CSeq: 63104 OPTIONS\r\n"
	 "k: path, outbound\r\n"
	 "Content-Length: 0\r\n\r\n"},
	{"datagram without Content-Length gets one", DG, SE_DGRAM, {{0}}, 0,
	 DG_HEAD "Content-Length: 5\r\n\r\nhello"},
	{"leading CRLFs are not forwarded", "\r\n\r\n" DG, SE_DGRAM,
	 {{.op = SE_EDIT_SET_MAX_FORWARDS, .num = 9}}, 0,
	 "MESSAGE sip:bob@example.com SIP/2.0\r\n"
	 "Via: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bK1\r\n"
	 "Max-Forwards: 9\r\n"
	 "To: <sip:bob@example.com>\r\n"
	 "From: <sip:alice@example.com>;tag=1\r\n"
	 "Call-ID: m1\r\n"
	 "CSeq: 1 MESSAGE\r\n"
	 "Content-Type: text/plain\r\n"
	 "Content-Length: 5\r\n\r\nhello"},
	{"pop a one-value Route line; the folded one is copied as is", RT, SE_STREAM,
	 {{.op = SE_EDIT_DROP_ELEM, .idx = 0}}, 0, RT_START RT_VIA_MF RT_R2 RT_REST},
	{"pop the first value of a folded Route line", RT, SE_STREAM,
	 {{.op = SE_EDIT_DROP_ELEM, .idx = 1}}, 0,
	 RT_START RT_VIA_MF RT_R1 "Route: <sip:p3.example.com;lr>\r\n" RT_REST},
	{"pop the last value of a folded Route line", RT, SE_STREAM,
	 {{.op = SE_EDIT_DROP_ELEM, .idx = 2}}, 0,
	 RT_START RT_VIA_MF RT_R1 "Route: <sip:p2.example.com;lr>\r\n" RT_REST},
	{"Max-Forwards 0 written as 0", RT, SE_STREAM,
	 {{.op = SE_EDIT_SET_MAX_FORWARDS, .num = 0}}, 0,
	 RT_START "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds7\r\n"
		  "Max-Forwards: 0\r\n" RT_R1 RT_R2 RT_REST},

	{"middle hop of three dropped: the rest joined by \", \"", THREE, SE_STREAM,
	 {{.op = SE_EDIT_DROP_VIA_HOP, .idx = 1}}, 0,
	 THREE_START "Via: SIP/2.0/UDP x.example.net;branch=z9hG4bKax, "
		     "SIP/2.0/UDP z.example.net;branch=z9hG4bKcz\r\n"
		     "Route: <sip:a;lr>,<sip:b;lr> , <sip:c;lr>\r\n" THREE_REST},
	{"first Route value of three dropped", THREE, SE_STREAM,
	 {{.op = SE_EDIT_DROP_ELEM, .idx = 0}}, 0,
	 THREE_START "Via:  SIP/2.0/UDP x.example.net;branch=z9hG4bKax ,SIP/2.0/UDP "
		     "y.example.net;branch=z9hG4bKby,\tSIP/2.0/UDP z.example.net;branch=z9hG4bKcz\r\n"
		     "Route: <sip:b;lr>, <sip:c;lr>\r\n" THREE_REST},
	{"first and last of three, in both lines", THREE, SE_STREAM,
	 {{.op = SE_EDIT_DROP_ELEM, .idx = 2},
	  {.op = SE_EDIT_DROP_VIA_HOP, .idx = 2},
	  {.op = SE_EDIT_DROP_ELEM, .idx = 0},
	  {.op = SE_EDIT_DROP_VIA_HOP, .idx = 0}},
	 0,
	 THREE_START "Via: SIP/2.0/UDP y.example.net;branch=z9hG4bKby\r\n"
		     "Route: <sip:b;lr>\r\n" THREE_REST},

	/* refused */
	{"drop and replace one header", INV, SE_STREAM,
	 {{.op = SE_EDIT_DROP_HDR, .idx = 3}, {.op = SE_EDIT_REPLACE_HDR, .idx = 3, V("x")}},
	 SE_EINVAL, NULL},
	{"one Route value dropped twice", INV, SE_STREAM,
	 {{.op = SE_EDIT_DROP_ELEM, .idx = 0}, {.op = SE_EDIT_DROP_ELEM, .idx = 0}}, SE_EINVAL,
	 NULL},
	{"value drop and line drop on one line", INV, SE_STREAM,
	 {{.op = SE_EDIT_DROP_ELEM, .idx = 1}, {.op = SE_EDIT_DROP_HDR, .idx = 2}}, SE_EINVAL,
	 NULL},
	{"value drop and line replacement on one line", INV, SE_STREAM,
	 {{.op = SE_EDIT_REPLACE_HDR, .idx = 2, V("<sip:x;lr>")}, {.op = SE_EDIT_DROP_ELEM, .idx = 1}},
	 SE_EINVAL, NULL},
	{"one value dropped twice, not in a row", THREE, SE_STREAM,
	 {{.op = SE_EDIT_DROP_ELEM, .idx = 0},
	  {.op = SE_EDIT_DROP_ELEM, .idx = 1},
	  {.op = SE_EDIT_DROP_ELEM, .idx = 0}},
	 SE_EINVAL, NULL},
	{"one Via hop dropped twice", RESP, SE_STREAM,
	 {{.op = SE_EDIT_DROP_VIA_HOP, .idx = 1}, {.op = SE_EDIT_DROP_VIA_HOP, .idx = 1}},
	 SE_EINVAL, NULL},
	{"two Max-Forwards values", INV, SE_STREAM,
	 {{.op = SE_EDIT_SET_MAX_FORWARDS, .num = 1}, {.op = SE_EDIT_SET_MAX_FORWARDS, .num = 2}},
	 SE_EINVAL, NULL},
	{"two Max-Forwards values, none present", CMP, SE_DGRAM,
	 {{.op = SE_EDIT_SET_MAX_FORWARDS, .num = 1}, {.op = SE_EDIT_SET_MAX_FORWARDS, .num = 2}},
	 SE_EINVAL, NULL},
	{"Max-Forwards set and replaced", INV, SE_STREAM,
	 {{.op = SE_EDIT_SET_MAX_FORWARDS, .num = 1}, {.op = SE_EDIT_REPLACE_HDR, .idx = 1, V("5")}},
	 SE_EINVAL, NULL},
	{"Max-Forwards set and dropped by id", INV, SE_STREAM,
	 {{.op = SE_EDIT_SET_MAX_FORWARDS, .num = 1},
	  {.op = SE_EDIT_DROP_HDR_ID, .idx = SE_HDR_MAX_FORWARDS}},
	 SE_EINVAL, NULL},
	{"replace a header whose id is dropped", INV, SE_STREAM,
	 {{.op = SE_EDIT_REPLACE_HDR, .idx = 7, V("<sip:x@y>")},
	  {.op = SE_EDIT_DROP_HDR_ID, .idx = SE_HDR_CONTACT}},
	 SE_EINVAL, NULL},
	{"two Request-URIs", INV, SE_STREAM,
	 {{.op = SE_EDIT_SET_RURI, V("sip:a@b")}, {.op = SE_EDIT_SET_RURI, V("sip:c@d")}},
	 SE_EINVAL, NULL},
	{"two bodies", INV, SE_STREAM,
	 {{.op = SE_EDIT_SET_BODY, V("a")}, {.op = SE_EDIT_SET_BODY, V("b")}}, SE_EINVAL, NULL},
	{"replace Content-Length", INV, SE_STREAM,
	 {{.op = SE_EDIT_REPLACE_HDR, .idx = 9, V("0")}}, SE_EINVAL, NULL},
	{"header index out of range (drop)", INV, SE_STREAM, {{.op = SE_EDIT_DROP_HDR, .idx = 10}},
	 SE_EINVAL, NULL},
	{"header index out of range (replace)", INV, SE_STREAM,
	 {{.op = SE_EDIT_REPLACE_HDR, .idx = 10, V("x")}}, SE_EINVAL, NULL},
	{"Via hop out of range", INV, SE_STREAM, {{.op = SE_EDIT_DROP_VIA_HOP, .idx = 1}},
	 SE_EINVAL, NULL},
	{"element out of range", INV, SE_STREAM, {{.op = SE_EDIT_DROP_ELEM, .idx = 3}}, SE_EINVAL,
	 NULL},
	{"drop id OTHER", INV, SE_STREAM, {{.op = SE_EDIT_DROP_HDR_ID, .idx = SE_HDR_OTHER}},
	 SE_EINVAL, NULL},
	{"drop id out of range", INV, SE_STREAM,
	 {{.op = SE_EDIT_DROP_HDR_ID, .idx = SE_HDR__COUNT}}, SE_EINVAL, NULL},
	{"unknown op", INV, SE_STREAM, {{.op = 99}}, SE_EINVAL, NULL},
	{"add Content-Length", INV, SE_STREAM,
	 {{.op = SE_EDIT_ADD_HDR, .name = "content-length", V("0")}}, SE_EINVAL, NULL},
	{"add compact Content-Length", INV, SE_STREAM,
	 {{.op = SE_EDIT_ADD_HDR, .name = "l", V("0")}}, SE_EINVAL, NULL},
	{"add a header with a bad name", INV, SE_STREAM,
	 {{.op = SE_EDIT_ADD_HDR, .name = "X Bad", V("0")}}, SE_EINVAL, NULL},
	{"add a header without a name", INV, SE_STREAM, {{.op = SE_EDIT_ADD_HDR, V("0")}},
	 SE_EINVAL, NULL},
	{"header injection in a value", INV, SE_STREAM,
	 {{.op = SE_EDIT_ADD_HDR, .name = "X-A", V("1\r\nX-B: 2")}}, SE_EINVAL, NULL},
	{"line break in a pushed Via", INV, SE_STREAM,
	 {{.op = SE_EDIT_PUSH_VIA, V("SIP/2.0/UDP a\nb")}}, SE_EINVAL, NULL},
	{"space in a Request-URI", INV, SE_STREAM, {{.op = SE_EDIT_SET_RURI, V("sip:a b")}},
	 SE_EINVAL, NULL},
	{"empty Request-URI", INV, SE_STREAM, {{.op = SE_EDIT_SET_RURI, .data = "", .len = 0}},
	 SE_EINVAL, NULL},
	{"Request-URI of a response", RESP, SE_STREAM, {{.op = SE_EDIT_SET_RURI, V("sip:a@b")}},
	 SE_EINVAL, NULL},
	{"status of a request", INV, SE_STREAM, {{.op = SE_EDIT_SET_STATUS, .num = 200}},
	 SE_EINVAL, NULL},
	{"status code out of range", RESP, SE_STREAM, {{.op = SE_EDIT_SET_STATUS, .num = 700}},
	 SE_EINVAL, NULL},
	{"two statuses", RESP, SE_STREAM,
	 {{.op = SE_EDIT_SET_STATUS, .num = 180}, {.op = SE_EDIT_SET_STATUS, .num = 183}},
	 SE_EINVAL, NULL},
	{"reason phrase with CRLF", RESP, SE_STREAM,
	 {{.op = SE_EDIT_SET_STATUS, .num = 180, V("a\r\nX: y")}}, SE_EINVAL, NULL},
};

static size_t edit_count(const struct build_case *c)
{
	size_t n = 0;
	while (n < MAXE && c->e[n].op)
		n++;
	return n;
}

static void check_build(const struct build_case *c)
{
	const char *buf;
	const struct se_msg *m = parse_text(c->in, c->kind, &buf);
	size_t n = edit_count(c);

	if (c->rc) {
		char *out = out_at(4096);
		assert_int_equal(se_build(m, buf, c->e, n, out, 4096), c->rc);
		return;
	}
	size_t want = strlen(c->out);
	char *out = out_at(want);
	int rc = se_build(m, buf, c->e, n, out, want);
	if (rc != (int)want || memcmp(out, c->out, want) != 0) {
		print_error("case: %s\nwant (%zu):\n%s\ngot (%d):\n%.*s\n", c->name, want, c->out,
			    rc, rc > 0 ? rc : 0, out);
		fail();
	}
	/* Room to spare changes nothing. */
	out = out_at(want + 100);
	assert_int_equal(se_build(m, buf, c->e, n, out, want + 100), (int)want);
	assert_memory_equal(out, c->out, want);
	/* Every cap short of the need is refused; a write past it would hit
	 * the guard page. */
	for (size_t cap = 0; cap < want; cap++) {
		if (se_build(m, buf, c->e, n, out_at(cap), cap) != SE_ENOSPC)
			fail_msg("case: %s: cap %zu of %zu not refused", c->name, cap, want);
	}
}

static void test_build_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(build_cases) / sizeof(build_cases[0]); i++)
		check_build(&build_cases[i]);
}

/* At most SE_BUILD_MAX_EDITS edits: one more is refused, not overflowed. */
static void test_build_max_edits(void **state)
{
	(void)state;
	const char *buf;
	const struct se_msg *m = parse_text(INV, SE_STREAM, &buf);
	static struct se_edit e[SE_BUILD_MAX_EDITS + 1];
	for (size_t i = 0; i < SE_BUILD_MAX_EDITS + 1; i++)
		e[i] = (struct se_edit){.op = SE_EDIT_ADD_HDR, .name = "X-N", V("1")};
	char *out = out_at(8192);
	int rc = se_build(m, buf, e, SE_BUILD_MAX_EDITS, out, 8192);
	assert_int_equal(rc, (int)(strlen(INV) + SE_BUILD_MAX_EDITS * strlen("X-N: 1\r\n")));
	assert_int_equal(se_build(m, buf, e, SE_BUILD_MAX_EDITS + 1, out, 8192), SE_EINVAL);
}

/* The builder's output parses, and a second pass over it is stable. */
static void test_build_reparse(void **state)
{
	(void)state;
	static char first[4096];
	const char *buf;
	const struct se_msg *m = parse_text(RT, SE_STREAM, &buf);
	const struct se_edit e[] = {
		{.op = SE_EDIT_PUSH_VIA, V(NEW_VIA)},
		{.op = SE_EDIT_DROP_ELEM, .idx = 0},
		{.op = SE_EDIT_SET_MAX_FORWARDS, .num = 69},
	};
	int n1 = se_build(m, buf, e, 3, first, sizeof(first) - 1);
	assert_true(n1 > 0);
	first[n1] = '\0';
	m = parse_text(first, SE_STREAM, &buf);
	assert_int_equal(m->via_count, 2);
	assert_int_equal(m->max_forwards, 69);
	assert_int_equal(m->list_count[SE_LIST_ROUTE], 2);
	char *out = out_at((size_t)n1);
	assert_int_equal(se_build(m, buf, NULL, 0, out, (size_t)n1), n1);
	assert_memory_equal(out, first, (size_t)n1);
}

/* ---- se_build_reply() rows -------------------------------------------- */

/* RQ: two Via lines (the second compact, two hops), To with trailing
 * white space, compact From, Timestamp, a body. */
#define RQ_VIAS                                                                             \
	"Via: SIP/2.0/UDP proxy.example.net;branch=z9hG4bK.p1\r\n"                          \
	"v: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKa, " RESP_HOP1 "\r\n"
#define RQ_FROM "f: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
#define RQ_CALLID_CSEQ                                                                      \
	"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"                              \
	"CSeq: 314159 INVITE\r\n"
#define RQ_TS "Timestamp: 54.3 0.1\r\n"
#define RQ_TAIL                                                                             \
	"Contact: <sip:alice@pc33.atlanta.example.com>\r\n"                                 \
	"Content-Type: application/sdp\r\n"                                                 \
	"Content-Length: 5\r\n\r\nv=0\r\n"
#define RQ(to)                                                                              \
	"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n" RQ_VIAS "Max-Forwards: 69\r\n" to     \
		RQ_FROM RQ_CALLID_CSEQ RQ_TS RQ_TAIL
#define RQ_TO "To: Bob <sip:bob@biloxi.example.com> \r\n"
#define RQ_TO_TAGGED "To: <sip:bob@biloxi.example.com>;tag=abc\r\n"

struct reply_case {
	const char *name;
	const char *in;
	struct se_reply r;
	int rc;
	const char *out;
};

static const struct reply_case reply_cases[] = {
	{"100 echoes Timestamp, adds no tag", RQ(RQ_TO), {.code = 100, .to_tag = "8a7b"}, 0,
	 "SIP/2.0 100 Trying\r\n" RQ_VIAS RQ_FROM RQ_TO RQ_CALLID_CSEQ RQ_TS
	 "Content-Length: 0\r\n\r\n"},
	{"180 adds the To tag after the value", RQ(RQ_TO), {.code = 180, .to_tag = "8a7b"}, 0,
	 "SIP/2.0 180 Ringing\r\n" RQ_VIAS RQ_FROM
	 "To: Bob <sip:bob@biloxi.example.com>;tag=8a7b \r\n" RQ_CALLID_CSEQ
	 "Content-Length: 0\r\n\r\n"},
	{"180 without a tag to add", RQ(RQ_TO), {.code = 180}, 0,
	 "SIP/2.0 180 Ringing\r\n" RQ_VIAS RQ_FROM RQ_TO RQ_CALLID_CSEQ
	 "Content-Length: 0\r\n\r\n"},
	{"486 when To already has a tag", RQ(RQ_TO_TAGGED), {.code = 486, .to_tag = "zz"}, 0,
	 "SIP/2.0 486 Busy Here\r\n" RQ_VIAS RQ_FROM RQ_TO_TAGGED RQ_CALLID_CSEQ
	 "Content-Length: 0\r\n\r\n"},
	{"own reason, extra headers, body", RQ(RQ_TO),
	 {.code = 486,
	  .reason = "Busy Tonight",
	  .to_tag = "t1",
	  .headers = "Retry-After: 60\r\nContent-Type: text/plain\r\n",
	  .body = "busy",
	  .body_len = 4},
	 0,
	 "SIP/2.0 486 Busy Tonight\r\n" RQ_VIAS RQ_FROM
	 "To: Bob <sip:bob@biloxi.example.com>;tag=t1 \r\n" RQ_CALLID_CSEQ
	 "Retry-After: 60\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nbusy"},
	{"503, default phrase, on a compact-form request", CMP,
	 {.code = 503, .to_tag = "x", .headers = "Retry-After: 5\r\n"}, 0,
	 "SIP/2.0 503 Service Unavailable\r\n" CMP_V
	 "f: <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
	 "t: <sip:carol@chicago.example.com>;tag=x\r\n"
	 "i: a84b4c76e66710\r\n"
	 "CSeq: 63104 OPTIONS\r\n"
	 "Retry-After: 5\r\n"
	 "Content-Length: 0\r\n\r\n"},
	{"code 699, unknown phrase", CMP, {.code = 699}, 0,
	 "SIP/2.0 699 Unknown\r\n" CMP_V
	 "f: <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
	 "t: <sip:carol@chicago.example.com>\r\n"
	 "i: a84b4c76e66710\r\n"
	 "CSeq: 63104 OPTIONS\r\n"
	 "Content-Length: 0\r\n\r\n"},
	{"code 99", RQ(RQ_TO), {.code = 99}, SE_EINVAL, NULL},
	{"code 700", RQ(RQ_TO), {.code = 700}, SE_EINVAL, NULL},
	{"a response to a response", RESP, {.code = 200}, SE_EINVAL, NULL},
	{"tag that is not a token", RQ(RQ_TO), {.code = 200, .to_tag = "a b"}, SE_EINVAL, NULL},
	{"empty tag", RQ(RQ_TO), {.code = 200, .to_tag = ""}, SE_EINVAL, NULL},
	{"reason with a line break", RQ(RQ_TO), {.code = 200, .reason = "OK\r\nX: y"}, SE_EINVAL,
	 NULL},
	{"extra headers not ending in CRLF", RQ(RQ_TO), {.code = 200, .headers = "X: y"},
	 SE_EINVAL, NULL},
	{"body length without a body", RQ(RQ_TO), {.code = 200, .body_len = 3}, SE_EINVAL, NULL},
};

static void check_reply(const struct reply_case *c)
{
	const char *buf;
	const struct se_msg *m = parse_text(c->in, SE_STREAM, &buf);

	if (c->rc) {
		assert_int_equal(se_build_reply(m, buf, &c->r, out_at(4096), 4096), c->rc);
		return;
	}
	size_t want = strlen(c->out);
	char *out = out_at(want);
	int rc = se_build_reply(m, buf, &c->r, out, want);
	if (rc != (int)want || memcmp(out, c->out, want) != 0) {
		print_error("case: %s\nwant (%zu):\n%s\ngot (%d):\n%.*s\n", c->name, want, c->out,
			    rc, rc > 0 ? rc : 0, out);
		fail();
	}
	for (size_t cap = 0; cap < want; cap++) {
		if (se_build_reply(m, buf, &c->r, out_at(cap), cap) != SE_ENOSPC)
			fail_msg("case: %s: cap %zu of %zu not refused", c->name, cap, want);
	}
	/* A reply is a message our own parser takes. */
	static char copy[4096];
	assert_true(want < sizeof(copy));
	memcpy(copy, c->out, want + 1);
	const struct se_msg *r = parse_text(copy, SE_STREAM, &buf);
	assert_false(r->is_request);
	assert_int_equal(r->status, c->r.code);
}

static void test_reply_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++)
		check_reply(&reply_cases[i]);
}

/* ---- reason phrases --------------------------------------------------- */

static void test_reason_phrases(void **state)
{
	(void)state;
	static const struct {
		uint16_t code;
		const char *phrase;
	} spot[] = {
		{100, "Trying"},
		{183, "Session Progress"},
		{199, "Early Dialog Terminated"},
		{200, "OK"},
		{302, "Moved Temporarily"},
		{404, "Not Found"},
		{408, "Request Timeout"},
		{416, "Unsupported URI Scheme"},
		{430, "Flow Failed"},
		{481, "Call/Transaction Does Not Exist"},
		{482, "Loop Detected"},
		{483, "Too Many Hops"},
		{440, "Max-Breadth Exceeded"},
		{504, "Server Time-out"},
		{513, "Message Too Large"},
		{555, "Push Notification Service Not Supported"},
		{603, "Decline"},
		{608, "Rejected"},
		{0, "Unknown"},
		{299, "Unknown"},
		{303, "Unknown"},
		{700, "Unknown"},
	};
	for (size_t i = 0; i < sizeof(spot) / sizeof(spot[0]); i++)
		assert_string_equal(se_reason_phrase(spot[i].code), spot[i].phrase);

	/* RFC 3261 §21 and the IANA registry codes the brief lists. */
	static const uint16_t known[] = {
		100, 180, 181, 182, 183, 199, 200, 202, 204, 300, 301, 302, 305, 380, 400, 401,
		402, 403, 404, 405, 406, 407, 408, 410, 412, 413, 414, 415, 416, 417, 420, 421,
		422, 423, 424, 428, 429, 430, 433, 436, 437, 438, 439, 440, 469, 470, 480, 481,
		482, 483, 484, 485, 486, 487, 488, 489, 491, 493, 494, 500, 501, 502, 503, 504,
		505, 513, 555, 580, 600, 603, 604, 606, 607, 608,
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		const char *p = se_reason_phrase(known[i]);
		if (strcmp(p, "Unknown") == 0)
			fail_msg("no phrase for %u", known[i]);
		assert_null(strpbrk(p, "\r\n"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_table),
		cmocka_unit_test(test_build_max_edits),
		cmocka_unit_test(test_build_reparse),
		cmocka_unit_test(test_reply_table),
		cmocka_unit_test(test_reason_phrases),
	};
	return cmocka_run_group_tests(tests, out_setup, out_teardown);
}
