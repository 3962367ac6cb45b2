/*
 * Internal interface of the proxy core (RFC 3261 §16), between its files:
 *   proxy_hooks.c    runtime hooks, shared and per-worker set-up
 *   proxy_recv.c     datagram in: parse, route to request/response paths
 *   proxy_request.c  §16.3 checks, server transactions, forwarding
 *   proxy_target.c   §16.4-16.5 Route processing and target choice
 *   proxy_cancel.c   CANCEL (§16.10) and ACK handling
 *   proxy_response.c §16.7 response processing
 *   proxy_timer.c    transaction timers (§17, Timer C §16.8)
 *   proxy_txn.c      transaction records in the arena
 *   proxy_send.c     building and sending: replies, ACK/CANCEL, Via/RR
 */
#ifndef SE_PROXY_PROXY_H
#define SE_PROXY_PROXY_H

#include <sipedge/build.h>
#include <sipedge/msg.h>
#include <sipedge/rand.h>

#include "../policy/policy.h"
#include "../runtime/worker.h"
#include "../txn/txn.h"
#include "../txn/txn_key.h"
#include "sip_shared.h"

#define SIP_OUT_MAX 65536

/* Per-worker state of the SIP layer (process heap of the worker). */
struct sip_worker {
	struct worker *w;
	struct sip_shared *ss;
	struct sip_stats *st;       /* this slot's counters */
	const struct policy *pol;
	struct se_limits lim;
	struct se_rng rng;
	struct se_msg *msg;         /* the message being handled */
	struct se_msg *aux;         /* a stored message re-parsed */
	struct se_msg *aux2;
	uint64_t now;               /* ms, set per callback */
	char out[SIP_OUT_MAX];      /* the message being built */
	char out2[SIP_OUT_MAX];
};

/* Where a request goes next. */
struct sip_target {
	union sockaddr_any dst;
	uint8_t listener;   /* our listener to send from */
	uint16_t dest;      /* policy destination index or UINT16_MAX */
	bool record_route;
	/* edits of the Route set / Request-URI decided by §16.4 */
	uint16_t drop_elem[2];
	uint8_t n_drop;
	struct se_range new_ruri; /* len 0: unchanged */
};

/* An internal error (DESIGN.md table): code, reason, id. */
struct sip_ierr {
	uint16_t code;
	const char *reason;
	const char *id;
};

extern const struct sip_ierr SIP_E_CLIENT_TIMEOUT, SIP_E_INVITE_TIMEOUT, SIP_E_NO_DNS,
	SIP_E_NO_IPV4, SIP_E_NO_IPV6, SIP_E_UNSUPPORTED_URI_SCHEME, SIP_E_UNSUPPORTED_TRANSPORT;

static inline struct sip_worker *sip_of(struct worker *w)
{
	return w->sip;
}

/* proxy_recv.c */
void sip_recv(struct worker *w, struct listener_rt *l, char *buf, size_t len,
	      const struct sockaddr *src, socklen_t srclen);

/* proxy_request.c */
void sip_request(struct sip_worker *sw, struct listener_rt *l, const char *buf,
		 const union sockaddr_any *src);

/* The edits every forwarded request gets: our Via (via[0, vn)),
 * Max-Forwards, and tg's Route / Request-URI changes. Returns how many
 * were written to ed (at most 6). */
size_t sip_forward_edits(const struct se_msg *m, const char *buf, const struct sip_target *tg,
			 const char *via, uint32_t vn, struct se_edit *ed);
/* Add to ed[] the edit that sets received/rport on the top Via, using
 * out[cap] for the new value. Returns how many edits (0 or 1). */
size_t sip_received_edit(const struct se_msg *m, const char *buf, const union sockaddr_any *src,
			 char *out, size_t cap, struct se_edit *ed);

/* Send the request m to target tg as a new client branch of t. */
int sip_forward_branch_locked(struct sip_worker *sw, struct txn *t, const struct se_msg *m,
			      const char *buf, const struct sip_target *tg);

/* proxy_cancel.c */
void sip_cancel(struct sip_worker *sw, struct listener_rt *l, const char *buf,
		const union sockaddr_any *src);
