/*
 * policy_load_rule: `rules:`, in order, each a name, an optional `match`
 * (policy_load_match.c), exactly one action and optional modifiers.
 *
 * Actions: route (a pool, or a sip:/sips: URI), forward (request-uri or a
 * URI), route-prefix (a table), reply (RFC 3261 §8.2.6 / §16.7 codes
 * 400-699: a 3xx is a redirect), redirect (3xx with Contacts, §21.3).
 * Modifiers act on the forwarded request (headers, record-route, rewrite,
 * failover); with reply or redirect only extra headers make sense, and the
 * others are refused rather than silently ignored.
 *
 * Header edits never touch the headers the proxy itself maintains (Via,
 * Max-Forwards, Route, Record-Route, Call-ID, CSeq, From, To,
 * Content-Length, §16.6): editing them would break the transaction or
 * the dialog, so the loader refuses it.
 */
#include "policy_load.h"

#include <sipedge/error.h>
#include <sipedge/hdr.h>
#include <sipedge/uri.h>

#include <ctype.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <xxhash.h>

/* A rule while it is read: header edits grow here. */
struct rload {
	struct policy_rule r; /* first: the key tables' offsets are into it */
	uint32_t index;       /* in p->rules */
	struct pload_hdrs h;
};

static const char *const action_names[] = {
    [PA_ROUTE_POOL] = "route",         [PA_ROUTE_URI] = "route", [PA_FORWARD_RURI] = "forward",
    [PA_ROUTE_TABLE] = "route-prefix", [PA_REPLY] = "reply",     [PA_REDIRECT] = "redirect",
};

static bool answers(const struct policy_rule *r)
{
	return r->action == PA_REPLY || r->action == PA_REDIRECT;
}

/* ---- header edits (a rule's, and a reaction's: policy_load_react.c) ------- */

static bool managed_header(const char *name)
{
	static const char *const managed[] = {
	    "via",  "v", "max-forwards", "route", "record-route",   "call-id", "i",  "cseq",
	    "from", "f", "to",           "t",     "content-length", "l",       NULL,
	};
	for (const char *const *m = managed; *m; m++)
		if (strcasecmp(*m, name) == 0)
			return true;
	return false;
}

bool pload_one_line(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return false;
	return true;
}

static int header_name(struct pload *ld, const struct ydoc_node *n, const char *what)
{
	const char *s;
	if (ydoc_read_str(n, what, &s, ld->errs))
		return SE_ECONFIG;
	if (!pload_is_token(s, n->scalar.len)) {
		ydoc_errs_add(ld->errs, n, "%s: bad header name '%s': not a SIP token", what, s);
		return SE_ECONFIG;
	}
	if (managed_header(s)) {
		ydoc_errs_add(ld->errs, n, "%s: header '%s' is managed by the proxy", what, s);
		return SE_ECONFIG;
	}
	return 0;
}

/* Is header `name` (long or compact form) removed or replaced already? */
static bool edited_before(const struct pload_hdrs *h, const char *name)
{
	enum se_hdr_id id = se_hdr_lookup(name, strlen(name));
	for (size_t i = 0; i < h->n; i++) {
		const char *o = h->v[i].name;
		if (h->v[i].op != PH_ADD &&
		    (id != SE_HDR_OTHER ? se_hdr_lookup(o, strlen(o)) == id : strcasecmp(o, name) == 0))
			return true;
	}
	return false;
}

static void add_edit(struct pload *ld, struct pload_hdrs *h, uint8_t op,
                     const struct ydoc_node *name, const struct ydoc_node *value, const char *what)
{
	const char *v = NULL;
	int bad = header_name(ld, name, what);
	/* removed and replaced, or twice: one edit would undo the other */
	if (!bad && op != PH_ADD && edited_before(h, name->scalar.str)) {
		ydoc_errs_add(ld->errs, name,
		              "%s: header '%s' is already removed or replaced: edit it once", what,
		              name->scalar.str);
		bad = 1;
	}
	if (value) {
		if (ydoc_read_str(value, what, &v, ld->errs)) {
			bad = 1;
		} else if (!pload_one_line(v, value->scalar.len)) {
			ydoc_errs_add(
			    ld->errs, value,
			    "%s: the value of '%s' must be one line (no CR, LF or control "
			    "characters)",
			    what, name->scalar.str);
			bad = 1;
		}
	}
	if (bad)
		return;
	h->v = xmem_grow(h->v, &h->cap, h->n, sizeof(*h->v));
	h->v[h->n++] = (struct policy_hdr_edit){
	    .op = op,
	    .name = pload_str(ld, name),
	    .value = value ? pload_str(ld, value) : NULL,
	};
}

