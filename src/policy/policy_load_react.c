/*
 * policy_load_react: `on:` of a rule or of a pool, the event reactions
 * (policy.h, "event reactions"; docs/policy.md, `on`): OverSIP's
 * callbacks, declared as data instead of coded.
 *
 * `on` maps event names to lists of reactions. A reaction is a mapping of
 * conditions (which occurrences of the event it applies to), at most one
 * action and side effects (blacklist the destination, log a line). For an
 * event the proxy tries the rule's reactions, then its pool's, and applies
 * the first whose conditions hold (pool/react.h, react_match): the order
 * written is kept, and a reaction that an earlier one of the same list
 * always pre-empts is an error, as a rule that can never match is.
 *
 * Which keys each event takes is one table (rkeys): a key that exists but
 * does not apply to the event says so and where it does apply, rather
 * than being "unknown". An action is implied only where it cannot change
 * where the call goes: a provisional or a 2xx is relayed, a target is
 * used (skipped when the reaction blacklists it: sending to a destination
 * one has just blacklisted is not what anyone means). On failure,
 * invite-timeout and error the action chooses between failing over and
 * answering, so it must be written.
 */
#include "policy_load.h"

#include "../pool/blacklist.h" /* BLACKLIST_REASON_MAX */

#include <sipedge/error.h>
#include <sipedge/ierr.h>

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

_Static_assert(SE_IERR__COUNT <= 32, "policy_react.ids is a 32-bit mask of enum se_ierr");

#define EV(e)    (1u << (e))
#define EV_RESP  (EV(PE_PROVISIONAL) | EV(PE_SUCCESS) | EV(PE_FAILURE))
#define EV_FINAL (EV(PE_FAILURE) | EV(PE_INVITE_TIMEOUT) | EV(PE_ERROR))
#define EV_DEST  (EV_FINAL | EV(PE_TARGET)) /* a destination to blacklist */
#define EV_ALL   ((1u << PE__COUNT) - 1)

/* Seconds a reaction may blacklist a destination for: up to a week. */
#define BL_SECONDS_MAX 604800u

/* The status codes of an event's responses (codes, relay.code). 100 is
 * hop by hop (RFC 3261 §16.7): it never reaches a reaction. */
static const struct {
	uint16_t lo, hi;
} event_codes[PE__COUNT] = {
    [PE_PROVISIONAL] = {101, 199},
    [PE_SUCCESS] = {200, 299},
    [PE_FAILURE] = {300, 699},
};

static const char *const action_names[] = {
    [PR_RELAY] = "relay",       [PR_FAILOVER] = "failover", [PR_REPLY] = "reply",
    [PR_DROP] = "drop",         [PR_ABORT] = "abort",       [PR_SKIP] = "skip",
    [PR_CONTINUE] = "continue",
};

/* The keys of a reaction, in reading order: conditions, actions, side
 * effects; `headers` last, once the action (written or implied) is known. */
enum rkey {
	RK_CODES,
	RK_IDS,
	RK_IP,
	RK_PORT,
	RK_TRANSPORT,
	RK_RELAY,
	RK_DROP,
	RK_FAILOVER,
	RK_REPLY,
	RK_ABORT,
	RK_SKIP,
	RK_CONTINUE,
	RK_BLACKLIST,
	RK_LOG,
	RK_HEADERS,
	RK__COUNT
};

/* A reaction while it is read. */
struct rx {
	struct policy_react r; /* first: the key tables' offsets are into it */
	struct pload_hdrs h;   /* reply.headers and headers, moved into r at the end */
	const struct ydoc_pair *at[RK__COUNT]; /* the keys written */
};

typedef void (*rx_fn)(struct pload *ld, struct rx *x, const struct ydoc_node *val,
                      const char *what);

struct rkey_info {
	const char *name;
	uint8_t action;  /* enum policy_react_do, 0: not an action */
	uint32_t events; /* EV() of the events that take it */
	rx_fn read;      /* NULL: read apart (headers) */
};

