/*
 * Sending, and the messages the proxy writes itself: stateless replies
 * (§8.2.6, §16.7), a 400 for a request too broken to parse (§16.3 step 1),
 * ACK for a non-2xx final (§17.1.1.3) and CANCEL (§9.1), and where a
 * response goes (§18.2.2 with RFC 3581 rport).
 */
#include "proxy.h"

#include <sipedge/out.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "../runtime/log.h"

static bool counted(struct sip_worker *sw, int rc, uint32_t len)
{
	if (rc < 0) {
		atomic_fetch_add_explicit(&sw->st->drops[SIP_DROP_SEND_FAILED], 1,
					  memory_order_relaxed);
		log_debug("send of %u bytes failed: %s", len, se_strerror(rc));
		return false;
	}
	return true;
}

bool sip_send(struct sip_worker *sw, uint8_t listener, const union sockaddr_any *dst,
	      const char *buf, uint32_t len)
{
	return counted(sw, worker_send(sw->w, &sw->w->listeners[listener], &dst->sa, buf, len),
		       len);
}

bool sip_send_now(struct sip_worker *sw, uint8_t listener, const union sockaddr_any *dst,
		  const char *buf, uint32_t len)
{
	return counted(sw, worker_send_now(sw->w, &sw->w->listeners[listener], &dst->sa, buf, len),
		       len);
}

void sip_send_failed(struct worker *w, uint32_t n, int err)
{
	struct sip_worker *sw = sip_of(w);
	atomic_fetch_add_explicit(&sw->st->drops[SIP_DROP_SEND_FAILED], n, memory_order_relaxed);
	log_debug("%u datagram(s) refused by the kernel: %s", n, se_strerror(err));
}

int sip_host_addr(const char *host, uint32_t hlen, uint16_t port, union sockaddr_any *out)
{
	char tmp[INET6_ADDRSTRLEN + 1];
	memset(out, 0, sizeof(*out));
	if (hlen >= 2 && host[0] == '[') {
		if (hlen - 2 >= sizeof(tmp))
			return SE_EINVAL;
		memcpy(tmp, host + 1, hlen - 2);
		tmp[hlen - 2] = 0;
		out->in6.sin6_family = AF_INET6;
		out->in6.sin6_port = htons(port);
		return inet_pton(AF_INET6, tmp, &out->in6.sin6_addr) == 1 ? 0 : SE_EINVAL;
	}
	if (hlen >= sizeof(tmp))
		return SE_EINVAL;
	memcpy(tmp, host, hlen);
	tmp[hlen] = 0;
	out->in.sin_family = AF_INET;
	out->in.sin_port = htons(port);
	if (inet_pton(AF_INET, tmp, &out->in.sin_addr) == 1)
		return 0;
	out->in6.sin6_family = AF_INET6;
	out->in6.sin6_port = htons(port);
	return inet_pton(AF_INET6, tmp, &out->in6.sin6_addr) == 1 ? 0 : SE_EINVAL;
}

static void set_port(union sockaddr_any *a, uint16_t port)
{
	if (a->sa.sa_family == AF_INET6)
		a->in6.sin6_port = htons(port);
	else
		a->in.sin_port = htons(port);
}

void sip_response_addr(const struct se_msg *m, const char *buf, const union sockaddr_any *src,
		       union sockaddr_any *out)
{
	(void)buf;
	const struct se_via *v = se_msg_top_via(m);
	*out = *src; /* the "received" address: where the request came from */
	if (!(v->flags & SE_VIA_RPORT)) /* RFC 3581: rport asks for the source port */
		set_port(out, (v->flags & SE_VIA_PORT) ? v->port : 5060);
}

bool sip_via_addr(const struct se_via *v, const char *buf, union sockaddr_any *out)
{
	uint16_t port = (v->flags & SE_VIA_RPORT_VALUE) ? v->rport
			: (v->flags & SE_VIA_PORT)      ? v->port
							: 5060;
	struct se_range h = v->received.len ? v->received : v->host;
	return sip_host_addr(buf + h.off, h.len, port, out) == 0;
}

/* One ;name[=value] of a Via's params at b[p]; returns its end. Quoted
 * values may hold ';'. */
static uint32_t via_param_end(const char *b, uint32_t p, uint32_t end)
{
	bool q = false;
	for (; p < end; p++) {
		if (b[p] == '"' && (p == 0 || b[p - 1] != '\\'))
			q = !q;
		else if (!q && b[p] == ';')
			break;
	}
	return p;
}

int sip_via_text(const struct listener_rt *l, const char *branch, uint32_t blen, char *out,
		 size_t cap)
{
	struct se_out o = se_out_at(out, cap);
	se_out_put(&o, "SIP/2.0/UDP ", 12);
	se_out_put(&o, l->hostport, l->hostport_len);
	se_out_put(&o, ";branch=", 8);
	se_out_put(&o, branch, blen);
	se_out_put(&o, ";rport", 6);
	return se_out_end(&o, out);
}