/* "Name: value" pairs: a mapping, or a sequence of one-pair mappings (to
 * add one header twice). */
static void read_pairs(struct pload *ld, const struct ydoc_node *val, const char *what,
                       struct pload_hdrs *h, uint8_t op, bool allow_seq)
{
	if (allow_seq && val->type == YDOC_SEQ) {
		for (size_t i = 0; i < val->seq.n; i++) {
			const struct ydoc_node *item = val->seq.items[i];
			if (ydoc_expect(item, YDOC_MAP, what, ld->errs))
				continue;
			if (item->map.n != 1) {
				ydoc_errs_add(ld->errs, item,
				              "%s: each item is one 'Name: value' pair", what);
				continue;
			}
			add_edit(ld, h, op, item->map.pairs[0].key, item->map.pairs[0].value, what);
		}
		return;
	}
	if (val->type != YDOC_MAP) {
		ydoc_errs_add(ld->errs, val, "%s: expected a mapping%s, got %s", what,
		              allow_seq ? " or a sequence" : "", ydoc_describe(val));
		return;
	}
	for (size_t i = 0; i < val->map.n; i++)
		add_edit(ld, h, op, val->map.pairs[i].key, val->map.pairs[i].value, what);
}

/* A generated answer has no headers to remove or replace. */
static bool edits_existing(struct pload *ld, const struct pload_hdrs *h,
                           const struct ydoc_node *key, const char *what)
{
	if (!h->answer)
		return true;
	ydoc_errs_add(ld->errs, key, "%s: does not apply to %s (only add: the answer is new)", what,
	              h->answer);
	return false;
}

static void read_hdr_remove(struct pload *ld, const struct ydoc_node *key,
                            const struct ydoc_node *val, const char *what, void *obj)
{
	const struct ydoc_node *one, *const *items;
	size_t n;
	if (edits_existing(ld, obj, key, what) &&
	    pload_scalars(ld, val, what, &one, &items, &n) == 0)
		for (size_t i = 0; i < n; i++)
			add_edit(ld, obj, PH_REMOVE, items[i], NULL, what);
}

static void read_hdr_replace(struct pload *ld, const struct ydoc_node *key,
                             const struct ydoc_node *val, const char *what, void *obj)
{
	if (edits_existing(ld, obj, key, what))
		read_pairs(ld, val, what, obj, PH_REPLACE, false);
}

static void read_hdr_add(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                         const char *what, void *obj)
{
	(void)key;
	read_pairs(ld, val, what, obj, PH_ADD, true);
}