/* "a, b or c": the n names, for messages. */
static const char *join(const char *const *names, size_t n, char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s",
		                        i == 0       ? ""
		                        : i + 1 == n ? " or "
		                                     : ", ",
		                        names[i]);
	return buf;
}

/* "failure, invite-timeout or error" */
static const char *events_text(uint32_t events, char *buf, size_t size)
{
	const char *names[PE__COUNT];
	size_t n = 0;
	for (unsigned e = 0; e < PE__COUNT; e++)
		if (events & EV(e))
			names[n++] = policy_event_names[e];
	return join(names, n, buf, size);
}

/* ---- values shared by several keys ---------------------------------------- */

/*
 * `KEY: true`: an action without parameters. false is refused rather than
 * ignored: written under an action it reads as "do not", which no
 * reaction means. or_map completes "expected true" for the keys that take
 * a mapping too. Returns 0 or SE_ECONFIG (reported).
 */
static int read_true(struct pload *ld, const struct ydoc_node *val, const char *what,
                     const char *or_map)
{
	bool b;
	if (val->type != YDOC_SCALAR || ydoc_is_null(val)) {
		ydoc_errs_add(ld->errs, val, "%s: expected true%s, got %s", what, or_map,
		              ydoc_describe(val));
		return SE_ECONFIG;
	}
	if (ydoc_read_bool(val, what, &b, ld->errs))
		return SE_ECONFIG;
	if (!b) {
		ydoc_errs_add(ld->errs, val, "%s: false is not an action: leave the key out", what);
		return SE_ECONFIG;
	}
	return 0;
}

/* A status code within lo..hi into *out. */
static int read_code(struct pload *ld, const struct ydoc_node *val, const char *what, uint16_t *out,
                     unsigned lo, unsigned hi)
{
	long long v;
	if (ydoc_read_int(val, what, lo, hi, &v, ld->errs))
		return SE_ECONFIG;
	*out = (uint16_t)v;
	return 0;
}

/* ---- conditions ------------------------------------------------------------ */

static void read_codes(struct pload *ld, struct rx *x, const struct ydoc_node *val,
                       const char *what)
{
	unsigned lo = event_codes[x->r.event].lo, hi = event_codes[x->r.event].hi;
	x->r.has_codes = pload_codes(ld, val, what, &x->r.codes, lo, hi) == 0;
}

/* The ids of include/sipedge/ierr.h but invite_timeout (its own event). */
static const char *ids_text(char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	for (int e = 0; e < SE_IERR__COUNT && len < size; e++)
		if (e != SE_IERR_INVITE_TIMEOUT)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
			                        se_ierr_info((enum se_ierr)e)->id);
	return buf;
}

