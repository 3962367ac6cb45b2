/*
 * Building outgoing messages (RFC 3261 §16.6 request forwarding, §8.2.6
 * and §16.7 locally generated responses).
 *
 * se_build() writes a new message from a parsed one and a list of edits in
 * one pass over the original: unchanged ranges are copied as they are,
 * edited places are written from the edit. Content-Length is always
 * written anew (full form), from the body that goes out, so a message
 * received on a datagram without Content-Length can go out on a stream.
 *
 * Edits refer to header, Via-hop and element indexes of the parsed message
 * (struct se_msg); `data` is not NUL-terminated, its length is `len`, and
 * it is copied, not kept. Several edits may touch the same message; two
 * edits that remove or replace the same index are refused (SE_EINVAL).
 */
#ifndef SIPEDGE_BUILD_H
#define SIPEDGE_BUILD_H

#include <sipedge/msg.h>

enum se_edit_op {
	SE_EDIT_PUSH_VIA = 1, /* data: Via value; goes above the topmost Via */
	SE_EDIT_DROP_VIA_HOP, /* idx: Via hop index (0 = top); the line goes when empty */
	SE_EDIT_SET_MAX_FORWARDS, /* num: value; replaces Max-Forwards or adds it */
	SE_EDIT_DROP_ELEM,    /* idx: element index (e.g. the first Route value) */
	SE_EDIT_INSERT_RECORD_ROUTE, /* data: value; above the first Record-Route,
				      * or after the Via block when there is none */
	SE_EDIT_INSERT_PATH,  /* data: value; above the first Path, or after the Vias */
	SE_EDIT_SET_RURI,     /* data: new Request-URI */
	SE_EDIT_ADD_HDR,      /* name: header name (NUL-terminated); data: value; at the end */
	SE_EDIT_DROP_HDR,     /* idx: header index */
	SE_EDIT_DROP_HDR_ID,  /* idx: enum se_hdr_id; every header with that id */
	SE_EDIT_REPLACE_HDR,  /* idx: header index; data: new value, name kept */
	SE_EDIT_SET_BODY,     /* data: body (len may be 0); replaces the body */
	SE_EDIT_SET_STATUS,   /* responses: num: status code (100-699); data: reason
			       * phrase (len 0: the standard phrase of num) */
};

/* Most edits one se_build() call takes (more is SE_EINVAL): the plan of
 * edits lives on the stack, so the builder never allocates. */
#define SE_BUILD_MAX_EDITS 64

struct se_edit {
	uint8_t op;       /* enum se_edit_op */
	uint16_t idx;     /* header / hop / element index or header id, per op */
	uint32_t num;     /* numeric argument */
	const char *name; /* header name for SE_EDIT_ADD_HDR */
	const char *data; /* value bytes */
	uint32_t len;     /* bytes at data */
};

/*
 * Write the edited message into out[0, cap). Returns the number of bytes
 * written, SE_ENOSPC when cap is too small (nothing usable is in out), or
 * SE_EINVAL for an edit that names an index the message does not have or
 * that conflicts with another edit; also for more than SE_BUILD_MAX_EDITS
 * edits, a value holding CR, LF or NUL, an ADD_HDR name that is not a token
 * or is Content-Length, a REPLACE_HDR of Content-Length, SET_RURI on a
 * response, and SET_STATUS on a request or with a code outside 100-699. Nothing is written before every edit has been checked.
 */
int se_build(const struct se_msg *m, const char *buf, const struct se_edit *edits, size_t n,
	     char *out, size_t cap);

/* A locally generated response to a request. */
struct se_reply {
	uint16_t code;
	const char *reason;  /* NUL-terminated; NULL: the RFC 3261 default phrase */
	const char *to_tag;  /* NUL-terminated; added to To when it has no tag,
			      * unless code is 100 (§8.2.6.2); NULL for none */
	const char *headers; /* extra header lines, each ending CRLF; may be NULL */
	const char *body;    /* may be NULL */
	uint32_t body_len;
};

/*
 * Build a response to the parsed request m: status line, every Via in
 * order, From, To (with to_tag), Call-ID, CSeq, Timestamp for a 100
 * (§8.2.6.1), the extra headers, Content-Length, body. Echoed lines are
 * copied as written (compact names included). Returns bytes written or
 * SE_ENOSPC / SE_EINVAL (m is not a request, code not 100-699, a reason
 * with CR or LF, a to_tag that is empty or not a token, headers whose last
 * line lacks CRLF, body_len without body).
 */
int se_build_reply(const struct se_msg *m, const char *buf, const struct se_reply *r, char *out,
		   size_t cap);

/* RFC 3261 §21 default reason phrase for a status code; "Unknown" if none. */
const char *se_reason_phrase(uint16_t code);

#endif
