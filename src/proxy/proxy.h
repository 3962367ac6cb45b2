/*
 * Internal interface of the proxy core (RFC 3261 §16), between its files:
 *   proxy_hooks.c    runtime hooks, shared and per-worker set-up
 *   proxy_recv.c     datagram in: parse, route to request/response paths
 *   proxy_request.c  §16.3 checks, server transactions, forwarding
 *   proxy_target.c   §16.4-16.5 Route processing and target choice
 *   proxy_policy.c   the routing policy's decision (rules, pools, replies)
 *   proxy_failover.c trying the next destination of a pool (serial forking)
 *   proxy_react.c    the policy's event reactions (on: of rules and pools)
 *   proxy_probe.c    OPTIONS health probes of pool destinations
 *   proxy_cancel.c   CANCEL (§16.10) and ACK handling
 *   proxy_response.c §16.7 response processing
 *   proxy_timer.c    transaction timers (§17, Timer C §16.8)
 *   proxy_txn.c      transaction records in the arena
 *   proxy_send.c     building and sending: replies, ACK/CANCEL, Via/RR
 */
#ifndef SE_PROXY_PROXY_H
#define SE_PROXY_PROXY_H

#include <sipedge/build.h>
#include <sipedge/ierr.h>
#include <sipedge/msg.h>
#include <sipedge/rand.h>

#include "../policy/policy.h"
#include "../pool/blacklist.h"
#include "../pool/pool.h"
#include "../pool/react.h"
#include "../runtime/worker.h"
#include "../txn/txn.h"
#include "../txn/txn_key.h"
#include "sip_shared.h"

#define SIP_OUT_MAX 65536
#define SIP_EDITS_MAX 48 /* edits of one forwarded request */

/* The owner's retransmission state of one outstanding probe. */
struct sip_probe_rt {
	uint32_t seq;         /* the probe it belongs to */
	uint32_t interval_ms; /* T1, doubling */
	uint64_t next_ms;     /* next retransmission */
};

/* Per-worker state of the SIP layer (process heap of the worker). */
struct sip_worker {
	struct worker *w;
	struct sip_shared *ss;
	struct sip_stats *st;       /* this slot's counters */
	const struct policy *pol;   /* the policy in force in this worker */
	uint32_t pol_fields;        /* 1 << enum policy_field read by its rules */
	struct pool_shared *ps;     /* pools' live state (shared) */
	/* "udp://127.0.0.1:5060": the transport, then the listener's hostport */
	char listener_names[WORKER_MAX_LISTENERS][8 + sizeof(((struct listener_rt *)0)->hostport)];
	uint32_t listener_name_len[WORKER_MAX_LISTENERS];
	struct sip_probe_rt *probe_rt; /* [pol->n_dests] */
	uint32_t *dest_of_state;    /* [ps->dest_cap]: pol's dest of a shared record */
	uint32_t probe_cursor;      /* next destination the tick looks at */
	struct se_limits lim;
	struct se_rng rng;
	struct se_msg *msg;         /* the message being handled */
	struct se_msg *aux;         /* a stored message re-parsed */
	struct se_msg *aux2;
	uint64_t now;               /* ms, set per callback */
	char out[SIP_OUT_MAX];      /* the message being built */
	char out2[SIP_OUT_MAX];
	char ruri_buf[1024];        /* a rewritten Request-URI */
	char extra_buf[4096];       /* extra header lines of a policy reply */
};

#define SIP_CAND_MAX 8 /* destinations of a pool considered per request */

enum sip_tg_kind {
	SIP_TG_FORWARD = 0, /* send to dst (and, for a pool, the next candidates) */
	SIP_TG_REPLY,       /* answer here: code, reason, extra */
};

