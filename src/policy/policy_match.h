/*
 * policy_match: which rule a request matches.
 *
 * The request is seen through struct policy_req, filled by the proxy from
 * a parsed message (or by `--explain` from a request line), so the policy
 * module needs no SIP parser. Three ways to ask, always the same answer:
 *
 *   policy_eval_rules  rule by rule, first match wins: the reference
 *   policy_lookup      the compiled index (policy_tree.c): cost does not
 *                      grow with the number of rules
 *   policy_explain     rule by rule, saying why each rule failed
 *
 * "Matches" includes a PA_ROUTE_TABLE rule's table having a prefix for the
 * number: a rule whose table has none does not match, and the next rule is
 * tried.
 */
#ifndef SE_POLICY_MATCH_H
#define SE_POLICY_MATCH_H

#include "policy.h"

#include <stdio.h>

struct policy_str {
	const char *p; /* NULL or not NUL-terminated; len 0 = empty/absent */
	uint32_t len;
};

struct policy_req {
	struct policy_str method;  /* "INVITE" */
	struct policy_str ruri_scheme, ruri_user, ruri_host;
	struct policy_str from_user, from_host;
	struct policy_str to_user, to_host;
	struct policy_str transport; /* "udp" */
	struct policy_str listener;  /* the listener's name */
	struct policy_str call_id;   /* for hash balancing */
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} src;                       /* AF_UNSPEC: unknown (matches no CIDR) */
	/*
	 * Every value of header `name` (case-insensitive; the caller also
	 * knows the compact forms: "f" for From...), in order, into
	 * vals[max]. Returns how many there are (may exceed max); 0 absent.
	 * Values are trimmed of surrounding whitespace. NULL: no headers.
	 */
	uint32_t (*header)(const struct policy_req *rq, const char *name, struct policy_str *vals,
			   uint32_t max);
	const void *ctx; /* for header() */
};

/* What a match found. */
struct policy_hit {
	uint32_t rule;  /* index, or POLICY_NONE: no rule matched */
	uint32_t pool;  /* the pool to use: the rule's, or the table's choice;
			 * POLICY_NONE when the action is not a pool */
	uint32_t prefix; /* PA_ROUTE_TABLE: index of the matching entry in the
			  * table, else POLICY_NONE */
};

/* Does condition c hold for rq? (NULL holds.) */
bool policy_cond_eval(const struct policy *p, const struct policy_cond *c,
		      const struct policy_req *rq);

/* Longest prefix of rq's dialled number (R-URI user, normalised as the
 * table says) in table t: entry index, or POLICY_NONE. */
uint32_t policy_table_lookup(const struct policy *p, const struct policy_table *t,
			     const struct policy_req *rq);

/* The reference: rules in order, first match, every test evaluated the
 * plain way (each value compared, each prefix of a table scanned). Its
 * cost grows with the policy: for tests and checks, not for traffic. */
struct policy_hit policy_eval_rules(const struct policy *p, const struct policy_req *rq);

/*
 * The compiled index; the same answer as policy_eval_rules, always. Cost
 * independent of the number of rules and prefixes; allocates nothing. A
 * policy keeps one PCRE2 match-data block for its regexes, so one policy
 * must not be used by two threads at once (every sipedge process runs its
 * policy from one thread). Without an index (p->index NULL) this is
 * policy_eval_rules.
 */
struct policy_hit policy_lookup(const struct policy *p, const struct policy_req *rq);

/*
 * Compile p's index (p->index) and every table's trie. Called by
 * policy_load once the structures are complete. With errs, also checks
 * for rules that can never match because an earlier rule matches every
 * request they would, and adds an error at each such rule
 * ("rule 'b' can never match: rule 'a' (line 12) matches every request it
 * would"; policy_shadow.c says what is detected). Returns 0, or SE_ECONFIG
 * when it added errors (the index is built all the same). Out of memory
 * aborts (process heap, load time). Rebuilding frees the old index first.
 */
int policy_index_build(struct policy *p, struct ydoc_errs *errs);
void policy_index_free(struct policy *p);

/*
 * For `--explain` and `sipedgectl route --explain`: print to f, one line
 * each, every rule tried in order with the first condition that failed
 * (and its line), then the matching rule and its action (and for a table,
 * the prefix that matched), or "no rule matched":
 *
 *   rule 'de' (policy.yaml:12): no: ruri-user "123" does not start with "49" (line 14)
 *   rule 'intl' (policy.yaml:20): matches: prefix '4930' of table 'intl' -> pool 'berlin'
 *
 * The forms are listed in docs/internals/policy-tree.md and are stable.
 * The destination order of a pool is the balancing layer's (src/pool),
 * printed by the caller. Returns the hit (the same as policy_lookup).
 */
struct policy_hit policy_explain(const struct policy *p, const struct policy_req *rq, FILE *f);

/*
 * Fill rq from a request line "INVITE sip:+4930123@example.net" (and
 * optional "SIP/2.0"), with From/To set to the same URI as the R-URI,
 * transport "udp" unless given (udp, tcp, tls, ws, wss in any case), the
 * source address from `from_ip`, an IPv4 or IPv6 literal, brackets
 * allowed (NULL or "": unknown). The R-URI must be sip:, sips: or tel:.
 * No headers (rq->header NULL). Strings point into `line` and
 * `transport`. Returns 0 or SE_EPARSE with *why set to a static phrase.
 */
int policy_req_from_line(struct policy_req *rq, const char *line, const char *from_ip,
			 const char *transport, const char **why);

#endif
