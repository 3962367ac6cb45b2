/*
 * policy: the routing policy (policy.yaml), loaded and compiled.
 *
 * A loaded policy is plain C structures on the process heap, all owned by
 * the struct policy (policy_alloc) and released at once by policy_free.
 * Every process compiles the policy itself from the same bytes: the master
 * at start (workers inherit it through fork) and, on reload, each worker
 * from the file contents the master validated and put in shared memory
 * (policy_source.h). Nothing here points into shared memory except
 * through the state indices that pool_bind() fills in.
 *
 * Layers, one file each:
 *   policy_load*.c   YAML (and CSV prefix files) to these structures,
 *                    every error as file:line:col
 *   policy_eval.c    rule-by-rule evaluation of conditions (the reference)
 *   policy_tree.c    the compiled index: same answers, cost independent
 *                    of the number of rules (policy_match.h)
 *   policy_explain.c why each rule did or did not match
 *
 * Indices (pool, dest, rule, table, list) are uint32_t into the arrays of
 * struct policy; POLICY_NONE is "none".
 */
#ifndef SE_POLICY_POLICY_H
#define SE_POLICY_POLICY_H

#include "config.h" /* enum config_transport */
#include "ydoc.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define POLICY_NONE UINT32_MAX
/* Destinations of one pool at most: what balancing considers per request
 * (pool_select's work and stack are bounded by it). */
#define POLICY_POOL_DESTS_MAX 256

/* ---- conditions -------------------------------------------------------- */

/* What a test looks at in a request (struct policy_req). */
enum policy_field {
	PF_METHOD = 1,  /* request method, exact (case-sensitive, RFC 3261 §7.1) */
	PF_RURI_SCHEME, /* "sip", "sips", "tel" (case-insensitive) */
	PF_RURI_USER,   /* Request-URI user part (case-sensitive) */
	PF_RURI_HOST,   /* Request-URI host (case-insensitive) */
	PF_FROM_USER,
	PF_FROM_HOST,
	PF_TO_USER,
	PF_TO_HOST,
	PF_HEADER,      /* any header by name: pcond.header */
	PF_SOURCE,      /* source IP address: op PO_CIDR */
	PF_TRANSPORT,   /* "udp", "tcp", "tls", "ws", "wss" (case-insensitive) */
	PF_LISTENER,    /* the local listener's name (config listen entry) */
	PF__COUNT
};

enum policy_op {
	PO_EQ = 1, /* equals one of vals */
	PO_PREFIX, /* starts with one of vals */
	PO_REGEX,  /* PCRE2 regex re matches (unanchored unless the pattern anchors) */
	PO_PRESENT, /* PF_HEADER only: the header is present */
	PO_CIDR,   /* PF_SOURCE only: the address is in cidrs */
};

enum policy_cond_kind {
	PC_TEST = 1, /* field op value */
	PC_ALL,      /* every kid matches (empty: true) */
	PC_ANY,      /* at least one kid matches (empty: false) */
	PC_NOT,      /* kids[0] does not match */
};

/* One IP prefix. Addresses are kept as 16 bytes: IPv4 as ::ffff:a.b.c.d
 * with bits = 96 + the IPv4 prefix length, so one tree holds both. */
struct policy_cidr {
	uint8_t addr[16];
	uint8_t bits; /* 0..128 */
};

/* A list of prefixes: a named `lists:` entry or one written inline. */
struct policy_cidrs {
	const char *name; /* NULL when inline */
	struct policy_cidr *v;
	uint32_t n;
	uint32_t line, col;
};

struct policy_cond {
	uint8_t kind;  /* enum policy_cond_kind */
	uint8_t field; /* PC_TEST: enum policy_field */
	uint8_t op;    /* PC_TEST: enum policy_op */
	bool nocase;   /* PO_EQ / PO_PREFIX compare without case (set from the field) */
	uint32_t line, col; /* where it is written: explain and shadow warnings */
	const char *header;        /* PF_HEADER: the name as written (matched
				    * case-insensitively, compact forms too) */
	const char **vals;         /* PO_EQ, PO_PREFIX: one of these; PO_REGEX: the pattern */
	uint32_t *lens;
	uint32_t n_vals;
	void *re;                  /* PO_REGEX: pcre2_code * (JIT-compiled when possible) */
	const struct policy_cidrs *cidrs; /* PO_CIDR */
	struct policy_cond **kids; /* PC_ALL / PC_ANY / PC_NOT */
	uint32_t n_kids;
};

/* ---- destinations and pools --------------------------------------------- */

/* Which response codes count: a bitmap of 100..699. */
struct policy_codes {
	uint64_t bits[10]; /* bit (code - 100) */
};