/* The source address as text, IPv4 by hand (inet_ntop costs more than
 * the rest of the Via rewrite); its length. */
static size_t addr_text(const union sockaddr_any *src, char ip[INET6_ADDRSTRLEN])
{
	if (src->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &src->in6.sin6_addr, ip, INET6_ADDRSTRLEN);
		return strlen(ip);
	}
	const uint8_t *a = (const uint8_t *)&src->in.sin_addr;
	struct se_out o = se_out_at(ip, INET6_ADDRSTRLEN);
	for (int i = 0; i < 4; i++) {
		if (i)
			se_out_put(&o, ".", 1);
		se_out_u32(&o, a[i]);
	}
	return (size_t)se_out_end(&o, ip);
}

int sip_via_received(const struct se_msg *m, const char *buf, const union sockaddr_any *src,
		     char *out, size_t cap)
{
	const struct se_via *v = se_msg_top_via(m);
	char ip[INET6_ADDRSTRLEN];
	size_t iplen = addr_text(src, ip);
	uint16_t port = ntohs(src->sa.sa_family == AF_INET6 ? src->in6.sin6_port : src->in.sin_port);
	bool rport = v->flags & SE_VIA_RPORT;
	/* §18.2.1: received when sent-by is not the source address; RFC 3581
	 * §4: always, with rport filled in, when the client asked for rport */
	const char *host = buf + v->host.off;
	uint32_t hl = v->host.len;
	if (hl >= 2 && host[0] == '[') {
		host++;
		hl -= 2;
	}
	if (!rport && hl == iplen && strncasecmp(host, ip, hl) == 0)
		return 0;
	const struct se_hdr *h = &se_msg_hdrs(m)[v->hdr];
	uint32_t hop_end = v->whole.off + v->whole.len;
	/* ps: the ';' that opens the params (LWS may stand on either side) */
	uint32_t ps = hop_end;
	if (v->params.len) {
		ps = v->params.off;
		while (ps > v->whole.off && buf[ps - 1] != ';')
			ps--;
		ps--;
	}
	struct se_out o = se_out_at(out, cap);
	se_out_put(&o, buf + h->value.off, ps - h->value.off);
	/* keep every param but received and rport */
	for (uint32_t p = ps; p < hop_end && !o.full;) {
		uint32_t e = via_param_end(buf, p + 1, hop_end);
		uint32_t n = p + 1;
		while (n < e && buf[n] == ' ')
			n++;
		bool drop = (e - n >= 8 && strncasecmp(buf + n, "received", 8) == 0 &&
			     (e - n == 8 || buf[n + 8] == '=' || buf[n + 8] == ' ')) ||
			    (e - n >= 5 && strncasecmp(buf + n, "rport", 5) == 0 &&
			     (e - n == 5 || buf[n + 5] == '=' || buf[n + 5] == ' '));
		if (!drop)
			se_out_put(&o, buf + p, e - p);
		p = e;
	}
	se_out_put(&o, ";received=", 10);
	se_out_put(&o, ip, iplen);
	if (rport) {
		se_out_put(&o, ";rport=", 7);
		se_out_u32(&o, port);
	}
	/* the other hops of the same header line, if any */
	uint32_t vend = h->value.off + h->value.len;
	se_out_put(&o, buf + hop_end, vend - hop_end);
	int k = se_out_end(&o, out);
	return k > 0 ? k : SE_ENOSPC;
}

/* A To tag for a stateless reply: the same for every retransmission of
 * the request, so that the client sees one answer. */
static void stateless_tag(const struct se_msg *m, const char *buf, char out[17])
{
	const struct se_via *v = se_msg_top_via(m);
	XXH3_state_t st;
	XXH3_64bits_reset(&st);
	XXH3_64bits_update(&st, buf + m->call_id.off, m->call_id.len);
	XXH3_64bits_update(&st, buf + m->from.tag.off, m->from.tag.len);
	XXH3_64bits_update(&st, buf + v->branch.off, v->branch.len);
	snprintf(out, 17, "%016llx", (unsigned long long)XXH3_64bits_digest(&st));
}

void sip_reply(struct sip_worker *sw, uint8_t listener, const struct se_msg *m, const char *buf,
	       const union sockaddr_any *dst, uint16_t code, const char *reason,
	       const char *extra)
{
	char tag[17];
	stateless_tag(m, buf, tag);
	struct se_reply r = {.code = code, .reason = reason, .to_tag = tag, .headers = extra};
	int n = se_build_reply(m, buf, &r, sw->out2, sizeof(sw->out2));
	if (n < 0) {
		log_warn("cannot build a %u reply: %s", code, se_strerror(n));
		return;
	}
	atomic_fetch_add_explicit(&sw->st->replies_local[code / 100], 1, memory_order_relaxed);
	sip_send(sw, listener, dst, sw->out2, (uint32_t)n);
}

