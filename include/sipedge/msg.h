/*
 * SIP message parsing (RFC 3261 §7, §18.3, §20, §25; RFC 5954).
 *
 * Contract (after picohttpparser): the caller owns the buffer and the
 * message storage. se_msg_parse() fills a struct se_msg whose every result
 * is a range into the buffer. The message struct and all its slot arrays
 * (headers, Via hops, name-addr elements) live in one contiguous block of
 * se_msg_size(limits) bytes: copying a parsed message anywhere is one
 * memcpy of m->size bytes plus the buffer, and no field needs re-pointing.
 *
 * Headers the proxy needs are parsed and validated fully (see struct
 * se_msg); all others are kept as raw, ordered ranges. A parse failure
 * returns SE_EPARSE (or SE_ELIMIT / SE_EMSGSIZE) and fills a struct se_perr
 * whose reason phrase is fit for a 400 ("Bad CSeq header").
 */
#ifndef SIPEDGE_MSG_H
#define SIPEDGE_MSG_H

#include <sipedge/error.h>
#include <sipedge/hdr.h>
#include <sipedge/range.h>
#include <sipedge/uri.h>

#define SE_NONE 0xffffu /* "no index" in uint16_t slot links */

/* Limits are parameters of every parse, from configuration. */
struct se_limits {
	uint32_t max_msg;     /* bytes, whole message incl. body */
	uint16_t max_headers; /* header lines */
	uint16_t max_vias;    /* Via hops (comma-separated values count) */
	uint16_t max_elems;   /* name-addr values of Route/Record-Route/Path/Contact */
};

/* RFC 3261 §18 / the sizes a carrier edge actually sees; 70 Via hops is
 * what an initial Max-Forwards of 70 allows. */
#define SE_LIMITS_DEFAULT ((struct se_limits){65535, 128, 70, 64})

/* One header line. */
struct se_hdr {
	struct se_range name;  /* as written */
	struct se_range value; /* LWS-trimmed; may contain folded line breaks */
	struct se_range line;  /* whole line(s) incl. the final CRLF */
	uint16_t id;           /* enum se_hdr_id */
	uint16_t next;         /* next header with the same id, or SE_NONE */
};

/* Via hop flags */
#define SE_VIA_RPORT 0x01       /* ;rport present */
#define SE_VIA_RPORT_VALUE 0x02 /* ;rport=N (rport holds N) */
#define SE_VIA_PORT 0x04        /* sent-by has an explicit port */

/* One Via hop (a Via header may hold several, comma-separated). */
struct se_via {
	struct se_range whole;     /* the hop's text */
	struct se_range protocol;  /* "SIP/2.0/UDP" as written (may hold LWS) */
	struct se_range transport; /* "UDP", "TCP", "TLS", "WS", ... */
	struct se_range host;      /* sent-by host; "[v6]" keeps its brackets */
	struct se_range branch;    /* ;branch value */
	struct se_range received;  /* ;received value */
	struct se_range maddr;
	struct se_range ttl;
	struct se_range params; /* all params, from after the first ';' */
	uint16_t port;          /* valid when SE_VIA_PORT */
	uint16_t rport;         /* valid when SE_VIA_RPORT_VALUE */
	uint8_t flags;          /* SE_VIA_* */
	uint8_t host_type;      /* enum se_host_type */
	uint16_t hdr;           /* index of the Via header holding this hop */
};

/* One name-addr / addr-spec value (From, To, Route, Record-Route, Path,
 * Contact), RFC 3261 §20.10, §25.1. */
#define SE_ELEM_STAR 0x01 /* Contact: * */
#define SE_ELEM_ANGLE 0x02 /* the URI was in <> (name-addr form) */

struct se_elem {
	struct se_range whole;   /* the value's text */
	struct se_range display; /* display-name, quotes kept; len 0 if none */
	struct se_range uri;     /* URI text without <> */
	struct se_range params;  /* header params after the URI, without first ';' */
	struct se_range tag;     /* ;tag value (From/To) */
	uint16_t hdr;            /* header index holding this value */
	uint16_t next;           /* next value of the same list, or SE_NONE */
	uint8_t flags;           /* SE_ELEM_* */
};

/* Lists of name-addr values kept in the element array. */
enum se_list { SE_LIST_ROUTE, SE_LIST_RECORD_ROUTE, SE_LIST_PATH, SE_LIST_CONTACT, SE_LIST__COUNT };

struct se_reason {
	struct se_range protocol; /* "SIP", "Q.850" */
	struct se_range text;     /* text param value with quotes; len 0 if none */
	uint16_t cause;           /* 0 if absent */
};

struct se_msg {
	uint32_t size;    /* bytes of this struct and its slot arrays */
	uint32_t msg_len; /* bytes of the message in the buffer, start line to body end */
	uint16_t hdr_cap, via_cap, elem_cap;
	uint16_t hdr_count, via_count, elem_count;

	bool is_request;
	/* request line */
	uint8_t method; /* enum se_method */
	struct se_range method_name;
	struct se_range ruri_text;
	struct se_uri ruri;
	/* status line */
	uint16_t status;
	struct se_range reason_phrase;

	uint16_t first[SE_HDR__COUNT];     /* first header index per id, or SE_NONE */
	uint16_t list_first[SE_LIST__COUNT]; /* first element per list, or SE_NONE */
	uint16_t list_count[SE_LIST__COUNT];