static inline bool policy_codes_has(const struct policy_codes *c, unsigned code)
{
	if (code < 100 || code > 699)
		return false;
	code -= 100;
	return (c->bits[code / 64] >> (code % 64)) & 1;
}

/* Active health checking with OPTIONS. */
struct policy_probe {
	bool enabled;           /* default false (no probing: always up unless
				 * passive health or Retry-After says otherwise) */
	uint32_t interval_ms;   /* default 10 s */
	uint32_t timeout_ms;    /* default 2 s: no answer in time = failure */
	uint32_t down_after;    /* consecutive failures to mark down, default 3 */
	uint32_t up_after;      /* consecutive successes to mark up again, default 2 */
	struct policy_codes ok; /* answers that count as alive; default 100-499 except 408 */
};

/* Passive health: real traffic marking a destination down. */
struct policy_passive {
	uint32_t failures;      /* consecutive timeouts / transport errors / 503s
				 * that mark it down; 0 = off; default 5 */
	uint32_t down_ms;       /* how long passive down lasts when no probing
				 * brings it back; default 30 s */
};

struct policy_dest {
	const char *uri;        /* as written */
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} addr;                 /* IP and port, ready for sendto() */
	uint16_t port;          /* host order */
	uint8_t scheme;         /* SE_URI_SIP or SE_URI_SIPS */
	uint8_t transport;      /* enum config_transport */
	uint32_t pool;          /* owning pool, or POLICY_NONE (a rule's `route: URI`) */
	uint32_t weight;        /* default 1; 0 = only when nothing else is up */
	uint32_t priority;      /* default 0; lower first (algorithm priority) */
	uint32_t max_inflight;  /* concurrent INVITE transactions, 0 = no cap */
	uint32_t max_cps;       /* new calls (INVITEs) per second, 0 = no cap */
	struct policy_probe probe; /* the pool's, or the destination's own */
	uint64_t key;           /* identity (pool name + URI): XXH3, the key
				 * of its shared state across reloads */
	uint32_t state;         /* index into the shared destination table
				 * (pool/pool.h), set by pool_bind; POLICY_NONE
				 * before */
	uint32_t line, col;
};

enum policy_algo {
	PALG_ROUND_ROBIN = 1,
	PALG_WEIGHTED,      /* smooth weighted round-robin */
	PALG_HASH,          /* rendezvous (HRW) hashing over hash_key, weights too */
	PALG_LEAST_BUSY,    /* fewest in-flight transactions (shared memory) */
	PALG_PRIORITY,      /* lowest priority value first, the rest in order */
};

enum policy_hash_key {
	PHK_CALL_ID = 1,
	PHK_FROM_USER,
	PHK_RURI_USER,
	PHK_SOURCE_IP,
};

/* Failover: when a destination's answer makes us try the next one. */
struct policy_failover {
	struct policy_codes codes; /* default 408 and 500-599 except 503 is
				    * included too (passive health counts it) */
	bool on_timeout;           /* Timer B / Timer C, default true */
	bool on_transport_error;   /* default true */
	uint32_t max_tries;        /* destinations tried per request, default 3
				    * (bounded by the transaction's branches) */
	uint32_t timeout_ms;       /* a try with no answer (not even a
				    * provisional) after this long counts as a
				    * timeout; 0 (default): Timer B/F, 64*T1 */
};

enum policy_hdr_op {
	PH_ADD = 1, /* append "Name: value" */
	PH_REMOVE,  /* every header of that name */
	PH_REPLACE, /* remove every one, then add "Name: value" */
};

struct policy_hdr_edit {
	uint8_t op;
	const char *name;
	const char *value; /* NULL for PH_REMOVE */
};

/* ---- event reactions ------------------------------------------------------ */

/*
 * Declared reactions to what happens to a routed request (OverSIP's
 * callbacks, as data): `on:` of a rule or of a pool (docs/policy.md,
 * "Reactions"). For one event the rule's reactions are tried first, then
 * its pool's; the first whose conditions hold applies, and the rest are
 * ignored. No reaction applies: the default behaviour (relay, failover as
 * `failover:` says, the internal error's answer).
 */
enum policy_event {
	PE_PROVISIONAL = 0, /* a 101-199 response from the destination */
	PE_SUCCESS,         /* a 2xx */
	PE_FAILURE,         /* a 3xx-6xx */
	PE_INVITE_TIMEOUT,  /* Timer C fired with no final response */
	PE_TARGET,          /* a destination was chosen, before anything is sent */
	PE_ERROR,           /* an internal error of include/sipedge/ierr.h */
	PE__COUNT
};

