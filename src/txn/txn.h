/*
 * A proxy transaction (RFC 3261 §16, §17): the server transaction toward
 * the upstream client and the client transaction(s) toward downstream,
 * kept together in one shared-memory record so that any worker can act on
 * any message of it.
 *
 * Lifetime rule: a transaction is freed only by the timer handler of its
 * owner slot, under its bucket lock, after cancelling its timer node.
 * Other workers find it only through the table, under the same lock, so a
 * pointer obtained under the bucket lock is valid until that lock is
 * released. A worker restarted in the owner slot adopts its transactions
 * (twheel in shared memory + a scan at start for unarmed ones).
 */
#ifndef SE_TXN_TXN_H
#define SE_TXN_TXN_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include <sipedge/msg.h>

#include "twheel.h"
#include "txn_table.h"

/* An IPv4 or IPv6 socket address, compactly (sockaddr_storage is 128 B). */
union sockaddr_any {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

static inline socklen_t sockaddr_any_len(const union sockaddr_any *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					   : sizeof(struct sockaddr_in);
}

/* Server-side states (§17.2.1, §17.2.2, RFC 6026 Accepted). */
enum txn_sstate {
	TS_PROCEEDING = 1, /* no final response sent yet (Trying for non-INVITE) */
	TS_COMPLETED,      /* final non-2xx sent; G/H (INVITE) or J (non-INVITE) */
	TS_CONFIRMED,      /* INVITE: ACK received; Timer I */
	TS_ACCEPTED,       /* INVITE: 2xx sent; Timer L (RFC 6026) */
	TS_TERMINATED,     /* waiting for the owner's handler to free it */
};

/* Client-side states (§17.1.1, §17.1.2, RFC 6026). */
enum txn_cstate {
	TC_UNUSED = 0,
	TC_CALLING,    /* request sent, nothing back (Trying for non-INVITE) */
	TC_PROCEEDING, /* provisional received */
	TC_COMPLETED,  /* final non-2xx received: D (INVITE) or K */
	TC_ACCEPTED,   /* INVITE: 2xx received; Timer M */
	TC_TERMINATED,
};

#define TXN_MAX_BRANCHES 4
#define TXN_KEY_MAX 200 /* branch + sent-by of the server key, or the 2543 key */

/* The client side toward one destination. */
struct txn_branch {
	uint8_t state;     /* enum txn_cstate */
	uint8_t listener;  /* our listener it is sent from */
	uint8_t cancel;    /* 0 none, 1 CANCEL pending (sent, no final), 2 done */
	uint8_t got_prov;  /* a provisional (>100) came back: CANCEL allowed */
	uint16_t code;     /* highest final or provisional code received */
	uint8_t cand;      /* index in the transaction's route plan, or
			    * TXN_NO_CAND (no plan: Route set, R-URI...) */
	uint8_t acquired;  /* holds a call slot of that candidate
			    * (pool_dest_acquire): released once, at its final */
	union sockaddr_any dst;
	char *req;         /* arena: request as sent, for retransmits and CANCEL;
			    * freed when the branch completes */
	uint32_t req_len;
	uint32_t a_int;    /* current Timer A/E interval, ms */
	uint64_t t_retrans; /* Timer A/E deadline, 0 off */
	uint64_t t_timeout; /* Timer B/F, then D/K/M: end of this branch */
	uint64_t t_c;       /* Timer C (INVITE only), 0 off */
	char *cancel_req;   /* arena: our CANCEL, while it is pending */
	uint32_t cancel_len;
	uint32_t cancel_int;
	uint64_t t_cancel;  /* CANCEL retransmit deadline, 0 off */
	uint64_t t_cancel_end; /* give up on the CANCEL */
};

#define TXN_NO_CAND 0xff

struct txn_route; /* proxy/proxy.h: the failover plan of a routed request */

#define TXN_F_2543 0x01      /* no magic cookie: RFC 2543 matching */
#define TXN_F_INVITE 0x02
#define TXN_F_CANCELLED 0x04 /* a CANCEL came from upstream */
#define TXN_F_FINAL 0x08     /* a final response went upstream */

struct txn {
	struct tlink link;  /* bucket list: under the bucket lock */
	struct tnode timer; /* owner's wheel: under that wheel's lock */
	/* the rest: under the bucket lock */
	uint64_t hash;
	uint32_t bucket;
	uint32_t label;     /* from the bucket; named in downstream branches */
	uint8_t owner;      /* slot whose wheel holds the timer, and who frees */
	uint8_t method;     /* enum se_method of the request */
	uint8_t sstate;     /* enum txn_sstate */
	uint8_t flags;      /* TXN_F_* */
	uint8_t listener;   /* where the request came in */
	uint8_t nbr;        /* branches used */
	uint8_t br_cap;     /* branches br has room for (never grows: a branch
			     * pointer stays valid while the record lives) */
	uint16_t resp_code; /* last response sent upstream */
	uint16_t best_code; /* best final received so far (§16.7), 0 none */
	uint16_t key_len;
	union sockaddr_any src;      /* the request's source */
	union sockaddr_any resp_dst; /* where responses go (§18.2.2, RFC 3581) */
	char *req;          /* arena: the request as received; freed at final */
	uint32_t req_len;
	char *resp;         /* arena: last response sent upstream (retransmits) */
	uint32_t resp_len;
	char *best;         /* arena: best final response so far, not yet sent */
	uint32_t best_len;
	uint32_t g_int;     /* Timer G interval */
	uint64_t t_g;       /* Timer G deadline, 0 off */
	uint64_t t_end;     /* Timer H/I/J/L: end of the server side, 0 off */
	uint64_t created_ms;
	struct txn_route *route; /* arena, or NULL: destinations still to try
				  * and the policy's failover rules, copied at
				  * routing time so that a policy reload does
				  * not change a transaction in flight; freed
				  * with the transaction */
	struct txn_branch *br; /* arena: br_cap of them, made with the first
				* branch: as many as the route plan may try */
	char key[];         /* matching key (key_len bytes), see txn_key.h */
};

#define txn_of_link(l) ((struct txn *)((char *)(l) - offsetof(struct txn, link)))
#define txn_of_node(n) ((struct txn *)((char *)(n) - offsetof(struct txn, timer)))

#endif