/* Where a request goes next, or the answer the policy gives it. */
struct sip_target {
	uint8_t kind;       /* enum sip_tg_kind */
	union sockaddr_any dst;
	uint8_t listener;   /* our listener to send from */
	bool record_route;
	bool record_route_allowed; /* dialog-creating: Record-Route makes sense */
	/* edits of the Route set / Request-URI decided by §16.4 or the rule */
	uint16_t drop_elem[2];
	uint8_t n_drop;
	const char *new_ruri_p; /* NULL: unchanged */
	uint32_t new_ruri_len;
	const struct policy_rule *rule; /* the rule that decided, or NULL */
	/* SIP_TG_REPLY */
	uint16_t code;
	const char *reason; /* NULL: the standard phrase */
	const char *extra;  /* header lines, or NULL */
	uint8_t drop;       /* a 503 cause to count (enum sip_drop), or SIP_DROP__COUNT */
	/* a pool: destinations in the order to try, cand[0] is dst */
	uint32_t pool;
	uint32_t cand[SIP_CAND_MAX];
	uint8_t cand_listener[SIP_CAND_MAX];
	uint8_t n_cand;
};

/* One destination a routed request may be sent to, copied from the policy
 * when the request is routed. */
struct txn_cand {
	union sockaddr_any dst;
	uint32_t state;        /* its pool_dest_state index */
	uint32_t max_inflight; /* caps, for pool_state_acquire */
	uint32_t max_cps;
	uint8_t listener;
};

/*
 * The failover plan of a request routed to a pool (txn->route, arena):
 * what is needed to try the next destination, independent of the policy
 * generation in force by then. fwd is the request as forwarded minus our
 * Via: every further branch is fwd plus a Via.
 */
struct txn_route {
	char *fwd;             /* arena */
	uint32_t fwd_len;
	uint32_t loop;         /* loop-detection hash of the request (§16.6 step 8) */
	uint8_t n;             /* candidates */
	uint8_t next;          /* the next to try */
	uint8_t tries;         /* branches started */
	uint8_t max_tries;
	bool on_timeout;
	bool on_transport_error;
	bool probing;          /* the pool probes: passive downs wait for probes */
	uint32_t timeout_ms;   /* a try unanswered this long is a timeout (0: Timer B) */
	struct policy_codes codes;
	struct policy_passive passive;
	char rule[32];         /* for the log */
	uint32_t react[2];     /* reaction records (pool/react.h): the rule's, then
				* the pool's; POLICY_NONE for none */
	struct txn_cand cand[SIP_CAND_MAX];
};

/* A reaction found for an event: the item and the blob it lives in. */
struct sip_react {
	const struct react_blob *b;
	const struct react_item *it;
};

/* Why candidates of a plan were passed over, the most telling first to
 * last: what to answer when none is left. */
enum sip_skip_why {
	SIP_SKIP_NONE = 0,
	SIP_SKIP_CAPPED,      /* max-calls / max-cps reached */
	SIP_SKIP_REACTED,     /* an on-target reaction said skip (rx) */
	SIP_SKIP_BLACKLISTED, /* listed (bl) */
	SIP_SKIP_ABORTED,     /* an on-target reaction aborted routing (rx) */
};

struct sip_cand_skip {
	uint8_t why; /* enum sip_skip_why */
	struct blacklist_entry bl;
	struct sip_react rx;
};

/* How sip_failover_locked decides whether to try the next destination. */
enum sip_fo {
	SIP_FO_PLAN = 0, /* as the failover plan says (codes, on_timeout, ...) */
	SIP_FO_FORCE,    /* a reaction says so: whatever the codes (within Timer C) */
	SIP_FO_RESTART,  /* invite-timeout reaction: a new try after Timer C fired,
			  * with a Timer C of its own */
	SIP_FO_NEVER,    /* a reaction answered: only feed passive health */
};

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
/*
 * Start a client branch of t: build m (in buf) with our Via on top plus
 * the edits ed[0, ne), store it, arm Timers A/B (F/E) and C, send it to
 * dst from listener li. cand is the route candidate (or TXN_NO_CAND).
 * Returns 0, SE_ELIMIT (no branch left), SE_ESHMFULL, or a build error;
 * a send failure is not an error here (sent == false: see failover).
 */