enum policy_react_do {
	PR_RELAY = 1, /* responses: pass upstream (with the rewrite and header edits);
		       * failure: and do not fail over */
	PR_FAILOVER,  /* failure, invite-timeout, error: try the next destination
		       * (within max-tries and Timer C), whatever `failover:` says */
	PR_REPLY,     /* failure, invite-timeout, error: answer upstream with code/reason
		       * (and hdrs) instead; no further destination */
	PR_DROP,      /* provisional: do not pass it upstream */
	PR_ABORT,     /* target: routing stops; upstream gets code/reason (default
		       * 403 Destination Aborted) */
	PR_SKIP,      /* target: this destination is not used; the next one is tried
		       * (none left: 403 Destination Blacklisted, or bl_code/bl_reason) */
	PR_CONTINUE,  /* target: use it (the side effects only: say, a log line) */
};

struct policy_react {
	uint8_t event;  /* enum policy_event */
	uint8_t action; /* enum policy_react_do: which ones an event allows is
			 * checked by the loader (see each value) */
	/* When it applies: every condition given holds (none given: always). */
	bool has_codes;
	struct policy_codes codes;        /* PE_PROVISIONAL/SUCCESS/FAILURE: the status */
	uint32_t ids;                     /* PE_ERROR: bit (1 << enum se_ierr); 0 = any */
	const struct policy_cidrs *ips;   /* PE_TARGET: the address is in one of these; NULL any */
	uint16_t port;                    /* PE_TARGET: 0 any */
	uint8_t transport;                /* PE_TARGET: enum config_transport, 0 any */
	/* What it does. */
	uint16_t code;                    /* PR_REPLY, PR_ABORT: the answer (PR_ABORT
					   * default 403); PR_RELAY: the status code sent
					   * upstream instead (same class), 0 keep */
	const char *reason;               /* with code; NULL: the standard phrase (PR_RELAY
					   * with code 0: replace only the phrase) */
	struct policy_hdr_edit *hdrs;     /* PR_RELAY, PR_REPLY: on what goes upstream */
	uint32_t n_hdrs;
	/* Side effect, any event with a destination: blacklist it (its
	 * address, port and transport) for bl_seconds (0: no). */
	uint32_t bl_seconds;
	uint16_t bl_code;                 /* what requests routed to it get; 0: 403 */
	const char *bl_reason;            /* NULL: "Destination Blacklisted" */
	bool log;                         /* log a line when it applies (id, rule, target) */
	uint32_t line, col;
};

struct policy_reactions {
	struct policy_react *v; /* in the order written */
	uint32_t n;             /* 0: none */
	uint64_t key;           /* identity of the content (pool/react.h:
				 * react_blob_build), set by pool_bind */
	uint32_t state;         /* its shared copy (pool/react.h), set by pool_bind;
				 * POLICY_NONE when n == 0 or before */
};

/* The names the policy file uses ("round-robin", "invite-timeout"...),
 * indexed by the enums; for the loader, logs, the CLI and metrics. */
#define POLICY_NALGOS (PALG_PRIORITY + 1)
extern const char *const policy_algo_names[POLICY_NALGOS]; /* [0] NULL */
extern const char *const policy_event_names[PE__COUNT];

struct policy_pool {
	const char *name;
	uint8_t algo;          /* enum policy_algo, default round-robin */
	uint8_t hash_key;      /* PALG_HASH: enum policy_hash_key */
	uint32_t first_dest;   /* dests [first_dest, first_dest + n_dests) */
	uint32_t n_dests;      /* >= 1 */
	struct policy_probe probe;
	struct policy_passive passive;
	uint32_t slow_start_ms; /* weight ramps from ~0 to full after recovery; 0 off */
	struct policy_failover failover;
	struct policy_reactions on; /* `on:` (after the rule's own) */
	uint64_t key;          /* identity (pool name): XXH3 */
	uint32_t state;        /* shared pool record (round-robin position), set by pool_bind */
	uint32_t line, col;
};

/* ---- prefix tables ------------------------------------------------------ */

struct policy_prefix {
	const char *digits; /* the prefix, after normalisation */
	uint32_t len;
	uint32_t pool;
	uint32_t line;      /* in `file` when from CSV, else in the policy */
};

struct policy_table {
	const char *name;
	const char *file;         /* CSV path (resolved) or NULL: inline entries */
	bool strip_plus;          /* drop a leading '+' from the number (default true) */
	const char *strip_prefix; /* then drop this prefix if present (NULL: none) */
	struct policy_prefix *entries;
	uint32_t n_entries;
	void *trie;               /* compiled longest-prefix index (policy_tree.c) */
	uint32_t line, col;
};

/* ---- rules ---------------------------------------------------------------- */