/* Does a header line name one of the headers a response must echo? */
static bool echo_header(const char *b, uint32_t p, uint32_t end)
{
	uint32_t q = p;
	while (q < end && b[q] != ':' && b[q] != ' ' && b[q] != '\t')
		q++;
	enum se_hdr_id id = se_hdr_lookup(b + p, q - p);
	return id == SE_HDR_VIA || id == SE_HDR_FROM || id == SE_HDR_TO || id == SE_HDR_CALL_ID ||
	       id == SE_HDR_CSEQ;
}

void sip_reply_malformed(struct sip_worker *sw, uint8_t listener, const char *buf, size_t len,
			 const union sockaddr_any *src, const struct se_perr *err)
{
	/* The request did not parse, so its Via may not be usable: answer the
	 * packet's source, echoing the raw lines of the headers a response
	 * carries (those that are there), with the fault as reason phrase. */
	char *o = sw->out2;
	size_t cap = sizeof(sw->out2) - 64;
	int k = snprintf(o, cap, "SIP/2.0 %u %s\r\n", err->status ? err->status : 400,
			 err->what ? err->what : "Bad Request");
	size_t p = 0;
	const char *nl = memchr(buf, '\n', len);
	if (!nl)
		return;
	p = (size_t)(nl - buf) + 1;
	bool copying = false;
	while (p < len && k > 0) {
		const char *e = memchr(buf + p, '\n', len - p);
		size_t le = e ? (size_t)(e - buf) + 1 : len;
		if (le - p <= 2 && (buf[p] == '\r' || buf[p] == '\n'))
			break; /* end of headers */
		if (buf[p] != ' ' && buf[p] != '\t')
			copying = echo_header(buf, (uint32_t)p, (uint32_t)le);
		if (copying && (size_t)k + (le - p) + 2 < cap) {
			memcpy(o + k, buf + p, le - p);
			k += (int)(le - p);
			if (o[k - 1] != '\n') {
				o[k++] = '\r';
				o[k++] = '\n';
			}
		}
		p = le;
	}
	k += snprintf(o + k, sizeof(sw->out2) - (size_t)k, "Content-Length: 0\r\n\r\n");
	atomic_fetch_add_explicit(&sw->st->replies_local[4], 1, memory_order_relaxed);
	sip_send(sw, listener, src, o, (uint32_t)k);
}

static int put(char *out, size_t cap, int k, const char *s, uint32_t n)
{
	if (k < 0 || (size_t)k + n > cap)
		return -1;
	memcpy(out + k, s, n);
	return k + (int)n;
}

static int put_line(char *out, size_t cap, int k, const char *b, struct se_range line)
{
	return put(out, cap, k, b + line.off, line.len);
}

int sip_build_ack_cancel(struct sip_worker *sw, const char *req, uint32_t req_len,
			 enum se_method method, const struct se_msg *resp, const char *resp_buf,
			 const char *extra, char *out, size_t cap)
{
	struct se_perr err;
	struct se_msg *m = sw->aux2;
	if (se_msg_parse(m, req, req_len, SE_DGRAM, &sw->lim, &err) < 0)
		return SE_EPARSE;
	const char *mn = se_method_name(method);
	const struct se_hdr *h = se_msg_hdrs(m);
	int k = 0;
	k = put(out, cap, k, mn, (uint32_t)strlen(mn));
	k = put(out, cap, k, " ", 1);
	k = put(out, cap, k, req + m->ruri_text.off, m->ruri_text.len);
	k = put(out, cap, k, " SIP/2.0\r\nVia: ", 15);
	k = put(out, cap, k, req + se_msg_vias(m)[0].whole.off, se_msg_vias(m)[0].whole.len);
	k = put(out, cap, k, "\r\n", 2);
	for (uint16_t i = m->first[SE_HDR_ROUTE]; i != SE_NONE; i = h[i].next)
		k = put_line(out, cap, k, req, h[i].line);
	k = put(out, cap, k, "Max-Forwards: 70\r\n", 18);
	k = put_line(out, cap, k, req, h[m->first[SE_HDR_FROM]].line);
	if (resp) /* ACK: the To of the response, with its tag (§17.1.1.3) */
		k = put_line(out, cap, k, resp_buf, se_msg_hdrs(resp)[resp->first[SE_HDR_TO]].line);
	else
		k = put_line(out, cap, k, req, h[m->first[SE_HDR_TO]].line);
	k = put_line(out, cap, k, req, h[m->first[SE_HDR_CALL_ID]].line);
	char cseq[40];
	int cn = snprintf(cseq, sizeof(cseq), "CSeq: %u %s\r\n", m->cseq, mn);
	k = put(out, cap, k, cseq, (uint32_t)cn);
	if (extra)
		k = put(out, cap, k, extra, (uint32_t)strlen(extra));
	k = put(out, cap, k, "Content-Length: 0\r\n\r\n", 21);
	return k < 0 ? SE_ENOSPC : k;
}
