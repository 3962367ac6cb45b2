/*
 * Internal interface between the message parser's start-line/header loop
 * (msg_parse.c) and the typed header parsers (msg_via.c, msg_addr.c,
 * msg_hdrs.c). Internal to libsipedge-core.
 */
#ifndef SE_CORE_MSG_INT_H
#define SE_CORE_MSG_INT_H

#include <sipedge/msg.h>

#include "hdr_int.h"
#include "lex.h"

/* Per-parse state, on the parser's stack. */
struct msg_ctx {
	const char *b;                /* the buffer */
	struct se_msg *m;
	const struct se_limits *lim;
	struct se_perr *err;
	uint16_t list_last[SE_LIST__COUNT]; /* last element per list, to link */
};

/* Record a parse failure and return its code. `what` must be static. */
int msg_fail(struct msg_ctx *c, int code, uint16_t hdr_id, uint32_t off, const char *what);
/* "Bad <Name> header" for a known header id. */
int msg_bad_hdr(struct msg_ctx *c, uint16_t hdr_id, uint32_t off);

/* Typed parsers: value is the header's trimmed value range, hidx its index.
 * Each returns 0 or the code of msg_fail(). */
int msg_parse_via(struct msg_ctx *c, uint16_t hidx, struct se_range value);
int msg_parse_fromto(struct msg_ctx *c, uint16_t hidx, struct se_range value, struct se_elem *out);
int msg_parse_addr_list(struct msg_ctx *c, uint16_t hidx, struct se_range value, enum se_list list);
int msg_parse_scalar(struct msg_ctx *c, uint16_t hidx, uint16_t id, struct se_range value);

#endif