enum policy_action {
	PA_ROUTE_POOL = 1, /* rule.pool */
	PA_ROUTE_URI,      /* rule.dest: a destination with pool POLICY_NONE */
	PA_FORWARD_RURI,   /* to the Request-URI (`forward: request-uri`) */
	PA_ROUTE_TABLE,    /* longest prefix of the dialled number in rule.table
			    * picks the pool; no prefix: the rule does not match */
	PA_REPLY,          /* answer code/reason with hdrs */
	PA_REDIRECT,       /* 3xx with contacts */
};


struct policy_rule {
	const char *name;
	uint32_t line, col;
	struct policy_cond *match; /* NULL: every request */
	uint8_t action;            /* enum policy_action */
	uint32_t pool;             /* PA_ROUTE_POOL */
	uint32_t dest;             /* PA_ROUTE_URI */
	uint32_t table;            /* PA_ROUTE_TABLE */
	uint16_t code;             /* PA_REPLY, PA_REDIRECT (default 302) */
	const char *reason;        /* NULL: the standard phrase */
	const char **contacts;     /* PA_REDIRECT: URIs, in order */
	uint32_t n_contacts;
	struct policy_hdr_edit *hdrs; /* on the forwarded request, or on the reply */
	uint32_t n_hdrs;
	int8_t record_route;       /* -1: sipedge.yaml's record_route; 0 off; 1 on */
	const char *set_user;      /* R-URI user rewrite, NULL: keep */
	const char *set_host;      /* R-URI host[:port] rewrite, NULL: keep */
	uint32_t strip;            /* drop this many leading chars of the user first */
	const char *prefix;        /* then prepend this (NULL: none) */
	struct policy_failover failover; /* the pool's unless the rule overrides */
	bool failover_set;         /* the rule wrote `failover:` */
	struct policy_reactions on; /* `on:`: tried before its pool's */
	uint64_t key;              /* identity (rule name): XXH3, the key of its
				    * shared counters (hits) across reloads */
	uint32_t state;            /* index into the shared rule table (pool.h),
				    * set by pool_bind; POLICY_NONE before */
};

/* ---- the policy ------------------------------------------------------------ */

struct policy_mem; /* policy.c: the allocator behind policy_alloc */
struct policy_index; /* policy_tree.c */

struct policy {
	struct policy_mem *mem;
	const char *file;        /* the policy file as given to policy_load */
	struct policy_pool *pools;
	uint32_t n_pools;
	struct policy_dest *dests; /* pool members, then rule URIs */
	uint32_t n_dests;
	struct policy_rule *rules;
	uint32_t n_rules;
	struct policy_cidrs *lists; /* named lists (`lists:`) */
	uint32_t n_lists;
	struct policy_table *tables;
	uint32_t n_tables;
	uint32_t n_prefixes;       /* over all tables */
	void **regexes;            /* every pcre2_code, freed by policy_free */
	uint32_t n_regexes;
	struct policy_index *index; /* compiled decision tree, built by policy_load */
};

static inline const struct policy_pool *policy_pool(const struct policy *p, uint32_t i)
{
	return &p->pools[i];
}

static inline const struct policy_dest *policy_dest(const struct policy *p, uint32_t i)
{
	return &p->dests[i];
}

static inline const struct policy_rule *policy_rule(const struct policy *p, uint32_t i)
{
	return &p->rules[i];
}

/*
 * Where policy_load reads files from. NULL: the file system. Reload hands
 * the bytes the master validated (policy_source.h) so that every worker
 * compiles exactly what was checked. `read` returns 0 with *buf and *len
 * (owned by the reader, valid until policy_load returns) or -errno.
 */
struct policy_reader {
	int (*read)(void *ctx, const char *path, const char **buf, size_t *len);
	void *ctx;
};

/*
 * Load, check and compile the policy file at `path` (CSV files it names are
 * relative to its directory). Returns 0 with *out set (free with
 * policy_free), or SE_ECONFIG with *out NULL. Every error and warning is
 * added to errs, sorted by position; a rule that can never match (an
 * earlier rule matches every request it would) is an error; warnings (an
 * unused pool, list or table) never make the load fail.
 */
int policy_load(const char *path, const struct policy_reader *rd, struct policy **out,
		struct ydoc_errs *errs);

void policy_free(struct policy *p);

/* Zeroed memory owned by p, aligned for any type; aborts on exhaustion
 * like xmem. */
void *policy_alloc(struct policy *p, size_t n);
char *policy_strndup(struct policy *p, const char *s, size_t len);

/* Index of the pool / table called `name`, or POLICY_NONE. */
uint32_t policy_pool_find(const struct policy *p, const char *name);
uint32_t policy_table_find(const struct policy *p, const char *name);

/*
 * One line for `sipedge -t`: "3 rules, 2 pools, 5 destinations, 100000
 * prefixes". Returns what snprintf returns.
 */
int policy_summary(const struct policy *p, char *buf, size_t size);

#endif