static void read_ids(struct pload *ld, struct rx *x, const struct ydoc_node *val, const char *what)
{
	const struct ydoc_node *one, *const *items;
	size_t n;
	char list[400];
	if (pload_scalars(ld, val, what, &one, &items, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		const char *s;
		if (ydoc_read_str(items[i], what, &s, ld->errs))
			continue;
		int e = se_ierr_by_id(s, items[i]->scalar.len);
		if (e < 0)
			ydoc_errs_add(ld->errs, items[i], "%s: unknown id '%s' (use %s)", what, s,
			              ids_text(list, sizeof(list)));
		else if (e == SE_IERR_INVITE_TIMEOUT)
			/* Timer C is the invite-timeout event, never an error */
			ydoc_errs_add(ld->errs, items[i],
			              "%s: '%s' is its own event: use on.invite-timeout", what, s);
		else
			x->r.ids |= 1u << e;
	}
}

static void read_ip(struct pload *ld, struct rx *x, const struct ydoc_node *val, const char *what)
{
	x->r.ips = pload_cidrs(ld, val, what, true);
}

static void read_port(struct pload *ld, struct rx *x, const struct ydoc_node *val, const char *what)
{
	long long v;
	if (ydoc_read_int(val, what, 1, 65535, &v, ld->errs) == 0)
		x->r.port = (uint16_t)v;
}

static void read_transport(struct pload *ld, struct rx *x, const struct ydoc_node *val,
                           const char *what)
{
	const char *s;
	if (ydoc_read_str(val, what, &s, ld->errs))
		return;
	/* the names of config.h, without case as in a match */
	for (int t = CONFIG_TP_UDP; t <= CONFIG_TP_WSS; t++) {
		if (strcasecmp(s, config_transport_name(t)) == 0) {
			x->r.transport = (uint8_t)t;
			return;
		}
	}
	ydoc_errs_add(ld->errs, val, "%s: unknown value '%s' (use udp, tcp, tls, ws or wss)", what,
	              s);
}

/* ---- actions ---------------------------------------------------------------- */

/* relay.code: the class of the response stays (a 1xx stays a 1xx, a 4xx a
 * 4xx): the transaction and the dialog depend on it, and reply is there to
 * answer something else. On failure, the codes given must all be of the
 * new code's class. */
static void read_relay_code(struct pload *ld, const struct ydoc_node *key,
                            const struct ydoc_node *val, const char *what, void *obj)
{
	struct rx *x = obj;
	unsigned lo = event_codes[x->r.event].lo, hi = event_codes[x->r.event].hi;
	(void)key;
	if (read_code(ld, val, what, &x->r.code, lo, hi) || x->r.event != PE_FAILURE)
		return;
	unsigned cls = x->r.code / 100;
	if (!x->r.has_codes) {
		if (!x->at[RK_CODES]) /* else codes were refused: reported */
			ydoc_errs_add(ld->errs, val,
			              "%s: give codes of the %uxx class: a relay keeps the class "
			              "of the response (reply answers with another)",
			              what, cls);
		return;
	}
	for (unsigned c = 300; c <= 699; c++) {
		if (policy_codes_has(&x->r.codes, c) && c / 100 != cls) {
			ydoc_errs_add(ld->errs, val,
			              "%s: %u is not of the class of code %u: a relay keeps the "
			              "class of the response (reply answers with another)",
			              what, (unsigned)x->r.code, c);
			return;
		}
	}
}

static const struct pload_key relay_keys[] = {
    {"code", PT_FN, 0, 0, 0, 0, read_relay_code, NULL},
    {"reason", PT_TEXT, 0, offsetof(struct rx, r.reason), 0, 0, NULL, NULL, pload_check_one_line},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

/* `relay: true`, or `relay: {code, reason}`: the status line rewritten. */
static void read_relay(struct pload *ld, struct rx *x, const struct ydoc_node *val,
                       const char *what)
{
	if (val->type != YDOC_MAP) {
		read_true(ld, val, what, " or a mapping of code and reason");
		return;
	}
	if (val->map.n == 0) {
		ydoc_errs_add(ld->errs, val, "%s: give code, reason or both (or write true)", what);
		return;
	}
	pload_walk(ld, val, relay_keys, what, what, x);
}

static void read_plain(struct pload *ld, struct rx *x, const struct ydoc_node *val,
                       const char *what)
{
	(void)x;
	read_true(ld, val, what, "");
}

/* reply.code: a final answer. 3xx is allowed (with a Contact in its
 * headers it redirects); 2xx is not an answer a proxy makes up. */
static void read_reply_code(struct pload *ld, const struct ydoc_node *key,
                            const struct ydoc_node *val, const char *what, void *obj)
{
	struct rx *x = obj;
	(void)key;
	read_code(ld, val, what, &x->r.code, 300, 699);
}

static void read_reply_headers(struct pload *ld, const struct ydoc_node *key,
                               const struct ydoc_node *val, const char *what, void *obj)
{
	struct rx *x = obj;
	(void)key;
	pload_header_adds(ld, val, what, &x->h);
}

static const struct pload_key reply_keys[] = {
    {"code", PT_FN, 0, 0, 0, 0, read_reply_code, NULL},
    {"reason", PT_TEXT, 0, offsetof(struct rx, r.reason), 0, 0, NULL, NULL, pload_check_one_line},
    {"headers", PT_FN, 0, 0, 0, 0, read_reply_headers, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

/*
 * `reply: CODE`, or `reply: {code, reason, headers}` as a rule's reply.
 * Timer C and an internal error have an answer of their own (408 INVITE
 * Timeout, the error's code and reason: ierr.h): there the code may be
 * left out (code 0: that answer, now, with the reason and headers given),
 * and `reply: true` is that answer as it is. A failure has none: its
 * code is required.
 */
static void read_reply(struct pload *ld, struct rx *x, const struct ydoc_node *val,
                       const char *what)
{
	bool own = x->r.event != PE_FAILURE, b;
	const char *why;

	if (val->type == YDOC_SCALAR && own && !ydoc_read_bool_text(val->scalar.str, &b, &why))
		read_true(ld, val, what, ", a code or a mapping");
	else if (val->type == YDOC_SCALAR)
		read_code(ld, val, what, &x->r.code, 300, 699);
	else if (pload_walk(ld, val, reply_keys, what, what, x) == 0 && !own &&
	         !ydoc_map_get(val, "code"))
		ydoc_errs_add(ld->errs, val, "missing required key 'code'");
}

static void read_abort_code(struct pload *ld, const struct ydoc_node *key,
                            const struct ydoc_node *val, const char *what, void *obj)
{
	struct rx *x = obj;
	(void)key;
	read_code(ld, val, what, &x->r.code, 400, 699);
}

static const struct pload_key abort_keys[] = {
    {"code", PT_FN, 0, 0, 0, 0, read_abort_code, NULL},
    {"reason", PT_TEXT, 0, offsetof(struct rx, r.reason), 0, 0, NULL, NULL, pload_check_one_line},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

/* `abort: true` or `abort: {code, reason}`: 403 unless told; the reason is
 * left NULL for the proxy's "Destination Aborted" (ierr.h). */
static void read_abort(struct pload *ld, struct rx *x, const struct ydoc_node *val,
                       const char *what)
{
	x->r.code = se_ierr_info(SE_IERR_DESTINATION_ABORTED)->code;
	if (val->type == YDOC_MAP)
		pload_walk(ld, val, abort_keys, what, what, x);
	else
		read_true(ld, val, what, " or a mapping of code and reason");
}

/* ---- side effects -------------------------------------------------------------- */

static void read_bl_code(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                         const char *what, void *obj)
{
	struct rx *x = obj;
	(void)key;
	read_code(ld, val, what, &x->r.bl_code, 400, 699);
}

/* A blacklist entry keeps its reason in a fixed field (pool/blacklist.h):
 * a longer one would be cut, maybe inside a UTF-8 sequence. */
static const char *check_bl_reason(const char *s, size_t len, char *buf, size_t size)
{
	const char *bad = pload_check_one_line(s, len, buf, size);
	if (bad || len < BLACKLIST_REASON_MAX)
		return bad;
	snprintf(buf, size, "is %zu bytes long; a blacklist entry keeps at most %d", len,
	         BLACKLIST_REASON_MAX - 1);
	return buf;
}

static const struct pload_key blacklist_keys[] = {
    {"seconds", PT_U32, PK_REQUIRED, offsetof(struct rx, r.bl_seconds), 1, BL_SECONDS_MAX, NULL,
     NULL},
    {"code", PT_FN, 0, 0, 0, 0, read_bl_code, NULL},
    {"reason", PT_TEXT, 0, offsetof(struct rx, r.bl_reason), 0, 0, NULL, NULL, check_bl_reason},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

static void read_blacklist(struct pload *ld, struct rx *x, const struct ydoc_node *val,
                           const char *what)
{
	pload_walk(ld, val, blacklist_keys, what, what, x);
}

static void read_log(struct pload *ld, struct rx *x, const struct ydoc_node *val, const char *what)
{
	ydoc_read_bool(val, what, &x->r.log, ld->errs);
}

/* The schema of a reaction: which events take each key. */
static const struct rkey_info rkeys[RK__COUNT] = {
    [RK_CODES] = {"codes", 0, EV_RESP, read_codes},
    [RK_IDS] = {"ids", 0, EV(PE_ERROR), read_ids},
    [RK_IP] = {"ip", 0, EV(PE_TARGET), read_ip},
    [RK_PORT] = {"port", 0, EV(PE_TARGET), read_port},
    [RK_TRANSPORT] = {"transport", 0, EV(PE_TARGET), read_transport},
    [RK_RELAY] = {"relay", PR_RELAY, EV_RESP, read_relay},
    [RK_DROP] = {"drop", PR_DROP, EV(PE_PROVISIONAL), read_plain},
    [RK_FAILOVER] = {"failover", PR_FAILOVER, EV_FINAL, read_plain},
    [RK_REPLY] = {"reply", PR_REPLY, EV_FINAL, read_reply},
    [RK_ABORT] = {"abort", PR_ABORT, EV(PE_TARGET), read_abort},
    [RK_SKIP] = {"skip", PR_SKIP, EV(PE_TARGET), read_plain},
    [RK_CONTINUE] = {"continue", PR_CONTINUE, EV(PE_TARGET), read_plain},
    [RK_BLACKLIST] = {"blacklist", 0, EV_DEST, read_blacklist},
    [RK_LOG] = {"log", 0, EV_ALL, read_log},
    [RK_HEADERS] = {"headers", 0, EV_ALL & ~EV(PE_TARGET), NULL},
};

/* "relay, failover or reply": the actions the event takes. */
static const char *actions_text(uint8_t event, char *buf, size_t size)
{
	const char *names[RK__COUNT];
	size_t n = 0;
	for (int k = 0; k < RK__COUNT; k++)
		if (rkeys[k].action && (rkeys[k].events & EV(event)))
			names[n++] = rkeys[k].name;
	return join(names, n, buf, size);
}

/* ---- one reaction ------------------------------------------------------------------ */

/*
 * File order: each key known and taken by the event, one action at most
 * (the second is reported naming both). x->r.action is the action
 * written, even if its value turns out wrong, so that no action is
 * implied behind an error.
 */
static void sort_keys(struct pload *ld, struct rx *x, const struct ydoc_node *map, const char *what)
{
	const struct ydoc_node *action = NULL;
	char list[96];
	for (size_t i = 0; i < map->map.n; i++) {
		const struct ydoc_pair *pair = &map->map.pairs[i];
		const char *name = pair->key->scalar.str;
		int k = 0;
		while (k < RK__COUNT && strcmp(rkeys[k].name, name) != 0)
			k++;
		if (k == RK__COUNT) {
			ydoc_errs_add(ld->errs, pair->key, "unknown key '%s'", name);
			continue;
		}
		if (!(rkeys[k].events & EV(x->r.event))) {
			ydoc_errs_add(ld->errs, pair->key,
			              "%s.%s: does not apply to %s (only in %s)", what, name,
			              policy_event_names[x->r.event],
			              events_text(rkeys[k].events, list, sizeof(list)));
			continue;
		}
		if (rkeys[k].action && action) {
			ydoc_errs_add(ld->errs, pair->key,
			              "%s: only one action per reaction: '%s' and '%s' both given",
			              what, action->scalar.str, name);
			continue;
		}
		if (rkeys[k].action) {
			action = pair->key;
			x->r.action = rkeys[k].action;
		}
		x->at[k] = pair;
	}
}

/* No action written: relay a provisional or a 2xx; use a target, or skip
 * it when the reaction blacklists it. Elsewhere it must be written. */
static void settle_action(struct pload *ld, struct rx *x, const struct ydoc_node *map,
                          const char *what)
{
	char list[64];
	if (x->r.action)
		return;
	switch (x->r.event) {
	case PE_PROVISIONAL:
	case PE_SUCCESS:
		x->r.action = PR_RELAY;
		break;
	case PE_TARGET:
		x->r.action = x->at[RK_BLACKLIST] ? PR_SKIP : PR_CONTINUE;
		break;
	default:
		ydoc_errs_add(ld->errs, map, "%s: the reaction has no action: give %s", what,
		              actions_text(x->r.event, list, sizeof(list)));
		break;
	}
}

/* Edits of what goes upstream: a relayed response (remove, replace, add)
 * or a reply (add only: it is new). Other actions send nothing up. */
static void read_headers(struct pload *ld, struct rx *x, const struct ydoc_pair *pair,
                         const char *what)
{
	switch (x->r.action) {
	case PR_RELAY:
		x->h.answer = NULL;
		break;
	case PR_REPLY:
		x->h.answer = "reply";
		break;
	case 0:
		return; /* no action: reported */
	default:
		ydoc_errs_add(ld->errs, pair->key,
		              "%s: does not apply to %s (nothing is sent upstream)", what,
		              action_names[x->r.action]);
		return;
	}
	pload_headers(ld, pair->value, what, &x->h);
}

/* Read reaction `map` of event ev into *out; false if it had an error. */
static bool read_react(struct pload *ld, const struct ydoc_node *map, uint8_t ev, const char *what,
                       struct policy_react *out)
{
	size_t errors = ld->errs->n_errors;
	struct rx x = {.r = {.event = ev, .line = map->line, .col = map->col}};
	char sub[96];

	*out = x.r;
	if (ydoc_expect(map, YDOC_MAP, what, ld->errs))
		return false;
	sort_keys(ld, &x, map, what);
	for (int k = 0; k < RK__COUNT; k++) {
		if (!x.at[k] || !rkeys[k].read)
			continue;
		snprintf(sub, sizeof(sub), "%s.%s", what, rkeys[k].name);
		rkeys[k].read(ld, &x, x.at[k]->value, sub);
	}
	settle_action(ld, &x, map, what);
	if (x.at[RK_HEADERS]) {
		snprintf(sub, sizeof(sub), "%s.headers", what);
		read_headers(ld, &x, x.at[RK_HEADERS], sub);
	}
	pload_hdrs_adopt(ld, &x.h, &x.r.hdrs, &x.r.n_hdrs);
	*out = x.r;
	return ld->errs->n_errors == errors;
}

/* ---- unreachable reactions ------------------------------------------------------------ */

static bool codes_within(const struct policy_codes *in, const struct policy_codes *of)
{
	for (size_t i = 0; i < sizeof(in->bits) / sizeof(in->bits[0]); i++)
		if (in->bits[i] & ~of->bits[i])
			return false;
	return true;
}

/* Prefix a holds every address of prefix b. */
static bool prefix_covers(const struct policy_cidr *a, const struct policy_cidr *b)
{
	unsigned full = a->bits / 8, rest = a->bits % 8;
	if (a->bits > b->bits || memcmp(a->addr, b->addr, full) != 0)
		return false;
	return !rest || !((a->addr[full] ^ b->addr[full]) & (uint8_t)(0xff00u >> rest));
}

/* Every address of b is in a (NULL: any address). */
static bool ips_cover(const struct policy_cidrs *a, const struct policy_cidrs *b)
{
	if (!a)
		return true;
	if (!b)
		return false;
	for (uint32_t j = 0; j < b->n; j++) {
		bool in = false;
		for (uint32_t i = 0; i < a->n && !in; i++)
			in = prefix_covers(&a->v[i], &b->v[j]);
		if (!in)
			return false;
	}
	return true;
}

/* Whenever b's conditions hold, a's do (same event). */
static bool covers(const struct policy_react *a, const struct policy_react *b)
{
	if (a->has_codes && (!b->has_codes || !codes_within(&b->codes, &a->codes)))
		return false;
	if (a->ids && (!b->ids || (b->ids & ~a->ids)))
		return false;
	if ((a->port && a->port != b->port) || (a->transport && a->transport != b->transport))
		return false;
	return ips_cover(a->ips, b->ips);
}

/* Reactions [0, n) of one event, in order; good[i]: read without error
 * (a reaction with an error proves nothing either way). */
static void check_unreachable(struct pload *ld, const struct policy_react *v, const bool *good,
                              size_t n)
{
	for (size_t j = 1; j < n; j++) {
		for (size_t i = 0; good[j] && i < j; i++) {
			if (!good[i] || !covers(&v[i], &v[j]))
				continue;
			ydoc_errs_add_at(
			    ld->errs, ld->file, v[j].line, v[j].col,
			    "unreachable: the reaction at line %u always applies first",
			    (unsigned)v[i].line);
			break;
		}
	}
}

/* ---- `on` ------------------------------------------------------------------------------ */

/* The reactions of one `on`, while they are read. */
struct rlist {
	struct policy_react *v;
	bool *good;
	size_t n, cap, cap_good;
};

/* One event's value: a reaction, or a non-empty sequence of them. */
static void read_event(struct pload *ld, const struct ydoc_node *val, uint8_t ev, const char *what,
                       struct rlist *l)
{
	const struct ydoc_node *const *items = &val;
	size_t n = 1, first = l->n;

	if (val->type == YDOC_SEQ) {
		items = val->seq.items;
		n = val->seq.n;
	} else if (val->type != YDOC_MAP) {
		ydoc_errs_add(ld->errs, val, "%s: expected a mapping or a sequence of them, got %s",
		              what, ydoc_describe(val));
		return;
	}
	if (n == 0) {
		ydoc_errs_add(ld->errs, val, "%s: give at least one reaction", what);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		l->v = xmem_grow(l->v, &l->cap, l->n, sizeof(*l->v));
		l->good = xmem_grow(l->good, &l->cap_good, l->n, sizeof(*l->good));
		l->good[l->n] = read_react(ld, items[i], ev, what, &l->v[l->n]);
		l->n++;
	}
	check_unreachable(ld, l->v + first, l->good + first, l->n - first);
}

void pload_on(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
              const char *what, void *obj)
{
	struct policy_reactions *out = obj;
	struct rlist l = {0};
	char list[96], sub[48];
	(void)key;

	if (ydoc_expect(val, YDOC_MAP, what, ld->errs))
		return;
	events_text(EV_ALL, list, sizeof(list));
	if (val->map.n == 0)
		ydoc_errs_add(ld->errs, val, "%s: give at least one event (%s)", what, list);
	for (size_t i = 0; i < val->map.n; i++) {
		const struct ydoc_node *k = val->map.pairs[i].key;
		uint8_t ev = 0;
		while (ev < PE__COUNT && strcmp(policy_event_names[ev], k->scalar.str) != 0)
			ev++;
		if (ev == PE__COUNT) {
			ydoc_errs_add(ld->errs, k, "%s: unknown event '%s' (use %s)", what,
			              k->scalar.str, list);
			continue;
		}
		snprintf(sub, sizeof(sub), "%s.%s", what, policy_event_names[ev]);
		read_event(ld, val->map.pairs[i].value, ev, sub, &l);
	}
	if (l.n) {
		out->v = policy_alloc(ld->p, l.n * sizeof(*out->v));
		memcpy(out->v, l.v, l.n * sizeof(*out->v));
		out->n = (uint32_t)l.n;
	}
	free(l.v);
	free(l.good);
}