int sip_branch_start_locked(struct sip_worker *sw, struct txn *t, const struct se_msg *m,
			    const char *buf, const struct se_edit *ed, size_t ne,
			    const union sockaddr_any *dst, uint8_t li, uint8_t cand, uint32_t loop,
			    bool *sent);

/* The edits every forwarded request gets: our Via (via[0, vn)),
 * Max-Forwards, and tg's Route / Request-URI changes. Returns how many
 * were written to ed (at most 6). */
size_t sip_forward_edits(const struct se_msg *m, const char *buf, const struct sip_target *tg,
			 const char *via, uint32_t vn, struct se_edit *ed);
/* Add to ed[] the edit that sets received/rport on the top Via, using
 * out[cap] for the new value. Returns how many edits (0 or 1). */
size_t sip_received_edit(const struct se_msg *m, const char *buf, const union sockaddr_any *src,
			 char *out, size_t cap, struct se_edit *ed);

/* Send the request m to target tg as the first client branch of t (and
 * set up t->route for a pool). Returns 0 or an error (answer 500/503). */
int sip_forward_branch_locked(struct sip_worker *sw, struct txn *t, const struct se_msg *m,
			      const char *buf, const struct sip_target *tg);
/* The rule's header edits (add, remove, replace) for m into ed[0, cap);
 * returns how many. */
size_t sip_rule_hdr_edits(const struct policy_rule *r, const struct se_msg *m, const char *buf,
			  struct se_edit *ed, size_t cap);

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
/* The same with extra header lines (each ending CRLF; may be NULL). */
void sip_final_local_ex_locked(struct sip_worker *sw, struct txn *t, uint16_t code,
			       const char *reason, const char *extra);
/* Every branch is done and no final went up: send the best response
 * received (§16.7 step 6, 503 as 500), or a local `code` when none came. */
void sip_send_best_locked(struct sip_worker *sw, struct txn *t, uint16_t code,
			  const char *reason);
/* Is any branch of t still waiting for a final response? */
bool sip_txn_branches_pending(const struct txn *t);

/* proxy_target.c */
/* Where request m (from src on listener) goes: tg, or an error with *ierr
 * (the internal error to answer, enum se_ierr) set when it is one of the
 * table's; *ierr is left alone otherwise (callers start it at -1). */
int sip_target(struct sip_worker *sw, const struct se_msg *m, const char *buf, uint8_t listener,
	       const union sockaddr_any *src, struct sip_target *tg, int *ierr);
/* A URI next hop (text base) into tg->dst / tg->listener. */
int sip_uri_target(struct sip_worker *sw, const char *base, const struct se_uri *u,
		   struct sip_target *tg, int *ierr);

/* proxy_policy.c */
/* Use policy p from now on (at start and after a reload). */
void sip_policy_install(struct sip_worker *sw, const struct policy *p);
/* The policy's decision for m, whose routing target is `target`. */
int sip_policy_route(struct sip_worker *sw, const struct se_msg *m, const char *buf,
		     uint8_t listener, const union sockaddr_any *src, const struct se_uri *target,
		     struct sip_target *tg, int *ierr);

/* proxy_failover.c */
/* Build t->route from tg (a pool target); false when shared memory is
 * short (the request then goes to cand[0] only). */
bool sip_route_plan_locked(struct sip_worker *sw, struct txn *t, const struct sip_target *tg,
			   const char *fwd, uint32_t fwd_len, uint32_t loop);
/*
 * Branch br of t failed (why, or PF_FAIL__COUNT for an answer that is no
 * fault of the destination; code the final response, 0 for none;
 * retry_after from a 503): feed passive health and, when the plan allows
 * (code or cause in the failover set, tries left, no CANCEL, no final
 * sent, Timer C not passed) or a reaction forces it (mode), start the
 * next destination. Returns true when a new branch was started.
 */
