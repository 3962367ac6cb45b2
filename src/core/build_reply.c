/*
 * Locally generated responses (RFC 3261 §8.2.6, §16.7 step 5, §16.3 and
 * §16.4 replies of a proxy): the status line, then the header lines the
 * response must echo from the request, the caller's extra headers, a
 * fresh Content-Length and the body.
 *
 * Echoed lines are copied exactly as written, compact names included
 * ("v:", "f:"): §7.3.3 makes both forms equivalent everywhere, and §8.2.6.2
 * wants the Via values of the response equal to those of the request, which
 * a byte copy guarantees and a rewrite only approximates. The To line is
 * copied too, with ";tag=" appended after its value when it needs one.
 *
 * A header the request lacks is skipped rather than refused, so a 400 can
 * still be built from what a failed parse managed to fill in.
 */
#include <sipedge/build.h>

#include <sipedge/out.h>
#include "chars.h"

static void put_line(struct se_out *o, const struct se_msg *m, const char *buf, uint16_t h)
{
	if (h != SE_NONE && h < m->hdr_count) {
		struct se_range r = se_msg_hdrs(m)[h].line;
		se_out_put(o, buf + r.off, r.len);
	}
}

/* Every line of one header id, in message order (Via may span several). */
static void put_all(struct se_out *o, const struct se_msg *m, const char *buf, enum se_hdr_id id)
{
	const struct se_hdr *hdrs = se_msg_hdrs(m);

	for (uint16_t h = m->first[id]; h != SE_NONE && h < m->hdr_count; h = hdrs[h].next)
		put_line(o, m, buf, h);
}

/* §8.2.6.2: a UAS (and a proxy answering on its own, §16.7) adds a To tag
 * to any response but 100 when the request's To has none. The tag goes
 * after the value, before the trailing whitespace and CRLF of the line. */
static void put_to(struct se_out *o, const struct se_msg *m, const char *buf, const struct se_reply *r)
{
	uint16_t h = m->first[SE_HDR_TO];

	if (h == SE_NONE || h >= m->hdr_count)
		return;
	if (!r->to_tag || r->code == 100 || m->to.tag.len) {
		put_line(o, m, buf, h);
		return;
	}
	const struct se_hdr *hd = &se_msg_hdrs(m)[h];
	uint32_t vend = hd->value.off + hd->value.len;
	se_out_put(o, buf + hd->line.off, vend - hd->line.off);
	se_out_put(o, ";tag=", 5);
	se_out_put(o, r->to_tag, strlen(r->to_tag));
	se_out_put(o, buf + vend, hd->line.off + hd->line.len - vend);
}

/* Refuse what would make a malformed response: a reason phrase with a line
 * break, a tag that is not a token (§25.1), extra headers whose last line
 * is not terminated. */
static bool reply_ok(const struct se_reply *r, const char *reason)
{
	if (strpbrk(reason, "\r\n"))
		return false;
	if (r->to_tag) {
		if (!*r->to_tag)
			return false;
		for (const char *p = r->to_tag; *p; p++)
			if (!se_is((unsigned char)*p, SE_C_TOKEN))
				return false;
	}
	if (r->headers && *r->headers) {
		size_t n = strlen(r->headers);
		if (n < 2 || r->headers[n - 2] != '\r' || r->headers[n - 1] != '\n')
			return false;
	}
	return !(r->body_len && !r->body);
}

int se_build_reply(const struct se_msg *m, const char *buf, const struct se_reply *r, char *out,
		   size_t cap)
{
	if (!m->is_request || r->code < 100 || r->code > 699)
		return SE_EINVAL;
	const char *reason = r->reason ? r->reason : se_reason_phrase(r->code);
	if (!reply_ok(r, reason))
		return SE_EINVAL;

	struct se_out o = {out, cap, false};
	se_out_put(&o, "SIP/2.0 ", 8);
	se_out_u32(&o, r->code);
	se_out_put(&o, " ", 1);
	se_out_put(&o, reason, strlen(reason));
	se_out_put(&o, "\r\n", 2);

	put_all(&o, m, buf, SE_HDR_VIA);
	put_line(&o, m, buf, m->first[SE_HDR_FROM]);
	put_to(&o, m, buf, r);
	put_line(&o, m, buf, m->first[SE_HDR_CALL_ID]);
	put_line(&o, m, buf, m->first[SE_HDR_CSEQ]);
	/* §8.2.6.1: only the 100 echoes Timestamp (the UAC measures RTT). */
	if (r->code == 100)
		put_line(&o, m, buf, m->first[SE_HDR_TIMESTAMP]);
	if (r->headers)
		se_out_put(&o, r->headers, strlen(r->headers));
	se_out_put(&o, "Content-Length: ", 16);
	se_out_u32(&o, r->body_len);
	se_out_put(&o, "\r\n\r\n", 4);
	se_out_put(&o, r->body, r->body_len);

	if (o.full)
		return SE_ENOSPC;
	size_t len = cap - o.left;
	return len > INT32_MAX ? SE_ENOSPC : (int)len;
}
