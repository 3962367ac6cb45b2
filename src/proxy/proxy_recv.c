/*
 * One datagram in (RFC 3261 §18.3, §16.3 step 1): parse it; a request too
 * broken to parse gets a 400 (505, 513) whose reason names the fault; a
 * broken response or anything else is dropped and counted. Parsed
 * messages go to the request, ACK, CANCEL or response path.
 */
#include "proxy.h"

#include <string.h>

#include "../runtime/log.h"

/* Is the first line of a message that failed to parse a request line?
 * Method SP ... SP "SIP/" — enough to deserve an answer. */
static bool looks_like_request(const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len);
	size_t n = nl ? (size_t)(nl - buf) : len;
	if (n < 12 || strncasecmp(buf, "SIP/", 4) == 0)
		return false;
	const char *sp = memchr(buf, ' ', n);
	if (!sp || sp == buf)
		return false;
	for (size_t i = n >= 16 ? n - 16 : 0; i + 4 <= n; i++)
		if (buf[i] == ' ' && strncasecmp(buf + i + 1, "SIP/", 4) == 0)
			return true;
	return false;
}

static void count_drop(struct sip_worker *sw, enum sip_drop why)
{
	atomic_fetch_add_explicit(&sw->st->drops[why], 1, memory_order_relaxed);
}

void sip_recv(struct worker *w, struct listener_rt *l, char *buf, size_t len,
	      const struct sockaddr *src, socklen_t srclen)
{
	struct sip_worker *sw = sip_of(w);
	union sockaddr_any from;
	memset(&from, 0, sizeof(from));
	memcpy(&from, src, srclen < sizeof(from) ? srclen : sizeof(from));
	sw->now = worker_now_ms(w);
	/* RFC 5626 §4.4.1 keep-alives on UDP are STUN; a bare CRLF is common
	 * NAT-keepalive noise: both are ignored silently */
	size_t crlf = 0;
	while (crlf < len && crlf < 4 && (buf[crlf] == '\r' || buf[crlf] == '\n'))
		crlf++;
	if (crlf == len)
		return;
	struct se_perr err;
	int rc = se_msg_parse(sw->msg, buf, len, SE_DGRAM, &sw->lim, &err);
	if (rc < 0) {
		if (looks_like_request(buf, len)) {
			atomic_fetch_add_explicit(&sw->st->parse_errors, 1, memory_order_relaxed);
			log_debug("malformed request: %s at offset %u", err.what, err.offset);
			sip_reply_malformed(sw, (uint8_t)l->index, buf, len, &from, &err);
		} else {
			count_drop(sw, strncasecmp(buf, "SIP/", len < 4 ? len : 4) == 0
					       ? SIP_DROP_MALFORMED_RESPONSE
					       : SIP_DROP_GARBAGE);
			log_debug("dropped a malformed message: %s", err.what);
		}
		return;
	}
	const struct se_msg *m = sw->msg;
	if (!m->is_request) {
		atomic_fetch_add_explicit(&sw->st->responses[m->status / 100], 1,
					  memory_order_relaxed);
		sip_response(sw, l, buf);
		return;
	}
	atomic_fetch_add_explicit(&sw->st->requests[m->method], 1, memory_order_relaxed);
	if (m->method == SE_METHOD_ACK)
		sip_ack(sw, l, buf, &from);
	else if (m->method == SE_METHOD_CANCEL)
		sip_cancel(sw, l, buf, &from);
	else
		sip_request(sw, l, buf, &from);
}