bool sip_failover_locked(struct sip_worker *sw, struct txn *t, struct txn_branch *br,
			 enum pool_fail why, uint16_t code, uint32_t retry_after, enum sip_fo mode);
/* A branch got its final response or ended: give back its call slot and
 * tell passive health the destination answered. */
void sip_branch_done_locked(struct sip_worker *sw, struct txn *t, struct txn_branch *br,
			    bool answered);
/* Free t's route plan (and its copy of the request), if any. */
void sip_route_free_locked(struct sip_worker *sw, struct txn *t);
/* Once the final went up, no try is pending and no call slot is held, the
 * plan is of no more use unless its reactions must edit retransmitted
 * responses: freed, so that the record held for 64*T1 afterwards is small. */
void sip_route_settle_locked(struct sip_worker *sw, struct txn *t);
/* Start the first usable candidate at or after t->route->next; true when
 * one was sent. When none is, the request is answered (best response, or
 * what the skipped candidates say). */
bool sip_route_next_locked(struct sip_worker *sw, struct txn *t);
/* May candidate ci of t's plan take the request: its on-target reactions,
 * the blacklist, and for an INVITE its call caps (the slot is then held)?
 * false with sk updated when not. */
bool sip_cand_take_locked(struct sip_worker *sw, struct txn *t, uint8_t ci,
			  struct sip_cand_skip *sk);
/* No candidate is left to try: answer upstream unless a branch is still
 * pending (an abort answers at once). err: the last start error, or 0. */
void sip_route_exhausted_locked(struct sip_worker *sw, struct txn *t, int err,
				const struct sip_cand_skip *sk);
/* The on-error reaction of t for internal error e at branch br (side
 * effects done): how failover should go, with *got and *rx. */
enum sip_fo sip_error_reaction_locked(struct sip_worker *sw, struct txn *t, struct txn_branch *br,
				      enum se_ierr e, struct sip_react *rx, bool *got);
/* Nothing else will be tried after internal error e: answer upstream as
 * rx (NULL: none) says, else the best response received, else e. */
void sip_error_final_locked(struct sip_worker *sw, struct txn *t, const struct sip_react *rx,
			    enum se_ierr e);

/* proxy_react.c */
/* The reaction to ev of t's route, as sip_react_locked, without its side
 * effects or count (a retransmitted response, edited as the first was). */
bool sip_react_find_locked(struct sip_worker *sw, const struct txn *t,
			   const struct react_event *ev, struct sip_react *out);
/* The reaction to ev of t's route (the rule's reactions, then the pool's),
 * with its side effects done for branch br's destination (blacklist, log
 * line; br may be NULL before any branch exists: dst is used). Returns
 * false when none applies. */
bool sip_react_locked(struct sip_worker *sw, const struct txn *t, const struct txn_branch *br,
		      const union sockaddr_any *dst, const struct react_event *ev,
		      struct sip_react *out);
/* The same for a request routed by tg that has no transaction route (an
 * error before anything was sent). */
bool sip_react_target(struct sip_worker *sw, const struct sip_target *tg,
		      const struct react_event *ev, struct sip_react *out);
/* Edits of a relayed response for r (status rewrite, header edits) into
 * ed[0, cap); returns how many. */
size_t sip_react_resp_edits(const struct sip_react *r, const struct se_msg *m, const char *buf,
			    struct se_edit *ed, size_t cap);
/* The header lines r adds to a local reply, in sw->extra_buf (NULL: none). */
const char *sip_react_extra(struct sip_worker *sw, const struct sip_react *r);
/* The status (and *reason, NULL: the standard phrase) reaction r answers
 * with: its own, else internal error e's (e -1: none, then 500). */
