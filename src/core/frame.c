/*
 * Stream framing for TCP/TLS (RFC 3261 §18.3: Content-Length is mandatory
 * on streams and delimits the body; RFC 5626 §3.5.1: CRLF CRLF ping and
 * CRLF pong keep-alives between messages).
 *
 * The framer remembers how far it searched for the end of the headers, so
 * feeding a message one byte at a time costs O(n) in total, not O(n^2).
 * Content-Length is found with a light scan of the header block only; the
 * full parse of the framed message validates it again.
 */
#include <sipedge/msg.h>

#include "lex.h"

/* Find Content-Length (or compact "l") in the header block b[0, hend).
 * Returns the value, -1 if absent, -2 if malformed or duplicated. */
static int64_t find_content_length(const char *b, uint32_t hend)
{
	int64_t found = -1;
	uint32_t p = 0;
	while (p < hend) {
		const char *nl = memchr(b + p, '\n', hend - p);
		uint32_t le = nl ? (uint32_t)(nl - b) : hend;
		uint32_t ne = lex_token(b, p, le);
		uint32_t q = ne;
		while (q < le && (b[q] == ' ' || b[q] == '\t'))
			q++;
		if (q < le && b[q] == ':' && se_hdr_lookup(b + p, ne - p) == SE_HDR_CONTENT_LENGTH) {
			/* a folded Content-Length value is legal but absurd: refuse */
			uint32_t vs = lex_lws(b, q + 1, le);
			uint32_t ve = le;
			while (ve > vs && (b[ve - 1] == '\r' || b[ve - 1] == ' ' || b[ve - 1] == '\t'))
				ve--;
			uint64_t v;
			if (found != -1 || ve == vs || lex_uint(b, vs, ve, 0x7fffffff, &v) != ve ||
			    v > 0x7fffffff)
				return -2;
			found = (int64_t)v;
		}
		p = le + 1;
	}
	return found;
}

static void framer_reset(struct se_framer *f)
{
	f->scanned = 0;
	f->hdr_end = 0;
	f->body_len = -1;
}

int se_frame_next(struct se_framer *f, const char *buf, size_t len, uint32_t max_msg,
		  struct se_frame *out, struct se_perr *err)
{
	if (f->hdr_end == 0 && f->scanned == 0) {
		/* keep-alives are only recognised between messages */
		if (len >= 4 && memcmp(buf, "\r\n\r\n", 4) == 0) {
			*out = (struct se_frame){SE_FRAME_PING, 4};
			return 0;
		}
		if (len >= 2 && buf[0] == '\r' && buf[1] == '\n') {
			if (len < 4 && (len == 2 || buf[2] == '\r'))
				return SE_EAGAIN; /* could still become a ping */
			*out = (struct se_frame){SE_FRAME_PONG, 2};
			return 0;
		}
		if (len == 1 && buf[0] == '\r')
			return SE_EAGAIN;
	}
	if (f->hdr_end == 0) {
		uint32_t n = len > max_msg ? max_msg : (uint32_t)len;
		uint32_t p = f->scanned >= 3 ? f->scanned - 3 : 0;
		for (;;) {
			const char *nl = memchr(buf + p, '\n', n - p);
			if (!nl)
				break;
			uint32_t i = (uint32_t)(nl - buf);
			/* blank line: "\n\n" or "\n\r\n" */
			if (i + 1 < n && buf[i + 1] == '\n') {
				f->hdr_end = i + 2;
				break;
			}
			if (i + 2 < n && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
				f->hdr_end = i + 3;
				break;
			}
			p = i + 1;
		}
		if (f->hdr_end == 0) {
			f->scanned = n;
			if (len >= max_msg) {
				err->code = SE_EMSGSIZE;
				err->status = 513;
				err->hdr_id = SE_HDR_OTHER;
				err->offset = max_msg;
				err->what = "Message too large";
				framer_reset(f);
				return SE_EMSGSIZE;
			}
			return SE_EAGAIN;
		}
		f->body_len = find_content_length(buf, f->hdr_end);
		if (f->body_len < 0) {
			err->code = SE_EPARSE;
			err->status = 400;
			err->hdr_id = SE_HDR_CONTENT_LENGTH;
			err->offset = 0;
			err->what = f->body_len == -1 ? "Missing Content-Length header"
						      : "Bad Content-Length header";
			framer_reset(f);
			return SE_EPARSE;
		}
	}
	uint64_t total = (uint64_t)f->hdr_end + (uint64_t)f->body_len;
	if (total > max_msg) {
		err->code = SE_EMSGSIZE;
		err->status = 513;
		err->hdr_id = SE_HDR_CONTENT_LENGTH;
		err->offset = 0;
		err->what = "Message too large";
		framer_reset(f);
		return SE_EMSGSIZE;
	}
	if (len < total)
		return SE_EAGAIN;
	*out = (struct se_frame){SE_FRAME_MSG, (uint32_t)total};
	framer_reset(f);
	return 0;
}