	/* fully parsed headers; ranges are len 0 / numbers -1 when absent */
	struct se_elem from, to;
	struct se_range call_id;
	uint32_t cseq;
	uint8_t cseq_method; /* enum se_method */
	struct se_range cseq_method_name;
	int32_t max_forwards;   /* -1 absent */
	int32_t max_breadth;    /* -1 absent */
	int64_t expires;        /* -1 absent */
	int64_t content_length; /* -1 absent */
	struct se_range content_type;
	struct se_reason reason; /* first Reason header value */
	struct se_range body;

	/* slot arrays follow: headers, Via hops, elements; see accessors */
	_Alignas(8) unsigned char slots[];
};

/* Bytes needed for a message with these limits. */
size_t se_msg_size(const struct se_limits *lim);

/* Prepare storage of se_msg_size(lim) bytes for parsing. */
struct se_msg *se_msg_init(void *mem, const struct se_limits *lim);

static inline struct se_hdr *se_msg_hdrs(const struct se_msg *m)
{
	return (struct se_hdr *)(void *)m->slots;
}
static inline struct se_via *se_msg_vias(const struct se_msg *m)
{
	return (struct se_via *)(void *)(m->slots + (size_t)m->hdr_cap * sizeof(struct se_hdr));
}
static inline struct se_elem *se_msg_elems(const struct se_msg *m)
{
	return (struct se_elem *)(void *)(m->slots + (size_t)m->hdr_cap * sizeof(struct se_hdr) +
					  (size_t)m->via_cap * sizeof(struct se_via));
}
static inline const struct se_hdr *se_msg_hdr_first(const struct se_msg *m, enum se_hdr_id id)
{
	return m->first[id] == SE_NONE ? NULL : &se_msg_hdrs(m)[m->first[id]];
}
static inline const struct se_via *se_msg_top_via(const struct se_msg *m)
{
	return m->via_count ? &se_msg_vias(m)[0] : NULL;
}

/* Parse error detail, fit to become the reason phrase of a 400. */
struct se_perr {
	int code;          /* SE_EPARSE, SE_ELIMIT, SE_EMSGSIZE */
	uint16_t status;   /* the answer a request deserves: 400, 505 (version), 513 (size) */
	uint16_t hdr_id;   /* enum se_hdr_id of the faulty header, or SE_HDR_OTHER */
	uint32_t offset;   /* byte offset of the fault in the buffer */
	const char *what;  /* static text: "Bad CSeq header", "Missing Call-ID" */
};

/* How the bytes arrived: a datagram is complete as given (RFC 3261 §18.3:
 * bytes past Content-Length are dropped, no Content-Length means "to the
 * end"); a stream frame must carry Content-Length. */
enum se_transport_kind { SE_DGRAM, SE_STREAM };

/*
 * Parse one message from buf[0, len). On success returns the number of
 * bytes the message occupies (m->msg_len), which for a datagram may be less
 * than len. On failure returns SE_EPARSE / SE_ELIMIT / SE_EMSGSIZE and
 * fills *err. Request-only checks (mandatory headers for the proxy) are
 * applied: Via, From, To, Call-ID, CSeq must be present and valid and
 * CSeq's method must equal the request method.
 */
int se_msg_parse(struct se_msg *m, const char *buf, size_t len, enum se_transport_kind kind,
		 const struct se_limits *lim, struct se_perr *err);

/* Iterate the comma-separated tokens of a header value (option-tags of
 * Require/Proxy-Require/Supported, Allow...). Start with *pos = 0. Returns
 * true with *tok set to the next token, false at the end. */
bool se_msg_token_next(const char *buf, struct se_range value, uint32_t *pos,
		       struct se_range *tok);

/*
 * Stream framing (TCP/TLS, RFC 3261 §18.3; RFC 5626 §3.5.1 keep-alives).
 * The framer finds message boundaries in a growing receive buffer without
 * rescanning: keep one struct se_framer per connection, zeroed at start,
 * and call se_frame_next() with the whole unconsumed buffer each time more
 * bytes arrive.
 */
enum se_frame_kind {
	SE_FRAME_MSG = 1,  /* a complete message: frame->len bytes at buf[0] */
	SE_FRAME_PING,     /* "\r\n\r\n" keep-alive: consume len, answer a pong */
	SE_FRAME_PONG,     /* single "\r\n": consume len */
};

struct se_framer {
	uint32_t scanned; /* private: bytes already searched for end of headers */
	uint32_t hdr_end; /* private: end of headers once found, else 0 */
	int64_t body_len; /* private: Content-Length once found */
};

struct se_frame {
	enum se_frame_kind kind;
	uint32_t len;
};

/*
 * Returns 0 with *out filled (consume out->len bytes, then zero-reset is
 * done by the framer itself), SE_EAGAIN when more bytes are needed,
 * SE_EMSGSIZE when the message exceeds max_msg, SE_EPARSE when the header
 * has no valid Content-Length (err filled). On error the connection must
 * be closed: the stream has lost its framing.
 */
int se_frame_next(struct se_framer *f, const char *buf, size_t len, uint32_t max_msg,
		  struct se_frame *out, struct se_perr *err);

#endif