bool sip_ack(struct sip_worker *sw, struct listener_rt *l, const char *buf,
	     const union sockaddr_any *src);
void sip_branch_cancel_locked(struct sip_worker *sw, struct txn *t, struct txn_branch *br,
			      const char *reason_hdr);

/* proxy_response.c */
void sip_response(struct sip_worker *sw, struct listener_rt *l, const char *buf);
/* Send a final response upstream for t (no final sent yet), locally
 * generated from the stored request. */
void sip_final_local_locked(struct sip_worker *sw, struct txn *t, uint16_t code,
			    const char *reason);

/* proxy_target.c */
int sip_target(struct sip_worker *sw, const struct se_msg *m, const char *buf,
	       struct sip_target *tg, const struct sip_ierr **ierr);
/* Is host:port one of our listeners? port 0 = the default 5060. */
int sip_listener_of(struct worker *w, const char *host, uint32_t hlen, uint16_t port);
int sip_listener_for_family(struct worker *w, int family);

/* proxy_send.c */
bool sip_send(struct sip_worker *sw, uint8_t listener, const union sockaddr_any *dst,
	      const char *buf, uint32_t len);
void sip_reply(struct sip_worker *sw, uint8_t listener, const struct se_msg *m, const char *buf,
	       const union sockaddr_any *dst, uint16_t code, const char *reason,
	       const char *extra);
void sip_reply_malformed(struct sip_worker *sw, uint8_t listener, const char *buf, size_t len,
			 const union sockaddr_any *src, const struct se_perr *err);
/* §18.2.2 / RFC 3581: where responses to request m go. */
void sip_response_addr(const struct se_msg *m, const char *buf, const union sockaddr_any *src,
		       union sockaddr_any *out);
/* The top Via header's value with received / rport set from src
 * (§18.2.1, RFC 3581 §4) into out. Returns its length, 0 when the Via
 * needs no change, or SE_ENOSPC. */
int sip_via_received(const struct se_msg *m, const char *buf, const union sockaddr_any *src,
		     char *out, size_t cap);
/* Address of a Via hop (for stateless response forwarding), false if none. */
bool sip_via_addr(const struct se_via *v, const char *buf, union sockaddr_any *out);
/* ACK (for a non-2xx final) or CANCEL for a request we sent. */
int sip_build_ack_cancel(struct sip_worker *sw, const char *req, uint32_t req_len,
			 enum se_method method, const struct se_msg *resp, const char *resp_buf,
			 const char *extra, char *out, size_t cap);
int sip_host_addr(const char *host, uint32_t hlen, uint16_t port, union sockaddr_any *out);

/* A request's server-transaction key and where it lives in the table. */
struct sip_key {
	char key[TXN_KEY_MAX];
	uint32_t len;
	uint64_t hash;
	uint32_t bucket;
	bool rfc2543;
};

/* proxy_txn.c */
/* Compute m's key; false when it does not fit (answer 400). */
bool sip_key_of(struct sip_worker *sw, const struct se_msg *m, const char *buf,
		struct sip_key *k);
struct txn *sip_txn_new_locked(struct sip_worker *sw, uint32_t bucket, uint64_t hash,
			       const char *key, uint32_t key_len);
struct txn *sip_txn_find_locked(struct sip_worker *sw, uint32_t bucket, uint64_t hash,
				const char *key, uint32_t key_len, int method);
struct txn *sip_txn_by_label_locked(struct sip_worker *sw, uint32_t bucket, uint32_t label);
char *sip_store(struct sip_worker *sw, const char *buf, uint32_t len);
void sip_store_replace(struct sip_worker *sw, char **slot, uint32_t *slot_len, const char *buf,
		       uint32_t len);
/* Mark t as having sent its final response upstream (counted once). */
void sip_txn_final_locked(struct sip_worker *sw, struct txn *t);
void sip_txn_free_locked(struct sip_worker *sw, struct txn *t);

/* proxy_timer.c */
void sip_tick(struct worker *w, uint64_t now);
void sip_txn_rearm_locked(struct sip_worker *sw, struct txn *t);
void sip_adopt_timers(struct sip_worker *sw);

#endif
