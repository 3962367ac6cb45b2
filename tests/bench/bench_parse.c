/*
 * Parser benchmark: messages/s and ns/message on one core for a typical
 * ~800-byte INVITE, a 200 OK with Record-Route, and a short ACK; each a
 * full parse (every header the proxy needs, R-URI and header URIs
 * included). Run by `tools/bench parse`.
 *
 *   bench_parse [seconds-per-message]   (default 1.0)
 *   bench_parse --iterations N           fixed count, for callgrind
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sipedge/msg.h>

static const char invite[] =
	"INVITE sip:+4930123456@carrier.example.net;user=phone SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 198.51.100.17:5060;branch=z9hG4bK-524287-1---a7b3c9d2e1f0;rport\r\n"
	"Max-Forwards: 70\r\n"
	"Contact: <sip:4930555@198.51.100.17:5060;transport=udp>\r\n"
	"To: <sip:+4930123456@carrier.example.net;user=phone>\r\n"
	"From: \"Alice Example\" <sip:4930555@pbx.example.com;user=phone>;tag=8a7c2b91\r\n"
	"Call-ID: 3c26700a9fa0-a8ch7f6kq2fv@198.51.100.17\r\n"
	"CSeq: 1 INVITE\r\n"
	"Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, SUBSCRIBE, INFO, UPDATE\r\n"
	"Content-Type: application/sdp\r\n"
	"Supported: replaces, timer, 100rel\r\n"
	"User-Agent: ExamplePBX 16.4.1\r\n"
	"P-Asserted-Identity: <sip:+4930555@pbx.example.com;user=phone>\r\n"
	"Session-Expires: 1800\r\n"
	"Content-Length: 229\r\n"
	"\r\n"
	"v=0\r\n"
	"o=- 3869410123 3869410123 IN IP4 198.51.100.17\r\n"
	"s=ExamplePBX\r\n"
	"c=IN IP4 198.51.100.17\r\n"
	"t=0 0\r\n"
	"m=audio 16384 RTP/AVP 8 0 101\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=ptime:20\r\n"
	"a=sendrecv\r\n";

static const char ok200[] =
	"SIP/2.0 200 OK\r\n"
	"Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bK.0a1b.3f2e9d8c7b6a5948;rport=5060\r\n"
	"Via: SIP/2.0/UDP 198.51.100.17:5060;branch=z9hG4bK-524287-1---a7b3c9d2e1f0;rport=5060;received=198.51.100.17\r\n"
	"Record-Route: <sip:203.0.113.5;lr;ftag=8a7c2b91>\r\n"
	"Record-Route: <sip:192.0.2.200;lr>\r\n"
	"Contact: <sip:+4930123456@192.0.2.77:5060>\r\n"
	"To: <sip:+4930123456@carrier.example.net;user=phone>;tag=as5f6e7d8c\r\n"
	"From: \"Alice Example\" <sip:4930555@pbx.example.com;user=phone>;tag=8a7c2b91\r\n"
	"Call-ID: 3c26700a9fa0-a8ch7f6kq2fv@198.51.100.17\r\n"
	"CSeq: 1 INVITE\r\n"
	"Content-Length: 0\r\n"
	"\r\n";

static const char ack[] = "ACK sip:+4930123456@192.0.2.77:5060 SIP/2.0\r\n"
			  "Via: SIP/2.0/UDP 198.51.100.17:5060;branch=z9hG4bK-524287-1---b1;rport\r\n"
			  "Max-Forwards: 70\r\n"
			  "Route: <sip:203.0.113.5;lr;ftag=8a7c2b91>\r\n"
			  "To: <sip:+4930123456@carrier.example.net>;tag=as5f6e7d8c\r\n"
			  "From: <sip:4930555@pbx.example.com>;tag=8a7c2b91\r\n"
			  "Call-ID: 3c26700a9fa0-a8ch7f6kq2fv@198.51.100.17\r\n"
			  "CSeq: 1 ACK\r\n"
			  "Content-Length: 0\r\n\r\n";

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run(const char *name, const char *text, size_t len, double secs, long iters)
{
	struct se_limits lim = SE_LIMITS_DEFAULT;
	struct se_msg *m = se_msg_init(malloc(se_msg_size(&lim)), &lim);
	struct se_perr err;
	if (se_msg_parse(m, text, len, SE_DGRAM, &lim, &err) < 0) {
		fprintf(stderr, "%s: does not parse: %s\n", name, err.what);
		exit(1);
	}
	long n = 0;
	double t0 = now(), t1;
	volatile uint32_t sink = 0;
	if (iters > 0) {
		for (n = 0; n < iters; n++)
			sink += (uint32_t)se_msg_parse(m, text, len, SE_DGRAM, &lim, &err);
		t1 = now();
	} else {
		do {
			for (int i = 0; i < 10000; i++)
				sink += (uint32_t)se_msg_parse(m, text, len, SE_DGRAM, &lim, &err);
			n += 10000;
			t1 = now();
		} while (t1 - t0 < secs);
	}
	if (sink == 0)
		fprintf(stderr, "unexpected: no message parsed\n");
	double ns = (t1 - t0) * 1e9 / (double)n;
	printf("%-8s %5zu bytes  %10.0f msg/s  %7.1f ns/msg\n", name, len, 1e9 / ns, ns);
	free(m);
}

int main(int argc, char **argv)
{
	double secs = 1.0;
	long iters = 0;
	if (argc > 2 && strcmp(argv[1], "--iterations") == 0)
		iters = atol(argv[2]);
	else if (argc > 1)
		secs = atof(argv[1]);
	run("INVITE", invite, sizeof(invite) - 1, secs, iters);
	run("200-RR", ok200, sizeof(ok200) - 1, secs, iters);
	run("ACK", ack, sizeof(ack) - 1, secs, iters);
	return 0;
}