uint16_t sip_react_answer(const struct sip_react *r, int e, const char **reason);
/* Answer t upstream as reaction r (PR_REPLY / PR_ABORT) says; e is the
 * internal error that r replaces (its code and reason when r has none),
 * or -1. */
void sip_react_reply_locked(struct sip_worker *sw, struct txn *t, const struct sip_react *r,
			    int e);
/* Internal error e answered upstream: counted by id and logged. */
void sip_ierr_count(struct sip_worker *sw, enum se_ierr e);
/* Answer t with internal error e (counted, logged with its id). */
void sip_ierr_reply_locked(struct sip_worker *sw, struct txn *t, enum se_ierr e);
/* One header edit (policy_hdr_op) of name/value on m into ed[0, cap);
 * returns how many edits it took. */
size_t sip_hdr_edit(uint8_t op, const char *name, const char *value, const struct se_msg *m,
		    const char *buf, struct se_edit *ed, size_t cap);

/* proxy_probe.c */
/* Per-policy probe state (at each sip_policy_install). */
void sip_probe_install(struct sip_worker *sw, const struct policy *p);
/* Send due OPTIONS probes of destinations this slot owns, retransmit and
 * time out outstanding ones: bounded work per call (from the tick). */
void sip_probe_tick(struct sip_worker *sw);
/* A response whose top Via branch is a probe's: true when it was one
 * (consumed). */
bool sip_probe_response(struct sip_worker *sw, const struct se_msg *m, const char *buf);
/* Is host:port one of our listeners? port 0 = the default 5060. */
int sip_listener_of(struct worker *w, const char *host, uint32_t hlen, uint16_t port);
int sip_listener_for_family(struct worker *w, int family);
/* Our listener able to reach dst (same family), or -1 with *ierr set to
 * no_ipv4 / no_ipv6. */
int sip_listener_to(struct sip_worker *sw, const union sockaddr_any *dst, int *ierr);
/* A policy destination's address as a sockaddr_any. */
void sip_dest_addr(const struct policy_dest *d, union sockaddr_any *out);

/* proxy_send.c */
/* Send from our listener (queued: it leaves with the loop iteration's
 * other datagrams, worker_send). False when it could not be queued, which
 * is counted (drops.send_failed), as is a later refusal by the kernel. */
bool sip_send(struct sip_worker *sw, uint8_t listener, const union sockaddr_any *dst,
	      const char *buf, uint32_t len);
/* The same, sent at once: false when the kernel refused it (a transport
 * error for a new branch). */
bool sip_send_now(struct sip_worker *sw, uint8_t listener, const union sockaddr_any *dst,
		  const char *buf, uint32_t len);
/* hooks->send_failed: queued datagrams the kernel refused, counted. */
void sip_send_failed(struct worker *w, uint32_t n, int err);
void sip_reply(struct sip_worker *sw, uint8_t listener, const struct se_msg *m, const char *buf,
	       const union sockaddr_any *dst, uint16_t code, const char *reason,
	       const char *extra);
void sip_reply_malformed(struct sip_worker *sw, uint8_t listener, const char *buf, size_t len,
			 const union sockaddr_any *src, const struct se_perr *err);
/* §18.2.2 / RFC 3581: where responses to request m go. */
void sip_response_addr(const struct se_msg *m, const char *buf, const union sockaddr_any *src,
		       union sockaddr_any *out);
/* Our Via for listener l: "SIP/2.0/UDP host:port;branch=B;rport" into
 * out; its length, or -1 when it does not fit. */
int sip_via_text(const struct listener_rt *l, const char *branch, uint32_t blen, char *out,
		 size_t cap);
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
/* proxy_hooks.c: the tick's period and the wheels' resolution, in ms. */
uint32_t sip_tick_ms(const struct config *cfg);
void sip_txn_rearm_locked(struct sip_worker *sw, struct txn *t);
void sip_adopt_timers(struct sip_worker *sw);

#endif