/* In this order in the edits: removed, then replaced, then added. */
static const struct pload_key header_keys[] = {
    {"remove", PT_FN, 0, 0, 0, 0, read_hdr_remove, NULL},
    {"replace", PT_FN, 0, 0, 0, 0, read_hdr_replace, NULL},
    {"add", PT_FN, 0, 0, 0, 0, read_hdr_add, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

void pload_headers(struct pload *ld, const struct ydoc_node *val, const char *what,
                   struct pload_hdrs *h)
{
	pload_walk(ld, val, header_keys, what, what, h);
}

void pload_header_adds(struct pload *ld, const struct ydoc_node *val, const char *what,
                       struct pload_hdrs *h)
{
	read_pairs(ld, val, what, h, PH_ADD, true);
}

void pload_hdrs_adopt(struct pload *ld, struct pload_hdrs *h, struct policy_hdr_edit **out,
                      uint32_t *n)
{
	if (h->n) {
		*out = policy_alloc(ld->p, h->n * sizeof(**out));
		memcpy(*out, h->v, h->n * sizeof(**out));
		*n = (uint32_t)h->n;
	}
	free(h->v);
	*h = (struct pload_hdrs){0};
}

/* After the action (table order): remove and replace check it. */
static void read_headers(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                         const char *what, void *obj)
{
	struct rload *rl = obj;
	(void)key;
	rl->h.answer = answers(&rl->r) ? action_names[rl->r.action] : NULL;
	pload_headers(ld, val, what, &rl->h);
}

/* ---- actions ------------------------------------------------------------- */

static void read_route(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                       const char *what, void *obj)
{
	struct policy_rule *r = obj;
	const char *s;
	(void)key;
	r->action = PA_ROUTE_POOL;
	if (ydoc_read_str(val, what, &s, ld->errs))
		return;
	if (strchr(s, ':')) {
		r->action = PA_ROUTE_URI;
		r->dest = pload_dest_new(ld, val, POLICY_NONE);
		return;
	}
	r->pool = pload_ref(ld, val, &ld->pools, ld->pool_uses, "pool");
}

/* `forward: request-uri` sends to the Request-URI as received (a plain
 * proxy); `forward: URI` sends to that one destination. */
static void read_forward(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                         const char *what, void *obj)
{
	struct policy_rule *r = obj;
	const char *s;
	(void)key;
	r->action = PA_FORWARD_RURI;
	if (ydoc_read_str(val, what, &s, ld->errs) || strcmp(s, "request-uri") == 0)
		return;
	r->action = PA_ROUTE_URI;
	r->dest = pload_dest_new(ld, val, POLICY_NONE);
}

static void read_route_prefix(struct pload *ld, const struct ydoc_node *key,
                              const struct ydoc_node *val, const char *what, void *obj)
{
	struct policy_rule *r = obj;
	const char *s;
	(void)key;
	r->action = PA_ROUTE_TABLE;
	if (ydoc_read_str(val, what, &s, ld->errs) == 0)
		r->table = pload_ref(ld, val, &ld->tables, ld->table_uses, "table");
}

/* A status code within lo..hi; 3xx outside the range is a redirect. */
static void read_code(struct pload *ld, const struct ydoc_node *val, const char *what,
                      uint16_t *out, long long lo, long long hi)
{
	long long v;
	if (ydoc_read_int(val, what, LLONG_MIN, LLONG_MAX, &v, ld->errs))
		return;
	if (v >= lo && v <= hi)
		*out = (uint16_t)v;
	else if (v >= 300 && v <= 399)
		ydoc_errs_add(ld->errs, val, "%s: %lld is a redirection: use redirect", what, v);
	else
		ydoc_errs_add(ld->errs, val, "%s: %lld is out of range (%lld..%lld)", what, v, lo,
		              hi);
}

static void read_reply_code(struct pload *ld, const struct ydoc_node *key,
                            const struct ydoc_node *val, const char *what, void *obj)
{
	(void)key;
	read_code(ld, val, what, obj, 400, 699);
}

const char *pload_check_one_line(const char *s, size_t len, char *buf, size_t size)
{
	(void)buf;
	(void)size;
	return pload_one_line(s, len) ? NULL : "must be one line (no CR, LF or control characters)";
}

static void read_reply_headers(struct pload *ld, const struct ydoc_node *key,
                               const struct ydoc_node *val, const char *what, void *obj)
{
	struct rload *rl = obj;
	(void)key;
	pload_header_adds(ld, val, what, &rl->h);
}

static const struct pload_key reply_keys[] = {
    {"code", PT_FN, PK_REQUIRED, offsetof(struct rload, r.code), 0, 0, read_reply_code, NULL},
    {"reason", PT_TEXT, 0, offsetof(struct rload, r.reason), 0, 0, NULL, NULL,
     pload_check_one_line},
    {"headers", PT_FN, 0, 0, 0, 0, read_reply_headers, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

static void read_reply(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                       const char *what, void *obj)
{
	struct rload *rl = obj;
	(void)key;
	rl->r.action = PA_REPLY;
	if (val->type == YDOC_SCALAR)
		read_code(ld, val, what, &rl->r.code, 400, 699);
	else
		pload_walk(ld, val, reply_keys, what, what, rl);
}

static void read_contacts(struct pload *ld, const struct ydoc_node *key,
                          const struct ydoc_node *val, const char *what, void *obj)
{
	struct policy_rule *r = obj;
	const struct ydoc_node *one, *const *items;
	size_t n;
	(void)key;
	if (pload_scalars(ld, val, what, &one, &items, &n))
		return;
	r->contacts = policy_alloc(ld->p, n * sizeof(*r->contacts));
	for (size_t i = 0; i < n; i++) {
		const char *s, *why = "bad character";
		struct se_uri u;
		if (ydoc_read_str(items[i], what, &s, ld->errs))
			continue;
		/* it is written between < and > in the Contact header */
		if (strcspn(s, "<>\" \t") != items[i]->scalar.len ||
		    se_uri_parse(s, 0, (uint32_t)items[i]->scalar.len, &u, &why)) {
			ydoc_errs_add(ld->errs, items[i], "%s: bad contact URI '%s': %s", what, s,
			              why);
			continue;
		}
		r->contacts[r->n_contacts++] = pload_str(ld, items[i]);
	}
}

static void read_redirect_code(struct pload *ld, const struct ydoc_node *key,
                               const struct ydoc_node *val, const char *what, void *obj)
{
	long long v;
	(void)key;
	if (ydoc_read_int(val, what, LLONG_MIN, LLONG_MAX, &v, ld->errs))
		return;
	if (v < 300 || v > 399)
		ydoc_errs_add(ld->errs, val, "%s: %lld is out of range (300..399)%s", what, v,
		              v >= 400 && v <= 699 ? ": use reply" : "");
	else
		*(uint16_t *)obj = (uint16_t)v;
}

static const struct pload_key redirect_keys[] = {
    {"code", PT_FN, 0, offsetof(struct rload, r.code), 0, 0, read_redirect_code, NULL},
    {"contacts", PT_FN, PK_REQUIRED, 0, 0, 0, read_contacts, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

static void read_redirect(struct pload *ld, const struct ydoc_node *key,
                          const struct ydoc_node *val, const char *what, void *obj)
{
	struct rload *rl = obj;
	rl->r.action = PA_REDIRECT;
	rl->r.code = 302;
	if (val->type == YDOC_MAP)
		pload_walk(ld, val, redirect_keys, what, what, rl);
	else
		read_contacts(ld, key, val, what, rl);
}

/* ---- modifiers ------------------------------------------------------------ */

/* The modifiers below act on a forwarded request. */
static bool forwards(struct pload *ld, const struct policy_rule *r, const struct ydoc_node *key)
{
	if (!answers(r))
		return true;
	ydoc_errs_add(ld->errs, key, "%s: does not apply to %s (nothing is forwarded)",
	              key->scalar.str, action_names[r->action]);
	return false;
}

static void read_record_route(struct pload *ld, const struct ydoc_node *key,
                              const struct ydoc_node *val, const char *what, void *obj)
{
	struct policy_rule *r = obj;
	bool b;
	if (forwards(ld, r, key) && ydoc_read_bool(val, what, &b, ld->errs) == 0)
		r->record_route = b ? 1 : 0;
}

/* Reactions to what happens to the forwarded request (policy_load_react.c). */
static void read_rule_on(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                         const char *what, void *obj)
{
	struct policy_rule *r = obj;
	if (forwards(ld, r, key))
		pload_on(ld, key, val, what, &r->on);
}

static void read_rule_failover(struct pload *ld, const struct ydoc_node *key,
                               const struct ydoc_node *val, const char *what, void *obj)
{
	struct policy_rule *r = obj;
	if (!forwards(ld, r, key))
		return;
	pload_failover(ld, key, val, what, &r->failover);
	r->failover_set = true;
}

/* RFC 3261 §25.1 user: unreserved, user-unreserved and %HH escapes. */
static bool uri_user_ok(const char *s, size_t len)
{
	static const char ok[] = "-_.!~*'()&=+$,;?/";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    (c && strchr(ok, c)))
			continue;
		if (c == '%' && i + 2 < len && isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			i += 2;
			continue;
		}
		return false;
	}
	return true;
}

static const char *check_user_part(const char *s, size_t len, char *buf, size_t size)
{
	if (uri_user_ok(s, len))
		return NULL;
	snprintf(buf, size,
	         "'%.*s' is not a URI user part (letters, digits, -_.!~*'()&=+$,;?/ and %%HH)",
	         (int)(len > 80 ? 80 : len), s);
	return buf;
}

/* host or host:port, as it would be written after '@' */
static const char *check_host(const char *s, size_t len, char *buf, size_t size)
{
	const char *why = "has more than a host and a port";
	if (len > UINT32_MAX - 4)
		return "too long";
	char *uri = xmem_malloc(len + 5);
	memcpy(uri, "sip:", 4);
	memcpy(uri + 4, s, len + 1);
	struct se_uri u;
	int bad = se_uri_parse(uri, 0, (uint32_t)len + 4, &u, &why) || (u.flags & SE_URI_F_USER) ||
	          u.params.len || u.headers.len;
	free(uri);
	if (!bad)
		return NULL;
	snprintf(buf, size, "bad host '%.*s': %s", (int)(len > 80 ? 80 : len), s, why);
	return buf;
}

static const struct pload_key rewrite_keys[] = {
    {"user", PT_TEXT, 0, offsetof(struct policy_rule, set_user), 0, 0, NULL, NULL, check_user_part},
    {"host", PT_TEXT, 0, offsetof(struct policy_rule, set_host), 0, 0, NULL, NULL, check_host},
    {"strip", PT_U32, 0, offsetof(struct policy_rule, strip), 0, 64, NULL, NULL},
    {"prefix", PT_TEXT, 0, offsetof(struct policy_rule, prefix), 0, 0, NULL, NULL, check_user_part},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

static void read_rewrite(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                         const char *what, void *obj)
{
	struct policy_rule *r = obj;
	if (!forwards(ld, r, key) || pload_walk(ld, val, rewrite_keys, what, what, r))
		return;
	if (val->map.n == 0)
		ydoc_errs_add(ld->errs, val, "%s: give user, host, strip or prefix", what);
	if (ydoc_map_get(val, "user") &&
	    (ydoc_map_get(val, "strip") || ydoc_map_get(val, "prefix")))
		ydoc_errs_add(ld->errs, ydoc_map_get(val, "user"),
		              "%s.user replaces the whole user part: strip and prefix do nothing "
		              "with it",
		              what);
}

/* ---- the rule ----------------------------------------------------------- */

static void read_rule_name(struct pload *ld, const struct ydoc_node *key,
                           const struct ydoc_node *val, const char *what, void *obj)
{
	struct rload *rl = obj;
	struct policy_rule *r = &rl->r;
	(void)key;
	(void)what;
	if (pload_name(ld, val, "rule"))
		return;
	r->name = pload_str(ld, val);
	r->key = XXH3_64bits(val->scalar.str, val->scalar.len);
	uint32_t first = pload_map_put(&ld->rules, r->name, val->scalar.len, rl->index);
	if (first != POLICY_NONE)
		ydoc_errs_add(ld->errs, val, "duplicate rule name '%s' (first at line %u)", r->name,
		              (unsigned)ld->p->rules[first].line);
}

static void read_match(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                       const char *what, void *obj)
{
	struct policy_rule *r = obj;
	(void)key;
	(void)what;
	r->match = pload_match(ld, val);
}

/* Table order matters: the modifiers check the action, read above them. */
static const struct pload_key rule_keys[] = {
    {"name", PT_FN, PK_REQUIRED, 0, 0, 0, read_rule_name, NULL},
    {"match", PT_FN, 0, 0, 0, 0, read_match, NULL},
    {"route", PT_FN, PK_ACTION, 0, 0, 0, read_route, NULL},
    {"forward", PT_FN, PK_ACTION, 0, 0, 0, read_forward, NULL},
    {"route-prefix", PT_FN, PK_ACTION, 0, 0, 0, read_route_prefix, NULL},
    {"reply", PT_FN, PK_ACTION, 0, 0, 0, read_reply, NULL},
    {"redirect", PT_FN, PK_ACTION, 0, 0, 0, read_redirect, NULL},
    {"headers", PT_FN, 0, 0, 0, 0, read_headers, NULL},
    {"record-route", PT_FN, 0, 0, 0, 0, read_record_route, NULL},
    {"rewrite", PT_FN, 0, 0, 0, 0, read_rewrite, NULL},
    {"failover", PT_FN, 0, 0, 0, 0, read_rule_failover, NULL},
    {"on", PT_FN, 0, 0, 0, 0, read_rule_on, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

static void read_rule(struct pload *ld, const struct ydoc_node *item, uint32_t index)
{
	struct policy_rule *out = &ld->p->rules[index];
	struct rload rl = {
	    .r = {.pool = POLICY_NONE,
	          .dest = POLICY_NONE,
	          .table = POLICY_NONE,
	          .record_route = -1,
	          .state = POLICY_NONE,
	          .on = {.state = POLICY_NONE},
	          .line = item->line,
	          .col = item->col},
	    .index = index,
	};
	*out = rl.r; /* a duplicate name's message gives this line */
	pload_walk(ld, item, rule_keys, "rule", NULL, &rl);
	/* without its own block, a rule fails over as its pool says */
	if (!rl.r.failover_set) {
		if (rl.r.action == PA_ROUTE_POOL && rl.r.pool != POLICY_NONE)
			rl.r.failover = ld->p->pools[rl.r.pool].failover;
		else
			pload_failover_defaults(&rl.r.failover);
	}
	pload_hdrs_adopt(ld, &rl.h, &rl.r.hdrs, &rl.r.n_hdrs);
	*out = rl.r;
}

void pload_rules(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                 const char *what, void *obj)
{
	(void)key;
	(void)obj;
	if (ydoc_is_null(val) || (val->type == YDOC_SEQ && val->seq.n == 0)) {
		ydoc_errs_add(ld->errs, val, "%s: at least one rule is required", what);
		return;
	}
	if (ydoc_expect(val, YDOC_SEQ, what, ld->errs))
		return;
	struct policy *p = ld->p;
	p->rules = policy_alloc(p, val->seq.n * sizeof(*p->rules));
	for (size_t i = 0; i < val->seq.n; i++)
		read_rule(ld, val->seq.items[i], p->n_rules++);
}
